"""The event log is tamper-evident: an edited, deleted, inserted or reordered event is found,
and the report says where.

Tampering happens the way an intruder with database access would do it: raw SQL, bypassing
the model (which refuses to change or delete an event).
"""

from __future__ import annotations

import io
import itertools
import json
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.db import connection, transaction

from loket.audit import services as audit
from loket.audit.models import Event
from loket.conftest import Shop
from loket.tickets import services as tickets
from loket.tickets.models import Status

pytestmark = pytest.mark.django_db

TABLE = Event._meta.db_table


def _sql(statement: str, params: list[Any]) -> None:
    with connection.cursor() as cursor:
        cursor.execute(statement.replace("{table}", connection.ops.quote_name(TABLE)), params)


def _event(seq: int) -> Event:
    return Event.objects.get(seq=seq)


def _where(report: audit.Report) -> set[tuple[int | None, int]]:
    return {(problem.seq, problem.event_id) for problem in report.problems}


@pytest.fixture
def history(shop: Shop) -> list[Event]:
    """A morning in the shop: two customers write, agents answer and solve."""
    ticket = shop.whatsapp_from_dewi("Kak, batik parang ukuran L ada?")
    tickets.reply(ticket, shop.budi, "Ada kak, mau warna apa?")
    tickets.set_status(ticket, Status.PENDING, actor=shop.budi)
    other = shop.email_from_rudi("Apakah bisa kirim ke Medan?")
    tickets.assign(other, shop.wati, actor=shop.joko)
    tickets.set_status(other, Status.SOLVED, actor=shop.wati)
    # On SQLite events are sealed as they are written; on PostgreSQL at commit, which the
    # test's own transaction never reaches: seal now.
    audit.seal()
    events = list(Event.objects.order_by("seq"))
    assert len(events) >= 10
    return events


def test_an_untouched_log_verifies(history: list[Event]) -> None:
    report = audit.verify()
    assert report.ok, report.problems
    assert report.checked == len(history)
    assert report.unsealed == 0
    assert [e.seq for e in history] == list(range(1, len(history) + 1))
    assert history[0].prev_hash == audit.GENESIS
    assert all(b.prev_hash == a.hash for a, b in itertools.pairwise(history))


def test_an_edited_event_is_found(history: list[Event]) -> None:
    victim = _event(4)
    # Someone rewrites who did it...
    _sql("UPDATE {table} SET actor_label = %s WHERE id = %s", ["sari@batiksari.id", victim.pk])

    report = audit.verify()

    assert not report.ok
    assert _where(report) == {(4, victim.pk)}
    assert "edited" in report.problems[0].what


def test_edited_event_data_is_found(history: list[Event]) -> None:
    victim = _event(6)
    forged = json.dumps({**victim.data, "to": "closed"})
    if connection.vendor == "postgresql":
        _sql("UPDATE {table} SET data = %s::jsonb WHERE id = %s", [forged, victim.pk])
    else:
        _sql("UPDATE {table} SET data = %s WHERE id = %s", [forged, victim.pk])

    assert _where(audit.verify()) == {(6, victim.pk)}


def test_a_deleted_event_is_found(history: list[Event]) -> None:
    victim, successor = _event(5), _event(6)
    _sql("DELETE FROM {table} WHERE id = %s", [victim.pk])

    report = audit.verify()

    assert _where(report) == {(6, successor.pk)}
    assert any("from 4 to 6" in p.what for p in report.problems)
    assert any("does not link" in p.what for p in report.problems)


def test_an_inserted_event_is_found(history: list[Event]) -> None:
    last = len(history)
    # Make room after seq 3 (one row at a time: seq is unique) and forge a well-formed event
    # there, hashed the way Loket hashes, linked to its predecessor.
    for seq in range(last, 3, -1):
        _sql("UPDATE {table} SET seq = seq + 1 WHERE seq = %s", [seq])
    forged = Event.objects.create(
        created_at=_event(3).created_at,
        kind="ticket.assigned",
        actor_label="budi@batiksari.id",
        subject_type="ticket",
        subject_id=1,
        ticket_id=1,
        data={"from": None, "to": 3},
    )
    predecessor = _event(3)
    digest = audit.digest(forged, 4, predecessor.hash)
    _sql(
        "UPDATE {table} SET seq = 4, prev_hash = %s, hash = %s WHERE id = %s",
        [predecessor.hash, digest, forged.pk],
    )
    pushed_down = history[3]  # the event that was at seq 4

    report = audit.verify()

    assert not report.ok
    first = report.problems[0]
    assert (first.seq, first.event_id) == (5, pushed_down.pk)
    assert "does not link" in first.what
    assert forged.pk not in {p.event_id for p in report.problems}


def test_a_reordered_event_is_found(history: list[Event]) -> None:
    third, fourth = _event(3), _event(4)
    _sql("UPDATE {table} SET seq = -1 WHERE id = %s", [third.pk])
    _sql("UPDATE {table} SET seq = 3 WHERE id = %s", [fourth.pk])
    _sql("UPDATE {table} SET seq = 4 WHERE id = %s", [third.pk])

    report = audit.verify()

    assert {(3, fourth.pk), (4, third.pk)} <= _where(report)
    assert {p.seq for p in report.problems} == {3, 4, 5}


def test_the_model_refuses_to_change_or_delete_an_event(history: list[Event]) -> None:
    event = history[0]
    event.kind = "something.else"
    with pytest.raises(RuntimeError):
        event.save()
    with pytest.raises(RuntimeError):
        event.delete()
    assert audit.verify().ok


@pytest.mark.parametrize("tamper", ["edit", "delete", "reorder"])
def test_loket_audit_verify_reports_where_the_chain_breaks(
    history: list[Event], tamper: str
) -> None:
    out = io.StringIO()
    call_command("audit", "verify", stdout=out)
    assert "OK" in out.getvalue()

    victim = _event(3)
    if tamper == "edit":
        _sql("UPDATE {table} SET kind = %s WHERE id = %s", ["note.added", victim.pk])
    elif tamper == "delete":
        _sql("DELETE FROM {table} WHERE id = %s", [victim.pk])
    else:
        _sql("UPDATE {table} SET seq = -1 WHERE id = %s", [victim.pk])
        _sql("UPDATE {table} SET seq = 3 WHERE seq = 4", [])
        _sql("UPDATE {table} SET seq = 4 WHERE id = %s", [victim.pk])

    out = io.StringIO()
    with pytest.raises(CommandError, match="broken"):
        call_command("audit", "verify", stdout=out)
    first_line = out.getvalue().splitlines()[0]
    expected_seq = 4 if tamper == "delete" else 3
    assert first_line.startswith(f"seq {expected_seq} (event id ")


def test_a_rolled_back_change_leaves_no_event_and_no_gap(history: list[Event], shop: Shop) -> None:
    ticket = shop.whatsapp_from_dewi("Kak?", wamid="wamid.dewi.2")

    def close_then_crash() -> None:
        with transaction.atomic():
            tickets.set_status(ticket, Status.CLOSED, actor=shop.budi)
            raise ConnectionResetError("the request died half-way")

    with pytest.raises(ConnectionResetError):
        close_then_crash()
    tickets.set_status(ticket, Status.SOLVED, actor=shop.budi)
    audit.seal()

    report = audit.verify()
    assert report.ok, report.problems
    kinds = list(Event.objects.filter(ticket_id=ticket.pk).values_list("data", flat=True))
    assert {"from": "open", "to": "closed"} not in kinds


def test_the_change_feed_reads_sealed_events_in_order(history: list[Event]) -> None:
    feed = audit.events_after(5, limit=3)
    assert [e.seq for e in feed] == [6, 7, 8]
    assert audit.events_after(len(history)) == []


@pytest.mark.django_db(transaction=True)
def test_events_are_sealed_when_their_transaction_commits(shop: Shop) -> None:
    ticket = shop.whatsapp_from_dewi("Halo kak")
    tickets.reply(ticket, shop.budi, "Halo kak Dewi")

    assert not Event.objects.filter(seq__isnull=True).exists()
    report = audit.verify()
    assert report.ok, report.problems
    assert report.checked == Event.objects.count() >= 5


def test_a_backlog_of_unsealed_events_is_chained_in_id_order(history: list[Event]) -> None:
    # Events committed by processes that died before sealing them (more than one batch).
    backlog = Event.objects.bulk_create(
        Event(created_at=history[-1].created_at, kind="message.received", data={"n": n})
        for n in range(1234)
    )
    assert audit.verify().unsealed == len(backlog)

    assert audit.seal() == len(backlog)

    report = audit.verify()
    assert report.ok, report.problems[:3]
    assert report.checked == len(history) + len(backlog)
    chained = list(Event.objects.filter(kind="message.received", data__has_key="n").order_by("seq"))
    assert [e.data["n"] for e in chained] == list(range(1234))
    assert chained[0].seq == len(history) + 1
    assert audit.seal() == 0
