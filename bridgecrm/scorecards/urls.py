from django.urls import path

from bridgecrm.scorecards import views

app_name = "scorecards"

urlpatterns = [
    path("scorecards/", views.scorecard_list, name="list"),
    path("scorecards/new/", views.scorecard_edit, name="new"),
    path("scorecards/<int:scorecard_id>/", views.scorecard_detail, name="detail"),
    path("scorecards/<int:scorecard_id>/edit/", views.scorecard_edit, name="edit"),
    path("scorecards/<int:scorecard_id>/run/", views.evaluation_run, name="run"),
    path("scorecards/people/<int:user_id>/", views.history, name="history"),
    path("evaluations/<int:evaluation_id>/", views.evaluation_detail, name="evaluation"),
    path("evaluations/<int:evaluation_id>/advance/", views.evaluation_advance, name="advance"),
    path("evaluations/<int:evaluation_id>/what-if/", views.what_if, name="what_if"),
    path("evaluations/<int:evaluation_id>/export/", views.evaluation_export, name="export"),
    path("evaluations/entries/<int:entry_id>/", views.entry_detail, name="entry"),
    path("evaluations/entries/<int:entry_id>/comment/", views.entry_comment, name="comment"),
    path("evaluations/entries/<int:entry_id>/adjust/", views.entry_adjust, name="adjust"),
    path("evaluations/entries/<int:entry_id>/acknowledge/", views.entry_acknowledge, name="acknowledge"),
]
