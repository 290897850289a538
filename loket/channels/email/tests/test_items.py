"""What a raw mail becomes before it is a message (email lessons §6 to §8, §14), through the real
pipeline: the raw delivery is stored, then processed.

- a bounce of our mail marks that outbound message failed, with the recipient and the reason;
- a bounce about mail we did not send, or a delay, is only recorded on the channel;
- our own mail coming back (From one of our addresses, or our loop marker) is not ingested;
- an auto-reply and an out-of-office are stored, flagged, and never reopen the ticket;
- the sender is the addr-spec; a display name showing another address, a failed DMARC verdict
  and a Reply-To elsewhere are kept as warnings, never as identity.
"""

from __future__ import annotations

from email.message import EmailMessage

import pytest
from django.utils import translation

from loket.audit.models import Event
from loket.channels import services as channels
from loket.channels.email import ids
from loket.channels.models import Channel, DeliveryState
from loket.conftest import Shop
from loket.contacts.models import Identity
from loket.tickets import services
from loket.tickets.models import DeliveryStatus, Message, Status, Ticket
from loket.web.tickets.timeline import failure_advice

pytestmark = pytest.mark.django_db

OUR_ID = "loket.1001.7.a1b2c3@batiksari.id"


def _mail(**headers: str) -> EmailMessage:
    mail = EmailMessage()
    mail["From"] = headers.pop("From", "Rudi Hartono <rudi@contoh.co.id>")
    mail["To"] = headers.pop("To", "cs@batiksari.id")
    mail["Subject"] = headers.pop("Subject", "Tanya stok batik")
    mail["Message-ID"] = headers.pop("Message_ID", "<q1@contoh.co.id>")
    for name, value in headers.items():
        mail[name.replace("_", "-")] = value
    mail.set_content("Kak, stok batik parang masih ada?\n")
    return mail


def _deliver(channel: Channel, mail: EmailMessage | bytes) -> None:
    raw = mail if isinstance(mail, bytes) else mail.as_bytes()
    delivery = channels.store_delivery(channel, raw, process=False)
    done = channels.process(delivery.pk)
    assert done.state == DeliveryState.PROCESSED, done.error


def _sent_reply(shop: Shop) -> Message:
    _deliver(shop.email, _mail())
    ticket = Ticket.objects.get()
    reply = services.reply(ticket, shop.wati, "Stok ada kak, mau berapa?")
    Message.objects.filter(pk=reply.pk).update(
        external_id=OUR_ID, delivery_status=DeliveryStatus.SENT
    )
    return reply


def _dsn(original_id: str, *, action: str = "failed", status: str = "5.1.1") -> bytes:
    report = EmailMessage()
    report["From"] = "Mail Delivery System <MAILER-DAEMON@mx.contoh.co.id>"
    report["To"] = "cs@batiksari.id"
    report["Subject"] = "Undelivered Mail Returned to Sender"
    report["Message-ID"] = "<bounce.1@mx.contoh.co.id>"
    report["Auto-Submitted"] = "auto-replied"
    report.set_content("This is the mail system at host mx.contoh.co.id.\n")
    report.make_mixed()
    status_part = EmailMessage()
    status_part.set_content(
        "Reporting-MTA: dns; mx.contoh.co.id\n\n"
        "Final-Recipient: rfc822; rudi@contoh.co.id\n"
        f"Action: {action}\nStatus: {status}\n"
        "Diagnostic-Code: smtp; 550 5.1.1 <rudi@contoh.co.id>: Recipient address rejected: "
        "User unknown\n"
    )
    returned = (
        f"From: Wati <cs@batiksari.id>\nTo: rudi@contoh.co.id\nSubject: Re: Tanya stok\n"
        f"Message-ID: <{original_id}>\n"
    )
    raw = report.as_string()
    boundary = report.get_boundary()
    assert boundary is not None
    tail = f"--{boundary}--"
    parts = (
        f"--{boundary}\nContent-Type: message/delivery-status\n\n"
        f"{status_part.get_content()}\n"
        f"--{boundary}\nContent-Type: text/rfc822-headers\n\n{returned}\n{tail}"
    )
    raw = raw.replace(
        "Content-Type: multipart/mixed",
        "Content-Type: multipart/report; report-type=delivery-status",
        1,
    )
    return raw.replace(tail, parts).encode()


def test_a_bounce_marks_our_mail_failed_with_recipient_and_reason(shop: Shop) -> None:
    reply = _sent_reply(shop)

    _deliver(shop.email, _dsn(OUR_ID))

    reply.refresh_from_db()
    assert reply.delivery_status == DeliveryStatus.FAILED
    assert reply.failure_code == "bounce:5.1.1"
    assert "rudi@contoh.co.id" in reply.failure_reason
    assert "User unknown" in reply.failure_reason
    with translation.override("en"):
        assert failure_advice(reply).startswith("The address does not exist.")
    # The report is not a customer message, and opens nothing.
    assert Ticket.objects.count() == 1
    assert Message.objects.filter(direction="in").count() == 1
    assert not Identity.objects.filter(value__icontains="mailer-daemon").exists()


def test_a_delay_report_changes_nothing_and_is_recorded(shop: Shop) -> None:
    reply = _sent_reply(shop)

    _deliver(shop.email, _dsn(OUR_ID, action="delayed", status="4.4.1"))

    reply.refresh_from_db()
    assert reply.delivery_status == DeliveryStatus.SENT
    event = Event.objects.get(kind="channel.email_bounce")
    assert event.data["permanent"] is False
    assert event.data["recipients"][0]["status"] == "4.4.1"


def test_a_bounce_of_mail_we_did_not_send_opens_nothing(shop: Shop) -> None:
    _deliver(shop.email, _dsn("CAF00@mail.gmail.com"))

    assert not Ticket.objects.exists()
    assert Event.objects.get(kind="channel.email_bounce").data["original_message_id"] == (
        "CAF00@mail.gmail.com"
    )


@pytest.mark.parametrize(
    "sender",
    ["Batik Sari <cs@batiksari.id>", "CS+1042@BatikSari.id", "Pesanan <order@batiksari.id>"],
)
def test_mail_from_our_own_addresses_is_not_ingested(shop: Shop, sender: str) -> None:
    shop.email.config = {**shop.email.config, "aliases": ["order@batiksari.id"]}
    shop.email.save(update_fields=["config"])

    _deliver(shop.email, _mail(From=sender))

    assert not Ticket.objects.exists()
    event = Event.objects.get(kind="channel.email_ignored")
    assert event.data["reason"] == "own_address"


def test_a_copy_of_our_own_sent_mail_is_not_ingested(shop: Shop) -> None:
    our_id = ids.make(1001, 7, "batiksari.id")
    # Forwarded back by a customer's list server, with their From: only our signed id tells.
    _deliver(shop.email, _mail(Message_ID=f"<{our_id}>"))
    assert not Ticket.objects.exists()
    assert Event.objects.get(kind="channel.email_ignored").data["reason"] == "own_message"
    # A look-alike id with a wrong signature is a customer's mail like any other.
    forged = "loket.1001.7.aaaaaaaaaa@batiksari.id"
    assert forged != our_id
    _deliver(shop.email, _mail(Message_ID=f"<{forged}>"))
    assert Ticket.objects.count() == 1


def test_our_loop_marker_stops_a_mail(shop: Shop) -> None:
    _deliver(shop.email, _mail(X_Loop="loket"))
    assert not Ticket.objects.exists()
    assert Event.objects.get(kind="channel.email_ignored").data["reason"] == "loop"


def test_a_stranger_naming_our_address_is_still_a_customer(shop: Shop) -> None:
    _deliver(shop.email, _mail(From='"cs@batiksari.id" <penipu@contoh.com>'))

    message = Message.objects.get()
    assert message.identity is not None
    assert message.identity.value == "penipu@contoh.com"
    assert message.meta["sender_warnings"]["display_address"] == "cs@batiksari.id"


def test_an_out_of_office_reply_is_kept_flagged_and_reopens_nothing(shop: Shop) -> None:
    reply = _sent_reply(shop)
    ticket = reply.ticket
    services.set_status(ticket, Status.PENDING, actor=shop.wati)

    _deliver(
        shop.email,
        _mail(
            Subject="Automatic reply: Re: Tanya stok batik",
            Message_ID="<ooo.1@contoh.co.id>",
            In_Reply_To=f"<{OUR_ID}>",
            Auto_Submitted="auto-replied",
            X_Auto_Response_Suppress="All",
            X_MS_Exchange_Inbox_Rules_Loop="rudi@contoh.co.id",
        ),
    )

    ooo = Message.objects.get(external_id="ooo.1@contoh.co.id")
    assert ooo.ticket == ticket
    assert ooo.meta["automatic"] is True
    assert ooo.meta["auto_reply"].startswith("Auto-Submitted")
    assert ooo.meta["out_of_office"] is True
    ticket.refresh_from_db()
    assert ticket.status == Status.PENDING


def test_a_person_writing_auto_submitted_no_is_a_person(shop: Shop) -> None:
    _deliver(shop.email, _mail(Auto_Submitted="no"))
    message = Message.objects.get()
    assert "automatic" not in message.meta
    assert message.ticket.waiting_since is not None


def test_sender_warnings_and_thread_headers_are_kept(shop: Shop) -> None:
    _deliver(
        shop.email,
        _mail(
            Authentication_Results="mx.batiksari.id; spf=fail smtp.mailfrom=contoh.co.id; "
            "dmarc=fail header.from=contoh.co.id",
            Reply_To="tagihan@lain.example",
            References="<a@x> <b@y>",
            In_Reply_To="<b@y>",
            Cc="Siti <siti@contoh.co.id>",
        ),
    )

    message = Message.objects.get()
    assert message.identity is not None
    assert message.identity.value == "rudi@contoh.co.id"  # never the Reply-To
    warnings = message.meta["sender_warnings"]
    assert warnings["dmarc"] == "fail"
    assert warnings["reply_to"] == "tagihan@lain.example"
    assert message.meta["references"] == ["a@x", "b@y"]
    assert message.meta["in_reply_to"] == ["b@y"]
    assert "siti@contoh.co.id" in message.meta["cc"]


def test_the_same_message_id_twice_is_one_message(shop: Shop) -> None:
    _deliver(shop.email, _mail())
    _deliver(shop.email, _mail())
    assert Message.objects.count() == 1
