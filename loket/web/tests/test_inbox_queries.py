"""The inbox page and its fragments run a fixed number of queries, however many tickets, tags
and agents the rows show (no N+1). A change here is a decision: update the numbers knowingly."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from loket.accounts.models import User
from loket.conftest import Shop
from loket.tickets import services as tickets
from loket.web.tests.inbox_fixtures import email, rows, whatsapp

pytestmark = pytest.mark.django_db

HTMX = {"HX-Request": "true"}

# session, user; the list: the user's teams (not for an admin), the rows, their tags; the
# counts: the user's teams (not for an admin), the active tickets grouped, the solved ones,
# teams, channels; the agents for the filter and bulk-assign menus.
PAGE_QUERIES = {"sari": 9, "budi": 11}
# The same without the agents (a refresh leaves the filter panel as it is).
FRAGMENT_QUERIES = {"sari": 8, "budi": 10}
ROWS_QUERIES = {"sari": 4, "budi": 5}


def add_tickets(shop: Shop, start: int, n: int) -> None:
    for i in range(start, start + n):
        ticket = whatsapp(shop, i) if i % 2 else email(shop, i)
        tickets.set_tags(ticket, [f"tag{i}", "vip"], actor=shop.sari)
        tickets.assign(ticket, shop.budi if i % 3 else shop.wati, actor=shop.sari)


def client_for(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.mark.parametrize("who", ["sari", "budi"])
def test_the_inbox_page_query_count_does_not_grow_with_tickets(
    shop: Shop, django_assert_num_queries: Callable[..., Any], who: str
) -> None:
    client = client_for(getattr(shop, who))
    add_tickets(shop, 0, 3)
    with django_assert_num_queries(PAGE_QUERIES[who]):
        assert len(rows(client.get(reverse("web:inbox:index")).content.decode())) >= 2
    add_tickets(shop, 3, 20)
    with django_assert_num_queries(PAGE_QUERIES[who]):
        assert len(rows(client.get(reverse("web:inbox:index")).content.decode())) >= 10


@pytest.mark.parametrize("who", ["sari", "budi"])
def test_the_list_fragment_query_count_does_not_grow_with_tickets(
    shop: Shop, django_assert_num_queries: Callable[..., Any], who: str
) -> None:
    client = client_for(getattr(shop, who))
    add_tickets(shop, 0, 3)
    url = reverse("web:inbox:index") + "?view=open&order=waiting"
    with django_assert_num_queries(FRAGMENT_QUERIES[who]):
        client.get(url, headers=HTMX)
    add_tickets(shop, 3, 20)
    with django_assert_num_queries(FRAGMENT_QUERIES[who]):
        assert len(rows(client.get(url, headers=HTMX).content.decode())) >= 10


@pytest.mark.parametrize("who", ["sari", "budi"])
def test_the_next_page_query_count_does_not_grow_with_tickets(
    shop: Shop, django_assert_num_queries: Callable[..., Any], who: str
) -> None:
    client = client_for(getattr(shop, who))
    add_tickets(shop, 0, 60)
    first = client.get(reverse("web:inbox:index")).content.decode()
    cursor = first.split("cursor=", 1)[1].split('"', 1)[0]
    with django_assert_num_queries(ROWS_QUERIES[who]):
        response = client.get(reverse("web:inbox:rows") + f"?cursor={cursor}", headers=HTMX)
    assert len(rows(response.content.decode())) == 25
