from django.urls import path

from bridgecrm.imports import views

app_name = "imports"

urlpatterns = [
    path("imports/", views.job_list, name="list"),
    path("imports/new/", views.upload, name="upload"),
    path("imports/<int:job_id>/", views.job_detail, name="job"),
    path("imports/<int:job_id>/mapping/", views.mapping_page, name="mapping"),
    path("imports/<int:job_id>/check/", views.check, name="check"),
    path("imports/<int:job_id>/start/", views.start, name="start"),
    path("imports/<int:job_id>/progress/", views.progress, name="progress"),
    path("imports/<int:job_id>/errors/", views.error_file, name="errors"),
]
