"""Generated webhook bodies: the parser only ever raises its own clear error, and reading a
stored delivery never raises and never loses it (it ends processed or failed, bytes intact)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from loket.channels import services
from loket.channels.models import Delivery, DeliveryState
from loket.channels.whatsapp import inbound
from loket.channels.whatsapp.tests import payloads as wa
from loket.channels.whatsapp.tests.inbound_support import configure
from loket.conftest import Shop

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False)
    | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=12,
)

KINDS = [
    "text", "image", "video", "audio", "document", "sticker", "location", "contacts",
    "interactive", "button", "reaction", "order", "system", "unsupported", "edit", "revoke",
    "unknown", "poll",
]  # fmt: skip
SAMPLES = [
    wa.text("Halo"),
    wa.media("image", "1037", wamid="wamid.img", mime_type="image/jpeg", caption="foto"),
    wa.media("audio", "1038", wamid="wamid.voice", mime_type="audio/ogg", voice=True),
    wa.location(-6.2, 106.8, name="Toko"),
    wa.contacts(wa.contact_card("Budi", "+62 811 2233 445")),
    wa.button_reply("yes", "Ya"),
    wa.flow_reply({"a": 1}),
    wa.reaction("wamid.OUT.1", "👍", wamid="wamid.react"),
    wa.order([("sku", 1, "1000")]),
    wa.number_changed("6281299998888"),
    wa.identity_changed(),
    wa.unsupported(),
    wa.edit("wamid.IN.text", "baru"),
    wa.revoke("wamid.IN.text"),
]


@st.composite
def messages(draw: st.DrawFn) -> Any:
    """A real message with some fields replaced by anything, or anything at all."""
    if draw(st.integers(0, 5)) == 0:
        return draw(json_values)
    message: dict[str, Any] = dict(draw(st.sampled_from(SAMPLES)))
    for key in draw(
        st.lists(
            st.sampled_from(
                ["id", "from", "timestamp", "type", "context", "errors", "from_user_id", *KINDS]
            ),
            max_size=3,
        )
    ):
        message[key] = draw(json_values | st.sampled_from(KINDS))
    return message


@st.composite
def values(draw: st.DrawFn) -> Any:
    value: dict[str, Any] = {
        "messaging_product": "whatsapp",
        "metadata": draw(
            st.sampled_from(
                [
                    {"phone_number_id": wa.PHONE_NUMBER_ID},
                    {"phone_number_id": "999"},
                    {},
                ]
            )
            | json_values
        ),
    }
    if draw(st.booleans()):
        value["messages"] = draw(st.lists(messages(), max_size=4) | json_values)
        value["contacts"] = draw(st.just([wa.contact()]) | json_values)
    if draw(st.booleans()):
        value["statuses"] = draw(
            st.lists(
                st.builds(
                    wa.status,
                    st.sampled_from(["wamid.OUT.1", "wamid.unknown"]),
                    st.sampled_from(["sent", "delivered", "read", "failed", "played", "x"]),
                )
                | json_values,
                max_size=3,
            )
        )
    for key in draw(
        st.lists(
            st.sampled_from(
                ["errors", "user_preferences", "event", "message_template_name", "new_category"]
            ),
            max_size=2,
        )
    ):
        value[key] = draw(json_values)
    return value


@st.composite
def bodies(draw: st.DrawFn) -> bytes:
    shape = draw(st.integers(0, 9))
    if shape == 0:
        return draw(st.binary(max_size=200))
    if shape == 1:
        return json.dumps(draw(json_values)).encode()
    fields = st.sampled_from(
        [
            "messages",
            "messages",
            "message_template_status_update",
            "template_category_update",
            "message_template_quality_update",
            "user_preferences",
            "account_update",
            "phone_number_quality_update",
            "flows",
        ]
    )
    change = st.fixed_dictionaries({"field": fields, "value": values()}) | json_values
    entry = st.fixed_dictionaries(
        {"id": st.just(wa.WABA_ID), "changes": st.lists(change, max_size=3) | json_values},
        optional={"time": json_values},
    )
    doc = {
        "object": "whatsapp_business_account",
        "entry": draw(st.lists(entry | json_values, max_size=3)),
    }
    return wa.encode(doc)


@settings(max_examples=300, deadline=None)
@given(bodies())
def test_the_parser_raises_only_its_own_clear_error(body: bytes) -> None:
    try:
        parsed = inbound.parse(body, phone_number_id=wa.PHONE_NUMBER_ID)
    except inbound.UnreadableWebhook:
        return
    for number, foreign in parsed.foreign.items():
        assert number != wa.PHONE_NUMBER_ID
        assert json.loads(foreign)["entry"]


@pytest.mark.django_db
@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(body=bodies())
def test_a_stored_delivery_is_never_lost(shop: Shop, body: bytes) -> None:
    configure(shop.whatsapp)
    delivery = services.store_delivery(shop.whatsapp, body, process=False)
    for _attempt in range(services.UNKNOWN_STATUS_RETRIES + 1):
        delivery = services.process(delivery.pk)  # never raises
        if delivery.state != DeliveryState.RECEIVED:
            break  # a status for an unknown message keeps it for a retry until then

    stored = Delivery.objects.get(pk=delivery.pk)
    assert stored.state in {DeliveryState.PROCESSED, DeliveryState.FAILED}
    assert bytes(stored.body) == body
    if stored.state == DeliveryState.FAILED:
        # Only a body that is no envelope fails; inside one, nothing blocks the rest.
        assert stored.error.startswith("UnreadableWebhook")
