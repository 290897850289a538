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


class ComposerForm(forms.Form):
    mode = forms.ChoiceField(
        choices=[("reply", gettext_lazy("Reply")), ("note", gettext_lazy("Internal note"))]
    )
    text = forms.CharField(required=False, strip=False, max_length=20000)
    identity = forms.ModelChoiceField(queryset=Identity.objects.none(), required=False)

    def __init__(
        self,
        *args: Any,
        identities: list[Identity],
        files_list: list[UploadedFile[bytes]],
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.identities = identities
        self.uploads = files_list
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
        return data

    def attachments(self) -> list[InboundAttachment]:
        return [
            InboundAttachment(
                name=upload.name or "attachment",
                content_type=upload.content_type or "application/octet-stream",
                data=upload.read(),
            )
            for upload in self.uploads
        ]
