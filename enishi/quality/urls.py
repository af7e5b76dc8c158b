"""The duplicates queue (名寄せ), merges and the "似たお客様がいます" hint, under /quality/."""

from django.urls import path

from enishi.quality import views

app_name = "quality"
urlpatterns = [
    path("duplicates/", views.duplicate_queue, name="duplicates"),
    path("duplicates/scan/", views.scan_start, name="scan_start"),
    path("duplicates/scan/<int:pk>/", views.scan_status, name="scan_status"),
    path("duplicates/<int:pk>/", views.pair_compare, name="compare"),
    path("duplicates/<int:pk>/dismiss/", views.pair_dismiss, name="dismiss"),
    path("duplicates/<int:pk>/reopen/", views.pair_reopen, name="reopen"),
    path("merge/", views.merge, name="merge"),
    path("merges/", views.merge_list, name="merge_list"),
    path("merges/<int:pk>/", views.merge_detail, name="merge_detail"),
    path("merges/<int:pk>/undo/", views.merge_undo, name="merge_undo"),
    path("similar/", views.similar_hint, name="similar"),
]
