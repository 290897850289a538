"""Live updates (Server-Sent Events), presence on a ticket, and agents' availability."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import (
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseBase,
    StreamingHttpResponse,
)
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from loket.accounts import services as accounts
from loket.accounts.models import Availability, Role, User
from loket.presence import selectors as presence_selectors
from loket.presence import services as presence
from loket.presence.models import State
from loket.tickets import selectors as tickets
from loket.tickets.models import Ticket
from loket.web.live import feed


def _cursor(request: HttpRequest) -> int | None:
    """Where the browser left off: its Last-Event-ID on reconnect, or ``?after=``."""
    raw = request.headers.get("Last-Event-ID") or request.GET.get("after") or ""
    try:
        value = int(raw.strip())
    except ValueError:
        return None
    return value if value >= 0 else None


@require_GET
async def events(request: HttpRequest) -> HttpResponseBase:
    """The agent's live feed. Unauthenticated: 401, not a redirect (an EventSource cannot sign
    in; the page's script notices and stops retrying)."""
    user = await request.auser()
    if not user.is_authenticated or not user.is_active:
        return HttpResponse(status=401)
    response = StreamingHttpResponse(
        feed.stream(user.pk, _cursor(request)), content_type="text/event-stream"
    )
    response["Cache-Control"] = "no-cache"
    response["X-Accel-Buffering"] = "no"
    return response


def _agent(request: HttpRequest) -> User:
    user = request.user
    assert isinstance(user, User)  # noqa: S101 (login_required)
    return user


def _ticket(user: User, number: int) -> Ticket:
    ticket = tickets.visible_ticket(user, number)
    if ticket is None:
        raise Http404
    return ticket


@login_required
@require_http_methods(["GET", "POST"])
def presence_view(request: HttpRequest, number: int) -> HttpResponse:
    """POST: the agent's heartbeat on the ticket (state viewing|typing|left).
    GET: the fragment naming the other agents on it."""
    user = _agent(request)
    ticket = _ticket(user, number)
    if request.method == "POST":
        state = request.POST.get("state", State.VIEWING)
        if state == "left":
            presence.leave(user, ticket)
        elif state in State.values:
            presence.beat(user, ticket, state)
        else:
            return HttpResponse(status=400)
        if not request.headers.get("HX-Request"):
            return HttpResponse(status=204)
    return render(
        request,
        "web/live/presence.html#others",
        {"ticket": ticket, "others": presence_selectors.others_on(ticket, user)},
    )


@login_required
@require_POST
def availability(request: HttpRequest) -> HttpResponse:
    user = _agent(request)
    try:
        accounts.set_availability(user, request.POST.get("availability", ""))
    except ValidationError:
        return HttpResponse(status=400)
    target = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(target, {request.get_host()}):
        target = reverse("web:inbox:index")
    if request.headers.get("HX-Request"):
        return render(request, "web/live/availability.html#switch", {"user": user, "next": target})
    return redirect(target)


@login_required
@require_GET
def agents(request: HttpRequest) -> HttpResponse:
    """Supervisors and admins: who is online and what each agent is looking at."""
    user = _agent(request)
    if user.role not in {Role.ADMIN, Role.SUPERVISOR}:
        raise PermissionDenied
    rows = presence_selectors.agents_overview(user)
    context = {"rows": rows, "availability": Availability}
    if request.headers.get("HX-Request"):
        return render(request, "web/live/agents.html#table", context)
    return render(request, "web/live/agents.html", context)
