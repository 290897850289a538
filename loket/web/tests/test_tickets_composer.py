"""The composer: replies and internal notes, the address picker, attachments, inline errors."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from loket.accounts.models import User
from loket.audit.services import SYSTEM
from loket.conftest import Shop
from loket.contacts import services as contacts
from loket.tickets import services as tickets
from loket.tickets.models import Direction, Message, Ticket

pytestmark = pytest.mark.django_db

HTMX = {"HX-Request": "true"}


def client_for(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def send(user: User, ticket: Ticket, **data: object) -> tuple[int, str]:
    response = client_for(user).post(
        reverse("web:tickets:send", args=[ticket.number]), data, headers=HTMX
    )
    return response.status_code, response.content.decode()


def test_budi_answers_dewi_and_the_new_bubble_shows_queued(shop: Shop) -> None:
    ticket = shop.whatsapp_from_dewi("Kak, ukuran L ada?")
    status, html = send(shop.budi, ticket, mode="reply", text="Ada kak, silakan diorder.")
    assert status == 200
    message = Message.objects.get(ticket=ticket, direction=Direction.OUTBOUND)
    assert message.text == "Ada kak, silakan diorder."
    assert message.author == shop.budi
    assert message.identity is not None
    assert message.identity.value == "+6281234567890"
    # A fresh composer comes back with the timeline swapped in out of band.
    assert "data-composer" in html
    assert 'hx-swap-oob="true"' in html
    assert f'data-message-id="{message.pk}" data-status="{message.delivery_status}"' in html


def test_a_whatsapp_ticket_can_be_answered_by_email(shop: Shop) -> None:
    ticket = shop.whatsapp_from_dewi("Tolong kirim invoice ke email saya")
    email = contacts.add_identity(ticket.contact, "email", "dewi@contoh.co.id", actor=SYSTEM)
    status, _html = send(
        shop.budi, ticket, mode="reply", text="Invoice terlampir kak.", identity=email.pk
    )
    assert status == 200
    message = Message.objects.get(ticket=ticket, direction=Direction.OUTBOUND)
    assert message.identity == email
    assert message.channel == shop.email


def test_another_customers_address_is_refused_inline(shop: Shop) -> None:
    ticket = shop.whatsapp_from_dewi("Halo")
    rudi = shop.email_from_rudi("Halo juga")
    rudis_address = rudi.contact.identities.get()
    status, html = send(shop.sari, ticket, mode="reply", text="Halo", identity=rudis_address.pk)
    assert status == 422
    assert 'class="errors"' in html
    assert not Message.objects.filter(ticket=ticket, direction=Direction.OUTBOUND).exists()


def test_an_empty_reply_comes_back_with_the_services_error(shop: Shop) -> None:
    ticket = shop.whatsapp_from_dewi("Halo")
    status, html = send(shop.budi, ticket, mode="reply", text="   ")
    assert status == 422
    assert "Tulis pesan atau lampirkan berkas" in html or 'class="errors"' in html
    assert "data-composer" in html


def test_a_closed_ticket_refuses_a_reply_and_keeps_the_text(shop: Shop) -> None:
    ticket = shop.whatsapp_from_dewi("Halo")
    tickets.set_status(ticket, "closed", actor=shop.sari)
    status, html = send(shop.budi, ticket, mode="reply", text="Masih bisa dibantu?")
    assert status == 422
    assert "Masih bisa dibantu?" in html
    assert not Message.objects.filter(ticket=ticket, direction=Direction.OUTBOUND).exists()


def test_an_internal_note_is_saved_and_never_sent(shop: Shop) -> None:
    ticket = shop.whatsapp_from_dewi("Halo")
    status, html = send(shop.budi, ticket, mode="note", text="Pelanggan lama, kasih diskon.")
    assert status == 200
    note = Message.objects.get(ticket=ticket, direction=Direction.NOTE)
    assert note.text == "Pelanggan lama, kasih diskon."
    assert f'data-message-id="{note.pk}"' in html
    assert "bubble-note" in html
    assert not Message.objects.filter(ticket=ticket, direction=Direction.OUTBOUND).exists()


def test_files_go_out_with_the_reply_and_download_through_the_permission_check(
    shop: Shop,
) -> None:
    ticket = shop.whatsapp_from_dewi("Minta foto produknya kak")
    files = [
        SimpleUploadedFile("batik.png", b"\x89PNG fake image", content_type="image/png"),
        SimpleUploadedFile("katalog.pdf", b"%PDF-1.4 katalog", content_type="application/pdf"),
    ]
    status, html = send(shop.budi, ticket, mode="reply", text="Ini kak", files=files)
    assert status == 200
    message = Message.objects.get(ticket=ticket, direction=Direction.OUTBOUND)
    image, pdf = message.attachments.order_by("pk")
    assert (image.name, pdf.name) == ("batik.png", "katalog.pdf")
    image_url = reverse("web:tickets:attachment", args=[image.pk])
    pdf_url = reverse("web:tickets:attachment", args=[pdf.pk])
    assert f"{image_url}?inline=1" in html  # the thumbnail
    assert pdf_url in html

    budi = client_for(shop.budi)
    response = budi.get(pdf_url)
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == b"%PDF-1.4 katalog"  # type: ignore[attr-defined]
    assert response["Content-Disposition"].startswith("attachment")
    inline = budi.get(f"{image_url}?inline=1")
    assert inline["Content-Disposition"].startswith("inline")
    assert inline["Content-Type"] == "image/png"

    # Wati (another team) gets a 404 for the same file, and so does a signed-out visitor.
    assert client_for(shop.wati).get(pdf_url).status_code == 404
    assert Client().get(pdf_url).status_code == 302


def test_a_file_over_the_limit_is_refused_with_the_limit_in_words(
    shop: Shop, settings: object
) -> None:
    settings.LOKET_MAX_ATTACHMENT_BYTES = 1024  # type: ignore[attr-defined]
    ticket = shop.whatsapp_from_dewi("Halo")
    big = SimpleUploadedFile("video.mp4", b"x" * 2048, content_type="video/mp4")
    status, html = send(shop.budi, ticket, mode="reply", text="Ini videonya", files=[big])
    assert status == 422
    assert "video.mp4" in html
    assert "1,0\xa0KB" in html or "1.0\xa0KB" in html
    assert "Ini videonya" in html
    assert not Message.objects.filter(ticket=ticket, direction=Direction.OUTBOUND).exists()


def test_an_agent_who_may_not_see_the_ticket_cannot_post_to_it(shop: Shop) -> None:
    ticket = shop.whatsapp_from_dewi("Halo")
    status, _html = send(shop.wati, ticket, mode="reply", text="Halo")
    assert status == 404
    status, _html = send(shop.wati, ticket, mode="note", text="@budi lihat")
    assert status == 404
    assert ticket.messages.count() == 1


def test_a_note_does_not_carry_files(shop: Shop) -> None:
    ticket = shop.whatsapp_from_dewi("Halo")
    doc = SimpleUploadedFile("catatan.txt", b"rahasia", content_type="text/plain")
    status, html = send(shop.budi, ticket, mode="note", text="Lihat lampiran", files=[doc])
    assert status == 422
    assert "Catatan internal tidak bisa membawa berkas" in html
    assert ticket.messages.count() == 1


def test_the_composer_tells_how_long_the_whatsapp_window_stays_open(shop: Shop) -> None:
    start = datetime(2026, 11, 2, 3, 0, tzinfo=UTC)
    with time_machine.travel(start, tick=False):
        ticket = shop.whatsapp_from_dewi("Halo kak")
    budi = client_for(shop.budi)
    url = reverse("web:tickets:detail", args=[ticket.number])
    with time_machine.travel(start + timedelta(hours=20, minutes=48), tick=False):
        html = budi.get(url).content.decode()
    assert "Jendela WhatsApp tertutup dalam 3 jam 12 mnt" in html
    with time_machine.travel(start + timedelta(hours=25), tick=False):
        html = budi.get(url).content.decode()
    assert "data-whatsapp-window" in html
    assert "is-closed" in html
    # Email tickets have no such window.
    mail = shop.email_from_rudi("Halo")
    assert (
        "data-whatsapp-window"
        not in client_for(shop.wati)
        .get(reverse("web:tickets:detail", args=[mail.number]))
        .content.decode()
    )
