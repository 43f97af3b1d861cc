"""The measure registry: what a target can be set on.

Targets do not know where a measure's numbers come from. Each measure registers a ``MeasureDef``:
its code, label, unit (money, count or ratio), whether it is additive, and one set-based
computation, ``parts(period, user_ids, product_category)`` → ``{user_id: (component, …)}``, with
``combine(components)`` → the value. A rep's value is ``combine`` of the rep's components; a team's
or the company's value is ``combine`` of the components summed over their people — so a team's
signing rate is the team's won deals ÷ the team's closed deals, not the average of its reps' rates.

The six built-in measures (signed and collected amounts, new customers, won deals, follow-ups,
visits) register themselves below with one component: their actual. Higher apps register more
(scorecards registers its metrics from its ``AppConfig.ready``); targets never imports them.

Units and how amounts are stored (``Target.amount``, two decimals):

- ``money``: the company's base currency, to the cent;
- ``count``: whole units;
- ``ratio``: **percent**, 0–100 to two decimals (35.5 is 35.5 %); a measure's ``combine`` returns
  percent too.

Additive measures (sums of money or counts) decompose by splitting; others (rates, averages) are
copied unchanged to every part ("same value for everyone").
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

if TYPE_CHECKING:
    from bridgecrm.core.periods import Period

MONEY = "money"
COUNT = "count"
RATIO = "ratio"
UNITS = (MONEY, COUNT, RATIO)

HIGHER = "higher"
LOWER = "lower"

Parts = dict[int, tuple[Decimal, ...]]
PartsFn = Callable[["Period", "Sequence[int] | None", str], Parts]
CombineFn = Callable[[tuple[Decimal, ...]], "Decimal | None"]
RecordsFn = Callable[["Period"], tuple[str, dict[str, Any], str]]


def _first(parts: tuple[Decimal, ...]) -> Decimal | None:
    return parts[0] if parts else None


@dataclass(frozen=True)
class MeasureDef:
    code: str
    label: Promise | str
    unit: str  # MONEY, COUNT or RATIO (stored and shown in percent)
    additive: bool  # sums of the parts (money, counts): split on decomposition; else copied
    parts: PartsFn | None  # set-based: every asked rep's components in one or two GROUP BY queries
    combine: CombineFn = _first  # components (of a rep, or summed over a group) → the value
    direction: str = HIGHER  # HIGHER or LOWER is better
    description: Promise | str = ""
    unavailable: Promise | str | None = None  # why it cannot be a target (shown, not selectable)
    categories: bool = False  # a product category may narrow it
    pipeline: bool = False  # open deals can cover what is left (pipeline coverage)
    pipeline_measure: str = ""  # "amount" or "count": how open deals weigh
    # The list behind a figure: (period) → (URL, query parameters, the parameter naming a team or "")
    # ; "owner" names the rep. None: figures link nowhere.
    records: RecordsFn | None = None

    @property
    def available(self) -> bool:
        return self.parts is not None and self.unavailable is None

    @property
    def places(self) -> int:
        return 0 if self.unit == COUNT else 2

    @property
    def is_ratio(self) -> bool:
        return self.unit == RATIO

    # -- the computations the brief names, derived from parts/combine -----------------------------

    def compute_reps(
        self, period: Period, user_ids: Sequence[int], product_category: str = ""
    ) -> dict[int, Decimal | None]:
        """Each asked rep's value; reps without data: 0 for additive measures, None (no data) else."""
        ids = list(user_ids)
        found = self.parts(period, ids, product_category) if self.parts is not None and ids else {}
        zero = Decimal(0).quantize(Decimal(1).scaleb(-self.places))
        return {u: self.combine(found[u]) if u in found else (zero if self.additive else None) for u in ids}

    def compute_group(self, period: Period, user_ids: Sequence[int], product_category: str = "") -> Decimal | None:
        """The value of a group of reps: their components summed, then combined."""
        ids = list(user_ids)
        found = self.parts(period, ids, product_category) if self.parts is not None and ids else {}
        return self.group_value(found.values())

    def group_value(self, parts: Iterable[tuple[Decimal, ...]]) -> Decimal | None:
        total = sum_parts(parts)
        if total is None:
            return Decimal(0).quantize(Decimal(1).scaleb(-self.places)) if self.additive else None
        return self.combine(total)


def sum_parts(parts: Iterable[tuple[Decimal, ...]]) -> tuple[Decimal, ...] | None:
    """Component-wise sum (None when there is nothing to add)."""
    total: list[Decimal] | None = None
    for p in parts:
        if total is None:
            total = list(p)
        else:
            for i, v in enumerate(p):
                total[i] += v
    return tuple(total) if total is not None else None


_REGISTRY: dict[str, MeasureDef] = {}


def register(measure: MeasureDef) -> None:
    """Add (or replace, for reloads and tests) a measure. Built-in measures cannot be replaced."""
    if measure.unit not in UNITS:
        raise ValueError(f"unknown unit {measure.unit!r}")
    if measure.direction not in (HIGHER, LOWER):
        raise ValueError(f"unknown direction {measure.direction!r}")
    if measure.code in BUILT_IN and measure.code in _REGISTRY:
        return
    _REGISTRY[measure.code] = measure


def unregister(code: str) -> None:
    """For tests that register a measure of their own."""
    if code not in BUILT_IN:
        _REGISTRY.pop(code, None)


def get(code: str) -> MeasureDef | None:
    return _REGISTRY.get(code)


def all_measures() -> list[MeasureDef]:
    """Every registered measure, available or not, in registration order."""
    return list(_REGISTRY.values())


def available() -> list[MeasureDef]:
    return [m for m in _REGISTRY.values() if m.available]


def codes() -> list[str]:
    """The codes a target may be set on (the API's measure enum)."""
    return [m.code for m in available()]


def label_of(code: str) -> str:
    found = _REGISTRY.get(code)
    return str(found.label) if found is not None else code


def choices() -> list[tuple[str, str]]:
    return [(m.code, str(m.label)) for m in available()]


def places_of(code: str) -> int:
    found = _REGISTRY.get(code)
    return found.places if found is not None else 2


def is_additive(code: str) -> bool:
    found = _REGISTRY.get(code)
    return found.additive if found is not None else True


# ---- the six built-in measures ---------------------------------------------------------------------


def _actuals_parts(code: str) -> PartsFn:
    def parts(period: Period, user_ids: Sequence[int] | None, product_category: str) -> Parts:
        from bridgecrm.targets.selectors import actuals_by_owner

        found = actuals_by_owner(measure=code, period=period, user_ids=user_ids, product_category=product_category)
        return {k: (v,) for k, v in found.items()}

    return parts


def _builtin(
    code: str, label: Promise, unit: str, description: Promise, *, categories: bool = False, pipeline: str = ""
) -> MeasureDef:
    return MeasureDef(
        code=code,
        label=label,
        unit=unit,
        additive=True,
        parts=_actuals_parts(code),
        description=description,
        categories=categories,
        pipeline=bool(pipeline),
        pipeline_measure=pipeline,
    )


BUILT_IN: Mapping[str, MeasureDef] = {
    m.code: m
    for m in (
        _builtin(
            "signed_amount",
            _("Signed amount"),
            MONEY,
            _("won deals' amounts by won date"),
            categories=True,
            pipeline="amount",
        ),
        _builtin("collected_amount", _("Collected amount"), MONEY, _("payments received on one's contracts")),
        _builtin("new_customers", _("New customers"), COUNT, _("customers created in the period, by current owner")),
        _builtin("won_deals", _("Won deals"), COUNT, _("deals won in the period"), categories=True, pipeline="count"),
        _builtin("follow_ups", _("Follow-ups"), COUNT, _("follow-ups logged in the period")),
        _builtin("visits", _("Visits"), COUNT, _("follow-ups of kind visit")),
    )
}
_REGISTRY.update(BUILT_IN)
