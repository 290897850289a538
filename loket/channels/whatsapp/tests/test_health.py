"""The token check: "Check now" and the scheduler ask Meta (here: the emulator) about the number.

- a working token: token_ok, the verified name and quality rating are recorded;
- an expired token (190): marked invalid, the channel flagged with the reason (once);
- Meta unreachable: the check is recorded, the token's validity is left as it was;
- the scheduler enqueues a check of each enabled channel not checked lately.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import timedelta

import pytest
import time_machine

from loket.audit.models import Event
from loket.channels.models import Channel
from loket.channels.whatsapp import health
from loket.channels.whatsapp.emulator.core import Emulator
from loket.channels.whatsapp.emulator.server import running_emulator
from loket.channels.whatsapp.tests.config_support import emulated_channel, whatsapp_channel
from loket.conftest import Shop
from loket.core import clock
from loket.core.tests.processes import free_port

pytestmark = pytest.mark.django_db


@pytest.fixture
def emu() -> Iterator[Emulator]:
    with running_emulator() as emulator:
        yield emulator


def test_a_working_token_is_recorded_with_the_numbers_quality(shop: Shop, emu: Emulator) -> None:
    channel = health.check(emulated_channel(emu.base_url, shop.sales))
    assert channel.token_ok is True
    assert channel.token_checked_at is not None
    assert channel.token_error == ""
    assert channel.quality_rating == "GREEN"
    assert channel.verified_name == "Batik Sari"
    assert channel.last_error == ""


def test_an_expired_token_marks_the_channel_unhealthy_once(shop: Shop, emu: Emulator) -> None:
    channel = emulated_channel(emu.base_url, shop.sales)
    emu.set_token_expired()
    channel = health.check(channel)
    assert channel.token_ok is False
    assert "190" in channel.token_error
    assert "190" in channel.last_error
    assert channel.last_error_at is not None
    health.check(channel)
    assert Event.objects.filter(kind="channel.unhealthy").count() == 1

    emu.set_token_expired(False)  # a new token was entered / Meta works again
    channel = health.check(channel)
    assert channel.token_ok is True
    assert channel.last_error == ""
    assert Event.objects.filter(kind="channel.healthy").count() == 1


def test_an_unreachable_meta_says_nothing_about_the_token(
    shop: Shop, emu: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(health, "RETRY_PAUSES", (0.0, 0.0))
    channel = health.check(emulated_channel(emu.base_url, shop.sales))
    assert channel.token_ok is True
    Channel.objects.filter(pk=channel.pk).update(
        config={**channel.config, "base_url": f"http://127.0.0.1:{free_port()}"}
    )
    channel = health.check(Channel.objects.get(pk=channel.pk))
    assert channel.token_ok is True
    assert channel.token_error != ""


def test_the_scheduler_enqueues_checks_for_channels_not_checked_lately(shop: Shop) -> None:
    from django_tasks_db.models import DBTaskResult

    fresh = whatsapp_channel(shop.sales, name="Baru")
    checked = whatsapp_channel(shop.sales, name="Dicek")
    off = whatsapp_channel(shop.sales, name="Mati")
    Channel.objects.filter(pk=off.pk).update(enabled=False)
    Channel.objects.filter(pk=checked.pk).update(token_checked_at=clock.now())
    assert health.check_due() == 1
    (queued,) = DBTaskResult.objects.all()
    assert queued.args_kwargs["args"] == [fresh.pk]

    with time_machine.travel(clock.now() + timedelta(hours=2)):
        assert health.check_due() == 2  # the one checked two hours ago is due again


def test_meta_reachable_a_moment_later_is_asked_again(
    shop: Shop, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``loket run --demo`` starts Loket and the emulator together: a check made while the
    emulator is still starting must not leave the demo's channel with a network error."""
    # Pauses long enough for an emulator starting on a loaded CI machine (seen: over 3 s);
    # the check returns as soon as it answers.
    monkeypatch.setattr(health, "RETRY_PAUSES", (0.2, 0.4, 0.8, 1.6, 3.2, 6.4))
    port = free_port()
    channel = emulated_channel(f"http://127.0.0.1:{port}", shop.sales)
    started = threading.Event()
    stop = threading.Event()

    def start_late() -> None:
        time.sleep(0.3)
        with running_emulator(port=port):
            started.set()
            stop.wait(30)

    late = threading.Thread(target=start_late, daemon=True)
    late.start()
    try:
        checked = health.check(channel)
    finally:
        stop.set()
        late.join(10)
    assert started.is_set()
    assert checked.token_ok is True
    assert checked.token_error == ""
