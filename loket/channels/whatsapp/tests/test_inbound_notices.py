"""Channel news in the webhook (reference §1.6.14 and §1.8): template status, errors without a
message, marketing opt-outs, account news. Each is recorded once, however often it is read."""

from __future__ import annotations

from typing import Any

import pytest

from loket.audit.models import Event
from loket.channels import services
from loket.channels.models import Channel, DeliveryState, Template
from loket.channels.whatsapp.tests import payloads as wa
from loket.channels.whatsapp.tests.inbound_support import configure, deliver
from loket.conftest import Shop
from loket.core import clock
from loket.tickets.models import Message, Ticket

pytestmark = pytest.mark.django_db


@pytest.fixture
def greeting(shop: Shop) -> Template:
    configure(shop.whatsapp)
    return Template.objects.create(
        channel=shop.whatsapp,
        external_id="594425479261596",
        name="salam_pesanan",
        language="id",
        category="UTILITY",
        status="APPROVED",
        body="Halo {{1}}, pesanan {{2}} sudah dikirim.",
        synced_at=clock.now(),
    )


def _status(greeting: Template, event: str, time: int, **extra: Any) -> dict[str, Any]:
    return wa.template_status(
        greeting.name, event, template_id=greeting.external_id, time=time, **extra
    )


def test_a_paused_template_is_no_longer_offered_and_says_why(
    shop: Shop, greeting: Template
) -> None:
    other_info = {"title": "FIRST_PAUSE", "description": "Kualitas rendah selama 3 jam"}
    deliver(shop.whatsapp, _status(greeting, "PAUSED", 1, other_info=other_info))

    greeting.refresh_from_db()
    assert greeting.status == "PAUSED"
    assert not greeting.approved
    assert greeting.reason == "Kualitas rendah selama 3 jam"
    event = Event.objects.get(kind="template.updated")
    assert event.data["templates"] == [greeting.pk]


def test_rejection_by_name_and_language_when_meta_gives_no_id(
    shop: Shop, greeting: Template
) -> None:
    body = wa.template_status(
        "salam_pesanan",
        "REJECTED",
        reason="INVALID_FORMAT",
        rejection_info={"reason": "Variabel di awal teks", "recommendation": "Pindahkan"},
    )
    deliver(shop.whatsapp, body)

    greeting.refresh_from_db()
    assert greeting.status == "REJECTED"
    assert greeting.reason == "Variabel di awal teks"


def test_paused_then_reinstated_then_paused_again(shop: Shop, greeting: Template) -> None:
    deliver(shop.whatsapp, _status(greeting, "PAUSED", 1))
    deliver(shop.whatsapp, _status(greeting, "REINSTATED", 2))
    greeting.refresh_from_db()
    assert greeting.approved

    deliver(shop.whatsapp, _status(greeting, "PAUSED", 3))
    greeting.refresh_from_db()
    assert greeting.status == "PAUSED"


def test_flagged_warns_but_the_template_still_sends(shop: Shop, greeting: Template) -> None:
    deliver(shop.whatsapp, _status(greeting, "FLAGGED", 1, reason="LOW_QUALITY"))

    greeting.refresh_from_db()
    assert greeting.approved
    assert greeting.reason == "LOW_QUALITY"


def test_a_category_change(shop: Shop, greeting: Template) -> None:
    value = {
        "message_template_id": greeting.external_id,
        "message_template_name": greeting.name,
        "message_template_language": "id",
        "previous_category": "UTILITY",
        "new_category": "MARKETING",
    }
    deliver(
        shop.whatsapp, wa.webhook(wa.entry({"field": "template_category_update", "value": value}))
    )

    greeting.refresh_from_db()
    assert greeting.category == "MARKETING"


def test_news_about_a_template_not_synced_yet_is_recorded(shop: Shop) -> None:
    configure(shop.whatsapp)
    delivery = deliver(shop.whatsapp, wa.template_status("promo_lebaran", "APPROVED"))

    assert delivery.state == DeliveryState.PROCESSED
    assert not Template.objects.exists()
    assert Event.objects.get(kind="template.updated").data["name"] == "promo_lebaran"


def test_a_notice_read_twice_is_recorded_once(shop: Shop, greeting: Template) -> None:
    delivery = deliver(shop.whatsapp, _status(greeting, "DISABLED", 1))
    services.replay(delivery.pk)

    assert Event.objects.filter(kind="template.updated").count() == 1


def test_an_error_without_a_message_marks_the_channel_and_opens_no_ticket(shop: Shop) -> None:
    configure(shop.whatsapp)
    error = wa.graph_error(131000, "Something went wrong", "Unsupported webhook payload")
    body = wa.webhook(wa.entry(wa.change(errors=[error])))
    delivery = deliver(shop.whatsapp, body)

    assert delivery.state == DeliveryState.PROCESSED
    channel = Channel.objects.get(pk=shop.whatsapp.pk)
    assert "131000" in channel.last_error
    assert "Unsupported webhook payload" in channel.last_error
    assert channel.last_error_at is not None
    assert Event.objects.get(kind="channel.provider_error").data["code"] == "131000"
    assert not Ticket.objects.exists()


def test_the_same_error_sent_again_later_is_recorded_again(shop: Shop) -> None:
    configure(shop.whatsapp)
    body = wa.webhook(wa.entry(wa.change(errors=[wa.graph_error(131000, "Something went wrong")])))
    first = deliver(shop.whatsapp, body)
    services.replay(first.pk)
    deliver(shop.whatsapp, body)

    assert Event.objects.filter(kind="channel.provider_error").count() == 2


def test_a_marketing_opt_out_is_recorded_with_the_customer(shop: Shop) -> None:
    configure(shop.whatsapp)
    ticket = shop.whatsapp_from_dewi("Halo")
    deliver(shop.whatsapp, wa.user_preference("stop"))
    deliver(shop.whatsapp, wa.user_preference("resume", timestamp="1767229200"))

    events = list(Event.objects.filter(kind="contact.marketing_preference").order_by("pk"))
    assert [e.data["value"] for e in events] == ["stop", "resume"]
    assert events[0].data["contact_id"] == ticket.contact_id
    assert Message.objects.count() == 1


def test_a_restricted_account_shows_on_the_channel(shop: Shop) -> None:
    configure(shop.whatsapp)
    value = {
        "phone_number": wa.DISPLAY_NUMBER,
        "event": "ACCOUNT_RESTRICTION",
        "restriction_info": [{"restriction_type": "RESTRICTED_ADD_PHONE_NUMBER_ACTION"}],
    }
    deliver(
        shop.whatsapp, wa.webhook(wa.entry({"field": "account_update", "value": value}, time=5))
    )

    channel = Channel.objects.get(pk=shop.whatsapp.pk)
    assert "ACCOUNT_RESTRICTION" in channel.last_error
    assert Event.objects.get(kind="channel.account_update").data["event"] == "ACCOUNT_RESTRICTION"


def test_unknown_fields_are_ignored(shop: Shop) -> None:
    configure(shop.whatsapp)
    body = wa.webhook(
        wa.entry(
            {"field": "flows", "value": {"event": "FLOW_STATUS_CHANGE"}},
            {"field": "security", "value": {"event": "PIN_CHANGED"}},
            wa.change(messages=[wa.text("Halo", wamid="wamid.beside.unknown")]),
        )
    )
    delivery = deliver(shop.whatsapp, body)

    assert delivery.state == DeliveryState.PROCESSED
    assert delivery.item_count == 1
    assert Message.objects.filter(external_id="wamid.beside.unknown").exists()
