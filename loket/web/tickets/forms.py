"""The composer's form: text, the address to answer on, files; reply or internal note."""

from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from loket.channels.items import InboundAttachment
from loket.contacts.models import Identity

MAX_FILES = 10

# WhatsApp quick-reply buttons (interactive "button"): Meta's limits.
MAX_BUTTONS = 3
MAX_BUTTON_TITLE = 20
MAX_BUTTON_BODY = 1024


class ComposerForm(forms.Form):
    mode = forms.ChoiceField(
        choices=[("reply", gettext_lazy("Reply")), ("note", gettext_lazy("Internal note"))]
    )
    text = forms.CharField(required=False, strip=False, max_length=20000)
    identity = forms.ModelChoiceField(queryset=Identity.objects.none(), required=False)
    # The message this reply quotes (a message of the same ticket; WhatsApp sends the quote).
    reply_to = forms.IntegerField(required=False, min_value=1)

    def __init__(
        self,
        *args: Any,
        identities: list[Identity],
        files_list: list[UploadedFile[bytes]],
        buttons: list[str] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.identities = identities
        self.uploads = files_list
        self.buttons = [b.strip() for b in buttons or [] if b.strip()]
        field = self.fields["identity"]
        assert isinstance(field, forms.ModelChoiceField)  # noqa: S101
        field.queryset = Identity.objects.filter(pk__in=[i.pk for i in identities])

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        limit: int = settings.LOKET_MAX_ATTACHMENT_BYTES
        if len(self.uploads) > MAX_FILES:
            raise forms.ValidationError(_("Attach at most %(n)d files.") % {"n": MAX_FILES})
        for upload in self.uploads:
            if (upload.size or 0) > limit:
                raise forms.ValidationError(
                    _("%(name)s is too large (%(size)s); the limit is %(limit)s per file.")
                    % {
                        "name": upload.name,
                        "size": filesizeformat(upload.size or 0),
                        "limit": filesizeformat(limit),
                    }
                )
        if data.get("mode") == "note" and self.uploads:
            raise forms.ValidationError(
                _("Internal notes cannot carry files; attach them to a reply.")
            )
        if self.buttons and data.get("mode") == "reply":
            self._check_buttons(str(data.get("text") or ""))
        return data

    def _check_buttons(self, text: str) -> None:
        """WhatsApp's rules for quick-reply buttons, said before Meta refuses them."""
        if len(self.buttons) > MAX_BUTTONS:
            raise forms.ValidationError(_("At most %(n)d buttons.") % {"n": MAX_BUTTONS})
        for title in self.buttons:
            if len(title) > MAX_BUTTON_TITLE:
                raise forms.ValidationError(
                    _("Button “%(title)s” is too long: at most %(n)d characters.")
                    % {"title": title, "n": MAX_BUTTON_TITLE}
                )
        if len({t.casefold() for t in self.buttons}) != len(self.buttons):
            raise forms.ValidationError(_("Each button needs a different title."))
        if not text.strip():
            raise forms.ValidationError(_("Write the message the buttons answer."))
        if len(text.strip()) > MAX_BUTTON_BODY:
            raise forms.ValidationError(
                _("A message with buttons holds at most %(n)d characters.") % {"n": MAX_BUTTON_BODY}
            )
        if self.uploads:
            raise forms.ValidationError(_("A message with buttons cannot carry files."))

    def interactive(self) -> dict[str, Any] | None:
        """Meta's interactive object for the buttons (None without buttons)."""
        if not self.buttons or self.cleaned_data.get("mode") != "reply":
            return None
        return {
            "type": "button",
            "body": {"text": str(self.cleaned_data.get("text") or "").strip()},
            "action": {
                "buttons": [
                    {"type": "reply", "reply": {"id": f"btn_{i}", "title": title}}
                    for i, title in enumerate(self.buttons, start=1)
                ]
            },
        }

    def attachments(self) -> list[InboundAttachment]:
        return [
            InboundAttachment(
                name=upload.name or "attachment",
                content_type=upload.content_type or "application/octet-stream",
                data=upload.read(),
            )
            for upload in self.uploads
        ]
