"""Reads of targets. Cross-app readers (scorecards, incentives, dashboards) use these functions."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from decimal import Decimal

from bridgecrm.core.periods import Period
from bridgecrm.targets.models import Target, TargetScope


def rep_target_amounts(*, measure: str, period: Period, user_ids: Iterable[int]) -> dict[int, Decimal]:
    """Each rep's target of ``measure`` for ``period`` (all product categories together).

    A target set for exactly the period wins; otherwise the rep's targets for shorter periods inside
    it add up (months inside a quarter, say). Reps without any target are absent from the result.
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
