"""Agent dashboard views (the dashboard issue builds these out)."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from loket.accounts.permissions import visible_tickets
from loket.tickets.models import Ticket


@login_required
def inbox(request: HttpRequest) -> HttpResponse:
    tickets = visible_tickets(
        request.user,  # type: ignore[arg-type]
        Ticket.objects.select_related("contact", "assignee", "channel"),
    ).order_by("-last_activity_at")[:50]
    return render(request, "web/inbox.html", {"tickets": tickets})
