from django.urls import path

from loket.web.replies import views

app_name = "replies"

urlpatterns = [
    path("", views.index, name="index"),
    path("baru/", views.reply_create, name="create"),
    path("<int:pk>/ubah/", views.reply_edit, name="edit"),
    path("<int:pk>/hapus/", views.reply_delete, name="delete"),
    path("cari", views.search, name="search"),
    path("makro/baru/", views.macro_create, name="macro_create"),
    path("makro/<int:pk>/ubah/", views.macro_edit, name="macro_edit"),
    path("makro/<int:pk>/hapus/", views.macro_delete, name="macro_delete"),
    path("makro/tiket/<int:number>/", views.macro_menu, name="macro_menu"),
    path("makro/<int:pk>/terapkan/<int:number>/", views.apply_macro, name="apply_macro"),
]
