"""An inbound email on the ticket page: the agent reads what the customer wrote now; the quoted
history, the signature and the formatted original are one click away (email lessons §5)."""

from __future__ import annotations

import re

import pytest
from django.test import Client
from django.urls import reverse

from loket.accounts.models import User
from loket.channels.items import InboundMessage, Sender
from loket.conftest import Shop
from loket.tickets import services as tickets
from loket.tickets.models import Message, Ticket

pytestmark = pytest.mark.django_db

REPLY = "Barangnya belum sampai, Kak.\nMohon dicek ya."
QUOTED = (
    "Pada Sen, 30 Nov 2026 pukul 10.15, Toko Batik <cs@tokobatik.id> menulis:\n"
    "> Halo Pak Rudi,\n>\n> Pesanan #1042 sudah kami kirim lewat JNE.\n> Salam, Toko Batik"
)
MAIL = f"{REPLY}\n\nDikirim dari iPhone saya\n\n{QUOTED}\n"


def page(user: User, ticket: Ticket) -> str:
    client = Client()
    client.force_login(user)
    response = client.get(reverse("web:tickets:detail", args=[ticket.number]))
    assert response.status_code == 200
    return response.content.decode()


def bubble(html: str, message: Message) -> str:
    match = re.search(rf'<li class="bubble[^"]*" id="msg-{message.pk}".*?\n  </li>', html, re.S)
    assert match, f"no bubble for message {message.pk}"
    return match.group(0)


def details(html: str, css_class: str) -> str:
    match = re.search(rf'<details class="{css_class}">.*?</details>', html, re.S)
    assert match, f"no <details class={css_class}>"
    return match.group(0)


def test_the_reply_is_shown_and_the_quote_waits_behind_a_click(shop: Shop) -> None:
    ticket = shop.email_from_rudi(MAIL)
    message = ticket.messages.get()
    Message.objects.filter(pk=message.pk).update(html="<p>Barangnya <b>belum</b> sampai</p>")
    shop.wati.language = "en"
    shop.wati.save(update_fields=["language"])
    html = bubble(page(shop.wati, ticket), message)

    shown = re.search(r'<div class="bubble-text email-reply">(.*?)</div>', html, re.S)
    assert shown, "the trimmed reply is shown"
    assert shown.group(1) == "Barangnya belum sampai, Kak.<br>Mohon dicek ya."
    # The quote and the mobile signature are not in the reply, but behind the details element,
    # with the whole text as it came.
    quote = details(html, "email-quote")
    assert "<summary>Show the quoted text</summary>" in quote
    assert "Pesanan #1042 sudah kami kirim" not in shown.group(1)
    assert "Dikirim dari iPhone saya" not in shown.group(1)
    assert "Pesanan #1042 sudah kami kirim lewat JNE." in quote
    assert "Dikirim dari iPhone saya" in quote
    assert "Barangnya belum sampai, Kak." in quote
    assert "Toko Batik &lt;cs@tokobatik.id&gt; menulis:" in quote  # escaped, never raw
    # The formatted original stays one click away too.
    assert "<p>Barangnya <b>belum</b> sampai</p>" in details(html, "email-html")


def test_an_email_without_a_quote_shows_as_before(shop: Shop) -> None:
    ticket = shop.email_from_rudi("Apakah batik tulis ukuran M masih ada?")
    html = bubble(page(shop.wati, ticket), ticket.messages.get())
    assert '<div class="bubble-text">Apakah batik tulis ukuran M masih ada?</div>' in html
    assert "email-quote" not in html
    assert "email-reply" not in html


def test_our_own_emails_are_not_trimmed(shop: Shop) -> None:
    ticket = shop.email_from_rudi("Halo")
    ours = tickets.reply(ticket, shop.wati, f"Sudah kami cek.\n\n{QUOTED}")
    html = bubble(page(shop.wati, ticket), ours)
    assert "email-quote" not in html
    assert "Pesanan #1042 sudah kami kirim" in html


def test_whatsapp_messages_that_look_like_email_replies_render_as_before(shop: Shop) -> None:
    ticket = shop.whatsapp_from_dewi(MAIL)
    message = ticket.messages.get()
    html = bubble(page(shop.sari, ticket), message)
    assert "email-quote" not in html
    assert "email-reply" not in html
    assert "Pesanan #1042 sudah kami kirim lewat JNE." in html
    assert '<div class="bubble-text">Barangnya belum sampai, Kak.<br>' in html


def test_a_mail_that_is_only_a_quote_is_shown_whole(shop: Shop) -> None:
    ticket = shop.email_from_rudi(QUOTED)
    html = bubble(page(shop.wati, ticket), ticket.messages.get())
    assert "email-quote" not in html
    assert "Pesanan #1042 sudah kami kirim lewat JNE." in html


def test_a_long_quoted_history_loads_only_when_opened(shop: Shop) -> None:
    history = "\n".join(f"> Baris lama nomor {n} dari percakapan sebelumnya." for n in range(200))
    text = f"{REPLY}\n\n{QUOTED}\n{history}\n"
    ticket = tickets.receive(
        shop.email,
        InboundMessage(
            external_id="panjang-1@contoh.co.id",
            sender=Sender("email", "rudi@contoh.co.id", "Rudi"),
            subject="Pesanan",
            text=text,
            threading="mail",
        ),
    ).message.ticket
    message = ticket.messages.get()

    html = page(shop.wati, ticket)
    mine = bubble(html, message)
    url = reverse("web:tickets:message_text", args=[message.pk])
    assert "Barangnya belum sampai" in mine
    assert "Baris lama nomor 150" not in html  # not in the page until asked for
    assert f'hx-get="{url}"' in mine

    client = Client()
    client.force_login(shop.wati)
    full = client.get(url)
    assert full.status_code == 200
    assert "Baris lama nomor 150" in full.content.decode()
    outsider = Client()
    outsider.force_login(shop.budi)  # sales cannot see the shipping team's ticket
    assert outsider.get(url).status_code == 404
