"""Password reset by email (Django's views with our templates and URLs).

An invited agent's set-password link is the same link: ``password_reset_confirm``.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from django.conf import settings
from django.contrib.auth import views as auth_views
from django.contrib.auth.forms import PasswordResetForm
from django.http import HttpRequest, HttpResponseBase
from django.urls import reverse_lazy
from django.utils import translation
from django.utils.translation.trans_real import parse_accept_lang_header

from loket.accounts.models import User
from loket.core import site


def activate_site_language(request: HttpRequest) -> None:
    """Before sign-in: the browser's language when Loket speaks it, else the site's default."""
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        return
    supported = {code for code, _name in settings.LANGUAGES}
    if request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME) in supported:
        return
    for code, _quality in parse_accept_lang_header(request.META.get("HTTP_ACCEPT_LANGUAGE", "")):
        if code.split("-")[0].lower() in supported:
            return
    language = site.default_language()
    translation.activate(language)
    request.LANGUAGE_CODE = language


class SiteLanguageMixin:
    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        activate_site_language(request)
        response: HttpResponseBase = super().dispatch(request, *args, **kwargs)  # type: ignore[misc]
        return response

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context: dict[str, Any] = super().get_context_data(**kwargs)  # type: ignore[misc]
        context["business_name"] = site.business_name()
        return context


class ResetForm(PasswordResetForm):
    """Also reaches an invited agent who has no password yet (Django's form skips them)."""

    def get_users(self, email: str) -> Iterator[User]:
        yield from User.objects.filter(email__iexact=email.strip(), is_active=True)

    def send_mail(self, *args: Any, **kwargs: Any) -> None:
        """In the agent's own language."""
        context = kwargs.get("context", args[2] if len(args) > 2 else {})
        user = context.get("user")
        with translation.override(getattr(user, "language", None) or site.default_language()):
            super().send_mail(*args, **kwargs)


class PasswordResetView(SiteLanguageMixin, auth_views.PasswordResetView):
    form_class = ResetForm
    template_name = "web/auth/password_reset_form.html"
    email_template_name = "web/auth/password_reset_email.txt"
    subject_template_name = "web/auth/password_reset_subject.txt"
    success_url = reverse_lazy("web:password_reset_done")

    def form_valid(self, form: PasswordResetForm) -> Any:
        self.extra_email_context = {"business_name": site.business_name() or "Loket"}
        return super().form_valid(form)


class PasswordResetDoneView(SiteLanguageMixin, auth_views.PasswordResetDoneView):
    template_name = "web/auth/password_reset_done.html"


class PasswordResetConfirmView(SiteLanguageMixin, auth_views.PasswordResetConfirmView):
    template_name = "web/auth/password_reset_confirm.html"
    success_url = reverse_lazy("web:password_reset_complete")


class PasswordResetCompleteView(SiteLanguageMixin, auth_views.PasswordResetCompleteView):
    template_name = "web/auth/password_reset_complete.html"
