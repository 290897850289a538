"""The composer on WhatsApp tickets: the 24-hour window and the templates that go past it,
quotes, reactions, quick-reply buttons, marking the customer's messages read."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import time_machine
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django_tasks_db.models import DBTaskResult

from loket.accounts.models import User
from loket.audit.services import SYSTEM
from loket.channels.items import InboundMessage, Sender
from loket.channels.models import Channel, Template
from loket.conftest import Shop
from loket.contacts import services as contacts
from loket.tickets import services as tickets
from loket.tickets.models import Direction, Message, Ticket

pytestmark = pytest.mark.django_db

HTMX = {"HX-Request": "true"}
START = datetime(2026, 11, 2, 3, 0, tzinfo=UTC)
BODY = "Halo {{1}}, tiket {{2}} sudah kami proses. Terima kasih."

OnCommit = Callable[..., AbstractContextManager[list[Callable[[], Any]]]]


@pytest.fixture(autouse=True)
def _english(shop: Shop) -> None:
    """New strings are translated at integration; the agents here read English."""
    for user in (shop.sari, shop.budi, shop.wati):
        user.language = "en"
        user.save(update_fields=["language"])


@pytest.fixture
def clock() -> Iterator[time_machine.Traveller]:
    with time_machine.travel(START, tick=False) as traveller:
        yield traveller


def template(channel: Channel, name: str, status: str = "APPROVED", body: str = BODY) -> Template:
    return Template.objects.create(
        channel=channel,
        external_id=f"t-{name}",
        name=name,
        language="id",
        category="UTILITY",
        status=status,
        components=[{"type": "BODY", "text": body}],
        body=body,
        parameters=["1", "2"] if "{{2}}" in body else [],
        synced_at=START,
    )


def client_for(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def page(user: User, ticket: Ticket) -> str:
    response = client_for(user).get(reverse("web:tickets:detail", args=[ticket.number]))
    assert response.status_code == 200
    return response.content.decode()


def post(user: User, name: str, ticket: Ticket, *args: int, **data: Any) -> tuple[int, str]:
    url = reverse(f"web:tickets:{name}", args=[ticket.number, *args])
    response = client_for(user).post(url, data, headers=HTMX)
    return response.status_code, response.content.decode()


def outbound(ticket: Ticket) -> list[Message]:
    return list(Message.objects.filter(ticket=ticket, direction=Direction.OUTBOUND).order_by("pk"))


# --- the window ---------------------------------------------------------------------------------
def test_outside_the_window_free_text_gives_way_to_the_approved_templates(
    shop: Shop, clock: time_machine.Traveller
) -> None:
    ticket = shop.whatsapp_from_dewi("Halo kak")
    template(shop.whatsapp, "tiket_diproses")
    template(shop.whatsapp, "promo_baru", status="PENDING")
    template(shop.whatsapp, "ditolak", status="REJECTED")
    other = Channel.objects.create(kind="whatsapp", name="WhatsApp Grosir", address="+62811")
    template(other, "nomor_lain")
    clock.shift(timedelta(hours=25))
    html = page(shop.budi, ticket)
    form = re.search(r'<form class="composer[^"]*"', html)
    assert form is not None
    assert "wa-closed" in form.group(0)
    assert "the customer has not written for 24 hours" in html
    assert re.search(
        rf'<details class="wa-templates" id="wa-templates-{ticket.number}" open>', html
    )
    assert 'data-template="tiket_diproses"' in html
    for hidden in ("promo_baru", "ditolak", "nomor_lain"):
        assert f'data-template="{hidden}"' not in html


def test_inside_the_window_the_templates_wait_behind_a_button(
    shop: Shop, clock: time_machine.Traveller
) -> None:
    ticket = shop.whatsapp_from_dewi("Halo kak")
    template(shop.whatsapp, "tiket_diproses")
    html = page(shop.budi, ticket)
    assert "wa-closed" not in html
    assert "data-open-templates" in html
    assert 'data-template="tiket_diproses"' not in html  # loaded when the picker opens
    menu = client_for(shop.budi).get(reverse("web:tickets:wa_templates", args=[ticket.number]))
    assert 'data-template="tiket_diproses"' in menu.content.decode()


def test_a_template_is_prefilled_previewed_and_sent_with_its_meta(
    shop: Shop, clock: time_machine.Traveller, django_capture_on_commit_callbacks: OnCommit
) -> None:
    from loket.channels.whatsapp import templates

    ticket = shop.whatsapp_from_dewi("Halo kak")
    chosen = template(shop.whatsapp, "tiket_diproses")
    clock.shift(timedelta(hours=30))
    budi = client_for(shop.budi)
    url = reverse("web:tickets:wa_template", args=[ticket.number, chosen.pk])
    form = budi.get(url, headers=HTMX).content.decode()
    assert 'value="Dewi Lestari"' in form
    assert f'value="#{ticket.number}"' in form
    expected = f"Halo Dewi Lestari, tiket #{ticket.number} sudah kami proses. Terima kasih."
    assert expected in form  # the preview
    preview = budi.get(
        reverse("web:tickets:wa_template_preview", args=[ticket.number, chosen.pk]),
        {"params": ["Bu Dewi", "#77"]},
    ).content.decode()
    assert "Halo Bu Dewi, tiket #77 sudah kami proses." in preview
    with django_capture_on_commit_callbacks(execute=True):
        response = budi.post(url, {"params": ["Bu Dewi", "#77"]}, headers=HTMX)
    assert response.status_code == 200
    assert response["HX-Retarget"] == f"#composer-{ticket.number}"
    (message,) = outbound(ticket)
    params = ["Bu Dewi", "#77"]
    assert message.text == templates.render(chosen, params)
    assert message.text.startswith("Halo Bu Dewi, tiket #77")
    assert message.meta["wa"]["template"] == {
        "name": "tiket_diproses",
        "language": "id",
        "params": params,
        "components": templates.send_components(chosen, params),
    }
    html = response.content.decode()
    assert f'data-message-id="{message.pk}" data-status="queued"' in html
    assert "Template: tiket_diproses" in html


def test_named_and_header_parameters_are_labelled_by_name(
    shop: Shop, clock: time_machine.Traveller
) -> None:
    ticket = shop.whatsapp_from_dewi("Halo kak")
    chosen = Template.objects.create(
        channel=shop.whatsapp,
        name="pesanan_siap",
        language="id",
        status="APPROVED",
        components=[
            {"type": "HEADER", "format": "TEXT", "text": "Tiket {{1}}"},
            {"type": "BODY", "text": "Halo {{customer_name}}, pesanan {{order_id}} siap."},
        ],
        body="Halo {{customer_name}}, pesanan {{order_id}} siap.",
        parameters=["header.1", "customer_name", "order_id"],
        synced_at=START,
    )
    url = reverse("web:tickets:wa_template", args=[ticket.number, chosen.pk])
    form = client_for(shop.budi).get(url, headers=HTMX).content.decode()
    fields = re.findall(r'<span>([^<]*)</span><input name="params" value="([^"]*)"', form)
    assert fields == [
        ("Header {{1}}", f"#{ticket.number}"),
        ("customer_name", "Dewi Lestari"),
        ("order_id", ""),
    ]


def test_a_template_needs_every_value(shop: Shop, clock: time_machine.Traveller) -> None:
    ticket = shop.whatsapp_from_dewi("Halo kak")
    chosen = template(shop.whatsapp, "tiket_diproses")
    status, html = post(shop.budi, "wa_template", ticket, chosen.pk, params=["Dewi", " "])
    assert status == 422
    assert "Fill in {{2}}." in html
    assert outbound(ticket) == []


@pytest.mark.parametrize("status", ["PENDING", "REJECTED"])
def test_an_unapproved_or_foreign_template_cannot_be_sent(
    shop: Shop, clock: time_machine.Traveller, status: str
) -> None:
    ticket = shop.whatsapp_from_dewi("Halo kak")
    chosen = template(shop.whatsapp, "belum", status=status)
    other = Channel.objects.create(kind="whatsapp", name="Grosir", address="+62811")
    foreign = template(other, "lain")
    for t in (chosen, foreign):
        code, _html = post(shop.budi, "wa_template", ticket, t.pk, params=["a", "b"])
        assert code == 404
    assert outbound(ticket) == []


def test_the_window_closing_while_typing_brings_the_template_picker(
    shop: Shop, clock: time_machine.Traveller
) -> None:
    ticket = shop.whatsapp_from_dewi("Halo kak")
    template(shop.whatsapp, "tiket_diproses")
    clock.shift(timedelta(hours=23, minutes=59))
    assert "wa-closed" not in page(shop.budi, ticket)
    clock.shift(timedelta(minutes=2))  # the agent was still typing
    status, html = post(shop.budi, "send", ticket, mode="reply", text="Baik kak, kami cek dulu")
    assert status == 422
    assert "Send an approved template instead" in html
    assert "Baik kak, kami cek dulu" in html  # nothing lost
    assert re.search(r'<details class="wa-templates" id="wa-templates-\d+" open>', html)
    assert 'data-template="tiket_diproses"' in html
    assert outbound(ticket) == []
    # A note still goes in, and so does an answer by email.
    status, _html = post(shop.budi, "send", ticket, mode="note", text="Pelanggan lama")
    assert status == 200
    email = contacts.add_identity(ticket.contact, "email", "dewi@contoh.co.id", actor=SYSTEM)
    status, _html = post(
        shop.budi, "send", ticket, mode="reply", text="Lewat email ya", identity=email.pk
    )
    assert status == 200
    assert outbound(ticket)[0].channel == shop.email


# --- quotes, reactions, buttons -----------------------------------------------------------------
def test_a_quoted_reply_points_at_the_customers_message(
    shop: Shop, clock: time_machine.Traveller
) -> None:
    ticket = shop.whatsapp_from_dewi("Ukuran L ada?", wamid="wamid.q")
    asked = Message.objects.get(external_id="wamid.q")
    html = page(shop.budi, ticket)
    assert f'data-reply-to="{asked.pk}"' in html
    status, html = post(shop.budi, "send", ticket, mode="reply", text="Ada kak", reply_to=asked.pk)
    assert status == 200
    (message,) = outbound(ticket)
    assert message.reply_to == asked
    assert f'href="#msg-{asked.pk}"' in html  # the bubble shows the quote


def test_a_quote_from_another_ticket_is_refused(shop: Shop, clock: time_machine.Traveller) -> None:
    ticket = shop.whatsapp_from_dewi("Halo")
    rudi = shop.email_from_rudi("Halo juga")
    theirs = rudi.messages.get()
    status, html = post(shop.sari, "send", ticket, mode="reply", text="Ya", reply_to=theirs.pk)
    assert status == 422
    assert "not in this conversation" in html, html
    assert outbound(ticket) == []


def test_budi_reacts_and_the_reaction_shows_on_the_message(
    shop: Shop, clock: time_machine.Traveller
) -> None:
    ticket = shop.whatsapp_from_dewi("Terima kasih kak!", wamid="wamid.thanks")
    thanked = Message.objects.get(external_id="wamid.thanks")
    status, html = post(shop.budi, "react", ticket, thanked.pk, emoji="🙏")
    assert status == 200
    (reaction,) = outbound(ticket)
    assert reaction.text == ""
    assert reaction.meta == {"wa": {"reaction": {"message_id": "wamid.thanks", "emoji": "🙏"}}}
    assert f'id="msg-{reaction.pk}"' not in html  # not a bubble of its own
    assert re.search(r'<li class="reaction reaction-agent"[^>]*>🙏</li>', html)
    assert re.search(r'value="🙏"[^>]*aria-pressed="true"', html)
    # Another emoji replaces it; the same one again takes it away.
    status, html = post(shop.budi, "react", ticket, thanked.pk, emoji="❤️")
    assert re.search(r'<li class="reaction reaction-agent"[^>]*>❤️</li>', html)
    assert "🙏</li>" not in html
    status, html = post(shop.budi, "react", ticket, thanked.pk, emoji="❤️")
    assert status == 200
    assert outbound(ticket)[-1].meta["wa"]["reaction"] == {
        "message_id": "wamid.thanks",
        "emoji": "",
    }
    assert "reaction-agent" not in html


def test_a_reaction_must_be_one_offered_and_on_a_customer_message(
    shop: Shop, clock: time_machine.Traveller
) -> None:
    ticket = shop.whatsapp_from_dewi("Halo", wamid="wamid.h")
    theirs = Message.objects.get(external_id="wamid.h")
    url = reverse("web:tickets:react", args=[ticket.number, theirs.pk])
    plain = client_for(shop.budi).post(url, {"emoji": "💩"})
    assert plain.status_code == 422
    assert "Pick one of the offered reactions." in plain.content.decode()
    rudi = shop.email_from_rudi("Halo")
    status, _html = post(shop.sari, "react", ticket, rudi.messages.get().pk, emoji="👍")
    assert status == 404
    clock.shift(timedelta(hours=25))
    # With htmx the page stays as it is and the words go to the conversation's toast.
    response = client_for(shop.budi).post(url, {"emoji": "👍"}, headers=HTMX)
    assert response.status_code == 200
    assert response["HX-Reswap"] == "none"
    assert "24 hours" in json.loads(response["HX-Trigger"])["loket:toast"]
    assert outbound(ticket) == []


def test_quick_reply_buttons_go_out_as_an_interactive_message(
    shop: Shop, clock: time_machine.Traveller
) -> None:
    ticket = shop.whatsapp_from_dewi("Paketnya sudah sampai?")
    status, html = post(
        shop.budi,
        "send",
        ticket,
        mode="reply",
        text="Apakah paket sudah diterima?",
        buttons=["Sudah", "Belum", ""],
    )
    assert status == 200
    (message,) = outbound(ticket)
    assert message.meta["wa"]["interactive"] == {
        "type": "button",
        "body": {"text": "Apakah paket sudah diterima?"},
        "action": {
            "buttons": [
                {"type": "reply", "reply": {"id": "btn_1", "title": "Sudah"}},
                {"type": "reply", "reply": {"id": "btn_2", "title": "Belum"}},
            ]
        },
    }
    assert '<ul class="wa-buttons-sent"><li>Sudah</li><li>Belum</li></ul>' in html


@pytest.mark.parametrize(
    ("text", "buttons", "error"),
    [
        ("Pilih", ["Ini judul tombol yang terlalu panjang"], "at most 20 characters"),
        ("Pilih", ["A", "B", "C", "D"], "At most 3 buttons"),
        ("Pilih", ["Ya", "ya"], "different title"),
        ("", ["Ya", "Tidak"], "Write the message the buttons answer"),
    ],
)
def test_quick_reply_buttons_are_checked_before_meta_refuses_them(
    shop: Shop, clock: time_machine.Traveller, text: str, buttons: list[str], error: str
) -> None:
    ticket = shop.whatsapp_from_dewi("Halo")
    status, html = post(shop.budi, "send", ticket, mode="reply", text=text, buttons=buttons)
    assert status == 422
    assert error in html
    assert outbound(ticket) == []


def test_buttons_are_for_whatsapp_only(shop: Shop) -> None:
    ticket = shop.email_from_rudi("Halo")
    status, html = post(shop.wati, "send", ticket, mode="reply", text="Pilih", buttons=["Ya"])
    assert status == 422
    assert "only be sent on WhatsApp" in html


# --- mark as read ---------------------------------------------------------------------------------
def mark_read_tasks() -> list[list[Any]]:
    rows = DBTaskResult.objects.filter(task_path="loket.channels.whatsapp.tasks.mark_read")
    return sorted(row.args_kwargs["args"] for row in rows)


def test_opening_the_ticket_marks_the_newest_message_read_once(
    shop: Shop, clock: time_machine.Traveller, django_capture_on_commit_callbacks: OnCommit
) -> None:
    shop.whatsapp.config = {**shop.whatsapp.config, "mark_read": True}
    shop.whatsapp.save(update_fields=["config"])
    shop.whatsapp_from_dewi("Halo", wamid="wamid.1")
    ticket = shop.whatsapp_from_dewi("Ada orang?", wamid="wamid.2")
    with django_capture_on_commit_callbacks(execute=True):
        page(shop.budi, ticket)
        page(shop.budi, ticket)
        page(shop.joko, ticket)
    assert mark_read_tasks() == [[shop.whatsapp.pk, "wamid.2"]]
    assert "read_sent_at" in Message.objects.get(external_id="wamid.2").meta["wa"]
    shop.whatsapp_from_dewi("Halo??", wamid="wamid.3")
    # The open conversation's live refresh marks what came in meanwhile.
    timeline = reverse("web:tickets:timeline", args=[ticket.number])
    with django_capture_on_commit_callbacks(execute=True):
        assert client_for(shop.budi).get(timeline).status_code == 200
        page(shop.budi, ticket)
    assert mark_read_tasks() == [[shop.whatsapp.pk, "wamid.2"], [shop.whatsapp.pk, "wamid.3"]]


def test_without_the_setting_nothing_is_marked_read(
    shop: Shop, clock: time_machine.Traveller, django_capture_on_commit_callbacks: OnCommit
) -> None:
    ticket = shop.whatsapp_from_dewi("Halo", wamid="wamid.1")
    with django_capture_on_commit_callbacks(execute=True):
        page(shop.budi, ticket)
    assert mark_read_tasks() == []


# --- who may, where -------------------------------------------------------------------------------
def test_an_agent_of_another_team_gets_404_everywhere(
    shop: Shop, clock: time_machine.Traveller
) -> None:
    ticket = shop.whatsapp_from_dewi("Halo", wamid="wamid.x")
    theirs = Message.objects.get(external_id="wamid.x")
    chosen = template(shop.whatsapp, "tiket_diproses")
    wati = client_for(shop.wati)
    n = ticket.number
    gets = [
        reverse("web:tickets:wa_templates", args=[n]),
        reverse("web:tickets:wa_template", args=[n, chosen.pk]),
        reverse("web:tickets:wa_template_preview", args=[n, chosen.pk]),
    ]
    for url in gets:
        assert wati.get(url).status_code == 404
    assert (
        wati.post(reverse("web:tickets:wa_template", args=[n, chosen.pk]), {"params": ["a", "b"]})
    ).status_code == 404
    assert (
        wati.post(reverse("web:tickets:react", args=[n, theirs.pk]), {"emoji": "👍"}).status_code
        == 404
    )
    assert outbound(ticket) == []


def test_the_header_names_the_whatsapp_number(shop: Shop, clock: time_machine.Traveller) -> None:
    ticket = shop.whatsapp_from_dewi("Halo")
    html = page(shop.budi, ticket)
    head = re.search(r'<header class="conv-head".*?</header>', html, re.S)
    assert head is not None
    assert "WhatsApp Toko" in head.group(0)
    assert "+6281100001111" in head.group(0)


def test_a_second_number_keeps_its_own_window(shop: Shop, clock: time_machine.Traveller) -> None:
    grosir = Channel.objects.create(
        kind="whatsapp", name="WhatsApp Grosir", address="+6281100002222", team=shop.sales
    )
    old = shop.whatsapp_from_dewi("Halo toko")
    clock.shift(timedelta(hours=25))
    sender = Sender("phone", "6281234567890", "Dewi Lestari", international=True)
    tickets.receive(grosir, InboundMessage(external_id="wamid.g", sender=sender, text="Grosir?"))
    assert "wa-closed" in page(shop.budi, old)


def test_the_closed_window_page_costs_the_same_however_many_templates(
    shop: Shop, clock: time_machine.Traveller
) -> None:
    ticket = shop.whatsapp_from_dewi("Halo")
    template(shop.whatsapp, "satu")
    clock.shift(timedelta(hours=25))
    budi = client_for(shop.budi)
    url = reverse("web:tickets:detail", args=[ticket.number])

    def count() -> int:
        budi.get(url, headers=HTMX)
        with CaptureQueriesContext(connection) as queries:
            assert budi.get(url, headers=HTMX).status_code == 200
        return len(queries)

    one = count()
    for n in range(2, 8):
        template(shop.whatsapp, f"template_{n}")
    assert count() == one
