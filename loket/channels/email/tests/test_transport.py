"""Outbound mail: what the customer receives, and what happens when the mail server says no.

Every send goes to a real SMTP server (aiosmtpd) on a loopback port, through the real reply
service and delivery path (``tickets.services.reply`` → ``deliver_now`` → the email adapter).
"""

from __future__ import annotations

import base64
import datetime as dt
import email
import email.policy
import ipaddress
import socket
import ssl
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from django.utils import translation
from django_tasks_db.models import DBTaskResult
from time_machine import TimeMachineFixture

from loket.audit.models import Event
from loket.channels import secrets
from loket.channels.email import ids, inbound, noise, transport
from loket.channels.items import InboundAttachment, InboundMessage, Notice, Sender
from loket.channels.models import Channel
from loket.conftest import Shop
from loket.contacts.models import Identity
from loket.core import clock
from loket.core.tests.processes import free_port
from loket.tickets import services
from loket.tickets.models import DeliveryStatus, Message, Ticket

pytestmark = [
    pytest.mark.django_db,
    # Loopback tests log in without TLS on purpose (the STARTTLS tests cover the real case).
    pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS:UserWarning"),
]

CaptureCallbacks = Callable[..., AbstractContextManager[list[Callable[[], Any]]]]
RUDI = Sender("email", "Rudi@Contoh.co.id", "Rudi Hartono")
PASSWORD = "sandi-smtp-rahasia"


# --- a configurable aiosmtpd server ------------------------------------------------------------
@dataclass
class Server:
    """What the server received. ``data_replies`` / ``rcpt_replies`` are answered first, one
    per command, before the server accepts; ``tokens`` are the XOAUTH2 tokens it takes."""

    port: int = 0
    mails: list[EmailMessage] = field(default_factory=list)
    raw: list[bytes] = field(default_factory=list)
    mail_options: list[list[str]] = field(default_factory=list)
    data_replies: list[str] = field(default_factory=list)
    rcpt_replies: list[str] = field(default_factory=list)
    logins: list[str] = field(default_factory=list)
    tokens: Callable[[str, str], bool] = lambda user, token: False

    async def handle_MAIL(
        self, server: Any, session: Any, envelope: Any, address: str, options: list[str]
    ) -> str:
        self.mail_options.append(list(options))
        envelope.mail_from = address
        envelope.mail_options.extend(options)
        return "250 OK"

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: list[str]
    ) -> str:
        if self.rcpt_replies:
            return self.rcpt_replies.pop(0)
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.data_replies:
            return self.data_replies.pop(0)
        self.raw.append(envelope.original_content)
        mail = email.message_from_bytes(envelope.original_content, policy=email.policy.default)
        assert isinstance(mail, EmailMessage)
        self.mails.append(mail)
        return "250 2.0.0 Ok: queued as 4XyZ"

    async def auth_XOAUTH2(self, server: Any, args: list[str]) -> AuthResult:
        """RFC 7628 as Gmail does it: a refused token gets a 334 with the error in JSON, the
        client answers with an empty line, then 535."""
        raw = base64.b64decode(args[1]) if len(args) > 1 else await server.challenge_auth("")
        fields = dict(part.split("=", 1) for part in raw.decode().split("\x01") if "=" in part)
        user, token = fields.get("user", ""), fields.get("auth", "").removeprefix("Bearer ")
        if self.tokens(user, token):
            self.logins.append(f"xoauth2:{user}")
            return AuthResult(success=True, auth_data=user)
        await server.challenge_auth('{"status":"401","schemes":"bearer"}')
        return AuthResult(
            success=False, handled=False, message="535 5.7.8 Username and Password not accepted"
        )


def _password_check(record: Server) -> Callable[..., AuthResult]:
    def authenticator(
        server: Any, session: Any, envelope: Any, mechanism: str, data: Any
    ) -> AuthResult:
        ok = (
            isinstance(data, LoginPassword)
            and data.login == b"cs@batiksari.id"
            and data.password == PASSWORD.encode()
        )
        if ok:
            record.logins.append(f"{mechanism.lower()}:cs@batiksari.id")
        return AuthResult(success=ok, handled=False)

    return authenticator


@contextmanager
def running(server: Server | None = None, **options: Any) -> Iterator[Server]:
    server = server or Server()
    for _attempt in range(5):
        server.port = free_port()
        controller = Controller(server, hostname="127.0.0.1", port=server.port, **options)
        try:
            controller.start()
        except (OSError, RuntimeError):
            continue
        break
    else:
        raise RuntimeError("no free port for the SMTP server")
    try:
        yield server
    finally:
        controller.stop()


@pytest.fixture
def smtp() -> Iterator[Server]:
    with running() as server:
        yield server


def use(channel: Channel, port: int, **config: Any) -> Channel:
    channel.config = secrets.seal(
        channel.kind,
        {
            "smtp_host": "127.0.0.1",
            "smtp_port": port,
            "smtp_security": "none",
            "smtp_timeout": 5,
            **config,
        },
    )
    channel.save()
    return channel


@pytest.fixture
def mail_channel(shop: Shop, smtp: Server) -> Channel:
    return use(shop.email, smtp.port)


def rudi_writes(
    channel: Channel,
    text: str = "Selamat siang, batik tulis motif parang ukuran L masih ada?",
    *,
    message_id: str = "CAH7rudi001@mail.contoh.co.id",
    subject: str = "Tanya stok",
    reply_to: str = "",
    references: list[str] | None = None,
    meta: dict[str, Any] | None = None,
) -> Message:
    return services.receive(
        channel,
        InboundMessage(
            external_id=message_id,
            sender=RUDI,
            subject=subject,
            text=text,
            reply_to_external_id=reply_to,
            thread_external_ids=references or [],
            # As inbound.parse_mail keeps them.
            meta={
                "message_id": message_id,
                **({"references": references[-20:]} if references else {}),
                **(meta or {}),
            },
        ),
    ).message


def answer(
    shop: Shop, ticket: Ticket, text: str = "Masih ada kak, silakan dipesan.", **kw: Any
) -> Message:
    return services.reply(ticket, kw.pop("author", shop.wati), text, **kw)


def sent(pk: int) -> Message:
    return Message.objects.get(pk=pk)


# --- Message-IDs ---------------------------------------------------------------------------------
def test_our_message_ids_name_the_ticket_and_message_and_are_signed(settings: Any) -> None:
    made = ids.make(1042, 98765, "BatikSari.id")

    assert made.startswith("loket.1042.98765.")
    assert made.endswith("@batiksari.id")
    assert len(f"Message-ID: <{made}>") <= 78  # one header line
    assert ids.read(made) == (1042, 98765)
    assert ids.read(f"<{made}>") == (1042, 98765)
    assert ids.is_ours(made, ["cs@batiksari.id"])
    assert not ids.is_ours(made, ["cs@tokolain.id"])


def _flip_last_signature_character(good: str) -> str:
    local, at, domain = good.partition("@")
    return local[:-1] + ("a" if local[-1] != "a" else "b") + at + domain


@pytest.mark.parametrize(
    "forge",
    [
        _flip_last_signature_character,
        lambda good: good.replace("loket.1042.", "loket.1043.", 1),  # another ticket
        lambda good: good.replace(".98765.", ".98766.", 1),  # another message
        lambda good: "loket.1042.98765.aaaaaaaaaa@batiksari.id",
        lambda good: "loket.1042.98765@batiksari.id",  # no signature
        lambda good: "CAH7rudi001@mail.contoh.co.id",
        lambda good: "",
    ],
)
def test_a_forged_or_foreign_id_is_not_read_as_ours(forge: Callable[[str], str]) -> None:
    good = ids.make(1042, 98765, "batiksari.id")
    forged = forge(good)
    assert forged != good

    assert ids.read(forged) is None
    assert not ids.is_ours(forged, ["batiksari.id"])


def test_ids_signed_before_a_secret_key_rotation_still_verify(settings: Any) -> None:
    old = ids.make(7, 8, "batiksari.id")
    settings.SECRET_KEY_FALLBACKS = [settings.SECRET_KEY]
    settings.SECRET_KEY = "a-brand-new-secret-key-for-loket-" + "x" * 20

    assert ids.read(old) == (7, 8)
    assert ids.make(7, 8, "batiksari.id") != old
    settings.SECRET_KEY_FALLBACKS = []
    assert ids.read(old) is None


# --- the subject ---------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("subject", "cleaned"),
    [
        ("Tanya stok", "Tanya stok"),
        ("Re: Tanya stok", "Tanya stok"),
        ("RE: AW: Fwd: Tanya stok", "Tanya stok"),
        ("Balas: Re[2]: Tanya stok [#1042]", "Tanya stok"),
        ("Re: Tanya stok [#1042] [#1043]", "Tanya stok"),
        ("Fw: Pesanan [Ticket#55] kain", "Pesanan [Ticket#55] kain"),
        ("  Re:Tanya   stok  ", "Tanya stok"),
        ("\u56de\u590d\uff1aTanya stok", "Tanya stok"),
        ("Reklame batik", "Reklame batik"),
        ("Re:", ""),
    ],
)
def test_a_subject_is_cleaned_of_prefixes_and_our_token(subject: str, cleaned: str) -> None:
    assert transport.clean_subject(subject) == cleaned


def test_a_long_subject_is_cut() -> None:
    subject = transport.reply_subject("Re: " + "batik tulis " * 30, 1042, reply=True)

    assert subject.startswith("Re: batik tulis")
    assert subject.endswith(" [...] [#1042]")
    assert len(subject) <= len("Re: ") + transport.SUBJECT_LIMIT + len(" [#1042]")


# --- what the customer receives -----------------------------------------------------------------
def test_a_reply_is_threaded_signed_and_plain_and_html(
    shop: Shop, mail_channel: Channel, smtp: Server, time_machine: TimeMachineFixture
) -> None:
    time_machine.move_to(dt.datetime(2026, 3, 2, 1, 0, 7, tzinfo=dt.UTC), tick=False)
    ticket = rudi_writes(mail_channel).ticket
    reply = answer(
        shop,
        ticket,
        "Masih ada kak <ukuran L>.\nHarga Rp 350.000.\n\nKatalog: https://batiksari.id/katalog?motif=parang&ukuran=L",
    )

    assert services.deliver_now(reply.pk) == DeliveryStatus.SENT

    [mail] = smtp.mails
    message = sent(reply.pk)
    [author] = mail["From"].addresses
    assert (author.display_name, author.addr_spec) == ("Wati Rahayu", "cs@batiksari.id")
    assert mail["Reply-To"] == "cs@batiksari.id"
    assert mail["To"] == "rudi@contoh.co.id"
    assert mail["Subject"] == f"Re: Tanya stok [#{ticket.number}]"
    assert mail["Message-ID"] == f"<{message.external_id}>"
    assert ids.read(message.external_id or "") == (ticket.number, reply.pk)
    assert mail["In-Reply-To"] == "<CAH7rudi001@mail.contoh.co.id>"
    assert mail["References"] == "<CAH7rudi001@mail.contoh.co.id>"
    assert mail["Date"].datetime == dt.datetime(2026, 3, 2, 1, 0, 7, tzinfo=dt.UTC)
    # An agent's answer is not automatic mail: nothing that makes filters hide it.
    for header in ("Auto-Submitted", "Precedence", "X-Loop", "X-Auto-Response-Suppress"):
        assert header not in mail
    assert not noise.auto_reply(mail)

    assert mail.get_content_type() == "multipart/alternative"
    assert [part.get_content_type() for part in mail.iter_parts()] == ["text/plain", "text/html"]
    plain = mail.get_body(("plain",))
    html = mail.get_body(("html",))
    assert plain is not None
    assert html is not None
    assert plain.get_content().replace("\r\n", "\n") == (
        "Masih ada kak <ukuran L>.\nHarga Rp 350.000.\n\n"
        "Katalog: https://batiksari.id/katalog?motif=parang&ukuran=L\n"
    )
    page = html.get_content()
    assert "Masih ada kak &lt;ukuran L&gt;.<br>" in page
    assert "<ukuran L>" not in page
    assert (
        '<a href="https://batiksari.id/katalog?motif=parang&amp;ukuran=L" rel="nofollow">' in page
    )
    assert page.count("<p ") == 2
    assert "src=" not in page  # no external resources
    assert "<link" not in page

    # What was sent is kept with the message.
    headers = message.meta["sent_headers"]
    assert headers["message_id"] == message.external_id
    assert headers["in_reply_to"] == "CAH7rudi001@mail.contoh.co.id"
    assert headers["references"] == ["CAH7rudi001@mail.contoh.co.id"]
    assert message.meta["raw_size"] == len(smtp.raw[0])
    assert message.meta["raw_headers"].startswith(("From:", "Subject:", "Reply-To:"))
    assert f"Message-ID: <{message.external_id}>" in message.meta["raw_headers"]
    assert message.meta["smtp_reply"] == "250 2.0.0 Ok: queued as 4XyZ"


def test_the_conversation_is_referenced_oldest_first_with_the_answered_mail_last(
    shop: Shop, mail_channel: Channel, smtp: Server
) -> None:
    first = rudi_writes(
        mail_channel,
        references=["older-thread@mail.contoh.co.id"],
        meta={"references": ["older-thread@mail.contoh.co.id"]},
    )
    ticket = first.ticket
    ours = answer(shop, ticket)
    services.deliver_now(ours.pk)
    our_id = sent(ours.pk).external_id
    again = rudi_writes(
        mail_channel,
        "Oke kak, saya pesan 2. Ongkir ke Solo berapa?",
        message_id="CAH7rudi002@mail.contoh.co.id",
        subject=f"Re: Tanya stok [#{ticket.number}]",
        reply_to=our_id or "",
        references=["CAH7rudi001@mail.contoh.co.id", our_id or ""],
    )
    assert again.ticket_id == ticket.pk
    second = answer(shop, ticket, "Ongkir ke Solo Rp 12.000 kak.")
    services.deliver_now(second.pk)

    mail = smtp.mails[-1]
    assert mail["In-Reply-To"] == "<CAH7rudi002@mail.contoh.co.id>"
    assert mail["References"].split() == [
        "<older-thread@mail.contoh.co.id>",
        "<CAH7rudi001@mail.contoh.co.id>",
        f"<{our_id}>",
        "<CAH7rudi002@mail.contoh.co.id>",
    ]
    assert mail["Subject"] == f"Re: Tanya stok [#{ticket.number}]"


def test_long_references_are_capped_and_folded_between_ids(
    shop: Shop, mail_channel: Channel, smtp: Server
) -> None:
    long_id = "x" * 120 + "@very-long-message-ids.mail.contoh.co.id"
    refs = [f"ref{i}.{'a' * 30}@mail.contoh.co.id" for i in range(40)]
    ticket = rudi_writes(
        mail_channel, references=refs, meta={"references": [*refs, long_id]}
    ).ticket
    reply = answer(shop, ticket)

    services.deliver_now(reply.pk)

    [mail] = smtp.mails
    references = mail["References"].split()
    assert len(references) == transport.MAX_REFERENCES
    assert references[0] == f"<{refs[0]}>"  # the thread's root is kept
    assert references[-2:] == [f"<{long_id}>", "<CAH7rudi001@mail.contoh.co.id>"]
    head = smtp.raw[0].split(b"\r\n\r\n", 1)[0].decode("ascii")
    assert "=?" not in head.split("References:", 1)[1].split("\r\nSubject")[0]
    assert max(len(line) for line in head.split("\r\n")) <= 998
    assert f"\r\n <{long_id}>" in head  # a long id on a line of its own, whole


def test_a_customers_changed_subject_is_kept_and_our_token_appears_once(
    shop: Shop, mail_channel: Channel, smtp: Server
) -> None:
    ticket = rudi_writes(mail_channel).ticket
    rudi_writes(
        mail_channel,
        "Sekalian tanya ongkir",
        message_id="CAH7rudi002@mail.contoh.co.id",
        subject=f"AW: RE: Balas: Tanya stok dan ongkir [#{ticket.number}]",
        reply_to="CAH7rudi001@mail.contoh.co.id",
    )
    reply = answer(shop, ticket)

    services.deliver_now(reply.pk)

    assert smtp.mails[0]["Subject"] == f"Re: Tanya stok dan ongkir [#{ticket.number}]"


def test_a_mail_the_agent_starts_has_no_reply_prefix(shop: Shop, smtp: Server) -> None:
    """Dewi wrote on WhatsApp; the agent emails her the invoice: a new mail thread."""
    channel = use(shop.email, smtp.port)
    ticket = shop.whatsapp_from_dewi("Kak, minta fakturnya lewat email ya")
    ticket.subject = "Faktur pesanan"
    ticket.save(update_fields=["subject"])
    mailbox = Identity.objects.create(
        contact=ticket.contact, kind="email", value="dewi@contoh.co.id", created_at=clock.now()
    )
    reply = answer(shop, ticket, "Terlampir fakturnya kak.", identity=mailbox)

    assert services.deliver_now(reply.pk) == DeliveryStatus.SENT

    [mail] = smtp.mails
    assert reply.channel_id == channel.pk
    assert mail["Subject"] == f"Faktur pesanan [#{ticket.number}]"
    assert "In-Reply-To" not in mail
    assert "References" not in mail
    assert mail["To"] == "dewi@contoh.co.id"


def test_names_subjects_and_file_names_outside_ascii(
    shop: Shop, mail_channel: Channel, smtp: Server
) -> None:
    shop.wati.name = "Wati Rahayu \u2013 Batik Sari \u2713"
    shop.wati.save(update_fields=["name"])
    ticket = rudi_writes(
        mail_channel, subject="Pesanan kain \u2013 ukuran L \u2713 (batik tulis)"
    ).ticket
    invoice = b"%PDF-1.4 faktur " * 100
    reply = answer(
        shop,
        ticket,
        "Terima kasih, Bu. Fakturnya terlampir \u2013 mohon dicek \u2713",
        attachments=[
            InboundAttachment("Faktur Januari \u2013 Toko Ibu.pdf", "application/pdf", invoice),
            InboundAttachment("ukuran.csv", "text/csv", b"motif;ukuran\nparang;L\n"),
        ],
    )

    assert services.deliver_now(reply.pk) == DeliveryStatus.SENT

    [mail] = smtp.mails
    raw = smtp.raw[0]
    assert raw.isascii()  # 7-bit: any server takes it, without 8BITMIME or SMTPUTF8
    assert mail["From"].addresses[0].display_name == "Wati Rahayu \u2013 Batik Sari \u2713"
    assert (
        mail["Subject"]
        == f"Re: Pesanan kain \u2013 ukuran L \u2713 (batik tulis) [#{ticket.number}]"
    )
    assert mail.get_content_type() == "multipart/mixed"
    body, *files = list(mail.iter_parts())
    assert body.get_content_type() == "multipart/alternative"
    plain = mail.get_body(("plain",))
    assert plain is not None
    assert (
        plain.get_content().replace("\r\n", "\n")
        == "Terima kasih, Bu. Fakturnya terlampir \u2013 mohon dicek \u2713\n"
    )
    assert [(f.get_filename(), f.get_content_type()) for f in files] == [
        ("Faktur Januari \u2013 Toko Ibu.pdf", "application/pdf"),
        ("ukuran.csv", "text/csv"),
    ]
    assert files[0].get_content_disposition() == "attachment"
    assert raw.count(b"MIME-Version:") == 1  # only at the top
    assert files[0].get_content() == invoice
    assert files[1].get_payload(decode=True) == b"motif;ukuran\nparang;L\n"  # bytes kept
    assert b"filename*=utf-8''Faktur%20Januari%20%E2%80%93%20Toko%20Ibu.pdf" in raw


def test_automatic_mail_is_marked_so_robots_do_not_answer_it(
    shop: Shop, mail_channel: Channel
) -> None:
    ticket = rudi_writes(mail_channel).ticket
    reply = answer(shop, ticket, "Terima kasih, pesan Anda sudah kami terima.")
    message = Message.objects.select_related("ticket", "identity").get(pk=reply.pk)

    auto = transport.build(mail_channel, message, automatic=True)
    human = transport.build(mail_channel, message)

    assert auto["Auto-Submitted"] == "auto-replied"
    assert auto["Precedence"] == "bulk"
    assert auto["X-Loop"] == "loket"
    assert auto["X-Auto-Response-Suppress"] == "All"
    assert noise.auto_reply(auto)  # other systems see a robot
    # Our own robot mail coming back (a forward, a loop) is not taken in again.
    [back] = inbound.items(mail_channel, transport.to_bytes(auto))
    assert isinstance(back, Notice)
    assert back.data["reason"] == "loop"
    assert "Auto-Submitted" not in human
    assert not noise.auto_reply(human)

    message.meta = {"automatic": True}
    assert transport.build(mail_channel, message)["Auto-Submitted"] == "auto-replied"
    fresh = EmailMessage()
    transport.mark_automatic(fresh)
    assert fresh["Auto-Submitted"] == "auto-generated"  # not an answer to anything


def test_the_sender_is_never_the_customer(shop: Shop, mail_channel: Channel, smtp: Server) -> None:
    """Whoever the author is, From and the envelope carry the channel's address."""
    ticket = rudi_writes(mail_channel).ticket
    reply = answer(shop, ticket, author=shop.budi)
    Message.objects.filter(pk=reply.pk).update(author=None)

    services.deliver_now(reply.pk)

    [mail] = smtp.mails
    [author] = mail["From"].addresses
    assert (author.display_name, author.addr_spec) == ("Email CS", "cs@batiksari.id")
    assert "rudi@contoh.co.id" not in str(mail["From"]) + str(mail["Reply-To"])


def test_never_to_one_of_our_own_mailboxes(shop: Shop, smtp: Server) -> None:
    use(shop.email, smtp.port)
    ticket, mailbox = _ticket_for(shop, "CS+pesanan@batiksari.id".lower())

    reply = answer(shop, ticket, "Halo", identity=mailbox)

    assert services.deliver_now(reply.pk) == DeliveryStatus.FAILED
    assert sent(reply.pk).failure_code == "recipient_is_us"
    assert smtp.mail_options == []


# --- when the mail server says no -----------------------------------------------------------------
def test_a_temporary_refusal_is_retried_and_then_gets_through(
    shop: Shop,
    mail_channel: Channel,
    smtp: Server,
    django_capture_on_commit_callbacks: CaptureCallbacks,
) -> None:
    smtp.rcpt_replies = ["450 4.2.0 <rudi@contoh.co.id>: Recipient address rejected: Greylisted"]
    smtp.data_replies = ["451 4.3.0 Mail server temporarily rejected message"]
    reply = answer(shop, rudi_writes(mail_channel).ticket)

    with django_capture_on_commit_callbacks(execute=True):
        assert services.deliver_now(reply.pk) == DeliveryStatus.QUEUED
    greylisted = sent(reply.pk)
    assert greylisted.failure_code == "recipient_refused"
    assert "450 4.2.0" in greylisted.failure_reason

    with django_capture_on_commit_callbacks(execute=True):
        assert services.deliver_now(reply.pk) == DeliveryStatus.QUEUED
    deferred = sent(reply.pk)
    assert deferred.failure_code == "smtp_deferred"
    assert "451 4.3.0 Mail server temporarily rejected message" in deferred.failure_reason

    assert services.deliver_now(reply.pk) == DeliveryStatus.SENT
    done = sent(reply.pk)
    assert (done.attempts, done.failure_code, done.failure_reason) == (3, "", "")
    assert len(smtp.mails) == 1
    # The same Message-ID on every attempt: a copy that did arrive earlier is one mail.
    assert smtp.mails[0]["Message-ID"] == f"<{done.external_id}>"


def test_after_the_last_retry_the_message_shows_the_servers_reason(
    shop: Shop,
    settings: Any,
    mail_channel: Channel,
    smtp: Server,
    django_capture_on_commit_callbacks: CaptureCallbacks,
) -> None:
    settings.LOKET_DELIVERY_MAX_ATTEMPTS = 2
    smtp.data_replies = ["421 4.7.0 Try again later, closing connection"] * 5
    reply = answer(shop, rudi_writes(mail_channel).ticket)

    with django_capture_on_commit_callbacks(execute=True):
        assert services.deliver_now(reply.pk) == DeliveryStatus.QUEUED
        assert services.deliver_now(reply.pk) == DeliveryStatus.FAILED

    failed = sent(reply.pk)
    assert failed.delivery_status == DeliveryStatus.FAILED
    assert failed.failure_code == "smtp_deferred"
    assert "421 4.7.0 Try again later" in failed.failure_reason
    assert failed.failed_at is not None
    event = Event.objects.get(kind="message.delivery_failed", subject_id=reply.pk)
    assert "421 4.7.0" in event.data["reason"]
    assert smtp.mails == []


def test_a_permanent_refusal_fails_at_once_with_the_servers_words(
    shop: Shop,
    mail_channel: Channel,
    smtp: Server,
    django_capture_on_commit_callbacks: CaptureCallbacks,
) -> None:
    smtp.data_replies = ["554 5.7.1 Message rejected: spam content detected"]
    reply = answer(shop, rudi_writes(mail_channel).ticket)

    with django_capture_on_commit_callbacks(execute=True), translation.override("en"):
        assert services.deliver_now(reply.pk) == DeliveryStatus.FAILED

    assert not DBTaskResult.objects.filter(task_path="loket.tickets.tasks.deliver").exists()
    failed = sent(reply.pk)
    assert failed.attempts == 1
    assert failed.failure_code == "smtp_rejected"
    assert failed.failure_reason == (
        "The mail server refused the mail: 554 5.7.1 Message rejected: spam content detected"
    )


def test_an_unknown_recipient_fails_at_once(
    shop: Shop, mail_channel: Channel, smtp: Server
) -> None:
    smtp.rcpt_replies = ["550 5.1.1 <rudi@contoh.co.id>: Recipient address rejected"]
    reply = answer(shop, rudi_writes(mail_channel).ticket)

    assert services.deliver_now(reply.pk) == DeliveryStatus.FAILED

    failed = sent(reply.pk)
    assert failed.failure_code == "recipient_refused"
    assert "rudi@contoh.co.id" in failed.failure_reason
    assert "550 5.1.1" in failed.failure_reason


def test_a_server_that_never_answers_is_retried(shop: Shop) -> None:
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(1)  # connections are queued but nobody greets them
        use(shop.email, silent.getsockname()[1], smtp_timeout=0.5)
        reply = answer(shop, rudi_writes(shop.email).ticket)

        assert services.deliver_now(reply.pk) == DeliveryStatus.QUEUED

    waiting = sent(reply.pk)
    assert waiting.failure_code == "smtp_unavailable"


# --- logging in -----------------------------------------------------------------------------------
@pytest.fixture
def auth_smtp() -> Iterator[Server]:
    server = Server()
    with running(
        server,
        authenticator=_password_check(server),
        auth_required=True,
        auth_require_tls=False,
    ) as running_server:
        yield running_server


def test_a_password_login(shop: Shop, auth_smtp: Server) -> None:
    use(shop.email, auth_smtp.port, smtp_user="cs@batiksari.id", smtp_password=PASSWORD)
    assert shop.email.config["smtp_password"] != PASSWORD  # stored encrypted
    reply = answer(shop, rudi_writes(shop.email).ticket)

    assert services.deliver_now(reply.pk) == DeliveryStatus.SENT
    assert auth_smtp.logins in (["plain:cs@batiksari.id"], ["login:cs@batiksari.id"])
    assert len(auth_smtp.mails) == 1


def test_a_refused_login_fails_with_the_reason(shop: Shop, auth_smtp: Server) -> None:
    use(shop.email, auth_smtp.port, smtp_user="cs@batiksari.id", smtp_password="salah")
    reply = answer(shop, rudi_writes(shop.email).ticket)

    assert services.deliver_now(reply.pk) == DeliveryStatus.FAILED

    failed = sent(reply.pk)
    assert failed.failure_code == "smtp_auth"
    assert "535" in failed.failure_reason
    assert auth_smtp.mails == []


def test_xoauth2_login_with_the_channels_access_token(shop: Shop) -> None:
    from loket.channels.email.tests.oauth_emulator import running_token_server

    server = Server()
    with running_token_server() as tokens, running(server, auth_require_tls=False) as smtp:
        server.tokens = lambda user, token: tokens.introspect(token).get("username") == user
        refresh = tokens.grant("cs@batiksari.id", "loket.apps.googleusercontent.com", "GOCSPX-r")
        use(
            shop.email,
            smtp.port,
            smtp_auth="oauth2",
            smtp_user="cs@batiksari.id",
            oauth_provider="google",
            oauth_client_id="loket.apps.googleusercontent.com",
            oauth_client_secret="GOCSPX-r",
            oauth_refresh_token=refresh,
            oauth_endpoint=tokens.url + "/google/token",
        )
        ticket = rudi_writes(shop.email).ticket
        first = answer(shop, ticket)
        assert services.deliver_now(first.pk) == DeliveryStatus.SENT

        # The provider revoked the cached access token early: it is dropped, a fresh one is
        # fetched and the same connection logs in with it.
        tokens.revoke_access()
        second = answer(shop, ticket, "Sudah kami kirim hari ini.")
        assert services.deliver_now(second.pk) == DeliveryStatus.SENT

        # The refresh token itself is revoked: only an admin can fix it; no retries.
        tokens.revoke_access()
        tokens.revoke(refresh)
        third = answer(shop, ticket, "Resi menyusul ya kak.")
        assert services.deliver_now(third.pk) == DeliveryStatus.FAILED

    assert server.logins == ["xoauth2:cs@batiksari.id"] * 2
    assert len(server.mails) == 2
    assert [r["grant_type"] for r in tokens.requests] == ["refresh_token"] * 3
    failed = sent(third.pk)
    assert failed.failure_code == "smtp_oauth"
    assert "invalid_grant" in failed.failure_reason
    assert refresh not in failed.failure_reason


# --- size -----------------------------------------------------------------------------------------
def test_a_mail_over_the_channels_size_limit_is_not_sent(shop: Shop, smtp: Server) -> None:
    use(shop.email, smtp.port, smtp_max_bytes=20_000)
    reply = answer(
        shop,
        rudi_writes(shop.email).ticket,
        "Fotonya terlampir",
        attachments=[InboundAttachment("foto.jpg", "image/jpeg", b"\xff\xd8" * 15_000)],
    )

    with translation.override("en"):  # the reason is written in the worker's language
        assert services.deliver_now(reply.pk) == DeliveryStatus.FAILED

    failed = sent(reply.pk)
    assert failed.failure_code == "too_large"
    assert "more than the 19.5\xa0KB the mail server takes" in failed.failure_reason
    assert smtp.mail_options == []  # nothing was even started


def test_the_size_the_server_announces_is_respected(shop: Shop) -> None:
    server = Server()
    with running(server, data_size_limit=10_000) as smtp:
        use(shop.email, smtp.port)
        ticket = rudi_writes(shop.email).ticket
        small = answer(shop, ticket)
        big = answer(
            shop,
            ticket,
            "Fotonya terlampir",
            attachments=[InboundAttachment("foto.jpg", "image/jpeg", b"\xff\xd8" * 8_000)],
        )

        assert services.deliver_now(small.pk) == DeliveryStatus.SENT
        assert services.deliver_now(big.pk) == DeliveryStatus.FAILED

    assert [options[0].startswith("SIZE=") for options in server.mail_options] == [True]
    assert sent(big.pk).failure_code == "too_large"
    assert len(server.mails) == 1


# --- TLS ------------------------------------------------------------------------------------------
@dataclass
class Certificate:
    cert: Path
    key: Path

    def server_context(self) -> ssl.SSLContext:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(self.cert, self.key)
        return context


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> Certificate:
    """A self-signed certificate for 127.0.0.1 and localhost."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "smtp.loket.test")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=30))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    folder = tmp_path_factory.mktemp("tls")
    cert_path, key_path = folder / "cert.pem", folder / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return Certificate(cert_path, key_path)


def test_starttls_with_a_trusted_certificate(
    shop: Shop, certificate: Certificate, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SSL_CERT_FILE", str(certificate.cert))
    server = Server()
    with running(
        server,
        tls_context=certificate.server_context(),
        require_starttls=True,
        authenticator=_password_check(server),
        auth_required=True,
    ) as smtp:
        use(
            shop.email,
            smtp.port,
            smtp_security="starttls",
            smtp_user="cs@batiksari.id",
            smtp_password=PASSWORD,
        )
        reply = answer(shop, rudi_writes(shop.email).ticket)

        assert services.deliver_now(reply.pk) == DeliveryStatus.SENT

    assert len(server.mails) == 1
    assert len(server.logins) == 1  # the password went over the encrypted connection


def test_an_untrusted_certificate_stops_the_send(shop: Shop, certificate: Certificate) -> None:
    server = Server()
    with running(server, tls_context=certificate.server_context(), require_starttls=True) as smtp:
        use(shop.email, smtp.port, smtp_security="starttls")
        reply = answer(shop, rudi_writes(shop.email).ticket)

        assert services.deliver_now(reply.pk) == DeliveryStatus.FAILED

    failed = sent(reply.pk)
    assert failed.failure_code == "smtp_tls"
    assert "certificate" in failed.failure_reason
    assert server.mails == []


def test_starttls_is_never_skipped_silently(shop: Shop, smtp: Server) -> None:
    use(shop.email, smtp.port, smtp_security="starttls")  # the server offers no STARTTLS
    reply = answer(shop, rudi_writes(shop.email).ticket)

    assert services.deliver_now(reply.pk) == DeliveryStatus.FAILED

    failed = sent(reply.pk)
    assert failed.failure_code == "smtp_no_starttls"
    assert smtp.mail_options == []


def test_implicit_tls(
    shop: Shop, certificate: Certificate, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SSL_CERT_FILE", str(certificate.cert))
    server = Server()
    with running(server, ssl_context=certificate.server_context()) as smtp:
        use(shop.email, smtp.port, smtp_security="tls")
        reply = answer(shop, rudi_writes(shop.email).ticket)

        assert services.deliver_now(reply.pk) == DeliveryStatus.SENT

    assert len(server.mails) == 1


# --- internationalised addresses ------------------------------------------------------------------
def _ticket_for(shop: Shop, address: str) -> tuple[Ticket, Identity]:
    ticket = shop.whatsapp_from_dewi("Kak, fakturnya kirim ke email saya ya")
    mailbox = Identity.objects.create(
        contact=ticket.contact, kind="email", value=address, created_at=clock.now()
    )
    return ticket, mailbox


def test_an_address_outside_ascii_goes_out_with_smtputf8(shop: Shop, smtp: Server) -> None:
    use(shop.email, smtp.port)
    ticket, mailbox = _ticket_for(shop, "dewi.lestari@toko-ibu.id".replace("e", "\u00e9", 1))
    reply = answer(shop, ticket, "Terlampir fakturnya kak.", identity=mailbox)

    assert services.deliver_now(reply.pk) == DeliveryStatus.SENT

    assert f"\r\nTo: {mailbox.value}\r\n".encode() in smtp.raw[0]  # UTF-8, as RFC 6532 says
    assert "SMTPUTF8" in smtp.mail_options[0]


def test_an_address_outside_ascii_fails_clearly_where_the_server_cannot_take_it(
    shop: Shop,
) -> None:
    server = Server()
    with running(server, enable_SMTPUTF8=False) as smtp:
        use(shop.email, smtp.port)
        ticket, mailbox = _ticket_for(shop, "d\u00e9wi@toko-ibu.id")
        reply = answer(shop, ticket, "Terlampir fakturnya kak.", identity=mailbox)

        assert services.deliver_now(reply.pk) == DeliveryStatus.FAILED

    failed = sent(reply.pk)
    assert failed.failure_code == "recipient_refused"
    assert "SMTPUTF8" in failed.failure_reason
    assert server.mails == []
