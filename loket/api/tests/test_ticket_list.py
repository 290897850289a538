"""GET /tickets: who sees what, every filter, both orders, and walking the pages."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest

from loket.accounts.models import User
from loket.api.tests.conftest import Api, customer_writes
from loket.conftest import Shop
from loket.core import clock
from loket.tickets import services
from loket.tickets.models import Ticket

pytestmark = pytest.mark.django_db


def numbers(response: object) -> list[int]:
    assert response.status_code == 200, response.content  # type: ignore[attr-defined]
    return [item["number"] for item in response.json()["items"]]  # type: ignore[attr-defined]


@pytest.fixture
def desk(shop: Shop) -> dict[str, Ticket]:
    """A sales ticket (WhatsApp), a shipping ticket (email), a team-less one, and a shipping
    ticket that Joko assigned to Budi."""
    sales = shop.whatsapp_from_dewi("Kak, batik tulis ukuran L masih ada?")
    shipping = shop.email_from_rudi("Paket saya belum sampai", subject="Pengiriman lambat")
    teamless = customer_writes(shop.whatsapp, "Jam buka toko?")
    services.set_team(teamless, None, actor=shop.sari)
    lent = customer_writes(shop.email, "Alamat salah")
    services.assign(lent, shop.budi, actor=shop.joko)
    return {"sales": sales, "shipping": shipping, "teamless": teamless, "lent": lent}


@pytest.mark.parametrize(
    ("persona", "visible"),
    [
        ("sari", {"sales", "shipping", "teamless", "lent"}),
        ("joko", {"sales", "teamless"}),
        ("budi", {"sales", "teamless", "lent"}),
        ("wati", {"shipping", "teamless", "lent"}),
    ],
)
def test_each_role_sees_its_tickets(
    shop: Shop,
    desk: dict[str, Ticket],
    api_as: Callable[[User], Api],
    persona: str,
    visible: set[str],
) -> None:
    seen = numbers(api_as(getattr(shop, persona)).get("/tickets"))
    assert sorted(seen) == sorted(desk[name].number for name in visible)


def test_newest_activity_first_with_row_details(
    shop: Shop, desk: dict[str, Ticket], api_as: Callable[[User], Api]
) -> None:
    services.set_tags(desk["sales"], ["Batik Tulis", "vip"], actor=shop.budi)
    services.reply(desk["sales"], shop.budi, "Masih ada kak")
    response = api_as(shop.sari).get("/tickets")
    items = response.json()["items"]
    assert [i["number"] for i in items] == [
        desk[name].number for name in ("sales", "lent", "teamless", "shipping")
    ]
    first = items[0]
    assert first["subject"] == "Kak, batik tulis ukuran L masih ada?"
    assert first["status"] == "open"
    assert first["priority"] == "normal"
    assert first["channel"] == {"id": shop.whatsapp.pk, "kind": "whatsapp", "name": "WhatsApp Toko"}
    assert first["contact"]["name"] == "Dewi Lestari"
    assert first["team"] == {"id": shop.sales.pk, "name": "Penjualan"}
    assert first["assignee"] is None
    assert first["tags"] == ["batik tulis", "vip"]
    assert first["preview"] == "Masih ada kak"
    assert first["waiting_since"] is None
    assert first["first_response_at"] is not None
    lent = items[1]
    assert lent["assignee"] == {
        "id": shop.budi.pk,
        "name": "Budi Santoso",
        "email": "budi@batiksari.id",
    }
    assert response.json()["next_cursor"] is None
    assert response.json()["next"] is None


def test_filters(shop: Shop, desk: dict[str, Ticket], api_as: Callable[[User], Api]) -> None:
    sari = api_as(shop.sari)
    n = {name: t.number for name, t in desk.items()}
    services.set_status(desk["shipping"], "pending", actor=shop.wati)
    services.set_status(desk["teamless"], "solved", actor=shop.sari)
    services.set_priority(desk["lent"], "urgent", actor=shop.budi)
    services.set_tags(desk["sales"], ["grosir"], actor=shop.budi)
    services.assign(desk["sales"], shop.sari, actor=shop.sari)

    assert sorted(numbers(sari.get("/tickets", status="pending"))) == [n["shipping"]]
    both = sorted([n["shipping"], n["teamless"]])
    assert sorted(numbers(sari.get("/tickets", status="pending,solved"))) == both
    assert sorted(numbers(sari.get("/tickets", status=["pending", "solved"]))) == both
    assert sorted(numbers(sari.get("/tickets", priority="urgent"))) == [n["lent"]]
    assert sorted(numbers(sari.get("/tickets", channel="email"))) == sorted(
        [n["shipping"], n["lent"]]
    )
    assert sorted(numbers(sari.get("/tickets", channel=str(shop.whatsapp.pk)))) == sorted(
        [n["sales"], n["teamless"]]
    )
    assert numbers(sari.get("/tickets", assignee="me")) == [n["sales"]]
    assert numbers(sari.get("/tickets", assignee=str(shop.budi.pk))) == [n["lent"]]
    assert sorted(numbers(sari.get("/tickets", assignee="none"))) == sorted(
        [n["shipping"], n["teamless"]]
    )
    assert sorted(numbers(sari.get("/tickets", team=str(shop.shipping.pk)))) == sorted(
        [n["shipping"], n["lent"]]
    )
    assert numbers(sari.get("/tickets", team="none")) == [n["teamless"]]
    contact = desk["sales"].contact_id
    assert numbers(sari.get("/tickets", contact=str(contact))) == [n["sales"]]
    assert numbers(sari.get("/tickets", tag="Grosir")) == [n["sales"]]
    assert numbers(sari.get("/tickets", tag="tidak-ada")) == []
    assert numbers(sari.get("/tickets", q="lambat")) == [n["shipping"]]
    # Filters combine.
    assert numbers(sari.get("/tickets", channel="email", status="pending")) == [n["shipping"]]
    assert numbers(sari.get("/tickets", channel="email", status="solved")) == []


def test_filters_never_widen_what_a_role_sees(
    shop: Shop, desk: dict[str, Ticket], api_as: Callable[[User], Api]
) -> None:
    joko = api_as(shop.joko)
    assert numbers(joko.get("/tickets", team=str(shop.shipping.pk))) == []
    assert numbers(joko.get("/tickets", assignee=str(shop.budi.pk))) == []
    assert numbers(joko.get("/tickets", contact=str(desk["shipping"].contact_id))) == []


def test_updated_since(shop: Shop, desk: dict[str, Ticket], api_as: Callable[[User], Api]) -> None:
    mark = clock.now()
    services.set_priority(desk["teamless"], "high", actor=shop.sari)
    sari = api_as(shop.sari)
    assert numbers(sari.get("/tickets", updated_since=mark.isoformat())) == [
        desk["teamless"].number
    ]
    later = (clock.now() + timedelta(minutes=1)).isoformat()
    assert numbers(sari.get("/tickets", updated_since=later)) == []


def test_longest_waiting_first_and_answered_last(shop: Shop, api_as: Callable[[User], Api]) -> None:
    first, second, third = (customer_writes(shop.whatsapp) for _ in range(3))
    services.reply(first, shop.budi, "Sudah kami jawab")  # no longer waiting
    order = numbers(api_as(shop.budi).get("/tickets", order="waiting"))
    assert order == [second.number, third.number, first.number]


@pytest.mark.parametrize("order", ["activity", "waiting"])
def test_walking_every_page(shop: Shop, api_as: Callable[[User], Api], order: str) -> None:
    made = [customer_writes(shop.whatsapp) for _ in range(7)]
    services.reply(made[3], shop.budi, "Dijawab")
    services.reply(made[5], shop.budi, "Dijawab")
    budi = api_as(shop.budi)
    everything = numbers(budi.get("/tickets", order=order, limit=100))
    assert sorted(everything) == sorted(t.number for t in made)

    pages: list[list[int]] = []
    response = budi.get("/tickets", order=order, limit=3)
    while True:
        pages.append(numbers(response))
        body = response.json()
        if body["next_cursor"] is None:
            assert body["next"] is None
            break
        assert f"cursor={body['next_cursor']}" in body["next"]
        assert "limit=3" in body["next"]
        response = budi.client.get(body["next"])
    assert [len(p) for p in pages] == [3, 3, 1]
    assert [n for page in pages for n in page] == everything


def test_bad_cursor_and_bad_parameters(
    shop: Shop, desk: dict[str, Ticket], api_as: Callable[[User], Api]
) -> None:
    sari = api_as(shop.sari)
    for cursor in ["garbage", "e30", "WyJ3YWl0aW5nIixudWxsLDFd"]:  # {}, ["waiting",null,1]
        response = sari.get("/tickets", cursor=cursor)
        assert response.status_code == 422
        assert response.json()["code"] == "invalid_cursor"
    activity_cursor = sari.get("/tickets", limit=1).json()["next_cursor"]
    response = sari.get("/tickets", order="waiting", cursor=activity_cursor)
    assert response.json()["code"] == "invalid_cursor"

    for params in [
        {"limit": "0"},
        {"limit": "101"},
        {"status": "lost"},
        {"assignee": "someone"},
        {"team": "sales"},
        {"order": "random"},
        {"updated_since": "yesterday"},
        {"contact": "99999999999999999999999"},
    ]:
        response = sari.get("/tickets", **params)
        assert response.status_code == 422, params
        body = response.json()
        assert body["code"] == "validation_error"
        assert body["details"][0]["loc"][:2] == ["query", next(iter(params))]
        assert body["details"][0]["message"]
