"""Channel-level news from a provider: template status, errors without a message, opt-outs.

Each notice leaves an audit event (what admins and the health view read) and, where Loket
keeps the fact, updates it (a template's status, the channel's last error). A delivery can
be read more than once, so each notice is applied once: its event carries a digest of the
notice, and a notice whose digest is already recorded changes nothing.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable
from typing import Any

from django.db import transaction
from django.db.models import Q
from django.utils.translation import gettext as _

from loket.audit import services as audit
from loket.audit.models import Event
from loket.channels.items import Notice
from loket.channels.models import Channel, ChannelKind, Template
from loket.contacts import services as contacts
from loket.contacts.models import Identity, IdentityKind
from loket.core import clock

log = logging.getLogger(__name__)

# Template events that change what the template can do; REINSTATED gives it back.
_TEMPLATE_STATUS = {"REINSTATED": "APPROVED"}
# FLAGGED warns about quality: the template still sends, so its status stays.
_TEMPLATE_WARNINGS = {"FLAGGED"}
# Account news that stops or limits sending: the channel shows it as its last error.
_ACCOUNT_PROBLEMS = {
    "FLAGGED",
    "DOWNGRADE",
    "DISABLED_UPDATE",
    "ACCOUNT_VIOLATION",
    "ACCOUNT_RESTRICTION",
    "ACCOUNT_DELETED",
    "BANNED",
}


def apply(channel: Channel, notice: Notice) -> None:
    handler = _HANDLERS.get(notice.kind)
    if handler is None:
        log.info("channel %s: notice %r ignored", channel.pk, notice.kind)
        return
    key = _digest(notice)
    with transaction.atomic():
        if Event.objects.filter(
            subject_type="channel", subject_id=channel.pk, data__notice=key
        ).exists():
            return  # read before: the delivery is being replayed
        handler(channel, notice.data, key)


def _digest(notice: Notice) -> str:
    text = json.dumps([notice.kind, notice.data], sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def _record(channel: Channel, kind: str, key: str, data: dict[str, Any]) -> None:
    audit.append(kind, subject_type="channel", subject_id=channel.pk, data={**data, "notice": key})


# --- templates -------------------------------------------------------------------------------
def _same_account(channel: Channel) -> Q:
    """Templates belong to the business account: every number of it shares them."""
    waba = str(channel.config.get("waba_id", ""))
    if not waba:
        return Q(channel=channel)
    return Q(channel=channel) | Q(channel__kind=ChannelKind.WHATSAPP, channel__config__waba_id=waba)


def _template_status(channel: Channel, data: dict[str, Any], key: str) -> None:
    found = Template.objects.filter(_same_account(channel))
    if data.get("template_id"):
        found = found.filter(external_id=data["template_id"])
    else:
        found = found.filter(name=data.get("name", ""), language=data.get("language", ""))
    changed: list[int] = []
    for template in found.select_for_update():
        fields = _template_changes(template, data)
        if fields:
            template.save(update_fields=fields)
            changed.append(template.pk)
    if not found.exists():
        log.info("channel %s: news about template %s not synced yet", channel.pk, data.get("name"))
    _record(
        channel,
        "template.updated",
        key,
        {
            "field": data.get("field", ""),
            "name": data.get("name", ""),
            "language": data.get("language", ""),
            "event": data.get("event", ""),
            "category": data.get("category", ""),
            "templates": changed,
        },
    )


def _template_changes(template: Template, data: dict[str, Any]) -> list[str]:
    fields = []
    event = str(data.get("event", "")).upper()
    if data.get("field") == "message_template_status_update" and event:
        if event not in _TEMPLATE_WARNINGS:
            status = _TEMPLATE_STATUS.get(event, event)[:32]
            if status != template.status:
                template.status = status
                fields.append("status")
        reason = _template_reason(data)[:255]
        if reason != template.reason:
            template.reason = reason
            fields.append("reason")
    category = str(data.get("category", ""))[:32]
    if data.get("field") == "template_category_update" and category != template.category:
        template.category = category
        fields.append("category")
    return fields


def _template_reason(data: dict[str, Any]) -> str:
    """Meta's explanation, most specific first; "NONE" means there is none."""
    for part in ("rejection_info", "other_info", "disable_info"):
        info = data.get(part)
        if isinstance(info, dict):
            text = info.get("reason") or info.get("description") or info.get("disable_date")
            if text:
                return str(text)
    reason = str(data.get("reason", ""))
    return "" if reason.upper() == "NONE" else reason


# --- errors and account news -----------------------------------------------------------------
def _error(channel: Channel, data: dict[str, Any], key: str) -> None:
    from loket.channels.whatsapp import errors  # the channel's code table

    code = str(data.get("code", ""))
    details = str(data.get("details") or data.get("message") or data.get("title") or "")
    reason = errors.classify(int(code)).reason if code.isdigit() else details
    if code:
        text = _("WhatsApp reported error %(code)s: %(reason)s") % {"code": code, "reason": reason}
    else:  # our parser gave up on a part of a webhook
        text = _("Part of a WhatsApp webhook could not be read: %(reason)s") % {"reason": reason}
    if details and details != reason:
        text = f"{text} ({details})"
    log.warning("channel %s: %s", channel.pk, text)
    Channel.objects.filter(pk=channel.pk).update(last_error=text[:2000], last_error_at=clock.now())
    _record(channel, "channel.provider_error", key, {"code": code, "details": details[:500]})


def _account(channel: Channel, data: dict[str, Any], key: str) -> None:
    event = str(data.get("event", "")).upper()
    if event in _ACCOUNT_PROBLEMS:
        text = _("WhatsApp account news: %(event)s") % {"event": event}
        detail = data.get("current_limit") or data.get("ban_info") or data.get("violation_info")
        if detail:
            text = f"{text} ({json.dumps(detail, default=str)[:500]})"
        Channel.objects.filter(pk=channel.pk).update(last_error=text, last_error_at=clock.now())
    payload = json.dumps(data, default=str)
    _record(
        channel,
        "channel.account_update",
        key,
        {"field": data.get("field", ""), "event": event, "value": payload[:2000]},
    )


# --- marketing opt-outs ----------------------------------------------------------------------
def _user_preferences(channel: Channel, data: dict[str, Any], key: str) -> None:
    """A customer stopped or resumed marketing messages: recorded on the channel's log with
    the contact it concerns (Loket keeps no opt-out flag yet; the 131050 failure stays the
    final word when a marketing template is refused)."""
    identity = None
    if data.get("wa_id"):
        try:
            number = contacts.normalize(IdentityKind.PHONE, str(data["wa_id"]), international=True)
        except contacts.InvalidIdentity:
            number = ""
        identity = Identity.objects.filter(kind=IdentityKind.PHONE, value=number).first()
    if identity is None and data.get("user_id"):
        identity = Identity.objects.filter(
            kind=IdentityKind.WHATSAPP_USER, value=str(data["user_id"])
        ).first()
    _record(
        channel,
        "contact.marketing_preference",
        key,
        {
            "contact_id": identity.contact_id if identity else None,
            "category": data.get("category", ""),
            "value": data.get("value", ""),
            "timestamp": data.get("timestamp", ""),
        },
    )


# --- email ------------------------------------------------------------------------------------
def _email_ignored(channel: Channel, data: dict[str, Any], key: str) -> None:
    """Our own mail came back (sent from one of our addresses, or carrying our loop marker):
    kept as a delivery, recorded, never a ticket (email lessons §6, §7.7)."""
    log.info("channel %s: own mail not ingested (%s)", channel.pk, data.get("reason"))
    _record(channel, "channel.email_ignored", key, data)


def _email_bounce(channel: Channel, data: dict[str, Any], key: str) -> None:
    """A delivery report that names no message of ours, or only a delay: recorded for the
    channel's log; a permanent failure of our own mail arrives as a status instead."""
    _record(channel, "channel.email_bounce", key, data)


_HANDLERS: dict[str, Callable[[Channel, dict[str, Any], str], None]] = {
    "template_status": _template_status,
    "error": _error,
    "account": _account,
    "user_preferences": _user_preferences,
    "email_ignored": _email_ignored,
    "email_bounce": _email_bounce,
}
