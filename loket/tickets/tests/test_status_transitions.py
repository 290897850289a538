"""A ticket's status only moves along the allowed paths, whoever moves it.

Agents change statuses at random, customers write back, agents answer, days pass; whatever the
order, the ticket never reaches a status that loket/tickets/status.py does not allow from where
it was, a closed ticket stays closed, the solved/closed times agree with the status, and each
change leaves exactly one ``ticket.status_changed`` event.
"""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.conf import settings as django_settings
from django.core.exceptions import ValidationError
from django.utils import timezone
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    rule,
    run_state_machine_as_test,
)

from loket.audit.models import Event
from loket.channels.items import InboundMessage, Sender
from loket.channels.whatsapp import window
from loket.conftest import Shop
from loket.core import clock
from loket.tickets import services
from loket.tickets.models import Status, Ticket
from loket.tickets.status import ACTIVE, TRANSITIONS, can_transition

pytestmark = pytest.mark.django_db

START = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)  # a Monday morning in Jakarta
_customers = itertools.count(1)


def test_the_rules_themselves() -> None:
    assert set(TRANSITIONS) == set(Status.values)
    assert TRANSITIONS[Status.CLOSED] == frozenset(), "closed is terminal"
    assert not any(Status.NEW in targets for targets in TRANSITIONS.values()), (
        "nothing goes back to new"
    )
    assert all(Status.CLOSED in TRANSITIONS[s] for s in Status.values if s != Status.CLOSED)
    assert {Status.NEW, Status.OPEN, Status.PENDING} == ACTIVE
    # Every status can be reached from new.
    seen, frontier = {Status.NEW.value}, [Status.NEW.value]
    while frontier:
        for target in TRANSITIONS[frontier.pop()]:
            if target not in seen:
                seen.add(target)
                frontier.append(target)
    assert seen == set(Status.values)


def test_an_agent_cannot_reopen_a_closed_ticket(shop: Shop) -> None:
    ticket = shop.whatsapp_from_dewi("Kak, pesanan saya belum sampai")
    services.set_status(ticket, Status.CLOSED, actor=shop.budi)
    for target in (Status.NEW, Status.OPEN, Status.PENDING, Status.SOLVED):
        with pytest.raises(ValidationError):
            services.set_status(ticket, target, actor=shop.joko)
    ticket.refresh_from_db()
    assert ticket.status == Status.CLOSED
    assert ticket.closed_at is not None


def test_setting_the_same_status_again_changes_nothing(shop: Shop) -> None:
    ticket = shop.whatsapp_from_dewi("Ada ukuran L?")
    services.set_status(ticket, Status.PENDING, actor=shop.budi)
    services.set_status(ticket, Status.PENDING, actor=shop.budi)
    kinds = Event.objects.filter(ticket_id=ticket.pk, kind="ticket.status_changed")
    assert kinds.count() == 1


def test_an_unknown_status_is_refused(shop: Shop) -> None:
    ticket = shop.whatsapp_from_dewi("Halo")
    with pytest.raises(ValidationError):
        services.set_status(ticket, "archived", actor=shop.budi)
    ticket.refresh_from_db()
    assert ticket.status == Status.NEW


def test_random_lives_of_a_ticket_follow_the_rules(shop: Shop) -> None:
    reopen_window = timedelta(days=django_settings.LOKET_REOPEN_DAYS)

    class TicketLife(RuleBasedStateMachine):
        def __init__(self) -> None:
            super().__init__()
            self.traveller = time_machine.travel(START, tick=False)
            self.clock = self.traveller.start()
            number = next(_customers)
            self.sender = Sender("phone", f"62813{number:07d}", f"Pelanggan {number}", True)
            self.tickets: list[int] = []
            self.messages = itertools.count(1)

        def teardown(self) -> None:
            self.traveller.stop()

        @property
        def ticket(self) -> Ticket:
            return Ticket.objects.get(pk=self.tickets[-1])

        def _status_events(self, ticket_id: int) -> int:
            return Event.objects.filter(kind="ticket.status_changed", ticket_id=ticket_id).count()

        def _customer_writes(self) -> Ticket:
            received = services.receive(
                shop.whatsapp,
                InboundMessage(
                    external_id=f"wamid.{self.sender.value}.{next(self.messages)}",
                    sender=self.sender,
                    text="Kak, masih ada pertanyaan",
                ),
            )
            return received.message.ticket

        @initialize()
        def customer_starts_a_conversation(self) -> None:
            ticket = self._customer_writes()
            assert ticket.status == Status.NEW
            self.tickets.append(ticket.pk)

        @rule(
            status=st.sampled_from(Status.values),
            who=st.sampled_from(["budi", "joko", "sari", "system"]),
        )
        def someone_sets_the_status(self, status: str, who: str) -> None:
            target = status
            actor = None if who == "system" else getattr(shop, who)
            before = self.ticket
            events = self._status_events(before.pk)
            if target == before.status:
                services.set_status(before, target, actor=actor)
                assert self.ticket.status == before.status
                assert self._status_events(before.pk) == events
            elif can_transition(before.status, target):
                services.set_status(before, target, actor=actor)
                after = self.ticket
                assert after.status == target
                assert self._status_events(before.pk) == events + 1
                event = Event.objects.filter(
                    kind="ticket.status_changed", ticket_id=before.pk
                ).latest("id")
                assert event.data["from"] == before.status
                assert event.data["to"] == target
                assert event.actor_id == (actor.pk if actor else None)
                if target == Status.SOLVED:
                    assert after.solved_at == timezone.now()
                if target == Status.CLOSED:
                    assert after.closed_at == timezone.now()
            else:
                with pytest.raises(ValidationError):
                    services.set_status(before, target, actor=actor)
                after = self.ticket
                assert (after.status, after.solved_at, after.closed_at) == (
                    before.status,
                    before.solved_at,
                    before.closed_at,
                )
                assert self._status_events(before.pk) == events

        @rule(hours=st.integers(min_value=1, max_value=24 * 10))
        def time_passes(self, hours: int) -> None:
            self.clock.shift(timedelta(hours=hours))

        @rule()
        def customer_writes_again(self) -> None:
            before = self.ticket
            events = self._status_events(before.pk)
            ticket = self._customer_writes()
            if before.status in {Status.NEW, Status.OPEN}:
                assert (ticket.pk, ticket.status) == (before.pk, before.status)
                assert self._status_events(before.pk) == events
            elif before.status == Status.PENDING or (
                before.status == Status.SOLVED
                and before.solved_at is not None
                and timezone.now() - before.solved_at <= reopen_window
            ):
                assert (ticket.pk, ticket.status) == (before.pk, Status.OPEN)
                assert self._status_events(before.pk) == events + 1
            else:  # closed, or solved too long ago: a new ticket
                assert ticket.pk != before.pk
                assert ticket.status == Status.NEW
                # A solved conversation is continued by the new ticket, which links to it; a
                # closed one is over (only a reply quoting it links to it: test_threading).
                follows = [before.pk] if before.status == Status.SOLVED else []
                assert list(ticket.related.values_list("pk", flat=True)) == follows
                unchanged = Ticket.objects.get(pk=before.pk)
                assert unchanged.status == before.status
                assert self._status_events(before.pk) == events
                self.tickets.append(ticket.pk)

        @rule()
        def agent_answers(self) -> None:
            before = self.ticket
            if before.status == Status.CLOSED:
                with pytest.raises(ValidationError):
                    services.reply(before, shop.budi, "Baik kak, kami cek dulu")
                return
            if not window.is_open(before.channel, before.contact_id, clock.now()):
                # WhatsApp: a day after the customer's last message only a template arrives.
                with pytest.raises(ValidationError) as refused:
                    services.reply(before, shop.budi, "Baik kak, kami cek dulu")
                assert refused.value.code == "window_closed"
                assert self.ticket.status == before.status
                return
            services.reply(before, shop.budi, "Baik kak, kami cek dulu")
            expected = Status.OPEN if before.status == Status.NEW else before.status
            assert self.ticket.status == expected

        @invariant()
        def statuses_and_times_agree(self) -> None:
            for ticket in Ticket.objects.filter(pk__in=self.tickets):
                assert ticket.status in Status.values
                assert (ticket.closed_at is not None) == (ticket.status == Status.CLOSED)
                if ticket.status == Status.SOLVED:
                    assert ticket.solved_at is not None
                if ticket.status in ACTIVE:
                    assert ticket.solved_at is None
                if ticket.solved_at is not None and ticket.closed_at is not None:
                    assert ticket.solved_at <= ticket.closed_at

        @invariant()
        def the_event_log_tells_the_same_story(self) -> None:
            for ticket in Ticket.objects.filter(pk__in=self.tickets):
                changes = list(
                    Event.objects.filter(kind="ticket.status_changed", ticket_id=ticket.pk)
                    .order_by("id")
                    .values_list("data", flat=True)
                )
                status = Status.NEW.value
                for change in changes:
                    assert change["from"] == status
                    assert can_transition(status, change["to"]), change
                    status = change["to"]
                assert status == ticket.status

    run_state_machine_as_test(
        TicketLife,
        settings=settings(max_examples=30, stateful_step_count=15, deadline=None),
    )
