"""Forms of the administration screens. They only validate input; services make the change."""

from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings
from django.utils.translation import gettext_lazy as _

from loket.accounts.models import Role, Team, User
from loket.core import site


class TeamsField(forms.ModelMultipleChoiceField[Team]):
    widget = forms.CheckboxSelectMultiple

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("label", _("Teams"))
        kwargs.setdefault("required", False)
        super().__init__(queryset=Team.objects.order_by("name"), **kwargs)


class InviteForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=150)
    email = forms.EmailField(label=_("Email"))
    role = forms.ChoiceField(label=_("Role"), choices=Role.choices, initial=Role.AGENT)
    teams = TeamsField()


class AgentForm(forms.Form):
    role = forms.ChoiceField(label=_("Role"), choices=Role.choices)
    teams = TeamsField()


class TeamForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=100)
    members = forms.ModelMultipleChoiceField(
        label=_("Members"),
        queryset=User.objects.order_by("-is_active", "name", "email"),
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )


class SettingsForm(forms.Form):
    business_name = forms.CharField(
        label=_("Business name"),
        max_length=150,
        required=False,
        help_text=_("Shown on the sign-in page and in invitations."),
    )
    reopen_days = forms.IntegerField(
        label=_("Reopen period (days)"),
        min_value=0,
        max_value=site.MAX_REOPEN_DAYS,
        required=False,
        help_text=_(
            "A customer's reply to a solved ticket within this many days reopens it; "
            "later, it starts a new ticket. Empty: the server's setting."
        ),
    )
    default_language = forms.ChoiceField(
        label=_("Default language"),
        required=False,
        help_text=_("Of the sign-in page and of new agents."),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["default_language"]
        assert isinstance(field, forms.ChoiceField)  # noqa: S101 (declared above)
        server = dict(settings.LANGUAGES).get(settings.LANGUAGE_CODE, settings.LANGUAGE_CODE)
        field.choices = [
            ("", _("The server's setting (%(language)s)") % {"language": server}),
            *settings.LANGUAGES,
        ]
        reopen = self.fields["reopen_days"]
        reopen.widget.attrs["placeholder"] = str(settings.LOKET_REOPEN_DAYS)
