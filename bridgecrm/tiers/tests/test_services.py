"""Recomputation, preview, manual tiers and history, with the default model and fixed dates."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from django.db.models import Count

from bridgecrm.conftest import Company
from bridgecrm.core.errors import ApplicationError, NotFound, PermissionDenied
from bridgecrm.customers.models import Customer
from bridgecrm.customization.models import FieldDefinition
from bridgecrm.tiers import selectors, services
from bridgecrm.tiers.models import BANDS, ManualTier, Tier, TierChange, TierModel
from bridgecrm.tiers.tests.helpers import customer, paid, won

pytestmark = pytest.mark.django_db
TODAY = dt.date(2026, 6, 30)


def model_values(**overrides: Any) -> dict[str, Any]:
    model = selectors.tier_model()
    values = {name: getattr(model, name) for name in services.MODEL_FIELDS}
    values.update(overrides)
    return values


def tier_rows() -> list[dict[str, Any]]:
    return [{name: getattr(t, name) for name in services.TIER_FIELDS} for t in selectors.tiers()]


@pytest.fixture
def book(company: Company) -> dict[str, Customer]:
    """Four customers of the owner with known facts (see each comment for the scores)."""
    owner, admin = company.owner, company.admin
    big = customer(owner, "Big buyer", size="1000+", estimated_annual_potential="2000000", industry="finance")
    paid(owner, big, "1000000.00", dt.date(2026, 6, 1))
    won(admin, big, "1000000.00", dt.date(2026, 6, 1))
    # value: payments 100, won 100, frequency 1/6 = 16.7, recency 1-29/365 = 92.1
    # → (4000 + 3000 + 250.5 + 1381.5)/100 = 86.3 (high)
    # potential: 100, 100, industry 0 → (5000+3000)/100 = 80 (high) → A
    mid = customer(owner, "Middle", size="51-200", estimated_annual_potential="600000")
    paid(owner, mid, "300000.00", dt.date(2026, 1, 10))
    # value: payments 30, recency 1-171/365 = 53.2 → (1200 + 798)/100 = 20.0 (low)
    # potential: amount 30, size 55 → (1500 + 1650)/100 = 31.5 (medium) → D
    fresh = customer(owner, "Fresh lead", size="201-1000", estimated_annual_potential="2000000")
    # value 0 (low); potential (5000 + 2400)/100 = 74 (high) → C
    old = customer(owner, "Old payer")
    paid(owner, old, "900000.00", dt.date(2025, 5, 1))  # outside the 12 months: value 0 → D
    return {"big": big, "mid": mid, "fresh": fresh, "old": old}


def tiers_now() -> dict[str, str]:
    return dict(Customer.objects.values_list("name", "tier"))


def test_recompute_scores_writes_tiers_and_history(book: dict[str, Customer]) -> None:
    result = services.tiers_recompute(today=TODAY)
    assert result.customers == 4 and result.changed == 4
    assert tiers_now() == {"Big buyer": "A", "Middle": "D", "Fresh lead": "C", "Old payer": "D"}
    change = TierChange.objects.get(customer=book["big"])
    assert (change.from_tier, change.to_tier, change.manual, change.by) == ("", "A", False, None)
    assert change.reason["value"] == 86.3 and change.reason["potential"] == 80.0
    assert change.reason["value_band"] == "high" and change.reason["model_version"] == 1
    mid = TierChange.objects.get(customer=book["mid"]).reason
    assert (mid["value"], mid["potential"]) == (20.0, 31.5)
    # Idempotent: nothing moves, nothing is written.
    assert services.tiers_recompute(today=TODAY).changed == 0
    assert TierChange.objects.count() == 4


def test_preview_counts_equal_the_saved_result(company: Company, book: dict[str, Customer]) -> None:
    services.tiers_recompute(today=TODAY)
    services.manual_tier_set(actor=company.owner, customer=book["old"], tier="B", reason="Strategic partner")
    values = model_values(value_medium=Decimal("15"), potential_medium=Decimal("20"), weight_recency=Decimal("40"))
    preview = services.tier_model_preview(actor=company.admin, values=values, tier_rows=tier_rows(), today=TODAY)
    services.tier_model_save(actor=company.admin, values=values, tier_rows=tier_rows(), recompute=False)
    services.tiers_recompute(today=TODAY)
    saved = dict(Customer.objects.values_list("tier").annotate(n=Count("pk")).values_list("tier", "n"))
    assert preview == saved
    assert preview == {"A": 1, "B": 2, "C": 1}  # Middle becomes B (medium × medium), Old payer stays B by hand


def test_saving_the_model_recomputes_on_commit(
    company: Company, book: dict[str, Customer], django_capture_on_commit_callbacks: Any
) -> None:
    values = model_values(potential_high=Decimal("90"))
    with pytest.raises(PermissionDenied):
        services.tier_model_save(actor=company.manager_a, values=values, tier_rows=tier_rows())
    with django_capture_on_commit_callbacks(execute=True):
        model = services.tier_model_save(actor=company.admin, values=values, tier_rows=tier_rows())
    # The task ran after commit (ImmediateBackend in tests): today's date, the new rules.
    assert model.version == 2
    assert Customer.objects.get(pk=book["fresh"].pk).tier == "D"  # potential 74 is medium now
    assert TierChange.objects.filter(reason__model_version=2).count() == 4


def test_model_validation_refuses_bad_values_and_changes_nothing(company: Company) -> None:
    before = TierModel.objects.get().version
    bad = [
        model_values(value_medium=Decimal("70")),  # above high
        model_values(weight_payments=Decimal("-1")),
        model_values(grid={"high": {"high": "Z"}}),
        model_values(size_points={"huge": 10}),
        model_values(custom_factors=[{"key": "nope", "weight": 1, "full": 10}]),
    ]
    for values in bad:
        with pytest.raises(ApplicationError):
            services.tier_model_save(actor=company.admin, values=values, tier_rows=tier_rows())
    rows = tier_rows()
    with pytest.raises(ApplicationError):
        services.tier_model_save(actor=company.admin, values=model_values(), tier_rows=[*rows, rows[0]])
    assert TierModel.objects.get().version == before
    assert Tier.objects.count() == 4


def test_tiers_are_renamed_added_and_removed(company: Company, book: dict[str, Customer]) -> None:
    rows = tier_rows()[:3]
    rows.append({"code": "VIP", "label_en": "VIP", "label_zh": "贵宾", "follow_up_every_days": 3})
    grid = {band: {p: ("VIP" if band == "high" else "C") for p in ("high", "medium", "low")} for band in BANDS}
    services.manual_tier_set(actor=company.owner, customer=book["mid"], tier="D", reason="Pinned")
    with pytest.raises(ApplicationError, match="set by hand"):
        services.tier_model_save(actor=company.admin, values=model_values(grid=grid), tier_rows=rows)
    services.manual_tier_clear(actor=company.owner, customer=book["mid"])
    services.tier_model_save(actor=company.admin, values=model_values(grid=grid), tier_rows=rows)
    services.tiers_recompute(today=TODAY)
    assert list(Tier.objects.values_list("code", flat=True)) == ["A", "B", "C", "VIP"]
    assert Customer.objects.get(pk=book["big"].pk).tier == "VIP"


def test_custom_number_and_select_fields_add_to_potential(company: Company) -> None:
    FieldDefinition.objects.create(entity="customer", key="staff", type="number", label_en="Staff", label_zh="员工")
    FieldDefinition.objects.create(
        entity="customer",
        key="segment",
        type="single_select",
        label_en="Segment",
        label_zh="细分",
        options=[{"value": "ent", "label_en": "Enterprise"}, {"value": "smb", "label_en": "SMB"}],
    )
    target = customer(company.owner, "Custom")
    Customer.objects.filter(pk=target.pk).update(custom={"staff": 400, "segment": "ent"})
    factors = [{"key": "staff", "weight": 50, "full": 400}, {"key": "segment", "weight": 50, "points": {"ent": 100}}]
    values = model_values(custom_factors=factors, weight_potential=0, weight_size=0, weight_industry=0)
    services.tier_model_save(actor=company.admin, values=values, tier_rows=tier_rows(), recompute=False)
    services.tiers_recompute(today=TODAY)
    assert Customer.objects.get(pk=target.pk).tier == "C"  # value low × potential 100 high
    bad = [{"key": "segment", "weight": 5, "points": {"other": 10}}]
    with pytest.raises(ApplicationError):
        services.tier_model_save(actor=company.admin, values=model_values(custom_factors=bad), tier_rows=tier_rows())


def test_manual_tier_stays_until_cleared(company: Company, book: dict[str, Customer]) -> None:
    services.tiers_recompute(today=TODAY)
    mid = book["mid"]
    services.manual_tier_set(actor=company.owner, customer=mid, tier="A", reason="Board decision")
    assert Customer.objects.get(pk=mid.pk).tier == "A"
    services.tier_model_save(
        actor=company.admin, values=model_values(value_high=Decimal("99")), tier_rows=tier_rows(), recompute=False
    )
    services.tiers_recompute(today=TODAY)
    assert Customer.objects.get(pk=mid.pk).tier == "A"
    assert services.manual_tier_clear(actor=company.owner, customer=mid) == "D"
    assert Customer.objects.get(pk=mid.pk).tier == "D"
    history = list(TierChange.objects.filter(customer=mid).order_by("id").values_list("from_tier", "to_tier", "manual"))
    assert history == [("", "D", False), ("D", "A", True), ("A", "D", True)]
    manual = TierChange.objects.filter(customer=mid, manual=True).order_by("id").first()
    assert manual is not None and manual.by == company.owner and manual.reason == {"note": "Board decision"}


def test_manual_tier_needs_a_reason_and_a_customer_one_may_edit(company: Company, book: dict[str, Customer]) -> None:
    mid = book["mid"]
    with pytest.raises(ApplicationError):
        services.manual_tier_set(actor=company.owner, customer=mid, tier="A", reason="  ")
    with pytest.raises(ApplicationError):
        services.manual_tier_set(actor=company.owner, customer=mid, tier="Z", reason="why")
    for outsider in (company.other_rep, company.manager_b, company.teammate):
        with pytest.raises(NotFound):
            services.manual_tier_set(actor=outsider, customer=mid, tier="A", reason="mine now")
    services.manual_tier_set(actor=company.manager_a, customer=mid, tier="B", reason="manager says")
    assert not TierChange.objects.filter(to_tier="A").exists()
    assert ManualTier.objects.get().set_by == company.manager_a


def test_timeline_and_history_show_the_changes(company: Company, book: dict[str, Customer]) -> None:
    services.tiers_recompute(today=TODAY)
    services.manual_tier_set(actor=company.owner, customer=book["big"], tier="B", reason="Downgraded")
    items = selectors.tier_timeline(actor=company.owner, customer=book["big"], before=None, limit=10)
    assert [i.title for i in items] == ["Tier A · Key account → B · Growth", "Tier — → A · Key account"]
    assert items[0].detail == "Set by hand: Downgraded"
    assert items[1].detail.startswith("value score 86.3 (high), potential score 80.0 (high)")
    assert [c.to_tier for c in selectors.tier_history(actor=company.manager_a, customer_id=book["big"].pk)] == [
        "B",
        "A",
    ]
    with pytest.raises(NotFound):
        selectors.tier_history(actor=company.other_rep, customer_id=book["big"].pk)


def test_one_customer_recompute(company: Company, book: dict[str, Customer]) -> None:
    result = services.tiers_recompute(today=TODAY, customer_ids=[book["big"].pk])
    assert (result.customers, result.changed) == (1, 1)
    assert tiers_now() == {"Big buyer": "A", "Middle": "", "Fresh lead": "", "Old payer": ""}


def test_payments_in_another_currency_count_at_the_rate(company: Company) -> None:
    from bridgecrm.core import services as core_services

    core_services.exchange_rate_set(actor=company.admin, currency="USD", valid_from=dt.date(2026, 1, 1), rate="7")
    target = customer(company.owner, "Dollar payer")
    paid(company.owner, target, "100000.00", dt.date(2026, 6, 1), currency="USD")
    facts, _ = selectors.collect_facts(today=TODAY, customer_ids=[target.pk])
    assert facts[target.pk].payments == Decimal("700000.00")
