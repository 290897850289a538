"""Customers: look up by name or address, and one customer with identities and tickets."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja import Field, Query, Router, Schema
from ninja.params import P, PathEx

from loket.api.auth import current_user
from loket.api.errors import not_found
from loket.api.pagination import paged
from loket.api.schemas import ContactDetailOut, ContactPageOut, ErrorOut
from loket.contacts import selectors

router = Router(tags=["contacts"])

ContactId = PathEx[int, P(ge=1, le=2**63 - 1)]


class ContactSearchIn(Schema):
    q: str = Field(
        default="",
        max_length=200,
        description="Part of a name, email or phone; a phone in any usual form (0812-3456-7890).",
    )
    cursor: str | None = Field(default=None, max_length=200)
    limit: int = Field(default=25, ge=1, le=100)


@router.get(
    "/contacts",
    response={200: ContactPageOut, 401: ErrorOut, 422: ErrorOut},
    url_name="contacts",
    summary="Search contacts",
)
def search_contacts(request: HttpRequest, params: Query[ContactSearchIn]) -> dict[str, Any]:
    """Contacts whose name or any identity matches ``q`` (all without ``q``), newest first.
    Merged contacts are left out."""
    return paged(
        request,
        lambda: selectors.contact_search(
            current_user(request), params.q, cursor=params.cursor, per_page=params.limit
        ),
        "contacts",
    )


@router.get(
    "/contacts/{contact_id}",
    response={200: ContactDetailOut, 401: ErrorOut, 404: ErrorOut, 422: ErrorOut},
    url_name="contact",
    summary="One contact with identities and tickets",
)
def get_contact(request: HttpRequest, contact_id: ContactId) -> dict[str, Any]:
    """The contact, every identity, and up to 50 of the tickets you may see (newest activity
    first; ``more_tickets`` says whether GET /tickets?contact=ID has more)."""
    detail = selectors.contact_detail(current_user(request), contact_id)
    if detail is None:
        raise not_found()
    contact = detail.contact
    return {
        "id": contact.pk,
        "name": contact.name,
        "created_at": contact.created_at,
        "updated_at": contact.updated_at,
        "merged_into_id": contact.merged_into_id,
        "identities": detail.identities,
        "tickets": detail.tickets,
        "more_tickets": detail.more_tickets,
    }
