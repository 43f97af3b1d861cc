"""The demo's incentives: plans, rules, a criterion, last quarter approved, this month draft."""

from __future__ import annotations

import datetime as dt

import pytest

from bridgecrm.activities.models import Notification, NotificationKind
from bridgecrm.conftest import Company
from bridgecrm.incentives.demo import create_demo_incentives
from bridgecrm.incentives.models import Statement, StatementStatus
from bridgecrm.incentives.tests.helpers import won_deal

pytestmark = pytest.mark.django_db


def test_demo_without_targets_or_scorecards(company: Company) -> None:
    won_deal(company.admin, company.owner, "10000", dt.date(2026, 8, 3), "Summer")
    counts = create_demo_incentives(today=dt.date(2026, 11, 20))
    assert counts == {"commission plans": 3, "bonus rules": 2, "promotion criteria": 1, "statements": 12}
    approved = Statement.objects.filter(status=StatementStatus.APPROVED)
    assert {s.period.code for s in approved} == {"2026-07", "2026-08", "2026-09"} and approved.count() == 9
    assert set(Statement.objects.filter(status=StatementStatus.DRAFT).values_list("period_start", flat=True)) == {
        dt.date(2026, 11, 1)
    }
    august = Statement.objects.get(user=company.owner, period_start=dt.date(2026, 8, 1))
    assert august.total == 150 and august.approved_by == company.manager_a  # 1.5 % without a target
    assert Notification.objects.filter(kind=NotificationKind.STATEMENT_READY, recipient=company.owner).count() == 3
