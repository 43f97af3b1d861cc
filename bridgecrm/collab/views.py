"""Pages for comments, follows, the mention picker and the team feed. Views parse input, call one
service or selector, and render; a record the actor may not see is a 404 (``guarded``)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.safestring import SafeString
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from bridgecrm.collab import forms, policies, selectors, services, text
from bridgecrm.collab.models import Comment
from bridgecrm.collab.selectors import Record
from bridgecrm.users.models import User
from bridgecrm.users.viewtools import actor_of as _actor
from bridgecrm.users.viewtools import guarded, require, save_form
from bridgecrm.users.viewtools import int_param as _int


@dataclass(frozen=True)
class CommentRow:
    comment: Comment
    html: SafeString
    mine: bool  # the actor may edit and delete it


def comment_rows(actor: User, comments: list[Comment]) -> list[CommentRow]:
    return [
        CommentRow(c, text.render_body(c.body, selectors.mentioned_names(c)), policies.may_change_comment(actor, c))
        for c in comments
    ]


def record_context(actor: User, record: Record) -> dict[str, Any]:
    """What the comments panel needs about its record (shared with the template tag)."""
    kind = selectors.record_kind(record)
    return {
        "record": record,
        "record_kind": kind,
        "record_url": selectors.record_url(record),
        "comments_url": reverse(f"collab:{kind}_comments", kwargs={"record_id": record.pk}),
        "follow_url": reverse(f"collab:{kind}_follow", kwargs={"record_id": record.pk}),
        "mentionable_url": reverse(f"collab:{kind}_mentionable", kwargs={"record_id": record.pk}),
        "following": selectors.is_following(user=actor, record=record),
        "followers": selectors.follower_list(actor=actor, record=record),
    }


@require_http_methods(["GET", "POST"])
@guarded
def comments(request: HttpRequest, kind: str, record_id: int) -> HttpResponse:
    """All comments on a record (keyset pages), and where the comment form posts."""
    actor = _actor(request)
    record = selectors.record_get(actor=actor, kind=kind, record_id=record_id)
    form = forms.CommentForm(request.POST or None)
    if request.method == "POST":
        comment = save_form(
            form, lambda: services.comment_create(actor=actor, record=record, body=form.cleaned_data["body"])
        )
        if comment is not None:
            return redirect(f"{selectors.record_url(record)}#comment-{comment.pk}")
    page = selectors.comment_list(actor=actor, record=record, before=request.GET.get("before"))
    context = record_context(actor, record) | {
        "rows": comment_rows(actor, page.comments),
        "older": page.older,
        "form": form,
    }
    return render(request, "collab/comments.html", context)


@require_GET
@guarded
def comment_open(request: HttpRequest, comment_id: int) -> HttpResponse:
    """A comment's permanent address: its record's page, at the comment."""
    comment = selectors.comment_get(actor=_actor(request), comment_id=comment_id)
    return redirect(f"{selectors.record_url(selectors.comment_record(comment))}#comment-{comment.pk}")


@require_http_methods(["GET", "POST"])
@guarded
def comment_edit(request: HttpRequest, comment_id: int) -> HttpResponse:
    actor = _actor(request)
    comment = selectors.comment_get(actor=actor, comment_id=comment_id)
    if comment.deleted_at is not None:
        raise Http404
    require(policies.may_change_comment(actor, comment))
    form = forms.CommentForm(request.POST or None, initial={"body": comment.body})
    record = selectors.comment_record(comment)
    if request.method == "POST":
        saved = save_form(
            form, lambda: services.comment_edit(actor=actor, comment=comment, body=form.cleaned_data["body"])
        )
        if saved is not None:
            return redirect(f"{selectors.record_url(record)}#comment-{saved.pk}")
    context = record_context(actor, record) | {"comment": comment, "form": form}
    return render(request, "collab/comment_edit.html", context)


@require_POST
@guarded
def comment_delete(request: HttpRequest, comment_id: int) -> HttpResponse:
    actor = _actor(request)
    comment = selectors.comment_get(actor=actor, comment_id=comment_id)
    services.comment_delete(actor=actor, comment=comment)
    messages.success(request, _("The comment was deleted."))
    return redirect(f"{selectors.record_url(selectors.comment_record(comment))}#comments")


@require_POST
@guarded
def follow(request: HttpRequest, kind: str, record_id: int) -> HttpResponse:
    actor = _actor(request)
    record = selectors.record_get(actor=actor, kind=kind, record_id=record_id)
    following = request.POST.get("following") != "0"
    if services.follow_set(actor=actor, record=record, following=following):
        messages.success(request, _("You follow it now.") if following else _("You no longer follow it."))
    return redirect(f"{selectors.record_url(record)}#comments")


@require_GET
@guarded
def mentionable(request: HttpRequest, kind: str, record_id: int) -> HttpResponse:
    """The mention picker (an htmx fragment): people who see the record, matching ``q``."""
    actor = _actor(request)
    record = selectors.record_get(actor=actor, kind=kind, record_id=record_id)
    people = selectors.mentionable(actor=actor, record=record, query=request.GET.get("q", ""))
    return render(request, "collab/mentionable.html", {"people": people})


def _day(raw: str | None) -> dt.date | None:
    if not raw:
        return None
    try:
        day = dt.date.fromisoformat(raw)
    except ValueError:
        return None
    return day if dt.date(2000, 1, 1) <= day <= timezone.localdate() + dt.timedelta(days=1) else None


@require_GET
@guarded
def feed(request: HttpRequest) -> HttpResponse:
    """What happened today (or on ``day``) among the records the actor sees."""
    actor = _actor(request)
    size = _int(request.GET.get("per_page"), selectors.FEED_PAGE, low=10, high=100)
    page = selectors.feed(actor=actor, day=_day(request.GET.get("day")), before=request.GET.get("before"), limit=size)
    today = timezone.localdate()
    return render(
        request,
        "collab/feed.html",
        {
            "page": page,
            "items": page.items,
            "per_page": size,
            "previous_day": page.day - dt.timedelta(days=1),
            "next_day": page.day + dt.timedelta(days=1) if page.day < today else None,
            "is_today": page.day == today,
        },
    )
