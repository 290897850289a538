from django.urls import path

from loket.web.tickets import actions, notifications, views, wa_actions

app_name = "tickets"

urlpatterns = [
    path("<int:number>/", views.detail, name="detail"),
    path("<int:number>/linimasa/", views.timeline_fragment, name="timeline"),
    path("<int:number>/panel/", views.side_fragment, name="side"),
    path("<int:number>/kirim/", actions.send, name="send"),
    path("<int:number>/sebut/", actions.mentions, name="mentions"),
    path("<int:number>/ubah/<str:field>/", actions.change, name="change"),
    path("<int:number>/gabung/", actions.merge_search, name="merge_search"),
    path("<int:number>/gabung/<int:contact_id>/", actions.merge_confirm, name="merge_confirm"),
    path("<int:number>/gabung/simpan/", actions.merge, name="merge"),
    path("<int:number>/tautkan/", actions.link, name="link"),
    path("<int:number>/wa/templat/", wa_actions.template_menu, name="wa_templates"),
    path("<int:number>/wa/templat/<int:pk>/", wa_actions.template, name="wa_template"),
    path(
        "<int:number>/wa/templat/<int:pk>/pratinjau/",
        wa_actions.template_preview,
        name="wa_template_preview",
    ),
    path("<int:number>/wa/reaksi/<int:pk>/", wa_actions.react, name="react"),
    path("lampiran/<int:pk>/", views.download, name="attachment"),
    path("pesan/<int:pk>/asli.eml", views.original, name="original"),
    path("pesan/<int:pk>/teks/", views.message_text, name="message_text"),
    path("notifikasi/", notifications.index, name="notifications"),
    path("notifikasi/lonceng/", notifications.bell, name="bell"),
    path("notifikasi/baca/", notifications.mark_read, name="notifications_read"),
]
