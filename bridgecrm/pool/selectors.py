"""Reads about the public pool. Masking of contact details happens here, once: the list, the
export, the search, the pool page and the API all get rows built by ``pool_rows`` /
``pool_contacts``, never the contacts themselves, so a masked value cannot leak by another path.

The pool is its own visibility: every active user sees the customers in it (and nothing else
through it). ``Customer.objects.visible_to`` still hides owner-less customers from all but admins.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from django.db.models import DateTimeField, Exists, F, Max, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce, Greatest
from django.utils import timezone
from django.utils.translation import gettext as _

from bridgecrm.core import dates
from bridgecrm.core.errors import NotFound
from bridgecrm.core.timeline import TimelineItem
from bridgecrm.customers import selectors as customer_selectors
from bridgecrm.customers.models import Contact, Customer
from bridgecrm.pipeline.models import Deal
from bridgecrm.pool import policies
from bridgecrm.pool.models import PoolEvent, PoolEventKind, PoolRules, RecycleReason
from bridgecrm.users.models import User

POOL_REASONS = ("no_follow_up", "no_progress", "released")
SORTS = ("-pooled", "pooled", "name")


def _not_found() -> NotFound:
    return NotFound("not_found", _("Not found."))


def rules_get() -> PoolRules:
    rules, _created = PoolRules.objects.get_or_create(pk=1)
    return rules


# ---- masking -------------------------------------------------------------------------------------


def mask_phone(e164: str) -> str:
    """+8613800138000 → 138****8000; other numbers keep their first three and last four digits."""
    digits = e164[3:] if e164.startswith("+86") else e164.lstrip("+")
    if len(digits) <= 7:
        return digits[:1] + "*" * max(len(digits) - 1, 3)
    return digits[:3] + "****" + digits[-4:]


def mask_email(email: str) -> str:
    """alice@x.com → a***@x.com."""
    local, at, domain = email.partition("@")
    if not at:
        return "***"
    return f"{local[:1]}***@{domain}"


def mask_text(value: str) -> str:
    """A WeChat id: its first character and ***."""
    return f"{value[:1]}***" if value else ""


def shows_details(actor: User | None, rules: PoolRules) -> bool:
    return not rules.mask_contacts or policies.sees_contact_details(actor)


@dataclass(frozen=True)
class PoolContact:
    name: str
    title: str
    is_primary: bool
    phones: tuple[str, ...]
    email: str
    wechat: str


def _contact_view(contact: Contact, clear: bool) -> PoolContact:
    numbers = [p.e164 for p in contact.phones.all()]
    return PoolContact(
        name=contact.name,
        title=contact.title,
        is_primary=contact.is_primary,
        phones=tuple(numbers if clear else [mask_phone(n) for n in numbers]),
        email=contact.email if clear or not contact.email else mask_email(contact.email),
        wechat=contact.wechat if clear else mask_text(contact.wechat),
    )


@dataclass(frozen=True)
class PoolRow:
    """A pool customer as lists, exports and the API show it (contact details already masked)."""

    customer: Customer
    contact: PoolContact | None  # the primary contact (or the first one)
    reason: str  # no_follow_up, no_progress, released or ""
    reason_days: int | None
    note: str = ""  # the reason typed on release

    @property
    def id(self) -> int:
        return int(self.customer.pk)

    @property
    def reason_text(self) -> str:
        text = reason_text(self.reason, self.reason_days)
        return f"{text}: {self.note}" if self.note else text


def reason_text(reason: str, days: int | None) -> str:
    if reason == RecycleReason.NO_FOLLOW_UP:
        return _("no follow-up for %(days)s days") % {"days": days or 0}
    if reason == RecycleReason.NO_PROGRESS:
        return _("no deal progress for %(days)s days") % {"days": days or 0}
    if reason == "released":
        return _("released by its owner")
    return ""


# ---- the pool ------------------------------------------------------------------------------------


def in_pool() -> QuerySet[Customer]:
    """Every customer in the pool: no owner, pooled, not deleted (unscoped: callers check the actor)."""
    return Customer.objects.filter(owner__isnull=True, pooled_at__isnull=False, deleted_at__isnull=True)


@dataclass(frozen=True)
class PoolFilters:
    q: str = ""
    industry: str = ""
    province: str = ""
    source: str = ""
    reason: str = ""  # no_follow_up, no_progress, released
    pooled_since: dt.date | None = None
    sort: str = "-pooled"


def _last_move(field: str) -> Subquery:
    moves = PoolEvent.objects.filter(
        customer_id=OuterRef("pk"), kind__in=[PoolEventKind.RECYCLED, PoolEventKind.RELEASED]
    ).order_by("-at", "-id")
    return Subquery(moves.values(field)[:1])


def pool_list(*, actor: User, filters: PoolFilters | None = None) -> QuerySet[Customer]:
    """The pool as ``actor`` may search it, newest in the pool first; slice it, then ``pool_rows``.

    Without access to contact details the search matches names only: a phone number or an
    e-mail typed into the search must not tell whether it belongs to a pool customer."""
    if not policies.may_use_pool(actor):
        return Customer.objects.none()
    f = filters or PoolFilters()
    qs = in_pool()
    text = customer_selectors.search_text(f.q)
    if text:
        if shows_details(actor, rules_get()):
            qs = qs.filter(customer_selectors.search_condition(text))
        else:
            qs = qs.filter(
                Q(name__icontains=text) | Q(pk__in=Contact.objects.filter(name__icontains=text).values("customer_id"))
            )
    exact = {"industry": f.industry, "province": f.province, "source": f.source}
    qs = qs.filter(**{k: v for k, v in exact.items() if v})
    if f.pooled_since is not None:
        start = dt.datetime.combine(f.pooled_since, dt.time.min, tzinfo=dates.company_zone())
        qs = qs.filter(pooled_at__gte=start)
    qs = qs.annotate(
        last_kind=_last_move("kind"),
        last_reason=_last_move("reason"),
        last_days=_last_move("days"),
        last_note=_last_move("note"),
    )
    if f.reason == "released":
        qs = qs.filter(last_kind=PoolEventKind.RELEASED)
    elif f.reason in (RecycleReason.NO_FOLLOW_UP, RecycleReason.NO_PROGRESS):
        qs = qs.filter(last_kind=PoolEventKind.RECYCLED, last_reason=f.reason)
    if f.sort == "name":
        return qs.order_by("name", "id")
    if f.sort == "pooled":
        return qs.order_by("pooled_at", "id")
    return qs.order_by("-pooled_at", "-id")


def pool_rows(*, actor: User, customers: Iterable[Customer]) -> list[PoolRow]:
    """Rows for a page of ``pool_list``: one query for the contacts and one for their phones."""
    items = list(customers)
    clear = shows_details(actor, rules_get())
    contacts: dict[int, Contact] = {}
    ids = [c.pk for c in items]
    if ids:
        for contact in (
            Contact.objects.filter(customer_id__in=ids).prefetch_related("phones").order_by("-is_primary", "name", "id")
        ):
            contacts.setdefault(contact.customer_id, contact)
    rows = []
    for customer in items:
        primary = contacts.get(customer.pk)
        kind = getattr(customer, "last_kind", "") or ""
        rows.append(
            PoolRow(
                customer=customer,
                contact=_contact_view(primary, clear) if primary is not None else None,
                reason="released" if kind == PoolEventKind.RELEASED else (getattr(customer, "last_reason", "") or ""),
                reason_days=getattr(customer, "last_days", None),
                note=getattr(customer, "last_note", "") or "",
            )
        )
    return rows


def pool_rows_iter(*, actor: User, filters: PoolFilters, chunk: int = 500) -> Iterator[PoolRow]:
    """Every row of the filtered pool, in chunks (for exports): memory stays flat."""
    qs = pool_list(actor=actor, filters=filters)
    offset = 0
    while True:
        page = list(qs[offset : offset + chunk])
        yield from pool_rows(actor=actor, customers=page)
        if len(page) < chunk:
            return
        offset += chunk


def pool_get(*, actor: User, customer_id: int) -> Customer:
    """A customer in the pool; 404 when it is not (claimed, deleted, never pooled) or for no one."""
    if not policies.may_use_pool(actor) or not 0 < customer_id < 2**63:
        raise _not_found()
    customer = in_pool().filter(pk=customer_id).first()
    if customer is None:
        raise _not_found()
    return customer


def pool_row(*, actor: User, customer: Customer) -> PoolRow:
    qs = pool_list(actor=actor).filter(pk=customer.pk)
    return pool_rows(actor=actor, customers=qs)[0]


def pool_contacts(*, actor: User, customer: Customer) -> list[PoolContact]:
    clear = shows_details(actor, rules_get())
    contacts = Contact.objects.filter(customer_id=customer.pk).prefetch_related("phones")
    return [_contact_view(c, clear) for c in contacts.order_by("-is_primary", "name", "id")[:50]]


def pool_events(*, customer: Customer, limit: int = 20) -> list[PoolEvent]:
    return list(
        PoolEvent.objects.filter(customer_id=customer.pk).select_related("actor", "user").order_by("-at", "-id")[:limit]
    )


# ---- a rep's standing ----------------------------------------------------------------------------


def holdings(user: User) -> int:
    return Customer.objects.filter(owner_id=user.pk, deleted_at__isnull=True).count()


def claims_today(user: User, now: dt.datetime) -> int:
    return PoolEvent.objects.filter(
        user_id=user.pk, kind=PoolEventKind.CLAIMED, at__gte=dates.day_start(dates.local_date(now))
    ).count()


def protected_count(user: User) -> int:
    return Customer.objects.filter(owner_id=user.pk, deleted_at__isnull=True, is_protected=True).count()


@dataclass(frozen=True)
class PoolStatus:
    holdings: int
    holding_limit: int  # 0: no limit
    claims_today: int
    claims_left: int | None  # None: no limit
    protected: int
    protected_cap: int


def pool_status(*, actor: User, now: dt.datetime | None = None) -> PoolStatus:
    now = now or timezone.now()
    rules = rules_get()
    today = claims_today(actor, now)
    left = None if rules.daily_claim_limit == 0 else max(rules.daily_claim_limit - today, 0)
    return PoolStatus(
        holdings=holdings(actor),
        holding_limit=rules.holding_limit,
        claims_today=today,
        claims_left=left,
        protected=protected_count(actor),
        protected_cap=rules.protected_cap,
    )


def assignable_reps(*, actor: User) -> list[User]:
    """Active people the actor may give pool customers to (for the assign and distribute forms)."""
    if not policies.may_assign(actor):
        return []
    people = User.objects.visible_to(actor).filter(is_active=True).select_related("team").order_by("username")[:500]
    return [u for u in people if policies.may_assign_to(actor, u)]


# ---- recycling clocks ----------------------------------------------------------------------------


def _clocks(qs: QuerySet[Customer]) -> QuerySet[Customer]:
    """``follow_clock``: the last follow-up, or when the owner got the customer if later (or none);
    ``deal_clock``: the latest stage change of its deals, or the same start if later (or none)."""
    start = Coalesce(F("owner_since"), F("created_at"))
    latest_stage = Subquery(
        Deal.objects.filter(customer_id=OuterRef("pk"), deleted_at__isnull=True)
        .values("customer_id")
        .annotate(m=Max("stage_entered_at"))
        .values("m")[:1],
        output_field=DateTimeField(),
    )
    return qs.annotate(
        follow_clock=Greatest(Coalesce(F("last_follow_up_at"), start), start),
        deal_clock=Greatest(Coalesce(latest_stage, start), start),
        period=start,
    )


def owned_recyclable() -> QuerySet[Customer]:
    """Customers the recycling rules apply to: owned, not deleted, not protected."""
    return Customer.objects.filter(owner__isnull=False, deleted_at__isnull=True, is_protected=False)


def due_condition(rules: PoolRules, moment: dt.datetime) -> Q:
    """Customers whose clocks ran out at ``moment`` (an empty condition when both rules are off)."""
    condition = Q(pk__in=[])
    if rules.recycle_no_follow_up_days:
        condition |= Q(follow_clock__lte=moment - dt.timedelta(days=rules.recycle_no_follow_up_days))
    if rules.recycle_no_progress_days:
        condition |= Q(deal_clock__lte=moment - dt.timedelta(days=rules.recycle_no_progress_days))
    return condition


def recycle_candidates(*, rules: PoolRules, now: dt.datetime) -> QuerySet[Customer]:
    return _clocks(owned_recyclable()).filter(due_condition(rules, now)).order_by("pk")


def warning_candidates(*, rules: PoolRules, now: dt.datetime) -> QuerySet[Customer]:
    """Customers due within ``warning_days`` (not yet due), not yet warned in this ownership period."""
    if not rules.warning_days:
        return Customer.objects.none()
    horizon = now + dt.timedelta(days=rules.warning_days)
    warned = PoolEvent.objects.filter(
        customer_id=OuterRef("pk"), kind=PoolEventKind.WARNED, period_start=OuterRef("period")
    )
    return (
        _clocks(owned_recyclable())
        .filter(due_condition(rules, horizon))
        .exclude(due_condition(rules, now))
        .exclude(Exists(warned))
        .order_by("pk")
    )


@dataclass(frozen=True)
class Due:
    reason: str
    days: int  # days without a follow-up / without progress at the moment it is due
    due_at: dt.datetime


def due_of(customer: Any, rules: PoolRules, now: dt.datetime) -> Due | None:
    """Which rule recycles an annotated customer (the earliest to run out), and when."""
    options = []
    if rules.recycle_no_follow_up_days:
        at = customer.follow_clock + dt.timedelta(days=rules.recycle_no_follow_up_days)
        options.append(Due(RecycleReason.NO_FOLLOW_UP, max((now - customer.follow_clock).days, 0), at))
    if rules.recycle_no_progress_days:
        at = customer.deal_clock + dt.timedelta(days=rules.recycle_no_progress_days)
        options.append(Due(RecycleReason.NO_PROGRESS, max((now - customer.deal_clock).days, 0), at))
    return min(options, key=lambda d: d.due_at) if options else None


def clocks_of(customer_id: int) -> Customer | None:
    return _clocks(Customer.objects.filter(pk=customer_id)).first()


# ---- the customer's timeline ---------------------------------------------------------------------


def event_text(event: PoolEvent) -> str:
    """The event in the current language: "Returned to the public pool: no follow-up for 30 days"."""
    who = event.user.display_name if event.user is not None else ""
    if event.kind == PoolEventKind.RECYCLED:
        return _("Returned to the public pool from %(name)s: %(reason)s") % {
            "name": who,
            "reason": reason_text(event.reason, event.days),
        }
    if event.kind == PoolEventKind.RELEASED:
        return _("Released to the public pool by %(name)s: %(reason)s") % {"name": who, "reason": event.note}
    if event.kind == PoolEventKind.CLAIMED:
        return _("Claimed from the public pool by %(name)s") % {"name": who}
    if event.kind == PoolEventKind.ASSIGNED:
        by = event.actor.display_name if event.actor is not None else ""
        return _("Assigned from the public pool to %(name)s by %(by)s") % {"name": who, "by": by}
    if event.kind == PoolEventKind.PROTECTED:
        return _("Protected from recycling")
    if event.kind == PoolEventKind.UNPROTECTED:
        return _("Protection from recycling removed")
    if event.kind == PoolEventKind.WARNED:
        return _("%(name)s warned: back to the public pool in %(days)s days without a change") % {
            "name": who,
            "days": event.days or 0,
        }
    return event.get_kind_display()


def pool_timeline(*, actor: Any, customer: Any, before: dt.datetime | None, limit: int) -> list[TimelineItem]:
    qs = PoolEvent.objects.filter(customer_id=customer.pk)
    if before is not None:
        qs = qs.filter(at__lt=before)
    rows = qs.select_related("actor", "user").order_by("-at", "-id")[:limit]
    return [
        TimelineItem(
            at=event.at,
            kind="pool",
            title=event_text(event),
            by=event.actor.display_name if event.actor is not None else _("System"),
            icon="pool",
        )
        for event in rows
    ]
