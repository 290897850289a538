"""A macro does everything it says on a ticket in one step, or nothing at all."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied

from loket.audit.models import Event
from loket.conftest import Shop
from loket.replies import services
from loket.replies.models import Assignment
from loket.replies.services import MacroFailed, MacroSpec
from loket.tickets import services as tickets
from loket.tickets.models import Direction, Message, Status, Ticket


def _state(ticket: Ticket) -> tuple[str, int | None, list[str], int]:
    ticket.refresh_from_db()
    return (
        ticket.status,
        ticket.assignee_id,
        sorted(ticket.tags.values_list("name", flat=True)),
        Message.objects.filter(ticket=ticket, direction=Direction.OUTBOUND).count(),
    )


def test_a_macro_replies_tags_assigns_and_solves_in_one_step(shop: Shop) -> None:
    ticket = shop.whatsapp_from_dewi("Pesanan saya sudah sampai, terima kasih")
    tickets.set_tags(ticket, ["pesanan"], actor=shop.budi)
    macro = services.create_macro(
        shop.joko,
        MacroSpec(
            name="Terima kasih & selesai",
            body="Sama-sama Kak {{ contact.first_name }}, salam dari {{ agent.first_name }}!",
            status=Status.SOLVED,
            tags=("Terima Kasih",),
            assignment=Assignment.ME,
        ),
        shared=True,
    )
    applied = services.apply_macro(ticket, macro, shop.budi)
    assert applied.message is not None
    assert applied.message.text == "Sama-sama Kak Dewi, salam dari Budi!"
    assert _state(ticket) == (Status.SOLVED, shop.budi.pk, ["pesanan", "terima kasih"], 1)
    assert applied.ticket.status == Status.SOLVED
    assert len(applied.changes) == 4
    event = Event.objects.get(kind="macro.applied")
    assert (event.ticket_id, event.subject_id, event.actor_id) == (
        ticket.pk,
        macro.pk,
        shop.budi.pk,
    )


def test_a_failing_step_rolls_back_the_steps_before_it(shop: Shop) -> None:
    ticket = shop.whatsapp_from_dewi("Halo")
    tickets.set_status(ticket, Status.SOLVED, actor=shop.budi)
    # Reply, tags and assignment would work; "pending" cannot follow "solved".
    macro = services.create_macro(
        shop.budi,
        MacroSpec(
            name="Tunggu",
            body="Mohon ditunggu ya Kak",
            status=Status.PENDING,
            tags=("menunggu",),
            assignment=Assignment.ME,
        ),
    )
    before = _state(ticket)
    events = Event.objects.count()
    with pytest.raises(MacroFailed) as caught:
        services.apply_macro(ticket, macro, shop.budi)
    assert "Tunggu" in caught.value.messages[0]
    assert caught.value.code == "invalid_transition"
    assert _state(ticket) == before
    assert Event.objects.count() == events


def test_a_closed_ticket_refuses_the_reply_and_everything_else(shop: Shop) -> None:
    ticket = shop.whatsapp_from_dewi("Halo")
    tickets.set_status(ticket, Status.CLOSED, actor=shop.sari)
    macro = services.create_macro(shop.budi, MacroSpec(name="Balas", body="Halo Kak", tags=("x",)))
    before = _state(ticket)
    with pytest.raises(MacroFailed) as caught:
        services.apply_macro(ticket, macro, shop.budi)
    assert caught.value.code == "ticket_closed"
    assert _state(ticket) == before


def test_an_agent_cannot_use_a_macro_that_assigns_to_someone_else(shop: Shop) -> None:
    ticket = shop.whatsapp_from_dewi("Halo")
    macro = services.create_macro(
        shop.joko,
        MacroSpec(name="Ke Wati", assignment=Assignment.AGENT, assignee=shop.wati, tags=("a",)),
        shared=True,
    )
    before = _state(ticket)
    with pytest.raises(PermissionDenied):
        services.apply_macro(ticket, macro, shop.budi)
    assert _state(ticket) == before
    # The supervisor may.
    services.apply_macro(ticket, macro, shop.joko)
    assert _state(ticket)[1:3] == (shop.wati.pk, ["a"])


def test_nobody_applies_a_macro_to_a_ticket_they_cannot_see(shop: Shop) -> None:
    ticket = shop.whatsapp_from_dewi("Halo")  # the sales team's ticket
    tickets.set_team(ticket, shop.sales, actor=None)
    macro = services.create_macro(shop.wati, MacroSpec(name="Tag", tags=("x",)))
    with pytest.raises(PermissionDenied):
        services.apply_macro(ticket, macro, shop.wati)


def test_nobody_applies_someone_elses_personal_macro(shop: Shop) -> None:
    ticket = shop.whatsapp_from_dewi("Halo")
    macro = services.create_macro(shop.budi, MacroSpec(name="Tag", tags=("x",)))
    with pytest.raises(PermissionDenied):
        services.apply_macro(ticket, macro, shop.joko)


def test_a_macro_whose_agent_was_deactivated_says_so(shop: Shop) -> None:
    ticket = shop.whatsapp_from_dewi("Halo")
    macro = services.create_macro(
        shop.joko, MacroSpec(name="Ke Budi", assignment=Assignment.AGENT, assignee=shop.budi)
    )
    shop.budi.is_active = False
    shop.budi.save()
    with pytest.raises(MacroFailed) as caught:
        services.apply_macro(ticket, macro, shop.joko)
    assert caught.value.code == "assignee_inactive"


def test_unassign_drops_the_agents_own_ticket(shop: Shop) -> None:
    ticket = shop.whatsapp_from_dewi("Halo")
    tickets.assign(ticket, shop.budi, actor=shop.budi)
    macro = services.create_macro(
        shop.budi, MacroSpec(name="Lepas", assignment=Assignment.UNASSIGN)
    )
    services.apply_macro(ticket, macro, shop.budi)
    assert _state(ticket)[1] is None
