"""Request and response bodies of API v1 (they make the OpenAPI 3.1 document)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from django.http import HttpRequest
from django.urls import reverse
from ninja import Field, Schema
from pydantic import ConfigDict, field_validator, model_validator

from loket.accounts.models import Role, User
from loket.contacts.models import IdentityKind
from loket.tickets.models import (
    Attachment,
    DeliveryStatus,
    Direction,
    Message,
    Priority,
    Status,
    Ticket,
)

# A database id: positive and within a signed 64-bit integer (larger ones would not reach the
# database as a clean "not found").
DbId = Annotated[int, Field(ge=1, le=2**63 - 1)]

# Sent in ``details`` of a 422 "validation_error": where (["query", "limit"]), what, and the
# machine-readable type of the problem.
ErrorLoc = list[str | int]


class ErrorDetail(Schema):
    loc: ErrorLoc
    message: str
    type: str


class ErrorOut(Schema):
    code: str = Field(description="Stable, machine-readable error code (see docs/api.md).")
    message: str = Field(description="Human-readable explanation in the request's language.")
    details: list[ErrorDetail] | None = None


# --- small references -------------------------------------------------------------------------
class TeamRef(Schema):
    id: int
    name: str


class AgentRef(Schema):
    id: int
    name: str
    email: str


class ChannelRef(Schema):
    id: int
    kind: str
    name: str


class ContactRef(Schema):
    id: int
    name: str


class IdentityOut(Schema):
    id: int
    kind: IdentityKind
    value: str = Field(description="Normalised: E.164 for phones, lower case for email.")
    display_name: str


class TicketRef(Schema):
    number: int
    subject: str
    status: Status


# --- tickets ----------------------------------------------------------------------------------
class TicketOut(Schema):
    number: int
    subject: str
    status: Status
    priority: Priority
    channel: ChannelRef
    contact: ContactRef
    assignee: AgentRef | None
    team: TeamRef | None
    tags: list[str]
    preview: str = Field(description="First line of the newest customer-visible message.")
    created_at: datetime
    updated_at: datetime
    last_activity_at: datetime
    last_customer_message_at: datetime | None
    waiting_since: datetime | None = Field(
        description="Since when the customer waits for an answer; null when we answered last."
    )
    first_response_at: datetime | None
    solved_at: datetime | None
    closed_at: datetime | None

    @staticmethod
    def resolve_tags(obj: Ticket) -> list[str]:
        return [tag.name for tag in obj.tags.all()]


class TicketPageOut(Schema):
    items: list[TicketOut]
    next_cursor: str | None = Field(
        description="Pass as ?cursor= for the next page; null on the last page."
    )
    next: str | None = Field(description="The full URL of the next page; null on the last page.")


class AttachmentOut(Schema):
    id: int
    name: str
    content_type: str
    size: int
    sha256: str
    content_id: str
    note: str = Field(description="Why the file is not stored (too large, ...); empty if stored.")
    url: str | None = Field(description="Download URL (same bearer token); null if not stored.")

    @staticmethod
    def resolve_url(obj: Attachment, context: dict[str, Any]) -> str | None:
        if not obj.file:
            return None
        request: HttpRequest = context["request"]
        return request.build_absolute_uri(reverse("api-v1:attachment", args=[obj.pk]))


class MessageOut(Schema):
    id: int
    direction: Direction
    author: AgentRef | None = Field(description="The agent who wrote it (outbound and notes).")
    identity: IdentityOut | None = Field(
        description="The customer's address it came from or goes to."
    )
    subject: str
    text: str
    html: str = Field(description="Sanitised HTML when the source had HTML, else empty.")
    reply_to_id: int | None
    delivery_status: DeliveryStatus | Literal[""] = Field(
        description="Outbound: queued, sending, sent, delivered, read or failed. Inbound: "
        "received. Notes: empty."
    )
    failure_code: str
    failure_reason: str
    created_at: datetime
    sent_at: datetime | None
    delivered_at: datetime | None
    read_at: datetime | None
    failed_at: datetime | None
    attachments: list[AttachmentOut]

    @staticmethod
    def resolve_attachments(obj: Message) -> list[Attachment]:
        return list(obj.attachments.all())


class ContactWithIdentities(Schema):
    id: int
    name: str
    identities: list[IdentityOut]


class TicketDetailOut(TicketOut):
    contact: ContactWithIdentities  # type: ignore[assignment]
    messages: list[MessageOut]
    related: list[TicketRef] = Field(description="Linked tickets you may see.")

    @staticmethod
    def resolve_related(obj: Ticket) -> list[Ticket]:
        related: list[Ticket] = getattr(obj, "visible_related", [])
        return related


class TicketFiltersIn(Schema):
    """Query parameters of GET /tickets. Repeat a list parameter or separate with commas."""

    status: list[Status] = Field(default_factory=list, description="e.g. ?status=new,open")
    priority: list[Priority] = Field(default_factory=list)
    channel: str | None = Field(
        default=None, pattern=r"^(\d{1,18}|[a-z_]{1,16})$", description="Channel id or kind."
    )
    assignee: str | None = Field(
        default=None, pattern=r"^(\d{1,18}|me|none)$", description="Agent id, 'me' or 'none'."
    )
    team: str | None = Field(
        default=None, pattern=r"^(\d{1,18}|none)$", description="Team id or 'none'."
    )
    contact: DbId | None = None
    tag: str | None = Field(default=None, max_length=50)
    updated_since: datetime | None = Field(
        default=None, description="ISO 8601; tickets changed at or after this moment."
    )
    q: str = Field(default="", max_length=200, description="Full-text search.")
    order: Literal["activity", "waiting"] = Field(
        default="activity",
        description="activity: newest activity first; waiting: longest-waiting customer first.",
    )
    cursor: str | None = Field(default=None, max_length=200)
    limit: int = Field(default=25, ge=1, le=100)

    @field_validator("status", "priority", mode="before")
    @classmethod
    def split_commas(cls, value: Any) -> Any:
        if isinstance(value, str):
            value = [value]
        if isinstance(value, list):
            return [part.strip() for item in value for part in str(item).split(",") if part.strip()]
        return value


class TicketPatchIn(Schema):
    """Only the fields present change. ``assignee_id`` / ``team_id`` null: nobody / no team."""

    model_config = ConfigDict(extra="forbid")

    status: Status | None = None
    priority: Priority | None = None
    assignee_id: DbId | None = None
    team_id: DbId | None = None
    tags: list[str] | None = Field(default=None, max_length=50)


class TemplateIn(Schema):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=512)
    language: str = Field(min_length=1, max_length=16, examples=["id"])
    params: list[str] = Field(
        default_factory=list,
        max_length=50,
        description="The values of the template's parameters, in its order "
        "(GET /tickets/{number}/templates lists them).",
    )


class ReplyIn(Schema):
    model_config = ConfigDict(extra="forbid")

    text: str = Field(default="", max_length=65536)
    identity_id: DbId | None = Field(
        default=None,
        description="Answer on this address of the customer; default: the last one the "
        "customer wrote from.",
    )
    template: TemplateIn | None = Field(
        default=None,
        description="WhatsApp: send this approved template instead of text (the only thing "
        "that reaches a customer more than 24 hours after their last message).",
    )

    @model_validator(mode="after")
    def _text_or_template(self) -> ReplyIn:
        if bool(self.text.strip()) == (self.template is not None):
            raise ValueError("give either text or template")
        return self


class TemplateOut(Schema):
    id: int
    name: str
    language: str
    category: str
    parameters: list[str]
    body: str


class WhatsAppComposeOut(Schema):
    window_open: bool
    window_closes_at: datetime | None = Field(
        description="When free text stops reaching the customer (24 h after their last "
        "message); null when they never wrote on this number."
    )
    templates: list[TemplateOut]


class NoteIn(Schema):
    model_config = ConfigDict(extra="forbid")

    text: str = Field(min_length=1, max_length=65536)


# --- contacts ---------------------------------------------------------------------------------
class ContactOut(Schema):
    id: int
    name: str
    created_at: datetime
    updated_at: datetime
    identities: list[IdentityOut]


class ContactDetailOut(ContactOut):
    merged_into_id: int | None = Field(description="Set when merged: the contact to follow.")
    tickets: list[TicketOut] = Field(
        description="Your visible tickets of this contact, newest activity first (at most 50)."
    )
    more_tickets: bool = Field(description="More exist: GET /tickets?contact=ID lists them all.")


class ContactPageOut(Schema):
    items: list[ContactOut]
    next_cursor: str | None
    next: str | None


# --- me ---------------------------------------------------------------------------------------
class MeOut(Schema):
    id: int
    email: str
    name: str
    role: Role
    language: str
    time_zone: str
    teams: list[TeamRef]

    @staticmethod
    def resolve_teams(obj: User) -> list[Any]:
        return list(obj.teams.all())
