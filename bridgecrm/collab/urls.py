from django.urls import path

from bridgecrm.collab import views

app_name = "collab"

CUSTOMER = {"kind": "customer"}
DEAL = {"kind": "deal"}

urlpatterns = [
    path("customers/<int:record_id>/comments/", views.comments, CUSTOMER, name="customer_comments"),
    path("deals/<int:record_id>/comments/", views.comments, DEAL, name="deal_comments"),
    path("customers/<int:record_id>/follow/", views.follow, CUSTOMER, name="customer_follow"),
    path("deals/<int:record_id>/follow/", views.follow, DEAL, name="deal_follow"),
    path("customers/<int:record_id>/mentionable/", views.mentionable, CUSTOMER, name="customer_mentionable"),
    path("deals/<int:record_id>/mentionable/", views.mentionable, DEAL, name="deal_mentionable"),
    path("comments/<int:comment_id>/", views.comment_open, name="comment_open"),
    path("comments/<int:comment_id>/edit/", views.comment_edit, name="comment_edit"),
    path("comments/<int:comment_id>/delete/", views.comment_delete, name="comment_delete"),
    path("feed/", views.feed, name="feed"),
]
