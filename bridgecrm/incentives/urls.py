from django.urls import path

from bridgecrm.incentives import views

app_name = "incentives"

urlpatterns = [
    path("incentives/statements/", views.statement_list, name="statements"),
    path("incentives/statements/generate/", views.statements_generate, name="statements_generate"),
    path("incentives/statements/export/", views.statement_export, name="statements_export"),
    path("incentives/statements/<int:statement_id>/", views.statement_detail, name="statement"),
    path("incentives/statements/<int:statement_id>/approve/", views.statement_approve, name="statement_approve"),
    path(
        "incentives/statements/<int:statement_id>/regenerate/", views.statement_regenerate, name="statement_regenerate"
    ),
    path("incentives/plans/", views.plan_list, name="plans"),
    path("incentives/plans/new/", views.plan_new, name="plan_new"),
    path("incentives/plans/<int:plan_id>/", views.plan_detail, name="plan"),
    path("incentives/plans/<int:plan_id>/assign/", views.plan_assign, name="plan_assign"),
    path("incentives/assignments/<int:assignment_id>/delete/", views.plan_unassign, name="plan_unassign"),
    path("incentives/bonus-rules/", views.bonus_rules, name="bonus_rules"),
    path("incentives/bonus-rules/<int:rule_id>/delete/", views.bonus_rule_delete, name="bonus_rule_delete"),
    path("incentives/promotion/", views.promotion, name="promotion"),
    path("incentives/promotion/<int:criterion_id>/delete/", views.criterion_delete, name="criterion_delete"),
]
