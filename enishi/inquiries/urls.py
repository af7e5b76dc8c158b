from django.urls import path

from enishi.inquiries import views

app_name = "inquiries"
urlpatterns = [
    path("", views.queue, name="queue"),
    path("new/", views.create, name="create"),
    path("<int:pk>/", views.detail, name="detail"),
    path("<int:pk>/edit/", views.edit, name="edit"),
    path("<int:pk>/answer/", views.answer, name="answer"),
    path("<int:pk>/change/", views.change, name="change"),
    path("<int:pk>/assign/", views.assign, name="assign"),
    path("<int:pk>/delete/", views.delete, name="delete"),
    path("categories/", views.category_list, name="category_list"),
    path("categories/new/", views.category_edit, name="category_create"),
    path("categories/<int:pk>/", views.category_edit, name="category_edit"),
    path("categories/<int:pk>/delete/", views.category_delete, name="category_delete"),
]
