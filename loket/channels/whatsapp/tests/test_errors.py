"""Every Graph error code of §1.11 maps to a Loket code, a reason an agent can act on, and a
retry decision; a queued message that meets one ends the way the table says."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from typing import Any

import pytest
from django.utils import translation
from django_tasks_db.models import DBTaskResult

from loket.accounts.models import Role, User
from loket.channels.models import Channel
from loket.channels.whatsapp import errors
from loket.channels.whatsapp.graph import NETWORK, GraphError
from loket.channels.whatsapp.tests.test_graph_fake import (
    Answer,
    FakeGraph,
    graph_error,
    running,
    sending,
)
from loket.conftest import Shop
from loket.notifications.models import Kind, Notification
from loket.tickets import services as tickets
from loket.tickets.models import DeliveryStatus, Message

pytestmark = pytest.mark.django_db

CaptureCallbacks = Callable[..., AbstractContextManager[list[Callable[[], Any]]]]

# One code per row (and both ends of the 200 to 299 permission range).
CODES = sorted(
    {row.codes[0] for row in errors.TABLE}
    | {c for r in errors.TABLE for c in r.codes if c < 200 or c > 299}
    | {200, 299}
)
EXPECTED = {
    0: "AUTH_INVALID",
    190: "AUTH_INVALID",
    3: "CONFIG_PERMISSION",
    10: "CONFIG_PERMISSION",
    200: "CONFIG_PERMISSION",
    299: "CONFIG_PERMISSION",
    100: "BAD_REQUEST",
    4: "RATE_LIMITED",
    80007: "RATE_LIMITED",
    130429: "RATE_LIMITED",
    131056: "RATE_LIMITED_RECIPIENT",
    131048: "QUALITY_RESTRICTED",
    131047: "WINDOW_CLOSED",
    131026: "RECIPIENT_UNREACHABLE",
    131049: "MARKETING_CAPPED",
    131050: "OPTED_OUT",
    130472: "NOT_SENT_EXPERIMENT",
    131051: "UNSUPPORTED_TYPE",
    131052: "MEDIA_ERROR",
    131053: "MEDIA_ERROR",
    131008: "BAD_REQUEST",
    131009: "BAD_REQUEST",
    131021: "BAD_REQUEST",
    131030: "CONFIG_TEST_NUMBER",
    131031: "ACCOUNT_BLOCKED",
    368: "ACCOUNT_BLOCKED",
    131037: "CONFIG",
    131042: "BILLING",
    131045: "CONFIG",
    131000: "TRANSIENT",
    131016: "TRANSIENT",
    1: "TRANSIENT",
    2: "TRANSIENT",
    131057: "TRANSIENT",
    132000: "TEMPLATE_PARAMS",
    132001: "TEMPLATE_MISSING",
    132005: "TEMPLATE_PARAMS",
    132007: "TEMPLATE_POLICY",
    132008: "TEMPLATE_PARAMS",
    132012: "TEMPLATE_PARAMS",
    132015: "TEMPLATE_UNAVAILABLE",
    132016: "TEMPLATE_UNAVAILABLE",
    131062: "CONFIG",
    131063: "CONFIG",
    131064: "RATE_LIMITED",
    137000: "IDENTITY_CHANGED",
    NETWORK: "NETWORK",
}
RETRIED = {4, 80007, 130429, 131056, 131000, 131016, 1, 2, 131057, 131052, 131053}


def test_the_table_covers_every_code_of_the_reference() -> None:
    assert set(CODES) == set(EXPECTED)
    assert all(errors.classify(code).code_name == name for code, name in EXPECTED.items())
    assert errors.classify(250).code_name == "CONFIG_PERMISSION"


@pytest.mark.parametrize("code", CODES)
def test_each_code_has_a_plain_reason_and_a_retry_decision(code: int) -> None:
    mapped = errors.classify(code)
    assert mapped.code_name == EXPECTED[code]
    with translation.override("en"):
        reason = errors.classify(code).reason
    assert len(reason) > 30
    assert reason.endswith(".")
    error = errors.delivery_error(GraphError(code, transient=code == NETWORK))
    assert error.code == str(code)
    assert error.retryable is (code in RETRIED or code == NETWORK)
    assert error.deferred is False


def test_media_errors_are_tried_once_more_only() -> None:
    assert errors.delivery_error(GraphError(131053), attempt=1).retryable
    assert not errors.delivery_error(GraphError(131053), attempt=2).retryable


def test_an_unknown_code_is_retried_only_when_meta_says_it_is_transient() -> None:
    assert errors.classify(999999).code_name == "UNKNOWN"
    assert "999999" in errors.classify(999999).reason
    assert not errors.delivery_error(GraphError(999999)).retryable
    assert errors.delivery_error(GraphError(999999, transient=True)).retryable
    assert not errors.delivery_error(GraphError(NETWORK, http_status=404)).retryable


def test_the_recipient_backoff_carries_its_wait() -> None:
    error = errors.delivery_error(GraphError(131056), retry_after=16.0)
    assert (error.retryable, error.retry_after) == (True, 16.0)
    assert errors.delivery_error(GraphError(131047), retry_after=16.0).retry_after is None


# --- through a real send ------------------------------------------------------------------------
@pytest.fixture
def fake() -> Iterator[FakeGraph]:
    with running() as server, sending():
        yield server


def _queued_reply(shop: Shop, fake: FakeGraph, text: str = "Baik kak, kami cek dulu ya") -> Message:
    fake.configure(shop.whatsapp)
    ticket = shop.whatsapp_from_dewi("Kak, pesanan saya belum sampai")
    return tickets.reply(ticket, shop.budi, text)


@pytest.mark.parametrize("code", [c for c in CODES if c != NETWORK])
def test_a_queued_message_meeting_each_code_ends_as_the_table_says(
    shop: Shop, code: int, django_capture_on_commit_callbacks: CaptureCallbacks
) -> None:
    with running() as fake, sending():
        reply = _queued_reply(shop, fake)
        fake.fail("POST", "/messages", graph_error(code, status=401 if code in {0, 190} else 400))
        with django_capture_on_commit_callbacks(execute=True):
            status = tickets.deliver_now(reply.pk)

    reply.refresh_from_db()
    assert (reply.failure_code, reply.failure_reason) == (str(code), errors.classify(code).reason)
    if code in RETRIED:
        assert status == DeliveryStatus.QUEUED
        assert DBTaskResult.objects.filter(task_path="loket.tickets.tasks.deliver").exists()
    else:
        assert status == DeliveryStatus.FAILED
        assert reply.failed_at is not None
    shop.whatsapp.refresh_from_db()
    assert bool(shop.whatsapp.last_error) is errors.classify(code).channel_level


def test_131047_fails_the_message_with_the_window_reason(shop: Shop, fake: FakeGraph) -> None:
    reply = _queued_reply(shop, fake)
    fake.fail("POST", "/messages", graph_error(131047))

    assert tickets.deliver_now(reply.pk) == DeliveryStatus.FAILED

    reply.refresh_from_db()
    assert reply.delivery_status == DeliveryStatus.FAILED
    assert reply.failure_code == "131047"  # the ticket page's advice keys on Meta's code
    with translation.override("en"):
        assert "template" in str(errors.classify(131047).reason)
    assert reply.failure_reason == errors.classify(131047).reason
    assert reply.attempts == 1


def test_130429_is_tried_again_and_then_sent(
    shop: Shop, fake: FakeGraph, django_capture_on_commit_callbacks: CaptureCallbacks
) -> None:
    reply = _queued_reply(shop, fake)
    fake.fail("POST", "/messages", graph_error(130429), graph_error(130429))
    with django_capture_on_commit_callbacks(execute=True):
        assert tickets.deliver_now(reply.pk) == DeliveryStatus.QUEUED
        assert tickets.deliver_now(reply.pk) == DeliveryStatus.QUEUED
    assert tickets.deliver_now(reply.pk) == DeliveryStatus.SENT
    reply.refresh_from_db()
    assert reply.attempts == 3
    assert str(reply.external_id).startswith("wamid.FAKE")
    assert len(fake.sent()) == 3  # two refused, one accepted


def _admin_notifications() -> list[tuple[str, int]]:
    return list(
        Notification.objects.filter(kind=Kind.CHANNEL)
        .order_by("user__email")
        .values_list("user__email", "message_id")
    )


def test_an_expired_token_flags_the_channel_and_tells_admins_once(
    shop: Shop, fake: FakeGraph
) -> None:
    second_admin = User.objects.create_user("ayu@batiksari.id", "x", name="Ayu", role=Role.ADMIN)
    first = _queued_reply(shop, fake)
    second = tickets.reply(first.ticket, shop.budi, "Satu lagi kak")
    fake.fail("POST", "/messages", graph_error(190, status=401), graph_error(190, status=401))

    assert tickets.deliver_now(first.pk) == DeliveryStatus.FAILED
    assert tickets.deliver_now(second.pk) == DeliveryStatus.FAILED

    channel = Channel.objects.get(pk=shop.whatsapp.pk)
    assert channel.last_error_at is not None
    assert "(190: " in channel.last_error
    # One notification per admin for the incident, on the first failed message; none for agents.
    assert _admin_notifications() == [
        (second_admin.email, first.pk),
        (shop.sari.email, first.pk),
    ]
    assert Message.objects.get(pk=second.pk).failure_code == "190"

    # The admin enters a new token; the next send works and ends the incident.
    third = tickets.reply(first.ticket, shop.budi, "Maaf kak, tadi ada gangguan")
    assert tickets.deliver_now(third.pk) == DeliveryStatus.SENT
    healed = Channel.objects.get(pk=channel.pk)
    assert (healed.last_error, healed.last_error_at) == ("", None)

    # A new incident tells them again.
    fourth = tickets.reply(first.ticket, shop.budi, "Halo kak")
    fake.fail("POST", "/messages", graph_error(190, status=401))
    assert tickets.deliver_now(fourth.pk) == DeliveryStatus.FAILED
    assert len(_admin_notifications()) == 4


def test_an_error_someone_else_recorded_on_the_channel_is_left_alone(
    shop: Shop, fake: FakeGraph
) -> None:
    reply = _queued_reply(shop, fake)
    Channel.objects.filter(pk=shop.whatsapp.pk).update(last_error="Webhook signature wrong")
    assert tickets.deliver_now(reply.pk) == DeliveryStatus.SENT
    assert Channel.objects.get(pk=shop.whatsapp.pk).last_error == "Webhook signature wrong"


def test_a_network_failure_is_retried(
    shop: Shop, fake: FakeGraph, django_capture_on_commit_callbacks: CaptureCallbacks
) -> None:
    reply = _queued_reply(shop, fake)
    fake.fail("POST", "/messages", Answer(502, b"<html>bad gateway</html>", "text/html"))
    with django_capture_on_commit_callbacks(execute=True):
        assert tickets.deliver_now(reply.pk) == DeliveryStatus.QUEUED
    assert Message.objects.get(pk=reply.pk).failure_code == str(NETWORK)
