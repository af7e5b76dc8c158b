"""House style (表記ルール) with its one-time clean-up, and the freshness report."""

from django.urls import path

from enishi.quality import upkeep_views as views

app_name = "upkeep"
urlpatterns = [
    path("", views.data_hub, name="data"),
    path("style/", views.style_edit, name="style"),
    path("style/cleanup/", views.cleanup, name="cleanup"),
    path("style/cleanup/<int:pk>/", views.cleanup_run, name="cleanup_run"),
    path("style/cleanup/<int:pk>/undo/", views.cleanup_undo, name="cleanup_undo"),
    path("freshness/", views.freshness, name="freshness"),
    path("freshness/<int:pk>/confirm/", views.confirm, name="confirm"),
    path("freshness/confirm/", views.confirm_many, name="confirm_many"),
]
