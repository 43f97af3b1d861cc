from __future__ import annotations

import datetime as dt

import pytest

from bridgecrm.conftest import Company
from bridgecrm.core.periods import Period
from bridgecrm.training import selectors
from bridgecrm.training.demo import create_demo_training
from bridgecrm.training.models import Article, Enrollment

pytestmark = pytest.mark.django_db


def test_demo_training(company: Company) -> None:
    today = dt.date(2026, 12, 5)
    counts = create_demo_training(today=today)
    assert counts["training courses"] == 5 and counts["library articles"] == 9
    assert counts["training sessions"] == 15  # fortnightly over 26 weeks, and two upcoming
    assert 0 < counts["completed enrolments"] < counts["enrolments"] == Enrollment.objects.count()
    assert Enrollment.objects.filter(session__starts_at__date__gt=today, completed_at__isnull=False).count() == 0
    due = selectors.coaching_due(actor=company.admin, today=today, within_days=0)
    assert len(due) == 1 and due[0].next_check_in == today
    rates = selectors.completion_rates(
        period=Period.quarter(2026, 4), user_ids=[company.owner.pk, company.teammate.pk, company.other_rep.pk]
    )
    assert rates and all(0 <= r <= 1 for r in rates.values())
    assert (
        Article.objects.filter(title__contains="价格").exists()
        or Article.objects.filter(tags__contains=",价格,").exists()
    )
