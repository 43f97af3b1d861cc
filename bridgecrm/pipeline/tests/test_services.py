"""The write path: values, the stage invariants, policies, audit rows, and failures that change nothing."""

from __future__ import annotations

import decimal

import pytest

from bridgecrm.core.errors import ApplicationError, PermissionDenied
from bridgecrm.core.models import AuditAction, AuditEntry
from bridgecrm.pipeline import services
from bridgecrm.pipeline.models import LostReason, Pipeline, Product, Stage
from bridgecrm.pipeline.tests.factories import make_pipeline, make_product

pytestmark = pytest.mark.django_db


def _state() -> tuple[object, ...]:
    return (
        list(Product.objects.order_by("id").values_list()),
        list(Pipeline.objects.order_by("id").values_list()),
        list(Stage.objects.order_by("id").values_list()),
        list(LostReason.objects.order_by("id").values_list()),
        AuditEntry.objects.count(),
    )


def _stages(pipeline: Pipeline) -> list[tuple[int, str, str, int]]:
    return list(
        Stage.objects.filter(pipeline=pipeline).order_by("order").values_list("order", "name", "kind", "probability")
    )


# ---- products ------------------------------------------------------------------------------------


def test_product_create_normalises_and_audits(company) -> None:
    product = make_product(company.admin, sku=" lic 002 ", name="  CRM  专业版 ", list_price="12800.5", currency="usd")
    product.refresh_from_db()
    assert (product.sku, product.name, product.currency) == ("LIC-002", "CRM 专业版", "USD")
    assert product.list_price == decimal.Decimal("12800.50")
    entry = AuditEntry.objects.for_object(product).get()
    assert entry.action == AuditAction.CREATE
    assert entry.new_value["list_price"] == "12800.50"


@pytest.mark.parametrize(
    ("changes", "field", "code"),
    [
        ({"currency": "XYZ"}, "currency", "unknown_currency"),
        ({"currency": "yuan"}, "currency", "unknown_currency"),
        ({"list_price": "-1"}, "list_price", "invalid"),
        ({"list_price": "abc"}, "list_price", "invalid"),
        ({"list_price": "NaN"}, "list_price", "invalid"),
        ({"list_price": "1000000000000"}, "list_price", "invalid"),
        ({"list_price": "10.005"}, "list_price", "invalid"),
        ({"list_price": "10.5", "currency": "JPY"}, "list_price", "invalid"),
        ({"category": "food"}, "category", "invalid"),
        ({"unit": "kg"}, "unit", "invalid"),
        ({"name": "  "}, "name", "invalid"),
        ({"sku": "LIC-001"}, "sku", "duplicate_sku"),
    ],
)
def test_product_create_refuses_bad_values_and_changes_nothing(company, changes, field, code) -> None:
    make_product(company.admin)
    before = _state()
    values = {"sku": "NEW-1", "name": "新产品", "category": "software", "list_price": "10.00"} | changes
    with pytest.raises(ApplicationError) as caught:
        services.product_create(actor=company.admin, **values)
    assert (caught.value.code, list(caught.value.details)) == (code, [field])
    assert _state() == before


def test_yen_prices_are_whole(company) -> None:
    product = make_product(company.admin, sku="JP-1", list_price="15000", currency="JPY")
    assert product.list_price == decimal.Decimal("15000")


@pytest.mark.parametrize("actor", ["owner", "manager_a", "other_rep"])
def test_only_pipeline_managers_write_products(company, actor) -> None:
    product = make_product(company.admin)
    before = _state()
    user = getattr(company, actor)
    with pytest.raises(PermissionDenied):
        services.product_create(actor=user, sku="X-1", name="x", category="software", list_price="1")
    with pytest.raises(PermissionDenied):
        services.product_update(actor=user, product=product, list_price="2")
    with pytest.raises(PermissionDenied):
        services.product_deactivate(actor=user, product=product)
    assert _state() == before


def test_product_update_and_deactivate_audit_each_change(company) -> None:
    product = make_product(company.admin)
    services.product_update(actor=company.admin, product=product, list_price="1200", unit="licence")
    services.product_update(actor=company.admin, product=product, list_price="1200.00")  # no change: no row
    services.product_deactivate(actor=company.admin, product=product)
    product.refresh_from_db()
    assert (product.list_price, product.unit, product.is_active) == (decimal.Decimal("1200.00"), "licence", False)
    changes = AuditEntry.objects.for_object(product).filter(action=AuditAction.UPDATE)
    assert sorted(changes.values_list("field", flat=True)) == ["is_active", "list_price", "unit"]


def test_product_update_refuses_unknown_fields_and_taken_skus(company) -> None:
    product = make_product(company.admin)
    make_product(company.admin, sku="LIC-009")
    before = _state()
    with pytest.raises(ApplicationError) as caught:
        services.product_update(actor=company.admin, product=product, colour="red")
    assert caught.value.details == {"colour": ["unknown"]}
    with pytest.raises(ApplicationError) as caught:
        services.product_update(actor=company.admin, product=product, sku="lic-009")
    assert caught.value.code == "duplicate_sku"
    assert _state() == before


# ---- pipelines -----------------------------------------------------------------------------------


def test_a_new_pipeline_gets_the_default_stages(company) -> None:
    company.admin.language = "zh-hans"
    pipeline = make_pipeline(company.admin)
    assert pipeline.is_default  # the first pipeline is the default
    assert _stages(pipeline) == [
        (1, "初步接洽", "open", 10),
        (2, "需求确认", "open", 30),
        (3, "方案报价", "open", 60),
        (4, "商务谈判", "open", 80),
        (5, "赢单", "won", 100),
        (6, "输单", "lost", 0),
    ]
    company.admin.language = "en"
    second = make_pipeline(company.admin, name="Channel")
    assert [s[1] for s in _stages(second)] == [
        "Qualification",
        "Needs analysis",
        "Proposal",
        "Negotiation",
        "Won",
        "Lost",
    ]
    assert not second.is_default
    assert AuditEntry.objects.filter(action=AuditAction.CREATE).count() >= 14


def test_exactly_one_default_pipeline(company) -> None:
    first = make_pipeline(company.admin)
    second = make_pipeline(company.admin, name="渠道")
    services.pipeline_update(actor=company.admin, pipeline=second, is_default=True)
    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.is_default, second.is_default) == (False, True)
    before = _state()
    with pytest.raises(ApplicationError) as caught:
        services.pipeline_update(actor=company.admin, pipeline=second, is_default=False)
    assert caught.value.code == "default_required"
    with pytest.raises(ApplicationError) as caught:
        services.pipeline_update(actor=company.admin, pipeline=second, is_active=False)
    assert caught.value.code == "default_required"
    with pytest.raises(ApplicationError) as caught:
        services.pipeline_create(actor=company.admin, name="渠道")
    assert caught.value.code == "duplicate_name"
    assert _state() == before
    assert Pipeline.objects.filter(is_default=True).count() == 1


def test_only_pipeline_managers_write_pipelines(company) -> None:
    pipeline = make_pipeline(company.admin)
    stage = pipeline.stages.get(order=1)
    before = _state()
    for actor in (company.owner, company.manager_a):
        with pytest.raises(PermissionDenied):
            services.pipeline_create(actor=actor, name="x")
        with pytest.raises(PermissionDenied):
            services.pipeline_update(actor=actor, pipeline=pipeline, name="y")
        with pytest.raises(PermissionDenied):
            services.stage_add(actor=actor, pipeline=pipeline, name="z", probability=5)
        with pytest.raises(PermissionDenied):
            services.stage_update(actor=actor, stage=stage, probability=5)
        with pytest.raises(PermissionDenied):
            services.stage_move(actor=actor, stage=stage, direction="down")
        with pytest.raises(PermissionDenied):
            services.stage_delete(actor=actor, stage=stage)
        with pytest.raises(PermissionDenied):
            services.lost_reason_create(actor=actor, name="r")
    assert _state() == before


# ---- stages --------------------------------------------------------------------------------------


def test_an_open_stage_is_added_after_the_last_open_one(company) -> None:
    company.admin.language = "zh-hans"
    pipeline = make_pipeline(company.admin)
    stage = services.stage_add(
        actor=company.admin, pipeline=pipeline, name="合同审批", probability=90, gate_fields=["next_step", "amount"]
    )
    assert stage.order == 5
    assert stage.gate_fields == ["amount", "next_step"]  # the registry's order
    assert [s[1] for s in _stages(pipeline)][4:] == ["合同审批", "赢单", "输单"]
    first = services.stage_add(actor=company.admin, pipeline=pipeline, name="线索", probability=5, position=1)
    assert first.order == 1
    assert [s[0] for s in _stages(pipeline)] == [1, 2, 3, 4, 5, 6, 7, 8]


@pytest.mark.parametrize(
    ("values", "field"),
    [
        ({"gate_fields": ["amount", "colour"]}, "gate_fields"),
        ({"probability": 101}, "probability"),
        ({"probability": -1}, "probability"),
        ({"kind": "won", "probability": 90}, "probability"),
        ({"kind": "lost", "probability": 10}, "probability"),
        ({"kind": "paused"}, "kind"),
        ({"forecast_category": "maybe"}, "forecast_category"),
        ({"stale_after_days": 0}, "stale_after_days"),
        ({"stale_after_days": 4000}, "stale_after_days"),
        ({"name": " "}, "name"),
    ],
)
def test_stage_add_refuses_bad_values_and_changes_nothing(company, values, field) -> None:
    pipeline = make_pipeline(company.admin)
    before = _state()
    with pytest.raises(ApplicationError) as caught:
        services.stage_add(actor=company.admin, pipeline=pipeline, **({"name": "新阶段", "probability": 50} | values))
    assert list(caught.value.details) == [field]
    assert _state() == before


def test_unknown_gate_codes_are_refused_on_update(company) -> None:
    pipeline = make_pipeline(company.admin)
    stage = pipeline.stages.get(order=2)
    before = _state()
    with pytest.raises(ApplicationError) as caught:
        services.stage_update(actor=company.admin, stage=stage, gate_fields=["amount", "'; DROP TABLE"])
    assert "DROP" in str(caught.value.message)
    assert _state() == before
    services.stage_update(actor=company.admin, stage=stage, gate_fields=["contact", "amount", "amount"])
    stage.refresh_from_db()
    assert stage.gate_fields == ["amount", "contact"]


def test_the_last_open_won_or_lost_stage_is_kept(company) -> None:
    pipeline = make_pipeline(company.admin)
    won = pipeline.stages.get(kind="won")
    lost = pipeline.stages.get(kind="lost")
    opens = list(pipeline.stages.filter(kind="open").order_by("order"))
    for stage in opens[:-1]:
        services.stage_delete(actor=company.admin, stage=stage)
    assert [s[0] for s in _stages(pipeline)] == [1, 2, 3]  # renumbered
    before = _state()
    for stage, code in ((opens[-1], "open_stage_required"), (won, "won_stage_required"), (lost, "lost_stage_required")):
        with pytest.raises(ApplicationError) as caught:
            services.stage_delete(actor=company.admin, stage=stage)
        assert caught.value.code == code
    assert _state() == before


def test_a_kind_change_keeps_the_invariants(company) -> None:
    pipeline = make_pipeline(company.admin)
    won = pipeline.stages.get(kind="won")
    before = _state()
    with pytest.raises(ApplicationError) as caught:
        services.stage_update(actor=company.admin, stage=won, kind="open", probability=90)
    assert caught.value.code == "won_stage_required"
    assert _state() == before
    # A second won stage may be added; then the first may become open again.
    negotiation = pipeline.stages.get(order=4)
    services.stage_update(actor=company.admin, stage=negotiation, kind="won")
    negotiation.refresh_from_db()
    assert (negotiation.kind, negotiation.probability) == ("won", 100)  # the won probability is taken
    services.stage_update(actor=company.admin, stage=won, kind="open", probability=95)
    assert sorted(pipeline.stages.values_list("kind", flat=True)) == ["lost", "open", "open", "open", "open", "won"]


def test_stage_move_swaps_neighbours_and_stops_at_the_ends(company) -> None:
    company.admin.language = "en"
    pipeline = make_pipeline(company.admin)
    second = pipeline.stages.get(order=2)
    services.stage_move(actor=company.admin, stage=second, direction="up")
    assert [s[1] for s in _stages(pipeline)][:3] == ["Needs analysis", "Qualification", "Proposal"]
    services.stage_move(actor=company.admin, stage=second, direction="down")
    assert [s[1] for s in _stages(pipeline)][:3] == ["Qualification", "Needs analysis", "Proposal"]
    top = pipeline.stages.get(order=1)
    before = _state()
    services.stage_move(actor=company.admin, stage=top, direction="up")
    assert _state() == before
    with pytest.raises(ApplicationError):
        services.stage_move(actor=company.admin, stage=top, direction="sideways")


# ---- lost reasons --------------------------------------------------------------------------------


def test_lost_reasons(company) -> None:
    first = services.lost_reason_create(actor=company.admin, name="价格过高")
    second = services.lost_reason_create(actor=company.admin, name="  预算   取消 ")
    assert (first.order, second.order, second.name) == (1, 2, "预算 取消")
    before = _state()
    with pytest.raises(ApplicationError) as caught:
        services.lost_reason_update(actor=company.admin, reason=second, name="价格过高")
    assert caught.value.code == "duplicate_name"
    assert _state() == before
    services.lost_reason_update(actor=company.admin, reason=second, is_active=False)
    second.refresh_from_db()
    assert not second.is_active
    assert AuditEntry.objects.for_object(second).filter(action=AuditAction.UPDATE).count() == 1
