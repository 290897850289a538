"""Saved replies and macros: the management pages, the composer's ``/`` search and the macro
menu on the ticket page.

Every view requires a signed-in agent; the services decide who manages what (a refusal is a
403) and the selectors show each agent only their personal and the shared items.
"""

from __future__ import annotations

import json
from typing import Any

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from loket.accounts.models import User
from loket.replies import rendering, selectors, services
from loket.replies.models import Macro, SavedReply
from loket.replies.services import MacroFailed, can_manage, can_manage_shared
from loket.tickets import selectors as ticket_selectors
from loket.tickets.models import Ticket
from loket.web.replies.forms import MacroForm, ReplyForm


def _agent(request: HttpRequest) -> User:
    user = request.user
    assert isinstance(user, User)  # noqa: S101 (login_required)
    return user


def _is_htmx(request: HttpRequest) -> bool:
    return request.headers.get("HX-Request") == "true"


def _index() -> HttpResponseRedirect:
    return redirect("web:replies:index")


def _reply_or_404(user: User, pk: int) -> SavedReply:
    reply = selectors.visible_reply(user, pk)
    if reply is None:
        raise Http404
    return reply


def _macro_or_404(user: User, pk: int) -> Macro:
    macro = selectors.visible_macro(user, pk)
    if macro is None:
        raise Http404
    return macro


def _ticket_or_404(user: User, number: int) -> Ticket:
    ticket = ticket_selectors.visible_ticket(user, number)
    if ticket is None:
        raise Http404
    return ticket


# --- management pages -------------------------------------------------------------------------
@login_required
@require_GET
def index(request: HttpRequest) -> HttpResponse:
    user = _agent(request)
    library = selectors.library(user)
    return render(
        request,
        "web/replies/index.html",
        {
            "library": library,
            "manage_shared": can_manage_shared(user),
            "placeholders": rendering.PLACEHOLDERS,
        },
    )


def _form_page(
    request: HttpRequest, form: ReplyForm | MacroForm, item: Any, status: int = 200
) -> HttpResponse:
    """The one edit page for saved replies and macros; only the heading differs."""
    if isinstance(form, MacroForm):
        heading = _("Edit macro") if item else _("New macro")
    else:
        heading = _("Edit reply") if item else _("New reply")
    context = {"form": form, "item": item, "heading": heading}
    return render(request, "web/replies/form.html", context, status=status)


@login_required
@require_http_methods(["GET", "POST"])
def reply_create(request: HttpRequest) -> HttpResponse:
    user = _agent(request)
    form = ReplyForm(request.POST or None, user=user)
    if request.method == "POST" and form.is_valid():
        try:
            services.create_reply(
                user,
                title=form.cleaned_data["title"],
                body=form.cleaned_data["body"],
                shortcut=form.cleaned_data["shortcut"],
                shared=form.shared,
            )
        except ValidationError as exc:
            form.add_service_errors(exc)
        else:
            return _index()
    status = 422 if form.errors else 200
    return _form_page(request, form, None, status)


@login_required
@require_http_methods(["GET", "POST"])
def reply_edit(request: HttpRequest, pk: int) -> HttpResponse:
    user = _agent(request)
    reply = _reply_or_404(user, pk)
    if not can_manage(user, reply):
        raise PermissionDenied
    initial = {
        "title": reply.title,
        "shortcut": reply.shortcut,
        "body": reply.body,
        "shared": reply.is_shared,
    }
    form = ReplyForm(request.POST or None, user=user, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            services.update_reply(
                user,
                reply,
                title=form.cleaned_data["title"],
                body=form.cleaned_data["body"],
                shortcut=form.cleaned_data["shortcut"],
                shared=form.shared if "shared" in form.fields else None,
            )
        except ValidationError as exc:
            form.add_service_errors(exc)
        else:
            return _index()
    status = 422 if form.errors else 200
    return _form_page(request, form, reply, status)


@login_required
@require_http_methods(["GET", "POST"])
def reply_delete(request: HttpRequest, pk: int) -> HttpResponse:
    user = _agent(request)
    reply = _reply_or_404(user, pk)
    if not can_manage(user, reply):
        raise PermissionDenied
    if request.method == "POST":
        services.delete_reply(user, reply)
        return _index()
    return render(request, "web/replies/confirm_delete.html", {"item": reply, "kind": "reply"})


@login_required
@require_http_methods(["GET", "POST"])
def macro_create(request: HttpRequest) -> HttpResponse:
    user = _agent(request)
    form = MacroForm(request.POST or None, user=user)
    if request.method == "POST" and form.is_valid():
        try:
            services.create_macro(user, form.spec(), shared=form.shared)
        except ValidationError as exc:
            form.add_service_errors(exc)
        else:
            return _index()
    status = 422 if form.errors else 200
    return _form_page(request, form, None, status)


@login_required
@require_http_methods(["GET", "POST"])
def macro_edit(request: HttpRequest, pk: int) -> HttpResponse:
    user = _agent(request)
    macro = _macro_or_404(user, pk)
    if not can_manage(user, macro):
        raise PermissionDenied
    initial = {
        "name": macro.name,
        "body": macro.body,
        "status": macro.status,
        "tags": ", ".join(macro.tags),
        "assignment": macro.assignment,
        "assignee": macro.assignee_id,
        "shared": macro.is_shared,
    }
    form = MacroForm(request.POST or None, user=user, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            shared = form.shared if "shared" in form.fields else None
            services.update_macro(user, macro, form.spec(), shared=shared)
        except ValidationError as exc:
            form.add_service_errors(exc)
        else:
            return _index()
    status = 422 if form.errors else 200
    return _form_page(request, form, macro, status)


@login_required
@require_http_methods(["GET", "POST"])
def macro_delete(request: HttpRequest, pk: int) -> HttpResponse:
    user = _agent(request)
    macro = _macro_or_404(user, pk)
    if not can_manage(user, macro):
        raise PermissionDenied
    if request.method == "POST":
        services.delete_macro(user, macro)
        return _index()
    return render(request, "web/replies/confirm_delete.html", {"item": macro, "kind": "macro"})


# --- the composer -----------------------------------------------------------------------------
@login_required
@require_GET
def search(request: HttpRequest) -> HttpResponse:
    """The replies matching ``q`` with their text filled in for ``ticket`` (an htmx fragment
    and what replies.js shows after "/"). Beyond the session's own: the agent's teams (for
    the ticket's visibility), the ticket with its contact, and the replies."""
    user = _agent(request)
    ticket: Ticket | None = None
    number = request.GET.get("ticket", "").strip()
    if number:
        if not number.isdigit():
            raise Http404
        ticket = selectors.ticket_for_rendering(user, int(number))
        if ticket is None:
            raise Http404
    values = rendering.values_for(ticket, user)
    found = [
        (reply, rendering.render(reply.body, values))
        for reply in selectors.search_replies(user, request.GET.get("q", ""))
    ]
    return render(
        request,
        "web/replies/search.html",
        {"results": found, "q": request.GET.get("q", ""), "ticket": ticket},
    )


@login_required
@require_GET
def macro_menu(request: HttpRequest, number: int) -> HttpResponse:
    """The macros the agent may apply on this ticket, their replies filled in for it (loaded
    when the menu first opens)."""
    user = _agent(request)
    ticket = selectors.ticket_for_rendering(user, number)
    if ticket is None:
        raise Http404
    values = rendering.values_for(ticket, user)
    macros = [
        (macro, rendering.render(macro.body, values).text) for macro in selectors.macros_for(user)
    ]
    return render(request, "web/replies/macro_menu.html", {"ticket": ticket, "macros": macros})


@login_required
@require_POST
def apply_macro(request: HttpRequest, pk: int, number: int) -> HttpResponse:
    """Apply a macro: with htmx, a status line (and the page refreshes its parts); without, back
    to the ticket page. A refusal says why and changes nothing (403 or 422)."""
    user = _agent(request)
    macro = _macro_or_404(user, pk)
    ticket = _ticket_or_404(user, number)
    context: dict[str, Any] = {
        "macro": macro,
        "ticket": ticket,
        "ok": False,
        "htmx": _is_htmx(request),
    }
    status = 200
    try:
        applied = services.apply_macro(ticket, macro, user)
    except PermissionDenied as exc:
        status = 403
        context["error"] = str(exc) or _("You cannot use this macro on this ticket.")
    except MacroFailed as exc:
        status = 422
        context["error"] = " ".join(exc.messages)
    else:
        context.update(ok=True, changes=applied.changes)
    if not _is_htmx(request):
        if status != 200:
            return render(request, "web/replies/macro_result_page.html", context, status=status)
        return redirect(reverse("web:tickets:detail", args=[ticket.number]))
    response = render(request, "web/replies/macro_result.html", context, status=status)
    if status == 200:
        response["HX-Trigger"] = json.dumps({"loket:macro-applied": {"ticket": ticket.number}})
    return response
