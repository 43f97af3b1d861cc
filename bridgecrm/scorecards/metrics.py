"""The metric registry: what a scorecard can measure, and one set-based computation per metric.

Each metric's ``compute(period, user_ids, context)`` returns ``{user_id: Decimal | None}`` for every id
asked (None: the rep has no data for it, scored 0 and shown as "no data"). Money is in the company's
base currency: deals carry ``amount_base``; payments and plan lines are converted at the rates in force
on the period's last day (amounts in a currency without a rate are left out, as tiers do).
Metrics without a data source in Bridge (customer satisfaction, market research) are listed as
unavailable with the reason, cannot be picked, and are never given numbers.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.db.models import Count, Q, Sum
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from bridgecrm.activities.models import FollowUp, FollowUpKind
from bridgecrm.contracts.models import Payment, PaymentAllocation, PaymentPlanLine, Refund, RefundAllocation
from bridgecrm.core import dates, money
from bridgecrm.core.periods import Period
from bridgecrm.core.selectors import rates_on
from bridgecrm.core.visibility import Scope
from bridgecrm.customers.models import Customer
from bridgecrm.pipeline.models import Deal, DealStatus
from bridgecrm.targets.models import Measure
from bridgecrm.targets.selectors import rep_target_amounts
from bridgecrm.tiers import selectors as tier_selectors
from bridgecrm.training.selectors import completion_rates

Values = dict[int, Decimal | None]
FOUR = Decimal("0.0001")
TWO = Decimal("0.01")

MONEY = "money"
RATIO = "ratio"
COUNT = "count"


@dataclass
class Context:
    """Shared by the metrics of one run: today, the rates and per-run caches."""

    today: dt.date
    cache: dict[str, Any] = field(default_factory=dict)

    def rates(self, period: Period) -> money.Rates:
        key = f"rates:{period.end.isoformat()}"
        if key not in self.cache:
            self.cache[key] = rates_on(period.end)
        found: money.Rates = self.cache[key]
        return found


@dataclass(frozen=True)
class Metric:
    code: str
    label: Promise
    unit: str  # MONEY, RATIO (0–1) or COUNT
    direction: str  # the usual direction: "higher" or "lower"
    kind: str  # "result" or "process"
    compute: Callable[[Period, Sequence[int], Context], Values] | None
    measure: str = ""  # the targets measure whose rep target can be the metric's target
    unavailable: Promise | None = None  # why it cannot be picked

    @property
    def available(self) -> bool:
        return self.compute is not None and self.unavailable is None


# ---- helpers ---------------------------------------------------------------------------------------


def _day_bounds(period: Period) -> tuple[dt.datetime, dt.datetime]:
    """[start, end) of the period in the company's time zone, for datetime columns."""
    return dates.day_start(period.start), dates.day_start(period.end + dt.timedelta(days=1))


def _base(rows: Sequence[tuple[int, str, Any]], rates: money.Rates) -> dict[int, Decimal]:
    out: dict[int, Decimal] = defaultdict(Decimal)
    for user_id, currency, total in rows:
        rate = Decimal(1) if currency == rates.base else rates.per_unit.get(currency)
        if rate is not None and total is not None:
            out[user_id] += Decimal(str(total)) * rate
    return {k: v.quantize(TWO, ROUND_HALF_UP) for k, v in out.items()}


def _won(period: Period, ids: Sequence[int], ctx: Context) -> dict[int, tuple[Decimal, int]]:
    """(won amount in base currency, won count) per rep: deals won in the period. Cached per run."""
    key = f"won:{period.code}"
    if key not in ctx.cache:
        rows = (
            Deal.objects.filter(
                owner_id__in=ids,
                status=DealStatus.WON,
                deleted_at__isnull=True,
                closed_on__gte=period.start,
                closed_on__lte=period.end,
            )
            .order_by()
            .values("owner_id")
            .annotate(total=Sum("amount_base"), n=Count("id"))
            .values_list("owner_id", "total", "n")
        )
        ctx.cache[key] = {u: (Decimal(str(t or 0)).quantize(TWO, ROUND_HALF_UP), n) for u, t, n in rows}
    found: dict[int, tuple[Decimal, int]] = ctx.cache[key]
    return found


# ---- computations ----------------------------------------------------------------------------------


def signed_amount(period: Period, ids: Sequence[int], ctx: Context) -> Values:
    """Won deals' amounts (base currency) closed in the period; reps with none: 0."""
    won = _won(period, ids, ctx)
    return {u: won[u][0] if u in won else Decimal("0.00") for u in ids}


def sales_vs_target(period: Period, ids: Sequence[int], ctx: Context) -> Values:
    """Won amount ÷ the rep's signed-amount target (None without a target)."""
    won = _won(period, ids, ctx)
    targets = rep_target_amounts(measure=Measure.SIGNED_AMOUNT, period=period, user_ids=ids)
    out: Values = {}
    for u in ids:
        target = targets.get(u)
        out[u] = None if not target else ((won[u][0] if u in won else Decimal(0)) / target).quantize(FOUR)
    return out


def won_deals(period: Period, ids: Sequence[int], ctx: Context) -> Values:
    won = _won(period, ids, ctx)
    return {u: Decimal(won[u][1]) if u in won else Decimal(0) for u in ids}


def average_deal_size(period: Period, ids: Sequence[int], ctx: Context) -> Values:
    """Won amount ÷ won deals; None for a rep who won nothing."""
    won = _won(period, ids, ctx)
    return {u: (won[u][0] / won[u][1]).quantize(TWO, ROUND_HALF_UP) if won.get(u, (0, 0))[1] else None for u in ids}


def signing_rate(period: Period, ids: Sequence[int], ctx: Context) -> Values:
    """Won ÷ closed (won + lost) deals closed in the period; None when nothing closed."""
    rows = (
        Deal.objects.filter(
            owner_id__in=ids,
            status__in=[DealStatus.WON, DealStatus.LOST],
            deleted_at__isnull=True,
            closed_on__gte=period.start,
            closed_on__lte=period.end,
        )
        .order_by()
        .values("owner_id")
        .annotate(n=Count("id"), won=Count("id", filter=Q(status=DealStatus.WON)))
        .values_list("owner_id", "won", "n")
    )
    found = {u: (Decimal(w) / Decimal(n)).quantize(FOUR, ROUND_HALF_UP) for u, w, n in rows if n}
    return {u: found.get(u) for u in ids}


def collected_amount(period: Period, ids: Sequence[int], ctx: Context) -> Values:
    """Payments received in the period on the rep's contracts less the refunds dated in the period
    (base currency); none: 0."""
    rows = list(
        Payment.objects.filter(contract__owner_id__in=ids, received_on__gte=period.start, received_on__lte=period.end)
        .order_by()
        .values("contract__owner_id", "currency")
        .annotate(total=Sum("amount"))
        .values_list("contract__owner_id", "currency", "total")
    )
    rows += [
        (owner_id, currency, -total)
        for owner_id, currency, total in Refund.objects.filter(
            contract__owner_id__in=ids, refunded_on__gte=period.start, refunded_on__lte=period.end
        )
        .order_by()
        .values("contract__owner_id", "currency")
        .annotate(total=Sum("amount"))
        .values_list("contract__owner_id", "currency", "total")
    ]
    found = _base(rows, ctx.rates(period))
    return {u: found.get(u, Decimal("0.00")) for u in ids}


def collection_rate(period: Period, ids: Sequence[int], ctx: Context) -> Values:
    """Of the plan lines falling due in the period on the rep's contracts, the share paid by the
    period's last day (allocations of payments received up to then, less what refunds dated up to
    then took back from those lines) ÷ the amount due. None: nothing due."""
    due_rows = list(
        PaymentPlanLine.objects.filter(contract__owner_id__in=ids, due_on__gte=period.start, due_on__lte=period.end)
        .order_by()
        .values("contract__owner_id", "contract__currency")
        .annotate(total=Sum("amount"))
        .values_list("contract__owner_id", "contract__currency", "total")
    )
    paid_rows = list(
        PaymentAllocation.objects.filter(
            plan_line__contract__owner_id__in=ids,
            plan_line__due_on__gte=period.start,
            plan_line__due_on__lte=period.end,
            payment__received_on__lte=period.end,
        )
        .order_by()
        .values("plan_line__contract__owner_id", "plan_line__contract__currency")
        .annotate(total=Sum("amount"))
        .values_list("plan_line__contract__owner_id", "plan_line__contract__currency", "total")
    )
    paid_rows += [
        (owner_id, currency, -total)
        for owner_id, currency, total in RefundAllocation.objects.filter(
            plan_line__contract__owner_id__in=ids,
            plan_line__due_on__gte=period.start,
            plan_line__due_on__lte=period.end,
            refund__refunded_on__lte=period.end,
        )
        .order_by()
        .values("plan_line__contract__owner_id", "plan_line__contract__currency")
        .annotate(total=Sum("amount"))
        .values_list("plan_line__contract__owner_id", "plan_line__contract__currency", "total")
    ]
    rates = ctx.rates(period)
    due, paid = _base(due_rows, rates), _base(paid_rows, rates)
    return {u: (paid.get(u, Decimal(0)) / due[u]).quantize(FOUR, ROUND_HALF_UP) if due.get(u) else None for u in ids}


def new_customers(period: Period, ids: Sequence[int], ctx: Context) -> Values:
    """Customers created in the period that the rep owns now (deleted ones do not count)."""
    start, end = _day_bounds(period)
    rows = (
        Customer.objects.filter(owner_id__in=ids, deleted_at__isnull=True, created_at__gte=start, created_at__lt=end)
        .order_by()
        .values("owner_id")
        .annotate(n=Count("id"))
        .values_list("owner_id", "n")
    )
    found = dict(rows)
    return {u: Decimal(found.get(u, 0)) for u in ids}


def _follow_ups(period: Period, ids: Sequence[int], kind: str | None) -> Values:
    start, end = _day_bounds(period)
    qs = FollowUp.objects.filter(owner_id__in=ids, deleted_at__isnull=True, occurred_at__gte=start, occurred_at__lt=end)
    if kind:
        qs = qs.filter(kind=kind)
    found = dict(qs.order_by().values("owner_id").annotate(n=Count("id")).values_list("owner_id", "n"))
    return {u: Decimal(found.get(u, 0)) for u in ids}


def visits(period: Period, ids: Sequence[int], ctx: Context) -> Values:
    return _follow_ups(period, ids, FollowUpKind.VISIT)


def follow_ups(period: Period, ids: Sequence[int], ctx: Context) -> Values:
    return _follow_ups(period, ids, None)


class _Reader:
    """The actor the compliance read runs as: it sees the teams of the reps asked (everyone, when one
    of them has no team), so the read covers those reps' customers and not the whole company."""

    pk = 0
    is_authenticated = True
    is_active = True

    def __init__(self, paths: tuple[str, ...] | None) -> None:
        self.paths = paths

    def visibility_scope(self) -> Scope:
        if self.paths is None:
            return Scope(user_id=0, sees_all=True)
        return Scope(user_id=0, sees_all=False, managed_team_paths=self.paths)


def _team_paths(ids: Sequence[int]) -> tuple[str, ...] | None:
    from bridgecrm.users.models import User

    paths = set(User.objects.filter(pk__in=list(ids)).values_list("team__path", flat=True))
    if None in paths or "" in paths:
        return None
    # A team inside another listed team is covered by it.
    ordered = sorted(p for p in paths if p)
    kept: list[str] = []
    for path in ordered:
        if not any(path.startswith(k) for k in kept):
            kept.append(path)
    return tuple(kept)


def sop_compliance(period: Period, ids: Sequence[int], ctx: Context) -> Values:
    """The share of the rep's routine customers followed up on time (tiers' compliance); None when
    the rep has no customer with a routine."""
    if not ids:
        return {}
    result = tier_selectors.sop_compliance(
        actor=_Reader(_team_paths(ids)), period_start=period.start, period_end=period.end, today=ctx.today
    )
    wanted = set(ids)
    found = {r.key: Decimal(r.on_time) / Decimal(r.customers) for r in result.reps if r.key in wanted and r.customers}
    return {u: found[u].quantize(FOUR, ROUND_HALF_UP) if u in found else None for u in ids}


def training_completion(period: Period, ids: Sequence[int], ctx: Context) -> Values:
    found = completion_rates(period=period, user_ids=ids)
    return {u: found.get(u) for u in ids}


REGISTRY: dict[str, Metric] = {
    m.code: m
    for m in (
        Metric(
            "sales_vs_target",
            _("Sales against target"),
            RATIO,
            "higher",
            "result",
            sales_vs_target,
        ),
        Metric(
            "signed_amount",
            _("Signed amount"),
            MONEY,
            "higher",
            "result",
            signed_amount,
            measure=Measure.SIGNED_AMOUNT,
        ),
        Metric(
            "collected_amount",
            _("Collected amount"),
            MONEY,
            "higher",
            "result",
            collected_amount,
            measure=Measure.COLLECTED_AMOUNT,
        ),
        Metric("collection_rate", _("Collection rate"), RATIO, "higher", "result", collection_rate),
        Metric(
            "new_customers",
            _("New customers"),
            COUNT,
            "higher",
            "result",
            new_customers,
            measure=Measure.NEW_CUSTOMERS,
        ),
        Metric("won_deals", _("Won deals"), COUNT, "higher", "result", won_deals, measure=Measure.WON_DEALS),
        Metric("signing_rate", _("Contract signing rate"), RATIO, "higher", "result", signing_rate),
        Metric("average_deal_size", _("Average deal size"), MONEY, "higher", "result", average_deal_size),
        Metric("sop_compliance", _("Follow-up routine compliance"), RATIO, "higher", "process", sop_compliance),
        Metric("visits", _("Visits"), COUNT, "higher", "process", visits, measure=Measure.VISITS),
        Metric("follow_ups", _("Follow-ups"), COUNT, "higher", "process", follow_ups, measure=Measure.FOLLOW_UPS),
        Metric(
            "market_research",
            _("Market research notes submitted"),
            COUNT,
            "higher",
            "process",
            None,
            unavailable=_("Bridge does not record market research notes yet."),
        ),
        Metric("training_completion", _("Training completion"), RATIO, "higher", "process", training_completion),
        Metric(
            "satisfaction",
            _("Customer satisfaction"),
            RATIO,
            "higher",
            "result",
            None,
            unavailable=_("Bridge has no satisfaction surveys yet."),
        ),
    )
}


def available() -> list[Metric]:
    return [m for m in REGISTRY.values() if m.available]


def compute_all(codes: Sequence[str], *, period: Period, user_ids: Sequence[int], today: dt.date) -> dict[str, Values]:
    """Every asked metric for every rep: one set-based computation per metric."""
    ctx = Context(today=today)
    out: dict[str, Values] = {}
    for code in codes:
        metric = REGISTRY[code]
        if metric.compute is None:
            out[code] = dict.fromkeys(user_ids)
        else:
            out[code] = metric.compute(period, list(user_ids), ctx)
    return out
