"""Mail handed over by an MTA on SMTP or LMTP is stored raw before Loket answers 250."""

from __future__ import annotations

import smtplib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from django.db import connection

from loket.channels import services
from loket.channels.email.listener import Listener
from loket.channels.models import Channel, Delivery, DeliveryState
from loket.conftest import Shop
from loket.core.tests.processes import Running, free_port, migrated_data_dir, run_loket
from loket.tickets.models import Ticket

pytestmark = pytest.mark.django_db(transaction=True)  # the listener's thread must see the rows

MAIL = (
    b"From: Rudi Hartono <rudi@contoh.co.id>\r\n"
    b"To: CS Batik Sari <cs@batiksari.id>\r\n"
    b"Subject: Tanya stok kain\r\n"
    b"Message-ID: <smtp-1@contoh.co.id>\r\n"
    b"Content-Type: text/plain; charset=utf-8\r\n"
    b"\r\n"
    b"Kain batik parang masih ada kak?\r\n"
)


@contextmanager
def listening(*, lmtp: bool = False, size_limit: int = 100_000) -> Iterator[int]:
    """A listener on a free loopback port until the block ends; yields the port."""
    for _attempt in range(5):
        port = free_port()
        listener = Listener("127.0.0.1", port, lmtp=lmtp, size_limit=size_limit)
        try:
            listener.start()
        except (OSError, RuntimeError):  # the port was taken in between; pick another
            continue
        break
    else:
        raise RuntimeError("no free port for the listener")
    try:
        yield port
    finally:
        listener.stop()


def test_accepted_mail_is_stored_raw_and_becomes_a_ticket(shop: Shop) -> None:
    with listening() as port, smtplib.SMTP("127.0.0.1", port) as client:
        refused = client.sendmail("rudi@contoh.co.id", ["CS@BatikSari.id"], MAIL)
    assert refused == {}
    delivery = Delivery.objects.get()
    assert delivery.channel == shop.email
    assert bytes(delivery.body) == MAIL
    assert delivery.headers == {
        "source": "smtp",
        "mail_from": "rudi@contoh.co.id",
        "rcpt": "CS@BatikSari.id",
    }
    services.drain()
    assert Delivery.objects.get().state == DeliveryState.PROCESSED
    ticket = Ticket.objects.get()
    assert ticket.channel == shop.email
    assert ticket.messages.get().text == "Kain batik parang masih ada kak?"


def test_one_delivery_per_channel_addressed(shop: Shop) -> None:
    sales = Channel.objects.create(
        kind="email", name="Email Penjualan", address="jual@batiksari.id"
    )
    recipients = ["cs@batiksari.id", "CS@batiksari.id", "jual@batiksari.id"]
    with listening() as port, smtplib.SMTP("127.0.0.1", port) as client:
        assert client.sendmail("rudi@contoh.co.id", recipients, MAIL) == {}
    stored = sorted((d.channel_id, d.headers["rcpt"]) for d in Delivery.objects.all())
    assert stored == [(shop.email.pk, "cs@batiksari.id"), (sales.pk, "jual@batiksari.id")]


def test_an_unknown_recipient_is_refused_at_rcpt(shop: Shop) -> None:
    with listening() as port, smtplib.SMTP("127.0.0.1", port) as client:
        with pytest.raises(smtplib.SMTPRecipientsRefused) as refused:
            client.sendmail("rudi@contoh.co.id", ["siapa@batiksari.id"], MAIL)
        # One known recipient among unknown ones: the mail goes through for that one only.
        partly = client.sendmail(
            "rudi@contoh.co.id", ["siapa@batiksari.id", "cs@batiksari.id"], MAIL
        )
    assert refused.value.recipients["siapa@batiksari.id"][0] == 550
    assert partly["siapa@batiksari.id"][0] == 550
    assert Delivery.objects.get().headers["rcpt"] == "cs@batiksari.id"


def test_an_alias_or_a_plus_tag_reaches_the_channel(shop: Shop) -> None:
    channel = Channel.objects.get(pk=shop.email.pk)
    channel.config = {**channel.config, "aliases": ["info@batiksari.id"]}
    channel.save()
    with listening() as port, smtplib.SMTP("127.0.0.1", port) as client:
        assert client.sendmail("rudi@contoh.co.id", ["Info@BatikSari.id"], MAIL) == {}
        assert client.sendmail("rudi@contoh.co.id", ["cs+1042@batiksari.id"], MAIL) == {}
        with pytest.raises(smtplib.SMTPRecipientsRefused):
            client.sendmail("rudi@contoh.co.id", ["info2@batiksari.id"], MAIL)
    stored = sorted((d.channel_id, d.headers["rcpt"]) for d in Delivery.objects.all())
    assert stored == [(channel.pk, "Info@BatikSari.id"), (channel.pk, "cs+1042@batiksari.id")]


def test_a_disabled_channel_receives_nothing(shop: Shop) -> None:
    Channel.objects.filter(pk=shop.email.pk).update(enabled=False)
    with (
        listening() as port,
        smtplib.SMTP("127.0.0.1", port) as client,
        pytest.raises(smtplib.SMTPRecipientsRefused),
    ):
        client.sendmail("rudi@contoh.co.id", ["cs@batiksari.id"], MAIL)
    assert not Delivery.objects.exists()


def test_oversized_mail_is_refused_with_552(shop: Shop) -> None:
    big = MAIL + b"Motif parang, kawung, truntum.\r\n" * 100
    with listening(size_limit=1000) as port, smtplib.SMTP("127.0.0.1", port) as client:
        client.ehlo()
        assert client.has_extn("size")
        assert client.esmtp_features["size"] == "1000"
        # The client names the size: refused at MAIL FROM.
        with pytest.raises(smtplib.SMTPSenderRefused) as at_mail:
            client.sendmail("rudi@contoh.co.id", ["cs@batiksari.id"], big)
        # It does not: refused after DATA.
        client.rset()
        client.mail("rudi@contoh.co.id")
        client.rcpt("cs@batiksari.id")
        code, _text = client.data(big)
    assert at_mail.value.smtp_code == 552
    assert code == 552
    assert not Delivery.objects.exists()


def test_a_database_failure_answers_451_and_the_retry_is_stored(shop: Shop) -> None:
    table = connection.ops.quote_name(Delivery._meta.db_table)
    hidden = connection.ops.quote_name("hidden_delivery")
    with listening() as port, smtplib.SMTP("127.0.0.1", port) as client:
        client.ehlo()
        client.mail("rudi@contoh.co.id")
        client.rcpt("cs@batiksari.id")
        with connection.cursor() as cursor:
            cursor.execute(f"ALTER TABLE {table} RENAME TO {hidden}")
        try:
            code, _text = client.data(MAIL)
        finally:
            with connection.cursor() as cursor:
                cursor.execute(f"ALTER TABLE {hidden} RENAME TO {table}")
        assert code == 451  # temporary: the sending MTA keeps the mail and retries
        assert not Delivery.objects.exists()
        assert client.sendmail("rudi@contoh.co.id", ["cs@batiksari.id"], MAIL) == {}
    assert bytes(Delivery.objects.get().body) == MAIL


def test_lmtp_answers_once_per_recipient(shop: Shop) -> None:
    sales = Channel.objects.create(
        kind="email", name="Email Penjualan", address="jual@batiksari.id"
    )
    with listening(lmtp=True) as port, smtplib.LMTP("127.0.0.1", port) as client:
        client.ehlo_or_helo_if_needed()
        client.mail("rudi@contoh.co.id")
        assert client.rcpt("cs@batiksari.id")[0] == 250
        assert client.rcpt("jual@batiksari.id")[0] == 250
        assert client.rcpt("siapa@batiksari.id")[0] == 550
        # Switched off between RCPT TO and DATA: that recipient is refused, the other kept.
        Channel.objects.filter(pk=sales.pk).update(enabled=False)
        first = client.data(MAIL)
        second = client.getreply()
    assert first[0] == 250
    assert second[0] == 550
    assert Delivery.objects.get().channel == shop.email


def test_loket_email_serve_listens_until_interrupted(tmp_path: Path) -> None:
    data_dir = migrated_data_dir(tmp_path / "data")
    created = run_loket(
        data_dir,
        "shell",
        "-c",
        "from loket.channels.models import Channel; "
        "Channel.objects.create(kind='email', name='CS', address='cs@batiksari.id')",
    )
    assert created.returncode == 0, created.stderr
    port = free_port()
    server = Running(data_dir, "email", "serve", "--port", str(port), "--size-limit", "5000")
    try:
        line = server.wait_for_line("Listening for SMTP")
        assert f"127.0.0.1:{port} for cs@batiksari.id" in line
        with smtplib.SMTP("127.0.0.1", port) as client:
            client.ehlo()
            assert client.esmtp_features["size"] == "5000"
            assert client.sendmail("rudi@contoh.co.id", ["cs@batiksari.id"], MAIL) == {}
        assert server.stop() == 0
    finally:
        server.kill()
    assert "SMTP listener stopped." in server.output
    stored = run_loket(
        data_dir,
        "shell",
        "-c",
        "from loket.channels.models import Delivery; "
        "print([(bytes(d.body), d.headers['rcpt']) for d in Delivery.objects.all()])",
    )
    assert stored.stdout.strip().splitlines()[-1] == repr([(MAIL, "cs@batiksari.id")])
