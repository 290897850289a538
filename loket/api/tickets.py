"""Tickets, their messages and attachments: read through selectors, changed through services."""

from __future__ import annotations

from typing import Any, Literal, cast

from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.files.storage import default_storage
from django.db import transaction
from django.http import FileResponse, HttpRequest
from django.utils.translation import gettext as _
from ninja import Query, Router
from ninja.params import P, PathEx
from ninja.responses import Status as HttpStatus

from loket.accounts.models import Team, User
from loket.accounts.permissions import can_assign, can_change_team, can_view
from loket.api.auth import current_user
from loket.api.errors import ApiError, forbidden, invalid, not_found
from loket.api.pagination import paged
from loket.api.schemas import (
    ErrorOut,
    MessageOut,
    NoteIn,
    ReplyIn,
    TemplateIn,
    TicketDetailOut,
    TicketFiltersIn,
    TicketOut,
    TicketPageOut,
    TicketPatchIn,
    WhatsAppComposeOut,
)
from loket.channels.whatsapp import templates, window
from loket.contacts.models import Identity
from loket.core import clock
from loket.notifications import services as notifications
from loket.tickets import selectors
from loket.tickets import services as tickets
from loket.tickets.models import Attachment, Message, Status, Ticket
from loket.tickets.status import can_transition

router = Router(tags=["tickets"])

Number = PathEx[int, P(ge=1, le=2**63 - 1, description="The ticket number (#1042 is 1042).")]
AttachmentId = PathEx[int, P(ge=1, le=2**63 - 1)]

_READ_ERRORS: dict[int, Any] = {401: ErrorOut, 404: ErrorOut, 422: ErrorOut}
_WRITE_ERRORS: dict[int, Any] = {**_READ_ERRORS, 403: ErrorOut, 409: ErrorOut}


def _filters(data: TicketFiltersIn) -> selectors.TicketFilters:
    channel: int | str | None = data.channel
    if data.channel is not None and data.channel.isdigit():
        channel = int(data.channel)
    assignee: int | Literal["me", "none"] | None = None
    if data.assignee is not None:
        assignee = (
            int(data.assignee)
            if data.assignee.isdigit()
            else cast('Literal["me", "none"]', data.assignee)
        )
    team: int | Literal["none"] | None = None
    if data.team is not None:
        team = int(data.team) if data.team.isdigit() else "none"
    return selectors.TicketFilters(
        status=[str(s) for s in data.status],
        priority=[str(p) for p in data.priority],
        channel=channel,
        assignee=assignee,
        team=team,
        contact=data.contact,
        tag=data.tag,
        updated_since=data.updated_since,
        q=data.q,
        order=data.order,
    )


def _visible(request: HttpRequest, number: int) -> tuple[User, Ticket]:
    user = current_user(request)
    ticket = selectors.visible_ticket(user, number)
    if ticket is None:
        raise not_found()  # 404, not 403: a ticket you may not see does not exist for you
    return user, ticket


def _targets(payload: TicketPatchIn) -> tuple[User | None, Team | None]:
    """The agent and team a PATCH names, validated; 422 for unknown ones and null misuse."""
    sent = payload.model_fields_set
    for field in ("status", "priority", "tags"):
        if field in sent and getattr(payload, field) is None:
            raise invalid("null_not_allowed", _("This field cannot be null."), field)
    for name in payload.tags or ():
        try:
            tickets.clean_tag(name)
        except DjangoValidationError as exc:
            raise invalid("invalid_tag", " ".join(exc.messages), "tags") from None
    assignee: User | None = None
    if "assignee_id" in sent and payload.assignee_id is not None:
        assignee = User.objects.filter(pk=payload.assignee_id, is_active=True).first()
        if assignee is None:
            raise invalid("unknown_assignee", _("No active agent has this id."), "assignee_id")
    team: Team | None = None
    if "team_id" in sent and payload.team_id is not None:
        team = Team.objects.filter(pk=payload.team_id).first()
        if team is None:
            raise invalid("unknown_team", _("No team has this id."), "team_id")
    return assignee, team


def _check_change(
    user: User, ticket: Ticket, payload: TicketPatchIn, assignee: User | None
) -> None:
    """403 for a change the user's role does not allow, 409 for a status that cannot follow."""
    sent = payload.model_fields_set
    if "assignee_id" in sent and not can_assign(user, ticket, assignee):
        raise forbidden(_("Only supervisors and admins assign tickets to other agents."))
    if "team_id" in sent and not can_change_team(user, ticket, payload.team_id):
        raise forbidden(_("Only supervisors and admins move tickets to another team."))
    target = payload.status
    if target is not None and target != ticket.status and not can_transition(ticket.status, target):
        raise ApiError(
            409,
            "invalid_transition",
            _("A %(current)s ticket cannot become %(target)s.")
            % {"current": Status(ticket.status).label, "target": target.label},
            [
                {
                    "loc": ["body", "status"],
                    "message": "invalid transition",
                    "type": "invalid_transition",
                }
            ],
        )


@router.get(
    "/tickets",
    response={200: TicketPageOut, 401: ErrorOut, 422: ErrorOut},
    url_name="tickets",
    summary="List tickets",
)
def list_tickets(request: HttpRequest, filters: Query[TicketFiltersIn]) -> dict[str, Any]:
    """Tickets you may see, newest activity first (or longest waiting first), a page at a
    time. Follow ``next_cursor`` (or the ``next`` URL) until it is null."""
    user = current_user(request)
    return paged(
        request,
        lambda: selectors.ticket_list(
            user, _filters(filters), cursor=filters.cursor, per_page=filters.limit
        ),
        "tickets",
    )


@router.get(
    "/tickets/{number}",
    response={200: TicketDetailOut, **_READ_ERRORS},
    url_name="ticket",
    summary="One ticket with its messages",
)
def get_ticket(request: HttpRequest, number: Number) -> Ticket:
    """The ticket, its contact and the contact's identities, and every message in time order
    with its attachments (each with a download ``url``)."""
    ticket = selectors.ticket_detail(current_user(request), number)
    if ticket is None:
        raise not_found()
    return ticket


@router.patch(
    "/tickets/{number}",
    response={200: TicketOut, **_WRITE_ERRORS},
    url_name="ticket_update",
    summary="Change status, priority, assignee, team or tags",
)
def update_ticket(request: HttpRequest, number: Number, payload: TicketPatchIn) -> Ticket:
    """Only the fields sent change, all or none. Agents may take an unassigned ticket or drop
    their own; reassigning to others and moving teams is for supervisors and admins (403)."""
    user, ticket = _visible(request, number)
    sent = payload.model_fields_set
    assignee, team = _targets(payload)
    _check_change(user, ticket, payload, assignee)
    with transaction.atomic():
        if payload.status is not None:
            tickets.set_status(ticket, payload.status, actor=user)
        if payload.priority is not None:
            tickets.set_priority(ticket, payload.priority, actor=user)
        if payload.tags is not None:
            tickets.set_tags(ticket, payload.tags, actor=user)
        if "team_id" in sent:
            tickets.set_team(ticket, team, actor=user)
        if "assignee_id" in sent:
            tickets.assign(ticket, assignee, actor=user)
    # Re-read without the permission filter: dropping a ticket may take it out of your view.
    return selectors.ticket_row(ticket.number)


@router.post(
    "/tickets/{number}/reply",
    response={202: MessageOut, **_WRITE_ERRORS},
    url_name="ticket_reply",
    summary="Answer the customer",
)
def reply_to_ticket(request: HttpRequest, number: Number, payload: ReplyIn) -> HttpStatus[Message]:
    """Queues the answer (202): it is sent in the background on the ticket's channel (or one
    that reaches ``identity_id``). Watch the message's ``delivery_status``."""
    user, ticket = _visible(request, number)
    if ticket.status == Status.CLOSED:
        raise ApiError(
            409, "ticket_closed", _("This ticket is closed; open a follow-up ticket to answer.")
        )
    identity: Identity | None = None
    if payload.identity_id is not None:
        identity = Identity.objects.filter(
            pk=payload.identity_id, contact_id=ticket.contact_id
        ).first()
        if identity is None:
            raise invalid(
                "unknown_identity", _("This customer has no address with this id."), "identity_id"
            )
    if payload.template is not None:
        return HttpStatus(202, _send_template(ticket, user, payload.template, identity))
    message = tickets.reply(ticket, user, payload.text, identity=identity)
    return HttpStatus(202, message)


def _send_template(
    ticket: Ticket, user: User, wanted: TemplateIn, identity: Identity | None
) -> Message:
    if ticket.channel.kind != "whatsapp":
        raise invalid("not_whatsapp", _("Templates are sent on WhatsApp tickets only."), "template")
    template = (
        templates.approved(ticket.channel)
        .filter(name=wanted.name, language=wanted.language)
        .first()
    )
    if template is None:
        raise invalid(
            "unknown_template",
            _("This WhatsApp number has no approved template with this name and language."),
            "template",
        )
    if len(wanted.params) != len(template.parameters):
        raise invalid(
            "template_params",
            _("This template takes %(count)d values.") % {"count": len(template.parameters)},
            "template.params",
        )
    return templates.send(ticket, user, template, wanted.params, identity)


@router.get(
    "/tickets/{number}/templates",
    response={200: WhatsAppComposeOut, **_READ_ERRORS},
    url_name="ticket_templates",
    summary="WhatsApp window and approved templates",
)
def ticket_templates(request: HttpRequest, number: Number) -> dict[str, Any]:
    """For a WhatsApp ticket: whether free text still reaches the customer (the 24-hour
    window) and the approved templates of the ticket's number, with their parameters. Other
    tickets: an empty list."""
    _user, ticket = _visible(request, number)
    if ticket.channel.kind != "whatsapp":
        return {"window_open": True, "window_closes_at": None, "templates": []}
    closes = window.closes_at(ticket.channel, ticket.contact_id)
    return {
        "window_open": closes is not None and clock.now() < closes,
        "window_closes_at": closes,
        "templates": list(templates.approved(ticket.channel)),
    }


@router.post(
    "/tickets/{number}/notes",
    response={201: MessageOut, **_WRITE_ERRORS},
    url_name="ticket_note",
    summary="Add an internal note",
)
def add_note(request: HttpRequest, number: Number, payload: NoteIn) -> HttpStatus[Message]:
    """A note for agents only; it never leaves Loket. Agents @mentioned by their handle (the
    part of their email before "@") who may see the ticket are notified."""
    user, ticket = _visible(request, number)
    with transaction.atomic():
        message = tickets.add_note(ticket, user, payload.text)
        notifications.notify_mentions(message)
    return HttpStatus(201, message)


@router.get(
    "/attachments/{attachment_id}",
    response={401: ErrorOut, 404: ErrorOut, 422: ErrorOut},
    url_name="attachment",
    summary="Download an attachment",
    openapi_extra={
        "responses": {
            "200": {
                "description": "The file, as a download.",
                "content": {
                    "application/octet-stream": {
                        "schema": {"type": "string", "contentMediaType": "application/octet-stream"}
                    }
                },
            }
        }
    },
)
def download_attachment(request: HttpRequest, attachment_id: AttachmentId) -> FileResponse:
    """Streams the file if you may see its ticket (404 otherwise, and when it was not stored)."""
    user = current_user(request)
    attachment = (
        Attachment.objects.select_related("message__ticket").filter(pk=attachment_id).first()
    )
    if attachment is None or not can_view(user, attachment.message.ticket):
        raise not_found()
    if not attachment.file:
        raise ApiError(
            404, "attachment_not_stored", attachment.note or _("This file was not stored.")
        )
    try:
        handle = default_storage.open(str(attachment.file.name), "rb")
    except (FileNotFoundError, OSError):
        raise ApiError(
            404, "attachment_not_stored", _("This file is missing from storage.")
        ) from None
    response = FileResponse(
        handle,
        as_attachment=True,
        filename=attachment.name,
        content_type=attachment.content_type or "application/octet-stream",
    )
    response["Cache-Control"] = "private, no-store"
    return response
