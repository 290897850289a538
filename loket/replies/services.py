"""Every change to saved replies and macros, and applying a macro to a ticket.

Anyone manages their personal replies and macros; shared ones (``owner`` null) are managed by
supervisors and admins. Refusals raise ``PermissionDenied`` with a message for the agent;
invalid input raises ``ValidationError`` (with field names where one field is at fault).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import NON_FIELD_ERRORS, PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from loket.accounts.models import Role, User
from loket.accounts.permissions import can_assign, can_view
from loket.audit import services as audit
from loket.core import clock
from loket.replies import rendering
from loket.replies.models import Assignment, Macro, SavedReply
from loket.tickets import services as tickets
from loket.tickets.models import Message, Status, Ticket

SHORTCUT = re.compile(r"^[a-z0-9][a-z0-9_-]{0,39}$")
# The statuses a macro may set (new and closed are not an agent's one-click outcome).
MACRO_STATUSES: tuple[str, ...] = (Status.OPEN, Status.PENDING, Status.SOLVED)


# --- permissions ------------------------------------------------------------------------------
def can_manage_shared(user: User) -> bool:
    return user.is_active and user.role in {Role.ADMIN, Role.SUPERVISOR}


def can_manage(user: User, item: SavedReply | Macro) -> bool:
    """Whether ``user`` may edit or delete ``item``: their own, or a shared one if allowed."""
    if not user.is_active:
        return False
    if item.owner_id is None:
        return can_manage_shared(user)
    return item.owner_id == user.pk


def can_use(user: User, item: SavedReply | Macro) -> bool:
    return user.is_active and (item.owner_id is None or item.owner_id == user.pk)


def _require_shared(user: User, shared: bool) -> None:
    if shared and not can_manage_shared(user):
        raise PermissionDenied(_("Only supervisors and admins manage shared replies and macros."))


def _require_manage(user: User, item: SavedReply | Macro) -> None:
    if not can_manage(user, item):
        if item.owner_id is None:
            _require_shared(user, True)
        raise PermissionDenied(_("You can only change your own personal replies and macros."))


# --- validation -------------------------------------------------------------------------------
def _clean_text(value: str, field_name: str, max_length: int, *, required: bool) -> str:
    value = value.strip()
    if required and not value:
        raise ValidationError({field_name: _("This field is required.")})
    if len(value) > max_length:
        raise ValidationError(
            {field_name: _("At most %(limit)d characters.") % {"limit": max_length}}
        )
    return value


def _clean_body(value: str, field_name: str, *, required: bool) -> str:
    body = _clean_text(value, field_name, 5000, required=required)
    unknown = rendering.unknown_placeholders(body)
    if unknown:
        raise ValidationError({field_name: rendering.describe_unknown(unknown)})
    return body


def clean_shortcut(value: str) -> str:
    shortcut = value.strip().lstrip("/").lower()
    if shortcut and not SHORTCUT.match(shortcut):
        raise ValidationError(
            {
                "shortcut": _(
                    "A shortcut has up to 40 lower-case letters, digits, '-' or '_', "
                    "without spaces."
                )
            }
        )
    return shortcut


def _check_shortcut_free(shortcut: str, owner: User | None, exclude: int | None) -> None:
    if not shortcut:
        return
    clash = SavedReply.objects.filter(shortcut=shortcut, owner=owner)
    if exclude is not None:
        clash = clash.exclude(pk=exclude)
    if clash.exists():
        raise ValidationError(
            {
                "shortcut": _("The shortcut /%(shortcut)s is already in use.")
                % {"shortcut": shortcut}
            }
        )


def _save_reply(reply: SavedReply) -> None:
    try:
        with transaction.atomic():
            reply.save()
    except IntegrityError:  # the same shortcut saved at the same moment
        raise ValidationError(
            {
                "shortcut": _("The shortcut /%(shortcut)s is already in use.")
                % {"shortcut": reply.shortcut}
            }
        ) from None


def _reply_data(reply: SavedReply) -> dict[str, Any]:
    return {"title": reply.title, "shortcut": reply.shortcut, "shared": reply.is_shared}


# --- saved replies ----------------------------------------------------------------------------
def create_reply(
    user: User, *, title: str, body: str, shortcut: str = "", shared: bool = False
) -> SavedReply:
    _require_shared(user, shared)
    owner = None if shared else user
    title = _clean_text(title, "title", 100, required=True)
    body = _clean_body(body, "body", required=True)
    shortcut = clean_shortcut(shortcut)
    with transaction.atomic():
        _check_shortcut_free(shortcut, owner, None)
        now = clock.now()
        reply = SavedReply(
            title=title,
            body=body,
            shortcut=shortcut,
            owner=owner,
            created_by=user,
            created_at=now,
            updated_at=now,
        )
        _save_reply(reply)
        audit.append(
            "saved_reply.created",
            actor=audit.actor_for(user),
            subject_type="saved_reply",
            subject_id=reply.pk,
            data=_reply_data(reply),
        )
    return reply


def update_reply(
    user: User,
    reply: SavedReply,
    *,
    title: str,
    body: str,
    shortcut: str = "",
    shared: bool | None = None,
) -> SavedReply:
    """Change a reply; ``shared`` None keeps it personal or shared as it is."""
    _require_manage(user, reply)
    if shared is None:
        shared = reply.is_shared
    _require_shared(user, shared)
    # Made shared: nobody's. Kept personal: still its owner's. Shared made personal: yours.
    owner = None if shared else (reply.owner if reply.owner_id is not None else user)
    title = _clean_text(title, "title", 100, required=True)
    body = _clean_body(body, "body", required=True)
    shortcut = clean_shortcut(shortcut)
    with transaction.atomic():
        _check_shortcut_free(shortcut, owner, reply.pk)
        reply.title, reply.body, reply.shortcut, reply.owner = title, body, shortcut, owner
        reply.updated_at = clock.now()
        _save_reply(reply)
        audit.append(
            "saved_reply.updated",
            actor=audit.actor_for(user),
            subject_type="saved_reply",
            subject_id=reply.pk,
            data=_reply_data(reply),
        )
    return reply


def delete_reply(user: User, reply: SavedReply) -> None:
    _require_manage(user, reply)
    with transaction.atomic():
        data = _reply_data(reply)
        pk = reply.pk
        reply.delete()
        audit.append(
            "saved_reply.deleted",
            actor=audit.actor_for(user),
            subject_type="saved_reply",
            subject_id=pk,
            data=data,
        )


# --- macros -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class MacroSpec:
    """What a macro does, as entered in its form."""

    name: str
    body: str = ""
    status: str = ""
    tags: tuple[str, ...] = ()
    assignment: str = Assignment.NONE
    assignee: User | None = None


def _clean_macro(spec: MacroSpec) -> MacroSpec:
    name = _clean_text(spec.name, "name", 100, required=True)
    body = _clean_body(spec.body, "body", required=False)
    if spec.status and spec.status not in MACRO_STATUSES:
        raise ValidationError({"status": _("Unknown status: %s") % spec.status})
    try:
        tags = tuple(sorted({tickets.clean_tag(tag) for tag in spec.tags if tag.strip()}))
    except ValidationError as exc:
        raise ValidationError({"tags": exc.messages}) from None
    if spec.assignment not in Assignment.values:
        raise ValidationError({"assignment": _("Choose how the macro assigns the ticket.")})
    assignee = spec.assignee if spec.assignment == Assignment.AGENT else None
    if spec.assignment == Assignment.AGENT and (assignee is None or not assignee.is_active):
        raise ValidationError({"assignee": _("Choose an active agent to assign the ticket to.")})
    if not (body or spec.status or tags or spec.assignment != Assignment.NONE):
        raise ValidationError(
            {
                NON_FIELD_ERRORS: _(
                    "A macro must do something: write a reply, set a status, add tags or assign."
                )
            }
        )
    return MacroSpec(name, body, spec.status, tags, spec.assignment, assignee)


def _macro_data(macro: Macro) -> dict[str, Any]:
    return {
        "name": macro.name,
        "shared": macro.is_shared,
        "reply": bool(macro.body),
        "status": macro.status,
        "tags": list(macro.tags),
        "assignment": macro.assignment,
        "assignee": macro.assignee_id,
    }


def _fill_macro(macro: Macro, spec: MacroSpec) -> None:
    macro.name = spec.name
    macro.body = spec.body
    macro.status = spec.status
    macro.tags = list(spec.tags)
    macro.assignment = spec.assignment
    macro.assignee = spec.assignee


def create_macro(user: User, spec: MacroSpec, *, shared: bool = False) -> Macro:
    _require_shared(user, shared)
    spec = _clean_macro(spec)
    with transaction.atomic():
        now = clock.now()
        macro = Macro(
            owner=None if shared else user, created_by=user, created_at=now, updated_at=now
        )
        _fill_macro(macro, spec)
        macro.save()
        audit.append(
            "macro.created",
            actor=audit.actor_for(user),
            subject_type="macro",
            subject_id=macro.pk,
            data=_macro_data(macro),
        )
    return macro


def update_macro(user: User, macro: Macro, spec: MacroSpec, *, shared: bool | None = None) -> Macro:
    _require_manage(user, macro)
    if shared is None:
        shared = macro.is_shared
    _require_shared(user, shared)
    spec = _clean_macro(spec)
    with transaction.atomic():
        if shared:
            macro.owner = None
        elif macro.owner_id is None:
            macro.owner = user
        _fill_macro(macro, spec)
        macro.updated_at = clock.now()
        macro.save()
        audit.append(
            "macro.updated",
            actor=audit.actor_for(user),
            subject_type="macro",
            subject_id=macro.pk,
            data=_macro_data(macro),
        )
    return macro


def delete_macro(user: User, macro: Macro) -> None:
    _require_manage(user, macro)
    with transaction.atomic():
        data = _macro_data(macro)
        pk = macro.pk
        macro.delete()
        audit.append(
            "macro.deleted",
            actor=audit.actor_for(user),
            subject_type="macro",
            subject_id=pk,
            data=data,
        )


# --- applying a macro -------------------------------------------------------------------------
class MacroFailed(ValidationError):
    """A macro could not be applied; nothing it would have changed was changed."""


@dataclass
class Applied:
    ticket: Ticket
    message: Message | None = None
    # What changed, in words for the agent ("Reply sent", "Status: Solved", ...).
    changes: list[str] = field(default_factory=list)


def _target_assignee(macro: Macro, agent: User) -> tuple[bool, User | None]:
    """(whether the macro assigns at all, to whom)."""
    if macro.assignment == Assignment.ME:
        return True, agent
    if macro.assignment == Assignment.UNASSIGN:
        return True, None
    if macro.assignment == Assignment.AGENT:
        if macro.assignee is None or not macro.assignee.is_active:
            raise _failed(
                macro,
                _("the agent it assigns to is no longer active. Edit the macro."),
                "assignee_inactive",
            )
        return True, macro.assignee
    return False, None


def _failed(macro: Macro, reason: str, code: str) -> MacroFailed:
    return MacroFailed(
        _("Macro “%(name)s” was not applied; nothing changed: %(reason)s")
        % {"name": macro.name, "reason": reason},
        code=code,
    )


def _names(tags: Iterable[str]) -> str:
    return ", ".join(tags)


def apply_macro(ticket: Ticket, macro: Macro, agent: User) -> Applied:
    """Do everything ``macro`` says on ``ticket`` as ``agent``, all or nothing.

    Order: the reply (placeholders filled in), tags added, the assignee, then the status. Any
    refusal rolls the whole macro back and raises ``PermissionDenied`` (the agent may not do
    one of the steps) or ``MacroFailed`` (a step cannot be done), saying which and why.
    """
    if not can_use(agent, macro) or not can_view(agent, ticket):
        raise PermissionDenied(_("You cannot use this macro on this ticket."))
    assigns, assignee = _target_assignee(macro, agent)
    if assigns and not can_assign(agent, ticket, assignee):
        raise PermissionDenied(
            _("Macro “%(name)s” was not applied; nothing changed: %(reason)s")
            % {
                "name": macro.name,
                "reason": _("only supervisors and admins assign tickets to other agents."),
            }
        )
    text = ""
    if macro.body:
        ticket = Ticket.objects.select_related("contact").get(pk=ticket.pk)
        rendered = rendering.render(macro.body, rendering.values_for(ticket, agent))
        if rendered.unknown:
            raise _failed(macro, rendering.describe_unknown(rendered.unknown), "placeholder")
        text = rendered.text
    applied = Applied(ticket=ticket)
    try:
        with transaction.atomic():
            if text:
                applied.message = tickets.reply(ticket, agent, text)
                applied.changes.append(_("reply sent"))
            if macro.tags:
                current = list(ticket.tags.values_list("name", flat=True))
                tickets.set_tags(ticket, [*current, *macro.tags], actor=agent)
                applied.changes.append(_("tags: %s") % _names(macro.tags))
            if assigns:
                tickets.assign(ticket, assignee, actor=agent)
                applied.changes.append(
                    _("assigned to %s") % assignee if assignee else _("unassigned")
                )
            if macro.status:
                tickets.set_status(ticket, macro.status, actor=agent)
                applied.changes.append(_("status: %s") % Status(macro.status).label)
            audit.append(
                "macro.applied",
                actor=audit.actor_for(agent),
                subject_type="macro",
                subject_id=macro.pk,
                ticket_id=ticket.pk,
                data={
                    "name": macro.name,
                    "message": applied.message.pk if applied.message else None,
                },
            )
    except MacroFailed:
        raise
    except ValidationError as exc:
        raise _failed(macro, " ".join(exc.messages), exc.code or "invalid") from exc
    applied.ticket = Ticket.objects.get(pk=ticket.pk)
    return applied
