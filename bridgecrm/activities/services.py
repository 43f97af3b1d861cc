"""The one write path for follow-ups, tasks, notifications and calendar feeds.

Follow-up writes keep the customer's ``last_follow_up_at`` and ``next_follow_up_on`` right (the
public pool and the SOP cadences read them): see :func:`customer_follow_up_dates`.
"""

from __future__ import annotations

import datetime as dt
import decimal
import hashlib
import logging
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models import OuterRef, Subquery
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from bridgecrm.activities import policies
from bridgecrm.activities.models import (
    CalendarFeed,
    FollowUp,
    FollowUpKind,
    FollowUpOutcome,
    Notification,
    NotificationKind,
    Task,
    TaskPriority,
)
from bridgecrm.core import audit, dates
from bridgecrm.core.errors import ApplicationError, Conflict, NotFound, PermissionDenied
from bridgecrm.customers.models import Contact, Customer
from bridgecrm.pipeline.models import Deal
from bridgecrm.users.models import User

logger = logging.getLogger(__name__)

FOLLOW_UP_FIELDS = (
    "customer",
    "contact",
    "deal",
    "kind",
    "occurred_at",
    "summary",
    "outcome",
    "next_follow_up_on",
    "checkin_latitude",
    "checkin_longitude",
    "checkin_address",
    "checkin_at",
    "owner",
)
FOLLOW_UP_EDITABLE = (
    "contact",
    "deal",
    "kind",
    "occurred_at",
    "summary",
    "outcome",
    "next_follow_up_on",
    "checkin_latitude",
    "checkin_longitude",
    "checkin_address",
    "checkin_at",
)
TASK_FIELDS = ("title", "notes", "due_at", "remind_at", "priority", "assignee", "customer", "deal", "done_at")
TASK_EDITABLE = ("title", "notes", "due_at", "remind_at", "priority", "assignee", "customer", "deal")
FUTURE_SLACK = dt.timedelta(minutes=5)
REMINDER_BATCH = 200


def _invalid(field: str, message: Any, code: str = "invalid") -> ApplicationError:
    return ApplicationError(code, message, details={field: [str(message)]})


def _not_found() -> NotFound:
    return NotFound("not_found", _("Not found."))


def _forbidden() -> PermissionDenied:
    return PermissionDenied("forbidden", _("You do not have permission to do this."))


def _stale(what: Any, current: int) -> Conflict:
    return Conflict("stale", what, details={"current_version": [str(current)]})


EARLIEST = dt.datetime(1900, 1, 1, tzinfo=dt.UTC)
LATEST = dt.datetime(2999, 12, 31, tzinfo=dt.UTC)


def _moment(field: str, value: Any, *, required: bool = False) -> dt.datetime | None:
    """An aware time, stored in UTC, within a sane range (a databases-safe offset and year)."""
    if value is None or value == "":
        if required:
            raise _invalid(field, _("Enter a valid date and time."))
        return None
    if not isinstance(value, dt.datetime) or timezone.is_naive(value):
        raise _invalid(field, _("Enter a valid date and time."))
    try:
        moment = value.astimezone(dt.UTC)
    except (OverflowError, ValueError) as exc:
        raise _invalid(field, _("Enter a valid date and time.")) from exc
    if not EARLIEST <= moment <= LATEST:
        raise _invalid(field, _("Enter a valid date and time."))
    return moment


def _local_date(moment: dt.datetime) -> dt.date:
    return moment.astimezone(dates.company_zone()).date()


# ---- the customer's follow-up dates ----------------------------------------------------------------


def customer_follow_up_dates(customer_id: int) -> tuple[dt.datetime | None, dt.date | None]:
    """(last follow-up time, next follow-up date) from the customer's live follow-ups.

    The next date is the one set by the newest follow-up that set one, unless a later follow-up
    happened on or after that date: then it is done, and there is no next date until one is set.
    """
    return customers_follow_up_dates([customer_id]).get(customer_id, (None, None))


def customers_follow_up_dates(customer_ids: Iterable[int]) -> dict[int, tuple[dt.datetime | None, dt.date | None]]:
    """:func:`customer_follow_up_dates` of many customers, in one query per 500 of them (an import
    touches thousands: four queries each took two thirds of a follow-up import's time).

    Each customer's newest live follow-up and newest live follow-up that set a next date come from
    correlated subqueries on the (customer, -occurred_at, -id) index. The next date is done when a
    later follow-up happened on or after its day, which is so exactly when the newest follow-up
    is: it is the latest of them all."""
    found: dict[int, tuple[dt.datetime | None, dt.date | None]] = {}
    ids = sorted(set(customer_ids))
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        live = FollowUp.objects.filter(customer_id=OuterRef("pk"), deleted_at__isnull=True).order_by(
            "-occurred_at", "-id"
        )
        setters = live.filter(next_follow_up_on__isnull=False)
        rows = (
            Customer.objects.filter(pk__in=chunk)
            .order_by()
            .values_list(
                "pk",
                Subquery(live.values("occurred_at")[:1]),
                Subquery(setters.values("occurred_at")[:1]),
                Subquery(setters.values("next_follow_up_on")[:1]),
            )
        )
        for pk, last, set_at, due in rows:
            if due is not None and last is not None and set_at is not None:
                day_start = dt.datetime.combine(due, dt.time.min, tzinfo=dates.company_zone())
                if last > set_at and last >= day_start:
                    due = None
            found[pk] = (last, due)
    return found


def customers_refresh_follow_up_dates(customer_ids: Iterable[int]) -> None:
    """Keep the follow-up dates of many customers, as :func:`_refresh_customer_dates` keeps one's
    (no version bump), with one prepared statement run for them all."""
    dates_by_customer = customers_follow_up_dates(customer_ids)
    if not dates_by_customer:
        return
    ops = connection.ops
    table = connection.ops.quote_name(Customer._meta.db_table)
    with connection.cursor() as cursor:
        cursor.executemany(
            f"UPDATE {table} SET last_follow_up_at = %s, next_follow_up_on = %s WHERE id = %s",  # noqa: S608
            [
                (ops.adapt_datetimefield_value(last), ops.adapt_datefield_value(due), pk)
                for pk, (last, due) in sorted(dates_by_customer.items())
            ],
        )


def _refresh_customer_dates(customer_id: int) -> None:
    """Called inside the follow-up's transaction, the customer row locked. No version bump: these
    dates are derived, and bumping would make a colleague's open edit form conflict for nothing."""
    last, upcoming = customer_follow_up_dates(customer_id)
    Customer.objects.filter(pk=customer_id).update(last_follow_up_at=last, next_follow_up_on=upcoming)


# ---- follow-ups ------------------------------------------------------------------------------------


def _visible_customer(actor: User, customer: Customer) -> Customer:
    found = Customer.objects.visible_to(actor).filter(pk=customer.pk).first()
    if found is None:
        raise _not_found()
    return found


def _check_contact(customer: Customer, contact: Contact | None) -> None:
    if contact is not None and contact.customer_id != customer.pk:
        raise _invalid("contact", _("Choose one of this customer's contacts."))


def _check_deal(actor: User, customer: Customer | None, deal: Deal | None, field: str = "deal") -> None:
    if deal is None:
        return
    if not Deal.objects.visible_to(actor).filter(pk=deal.pk).exists():
        raise _invalid(field, _("Unknown or invalid reference."))
    if customer is not None and deal.customer_id != customer.pk:
        raise _invalid(field, _("Choose one of this customer's deals."))


def _decimal(field: str, value: Any, low: int, high: int) -> decimal.Decimal | None:
    if value is None or value == "":
        return None
    try:
        number = decimal.Decimal(str(value))
    except (decimal.InvalidOperation, ValueError) as exc:
        raise _invalid(field, _("Enter a number.")) from exc
    if not number.is_finite() or number < low or number > high:
        raise _invalid(field, _("Enter a number between %(low)s and %(high)s.") % {"low": low, "high": high})
    return number.quantize(decimal.Decimal("0.000001"))


def _clean_follow_up(values: dict[str, Any], now: dt.datetime) -> dict[str, Any]:
    out = dict(values)
    if str(out.get("kind") or "") not in FollowUpKind.values:
        raise _invalid("kind", _("Select a valid choice."))
    outcome = str(out.get("outcome") or "")
    if outcome and outcome not in FollowUpOutcome.values:
        raise _invalid("outcome", _("Select a valid choice."))
    out["outcome"] = outcome
    summary = str(out.get("summary") or "").strip()
    if not summary:
        raise _invalid("summary", _("Say what happened."))
    if len(summary) > 4000:
        raise _invalid("summary", _("This value is too long."))
    out["summary"] = summary
    occurred = _moment("occurred_at", out.get("occurred_at") or now, required=True)
    assert occurred is not None
    if occurred > now + FUTURE_SLACK:
        raise _invalid("occurred_at", _("A follow-up cannot be logged for the future."))
    out["occurred_at"] = occurred
    upcoming = out.get("next_follow_up_on")
    if upcoming is not None and upcoming < _local_date(occurred):
        raise _invalid("next_follow_up_on", _("The next follow-up cannot be before this one."))
    latitude = _decimal("checkin_latitude", out.get("checkin_latitude"), -90, 90)
    longitude = _decimal("checkin_longitude", out.get("checkin_longitude"), -180, 180)
    address = " ".join(str(out.get("checkin_address") or "").split())
    checkin_at = _moment("checkin_at", out.get("checkin_at"))
    has_checkin = latitude is not None or longitude is not None or bool(address) or checkin_at is not None
    if has_checkin and out["kind"] != FollowUpKind.VISIT:
        raise _invalid("checkin_latitude", _("Only a visit has a check-in."))
    if (latitude is None) != (longitude is None):
        raise _invalid("checkin_longitude", _("Give both the latitude and the longitude."))
    if len(address) > 200:
        raise _invalid("checkin_address", _("This value is too long."))
    if checkin_at is not None and checkin_at > now + FUTURE_SLACK:
        raise _invalid("checkin_at", _("Enter a check-in time that is not in the future."))
    if checkin_at is None and latitude is not None:
        checkin_at = occurred
    out.update(checkin_latitude=latitude, checkin_longitude=longitude, checkin_address=address, checkin_at=checkin_at)
    return out


def follow_up_snapshot(follow_up: FollowUp) -> audit.Snapshot:
    return audit.snapshot(follow_up, FOLLOW_UP_FIELDS)


def follow_up_log(
    *,
    actor: User,
    customer: Customer,
    kind: str,
    summary: str,
    occurred_at: dt.datetime | None = None,
    contact: Contact | None = None,
    deal: Deal | None = None,
    outcome: str = "",
    next_follow_up_on: dt.date | None = None,
    checkin_latitude: decimal.Decimal | str | float | None = None,
    checkin_longitude: decimal.Decimal | str | float | None = None,
    checkin_address: str = "",
    checkin_at: dt.datetime | None = None,
) -> FollowUp:
    """Log what happened with a customer the actor sees; updates the customer's follow-up dates."""
    customer = _visible_customer(actor, customer)
    _check_contact(customer, contact)
    _check_deal(actor, customer, deal)
    now = timezone.now()
    values = _clean_follow_up(
        {
            "kind": kind,
            "summary": summary,
            "occurred_at": occurred_at,
            "outcome": outcome,
            "next_follow_up_on": next_follow_up_on,
            "checkin_latitude": checkin_latitude,
            "checkin_longitude": checkin_longitude,
            "checkin_address": checkin_address,
            "checkin_at": checkin_at,
        },
        now,
    )
    with transaction.atomic():
        Customer.objects.select_for_update().filter(pk=customer.pk).first()
        follow_up = FollowUp.objects.create(
            customer=customer, contact=contact, deal=deal, owner=actor, created_at=now, updated_at=now, **values
        )
        _refresh_customer_dates(customer.pk)
        audit.record_created(actor=actor, obj=follow_up, values=follow_up_snapshot(follow_up))
    return follow_up


def _changeable_follow_up(actor: User, follow_up: FollowUp) -> None:
    if not FollowUp.objects.visible_to(actor).filter(pk=follow_up.pk).exists():
        raise _not_found()
    if not policies.may_change_follow_up(actor, follow_up):
        raise _forbidden()


def follow_up_update(*, actor: User, follow_up: FollowUp, version: int | None = None, **changes: Any) -> FollowUp:
    """Change a follow-up (its author, their managers, admins); ``version`` when given must be current."""
    unknown = set(changes) - set(FOLLOW_UP_EDITABLE)
    if unknown:
        raise ApplicationError("invalid", _("Unknown fields."), details={f: ["unknown"] for f in sorted(unknown)})
    _changeable_follow_up(actor, follow_up)
    customer = follow_up.customer
    if "contact" in changes:
        _check_contact(customer, changes["contact"])
    if "deal" in changes and (changes["deal"] is None or changes["deal"].pk != follow_up.deal_id):
        _check_deal(actor, customer, changes["deal"])
    now = timezone.now()
    with transaction.atomic():
        Customer.objects.select_for_update().filter(pk=customer.pk).first()
        locked = FollowUp.objects.select_for_update().get(pk=follow_up.pk)
        if locked.deleted_at is not None:
            raise _not_found()
        if version is not None and locked.version != version:
            raise _stale(
                _("Someone else changed this follow-up in the meantime. Reload the page and try again."),
                locked.version,
            )
        before = follow_up_snapshot(locked)
        current = {name: getattr(locked, name) for name in FOLLOW_UP_EDITABLE}
        merged = {**current, **changes}
        if merged["kind"] != FollowUpKind.VISIT:
            # A visit turned into a call loses its check-in, unless the caller sent one (refused).
            for name in ("checkin_latitude", "checkin_longitude", "checkin_at"):
                if name not in changes:
                    merged[name] = None
            if "checkin_address" not in changes:
                merged["checkin_address"] = ""
        values = _clean_follow_up({k: v for k, v in merged.items() if k not in ("contact", "deal")}, now)
        locked.contact = merged["contact"]
        locked.deal = merged["deal"]
        for name, value in values.items():
            setattr(locked, name, value)
        after = follow_up_snapshot(locked)
        if after != before:
            locked.version += 1
            locked.updated_at = now
            locked.save()
            _refresh_customer_dates(customer.pk)
            audit.record_changes(actor=actor, obj=locked, before=before, after=after)
    return locked


def follow_up_delete(*, actor: User, follow_up: FollowUp) -> None:
    """Soft delete: the follow-up leaves lists, the timeline and the customer's dates; its history stays."""
    _changeable_follow_up(actor, follow_up)
    with transaction.atomic():
        Customer.objects.select_for_update().filter(pk=follow_up.customer_id).first()
        locked = FollowUp.objects.select_for_update().get(pk=follow_up.pk)
        if locked.deleted_at is not None:
            raise _not_found()
        locked.deleted_at = timezone.now()
        locked.version += 1
        locked.save(update_fields=["deleted_at", "version"])
        _refresh_customer_dates(locked.customer_id)
        audit.record_deleted(actor=actor, obj=locked, values=follow_up_snapshot(locked))


# ---- tasks -----------------------------------------------------------------------------------------


def _check_assignee(actor: User, assignee: User) -> None:
    if not assignee.is_active:
        raise _invalid("assignee", _("The assignee must be an active user."))
    if not policies.may_assign_task_to(actor, assignee):
        raise _invalid("assignee", _("You may assign tasks to yourself and to the people of the teams you manage."))


def _check_task_customer(actor: User, customer: Customer | None) -> None:
    if customer is not None and not Customer.objects.visible_to(actor).filter(pk=customer.pk).exists():
        raise _invalid("customer", _("Unknown or invalid reference."))


def _clean_task(values: dict[str, Any]) -> dict[str, Any]:
    out = dict(values)
    title = " ".join(str(out.get("title") or "").split())
    if not title:
        raise _invalid("title", _("A title is required."))
    if len(title) > 200:
        raise _invalid("title", _("This value is too long."))
    out["title"] = title
    out["notes"] = str(out.get("notes") or "").strip()
    if len(out["notes"]) > 4000:
        raise _invalid("notes", _("This value is too long."))
    due = _moment("due_at", out.get("due_at"), required=True)
    assert due is not None
    remind = _moment("remind_at", out.get("remind_at"))
    if remind is not None and remind > due:
        raise _invalid("remind_at", _("The reminder must come before the task is due."))
    out["due_at"], out["remind_at"] = due, remind
    if str(out.get("priority") or "") not in TaskPriority.values:
        raise _invalid("priority", _("Select a valid choice."))
    return out


def task_snapshot(task: Task) -> audit.Snapshot:
    return audit.snapshot(task, TASK_FIELDS)


def _notify_assigned(actor: User, task: Task) -> None:
    if task.assignee_id != actor.pk:
        notification_create(
            recipient=task.assignee,
            kind=NotificationKind.TASK_ASSIGNED,
            params={"task_id": task.pk, "title": task.title, "by": actor.display_name},
            url=reverse("activities:task_edit", kwargs={"task_id": task.pk}),
        )


def task_create(
    *,
    actor: User,
    title: str,
    due_at: dt.datetime,
    notes: str = "",
    remind_at: dt.datetime | None = None,
    priority: str = TaskPriority.NORMAL,
    assignee: User | None = None,
    customer: Customer | None = None,
    deal: Deal | None = None,
) -> Task:
    assignee = assignee or actor
    _check_assignee(actor, assignee)
    _check_task_customer(actor, customer)
    _check_deal(actor, customer, deal)
    if deal is not None and customer is None:
        customer = deal.customer
    values = _clean_task(
        {"title": title, "notes": notes, "due_at": due_at, "remind_at": remind_at, "priority": priority}
    )
    now = timezone.now()
    with transaction.atomic():
        task = Task.objects.create(
            **values,
            assignee=assignee,
            created_by=actor,
            customer=customer,
            deal=deal,
            created_at=now,
            updated_at=now,
        )
        audit.record_created(actor=actor, obj=task, values=task_snapshot(task))
        _notify_assigned(actor, task)
    return task


def _locked_task(actor: User, task: Task, version: int | None) -> Task:
    if not Task.objects.visible_to(actor).filter(pk=task.pk).exists():
        raise _not_found()
    locked = Task.objects.select_for_update().get(pk=task.pk)
    if version is not None and locked.version != version:
        raise _stale(
            _("Someone else changed this task in the meantime. Reload the page and try again."), locked.version
        )
    return locked


def _save_task(actor: User, locked: Task, before: audit.Snapshot) -> Task:
    after = task_snapshot(locked)
    if after != before:
        locked.version += 1
        locked.updated_at = timezone.now()
        locked.save()
        audit.record_changes(actor=actor, obj=locked, before=before, after=after)
    return locked


def task_update(*, actor: User, task: Task, version: int | None = None, **changes: Any) -> Task:
    unknown = set(changes) - set(TASK_EDITABLE)
    if unknown:
        raise ApplicationError("invalid", _("Unknown fields."), details={f: ["unknown"] for f in sorted(unknown)})
    if not Task.objects.visible_to(actor).filter(pk=task.pk).exists():
        raise _not_found()
    if "assignee" in changes and changes["assignee"] is not None and changes["assignee"].pk != task.assignee_id:
        _check_assignee(actor, changes["assignee"])
    if "customer" in changes and changes["customer"] is not None and changes["customer"].pk != task.customer_id:
        _check_task_customer(actor, changes["customer"])
    with transaction.atomic():
        locked = _locked_task(actor, task, version)
        before = task_snapshot(locked)
        customer = changes.get("customer", locked.customer)
        deal = changes.get("deal", locked.deal)
        if "deal" in changes and deal is not None and deal.pk != locked.deal_id:
            _check_deal(actor, customer, deal)
        elif deal is not None and customer is not None and deal.customer_id != customer.pk:
            raise _invalid("deal", _("Choose one of this customer's deals."))
        if deal is not None and customer is None:
            customer = deal.customer
        current = {name: getattr(locked, name) for name in ("title", "notes", "due_at", "remind_at", "priority")}
        values = _clean_task({**current, **{k: v for k, v in changes.items() if k in current}})
        if values["remind_at"] != locked.remind_at:
            locked.reminded_at = None  # a new reminder time: remind again
        for name, value in values.items():
            setattr(locked, name, value)
        old_assignee = locked.assignee_id
        locked.assignee = changes.get("assignee") or locked.assignee
        locked.customer, locked.deal = customer, deal
        _save_task(actor, locked, before)
        if locked.assignee_id != old_assignee:
            _notify_assigned(actor, locked)
    return locked


def task_complete(*, actor: User, task: Task, version: int | None = None) -> Task:
    with transaction.atomic():
        locked = _locked_task(actor, task, version)
        if locked.done_at is None:
            before = task_snapshot(locked)
            locked.done_at = timezone.now()
            _save_task(actor, locked, before)
    return locked


def task_reopen(*, actor: User, task: Task, version: int | None = None) -> Task:
    with transaction.atomic():
        locked = _locked_task(actor, task, version)
        if locked.done_at is not None:
            before = task_snapshot(locked)
            locked.done_at = None
            _save_task(actor, locked, before)
    return locked


def task_delete(*, actor: User, task: Task) -> None:
    with transaction.atomic():
        locked = _locked_task(actor, task, None)
        audit.record_deleted(actor=actor, obj=locked, values=task_snapshot(locked))
        locked.delete()


def task_reminders_send(*, now: dt.datetime | None = None) -> int:
    """Notify the assignee of every open task whose reminder time has come, once.

    Each task is claimed by a conditional update (``reminded_at`` still empty) in the same
    transaction as its notification: two runs at once, or a run after a crash, never remind twice.
    """
    now = now or timezone.now()
    sent = 0
    while True:
        batch = list(
            Task.objects.filter(reminded_at__isnull=True, remind_at__lte=now)
            .order_by("remind_at", "id")
            .values_list("pk", "assignee_id", "title", "due_at", "done_at")[:REMINDER_BATCH]
        )
        if not batch:
            return sent
        for pk, assignee_id, title, due_at, done_at in batch:
            with transaction.atomic():
                if Task.objects.filter(pk=pk, reminded_at__isnull=True).update(reminded_at=now) != 1:
                    continue
                if done_at is None:
                    Notification.objects.create(
                        recipient_id=assignee_id,
                        kind=NotificationKind.TASK_REMINDER,
                        params={"task_id": pk, "title": title, "due_at": due_at.isoformat()},
                        url=reverse("activities:task_edit", kwargs={"task_id": pk}),
                        created_at=now,
                    )
                    sent += 1
        if len(batch) < REMINDER_BATCH:
            return sent


def follow_ups_due_notify(*, today: dt.date | None = None) -> int:
    """Tell the owners of customers whose next follow-up is today (company time zone), once a day."""
    today = today or _local_date(timezone.now())
    due = list(
        Customer.objects.filter(deleted_at__isnull=True, owner__isnull=False, next_follow_up_on=today)
        .order_by("id")
        .values_list("pk", "owner_id", "name")
    )
    if not due:
        return 0
    already = set(
        Notification.objects.filter(
            kind=NotificationKind.FOLLOW_UP_DUE,
            params__date=today.isoformat(),
            recipient_id__in={o for _p, o, _n in due},
        ).values_list("recipient_id", "params__customer_id")
    )
    rows = [
        Notification(
            recipient_id=owner_id,
            kind=NotificationKind.FOLLOW_UP_DUE,
            params={"customer_id": pk, "name": name, "date": today.isoformat()},
            url=reverse("customers:detail", kwargs={"customer_id": pk}),
        )
        for pk, owner_id, name in due
        if (owner_id, pk) not in already
    ]
    Notification.objects.bulk_create(rows, batch_size=500)
    return len(rows)


# ---- notifications ---------------------------------------------------------------------------------


def notification_create(
    *, recipient: User, kind: str, params: dict[str, Any] | None = None, url: str = ""
) -> Notification:
    """An in-app notification; also sent by e-mail (after commit) when e-mail is configured
    (``EMAIL_URL``) and the recipient has an address. Mail trouble never fails the caller."""
    if kind not in NotificationKind.values:
        raise _invalid("kind", _("Select a valid choice."))
    notification = Notification.objects.create(
        recipient=recipient, kind=kind, params=audit.to_json(params or {}), url=url
    )
    if getattr(settings, "BRIDGE_EMAIL_NOTIFICATIONS", False) and recipient.email and recipient.is_active:
        transaction.on_commit(lambda: notification_email_send(notification.pk), robust=True)
    return notification


def notification_email_send(notification_id: int) -> bool:
    """Mail one notification to its recipient, in the recipient's language. Logs and returns False
    on any failure (an unreachable mail server must not break a reminder run or a request)."""
    from django.core.mail import send_mail
    from django.utils import translation

    from bridgecrm.activities.selectors import notification_text

    notification = Notification.objects.select_related("recipient").filter(pk=notification_id).first()
    if notification is None or not notification.recipient.email:
        return False
    recipient = notification.recipient
    language = recipient.language or settings.LANGUAGE_CODE
    try:
        with translation.override(language):
            text = notification_text(notification)
            link = f"{settings.SITE_URL}{notification.url}" if notification.url else ""
            body = f"{text}\n\n{link}\n" if link else f"{text}\n"
            send_mail(f"[Bridge] {text}"[:200], body, None, [recipient.email])
    except Exception:
        logger.exception("notification %s: e-mail not sent", notification_id)
        return False
    return True


def notification_mark_read(*, actor: User, notification: Notification) -> Notification:
    if notification.recipient_id != actor.pk:
        raise _not_found()
    if notification.read_at is None:
        notification.read_at = timezone.now()
        Notification.objects.filter(pk=notification.pk, read_at__isnull=True).update(read_at=notification.read_at)
    return notification


def notification_mark_all_read(*, actor: User) -> int:
    return Notification.objects.filter(recipient=actor, read_at__isnull=True).update(read_at=timezone.now())


# ---- calendar feeds --------------------------------------------------------------------------------


@dataclass(frozen=True)
class NewFeed:
    feed: CalendarFeed
    key: str  # shown once; only its SHA-256 is kept


def feed_key_hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def calendar_feed_create(*, actor: User) -> NewFeed:
    """A new secret feed address for the actor; the previous one stops working."""
    if not actor.is_active:
        raise _forbidden()
    key = secrets.token_urlsafe(32)
    with transaction.atomic():
        now = timezone.now()
        User.objects.select_for_update().filter(pk=actor.pk).first()
        for old in CalendarFeed.objects.filter(user=actor, revoked_at__isnull=True):
            old.revoked_at = now
            old.save(update_fields=["revoked_at"])
            audit.record_event(
                actor=actor, event="calendar_feed_revoked", obj=actor, details={"prefix": old.key_prefix}
            )
        feed = CalendarFeed.objects.create(user=actor, key_hash=feed_key_hash(key), key_prefix=key[:8], created_at=now)
        audit.record_event(actor=actor, event="calendar_feed_created", obj=actor, details={"prefix": feed.key_prefix})
    return NewFeed(feed=feed, key=key)


def calendar_feed_revoke(*, actor: User) -> int:
    with transaction.atomic():
        count = 0
        for old in CalendarFeed.objects.select_for_update().filter(user=actor, revoked_at__isnull=True):
            old.revoked_at = timezone.now()
            old.save(update_fields=["revoked_at"])
            audit.record_event(
                actor=actor, event="calendar_feed_revoked", obj=actor, details={"prefix": old.key_prefix}
            )
            count += 1
    return count


def calendar_feed_touch(feed: CalendarFeed) -> None:
    """Note when the feed was last read (at most once a minute, so a busy client costs no writes)."""
    now = timezone.now()
    if feed.last_used_at is None or now - feed.last_used_at > dt.timedelta(minutes=1):
        CalendarFeed.objects.filter(pk=feed.pk).update(last_used_at=now)
