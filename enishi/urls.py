from django.urls import include, path

from enishi.api.api import api_urls

urlpatterns = [
    path("", include("enishi.core.urls")),
    path("accounts/tokens/", include("enishi.api.urls")),
    path("accounts/", include("enishi.accounts.urls")),
    path("customers/", include("enishi.customers.urls")),
    path("history/", include("enishi.history.urls")),
    path("transfer/", include("enishi.transfer.urls")),
    path("cards/", include("enishi.transfer.cards_urls")),
    path("imports/", include("enishi.imports.urls")),
    path("quality/", include("enishi.quality.urls")),
    path("quality/", include("enishi.quality.upkeep_urls")),
    path("deals/", include("enishi.deals.urls")),
    path("inquiries/", include("enishi.inquiries.urls")),
    path("sales/", include("enishi.sales.urls")),
    path("api/", api_urls()),
    path("", include("enishi.activities.urls")),
]

handler404 = "enishi.core.errors.not_found"
handler500 = "enishi.core.errors.server_error"
