"""The site settings an admin edits: business name, reopen period, default language.

- unset values fall back to the environment (LOKET_REOPEN_DAYS, LANGUAGE_CODE);
- a change is recorded in the event log with the old and new value, and seen at once;
- the reopen period decides whether a customer's reply reopens a solved ticket;
- receive() reads the period from memory: no query per message.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from time_machine import TimeMachineFixture

from loket.audit.models import Event
from loket.channels.items import InboundMessage, Sender
from loket.conftest import Shop
from loket.core import site
from loket.core.models import SiteSettings
from loket.tickets import services as tickets
from loket.tickets.models import Status, Ticket

pytestmark = pytest.mark.django_db

DEWI = Sender("phone", "6281234567890", "Dewi Lestari", international=True)
MONDAY = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)


def dewi_writes(shop: Shop, text: str, wamid: str) -> Ticket:
    received = tickets.receive(shop.whatsapp, InboundMessage(wamid, DEWI, text=text))
    return received.message.ticket


def test_unset_settings_fall_back_to_the_environment(settings: Any) -> None:
    settings.LOKET_REOPEN_DAYS = 5
    settings.LANGUAGE_CODE = "id"

    assert site.reopen_days() == 5
    assert site.default_language() == "id"
    assert site.business_name() == ""
    assert not SiteSettings.objects.exists()


def test_an_admin_changes_the_settings_and_the_log_says_what_changed(shop: Shop) -> None:
    site.update(shop.sari, business_name="  Toko   Batik Sari ", reopen_days=3)

    assert site.business_name() == "Toko Batik Sari"
    assert site.reopen_days() == 3
    event = Event.objects.get(kind="site.settings_changed")
    assert event.actor_id == shop.sari.pk
    assert event.data == {
        "changes": {
            "business_name": {"from": "", "to": "Toko Batik Sari"},
            "reopen_days": {"from": None, "to": 3},
        }
    }

    site.update(shop.sari, business_name="Toko Batik Sari", reopen_days=3)
    assert Event.objects.filter(kind="site.settings_changed").count() == 1  # nothing changed


def test_clearing_the_reopen_period_returns_to_the_environment(shop: Shop, settings: Any) -> None:
    settings.LOKET_REOPEN_DAYS = 7
    site.update(shop.sari, reopen_days=0)
    assert site.reopen_days() == 0  # zero is a value: a solved ticket never takes a reply

    site.update(shop.sari, reopen_days=None)
    assert site.reopen_days() == 7


def test_the_default_language_is_one_loket_speaks(shop: Shop) -> None:
    site.update(shop.sari, default_language="en")
    assert site.default_language() == "en"

    with pytest.raises(ValidationError):
        site.update(shop.sari, default_language="fr")
    with pytest.raises(ValidationError):
        site.update(shop.sari, reopen_days=-1)
    assert site.default_language() == "en"


def test_the_reopen_period_from_the_site_settings_decides_the_threading(
    shop: Shop, time_machine: TimeMachineFixture, settings: Any
) -> None:
    settings.LOKET_REOPEN_DAYS = 7
    time_machine.move_to(MONDAY, tick=False)
    site.update(shop.sari, reopen_days=2)

    first = dewi_writes(shop, "Paket belum sampai kak", "wamid.1")
    tickets.set_status(first, Status.SOLVED, actor=shop.budi)
    time_machine.shift(timedelta(days=1))
    assert dewi_writes(shop, "Sudah sampai, makasih", "wamid.2") == first  # within 2 days
    first.refresh_from_db()
    assert first.status == Status.OPEN

    tickets.set_status(first, Status.SOLVED, actor=shop.budi)
    time_machine.shift(timedelta(days=3))  # beyond 2 days, though within the environment's 7
    later = dewi_writes(shop, "Kak, mau pesan lagi", "wamid.3")
    assert later != first
    first.refresh_from_db()
    assert first.status == Status.SOLVED

    site.update(shop.sari, reopen_days=10)
    tickets.set_status(later, Status.CLOSED, actor=shop.budi)
    # `first` was solved three days ago: a 10-day period takes the reply into it again.
    assert dewi_writes(shop, "Kak?", "wamid.4") == first


def test_receive_reads_the_reopen_period_without_a_query(shop: Shop) -> None:
    site.update(shop.sari, reopen_days=3)
    dewi_writes(shop, "Halo kak", "wamid.10")
    site.get()  # warm

    with CaptureQueriesContext(connection) as queries:
        dewi_writes(shop, "Masih ada stok?", "wamid.11")

    table = SiteSettings._meta.db_table
    assert not [q for q in queries.captured_queries if table in q["sql"]]


def test_another_process_sees_a_change_once_the_cache_expires(
    shop: Shop, monkeypatch: pytest.MonkeyPatch
) -> None:
    site.update(shop.sari, reopen_days=3)
    assert site.reopen_days() == 3
    # Another process writes the row (here: a plain UPDATE this process's cache did not see).
    SiteSettings.objects.filter(pk=1).update(reopen_days=9)
    assert site.reopen_days() == 3

    monkeypatch.setattr(site, "TTL_SECONDS", 0.0)
    assert site.reopen_days() == 9
