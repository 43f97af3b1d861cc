from django.urls import path

from bridgecrm.training import views

app_name = "training"

urlpatterns = [
    path("training/", views.mine, name="mine"),
    path("training/sessions/", views.session_list, name="sessions"),
    path("training/sessions/new/", views.session_new, name="session_new"),
    path("training/sessions/<int:session_id>/", views.session_detail, name="session_detail"),
    path("training/sessions/<int:session_id>/edit/", views.session_edit, name="session_edit"),
    path("training/sessions/<int:session_id>/enrol/", views.session_enrol, name="session_enrol"),
    path("training/sessions/<int:session_id>/attendance/", views.session_attendance, name="session_attendance"),
    path("training/sessions/<int:session_id>/materials/", views.material_add, name="material_add"),
    path("training/enrolments/<int:enrollment_id>/remove/", views.enrolment_remove, name="enrolment_remove"),
    path("training/materials/<int:material_id>/", views.material_download, name="material_download"),
    path("training/materials/<int:material_id>/delete/", views.material_delete, name="material_delete"),
    path("training/courses/", views.course_list, name="courses"),
    path("training/courses/<int:course_id>/edit/", views.course_edit, name="course_edit"),
    path("coaching/", views.coaching_list, name="coaching"),
    path("coaching/new/", views.coaching_new, name="coaching_new"),
    path("coaching/<int:plan_id>/", views.coaching_detail, name="coaching_detail"),
    path("coaching/<int:plan_id>/edit/", views.coaching_edit, name="coaching_edit"),
    path("coaching/<int:plan_id>/check-ins/", views.coaching_check_in, name="coaching_check_in"),
    path("library/", views.library, name="library"),
    path("library/new/", views.article_new, name="article_new"),
    path("library/<int:article_id>/", views.article_detail, name="article_detail"),
    path("library/<int:article_id>/edit/", views.article_edit, name="article_edit"),
    path("library/<int:article_id>/delete/", views.article_delete, name="article_delete"),
]
