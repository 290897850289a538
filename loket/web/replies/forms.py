"""Forms for saved replies and macros. They only shape input; the services validate and save."""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.utils.translation import gettext_lazy

from loket.accounts.models import User
from loket.replies.models import Assignment
from loket.replies.rendering import PLACEHOLDERS
from loket.replies.services import MACRO_STATUSES, MacroSpec, can_manage_shared
from loket.tickets.models import Status

PLACEHOLDER_HELP = gettext_lazy("Placeholders you can use: %(names)s") % {
    "names": ", ".join("{{ %s }}" % name for name in PLACEHOLDERS)  # noqa: UP031
}


class _SharedMixin(forms.Form):
    """Adds the "shared" checkbox for those allowed to manage shared items."""

    def __init__(self, *args: Any, user: User, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.user = user
        if can_manage_shared(user):
            self.fields["shared"] = forms.BooleanField(
                label=gettext_lazy("Shared with every agent"), required=False
            )

    @property
    def shared(self) -> bool:
        return bool(self.cleaned_data.get("shared", False))

    def add_service_errors(self, error: ValidationError) -> None:
        """Put a service's ValidationError on the fields it names (the rest on the form)."""
        if not hasattr(error, "error_dict"):
            self.add_error(None, error.messages)
            return
        for name, messages in error.message_dict.items():
            target = name if name in self.fields and name != NON_FIELD_ERRORS else None
            self.add_error(target, messages)


class ReplyForm(_SharedMixin):
    title = forms.CharField(label=gettext_lazy("Title"), max_length=100)
    shortcut = forms.CharField(
        label=gettext_lazy("Shortcut"),
        max_length=41,
        required=False,
        help_text=gettext_lazy("Type / and the shortcut in the composer, e.g. /ongkir."),
    )
    body = forms.CharField(
        label=gettext_lazy("Text"),
        widget=forms.Textarea(attrs={"rows": 6}),
        max_length=5000,
        help_text=PLACEHOLDER_HELP,
    )


def _tag_list(value: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in value.split(",") if part.strip())


class MacroForm(_SharedMixin):
    name = forms.CharField(label=gettext_lazy("Name"), max_length=100)
    body = forms.CharField(
        label=gettext_lazy("Reply to send (optional)"),
        widget=forms.Textarea(attrs={"rows": 5}),
        max_length=5000,
        required=False,
        help_text=PLACEHOLDER_HELP,
    )
    status = forms.ChoiceField(label=gettext_lazy("Set status"), required=False)
    tags = forms.CharField(
        label=gettext_lazy("Add tags"),
        max_length=500,
        required=False,
        help_text=gettext_lazy("Separate tags with commas."),
    )
    assignment = forms.ChoiceField(
        label=gettext_lazy("Assignee"), choices=Assignment.choices, initial=Assignment.NONE
    )
    assignee = forms.ModelChoiceField(
        label=gettext_lazy("Agent"),
        queryset=User.objects.none(),
        required=False,
        help_text=gettext_lazy("Only when assigning to an agent."),
    )

    def __init__(self, *args: Any, user: User, **kwargs: Any) -> None:
        super().__init__(*args, user=user, **kwargs)
        status = self.fields["status"]
        assert isinstance(status, forms.ChoiceField)  # noqa: S101
        status.choices = [
            ("", gettext_lazy("Leave as it is")),
            *((value, Status(value).label) for value in MACRO_STATUSES),
        ]
        assignee = self.fields["assignee"]
        assert isinstance(assignee, forms.ModelChoiceField)  # noqa: S101
        assignee.queryset = User.objects.filter(is_active=True).order_by("name", "pk")

    def spec(self) -> MacroSpec:
        data = self.cleaned_data
        return MacroSpec(
            name=data["name"],
            body=data.get("body", ""),
            status=data.get("status", ""),
            tags=_tag_list(data.get("tags", "")),
            assignment=data["assignment"],
            assignee=data.get("assignee"),
        )
