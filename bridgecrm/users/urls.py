from django.contrib.auth import views as auth_views
from django.urls import path

from bridgecrm.users import views

app_name = "users"

urlpatterns = [
    path("accounts/login/", views.login_view, name="login"),
    path("accounts/logout/", views.logout_view, name="logout"),
    path("accounts/language/", views.set_language, name="set_language"),
    path("accounts/password/reset/", views.PasswordResetView.as_view(), name="password_reset"),
    path(
        "accounts/password/reset/done/",
        auth_views.PasswordResetDoneView.as_view(template_name="users/password_reset_done.html"),
        name="password_reset_done",
    ),
    path("accounts/reset/<uidb64>/<token>/", views.PasswordResetConfirmView.as_view(), name="password_reset_confirm"),
    path(
        "accounts/reset/done/",
        auth_views.PasswordResetCompleteView.as_view(template_name="users/password_reset_complete.html"),
        name="password_reset_complete",
    ),
    path("settings/", views.settings_profile, name="settings_profile"),
    path("settings/password/", views.settings_password, name="settings_password"),
    path("settings/tokens/", views.settings_tokens, name="settings_tokens"),
    path("settings/tokens/<int:token_id>/revoke/", views.token_revoke, name="token_revoke"),
    path("settings/sessions/", views.settings_sessions, name="settings_sessions"),
    path("settings/sessions/end-others/", views.sessions_end_others, name="sessions_end_others"),
    path("people/", views.people, name="people"),
    path("people/<int:user_id>/", views.person_detail, name="person_detail"),
    path("teams/<int:team_id>/", views.team_detail, name="team_detail"),
    path("manage/users/", views.manage_users, name="manage_users"),
    path("manage/users/invite/", views.user_invite, name="user_invite"),
    path("manage/users/<int:user_id>/edit/", views.user_edit, name="user_edit"),
    path("manage/users/<int:user_id>/deactivate/", views.user_deactivate, name="user_deactivate"),
    path("manage/users/<int:user_id>/reactivate/", views.user_reactivate, name="user_reactivate"),
    path("manage/users/<int:user_id>/reset/", views.user_reset, name="user_reset"),
    path("manage/teams/", views.manage_teams, name="manage_teams"),
    path("manage/roles/", views.manage_roles, name="manage_roles"),
    path("manage/audit/", views.audit_search, name="audit_search"),
]
