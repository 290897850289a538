"""Reactions live on the message reacted to; a changed number moves the customer's identity."""

from __future__ import annotations

import pytest

from loket.audit.models import Event
from loket.channels import services
from loket.channels.models import DeliveryState
from loket.channels.whatsapp.tests import payloads as wa
from loket.channels.whatsapp.tests.inbound_support import configure, deliver, outbound
from loket.conftest import Shop
from loket.contacts.models import Contact, Identity
from loket.tickets.models import Message, Status, Ticket

pytestmark = pytest.mark.django_db


@pytest.fixture
def answer(shop: Shop) -> Message:
    """Budi's answer to Dewi, which she reacts to."""
    configure(shop.whatsapp)
    ticket = shop.whatsapp_from_dewi("Batik parang ada?", wamid="wamid.IN.ask")
    return outbound(ticket, "wamid.OUT.answer", status="delivered")


def _react(shop: Shop, emoji: str | None, wamid: str, timestamp: str = wa.TIMESTAMP) -> None:
    body = wa.inbound(wa.reaction("wamid.OUT.answer", emoji, wamid=wamid, timestamp=timestamp))
    assert deliver(shop.whatsapp, body).state == DeliveryState.PROCESSED


def _emojis(message: Message) -> list[str]:
    message.refresh_from_db()
    return [r["emoji"] for r in message.meta.get("reactions", [])]


def test_a_reaction_shows_on_the_message_and_is_no_message_itself(
    shop: Shop, answer: Message
) -> None:
    _react(shop, "👍", "wamid.R1")

    answer.refresh_from_db()
    [reaction] = answer.meta["reactions"]
    assert reaction["emoji"] == "👍"
    assert reaction["by"] == "customer"
    assert reaction["sender"] == wa.DEWI
    assert reaction["at"] == "2026-01-01T00:00:00+00:00"
    assert Message.objects.filter(ticket=answer.ticket).count() == 2
    event = Event.objects.get(kind="message.reacted")
    assert (event.subject_id, event.ticket_id) == (answer.pk, answer.ticket_id)


def test_a_new_reaction_replaces_the_old_and_removal_deletes_it(
    shop: Shop, answer: Message
) -> None:
    _react(shop, "👍", "wamid.R1", timestamp="1767225600")
    _react(shop, "❤️", "wamid.R2", timestamp="1767225610")
    assert _emojis(answer) == ["❤️"]

    _react(shop, None, "wamid.R3", timestamp="1767225620")
    assert _emojis(answer) == []
    assert Event.objects.filter(kind="message.reacted").count() == 3


def test_an_empty_emoji_also_removes(shop: Shop, answer: Message) -> None:
    _react(shop, "😮", "wamid.R1")
    _react(shop, "", "wamid.R2", timestamp="1767225700")

    assert _emojis(answer) == []


def test_a_replayed_or_late_reaction_changes_nothing(shop: Shop, answer: Message) -> None:
    body = wa.inbound(
        wa.reaction("wamid.OUT.answer", "🙏", wamid="wamid.R9", timestamp="1767225900")
    )
    delivery = deliver(shop.whatsapp, body)
    services.replay(delivery.pk)
    _react(shop, "😡", "wamid.R0", timestamp="1767225000")  # older news arriving late

    assert _emojis(answer) == ["🙏"]
    assert Event.objects.filter(kind="message.reacted").count() == 1


def test_a_reaction_to_a_message_loket_never_saw_is_dropped(shop: Shop, answer: Message) -> None:
    body = wa.inbound(wa.reaction("wamid.unknown", "👍", wamid="wamid.R1"))
    delivery = deliver(shop.whatsapp, body)

    assert delivery.state == DeliveryState.PROCESSED
    assert not Event.objects.filter(kind="message.reacted").exists()
    assert Message.objects.count() == 2


def test_a_changed_number_moves_the_identity_and_the_ticket_says_so(shop: Shop) -> None:
    configure(shop.whatsapp)
    ticket = shop.whatsapp_from_dewi("Halo")
    body = wa.inbound(wa.number_changed("6281299998888"))
    deliver(shop.whatsapp, body)

    identity = Identity.objects.get(contact=ticket.contact, kind="phone")
    assert identity.value == "+6281299998888"
    notice = Message.objects.get(external_id="wamid.IN.system")
    assert notice.ticket == ticket
    assert notice.meta["automatic"] is True
    assert notice.meta["wa"]["system"]["type"] == "user_changed_number"
    assert notice.meta["wa"]["system"]["new_wa_id"] == "6281299998888"
    assert "6281299998888" in notice.text

    # Her next message from the new number continues the same ticket.
    new = wa.text("Ini nomor baru saya", wamid="wamid.new.1", sender="6281299998888")
    deliver(shop.whatsapp, wa.inbound(new, contacts=[wa.contact("6281299998888")]))
    later = Message.objects.get(external_id="wamid.new.1")
    assert later.ticket == ticket


def test_a_number_change_read_twice_is_shown_once(shop: Shop) -> None:
    configure(shop.whatsapp)
    shop.whatsapp_from_dewi("Halo")
    delivery = deliver(shop.whatsapp, wa.inbound(wa.number_changed("6281299998888")))
    services.replay(delivery.pk)

    assert Message.objects.filter(external_id="wamid.IN.system").count() == 1
    assert Event.objects.filter(kind="contact.identity_changed").count() == 1


def test_a_number_change_without_an_open_ticket_only_moves_the_identity(shop: Shop) -> None:
    configure(shop.whatsapp)
    ticket = shop.whatsapp_from_dewi("Halo")
    Ticket.objects.filter(pk=ticket.pk).update(status=Status.CLOSED)
    deliver(shop.whatsapp, wa.inbound(wa.number_changed("6281299998888")))

    assert Identity.objects.filter(value="+6281299998888", contact=ticket.contact).exists()
    assert not Message.objects.filter(external_id="wamid.IN.system").exists()
    assert Ticket.objects.count() == 1


def test_a_number_that_already_belongs_to_someone_is_left_for_a_merge(shop: Shop) -> None:
    configure(shop.whatsapp)
    ticket = shop.whatsapp_from_dewi("Halo")
    deliver(
        shop.whatsapp,
        wa.inbound(
            wa.text("Saya Rina", wamid="wamid.rina", sender="6281311112222"),
            contacts=[wa.contact("6281311112222", "Rina")],
        ),
    )
    deliver(shop.whatsapp, wa.inbound(wa.number_changed("6281311112222")))

    assert Identity.objects.filter(contact=ticket.contact, value="+6281234567890").exists()
    assert Contact.objects.count() == 2
    notice = Message.objects.get(external_id="wamid.IN.system")
    assert notice.ticket == ticket  # Dewi's agent sees it and can merge


def test_a_number_change_for_a_stranger_changes_nothing(shop: Shop) -> None:
    configure(shop.whatsapp)
    delivery = deliver(
        shop.whatsapp, wa.inbound(wa.number_changed("6281299998888", old="6281355556666"))
    )

    assert delivery.state == DeliveryState.PROCESSED
    assert not Identity.objects.exists()
    assert not Message.objects.exists()
