"""In the composer: "/" finds saved replies filled in for the ticket; a macro applies in a click."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.template.loader import render_to_string
from django.templatetags.static import static
from django.test import Client, RequestFactory
from django.urls import reverse

from loket.accounts.models import User
from loket.conftest import Shop
from loket.replies import services
from loket.replies.models import Assignment
from loket.replies.services import MacroSpec
from loket.tickets import services as tickets
from loket.tickets.models import Direction, Message, Status, Ticket

HTMX = {"HX-Request": "true"}


def _client(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _search(client: Client, q: str, ticket: Ticket | None = None) -> Any:
    params = {"q": q}
    if ticket is not None:
        params["ticket"] = str(ticket.number)
    return client.get(reverse("web:replies:search"), params, headers=HTMX)


@pytest.fixture
def dewi_ticket(shop: Shop) -> Ticket:
    ticket = shop.whatsapp_from_dewi("Kak, batik tulis ukuran L masih ada?")
    tickets.set_team(ticket, shop.sales, actor=None)
    return ticket


def test_search_returns_the_reply_filled_in_for_the_ticket(shop: Shop, dewi_ticket: Ticket) -> None:
    services.create_reply(
        shop.joko,
        title="Sapa",
        shortcut="sapa",
        body="Halo Kak {{ contact.first_name }}, saya {{ agent.first_name }} dari "
        "{{ business.name }} <b>siap</b> membantu tiket #{{ ticket.number }}.",
        shared=True,
    )
    response = _search(_client(shop.budi), "sap", dewi_ticket)
    assert response.status_code == 200
    page = response.content.decode()
    assert 'role="listbox"' in page
    assert 'role="option"' in page
    text = (
        "Halo Kak Dewi, saya Budi dari Loket &lt;b&gt;siap&lt;/b&gt; membantu tiket "
        f"#{dewi_ticket.number}."
    )
    assert f'data-reply-text="{text}"' in page
    assert "<b>siap</b>" not in page  # agents' text is escaped, never markup


def test_search_without_a_ticket_keeps_ticket_placeholders(shop: Shop) -> None:
    services.create_reply(shop.budi, title="Nomor", body="Tiket #{{ ticket.number }}")
    page = _search(_client(shop.budi), "nomor").content.decode()
    assert "Tiket #{{ ticket.number }}" in page


def test_hostile_placeholders_are_shown_literally_and_flagged(
    shop: Shop, dewi_ticket: Ticket, settings: Any
) -> None:
    reply = services.create_reply(shop.budi, title="Aman", body="Halo")
    # Written around the service (as an old row or a direct database edit could be).
    reply.body = "{{ settings.SECRET_KEY }} {% load static %}{% debug %}"
    reply.save()
    page = _search(_client(shop.budi), "aman", dewi_ticket).content.decode()
    assert settings.SECRET_KEY not in page
    assert "{{ settings.SECRET_KEY }} {% load static %}{% debug %}" in page
    assert "saved-replies-warning" in page


def test_search_shows_nothing_of_other_agents(shop: Shop, dewi_ticket: Ticket) -> None:
    services.create_reply(shop.wati, title="Rahasia Wati", body="punya Wati")
    page = _search(_client(shop.budi), "rahasia").content.decode()
    assert "Rahasia Wati" not in page
    assert 'role="option"' not in page


def test_search_on_a_ticket_the_agent_cannot_see_is_not_found(
    shop: Shop, dewi_ticket: Ticket
) -> None:
    services.create_reply(shop.wati, title="Sapa", body="Halo {{ contact.name }}")
    response = _search(_client(shop.wati), "sapa", dewi_ticket)  # Wati: shipping, not sales
    assert response.status_code == 404
    assert (
        _client(shop.wati).get(reverse("web:replies:search"), {"ticket": "abc"}).status_code == 404
    )


def test_search_query_count_is_fixed(
    shop: Shop, dewi_ticket: Ticket, django_assert_num_queries: Any
) -> None:
    for i in range(15):
        services.create_reply(
            shop.joko, title=f"Balasan {i}", body="Halo {{ contact.name }}", shared=True
        )
    client = _client(shop.budi)
    _search(client, "balasan", dewi_ticket)  # warm the session
    # session + user, the agent's teams, the ticket with its contact, the replies
    with django_assert_num_queries(5):
        response = _search(client, "balasan", dewi_ticket)
    assert response.content.decode().count('role="option"') == 10


def test_composer_tools_render_a_macro_menu_without_inline_script(
    shop: Shop, dewi_ticket: Ticket
) -> None:
    request = RequestFactory().get("/")
    request.user = shop.budi
    html = render_to_string(
        "web/replies/composer_tools.html",
        {"ticket": dewi_ticket, "csp_nonce": "n0nce"},
        request=request,
    )
    assert reverse("web:replies:macro_menu", args=[dewi_ticket.number]) in html
    assert f'src="{static("web/replies.js")}"' in html
    assert 'nonce="n0nce"' in html
    assert "onclick" not in html
    assert "hx-on" not in html
    assert "<script>" not in html


def test_macro_menu_lists_usable_macros(shop: Shop, dewi_ticket: Ticket) -> None:
    services.create_macro(shop.budi, MacroSpec(name="Milik Budi", status="pending"))
    services.create_macro(shop.wati, MacroSpec(name="Milik Wati", status="pending"))
    shared = services.create_macro(
        shop.joko,
        MacroSpec(name="Bersama", body="Siap Kak {{ contact.first_name }}", status="solved"),
        shared=True,
    )
    url = reverse("web:replies:macro_menu", args=[dewi_ticket.number])
    page = _client(shop.budi).get(url, headers=HTMX).content.decode()
    assert "Milik Budi" in page
    assert "Bersama" in page
    assert "Siap Kak Dewi" in page  # the reply as it will be sent on this ticket
    assert reverse("web:replies:apply_macro", args=[shared.pk, dewi_ticket.number]) in page
    assert "Milik Wati" not in page
    assert _client(shop.wati).get(url, headers=HTMX).status_code == 404


def _apply(client: Client, macro_id: int, ticket: Ticket, htmx: bool = True) -> Any:
    url = reverse("web:replies:apply_macro", args=[macro_id, ticket.number])
    return client.post(url, headers=HTMX if htmx else {})


def test_applying_a_macro_changes_the_ticket_and_tells_the_page(
    shop: Shop, dewi_ticket: Ticket
) -> None:
    macro = services.create_macro(
        shop.joko,
        MacroSpec(
            name="Selesai",
            body="Terima kasih Kak {{ contact.first_name }}!",
            status=Status.SOLVED,
            tags=("beres",),
            assignment=Assignment.ME,
        ),
        shared=True,
    )
    response = _apply(_client(shop.budi), macro.pk, dewi_ticket)
    assert response.status_code == 200
    assert "loket:macro-applied" in json.loads(response["HX-Trigger"])
    assert 'role="status"' in response.content.decode()
    dewi_ticket.refresh_from_db()
    assert (dewi_ticket.status, dewi_ticket.assignee) == (Status.SOLVED, shop.budi)
    reply = Message.objects.get(ticket=dewi_ticket, direction=Direction.OUTBOUND)
    assert reply.text == "Terima kasih Kak Dewi!"


def test_without_htmx_applying_goes_back_to_the_ticket(shop: Shop, dewi_ticket: Ticket) -> None:
    macro = services.create_macro(shop.budi, MacroSpec(name="Tunda", status=Status.PENDING))
    response = _apply(_client(shop.budi), macro.pk, dewi_ticket, htmx=False)
    assert response.status_code == 302
    assert response["Location"] == reverse("web:tickets:detail", args=[dewi_ticket.number])


def test_a_failing_macro_says_why_and_changes_nothing(shop: Shop, dewi_ticket: Ticket) -> None:
    tickets.set_status(dewi_ticket, Status.SOLVED, actor=shop.budi)
    macro = services.create_macro(
        shop.budi, MacroSpec(name="Tunda", body="Ditunggu ya", status=Status.PENDING, tags=("x",))
    )
    response = _apply(_client(shop.budi), macro.pk, dewi_ticket)
    assert response.status_code == 422
    assert "HX-Trigger" not in response
    assert "Tunda" in response.content.decode()
    assert not Message.objects.filter(direction=Direction.OUTBOUND).exists()
    assert not dewi_ticket.tags.exists()


@pytest.mark.parametrize(("who", "status"), [("budi", 403), ("joko", 200), ("sari", 200)])
def test_assigning_to_someone_else_is_for_supervisors_and_admins(
    shop: Shop, dewi_ticket: Ticket, who: str, status: int
) -> None:
    macro = services.create_macro(
        shop.joko,
        MacroSpec(name="Ke Budi", assignment=Assignment.AGENT, assignee=shop.joko),
        shared=True,
    )
    response = _apply(_client(getattr(shop, who)), macro.pk, dewi_ticket)
    assert response.status_code == status
    dewi_ticket.refresh_from_db()
    assert (dewi_ticket.assignee_id == shop.joko.pk) is (status == 200)


def test_macros_and_tickets_out_of_reach_are_not_found(shop: Shop, dewi_ticket: Ticket) -> None:
    wati_macro = services.create_macro(shop.wati, MacroSpec(name="Wati", status=Status.PENDING))
    budi_macro = services.create_macro(shop.budi, MacroSpec(name="Budi", status=Status.PENDING))
    assert _apply(_client(shop.budi), wati_macro.pk, dewi_ticket).status_code == 404
    assert _apply(_client(shop.wati), wati_macro.pk, dewi_ticket).status_code == 404
    assert (
        _client(shop.budi)
        .get(reverse("web:replies:apply_macro", args=[budi_macro.pk, dewi_ticket.number]))
        .status_code
        == 405
    )
    dewi_ticket.refresh_from_db()
    assert dewi_ticket.status == Status.NEW
