"""POST /tickets/{number}/reply queues an answer; POST .../notes adds an internal note."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from loket.accounts.models import User
from loket.api.tests.conftest import Api
from loket.audit import services as audit
from loket.audit.models import Event
from loket.channels.models import Template
from loket.conftest import Shop
from loket.contacts import services as contacts
from loket.contacts.models import Identity
from loket.tickets import services
from loket.tickets.models import Direction, Message

pytestmark = pytest.mark.django_db


def test_a_reply_is_queued_and_delivery_scheduled(
    shop: Shop, api_as: Callable[[User], Api], django_capture_on_commit_callbacks: object
) -> None:
    ticket = shop.whatsapp_from_dewi("Kak, ongkir ke Medan berapa?")
    budi = api_as(shop.budi)
    with django_capture_on_commit_callbacks(execute=True):  # type: ignore[operator]
        response = budi.post(f"/tickets/{ticket.number}/reply", {"text": " Rp 35.000 kak "})
    assert response.status_code == 202, response.content
    body = response.json()
    assert body["direction"] == "out"
    assert body["text"] == "Rp 35.000 kak"
    assert body["delivery_status"] == "queued"
    assert body["author"]["id"] == shop.budi.pk
    assert body["identity"]["value"] == "+6281234567890"
    assert body["attachments"] == []
    message = Message.objects.get(pk=body["id"])
    assert message.ticket_id == ticket.pk
    assert message.channel_id == shop.whatsapp.pk
    assert DBTaskResult.objects.filter(args_kwargs__args=[message.pk]).exists()
    ticket.refresh_from_db()
    assert ticket.status == "open"
    assert ticket.waiting_since is None


def test_reply_on_another_address_of_the_customer(
    shop: Shop, api_as: Callable[[User], Api]
) -> None:
    ticket = shop.whatsapp_from_dewi("Tolong kirim invoice ke email saya")
    email = contacts.add_identity(ticket.contact, "email", "dewi@contoh.co.id", actor=audit.SYSTEM)
    response = api_as(shop.budi).post(
        f"/tickets/{ticket.number}/reply", {"text": "Invoice terlampir", "identity_id": email.pk}
    )
    assert response.status_code == 202
    assert response.json()["identity"]["value"] == "dewi@contoh.co.id"
    assert Message.objects.get(pk=response.json()["id"]).channel_id == shop.email.pk


def test_reply_refusals(shop: Shop, api_as: Callable[[User], Api]) -> None:
    ticket = shop.whatsapp_from_dewi("Halo")
    rudi = shop.email_from_rudi("Halo juga")
    rudis_address = Identity.objects.get(contact=rudi.contact)
    sari = api_as(shop.sari)
    url = f"/tickets/{ticket.number}/reply"

    response = sari.post(url, {"text": "Halo", "identity_id": rudis_address.pk})
    assert response.status_code == 422
    assert response.json()["code"] == "unknown_identity"
    assert response.json()["details"][0]["loc"] == ["body", "identity_id"]

    for body in [{}, {"text": ""}, {"text": 5}, {"text": "x", "html": "<b>x</b>"}]:
        response = sari.post(url, body)
        assert response.status_code == 422, body
        assert response.json()["code"] == "validation_error"

    # Only spaces is no text: the schema asks for text or a template.
    response = sari.post(url, {"text": "   "})
    assert response.status_code == 422
    assert response.json()["code"] == "validation_error"
    assert response.json()["message"]

    services.set_status(ticket, "closed", actor=shop.sari)
    response = sari.post(url, {"text": "Masih di sini?"})
    assert response.status_code == 409
    assert response.json()["code"] == "ticket_closed"
    assert not Message.objects.filter(ticket=ticket, direction=Direction.OUTBOUND).exists()


def test_reply_to_a_ticket_you_may_not_see(shop: Shop, api_as: Callable[[User], Api]) -> None:
    shipping = shop.email_from_rudi("Paket")
    response = api_as(shop.budi).post(f"/tickets/{shipping.number}/reply", {"text": "Halo"})
    assert response.status_code == 404
    response = api_as(shop.budi).post(f"/tickets/{shipping.number}/notes", {"text": "Halo"})
    assert response.status_code == 404
    assert not Message.objects.filter(ticket=shipping).exclude(direction=Direction.INBOUND).exists()


def test_a_note_stays_inside(shop: Shop, api_as: Callable[[User], Api]) -> None:
    ticket = shop.whatsapp_from_dewi("Saya mau komplain")
    budi = api_as(shop.budi)
    response = budi.post(
        f"/tickets/{ticket.number}/notes", {"text": "Pelanggan lama, prioritaskan"}
    )
    assert response.status_code == 201
    body = response.json()
    assert body["direction"] == "note"
    assert body["delivery_status"] == ""
    assert body["identity"] is None
    assert body["author"]["id"] == shop.budi.pk
    assert Event.objects.filter(kind="note.added", ticket_id=ticket.pk).count() == 1
    ticket.refresh_from_db()
    assert ticket.waiting_since is not None, "a note is not an answer"

    for bad in [{"text": ""}, {}]:
        assert (
            budi.post(f"/tickets/{ticket.number}/notes", bad).json()["code"] == "validation_error"
        )
    assert budi.post(f"/tickets/{ticket.number}/notes", {"text": "  "}).json()["code"] == "invalid"


def test_free_text_outside_the_whatsapp_window_is_a_conflict(
    shop: Shop, api_as: Callable[[User], Api]
) -> None:
    with time_machine.travel(timezone.now() - timedelta(hours=25), tick=False):
        ticket = shop.whatsapp_from_dewi("Kak, kainnya masih ada?")
    response = api_as(shop.budi).post(f"/tickets/{ticket.number}/reply", {"text": "Masih kak"})
    assert response.status_code == 409, response.content
    assert response.json()["code"] == "window_closed"
    assert not Message.objects.filter(ticket=ticket, direction=Direction.OUTBOUND).exists()
    # The same customer's email address is not bound by WhatsApp's window.
    email = contacts.add_identity(ticket.contact, "email", "dewi@contoh.co.id", actor=audit.SYSTEM)
    response = api_as(shop.budi).post(
        f"/tickets/{ticket.number}/reply", {"text": "Masih kak", "identity_id": email.pk}
    )
    assert response.status_code == 202, response.content


def _approved(shop: Shop, name: str = "status_pesanan", status: str = "APPROVED") -> Template:
    return Template.objects.create(
        channel=shop.whatsapp,
        name=name,
        language="id",
        category="UTILITY",
        status=status,
        components=[{"type": "BODY", "text": "Halo {{1}}, pesanan {{2}} sudah dikirim."}],
        body="Halo {{1}}, pesanan {{2}} sudah dikirim.",
        parameters=["1", "2"],
        synced_at=timezone.now(),
    )


def test_a_template_reaches_the_customer_after_the_window_closed(
    shop: Shop, api_as: Callable[[User], Api]
) -> None:
    _approved(shop)
    _approved(shop, "promo_lebaran", status="PENDING")
    with time_machine.travel(timezone.now() - timedelta(hours=30), tick=False):
        ticket = shop.whatsapp_from_dewi("Kak, pesanan saya sudah dikirim?")
    budi = api_as(shop.budi)
    listed = budi.get(f"/tickets/{ticket.number}/templates")
    assert listed.status_code == 200, listed.content
    assert listed.json()["window_open"] is False
    assert [t["name"] for t in listed.json()["templates"]] == ["status_pesanan"]
    assert listed.json()["templates"][0]["parameters"] == ["1", "2"]

    template = {"name": "status_pesanan", "language": "id", "params": ["Dewi", "INV-77"]}
    response = budi.post(f"/tickets/{ticket.number}/reply", {"template": template})
    assert response.status_code == 202, response.content
    assert response.json()["text"] == "Halo Dewi, pesanan INV-77 sudah dikirim."
    sent = Message.objects.get(pk=response.json()["id"])
    assert sent.meta["wa"]["template"]["components"] == [
        {
            "type": "body",
            "parameters": [{"type": "text", "text": "Dewi"}, {"type": "text", "text": "INV-77"}],
        }
    ]


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"template": {"name": "promo_lebaran", "language": "id"}}, "unknown_template"),
        ({"template": {"name": "status_pesanan", "language": "en"}}, "unknown_template"),
        (
            {"template": {"name": "status_pesanan", "language": "id", "params": ["x"]}},
            "template_params",
        ),
        (
            {"text": "Halo", "template": {"name": "status_pesanan", "language": "id"}},
            "validation_error",
        ),
        ({}, "validation_error"),
    ],
)
def test_template_refusals(
    shop: Shop, api_as: Callable[[User], Api], body: dict[str, object], code: str
) -> None:
    _approved(shop)
    _approved(shop, "promo_lebaran", status="PENDING")
    ticket = shop.whatsapp_from_dewi("Halo")
    response = api_as(shop.budi).post(f"/tickets/{ticket.number}/reply", body)
    assert response.status_code == 422, response.content
    assert response.json()["code"] == code
    assert not Message.objects.filter(ticket=ticket, direction=Direction.OUTBOUND).exists()
