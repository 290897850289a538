"""The email channel's configuration form: the mailbox, its IMAP and SMTP servers, a team."""

from __future__ import annotations

from typing import Any, ClassVar

from django import forms
from django.utils.translation import gettext_lazy as _

from loket.channels.forms import ChannelForm

SECURITY = [
    ("tls", _("TLS (SSL)")),
    ("starttls", "STARTTLS"),
    ("none", _("None (only on a trusted network)")),
]


class EmailChannelForm(ChannelForm):
    kind: ClassVar[str] = "email"
    config_fields: ClassVar[tuple[str, ...]] = (
        "imap_host",
        "imap_port",
        "imap_security",
        "imap_user",
        "imap_password",
        "smtp_host",
        "smtp_port",
        "smtp_security",
        "smtp_user",
        "smtp_password",
    )
    secret_fields: ClassVar[tuple[str, ...]] = ("imap_password", "smtp_password")

    email_address = forms.EmailField(
        label=_("Email address"),
        help_text=_("The address customers write to, e.g. cs@yourshop.id."),
    )
    imap_host = forms.CharField(label=_("IMAP server"), max_length=255, required=False)
    imap_port = forms.IntegerField(
        label=_("IMAP port"), min_value=1, max_value=65535, initial=993, required=False
    )
    imap_security = forms.ChoiceField(label=_("IMAP security"), choices=SECURITY, initial="tls")
    imap_user = forms.CharField(label=_("IMAP user name"), max_length=320, required=False)
    imap_password = forms.CharField(label=_("IMAP password"), max_length=1000, required=False)
    smtp_host = forms.CharField(label=_("SMTP server"), max_length=255, required=False)
    smtp_port = forms.IntegerField(
        label=_("SMTP port"), min_value=1, max_value=65535, initial=587, required=False
    )
    smtp_security = forms.ChoiceField(
        label=_("SMTP security"), choices=SECURITY, initial="starttls"
    )
    smtp_user = forms.CharField(label=_("SMTP user name"), max_length=320, required=False)
    smtp_password = forms.CharField(label=_("SMTP password"), max_length=1000, required=False)

    field_order = ["email_address", "name", "team"]

    def initial_from(self, channel: Any) -> dict[str, Any]:
        initial = super().initial_from(channel)
        initial["email_address"] = channel.address
        return initial

    def clean_email_address(self) -> str:
        return str(self.cleaned_data["email_address"]).strip().lower()

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        for server in ("imap", "smtp"):
            host = str(cleaned.get(f"{server}_host") or "").strip()
            cleaned[f"{server}_host"] = host
            if host and not cleaned.get(f"{server}_port"):
                default = 993 if server == "imap" else 587
                cleaned[f"{server}_port"] = default
        return cleaned

    def address(self) -> str:
        return str(self.cleaned_data.get("email_address") or "")
