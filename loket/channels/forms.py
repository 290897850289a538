"""What every channel kind's configuration form shares, and which form serves which kind.

A kind's own form lives in ``channels/<kind>/forms.py`` and subclasses ``ChannelForm``: it
declares its fields, which of them go into ``Channel.config`` and which are secrets. Secrets
are never shown back: the field stays empty, says what is stored ("••••1234"), and an empty
field keeps the stored value.
"""

from __future__ import annotations

from typing import Any, ClassVar

from django import forms
from django.utils.module_loading import import_string
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from loket.accounts.models import Team
from loket.channels import secrets
from loket.channels.models import Channel
from loket.core import crypto

FORMS = {
    "email": "loket.channels.email.forms.EmailChannelForm",
    "whatsapp": "loket.channels.whatsapp.forms.WhatsAppChannelForm",
}


# Shown for a secret encrypted with a key this install no longer has.
UNREADABLE = "••••?"


class UnknownChannelKind(LookupError):
    pass


def form_for(kind: str) -> type[ChannelForm]:
    try:
        path = FORMS[kind]
    except KeyError:
        raise UnknownChannelKind(kind) from None
    form: type[ChannelForm] = import_string(path)
    return form


def mask(secret: str) -> str:
    """What a stored secret looks like on screen: its last four characters at most."""
    if not secret:
        return ""
    return "••••" + (secret[-4:] if len(secret) >= 12 else "")


class ChannelForm(forms.Form):
    """Name, team and the kind's settings; ``channel`` is the one being edited (or None)."""

    kind: ClassVar[str] = ""
    # Fields stored in Channel.config (the rest are the channel's own columns).
    config_fields: ClassVar[tuple[str, ...]] = ()
    secret_fields: ClassVar[tuple[str, ...]] = ()

    name = forms.CharField(
        label=gettext_lazy("Name"),
        max_length=100,
        required=False,
        help_text=gettext_lazy("How agents see this channel. Empty: its address."),
    )
    team = forms.ModelChoiceField(
        label=gettext_lazy("Team"),
        queryset=Team.objects.order_by("name"),
        required=False,
        empty_label=gettext_lazy("No team (everyone)"),
        help_text=gettext_lazy("New conversations on this channel go to this team."),
    )

    def __init__(self, *args: Any, channel: Channel | None = None, **kwargs: Any) -> None:
        self.channel = channel
        if channel is not None and "initial" not in kwargs:
            initial: dict[str, Any] = {"name": channel.name, "team": channel.team_id}
            initial.update(self.initial_from(channel))
            kwargs["initial"] = initial
        super().__init__(*args, **kwargs)
        for name in self.secret_fields:
            field = self.fields[name]
            field.widget = forms.PasswordInput(
                render_value=False, attrs={"autocomplete": "new-password"}
            )
            stored = self.stored_secret(name)
            if stored:
                field.required = False
                field.widget.attrs["placeholder"] = mask(stored)
                field.help_text = _("Stored: %(mask)s. Leave empty to keep it.") % {
                    "mask": mask(stored)
                }

    def initial_from(self, channel: Channel) -> dict[str, Any]:
        """Initial values of the kind's own fields (secrets never)."""
        initial: dict[str, Any] = {}
        for name in self.config_fields:
            if name not in self.secret_fields and name in channel.config:
                initial[name] = channel.config[name]
        return initial

    def stored_secret(self, name: str) -> str:
        if self.channel is None:
            return ""
        try:
            return secrets.get(self.channel, name)
        except crypto.DecryptionError:
            return UNREADABLE

    # --- what the services receive ---------------------------------------------------------
    def address(self) -> str:
        """The address customers write to (kind-specific)."""
        return ""

    def channel_name(self) -> str:
        return str(self.cleaned_data.get("name") or "").strip() or self.address() or self.kind

    def config(self) -> dict[str, Any]:
        """The config values to store: every non-secret field, and only secrets typed in."""
        config: dict[str, Any] = {}
        for name in self.config_fields:
            value = self.cleaned_data.get(name)
            if name in self.secret_fields and not value:
                continue  # keep what is stored
            config[name] = value if value is not None else ""
        return config


def masked_config(channel: Channel) -> dict[str, Any]:
    """The channel's settings as they may be shown: secrets masked, whatever the kind.

    A kind without a form masks every value of a key that looks like a credential.
    """
    shown: dict[str, Any] = {}
    for key, value in channel.config.items():
        if secrets.is_secret(channel.kind, key) or crypto.is_encrypted(value):
            try:
                shown[key] = mask(str(secrets.reveal(value) or ""))
            except crypto.DecryptionError:
                shown[key] = UNREADABLE
        else:
            shown[key] = value
    return shown
