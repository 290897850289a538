"""`loket email_fetch`: the IMAP fetch from the command line."""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Iterator
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from loket.channels.email.tests.test_imap import connect, mail
from loket.channels.models import Delivery
from loket.conftest import Shop
from loket.core.tests.dovecot import Dovecot, running_dovecot


@pytest.fixture
def dovecot() -> Iterator[Dovecot]:
    with running_dovecot() as server:
        yield server


def email_fetch(*args: str) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command("email_fetch", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_fetch_stores_new_mail_and_says_how_many(shop: Shop, dovecot: Dovecot) -> None:
    connect(shop.email, dovecot)
    dovecot.append(mail("cli-1@contoh.co.id"))
    dovecot.append(mail("cli-2@contoh.co.id"))
    out, _err = email_fetch("--channel", shop.email.address)
    assert "Email CS (cs@batiksari.id): 2 new mail(s)" in out
    assert Delivery.objects.filter(channel=shop.email).count() == 2
    out, _err = email_fetch()
    assert "0 new mail(s)" in out


def test_a_failed_fetch_is_an_error_exit(shop: Shop, dovecot: Dovecot) -> None:
    connect(shop.email, dovecot, imap_password="salah")
    with pytest.raises(CommandError, match="A fetch failed"):
        email_fetch("--channel", str(shop.email.pk))


def test_no_imap_server_is_a_clear_error(shop: Shop) -> None:
    with pytest.raises(CommandError, match="No enabled email channel has an IMAP server"):
        email_fetch()
    with pytest.raises(CommandError, match="has no IMAP server"):
        email_fetch("--channel", shop.email.address)


@pytest.mark.django_db(transaction=True)  # the watcher threads must see the rows
def test_watch_fetches_as_soon_as_mail_arrives_and_stops_on_sigterm(
    shop: Shop, dovecot: Dovecot
) -> None:
    connect(shop.email, dovecot)
    before = signal.getsignal(signal.SIGTERM)
    arrive = threading.Timer(1.0, dovecot.append, [mail("watch@contoh.co.id")])
    stop = threading.Timer(4.0, os.kill, [os.getpid(), signal.SIGTERM])
    arrive.start()
    stop.start()
    started = time.monotonic()
    try:
        # The interval is far longer than the test: only IDLE can bring the mail in time.
        out, _err = email_fetch("--channel", shop.email.address, "--watch", "--interval", "60")
    finally:
        arrive.join()
        stop.cancel()
    assert time.monotonic() - started < 15
    assert "0 new mail(s)" in out
    assert "1 new mail(s)" in out
    assert Delivery.objects.filter(channel=shop.email).count() == 1
    assert signal.getsignal(signal.SIGTERM) == before  # the previous handler is back


@pytest.mark.django_db(transaction=True)
def test_watch_backs_off_while_the_server_keeps_failing(shop: Shop) -> None:
    from loket.channels.management.commands.email_fetch import backoff
    from loket.core.tests.processes import free_port

    assert [backoff(1, n) for n in range(4)] == [1, 2, 4, 8]
    assert backoff(60, 10) == 600
    assert backoff(900, 3) == 900  # never shorter than the interval itself

    shop.email.config = {
        "imap_host": "127.0.0.1",
        "imap_port": free_port(),
        "imap_security": "none",
    }
    shop.email.save()
    stop = threading.Timer(1.6, os.kill, [os.getpid(), signal.SIGTERM])
    stop.start()
    try:
        _out, err = email_fetch("--channel", shop.email.address, "--watch", "--interval", "0.1")
    finally:
        stop.cancel()
    # Without a pause that doubles there would be some 15 attempts: 0.1 + 0.2 + 0.4 + 0.8 s.
    assert 2 <= err.count("Connection refused") <= 5
