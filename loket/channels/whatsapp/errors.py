"""Graph error codes → what Loket tells the agent and whether it tries again (reference §1.11).

Each row of ``TABLE`` gives the Loket code name, a reason in plain words that says what to do
(translated when the failure is recorded), the retry policy, and whether the problem is the
channel's rather than the message's (an expired token: the channel is flagged unhealthy and
the admins are told once per incident). ``Message.failure_code`` keeps Meta's number
("131047"), which is what the ticket page's advice keys on.

Retry policies: ``no``; ``backoff`` (the delivery's capped exponential backoff);
``recipient_backoff`` (this recipient only, 4^n seconds); ``once`` (one more try).
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from typing import Literal

from django.db import transaction
from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from loket.accounts.models import Role, User
from loket.audit import services as audit
from loket.channels.items import DeliveryError
from loket.channels.models import Channel
from loket.channels.whatsapp.graph import NETWORK, GraphError
from loket.core import clock
from loket.notifications import services as notifications
from loket.notifications.models import Kind, Notification
from loket.tickets.models import Message

log = logging.getLogger(__name__)

Retry = Literal["no", "backoff", "recipient_backoff", "once"]


@dataclass(frozen=True)
class Row:
    codes: tuple[int, ...]
    code_name: str
    reason: Promise
    retry: Retry = "no"
    # The channel itself is broken (token, permissions, account): flag it and alert admins.
    channel_level: bool = False


@dataclass(frozen=True)
class Mapped:
    code_name: str
    reason: str
    retry: Retry
    channel_level: bool = False


AUTH = Row(
    (0, 190),
    "AUTH_INVALID",
    gettext_lazy(
        "WhatsApp did not accept this channel's access token (it expired or was revoked). "
        "An administrator must enter a new token in the channel settings; then send again."
    ),
    channel_level=True,
)
_TEMPLATE_VALUES = gettext_lazy(
    "A value filled into the template has the wrong format. Check the values and send again."
)

TABLE: tuple[Row, ...] = (
    AUTH,
    Row(
        (3, 10, *range(200, 300)),
        "CONFIG_PERMISSION",
        gettext_lazy(
            "The channel's access token lacks a permission WhatsApp requires. An administrator "
            "must grant whatsapp_business_messaging to the token; then send again."
        ),
        channel_level=True,
    ),
    Row(
        (100,),
        "BAD_REQUEST",
        gettext_lazy(
            "WhatsApp rejected the message as malformed. This is a fault in Loket: tell your "
            "administrator, and try sending it in another form."
        ),
    ),
    Row(
        (4, 80007, 130429),
        "RATE_LIMITED",
        gettext_lazy(
            "WhatsApp asked this number to send more slowly. Loket sends the message again "
            "shortly; nothing to do."
        ),
        "backoff",
    ),
    Row(
        (131056,),
        "RATE_LIMITED_RECIPIENT",
        gettext_lazy(
            "Too many messages went to this customer in a short time. Loket sends this one "
            "again in a moment; nothing to do."
        ),
        "recipient_backoff",
    ),
    Row(
        (131048,),
        "QUALITY_RESTRICTED",
        gettext_lazy(
            "WhatsApp is limiting this number because customers blocked or reported its "
            "messages. Wait before sending more, and check the number's quality in WhatsApp "
            "Manager."
        ),
    ),
    Row(
        (131047,),
        "WINDOW_CLOSED",
        gettext_lazy(
            "More than 24 hours have passed since the customer last wrote, so WhatsApp only "
            "delivers an approved template. Send a template instead."
        ),
    ),
    Row(
        (131026,),
        "RECIPIENT_UNREACHABLE",
        gettext_lazy(
            "WhatsApp could not deliver to this number: it may not use WhatsApp, have an old "
            "app, or have blocked this business. Reach the customer another way."
        ),
    ),
    Row(
        (131049,),
        "MARKETING_CAPPED",
        gettext_lazy(
            "WhatsApp held back this marketing message because the customer already got "
            "many lately. Try again after 24 hours, or send a utility template."
        ),
    ),
    Row(
        (131050,),
        "OPTED_OUT",
        gettext_lazy(
            "The customer has stopped marketing messages from this business. Do not send "
            "them marketing templates."
        ),
    ),
    Row(
        (130472,),
        "NOT_SENT_EXPERIMENT",
        gettext_lazy(
            "WhatsApp did not deliver this marketing message because the customer is part "
            "of a Meta experiment. If it matters, reach them with another kind of template."
        ),
    ),
    Row(
        (131051,),
        "UNSUPPORTED_TYPE",
        gettext_lazy(
            "WhatsApp does not support this kind of message. Send it as text or as a file."
        ),
    ),
    Row(
        (131052, 131053),
        "MEDIA_ERROR",
        gettext_lazy(
            "WhatsApp could not process the file. Check that its type and size are allowed, "
            "then send it again."
        ),
        "once",
    ),
    Row(
        (131008, 131009),
        "BAD_REQUEST",
        gettext_lazy(
            "A required part of the message was missing or not valid. Check what you "
            "entered (buttons, list, template values) and send again."
        ),
    ),
    Row(
        (131021,),
        "BAD_REQUEST",
        gettext_lazy("The recipient is this business's own number; nothing was sent."),
    ),
    Row(
        (131030,),
        "CONFIG_TEST_NUMBER",
        gettext_lazy(
            "This is a test number: it may only message the numbers added in Meta's developer "
            "settings. Add the customer's number there, or use a production number."
        ),
    ),
    Row(
        (131031, 368),
        "ACCOUNT_BLOCKED",
        gettext_lazy(
            "Meta has locked or temporarily blocked this WhatsApp account for a policy "
            "reason. An administrator must resolve it in WhatsApp Manager."
        ),
        channel_level=True,
    ),
    Row(
        (131037,),
        "CONFIG",
        gettext_lazy(
            "Meta has not approved the business's display name yet. An administrator must "
            "finish that in WhatsApp Manager."
        ),
    ),
    Row(
        (131042,),
        "BILLING",
        gettext_lazy(
            "The WhatsApp account has a payment problem. An administrator must fix the "
            "payment method in Meta's business settings."
        ),
        channel_level=True,
    ),
    Row(
        (131045,),
        "CONFIG",
        gettext_lazy(
            "The phone number is not properly registered for the Cloud API. An administrator "
            "must register it again."
        ),
    ),
    Row(
        (131000, 131016, 1, 2),
        "TRANSIENT",
        gettext_lazy("WhatsApp had a temporary problem. Loket tries again; nothing to do."),
        "backoff",
    ),
    Row(
        (131057,),
        "TRANSIENT",
        gettext_lazy(
            "The WhatsApp account is in maintenance for a moment. Loket tries again; nothing to do."
        ),
        "backoff",
    ),
    Row(
        (132000,),
        "TEMPLATE_PARAMS",
        gettext_lazy(
            "The template got a different number of values than it has blanks. Fill in every "
            "blank of the template."
        ),
    ),
    Row(
        (132001,),
        "TEMPLATE_MISSING",
        gettext_lazy(
            "This template does not exist in that language or is not approved. Refresh the "
            "templates and pick an approved one."
        ),
    ),
    Row(
        (132005,),
        "TEMPLATE_PARAMS",
        gettext_lazy(
            "With the values filled in, the template's text is too long. Use shorter values."
        ),
    ),
    Row(
        (132007,),
        "TEMPLATE_POLICY",
        gettext_lazy(
            "Meta blocked the template's content for a policy reason. Choose another template."
        ),
    ),
    Row((132008, 132012), "TEMPLATE_PARAMS", _TEMPLATE_VALUES),
    Row(
        (132015, 132016),
        "TEMPLATE_UNAVAILABLE",
        gettext_lazy(
            "Meta paused or disabled this template because of its quality. Choose another template."
        ),
    ),
    Row(
        (131062,),
        "CONFIG",
        gettext_lazy(
            "WhatsApp does not accept this customer's username as a recipient here. Answer "
            "their phone number instead."
        ),
    ),
    Row(
        (131063,),
        "CONFIG",
        gettext_lazy(
            "Marketing templates are turned off for this account on the Cloud API. Use a "
            "utility template, or ask an administrator."
        ),
    ),
    Row(
        (131064,),
        "RATE_LIMITED",
        gettext_lazy(
            "The account reached its limit of customers it may start conversations with "
            "today. Try again tomorrow."
        ),
    ),
    Row(
        (137000,),
        "IDENTITY_CHANGED",
        gettext_lazy(
            "The customer's WhatsApp security code changed (a new phone or a reinstall). "
            "Make sure you are talking to the right person, then send again."
        ),
    ),
    Row(
        (NETWORK,),
        "NETWORK",
        gettext_lazy(
            "Loket could not reach WhatsApp's servers. It tries again; if this lasts, ask an "
            "administrator to check the server's connection."
        ),
        "backoff",
    ),
)

_BY_CODE: dict[int, Row] = {code: row for row in TABLE for code in row.codes}


def classify(code: int) -> Mapped:
    """The row for ``code``; an unknown code is ``UNKNOWN`` (retried if Meta says transient)."""
    row = _BY_CODE.get(code)
    if row is None:
        return Mapped(
            "UNKNOWN",
            _(
                "WhatsApp refused the message (error %(code)s). Try again later; if it "
                "happens again, tell your administrator."
            )
            % {"code": code},
            "no",
        )
    return Mapped(row.code_name, str(row.reason), row.retry, row.channel_level)


def delivery_error(
    err: GraphError, *, attempt: int = 1, retry_after: float | None = None
) -> DeliveryError:
    """The DeliveryError for a failed send: retryable only where the table says so.

    ``attempt`` is the message's attempt number (``once`` retries after the first only);
    ``retry_after`` is the recipient's own backoff for 131056.
    """
    mapped = classify(err.code)
    if err.code == NETWORK or mapped.code_name == "UNKNOWN":
        retryable = err.transient
    else:
        retryable = {"no": False, "backoff": True, "recipient_backoff": True}.get(
            mapped.retry, attempt <= 1
        )
    return DeliveryError(
        str(err.code),
        mapped.reason,
        retryable=retryable,
        retry_after=retry_after if retryable else None,
    )


def describe(err: GraphError) -> str:
    """One line for admins: the mapped reason and Meta's own words."""
    meta_words = err.details or err.title
    reason = classify(err.code).reason
    return f"{reason} ({err.code}: {meta_words})" if meta_words else f"{reason} ({err.code})"


def flag_channel(channel: Channel, err: GraphError, *, message: Message | None = None) -> bool:
    """Mark the channel unhealthy and tell every active admin once per incident.

    An incident starts when ``last_error`` goes from empty to set (health checks clear it
    again, see ``loket.channels.whatsapp.health``); further failures while it lasts neither
    overwrite the first error nor notify again. Admins are notified on a ticket (the one
    whose message failed), since a notification points at a ticket. Returns True when this
    call started the incident.
    """
    now = clock.now()
    text = describe(err)[:2000]
    started = bool(
        Channel.objects.filter(pk=channel.pk, last_error="").update(
            last_error=text, last_error_at=now
        )
    )
    if started:
        channel.last_error, channel.last_error_at = text, now
        log.error("whatsapp channel %s is unhealthy: %s", channel.pk, text)
        audit.append(
            "channel.unhealthy",
            subject_type="channel",
            subject_id=channel.pk,
            data={"code": err.code, "error": text},
        )
    if message is not None:
        _notify_admins(channel, message)
    return started


_CHANNEL_CODES = "|".join(str(code) for row in TABLE if row.channel_level for code in row.codes)
_OURS = re.compile(rf"\((?:{_CHANNEL_CODES}): ")


def recovered(channel: Channel) -> bool:
    """A call just succeeded: end an incident that ``flag_channel`` started. True if it did.

    Only an error this module wrote is cleared (another part of Loket may have set its own);
    no query at all while the channel is healthy.
    """
    text = channel.last_error
    if not text or not _OURS.search(text):
        return False
    cleared = Channel.objects.filter(pk=channel.pk, last_error=text).update(
        last_error="", last_error_at=None
    )
    channel.last_error, channel.last_error_at = "", None
    if cleared:
        log.info("whatsapp channel %s works again", channel.pk)
        audit.append("channel.healthy", subject_type="channel", subject_id=channel.pk)
    return bool(cleared)


def _notify_admins(channel: Channel, message: Message) -> None:
    with transaction.atomic():
        # Serialises concurrent workers on PostgreSQL; SQLite serialises every writer anyway.
        current = Channel.objects.select_for_update().filter(pk=channel.pk).first()
        if current is None or not current.last_error or current.last_error_at is None:
            return
        told = set(
            Notification.objects.filter(
                kind=Kind.CHANNEL,
                message__channel=channel,
                created_at__gte=current.last_error_at,
            ).values_list("user_id", flat=True)
        )
        for admin in User.objects.filter(role=Role.ADMIN, is_active=True).exclude(pk__in=told):
            notifications.notify(admin, message, Kind.CHANNEL, data={"channel": channel.pk})
