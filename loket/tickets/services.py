"""Every change to tickets and messages goes through here.

Each service validates, writes rows, appends events in the same transaction, and schedules
follow-up work with ``transaction.on_commit``.
"""

from __future__ import annotations

import hashlib
import logging
import random
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import IntegrityError, connection, transaction
from django.db.models import F, Q
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext as _

from loket.accounts.models import Team, User
from loket.audit import services as audit
from loket.channels.items import (
    DeliveryError,
    InboundAttachment,
    InboundMessage,
    SendResult,
    StatusUpdate,
)
from loket.channels.models import Channel
from loket.contacts import services as contacts
from loket.contacts.models import Contact, Identity
from loket.core import clock, site
from loket.core.rowinsert import insert
from loket.core.sequences import next_value
from loket.tickets import search, subjects
from loket.tickets.models import (
    Attachment,
    DeliveryStatus,
    Direction,
    Message,
    Priority,
    Status,
    Tag,
    Ticket,
)
from loket.tickets.status import ACTIVE, can_transition

log = logging.getLogger(__name__)

TICKET_COUNTER = "ticket_number"


# --- helpers ----------------------------------------------------------------------------------
def _preview(text: str) -> str:
    for raw_line in text.splitlines():
        line = raw_line.strip()
        if line:
            return line[:200]
    return ""


def _subject_from(item: InboundMessage) -> str:
    if item.subject.strip():
        return item.subject.strip()[:255]
    return _preview(item.text)[:80]


def store_attachment(message: Message, upload: InboundAttachment, now: datetime) -> Attachment:
    """Store one attachment content-addressed; too large or missing content keeps a note."""
    data = upload.data
    limit: int = settings.LOKET_MAX_ATTACHMENT_BYTES
    note = upload.note
    if data is not None and len(data) > limit:
        # Whole megabytes would say "25 MB; the limit is 25 MB" for a 25.5 MB file.
        note = _("File too large (%(size)s; the limit is %(limit)s); not stored.") % {
            "size": filesizeformat(len(data)),
            "limit": filesizeformat(limit),
        }
        size = len(data)
        digest = hashlib.sha256(data).hexdigest()
        data = None
    elif data is not None:
        size = len(data)
        digest = hashlib.sha256(data).hexdigest()
    else:
        size, digest = 0, ""
    attachment = Attachment(
        message=message,
        name=(upload.name or "attachment")[:255],
        content_type=(upload.content_type or "application/octet-stream")[:255],
        size=size,
        sha256=digest,
        content_id=upload.content_id[:255],
        note=note[:255],
        created_at=now,
    )
    if data is not None:
        path = f"attachments/{digest[:2]}/{digest}"
        if not default_storage.exists(path):
            path = default_storage.save(path, ContentFile(data))
        attachment.file.name = path
    attachment.save()
    return attachment


def _open_ticket(
    *,
    channel: Channel,
    contact: Contact,
    item: InboundMessage,
    now: datetime,
    previous: Ticket | None,
) -> Ticket:
    ticket = insert(
        Ticket(
            number=next_value(TICKET_COUNTER, settings.LOKET_FIRST_TICKET_NUMBER),
            subject=_subject_from(item),
            status=Status.NEW,
            channel=channel,
            contact=contact,
            team_id=channel.team_id,
            created_at=now,
            updated_at=now,
            last_activity_at=now,
            last_customer_message_at=now,
            waiting_since=None if item.automatic else now,
            preview=_inbound_preview(item),
        )
    )
    data: dict[str, Any] = {"number": ticket.number, "channel": channel.kind}
    if previous is not None:
        ticket.related.add(previous)
        data["follows"] = previous.number
    audit.append(
        "ticket.created",
        subject_type="ticket",
        subject_id=ticket.pk,
        ticket_id=ticket.pk,
        data=data,
    )
    return ticket


def _ticket_of(channel: Channel, contact: Contact, external_ids: list[str]) -> Ticket | None:
    """The ticket of the newest message with one of these provider ids.

    On the receiving channel, any sender's reply joins (a colleague in Cc answering). On the
    business's other channels of the same kind, only the ticket's own customer's does: a mail
    for another mailbox never pulls a stranger into its thread (email lessons §6.2)."""
    hit = (
        Message.objects.filter(channel=channel, external_id__in=external_ids)
        .select_related("ticket")
        .order_by("-created_at")
        .first()
    )
    if hit is None:
        siblings = Channel.objects.filter(kind=channel.kind).exclude(pk=channel.pk)
        hit = (
            Message.objects.filter(
                channel__in=siblings, external_id__in=external_ids, ticket__contact=contact
            )
            .select_related("ticket")
            .order_by("-created_at")
            .first()
        )
    return hit.ticket if hit is not None else None


def _takes_part(ticket: Ticket, contact: Contact, identity: Identity) -> bool:
    """The sender is the ticket's customer, or wrote in it, or was written to in it."""
    if ticket.contact_id == contact.pk:
        return True
    return Message.objects.filter(ticket=ticket, identity=identity).exists()


def _named_ticket(
    channel: Channel, contact: Contact, identity: Identity, item: InboundMessage
) -> tuple[Ticket | None, bool]:
    """The ticket the message names, and whether it may join it (email lessons §6).

    In order: In-Reply-To (or a WhatsApp quote) against the channel's stored ids, trusted;
    References, trusted for mail only when the subject is still the ticket's (a reply to an
    old mail that starts a new topic becomes a new ticket that follows the old one); the
    quoted ticket number, trusted only when the sender takes part in that ticket, so a
    stranger quoting "[#1042]" never lands in another customer's conversation.
    """
    untrusted: Ticket | None = None
    if item.reply_to_external_id:
        hit = _ticket_of(channel, contact, [item.reply_to_external_id])
        if hit is not None:
            return hit, True
    refs = [r for r in item.thread_external_ids if r and r != item.reply_to_external_id]
    if refs:
        hit = _ticket_of(channel, contact, refs[-50:])
        if hit is not None:
            if (
                item.threading != "mail"
                or not settings.LOKET_EMAIL_REFERENCES_NEED_SUBJECT
                or subjects.clean(item.subject) == subjects.clean(hit.subject)
            ):
                return hit, True
            untrusted = hit
    if item.ticket_number is not None:
        numbered = Ticket.objects.filter(number=item.ticket_number).first()
        if numbered is not None:
            if _takes_part(numbered, contact, identity):
                return numbered, True
            untrusted = untrusted or numbered
    return untrusted, False


def _follow_ups(ticket: Ticket, contact: Contact) -> list[Ticket]:
    """The contact's newest ticket opened after (linked to) ``ticket``."""
    return list(
        Ticket.objects.filter(
            related=ticket, contact=contact, status__in=[*ACTIVE, Status.SOLVED]
        ).order_by("-last_activity_at")[:1]
    )


def _same_subject(contact: Contact, channel: Channel, item: InboundMessage) -> list[Ticket]:
    """The contact's newest unclosed (or solved) ticket on the channel about the same subject:
    a customer's new mail joins it only then (never another customer's, whatever its
    subject)."""
    wanted = subjects.clean(item.subject)
    if not wanted:
        return []
    # Ids and subjects only (this runs for every new mail); the one match is loaded whole.
    recent = Ticket.objects.filter(
        contact=contact, channel=channel, status__in=[*ACTIVE, Status.SOLVED]
    ).order_by("-last_activity_at")[:50]
    for pk, subject in recent.values_list("pk", "subject"):
        if subjects.clean(subject) == wanted:
            return [Ticket.objects.get(pk=pk)]
    return []


def _latest(contact: Contact, channel: Channel) -> tuple[Ticket | None, Ticket | None]:
    """The contact's newest unclosed ticket on the channel, and its newest solved one."""
    # Written out: this runs for every inbound message, and the queryset's compilation
    # costs four times the query.
    recent = list(
        Ticket.objects.raw(
            f"SELECT * FROM {Ticket._meta.db_table} "  # noqa: S608 (table name only)
            "WHERE contact_id = %s AND channel_id = %s AND status IN (%s, %s, %s, %s) "
            "ORDER BY last_activity_at DESC LIMIT 8",
            [contact.pk, channel.pk, *sorted(ACTIVE), Status.SOLVED],
        )
    )
    active = next((t for t in recent if t.status in ACTIVE), None)
    solved = next((t for t in recent if t.status == Status.SOLVED), None)
    if active is None and len(recent) == 8:  # many newer solved tickets hide an open one
        active = (
            Ticket.objects.filter(contact=contact, channel=channel, status__in=ACTIVE)
            .order_by("-last_activity_at")
            .first()
        )
    return active, solved


def _continue_or_open(
    channel: Channel,
    contact: Contact,
    identity: Identity,
    item: InboundMessage,
    now: datetime,
    *,
    new_contact: bool,
) -> tuple[Ticket, bool]:
    """Thread an inbound message; returns the ticket and whether it was opened for it.

    In order: the ticket the message names (reply headers, quoted number: see
    ``_named_ticket``); then, for chat, the contact's unclosed ticket on this channel and its
    latest solved one; for mail, the contact's ticket with the same subject. A customer seen
    for the first time joins only a ticket named by trusted evidence. A solved ticket takes the
    message within the site's reopen period (and reopens); a closed one never does. Automatic
    messages join a solved ticket whatever its age and never change a status. When no ticket
    takes the message, a new one is opened, linked to the ticket it follows.
    """
    window = timedelta(days=site.reopen_days())  # from memory: no query per message

    def takes(ticket: Ticket) -> bool:
        if ticket.status in ACTIVE:
            return True
        if ticket.status != Status.SOLVED:
            return False
        recent = ticket.solved_at is not None and now - ticket.solved_at <= window
        return item.automatic or recent

    quoted, trusted = _named_ticket(channel, contact, identity, item)
    candidates: list[Ticket | None]
    if quoted is not None and trusted and takes(quoted):
        candidates = [quoted]
    elif new_contact:
        candidates = []
    elif item.threading == "mail":
        # A mail naming a ticket that cannot take it joins the contact's follow-up of that
        # ticket, or starts one; a mail naming none joins the contact's same-subject ticket.
        candidates = [*_follow_ups(quoted, contact)] if quoted is not None else []
        if not trusted:
            candidates += _same_subject(contact, channel, item)
    else:
        active, solved = _latest(contact, channel)
        candidates = [active] if quoted else [active, solved]
        if quoted is None:
            quoted = solved  # the ticket a new one follows
    for ticket in candidates:
        if ticket is not None and takes(ticket):
            if not item.automatic and ticket.status in {Status.PENDING, Status.SOLVED}:
                _change_status(ticket, Status.OPEN, audit.SYSTEM, now, reason="customer_reply")
            return ticket, False
    opened = _open_ticket(channel=channel, contact=contact, item=item, now=now, previous=quoted)
    return opened, True


# --- inbound ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Received:
    message: Message
    created: bool


def receive(channel: Channel, item: InboundMessage) -> Received:
    """Store one inbound message in its ticket. Idempotent on (channel, provider id)."""
    for attempt in range(3):
        try:
            with transaction.atomic(), audit.batch():
                return _receive(channel, item)
        except IntegrityError:
            # A concurrent delivery of the same message or customer won the race: go again,
            # and the second pass finds what it committed.
            if attempt == 2:
                raise
    raise AssertionError("unreachable")


def _known_message_id(channel: Channel, external_id: str) -> int | None:
    """The id of the message with this provider id, if stored (hot path: one indexed read)."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT id FROM {Message._meta.db_table} "  # noqa: S608 (table name only)
            "WHERE channel_id = %s AND external_id = %s",
            [channel.pk, external_id],
        )
        row = cursor.fetchone()
    return int(row[0]) if row else None


def _touch_ticket(ticket: Ticket) -> None:
    """Write a continuing ticket's activity fields (the per-message UPDATE, written out)."""
    adapt = connection.ops.adapt_datetimefield_value
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {Ticket._meta.db_table} SET last_activity_at = %s, updated_at = %s, "  # noqa: S608
            "last_customer_message_at = %s, waiting_since = %s, preview = %s WHERE id = %s",
            [
                adapt(ticket.last_activity_at),
                adapt(ticket.updated_at),
                adapt(ticket.last_customer_message_at),
                adapt(ticket.waiting_since),
                ticket.preview,
                ticket.pk,
            ],
        )


def _inbound_preview(item: InboundMessage) -> str:
    return _preview(item.text) or (item.attachments[0].name[:200] if item.attachments else "")


def _resolve_sender(item: InboundMessage) -> contacts.Resolved:
    sender = item.sender
    if item.other_senders:
        return contacts.resolve_with_aliases(
            sender.kind,
            sender.value,
            [(s.kind, s.value, s.international) for s in item.other_senders],
            name=sender.name,
            international=sender.international,
        )
    return contacts.resolve(
        sender.kind, sender.value, name=sender.name, international=sender.international
    )


def _receive(channel: Channel, item: InboundMessage) -> Received:
    known = _known_message_id(channel, item.external_id)
    if known is not None:
        return Received(Message.objects.get(pk=known), created=False)
    resolved = _resolve_sender(item)
    contact, identity = resolved.contact, resolved.identity
    if contact.merged_into_id is not None:
        contact = Contact.objects.get(pk=contact.merged_into_id)
    if connection.features.has_select_for_update:
        # One writer per customer at a time: concurrent messages from a new customer make
        # one ticket. (SQLite needs no row lock: it runs one writer at a time.)
        contact = Contact.objects.select_for_update().get(pk=contact.pk)
    now = clock.now()
    if resolved.created and not (
        item.reply_to_external_id or item.thread_external_ids or item.ticket_number
    ):  # a customer seen for the first time, naming no ticket: nothing to continue
        ticket = _open_ticket(channel=channel, contact=contact, item=item, now=now, previous=None)
        created = True
    else:
        ticket, created = _continue_or_open(
            channel, contact, identity, item, now, new_contact=resolved.created
        )
    reply_to = None
    if item.reply_to_external_id:
        reply_to = Message.objects.filter(
            ticket=ticket, external_id=item.reply_to_external_id
        ).first()
    meta = dict(item.meta)
    if item.automatic:
        meta["automatic"] = True
    message = insert(
        Message(
            ticket=ticket,
            channel=channel,
            direction=Direction.INBOUND,
            identity=identity,
            subject=item.subject[:255],
            text=item.text,
            html=item.html,
            external_id=item.external_id,
            reply_to=reply_to,
            delivery_status=DeliveryStatus.RECEIVED,
            created_at=now,
            sent_at=item.sent_at,
            meta=meta,
        )
    )
    for upload in item.attachments:
        store_attachment(message, upload, now)
    if not created:
        ticket.last_activity_at = now
        ticket.updated_at = now
        ticket.last_customer_message_at = now
        if not item.automatic and ticket.waiting_since is None:
            ticket.waiting_since = now
        ticket.preview = _inbound_preview(item)
        _touch_ticket(ticket)
    # The channel's health shows when it last heard from a customer; a minute's precision
    # spares a write per message.
    if channel.last_inbound_at is None or now - channel.last_inbound_at > timedelta(minutes=1):
        Channel.objects.filter(pk=channel.pk).update(last_inbound_at=now)
        channel.last_inbound_at = now
    audit.append(
        "message.received",
        actor=audit.Actor(None, f"contact:{contact.pk}"),
        subject_type="message",
        subject_id=message.pk,
        ticket_id=ticket.pk,
        data={
            "channel": channel.kind,
            "contact_id": contact.pk,
            "new_ticket": created,
            "attachments": len(item.attachments),
        },
    )
    search.index_message(message, ticket=ticket if created else None)
    return Received(message, created=True)


_FORWARD: dict[str, int] = {
    DeliveryStatus.QUEUED: 0,
    DeliveryStatus.SENDING: 1,
    DeliveryStatus.SENT: 2,
    DeliveryStatus.DELIVERED: 3,
    DeliveryStatus.READ: 4,
}


def apply_status(channel: Channel, update: StatusUpdate) -> bool:
    """Move an outbound message forward (sent → delivered → read, or failed). Never back.

    Returns False when no message has that provider id yet (the status came before our send
    finished): the caller keeps the delivery and tries again later.
    """
    with transaction.atomic():
        message = (
            Message.objects.select_for_update()
            .filter(channel=channel, external_id=update.external_id, direction=Direction.OUTBOUND)
            .first()
        )
        if message is None:
            return False
        current = message.delivery_status
        at = update.at or clock.now()
        if update.status == DeliveryStatus.FAILED:
            if current in {DeliveryStatus.READ, DeliveryStatus.FAILED}:
                return True
            _mark_failed(message, update.error_code, update.error_reason, at)
            return True
        target_rank = _FORWARD.get(update.status)
        if target_rank is None or current == DeliveryStatus.FAILED:
            return True
        if target_rank <= _FORWARD.get(current, -1):
            return True  # late or duplicate news
        fields = ["delivery_status"]
        message.delivery_status = update.status
        if message.sent_at is None:
            message.sent_at = at
            fields.append("sent_at")
        if target_rank >= _FORWARD[DeliveryStatus.DELIVERED] and message.delivered_at is None:
            message.delivered_at = at
            fields.append("delivered_at")
        if update.status == DeliveryStatus.READ:
            message.read_at = at
            fields.append("read_at")
        message.save(update_fields=fields)
        audit.append(
            f"message.{update.status}",
            subject_type="message",
            subject_id=message.pk,
            ticket_id=message.ticket_id,
            data={"external_id": update.external_id},
        )
    return True


# --- outbound ---------------------------------------------------------------------------------
def _answer_channel(ticket: Ticket, identity: Identity) -> Channel:
    """The channel that reaches ``identity``: the ticket's own, or one of the identity's kind."""
    kind_of_identity = {"phone": "whatsapp", "whatsapp_user": "whatsapp", "email": "email"}.get(
        identity.kind, identity.kind
    )
    if ticket.channel.kind == kind_of_identity:
        return ticket.channel
    candidates = Channel.objects.filter(kind=kind_of_identity, enabled=True).order_by("pk")
    channel = candidates.filter(team=ticket.team_id).first() or candidates.first()
    if channel is None:
        raise ValidationError(
            _("No active channel can reach %(address)s.") % {"address": identity.value}
        )
    return channel


def _reply_identity(ticket: Ticket) -> Identity | None:
    last_in = (
        Message.objects.filter(ticket=ticket, direction=Direction.INBOUND, identity__isnull=False)
        .select_related("identity")
        .order_by("-created_at")
        .first()
    )
    if last_in is not None and last_in.identity is not None:
        return last_in.identity
    kind = "phone" if ticket.channel.kind == "whatsapp" else ticket.channel.kind
    return ticket.contact.identities.filter(kind=kind).order_by("pk").first()


def reply(
    ticket: Ticket,
    author: User,
    text: str,
    *,
    html: str = "",
    attachments: Sequence[InboundAttachment] = (),
    identity: Identity | None = None,
    reply_to: Message | None = None,
    meta: dict[str, Any] | None = None,
) -> Message:
    """Queue an answer to the customer. The ``deliver`` task sends it after commit.

    ``meta`` carries channel-specific instructions for the adapter, kept on the message
    (``{"wa": {"template": {...}}}`` sends a WhatsApp template; docs/adr/0004-whatsapp.md).
    On WhatsApp, free text outside the customer's 24-hour window is refused here with the
    code ``window_closed``: only a template reaches the customer then.
    """
    text = text.strip()
    meta = dict(meta or {})
    wa = meta.get("wa") or {}
    if not text and not attachments and not wa:
        raise ValidationError(_("Write a message or attach a file."))
    with transaction.atomic():
        ticket = Ticket.objects.select_for_update().select_related("channel").get(pk=ticket.pk)
        if ticket.status == Status.CLOSED:
            raise ValidationError(
                _("This ticket is closed; open a follow-up ticket to answer."), code="ticket_closed"
            )
        if identity is None:
            identity = _reply_identity(ticket)
        if identity is None:
            raise ValidationError(_("This customer has no address to answer on."))
        if identity.contact_id != ticket.contact_id:
            raise ValidationError(_("That address belongs to another customer."))
        channel = _answer_channel(ticket, identity)
        now = clock.now()
        if channel.kind == "whatsapp" and not wa.get("template"):
            from loket.channels.whatsapp import window

            if not window.is_open(channel, ticket.contact_id, now):
                raise ValidationError(
                    _(
                        "The customer has not written on WhatsApp for 24 hours, so a free "
                        "message would not arrive. Send an approved template instead."
                    ),
                    code="window_closed",
                )
        message = Message.objects.create(
            ticket=ticket,
            channel=channel,
            direction=Direction.OUTBOUND,
            author=author,
            identity=identity,
            text=text,
            html=html,
            reply_to=reply_to,
            delivery_status=DeliveryStatus.QUEUED,
            created_at=now,
            meta=meta,
        )
        for upload in attachments:
            store_attachment(message, upload, now)
        ticket.updated_at = now
        if wa.get("reaction"):
            # An emoji on the customer's message is not an answer: the customer still waits,
            # and the inbox keeps showing what they wrote.
            ticket.save(update_fields=["updated_at"])
        else:
            if ticket.first_response_at is None:
                ticket.first_response_at = now
            ticket.waiting_since = None
            ticket.last_activity_at = now
            ticket.preview = _preview(text) or (attachments[0].name if attachments else "")
            ticket.save()
            if ticket.status == Status.NEW:
                _change_status(ticket, Status.OPEN, audit.actor_for(author), now)
        audit.append(
            "message.queued",
            actor=audit.actor_for(author),
            subject_type="message",
            subject_id=message.pk,
            ticket_id=ticket.pk,
            data={"channel": channel.kind, "to": identity.value},
        )
        search.index_message(message)
        message_id = message.pk
        transaction.on_commit(lambda: enqueue_delivery(message_id))
    return message


def add_note(ticket: Ticket, author: User, text: str) -> Message:
    """An internal note: visible to agents only, never sent anywhere."""
    text = text.strip()
    if not text:
        raise ValidationError(_("A note cannot be empty."))
    with transaction.atomic():
        now = clock.now()
        message = Message.objects.create(
            ticket=ticket,
            direction=Direction.NOTE,
            author=author,
            text=text,
            delivery_status="",
            created_at=now,
        )
        Ticket.objects.filter(pk=ticket.pk).update(updated_at=now)
        audit.append(
            "note.added",
            actor=audit.actor_for(author),
            subject_type="message",
            subject_id=message.pk,
            ticket_id=ticket.pk,
        )
        search.index_message(message)
    return message


def enqueue_delivery(message_id: int, *, delay: timedelta | None = None) -> None:
    from loket.tickets.tasks import deliver

    if delay is None:
        deliver.enqueue(message_id)
    else:
        deliver.using(run_after=clock.now() + delay).enqueue(message_id)


def backoff(attempt: int, *, base: float = 5.0, cap: float = 900.0) -> timedelta:
    """Capped exponential backoff with jitter: 5 s, 10 s, 20 s ... at most 15 minutes."""
    seconds = min(cap, base * 2 ** max(0, attempt - 1))
    return timedelta(seconds=seconds * random.uniform(0.8, 1.2))  # noqa: S311


def deliver_now(message_id: int) -> str:
    """Send one queued message through its channel's adapter. Idempotent: a message that is
    not queued (already sent, being sent, failed) is left alone. Returns the new status."""
    from loket.channels.registry import UnknownChannelKind, adapter_for

    claimed = Message.objects.filter(
        pk=message_id, delivery_status=DeliveryStatus.QUEUED, direction=Direction.OUTBOUND
    ).update(
        delivery_status=DeliveryStatus.SENDING,
        attempts=F("attempts") + 1,
        sending_since=clock.now(),
    )
    if not claimed:
        status: str = (
            Message.objects.filter(pk=message_id).values_list("delivery_status", flat=True).first()
            or ""
        )
        return status
    message = Message.objects.select_related("channel", "identity", "ticket").get(pk=message_id)
    channel = message.channel
    if channel is None:  # notes have no channel and are never queued
        return DeliveryStatus.FAILED
    try:
        result = adapter_for(channel.kind).send(channel, message)
    except UnknownChannelKind:
        unsupported = DeliveryError(
            "channel_unsupported", _("This channel cannot send messages yet."), retryable=False
        )
        return _delivery_failed(message, unsupported)
    except DeliveryError as error:
        return _delivery_failed(message, error)
    except Exception as exc:  # an adapter bug or a network error we did not map
        log.exception("sending message %s failed", message_id)
        unexpected = DeliveryError("internal", f"{type(exc).__name__}: {exc}", retryable=True)
        return _delivery_failed(message, unexpected)
    return _record_sent(message, channel, result)


def _record_sent(message: Message, channel: Channel, result: SendResult) -> str:
    with transaction.atomic():
        now = clock.now()
        # QUEUED too: a very slow send may have been put back by requeue_stuck meanwhile;
        # recording it as sent stops a second copy from going out.
        recorded = Message.objects.filter(
            pk=message.pk, delivery_status__in=[DeliveryStatus.SENDING, DeliveryStatus.QUEUED]
        ).update(
            delivery_status=DeliveryStatus.SENT,
            external_id=result.external_id,
            sent_at=now,
            failure_code="",
            failure_reason="",
        )
        if not recorded:
            log.warning("message %s was sent but had already moved on; not recorded", message.pk)
            return str(Message.objects.values_list("delivery_status", flat=True).get(pk=message.pk))
        if result.meta:
            message.meta.update(result.meta)
            Message.objects.filter(pk=message.pk).update(meta=message.meta)
        audit.append(
            "message.sent",
            subject_type="message",
            subject_id=message.pk,
            ticket_id=message.ticket_id,
            data={"channel": channel.kind, "external_id": result.external_id},
        )
    return DeliveryStatus.SENT


def _delivery_failed(message: Message, error: DeliveryError) -> str:
    max_attempts: int = settings.LOKET_DELIVERY_MAX_ATTEMPTS
    if error.deferred or (error.retryable and message.attempts < max_attempts):
        changes: dict[str, Any] = {"delivery_status": DeliveryStatus.QUEUED}
        if error.deferred:  # held back before any attempt: not an attempt, not a failure
            changes["attempts"] = F("attempts") - 1
        else:
            changes.update(failure_code=error.code[:64], failure_reason=error.reason)
        requeued = Message.objects.filter(
            pk=message.pk, delivery_status=DeliveryStatus.SENDING
        ).update(**changes)
        if not requeued:  # someone else (requeue_stuck, a status callback) moved it meanwhile
            return str(Message.objects.values_list("delivery_status", flat=True).get(pk=message.pk))
        if error.retry_after is not None:
            delay = timedelta(seconds=max(0.0, error.retry_after))
        else:
            delay = backoff(message.attempts)
        transaction.on_commit(lambda: enqueue_delivery(message.pk, delay=delay))
        log.log(
            logging.INFO if error.deferred else logging.WARNING,
            "message %s: attempt %s %s (%s), retrying in %ss",
            message.pk,
            message.attempts,
            "held back" if error.deferred else "failed",
            error.code,
            int(delay.total_seconds()),
        )
        return DeliveryStatus.QUEUED
    with transaction.atomic():
        _mark_failed(message, error.code, error.reason, clock.now())
    return DeliveryStatus.FAILED


def _mark_failed(message: Message, code: str, reason: str, at: datetime) -> None:
    Message.objects.filter(pk=message.pk).update(
        delivery_status=DeliveryStatus.FAILED,
        failure_code=code[:64],
        failure_reason=reason,
        failed_at=at,
    )
    audit.append(
        "message.delivery_failed",
        subject_type="message",
        subject_id=message.pk,
        ticket_id=message.ticket_id,
        data={"code": code, "reason": reason},
    )


def requeue_stuck(older_than: timedelta = timedelta(minutes=10)) -> int:
    """Messages left in 'sending' by a crashed worker go back to the queue.

    Stuck means the current attempt was claimed long ago (not that the message is old: a
    slow attempt on an old message is alive, and requeueing it would send it twice).
    """
    cutoff = clock.now() - older_than
    stuck = Message.objects.filter(delivery_status=DeliveryStatus.SENDING).filter(
        Q(sending_since__lt=cutoff) | Q(sending_since__isnull=True, created_at__lt=cutoff)
    )
    requeued = 0
    for pk in list(stuck.values_list("pk", flat=True)):
        if stuck.filter(pk=pk).update(delivery_status=DeliveryStatus.QUEUED, sending_since=None):
            requeued += 1
            enqueue_delivery(pk)
    return requeued


# --- ticket properties ------------------------------------------------------------------------
def _change_status(
    ticket: Ticket, status: str, actor: audit.Actor, now: datetime, *, reason: str = ""
) -> None:
    previous = ticket.status
    ticket.status = status
    if status == Status.SOLVED:
        ticket.solved_at = now
    elif status == Status.CLOSED:
        ticket.closed_at = now
    elif previous == Status.SOLVED:
        ticket.solved_at = None
    ticket.updated_at = now
    ticket.save(update_fields=["status", "solved_at", "closed_at", "updated_at"])
    data = {"from": previous, "to": status}
    if reason:
        data["reason"] = reason
    audit.append(
        "ticket.status_changed",
        actor=actor,
        subject_type="ticket",
        subject_id=ticket.pk,
        ticket_id=ticket.pk,
        data=data,
    )


def set_status(ticket: Ticket, status: str, *, actor: User | None) -> Ticket:
    if status not in Status.values:
        raise ValidationError(_("Unknown status: %s") % status)
    with transaction.atomic():
        ticket = Ticket.objects.select_for_update().get(pk=ticket.pk)
        if ticket.status == status:
            return ticket
        if not can_transition(ticket.status, status):
            raise ValidationError(
                _("A %(current)s ticket cannot become %(target)s.")
                % {"current": Status(ticket.status).label, "target": Status(status).label},
                code="invalid_transition",
            )
        _change_status(ticket, status, audit.actor_for(actor), clock.now())
    return ticket


def assign(ticket: Ticket, assignee: User | None, *, actor: User | None) -> Ticket:
    if assignee is not None and not assignee.is_active:
        raise ValidationError(_("%s is deactivated.") % assignee)
    with transaction.atomic():
        ticket = Ticket.objects.select_for_update().get(pk=ticket.pk)
        if ticket.assignee_id == (assignee.pk if assignee else None):
            return ticket
        previous = ticket.assignee_id
        ticket.assignee = assignee
        ticket.updated_at = clock.now()
        ticket.save(update_fields=["assignee", "updated_at"])
        audit.append(
            "ticket.assigned",
            actor=audit.actor_for(actor),
            subject_type="ticket",
            subject_id=ticket.pk,
            ticket_id=ticket.pk,
            data={"from": previous, "to": assignee.pk if assignee else None},
        )
    return ticket


def set_team(ticket: Ticket, team: Team | None, *, actor: User | None) -> Ticket:
    with transaction.atomic():
        ticket = Ticket.objects.select_for_update().get(pk=ticket.pk)
        if ticket.team_id == (team.pk if team else None):
            return ticket
        previous = ticket.team_id
        ticket.team = team
        ticket.updated_at = clock.now()
        ticket.save(update_fields=["team", "updated_at"])
        audit.append(
            "ticket.team_changed",
            actor=audit.actor_for(actor),
            subject_type="ticket",
            subject_id=ticket.pk,
            ticket_id=ticket.pk,
            data={"from": previous, "to": team.pk if team else None},
        )
    return ticket


def set_priority(ticket: Ticket, priority: str, *, actor: User | None) -> Ticket:
    if priority not in Priority.values:
        raise ValidationError(_("Unknown priority: %s") % priority)
    with transaction.atomic():
        ticket = Ticket.objects.select_for_update().get(pk=ticket.pk)
        if ticket.priority == priority:
            return ticket
        previous = ticket.priority
        ticket.priority = priority
        ticket.updated_at = clock.now()
        ticket.save(update_fields=["priority", "updated_at"])
        audit.append(
            "ticket.priority_changed",
            actor=audit.actor_for(actor),
            subject_type="ticket",
            subject_id=ticket.pk,
            ticket_id=ticket.pk,
            data={"from": previous, "to": priority},
        )
    return ticket


def clean_tag(name: str) -> str:
    tag = " ".join(name.strip().lower().split())
    if not tag or len(tag) > 50:
        raise ValidationError(_("A tag has 1 to 50 characters."))
    return tag


def set_tags(ticket: Ticket, names: Iterable[str], *, actor: User | None) -> list[str]:
    wanted = sorted({clean_tag(n) for n in names})
    with transaction.atomic():
        ticket = Ticket.objects.select_for_update().get(pk=ticket.pk)
        current = sorted(ticket.tags.values_list("name", flat=True))
        if current == wanted:
            return wanted
        tags = []
        for name in wanted:
            tag, _created = Tag.objects.get_or_create(name=name)
            tags.append(tag)
        ticket.tags.set(tags)
        ticket.updated_at = clock.now()
        ticket.save(update_fields=["updated_at"])
        audit.append(
            "ticket.tags_changed",
            actor=audit.actor_for(actor),
            subject_type="ticket",
            subject_id=ticket.pk,
            ticket_id=ticket.pk,
            data={
                "added": sorted(set(wanted) - set(current)),
                "removed": sorted(set(current) - set(wanted)),
            },
        )
    return wanted


def link(ticket: Ticket, other: Ticket, *, actor: User | None) -> None:
    if ticket.pk == other.pk:
        raise ValidationError(_("A ticket cannot be linked to itself."))
    with transaction.atomic():
        ticket.related.add(other)
        audit.append(
            "ticket.linked",
            actor=audit.actor_for(actor),
            subject_type="ticket",
            subject_id=ticket.pk,
            ticket_id=ticket.pk,
            data={"other": other.number},
        )
