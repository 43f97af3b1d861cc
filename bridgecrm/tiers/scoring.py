"""The tier arithmetic: pure functions over plain values (no ORM), so the preview, the nightly run
and the one-customer refresh compute exactly the same thing, and tests need no database.

Every part is scaled to 0–100 and each score is the weighted mean of its parts (weights are
relative; all zero gives 0). Scores are rounded to one decimal before banding, so a threshold
compares against the number people see.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

BANDS = ("high", "medium", "low")


@dataclass(frozen=True)
class CustomFactor:
    key: str
    weight: float
    full: float | None = None  # number and money fields: the value that scores 100
    points: Mapping[str, float] = field(default_factory=dict)  # single select: points per option


@dataclass(frozen=True)
class Params:
    weight_payments: float
    weight_won: float
    weight_frequency: float
    weight_recency: float
    payments_full: float
    won_full: float
    frequency_full: int
    recency_days: int
    weight_potential: float
    weight_size: float
    weight_industry: float
    potential_full: float
    size_points: Mapping[str, float]
    industry_points: Mapping[str, float]
    custom_factors: tuple[CustomFactor, ...]
    value_high: float
    value_medium: float
    potential_high: float
    potential_medium: float
    grid: Mapping[str, Mapping[str, str]]
    version: int = 0

    @property
    def custom_keys(self) -> tuple[str, ...]:
        return tuple(f.key for f in self.custom_factors)


@dataclass(slots=True)
class Facts:
    """What the scores are computed from, for one customer, over the trailing 12 months. Amounts
    are floats: scores are ratios to "full marks", not money (nothing here is added up or stored)."""

    payments: float = 0.0  # collected, in the base currency
    won: float = 0.0  # won deal amounts, in the base currency
    purchases: int = 0  # won deals
    last_purchase: dt.date | None = None  # latest payment or won deal
    potential: float | None = None  # estimated annual potential
    size: str = ""
    industry: str = ""
    custom: Mapping[str, Any] = field(default_factory=dict)


PART_NAMES = ("payments", "won", "frequency", "recency", "potential_amount", "size", "industry")


@dataclass(frozen=True, slots=True)
class Result:
    value: float
    potential: float
    value_band: str
    potential_band: str
    tier: str
    part_values: tuple[float, ...]  # PART_NAMES, then one per custom factor
    custom_keys: tuple[str, ...] = ()

    @property
    def parts(self) -> dict[str, float]:
        names = (*PART_NAMES, *(f"custom.{k}" for k in self.custom_keys))
        return dict(zip(names, self.part_values, strict=True))

    def reason_json(self, version: int) -> str:
        """``json.dumps(self.reason(version))``, written out: a run serialises 100,000 of these."""
        names = (*PART_NAMES, *(f"custom.{k}" for k in self.custom_keys))
        parts = ",".join(f'"{n}":{v!r}' for n, v in zip(names, self.part_values, strict=True))
        return (
            f'{{"value":{self.value!r},"potential":{self.potential!r},"value_band":"{self.value_band}",'
            f'"potential_band":"{self.potential_band}","parts":{{{parts}}},"model_version":{int(version)}}}'
        )

    def reason(self, version: int) -> dict[str, Any]:
        return {
            "value": self.value,
            "potential": self.potential,
            "value_band": self.value_band,
            "potential_band": self.potential_band,
            "parts": self.parts,
            "model_version": version,
        }


def _scaled(amount: float, full: float) -> float:
    if full <= 0:
        return 0.0
    return max(0.0, min(amount / full, 1.0)) * 100.0


def _mean(pairs: Iterable[tuple[float, float]]) -> float:
    total = weights = 0.0
    for weight, score in pairs:
        if weight > 0:
            total += weight * score
            weights += weight
    return round(total / weights, 1) if weights else 0.0


def _custom_score(factor: CustomFactor, raw: Any) -> float:
    if raw is None or isinstance(raw, bool):
        return 0.0
    if factor.points:
        return max(0.0, min(float(factor.points.get(str(raw), 0)), 100.0))
    if factor.full is not None and isinstance(raw, int | float):
        return _scaled(float(raw), factor.full)
    return 0.0


def band(score: float, high: float, medium: float) -> str:
    if score >= high:
        return "high"
    if score >= medium:
        return "medium"
    return "low"


def _points(table: Mapping[str, float], key: str) -> float:
    return float(max(0.0, min(float(table.get(key, 0)), 100.0)))


def scorer(params: Params, today: dt.date) -> Callable[[Facts], Result]:
    """``score`` with the parameters bound once: what a run calls 100,000 times. Each part is
    rounded to one decimal first, so the parts recorded in the reason give the score shown."""
    w_pay, w_won, w_freq, w_rec = (
        params.weight_payments,
        params.weight_won,
        params.weight_frequency,
        params.weight_recency,
    )
    value_weights = sum(w for w in (w_pay, w_won, w_freq, w_rec) if w > 0)
    pay_full, won_full = params.payments_full, params.won_full
    freq_full, rec_days = float(params.frequency_full), params.recency_days
    pot_full = params.potential_full
    w_pot, w_size, w_ind = params.weight_potential, params.weight_size, params.weight_industry
    size_points = {k: max(0.0, min(float(v), 100.0)) for k, v in params.size_points.items()}
    industry_points = {k: max(0.0, min(float(v), 100.0)) for k, v in params.industry_points.items()}
    factors = params.custom_factors
    potential_weights = sum(w for w in (w_pot, w_size, w_ind, *(f.weight for f in factors)) if w > 0)
    v_high, v_medium, p_high, p_medium = (
        params.value_high,
        params.value_medium,
        params.potential_high,
        params.potential_medium,
    )
    grid = {(v, p): str(params.grid.get(v, {}).get(p, "")) for v in BANDS for p in BANDS}
    keys = params.custom_keys

    def scaled(amount: float, full: float) -> float:
        if full <= 0 or amount <= 0:
            return 0.0
        return 100.0 if amount >= full else round(amount / full * 100.0, 1)

    def run(facts: Facts) -> Result:
        recency = 0.0
        if facts.last_purchase is not None and rec_days > 0:
            days = (today - facts.last_purchase).days
            recency = 100.0 if days <= 0 else round(max(0.0, 1.0 - days / rec_days) * 100.0, 1)
        payments = scaled(facts.payments, pay_full)
        won = scaled(facts.won, won_full)
        frequency = scaled(float(facts.purchases), freq_full)
        total = 0.0
        if w_pay > 0:
            total += w_pay * payments
        if w_won > 0:
            total += w_won * won
        if w_freq > 0:
            total += w_freq * frequency
        if w_rec > 0:
            total += w_rec * recency
        value = round(total / value_weights, 1) if value_weights else 0.0
        amount = scaled(facts.potential or 0.0, pot_full)
        size = size_points.get(facts.size, 0.0)
        industry = industry_points.get(facts.industry, 0.0)
        total = 0.0
        if w_pot > 0:
            total += w_pot * amount
        if w_size > 0:
            total += w_size * size
        if w_ind > 0:
            total += w_ind * industry
        parts: tuple[float, ...] = (payments, won, frequency, recency, amount, size, industry)
        if factors:
            custom = tuple(round(_custom_score(f, facts.custom.get(f.key)), 1) for f in factors)
            for f, part in zip(factors, custom, strict=True):
                if f.weight > 0:
                    total += f.weight * part
            parts += custom
        potential = round(total / potential_weights, 1) if potential_weights else 0.0
        vband = "high" if value >= v_high else "medium" if value >= v_medium else "low"
        pband = "high" if potential >= p_high else "medium" if potential >= p_medium else "low"
        return Result(value, potential, vband, pband, grid[(vband, pband)], parts, keys)

    return run


def score(params: Params, facts: Facts, today: dt.date) -> Result:
    return scorer(params, today)(facts)
