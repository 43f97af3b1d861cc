"""The decomposition arithmetic: exact sums after rounding, for every method's weights (property
tests), mismatches, coverage, projection and status."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bridgecrm.targets import decompose

D = Decimal

amounts = st.integers(min_value=0, max_value=10**15).map(lambda cents: D(cents).scaleb(-2))
counts = st.integers(min_value=0, max_value=10**9).map(D)
weights = st.lists(
    st.one_of(
        st.integers(min_value=0, max_value=10**9).map(D),
        st.decimals(min_value=0, max_value=10**9, places=4, allow_nan=False, allow_infinity=False),
    ),
    min_size=1,
    max_size=40,
)


@given(total=amounts, w=weights)
def test_money_parts_sum_to_parent_exactly(total: Decimal, w: list[Decimal]) -> None:
    result = decompose.split(total, w, places=2)
    assert sum(result.parts, D(0)) == total
    assert len(result.parts) == len(w)
    assert all(p >= 0 and p == p.quantize(D("0.01")) for p in result.parts)
    assert result.fell_back_to_equal == (sum(w, D(0)) == 0)


@given(total=counts, w=weights)
def test_count_parts_are_whole_and_sum_exactly(total: Decimal, w: list[Decimal]) -> None:
    result = decompose.split(total, w, places=0)
    assert sum(result.parts, D(0)) == total
    assert all(p == p.to_integral_value() for p in result.parts)


@given(total=amounts, n=st.integers(min_value=1, max_value=60))
def test_equal_split_differs_by_at_most_one_cent(total: Decimal, n: int) -> None:
    parts = decompose.split(total, [D(1)] * n, places=2).parts
    assert sum(parts, D(0)) == total
    assert max(parts) - min(parts) <= D("0.01")


@given(total=amounts, w=weights)
def test_each_part_is_within_one_unit_of_its_exact_share(total: Decimal, w: list[Decimal]) -> None:
    s = sum(w, D(0))
    if s == 0:
        return
    for part, weight in zip(decompose.split(total, w, places=2).parts, w, strict=True):
        assert abs(part - total * weight / s) < D("0.01")


@given(parent=amounts, children=st.lists(amounts, max_size=12))
def test_mismatch_is_the_difference_of_the_sums(parent: Decimal, children: list[Decimal]) -> None:
    found = decompose.mismatch(parent, children)
    total = sum(children, D(0))
    if not children or total == parent:
        assert found is None
    else:
        assert found is not None and found.difference == total - parent


@given(pipe=amounts, target=amounts, actual=amounts)
def test_coverage(pipe: Decimal, target: Decimal, actual: Decimal) -> None:
    got = decompose.coverage(pipe, target, actual)
    if target - actual <= 0:
        assert got is None
    else:
        assert got == (pipe / (target - actual)).quantize(D("0.01"))


def test_worked_example_from_the_docs() -> None:
    # 1,000,000.00 split by last year's 300 : 500 : 200 thousand, then by thirds.
    assert decompose.split(D("1000000.00"), [D(300000), D(500000), D(200000)], places=2).parts == [
        D("300000.00"),
        D("500000.00"),
        D("200000.00"),
    ]
    assert decompose.split(D("100.00"), [D(1)] * 3, places=2).parts == [D("33.34"), D("33.33"), D("33.33")]
    assert decompose.split(D("10"), [D(1)] * 3, places=0).parts == [D(4), D(3), D(3)]
    # Largest remainder: 0.5 / 0.3 / 0.2 of 0.07 → 0.035 / 0.021 / 0.014 → 0.04, 0.02, 0.01.
    assert decompose.split(D("0.07"), [D(5), D(3), D(2)], places=2).parts == [D("0.04"), D("0.02"), D("0.01")]


def test_no_data_falls_back_to_equal() -> None:
    result = decompose.split(D("90.00"), [D(0), D(0), D(0)], places=2)
    assert result.fell_back_to_equal and result.parts == [D("30.00")] * 3


def test_bad_inputs_are_refused() -> None:
    with pytest.raises(ValueError):
        decompose.split(D("1.005"), [D(1)], places=2)
    with pytest.raises(ValueError):
        decompose.split(D("1"), [D(-1)], places=2)
    with pytest.raises(ValueError):
        decompose.split(D("1"), [], places=2)


def test_projection_and_status_thresholds() -> None:
    # 31-day month, 10 days gone, 300 so far: 930 by the end.
    assert decompose.projection(D("300.00"), elapsed_days=10, period_days=31, places=2) == D("930.00")
    assert decompose.projection(D("300.00"), elapsed_days=0, period_days=31, places=2) is None
    assert decompose.projection(D("300.00"), elapsed_days=40, period_days=31, places=2) == D("300.00")
    assert decompose.status(D("930"), D("300"), D("930")) == "on_track"
    assert decompose.status(D("1000"), D("300"), D("850")) == "at_risk"
    assert decompose.status(D("1000"), D("300"), D("849.99")) == "behind"
    assert decompose.status(D("1000"), D("1000"), None) == "on_track"
    assert decompose.status(D("1000"), D("0"), None) == "not_started"
