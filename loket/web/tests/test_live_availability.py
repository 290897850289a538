"""Availability: each agent sets online / away / offline; supervisors and admins see it."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.test import Client

from loket.accounts import services as accounts
from loket.accounts.models import User
from loket.audit.models import Event
from loket.conftest import Shop
from loket.presence import services as presence


def signed_in(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_an_agent_goes_online_from_the_top_bar(shop: Shop) -> None:
    budi = signed_in(shop.budi)
    response = budi.post(
        "/live/availability/",
        {"availability": "online", "next": "/?view=mine"},
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert html.lstrip().startswith("<form")  # just the switch, swapped in place
    assert 'data-availability="online"' in html
    assert '<option value="online" selected>' in html
    assert 'name="next" value="/?view=mine"' in html  # still the page it sits on
    shop.budi.refresh_from_db()
    assert shop.budi.availability == "online"
    event = Event.objects.get(kind="agent.availability_changed")
    assert (event.subject_id, event.actor_id, event.data) == (
        shop.budi.pk,
        shop.budi.pk,
        {"availability": "online"},
    )


def test_without_script_the_form_posts_and_returns_to_the_page(shop: Shop) -> None:
    response = signed_in(shop.wati).post(
        "/live/availability/", {"availability": "away", "next": "/tiket/1001/"}
    )
    assert (response.status_code, response["Location"]) == (302, "/tiket/1001/")
    response = signed_in(shop.wati).post(
        "/live/availability/", {"availability": "online", "next": "https://jahat.example/"}
    )
    assert response["Location"] == "/"


def test_setting_the_same_value_twice_records_one_event(shop: Shop) -> None:
    assert accounts.set_availability(shop.budi, "away") is True
    assert accounts.set_availability(shop.budi, "away") is False
    assert Event.objects.filter(kind="agent.availability_changed").count() == 1


def test_an_unknown_value_is_refused(shop: Shop) -> None:
    with pytest.raises(ValidationError):
        accounts.set_availability(shop.budi, "holiday")
    response = signed_in(shop.budi).post("/live/availability/", {"availability": "holiday"})
    assert response.status_code == 400


def test_the_switch_is_in_every_signed_in_page(shop: Shop) -> None:
    html = signed_in(shop.budi).get("/").content.decode()
    assert 'name="availability"' in html
    assert "/live/availability/" in html
    assert "data-live-notify" in html


def test_supervisor_sees_their_team_with_availability_and_ticket(shop: Shop) -> None:
    ticket = shop.whatsapp_from_dewi("Halo")
    accounts.set_availability(shop.budi, "online")
    accounts.set_availability(shop.wati, "away")
    presence.beat(shop.budi, ticket, "typing")

    html = signed_in(shop.joko).get("/live/agents/").content.decode()
    assert "Budi Santoso" in html
    assert f"#{ticket.number}" in html
    assert "Wati" not in html  # another team

    html = signed_in(shop.sari).get("/live/agents/").content.decode()
    assert "Budi Santoso" in html
    assert "Wati Rahayu" in html
    assert 'data-availability="away"' in html


def test_the_ticket_an_agent_looks_at_is_hidden_from_a_supervisor_who_may_not_see_it(
    shop: Shop,
) -> None:
    ticket = shop.email_from_rudi("Paket")  # Pengiriman
    presence.beat(shop.budi, ticket, "viewing")  # (as if Budi had been given it before)
    html = signed_in(shop.joko).get("/live/agents/").content.decode()
    assert "Budi Santoso" in html
    assert f"#{ticket.number}" not in html


def test_the_top_bar_links_the_agents_page_for_supervisors_only(shop: Shop) -> None:
    assert "/live/agents/" in signed_in(shop.joko).get("/").content.decode()
    assert "/live/agents/" in signed_in(shop.sari).get("/").content.decode()
    assert "/live/agents/" not in signed_in(shop.budi).get("/").content.decode()


def test_agents_may_not_open_the_agents_page(shop: Shop) -> None:
    assert signed_in(shop.budi).get("/live/agents/").status_code == 403
    assert Client().get("/live/agents/").status_code == 302


def test_the_agents_table_refreshes_as_a_fragment_in_a_fixed_number_of_queries(
    shop: Shop,
) -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from loket.accounts.models import Role

    def fragment() -> tuple[str, int]:
        client = signed_in(shop.sari)
        with CaptureQueriesContext(connection) as queries:
            response = client.get("/live/agents/", headers={"HX-Request": "true"})
        return response.content.decode(), len(queries)

    ticket = shop.whatsapp_from_dewi("Halo")
    presence.beat(shop.budi, ticket, "viewing")
    html, few = fragment()
    assert html.lstrip().startswith("<table")
    assert "<html" not in html
    for i in range(6):
        agent = User.objects.create_user(
            f"agen{i}@batiksari.id", "x", name=f"Agen {i}", role=Role.AGENT
        )
        agent.teams.set([shop.sales])
        presence.beat(agent, ticket, "viewing")
    html, many = fragment()
    assert "Agen 5" in html
    assert many == few
