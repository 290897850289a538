"""`loket createagent`: an agent who can sign in, with clear errors for bad input."""

from __future__ import annotations

import io
import sys
from io import StringIO
from typing import Any

import pytest
from django.contrib.auth import authenticate
from django.core.management import call_command
from django.core.management.base import CommandError

from loket.accounts.models import Role, Team, User
from loket.audit.models import Event

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fast_passwords(settings: Any) -> None:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def createagent(*args: str) -> str:
    out = StringIO()
    call_command("createagent", *args, stdout=out)
    return out.getvalue()


def test_an_admin_with_teams_who_can_sign_in() -> None:
    Team.objects.create(name="Penjualan")
    output = createagent(
        "--email",
        "Sari@BatikSari.id",
        "--name",
        "Sari Wulandari",
        "--role",
        "admin",
        "--password",
        "batik-parang-2024",
        "--team",
        "Penjualan",
        "--team",
        "Gudang",
    )
    user = User.objects.get(email="sari@batiksari.id")
    assert (user.name, user.role) == ("Sari Wulandari", Role.ADMIN)
    assert user.is_staff
    assert user.is_superuser
    assert set(user.teams.values_list("name", flat=True)) == {"Penjualan", "Gudang"}
    assert authenticate(username="sari@batiksari.id", password="batik-parang-2024") == user
    assert "Created team Gudang." in output
    assert "Created team Penjualan." not in output
    assert "sari@batiksari.id" in output
    event = Event.objects.get(kind="agent.created")
    assert event.subject_id == user.pk
    assert event.data["role"] == "admin"
    assert Event.objects.filter(kind="team.created", data__name="Gudang").exists()


def test_an_agent_by_default_and_not_staff() -> None:
    createagent("--email", "budi@batiksari.id", "--name", "Budi", "--password", "kain-kawung-88")
    budi = User.objects.get(email="budi@batiksari.id")
    assert budi.role == Role.AGENT
    assert not budi.is_staff


def test_a_weak_password_is_refused_with_the_reasons() -> None:
    with pytest.raises(CommandError) as refused:
        createagent("--email", "budi@batiksari.id", "--name", "Budi", "--password", "123")
    assert refused.value.returncode == 1
    message = str(refused.value)
    assert "8" in message  # too short: at least 8 characters
    assert not User.objects.exists()


def test_an_email_in_use_is_refused() -> None:
    createagent("--email", "budi@batiksari.id", "--name", "Budi", "--password", "kain-kawung-88")
    with pytest.raises(CommandError, match="Sudah ada agen dengan email"):
        createagent(
            "--email", "BUDI@batiksari.id", "--name", "Budi 2", "--password", "kain-kawung-99"
        )
    assert User.objects.count() == 1


def test_an_invalid_email_and_an_unknown_role_are_refused() -> None:
    with pytest.raises(CommandError):
        createagent("--email", "not-an-email", "--name", "X", "--password", "kain-kawung-88")
    with pytest.raises(CommandError, match="invalid choice"):
        createagent(
            "--email", "x@toko.id", "--name", "X", "--role", "boss", "--password", "kain-kawung-88"
        )
    assert not User.objects.exists()


def test_the_password_can_come_on_stdin(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "stdin", io.StringIO("sogan-batik-77\n"))
    createagent("--email", "wati@batiksari.id", "--name", "Wati", "--role", "supervisor")
    assert authenticate(username="wati@batiksari.id", password="sogan-batik-77") is not None
