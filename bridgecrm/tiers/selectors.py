"""Reads about tiers: the model, each customer's facts (set-based), follow-up routine status,
compliance per rep and team, and tier history. Reads about customers start from ``visible_to``."""

from __future__ import annotations

import datetime as dt
import json
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db import connection, models
from django.db.models import Count, Exists, F, Max, OuterRef, Q, QuerySet, Sum
from django.db.models.functions import Cast, Coalesce
from django.urls import reverse
from django.utils.translation import gettext as _

from bridgecrm.activities.models import FollowUp, FollowUpKind
from bridgecrm.contracts.models import Payment, Refund
from bridgecrm.core import dates
from bridgecrm.core.errors import NotFound
from bridgecrm.core.selectors import rates_on
from bridgecrm.core.timeline import TimelineItem
from bridgecrm.core.visibility import scope_of, subtree_filter
from bridgecrm.customers.models import Customer
from bridgecrm.pipeline.models import Deal, DealStatus
from bridgecrm.tiers import scoring
from bridgecrm.tiers.models import ManualTier, Tier, TierChange, TierModel, VisitPeriod
from bridgecrm.users.models import User

WINDOW_DAYS = 365  # "trailing 12 months"


# ---- the model -------------------------------------------------------------------------------------


def tier_model() -> TierModel:
    """The current tier model (made with the defaults by the migration; made again if deleted)."""
    model = TierModel.objects.order_by("pk").first()
    return model if model is not None else TierModel.objects.create()


def tiers() -> list[Tier]:
    return list(Tier.objects.order_by("position", "code"))


def tier_labels() -> dict[str, str]:
    return {t.code: t.label for t in tiers()}


def tier_choices() -> list[tuple[str, str]]:
    """``(code, "code · label")`` per tier, in the tier model's order (the customer list's filter)."""
    return [(t.code, f"{t.code} · {t.label}" if t.label and t.label != t.code else t.code) for t in tiers()]


def params_of(values: Any, *, version: int = 0) -> scoring.Params:
    """Scoring parameters from a ``TierModel`` (or an object with the same attributes)."""
    factors = []
    for raw in values.custom_factors or []:
        points = {str(k): float(v) for k, v in (raw.get("points") or {}).items()}
        full = raw.get("full")
        factors.append(
            scoring.CustomFactor(
                key=str(raw["key"]),
                weight=float(raw.get("weight") or 0),
                full=float(full) if full not in (None, "") else None,
                points=points,
            )
        )
    return scoring.Params(
        weight_payments=float(values.weight_payments),
        weight_won=float(values.weight_won),
        weight_frequency=float(values.weight_frequency),
        weight_recency=float(values.weight_recency),
        payments_full=float(values.payments_full),
        won_full=float(values.won_full),
        frequency_full=int(values.frequency_full),
        recency_days=int(values.recency_days),
        weight_potential=float(values.weight_potential),
        weight_size=float(values.weight_size),
        weight_industry=float(values.weight_industry),
        potential_full=float(values.potential_full),
        size_points={str(k): float(v) for k, v in (values.size_points or {}).items()},
        industry_points={str(k): float(v) for k, v in (values.industry_points or {}).items()},
        custom_factors=tuple(factors),
        value_high=float(values.value_high),
        value_medium=float(values.value_medium),
        potential_high=float(values.potential_high),
        potential_medium=float(values.potential_medium),
        grid=values.grid,
        version=version or int(getattr(values, "version", 0) or 0),
    )


# ---- facts (set-based: three aggregate queries, whatever the number of customers) -----------------


def collect_facts(
    *, today: dt.date, customer_ids: Sequence[int] | None = None, custom_keys: Sequence[str] = ()
) -> tuple[dict[int, scoring.Facts], dict[int, str]]:
    """(facts per live customer, current tier per live customer), over the 12 months up to ``today``."""
    start = today - dt.timedelta(days=WINDOW_DAYS)
    customers = Customer.objects.filter(deleted_at__isnull=True)
    payments = Payment.objects.filter(received_on__gt=start, received_on__lte=today)
    won = Deal.objects.filter(status=DealStatus.WON, deleted_at__isnull=True, closed_on__gt=start, closed_on__lte=today)
    if customer_ids is not None:
        customers = customers.filter(pk__in=customer_ids)
        payments = payments.filter(contract__customer_id__in=customer_ids)
        won = won.filter(customer_id__in=customer_ids)
    facts: dict[int, scoring.Facts] = {}
    current: dict[int, str] = {}
    columns = ["pk", "estimated_annual_potential", "size", "industry", "tier"]
    if custom_keys:
        columns.append("custom")
    # The rows are read through the cursor, without the ORM's per-value converters: 100,000 model
    # Decimals cost a second, and the scores want floats anyway.
    for row in _raw_rows(customers.order_by().values_list(*columns)):
        custom: Any = {}
        if custom_keys:
            custom = json.loads(row[5]) if isinstance(row[5], str | bytes) else row[5]
        facts[row[0]] = scoring.Facts(
            potential=float(row[1]) if row[1] is not None else None,
            size=row[2],
            industry=row[3],
            custom=custom if isinstance(custom, dict) else {},
        )
        current[row[0]] = row[4]
    rates = None
    for customer_id, currency, total, last in _raw_rows(
        payments.order_by()
        .values_list("contract__customer_id", "currency")
        .annotate(total=Sum("amount"), last=Max("received_on"))
        .values_list("contract__customer_id", "currency", "total", "last")
    ):
        f = facts.get(customer_id)
        if f is None:
            continue
        if rates is None:
            rates = rates_on(today)
        # Amounts in a currency without a rate cannot be compared: they are left out.
        rate = Decimal(1) if currency == rates.base else rates.per_unit.get(currency)
        if rate is not None:
            f.payments += float(Decimal(str(total)) * rate)
        f.last_purchase = _later(f.last_purchase, last)
    # Collected value is net of the refunds dated in the window (a refund does not move the last
    # purchase); never below zero.
    refunds = Refund.objects.filter(refunded_on__gt=start, refunded_on__lte=today)
    if customer_ids is not None:
        refunds = refunds.filter(contract__customer_id__in=customer_ids)
    for customer_id, currency, total in _raw_rows(
        refunds.order_by()
        .values_list("contract__customer_id", "currency")
        .annotate(total=Sum("amount"))
        .values_list("contract__customer_id", "currency", "total")
    ):
        f = facts.get(customer_id)
        if f is None:
            continue
        if rates is None:
            rates = rates_on(today)
        rate = Decimal(1) if currency == rates.base else rates.per_unit.get(currency)
        if rate is not None:
            f.payments = max(0.0, f.payments - float(Decimal(str(total)) * rate))
    for customer_id, total, count, last in _raw_rows(
        won.order_by()
        .values_list("customer_id")
        .annotate(total=Sum("amount_base"), n=Count("pk"), last=Max("closed_on"))
        .values_list("customer_id", "total", "n", "last")
    ):
        f = facts.get(customer_id)
        if f is None:
            continue
        f.won += float(total or 0)
        f.purchases += count
        f.last_purchase = _later(f.last_purchase, last)
    return facts, current


def _raw_rows(qs: QuerySet[Any]) -> Iterator[tuple[Any, ...]]:
    """The rows of ``qs`` as the driver returns them (SQLite gives dates as text: see ``_later``)."""
    sql, params = qs.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        while batch := cursor.fetchmany(10_000):
            yield from batch


def _as_driver_text(field: str) -> Any:
    """On SQLite the column as its stored UTC text (the driver would parse each value into a
    datetime first, which ``_local_dates`` does faster with its cache); elsewhere the column."""
    if connection.vendor == "sqlite":
        return Cast(field, output_field=models.TextField())
    return F(field)


def _local_dates() -> Callable[[Any], dt.date]:
    """A converter from a driver's timestamp (SQLite: UTC text; PostgreSQL: an aware datetime) to
    the company's local date, remembering each UTC hour it has seen: within an hour the local date
    changes only at a local midnight, so the cache key is the minute when the zone's offset is not
    a whole number of hours."""
    zone = dates.company_zone()
    whole_hours = all(
        (zone.utcoffset(dt.datetime(2000, month, 1)) or dt.timedelta()) % dt.timedelta(hours=1) == dt.timedelta()
        for month in (1, 7)
    )
    width = 13 if whole_hours else 16
    seen: dict[str, dt.date] = {}

    def convert(raw: Any) -> dt.date:
        if isinstance(raw, dt.datetime):
            moment = raw if raw.tzinfo is not None else raw.replace(tzinfo=dt.UTC)
            return moment.astimezone(zone).date()
        text = str(raw)
        key = text[:width]
        day = seen.get(key)
        if day is None:
            moment = dt.datetime.fromisoformat(text)
            moment = moment if moment.tzinfo is not None else moment.replace(tzinfo=dt.UTC)
            day = seen[key] = moment.astimezone(zone).date()
        return day

    return convert


def _later(current: dt.date | None, raw: Any) -> dt.date | None:
    day = raw if isinstance(raw, dt.date) else dt.date.fromisoformat(str(raw)[:10]) if raw else None
    if day is None:
        return current
    return day if current is None or day > current else current


def manual_tiers(customer_ids: Sequence[int] | None = None) -> dict[int, str]:
    qs = ManualTier.objects.all()
    if customer_ids is not None:
        qs = qs.filter(customer_id__in=customer_ids)
    return dict(qs.values_list("customer_id", "tier"))


@dataclass(frozen=True)
class Assignment:
    """The outcome of a run (or a preview): each customer's new tier, and the changes to make."""

    results: dict[int, scoring.Result]
    current: dict[int, str]
    manual: dict[int, str]

    def final_tier(self, customer_id: int) -> str:
        if customer_id in self.manual:
            return self.manual[customer_id]
        return self.results[customer_id].tier

    def counts(self) -> dict[str, int]:
        counts: dict[str, int] = defaultdict(int)
        for customer_id in self.results:
            counts[self.final_tier(customer_id)] += 1
        return dict(counts)

    def changes(self) -> list[tuple[int, str, str, scoring.Result]]:
        """(customer, from, to, result) for customers without a manual tier whose tier moves."""
        return [
            (pk, self.current[pk], result.tier, result)
            for pk, result in self.results.items()
            if pk not in self.manual and result.tier != self.current[pk]
        ]


def assign(params: scoring.Params, *, today: dt.date, customer_ids: Sequence[int] | None = None) -> Assignment:
    facts, current = collect_facts(today=today, customer_ids=customer_ids, custom_keys=params.custom_keys)
    run = scoring.scorer(params, today)
    results = {pk: run(f) for pk, f in facts.items()}
    return Assignment(results=results, current=current, manual=manual_tiers(customer_ids))


# ---- one customer ----------------------------------------------------------------------------------


def _visible_customer(actor: Any, customer_id: int) -> Customer:
    customer = Customer.objects.visible_to(actor).filter(pk=customer_id).first()
    if customer is None:
        raise NotFound("not_found", _("Not found."))
    return customer


@dataclass(frozen=True)
class SopStatus:
    tier: Tier | None
    last_counted_at: dt.datetime | None
    due_on: dt.date | None
    overdue_days: int
    visits_required: int  # in the current month or quarter
    visits_done: int


@dataclass(frozen=True)
class CustomerTier:
    customer: Customer
    tier: Tier | None
    code: str
    manual: ManualTier | None
    result: scoring.Result | None  # the scores now (what the next run would give)
    sop: SopStatus
    history: list[TierChange]


def period_bounds(day: dt.date, period: str) -> tuple[dt.date, dt.date]:
    if period == VisitPeriod.QUARTER:
        first_month = 3 * ((day.month - 1) // 3) + 1
        start = dt.date(day.year, first_month, 1)
        months = 3
    else:
        start = dt.date(day.year, day.month, 1)
        months = 1
    year, month = divmod(start.month - 1 + months, 12)
    return start, dt.date(start.year + year, month + 1, 1) - dt.timedelta(days=1)


def _since(customer: Customer) -> dt.datetime:
    return customer.owner_since or customer.created_at


def sop_statuses(customers: Sequence[Customer], *, today: dt.date | None = None) -> dict[int, SopStatus]:
    """The routine status of a page of customers: two queries, whatever the page size."""
    today = today or dates.company_today()
    by_code = {t.code: t for t in tiers()}
    ids = [c.pk for c in customers]
    last_by_kind: dict[int, dict[str, dt.datetime]] = defaultdict(dict)
    for customer_id, kind, last in (
        FollowUp.objects.filter(customer_id__in=ids, deleted_at__isnull=True)
        .order_by()
        .values_list("customer_id", "kind")
        .annotate(last=Max("occurred_at"))
        .values_list("customer_id", "kind", "last")
    ):
        last_by_kind[customer_id][kind] = last
    # Visits in the current period of each customer's tier (month or quarter: at most two windows).
    visits: dict[tuple[int, str], int] = {}
    for period in {t.visit_period for t in by_code.values() if t.min_visits}:
        start, end = period_bounds(today, period)
        for customer_id, count in (
            FollowUp.objects.filter(
                customer_id__in=ids,
                deleted_at__isnull=True,
                kind=FollowUpKind.VISIT,
                occurred_at__gte=dates.day_start(start),
                occurred_at__lt=dates.day_start(end + dt.timedelta(days=1)),
            )
            .order_by()
            .values_list("customer_id")
            .annotate(n=Count("pk"))
            .values_list("customer_id", "n")
        ):
            visits[(customer_id, period)] = count
    statuses = {}
    for customer in customers:
        tier = by_code.get(customer.tier)
        kinds = set(tier.counted_kinds or FollowUpKind.values) if tier else set(FollowUpKind.values)
        counted = [at for kind, at in last_by_kind[customer.pk].items() if kind in kinds]
        last = max(counted) if counted else None
        overdue = 0
        due_on = None
        if tier is not None and tier.follow_up_every_days and customer.owner_id is not None:
            since = _since(customer)
            base = max(last, since) if last is not None else since
            due_on = dates.local_date(base) + dt.timedelta(days=tier.follow_up_every_days)
            overdue = max(0, (today - due_on).days)
        required = tier.min_visits if tier is not None else 0
        done = visits.get((customer.pk, tier.visit_period), 0) if tier is not None else 0
        statuses[customer.pk] = SopStatus(tier, last, due_on, overdue, required, done)
    return statuses


def customer_tier(*, actor: Any, customer_id: int, history_limit: int = 10) -> CustomerTier:
    customer = _visible_customer(actor, customer_id)
    today = dates.company_today()
    manual = ManualTier.objects.select_related("set_by").filter(customer=customer).first()
    model = tier_model()
    params = params_of(model)
    facts, _current = collect_facts(today=today, customer_ids=[customer.pk], custom_keys=params.custom_keys)
    result = scoring.score(params, facts[customer.pk], today) if customer.pk in facts else None
    by_code = {t.code: t for t in tiers()}
    history = list(TierChange.objects.filter(customer=customer).select_related("by")[:history_limit])
    return CustomerTier(
        customer=customer,
        tier=by_code.get(customer.tier),
        code=customer.tier,
        manual=manual,
        result=result,
        sop=sop_statuses([customer], today=today)[customer.pk],
        history=history,
    )


def tier_history(*, actor: Any, customer_id: int) -> QuerySet[TierChange]:
    customer = _visible_customer(actor, customer_id)
    return TierChange.objects.filter(customer=customer).select_related("by").order_by("-at", "-id")


def describe_reason(change: TierChange) -> str:
    reason = change.reason if isinstance(change.reason, dict) else {}
    if change.manual and reason.get("cleared"):
        return _("Manual tier cleared by hand; the scores decide again")
    if change.manual:
        note = str(reason.get("note", ""))
        return _("Set by hand: %(note)s") % {"note": note} if change.to_tier else _("Manual tier cleared")
    return _("value score %(value)s (%(vband)s), potential score %(potential)s (%(pband)s)") % {
        "value": reason.get("value", "—"),
        "vband": band_label(str(reason.get("value_band", ""))),
        "potential": reason.get("potential", "—"),
        "pband": band_label(str(reason.get("potential_band", ""))),
    }


def band_label(code: str) -> str:
    labels = {"high": _("high"), "medium": _("medium"), "low": _("low")}
    return labels.get(code, code)


def tier_timeline(*, actor: Any, customer: Any, before: dt.datetime | None, limit: int) -> list[TimelineItem]:
    qs = TierChange.objects.filter(customer_id=customer.pk)
    if before is not None:
        qs = qs.filter(at__lt=before)
    labels = tier_labels()
    items = []
    for change in qs.select_related("by").order_by("-at", "-id")[:limit]:
        title = _("Tier %(from)s → %(to)s") % {
            "from": labels.get(change.from_tier, change.from_tier) or "—",
            "to": labels.get(change.to_tier, change.to_tier) or "—",
        }
        items.append(
            TimelineItem(
                at=change.at,
                kind="tier",
                title=title,
                url=reverse("customers:detail", kwargs={"customer_id": customer.pk}),
                detail=describe_reason(change),
                by=change.by.display_name if change.by is not None else _("automatic"),
                icon="tier",
            )
        )
    return items


# ---- routine: who is overdue -------------------------------------------------------------------------


def overdue_condition(today: dt.date, *, within_days: int = 0) -> Q:
    """Customers whose routine follow-up is due before ``today + within_days`` (company time): per
    tier, no counted follow-up since the cut-off and owned since before it. An ``EXISTS`` on the
    follow-up index per row, no date arithmetic in SQL, the same on both databases."""
    condition = Q(pk__in=[])
    for tier in tiers():
        if not tier.follow_up_every_days:
            continue
        cutoff = dates.day_start(today + dt.timedelta(days=within_days - tier.follow_up_every_days))
        recent = FollowUp.objects.filter(customer_id=OuterRef("pk"), deleted_at__isnull=True, occurred_at__gte=cutoff)
        if tier.counted_kinds:
            recent = recent.filter(kind__in=tier.counted_kinds)
        condition |= Q(Q(tier=tier.code), Q(since__lt=cutoff), ~Exists(recent))
    return condition


def routine_customers(
    *, actor: Any, today: dt.date | None = None, tier: str = "", within_days: int = 0
) -> QuerySet[Customer]:
    """Visible, owned customers due (``within_days`` ahead) or overdue, longest neglected first."""
    today = today or dates.company_today()
    qs = (
        Customer.objects.visible_to(actor)
        .filter(owner__isnull=False)
        .annotate(since=Coalesce("owner_since", "created_at"))
        .filter(overdue_condition(today, within_days=within_days))
    )
    if tier:
        qs = qs.filter(tier=tier)
    return qs.select_related("owner").order_by(F("last_follow_up_at").asc(nulls_first=True), "pk")


# ---- compliance ------------------------------------------------------------------------------------


@dataclass
class ComplianceRow:
    key: int  # the user's or team's id (0: everyone shown)
    label: str
    customers: int = 0  # customers with a routine (a tier with a cadence)
    on_time: int = 0  # of those, never overdue in the period
    visits_required: int = 0
    visits_done: int = 0  # counted up to each customer's requirement
    visits_logged: int = 0  # all visits, even beyond the requirement
    members: list[int] = field(default_factory=list)

    @property
    def on_time_share(self) -> float | None:
        return round(self.on_time / self.customers, 4) if self.customers else None

    @property
    def visit_share(self) -> float | None:
        return round(self.visits_done / self.visits_required, 4) if self.visits_required else None

    def add(self, other: ComplianceRow) -> None:
        self.customers += other.customers
        self.on_time += other.on_time
        self.visits_required += other.visits_required
        self.visits_done += other.visits_done
        self.visits_logged += other.visits_logged


@dataclass(frozen=True)
class Compliance:
    period_start: dt.date
    period_end: dt.date
    reps: list[ComplianceRow]
    teams: list[ComplianceRow]
    total: ComplianceRow


def periods_in(start: dt.date, end: dt.date, period: str) -> int:
    """How many months (or quarters) the period touches."""
    count, day = 0, start
    while day <= end:
        count += 1
        day = period_bounds(day, period)[1] + dt.timedelta(days=1)
    return count


def on_time(anchor: dt.date, events: Iterable[dt.date], end: dt.date, every: int) -> bool:
    """Never overdue from ``anchor`` (the last counted follow-up before the period, or when the
    customer came) to ``end``: every gap between consecutive follow-ups, and the last one to ``end``,
    is at most ``every`` days."""
    previous = anchor
    for day in sorted(events):
        if (day - previous).days > every:
            return False
        previous = day
    return (end - previous).days <= every


def reps_in_scope(actor: Any) -> QuerySet[User]:
    """A rep sees themself; a manager, everyone in the teams they manage (and themself); an admin, all."""
    scope = scope_of(actor)
    if scope is None:
        return User.objects.none()
    if scope.sees_all:
        return User.objects.all()
    return User.objects.filter(Q(pk=scope.user_id) | subtree_filter("team__path", scope.managed_team_paths))


def sop_compliance(
    *, actor: Any, period_start: dt.date, period_end: dt.date, today: dt.date | None = None
) -> Compliance:
    """Follow-up routine compliance per rep, per team and overall, for the customers each rep owns
    now (in a tier with a cadence). A KPI for scorecards: shares are None when there is nothing due.

    On time: never overdue between ``period_start`` and ``min(period_end, today)``. Visits: each
    customer needs its tier's minimum per month or quarter the period touches; visits beyond a
    customer's requirement do not make up for another customer's."""
    today = today or dates.company_today()
    end = min(period_end, today)
    by_code = {t.code: t for t in tiers() if t.follow_up_every_days or t.min_visits}
    reps = list(reps_in_scope(actor).select_related("team").order_by("username"))
    rows = {u.pk: ComplianceRow(key=u.pk, label=u.display_name) for u in reps}
    total = ComplianceRow(key=0, label=_("Everyone"))
    if not by_code or not reps or end < period_start:
        return Compliance(period_start, period_end, list(rows.values()), [], total)
    longest = max((t.follow_up_every_days or 0) for t in by_code.values())
    customers = list(
        Customer.objects.filter(
            deleted_at__isnull=True,
            owner_id__in=list(rows),
            tier__in=list(by_code),
            created_at__lt=dates.day_start(end),
        )
        .order_by()
        .values_list("pk", "owner_id", "tier", _as_driver_text("owner_since"), _as_driver_text("created_at"))
    )
    ids = [c[0] for c in customers]
    window_start = dates.day_start(period_start - dt.timedelta(days=longest))
    events: dict[int, list[tuple[dt.date, str]]] = defaultdict(list)
    to_local = _local_dates()
    for chunk_start in range(0, len(ids), 20_000):
        chunk = ids[chunk_start : chunk_start + 20_000]
        # The driver's rows, not the ORM's: converting 500,000 datetimes through the field's
        # converters took most of a scorecard run's time (see bench/scorecards_bench.py).
        for customer_id, kind, occurred in _raw_rows(
            FollowUp.objects.filter(
                customer_id__in=chunk,
                deleted_at__isnull=True,
                occurred_at__gte=window_start,
                occurred_at__lt=dates.day_start(end + dt.timedelta(days=1)),
            )
            .order_by()
            .values_list("customer_id", "kind", _as_driver_text("occurred_at"))
        ):
            events[customer_id].append((to_local(occurred), kind))
    counted_kinds = {code: frozenset(t.counted_kinds or FollowUpKind.values) for code, t in by_code.items()}
    visits_required = {
        code: t.min_visits * periods_in(period_start, period_end, t.visit_period) for code, t in by_code.items()
    }
    for pk, owner_id, code, owner_since, created_at in customers:
        tier = by_code[code]
        row = rows[owner_id]
        mine = events.get(pk, [])
        if tier.follow_up_every_days:
            every = tier.follow_up_every_days
            kinds = counted_kinds[code]
            counted = [d for d, k in mine if k in kinds]
            since = to_local(owner_since or created_at)
            before = [d for d in counted if d < period_start]
            anchor = max([*before, since])
            if anchor < period_start - dt.timedelta(days=every):
                anchor = period_start - dt.timedelta(days=every + 1)  # already overdue when the period began
            row.customers += 1
            row.on_time += on_time(anchor, [d for d in counted if d >= period_start], end, every)
        if tier.min_visits:
            required = visits_required[code]
            logged = sum(1 for d, k in mine if k == FollowUpKind.VISIT and period_start <= d <= end)
            row.visits_required += required
            row.visits_done += min(logged, required)
            row.visits_logged += logged
    teams: dict[int, ComplianceRow] = {}
    for user in reps:
        row = rows[user.pk]
        total.add(row)
        if user.team_id is not None and user.team is not None:
            team_row = teams.setdefault(user.team_id, ComplianceRow(key=user.team_id, label=user.team.name))
            team_row.add(row)
            team_row.members.append(user.pk)
    return Compliance(period_start, period_end, list(rows.values()), list(teams.values()), total)
