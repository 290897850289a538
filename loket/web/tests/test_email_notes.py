"""The ticket page tells the agent how an inbound mail arrived: an auto-reply or an absence
notice, a sender name showing another address, a failed DMARC verdict, a Reply-To elsewhere
(email lessons §7, §14). WhatsApp messages carry none of these notes."""

from __future__ import annotations

import hashlib
from email import message_from_bytes, policy
from email.message import EmailMessage

import pytest
from django.test import Client
from django.urls import reverse

from loket.channels import services as channels
from loket.conftest import Shop
from loket.core.tests.smtp import running_smtp
from loket.tickets import services as tickets
from loket.tickets.models import DeliveryStatus, Message, Ticket
from loket.tickets.tests.conftest import DEWI, smtp_config, writes

pytestmark = pytest.mark.django_db


def _page(shop: Shop, ticket: Ticket) -> str:
    shop.sari.language = "en"  # the page speaks the agent's language
    shop.sari.save(update_fields=["language"])
    client = Client()
    client.force_login(shop.sari)
    response = client.get(reverse("web:tickets:detail", args=[ticket.number]))
    assert response.status_code == 200
    return response.content.decode()


def _arrives(shop: Shop, **headers: str) -> Ticket:
    mail = EmailMessage()
    mail["From"] = headers.pop("From", "Rudi <rudi@contoh.co.id>")
    mail["To"] = "cs@batiksari.id"
    mail["Subject"] = "Tagihan"
    for name, value in headers.items():
        mail[name.replace("_", "-")] = value
    mail.set_content("Mohon transfer ke rekening baru kami.\n")
    delivery = channels.store_delivery(shop.email, mail.as_bytes(), process=False)
    channels.process(delivery.pk)
    return Ticket.objects.get(channel=shop.email)


def test_a_forged_looking_mail_carries_its_warnings(shop: Shop) -> None:
    ticket = _arrives(
        shop,
        From='"cs@batiksari.id" <penipu@contoh.com>',
        Authentication_Results="mx.batiksari.id; dmarc=fail header.from=contoh.com",
        Reply_To="rekening@lain.example",
    )

    html = _page(shop, ticket)

    assert "shows cs@batiksari.id, but the mail came from penipu@contoh.com" in html
    assert "DMARC failed" in html
    assert "asks for replies to rekening@lain.example" in html
    assert html.count('class="mail-note"') == 3


def test_an_out_of_office_reply_says_so(shop: Shop) -> None:
    ticket = _arrives(shop, Auto_Submitted="auto-replied; owner-email=rudi@contoh.co.id")
    html = _page(shop, ticket)
    assert "Out-of-office reply" in html
    assert "DMARC" not in html


def test_a_plain_mail_and_a_whatsapp_message_carry_no_notes(shop: Shop) -> None:
    mailed = _arrives(shop)
    chatted = writes(shop.whatsapp, DEWI, "Halo kak").ticket
    assert 'class="mail-note"' not in _page(shop, mailed)
    assert 'class="mail-note"' not in _page(shop, chatted)


def test_the_original_mail_downloads_byte_for_byte_for_those_who_may_see_it(shop: Shop) -> None:
    ticket = _arrives(shop, Message_ID="<asli.1@contoh.co.id>")
    message = ticket.messages.get()
    url = reverse("web:tickets:original", args=[message.pk])
    assert url in _page(shop, ticket)  # the email channel's team is shipping: Wati's

    wati, budi, nobody = Client(), Client(), Client()
    wati.force_login(shop.wati)
    budi.force_login(shop.budi)
    response = wati.get(url)

    assert response.status_code == 200
    assert response["Content-Type"] == "message/rfc822"
    assert response["Content-Disposition"] == (
        f'attachment; filename="loket-{ticket.number}-{message.pk}.eml"'
    )
    raw = response.content
    assert b"Message-ID: <asli.1@contoh.co.id>" in raw
    assert raw == bytes(shop.email.deliveries.get().body)
    assert budi.get(url).status_code == 404  # sales cannot see shipping's ticket
    assert nobody.get(url).status_code == 302  # to the sign-in page


def test_a_whatsapp_message_has_no_original_mail(shop: Shop) -> None:
    message = writes(shop.whatsapp, DEWI, "Halo kak")
    client = Client()
    client.force_login(shop.sari)
    assert client.get(reverse("web:tickets:original", args=[message.pk])).status_code == 404


def test_a_sent_reply_keeps_the_mail_as_it_went_out(shop: Shop) -> None:
    ticket = _arrives(shop)
    with running_smtp() as smtp_server:
        shop.email.config = smtp_config(smtp_server.port)
        shop.email.save(update_fields=["config"])
        reply = tickets.reply(ticket, shop.wati, "Rekening kami tidak berubah, Kak.")
        assert tickets.deliver_now(reply.pk) == DeliveryStatus.SENT
    reply.refresh_from_db()
    url = reverse("web:tickets:original", args=[reply.pk])
    assert url in _page(shop, ticket)

    client = Client()
    client.force_login(shop.wati)
    raw = client.get(url).content

    [received] = smtp_server.mails
    kept = message_from_bytes(raw, policy=policy.default)
    assert kept["Message-ID"] == received["Message-ID"] == f"<{reply.external_id}>"
    assert hashlib.sha256(raw).hexdigest() == reply.meta["raw_sha256"]
    body = kept.get_body(("plain",))
    assert body is not None
    assert "Rekening kami tidak berubah" in body.get_content()


def test_a_bounced_address_is_flagged_in_the_composer_until_a_mail_gets_through(
    shop: Shop,
) -> None:
    ticket = _arrives(shop)
    first = tickets.reply(ticket, shop.wati, "Baik kak.")
    Message.objects.filter(pk=first.pk).update(
        delivery_status=DeliveryStatus.FAILED,
        failure_code="bounce:5.1.1",
        failure_reason="rudi@contoh.co.id 5.1.1 User unknown",
        failed_at=first.created_at,
    )

    html = _page(shop, ticket)
    assert "rudi@contoh.co.id (bounced)" in html
    assert "Our last mail to rudi@contoh.co.id bounced" in html

    later = tickets.reply(ticket, shop.wati, "Sudah dicek, alamatnya benar.")
    Message.objects.filter(pk=later.pk).update(delivery_status=DeliveryStatus.SENT)
    html = _page(shop, ticket)
    assert "(bounced)" not in html
    assert "data-bounced" not in html
