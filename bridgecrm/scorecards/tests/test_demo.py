"""The demo scorecards: two scorecards, last quarter locked (with an adjustment), a current draft."""

from __future__ import annotations

import datetime as dt

import pytest

from bridgecrm.conftest import Company
from bridgecrm.scorecards.demo import create_demo_scorecards
from bridgecrm.scorecards.models import Evaluation, EvaluationAdjustment, Scorecard

pytestmark = pytest.mark.django_db


def test_demo_scorecards(company: Company) -> None:
    counts = create_demo_scorecards(today=dt.date(2026, 5, 20))
    assert counts == {"scorecards": 2, "evaluations": 3, "evaluation entries": 9}
    assert Scorecard.objects.count() == 2
    assert sorted(Evaluation.objects.values_list("period_start", "status")) == [
        (dt.date(2026, 1, 1), "locked"),
        (dt.date(2026, 1, 1), "locked"),
        (dt.date(2026, 4, 1), "draft"),
    ]
    assert EvaluationAdjustment.objects.count() == 2
