"""Small pieces every dashboard page shows the same way: times, waiting, channel marks.

    {% load loket_ui %}
    {% when message.created_at %}            <time title="29 Nov 2026 11.20 WIB">3 mnt lalu</time>
    {% waiting ticket.waiting_since %}       how long the customer has waited, amber then red
    {% channel_icon ticket.channel.kind %}   inline SVG mark (WhatsApp green, email, ...)
    {{ user|initials }}                      "BS" for an avatar

Times are shown in the active time zone: the agent's own (loket.web.middleware).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from functools import lru_cache

from django import template
from django.urls import NoReverseMatch, reverse
from django.utils import dateformat, timezone, translation
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.utils.translation import gettext as _

from loket.core import clock

register = template.Library()

# The customer has waited long enough to show amber, then red (a stand-in for SLA targets).
WAITING_AMBER = timedelta(minutes=30)
WAITING_RED = timedelta(hours=2)
# Older than this, a time is shown as a date rather than "... ago".
RELATIVE_FOR = timedelta(days=7)


def absolute(moment: datetime) -> str:
    """ "29 Nov 2026 11.20 WIB" in the active time zone and language."""
    return dateformat.format(timezone.localtime(moment), "j M Y H:i T")


@register.filter
def relative(moment: datetime | None) -> str:
    """ "baru saja", "3 mnt lalu", "2 jam lalu", "4 hr lalu", then the date."""
    if moment is None:
        return ""
    age = clock.now() - moment
    if age < timedelta(minutes=1):
        return _("just now")
    if age < timedelta(hours=1):
        return _("%(n)d min ago") % {"n": age // timedelta(minutes=1)}
    if age < timedelta(days=1):
        return _("%(n)d h ago") % {"n": age // timedelta(hours=1)}
    if age < RELATIVE_FOR:
        return _("%(n)d d ago") % {"n": age.days}
    local = timezone.localtime(moment)
    same_year = local.year == timezone.localtime(clock.now()).year
    return dateformat.format(local, "j M" if same_year else "j M Y")


@register.simple_tag
def when(moment: datetime | None) -> SafeString:
    """A <time> element: relative when recent, the full time on hover."""
    if moment is None:
        return SafeString("")
    return format_html(
        '<time datetime="{}" title="{}">{}</time>',
        moment.isoformat(),
        absolute(moment),
        relative(moment),
    )


@register.filter
def waited(since: datetime | None) -> str:
    """How long since ``since``, short: "12 mnt", "3 jam", "2 hr"."""
    if since is None:
        return ""
    age = max(clock.now() - since, timedelta(0))
    if age < timedelta(hours=1):
        return _("%(n)d min") % {"n": age // timedelta(minutes=1)}
    if age < timedelta(days=1):
        return _("%(n)d h") % {"n": age // timedelta(hours=1)}
    return _("%(n)d d") % {"n": age.days}


@register.filter
def waiting_level(since: datetime | None) -> str:
    """ "", "amber" or "red" as the wait grows (WAITING_AMBER, WAITING_RED)."""
    if since is None:
        return ""
    age = clock.now() - since
    if age >= WAITING_RED:
        return "red"
    if age >= WAITING_AMBER:
        return "amber"
    return ""


@register.simple_tag
def waiting(since: datetime | None) -> SafeString:
    """The customer's wait as a badge (nothing when we answered last)."""
    if since is None:
        return SafeString("")
    level = waiting_level(since)
    return format_html(
        '<span class="waiting{}" title="{}">{}</span>',
        f" waiting-{level}" if level else "",
        _("Waiting since %(time)s") % {"time": absolute(since)},
        waited(since),
    )


_ICONS = {
    # A speech bubble with a handset: WhatsApp's green is only ever this mark.
    "whatsapp": (
        "M12 2a10 10 0 0 0-8.6 15.1L2 22l5-1.3A10 10 0 1 0 12 2Zm5.3 14.1c-.2.6-1.3 1.2-1.8 1.2"
        "-.5.1-1 .2-3.3-.7-2.8-1.1-4.6-4-4.7-4.2-.1-.2-1.1-1.5-1.1-2.9s.7-2 1-2.3c.2-.3.5-.3.7-.3"
        "h.5c.2 0 .4 0 .6.5l.8 2c.1.2.1.4 0 .5l-.3.5-.4.4c-.1.1-.3.3-.1.6.2.3.8 1.3 1.7 2.1 1.2 1"
        " 2.1 1.4 2.4 1.5.3.1.5.1.6-.1l.9-1c.2-.3.4-.2.6-.1l1.9.9c.3.1.5.2.5.3.1.2.1.7-.1 1.4Z"
    ),
    "email": (
        "M3 5h18a1 1 0 0 1 1 1v12a1 1 0 0 1-1 1H3a1 1 0 0 1-1-1V6a1 1 0 0 1 1-1Zm1 2.4V17h16"
        "V7.4l-8 5.3-8-5.3ZM5.2 7l6.8 4.5L18.8 7H5.2Z"
    ),
    "other": (
        "M4 4h16a2 2 0 0 1 2 2v10a2 2 0 0 1-2 2H9l-5 4v-4a2 2 0 0 1-2-2V6a2 2 0 0 1 2-2Zm0 2v10"
        "h2v2l2.5-2H20V6H4Z"
    ),
}


def channel_label(kind: str) -> str:
    labels = {"whatsapp": "WhatsApp", "email": _("Email")}
    return labels.get(kind, kind.capitalize())


@register.simple_tag
def channel_icon(kind: str, size: int = 18) -> SafeString:
    """The channel's mark as inline SVG, labelled for screen readers."""
    return _icon(kind, size, translation.get_language() or "")


@lru_cache(maxsize=64)
def _icon(kind: str, size: int, language: str) -> SafeString:
    """One SVG per kind, size and language: an inbox page shows the same few many times."""
    path = _ICONS.get(kind, _ICONS["other"])
    label = channel_label(kind)
    return format_html(
        '<svg class="channel-icon channel-{}" width="{}" height="{}" viewBox="0 0 24 24" '
        'role="img" aria-label="{}" focusable="false"><title>{}</title>'
        '<path fill="currentColor" d="{}"/></svg>',
        kind if kind in _ICONS else "other",
        size,
        size,
        label,
        label,
        path,
    )


@register.filter
def initials(person: object) -> str:
    """ "BS" for Budi Santoso: an avatar's letters."""
    words = [w for w in str(person or "").replace("@", " ").split() if w[:1].isalnum()]
    return "".join(w[0] for w in words[:2]).upper()


@register.simple_tag
def ticket_url(number: int) -> str:
    """The ticket page (web:tickets:detail when it exists, else its documented path)."""
    try:
        return reverse("web:tickets:detail", args=[number])
    except NoReverseMatch:
        return f"{reverse('web:inbox:index')}tiket/{number}/"
