from django.urls import path

from bridgecrm.pipeline import views

app_name = "pipeline"

urlpatterns = [
    path("manage/products/", views.product_list, name="products"),
    path("manage/products/export/", views.product_export, name="product_export"),
    path("manage/products/new/", views.product_create, name="product_create"),
    path("manage/products/<int:product_id>/edit/", views.product_edit, name="product_edit"),
    path("manage/products/<int:product_id>/deactivate/", views.product_deactivate, name="product_deactivate"),
    path("manage/pipelines/", views.pipeline_list, name="pipelines"),
    path("manage/pipelines/<int:pipeline_id>/", views.pipeline_detail, name="pipeline_detail"),
    path("manage/pipelines/<int:pipeline_id>/stages/new/", views.stage_add, name="stage_add"),
    path("manage/pipelines/<int:pipeline_id>/stages/<int:stage_id>/", views.stage_edit, name="stage_edit"),
    path("manage/pipelines/<int:pipeline_id>/stages/<int:stage_id>/move/", views.stage_move, name="stage_move"),
    path("manage/pipelines/<int:pipeline_id>/stages/<int:stage_id>/delete/", views.stage_delete, name="stage_delete"),
    path("manage/lost-reasons/", views.lost_reason_list, name="lost_reasons"),
    path("manage/lost-reasons/<int:reason_id>/", views.lost_reason_edit, name="lost_reason_edit"),
]
