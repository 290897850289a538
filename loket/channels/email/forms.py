"""The email channel's configuration form: the mailbox and its aliases, its IMAP and SMTP
servers (password or OAuth2 login), what happens to fetched mail, a team.

The keys stored in ``Channel.config`` are the ones ``imap.py``, ``oauth.py`` and
``transport.py`` read (the SMTP size limit is typed in MB and stored as ``smtp_max_bytes``).
Secrets (passwords, the OAuth2 client secret and refresh token) are encrypted at rest and
never shown back (``ChannelForm``). ``aliases`` is stored as a list of
lower-cased addresses; with the channel's address they are "our own addresses" (mail from
them is not taken in again, ``inbound.our_addresses``).
"""

from __future__ import annotations

import re
from typing import Any, ClassVar

from django import forms
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.utils.translation import gettext_lazy as _

from loket.channels.email import oauth
from loket.channels.forms import ChannelForm

SECURITY = [
    ("tls", _("TLS (SSL)")),
    ("starttls", "STARTTLS"),
    ("none", _("None (only on a trusted network)")),
]
AUTH = [
    ("password", _("Password")),
    ("oauth2", _("OAuth2 (Gmail, Microsoft 365)")),
]
AFTER_FETCH = [
    ("flag", _("Keep it in the folder, marked as read")),
    ("move", _("Move it to another folder")),
]
PROVIDERS = [
    ("google", "Google (Gmail, Google Workspace)"),
    ("microsoft", "Microsoft 365 / Outlook.com"),
    ("custom", _("Other (give the token URL)")),
]
DEFAULT_SIZE_LIMIT_MB = 25  # Gmail's limit; Microsoft 365 allows 35 MB by default
MB = 1024 * 1024


def split_addresses(text: str) -> list[str]:
    """Addresses separated by commas, semicolons, spaces or lines."""
    return [part for part in re.split(r"[\s,;]+", text or "") if part]


class EmailChannelForm(ChannelForm):
    kind: ClassVar[str] = "email"
    config_fields: ClassVar[tuple[str, ...]] = (
        "aliases",
        "imap_host",
        "imap_port",
        "imap_security",
        "imap_user",
        "imap_auth",
        "imap_password",
        "imap_folder",
        "imap_after",
        "imap_move_to",
        "smtp_host",
        "smtp_port",
        "smtp_security",
        "smtp_user",
        "smtp_auth",
        "smtp_password",
        "oauth_provider",
        "oauth_client_id",
        "oauth_client_secret",
        "oauth_refresh_token",
        "oauth_tenant",
        "oauth_endpoint",
        "oauth_authorize_endpoint",
    )
    secret_fields: ClassVar[tuple[str, ...]] = (
        "imap_password",
        "smtp_password",
        "oauth_client_secret",
        "oauth_refresh_token",
    )

    email_address = forms.EmailField(
        label=_("Email address"),
        help_text=_("The address customers write to, e.g. cs@yourshop.id."),
    )
    aliases = forms.CharField(
        label=_("Other addresses of this mailbox"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_(
            "Addresses that deliver into the same mailbox (e.g. info@yourshop.id), separated "
            "by commas or lines. Mail from them is never taken in as a customer's."
        ),
    )
    # --- IMAP: where mail comes in -----------------------------------------------------------
    imap_host = forms.CharField(label=_("IMAP server"), max_length=255, required=False)
    imap_port = forms.IntegerField(
        label=_("IMAP port"), min_value=1, max_value=65535, initial=993, required=False
    )
    imap_security = forms.ChoiceField(label=_("IMAP security"), choices=SECURITY, initial="tls")
    imap_user = forms.CharField(
        label=_("IMAP user name"),
        max_length=320,
        required=False,
        help_text=_("Usually the full email address."),
    )
    imap_auth = forms.ChoiceField(
        label=_("IMAP login"), choices=AUTH, initial="password", required=False
    )
    imap_password = forms.CharField(label=_("IMAP password"), max_length=1000, required=False)
    imap_folder = forms.CharField(
        label=_("IMAP folder"),
        max_length=255,
        initial="INBOX",
        required=False,
        help_text=_("The folder new mail is read from."),
    )
    imap_after = forms.ChoiceField(
        label=_("After a mail is taken in"), choices=AFTER_FETCH, initial="flag", required=False
    )
    imap_move_to = forms.CharField(
        label=_("Move it to folder"),
        max_length=255,
        required=False,
        help_text=_("Only when moving, e.g. Loket. The folder must exist."),
    )
    # --- SMTP: how replies go out ------------------------------------------------------------
    smtp_host = forms.CharField(label=_("SMTP server"), max_length=255, required=False)
    smtp_port = forms.IntegerField(
        label=_("SMTP port"), min_value=1, max_value=65535, initial=587, required=False
    )
    smtp_security = forms.ChoiceField(
        label=_("SMTP security"), choices=SECURITY, initial="starttls"
    )
    smtp_user = forms.CharField(label=_("SMTP user name"), max_length=320, required=False)
    smtp_auth = forms.ChoiceField(
        label=_("SMTP login"), choices=AUTH, initial="password", required=False
    )
    smtp_password = forms.CharField(label=_("SMTP password"), max_length=1000, required=False)
    smtp_max_mb = forms.IntegerField(
        label=_("Largest mail the SMTP server accepts (MB)"),
        min_value=1,
        max_value=1000,
        initial=DEFAULT_SIZE_LIMIT_MB,
        required=False,
        help_text=_("A reply larger than this is refused here, before it is sent."),
    )
    # --- OAuth2 (XOAUTH2), for either server that logs in with it ------------------------------
    oauth_provider = forms.ChoiceField(
        label=_("OAuth2 provider"), choices=PROVIDERS, initial="google", required=False
    )
    oauth_client_id = forms.CharField(label=_("OAuth2 client ID"), max_length=500, required=False)
    oauth_client_secret = forms.CharField(
        label=_("OAuth2 client secret"),
        max_length=1000,
        required=False,
        help_text=_("Empty for a public client (Microsoft allows those)."),
    )
    oauth_refresh_token = forms.CharField(
        label=_("OAuth2 refresh token"),
        max_length=4000,
        required=False,
        help_text=_(
            "Filled in by the Authorise button below; paste one only if you got it elsewhere."
        ),
    )
    oauth_tenant = forms.CharField(
        label=_("Microsoft tenant"),
        max_length=255,
        initial=oauth.DEFAULT_TENANT,
        required=False,
        help_text=_("Your directory's ID or domain; common for most."),
    )
    oauth_endpoint = forms.URLField(
        label=_("OAuth2 token URL"),
        max_length=500,
        required=False,
        assume_scheme="https",
        help_text=_("Filled in for Google and Microsoft."),
    )
    oauth_authorize_endpoint = forms.URLField(
        label=_("OAuth2 authorisation URL"),
        max_length=500,
        required=False,
        assume_scheme="https",
        help_text=_("Only for another provider: its sign-in (authorize) page."),
    )

    field_order = ["email_address", "name", "team"]

    # How the settings page groups the fields; OAuth2 folds away unless it is in use.
    SECTIONS: ClassVar[list[tuple[str, Any, tuple[str, ...]]]] = [
        ("mailbox", _("Mailbox"), ("email_address", "name", "team", "aliases")),
        (
            "imap",
            _("Receiving (IMAP)"),
            (
                "imap_host",
                "imap_port",
                "imap_security",
                "imap_user",
                "imap_auth",
                "imap_password",
                "imap_folder",
                "imap_after",
                "imap_move_to",
            ),
        ),
        (
            "smtp",
            _("Sending (SMTP)"),
            (
                "smtp_host",
                "smtp_port",
                "smtp_security",
                "smtp_user",
                "smtp_auth",
                "smtp_password",
                "smtp_max_mb",
            ),
        ),
        (
            "oauth",
            _("OAuth2 login (Gmail, Microsoft 365)"),
            (
                "oauth_provider",
                "oauth_client_id",
                "oauth_client_secret",
                "oauth_refresh_token",
                "oauth_tenant",
                "oauth_endpoint",
                "oauth_authorize_endpoint",
            ),
        ),
    ]

    def sections(self) -> list[dict[str, Any]]:
        """The fields in groups for the settings page (every field in exactly one)."""
        uses_oauth = any(
            (
                self.data.get(f"{server}_auth")
                if self.is_bound
                else self.initial.get(f"{server}_auth")
            )
            == "oauth2"
            for server in ("imap", "smtp")
        )
        groups = []
        for key, title, names in self.SECTIONS:
            fields = [self[name] for name in names]
            has_errors = any(field.errors for field in fields)
            groups.append(
                {
                    "id": key,
                    "title": title,
                    "fields": fields,
                    "folds": key == "oauth",
                    "open": key != "oauth" or uses_oauth or has_errors,
                }
            )
        return groups

    def initial_from(self, channel: Any) -> dict[str, Any]:
        initial = super().initial_from(channel)
        initial["email_address"] = channel.address
        aliases = channel.config.get("aliases") or []
        if isinstance(aliases, list):
            initial["aliases"] = ", ".join(str(a) for a in aliases)
        limit = channel.config.get("smtp_max_bytes")
        if isinstance(limit, int) and limit > 0:
            initial["smtp_max_mb"] = max(1, limit // MB)
        return initial

    def clean_email_address(self) -> str:
        return str(self.cleaned_data["email_address"]).strip().lower()

    def clean_aliases(self) -> list[str]:
        aliases: list[str] = []
        wrong: list[str] = []
        for part in split_addresses(str(self.cleaned_data.get("aliases") or "")):
            try:
                validate_email(part)
            except ValidationError:
                wrong.append(part)
                continue
            if part.lower() not in aliases:
                aliases.append(part.lower())
        if wrong:
            raise ValidationError(
                _("Not an email address: %(addresses)s") % {"addresses": ", ".join(wrong)}
            )
        return aliases

    def clean_oauth_tenant(self) -> str:
        tenant = str(self.cleaned_data.get("oauth_tenant") or "").strip()
        if tenant and not re.fullmatch(r"[A-Za-z0-9.-]{1,255}", tenant):
            raise ValidationError(_("A tenant is a directory ID or a domain name."))
        return tenant or oauth.DEFAULT_TENANT

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        for name in ("imap_auth", "smtp_auth", "imap_after", "oauth_provider"):
            cleaned[name] = cleaned.get(name) or self.fields[name].initial
        address = str(cleaned.get("email_address") or "")
        aliases = cleaned.get("aliases")
        if isinstance(aliases, list):
            cleaned["aliases"] = [a for a in aliases if a != address]
        for server in ("imap", "smtp"):
            host = str(cleaned.get(f"{server}_host") or "").strip()
            cleaned[f"{server}_host"] = host
            cleaned[f"{server}_user"] = str(cleaned.get(f"{server}_user") or "").strip()
            if host and not cleaned.get(f"{server}_port"):
                default = {"imap": {"tls": 993}, "smtp": {"tls": 465}}[server]
                security = str(cleaned.get(f"{server}_security") or "")
                fallback = 143 if server == "imap" else 587
                cleaned[f"{server}_port"] = default.get(security, fallback)
        self._clean_imap(cleaned)
        self._clean_smtp(cleaned)
        self._clean_oauth(cleaned)
        return cleaned

    def _clean_imap(self, cleaned: dict[str, Any]) -> None:
        cleaned["imap_folder"] = str(cleaned.get("imap_folder") or "").strip() or "INBOX"
        cleaned["imap_move_to"] = str(cleaned.get("imap_move_to") or "").strip()
        if not cleaned["imap_host"]:
            return
        if not cleaned["imap_user"]:
            self.add_error("imap_user", _("Give the user name that logs in to the IMAP server."))
        if cleaned.get("imap_auth") == "password" and not self._has_secret(
            cleaned, "imap_password"
        ):
            self.add_error("imap_password", _("Give the IMAP password (or log in with OAuth2)."))
        if cleaned.get("imap_after") == "move":
            target = cleaned["imap_move_to"]
            if not target:
                self.add_error("imap_move_to", _("Name the folder mail is moved to."))
            elif target.lower() == cleaned["imap_folder"].lower():
                self.add_error(
                    "imap_move_to", _("Mail cannot be moved into the folder it is read from.")
                )

    def _clean_smtp(self, cleaned: dict[str, Any]) -> None:
        if not cleaned["smtp_host"]:
            return
        if not cleaned.get("smtp_max_mb"):
            cleaned["smtp_max_mb"] = DEFAULT_SIZE_LIMIT_MB
        if cleaned.get("smtp_auth") == "oauth2" and not (
            cleaned["smtp_user"] or cleaned.get("email_address")
        ):
            self.add_error("smtp_user", _("Give the user name that logs in to the SMTP server."))
        if (
            cleaned.get("smtp_auth") == "password"
            and cleaned["smtp_user"]
            and not self._has_secret(cleaned, "smtp_password")
        ):
            self.add_error("smtp_password", _("Give the SMTP password (or log in with OAuth2)."))

    def _clean_oauth(self, cleaned: dict[str, Any]) -> None:
        provider = str(cleaned.get("oauth_provider") or "")
        endpoint = str(cleaned.get("oauth_endpoint") or "").strip()
        known = oauth.PROVIDERS.get(provider, "")
        if known and (not endpoint or endpoint in oauth.PROVIDERS.values()):
            endpoint = known  # prefilled, and follows a change of provider
        cleaned["oauth_endpoint"] = endpoint
        cleaned["oauth_client_id"] = str(cleaned.get("oauth_client_id") or "").strip()
        servers = [
            server
            for server in ("imap", "smtp")
            if cleaned.get(f"{server}_host") and cleaned.get(f"{server}_auth") == "oauth2"
        ]
        if not servers:
            return
        # No refresh token yet is fine: the Authorise button gets one once the channel is
        # saved, and until then the mailbox's health asks for it.
        if not cleaned["oauth_client_id"]:
            self.add_error("oauth_client_id", _("OAuth2 login needs the client ID."))
        if not endpoint:
            self.add_error("oauth_endpoint", _("Give the provider's OAuth2 token URL."))
        elif not endpoint.startswith("https://") and not self._loopback(endpoint):
            self.add_error("oauth_endpoint", _("The token URL must use https://."))

    def _has_secret(self, cleaned: dict[str, Any], name: str) -> bool:
        return bool(cleaned.get(name)) or bool(self.stored_secret(name))

    @staticmethod
    def _loopback(url: str) -> bool:
        return bool(re.match(r"^http://(127\.0\.0\.1|localhost|\[::1\])(:\d+)?/", url))

    def config(self) -> dict[str, Any]:
        config = super().config()
        if self.cleaned_data.get("smtp_max_mb"):
            # Stored in bytes, as the transport reads it.
            config["smtp_max_bytes"] = int(self.cleaned_data["smtp_max_mb"]) * MB
        if config.get("oauth_refresh_token"):
            # A new authorisation: the cached access token belonged to the old one.
            config[oauth.ACCESS_KEY] = ""
            config[oauth.EXPIRES_KEY] = 0
        return config

    def address(self) -> str:
        return str(self.cleaned_data.get("email_address") or "")
