"""The arithmetic of target decomposition: pure functions, no ORM, tested on their own.

``split`` divides a parent amount among children by weights with the largest-remainder method, so
the parts add up to the parent exactly: money to the cent, counts to whole units. The methods only
differ in the weights they pass:

- equal split: every child weight 1;
- entered weights: what the user typed (any non-negative numbers; only their ratios matter);
- last year's share: each child's actual of the same measure in the same period a year earlier;
- last year's seasonality (time splits): last year's actual in each month or quarter.

When every weight is zero (last year has no data), the split falls back to equal and says so.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_DOWN, Decimal


@dataclass(frozen=True)
class Split:
    parts: list[Decimal]
    fell_back_to_equal: bool  # the weights were all zero (or missing): an equal split was used


def quantum(places: int) -> Decimal:
    return Decimal(1).scaleb(-places)


def split(total: Decimal, weights: Sequence[Decimal], *, places: int) -> Split:
    """``total`` in proportion to ``weights``, rounded to ``places`` decimals, summing to ``total``.

    Largest remainder: each part is rounded down to the unit, then the units left over go one by
    one to the parts with the largest remainders (ties to the earlier part). ``total`` must be a
    non-negative multiple of the unit; weights must not be negative.
    """
    if not weights:
        raise ValueError("split needs at least one weight")
    if any(w < 0 for w in weights):
        raise ValueError("weights must not be negative")
    if total < 0:
        raise ValueError("total must not be negative")
    units_exact = total.scaleb(places)
    units = int(units_exact)
    if units != units_exact:
        raise ValueError("total has more decimals than the unit")
    weight_sum = sum(weights, Decimal(0))
    fell_back = weight_sum == 0
    if fell_back:
        weights, weight_sum = [Decimal(1)] * len(weights), Decimal(len(weights))
    exact = [Decimal(units) * w / weight_sum for w in weights]
    floors = [int(e.to_integral_value(rounding=ROUND_DOWN)) for e in exact]
    left = units - sum(floors)
    order = sorted(range(len(weights)), key=lambda i: (-(exact[i] - floors[i]), i))
    for i in order[:left]:
        floors[i] += 1
    q = quantum(places)
    return Split([(Decimal(f).scaleb(-places)).quantize(q) for f in floors], fell_back)


@dataclass(frozen=True)
class Mismatch:
    parent_amount: Decimal
    children_sum: Decimal

    @property
    def difference(self) -> Decimal:
        """Children minus parent: positive when the children promise more than the parent."""
        return self.children_sum - self.parent_amount


def mismatch(parent_amount: Decimal, children: Sequence[Decimal]) -> Mismatch | None:
    """A mismatch when there are children and they do not add up to the parent, else None."""
    if not children:
        return None
    total = sum(children, Decimal(0))
    return None if total == parent_amount else Mismatch(parent_amount, total)


def coverage(weighted_pipeline: Decimal, target: Decimal, actual: Decimal) -> Decimal | None:
    """Weighted open pipeline ÷ what is left to reach the target (None when nothing is left)."""
    left = target - actual
    if left <= 0:
        return None
    return (weighted_pipeline / left).quantize(Decimal("0.01"))


def projection(actual: Decimal, *, elapsed_days: int, period_days: int, places: int) -> Decimal | None:
    """Run rate to the period's end: actual ÷ elapsed days × period days (None before it starts)."""
    if elapsed_days <= 0:
        return None
    if elapsed_days >= period_days:
        return actual
    return (actual * period_days / elapsed_days).quantize(quantum(places))


ON_TRACK = Decimal(1)  # projection ≥ 100 % of the target
AT_RISK = Decimal("0.85")  # projection ≥ 85 %


def status(target: Decimal, actual: Decimal, projected: Decimal | None) -> str:
    """ "on_track" (projection ≥ 100 % of the target, or the target already reached), "at_risk"
    (≥ 85 %), "behind" (below); "not_started" before the period starts."""
    if actual >= target:
        return "on_track"
    if projected is None:
        return "not_started"
    if target <= 0 or projected >= target * ON_TRACK:
        return "on_track"
    if projected >= target * AT_RISK:
        return "at_risk"
    return "behind"


# Rates and averages (non-additive measures): the value itself against the target, no run rate.
VALUE_AT_RISK = Decimal("0.9")  # higher is better: at least 90 % of the target
VALUE_AT_RISK_LOWER = Decimal("1.1")  # lower is better: at most 110 % of the target


def value_status(target: Decimal, value: Decimal | None, *, direction: str = "higher", started: bool = True) -> str:
    """Status of a rate or an average: the current value against the target (no projection).

    Higher is better: "on_track" when value ≥ target, "at_risk" when value ≥ 90 % of the target,
    else "behind". Lower is better: "on_track" when value ≤ target, "at_risk" when value ≤ 110 % of
    the target, else "behind". "not_started" before the period starts; "no_data" when there is
    nothing to compute the value from (no deal closed, nothing due…)."""
    if not started:
        return "not_started"
    if value is None:
        return "no_data"
    if direction == "lower":
        if value <= target:
            return "on_track"
        if value <= target * VALUE_AT_RISK_LOWER:
            return "at_risk"
        return "behind"
    if value >= target:
        return "on_track"
    if value >= target * VALUE_AT_RISK:
        return "at_risk"
    return "behind"


def same_value(total: Decimal, count: int) -> Split:
    """The "same value for everyone" decomposition of a rate or an average: each part is the parent."""
    if count <= 0:
        raise ValueError("same_value needs at least one part")
    return Split([total] * count, False)
