"""The shared inbox (the dashboard issue builds it out: views, filters, bulk actions)."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from loket.accounts.models import User
from loket.tickets import selectors


@login_required
def inbox(request: HttpRequest) -> HttpResponse:
    user = request.user
    assert isinstance(user, User)  # noqa: S101 (login_required)
    page = selectors.ticket_list(user)
    return render(request, "web/inbox/index.html", {"page": page})
