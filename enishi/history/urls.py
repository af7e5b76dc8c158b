from django.urls import path

from enishi.history import views

app_name = "history"
urlpatterns = [path("", views.history_log, name="log")]
