"""Bulk changes on selected inbox rows: the API's permission rules, refusals reported per row."""

from __future__ import annotations

import json

import pytest
from django.test import Client
from django.urls import reverse

from loket.accounts.models import User
from loket.conftest import Shop
from loket.tickets import services as tickets
from loket.tickets.models import Ticket
from loket.web.tests.inbox_fixtures import email, whatsapp

pytestmark = pytest.mark.django_db

HTMX = {"HX-Request": "true"}


def bulk(user: User, numbers: list[int], do: str, tag: str = "", *, htmx: bool = True) -> str:
    client = Client()
    client.force_login(user)
    response = client.post(
        reverse("web:inbox:bulk"),
        {"t": [str(n) for n in numbers], "do": do, "tag": tag},
        headers=HTMX if htmx else {},
    )
    assert response.status_code in {200, 302, 422}, response.status_code
    return response.content.decode()


def fresh(number: int) -> Ticket:
    return Ticket.objects.get(number=number)


def test_a_supervisor_assigns_several_tickets_to_an_agent(shop: Shop) -> None:
    numbers = [whatsapp(shop, n).number for n in range(3)]
    client = Client()
    client.force_login(shop.joko)
    response = client.post(
        reverse("web:inbox:bulk"),
        {"t": [str(n) for n in numbers], "do": f"assign:{shop.budi.pk}"},
        headers=HTMX,
    )
    assert response.status_code == 200
    assert all(fresh(n).assignee_id == shop.budi.pk for n in numbers)
    trigger = json.loads(response["HX-Trigger"])
    assert trigger == {"loket:inbox-changed": {"cleared": True}}  # the list refreshes


def test_an_agent_may_take_unassigned_tickets_but_not_hand_them_out(shop: Shop) -> None:
    mine = whatsapp(shop, 1)
    taken = whatsapp(shop, 2)
    tickets.assign(taken, shop.joko, actor=shop.joko)
    html = bulk(shop.budi, [mine.number, taken.number], "assign:me")
    assert fresh(mine.number).assignee_id == shop.budi.pk
    assert fresh(taken.number).assignee_id == shop.joko.pk  # not taken from Joko
    assert f'data-refused="{taken.number}"' in html
    assert f'data-refused="{mine.number}"' not in html
    # Handing a ticket to someone else is for supervisors and admins.
    other = whatsapp(shop, 3)
    html = bulk(shop.budi, [other.number], f"assign:{shop.wati.pk}")
    assert fresh(other.number).assignee_id is None
    assert f'data-refused="{other.number}"' in html


def test_tickets_the_agent_may_not_see_are_refused_as_not_found(shop: Shop) -> None:
    shipping = email(shop, 1)
    sales = whatsapp(shop, 2)
    html = bulk(shop.budi, [shipping.number, sales.number], "status:solved")
    assert fresh(shipping.number).status == "new"  # Budi is not in the shipping team
    assert fresh(sales.number).status == "solved"
    assert f'data-refused="{shipping.number}"' in html


def test_a_status_that_cannot_follow_is_refused_for_that_row_only(shop: Shop) -> None:
    closed = whatsapp(shop, 1)
    tickets.set_status(closed, "closed", actor=shop.sari)
    pending = whatsapp(shop, 2)
    html = bulk(shop.sari, [closed.number, pending.number], "status:pending")
    assert fresh(closed.number).status == "closed"
    assert fresh(pending.number).status == "pending"
    assert f'data-refused="{closed.number}"' in html


def test_bulk_tag_adds_to_the_existing_tags(shop: Shop) -> None:
    first = whatsapp(shop, 1)
    tickets.set_tags(first, ["vip"], actor=shop.sari)
    second = whatsapp(shop, 2)
    bulk(shop.budi, [first.number, second.number], "tag", tag=" Retur ")
    assert sorted(fresh(first.number).tags.values_list("name", flat=True)) == ["retur", "vip"]
    assert list(fresh(second.number).tags.values_list("name", flat=True)) == ["retur"]


def test_a_wrong_action_changes_nothing_and_says_why(shop: Shop) -> None:
    ticket = whatsapp(shop, 1)
    client = Client()
    client.force_login(shop.sari)
    for data in (
        {"t": [str(ticket.number)], "do": "explode"},
        {"t": [str(ticket.number)], "do": "tag", "tag": ""},
        {"t": [str(ticket.number)], "do": "assign:999999"},
        {"t": [], "do": "status:solved"},
    ):
        response = client.post(reverse("web:inbox:bulk"), data, headers=HTMX)
        assert response.status_code == 422
        assert 'class="error"' in response.content.decode()
    assert fresh(ticket.number).status == "new"
    assert fresh(ticket.number).assignee_id is None


def test_without_javascript_bulk_redirects_back_with_messages(shop: Shop) -> None:
    ticket = whatsapp(shop, 1)
    client = Client()
    client.force_login(shop.sari)
    response = client.post(
        reverse("web:inbox:bulk"),
        {"t": [str(ticket.number)], "do": "status:pending", "list": "view=mine"},
        follow=True,
    )
    assert response.redirect_chain[-1][0] == "/?view=mine"
    assert fresh(ticket.number).status == "pending"
    assert 'class="flash"' in response.content.decode()


def test_bulk_needs_a_signed_in_agent_and_a_post(shop: Shop) -> None:
    ticket = whatsapp(shop, 1)
    response = Client().post(
        reverse("web:inbox:bulk"), {"t": [str(ticket.number)], "do": "status:solved"}
    )
    assert response.status_code == 302
    assert fresh(ticket.number).status == "new"
    client = Client()
    client.force_login(shop.sari)
    assert client.get(reverse("web:inbox:bulk")).status_code == 405
