"""The WhatsApp channel's configuration form: one business phone number on the Cloud API."""

from __future__ import annotations

import re
from typing import Any, ClassVar

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from loket.channels.forms import ChannelForm
from loket.core import phone

GRAPH_BASE_URL = "https://graph.facebook.com"
GRAPH_API_VERSION = "v23.0"
_VERSION = re.compile(r"^v\d{1,3}\.\d$")
_DIGITS = re.compile(r"^\d{5,30}$")
DEFAULT_RATE = 80


class WhatsAppChannelForm(ChannelForm):
    kind: ClassVar[str] = "whatsapp"
    config_fields: ClassVar[tuple[str, ...]] = (
        "phone_number_id",
        "waba_id",
        "access_token",
        "app_secret",
        "verify_token",
        "api_version",
        "base_url",
        "mark_read",
        "rate_per_second",
    )
    secret_fields: ClassVar[tuple[str, ...]] = ("access_token", "app_secret", "verify_token")

    phone_number = forms.CharField(
        label=_("Phone number"),
        max_length=32,
        required=False,
        help_text=_("The business number customers message, e.g. +62 811-0000-1111."),
    )
    phone_number_id = forms.CharField(label=_("Phone number ID"), max_length=30)
    waba_id = forms.CharField(label=_("WhatsApp Business Account ID"), max_length=30)
    access_token = forms.CharField(
        label=_("Access token"),
        max_length=1000,
        help_text=_("A System User token with the whatsapp_business_messaging permission."),
    )
    app_secret = forms.CharField(
        label=_("App secret"), max_length=200, help_text=_("Checks the webhook signatures.")
    )
    verify_token = forms.CharField(
        label=_("Verify token"),
        max_length=200,
        help_text=_("The same text you type into Meta's webhook settings."),
    )
    api_version = forms.CharField(
        label=_("Graph API version"), max_length=10, initial=GRAPH_API_VERSION
    )
    base_url = forms.URLField(
        label=_("Graph API base URL"),
        initial=GRAPH_BASE_URL,
        assume_scheme="https",
        help_text=_("Meta's by default; the local emulator's for testing."),
    )

    mark_read = forms.BooleanField(
        label=_("Mark conversations read on WhatsApp when an agent opens them"),
        required=False,
        initial=True,
        help_text=_("The customer sees blue ticks once someone here has read the message."),
    )
    rate_per_second = forms.IntegerField(
        label=_("Messages per second"),
        min_value=1,
        max_value=1000,
        initial=DEFAULT_RATE,
        required=False,
        help_text=_("Meta's limit for this number: 80 unless Meta raised it."),
    )

    field_order = ["phone_number", "name", "team"]

    def initial_from(self, channel: Any) -> dict[str, Any]:
        initial = super().initial_from(channel)
        initial["phone_number"] = channel.address
        return initial

    def _digits(self, name: str) -> str:
        value = str(self.cleaned_data[name]).strip()
        if not _DIGITS.match(value):
            raise ValidationError(_("Digits only, as Meta shows it."))
        return value

    def clean_phone_number_id(self) -> str:
        return self._digits("phone_number_id")

    def clean_waba_id(self) -> str:
        return self._digits("waba_id")

    def clean_phone_number(self) -> str:
        value = str(self.cleaned_data.get("phone_number") or "").strip()
        if not value:
            return ""
        try:
            return phone.normalize_phone(value)
        except phone.InvalidPhone as exc:
            raise ValidationError(_("This is not a phone number.")) from exc

    def clean_api_version(self) -> str:
        value = str(self.cleaned_data["api_version"]).strip()
        if not _VERSION.match(value):
            raise ValidationError(_("A version like %(example)s.") % {"example": GRAPH_API_VERSION})
        return value

    def clean_base_url(self) -> str:
        return str(self.cleaned_data["base_url"]).strip().rstrip("/")

    def clean_rate_per_second(self) -> int:
        return int(self.cleaned_data.get("rate_per_second") or DEFAULT_RATE)

    def address(self) -> str:
        return str(self.cleaned_data.get("phone_number") or "")
