"""Reads of contacts shared by the REST API and the agent dashboard (fixed query counts).

Every active agent may look a customer up; which of the customer's tickets they see follows
the ticket permissions (``accounts.permissions``).
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Prefetch, Q, QuerySet

from loket.accounts.models import User
from loket.accounts.permissions import ticket_scope
from loket.contacts.models import Contact, Identity, IdentityKind
from loket.core.phone import InvalidPhone, normalize_phone
from loket.tickets.models import Ticket
from loket.tickets.selectors import (
    DEFAULT_PER_PAGE,
    MAX_PER_PAGE,
    InvalidCursor,
    decode_cursor,
    encode_cursor,
    with_row_relations,
)

CONTACT_TICKETS = 50


@dataclass(frozen=True)
class ContactDetail:
    contact: Contact
    identities: list[Identity]
    # The user's visible tickets of this contact, newest activity first, at most CONTACT_TICKETS.
    tickets: list[Ticket]
    # More visible tickets exist than listed (the ticket list filtered by contact has them all).
    more_tickets: bool


@dataclass(frozen=True)
class ContactPage:
    contacts: list[Contact]
    next_cursor: str | None


def _identities() -> Prefetch[str, QuerySet[Identity], str]:
    return Prefetch("identities", queryset=Identity.objects.order_by("kind", "pk"))


def contact_detail(user: User, contact_id: int) -> ContactDetail | None:
    """A contact with identities and the tickets ``user`` may see. Five queries (four for an
    admin). A merged contact is returned as it is (no identities, no tickets, ``merged_into``
    set) so a client holding its old id can follow it."""
    if not user.is_active:
        return None
    contact = Contact.objects.prefetch_related(_identities()).filter(pk=contact_id).first()
    if contact is None:
        return None
    tickets = list(
        with_row_relations(
            Ticket.objects.filter(ticket_scope(user), contact_id=contact.pk)
        ).order_by("-last_activity_at", "-pk")[: CONTACT_TICKETS + 1]
    )
    return ContactDetail(
        contact=contact,
        identities=list(contact.identities.all()),
        tickets=tickets[:CONTACT_TICKETS],
        more_tickets=len(tickets) > CONTACT_TICKETS,
    )


def _matching(q: str) -> Q:
    """Contacts whose name or any address contains ``q``; a typed phone number in any common
    form ("0812-3456-7890") also finds its E.164 identity."""
    addresses = Identity.objects.filter(value__icontains=q)
    condition = Q(name__icontains=q) | Q(pk__in=addresses.values("contact_id"))
    if sum(ch.isdigit() for ch in q) >= 6:
        try:
            phone = normalize_phone(q)
        except InvalidPhone:
            pass
        else:
            same_phone = Identity.objects.filter(kind=IdentityKind.PHONE, value=phone)
            condition |= Q(pk__in=same_phone.values("contact_id"))
    return condition


def contact_search(
    user: User, q: str = "", *, cursor: str | None = None, per_page: int = DEFAULT_PER_PAGE
) -> ContactPage:
    """Contacts matching ``q`` (all when empty), newest first, merged ones left out.
    Two queries. Raises InvalidCursor for a cursor this function did not make."""
    if not user.is_active:
        return ContactPage([], None)
    per_page = max(1, min(per_page, MAX_PER_PAGE))
    qs: QuerySet[Contact] = Contact.objects.filter(merged_into__isnull=True)
    q = q.strip()
    if q:
        qs = qs.filter(_matching(q))
    if cursor:
        payload = decode_cursor(cursor)
        if len(payload) != 2 or payload[0] != "contact" or type(payload[1]) is not int:
            raise InvalidCursor(cursor)
        qs = qs.filter(pk__lt=payload[1])
    rows = list(qs.prefetch_related(_identities()).order_by("-pk")[: per_page + 1])
    if len(rows) > per_page:
        rows = rows[:per_page]
        return ContactPage(rows, encode_cursor(["contact", rows[-1].pk]))
    return ContactPage(rows, None)
