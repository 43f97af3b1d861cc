# No `from __future__ import annotations` here: @paginate wraps these views, and django-ninja would then
# resolve their string annotations (Query[UserFilters]) in its own module and fail (a 500 on the lists and
# on /openapi.json).
from typing import Any

from django.http import HttpRequest
from ninja import Field, Query, Router, Schema
from ninja.pagination import paginate

from bridgecrm.api.pagination import Pagination
from bridgecrm.api.schemas import MAX_ID, NO_NUL, ErrorOut, MeOut, MePatch, TeamOut, UserOut
from bridgecrm.users import selectors, services
from bridgecrm.users.models import User

router = Router(tags=["users"])
ERRORS: dict[int, Any] = {401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 422: ErrorOut}


def _actor(request: HttpRequest) -> User:
    assert isinstance(request.user, User)
    return request.user


class UserFilters(Schema):
    q: str = Field("", pattern=NO_NUL)
    team: int | None = Field(None, ge=1, le=MAX_ID)
    active: bool | None = None


class TeamFilters(Schema):
    q: str = Field("", pattern=NO_NUL)


@router.get("/me", response={200: MeOut, **ERRORS}, summary="The current user")
def me(request: HttpRequest) -> User:
    return selectors.user_get(actor=_actor(request), user_id=_actor(request).pk)


@router.patch("/me", response={200: MeOut, 400: ErrorOut, **ERRORS}, summary="Update your profile")
def me_update(request: HttpRequest, payload: MePatch) -> User:
    actor = _actor(request)
    changes = payload.model_dump(exclude_unset=True, exclude_none=True)
    services.user_update_profile(actor=actor, user=actor, **changes)
    return selectors.user_get(actor=actor, user_id=actor.pk)


@router.get("/users", response={200: list[UserOut], **ERRORS}, summary="Users you may see")
@paginate(Pagination)
def users_list(request: HttpRequest, filters: Query[UserFilters]) -> Any:
    return selectors.user_list(
        actor=_actor(request), query=filters.q[:100], team_id=filters.team, active=filters.active
    )


@router.get("/users/{user_id}", response={200: UserOut, **ERRORS}, summary="One user")
def user_detail(request: HttpRequest, user_id: int) -> User:
    return selectors.user_get(actor=_actor(request), user_id=user_id)


@router.get("/teams", response={200: list[TeamOut], **ERRORS}, summary="Teams you may see")
@paginate(Pagination)
def teams_list(request: HttpRequest, filters: Query[TeamFilters]) -> Any:
    return selectors.team_list(actor=_actor(request), query=filters.q[:100])


@router.get("/teams/{team_id}", response={200: TeamOut, **ERRORS}, summary="One team")
def team_detail(request: HttpRequest, team_id: int) -> Any:
    return selectors.team_get(actor=_actor(request), team_id=team_id)
