"""The tier arithmetic on plain values (no database)."""

from __future__ import annotations

import datetime as dt

from bridgecrm.tiers import scoring
from bridgecrm.tiers.models import default_grid

TODAY = dt.date(2026, 6, 30)


def params(**overrides: object) -> scoring.Params:
    values: dict[str, object] = {
        "weight_payments": 40.0,
        "weight_won": 30.0,
        "weight_frequency": 15.0,
        "weight_recency": 15.0,
        "payments_full": 1_000_000.0,
        "won_full": 1_000_000.0,
        "frequency_full": 6,
        "recency_days": 365,
        "weight_potential": 50.0,
        "weight_size": 30.0,
        "weight_industry": 20.0,
        "potential_full": 2_000_000.0,
        "size_points": {"1-10": 10, "11-50": 30, "51-200": 55, "201-1000": 80, "1000+": 100},
        "industry_points": {"finance": 100, "retail": 50},
        "custom_factors": (),
        "value_high": 60.0,
        "value_medium": 25.0,
        "potential_high": 60.0,
        "potential_medium": 30.0,
        "grid": default_grid(),
    }
    values.update(overrides)
    return scoring.Params(**values)  # type: ignore[arg-type]


def test_value_score_is_the_weighted_mean_of_rfm_parts() -> None:
    facts = scoring.Facts(payments=500000.0, won=1500000.0, purchases=3, last_purchase=dt.date(2026, 3, 31))
    result = scoring.score(params(), facts, TODAY)
    # payments 50, won 100 (capped), frequency 3/6 = 50, recency 1 - 91/365 = 75.1
    assert result.parts["payments"] == 50.0
    assert result.parts["won"] == 100.0
    assert result.parts["frequency"] == 50.0
    assert result.parts["recency"] == 75.1
    # (40*50 + 30*100 + 15*50 + 15*75.1) / 100 = 68.765 → 68.8
    assert result.value == 68.8
    assert result.value_band == "high"


def test_potential_score_uses_amount_size_industry_and_custom_fields() -> None:
    p = params(
        custom_factors=(
            scoring.CustomFactor(key="staff", weight=25, full=400),
            scoring.CustomFactor(key="segment", weight=25, points={"ent": 100, "smb": 20}),
        )
    )
    facts = scoring.Facts(
        potential=1000000.0, size="201-1000", industry="retail", custom={"staff": 100, "segment": "smb"}
    )
    result = scoring.score(p, facts, TODAY)
    # amount 50, size 80, industry 50, staff 25, segment 20:
    # (50*50 + 30*80 + 20*50 + 25*25 + 25*20) / 150 = 7025 / 150 = 46.83 → 46.8
    assert result.parts["custom.staff"] == 25.0
    assert result.parts["custom.segment"] == 20.0
    assert result.potential == 46.8
    assert result.potential_band == "medium"
    assert result.value == 0.0
    assert result.tier == "D"  # low value × medium potential


def test_thresholds_are_inclusive_and_the_grid_decides_the_tier() -> None:
    assert scoring.band(60.0, 60.0, 25.0) == "high"
    assert scoring.band(59.9, 60.0, 25.0) == "medium"
    assert scoring.band(25.0, 60.0, 25.0) == "medium"
    assert scoring.band(24.9, 60.0, 25.0) == "low"
    grid = {"high": {"high": "P", "medium": "P", "low": "Q"}, "medium": dict.fromkeys(("high", "medium", "low"), "R")}
    grid["low"] = dict.fromkeys(("high", "medium", "low"), "S")
    facts = scoring.Facts(payments=1000000.0, won=1000000.0, purchases=6, last_purchase=TODAY)
    assert scoring.score(params(grid=grid), facts, TODAY).tier == "Q"  # value 100, potential 0


def test_no_weights_and_odd_custom_values_score_zero() -> None:
    p = params(
        weight_payments=0.0,
        weight_won=0.0,
        weight_frequency=0.0,
        weight_recency=0.0,
        custom_factors=(scoring.CustomFactor(key="staff", weight=10, full=100),),
    )
    facts = scoring.Facts(payments=9e9, custom={"staff": "many"})
    result = scoring.score(p, facts, TODAY)
    assert result.value == 0.0
    assert result.parts["custom.staff"] == 0.0
    # A purchase older than the recency horizon scores 0 for recency.
    old = scoring.Facts(last_purchase=TODAY - dt.timedelta(days=400))
    assert scoring.score(params(), old, TODAY).parts["recency"] == 0.0


def test_reason_json_is_the_reason() -> None:
    import json

    p = params(custom_factors=(scoring.CustomFactor(key="staff", weight=25, full=400),))
    facts = scoring.Facts(payments=123456.0, purchases=2, last_purchase=TODAY, custom={"staff": 7})
    result = scoring.score(p, facts, TODAY)
    assert json.loads(result.reason_json(3)) == result.reason(3)
