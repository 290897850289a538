"""The agent's notifications: the bell in the top bar and the list page."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from loket.notifications import selectors, services
from loket.web.tickets.views import agent_of, is_htmx


@login_required
@require_GET
def bell(request: HttpRequest) -> HttpResponse:
    """The bell with the unread count (loaded by the top bar, refreshed live)."""
    user = agent_of(request)
    return render(
        request,
        "web/tickets/notifications_bell.html",
        {"unread": selectors.unread_count(user), "loaded": True},
    )


@login_required
@require_GET
def index(request: HttpRequest) -> HttpResponse:
    return _list(request)


def _list(request: HttpRequest) -> HttpResponse:
    user = agent_of(request)
    rows = selectors.recent(user)
    return render(
        request,
        "web/tickets/notifications.html",
        {"rows": rows, "unread": sum(1 for n in rows if n.read_at is None)},
    )


@login_required
@require_POST
def mark_read(request: HttpRequest) -> HttpResponse:
    """Mark all (or the posted ``id`` ones) read, then show the list again."""
    user = agent_of(request)
    ids = [int(v) for v in request.POST.getlist("id") if v.isdigit()]
    services.mark_read(user, ids or None)
    if is_htmx(request):
        return _list(request)
    return redirect("web:tickets:notifications")
