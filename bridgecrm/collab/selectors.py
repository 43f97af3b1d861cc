"""Reads about comments, followers, who may be mentioned, and the team's activity feed. Each takes
the actor and starts from ``visible_to``: a record the actor may not see is a 404."""

from __future__ import annotations

import base64
import binascii
import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.db.models import Exists, OuterRef, Prefetch, Q, QuerySet
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from bridgecrm.activities.models import FollowUp
from bridgecrm.collab.models import Comment, CommentQuerySet, Follower, Mention
from bridgecrm.contracts.models import Contract, Payment, Quote
from bridgecrm.core.errors import NotFound
from bridgecrm.core.timeline import TimelineItem
from bridgecrm.customers.models import Customer
from bridgecrm.pipeline.models import Deal, DealStageChange, StageKind
from bridgecrm.users.capabilities import VIEW_ALL_RECORDS, VIEW_TEAM_RECORDS
from bridgecrm.users.models import Team, User

Record = Customer | Deal
KINDS = ("customer", "deal")
COMMENT_PAGE = 20
MENTION_LIMIT = 10
FEED_PAGE = 30


def _not_found() -> NotFound:
    return NotFound("not_found", gettext_lazy("Not found."))


def _valid_id(value: int) -> bool:
    return 0 < value < 2**63


# ---- records ---------------------------------------------------------------------------------------


def record_get(*, actor: User, kind: str, record_id: int) -> Record:
    """The customer or deal the actor may see (with its owner's team, for the viewers), or 404."""
    if kind not in KINDS or not _valid_id(record_id):
        raise _not_found()
    model: type[Customer] | type[Deal] = Customer if kind == "customer" else Deal
    found = model.objects.visible_to(actor).select_related("owner__team").filter(pk=record_id).first()
    if found is None:
        raise _not_found()
    return found


def record_kind(record: Record) -> str:
    return "customer" if isinstance(record, Customer) else "deal"


def record_url(record: Record) -> str:
    if isinstance(record, Customer):
        return reverse("customers:detail", kwargs={"customer_id": record.pk})
    return reverse("pipeline:deal_detail", kwargs={"deal_id": record.pk})


def on_record(record: Record) -> Q:
    """The ``customer``/``deal`` condition of comments and followers of ``record``."""
    return Q(customer_id=record.pk) if isinstance(record, Customer) else Q(deal_id=record.pk)


def sees_record(user: User, record: Record) -> bool:
    """Does ``user`` see ``record`` (the one visibility rule, asked for another user)?"""
    model: type[Customer] | type[Deal] = type(record)
    return model.objects.visible_to(user).filter(pk=record.pk).exists()


def viewers(record: Record) -> QuerySet[User]:
    """Active users who see ``record``: its owner, collaborators, the managers over the owner's team
    and whoever sees everything. One query (the same rule as ``OwnedQuerySet.visible_to``)."""
    condition = Q(role__grants__capability=VIEW_ALL_RECORDS)
    if record.owner_id is not None:
        condition |= Q(pk=record.owner_id)
    collaborators = type(record).collaborators.through.objects.filter(**{f"{record_kind(record)}_id": record.pk})
    condition |= Q(pk__in=collaborators.values("user_id"))
    owner = record.owner
    path = owner.team.path if owner is not None and owner.team is not None else ""
    if path:
        parts = [p for p in path.split(".") if p]
        ancestors = [".".join(parts[: i + 1]) + "." for i in range(len(parts))]
        managers = Team.objects.filter(path__in=ancestors, is_active=True, manager__isnull=False)
        condition |= Q(pk__in=managers.values("manager_id"), role__grants__capability=VIEW_TEAM_RECORDS)
    deleted = getattr(record, "deleted_at", None) is not None
    qs = User.objects.filter(is_active=True).filter(condition) if not deleted else User.objects.none()
    return qs.distinct()


def mentionable(*, actor: User, record: Record, query: str = "", limit: int = MENTION_LIMIT) -> list[User]:
    """People the actor may mention on ``record`` (those who see it), matching ``query`` by username
    or name, the actor left out; bounded."""
    qs = viewers(record).exclude(pk=actor.pk)
    text = query.strip().lstrip("@")[:50]
    if text:
        qs = qs.filter(Q(username__icontains=text) | Q(full_name__icontains=text))
    return list(qs.order_by("username")[:limit])


# ---- comments --------------------------------------------------------------------------------------


def _with_details(qs: CommentQuerySet) -> CommentQuerySet:
    mentions = Prefetch("mentions", queryset=Mention.objects.select_related("user").order_by("id"))
    return qs.select_related("author").prefetch_related(mentions)


def encode_cursor(at: dt.datetime, pk: int, rank: int = 0) -> str:
    raw = f"{at.astimezone(dt.UTC).isoformat()}|{rank}|{pk}"
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(raw: str | None) -> tuple[dt.datetime, int, int] | None:
    """(at, rank, id) from a cursor; None when absent or not one of ours."""
    if not raw or len(raw) > 120:
        return None
    try:
        text = base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4)).decode()
        at_text, rank_text, pk_text = text.split("|")
        at = dt.datetime.fromisoformat(at_text)
        rank, pk = int(rank_text), int(pk_text)
    except (ValueError, UnicodeDecodeError, binascii.Error):
        return None
    if at.tzinfo is None or not (0 <= rank < 100) or not _valid_id(pk):
        return None
    return at, rank, pk


@dataclass(frozen=True)
class CommentPage:
    comments: list[Comment]
    older: str  # the cursor of the next (older) page, or ""


def comment_list(*, actor: User, record: Record, before: str | None = None, limit: int = COMMENT_PAGE) -> CommentPage:
    """Comments on a record the actor sees (the caller fetched it with ``record_get``), newest
    first, deleted ones included as placeholders; keyset-paginated, three queries a page."""
    qs = Comment.objects.filter(on_record(record))
    cursor = decode_cursor(before)
    if cursor is not None:
        at, _rank, pk = cursor
        qs = qs.filter(Q(created_at__lt=at) | Q(created_at=at, id__lt=pk))
    rows = list(_with_details(qs).order_by("-created_at", "-id")[: limit + 1])
    older = encode_cursor(rows[limit - 1].created_at, rows[limit - 1].pk) if len(rows) > limit else ""
    return CommentPage(rows[:limit], older)


def comment_get(*, actor: User, comment_id: int) -> Comment:
    if not _valid_id(comment_id):
        raise _not_found()
    found = (
        _with_details(Comment.objects.visible_to(actor))
        .select_related("customer__owner__team", "deal__owner__team")
        .filter(pk=comment_id)
        .first()
    )
    if found is None:
        raise _not_found()
    return found


def comment_record(comment: Comment) -> Record:
    record = comment.customer if comment.customer_id is not None else comment.deal
    assert record is not None
    return record


def mentioned_names(comment: Comment) -> list[str]:
    return [m.user.username for m in comment.mentions.all()]


# ---- followers -------------------------------------------------------------------------------------


def is_following(*, user: User, record: Record) -> bool:
    """An explicit choice wins; without one, the owner follows."""
    choice = Follower.objects.filter(on_record(record), user=user).values_list("active", flat=True).first()
    if choice is not None:
        return bool(choice)
    return record.owner_id == user.pk


def follower_ids(record: Record) -> set[int]:
    """Who follows ``record``: explicit followers, and its owner unless they unfollowed."""
    rows = dict(Follower.objects.filter(on_record(record)).values_list("user_id", "active"))
    ids = {user_id for user_id, active in rows.items() if active}
    if record.owner_id is not None and rows.get(record.owner_id, True):
        ids.add(record.owner_id)
    return ids


def follower_list(*, actor: User, record: Record) -> list[User]:
    """The followers the actor is shown (the record is visible to the actor), active users only."""
    return list(User.objects.filter(pk__in=follower_ids(record), is_active=True).order_by("username"))


# ---- the customer timeline -------------------------------------------------------------------------


def comment_timeline(*, actor: Any, customer: Any, before: dt.datetime | None, limit: int) -> list[TimelineItem]:
    qs = Comment.objects.filter(customer_id=customer.pk, deleted_at__isnull=True)
    if before is not None:
        qs = qs.filter(created_at__lt=before)
    rows = qs.select_related("author").order_by("-created_at", "-id")[:limit]
    return [
        TimelineItem(
            at=c.created_at,
            kind="comment",
            title=_("Comment"),
            url=f"{reverse('customers:detail', kwargs={'customer_id': customer.pk})}#comment-{c.pk}",
            detail=c.body[:300],
            by=c.author.display_name,
            icon="comment",
        )
        for c in rows
    ]


# ---- the team activity feed ------------------------------------------------------------------------


@dataclass(frozen=True)
class FeedItem:
    at: dt.datetime
    rank: int  # the source's place in the total order (at, rank, id), for the keyset
    pk: int
    kind: str
    title: str
    url: str = ""
    detail: str = ""
    by: str = ""


@dataclass(frozen=True)
class FeedPage:
    day: dt.date
    items: list[FeedItem]
    older: str  # the next page's cursor, or ""


def _keyset(field: str, rank: int, cursor: tuple[dt.datetime, int, int] | None) -> Q:
    """Rows after ``cursor`` in the order (at desc, rank desc, id desc) for a source of ``rank``."""
    if cursor is None:
        return Q()
    at, c_rank, c_pk = cursor
    if rank < c_rank:
        return Q(**{f"{field}__lte": at})
    if rank > c_rank:
        return Q(**{f"{field}__lt": at})
    return Q(**{f"{field}__lt": at}) | Q(**{field: at, "id__lt": c_pk})


def _detail_url(name: str, key: str, pk: int) -> str:
    return reverse(name, kwargs={key: pk})


FeedSource = Callable[[User, dt.datetime, dt.datetime, dt.date, Q, int], list[FeedItem]]


def _customers(actor: User, start: dt.datetime, end: dt.datetime, day: dt.date, ks: Q, n: int) -> list[FeedItem]:
    qs = Customer.objects.visible_to(actor).filter(ks, created_at__gte=start, created_at__lt=end)
    return [
        FeedItem(
            c.created_at,
            1,
            c.pk,
            "customer",
            _("New customer: %(name)s") % {"name": c.name},
            _detail_url("customers:detail", "customer_id", c.pk),
            by=c.owner.display_name if c.owner else "",
        )
        for c in qs.select_related("owner").order_by("-created_at", "-id")[:n]
    ]


def _follow_ups(actor: User, start: dt.datetime, end: dt.datetime, day: dt.date, ks: Q, n: int) -> list[FeedItem]:
    qs = FollowUp.objects.visible_to(actor).filter(ks, occurred_at__gte=start, occurred_at__lt=end)
    return [
        FeedItem(
            f.occurred_at,
            2,
            f.pk,
            "follow_up",
            _("%(kind)s · %(customer)s") % {"kind": f.get_kind_display(), "customer": f.customer.name},
            _detail_url("customers:detail", "customer_id", f.customer_id),
            f.summary[:200],
            f.owner.display_name,
        )
        for f in qs.select_related("customer", "owner").order_by("-occurred_at", "-id")[:n]
    ]


def _deal_moves(actor: User, start: dt.datetime, end: dt.datetime, day: dt.date, ks: Q, n: int) -> list[FeedItem]:
    visible = Deal.objects.visible_to(actor).filter(pk=OuterRef("deal_id"), updated_at__gte=start)
    # A move bumps its deal's ``updated_at``: the filter on deals changed since ``start`` keeps this
    # to today's deals (index deal_updated), not every stage change ever made.
    qs = DealStageChange.objects.filter(Exists(visible), ks, changed_at__gte=start, changed_at__lt=end)
    qs = qs.select_related("deal", "to_stage", "changed_by").order_by("-changed_at", "-id")
    items = []
    for change in qs[:n]:
        names = {"name": change.deal.name, "stage": change.to_stage.name}
        if change.from_stage_id is None:
            title = _("New deal: %(name)s") % names
        elif change.to_stage.kind == StageKind.WON:
            title = _("Deal won: %(name)s") % names
        elif change.to_stage.kind == StageKind.LOST:
            title = _("Deal lost: %(name)s") % names
        else:
            title = _("Deal %(name)s moved to %(stage)s") % names
        kind = "deal_" + (str(change.to_stage.kind) if change.from_stage_id is not None else "new")
        by = change.changed_by.display_name if change.changed_by else ""
        url = _detail_url("pipeline:deal_detail", "deal_id", change.deal_id)
        items.append(FeedItem(change.changed_at, 3, change.pk, kind, title, url, by=by))
    return items


def _quotes(actor: User, start: dt.datetime, end: dt.datetime, day: dt.date, ks: Q, n: int) -> list[FeedItem]:
    qs = Quote.objects.visible_to(actor).filter(ks, created_at__gte=start, created_at__lt=end)
    return [
        FeedItem(
            q.created_at,
            4,
            q.pk,
            "quote",
            _("Quote %(number)s for %(customer)s") % {"number": q.number, "customer": q.customer.name},
            _detail_url("contracts:quote_detail", "quote_id", q.pk),
            by=q.owner.display_name,
        )
        for q in qs.select_related("customer", "owner").order_by("-created_at", "-id")[:n]
    ]


def _contracts(actor: User, start: dt.datetime, end: dt.datetime, day: dt.date, ks: Q, n: int) -> list[FeedItem]:
    qs = Contract.objects.visible_to(actor).filter(ks, created_at__gte=start, created_at__lt=end)
    return [
        FeedItem(
            c.created_at,
            5,
            c.pk,
            "contract",
            _("Contract %(number)s with %(customer)s") % {"number": c.number, "customer": c.customer.name},
            _detail_url("contracts:contract_detail", "contract_id", c.pk),
            by=c.owner.display_name,
        )
        for c in qs.select_related("customer", "owner").order_by("-created_at", "-id")[:n]
    ]


def _payments(actor: User, start: dt.datetime, end: dt.datetime, day: dt.date, ks: Q, n: int) -> list[FeedItem]:
    # Payments received on the day (index payment_received_cover), in the order they were recorded.
    qs = Payment.objects.visible_to(actor).filter(ks, received_on=day)
    return [
        FeedItem(
            p.created_at,
            6,
            p.pk,
            "payment",
            _("Payment received: %(currency)s %(amount)s from %(customer)s")
            % {"currency": p.currency, "amount": p.amount, "customer": p.contract.customer.name},
            _detail_url("contracts:contract_detail", "contract_id", p.contract_id),
            by=p.recorded_by.display_name,
        )
        for p in qs.select_related("contract__customer", "recorded_by").order_by("-created_at", "-id")[:n]
    ]


def _comments(actor: User, start: dt.datetime, end: dt.datetime, day: dt.date, ks: Q, n: int) -> list[FeedItem]:
    qs = Comment.objects.visible_to(actor).alive().filter(ks, created_at__gte=start, created_at__lt=end)
    items = []
    for c in qs.select_related("author", "customer", "deal").order_by("-created_at", "-id")[:n]:
        record = comment_record(c)
        items.append(
            FeedItem(
                c.created_at,
                7,
                c.pk,
                "comment",
                _("Comment on %(name)s") % {"name": record.name},
                f"{record_url(record)}#comment-{c.pk}",
                c.body[:200],
                c.author.display_name,
            )
        )
    return items


# (time field, source), rank = position + 1 (each source's ``FeedItem.rank`` says the same).
FEED_SOURCES: tuple[tuple[str, FeedSource], ...] = (
    ("created_at", _customers),
    ("occurred_at", _follow_ups),
    ("changed_at", _deal_moves),
    ("created_at", _quotes),
    ("created_at", _contracts),
    ("created_at", _payments),
    ("created_at", _comments),
)


def feed(*, actor: User, day: dt.date | None = None, before: str | None = None, limit: int = FEED_PAGE) -> FeedPage:
    """What happened on ``day`` (local, default today) among the records the actor sees: their own
    and collaborators' for a rep, their team subtree for a manager, everything for an admin.

    Newest first in the total order (time, source, id); each source reads at most ``limit + 1`` rows
    after the cursor in one query, so a page costs one query per source, whatever the day held."""
    day = day or timezone.localdate()
    zone = timezone.get_current_timezone()
    start = dt.datetime.combine(day, dt.time.min, tzinfo=zone)
    end = dt.datetime.combine(day + dt.timedelta(days=1), dt.time.min, tzinfo=zone)
    cursor = decode_cursor(before)
    items: list[FeedItem] = []
    for rank, (field, source) in enumerate(FEED_SOURCES, start=1):
        items.extend(source(actor, start, end, day, _keyset(field, rank, cursor), limit + 1))
    items.sort(key=lambda item: (item.at, item.rank, item.pk), reverse=True)
    page = items[:limit]
    older = encode_cursor(page[-1].at, page[-1].pk, page[-1].rank) if len(items) > limit else ""
    return FeedPage(day, page, older)
