from django.urls import path

from enishi.activities import views

app_name = "activities"
urlpatterns = [
    path("customers/<int:customer_pk>/log/", views.activity_new, name="new"),
    path("customers/<int:customer_pk>/log/save/", views.activity_create, name="create"),
    path("tasks/", views.my_tasks, name="my_tasks"),
    path("tasks/<int:pk>/complete/", views.task_complete, name="task_complete"),
]
