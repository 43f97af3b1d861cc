"""Authorization-matrix rows for comments, follows, the mention picker and the team feed.

The objects (built once, see ``build``): a comment by the owner on the owner's customer and one on
the owner's deal (``activities``' matrix deal, on that customer). Both records are seen by the
owner, manager_a and the admin (``SEES_CUSTOMER``); the others get 404 for anything about them.
Only the author edits or deletes a comment: the manager and the admin who see it get 403.
The owner follows their records by default, so "follow" changes nothing for them and "unfollow"
does; for manager_a and the admin it is the other way round.
"""

from __future__ import annotations

from typing import Any

from bridgecrm.collab import services
from bridgecrm.web.tests.matrix_support import (
    CREATED,
    DELETED,
    FORBIDDEN,
    LOGIN,
    NOT_FOUND,
    OK,
    OK_SAVED,
    REDIRECT,
    SAVED,
    SEES_CUSTOMER,
    UNAUTHENTICATED,
    Case,
    Outcome,
    World,
    api_user,
    row,
    signed_in,
    url,
    visible_to,
)


def build(world: World) -> None:
    owner = world.c.owner
    world.extra["comment"] = services.comment_create(actor=owner, record=world.customer, body="Matrix comment")
    world.extra["deal_comment"] = services.comment_create(
        actor=owner, record=world.extra["deal"], body="Matrix deal comment"
    )


def _x(name: str) -> Any:
    return lambda w: w.extra[name].pk


def _customer(w: World) -> int:
    return w.customer.pk


def _deal(w: World) -> int:
    return w.extra["deal"].pk


def _author_only(mine: Outcome, *, anonymous: Outcome = LOGIN) -> dict[str, Outcome]:
    """The author may; those who see the comment but did not write it get 403; the rest 404."""
    return row(
        anonymous=anonymous,
        owner=mine,
        teammate=NOT_FOUND,
        other_rep=NOT_FOUND,
        manager_a=FORBIDDEN,
        manager_b=NOT_FOUND,
        admin=FORBIDDEN,
    )


def _follow(owner: Outcome, others: Outcome, *, anonymous: Outcome = LOGIN) -> dict[str, Outcome]:
    return row(
        anonymous=anonymous,
        owner=owner,
        teammate=NOT_FOUND,
        other_rep=NOT_FOUND,
        manager_a=others,
        manager_b=NOT_FOUND,
        admin=others,
    )


def _web_feed_shows_comment(w: World, response: Any) -> bool:
    assert response.context is not None
    return any(i.kind == "comment" and i.pk == w.extra["comment"].pk for i in response.context["items"])


def _web_shows_comment(w: World, response: Any) -> bool:
    assert response.context is not None
    return any(r.comment.pk == w.extra["comment"].pk for r in response.context["rows"])


def _api_feed_shows_comment(w: World, response: Any) -> bool:
    return any(i["kind"] == "comment" and i["title"].endswith(w.customer.name) for i in response.json()["items"])


def _api_lists_comment(w: World, response: Any) -> bool:
    return w.extra["comment"].pk in {c["id"] for c in response.json()["items"]}


COMMENT = {"body": "Matrix new comment"}

ROWS: list[Case] = [
    # -- web: comments -----------------------------------------------------------------------------
    Case(
        "collab:customer_comments",
        "GET",
        url("collab:customer_comments", record_id=_customer),
        visible_to(SEES_CUSTOMER, OK),
        probe=_web_shows_comment,
        probe_seen_by=SEES_CUSTOMER,
    ),
    Case(
        "collab:customer_comments",
        "POST",
        url("collab:customer_comments", record_id=_customer),
        visible_to(SEES_CUSTOMER, SAVED),
        data=lambda w: COMMENT,
    ),
    Case(
        "collab:customer_comments",
        "POST",
        url("collab:customer_comments", record_id=_customer),
        # Naming someone who cannot see the customer: the form shows why, nothing is written.
        visible_to(SEES_CUSTOMER, OK),
        data=lambda w: {"body": "@other_rep look"},
        variant="blind mention",
    ),
    Case("collab:deal_comments", "GET", url("collab:deal_comments", record_id=_deal), visible_to(SEES_CUSTOMER, OK)),
    Case(
        "collab:deal_comments",
        "POST",
        url("collab:deal_comments", record_id=_deal),
        visible_to(SEES_CUSTOMER, SAVED),
        data=lambda w: COMMENT,
    ),
    Case(
        "collab:comment_open",
        "GET",
        url("collab:comment_open", comment_id=_x("comment")),
        visible_to(SEES_CUSTOMER, REDIRECT),
    ),
    Case("collab:comment_edit", "GET", url("collab:comment_edit", comment_id=_x("comment")), _author_only(OK)),
    Case(
        "collab:comment_edit",
        "POST",
        url("collab:comment_edit", comment_id=_x("comment")),
        _author_only(SAVED),
        data=lambda w: {"body": "Matrix comment, edited"},
    ),
    Case(
        "collab:comment_delete",
        "POST",
        url("collab:comment_delete", comment_id=_x("deal_comment")),
        _author_only(SAVED),
    ),
    # -- web: following and the mention picker -------------------------------------------------------
    Case(
        "collab:customer_follow",
        "POST",
        url("collab:customer_follow", record_id=_customer),
        _follow(REDIRECT, SAVED),
        data=lambda w: {"following": "1"},
    ),
    Case(
        "collab:customer_follow",
        "POST",
        url("collab:customer_follow", record_id=_customer),
        _follow(SAVED, REDIRECT),
        data=lambda w: {"following": "0"},
        variant="unfollow",
    ),
    Case(
        "collab:deal_follow",
        "POST",
        url("collab:deal_follow", record_id=_deal),
        _follow(REDIRECT, SAVED),
        data=lambda w: {"following": "1"},
    ),
    Case(
        "collab:customer_mentionable",
        "GET",
        url("collab:customer_mentionable", record_id=_customer),
        visible_to(SEES_CUSTOMER, OK),
        data=lambda w: {"q": "a"},
    ),
    Case(
        "collab:deal_mentionable",
        "GET",
        url("collab:deal_mentionable", record_id=_deal),
        visible_to(SEES_CUSTOMER, OK),
    ),
    # -- web: the feed and the inbox's kind filter --------------------------------------------------
    Case(
        "collab:feed",
        "GET",
        url("collab:feed"),
        signed_in(OK),
        probe=_web_feed_shows_comment,
        probe_seen_by=SEES_CUSTOMER,
    ),
    Case(
        "activities:notifications",
        "GET",
        url("activities:notifications"),
        signed_in(OK),
        data=lambda w: {"kind": "mention", "unread": "1"},
        variant="kind",
    ),
    # -- API ---------------------------------------------------------------------------------------
    Case(
        "api-1.0.0:customer_comments",
        "GET",
        url("api-1.0.0:customer_comments", customer_id=_customer),
        visible_to(SEES_CUSTOMER, OK, anonymous=UNAUTHENTICATED),
        operation="GET /api/v1/customers/{customer_id}/comments",
        probe=_api_lists_comment,
        probe_seen_by=SEES_CUSTOMER,
    ),
    Case(
        "api-1.0.0:customer_comment_create",
        "POST",
        url("api-1.0.0:customer_comment_create", customer_id=_customer),
        visible_to(SEES_CUSTOMER, CREATED, anonymous=UNAUTHENTICATED),
        data=lambda w: COMMENT,
        operation="POST /api/v1/customers/{customer_id}/comments",
    ),
    Case(
        "api-1.0.0:deal_comments",
        "GET",
        url("api-1.0.0:deal_comments", deal_id=_deal),
        visible_to(SEES_CUSTOMER, OK, anonymous=UNAUTHENTICATED),
        operation="GET /api/v1/deals/{deal_id}/comments",
    ),
    Case(
        "api-1.0.0:deal_comment_create",
        "POST",
        url("api-1.0.0:deal_comment_create", deal_id=_deal),
        visible_to(SEES_CUSTOMER, CREATED, anonymous=UNAUTHENTICATED),
        data=lambda w: COMMENT,
        operation="POST /api/v1/deals/{deal_id}/comments",
    ),
    Case(
        "api-1.0.0:comment_edit",
        "PATCH",
        url("api-1.0.0:comment_edit", comment_id=_x("comment")),
        _author_only(OK_SAVED, anonymous=UNAUTHENTICATED),
        data=lambda w: {"body": "Matrix comment, edited through the API"},
        operation="PATCH /api/v1/comments/{comment_id}",
    ),
    Case(
        "api-1.0.0:comment_delete",
        "DELETE",
        url("api-1.0.0:comment_delete", comment_id=_x("comment")),
        _author_only(DELETED, anonymous=UNAUTHENTICATED),
        operation="DELETE /api/v1/comments/{comment_id}",
    ),
    Case(
        "api-1.0.0:customer_follow",
        "PUT",
        url("api-1.0.0:customer_follow", customer_id=_customer),
        _follow(OK, OK_SAVED, anonymous=UNAUTHENTICATED),
        operation="PUT /api/v1/customers/{customer_id}/follow",
    ),
    Case(
        "api-1.0.0:customer_unfollow",
        "DELETE",
        url("api-1.0.0:customer_unfollow", customer_id=_customer),
        _follow(OK_SAVED, OK, anonymous=UNAUTHENTICATED),
        operation="DELETE /api/v1/customers/{customer_id}/follow",
    ),
    Case(
        "api-1.0.0:deal_follow",
        "PUT",
        url("api-1.0.0:deal_follow", deal_id=_deal),
        _follow(OK, OK_SAVED, anonymous=UNAUTHENTICATED),
        operation="PUT /api/v1/deals/{deal_id}/follow",
    ),
    Case(
        "api-1.0.0:deal_unfollow",
        "DELETE",
        url("api-1.0.0:deal_unfollow", deal_id=_deal),
        _follow(OK_SAVED, OK, anonymous=UNAUTHENTICATED),
        operation="DELETE /api/v1/deals/{deal_id}/follow",
    ),
    Case(
        "api-1.0.0:team_feed",
        "GET",
        url("api-1.0.0:team_feed"),
        api_user(OK),
        operation="GET /api/v1/feed",
        probe=_api_feed_shows_comment,
        probe_seen_by=SEES_CUSTOMER,
    ),
]
