"""Reads of targets and sales plans. Cross-app readers (scorecards, incentives, dashboards) use
``rep_target_amounts``, ``actuals`` and ``overdue_milestones``.

Actuals are set-based: one ``GROUP BY owner`` query per measure over the whole company, whatever
the number of reps, teams or rows shown; teams and the company add their reps' figures up in
Python (a rep counts for the team they are in now).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

from django.db.models import Case, Count, F, IntegerField, Q, QuerySet, Sum, Value, When
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from bridgecrm.activities.models import FollowUp, FollowUpKind
from bridgecrm.contracts.models import Payment, Refund
from bridgecrm.core import dates
from bridgecrm.core.errors import NotFound
from bridgecrm.core.periods import Period
from bridgecrm.core.selectors import rates_on
from bridgecrm.core.visibility import scope_of, subtree_filter
from bridgecrm.customers.models import Customer
from bridgecrm.pipeline.models import Deal, DealLine, DealStatus
from bridgecrm.targets import decompose, measures, policies
from bridgecrm.targets.models import (
    Measure,
    Milestone,
    MilestoneStatus,
    PlanScope,
    SalesPlan,
    Target,
    TargetScope,
)
from bridgecrm.users.models import Team, TeamKind, User

__all__ = [
    "actuals",
    "overdue_milestones",
    "rep_target_amounts",
]


def places_of(measure: str) -> int:
    return measures.places_of(measure)


# ---- visibility ------------------------------------------------------------------------------------


def visible_targets(actor: Any) -> QuerySet[Target]:
    """Company targets: everyone signed in. Team targets: the teams one sees (one's own team and
    its ancestors, the subtrees one manages; admins all). Rep targets: one's own; others' only with
    ``targets.view_others``, within one's visibility (the teams one manages; admins all)."""
    scope = scope_of(actor)
    if scope is None:
        return Target.objects.none()
    if scope.sees_all and actor.can(policies.VIEW_OTHERS_TARGETS):
        return Target.objects.all()
    teams = Team.objects.visible_to(actor).values("pk")
    condition = Q(scope=TargetScope.COMPANY) | Q(scope=TargetScope.TEAM, team_id__in=teams)
    condition |= Q(scope=TargetScope.REP, user_id=scope.user_id)
    if actor.can(policies.VIEW_OTHERS_TARGETS):
        if scope.sees_all:
            condition |= Q(scope=TargetScope.REP)
        elif scope.managed_team_paths:
            condition |= Q(scope=TargetScope.REP) & subtree_filter("user__team__path", scope.managed_team_paths)
    return Target.objects.filter(condition)


def target_for(*, actor: Any, target_id: int) -> Target:
    target = visible_targets(actor).select_related("team", "user", "parent").filter(pk=target_id).first()
    if target is None:
        raise NotFound("not_found", _("Not found."))
    return target


def visible_reps(actor: Any) -> QuerySet[User]:
    """The people whose rows (targets and actuals) the actor sees on the progress pages."""
    scope = scope_of(actor)
    if scope is None:
        return User.objects.none()
    if not actor.can(policies.VIEW_OTHERS_TARGETS):
        return User.objects.filter(pk=scope.user_id)
    if scope.sees_all:
        return User.objects.filter(is_active=True)
    return User.objects.filter(
        Q(pk=scope.user_id) | (Q(is_active=True) & subtree_filter("team__path", scope.managed_team_paths))
    )


def target_list(
    *, actor: Any, measure: str = "", period: Period | None = None, scope: str = "", user_id: int | None = None
) -> QuerySet[Target]:
    qs = visible_targets(actor).select_related("team", "user")
    if measure:
        qs = qs.filter(measure=measure)
    if period is not None:
        qs = qs.filter(period_start=period.start, period_end=period.end)
    if scope:
        qs = qs.filter(scope=scope)
    if user_id is not None:
        qs = qs.filter(user_id=user_id)
    return qs.order_by("-period_start", "measure", "scope", "id")


# ---- actuals (set-based) ---------------------------------------------------------------------------


def _bounds(period: Period) -> tuple[dt.datetime, dt.datetime]:
    return dates.day_start(period.start), dates.day_start(period.end + dt.timedelta(days=1))


def _to_base(rows: Iterable[tuple[Any, str, Any]], on: dt.date) -> dict[Any, Decimal]:
    """Sum (key, currency, amount) rows in the base currency at the rates on ``on`` (a currency
    without a rate is left out, as elsewhere in Bridge)."""
    out: dict[Any, Decimal] = defaultdict(Decimal)
    rates = None
    for key, currency, amount in rows:
        if amount is None:
            continue
        if rates is None:
            rates = rates_on(on)
        rate = Decimal(1) if currency == rates.base else rates.per_unit.get(currency)
        if rate is not None:
            out[key] += (Decimal(amount) * rate).quantize(Decimal("0.01"))
    return out


def actuals_by_owner(
    *, measure: str, period: Period, user_ids: Sequence[int] | None = None, product_category: str = ""
) -> dict[int, Decimal]:
    """Each person's actual of ``measure`` in ``period``: one ``GROUP BY`` query (two for collected
    amounts in several currencies). ``user_ids`` None: everyone."""
    if measure == Measure.SIGNED_AMOUNT and product_category:
        lines = DealLine.objects.filter(
            deal__status=DealStatus.WON,
            deal__deleted_at__isnull=True,
            deal__closed_on__range=(period.start, period.end),
            product__category=product_category,
        )
        if user_ids is not None:
            lines = lines.filter(deal__owner_id__in=list(user_ids))
        out: dict[int, Decimal] = defaultdict(Decimal)
        for owner_id, amount, amount_base, subtotal in (
            lines.order_by()
            .values_list("deal_id", "deal__owner_id", "deal__amount", "deal__amount_base")
            .annotate(s=Sum("subtotal"))
            .values_list("deal__owner_id", "deal__amount", "deal__amount_base", "s")
        ):
            if subtotal is None or amount_base is None:
                continue
            share = Decimal(subtotal) if not amount else Decimal(subtotal) * Decimal(amount_base) / Decimal(amount)
            out[owner_id] += share.quantize(Decimal("0.01"))
        return dict(out)
    if measure in (Measure.SIGNED_AMOUNT, Measure.WON_DEALS):
        deals = Deal.objects.filter(
            status=DealStatus.WON, deleted_at__isnull=True, closed_on__range=(period.start, period.end)
        )
        if product_category:
            deals = deals.filter(pk__in=DealLine.objects.filter(product__category=product_category).values("deal_id"))
        if user_ids is not None:
            deals = deals.filter(owner_id__in=list(user_ids))
        grouped = deals.order_by().values_list("owner_id")
        if measure == Measure.WON_DEALS:
            return {k: Decimal(n) for k, n in grouped.annotate(n=Count("pk")).values_list("owner_id", "n")}
        return {
            k: Decimal(v or 0).quantize(Decimal("0.01"))
            for k, v in grouped.annotate(s=Sum("amount_base")).values_list("owner_id", "s")
        }
    if measure == Measure.COLLECTED_AMOUNT:
        payments = Payment.objects.filter(received_on__range=(period.start, period.end))
        if user_ids is not None:
            payments = payments.filter(contract__owner_id__in=list(user_ids))
        rows = list(
            payments.order_by()
            .values_list("contract__owner_id", "currency")
            .annotate(s=Sum("amount"))
            .values_list("contract__owner_id", "currency", "s")
        )
        # Net of refunds, each counted in the period of its own date (a March refund of a January
        # payment lowers March): one more grouped query on the refunds' covering index.
        refunds = Refund.objects.filter(refunded_on__range=(period.start, period.end))
        if user_ids is not None:
            refunds = refunds.filter(contract__owner_id__in=list(user_ids))
        rows += [
            (owner_id, currency, -total)
            for owner_id, currency, total in refunds.order_by()
            .values_list("contract__owner_id", "currency")
            .annotate(s=Sum("amount"))
            .values_list("contract__owner_id", "currency", "s")
        ]
        return dict(_to_base(rows, min(period.end, dates.company_today())))
    start, end = _bounds(period)
    if measure == Measure.NEW_CUSTOMERS:
        customers = Customer.objects.filter(
            deleted_at__isnull=True, owner__isnull=False, created_at__gte=start, created_at__lt=end
        )
        if user_ids is not None:
            customers = customers.filter(owner_id__in=list(user_ids))
        return {
            k: Decimal(n)
            for k, n in customers.order_by()
            .values_list("owner_id")
            .annotate(n=Count("pk"))
            .values_list("owner_id", "n")
        }
    if measure in (Measure.FOLLOW_UPS, Measure.VISITS):
        follow_ups = FollowUp.objects.filter(deleted_at__isnull=True, occurred_at__gte=start, occurred_at__lt=end)
        if measure == Measure.VISITS:
            follow_ups = follow_ups.filter(kind=FollowUpKind.VISIT)
        if user_ids is not None:
            follow_ups = follow_ups.filter(owner_id__in=list(user_ids))
        return {
            k: Decimal(n)
            for k, n in follow_ups.order_by()
            .values_list("owner_id")
            .annotate(n=Count("pk"))
            .values_list("owner_id", "n")
        }
    raise ValueError(measure)


def actuals(*, measure: str, period: Period, user_ids: Iterable[int]) -> dict[int, Decimal]:
    """Each rep's actual of ``measure`` in ``period`` (every id present; 0 when nothing happened).
    No visibility check: callers hold ids they were allowed to see."""
    ids = list(user_ids)
    found = actuals_by_owner(measure=measure, period=period, user_ids=ids)
    return {pk: found.get(pk, Decimal(0)) for pk in ids}


def weighted_pipeline_by_owner(
    *, measure: str, period: Period, today: dt.date, product_category: str = ""
) -> dict[int, Decimal]:
    """Open deals expected to close inside the period (from today on), weighted by their probability:
    amount × probability for signed amounts, probability for won deals. Other measures: empty."""
    if measure not in (Measure.SIGNED_AMOUNT, Measure.WON_DEALS):
        return {}
    deals = Deal.objects.filter(
        status=DealStatus.OPEN,
        deleted_at__isnull=True,
        expected_close_date__range=(max(period.start, today), period.end),
    )
    if product_category:
        deals = deals.filter(pk__in=DealLine.objects.filter(product__category=product_category).values("deal_id"))
    grouped = deals.order_by().values_list("owner_id")
    if measure == Measure.WON_DEALS:
        rows = grouped.annotate(s=Sum("probability")).values_list("owner_id", "s")
        return {k: (Decimal(v or 0) / 100).quantize(Decimal("0.01")) for k, v in rows}
    rows = grouped.annotate(s=Sum(F("amount_base") * F("probability"))).values_list("owner_id", "s")
    return {k: (Decimal(str(v or 0)) / 100).quantize(Decimal("0.01")) for k, v in rows}


def rep_target_amounts(*, measure: str, period: Period, user_ids: Iterable[int]) -> dict[int, Decimal]:
    """Each rep's target of ``measure`` for ``period`` (all product categories together).

    A target set for exactly the period wins; otherwise the rep's targets for shorter periods inside
    it add up (months inside a quarter, say) — for additive measures only: a rate or an average of
    the months is no target for the quarter, so those count only for exactly the period (and are in
    the measure's unit: percent for rates). Reps without any target are absent from the result.
    No visibility check: callers hold ids they were allowed to see.
    """
    ids = list(user_ids)
    rows = Target.objects.filter(
        scope=TargetScope.REP,
        measure=measure,
        user_id__in=ids,
        period_start__gte=period.start,
        period_end__lte=period.end,
        product_category="",
    ).values_list("user_id", "period_start", "period_end", "amount")
    if not measures.is_additive(measure):
        rows = rows.filter(period_start=period.start, period_end=period.end)
    exact: dict[int, Decimal] = {}
    inner: dict[int, dict[str, Decimal]] = defaultdict(lambda: defaultdict(Decimal))
    for user_id, start, end, amount in rows:
        if start == period.start and end == period.end:
            exact[user_id] = amount
        else:
            length = (end - start).days
            bucket = "month" if length < 32 else "quarter" if length < 93 else "year"
            inner[user_id][bucket] += amount
    out = dict(exact)
    for user_id, buckets in inner.items():
        if user_id not in out:
            out[user_id] = buckets.get("month") or buckets.get("quarter") or buckets.get("year") or Decimal(0)
    return out


# ---- the units a target decomposes into ------------------------------------------------------------


@dataclass(frozen=True)
class Unit:
    """One child of a decomposition: a team, a rep, or a shorter period of the same scope."""

    key: str  # "team:4", "rep:17", "period:2026-03"
    label: str
    scope: str
    team_id: int | None
    user_id: int | None
    period: Period


def root_teams() -> list[Team]:
    """The top of the tree: the company node(s) and any other team without a parent."""
    return list(Team.objects.filter(is_active=True, parent__isnull=True).order_by("path"))


def scope_units(target: Target) -> list[Unit]:
    """Company → the teams right under the company node; a team → its active sub-teams, or its
    active members when it has none. A rep has no scope units."""
    if target.scope == TargetScope.REP:
        return []
    period = target.period
    if target.scope == TargetScope.COMPANY:
        roots = root_teams()
        company_roots = [t for t in roots if t.kind == TeamKind.COMPANY]
        teams = list(
            Team.objects.filter(is_active=True, parent__in=company_roots).order_by("name", "pk")
            if company_roots
            else roots
        )
        others = [t for t in roots if t.kind != TeamKind.COMPANY and company_roots]
        teams += others
        return [Unit(f"team:{t.pk}", t.name, TargetScope.TEAM, t.pk, None, period) for t in teams]
    assert target.team is not None
    subteams = list(Team.objects.filter(is_active=True, parent_id=target.team_id).order_by("name", "pk"))
    if subteams:
        return [Unit(f"team:{t.pk}", t.name, TargetScope.TEAM, t.pk, None, period) for t in subteams]
    members = User.objects.filter(is_active=True, team=target.team).order_by("full_name", "username")
    return [Unit(f"rep:{u.pk}", u.display_name, TargetScope.REP, None, u.pk, period) for u in members]


def time_units_of(target: Target, *, months: bool) -> list[Unit]:
    period = target.period
    if period.kind == "month":
        return []
    parts = period.months() if months or period.kind == "quarter" else period.quarters()
    return [Unit(f"period:{p.code}", p.code, target.scope, target.team_id, target.user_id, p) for p in parts]


def _member_ids_by_team(team_ids: Iterable[int]) -> dict[int, list[int]]:
    """Every user (active or not) in the subtree of each team, with one query for the teams and one
    for the users."""
    teams = {t.pk: t.path for t in Team.objects.filter(pk__in=list(team_ids))}
    out: dict[int, list[int]] = {pk: [] for pk in teams}
    if not teams:
        return out
    condition = subtree_filter("team__path", tuple(teams.values()))
    for user_id, path in User.objects.filter(condition).values_list("pk", "team__path"):
        for team_pk, team_path in teams.items():
            if path and path.startswith(team_path):
                out[team_pk].append(user_id)
    return out


def last_year_weights(target: Target, units: Sequence[Unit]) -> list[Decimal]:
    """Each unit's actual of the target's measure in its period a year earlier (for a scope split,
    the same period last year; for a time split, each month or quarter last year: seasonality).
    The target's own scope narrows the time split (a rep's months count the rep's deals)."""
    measure, category = target.measure, target.product_category
    if not units:
        return []
    if units[0].key.startswith("period:"):
        owners: list[int] | None = None
        if target.scope == TargetScope.REP and target.user_id is not None:
            owners = [target.user_id]
        elif target.scope == TargetScope.TEAM and target.team_id is not None:
            owners = _member_ids_by_team([target.team_id])[target.team_id]
        weights = []
        for unit in units:
            found = actuals_by_owner(
                measure=measure, period=unit.period.a_year_earlier(), user_ids=owners, product_category=category
            )
            weights.append(sum(found.values(), Decimal(0)))
        return weights
    last = target.period.a_year_earlier()
    found = actuals_by_owner(measure=measure, period=last, product_category=category)
    members = _member_ids_by_team([u.team_id for u in units if u.team_id is not None])
    weights = []
    for unit in units:
        if unit.user_id is not None:
            weights.append(found.get(unit.user_id, Decimal(0)))
        else:
            assert unit.team_id is not None
            weights.append(sum((found.get(pk, Decimal(0)) for pk in members[unit.team_id]), Decimal(0)))
    return weights


def children_of(target: Target) -> tuple[list[Target], list[Target]]:
    """(scope children: same period; time children: shorter periods), in display order."""
    rows = list(
        Target.objects.filter(parent=target).select_related("team", "user").order_by("period_start", "scope", "id")
    )
    scope_children = [c for c in rows if c.period_start == target.period_start and c.period_end == target.period_end]
    time_children = [c for c in rows if c not in scope_children]
    return scope_children, time_children


# ---- progress --------------------------------------------------------------------------------------


@dataclass
class ProgressRow:
    kind: str  # "company", "team", "rep"
    key: int
    label: str
    depth: int
    target: Target | None = None
    actual: Decimal | None = Decimal(0)  # None: no data (a rate with nothing to divide)
    projection: Decimal | None = None
    status: str = ""
    coverage: Decimal | None = None
    pipeline: Decimal = Decimal(0)
    mismatch: decompose.Mismatch | None = None
    time_mismatch: decompose.Mismatch | None = None
    link: str = ""
    target_url: str = ""

    @property
    def amount(self) -> Decimal | None:
        return self.target.shown_amount if self.target is not None else None

    @property
    def percent(self) -> Decimal | None:
        """Actual ÷ target, in % (for rates too: a 30 % signing rate against 40 % is 75.0)."""
        if self.target is None or self.target.amount <= 0 or self.actual is None:
            return None
        return (self.actual * 100 / self.target.amount).quantize(Decimal("0.1"))


@dataclass
class Progress:
    measure: str
    period: Period
    today: dt.date
    product_category: str
    rows: list[ProgressRow]
    elapsed_days: int
    may_see_mismatch: bool
    warnings: list[ProgressRow] = field(default_factory=list)
    reps_folded: bool = False  # too many people: reps shown only under the focused team
    focus_team_id: int | None = None
    unit: str = measures.MONEY
    additive: bool = True  # False: rates and averages (no projection, no sums of children)
    direction: str = measures.HIGHER
    coverage_applies: bool = False

    @property
    def projection_applies(self) -> bool:
        return self.additive

    @property
    def measure_label(self) -> str:
        return measures.label_of(self.measure)


def elapsed_days(period: Period, today: dt.date) -> int:
    if today < period.start:
        return 0
    return (min(today, period.end) - period.start).days + 1


def records_link(measure: str, period: Period, *, owner_id: int | None = None, team_id: int | None = None) -> str:
    """The list behind a figure: won deals, follow-ups, visits, customers or collections."""
    link: str = _link_maker(measure, period)(owner_id, team_id)
    return link


def _link_maker(measure: str, period: Period) -> Any:
    """A function (owner_id, team_id) → the list behind a figure; the URL is reversed once."""
    params: dict[str, Any] = {}
    if measure in (Measure.SIGNED_AMOUNT, Measure.WON_DEALS):
        base = reverse("pipeline:deals")
        params = {"status": DealStatus.WON, "close_from": period.start, "close_to": period.end}
        team_key: str | None = "team"
    elif measure in (Measure.FOLLOW_UPS, Measure.VISITS):
        base = reverse("activities:follow_ups")
        params = {"date_from": period.start, "date_to": period.end}
        if measure == Measure.VISITS:
            params["kind"] = FollowUpKind.VISIT
        team_key = None
    elif measure == Measure.NEW_CUSTOMERS:
        base, team_key = reverse("customers:list"), None
    elif measure == Measure.COLLECTED_AMOUNT:
        collections = reverse("contracts:collections")
        return lambda owner_id=None, team_id=None: collections
    else:
        found = measures.get(measure)
        if found is None or found.records is None:
            return lambda owner_id=None, team_id=None: ""
        base, params, team_key = found.records(period)
        team_key = team_key or None
    common = urlencode(params)

    def make(owner_id: int | None = None, team_id: int | None = None) -> str:
        query = common
        if owner_id is not None:
            query += ("&" if query else "") + f"owner={owner_id}"
        if team_id is not None and team_key is not None:
            query += ("&" if query else "") + f"{team_key}={team_id}"
        return base + ("?" + query if query else "")

    return make


REP_ROWS_LIMIT = 60  # above this many people, reps are listed one team at a time (``focus_team_id``)


def measure_for_progress(measure: str) -> measures.MeasureDef:
    """The registered, available measure of that code (ValueError otherwise)."""
    found = measures.get(measure)
    if found is None or not found.available:
        raise ValueError(measure)
    return found


def progress(
    *,
    actor: Any,
    measure: str,
    period: Period,
    today: dt.date | None = None,
    product_category: str = "",
    focus_team_id: int | None = None,
) -> Progress:
    """The company → teams → reps tree for one measure and period, as far as the actor may see:
    target, actual, %, run-rate projection, status, pipeline coverage and mismatch warnings.

    Every figure comes from the measure's components per person (one or two GROUP BY queries over
    the whole company): a rep's value combines the rep's own, a team's or the company's combines
    the sum of its people's (for sums that is the sum; for a rate, the group's numerator ÷ the
    group's denominator). Rates and averages have no projection, no coverage and no sums of children.

    A fixed number of queries: targets, teams, people, the measure's GROUP BY, one for the
    pipeline, one for the children sums."""
    today = today or dates.company_today()
    m = measure_for_progress(measure)
    places = m.places
    q = decompose.quantum(places)
    elapsed = elapsed_days(period, today)
    view_others = policies.may_view_others(actor)
    teams = list(Team.objects.visible_to(actor).filter(is_active=True).order_by("path"))
    reps = list(visible_reps(actor).only("pk", "full_name", "username", "team_id").order_by("full_name", "username"))
    paths: dict[int, str] = dict(User.objects.filter(team__isnull=False).values_list("pk", "team__path"))
    folded = len(reps) > REP_ROWS_LIMIT
    if folded:
        focus = next((t.path for t in teams if t.pk == focus_team_id), None)
        reps = [u for u in reps if focus is not None and (paths.get(u.pk) or "").startswith(focus)]
    shown_targets = visible_targets(actor).filter(
        measure=measure, period_start=period.start, period_end=period.end, product_category=product_category
    )
    if folded:  # only the reps shown: the rest stay in the database
        shown_targets = shown_targets.filter(~Q(scope=TargetScope.REP) | Q(user_id__in=[u.pk for u in reps]))
    targets = list(shown_targets)
    by_scope: dict[tuple[str, int], Target] = {}
    for t in targets:
        by_scope[(t.scope, t.team_id or t.user_id or 0)] = t
    assert m.parts is not None
    found = m.parts(period, None, product_category)
    pipe = (
        weighted_pipeline_by_owner(measure=measure, period=period, today=today, product_category=product_category)
        if m.pipeline
        else {}
    )
    team_parts: dict[int, list[Decimal]] = {}  # each team's components, summed as people are met
    team_pipe: dict[int, Decimal] = defaultdict(Decimal)
    for owner_id, path in paths.items():
        value, weighted = found.get(owner_id), pipe.get(owner_id)
        if value is None and weighted is None:
            continue
        for team in teams:
            if path.startswith(team.path):
                if value is not None:
                    acc = team_parts.get(team.pk)
                    if acc is None:
                        team_parts[team.pk] = list(value)
                    else:
                        for i, v in enumerate(value):
                            acc[i] += v
                team_pipe[team.pk] += weighted or Decimal(0)
    sums: dict[int, dict[bool, Decimal]] = {}
    if view_others and targets and m.additive:
        # Two rows at most per target: its same-period children (teams, reps) and its shorter ones.
        same = Case(
            When(period_start=period.start, period_end=period.end, then=Value(1)),
            default=Value(0),
            output_field=IntegerField(),
        )
        for parent_id, is_same, total in (
            Target.objects.filter(parent_id__in=[t.pk for t in targets])
            .order_by()
            .annotate(same=same)
            .values_list("parent_id", "same")
            .annotate(s=Sum("amount"))
            .values_list("parent_id", "same", "s")
        ):
            sums.setdefault(parent_id, {})[bool(is_same)] = Decimal(total)

    def row(
        kind: str, key: int, label: str, depth: int, actual: Decimal | None, weighted: Decimal, link: str
    ) -> ProgressRow:
        target = by_scope.get((kind, key))
        r = ProgressRow(kind, key, label, depth, target, None if actual is None else actual.quantize(q), link=link)
        if m.additive and r.actual is not None:
            r.projection = decompose.projection(r.actual, elapsed_days=elapsed, period_days=period.days, places=places)
        r.pipeline = weighted
        if target is not None:
            r.target_url = f"{detail_base}{target.pk}/"  # targets:detail, reversed once
            if m.additive:
                r.status = decompose.status(target.amount, r.actual or Decimal(0), r.projection)
            else:
                r.status = decompose.value_status(target.amount, r.actual, direction=m.direction, started=elapsed > 0)
            if m.pipeline:
                r.coverage = decompose.coverage(weighted, target.amount, r.actual or Decimal(0))
            amounts = sums.get(target.pk, {})
            if True in amounts and amounts[True] != target.amount:
                r.mismatch = decompose.Mismatch(target.amount.quantize(q), amounts[True].quantize(q))
            if False in amounts and amounts[False] != target.amount:
                r.time_mismatch = decompose.Mismatch(target.amount.quantize(q), amounts[False].quantize(q))
        return r

    def rep_value(pk: int) -> Decimal | None:
        parts = found.get(pk)
        if parts is None:
            return Decimal(0) if m.additive else None
        return m.combine(parts)

    link = _link_maker(measure, period)
    detail_base = reverse("targets:progress")
    rows = [
        row(
            "company",
            0,
            str(_("Company")),
            0,
            m.group_value(found.values()),
            sum(pipe.values(), Decimal(0)),
            link(),
        )
    ]
    reps_by_path: dict[str, list[User]] = defaultdict(list)
    loose: list[User] = []
    team_paths = {t.path for t in teams}
    for u in reps:
        rep_path: str | None = paths.get(u.pk)
        if rep_path is not None and rep_path in team_paths:
            reps_by_path[rep_path].append(u)
        else:
            loose.append(u)

    def rep_row(u: User, depth: int) -> ProgressRow:
        return row("rep", u.pk, u.display_name, depth, rep_value(u.pk), pipe.get(u.pk, Decimal(0)), link(owner_id=u.pk))

    for team in teams:
        if team.kind == TeamKind.COMPANY and team.parent_id is None:
            # The company node is the company row.
            for u in reps_by_path.get(team.path, []):
                rows.append(rep_row(u, 1))
            continue
        depth = max(1, team.depth)
        rows.append(
            row(
                "team",
                team.pk,
                team.name,
                depth,
                m.group_value([tuple(team_parts[team.pk])] if team.pk in team_parts else []),
                team_pipe.get(team.pk, Decimal(0)),
                link(team_id=team.pk),
            )
        )
        for u in reps_by_path.get(team.path, []):
            rows.append(rep_row(u, depth + 1))
    for u in loose:
        rows.append(rep_row(u, 1))
    result = Progress(measure, period, today, product_category, rows, elapsed, view_others)
    result.reps_folded, result.focus_team_id = folded, focus_team_id
    result.unit, result.additive, result.direction, result.coverage_applies = (
        m.unit,
        m.additive,
        m.direction,
        m.pipeline,
    )
    result.warnings = [r for r in rows if r.mismatch is not None or r.time_mismatch is not None]
    return result


# ---- sales plans -----------------------------------------------------------------------------------


def visible_plans(actor: Any) -> QuerySet[SalesPlan]:
    """A rep's plan: the rep, the managers over their team, admins. A team's plan: the team's members
    (and of its sub-teams), its managers, admins. Anyone also sees the plans where they own a milestone."""
    scope = scope_of(actor)
    if scope is None:
        return SalesPlan.objects.none()
    if scope.sees_all:
        return SalesPlan.objects.all()
    condition = Q(scope=PlanScope.REP, user_id=scope.user_id) | Q(milestones__owner_id=scope.user_id)
    own_path = getattr(getattr(actor, "team", None), "path", "") or ""
    if own_path:
        # A team plan is visible to everyone in the team's subtree: the plan team's path is a prefix of theirs.
        prefixes = [".".join(own_path.split(".")[: i + 1]) + "." for i in range(own_path.count("."))]
        condition |= Q(scope=PlanScope.TEAM, team__path__in=prefixes)
    if scope.managed_team_paths:
        condition |= Q(scope=PlanScope.TEAM) & subtree_filter("team__path", scope.managed_team_paths)
        condition |= Q(scope=PlanScope.REP) & subtree_filter("user__team__path", scope.managed_team_paths)
    return SalesPlan.objects.filter(pk__in=SalesPlan.objects.filter(condition).values("pk"))


@dataclass
class PlanSummary:
    plan: SalesPlan
    total: int
    done: int
    overdue: int

    @property
    def progress(self) -> Decimal | None:
        """Done ÷ all milestones that count (cancelled ones do not)."""
        return None if self.total == 0 else (Decimal(self.done) * 100 / self.total).quantize(Decimal("0.1"))


def plan_list(*, actor: Any, today: dt.date | None = None, period: Period | None = None) -> list[PlanSummary]:
    """Visible plans with their milestone counts: two queries, whatever the number of plans."""
    today = today or dates.company_today()
    qs = visible_plans(actor).select_related("team", "user")
    if period is not None:
        qs = qs.filter(period_start__lte=period.end, period_end__gte=period.start)
    plans = list(qs.order_by("-period_start", "name", "id")[:500])
    counts = {
        pk: (total, done, overdue)
        for pk, total, done, overdue in Milestone.objects.filter(plan_id__in=[p.pk for p in plans])
        .exclude(status=MilestoneStatus.CANCELLED)
        .order_by()
        .values_list("plan_id")
        .annotate(
            total=Count("pk"),
            done=Count("pk", filter=Q(status=MilestoneStatus.DONE)),
            overdue=Count("pk", filter=Q(status=MilestoneStatus.OPEN, due_on__lt=today)),
        )
        .values_list("plan_id", "total", "done", "overdue")
    }
    return [PlanSummary(p, *counts.get(p.pk, (0, 0, 0))) for p in plans]


def plan_for(*, actor: Any, plan_id: int) -> SalesPlan:
    plan = visible_plans(actor).select_related("team", "user").filter(pk=plan_id).first()
    if plan is None:
        raise NotFound("not_found", _("Not found."))
    return plan


def plan_summary(plan: SalesPlan, today: dt.date) -> PlanSummary:
    rows = [m for m in plan.milestones.all() if m.status != MilestoneStatus.CANCELLED]
    return PlanSummary(
        plan,
        len(rows),
        sum(1 for m in rows if m.status == MilestoneStatus.DONE),
        sum(1 for m in rows if m.is_overdue(today)),
    )


def plan_detail(*, actor: Any, plan_id: int) -> SalesPlan:
    """The plan with its phases and milestones (and their owners, targets and key customers)."""
    plan = plan_for(actor=actor, plan_id=plan_id)
    return (
        SalesPlan.objects.filter(pk=plan.pk)
        .select_related("team", "user")
        .prefetch_related("phases", "milestones__owner", "milestones__targets", "milestones__customers")
        .get()
    )


def milestone_for(*, actor: Any, milestone_id: int) -> Milestone:
    milestone = (
        Milestone.objects.filter(pk=milestone_id, plan__in=visible_plans(actor))
        .select_related("plan", "plan__team", "plan__user", "owner")
        .first()
    )
    if milestone is None:
        raise NotFound("not_found", _("Not found."))
    return milestone


def overdue_milestones(*, actor: Any, today: dt.date) -> list[Milestone]:
    """Open milestones past their due date in the plans the actor sees, oldest first (at most 200)."""
    return list(
        Milestone.objects.filter(
            status=MilestoneStatus.OPEN, due_on__lt=today, plan_id__in=visible_plans(actor).values("pk")
        )
        .select_related("plan", "owner")
        .order_by("due_on", "id")[:200]
    )
