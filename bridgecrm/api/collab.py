# No `from __future__ import annotations`: @paginate wraps the list views (see users.py).
"""The API for comments, follows and the team feed: the same selectors and services as the UI."""

import datetime as dt
from typing import Any

from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _
from ninja import Field, Query, Router, Schema
from ninja.responses import Status
from pydantic import BaseModel

from bridgecrm.api.schemas import NO_NUL, ErrorOut
from bridgecrm.collab import selectors, services
from bridgecrm.collab.models import BODY_MAX, Comment
from bridgecrm.core.errors import ApplicationError
from bridgecrm.users.models import User

router = Router(tags=["collaboration"])
ERRORS: dict[int, Any] = {401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 422: ErrorOut}
WRITE_ERRORS: dict[int, Any] = {400: ErrorOut, **ERRORS}
LIST_ERRORS: dict[int, Any] = {400: ErrorOut, **ERRORS}  # a date that looks right but is not one
DATE = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$"


def _actor(request: HttpRequest) -> User:
    assert isinstance(request.user, User)
    return request.user


# ---- schemas -------------------------------------------------------------------------------------


class PersonOut(Schema):
    id: int
    username: str
    name: str


class CommentOut(Schema):
    id: int
    customer_id: int | None
    deal_id: int | None
    author: PersonOut
    body: str = Field(..., description="Empty for a deleted comment.")
    mentions: list[PersonOut]
    created_at: dt.datetime
    edited_at: dt.datetime | None
    deleted: bool


class CommentPageOut(Schema):
    items: list[CommentOut]
    next_cursor: str = Field("", description="Pass as `before` for the older comments; empty at the end.")


class CommentPageIn(Schema):
    before: str = Field("", max_length=120, pattern=NO_NUL)
    limit: int = Field(selectors.COMMENT_PAGE, ge=1, le=100)


class CommentIn(BaseModel):
    body: str = Field(..., min_length=1, max_length=BODY_MAX, description="Plain text; `@username` mentions.")


class FollowOut(Schema):
    following: bool
    followers: list[PersonOut]


class FeedIn(Schema):
    day: str | None = Field(None, pattern=DATE, description="YYYY-MM-DD in your time zone; default today")
    before: str = Field("", max_length=120, pattern=NO_NUL)
    limit: int = Field(selectors.FEED_PAGE, ge=1, le=100)


class FeedItemOut(Schema):
    at: dt.datetime
    kind: str
    title: str
    url: str
    detail: str
    by: str


class FeedOut(Schema):
    day: dt.date
    items: list[FeedItemOut]
    next_cursor: str


def _person(user: User) -> dict[str, Any]:
    return {"id": user.pk, "username": user.username, "name": user.display_name}


def _comment(comment: Comment) -> dict[str, Any]:
    deleted = comment.deleted_at is not None
    return {
        "id": comment.pk,
        "customer_id": comment.customer_id,
        "deal_id": comment.deal_id,
        "author": _person(comment.author),
        "body": "" if deleted else comment.body,
        "mentions": [] if deleted else [_person(m.user) for m in comment.mentions.all()],
        "created_at": comment.created_at,
        "edited_at": comment.edited_at,
        "deleted": deleted,
    }


def _page(request: HttpRequest, kind: str, record_id: int, query: CommentPageIn) -> dict[str, Any]:
    actor = _actor(request)
    record = selectors.record_get(actor=actor, kind=kind, record_id=record_id)
    page = selectors.comment_list(actor=actor, record=record, before=query.before or None, limit=query.limit)
    return {"items": [_comment(c) for c in page.comments], "next_cursor": page.older}


def _create(request: HttpRequest, kind: str, record_id: int, payload: CommentIn) -> Status[Any]:
    actor = _actor(request)
    record = selectors.record_get(actor=actor, kind=kind, record_id=record_id)
    comment = services.comment_create(actor=actor, record=record, body=payload.body)
    return Status(201, _comment(selectors.comment_get(actor=actor, comment_id=comment.pk)))


def _follow(request: HttpRequest, kind: str, record_id: int, following: bool) -> dict[str, Any]:
    actor = _actor(request)
    record = selectors.record_get(actor=actor, kind=kind, record_id=record_id)
    services.follow_set(actor=actor, record=record, following=following)
    return {
        "following": selectors.is_following(user=actor, record=record),
        "followers": [_person(u) for u in selectors.follower_list(actor=actor, record=record)],
    }


# ---- comments ------------------------------------------------------------------------------------


@router.get(
    "/customers/{customer_id}/comments",
    response={200: CommentPageOut, **ERRORS},
    summary="Comments on a customer, newest first",
)
def customer_comments(request: HttpRequest, customer_id: int, query: Query[CommentPageIn]) -> dict[str, Any]:
    return _page(request, "customer", customer_id, query)


@router.post(
    "/customers/{customer_id}/comments", response={201: CommentOut, **WRITE_ERRORS}, summary="Comment on a customer"
)
def customer_comment_create(request: HttpRequest, customer_id: int, payload: CommentIn) -> Status[Any]:
    return _create(request, "customer", customer_id, payload)


@router.get("/deals/{deal_id}/comments", response={200: CommentPageOut, **ERRORS}, summary="Comments on a deal")
def deal_comments(request: HttpRequest, deal_id: int, query: Query[CommentPageIn]) -> dict[str, Any]:
    return _page(request, "deal", deal_id, query)


@router.post("/deals/{deal_id}/comments", response={201: CommentOut, **WRITE_ERRORS}, summary="Comment on a deal")
def deal_comment_create(request: HttpRequest, deal_id: int, payload: CommentIn) -> Status[Any]:
    return _create(request, "deal", deal_id, payload)


@router.patch("/comments/{comment_id}", response={200: CommentOut, **WRITE_ERRORS}, summary="Edit your comment")
def comment_edit(request: HttpRequest, comment_id: int, payload: CommentIn) -> dict[str, Any]:
    actor = _actor(request)
    comment = selectors.comment_get(actor=actor, comment_id=comment_id)
    services.comment_edit(actor=actor, comment=comment, body=payload.body)
    return _comment(selectors.comment_get(actor=actor, comment_id=comment_id))


@router.delete("/comments/{comment_id}", response={204: None, **WRITE_ERRORS}, summary="Delete your comment")
def comment_delete(request: HttpRequest, comment_id: int) -> Status[Any]:
    actor = _actor(request)
    comment = selectors.comment_get(actor=actor, comment_id=comment_id)
    services.comment_delete(actor=actor, comment=comment)
    return Status(204, None)


# ---- following -----------------------------------------------------------------------------------


@router.put("/customers/{customer_id}/follow", response={200: FollowOut, **WRITE_ERRORS}, summary="Follow a customer")
def customer_follow(request: HttpRequest, customer_id: int) -> dict[str, Any]:
    return _follow(request, "customer", customer_id, True)


@router.delete(
    "/customers/{customer_id}/follow", response={200: FollowOut, **WRITE_ERRORS}, summary="Unfollow a customer"
)
def customer_unfollow(request: HttpRequest, customer_id: int) -> dict[str, Any]:
    return _follow(request, "customer", customer_id, False)


@router.put("/deals/{deal_id}/follow", response={200: FollowOut, **WRITE_ERRORS}, summary="Follow a deal")
def deal_follow(request: HttpRequest, deal_id: int) -> dict[str, Any]:
    return _follow(request, "deal", deal_id, True)


@router.delete("/deals/{deal_id}/follow", response={200: FollowOut, **WRITE_ERRORS}, summary="Unfollow a deal")
def deal_unfollow(request: HttpRequest, deal_id: int) -> dict[str, Any]:
    return _follow(request, "deal", deal_id, False)


# ---- the team feed -------------------------------------------------------------------------------


@router.get("/feed", response={200: FeedOut, **LIST_ERRORS}, summary="What happened today on the records you see")
def team_feed(request: HttpRequest, query: Query[FeedIn]) -> dict[str, Any]:
    day = None
    if query.day:
        try:
            day = dt.date.fromisoformat(query.day)
        except ValueError as exc:
            raise ApplicationError("invalid", _("Enter a valid date."), details={"day": ["invalid date"]}) from exc
    page = selectors.feed(actor=_actor(request), day=day, before=query.before or None, limit=query.limit)
    return {"day": page.day, "items": page.items, "next_cursor": page.older}
