"""Fetching mail over IMAP from a real (throwaway) Dovecot into tickets."""

from __future__ import annotations

import socket
import threading
import time
import types
from collections.abc import Iterator

import pytest
from django.utils import translation

from loket.channels import secrets, services
from loket.channels.email import imap
from loket.channels.models import Channel, Delivery
from loket.conftest import Shop
from loket.core.tests.dovecot import Dovecot, running_dovecot
from loket.tickets.models import Message, Ticket


@pytest.fixture(autouse=True)
def _english() -> Iterator[None]:
    """The assertions read the errors' English wording (the catalog translates them)."""
    with translation.override("en"):
        yield


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


@pytest.fixture
def dovecot() -> Iterator[Dovecot]:
    with running_dovecot() as server:
        yield server


def connect(channel: Channel, server: Dovecot, **extra: str) -> Channel:
    channel.config = {
        **channel.config,
        "imap_host": server.host,
        "imap_port": server.port,
        "imap_security": "none",
        "imap_user": server.user,
        "imap_password": server.password,
        **extra,
    }
    channel.save()
    channel.refresh_from_db()
    return channel


def process(result: imap.FetchResult) -> None:
    for delivery_id in result.stored:
        services.process(delivery_id)


def test_a_new_mail_becomes_a_ticket_once_and_is_marked_read(shop: Shop, dovecot: Dovecot) -> None:
    channel = connect(shop.email, dovecot)
    assert secrets.get(channel, "imap_password") == dovecot.password
    assert channel.config["imap_password"] != dovecot.password  # encrypted at rest
    uid = dovecot.append(mail("stok-1@contoh.co.id"))

    first = imap.fetch_once(channel)
    assert first.ok, first.error
    assert len(first.stored) == 1
    delivery = Delivery.objects.get(pk=first.stored[0])
    assert bytes(delivery.body) == mail("stok-1@contoh.co.id")
    assert delivery.headers["source"] == "imap"
    assert delivery.headers["uid"] == str(uid)
    process(first)
    message = Message.objects.get(channel=channel, external_id="stok-1@contoh.co.id")
    assert "Kain batik parang" in message.text
    assert "\\Seen" in dovecot.flags(uid)

    second = imap.fetch_once(channel)
    assert second.ok, second.error
    assert second.stored == []
    assert Message.objects.filter(channel=channel).count() == 1

    later = dovecot.append(mail("stok-2@contoh.co.id", "Kalau motif kawung?"))
    third = imap.fetch_once(channel)
    assert len(third.stored) == 1
    assert Delivery.objects.get(pk=third.stored[0]).headers["uid"] == str(later)
    channel.refresh_from_db()
    assert channel.config[imap.STATE_KEY]["last_uid"] == later


def test_the_first_fetch_takes_only_unread_mail_then_every_new_one(
    shop: Shop, dovecot: Dovecot
) -> None:
    channel = connect(shop.email, dovecot)
    dovecot.append(mail("old@contoh.co.id"), flags=r"(\Seen)")
    dovecot.append(mail("unread@contoh.co.id"))
    result = imap.fetch_once(channel)
    assert [Delivery.objects.get(pk=i).headers["message_id"] for i in result.stored] == [
        "unread@contoh.co.id"
    ]
    # Read in a mail program before Loket fetched it: still a new UID, so still fetched.
    dovecot.append(mail("read-elsewhere@contoh.co.id"), flags=r"(\Seen)")
    assert len(imap.fetch_once(channel).stored) == 1


def test_move_mode_moves_the_mail_after_storing_it(shop: Shop, dovecot: Dovecot) -> None:
    channel = connect(shop.email, dovecot, imap_after="move", imap_move_to="Diproses")
    dovecot.append(mail("x@contoh.co.id"), folder="Diproses")  # the folder exists
    dovecot.append(mail("pindah@contoh.co.id"))
    result = imap.fetch_once(channel)
    assert result.ok, result.error
    assert len(result.stored) == 1
    assert dovecot.uids("INBOX") == []
    assert len(dovecot.uids("Diproses")) == 2
    assert imap.fetch_once(channel).stored == []


def test_a_uidvalidity_change_reads_the_folder_again_without_duplicates(
    shop: Shop, dovecot: Dovecot
) -> None:
    channel = connect(shop.email, dovecot)
    dovecot.append(mail("a@contoh.co.id"))
    dovecot.append(mail("b@contoh.co.id"))
    process(imap.fetch_once(channel))
    assert Message.objects.filter(channel=channel).count() == 2

    # The server lost its index: same mails, new UIDs, plus one really new mail.
    dovecot.recreate(mails=[mail("a@contoh.co.id"), mail("b@contoh.co.id")])
    dovecot.append(mail("c@contoh.co.id", "Baru"))
    result = imap.fetch_once(channel)
    assert result.ok, result.error
    assert result.uidvalidity_changed
    assert result.skipped == 2
    assert len(result.stored) == 1
    process(result)
    ids = Message.objects.filter(channel=channel).values_list("external_id", flat=True)
    assert sorted(str(i) for i in ids) == [
        "a@contoh.co.id",
        "b@contoh.co.id",
        "c@contoh.co.id",
    ]
    assert Ticket.objects.count() >= 1
    assert imap.fetch_once(channel).stored == []


def test_a_wrong_password_is_a_clear_channel_error_and_nothing_is_lost(
    shop: Shop, dovecot: Dovecot
) -> None:
    channel = connect(shop.email, dovecot, imap_password="salah")
    uid = dovecot.append(mail("tunggu@contoh.co.id"))
    result = imap.fetch_once(channel)
    assert not result.ok
    assert result.stored == []
    assert dovecot.user in result.error
    assert "refused the login" in result.error
    channel.refresh_from_db()
    assert channel.last_error.startswith("IMAP: ")
    assert "refused the login" in channel.last_error
    assert "\\Seen" not in dovecot.flags(uid)
    assert Delivery.objects.filter(channel=channel).count() == 0

    # Fixed: the mail comes in (the first real fetch still counts as the first) and the
    # fetch's error is cleared.
    channel = connect(channel, dovecot, imap_password=dovecot.password)
    fixed = imap.fetch_once(channel)
    assert fixed.ok, fixed.error
    assert len(fixed.stored) == 1
    channel.refresh_from_db()
    assert channel.last_error == ""


def test_an_unreachable_server_and_a_missing_folder_are_channel_errors(
    shop: Shop, dovecot: Dovecot
) -> None:
    channel = connect(shop.email, dovecot, imap_folder="Tidak Ada")
    result = imap.fetch_once(channel)
    assert "Tidak Ada" in result.error
    channel = connect(channel, dovecot, imap_folder="INBOX", imap_port="1")
    result = imap.fetch_once(channel)
    assert result.error
    channel.refresh_from_db()
    assert channel.last_error == "IMAP: " + result.error


def test_an_oauth2_mailbox_without_a_refresh_token_asks_for_authorisation(
    shop: Shop, dovecot: Dovecot
) -> None:
    # The password would work here: an OAuth2 mailbox must not fall back to it.
    channel = connect(shop.email, dovecot, imap_auth="oauth2", oauth_provider="google")
    dovecot.append(mail("oauth@contoh.co.id"))
    result = imap.fetch_once(channel)
    assert "authorise the mailbox" in result.error
    assert result.stored == []


def test_folder_names_are_modified_utf7() -> None:
    assert imap.encode_folder("INBOX") == '"INBOX"'
    assert imap.encode_folder("Diproses & Selesai") == '"Diproses &- Selesai"'
    assert imap.encode_folder("Entwürfe") == '"Entw&APw-rfe"'
    assert imap.encode_folder("台北") == '"&U,BTFw-"'


def test_a_mail_that_cannot_be_moved_is_still_stored_and_stays_in_the_inbox(
    shop: Shop, dovecot: Dovecot
) -> None:
    channel = connect(shop.email, dovecot, imap_after="move", imap_move_to="Belum Dibuat")
    uid = dovecot.append(mail("tetap@contoh.co.id"))
    result = imap.fetch_once(channel)
    assert "was stored, but the server refused to mark it" in result.error
    assert len(result.stored) == 1
    assert Delivery.objects.get(pk=result.stored[0]).headers["message_id"] == "tetap@contoh.co.id"
    assert dovecot.uids("INBOX") == [uid]
    # Not fetched again: the UID is remembered once the mail is stored.
    channel.refresh_from_db()
    assert imap.fetch_once(channel).stored == []


def test_idle_wakes_up_when_mail_arrives_and_times_out_when_none_does(
    shop: Shop, dovecot: Dovecot
) -> None:
    channel = connect(shop.email, dovecot)
    assert imap.fetch_once(channel).ok
    assert imap.idle(channel, 1) is False

    arrive = threading.Timer(0.5, dovecot.append, [mail("idle@contoh.co.id")])
    arrive.start()
    try:
        assert imap.idle(channel, 60) is True
    finally:
        arrive.join()
    assert len(imap.fetch_once(channel).stored) == 1
    channel.refresh_from_db()
    assert imap.health(channel).watch == "idle"


def test_mail_that_came_between_the_fetch_and_idle_is_not_left_waiting(
    shop: Shop, dovecot: Dovecot
) -> None:
    # IDLE only announces what arrives after it started: the folder's UIDNEXT tells the rest.
    channel = connect(shop.email, dovecot)
    assert imap.fetch_once(channel).ok
    dovecot.append(mail("sela@contoh.co.id"))
    stop = threading.Event()
    threading.Timer(30, stop.set).start()  # the test's safety net, not expected to fire
    assert imap.idle(channel, 600, stop) is True
    stop.set()
    assert len(imap.fetch_once(channel).stored) == 1


@pytest.mark.django_db(transaction=True)  # idle() runs in a thread of its own here
def test_idle_stops_when_asked(shop: Shop, dovecot: Dovecot) -> None:
    channel = connect(shop.email, dovecot)
    assert imap.fetch_once(channel).ok
    stop = threading.Event()
    answers: list[bool] = []
    waiting = threading.Thread(target=lambda: answers.append(imap.idle(channel, 600, stop)))
    waiting.start()
    stop.set()
    waiting.join(timeout=30)  # far below the 600 seconds it would otherwise wait
    assert not waiting.is_alive()
    assert answers == [False]


def test_idle_without_a_server_just_waits(shop: Shop) -> None:
    channel = shop.email  # no IMAP server set
    started = time.monotonic()
    assert imap.idle(channel, 0.3) is False
    assert time.monotonic() - started >= 0.3


def test_old_read_mail_stays_out_even_when_the_first_fetch_finds_nothing_unread(
    shop: Shop, dovecot: Dovecot
) -> None:
    channel = connect(shop.email, dovecot)
    dovecot.append(mail("lama-1@contoh.co.id"), flags=r"(\Seen)")
    dovecot.append(mail("lama-2@contoh.co.id"), flags=r"(\Seen)")
    assert imap.fetch_once(channel).stored == []
    assert imap.fetch_once(channel).stored == []
    dovecot.append(mail("baru@contoh.co.id"), flags=r"(\Seen)")
    assert len(imap.fetch_once(channel).stored) == 1


def test_a_capped_reread_keeps_skipping_known_mail_in_the_next_fetch(
    shop: Shop, dovecot: Dovecot
) -> None:
    channel = connect(shop.email, dovecot)
    raws = [mail(f"r{n}@contoh.co.id") for n in range(3)]
    for raw in raws:
        dovecot.append(raw)
    assert len(imap.fetch_once(channel).stored) == 3
    dovecot.recreate(mails=raws)
    first = imap.fetch_once(channel, limit=2)
    assert (first.skipped, first.stored, first.more) == (2, [], True)
    second = imap.fetch_once(channel, limit=2)
    assert (second.skipped, second.stored, second.more) == (1, [], False)
    assert Delivery.objects.filter(channel=channel).count() == 3


def test_starttls_and_tls_never_fall_back_to_plain_text(shop: Shop, dovecot: Dovecot) -> None:
    # This Dovecot offers no TLS at all: the password must not be sent in the clear.
    channel = connect(shop.email, dovecot, imap_security="starttls")
    uid = dovecot.append(mail("rahasia@contoh.co.id"))
    logins_before = login_attempts(dovecot)
    assert logins_before >= 1  # the append above logged in: the count sees logins
    result = imap.fetch_once(channel)
    assert "did not accept STARTTLS" in result.error
    channel = connect(channel, dovecot, imap_security="tls")
    assert imap.fetch_once(channel).error
    assert login_attempts(dovecot) == logins_before  # none reached the server
    assert "\\Seen" not in dovecot.flags(uid)
    assert Delivery.objects.filter(channel=channel).count() == 0


def login_attempts(dovecot: Dovecot) -> int:
    log = (dovecot.base / "dovecot.log").read_text(errors="replace")
    return sum("Login: user=<" in line or "auth failed" in line for line in log.splitlines())


def test_a_mail_the_server_cannot_serve_is_left_behind_after_three_tries(
    shop: Shop, dovecot: Dovecot
) -> None:
    # Dovecot cannot read this mail's file: every FETCH of it ends the connection.
    channel = connect(shop.email, dovecot)
    assert imap.fetch_once(channel).ok
    broken = dovecot.append(mail("rusak@contoh.co.id"))
    [path] = (dovecot.base / "mail" / dovecot.user / "new").glob("*")
    path.chmod(0)
    dovecot.append(mail("sesudah@contoh.co.id"))

    for _attempt in range(imap.GIVE_UP_AFTER):
        result = imap.fetch_once(channel)
        assert not result.ok
        assert result.stored == []
    result = imap.fetch_once(channel)
    assert result.ok, result.error
    assert result.given_up == [broken]
    assert Delivery.objects.get(pk=result.stored[0]).headers["message_id"] == (
        "sesudah@contoh.co.id"
    )
    channel.refresh_from_db()
    [given_up] = imap.health(channel).given_up
    assert given_up.uid == broken
    assert "Internal error" in given_up.error
    # Left untouched in the mailbox for a person to look at; not tried again.
    [path] = [
        p
        for p in (dovecot.base / "mail" / dovecot.user).glob("*/*")
        if "S=" in p.name and p.stat().st_mode & 0o777 == 0
    ]
    path.chmod(0o600)
    assert "\\Seen" not in dovecot.flags(broken)
    assert imap.fetch_once(channel).stored == []


def test_idle_sees_news_that_came_in_the_same_packet_as_its_start() -> None:
    """ "+ idling" and "* 1 EXISTS" in one TCP segment: the second line sits in imaplib's
    buffer, where select() on the socket cannot see it (Dovecot does this when mail arrived
    between SELECT and IDLE). A scripted peer on a socket pair sends exactly that."""
    ours, server = socket.socketpair()
    reader = ours.makefile("rb")

    def peer() -> None:
        with server, server.makefile("rb") as lines:
            tag = lines.readline().split(b" ")[0]
            server.sendall(b"+ idling\r\n* 1 EXISTS\r\n")
            assert lines.readline() == b"DONE\r\n"
            server.sendall(tag + b" OK Idle completed.\r\n")

    thread = threading.Thread(target=peer)
    thread.start()
    conn = types.SimpleNamespace(
        sock=ours, file=reader, send=ours.sendall, readline=reader.readline
    )
    try:
        deadline = time.monotonic() + 3  # news within it: True; missed: False at the deadline
        assert imap._idle(conn, deadline, threading.Event()) is True  # type: ignore[arg-type]
    finally:
        thread.join(5)
        reader.close()
        ours.close()
