from django.urls import path

from bridgecrm.activities import views

app_name = "activities"

urlpatterns = [
    path("my-day/", views.my_day, name="my_day"),
    path("follow-ups/", views.follow_ups, name="follow_ups"),
    path("follow-ups/export/", views.follow_ups_export, name="follow_ups_export"),
    path("follow-ups/new/", views.follow_up_create, name="follow_up_create"),
    path("follow-ups/<int:follow_up_id>/edit/", views.follow_up_edit, name="follow_up_edit"),
    path("follow-ups/<int:follow_up_id>/delete/", views.follow_up_delete, name="follow_up_delete"),
    path("tasks/", views.tasks, name="tasks"),
    path("tasks/export/", views.tasks_export, name="tasks_export"),
    path("tasks/new/", views.task_create, name="task_create"),
    path("tasks/<int:task_id>/edit/", views.task_edit, name="task_edit"),
    path("tasks/<int:task_id>/complete/", views.task_complete, name="task_complete"),
    path("tasks/<int:task_id>/reopen/", views.task_reopen, name="task_reopen"),
    path("tasks/<int:task_id>/delete/", views.task_delete, name="task_delete"),
    path("notifications/", views.notifications, name="notifications"),
    path("notifications/<int:notification_id>/read/", views.notification_read, name="notification_read"),
    path("notifications/read-all/", views.notifications_read_all, name="notifications_read_all"),
    path("calendar/", views.calendar, name="calendar"),
    path("calendar/feed/", views.calendar_feed_settings, name="calendar_feed_settings"),
    path("calendar/feed/<str:key>.ics", views.calendar_feed, name="calendar_feed"),
]
