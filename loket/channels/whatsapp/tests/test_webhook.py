"""Meta reaches Loket: the subscription handshake and signed notifications.

The signature is checked over the exact raw bytes; a valid body is stored before anything
else happens and acknowledged with 200, even when it cannot be parsed (it becomes a failed
delivery an admin can replay); only a bad signature, an oversized body or an unknown
channel get another status. Nothing a stranger sends produces a 500.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client
from django_tasks_db.models import DBTaskResult
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from loket.channels import services
from loket.channels.models import Channel, Delivery, DeliveryState
from loket.channels.whatsapp import views
from loket.channels.whatsapp.tests.config_support import APP_SECRET, VERIFY_TOKEN, whatsapp_channel
from loket.conftest import Shop
from loket.core import clock

pytestmark = pytest.mark.django_db


# As Meta sends it: non-ASCII escaped as \uXXXX (lowercase hex) and "/" as "\/".
ESCAPED = (
    b'{"object":"whatsapp_business_account","entry":[{"id":"102290129340398","changes":[{'
    b'"field":"messages","value":{"messaging_product":"whatsapp","metadata":{'
    b'"display_phone_number":"6281100001111","phone_number_id":"109876543210987"},'
    b'"contacts":[{"profile":{"name":"Dewi Lestari \\u00e9"},"wa_id":"6281234567890"}],'
    b'"messages":[{"from":"6281234567890","id":"wamid.HBgM.1","timestamp":"1764400000",'
    b'"type":"text","text":{"body":"Kak, https:\\/\\/batiksari.id\\/p\\/7 ada? \\ud83d\\ude4f '
    b'cs@batiksari.id"}}]}}]}]}'
)


@pytest.fixture
def channel(shop: Shop) -> Channel:
    return whatsapp_channel(shop.sales)


def url(channel: Channel) -> str:
    return f"/webhooks/whatsapp/{channel.pk}/"


def post(
    client: Client, channel: Channel, body: bytes, signature: str | None = "valid", **headers: str
) -> Any:
    if signature == "valid":
        signature = views.sign(body, APP_SECRET)
    if signature is not None:
        headers["X-Hub-Signature-256"] = signature
    return client.post(url(channel), data=body, content_type="application/json", headers=headers)


# --- GET: the handshake ----------------------------------------------------------------------
def test_the_handshake_echoes_the_challenge_verbatim(client: Client, channel: Channel) -> None:
    response = client.get(
        url(channel),
        {"hub.mode": "subscribe", "hub.verify_token": VERIFY_TOKEN, "hub.challenge": "1158201444"},
    )
    assert response.status_code == 200
    assert response.content == b"1158201444"
    assert response["Content-Type"].startswith("text/plain")
    channel.refresh_from_db()
    assert channel.last_webhook_at is not None


def test_the_handshake_with_another_token_is_forbidden(client: Client, channel: Channel) -> None:
    response = client.get(
        url(channel),
        {"hub.mode": "subscribe", "hub.verify_token": "tebakan", "hub.challenge": "42"},
    )
    assert response.status_code == 403
    assert b"42" not in response.content


@pytest.mark.parametrize(
    "params",
    [
        {},
        {"hub.mode": "subscribe", "hub.challenge": "42"},
        {"hub.mode": "unsubscribe", "hub.verify_token": VERIFY_TOKEN, "hub.challenge": "42"},
        {"hub.mode": "subscribe", "hub.verify_token": VERIFY_TOKEN},
        {"hub_mode": "subscribe", "hub_verify_token": VERIFY_TOKEN, "hub_challenge": "42"},
    ],
)
def test_a_handshake_missing_a_parameter_is_forbidden(
    client: Client, channel: Channel, params: dict[str, str]
) -> None:
    assert client.get(url(channel), params).status_code == 403


def test_an_unknown_or_disabled_channel_is_not_found(client: Client, channel: Channel) -> None:
    params = {"hub.mode": "subscribe", "hub.verify_token": VERIFY_TOKEN, "hub.challenge": "1"}
    assert client.get("/webhooks/whatsapp/999999/", params).status_code == 404
    assert client.get("/webhooks/whatsapp/99999999999999999999999/", params).status_code == 404
    services.update_channel(channel, actor=None, enabled=False)
    assert client.get(url(channel), params).status_code == 404
    assert post(client, channel, ESCAPED).status_code == 404
    assert not Delivery.objects.exists()


def test_an_email_channel_has_no_whatsapp_webhook(client: Client, shop: Shop) -> None:
    response = client.post(f"/webhooks/whatsapp/{shop.email.pk}/", data=b"{}", content_type="x")
    assert response.status_code == 404


# --- POST: signed notifications --------------------------------------------------------------
def test_a_signed_body_is_stored_byte_for_byte_and_acknowledged(
    client: Client, channel: Channel, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks() as callbacks:
        response = post(client, channel, ESCAPED, **{"User-Agent": "facebookexternalua"})
    assert response.status_code == 200
    delivery = Delivery.objects.get()
    assert bytes(delivery.body) == ESCAPED
    assert delivery.channel_id == channel.pk
    assert delivery.headers["X-Hub-Signature-256"] == views.sign(ESCAPED, APP_SECRET)
    assert delivery.headers["User-Agent"] == "facebookexternalua"
    # Reading it is the worker's: the task row went in with the delivery, in one commit.
    assert not callbacks
    assert DBTaskResult.objects.filter(task_path="loket.channels.tasks.drain_deliveries").exists()
    channel.refresh_from_db()
    assert channel.last_webhook_at is not None


def test_a_missing_signature_is_unauthorised_and_nothing_is_stored(
    client: Client, channel: Channel
) -> None:
    assert post(client, channel, ESCAPED, signature=None).status_code == 401
    assert not Delivery.objects.exists()


@pytest.mark.parametrize(
    "signature",
    [
        "sha256=" + "0" * 64,
        "sha1=" + "0" * 40,
        views.sign(ESCAPED, "another-app-secret"),
        views.sign(ESCAPED, APP_SECRET)[7:],  # without the "sha256=" prefix
        "sha256=",
        "sha256=ü",
    ],
)
def test_a_wrong_signature_is_forbidden_and_nothing_is_stored(
    client: Client, channel: Channel, signature: str
) -> None:
    assert post(client, channel, ESCAPED, signature=signature).status_code == 403
    assert not Delivery.objects.exists()


def test_a_signature_over_re_serialised_json_does_not_match(
    client: Client, channel: Channel
) -> None:
    """The pitfall of body parsers: json.dumps of the parsed body is not what Meta signed."""
    reserialised = json.dumps(json.loads(ESCAPED), ensure_ascii=False).encode()
    assert reserialised != ESCAPED
    response = post(client, channel, ESCAPED, signature=views.sign(reserialised, APP_SECRET))
    assert response.status_code == 403
    assert not Delivery.objects.exists()


def test_the_signature_is_checked_with_the_channels_own_app_secret(
    client: Client, channel: Channel, shop: Shop
) -> None:
    other = services.create_channel(
        kind="whatsapp",
        name="WA Gudang",
        config={"phone_number_id": "2", "app_secret": "rahasia-lain", "verify_token": "v"},
        actor=None,
    )
    signed_for_other = views.sign(ESCAPED, "rahasia-lain")
    assert post(client, channel, ESCAPED, signature=signed_for_other).status_code == 403
    assert post(client, other, ESCAPED, signature=signed_for_other).status_code == 200
    assert Delivery.objects.get().channel_id == other.pk


def test_an_oversized_body_is_refused_unread(client: Client, channel: Channel) -> None:
    body = b"x" * (views.MAX_BODY + 1)
    assert post(client, channel, body).status_code == 413
    assert not Delivery.objects.exists()


def test_a_body_of_metas_largest_size_is_accepted(client: Client, channel: Channel) -> None:
    body = b'{"entry":[],"pad":"' + b"x" * (3 * 1024 * 1024) + b'"}'
    assert post(client, channel, body).status_code == 200
    assert len(bytes(Delivery.objects.get().body)) == len(body)


def test_a_signed_body_that_is_not_json_is_kept_as_a_failed_delivery(
    client: Client, channel: Channel
) -> None:
    body = b"\xff\xfe not json at all {"
    assert post(client, channel, body).status_code == 200
    delivery = Delivery.objects.get()
    assert bytes(delivery.body) == body
    services.process(delivery.pk)
    delivery.refresh_from_db()
    assert delivery.state == DeliveryState.FAILED
    assert "JSON" in delivery.error


def test_a_valid_notification_ends_as_a_message(client: Client, channel: Channel) -> None:
    from loket.tickets.models import Message

    assert post(client, channel, ESCAPED).status_code == 200
    delivery = services.process(Delivery.objects.get().pk)
    assert delivery.state == DeliveryState.PROCESSED, delivery.error
    message = Message.objects.get(external_id="wamid.HBgM.1")
    assert "https://batiksari.id/p/7" in message.text
    assert "🙏" in message.text


def test_when_the_database_is_too_busy_meta_is_asked_to_retry(
    client: Client, channel: Channel, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every writer slot taken (a long SQLite lock): 503 with Retry-After, not a 500."""
    monkeypatch.setattr(views, "WRITER_WAIT", 0.01)
    slots = views._writer_slots()
    taken = 0
    while slots.acquire(blocking=False):
        taken += 1
    try:
        response = post(client, channel, ESCAPED)
    finally:
        for _ in range(taken):
            slots.release()
    assert response.status_code == 503
    assert response["Retry-After"] == "5"
    assert not Delivery.objects.exists()
    assert post(client, channel, ESCAPED).status_code == 200


def test_other_methods_are_not_allowed(client: Client, channel: Channel) -> None:
    assert client.put(url(channel), data=b"{}").status_code == 405
    assert client.delete(url(channel)).status_code == 405


def test_last_webhook_is_written_at_most_once_a_minute(client: Client, channel: Channel) -> None:
    post(client, channel, ESCAPED)
    channel.refresh_from_db()
    first = channel.last_webhook_at
    assert first is not None
    Channel.objects.filter(pk=channel.pk).update(last_webhook_at=clock.now())
    channel.refresh_from_db()
    stamp = channel.last_webhook_at
    post(client, channel, ESCAPED)
    channel.refresh_from_db()
    assert channel.last_webhook_at == stamp


# --- hostile input ---------------------------------------------------------------------------
header_names = st.sampled_from(
    ["X-Hub-Signature-256", "Content-Type", "User-Agent", "X-Request-Id", "Content-Encoding"]
)
header_values = st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=0x2FF), max_size=80)


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    body=st.binary(max_size=2000),
    headers=st.dictionaries(header_names, header_values, max_size=4),
    signed=st.booleans(),
    method=st.sampled_from(["get", "post"]),
    query=st.dictionaries(
        st.sampled_from(["hub.mode", "hub.verify_token", "hub.challenge"]),
        st.text(max_size=30),
        max_size=3,
    ),
)
def test_random_requests_never_fail_and_signed_bodies_are_always_kept(
    channel: Channel,
    *,
    body: bytes,
    headers: dict[str, str],
    signed: bool,
    method: str,
    query: dict[str, str],
) -> None:
    client = Client(raise_request_exception=False)
    if method == "get":
        response = client.get(url(channel), query, headers=headers)
        assert response.status_code in {200, 403}
        return
    if signed:
        headers["X-Hub-Signature-256"] = views.sign(body, APP_SECRET)
    headers.pop("Content-Type", None)
    before = Delivery.objects.count()
    response = client.post(
        url(channel), data=body, content_type="application/octet-stream", headers=headers
    )
    assert response.status_code in {200, 401, 403}
    if signed:
        assert response.status_code == 200
        assert bytes(Delivery.objects.latest("pk").body) == body
        assert Delivery.objects.count() == before + 1
    else:
        assert Delivery.objects.count() == before
