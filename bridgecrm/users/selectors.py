"""Reads about users and teams. Every one takes the actor and starts from ``visible_to``."""

from __future__ import annotations

from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from bridgecrm.core.errors import NotFound
from bridgecrm.users.models import ApiToken, Team, TeamQuerySet, User, UserQuerySet, UserSession


def user_list(*, actor: User, query: str = "", team_id: int | None = None, active: bool | None = None) -> UserQuerySet:
    qs = User.objects.visible_to(actor).select_related("team", "role")
    if query:
        qs = qs.filter(Q(username__icontains=query) | Q(full_name__icontains=query) | Q(email__icontains=query))
    if team_id is not None:
        qs = qs.filter(team_id=team_id)
    if active is not None:
        qs = qs.filter(is_active=active)
    return qs.order_by("username")


def user_get(*, actor: User, user_id: int) -> User:
    user = User.objects.visible_to(actor).select_related("team", "role").filter(pk=user_id).first()
    if user is None:
        raise NotFound("not_found", _("Not found."))
    return user


def user_id_by_username(*, actor: User, username: str) -> int | None:
    """The id of a visible user with this user name (case-insensitive), or None."""
    return User.objects.visible_to(actor).filter(username__iexact=username).values_list("pk", flat=True).first()


def team_list(*, actor: User, query: str = "") -> TeamQuerySet:
    qs = Team.objects.visible_to(actor).select_related("manager", "parent")
    if query:
        qs = qs.filter(name__icontains=query)
    return qs.order_by("path")


def team_get(*, actor: User, team_id: int) -> Team:
    team = Team.objects.visible_to(actor).select_related("manager", "parent").filter(pk=team_id).first()
    if team is None:
        raise NotFound("not_found", _("Not found."))
    return team


def token_list(*, actor: User) -> list[ApiToken]:
    return list(ApiToken.objects.filter(user=actor).order_by("-created_at"))


def token_get(*, actor: User, token_id: int) -> ApiToken:
    token = ApiToken.objects.filter(user=actor, pk=token_id).first()
    if token is None:
        raise NotFound("not_found", _("Not found."))
    return token


def session_list(*, actor: User) -> list[UserSession]:
    return list(UserSession.objects.filter(user=actor).order_by("-created_at"))
