"""The lean path ``loket web`` serves notifications through (loket.core.asgi).

The same answers as the Django view (test_webhook.py), over the ASGI application itself: the
raw body committed before the 200, a bad signature refused with nothing stored, a busy
database a 503 with Retry-After. The writer thread has its own database connection, so these
tests commit for real (``transactional_db``).
"""

from __future__ import annotations

import asyncio

import httpx
import pytest
from django.test import override_settings
from django_tasks_db.models import DBTaskResult

from loket.channels import services
from loket.channels.models import Channel, Delivery, DeliveryState
from loket.channels.whatsapp import views
from loket.channels.whatsapp.tests.config_support import APP_SECRET, whatsapp_channel
from loket.channels.whatsapp.tests.test_webhook import ESCAPED
from loket.core.asgi import application
from loket.tickets.models import Message

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def channel() -> Channel:
    return whatsapp_channel()


def post_all(
    path: str, bodies: list[bytes], signature: str | None = "valid", host: str = "127.0.0.1"
) -> list[httpx.Response]:
    """POST every body at once (they share the writer's batches), as Meta's servers would."""

    async def go() -> list[httpx.Response]:
        transport = httpx.ASGITransport(app=application)
        async with httpx.AsyncClient(transport=transport, base_url=f"http://{host}") as client:

            async def one(body: bytes) -> httpx.Response:
                headers = {"Content-Type": "application/json"}
                if signature == "valid":
                    headers["X-Hub-Signature-256"] = views.sign(body, APP_SECRET)
                elif signature is not None:
                    headers["X-Hub-Signature-256"] = signature
                return await client.post(path, content=body, headers=headers)

            return await asyncio.gather(*(one(body) for body in bodies))

    return asyncio.run(go())


def url(channel: Channel) -> str:
    return f"/webhooks/whatsapp/{channel.pk}/"


def test_a_signed_body_is_committed_before_the_ok(channel: Channel) -> None:
    bodies = [ESCAPED.replace(b"wamid.HBgM.1", f"wamid.HBgM.{n}".encode()) for n in range(20)]

    responses = post_all(url(channel), bodies)

    assert [r.status_code for r in responses] == [200] * 20
    assert responses[0].text == "OK"
    assert responses[0].headers["X-Content-Type-Options"] == "nosniff"
    stored = sorted(bytes(d.body) for d in Delivery.objects.filter(channel=channel))
    assert stored == sorted(bodies)
    assert {d.headers["X-Hub-Signature-256"] for d in Delivery.objects.all()} == {
        views.sign(body, APP_SECRET) for body in bodies
    }
    assert DBTaskResult.objects.filter(task_path="loket.channels.tasks.drain_deliveries").exists()
    channel.refresh_from_db()
    assert channel.last_webhook_at is not None

    assert services.drain() == 20
    assert Message.objects.count() == 20
    assert set(Delivery.objects.values_list("state", flat=True)) == {DeliveryState.PROCESSED}


def test_bad_signatures_are_refused_and_nothing_is_stored(channel: Channel) -> None:
    assert [r.status_code for r in post_all(url(channel), [ESCAPED], signature=None)] == [401]
    wrong = views.sign(ESCAPED, "another secret")
    assert [r.status_code for r in post_all(url(channel), [ESCAPED], signature=wrong)] == [403]
    assert post_all(url(channel), [b"x" * (views.MAX_BODY + 1)])[0].status_code == 413
    assert not Delivery.objects.exists()


def test_a_refused_body_does_not_spoil_its_batch(channel: Channel) -> None:
    """Answers are per request, even when several share one transaction."""
    other = whatsapp_channel(name="WA Lain", app_secret="rahasia lain")
    good = post_all(url(channel), [ESCAPED] * 5)
    bad = post_all(url(other), [ESCAPED] * 5)
    assert [r.status_code for r in good + bad] == [200] * 5 + [403] * 5
    assert Delivery.objects.filter(channel=channel).count() == 5
    assert not Delivery.objects.filter(channel=other).exists()


def test_an_unknown_or_disabled_channel_is_not_found(channel: Channel) -> None:
    assert post_all("/webhooks/whatsapp/999999/", [ESCAPED])[0].status_code == 404
    Channel.objects.filter(pk=channel.pk).update(enabled=False)
    assert post_all(url(channel), [ESCAPED])[0].status_code == 404


@pytest.mark.parametrize("error", ["database is locked", "a bug"])
def test_a_store_that_fails_asks_meta_to_retry(
    channel: Channel, monkeypatch: pytest.MonkeyPatch, error: str
) -> None:
    """Never a 500: what was not stored is delivered again by Meta."""
    from django.db import OperationalError

    def locked(*args: object, **kwargs: object) -> Delivery:
        raise OperationalError(error) if error.startswith("database") else RuntimeError(error)

    monkeypatch.setattr(services, "store_delivery", locked)
    response = post_all(url(channel), [ESCAPED])[0]
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "5"
    assert not Delivery.objects.exists()


def test_what_django_would_answer_differently_is_left_to_django(channel: Channel) -> None:
    def scope(**changes: object) -> dict[str, object]:
        return {
            "type": "http",
            "method": "POST",
            "path": url(channel),
            "scheme": "http",
            "query_string": b"",
            "headers": [(b"host", b"127.0.0.1:8000")],
            **changes,
        }

    assert views.lean_channel_id(scope()) == channel.pk
    assert views.lean_channel_id(scope(method="GET")) is None
    assert views.lean_channel_id(scope(path=url(channel) + "x/")) is None
    assert views.lean_channel_id(scope(query_string=b"a=1")) is None
    assert views.lean_channel_id(scope(headers=[(b"host", b"evil.example")])) is None
    with override_settings(SECURE_SSL_REDIRECT=True):
        assert views.lean_channel_id(scope()) is None  # Django redirects it to https
        assert views.lean_channel_id(scope(scheme="https")) == channel.pk
    # Through the application: Django's own answer to a host it does not serve.
    assert post_all(url(channel), [ESCAPED], host="evil.example")[0].status_code == 400
    assert not Delivery.objects.exists()


@pytest.fixture(autouse=True)
def _writer_closed() -> object:
    """The writer thread's connection is closed after each test (the test database is
    flushed or dropped under it)."""
    yield None
    views._WRITER.stop()
