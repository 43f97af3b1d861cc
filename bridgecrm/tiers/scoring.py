"""The tier arithmetic: pure functions over plain values (no ORM), so the preview, the nightly run
and the one-customer refresh compute exactly the same thing, and tests need no database.

Every part is scaled to 0–100 and each score is the weighted mean of its parts (weights are
relative; all zero gives 0). Scores are rounded to one decimal before banding, so a threshold
compares against the number people see.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
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


@dataclass
class Facts:
    """What the scores are computed from, for one customer, over the trailing 12 months."""

    payments: Decimal = Decimal(0)  # collected, in the base currency
    won: Decimal = Decimal(0)  # won deal amounts, in the base currency
    purchases: int = 0  # won deals
    last_purchase: dt.date | None = None  # latest payment or won deal
    potential: Decimal | None = None  # estimated annual potential
    size: str = ""
    industry: str = ""
    custom: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Result:
    value: float
    potential: float
    value_band: str
    potential_band: str
    tier: str
    parts: dict[str, float]

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


def score(params: Params, facts: Facts, today: dt.date) -> Result:
    recency = 0.0
    if facts.last_purchase is not None and params.recency_days > 0:
        days = max(0, (today - facts.last_purchase).days)
        recency = max(0.0, 1.0 - days / params.recency_days) * 100.0
    parts = {
        "payments": round(_scaled(float(facts.payments), params.payments_full), 1),
        "won": round(_scaled(float(facts.won), params.won_full), 1),
        "frequency": round(_scaled(float(facts.purchases), float(params.frequency_full)), 1),
        "recency": round(recency, 1),
        "potential_amount": round(_scaled(float(facts.potential or 0), params.potential_full), 1),
        "size": float(max(0.0, min(float(params.size_points.get(facts.size, 0)), 100.0))),
        "industry": float(max(0.0, min(float(params.industry_points.get(facts.industry, 0)), 100.0))),
    }
    value = _mean(
        [
            (params.weight_payments, parts["payments"]),
            (params.weight_won, parts["won"]),
            (params.weight_frequency, parts["frequency"]),
            (params.weight_recency, parts["recency"]),
        ]
    )
    potential_pairs = [
        (params.weight_potential, parts["potential_amount"]),
        (params.weight_size, parts["size"]),
        (params.weight_industry, parts["industry"]),
    ]
    for factor in params.custom_factors:
        part = round(_custom_score(factor, facts.custom.get(factor.key)), 1)
        parts[f"custom.{factor.key}"] = part
        potential_pairs.append((factor.weight, part))
    potential = _mean(potential_pairs)
    value_band = band(value, params.value_high, params.value_medium)
    potential_band = band(potential, params.potential_high, params.potential_medium)
    tier = str(params.grid.get(value_band, {}).get(potential_band, ""))
    return Result(value, potential, value_band, potential_band, tier, parts)
