"""Each agent's language and time zone: the switch in the top bar, and times in their zone."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from asgiref.sync import async_to_sync
from django.core.exceptions import ValidationError
from django.test import AsyncClient, Client
from django.urls import reverse
from django.utils import timezone

from loket.accounts import services as accounts
from loket.accounts.models import User
from loket.audit.models import Event
from loket.conftest import Shop
from loket.web.templatetags import loket_ui
from loket.web.tests.inbox_fixtures import whatsapp

pytestmark = pytest.mark.django_db


def client_for(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_the_inbox_speaks_indonesian_by_default(shop: Shop) -> None:
    html = client_for(shop.budi).get(reverse("web:inbox:index")).content.decode()
    assert '<html lang="id">' in html
    assert "Milik saya" in html
    assert "Belum ditugaskan" in html
    assert "Semua terbuka" in html


def test_switching_to_english_sticks_to_the_agent_not_the_browser(shop: Shop) -> None:
    client = client_for(shop.budi)
    response = client.post(
        reverse("web:inbox:preferences"), {"language": "en", "next": "/?view=mine"}
    )
    assert response.status_code == 302
    assert response["Location"] == "/?view=mine"
    shop.budi.refresh_from_db()
    assert shop.budi.language == "en"
    event = Event.objects.filter(kind="agent.preferences_changed").get()
    assert event.data == {"language": "en"}
    # Even a browser asking for Indonesian gets the agent's English.
    html = client.get("/", headers={"Accept-Language": "id"}).content.decode()
    assert '<html lang="en">' in html
    assert "Unassigned" in html
    assert 'value="en" class="chip" lang="en" title="English" aria-pressed="true"' in html
    # Other agents keep theirs.
    assert "Belum ditugaskan" in client_for(shop.wati).get("/").content.decode()


def test_the_switch_refuses_unknown_languages_and_foreign_next_urls(shop: Shop) -> None:
    client = client_for(shop.budi)
    response = client.post(
        reverse("web:inbox:preferences"), {"language": "xx", "next": "https://evil.example/"}
    )
    assert response["Location"] == reverse("web:inbox:index")
    shop.budi.refresh_from_db()
    assert shop.budi.language == "id"
    assert not Event.objects.filter(kind="agent.preferences_changed").exists()


def test_set_preferences_validates_and_records_only_changes(shop: Shop) -> None:
    assert accounts.set_preferences(shop.wati, language="id") == []
    assert accounts.set_preferences(shop.wati, time_zone="Asia/Makassar") == ["time_zone"]
    assert User.objects.get(pk=shop.wati.pk).time_zone == "Asia/Makassar"
    with pytest.raises(ValidationError):
        accounts.set_preferences(shop.wati, time_zone="Mars/Olympus")
    assert Event.objects.filter(kind="agent.preferences_changed").count() == 1


def test_times_show_in_the_agents_zone(shop: Shop) -> None:
    start = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)  # 09:00 WIB, 10:00 WITA
    with time_machine.travel(start, tick=False):
        whatsapp(shop, 1)
    accounts.set_preferences(shop.budi, time_zone="Asia/Makassar")
    with time_machine.travel(start + timedelta(minutes=3), tick=False):
        budi = client_for(shop.budi).get("/").content.decode()
        joko = client_for(shop.joko).get("/").content.decode()
    assert 'title="2 Mar 2026 10:00 WITA">3 mnt lalu</time>' in budi
    assert 'title="2 Mar 2026 09:00 WIB">3 mnt lalu</time>' in joko


def test_waiting_turns_amber_then_red() -> None:
    start = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)
    with time_machine.travel(start, tick=False):
        assert loket_ui.waiting_level(start - timedelta(minutes=5)) == ""
        assert loket_ui.waiting_level(start - loket_ui.WAITING_AMBER) == "amber"
        assert loket_ui.waiting_level(start - loket_ui.WAITING_RED) == "red"
        assert loket_ui.waiting_level(None) == ""
        badge = loket_ui.waiting(start - timedelta(hours=3))
        assert 'class="waiting waiting-red"' in badge
        assert ">3 jam<" in badge


def test_relative_times_turn_into_dates() -> None:
    now = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)
    timezone.activate("Asia/Jakarta")
    try:
        with time_machine.travel(now, tick=False):
            assert loket_ui.relative(now - timedelta(seconds=20)) == "baru saja"
            assert loket_ui.relative(now - timedelta(hours=5)) == "5 jam lalu"
            assert loket_ui.relative(now - timedelta(days=2)) == "2 hr lalu"
            assert loket_ui.relative(now - timedelta(days=30)) == "31 Jan"
            assert loket_ui.relative(now - timedelta(days=400)) == "26 Jan 2025"
    finally:
        timezone.deactivate()


def test_the_agents_language_also_applies_to_requests_served_asynchronously(shop: Shop) -> None:
    accounts.set_preferences(shop.budi, language="en")

    async def fetch() -> str:
        client = AsyncClient()
        await client.aforce_login(shop.budi)
        response = await client.get(reverse("web:inbox:index"))
        assert response.status_code == 200
        return response.content.decode()

    html = async_to_sync(fetch)()
    assert '<html lang="en">' in html
    assert "Unassigned" in html


def test_the_time_zone_form_in_the_inbox_changes_the_agents_zone(shop: Shop) -> None:
    client = client_for(shop.wati)
    html = client.get(reverse("web:inbox:index")).content.decode()
    assert '<option value="Asia/Jakarta" selected>' in html
    response = client.post(
        reverse("web:inbox:preferences"), {"time_zone": "Asia/Jayapura", "next": "/"}
    )
    assert response["Location"] == "/"
    assert User.objects.get(pk=shop.wati.pk).time_zone == "Asia/Jayapura"
    assert '<option value="Asia/Jayapura" selected>' in client.get("/").content.decode()
