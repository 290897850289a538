"""`loket audit verify`: OK with the count, or every break with its place, and exit code 1."""

from __future__ import annotations

import sqlite3
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection

from loket.audit.models import Event
from loket.conftest import Shop
from loket.core.tests.processes import migrated_data_dir, run_loket
from loket.tickets import services as tickets


def verify() -> str:
    out = StringIO()
    call_command("audit", "verify", stdout=out)
    return out.getvalue()


def history(shop: Shop, django_capture_on_commit_callbacks: Any) -> None:
    with django_capture_on_commit_callbacks(execute=True):  # PostgreSQL seals after commit
        ticket = shop.whatsapp_from_dewi("Kak, pesanan saya sudah dikirim?")
        tickets.assign(ticket, shop.budi, actor=shop.joko)
        tickets.add_note(ticket, shop.budi, "Cek resi JNE dulu")
        tickets.set_status(ticket, "pending", actor=shop.budi)


def test_an_intact_log_is_ok_with_the_count(
    shop: Shop, django_capture_on_commit_callbacks: Any
) -> None:
    history(shop, django_capture_on_commit_callbacks)
    count = Event.objects.count()
    assert count >= 5
    assert verify().strip() == f"OK: {count} events verified."


def test_an_edited_event_is_reported_with_its_seq_and_exit_code_1(
    shop: Shop, django_capture_on_commit_callbacks: Any
) -> None:
    history(shop, django_capture_on_commit_callbacks)
    victim = Event.objects.get(kind="note.added")
    Event.objects.filter(pk=victim.pk).update(data={"text": "diubah"})  # bypasses append-only
    out = StringIO()
    with pytest.raises(CommandError) as broken:
        call_command("audit", "verify", stdout=out)
    assert broken.value.returncode == 1
    assert f"seq {victim.seq} (event id {victim.pk})" in out.getvalue()
    assert "edited" in out.getvalue()
    assert "1 problem(s)" in str(broken.value)


def test_a_deleted_event_is_reported(shop: Shop, django_capture_on_commit_callbacks: Any) -> None:
    history(shop, django_capture_on_commit_callbacks)
    victim = Event.objects.get(kind="ticket.assigned")
    with connection.cursor() as cursor:  # behind the model's back, as an intruder would
        cursor.execute("DELETE FROM audit_event WHERE id = %s", [victim.pk])
    out = StringIO()
    with pytest.raises(CommandError):
        call_command("audit", "verify", stdout=out)
    assert "missing" in out.getvalue()


def test_exit_codes_of_the_real_command(tmp_path: Path) -> None:
    data_dir = migrated_data_dir(tmp_path / "data")
    assert (
        run_loket(
            data_dir,
            "createagent",
            "--email",
            "sari@batiksari.id",
            "--name",
            "Sari",
            "--role",
            "admin",
            "--password",
            "batik-parang-2024",
        ).returncode
        == 0
    )
    ok = run_loket(data_dir, "audit", "verify")
    assert ok.returncode == 0, ok.stderr
    assert ok.stdout.startswith("OK: ")

    with sqlite3.connect(data_dir / "loket.sqlite3") as db:
        db.execute("UPDATE audit_event SET actor_label = 'someone else' WHERE seq = 1")
    broken = run_loket(data_dir, "audit", "verify")
    assert broken.returncode == 1
    assert "seq 1 " in broken.stdout
    assert "The event log is broken" in broken.stderr
