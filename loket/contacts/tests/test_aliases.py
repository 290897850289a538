"""A WhatsApp user known by a phone number, a username id (BSUID), or both, stays one person;
a customer who changes number keeps their history."""

from __future__ import annotations

import pytest

from loket.audit.models import Event
from loket.channels.items import InboundMessage, Sender
from loket.conftest import Shop
from loket.contacts.models import Contact, Identity
from loket.contacts.services import change_identity
from loket.tickets import services as tickets

pytestmark = pytest.mark.django_db

PHONE = Sender("phone", "6281311112222", "Rina", international=True)
BSUID = Sender("whatsapp_user", "US.13491208655302741918")


def _writes(shop: Shop, wamid: str, sender: Sender, *others: Sender) -> tickets.Received:
    item = InboundMessage(
        external_id=wamid, sender=sender, text="Halo kak", other_senders=list(others)
    )
    return tickets.receive(shop.whatsapp, item)


def test_a_username_beside_the_phone_is_stored_on_the_same_contact(shop: Shop) -> None:
    first = _writes(shop, "wamid.A1", PHONE, BSUID)
    contact = first.message.ticket.contact
    assert set(contact.identities.values_list("kind", "value")) == {
        ("phone", "+6281311112222"),
        ("whatsapp_user", "US.13491208655302741918"),
    }
    # Later the user hides the number: only the username arrives, and it is the same person.
    later = _writes(shop, "wamid.A2", Sender("whatsapp_user", BSUID.value, "Rina"))
    assert later.message.ticket_id == first.message.ticket_id
    assert Contact.objects.count() == 1


def test_a_known_username_takes_a_new_phone_number_to_its_contact(shop: Shop) -> None:
    first = _writes(shop, "wamid.B1", Sender("whatsapp_user", BSUID.value, "Rina"))
    second = _writes(shop, "wamid.B2", PHONE, BSUID)
    assert second.message.ticket_id == first.message.ticket_id
    assert Identity.objects.get(kind="phone").contact_id == first.message.ticket.contact_id
    assert Contact.objects.count() == 1


def test_an_alias_that_belongs_to_someone_else_is_left_for_an_agent(shop: Shop) -> None:
    by_phone = _writes(shop, "wamid.C1", PHONE)
    by_name = _writes(shop, "wamid.C2", Sender("whatsapp_user", BSUID.value, "Rina"))
    assert by_phone.message.ticket.contact_id != by_name.message.ticket.contact_id
    both = _writes(shop, "wamid.C3", PHONE, BSUID)
    # The phone decides; the username stays where it is until an agent merges the two.
    assert both.message.ticket.contact_id == by_phone.message.ticket.contact_id
    assert Identity.objects.get(kind="whatsapp_user").contact_id == (
        by_name.message.ticket.contact_id
    )
    assert Contact.objects.count() == 2


def test_a_changed_number_keeps_the_customer_and_is_recorded(shop: Shop) -> None:
    first = _writes(shop, "wamid.D1", PHONE)
    changed = change_identity("phone", "6281311112222", "6281355556666", international=True)
    assert changed is not None
    assert changed.value == "+6281355556666"
    assert changed.contact_id == first.message.ticket.contact_id
    event = Event.objects.get(kind="contact.identity_changed")
    assert event.data == {"kind": "phone", "from": "+6281311112222", "to": "+6281355556666"}
    # The customer writing from the new number continues the same ticket.
    again = _writes(shop, "wamid.D2", Sender("phone", "6281355556666", "Rina", international=True))
    assert again.message.ticket_id == first.message.ticket_id
    # Replayed news changes nothing more.
    assert change_identity("phone", "6281311112222", "6281355556666", international=True) == changed
    assert Event.objects.filter(kind="contact.identity_changed").count() == 1


def test_a_change_to_a_number_another_contact_holds_moves_nothing(shop: Shop) -> None:
    _writes(shop, "wamid.E1", PHONE)
    taken = _writes(shop, "wamid.E2", Sender("phone", "6281355556666", "Sinta", international=True))
    result = change_identity("phone", "6281311112222", "6281355556666", international=True)
    assert result is not None
    assert result.contact_id == taken.message.ticket.contact_id
    assert Identity.objects.filter(value="+6281311112222").exists()
    assert not Event.objects.filter(kind="contact.identity_changed").exists()


def test_a_customer_known_only_by_username_is_answered_on_whatsapp(shop: Shop) -> None:
    ticket = _writes(shop, "wamid.F1", Sender("whatsapp_user", BSUID.value, "Rina")).message.ticket
    answer = tickets.reply(ticket, shop.budi, "Halo kak Rina")
    assert answer.channel_id == shop.whatsapp.pk
    assert answer.identity is not None
    assert (answer.identity.kind, answer.identity.value) == ("whatsapp_user", BSUID.value)
