from django.urls import path

from bridgecrm.tiers import views

app_name = "tiers"

urlpatterns = [
    path("settings/tiers/", views.tier_settings, name="settings"),
    path("settings/tiers/recompute/", views.tier_recompute, name="recompute"),
    path("customers/<int:customer_id>/tier/", views.customer_tier, name="customer_tier"),
    path("follow-up-routine/", views.routine, name="routine"),
    path("follow-up-routine/compliance/", views.compliance, name="compliance"),
]
