"""Presence: an agent sees who else is on a ticket, and whether they are typing."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from loket.audit.models import Event
from loket.conftest import Shop
from loket.presence import selectors, services
from loket.presence.models import Presence


def test_a_colleague_viewing_the_ticket_is_listed_but_not_myself(shop: Shop) -> None:
    ticket = shop.whatsapp_from_dewi("Halo")
    services.beat(shop.budi, ticket, "viewing")
    services.beat(shop.joko, ticket, "viewing")

    others = selectors.others_on(ticket, shop.budi)
    assert [(o.name, o.typing) for o in others] == [("Joko Susilo", False)]
    assert [o.name for o in selectors.others_on(ticket, shop.joko)] == ["Budi Santoso"]


def test_typists_come_first_and_typing_fades_back_to_viewing(shop: Shop) -> None:
    ticket = shop.whatsapp_from_dewi("Halo")
    start = timezone.now()
    with time_machine.travel(start, tick=False) as traveller:
        services.beat(shop.budi, ticket, "viewing")
        services.beat(shop.joko, ticket, "typing")
        assert [(o.name, o.typing) for o in selectors.others_on(ticket, shop.sari)] == [
            ("Joko Susilo", True),
            ("Budi Santoso", False),
        ]
        traveller.shift(timedelta(seconds=10))  # Joko stopped typing but is still there
        assert [(o.name, o.typing) for o in selectors.others_on(ticket, shop.sari)] == [
            ("Budi Santoso", False),
            ("Joko Susilo", False),
        ]


def test_an_agent_who_stops_beating_disappears(shop: Shop) -> None:
    ticket = shop.whatsapp_from_dewi("Halo")
    start = timezone.now()
    with time_machine.travel(start, tick=False) as traveller:
        services.beat(shop.joko, ticket, "viewing")
        traveller.shift(timedelta(seconds=15))
        assert len(selectors.others_on(ticket, shop.budi)) == 1
        traveller.shift(timedelta(seconds=10))  # 25 s without a heartbeat
        assert selectors.others_on(ticket, shop.budi) == []
        services.beat(shop.joko, ticket, "viewing")  # back again
        assert len(selectors.others_on(ticket, shop.budi)) == 1


def test_beats_update_one_row_and_write_nothing_to_the_event_log(shop: Shop) -> None:
    ticket = shop.whatsapp_from_dewi("Halo")
    events = Event.objects.count()
    for state in ("viewing", "typing", "viewing", "typing"):
        services.beat(shop.budi, ticket, state)
    [row] = Presence.objects.filter(user=shop.budi)
    assert row.state == "typing"
    assert Event.objects.count() == events


def test_leaving_removes_the_agent_at_once(shop: Shop) -> None:
    ticket = shop.whatsapp_from_dewi("Halo")
    services.beat(shop.joko, ticket, "viewing")
    services.leave(shop.joko, ticket)
    assert selectors.others_on(ticket, shop.budi) == []


def test_a_deactivated_agent_is_not_shown(shop: Shop) -> None:
    ticket = shop.whatsapp_from_dewi("Halo")
    services.beat(shop.joko, ticket, "viewing")
    shop.joko.is_active = False
    shop.joko.save()
    assert selectors.others_on(ticket, shop.budi) == []


def test_an_unknown_state_is_refused(shop: Shop) -> None:
    ticket = shop.whatsapp_from_dewi("Halo")
    with pytest.raises(ValueError, match="unknown presence state"):
        services.beat(shop.budi, ticket, "sleeping")


def test_old_heartbeats_are_cleared(shop: Shop) -> None:
    ticket = shop.whatsapp_from_dewi("Halo")
    with time_machine.travel(timezone.now() - timedelta(hours=2), tick=False):
        services.beat(shop.joko, ticket, "viewing")
    services.beat(shop.budi, ticket, "viewing")
    assert services.forget_stale() == 1
    assert list(Presence.objects.values_list("user__name", flat=True)) == ["Budi Santoso"]


def test_whereabouts_is_the_most_recent_ticket_per_agent(shop: Shop) -> None:
    first = shop.whatsapp_from_dewi("Halo")
    second = shop.email_from_rudi("Paket")
    start = timezone.now()
    with time_machine.travel(start, tick=False) as traveller:
        services.beat(shop.sari, first, "viewing")
        traveller.shift(timedelta(seconds=2))
        services.beat(shop.sari, second, "typing")
        where = selectors.whereabouts([shop.sari.pk, shop.budi.pk])
    assert list(where) == [shop.sari.pk]
    assert (where[shop.sari.pk].ticket_number, where[shop.sari.pk].typing) == (second.number, True)


def test_the_scheduler_clears_old_heartbeats(shop: Shop) -> None:
    from loket.core.scheduler import Scheduler

    ticket = shop.whatsapp_from_dewi("Halo")
    with time_machine.travel(timezone.now() - timedelta(hours=3), tick=False):
        services.beat(shop.joko, ticket, "viewing")
    assert Scheduler(holder="test").tick(force=True)["forget_stale_presence"] == 1
    assert not Presence.objects.exists()
