"""Two customers turn out to be one person: an agent merges them and nothing is lost."""

from __future__ import annotations

import pytest

from loket.audit.models import Event
from loket.audit.services import SYSTEM, actor_for
from loket.channels.items import InboundMessage, Sender
from loket.conftest import Shop
from loket.contacts.models import Contact, Identity
from loket.contacts.services import InvalidIdentity, merge
from loket.tickets import services as tickets
from loket.tickets.models import Message, Ticket

pytestmark = pytest.mark.django_db

DEWI_MAIL = Sender("email", "dewi.lestari@contoh.co.id", "")


def _dewi_also_emails(shop: Shop) -> Ticket:
    received = tickets.receive(
        shop.email,
        InboundMessage(
            external_id="dewi-1@contoh.co.id",
            sender=DEWI_MAIL,
            subject="Faktur pesanan",
            text="Mohon kirim fakturnya ke email ini",
        ),
    )
    return received.message.ticket


def test_merging_keeps_every_ticket_and_identity(shop: Shop) -> None:
    on_whatsapp = shop.whatsapp_from_dewi("Kak, pesanan 4471 sudah dikirim?")
    by_mail = _dewi_also_emails(shop)
    dewi, mail_only = on_whatsapp.contact, by_mail.contact
    assert dewi != mail_only
    messages_before = set(Message.objects.values_list("pk", "identity_id"))

    kept = merge(dewi, mail_only, actor=actor_for(shop.joko))

    assert kept == dewi
    assert set(Ticket.objects.values_list("contact_id", flat=True)) == {dewi.pk}
    assert set(dewi.identities.values_list("kind", "value")) == {
        ("phone", "+6281234567890"),
        ("email", "dewi.lestari@contoh.co.id"),
    }
    mail_only.refresh_from_db()
    assert mail_only.merged_into == dewi
    assert not mail_only.identities.exists()
    assert not mail_only.tickets.exists()
    # Messages still point at the address they came from.
    assert set(Message.objects.values_list("pk", "identity_id")) == messages_before
    assert Contact.objects.count() == 2  # the merged one stays, pointing at Dewi


def test_a_merge_is_recorded_in_the_event_log(shop: Shop) -> None:
    dewi = shop.whatsapp_from_dewi("Halo").contact
    by_mail = _dewi_also_emails(shop)
    other = by_mail.contact

    merge(dewi, other, actor=actor_for(shop.joko))

    event = Event.objects.get(kind="contact.merged")
    assert event.actor_id == shop.joko.pk
    assert (event.subject_type, event.subject_id) == ("contact", dewi.pk)
    assert event.data == {
        "merged_contact_id": other.pk,
        "identities": ["email:dewi.lestari@contoh.co.id"],
        "tickets": [by_mail.number],
    }


def test_after_the_merge_new_mail_lands_with_the_kept_customer(shop: Shop) -> None:
    dewi = shop.whatsapp_from_dewi("Halo").contact
    by_mail = _dewi_also_emails(shop)
    merge(dewi, by_mail.contact, actor=SYSTEM)

    received = tickets.receive(
        shop.email,
        InboundMessage(external_id="dewi-2@contoh.co.id", sender=DEWI_MAIL, text="Sudah kak?"),
    )

    assert received.message.ticket == by_mail
    assert received.message.ticket.contact == dewi


def test_the_kept_customer_gets_a_name_when_it_had_none(shop: Shop) -> None:
    nameless = _dewi_also_emails(shop).contact
    assert nameless.name == ""
    named = shop.whatsapp_from_dewi("Halo").contact

    merge(nameless, named, actor=SYSTEM)

    nameless.refresh_from_db()
    assert nameless.name == "Dewi Lestari"


def test_a_customer_cannot_be_merged_into_itself(shop: Shop) -> None:
    dewi = shop.whatsapp_from_dewi("Halo").contact
    with pytest.raises(InvalidIdentity):
        merge(dewi, dewi, actor=SYSTEM)
    dewi.refresh_from_db()
    assert dewi.merged_into is None
    assert not Event.objects.filter(kind="contact.merged").exists()


def test_a_customer_cannot_be_merged_twice(shop: Shop) -> None:
    dewi = shop.whatsapp_from_dewi("Halo").contact
    other = _dewi_also_emails(shop).contact
    rudi = shop.email_from_rudi("Tanya stok").contact
    merge(dewi, other, actor=SYSTEM)

    with pytest.raises(InvalidIdentity):
        merge(dewi, other, actor=SYSTEM)  # again
    with pytest.raises(InvalidIdentity):
        merge(rudi, other, actor=SYSTEM)  # somewhere else
    with pytest.raises(InvalidIdentity):
        merge(other, rudi, actor=SYSTEM)  # into the empty, merged shell

    assert Event.objects.filter(kind="contact.merged").count() == 1
    assert set(rudi.identities.values_list("value", flat=True)) == {"rudi@contoh.co.id"}
    assert rudi.tickets.count() == 1
    assert Identity.objects.filter(contact=dewi).count() == 2
