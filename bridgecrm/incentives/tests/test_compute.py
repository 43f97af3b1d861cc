"""The worked examples of docs/incentives.md, exact to the cent (pure arithmetic, no database)."""

from __future__ import annotations

from decimal import Decimal as D

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bridgecrm.incentives.compute import Band, Item, Rules, clawback_amount, commission

BANDS = (Band(D(0), D(2)), Band(D(80), D(3)))
ITEMS = [Item("deal:A", D("50000")), Item("deal:B", D("40000")), Item("deal:C", D("30000"))]
TARGET = D("100000")


def rows(result):
    return [(line.kind, line.key, line.base, line.rate, line.amount) for line in result.lines]


def test_example_1_marginal_tiers() -> None:
    result = commission(ITEMS[:2], TARGET, Rules(BANDS))
    assert result.attainment == D("90.00")
    assert rows(result) == [
        ("commission", "deal:A", D("50000"), D(2), D("1000.00")),
        ("commission", "deal:B", D("30000"), D(2), D("600.00")),
        ("commission", "deal:B", D("10000"), D(3), D("300.00")),
    ]
    assert result.total == D("1900.00")


def test_example_1_whole_amount_tiers() -> None:
    result = commission(ITEMS[:2], TARGET, Rules(BANDS, whole=True))
    assert rows(result) == [
        ("commission", "deal:A", D("50000"), D(3), D("1500.00")),
        ("commission", "deal:B", D("40000"), D(3), D("1200.00")),
    ]
    assert result.total == D("2700.00")


def test_example_2_accelerator() -> None:
    result = commission(ITEMS, TARGET, Rules(BANDS, accelerator=D("1.5")))
    assert result.attainment == D("120.00")
    assert rows(result)[-2:] == [
        ("commission", "deal:C", D("30000"), D(3), D("900.00")),
        ("accelerator", "deal:C", D("20000"), D("1.50"), D("300.00")),
    ]
    assert result.total == D("3100.00")
    whole = commission(ITEMS, TARGET, Rules(BANDS, whole=True, accelerator=D("1.5")))
    assert whole.total == D("1500.00") + D("1200.00") + D("900.00") + D("300.00")


def test_example_3_cap() -> None:
    result = commission(ITEMS, TARGET, Rules(BANDS, accelerator=D("1.5"), cap=D("3000")))
    assert rows(result)[-1] == ("cap", "", None, None, D("-100.00"))
    assert result.total == D("3000.00")


def test_example_4_clawback() -> None:
    # Deal B was paid 600.00 + 300.00 in an uncapped statement: both come back in full.
    assert clawback_amount(D("600.00"), D("1900.00"), D(0)) == D("-600.00")
    # In the capped statement (3,100.00 earned, -100.00 cap) each line was paid at 3000/3100.
    assert clawback_amount(D("600.00"), D("3100.00"), D("-100.00")) == D("-580.65")
    assert clawback_amount(D("300.00"), D("3100.00"), D("-100.00")) == D("-290.32")


def test_no_target_pays_the_first_band_without_accelerator() -> None:
    result = commission(ITEMS, None, Rules(BANDS, accelerator=D(2)))
    assert result.attainment is None
    assert result.total == D("2400.00")
    assert {line.kind for line in result.lines} == {"commission"}


def test_cents_round_half_up_per_line() -> None:
    result = commission([Item("deal:X", D("12345.67")), Item("payment:Y", D("0.25"))], None, Rules(BANDS))
    assert [line.amount for line in result.lines] == [D("246.91"), D("0.01")]


cents_strategy = st.integers(min_value=1, max_value=100_000_000).map(lambda n: D(n) / 100)
amounts = st.lists(cents_strategy, min_size=0, max_size=12)


@settings(suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(amounts, cents_strategy, st.booleans())
def test_parts_add_up_to_the_items(values: list[D], target: D, whole: bool) -> None:
    items = [Item(f"deal:{i}", v) for i, v in enumerate(values)]
    result = commission(items, target, Rules(BANDS, whole=whole, accelerator=D("1.5")))
    for item in items:
        base = sum(line.base for line in result.lines if line.key == item.key and line.kind == "commission")
        assert base == item.amount
    assert result.total == sum(line.amount for line in result.lines)
