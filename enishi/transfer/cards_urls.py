"""vCard, QR code and printable (PDF) karte: one person's or company's card in and out."""

from django.urls import path

from enishi.transfer import card_views as views

app_name = "cards"
urlpatterns = [
    path("<int:pk>/vcard/", views.card_vcard, name="vcard"),
    path("<int:pk>/pdf/", views.card_pdf, name="pdf"),
    path("<int:pk>/qr/", views.card_qr, name="qr"),
    path("selection/", views.card_selection, name="selection"),
    path("import/", views.card_import, name="import"),
    path("import/<slug:batch>/", views.card_import_preview, name="import_preview"),
    path("import/<slug:batch>/done/", views.card_import_done, name="import_done"),
]
