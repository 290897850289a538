"""The whole way round: a customer's mail comes in, an agent answers, the answer leaves over
SMTP, and the customer's reply to it comes back into the same ticket.

Every step is the real one: raw bytes stored as a delivery and processed (``channels.services``,
the email adapter, ``tickets.services.receive``); the agent's answer through
``tickets.services.reply`` and the ``deliver`` task; the mail caught by a real SMTP server
(aiosmtpd) on loopback; the customer's reply built from the mail as caught, as a mail client
would, and taken in the same way.
"""

from __future__ import annotations

import email.utils
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from email.message import EmailMessage
from typing import Any

import pytest
from django.test import override_settings

from loket.channels import services as channels
from loket.channels.email import ids
from loket.channels.models import Channel, DeliveryState
from loket.conftest import Shop
from loket.core.tests.smtp import SmtpServer, running_smtp
from loket.tickets import services
from loket.tickets.models import DeliveryStatus, Direction, Message, Ticket

pytestmark = pytest.mark.django_db

CaptureCallbacks = Callable[..., AbstractContextManager[list[Callable[[], Any]]]]
EAGER_TASKS = {"default": {"BACKEND": "django.tasks.backends.immediate.ImmediateBackend"}}

RUDI = ("Rudi Hartono", "rudi@contoh.co.id")
SINTA = ("Sinta Maharani", "sinta@kantor.co.id")


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    with running_smtp() as server:
        yield server


@pytest.fixture
def mailbox(shop: Shop, smtp: SmtpServer) -> Channel:
    shop.email.config = {
        "smtp_host": "127.0.0.1",
        "smtp_port": smtp.port,
        "smtp_security": "none",
        "smtp_timeout": 5,
    }
    shop.email.save()
    return shop.email


def mail_from(
    sender: tuple[str, str],
    subject: str,
    text: str,
    *,
    message_id: str,
    in_reply_to: str = "",
    references: str = "",
) -> bytes:
    mail = EmailMessage()
    mail["From"] = email.utils.formataddr(sender)
    mail["To"] = "Batik Sari <cs@batiksari.id>"
    mail["Subject"] = subject
    mail["Date"] = email.utils.format_datetime(email.utils.localtime())
    mail["Message-ID"] = f"<{message_id}>"
    if in_reply_to:
        mail["In-Reply-To"] = in_reply_to
    if references:
        mail["References"] = references
    mail.set_content(text)
    return mail.as_bytes()


def take_in(channel: Channel, raw: bytes) -> Message:
    """The mail arrives as the MTA pipe / IMAP / listener hand it over: stored, then read."""
    delivery = channels.store_delivery(channel, raw, process=False)
    processed = channels.process(delivery.pk)
    assert processed.state == DeliveryState.PROCESSED, processed.error
    return Message.objects.filter(direction=Direction.INBOUND).latest("pk")


def agent_answers(shop: Shop, ticket: Ticket, text: str, capture: CaptureCallbacks) -> Message:
    """The agent's answer, sent by the ``deliver`` task once the reply is committed."""
    with override_settings(TASKS=EAGER_TASKS), capture(execute=True):
        reply = services.reply(ticket, shop.wati, text)
    reply.refresh_from_db()
    assert reply.delivery_status == DeliveryStatus.SENT, reply.failure_reason
    return reply


def customer_replies_to(
    caught: EmailMessage,
    sender: tuple[str, str],
    text: str,
    *,
    message_id: str,
    keep_headers: bool = True,
) -> bytes:
    """What a mail client sends when the customer presses "Reply" on ``caught``."""
    plain = caught.get_body(("plain",))
    assert plain is not None
    quoted = "\n".join(f"> {line}" for line in plain.get_content().splitlines())
    when = caught["Date"]
    body = f"{text}\n\nPada {when}, {caught['From']} menulis:\n{quoted}\n"
    subject = str(caught["Subject"])
    if not subject.lower().startswith("re:"):
        subject = f"Re: {subject}"
    in_reply_to = references = ""
    if keep_headers:
        in_reply_to = str(caught["Message-ID"])
        references = " ".join([*str(caught.get("References", "")).split(), in_reply_to])
    return mail_from(
        sender,
        subject,
        body,
        message_id=message_id,
        in_reply_to=in_reply_to,
        references=references,
    )


@pytest.fixture
def conversation(
    shop: Shop,
    mailbox: Channel,
    smtp: SmtpServer,
    django_capture_on_commit_callbacks: CaptureCallbacks,
) -> tuple[Ticket, EmailMessage]:
    """Rudi asks by mail; Wati answers; the answer is caught by the SMTP server."""
    first = take_in(
        mailbox,
        mail_from(
            RUDI,
            "Tanya stok batik tulis",
            "Selamat siang, batik tulis motif parang ukuran L masih ada?",
            message_id="CAH7rudi001@mail.contoh.co.id",
        ),
    )
    ticket = first.ticket
    reply = agent_answers(
        shop,
        ticket,
        "Masih ada kak, harganya Rp 350.000. Mau dikirim ke mana?",
        django_capture_on_commit_callbacks,
    )
    [caught] = smtp.mails
    assert caught["Message-ID"] == f"<{reply.external_id}>"
    assert ids.read(reply.external_id or "") == (ticket.number, reply.pk)
    assert caught["In-Reply-To"] == "<CAH7rudi001@mail.contoh.co.id>"
    assert caught["Subject"] == f"Re: Tanya stok batik tulis [#{ticket.number}]"
    assert smtp.envelopes == [("cs@batiksari.id", ["rudi@contoh.co.id"])]
    return ticket, caught


def test_the_customers_reply_comes_back_into_the_same_ticket_by_its_headers(
    shop: Shop,
    mailbox: Channel,
    smtp: SmtpServer,
    conversation: tuple[Ticket, EmailMessage],
    django_capture_on_commit_callbacks: CaptureCallbacks,
) -> None:
    ticket, caught = conversation

    answer = take_in(
        mailbox,
        customer_replies_to(
            caught,
            RUDI,
            "Ke Solo kak, saya pesan 2.",
            message_id="CAH7rudi002@mail.contoh.co.id",
        ),
    )

    assert answer.ticket_id == ticket.pk
    assert Ticket.objects.count() == 1
    assert answer.reply_to is not None
    assert answer.reply_to.external_id == str(caught["Message-ID"]).strip("<>")

    # And once more: the second answer threads under the customer's latest mail.
    agent_answers(
        shop,
        ticket,
        "Siap kak, total Rp 712.000 dengan ongkir.",
        django_capture_on_commit_callbacks,
    )
    second = smtp.mails[-1]
    assert second["In-Reply-To"] == "<CAH7rudi002@mail.contoh.co.id>"
    assert second["References"].split() == [
        "<CAH7rudi001@mail.contoh.co.id>",
        str(caught["Message-ID"]),
        "<CAH7rudi002@mail.contoh.co.id>",
    ]
    assert second["Subject"] == caught["Subject"]  # the thread's subject holds still
    again = take_in(
        mailbox,
        customer_replies_to(
            second, RUDI, "Sudah saya transfer.", message_id="CAH7rudi003@mail.contoh.co.id"
        ),
    )
    assert again.ticket_id == ticket.pk


def test_with_the_headers_stripped_the_subject_token_finds_the_ticket(
    mailbox: Channel, conversation: tuple[Ticket, EmailMessage]
) -> None:
    ticket, caught = conversation
    raw = customer_replies_to(
        caught,
        RUDI,
        "Ke Solo kak, saya pesan 2.",
        message_id="CAH7rudi002@mail.contoh.co.id",
        keep_headers=False,
    )
    assert b"In-Reply-To" not in raw
    assert b"References" not in raw

    answer = take_in(mailbox, raw)

    assert answer.ticket_id == ticket.pk
    assert Ticket.objects.count() == 1


def test_another_customer_with_the_same_subject_gets_a_ticket_of_their_own(
    mailbox: Channel, conversation: tuple[Ticket, EmailMessage]
) -> None:
    ticket, _caught = conversation

    stranger = take_in(
        mailbox,
        mail_from(
            SINTA,
            "Re: Tanya stok batik tulis",
            "Halo, batik tulis motif kawung ada?",
            message_id="sinta001@kantor.co.id",
        ),
    )

    assert stranger.ticket_id != ticket.pk
    assert stranger.ticket.contact_id != ticket.contact_id
    assert Ticket.objects.count() == 2


def test_another_customer_quoting_the_ticket_number_does_not_join_it(
    mailbox: Channel, conversation: tuple[Ticket, EmailMessage]
) -> None:
    """The token alone is not proof: a stranger copying "[#N]" gets their own ticket."""
    ticket, caught = conversation

    stranger = take_in(
        mailbox,
        mail_from(
            SINTA,
            str(caught["Subject"]),
            "Saya juga mau tanya stok.",
            message_id="sinta002@kantor.co.id",
        ),
    )

    assert stranger.ticket_id != ticket.pk
    assert Ticket.objects.count() == 2
