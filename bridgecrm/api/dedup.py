# No `from __future__ import annotations`: ninja reads the annotations at import time.
"""The duplicate check (查重) and merge over the API: the same services and visibility as the UI."""

from typing import Annotated, Any

from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _
from ninja import Field, Router, Schema
from pydantic import BaseModel, ConfigDict, StrictBool, StrictInt

from bridgecrm.api.schemas import MAX_ID, NO_NUL, ErrorOut
from bridgecrm.core.errors import PermissionDenied
from bridgecrm.customers import dedup, merge, selectors
from bridgecrm.users.models import User

router = Router(tags=["duplicates"])
ERRORS: dict[int, Any] = {401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 422: ErrorOut}
Text = Annotated[str, Field(max_length=254, pattern=NO_NUL)]
Side = Annotated[str, Field(pattern="^(survivor|loser|both)$")]


def _forbidden() -> PermissionDenied:
    return PermissionDenied("forbidden", _("You do not have permission to do this."))


def _actor(request: HttpRequest) -> User:
    assert isinstance(request.user, User)
    return request.user


class DuplicateCheckIn(BaseModel):
    model_config = ConfigDict(strict=True)  # JSON types as documented: 0 is not false

    name: str = Field(..., min_length=1, max_length=200, pattern=NO_NUL)
    phones: list[Text] = Field(default_factory=list, max_length=20)
    emails: list[Text] = Field(default_factory=list, max_length=20)
    exclude_id: StrictInt | None = Field(None, ge=1, le=MAX_ID, description="The customer being edited.")


class DuplicateMatchOut(Schema):
    customer_id: int | None = Field(None, description="Only when you may see the match.")
    name: str = Field("", description="Only when you may see the match.")
    visible: bool
    owner: str = Field(..., description="The owner's name, or “public pool”.")
    in_pool: bool
    reasons: list[str] = Field(..., description="name, phone, email, similar_name")
    score: int


class DuplicateSettingsOut(Schema):
    match_name: bool
    match_phone: bool
    match_email: bool
    match_similar_name: bool
    similarity_threshold: int
    version: int


class DuplicateSettingsIn(BaseModel):
    model_config = ConfigDict(strict=True)  # JSON types as documented: 0 is not false

    match_name: StrictBool | None = None
    match_phone: StrictBool | None = None
    match_email: StrictBool | None = None
    match_similar_name: StrictBool | None = None
    similarity_threshold: StrictInt | None = Field(None, ge=50, le=100)
    version: StrictInt = Field(..., ge=1, le=MAX_ID, description="The version you read; a newer one answers 409.")


class MergeIn(BaseModel):
    model_config = ConfigDict(strict=True)  # JSON types as documented: 0 is not false

    survivor_id: StrictInt = Field(..., ge=1, le=MAX_ID)
    loser_id: StrictInt = Field(..., ge=1, le=MAX_ID)
    survivor_version: StrictInt = Field(..., ge=1, le=MAX_ID)
    loser_version: StrictInt = Field(..., ge=1, le=MAX_ID)
    choices: dict[Annotated[str, Field(max_length=120, pattern=NO_NUL)], Side] = Field(
        default_factory=dict,
        max_length=200,
        description="Field (name, kind, lifecycle_stage, source, industry, place, size, estimated_annual_potential, "
        "currency, owner, team, tags, custom:<key>) → survivor or loser (tags: also both). Default: the survivor's.",
    )


class MergeOut(Schema):
    survivor_id: int
    survivor_version: int
    moved: dict[str, int]
    kept_with_loser: dict[str, int]


@router.post(
    "/duplicates/check",
    response={200: list[DuplicateMatchOut], 400: ErrorOut, **ERRORS},
    summary="Probable duplicates of a customer (checked across the company)",
)
def duplicates_check(request: HttpRequest, payload: DuplicateCheckIn) -> list[dict[str, Any]]:
    matches = dedup.find_duplicates(
        actor=_actor(request),
        name=payload.name,
        phones=payload.phones,
        emails=payload.emails,
        exclude_id=payload.exclude_id,
    )
    return [m.as_dict() for m in matches]


@router.get("/duplicates/settings", response={200: DuplicateSettingsOut, **ERRORS}, summary="Duplicate check settings")
def duplicate_settings(request: HttpRequest) -> Any:
    if not dedup.may_configure(_actor(request)):
        raise _forbidden()
    return dedup.current_settings()


@router.patch(
    "/duplicates/settings",
    response={200: DuplicateSettingsOut, 409: ErrorOut, 400: ErrorOut, **ERRORS},
    summary="Change the duplicate check settings",
)
def duplicate_settings_update(request: HttpRequest, payload: DuplicateSettingsIn) -> Any:
    data = payload.model_dump(exclude_none=True)
    version = data.pop("version")
    return dedup.settings_update(actor=_actor(request), version=version, **data)


@router.post(
    "/customers/merge",
    response={200: MergeOut, 409: ErrorOut, 400: ErrorOut, **ERRORS},
    summary="Merge a duplicate customer into another",
)
def customers_merge(request: HttpRequest, payload: MergeIn) -> dict[str, Any]:
    actor = _actor(request)
    if not merge.may_merge(actor):
        raise _forbidden()
    survivor = selectors.customer_get(actor=actor, customer_id=payload.survivor_id)
    loser = selectors.customer_get(actor=actor, customer_id=payload.loser_id)
    result = merge.customer_merge(
        actor=actor,
        survivor=survivor,
        loser=loser,
        choices=payload.choices,
        survivor_version=payload.survivor_version,
        loser_version=payload.loser_version,
    )
    return {
        "survivor_id": result.survivor.pk,
        "survivor_version": result.survivor.version,
        "moved": result.moved,
        "kept_with_loser": result.kept,
    }
