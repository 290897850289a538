"""WhatsApp message templates: synced from Meta, filled in, and sent as ``components``.

Outside the 24-hour window only an approved template reaches the customer. Meta owns the
templates (they are written and approved in its dashboard); Loket keeps a copy per channel
(``channels.Template``) so the composer can offer them without a call to Meta.

Parameters are ``{{1}}``-style (``parameter_format`` POSITIONAL) or ``{{customer_name}}``
(NAMED). ``Template.parameters`` lists them in order of first appearance: a text header's
first (named ``header.<name>``, rare), then the body's. A media header (image, video,
document) needs a file at send time and is not offered by this module.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.db import transaction
from django.db.models import QuerySet

from loket.channels.models import Channel, Template
from loket.channels.whatsapp import graph
from loket.core import clock

if TYPE_CHECKING:
    from loket.accounts.models import User
    from loket.contacts.models import Identity
    from loket.tickets.models import Message, Ticket

FIELDS = "name,status,language,category,components,id,rejected_reason,parameter_format"
PAGE_SIZE = 100
# Meta's limits (250 templates per WABA by default, more on request): a hard stop for a
# misbehaving server that keeps sending "next".
MAX_PAGES = 200
HEADER = "header."
_PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z0-9_]+)\s*\}\}")


@dataclass(frozen=True)
class SyncResult:
    created: int
    updated: int
    removed: int


class TemplateError(ValueError):
    """The values do not fit the template (count)."""


def placeholders(text: str) -> list[str]:
    """Placeholder names in order of first appearance: ["1", "2"] or ["customer_name"]."""
    seen: list[str] = []
    for name in _PLACEHOLDER.findall(text or ""):
        if name not in seen:
            seen.append(name)
    return seen


def _component(components: Any, kind: str) -> dict[str, Any]:
    for component in components if isinstance(components, list) else []:
        if isinstance(component, dict) and str(component.get("type", "")).upper() == kind:
            return component
    return {}


def _text_header(components: Any) -> str:
    header = _component(components, "HEADER")
    if str(header.get("format", "TEXT")).upper() != "TEXT":
        return ""
    return str(header.get("text") or "")


def parameters_of(components: Any) -> list[str]:
    header = [HEADER + name for name in placeholders(_text_header(components))]
    return header + placeholders(str(_component(components, "BODY").get("text") or ""))


# --- sync ------------------------------------------------------------------------------------
def fetch(channel: Channel) -> list[dict[str, Any]]:
    """Every template of the channel's business account, following Meta's paging cursors."""
    client = graph.client(channel)
    waba = str(channel.config.get("waba_id") or "")
    params: dict[str, Any] = {"fields": FIELDS, "limit": PAGE_SIZE}
    found: list[dict[str, Any]] = []
    for _page in range(MAX_PAGES):
        answer = client.get(f"{waba}/message_templates", params=params)
        data = answer.get("data")
        if isinstance(data, list):
            found.extend(t for t in data if isinstance(t, dict))
        paging = answer.get("paging")
        paging = paging if isinstance(paging, dict) else {}
        cursors = paging.get("cursors")
        after = cursors.get("after") if isinstance(cursors, dict) else None
        if not paging.get("next") or not after:
            break
        params = {**params, "after": after}
    return found


def sync(channel: Channel) -> SyncResult:
    """Bring the channel's copy in line with Meta: add, update, and drop deleted templates.

    Raises ``graph.GraphError`` when Meta cannot be asked; nothing changes then.
    """
    remote = fetch(channel)
    now = clock.now()
    created = updated = 0
    keep: set[tuple[str, str]] = set()
    with transaction.atomic():
        existing = {(t.name, t.language): t for t in channel.templates.all()}
        for item in remote:
            name = str(item.get("name") or "")[:512]
            language = str(item.get("language") or "")[:16]
            if not name or not language or (name, language) in keep:
                continue
            keep.add((name, language))
            components = item.get("components") if isinstance(item.get("components"), list) else []
            values = {
                "external_id": str(item.get("id") or "")[:64],
                "category": str(item.get("category") or "")[:32],
                "status": str(item.get("status") or "")[:32],
                "components": components,
                "body": str(_component(components, "BODY").get("text") or ""),
                "parameters": parameters_of(components),
                "reason": _reason(item),
            }
            template = existing.get((name, language))
            if template is None:
                Template.objects.create(
                    channel=channel, name=name, language=language, synced_at=now, **values
                )
                created += 1
                continue
            if any(getattr(template, key) != value for key, value in values.items()):
                updated += 1
            Template.objects.filter(pk=template.pk).update(synced_at=now, **values)
        gone = [t.pk for key, t in existing.items() if key not in keep]
        Template.objects.filter(pk__in=gone).delete()
    return SyncResult(created, updated, len(gone))


def _reason(item: dict[str, Any]) -> str:
    reason = str(item.get("rejected_reason") or "")
    return "" if reason.upper() == "NONE" else reason[:255]


def approved(channel: Channel) -> QuerySet[Template]:
    return channel.templates.filter(status__iexact="APPROVED").order_by("name", "language")


# --- filling in ------------------------------------------------------------------------------
def _values(template: Template, params: list[str]) -> dict[str, str]:
    names = [str(n) for n in template.parameters] if isinstance(template.parameters, list) else []
    return {name: str(value) for name, value in zip(names, params, strict=False) if value != ""}


def _fill(text: str, values: dict[str, str], prefix: str = "") -> str:
    def one(match: re.Match[str]) -> str:
        return values.get(prefix + match.group(1), match.group(0))

    return _PLACEHOLDER.sub(one, text)


def render(template: Template, params: list[str]) -> str:
    """What the customer reads: header, body and footer with the values filled in.

    A value not given (or empty) leaves its placeholder visible, so a preview shows what is
    still missing.
    """
    values = _values(template, params)
    header = _fill(_text_header(template.components), values, HEADER)
    body = _fill(template.body, values)
    footer = str(_component(template.components, "FOOTER").get("text") or "")
    return "\n\n".join(part for part in (header, body, footer) if part.strip())


def _named(template: Template) -> bool:
    return not all(str(name).removeprefix(HEADER).isdigit() for name in template.parameters)


def send_components(template: Template, params: list[str]) -> list[dict[str, Any]]:
    """Meta's send ``components`` for these values (positional or named parameters)."""
    names = [str(n) for n in template.parameters] if isinstance(template.parameters, list) else []
    if len(params) != len(names):
        raise TemplateError(
            f"template {template.name} takes {len(names)} values, {len(params)} given"
        )
    named = _named(template)
    header: list[dict[str, Any]] = []
    body: list[dict[str, Any]] = []
    for name, value in zip(names, params, strict=True):
        parameter: dict[str, Any] = {"type": "text", "text": str(value)}
        if named:
            parameter["parameter_name"] = name.removeprefix(HEADER)
        (header if name.startswith(HEADER) else body).append(parameter)
    components: list[dict[str, Any]] = []
    if header:
        components.append({"type": "header", "parameters": header})
    if body:
        components.append({"type": "body", "parameters": body})
    return components


# --- sending -----------------------------------------------------------------------------------
WHATSAPP_KINDS = frozenset({"phone", "whatsapp_user"})


def reply_meta(template: Template, params: list[str]) -> dict[str, Any]:
    """The outbound instructions ``tickets.services.reply`` keeps on the message."""
    return {
        "wa": {
            "template": {
                "name": template.name,
                "language": template.language,
                "params": list(params),
                "components": send_components(template, params),
            }
        }
    }


def send(
    ticket: Ticket, author: User, template: Template, params: list[str], identity: Identity | None
) -> Message:
    """Queue an approved template to the ticket's WhatsApp customer (any time: templates
    are what reaches a customer outside the 24-hour window).

    ``identity`` is the address to use; one that WhatsApp cannot reach (an email) is replaced
    by the customer's WhatsApp address. Raises TemplateError for a wrong number of values.
    """
    from loket.tickets import services as tickets

    if not template.approved:
        raise TemplateError(f"template {template.name} is not approved ({template.status})")
    if identity is None or identity.kind not in WHATSAPP_KINDS:
        identity = ticket.contact.identities.filter(kind__in=WHATSAPP_KINDS).order_by("pk").first()
    meta = reply_meta(template, params)
    return tickets.reply(ticket, author, render(template, params), identity=identity, meta=meta)
