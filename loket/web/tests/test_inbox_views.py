"""The inbox per role: who sees which conversations and counts, views, filters, search, order,
pages, and the htmx fragments."""

from __future__ import annotations

import re

import pytest
from django.test import Client
from django.urls import reverse

from loket.accounts.models import User
from loket.conftest import Shop
from loket.tickets import services as tickets
from loket.tickets.models import Ticket
from loket.web.tests.inbox_fixtures import email, rows, whatsapp

pytestmark = pytest.mark.django_db

HTMX = {"HX-Request": "true"}


def client_for(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def inbox(user: User, query: str = "", **headers: str) -> str:
    response = client_for(user).get(reverse("web:inbox:index") + query, headers=headers)
    assert response.status_code == 200
    return response.content.decode()


def count(html: str, view: str) -> int:
    match = re.search(rf'data-count="{view}">(\d+)<', html)
    assert match, f"no count for {view}"
    return int(match.group(1))


@pytest.fixture
def mixed(shop: Shop) -> dict[str, int]:
    """Two sales (WhatsApp) tickets, two shipping (email) ones, one without a team, one of the
    shipping tickets assigned to Budi, one sales ticket pending."""
    sales = whatsapp(shop, 1)
    sales_pending = whatsapp(shop, 2)
    tickets.set_status(sales_pending, "pending", actor=shop.sari)
    shipping = email(shop, 3)
    shipping_budi = email(shop, 4)
    tickets.assign(shipping_budi, shop.budi, actor=shop.sari)
    teamless = whatsapp(shop, 5)
    tickets.set_team(teamless, None, actor=shop.sari)
    return {
        "sales": sales.number,
        "sales_pending": sales_pending.number,
        "shipping": shipping.number,
        "shipping_budi": shipping_budi.number,
        "teamless": teamless.number,
    }


def test_signed_out_visitors_are_sent_to_sign_in(shop: Shop) -> None:
    response = Client().get(reverse("web:inbox:index"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("web:login"))


def test_an_htmx_request_after_the_session_ended_reloads_to_sign_in(shop: Shop) -> None:
    response = Client().get(
        reverse("web:inbox:index"),
        headers={**HTMX, "HX-Current-URL": "http://testserver/?view=mine"},
    )
    assert response.status_code == 401
    assert response["HX-Redirect"].startswith(reverse("web:login"))
    assert "view%3Dmine" in response["HX-Redirect"]


def test_the_owner_sees_every_open_conversation(shop: Shop, mixed: dict[str, int]) -> None:
    html = inbox(shop.sari)
    assert sorted(rows(html)) == sorted(mixed.values())
    assert count(html, "open") == 5
    assert count(html, "unassigned") == 4
    assert count(html, "pending") == 1
    assert count(html, f"team-{shop.sales.pk}") == 2
    assert count(html, f"team-{shop.shipping.pk}") == 2
    assert count(html, f"channel-{shop.email.pk}") == 2
    assert count(html, f"channel-{shop.whatsapp.pk}") == 3


@pytest.mark.parametrize("who", ["joko", "budi"])
def test_the_sales_team_sees_sales_team_less_and_their_own(
    shop: Shop, mixed: dict[str, int], who: str
) -> None:
    html = inbox(getattr(shop, who))
    expected = {mixed["sales"], mixed["sales_pending"], mixed["teamless"]}
    if who == "budi":
        expected.add(mixed["shipping_budi"])
    assert set(rows(html)) == expected
    assert count(html, "open") == len(expected)
    # Only their own team is offered as a view; nothing of the shipping team is counted.
    assert f"team-{shop.shipping.pk}" not in html
    assert count(html, f"team-{shop.sales.pk}") == 2
    assert count(html, f"channel-{shop.email.pk}") == (1 if who == "budi" else 0)


def test_wati_sees_shipping_and_team_less_only(shop: Shop, mixed: dict[str, int]) -> None:
    html = inbox(shop.wati)
    assert set(rows(html)) == {mixed["shipping"], mixed["shipping_budi"], mixed["teamless"]}
    assert count(html, "mine") == 0
    assert count(html, "pending") == 0
    assert f"team-{shop.sales.pk}" not in html


def test_mine_and_unassigned_views(shop: Shop, mixed: dict[str, int]) -> None:
    assert rows(inbox(shop.budi, "?view=mine")) == [mixed["shipping_budi"]]
    assert count(inbox(shop.budi), "mine") == 1
    unassigned = rows(inbox(shop.budi, "?view=unassigned"))
    assert set(unassigned) == {mixed["sales"], mixed["sales_pending"], mixed["teamless"]}


def test_pending_and_solved_views(shop: Shop, mixed: dict[str, int]) -> None:
    solved = tickets.set_status(
        Ticket.objects.get(number=mixed["sales"]), "solved", actor=shop.sari
    )
    assert rows(inbox(shop.joko, "?view=pending")) == [mixed["sales_pending"]]
    assert rows(inbox(shop.joko, "?view=solved")) == [solved.number]
    html = inbox(shop.joko)
    assert count(html, "solved") == 1
    assert solved.number not in rows(html)  # "All open" leaves solved tickets out


def test_team_and_channel_views(shop: Shop, mixed: dict[str, int]) -> None:
    team = rows(inbox(shop.sari, f"?view=team-{shop.shipping.pk}"))
    assert set(team) == {mixed["shipping"], mixed["shipping_budi"]}
    channel = rows(inbox(shop.sari, f"?view=channel-{shop.whatsapp.pk}"))
    assert set(channel) == {mixed["sales"], mixed["sales_pending"], mixed["teamless"]}
    # An agent asking for another team's view gets nothing they may not see.
    assert rows(inbox(shop.wati, f"?view=team-{shop.sales.pk}")) == []


def test_filters_narrow_the_list(shop: Shop, mixed: dict[str, int]) -> None:
    budi_ticket = Ticket.objects.get(number=mixed["shipping_budi"])
    tickets.set_tags(budi_ticket, ["retur"], actor=shop.sari)
    tickets.set_priority(budi_ticket, "urgent", actor=shop.sari)
    assert rows(inbox(shop.sari, "?channel=email")) == [mixed["shipping_budi"], mixed["shipping"]]
    assert rows(inbox(shop.sari, f"?assignee={shop.budi.pk}")) == [mixed["shipping_budi"]]
    assert rows(inbox(shop.sari, "?tag=retur")) == [mixed["shipping_budi"]]
    assert rows(inbox(shop.sari, "?priority=urgent")) == [mixed["shipping_budi"]]
    assert rows(inbox(shop.sari, "?status=pending")) == [mixed["sales_pending"]]
    assert rows(inbox(shop.sari, "?team=none")) == [mixed["teamless"]]
    html = inbox(shop.sari, "?tag=retur")
    assert '<details class="filters" open>' in html  # the panel shows what narrows the list
    # Nonsense is ignored rather than an error.
    assert len(rows(inbox(shop.sari, "?status=bogus&assignee=x&team=y&view=nope"))) == 5


def test_search_finds_by_words_and_number(shop: Shop, mixed: dict[str, int]) -> None:
    parang = whatsapp(shop, 6, "Batik tulis parang ukuran XL ada?")
    assert rows(inbox(shop.sari, "?q=parang")) == [parang.number]
    assert rows(inbox(shop.sari, f"?q=%23{mixed['shipping']}")) == [mixed["shipping"]]
    nothing = inbox(shop.sari, "?q=zzzzqqq")
    assert rows(nothing) == []
    assert '<li class="empty muted">' in nothing


def test_longest_waiting_first(shop: Shop, mixed: dict[str, int]) -> None:
    activity = rows(inbox(shop.sari))
    waiting = rows(inbox(shop.sari, "?order=waiting"))
    assert activity[0] == mixed["teamless"]  # newest activity first
    assert waiting[0] == mixed["sales"]  # the first to write has waited longest
    assert 'value="waiting" selected' in inbox(shop.sari, "?order=waiting")


def test_more_loads_the_next_page_with_the_cursor(shop: Shop) -> None:
    numbers = [whatsapp(shop, n).number for n in range(30)]
    html = inbox(shop.sari)
    first = rows(html)
    assert first == sorted(numbers, reverse=True)[:25]
    more = re.search(r'hx-get="([^"]+cursor=[^"]+)"', html)
    assert more, "a 'more' button"
    url = more.group(1).replace("&amp;", "&")
    response = client_for(shop.sari).get(url, headers=HTMX)
    assert response.status_code == 200
    second = rows(response.content.decode())
    assert second == sorted(numbers, reverse=True)[25:]
    assert "cursor=" not in response.content.decode()  # the last page has no "more"


def test_a_forged_cursor_is_refused(shop: Shop) -> None:
    response = client_for(shop.sari).get(reverse("web:inbox:rows") + "?cursor=bogus", headers=HTMX)
    assert response.status_code == 400


def test_the_htmx_list_fragment_carries_the_live_hooks_and_the_counts(
    shop: Shop, mixed: dict[str, int]
) -> None:
    html = inbox(shop.budi, "?view=mine", **HTMX)
    assert not html.lstrip().startswith("<!doctype")
    assert html.lstrip().startswith('<section id="ticket-list"')
    assert "data-live-inbox" in html
    assert 'hx-trigger="loket:refresh"' in html
    assert 'hx-get="/?view=mine"' in html  # a refresh re-fetches the same view
    assert rows(html) == [mixed["shipping_budi"]]
    assert 'id="inbox-views" class="views" hx-swap-oob="true"' in html
    assert "inbox-filters" not in html  # the filter form stays as the agent left it
    # Picking a view in the navigation also resets the filter panel to it.
    picked = inbox(shop.budi, "?view=mine", **HTMX, **{"HX-Trigger": "view-mine"})
    assert 'id="inbox-filters"' in picked


def test_a_view_change_pushes_a_clean_url_but_a_live_refresh_does_not(shop: Shop) -> None:
    client = client_for(shop.sari)
    picked = client.get("/?view=mine&status=&channel=&q=", headers=HTMX)
    assert picked["HX-Push-Url"] == "/?view=mine"
    refreshed = client.get("/?view=mine", headers={**HTMX, "HX-Trigger": "ticket-list"})
    assert "HX-Push-Url" not in refreshed


def test_rows_show_channel_customer_excerpt_waiting_assignee_and_tags(shop: Shop) -> None:
    ticket = shop.email_from_rudi("Paket saya belum sampai", subject="Pesanan #88")
    tickets.assign(ticket, shop.wati, actor=shop.sari)
    tickets.set_tags(ticket, ["pengiriman"], actor=shop.sari)
    html = inbox(shop.sari)
    row = html[html.index(f'data-ticket-row="{ticket.number}"') :]
    row = row[: row.index("</li>")]
    assert 'class="channel-icon channel-email"' in row
    assert "Rudi Hartono" in row
    assert "Pesanan #88" in row
    assert "Paket saya belum sampai" in row
    assert 'class="waiting"' in row
    assert ">WR<" in row  # Wati Rahayu's avatar
    assert '<span class="tag">pengiriman</span>' in row
    assert f'hx-get="/tiket/{ticket.number}/"' in row
    assert 'hx-target="#conversation"' in row
    assert 'hx-push-url="true"' in row


def test_the_page_has_three_panes_and_the_phone_viewport(shop: Shop) -> None:
    html = inbox(shop.budi)
    assert '<meta name="viewport" content="width=device-width' in html
    assert 'id="inbox-nav"' in html
    assert 'id="ticket-list"' in html
    assert 'id="conversation"' in html
    assert "data-back" in html
    assert "web/live.js" in html
    assert "<script>" not in html  # CSP: every script is a file with the nonce
