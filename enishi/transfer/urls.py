from django.urls import path

from enishi.transfer import views

app_name = "transfer"
urlpatterns = [
    path("customers/export/", views.customer_export, name="customer_export"),
    path("exports/", views.export_list, name="export_list"),
    path("exports/full/", views.full_export_page, name="full_export"),
    path("exports/<int:pk>/", views.export_detail, name="export_detail"),
    path("exports/<int:pk>/status/", views.export_status, name="export_status"),
    path("exports/<int:pk>/download/", views.export_download, name="export_download"),
    path("exports/<int:pk>/discard/", views.export_discard, name="export_discard"),
]
