from django.urls import path

from bridgecrm.targets import views

app_name = "targets"

urlpatterns = [
    path("targets/", views.progress, name="progress"),
    path("targets/new/", views.target_new, name="new"),
    path("targets/<int:target_id>/", views.target_detail, name="detail"),
    path("targets/<int:target_id>/adjust/", views.target_adjust, name="adjust"),
    path("targets/<int:target_id>/delete/", views.target_delete, name="delete"),
    path("plans/", views.plan_list, name="plans"),
    path("plans/<int:plan_id>/", views.plan_detail, name="plan_detail"),
    path("plans/<int:plan_id>/phases/", views.plan_phase_add, name="phase_add"),
    path("plans/<int:plan_id>/milestones/", views.plan_milestone_add, name="milestone_add"),
    path("plans/<int:plan_id>/delete/", views.plan_delete, name="plan_delete"),
    path("milestones/<int:milestone_id>/status/", views.milestone_status, name="milestone_status"),
]
