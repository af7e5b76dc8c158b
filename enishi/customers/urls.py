from django.urls import path

from enishi.customers import views

app_name = "customers"
urlpatterns = [
    path("", views.customer_list, name="list"),
    path("search/", views.customer_search, name="search"),
    path("new/", views.customer_create, name="create"),
    path("postal-code/", views.postal_code_lookup, name="postal_code"),
    path("<int:pk>/", views.customer_detail, name="detail"),
    path("<int:pk>/edit/", views.customer_edit, name="edit"),
    path("<int:pk>/confirm/", views.customer_confirm, name="confirm"),
    path("<int:pk>/delete/", views.customer_delete, name="delete"),
    path("trash/", views.trash_list, name="trash"),
    path("trash/<int:pk>/restore/", views.trash_restore, name="trash_restore"),
    path("trash/<int:pk>/purge/", views.trash_purge, name="trash_purge"),
    path("handover/", views.handover, name="handover"),
    path("settings/fields/", views.field_definition_list, name="field_list"),
    path("settings/fields/new/", views.field_definition_edit, name="field_create"),
    path("settings/fields/<int:pk>/", views.field_definition_edit, name="field_edit"),
    path("settings/fields/presets/", views.field_definition_install_preset, name="field_preset"),
]
