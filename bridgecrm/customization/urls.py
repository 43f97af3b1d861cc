from django.urls import path

from bridgecrm.customization import views

app_name = "customization"

urlpatterns = [
    path("manage/fields/", views.field_list, name="fields"),
    path("manage/fields/new/", views.field_create, name="field_create"),
    path("manage/fields/<int:field_id>/edit/", views.field_edit, name="field_edit"),
    path("manage/fields/<int:field_id>/delete/", views.field_archive, name="field_archive"),
    path("manage/fields/<int:field_id>/restore/", views.field_restore, name="field_restore"),
    path("manage/fields/<int:field_id>/move/", views.field_move, name="field_move"),
]
