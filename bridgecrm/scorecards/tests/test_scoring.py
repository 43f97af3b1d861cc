"""The scoring math without a database."""

from __future__ import annotations

from decimal import Decimal

import pytest

from bridgecrm.scorecards import scoring
from bridgecrm.scorecards.scoring import Rule

D = Decimal


def test_linear_capped() -> None:
    rule = Rule("x", D(30), cap=D(120))
    assert scoring.score_metric(rule, D(80_000), D(100_000)).points == D("24.00")
    assert scoring.score_metric(rule, D(150_000), D(100_000)).points == D("36.00")


def test_half_up_rounding() -> None:
    # 1/3 → 0.3333 → 3.333 → 3.33; 2/3 → 0.6667 → 6.667 → 6.67; 0.1245 → 1.245 → 1.25 (half up, not half even)
    assert scoring.score_metric(Rule("x", D(10)), D(1), D(3)).points == D("3.33")
    assert scoring.score_metric(Rule("x", D(10)), D(2), D(3)).points == D("6.67")
    assert scoring.score_metric(Rule("x", D(10)), D(1245), D(10_000)).points == D("1.25")


def test_threshold_and_bands() -> None:
    threshold = Rule("x", D(10), curve="threshold", threshold=D(90))
    assert scoring.score_metric(threshold, D(89), D(100)).points == D("0.00")
    assert scoring.score_metric(threshold, D(90), D(100)).points == D("10.00")
    bands = Rule("x", D(20), curve="bands", bands=scoring.parse_bands("50:20, 100:100, 80:60"))
    assert [scoring.score_metric(bands, D(v), D(100)).points for v in (49, 50, 79, 80, 100, 130)] == [
        D("0.00"),
        D("4.00"),
        D("4.00"),
        D("12.00"),
        D("20.00"),
        D("20.00"),
    ]


def test_lower_is_better() -> None:
    rule = Rule("x", D(10), direction="lower", cap=D(150))
    assert scoring.score_metric(rule, D(5), D(10)).achievement == D("1.5000")
    assert scoring.score_metric(rule, D(30), D(10)).points == D("0.00")


def test_no_data_and_no_target_score_zero() -> None:
    rule = Rule("x", D(10))
    assert scoring.score_metric(rule, None, D(1)).status == scoring.NO_DATA
    assert scoring.score_metric(rule, D(1), None).status == scoring.NO_TARGET
    assert scoring.score_metric(rule, D(1), D(0)).points == D("0.00")


def test_ties_share_a_rank() -> None:
    assert scoring.competition_ranks([(1, D(90)), (2, D(90)), (3, D(80)), (4, D(95))]) == {4: 1, 1: 2, 2: 2, 3: 4}
    assert scoring.competition_ranks([(1, D(90)), (2, D(90)), (3, D(80))]) == {1: 1, 2: 1, 3: 3}


@pytest.mark.parametrize(
    ("rules", "problem"),
    [
        ([], "empty"),
        ([Rule("x", D(60), target_value=D(1)), Rule("y", D(40.5), target_value=D(1))], "weights"),
        ([Rule("x", D(50), target_value=D(1)), Rule("x", D(50), target_value=D(1))], "duplicate"),
        ([Rule("x", D(100), curve="bands", target_value=D(1))], "bands"),
        ([Rule("x", D(100))], "target"),
    ],
)
def test_check_rules(rules: list[Rule], problem: str) -> None:
    assert problem in scoring.check_rules(rules)


def test_parse_bands_refuses_garbage() -> None:
    with pytest.raises(ValueError):
        scoring.parse_bands("100")
