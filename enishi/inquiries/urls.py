from django.urls import path  # noqa: F401

from enishi.inquiries import views  # noqa: F401

app_name = "inquiries"
urlpatterns: list = []
