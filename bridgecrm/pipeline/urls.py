from django.urls import path

from bridgecrm.pipeline import deal_views, views

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
    # deals
    path("deals/", deal_views.deal_list, name="deals"),
    path("deals/new/", deal_views.deal_create, name="deal_create"),
    path("deals/export/", deal_views.deal_export, name="deals_export"),
    path("deals/board/", deal_views.board, name="board"),
    path("deals/board/<int:pipeline_id>/stages/<int:stage_id>/", deal_views.board_column, name="board_column"),
    path("deals/<int:deal_id>/", deal_views.deal_detail, name="deal_detail"),
    path("deals/<int:deal_id>/edit/", deal_views.deal_edit, name="deal_edit"),
    path("deals/<int:deal_id>/move/", deal_views.deal_move, name="deal_move"),
    path("deals/<int:deal_id>/close/", deal_views.deal_close, name="deal_close"),
    path("deals/<int:deal_id>/lines/", deal_views.deal_lines, name="deal_lines"),
    path("deals/<int:deal_id>/delete/", deal_views.deal_delete, name="deal_delete"),
]
