from django.urls import path

from enishi.activities import views

app_name = "activities"
urlpatterns = [
    path("customers/<int:customer_pk>/log/", views.activity_new, name="new"),
    path("customers/<int:customer_pk>/log/save/", views.activity_create, name="create"),
    path("tasks/", views.my_tasks, name="my_tasks"),
    path("tasks/<int:pk>/complete/", views.task_complete, name="task_complete"),
    path("calendar/", views.calendar, name="calendar"),
    path("calendar/reset/", views.calendar_reset, name="calendar_reset"),
    path("calendar/revoke/", views.calendar_revoke, name="calendar_revoke"),
    path("calendar/<slug:secret>.ics", views.calendar_feed, name="calendar_feed"),
]
