"""`loket email import`: raw mail from stdin (the MTA pipe) or files into tickets."""

from __future__ import annotations

import io
import sys
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from loket.channels.models import Channel, Delivery, DeliveryState
from loket.conftest import Shop
from loket.core.tests.processes import migrated_data_dir, run_loket
from loket.tickets.models import Message, Ticket


def mail(message_id: str, text: str = "Kain batik parang masih ada kak?") -> bytes:
    return (
        "From: Rudi Hartono <rudi@contoh.co.id>\r\n"
        "To: cs@batiksari.id\r\n"
        "Subject: Tanya stok kain\r\n"
        f"Message-ID: <{message_id}>\r\n"
        "Content-Type: text/plain; charset=utf-8\r\n"
        "\r\n"
        f"{text}\r\n"
    ).encode()


BROKEN = b"Subject: tanpa pengirim\r\n\r\nPesan ini tidak punya alamat From.\r\n"


def email_import(
    *args: str, stdin: bytes | None = None, monkeypatch: pytest.MonkeyPatch | None = None
) -> tuple[str, str]:
    if stdin is not None and monkeypatch is not None:
        monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(stdin)))
    out, err = StringIO(), StringIO()
    call_command("email", "import", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_a_mail_on_stdin_becomes_a_ticket(shop: Shop, monkeypatch: pytest.MonkeyPatch) -> None:
    out, _err = email_import(stdin=mail("m1@contoh.co.id"), monkeypatch=monkeypatch)
    ticket = Ticket.objects.get()
    assert ticket.channel == shop.email
    assert ticket.messages.get().text == "Kain batik parang masih ada kak?"
    assert out.strip() == f"stdin: ticket #{ticket.number} (new ticket)"
    delivery = Delivery.objects.get()
    assert delivery.state == DeliveryState.PROCESSED
    assert bytes(delivery.body) == mail("m1@contoh.co.id")  # the raw mail is kept


def test_files_continue_the_conversation_and_a_repeat_adds_nothing(
    shop: Shop, tmp_path: Path
) -> None:
    first, second = tmp_path / "1.eml", tmp_path / "2.eml"
    first.write_bytes(mail("m1@contoh.co.id"))
    second.write_bytes(mail("m2@contoh.co.id", "Kalau ada, saya pesan 2 meter ya."))
    out, _err = email_import(str(first), str(second))
    number = Ticket.objects.get().number
    assert out.splitlines() == [
        f"{first}: ticket #{number} (new ticket)",
        f"{second}: ticket #{number} (added)",
    ]
    out, _err = email_import(str(first))
    assert out.strip() == f"{first}: ticket #{number} (already imported)"
    assert Message.objects.count() == 2


def test_the_channel_is_chosen_by_address_or_id(shop: Shop, tmp_path: Path) -> None:
    other = Channel.objects.create(kind="email", name="Grosir", address="grosir@batiksari.id")
    path = tmp_path / "m.eml"
    path.write_bytes(mail("m1@contoh.co.id"))
    email_import(str(path), "--channel", "Grosir@BatikSari.id")
    assert Ticket.objects.get().channel == other
    path.write_bytes(mail("m9@contoh.co.id"))
    email_import(str(path), "--channel", str(shop.email.pk))
    assert Ticket.objects.filter(channel=shop.email).count() == 1
    with pytest.raises(CommandError, match=r"No email channel 'nope@x.id'.*grosir@batiksari.id"):
        email_import(str(path), "--channel", "nope@x.id")


@pytest.mark.django_db
def test_without_an_email_channel_the_error_says_what_to_do(tmp_path: Path) -> None:
    path = tmp_path / "m.eml"
    path.write_bytes(mail("m1@contoh.co.id"))
    with pytest.raises(CommandError, match=r"no email channel yet\. Add one in the admin"):
        email_import(str(path))
    assert not Delivery.objects.exists()


def test_a_broken_mail_stays_stored_listed_and_replayable(
    shop: Shop, monkeypatch: pytest.MonkeyPatch
) -> None:
    with pytest.raises(CommandError) as failed:
        email_import(stdin=BROKEN, monkeypatch=monkeypatch)
    assert failed.value.returncode == 1
    assert "loket deliveries list --failed" in str(failed.value)
    delivery = Delivery.objects.get()
    assert delivery.state == DeliveryState.FAILED
    assert "no sender address" in delivery.error
    assert bytes(delivery.body) == BROKEN
    assert not Ticket.objects.exists()

    listing = StringIO()
    call_command("deliveries", "list", "--failed", stdout=listing)
    assert str(delivery.pk) in listing.getvalue()
    assert "no sender address" in listing.getvalue()


def test_a_missing_file_has_its_own_exit_code(shop: Shop, tmp_path: Path) -> None:
    good = tmp_path / "good.eml"
    good.write_bytes(mail("m1@contoh.co.id"))
    with pytest.raises(CommandError) as failed:
        email_import(str(tmp_path / "missing.eml"), str(good))
    assert failed.value.returncode == 66  # EX_NOINPUT
    assert Ticket.objects.count() == 1  # the good one still came in


def test_the_mta_pipe_for_real(tmp_path: Path) -> None:
    """A real process reading a real pipe, as Postfix or Exim would run it."""
    data_dir = migrated_data_dir(tmp_path / "data")
    created = run_loket(
        data_dir,
        "shell",
        "-c",
        "from loket.channels.models import Channel; "
        "Channel.objects.create(kind='email', name='CS', address='cs@batiksari.id')",
    )
    assert created.returncode == 0, created.stderr

    ok = run_loket(data_dir, "email", "import", stdin=mail("pipe-1@contoh.co.id"))
    assert ok.returncode == 0, ok.stderr
    assert ok.stdout.strip() == "stdin: ticket #1001 (new ticket)"

    broken = run_loket(data_dir, "email", "import", stdin=BROKEN)
    assert broken.returncode == 1
    assert "stored as delivery 2 but could not be read" in broken.stderr

    listed = run_loket(data_dir, "deliveries", "list", "--failed")
    assert listed.returncode == 0
    assert "no sender address" in listed.stdout
    replayed = run_loket(data_dir, "deliveries", "replay", "2")
    assert replayed.returncode == 1
    assert "delivery 2: failed again" in replayed.stderr
