"""The shared inbox: views with live counts, filters, search, keyset pages and bulk changes.

One URL, two shapes: the whole page, or (for htmx) just the list with the view counts swapped
in out of band. Reads go through loket.tickets.selectors, writes through the services, with
the same permission checks as the API.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps
from typing import Any
from urllib.parse import urlsplit

from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_GET, require_POST

from loket.accounts import services as accounts
from loket.accounts.models import Role, User
from loket.accounts.permissions import can_assign, ticket_scope
from loket.tickets import selectors
from loket.tickets import services as tickets
from loket.tickets.models import Priority, Status, Ticket
from loket.tickets.status import can_transition
from loket.web.inbox.query import InboxQuery, parse, view_link

# At most this many tickets change in one bulk action (a page holds 25; "more" adds pages).
BULK_LIMIT = 200

View = Callable[..., HttpResponse]


def agent_required(view: View) -> View:
    """Signed-in agents only. An htmx request whose session ended is sent to the sign-in page
    as a whole (HX-Redirect) instead of getting the sign-in form swapped into a pane."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        user = request.user
        if isinstance(user, User) and user.is_authenticated and user.is_active:
            return view(request, *args, **kwargs)
        if request.headers.get("HX-Request"):
            current = urlsplit(request.headers.get("HX-Current-URL", ""))
            page = current.path + (f"?{current.query}" if current.query else "")
            response = HttpResponse(status=401)
            response["HX-Redirect"] = redirect_to_login(page or request.get_full_path()).url
            return response
        return redirect_to_login(request.get_full_path())

    return wrapper


def _agent(request: HttpRequest) -> User:
    user = request.user
    if not isinstance(user, User):  # agent_required let it through
        raise TypeError("inbox view without a signed-in agent")
    return user


def _is_fragment(request: HttpRequest) -> bool:
    return bool(request.headers.get("HX-Request")) and not request.headers.get(
        "HX-History-Restore-Request"
    )


@dataclass(frozen=True)
class NavItem:
    view: str
    label: str
    count: int
    link: str
    kind: str = ""  # the channel kind, for its icon


def _nav(query: InboxQuery, counts: selectors.InboxCounts) -> dict[str, list[NavItem]]:
    def item(view: str, label: str, count: int, kind: str = "") -> NavItem:
        return NavItem(view, label, count, view_link(query, view), kind)

    return {
        "views": [
            item("mine", _("Mine"), counts.mine),
            item("unassigned", _("Unassigned"), counts.unassigned),
            item("open", _("All open"), counts.open),
            item("pending", str(Status.PENDING.label), counts.pending),
            item("solved", str(Status.SOLVED.label), counts.solved),
        ],
        "teams": [item(f"team-{team.pk}", team.name, n) for team, n in counts.teams],
        "channels": [
            item(f"channel-{channel.pk}", channel.name, n, channel.kind)
            for channel, n in counts.channels
        ],
    }


def _list_context(
    request: HttpRequest, user: User, query: InboxQuery, page: selectors.TicketPage
) -> dict[str, Any]:
    counts = selectors.inbox_counts(user)
    qs = query.querystring
    index = reverse("web:inbox:index")
    return {
        "query": query,
        "page": page,
        "counts": counts,
        "nav": _nav(query, counts),
        "list_url": f"{index}?{qs}" if qs else index,
        "rows_url": reverse("web:inbox:rows") + (f"?{qs}&" if qs else "?"),
    }


@agent_required
@require_GET
def inbox(request: HttpRequest) -> HttpResponse:
    user = _agent(request)
    query = parse(request.GET)
    page = selectors.ticket_list(user, query.filters)
    context = _list_context(request, user, query, page)
    if _is_fragment(request):
        # A view picked in the navigation also resets the filter panel to that view.
        context["with_filters"] = request.headers.get("HX-Trigger", "").startswith("view-")
        context["agents"] = _agents() if context["with_filters"] else []
        context["statuses"] = Status.choices
        context["priorities"] = Priority.choices
        response = render(request, "web/inbox/index.html#list_response", context)
        if request.headers.get("HX-Trigger") != "ticket-list":  # a live refresh stays put
            response["HX-Push-Url"] = context["list_url"]
        return response
    context.update(
        agents=_agents(),
        statuses=Status.choices,
        priorities=Priority.choices,
        bulk_statuses=[(v, label) for v, label in Status.choices if v != Status.NEW],
        can_reassign=user.role in {Role.ADMIN, Role.SUPERVISOR},
        time_zones=_time_zones(user.time_zone),
    )
    return render(request, "web/inbox/index.html", context)


def _agents() -> list[User]:
    return list(User.objects.filter(is_active=True).order_by("name", "pk"))


def _time_zones(current: str) -> list[tuple[str, str]]:
    """Indonesia's three zones, and the agent's own when it is another one."""
    zones = [
        ("Asia/Jakarta", _("WIB (Jakarta)")),
        ("Asia/Makassar", _("WITA (Makassar)")),
        ("Asia/Jayapura", _("WIT (Jayapura)")),
    ]
    if current not in {zone for zone, _label in zones}:
        zones.append((current, current))
    return zones


@agent_required
@require_GET
def rows(request: HttpRequest) -> HttpResponse:
    """The next page of the list, after ``cursor`` (the "more" button)."""
    user = _agent(request)
    query = parse(request.GET)
    try:
        page = selectors.ticket_list(user, query.filters, cursor=request.GET.get("cursor", ""))
    except selectors.InvalidCursor:
        return HttpResponseBadRequest(_("This list has changed; reload the page."))
    qs = query.querystring
    context = {
        "query": query,
        "page": page,
        "page_after": True,
        "rows_url": reverse("web:inbox:rows") + (f"?{qs}&" if qs else "?"),
    }
    return render(request, "web/inbox/index.html#rows", context)


# --- bulk changes -----------------------------------------------------------------------------
@dataclass(frozen=True)
class Refusal:
    number: int
    reason: str


@dataclass
class BulkResult:
    changed: list[int]
    refused: list[Refusal]


def _numbers(raw: list[str]) -> list[int]:
    return list(dict.fromkeys(int(n) for n in raw if n.isdigit() and len(n) <= 18))[:BULK_LIMIT]


def _assign_target(user: User, value: str) -> User | None:
    if value == "me":
        return user
    if value == "none":
        return None
    agent = (
        User.objects.filter(pk=int(value), is_active=True).first()
        if value.isdigit() and len(value) <= 18
        else None
    )
    if agent is None:
        raise ValidationError(_("No active agent has this id."))
    return agent


def _change(
    user: User, ticket: Ticket, *, action: str, value: str, target: User | None, tag: str
) -> str | None:
    """Apply one change to one ticket; the reason it was refused, or None when done."""
    if action == "assign":
        if not can_assign(user, ticket, target):
            return _("Only supervisors and admins assign tickets to other agents.")
        tickets.assign(ticket, target, actor=user)
    elif action == "status":
        if ticket.status != value and not can_transition(ticket.status, value):
            return _("A %(current)s ticket cannot become %(target)s.") % {
                "current": Status(ticket.status).label,
                "target": Status(value).label,
            }
        tickets.set_status(ticket, value, actor=user)
    else:
        tickets.set_tags(ticket, [t.name for t in ticket.tags.all()] + [tag], actor=user)
    return None


def apply_bulk(user: User, numbers: list[int], do: str, tag: str = "") -> BulkResult:
    """Change each ticket in turn; one refused ticket does not stop the others.

    ``do`` is "assign:me", "assign:none", "assign:<agent id>", "status:<status>" or "tag"
    (adding ``tag``). Raises ValidationError when the action itself is wrong.
    """
    action, _sep, value = do.partition(":")
    target: User | None = None
    if action == "assign":
        target = _assign_target(user, value)
    elif action == "status":
        if value not in Status.values:
            raise ValidationError(_("Unknown status: %s") % value)
    elif action == "tag":
        tag = tickets.clean_tag(tag)
    else:
        raise ValidationError(_("Choose what to do with the selected tickets."))
    if not numbers:
        raise ValidationError(_("Select at least one ticket."))
    found = {
        t.number: t
        for t in Ticket.objects.filter(ticket_scope(user), number__in=numbers).prefetch_related(
            "tags"
        )
    }
    result = BulkResult([], [])
    for number in numbers:
        ticket = found.get(number)
        if ticket is None:
            result.refused.append(Refusal(number, _("Ticket not found.")))
            continue
        try:
            reason = _change(user, ticket, action=action, value=value, target=target, tag=tag)
        except ValidationError as exc:
            reason = " ".join(exc.messages)
        if reason is None:
            result.changed.append(number)
        else:
            result.refused.append(Refusal(number, reason))
    return result


def _summary(result: BulkResult) -> str:
    n = len(result.changed)
    return ngettext("%(n)d ticket changed.", "%(n)d tickets changed.", n) % {"n": n}


@agent_required
@require_POST
def bulk(request: HttpRequest) -> HttpResponse:
    user = _agent(request)
    numbers = _numbers(request.POST.getlist("t"))
    back = reverse("web:inbox:index")
    listing = request.POST.get("list", "")
    if listing and url_has_allowed_host_and_scheme(f"{back}?{listing}", allowed_hosts=None):
        back = f"{back}?{listing}"
    try:
        result = apply_bulk(user, numbers, request.POST.get("do", ""), request.POST.get("tag", ""))
    except ValidationError as exc:
        error = " ".join(exc.messages)
        if not _is_fragment(request):
            messages.error(request, error)
            return HttpResponseRedirect(back)
        return render(request, "web/inbox/index.html#bulk_result", {"error": error}, status=422)
    if not _is_fragment(request):
        messages.success(request, _summary(result))
        for refusal in result.refused:
            messages.warning(request, f"#{refusal.number}: {refusal.reason}")
        return HttpResponseRedirect(back)
    response = render(
        request,
        "web/inbox/index.html#bulk_result",
        {"result": result, "summary": _summary(result)},
    )
    # app.js refreshes the list (and its counts) and clears the selection when all went through.
    response["HX-Trigger"] = json.dumps({"loket:inbox-changed": {"cleared": not result.refused}})
    return response


# --- the agent's own preferences --------------------------------------------------------------
@agent_required
@require_POST
def preferences(request: HttpRequest) -> HttpResponse:
    """The language switch in the top bar (and the time zone, when a form sends one)."""
    user = _agent(request)
    try:
        accounts.set_preferences(
            user,
            language=request.POST.get("language") or None,
            time_zone=request.POST.get("time_zone") or None,
        )
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    back = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(
        back, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        back = reverse("web:inbox:index")
    return HttpResponseRedirect(back)
