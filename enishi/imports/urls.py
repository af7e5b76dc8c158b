from django.urls import path

from enishi.imports import views

app_name = "imports"
urlpatterns = [
    path("", views.start, name="start"),
    path("<int:pk>/", views.detail, name="detail"),
    path("<int:pk>/columns/", views.mapping, name="mapping"),
    path("<int:pk>/progress/", views.progress, name="progress"),
    path("<int:pk>/progress/status/", views.status, name="status"),
    path("<int:pk>/preview/", views.preview, name="preview"),
    path("<int:pk>/rows/<int:number>/decision/", views.decide, name="decide"),
    path("<int:pk>/run/", views.execute, name="execute"),
    path("<int:pk>/resume/", views.resume, name="resume"),
    path("<int:pk>/result/", views.result, name="result"),
    path("<int:pk>/rejected/", views.rejected, name="rejected"),
    path("<int:pk>/undo/", views.undo, name="undo"),
    path("<int:pk>/discard/", views.discard, name="discard"),
    path("templates/<int:pk>/delete/", views.template_delete, name="template_delete"),
]
