from django.urls import path

from bridgecrm.pool import views

app_name = "pool"

urlpatterns = [
    path("pool/", views.pool_list, name="list"),
    path("pool/export/", views.pool_export, name="export"),
    path("pool/rules/", views.pool_rules, name="rules"),
    path("pool/distribute/", views.pool_distribute, name="distribute"),
    path("pool/<int:customer_id>/", views.pool_detail, name="detail"),
    path("pool/<int:customer_id>/claim/", views.pool_claim, name="claim"),
    path("pool/<int:customer_id>/assign/", views.pool_assign, name="assign"),
    path("customers/<int:customer_id>/release/", views.pool_release, name="release"),
    path("customers/<int:customer_id>/protect/", views.pool_protect, name="protect"),
]
