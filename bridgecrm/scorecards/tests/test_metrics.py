"""Metric computations not covered by the worked example: sales against target, collection rate,
training completion, who a scorecard applies to, money in another currency."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
import time_machine

from bridgecrm.conftest import Company
from bridgecrm.contracts.models import PaymentPlanLine
from bridgecrm.core import dates
from bridgecrm.core.errors import ApplicationError
from bridgecrm.core.periods import Period
from bridgecrm.scorecards import metrics, scoring, services
from bridgecrm.targets.models import Target
from bridgecrm.tiers.tests.helpers import customer, paid, won
from bridgecrm.training import services as training_services
from bridgecrm.users.tests.factories import role

pytestmark = pytest.mark.django_db

Q1 = Period.quarter(2026, 1)


def values(code: str, company: Company) -> dict[int, Decimal | None]:
    ids = [company.owner.pk, company.teammate.pk]
    return metrics.compute_all([code], period=Q1, user_ids=ids, today=dt.date(2026, 4, 10))[code]


def test_sales_against_target(company: Company) -> None:
    target = customer(company.owner, "Acme")
    won(company.admin, target, "45000", dt.date(2026, 3, 3))
    won(company.admin, target, "99000", dt.date(2026, 4, 3))  # next quarter
    Target.objects.create(
        measure="signed_amount",
        period_kind="month",
        period_start=dt.date(2026, 1, 1),
        period_end=dt.date(2026, 1, 31),
        scope="rep",
        user=company.owner,
        amount=Decimal(20_000),
    )
    Target.objects.create(
        measure="signed_amount",
        period_kind="month",
        period_start=dt.date(2026, 2, 1),
        period_end=dt.date(2026, 2, 28),
        scope="rep",
        user=company.owner,
        amount=Decimal(40_000),
    )
    got = values("sales_vs_target", company)
    assert got == {company.owner.pk: Decimal("0.7500"), company.teammate.pk: None}  # 45,000 ÷ 60,000


def test_collection_rate_counts_what_was_paid_by_the_period_end(company: Company) -> None:
    target = customer(company.owner, "Acme")
    paid(company.owner, target, "30000", dt.date(2026, 2, 1))  # due and paid in Q1
    # A second line due in Q1 and still open: 30,000 of 50,000 due → 60 %
    line = PaymentPlanLine.objects.get()
    PaymentPlanLine.objects.create(contract=line.contract, due_on=dt.date(2026, 3, 15), amount=Decimal(20_000))
    assert values("collection_rate", company) == {company.owner.pk: Decimal("0.6000"), company.teammate.pk: None}
    assert values("collected_amount", company)[company.owner.pk] == Decimal("30000.00")


def test_training_completion_is_no_data_without_enrolments(company: Company) -> None:
    assert values("training_completion", company) == {company.owner.pk: None, company.teammate.pk: None}


def test_unavailable_metrics_have_reasons_and_no_numbers() -> None:
    metric = metrics.REGISTRY["satisfaction"]
    assert not metric.available and metric.unavailable
    assert len(metrics.available()) == 13


def test_market_research_counts_each_reps_notes_written_in_the_period(company: Company) -> None:
    """Market research notes are library articles of that kind, by author, on the company's days."""

    def note(author: object, kind: str, at: dt.datetime) -> None:
        with time_machine.travel(at, tick=False):
            training_services.article_create(actor=author, kind=kind, title="华东区竞品报价", body="竞品A 降价 10%")

    shanghai = dates.company_zone()
    note(company.owner, "market", dt.datetime(2026, 1, 1, 0, 30, tzinfo=shanghai))  # Q1 in Shanghai (UTC: 2025)
    note(company.owner, "market", dt.datetime(2026, 3, 31, 23, 30, tzinfo=shanghai))
    note(company.owner, "story", dt.datetime(2026, 2, 1, 10, 0, tzinfo=shanghai))  # another kind
    note(company.owner, "market", dt.datetime(2026, 4, 1, 0, 10, tzinfo=shanghai))  # Q2
    note(company.manager_a, "market", dt.datetime(2026, 2, 1, 10, 0, tzinfo=shanghai))  # not asked
    assert values("market_research", company) == {company.owner.pk: Decimal(2), company.teammate.pk: Decimal(0)}
    metric = metrics.REGISTRY["market_research"]
    assert metric.available and metric.additive and metric.kind == "process"


def test_reps_for_roles_and_teams(company: Company) -> None:
    card = services.scorecard_save(
        actor=company.admin,
        values=services.ScorecardValues(
            "Team A reps",
            "",
            "quarter",
            True,
            [role("rep").pk],
            [company.team_a.pk],
            [scoring.Rule("visits", Decimal(100), target_value=Decimal(1))],
        ),
    )
    assert {u.username for u in services.reps_for(card)} == {"owner", "teammate"}


def test_money_in_another_currency_counts_in_the_base_currency(company: Company) -> None:
    from bridgecrm.core.services import exchange_rate_set

    exchange_rate_set(actor=company.admin, currency="USD", valid_from=dt.date(2026, 1, 1), rate="7.1000")
    exchange_rate_set(actor=company.admin, currency="USD", valid_from=dt.date(2026, 4, 1), rate="9.0000")
    target = customer(company.owner, "Acme")
    paid(company.owner, target, "1000", dt.date(2026, 2, 1), currency="USD")
    paid(company.owner, target, "500", dt.date(2026, 2, 2))
    # 1,000 USD at the rate in force on 2026-03-31 (7.1) + 500 CNY
    assert values("collected_amount", company)[company.owner.pk] == Decimal("7600.00")


def test_a_rate_metric_reads_its_rep_target_on_the_same_code(company: Company) -> None:
    """Targets keep rates in percent; a scorecard's "rep target" of the signing rate reads the rep's
    signing-rate target of the period and uses it as a share (40 % → 0.4)."""
    from bridgecrm.targets import services as target_services

    c = company
    target_services.target_create(
        actor=c.admin, measure="signing_rate", period="2026-Q1", scope="rep", user=c.owner, amount="40"
    )
    signing = metrics.REGISTRY["signing_rate"]
    assert metrics.has_rep_targets(signing) and not metrics.has_rep_targets(metrics.REGISTRY["satisfaction"])
    assert metrics.rep_targets(signing, period=Q1, user_ids=[c.owner.pk, c.teammate.pk]) == {
        c.owner.pk: Decimal("0.4000")
    }
    services.check_rules([scoring.Rule("signing_rate", Decimal(100), target_kind="rep")])
    with pytest.raises(ApplicationError):  # sales against target has no targets of its own
        services.check_rules([scoring.Rule("sales_vs_target", Decimal(100), target_kind="rep")])


def test_rep_values_are_the_parts_combined(company: Company) -> None:
    """The refactor through parts keeps every rep's value: the collection rate of the owner."""
    c = company
    a = customer(c.owner, "Acme")
    paid(c.owner, a, "300.00", dt.date(2026, 2, 1))
    ctx = metrics.Context(today=dt.date(2026, 4, 10))
    parts = metrics.collection_rate_parts(Q1, None, ctx)
    assert parts[c.owner.pk][1] > 0
    assert values("collection_rate", company)[c.owner.pk] == metrics._rate(parts[c.owner.pk])
    assert values("collection_rate", company)[c.teammate.pk] is None
