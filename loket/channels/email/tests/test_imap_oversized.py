"""A mail above LOKET_EMAIL_MAX_BYTES in the IMAP folder is decided on by its size before it is
downloaded (email lessons §9.1): its header block is taken in, the ticket says how large it
was and where the whole mail stays, and the mails after it come in as usual."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.test import Client, override_settings
from django.urls import reverse

from loket.channels.email import imap
from loket.channels.email.tests.test_imap import connect, mail, process
from loket.channels.models import Delivery
from loket.conftest import Shop
from loket.core.tests.dovecot import Dovecot, running_dovecot
from loket.tickets.models import Message

pytestmark = pytest.mark.django_db


@pytest.fixture
def dovecot() -> Iterator[Dovecot]:
    with running_dovecot() as server:
        yield server


@override_settings(LOKET_EMAIL_MAX_BYTES=4096)
def test_an_oversized_mail_comes_in_by_its_headers_with_a_note(
    shop: Shop, dovecot: Dovecot
) -> None:
    channel = connect(shop.email, dovecot)
    big = mail("besar-1@contoh.co.id", "Foto produk terlampir. " + "x" * 10_000)
    dovecot.append(big)
    dovecot.append(mail("kecil-1@contoh.co.id"))

    result = imap.fetch_once(channel)

    assert result.ok, result.error
    assert len(result.stored) == 2
    first, second = Delivery.objects.order_by("pk")
    assert first.headers["oversized"] == str(len(big))
    assert b"x" * 100 not in bytes(first.body)  # the body was never downloaded
    assert b"Message-ID: <besar-1@contoh.co.id>" in bytes(first.body)
    assert "oversized" not in second.headers
    process(result)
    message = Message.objects.get(external_id="besar-1@contoh.co.id")
    assert message.subject == "Tanya stok kain"
    assert message.identity is not None
    assert message.identity.value == "rudi@contoh.co.id"
    assert message.meta["oversized"] == {"size": len(big), "folder": "INBOX"}
    assert Message.objects.filter(external_id="kecil-1@contoh.co.id").exists()

    shop.sari.language = "en"  # the page speaks the agent's language
    shop.sari.save(update_fields=["language"])
    client = Client()
    client.force_login(shop.sari)
    page = client.get(reverse("web:tickets:detail", args=[message.ticket.number])).content.decode()
    assert "more than the 4.0\xa0KB Loket takes in" in page
    assert "still in the mailbox (INBOX)" in page
