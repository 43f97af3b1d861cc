"""Reads about follow-ups, tasks, notifications and the calendar. Every one takes the actor and
starts from ``visible_to`` (or from the actor's own rows: "my day", the calendar, the inbox)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Q, QuerySet
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from bridgecrm.activities import services
from bridgecrm.activities.models import (
    CalendarFeed,
    FollowUp,
    FollowUpQuerySet,
    Notification,
    NotificationKind,
    Task,
    TaskQuerySet,
)
from bridgecrm.core import dates
from bridgecrm.core.errors import NotFound
from bridgecrm.core.timeline import TimelineItem
from bridgecrm.customers.models import Customer
from bridgecrm.pipeline.deal_selectors import deal_visible
from bridgecrm.pipeline.models import Deal, DealStatus, Stage
from bridgecrm.users.models import User

MY_DAY_LIMIT = 50
CALENDAR_LIMIT = 500
FEED_PAST = dt.timedelta(days=90)
FEED_FUTURE = dt.timedelta(days=366)
FEED_LIMIT = 2000


def _not_found() -> NotFound:
    return NotFound("not_found", gettext_lazy("Not found."))


def _valid_id(value: int) -> bool:
    return 0 < value < 2**63


def day_bounds(day: dt.date, zone: dt.tzinfo | None = None) -> tuple[dt.datetime, dt.datetime]:
    """[start, end) of a local day as aware datetimes (DST-safe: each end is the next day's start)."""
    zone = zone or timezone.get_current_timezone()
    start = dt.datetime.combine(day, dt.time.min, tzinfo=zone)
    end = dt.datetime.combine(day + dt.timedelta(days=1), dt.time.min, tzinfo=zone)
    return start, end


# ---- follow-ups ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FollowUpFilters:
    kind: str = ""
    outcome: str = ""
    owner_id: int | None = None
    customer_id: int | None = None
    date_from: dt.date | None = None  # local dates, inclusive
    date_to: dt.date | None = None


def follow_up_list(*, actor: User, filters: FollowUpFilters | None = None) -> FollowUpQuerySet:
    f = filters or FollowUpFilters()
    qs: FollowUpQuerySet = FollowUp.objects.visible_to(actor)
    if f.kind:
        qs = qs.filter(kind=f.kind)
    if f.outcome:
        qs = qs.filter(outcome=f.outcome)
    if f.owner_id is not None:
        qs = qs.filter(owner_id=f.owner_id)
    if f.customer_id is not None:
        qs = qs.filter(customer_id=f.customer_id)
    if f.date_from is not None:
        qs = qs.filter(occurred_at__gte=day_bounds(f.date_from)[0])
    if f.date_to is not None:
        qs = qs.filter(occurred_at__lt=day_bounds(f.date_to)[1])
    qs = qs.select_related("customer", "contact", "deal", "owner").annotate(deal_visible=deal_visible(actor))
    return qs.order_by("-occurred_at", "-id")


def follow_up_get(*, actor: User, follow_up_id: int) -> FollowUp:
    if not _valid_id(follow_up_id):
        raise _not_found()
    found = (
        FollowUp.objects.visible_to(actor)
        .select_related("customer", "contact", "deal", "owner", "owner__team")
        .filter(pk=follow_up_id)
        .first()
    )
    if found is None:
        raise _not_found()
    return found


# ---- tasks -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TaskFilters:
    assignee_id: int | None = None
    done: bool | None = None  # None: all
    due_from: dt.date | None = None
    due_to: dt.date | None = None
    customer_id: int | None = None


def task_list(*, actor: User, filters: TaskFilters | None = None) -> TaskQuerySet:
    f = filters or TaskFilters()
    qs: TaskQuerySet = Task.objects.visible_to(actor)
    if f.assignee_id is not None:
        qs = qs.filter(assignee_id=f.assignee_id)
    if f.done is not None:
        qs = qs.filter(done_at__isnull=not f.done)
    if f.due_from is not None:
        qs = qs.filter(due_at__gte=day_bounds(f.due_from)[0])
    if f.due_to is not None:
        qs = qs.filter(due_at__lt=day_bounds(f.due_to)[1])
    if f.customer_id is not None:
        qs = qs.filter(customer_id=f.customer_id)
    qs = qs.select_related("assignee", "created_by", "customer", "deal").annotate(deal_visible=deal_visible(actor))
    return qs.order_by("due_at", "id")


def task_get(*, actor: User, task_id: int) -> Task:
    if not _valid_id(task_id):
        raise _not_found()
    found = (
        Task.objects.visible_to(actor)
        .select_related("assignee", "created_by", "customer", "deal")
        .filter(pk=task_id)
        .first()
    )
    if found is None:
        raise _not_found()
    return found


def customer_open_tasks(*, actor: User, customer: Customer, limit: int = 20) -> list[Task]:
    """Open tasks on a customer (fetched through visible_to) that the actor sees."""
    qs = Task.objects.visible_to(actor).filter(customer_id=customer.pk, done_at__isnull=True)
    return list(qs.select_related("assignee").order_by("due_at", "id")[:limit])


# ---- my day ----------------------------------------------------------------------------------------


@dataclass
class MyDay:
    today: dt.date
    tasks_today: list[Task] = field(default_factory=list)
    tasks_overdue: list[Task] = field(default_factory=list)
    follow_ups_overdue: list[Customer] = field(default_factory=list)
    follow_ups_today: list[Customer] = field(default_factory=list)
    deals_stale: list[Deal] = field(default_factory=list)


def my_day(*, actor: User, today: dt.date | None = None, limit: int = MY_DAY_LIMIT) -> MyDay:
    """What the actor should do today. Each list is bounded and served by an index:
    tasks by (assignee, done_at, due_at), customers by (owner, next_follow_up_on), deals by owner."""
    today = today or dates.company_today()
    start, end = day_bounds(today)
    now = timezone.now()
    mine = Task.objects.filter(assignee=actor, done_at__isnull=True).select_related("customer")
    customers = Customer.objects.visible_to(actor).filter(owner=actor)
    result = MyDay(today=today)
    result.tasks_today = list(mine.filter(due_at__gte=start, due_at__lt=end).order_by("due_at", "id")[:limit])
    result.tasks_overdue = list(mine.filter(due_at__lt=start).order_by("due_at", "id")[:limit])
    result.follow_ups_overdue = list(
        customers.filter(next_follow_up_on__lt=today).order_by("next_follow_up_on", "id")[:limit]
    )
    result.follow_ups_today = list(customers.filter(next_follow_up_on=today).order_by("id")[:limit])
    result.deals_stale = stale_deals(actor=actor, now=now, limit=limit)
    return result


def stale_deals(*, actor: User, now: dt.datetime | None = None, limit: int = MY_DAY_LIMIT) -> list[Deal]:
    """The actor's open deals that have sat in their stage longer than the stage allows."""
    now = now or timezone.now()
    stages = list(Stage.objects.filter(stale_after_days__isnull=False).values_list("pk", "stale_after_days"))
    if not stages:
        return []
    condition = Q(pk__in=[])
    for stage_id, days in stages:
        condition |= Q(stage_id=stage_id, stage_entered_at__lt=now - dt.timedelta(days=days or 0))
    qs = Deal.objects.visible_to(actor).filter(condition, owner=actor, status=DealStatus.OPEN)
    return list(qs.select_related("customer", "stage").order_by("stage_entered_at", "id")[:limit])


# ---- calendar --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CalendarEntry:
    kind: str  # "task", "follow_up", "next_follow_up"
    title: str
    url: str
    at: dt.datetime | None  # aware; None for an all-day entry
    day: dt.date  # the local day it is shown on
    done: bool = False


def calendar_entries(*, actor: User, first: dt.date, last: dt.date) -> list[CalendarEntry]:
    """The actor's tasks, follow-ups and customers' next follow-up dates from ``first`` to ``last``
    (local days, inclusive), in the current time zone, each kind bounded."""
    zone = timezone.get_current_timezone()
    start, end = day_bounds(first, zone)[0], day_bounds(last, zone)[1]
    entries: list[CalendarEntry] = []
    tasks = Task.objects.filter(assignee=actor, due_at__gte=start, due_at__lt=end).order_by("due_at", "id")
    for task in tasks.only("pk", "title", "due_at", "done_at")[:CALENDAR_LIMIT]:
        entries.append(
            CalendarEntry(
                "task",
                task.title,
                reverse("activities:task_edit", kwargs={"task_id": task.pk}),
                task.due_at,
                task.due_at.astimezone(zone).date(),
                done=task.done_at is not None,
            )
        )
    follow_ups = (
        FollowUp.objects.filter(owner=actor, deleted_at__isnull=True, occurred_at__gte=start, occurred_at__lt=end)
        .select_related("customer")
        .only("pk", "kind", "occurred_at", "customer__name")
        .order_by("occurred_at", "id")
    )
    for fu in follow_ups[:CALENDAR_LIMIT]:
        entries.append(
            CalendarEntry(
                "follow_up",
                f"{fu.get_kind_display()} · {fu.customer.name}",
                reverse("activities:follow_up_edit", kwargs={"follow_up_id": fu.pk}),
                fu.occurred_at,
                fu.occurred_at.astimezone(zone).date(),
                done=True,
            )
        )
    due = (
        Customer.objects.visible_to(actor)
        .filter(owner=actor, next_follow_up_on__gte=first, next_follow_up_on__lte=last)
        .only("pk", "name", "next_follow_up_on")
        .order_by("next_follow_up_on", "id")
    )
    for customer in due[:CALENDAR_LIMIT]:
        assert customer.next_follow_up_on is not None
        entries.append(
            CalendarEntry(
                "next_follow_up",
                _("Follow up: %(name)s") % {"name": customer.name},
                reverse("customers:detail", kwargs={"customer_id": customer.pk}),
                None,
                customer.next_follow_up_on,
            )
        )
    entries.sort(key=lambda e: (e.day, e.at is not None, e.at or start))
    return entries


@dataclass(frozen=True)
class FeedData:
    tasks: list[Task]
    follow_ups: list[FollowUp]
    due_customers: list[Customer]


def feed_user(*, key: str) -> tuple[CalendarFeed, User] | None:
    """The live feed and its (active) user for a secret key, or None."""
    if not key or len(key) > 100:
        return None
    feed = (
        CalendarFeed.objects.filter(key_hash=services.feed_key_hash(key), revoked_at__isnull=True)
        .select_related("user")
        .first()
    )
    if feed is None or not feed.user.is_active:
        return None
    return feed, feed.user


def feed_data(*, user: User, now: dt.datetime | None = None) -> FeedData:
    now = now or timezone.now()
    start, end = now - FEED_PAST, now + FEED_FUTURE
    tasks = list(
        Task.objects.filter(assignee=user, due_at__gte=start, due_at__lt=end)
        .select_related("customer")
        .order_by("due_at", "id")[:FEED_LIMIT]
    )
    follow_ups = list(
        FollowUp.objects.filter(owner=user, deleted_at__isnull=True, occurred_at__gte=start, occurred_at__lt=end)
        .select_related("customer")
        .order_by("occurred_at", "id")[:FEED_LIMIT]
    )
    customers = list(
        Customer.objects.visible_to(user)
        .filter(owner=user, next_follow_up_on__gte=start.date(), next_follow_up_on__lt=end.date())
        .only("pk", "name", "next_follow_up_on", "updated_at")
        .order_by("next_follow_up_on", "id")[:FEED_LIMIT]
    )
    return FeedData(tasks, follow_ups, customers)


# ---- notifications ---------------------------------------------------------------------------------


def notification_list(*, actor: User, unread_only: bool = False, kind: str = "") -> QuerySet[Notification]:
    qs = Notification.objects.filter(recipient=actor)
    if unread_only:
        qs = qs.filter(read_at__isnull=True)
    if kind in NotificationKind.values:
        qs = qs.filter(kind=kind)
    return qs.order_by("-created_at", "-id")


def notification_get(*, actor: User, notification_id: int) -> Notification:
    if not _valid_id(notification_id):
        raise _not_found()
    found = Notification.objects.filter(recipient=actor, pk=notification_id).first()
    if found is None:
        raise _not_found()
    return found


def unread_count(*, actor: User) -> int:
    """One query on the partial index ``notification_unread``."""
    return Notification.objects.filter(recipient=actor, read_at__isnull=True).count()


NotificationWording = Callable[[dict[str, Any]], str]
_WORDINGS: dict[str, NotificationWording] = {}


def register_notification_wording(kind: str, wording: NotificationWording) -> None:
    """Apps above this one (targets, training, scorecards, incentives) word their own kinds: each
    registers, from its AppConfig.ready, a function of the stored parameters that returns the text in
    the current language, so the reader sees it in his language, whoever caused it."""
    _WORDINGS[kind] = wording


def notification_text(notification: Notification) -> str:
    """The notification in the current language, filled from its stored parameters."""
    p: dict[str, Any] = notification.params if isinstance(notification.params, dict) else {}
    kind = notification.kind
    wording = _WORDINGS.get(kind)
    if wording is not None:
        return wording(p)
    if kind == NotificationKind.TASK_REMINDER:
        return _("Reminder: %(title)s") % {"title": p.get("title", "")}
    if kind == NotificationKind.TASK_ASSIGNED:
        return _("%(by)s assigned you a task: %(title)s") % {"by": p.get("by", ""), "title": p.get("title", "")}
    if kind == NotificationKind.FOLLOW_UP_DUE:
        return _("Follow up with %(name)s today") % {"name": p.get("name", "")}
    if kind == NotificationKind.DEAL_STALE:
        return _("The deal %(name)s has not moved for a while") % {"name": p.get("name", "")}
    if kind == NotificationKind.PAYMENT_OVERDUE:
        return _("A payment is overdue: %(name)s") % {"name": p.get("name", "")}
    if kind == NotificationKind.SOP_OVERDUE:
        return _("Follow-up with %(name)s is overdue: due %(date)s by the routine of tier %(tier)s") % {
            "name": p.get("name", ""),
            "date": p.get("due_on", ""),
            "tier": p.get("tier", ""),
        }
    if kind == NotificationKind.MENTION:
        return _("%(by)s mentioned you in a comment on %(name)s") % {"by": p.get("by", ""), "name": p.get("name", "")}
    if kind == NotificationKind.COMMENT:
        return _("%(by)s commented on %(name)s") % {"by": p.get("by", ""), "name": p.get("name", "")}
    if kind == NotificationKind.POOL_WARNING:
        return _("%(name)s returns to the public pool on %(on)s unless you follow up or move a deal") % {
            "name": p.get("name", ""),
            "on": p.get("on", ""),
        }
    if kind == NotificationKind.POOL_RECYCLED:
        return _("%(name)s went back to the public pool after %(days)s days without %(what)s") % {
            "name": p.get("name", ""),
            "days": p.get("days", ""),
            "what": _("deal progress") if p.get("reason") == "no_progress" else _("a follow-up"),
        }
    if kind == NotificationKind.POOL_ASSIGNED:
        return _("%(by)s assigned you %(name)s from the public pool") % {
            "by": p.get("by", ""),
            "name": p.get("name", ""),
        }
    if kind == NotificationKind.IMPORT_DONE:
        return _(
            "Import of %(file)s finished: %(created)s created, %(updated)s updated, %(skipped)s skipped, "
            "%(failed)s failed"
        ) % {k: p.get(k, "") for k in ("file", "created", "updated", "skipped", "failed")}
    return str(p.get("text", "")) or _("Notification")


# ---- the customer timeline -------------------------------------------------------------------------


def follow_up_timeline(*, actor: Any, customer: Any, before: dt.datetime | None, limit: int) -> list[TimelineItem]:
    qs = FollowUp.objects.filter(customer_id=customer.pk, deleted_at__isnull=True)
    if before is not None:
        qs = qs.filter(occurred_at__lt=before)
    rows = qs.select_related("owner", "contact").order_by("-occurred_at", "-id")[:limit]
    items = []
    for fu in rows:
        title = fu.get_kind_display()
        if fu.contact is not None:
            title = _("%(kind)s with %(contact)s") % {"kind": title, "contact": fu.contact.name}
        detail = fu.summary[:300]
        if fu.outcome:
            detail = f"{fu.get_outcome_display()} · {detail}"
        items.append(
            TimelineItem(
                at=fu.occurred_at,
                kind="follow_up",
                title=title,
                url=reverse("activities:follow_up_edit", kwargs={"follow_up_id": fu.pk}),
                detail=detail,
                by=fu.owner.display_name,
                icon=f"follow-up-{fu.kind}",
            )
        )
    return items


def task_timeline(*, actor: Any, customer: Any, before: dt.datetime | None, limit: int) -> list[TimelineItem]:
    qs = Task.objects.visible_to(actor).filter(customer_id=customer.pk)
    if before is not None:
        qs = qs.filter(created_at__lt=before)
    rows = qs.select_related("created_by").order_by("-created_at", "-id")[:limit]
    return [
        TimelineItem(
            at=task.created_at,
            kind="task",
            title=(_("Task done: %(title)s") if task.done_at else _("Task: %(title)s")) % {"title": task.title},
            url=reverse("activities:task_edit", kwargs={"task_id": task.pk}),
            by=task.created_by.display_name,
            icon="task",
        )
        for task in rows
    ]
