"""What the inbox shows, read from the query string: a view (Milik saya, Belum ditugaskan, ...)
narrowed by filters, a search and an order. Unknown values are ignored, never an error."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Literal, cast

from django.http import QueryDict
from django.utils.http import urlencode

from loket.tickets.models import Priority, Status
from loket.tickets.selectors import Order, TicketFilters

ACTIVE = (Status.NEW.value, Status.OPEN.value, Status.PENDING.value)
DEFAULT_VIEW = "open"
# The fixed views; "team-<id>" and "channel-<id>" come on top.
VIEWS: dict[str, TicketFilters] = {
    "mine": TicketFilters(assignee="me", status=ACTIVE),
    "unassigned": TicketFilters(assignee="none", status=ACTIVE),
    "open": TicketFilters(status=ACTIVE),
    "pending": TicketFilters(status=(Status.PENDING.value,)),
    "solved": TicketFilters(status=(Status.SOLVED.value,)),
}
# The query parameters this page reads (and keeps in its links), the cursor aside.
PARAMS = ("view", "status", "channel", "assignee", "team", "tag", "priority", "q", "order")


def _view_filters(view: str) -> TicketFilters | None:
    if view in VIEWS:
        return VIEWS[view]
    kind, _, ident = view.partition("-")
    if not ident.isdigit() or len(ident) > 18:
        return None
    if kind == "team":
        return TicketFilters(team=int(ident), status=ACTIVE)
    if kind == "channel":
        return TicketFilters(channel=int(ident), status=ACTIVE)
    return None


def _id_or(value: str, words: tuple[str, ...]) -> int | str | None:
    value = value.strip()
    if value in words:
        return value
    if value.isdigit() and len(value) <= 18:
        return int(value)
    return None


@dataclass(frozen=True)
class InboxQuery:
    view: str
    filters: TicketFilters
    # The parameters as given (cleaned), to rebuild links to this same list.
    params: tuple[tuple[str, str], ...]

    @property
    def querystring(self) -> str:
        return urlencode(list(self.params))

    def value(self, name: str) -> str:
        return next((v for k, v in self.params if k == name), "")

    def values(self, name: str) -> list[str]:
        return [v for k, v in self.params if k == name]

    @property
    def filtered(self) -> bool:
        """Whether filters beyond the view narrow the list (the filter panel starts open)."""
        return any(k not in {"view", "q", "order"} for k, _v in self.params)


def parse(data: QueryDict) -> InboxQuery:
    view = data.get("view", "") or DEFAULT_VIEW
    base = _view_filters(view)
    if base is None:
        view, base = DEFAULT_VIEW, VIEWS[DEFAULT_VIEW]
    params: list[tuple[str, str]] = [("view", view)] if view != DEFAULT_VIEW else []
    status: tuple[str, ...] = tuple(
        dict.fromkeys(s for s in data.getlist("status") if s in Status.values)
    )
    params += [("status", s) for s in status]
    priority = tuple(dict.fromkeys(p for p in data.getlist("priority") if p in Priority.values))
    params += [("priority", p) for p in priority]
    channel_param = data.get("channel", "").strip()[:32]
    channel: int | str | None = base.channel
    if channel_param:
        digits = channel_param.isdigit() and len(channel_param) <= 18
        channel = int(channel_param) if digits else channel_param
        params.append(("channel", channel_param))
    assignee = base.assignee
    asked_assignee = _id_or(data.get("assignee", ""), ("me", "none"))
    if asked_assignee is not None:
        assignee = cast('int | Literal["me", "none"]', asked_assignee)
        params.append(("assignee", str(asked_assignee)))
    team = base.team
    asked_team = _id_or(data.get("team", ""), ("none",))
    if asked_team is not None:
        team = cast('int | Literal["none"]', asked_team)
        params.append(("team", str(asked_team)))
    tag = data.get("tag", "").strip()[:50]
    if tag:
        params.append(("tag", tag))
    q = data.get("q", "").strip()[:200]
    if q:
        params.append(("q", q))
    order: Order = "waiting" if data.get("order") == "waiting" else "activity"
    if order != "activity":
        params.append(("order", order))
    filters = replace(
        base,
        status=status or base.status,
        priority=priority or base.priority,
        channel=channel,
        assignee=assignee,
        team=team,
        tag=tag or None,
        q=q,
        order=order,
    )
    return InboxQuery(view=view, filters=filters, params=tuple(params))


def view_link(query: InboxQuery, view: str) -> str:
    """The query string of another view, keeping the search and the order."""
    params: list[tuple[str, str]] = [] if view == DEFAULT_VIEW else [("view", view)]
    params += [(k, v) for k, v in query.params if k in {"q", "order"}]
    return urlencode(params)
