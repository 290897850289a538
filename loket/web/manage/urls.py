from django.urls import path

from loket.web.manage.views import agents, channels, email_oauth, general, teams, whatsapp

app_name = "manage"

urlpatterns = [
    path("", agents.index, name="index"),
    path("agen/", agents.agent_list, name="agents"),
    path("agen/undang/", agents.invite, name="invite"),
    path("agen/<int:pk>/", agents.edit, name="agent"),
    path("agen/<int:pk>/undang-lagi/", agents.resend, name="resend"),
    path("agen/<int:pk>/nonaktifkan/", agents.deactivate, name="deactivate"),
    path("agen/<int:pk>/aktifkan/", agents.reactivate, name="reactivate"),
    path("tim/", teams.team_list, name="teams"),
    path("tim/<int:pk>/", teams.edit, name="team"),
    path("kanal/", channels.channel_list, name="channels"),
    path("kanal/tambah/<slug:kind>/", channels.add, name="add_channel"),
    path("kanal/<int:pk>/", channels.edit, name="channel"),
    path("kanal/<int:pk>/aktif/", channels.toggle, name="toggle_channel"),
    path("kanal/<int:pk>/oauth/mulai/", email_oauth.start, name="email_oauth_start"),
    path("kanal/oauth/kembali/", email_oauth.callback, name="email_oauth_callback"),
    path("kanal/<int:pk>/periksa/", whatsapp.check, name="check_channel"),
    path("kanal/<int:pk>/template/", whatsapp.template_list, name="whatsapp_templates"),
    path(
        "kanal/<int:pk>/template/segarkan/",
        whatsapp.refresh_templates,
        name="refresh_whatsapp_templates",
    ),
    path("pengaturan/", general.settings_view, name="settings"),
]
