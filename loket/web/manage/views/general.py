"""General settings: business name, reopen period, default language."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

from loket.core import site
from loket.web.manage.access import admin, admin_required
from loket.web.manage.forms import SettingsForm

UNPROCESSABLE = 422


@admin_required
def settings_view(request: HttpRequest) -> HttpResponse:
    current = site.get()
    initial = {
        "business_name": current.business_name,
        "reopen_days": current.reopen_days,
        "default_language": current.default_language,
    }
    form = SettingsForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            site.update(admin(request), **form.cleaned_data)
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(request, _("The settings are saved."))
            return redirect("web:manage:settings")
    status = UNPROCESSABLE if form.errors else 200
    return render(request, "web/manage/settings.html", {"form": form}, status=status)
