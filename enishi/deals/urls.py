from django.urls import path

from enishi.deals import views

app_name = "deals"
urlpatterns = [
    path("", views.board, name="board"),
    path("pipelines/<int:pk>/board/", views.board, name="board_pipeline"),
    path("list/", views.deal_list, name="list"),
    path("new/", views.deal_create, name="create"),
    path("<int:pk>/", views.deal_detail, name="detail"),
    path("<int:pk>/edit/", views.deal_edit, name="edit"),
    path("<int:pk>/move/", views.deal_move, name="move"),
    path("<int:pk>/delete/", views.deal_delete, name="delete"),
    path("settings/pipelines/", views.pipeline_list, name="pipeline_list"),
    path("settings/pipelines/new/", views.pipeline_create, name="pipeline_create"),
    path("settings/pipelines/<int:pk>/", views.pipeline_edit, name="pipeline_edit"),
]
