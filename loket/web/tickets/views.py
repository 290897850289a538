"""The ticket page: the conversation (full page or fragment), its timeline, downloads."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.files.storage import default_storage
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from loket.accounts.models import Team, User
from loket.accounts.permissions import can_assign, can_reassign, can_view
from loket.channels.models import ChannelKind, Delivery
from loket.contacts import selectors as contacts
from loket.contacts.models import Identity
from loket.core import clock
from loket.notifications import services as notifications
from loket.tickets import selectors
from loket.tickets.models import (
    Attachment,
    DeliveryStatus,
    Direction,
    Message,
    Priority,
    Status,
    Ticket,
)
from loket.tickets.status import TRANSITIONS
from loket.web.tickets import timeline, wa_compose, wa_timeline
from loket.web.tickets.forms import ComposerForm


def agent_of(request: HttpRequest) -> User:
    user = request.user
    assert isinstance(user, User)  # noqa: S101 (login_required)
    return user


def is_htmx(request: HttpRequest) -> bool:
    return request.headers.get("HX-Request") == "true"


def visible_detail(user: User, number: int) -> Ticket:
    """The ticket with everything its page shows; 404 when the user may not see it."""
    ticket = selectors.ticket_detail(user, number)
    if ticket is None:
        raise Http404
    return ticket


@dataclass(frozen=True)
class Powers:
    """What the agent may do on this ticket (from accounts.permissions)."""

    reassign: bool  # any assignee, any team
    take: bool  # "assign to me"
    drop: bool  # unassign themselves
    merge: bool


def powers(user: User, ticket: Ticket) -> Powers:
    reassign = can_reassign(user, ticket)
    return Powers(
        reassign=reassign,
        take=ticket.assignee_id != user.pk and can_assign(user, ticket, user),
        drop=ticket.assignee_id is not None and can_assign(user, ticket, None),
        merge=reassign,
    )


def default_identity(ticket: Ticket) -> Identity | None:
    """The address the customer last wrote from, else the first of the ticket's channel kind."""
    for message in reversed(list(ticket.messages.all())):
        if message.direction == Direction.INBOUND and message.identity is not None:
            return message.identity
    identities = list(ticket.contact.identities.all())
    kind = "phone" if ticket.channel.kind == "whatsapp" else ticket.channel.kind
    return next((i for i in identities if i.kind == kind), identities[0] if identities else None)


def bounced(identities: list[Identity]) -> dict[int, Message]:
    """The email addresses among ``identities`` whose latest mail from us bounced for good
    (email lessons §8.3), with that failed message: the composer warns before another mail
    goes the same way. One query; a later mail that went out clears the warning."""
    emails = [i.pk for i in identities if i.kind == "email"]
    if not emails:
        return {}
    latest: dict[int, Message] = {}
    for message in (
        Message.objects.filter(
            identity_id__in=emails,
            direction=Direction.OUTBOUND,
            delivery_status__in=[
                DeliveryStatus.SENT,
                DeliveryStatus.DELIVERED,
                DeliveryStatus.FAILED,
            ],
        )
        .only(
            "identity_id",
            "delivery_status",
            "failure_code",
            "failure_reason",
            "failed_at",
            "created_at",
        )
        .order_by("-created_at")[:50]
    ):
        latest.setdefault(int(message.identity_id or 0), message)
    return {
        pk: m
        for pk, m in latest.items()
        if m.delivery_status == DeliveryStatus.FAILED and m.failure_code.startswith("bounce:5")
    }


def timeline_context(user: User, ticket: Ticket) -> dict[str, Any]:
    agents = {u.pk: u for u in User.objects.filter(is_active=True).order_by("name", "pk")}
    teams = {t.pk: t for t in Team.objects.order_by("name")}
    return {
        "ticket": ticket,
        "entries": timeline.build(ticket, agents, teams),
        "polling": timeline.awaiting_delivery(ticket),
        "agents": list(agents.values()),
        "teams": list(teams.values()),
        "long_text": timeline.LONG_TEXT,
        "lazy_text": timeline.LAZY_TEXT,
        "inline_images": timeline.INLINE_IMAGES,
        "inline_audio": timeline.INLINE_AUDIO,
        "inline_video": timeline.INLINE_VIDEO,
        "reactions": wa_timeline.REACTIONS,
    }


def side_context(
    user: User, ticket: Ticket, agents: list[User], teams: list[Team]
) -> dict[str, Any]:
    customer = contacts.contact_detail(user, ticket.contact_id)
    return {
        "ticket": ticket,
        "powers": powers(user, ticket),
        "agents": agents,
        "teams": teams,
        "statuses": [
            (value, label)
            for value, label in Status.choices
            if value == ticket.status or value in TRANSITIONS[ticket.status]
        ],
        "priorities": Priority.choices,
        "tags_text": ", ".join(t.name for t in ticket.tags.all()),
        "customer": customer,
    }


def page_context(
    request: HttpRequest, user: User, ticket: Ticket, form: ComposerForm | None = None
) -> dict[str, Any]:
    context = timeline_context(user, ticket)
    context.update(side_context(user, ticket, context["agents"], context["teams"]))
    identities = list(ticket.contact.identities.all())
    chosen = default_identity(ticket)
    window, window_open = timeline.whatsapp_window(ticket, clock.now())
    whatsapp = ticket.channel.kind == "whatsapp"
    context.update(
        {
            "window": window,
            "window_open": window_open,
            "whatsapp": whatsapp,
            # Outside the window the templates are the way forward: listed right away (one
            # query); inside it they load when the agent opens the picker.
            "picker_open": whatsapp and not window_open,
            "templates": wa_compose.approved(ticket) if whatsapp and not window_open else None,
            "quoted": None,
            "identities": identities,
            "bounced": {
                pk: {"address": i.value, "when": m.failed_at or m.created_at}
                for pk, m in bounced(identities).items()
                for i in identities
                if i.pk == pk
            },
            "form": form,
            "chosen_identity": chosen.pk if chosen else None,
            "mode": form.data.get("mode", "reply")
            if form is not None and form.is_bound
            else "reply",
            "max_bytes": settings.LOKET_MAX_ATTACHMENT_BYTES,
        }
    )
    return context


@login_required
@require_GET
def detail(request: HttpRequest, number: int) -> HttpResponse:
    user = agent_of(request)
    ticket = visible_detail(user, number)
    notifications.mark_ticket_read(user, ticket.pk)
    wa_compose.mark_read(ticket)
    context = page_context(request, user, ticket)
    context["fragment"] = is_htmx(request)
    if is_htmx(request):
        return render(request, "web/tickets/conversation.html", context)
    return render(request, "web/tickets/detail.html", context)


@login_required
@require_GET
def timeline_fragment(request: HttpRequest, number: int) -> HttpResponse:
    user = agent_of(request)
    ticket = visible_detail(user, number)
    wa_compose.mark_read(ticket)  # a message that came in while the agent looks on
    return render(request, "web/tickets/timeline.html", timeline_context(user, ticket))


@login_required
@require_GET
def side_fragment(request: HttpRequest, number: int) -> HttpResponse:
    user = agent_of(request)
    ticket = visible_detail(user, number)
    agents = list(User.objects.filter(is_active=True).order_by("name", "pk"))
    teams = list(Team.objects.order_by("name"))
    return render(request, "web/tickets/side_live.html", side_context(user, ticket, agents, teams))


@login_required
@require_GET
def message_text(request: HttpRequest, pk: int) -> HttpResponse:
    """A message's whole text, for a long trimmed mail whose quoted history is loaded only
    when the agent opens it (the page stays light on long threads); 404 unless the agent
    may see the ticket."""
    user = agent_of(request)
    message = Message.objects.select_related("ticket").filter(pk=pk).first()
    if message is None or not can_view(user, message.ticket):
        raise Http404
    return render(request, "web/tickets/message_text.html", {"text": message.text})


@login_required
@require_GET
def original(request: HttpRequest, pk: int) -> HttpResponse:
    """The raw mail of an email message, byte for byte, as a download (.eml), if the agent may
    see its ticket (404 otherwise): for an inbound mail the delivery it was read from, for a
    reply the mail as it was sent. The whole original, headers included, one click from the
    trimmed view (email lessons §5.1, §13.10, §14)."""
    user = agent_of(request)
    message = Message.objects.select_related("ticket", "channel").filter(pk=pk).first()
    if message is None or not can_view(user, message.ticket):
        raise Http404
    if message.channel is None or message.channel.kind != ChannelKind.EMAIL:
        raise Http404
    raw = _raw_mail(message)
    if raw is None:
        raise Http404
    response = HttpResponse(raw, content_type="message/rfc822")
    name = f"loket-{message.ticket.number}-{message.pk}.eml"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    response["Cache-Control"] = "private, no-store"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response


def _raw_mail(message: Message) -> bytes | None:
    delivery_id = message.meta.get("delivery_id")
    if message.direction == Direction.INBOUND and isinstance(delivery_id, int):
        body = (
            Delivery.objects.filter(pk=delivery_id, channel=message.channel)
            .values_list("body", flat=True)
            .first()
        )
        return bytes(body) if body is not None else None
    path = message.meta.get("raw_path")
    if message.direction == Direction.OUTBOUND and isinstance(path, str) and path:
        try:
            with default_storage.open(path, "rb") as handle:
                return bytes(handle.read())
        except OSError:
            return None
    return None


@login_required
@require_GET
def download(request: HttpRequest, pk: int) -> FileResponse:
    """An attachment, if the agent may see its ticket (404 otherwise). Images the browser can
    show safely, voice notes, audio and video open inline (``?inline=1``: the timeline's
    thumbnails and players, from our own origin, which the page's CSP allows as media);
    the rest download."""
    user = agent_of(request)
    attachment = Attachment.objects.select_related("message__ticket").filter(pk=pk).first()
    if attachment is None or not can_view(user, attachment.message.ticket):
        raise Http404
    if not attachment.file:
        raise Http404
    try:
        handle = default_storage.open(str(attachment.file.name), "rb")
    except OSError:
        raise Http404 from None
    playable = (
        attachment.content_type in timeline.INLINE_IMAGES
        or attachment.content_type in timeline.INLINE_AUDIO
        or attachment.content_type in timeline.INLINE_VIDEO
    )
    inline = request.GET.get("inline") == "1" and playable
    response = FileResponse(
        handle,
        as_attachment=not inline,
        filename=attachment.name,
        content_type=attachment.content_type or "application/octet-stream",
    )
    response["Cache-Control"] = "private, max-age=3600" if inline else "private, no-store"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response
