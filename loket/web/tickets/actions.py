"""Changes made from the ticket page: replies and notes, the side panel, the customer panel.

Each view checks what the agent may do with ``accounts.permissions`` (the same rules as the
REST API) and calls the services; a service's ValidationError comes back inline (422).
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import (
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseForbidden,
    JsonResponse,
)
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from loket.accounts.models import Team, User
from loket.accounts.permissions import can_assign, can_change_team, can_reassign
from loket.audit import services as audit
from loket.contacts import selectors as contact_selectors
from loket.contacts import services as contacts
from loket.contacts.models import Contact
from loket.notifications import selectors as notification_selectors
from loket.notifications import services as notifications
from loket.tickets import selectors
from loket.tickets import services as tickets
from loket.tickets.models import Message, Ticket
from loket.web.tickets import wa_compose
from loket.web.tickets.forms import ComposerForm
from loket.web.tickets.views import agent_of, page_context, visible_detail

FIELDS = ("status", "priority", "assignee", "team", "tags")


def _visible_row(user: User, number: int) -> Ticket:
    ticket = selectors.visible_ticket(user, number)
    if ticket is None:
        raise Http404
    return ticket


def _messages(error: ValidationError) -> list[str]:
    return list(error.messages)


# --- composer ---------------------------------------------------------------------------------
@login_required
@require_POST
def send(request: HttpRequest, number: int) -> HttpResponse:
    """A reply to the customer or an internal note. Answers with a fresh composer and the
    timeline (out of band) holding the new bubble; with the errors and the text kept (422)."""
    user = agent_of(request)
    ticket = visible_detail(user, number)
    identities = list(ticket.contact.identities.all())
    form = ComposerForm(
        request.POST,
        identities=identities,
        files_list=request.FILES.getlist("files"),
        buttons=request.POST.getlist("buttons"),
    )
    errors: list[str] = []
    window_closed = False
    if form.is_valid():
        try:
            with transaction.atomic():
                if form.cleaned_data["mode"] == "note":
                    note = tickets.add_note(ticket, user, form.cleaned_data["text"])
                    notifications.notify_mentions(note)
                else:
                    _reply(ticket, user, form)
        except ValidationError as exc:
            errors = _messages(exc)
            window_closed = getattr(exc, "code", None) == "window_closed"
    else:
        errors = [str(e) for field_errors in form.errors.values() for e in field_errors]
    if errors:
        context = page_context(request, user, ticket, form)
        context["errors"] = errors
        context["text"] = request.POST.get("text", "")
        context["quoted"] = _quoted(ticket, request.POST.get("reply_to", ""))
        if window_closed:  # the window closed while the agent typed: offer the templates
            context["picker_open"] = True
            context["templates"] = wa_compose.approved(ticket)
        return render(request, "web/tickets/composer.html", context, status=422)
    fresh = visible_detail(user, number)
    context = page_context(request, user, fresh)
    context["mode"] = form.cleaned_data["mode"]
    context["chosen_identity"] = (
        form.cleaned_data["identity"].pk
        if form.cleaned_data.get("identity")
        else context["chosen_identity"]
    )
    return render(request, "web/tickets/sent.html", context)


def _quoted(ticket: Ticket, raw: str) -> Message | None:
    """The message of this ticket a reply quotes (from the prefetched timeline)."""
    pk = int(raw) if raw.isdigit() else 0
    return next((m for m in ticket.messages.all() if m.pk == pk), None)


def _reply(ticket: Ticket, user: User, form: ComposerForm) -> None:
    """Queue the composer's reply: the quote, and WhatsApp quick-reply buttons, if any."""
    data = form.cleaned_data
    reply_to = _quoted(ticket, str(data.get("reply_to") or ""))
    if data.get("reply_to") and reply_to is None:
        raise ValidationError(_("The quoted message is not in this conversation."))
    meta: dict[str, Any] = {}
    interactive = form.interactive()
    if interactive is not None:
        identity = data.get("identity")
        if ticket.channel.kind != "whatsapp" or (identity and identity.kind != "phone"):
            raise ValidationError(_("Buttons can only be sent on WhatsApp."))
        meta = {"wa": {"interactive": interactive}}
    tickets.reply(
        ticket,
        user,
        data["text"],
        identity=data["identity"],
        attachments=form.attachments(),
        reply_to=reply_to,
        meta=meta or None,
    )


@login_required
@require_GET
def mentions(request: HttpRequest, number: int) -> JsonResponse:
    """Agents to suggest after "@" in a note: active ones who may see the ticket."""
    user = agent_of(request)
    ticket = _visible_row(user, number)
    found = notification_selectors.mention_candidates(ticket, request.GET.get("q", "")[:100])
    return JsonResponse(
        {"agents": [{"handle": notifications.handle(a), "name": a.name} for a in found]}
    )


# --- side panel -------------------------------------------------------------------------------
def _apply(user: User, ticket: Ticket, field: str, request: HttpRequest) -> str | None:
    """Make one change; a refusal message for 403, or None. ValidationError propagates."""
    value = request.POST.get(field, "").strip()
    if field == "status":
        tickets.set_status(ticket, value, actor=user)
    elif field == "priority":
        tickets.set_priority(ticket, value, actor=user)
    elif field == "tags":
        names = [n for n in value.replace("\n", ",").split(",") if n.strip()]
        tickets.set_tags(ticket, names, actor=user)
    elif field == "assignee":
        assignee: User | None = None
        if value == "me":
            assignee = user
        elif value:
            assignee = User.objects.filter(pk=int(value) if value.isdigit() else 0).first()
            if assignee is None or not assignee.is_active:
                raise ValidationError(_("No active agent has this id."))
        if not can_assign(user, ticket, assignee):
            return _("Only supervisors and admins assign tickets to other agents.")
        tickets.assign(ticket, assignee, actor=user)
    elif field == "team":
        team: Team | None = None
        if value:
            team = Team.objects.filter(pk=int(value) if value.isdigit() else 0).first()
            if team is None:
                raise ValidationError(_("No team has this id."))
        if not can_change_team(user, ticket, team.pk if team else None):
            return _("Only supervisors and admins move tickets to another team.")
        tickets.set_team(ticket, team, actor=user)
    return None


def _side_response(
    request: HttpRequest, user: User, number: int, errors: list[str], status: int = 200
) -> HttpResponse:
    ticket = selectors.ticket_detail(user, number)
    if ticket is None:
        # The change took the ticket out of this agent's view (they dropped another team's
        # ticket): say so instead of a 404.
        response = render(request, "web/tickets/gone.html", {"number": number})
        response["HX-Retarget"] = f'[data-ticket="{number}"]'
        response["HX-Reswap"] = "outerHTML"
        return response
    context = page_context(request, user, ticket)
    context["side_errors"] = errors
    return render(request, "web/tickets/side_changed.html", context, status=status)


@login_required
@require_POST
def change(request: HttpRequest, number: int, field: str) -> HttpResponse:
    """One side-panel change (status, priority, assignee, team or tags)."""
    if field not in FIELDS:
        raise Http404
    user = agent_of(request)
    ticket = _visible_row(user, number)
    try:
        refusal = _apply(user, ticket, field, request)
    except ValidationError as exc:
        return _side_response(request, user, number, _messages(exc), status=422)
    if refusal is not None:
        return HttpResponseForbidden(refusal)
    return _side_response(request, user, number, [])


# --- customer panel: merge and link -----------------------------------------------------------
@login_required
@require_GET
def merge_search(request: HttpRequest, number: int) -> HttpResponse:
    """Other customers matching ``q``, each with a button to merge them into this one."""
    user = agent_of(request)
    ticket = _visible_row(user, number)
    if not can_reassign(user, ticket):
        return HttpResponseForbidden(_("Only supervisors and admins merge customers."))
    q = request.GET.get("q", "").strip()[:100]
    found = contact_selectors.contact_search(user, q, per_page=10).contacts if q else []
    context: dict[str, Any] = {
        "ticket": ticket,
        "q": q,
        "found": [c for c in found if c.pk != ticket.contact_id],
    }
    return render(request, "web/tickets/merge_results.html", context)


@login_required
@require_GET
def merge_confirm(request: HttpRequest, number: int, contact_id: int) -> HttpResponse:
    user = agent_of(request)
    ticket = _visible_row(user, number)
    if not can_reassign(user, ticket):
        return HttpResponseForbidden(_("Only supervisors and admins merge customers."))
    other = contact_selectors.contact_detail(user, contact_id)
    if other is None or other.contact.merged_into_id is not None:
        raise Http404
    return render(
        request,
        "web/tickets/merge_confirm.html",
        {"ticket": ticket, "other": other, "keep": ticket.contact},
    )


@login_required
@require_POST
def merge(request: HttpRequest, number: int) -> HttpResponse:
    """Merge another customer into this ticket's customer (supervisors and admins)."""
    user = agent_of(request)
    ticket = _visible_row(user, number)
    if not can_reassign(user, ticket):
        return HttpResponseForbidden(_("Only supervisors and admins merge customers."))
    raw = request.POST.get("contact", "")
    other = Contact.objects.filter(pk=int(raw) if raw.isdigit() else 0).first()
    if other is None:
        raise Http404
    keep = Contact.objects.get(pk=ticket.contact_id)
    try:
        contacts.merge(keep, other, actor=audit.actor_for(user))
    except contacts.InvalidIdentity as exc:
        return _side_response(request, user, number, [str(exc)], status=422)
    return _side_response(request, user, number, [])


@login_required
@require_POST
def link(request: HttpRequest, number: int) -> HttpResponse:
    """Link a related ticket by its number (one the agent may see)."""
    user = agent_of(request)
    ticket = _visible_row(user, number)
    raw = request.POST.get("other", "").strip().lstrip("#")
    other = selectors.visible_ticket(user, int(raw)) if raw.isdigit() and len(raw) < 19 else None
    if other is None:
        message = _("No ticket #%(number)s that you can see.") % {"number": raw or "?"}
        return _side_response(request, user, number, [message], status=422)
    try:
        tickets.link(ticket, other, actor=user)
    except ValidationError as exc:
        return _side_response(request, user, number, _messages(exc), status=422)
    return _side_response(request, user, number, [])
