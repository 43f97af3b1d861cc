"""Deal services: create, edit with versions, gates, stage history, close and reopen, lines, audit."""

from __future__ import annotations

import datetime as dt
import decimal
from decimal import Decimal

import pytest
from django.db import transaction
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bridgecrm.core.errors import ApplicationError, Conflict, NotFound, PermissionDenied
from bridgecrm.core.models import AuditAction, AuditEntry, CompanyProfile, ExchangeRate
from bridgecrm.customers.tests.factories import make_contact, make_customer
from bridgecrm.pipeline import deals, services
from bridgecrm.pipeline.models import Competitor, Deal, DealLine, DealStageChange, Stage
from bridgecrm.pipeline.tests.deal_factories import make_deal, stage
from bridgecrm.pipeline.tests.factories import make_pipeline

pytestmark = pytest.mark.django_db


@pytest.fixture
def setup(company):
    pipeline = make_pipeline(company.admin, "新客户销售", is_default=True)
    customer = make_customer(company.owner, "华东电气")
    contact = make_contact(customer, "王伟")
    reason = services.lost_reason_create(actor=company.admin, name="价格太高")
    return company, pipeline, customer, contact, reason


def _state() -> tuple[object, ...]:
    return (
        list(Deal.objects.order_by("id").values_list()),
        list(DealStageChange.objects.order_by("id").values_list()),
        list(DealLine.objects.order_by("id").values_list()),
        list(Deal.competitors.through.objects.order_by("id").values_list()),
        list(Deal.collaborators.through.objects.order_by("id").values_list()),
        AuditEntry.objects.count(),
    )


def test_create_defaults_from_the_first_open_stage_and_audits(setup) -> None:
    company, pipeline, customer, contact, _r = setup
    deal = make_deal(company.owner, customer, amount="120000.5", contact=contact, competitors=["用友", " 用友 "])
    deal.refresh_from_db()
    first = stage(pipeline, 1)
    assert (deal.stage_id, deal.status, deal.probability, deal.forecast_category) == (first.pk, "open", 10, "pipeline")
    assert (deal.amount, deal.amount_base, deal.owner, deal.team) == (
        Decimal("120000.50"),
        Decimal("120000.50"),
        company.owner,
        company.team_a,
    )
    assert [c.name for c in deal.competitors.all()] == ["用友"]
    change = DealStageChange.objects.get(deal=deal)
    assert (change.from_stage, change.to_stage, change.seconds_in_from_stage) == (None, first, None)
    assert AuditEntry.objects.for_object(deal).get().action == AuditAction.CREATE


def test_create_for_a_customer_one_does_not_see_is_not_found_and_writes_nothing(setup) -> None:
    company, _p, customer, _c, _r = setup
    before = _state()
    for actor in (company.other_rep, company.teammate, company.manager_b):
        with pytest.raises(NotFound):
            make_deal(actor, customer)
    assert _state() == before


def test_create_with_a_contact_of_another_customer_is_refused(setup) -> None:
    company, _p, customer, _c, _r = setup
    other = make_customer(company.other_rep, "Other")
    foreign = make_contact(other, "李雷")
    before = _state()
    with pytest.raises(ApplicationError) as err:
        make_deal(company.owner, customer, contact=foreign)
    assert err.value.details == {"contact": [str(err.value.message)]}
    assert _state() == before


def test_amount_base_converts_at_the_rate_of_the_expected_close_date(setup) -> None:
    company, _p, customer, _c, _r = setup
    ExchangeRate.objects.create(currency="USD", valid_from=dt.date(2026, 1, 1), rate=Decimal("7.1"))
    ExchangeRate.objects.create(currency="USD", valid_from=dt.date(2026, 6, 1), rate=Decimal("7.3333333333"))
    deal = make_deal(company.owner, customer, amount="1000.01", currency="USD", expected_close_date="2026-03-31")
    assert deal.amount_base == Decimal("7100.07")  # 1000.01 × 7.1 = 7100.071 → rounded once
    deal = deals.deal_update(actor=company.owner, deal=deal, version=deal.version, expected_close_date="2026-07-01")
    assert deal.amount_base == Decimal("7333.41")  # 1000.01 × 7.3333333333 = 7333.4066…
    assert CompanyProfile.current().base_currency == "CNY"


def test_a_currency_without_a_rate_is_refused(setup) -> None:
    company, _p, customer, _c, _r = setup
    before = _state()
    with pytest.raises(ApplicationError) as err:
        make_deal(company.owner, customer, amount="10", currency="EUR")
    assert err.value.code == "missing_rate"
    assert _state() == before


def test_two_users_saving_from_the_same_version_the_second_is_told(setup) -> None:
    company, _p, customer, _c, _r = setup
    deal = make_deal(company.owner, customer, amount="100")
    version = deal.version
    deals.deal_update(actor=company.owner, deal=deal, version=version, amount="200")
    before = _state()
    with pytest.raises(Conflict) as err:
        deals.deal_update(actor=company.manager_a, deal=deal, version=version, amount="300")
    assert err.value.code == "stale"
    assert _state() == before
    deal.refresh_from_db()
    assert deal.amount == Decimal("200.00")


def test_edit_visibility_and_reassignment(setup) -> None:
    company, _p, customer, _c, _r = setup
    deal = make_deal(company.owner, customer)
    before = _state()
    with pytest.raises(NotFound):
        deals.deal_update(actor=company.other_rep, deal=deal, version=1, name="x")
    with pytest.raises(NotFound):
        deals.deal_update(actor=company.manager_b, deal=deal, version=1, name="x")
    with pytest.raises(PermissionDenied):  # a rep may not give their deal away
        deals.deal_update(actor=company.owner, deal=deal, version=1, owner=company.teammate)
    assert _state() == before
    deal = deals.deal_update(actor=company.owner, deal=deal, version=1, collaborators=[company.teammate])
    # the collaborator now sees it and may edit it, but not share it further
    deal = deals.deal_update(actor=company.teammate, deal=deal, version=deal.version, next_step="演示")
    with pytest.raises(PermissionDenied):
        deals.deal_update(actor=company.teammate, deal=deal, version=deal.version, collaborators=[])
    deal = deals.deal_update(actor=company.manager_a, deal=deal, version=deal.version, owner=company.teammate)
    assert (deal.owner, deal.team, deal.next_step) == (company.teammate, company.team_a, "演示")


def test_gate_refuses_naming_missing_fields_and_writes_nothing(setup) -> None:
    company, pipeline, customer, contact, _r = setup
    target = stage(pipeline, 3)
    services.stage_update(actor=company.admin, stage=target, gate_fields=["amount", "expected_close_date", "contact"])
    deal = make_deal(company.owner, customer)
    before = _state()
    with pytest.raises(ApplicationError) as err:
        deals.deal_move_to_stage(actor=company.owner, deal=deal, stage=target, version=1)
    assert err.value.code == "gate"
    assert err.value.details == {"missing": ["amount", "expected_close_date", "contact"]}
    with pytest.raises(ApplicationError) as err:
        deals.deal_move_to_stage(actor=company.owner, deal=deal, stage=target, version=1, values={"amount": "5"})
    assert err.value.details == {"missing": ["expected_close_date", "contact"]}
    assert _state() == before
    moved = deals.deal_move_to_stage(
        actor=company.owner,
        deal=deal,
        stage=target,
        version=1,
        values={"amount": "5000", "expected_close_date": "2026-12-31", "contact": contact.pk},
    )
    assert (moved.stage, moved.amount, moved.contact, moved.probability) == (target, Decimal("5000.00"), contact, 60)
    assert moved.forecast_category == "best_case"
    assert moved.version == 2


def test_move_records_seconds_in_the_previous_stage(setup) -> None:
    company, pipeline, customer, _c, _r = setup
    deal = make_deal(company.owner, customer)
    entered = timezone.now() - dt.timedelta(days=2, hours=3)
    Deal.objects.filter(pk=deal.pk).update(stage_entered_at=entered)
    moved = deals.deal_move_to_stage(actor=company.manager_a, deal=deal, stage=stage(pipeline, 2), version=1)
    change = DealStageChange.objects.filter(deal=deal).order_by("id").last()
    assert change.from_stage == stage(pipeline, 1)
    assert change.to_stage == stage(pipeline, 2)
    assert change.changed_by == company.manager_a
    assert abs(change.seconds_in_from_stage - (2 * 86400 + 3 * 3600)) <= 2
    assert moved.stage_entered_at == change.changed_at
    entries = AuditEntry.objects.for_object(deal).filter(field="stage")
    assert entries.count() == 1


def test_move_keeps_a_probability_given_with_it(setup) -> None:
    company, pipeline, customer, _c, _r = setup
    deal = make_deal(company.owner, customer)
    moved = deals.deal_move_to_stage(
        actor=company.owner, deal=deal, stage=stage(pipeline, 2), version=1, values={"probability": 45}
    )
    assert (moved.probability, moved.probability_overridden) == (45, True)


def test_move_to_a_stage_of_another_pipeline_is_refused(setup) -> None:
    company, _p, customer, _c, _r = setup
    other = make_pipeline(company.admin, "续约")
    deal = make_deal(company.owner, customer)
    with pytest.raises(ApplicationError):
        deals.deal_move_to_stage(actor=company.owner, deal=deal, stage=stage(other, 2), version=1)


def test_close_won_lost_and_reopen(setup) -> None:
    company, pipeline, customer, _c, reason = setup
    deal = make_deal(company.owner, customer, amount="100")
    won = deals.deal_close_won(actor=company.owner, deal=deal, version=1)
    assert (won.status, won.closed_on, won.probability, won.forecast_category) == (
        "won",
        timezone.localdate(),
        100,
        "closed",
    )
    reopened = deals.deal_reopen(actor=company.owner, deal=won, version=won.version)
    assert (reopened.status, reopened.closed_on, reopened.stage) == ("open", None, stage(pipeline, 1))
    before = _state()
    with pytest.raises(ApplicationError) as err:
        deals.deal_close_lost(actor=company.owner, deal=reopened, version=reopened.version, lost_reason=None)
    assert err.value.details.get("lost_reason")
    with pytest.raises(ApplicationError) as err:  # moving to the lost stage without a reason: the gate asks
        deals.deal_move_to_stage(actor=company.owner, deal=reopened, stage=stage(pipeline, 6), version=3)
    assert err.value.details == {"missing": ["lost_reason"]}
    assert _state() == before
    lost = deals.deal_close_lost(
        actor=company.owner, deal=reopened, version=reopened.version, lost_reason=reason.pk, note="预算砍了"
    )
    assert (lost.status, lost.lost_reason, lost.lost_note, lost.probability) == ("lost", reason, "预算砍了", 0)
    assert list(DealStageChange.objects.filter(deal=deal).order_by("id").values_list("to_stage__kind", flat=True)) == [
        "open",
        "won",
        "open",
        "lost",
    ]


def test_lines_set_amount_and_refuse_bad_lines(setup) -> None:
    company, _p, customer, _c, _r = setup
    deal = make_deal(company.owner, customer)
    deal = deals.deal_lines_set(
        actor=company.owner,
        deal=deal,
        version=1,
        lines=[
            {"name": "许可", "quantity": "3", "unit_price": "33.33", "discount_percent": "10"},
            {"name": "实施", "quantity": "1.5", "unit_price": "1000", "discount_percent": "0"},
        ],
    )
    subtotals = list(deal.lines.order_by("order").values_list("subtotal", flat=True))
    assert subtotals == [Decimal("89.99"), Decimal("1500.00")]  # 99.99 × 0.9 = 89.991
    assert deal.amount == Decimal("1589.99")
    before = _state()
    for bad in (
        {"name": "x", "quantity": "0", "unit_price": "1"},
        {"name": "x", "quantity": "1", "unit_price": "-1"},
        {"name": "x", "quantity": "1", "unit_price": "1", "discount_percent": "101"},
        {"name": "", "quantity": "1", "unit_price": "1"},
        {"name": "x", "quantity": "abc", "unit_price": "1"},
        {"name": "x", "quantity": "1", "unit_price": "1.001"},
    ):
        with pytest.raises(ApplicationError):
            deals.deal_lines_set(actor=company.owner, deal=deal, version=deal.version, lines=[bad])
    with pytest.raises(Conflict):
        deals.deal_lines_set(actor=company.owner, deal=deal, version=1, lines=[])
    assert _state() == before


def test_competitors_are_created_on_type_and_matched_case_insensitively(setup) -> None:
    company, _p, customer, _c, _r = setup
    Competitor.objects.create(name="Salesforce")
    deal = make_deal(company.owner, customer, competitors=["salesforce", "纷享销客"])
    assert sorted(c.name for c in deal.competitors.all()) == ["Salesforce", "纷享销客"]
    assert Competitor.objects.count() == 2


def test_delete_is_soft_and_for_owner_manager_admin(setup) -> None:
    company, _p, customer, _c, _r = setup
    deal = make_deal(company.owner, customer, collaborators=[company.teammate])
    with pytest.raises(PermissionDenied):
        deals.deal_delete(actor=company.teammate, deal=deal)
    deals.deal_delete(actor=company.owner, deal=deal)
    assert Deal.objects.filter(pk=deal.pk).exists()
    assert not Deal.objects.visible_to(company.admin).filter(pk=deal.pk).exists()


amounts = st.decimals(min_value=0, max_value=Decimal("99999.99"), places=2, allow_nan=False, allow_infinity=False)
quantities = st.decimals(min_value=Decimal("0.001"), max_value=Decimal("9999"), places=3)
discounts = st.decimals(min_value=0, max_value=100, places=2)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    lines=st.lists(st.tuples(quantities, amounts, discounts), min_size=1, max_size=8),
    currency=st.sampled_from(["CNY", "JPY"]),
)
def test_line_subtotals_never_lose_or_invent_a_cent(setup, lines, currency) -> None:
    """Each subtotal is q × p × (1 − d%) rounded once; the deal's amount is exactly their sum."""
    company, _p, customer, _c, _r = setup
    with transaction.atomic():
        ExchangeRate.objects.create(currency="JPY", valid_from=dt.date(2000, 1, 1), rate=Decimal("0.048"))
        deal = make_deal(company.owner, customer, currency=currency)
        deal = deals.deal_lines_set(
            actor=company.owner,
            deal=deal,
            version=1,
            lines=[{"name": "x", "quantity": q, "unit_price": p, "discount_percent": d} for q, p, d in lines],
        )
        stored = list(DealLine.objects.filter(deal=deal).order_by("order").values_list("subtotal", flat=True))
        unit = Decimal(1) if currency == "JPY" else Decimal("0.01")
        expected = [(q * p * (100 - d) / 100).quantize(unit, rounding=decimal.ROUND_HALF_UP) for q, p, d in lines]
        assert stored == expected
        deal.refresh_from_db()
        assert deal.amount == sum(stored, Decimal(0))
        assert all(s == s.quantize(unit) for s in stored)
        transaction.set_rollback(True)


def test_stage_rows_stay_consistent(setup) -> None:
    _company, pipeline, *_ = setup
    assert Stage.objects.filter(pipeline=pipeline).count() == 6


def test_a_stage_with_deals_cannot_be_deleted(setup) -> None:
    company, pipeline, customer, _c, _r = setup
    make_deal(company.owner, customer)
    with pytest.raises(ApplicationError) as err:
        services.stage_delete(actor=company.admin, stage=stage(pipeline, 1))
    assert err.value.code == "stage_in_use"
    services.stage_delete(actor=company.admin, stage=stage(pipeline, 2))  # never used: fine
