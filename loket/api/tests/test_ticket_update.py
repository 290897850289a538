"""PATCH /tickets/{number}: status, priority, tags for everyone who sees the ticket; assigning
and moving teams by role, as in the dashboard."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from loket.accounts.models import User
from loket.api.tests.conftest import Api
from loket.audit.models import Event
from loket.conftest import Shop
from loket.tickets import services
from loket.tickets.models import Ticket

pytestmark = pytest.mark.django_db


@pytest.fixture
def ticket(shop: Shop) -> Ticket:
    return shop.whatsapp_from_dewi("Kak, bisa kirim ke Surabaya?")  # team Penjualan


def patch(api: Api, ticket: Ticket, **body: Any) -> Any:
    return api.patch(f"/tickets/{ticket.number}", body)


def test_status_priority_and_tags(
    shop: Shop, ticket: Ticket, api_as: Callable[[User], Api]
) -> None:
    response = patch(
        api_as(shop.budi),
        ticket,
        status="pending",
        priority="high",
        tags=["Kirim Luar Kota", "vip"],
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["status"], body["priority"], body["tags"]) == (
        "pending",
        "high",
        ["kirim luar kota", "vip"],
    )
    ticket.refresh_from_db()
    assert (ticket.status, ticket.priority) == ("pending", "high")
    kinds = set(Event.objects.filter(ticket_id=ticket.pk).values_list("kind", flat=True))
    assert {"ticket.status_changed", "ticket.priority_changed", "ticket.tags_changed"} <= kinds
    actor = Event.objects.filter(ticket_id=ticket.pk, kind="ticket.priority_changed").get()
    assert actor.actor_id == shop.budi.pk


def test_an_empty_patch_changes_nothing(
    shop: Shop, ticket: Ticket, api_as: Callable[[User], Api]
) -> None:
    budi = api_as(shop.budi)
    before = Event.objects.count()
    response = patch(budi, ticket)
    assert response.status_code == 200
    assert response.json()["status"] == "new"
    assert Event.objects.count() == before


def test_a_status_that_cannot_follow_is_a_conflict(
    shop: Shop, ticket: Ticket, api_as: Callable[[User], Api]
) -> None:
    services.set_status(ticket, "closed", actor=shop.sari)
    response = patch(api_as(shop.sari), ticket, status="open", priority="urgent")
    assert response.status_code == 409
    body = response.json()
    assert body["code"] == "invalid_transition"
    assert body["message"]
    assert body["details"][0]["loc"] == ["body", "status"]
    ticket.refresh_from_db()
    assert (ticket.status, ticket.priority) == ("closed", "normal"), "nothing changed"
    # Back to "new" is never allowed either.
    other = shop.email_from_rudi("Halo")
    services.set_status(other, "open", actor=shop.sari)
    assert patch(api_as(shop.sari), other, status="new").json()["code"] == "invalid_transition"


def test_all_or_nothing(shop: Shop, ticket: Ticket, api_as: Callable[[User], Api]) -> None:
    budi = api_as(shop.budi)
    response = patch(budi, ticket, priority="urgent", assignee_id=shop.wati.pk)
    assert response.status_code == 403
    ticket.refresh_from_db()
    assert ticket.priority == "normal"
    assert ticket.assignee_id is None


@pytest.mark.parametrize(
    "case",
    [
        # An agent takes an unassigned ticket or drops their own ...
        ("budi", None, "budi", True),
        ("budi", "budi", None, True),
        # ... but never hands it to someone else or takes it from someone else.
        ("budi", None, "wati", False),
        ("budi", "budi", "joko", False),
        ("budi", "joko", "budi", False),
        ("budi", "joko", None, False),
        # Leaving it as it is is fine.
        ("budi", "joko", "joko", True),
        # Supervisors and admins reassign freely.
        ("joko", None, "budi", True),
        ("joko", "budi", "wati", True),
        ("joko", "budi", None, True),
        ("sari", "budi", "joko", True),
    ],
)
def test_who_may_assign_whom(
    shop: Shop,
    ticket: Ticket,
    api_as: Callable[[User], Api],
    case: tuple[str, str | None, str | None, bool],
) -> None:
    persona, current, target, allowed = case
    if current:
        services.assign(ticket, getattr(shop, current), actor=shop.sari)
    target_user = getattr(shop, target) if target else None
    response = patch(
        api_as(getattr(shop, persona)), ticket, assignee_id=target_user.pk if target_user else None
    )
    ticket.refresh_from_db()
    if allowed:
        assert response.status_code == 200, response.content
        assert ticket.assignee_id == (target_user.pk if target_user else None)
        assignee = response.json()["assignee"]
        assert (assignee["id"] if assignee else None) == ticket.assignee_id
    else:
        assert response.status_code == 403
        assert response.json()["code"] == "forbidden"
        assert ticket.assignee_id == (getattr(shop, current).pk if current else None)


def test_dropping_a_ticket_you_saw_only_as_its_assignee(
    shop: Shop, api_as: Callable[[User], Api]
) -> None:
    shipping = shop.email_from_rudi("Paket hilang")
    services.assign(shipping, shop.budi, actor=shop.joko)
    budi = api_as(shop.budi)
    response = patch(budi, shipping, assignee_id=None)
    assert response.status_code == 200
    assert response.json()["assignee"] is None
    assert budi.get(f"/tickets/{shipping.number}").status_code == 404


def test_who_may_move_a_ticket_to_another_team(
    shop: Shop, ticket: Ticket, api_as: Callable[[User], Api]
) -> None:
    budi = api_as(shop.budi)
    response = patch(budi, ticket, team_id=shop.shipping.pk)
    assert response.status_code == 403
    assert patch(budi, ticket, team_id=None).status_code == 403
    assert patch(budi, ticket, team_id=shop.sales.pk).status_code == 200  # unchanged
    response = patch(api_as(shop.joko), ticket, team_id=shop.shipping.pk)
    assert response.status_code == 200
    assert response.json()["team"] == {"id": shop.shipping.pk, "name": "Pengiriman"}
    response = patch(api_as(shop.sari), ticket, team_id=None)
    assert response.json()["team"] is None


def test_someone_elses_ticket_is_not_found(shop: Shop, api_as: Callable[[User], Api]) -> None:
    shipping = shop.email_from_rudi("Paket")
    response = patch(api_as(shop.budi), shipping, status="pending")
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"
    shipping.refresh_from_db()
    assert shipping.status == "new"


@pytest.mark.parametrize(
    "case",
    [
        ({"status": "lost"}, "validation_error", "status"),
        ({"priority": "critical"}, "validation_error", "priority"),
        ({"assignee": 3}, "validation_error", "assignee"),
        ({"tags": "vip"}, "validation_error", "tags"),
        ({"status": None}, "null_not_allowed", "status"),
        ({"tags": None}, "null_not_allowed", "tags"),
        ({"tags": ["x" * 51]}, "invalid_tag", "tags"),
        ({"tags": ["  "]}, "invalid_tag", "tags"),
        ({"assignee_id": 987654}, "unknown_assignee", "assignee_id"),
        ({"team_id": 987654}, "unknown_team", "team_id"),
        ({"assignee_id": 0}, "validation_error", "assignee_id"),
    ],
)
def test_invalid_changes(
    shop: Shop,
    ticket: Ticket,
    api_as: Callable[[User], Api],
    case: tuple[dict[str, Any], str, str],
) -> None:
    body, code, field = case
    response = api_as(shop.sari).patch(f"/tickets/{ticket.number}", body)
    assert response.status_code == 422, response.content
    error = response.json()
    assert error["code"] == code
    assert error["message"]
    assert error["details"][0]["loc"][:2] == ["body", field]


def test_a_deactivated_agent_cannot_be_assigned(
    shop: Shop, ticket: Ticket, api_as: Callable[[User], Api]
) -> None:
    shop.wati.is_active = False
    shop.wati.save()
    response = patch(api_as(shop.sari), ticket, assignee_id=shop.wati.pk)
    assert response.json()["code"] == "unknown_assignee"
