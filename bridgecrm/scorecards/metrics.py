"""The metric registry: what a scorecard can measure, and one set-based computation per metric.

Each metric's ``compute(period, user_ids, context)`` returns ``{user_id: Decimal | None}`` for every id
asked (None: the rep has no data for it, scored 0 and shown as "no data"). Money is in the company's
base currency: deals carry ``amount_base``; payments and plan lines are converted at the rates in force
on the period's last day (amounts in a currency without a rate are left out, as tiers do).
Market research notes are the know-how library's articles of the kind "market research", counted
by author and day written. Metrics without a data source in Bridge (customer satisfaction) are listed as
unavailable with the reason, cannot be picked, and are never given numbers.

Rates and averages also have ``parts(period, user_ids | None, context)`` → ``{user_id: (numerator,
denominator)}`` and ``combine``: a rep's value is ``combine`` of the rep's parts, a team's is
``combine`` of its people's parts summed (one GROUP BY for everyone). ``register_target_measures``
(called from ``ScorecardsConfig.ready``) offers every available metric to targets as a measure.
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
from bridgecrm.targets import measures as target_measures
from bridgecrm.targets.models import Measure
from bridgecrm.targets.selectors import rep_target_amounts
from bridgecrm.tiers import selectors as tier_selectors
from bridgecrm.training.models import Article, ArticleKind, Enrollment

Values = dict[int, Decimal | None]
Parts = dict[int, tuple[Decimal, ...]]
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
    measure: str = ""  # the built-in targets measure the metric is (its rep targets are the metric's)
    unavailable: Promise | None = None  # why it cannot be picked
    # Rates and averages: per-person components (one GROUP BY; ids None: everyone) and how they
    # combine into the value, so that a group's value is computed on the group's summed components.
    parts: Callable[[Period, Sequence[int] | None, Context], Parts] | None = None
    combine: Callable[[tuple[Decimal, ...]], Decimal | None] | None = None
    target_unavailable: Promise | None = None  # why it cannot be a target (targets' measure list)
    description: Promise | str = ""

    @property
    def available(self) -> bool:
        return self.compute is not None and self.unavailable is None

    @property
    def additive(self) -> bool:
        """Sums (money, counts) add up over people; rates and averages (a ``combine``) do not."""
        return self.unit != RATIO and self.combine is None

    @property
    def target_measure(self) -> str:
        """The targets measure whose rep targets can be this metric's target: the built-in measure
        it is, else the target measure registered under the metric's own code."""
        return self.measure or self.code


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


def _only(qs: Any, field: str, ids: Sequence[int] | None) -> Any:
    return qs if ids is None else qs.filter(**{f"{field}__in": list(ids)})


def _won(period: Period, ids: Sequence[int] | None, ctx: Context) -> dict[int, tuple[Decimal, int]]:
    """(won amount in base currency, won count) per rep: deals won in the period. Cached per run."""
    key = f"won:{period.code}:{'all' if ids is None else ','.join(map(str, ids))}"
    if key not in ctx.cache:
        rows = (
            _only(
                Deal.objects.filter(
                    status=DealStatus.WON,
                    deleted_at__isnull=True,
                    closed_on__gte=period.start,
                    closed_on__lte=period.end,
                ),
                "owner_id",
                ids,
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


def _rate(parts: tuple[Decimal, ...]) -> Decimal | None:
    """Numerator ÷ denominator as a share (four places); None when the denominator is 0."""
    num, den = parts
    return (num / den).quantize(FOUR, ROUND_HALF_UP) if den else None


def _average(parts: tuple[Decimal, ...]) -> Decimal | None:
    """Total ÷ count in money (cents); None when the count is 0."""
    total, n = parts
    return (total / n).quantize(TWO, ROUND_HALF_UP) if n else None


def _from_parts(
    parts: Callable[[Period, Sequence[int] | None, Context], Parts], combine: Callable[[tuple[Decimal, ...]], Any]
) -> Callable[[Period, Sequence[int], Context], Values]:
    """A rep-level computation from per-rep parts: exactly what a group's value is computed from."""

    def compute(period: Period, ids: Sequence[int], ctx: Context) -> Values:
        found = parts(period, ids, ctx)
        return {u: combine(found[u]) if u in found else None for u in ids}

    return compute


def average_deal_size_parts(period: Period, ids: Sequence[int] | None, ctx: Context) -> Parts:
    """(won amount, won deals) per rep."""
    return {u: (amount, Decimal(n)) for u, (amount, n) in _won(period, ids, ctx).items() if n}


def signing_rate_parts(period: Period, ids: Sequence[int] | None, ctx: Context) -> Parts:
    """(won, won + lost) deals closed in the period per rep."""
    rows = (
        _only(
            Deal.objects.filter(
                status__in=[DealStatus.WON, DealStatus.LOST],
                deleted_at__isnull=True,
                closed_on__gte=period.start,
                closed_on__lte=period.end,
            ),
            "owner_id",
            ids,
        )
        .order_by()
        .values("owner_id")
        .annotate(n=Count("id"), won=Count("id", filter=Q(status=DealStatus.WON)))
        .values_list("owner_id", "won", "n")
    )
    return {u: (Decimal(w), Decimal(n)) for u, w, n in rows if n}


# Won amount ÷ won deals; None for a rep who won nothing.
average_deal_size = _from_parts(average_deal_size_parts, _average)
# Won ÷ closed (won + lost) deals closed in the period; None when nothing closed.
signing_rate = _from_parts(signing_rate_parts, _rate)


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


def collection_rate_parts(period: Period, ids: Sequence[int] | None, ctx: Context) -> Parts:
    """Of the plan lines falling due in the period on the rep's contracts: (the amount paid by the
    period's last day — allocations of payments received up to then, less what refunds dated up to
    then took back from those lines —, the amount due), base currency."""
    due_rows = list(
        _only(
            PaymentPlanLine.objects.filter(due_on__gte=period.start, due_on__lte=period.end), "contract__owner_id", ids
        )
        .order_by()
        .values("contract__owner_id", "contract__currency")
        .annotate(total=Sum("amount"))
        .values_list("contract__owner_id", "contract__currency", "total")
    )
    paid_rows = list(
        _only(
            PaymentAllocation.objects.filter(
                plan_line__due_on__gte=period.start,
                plan_line__due_on__lte=period.end,
                payment__received_on__lte=period.end,
            ),
            "plan_line__contract__owner_id",
            ids,
        )
        .order_by()
        .values("plan_line__contract__owner_id", "plan_line__contract__currency")
        .annotate(total=Sum("amount"))
        .values_list("plan_line__contract__owner_id", "plan_line__contract__currency", "total")
    )
    paid_rows += [
        (owner_id, currency, -total)
        for owner_id, currency, total in _only(
            RefundAllocation.objects.filter(
                plan_line__due_on__gte=period.start,
                plan_line__due_on__lte=period.end,
                refund__refunded_on__lte=period.end,
            ),
            "plan_line__contract__owner_id",
            ids,
        )
        .order_by()
        .values("plan_line__contract__owner_id", "plan_line__contract__currency")
        .annotate(total=Sum("amount"))
        .values_list("plan_line__contract__owner_id", "plan_line__contract__currency", "total")
    ]
    rates = ctx.rates(period)
    due, paid = _base(due_rows, rates), _base(paid_rows, rates)
    return {u: (paid.get(u, Decimal("0.00")), amount) for u, amount in due.items() if amount}


# Paid by the period's end ÷ due in the period; None: nothing due.
collection_rate = _from_parts(collection_rate_parts, _rate)


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


def market_research(period: Period, ids: Sequence[int], ctx: Context) -> Values:
    """Market research notes each rep wrote in the period (know-how library, kind "market")."""
    start, end = _day_bounds(period)
    found = dict(
        Article.objects.filter(
            author_id__in=ids, kind=ArticleKind.MARKET_RESEARCH, created_at__gte=start, created_at__lt=end
        )
        .order_by()
        .values("author_id")
        .annotate(n=Count("id"))
        .values_list("author_id", "n")
    )
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


def sop_compliance_parts(period: Period, ids: Sequence[int] | None, ctx: Context) -> Parts:
    """(routine customers followed up on time, routine customers) per rep (tiers' compliance)."""
    if ids is not None and not ids:
        return {}
    result = tier_selectors.sop_compliance(
        actor=_Reader(None if ids is None else _team_paths(ids)),
        period_start=period.start,
        period_end=period.end,
        today=ctx.today,
    )
    wanted = None if ids is None else set(ids)
    return {
        r.key: (Decimal(r.on_time), Decimal(r.customers))
        for r in result.reps
        if r.customers and isinstance(r.key, int) and (wanted is None or r.key in wanted)
    }


def training_completion_parts(period: Period, ids: Sequence[int] | None, ctx: Context) -> Parts:
    """(completed, enrolled) in training sessions held in the period, per person."""
    rows = (
        _only(
            Enrollment.objects.filter(
                session__starts_at__date__gte=period.start, session__starts_at__date__lte=period.end
            ),
            "user_id",
            ids,
        )
        .order_by()
        .values("user_id")
        .annotate(total=Count("id"), done=Count("id", filter=Q(completed_at__isnull=False)))
        .values_list("user_id", "done", "total")
    )
    return {u: (Decimal(done), Decimal(total)) for u, done, total in rows if total}


# The share of the rep's routine customers followed up on time; None without routine customers.
sop_compliance = _from_parts(sop_compliance_parts, _rate)
# Completed ÷ enrolled in sessions held in the period; None without enrolments.
training_completion = _from_parts(training_completion_parts, _rate)


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
            target_unavailable=_("It is the signed amount against its target: set a signed-amount target instead."),
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
        Metric(
            "collection_rate",
            _("Collection rate"),
            RATIO,
            "higher",
            "result",
            collection_rate,
            parts=collection_rate_parts,
            combine=_rate,
            description=_("of the plan lines due in the period, the share paid by its last day"),
        ),
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
        Metric(
            "signing_rate",
            _("Contract signing rate"),
            RATIO,
            "higher",
            "result",
            signing_rate,
            parts=signing_rate_parts,
            combine=_rate,
            description=_("won ÷ (won + lost) deals closed in the period"),
        ),
        Metric(
            "average_deal_size",
            _("Average deal size"),
            MONEY,
            "higher",
            "result",
            average_deal_size,
            parts=average_deal_size_parts,
            combine=_average,
            description=_("won amount ÷ won deals"),
        ),
        Metric(
            "sop_compliance",
            _("Follow-up routine compliance"),
            RATIO,
            "higher",
            "process",
            sop_compliance,
            parts=sop_compliance_parts,
            combine=_rate,
            description=_("the share of routine customers followed up on time"),
        ),
        Metric("visits", _("Visits"), COUNT, "higher", "process", visits, measure=Measure.VISITS),
        Metric("follow_ups", _("Follow-ups"), COUNT, "higher", "process", follow_ups, measure=Measure.FOLLOW_UPS),
        Metric(
            "market_research",
            _("Market research notes submitted"),
            COUNT,
            "higher",
            "process",
            market_research,
            description=_("know-how library articles of the kind market research written in the period"),
        ),
        Metric(
            "training_completion",
            _("Training completion"),
            RATIO,
            "higher",
            "process",
            training_completion,
            parts=training_completion_parts,
            combine=_rate,
            description=_("completed ÷ enrolled in training sessions held in the period"),
        ),
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


# ---- the metrics as target measures ----------------------------------------------------------------

_UNITS = {MONEY: target_measures.MONEY, COUNT: target_measures.COUNT, RATIO: target_measures.RATIO}
PERCENT = Decimal(100)


def _target_parts(metric: Metric) -> target_measures.PartsFn | None:
    """Per-person components for targets (ids None: everyone). Sums without ``parts``: the rep
    values themselves (one component); a rate without ``parts`` has no group value: None."""
    from bridgecrm.core.dates import company_today as local_today

    if metric.compute is None:
        return None
    if metric.parts is not None:
        parts_fn = metric.parts

        def parts(period: Period, ids: Sequence[int] | None, category: str) -> target_measures.Parts:
            return parts_fn(period, ids, Context(today=local_today()))

        return parts
    if not metric.additive:
        return None
    compute = metric.compute

    def summed(period: Period, ids: Sequence[int] | None, category: str) -> target_measures.Parts:
        from bridgecrm.users.models import User

        asked = list(User.objects.values_list("pk", flat=True)) if ids is None else list(ids)
        values = compute(period, asked, Context(today=local_today()))
        return {u: (v,) for u, v in values.items() if v is not None}

    return summed


def _target_combine(metric: Metric) -> Callable[[tuple[Decimal, ...]], Decimal | None]:
    """The metric's value in the targets unit: rates in percent (two places), the rest as is."""
    combine = metric.combine
    if combine is None:
        return lambda parts: parts[0] if parts else None
    if metric.unit != RATIO:
        return combine

    def percent(parts: tuple[Decimal, ...]) -> Decimal | None:
        value = combine(parts)
        return None if value is None else (value * PERCENT).quantize(TWO, ROUND_HALF_UP)

    return percent


def _records(code: str) -> target_measures.RecordsFn | None:
    from django.urls import reverse

    if code in ("signing_rate", "average_deal_size"):

        def deals(period: Period) -> tuple[str, dict[str, Any], str]:
            params: dict[str, Any] = {"close_from": period.start, "close_to": period.end}
            if code == "average_deal_size":
                params["status"] = DealStatus.WON
            return reverse("pipeline:deals"), params, "team"

        return deals
    if code == "collection_rate":
        return lambda period: (reverse("contracts:collections"), {}, "")
    if code == "sop_compliance":
        return lambda period: (reverse("tiers:compliance"), {"start": period.start, "end": period.end}, "")
    if code == "training_completion":
        return lambda period: (reverse("training:sessions"), {}, "")
    if code == "market_research":
        return lambda period: (reverse("training:library"), {"kind": ArticleKind.MARKET_RESEARCH}, "")
    return None


def has_rep_targets(metric: Metric) -> bool:
    """Whether reps can have targets of this metric (it is a targets measure one may set)."""
    found = target_measures.get(metric.target_measure)
    return found is not None and found.available


def rep_targets(metric: Metric, *, period: Period, user_ids: Sequence[int]) -> dict[int, Decimal]:
    """Each rep's target of the metric for the period, in the metric's unit (targets keep rates in
    percent; scorecards in shares: 40 % → 0.4)."""
    found = rep_target_amounts(measure=metric.target_measure, period=period, user_ids=user_ids)
    if metric.unit == RATIO:
        return {u: (v / PERCENT).quantize(FOUR) for u, v in found.items()}
    return found


def register_target_measures() -> None:
    """Offer every scorecard metric to targets as a measure (the built-in six are there already).
    Unavailable metrics are listed with the reason and cannot be picked."""
    for metric in REGISTRY.values():
        if metric.measure:
            continue
        parts = _target_parts(metric)
        why = metric.unavailable or metric.target_unavailable
        if why is None and parts is None:
            why = _("Bridge cannot compute it for a team yet.")
        target_measures.register(
            target_measures.MeasureDef(
                code=metric.code,
                label=metric.label,
                unit=_UNITS[metric.unit],
                additive=metric.additive,
                parts=parts,
                combine=_target_combine(metric),
                direction=metric.direction,
                description=metric.description,
                unavailable=why,
                records=_records(metric.code),
            )
        )
