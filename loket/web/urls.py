from typing import Any

from django.contrib.auth import views as auth_views
from django.urls import path

from loket.demo import shop as demo
from loket.web import views


class LoginView(auth_views.LoginView):
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
    path("", views.inbox, name="inbox"),
]
