"""The demo's targets and plans: every level adds up to its parent, one milestone is overdue."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from decimal import Decimal

import pytest

from bridgecrm.conftest import Company
from bridgecrm.targets import selectors
from bridgecrm.targets.demo import create_demo_targets
from bridgecrm.targets.models import Milestone, SalesPlan, Target
from bridgecrm.targets.tests.helpers import customer, paid, won

pytestmark = pytest.mark.django_db


def test_demo_targets_add_up_everywhere(company: Company) -> None:
    c = company
    a, b = customer(c.owner, "A"), customer(c.other_rep, "B")
    won(c.admin, a, "300000.00", dt.date(2025, 3, 1))
    won(c.admin, b, "100000.00", dt.date(2025, 11, 1))
    paid(c.owner, a, "50000.00", dt.date(2025, 6, 1))
    today = dt.date(2026, 5, 20)
    counts = create_demo_targets(today=today)
    assert counts["sales plans"] == 2 and counts["targets"] == Target.objects.count()
    company_signed = Target.objects.get(scope="company", measure="signed_amount", period_kind="year")
    assert company_signed.amount == Decimal("1000000.00")  # 400,000 × 1.2 is below the floor of a million
    sums: dict[tuple[int, bool], Decimal] = defaultdict(Decimal)
    for t in Target.objects.filter(parent__isnull=False).select_related("parent"):
        assert t.parent is not None
        if not t.additive:  # a rate is copied to its parts: they carry the parent's value
            assert t.amount == t.parent.amount and t.method == "same"
            continue
        same = (t.period_start, t.period_end) == (t.parent.period_start, t.parent.period_end)
        sums[(t.parent.pk, same)] += t.amount
    parents = {t.pk: t.amount for t in Target.objects.all() if t.additive}
    assert sums and all(total == parents[pk] for (pk, _same), total in sums.items())
    rate = Target.objects.get(scope="company", measure="signing_rate", period_kind="year")
    assert rate.amount == Decimal("95.00")  # last year two won, none lost: 100 % + 5, capped at 95 %
    assert {t.amount for t in rate.children.all()} == {Decimal("95.00")} and rate.children.count() >= 1
    assert SalesPlan.objects.count() == 2 and Milestone.objects.count() == 5
    assert len(selectors.overdue_milestones(actor=c.admin, today=today)) == 1
