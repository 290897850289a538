"""The agent dashboard's URLs: sign-in here, each area in its own package (one owner each)."""

from typing import Any

from django.contrib.auth import views as auth_views
from django.urls import include, path

from loket.demo import shop as demo
from loket.web.auth import views as auth


class LoginView(auth.SiteLanguageMixin, auth_views.LoginView):
    """Sign-in; while the demo shop is loaded, its logins are offered on the page."""

    template_name = "web/login.html"
    redirect_authenticated_user = True

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        context["demo_logins"] = demo.logins()
        return context


app_name = "web"

urlpatterns = [
    path("masuk/", LoginView.as_view(), name="login"),
    path("keluar/", auth_views.LogoutView.as_view(), name="logout"),
    path("masuk/lupa/", auth.PasswordResetView.as_view(), name="password_reset"),
    path("masuk/lupa/terkirim/", auth.PasswordResetDoneView.as_view(), name="password_reset_done"),
    path(
        "masuk/atur/<uidb64>/<token>/",
        auth.PasswordResetConfirmView.as_view(),
        name="password_reset_confirm",
    ),
    path(
        "masuk/atur/selesai/",
        auth.PasswordResetCompleteView.as_view(),
        name="password_reset_complete",
    ),
    path("", include("loket.web.inbox.urls")),
    path("tiket/", include("loket.web.tickets.urls")),
    path("balasan/", include("loket.web.replies.urls")),
    path("live/", include("loket.web.live.urls")),
    path("kelola/", include("loket.web.manage.urls")),
]
