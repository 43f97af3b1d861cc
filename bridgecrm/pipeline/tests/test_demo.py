from __future__ import annotations

import pytest

from bridgecrm.pipeline.demo import LOST_REASONS, PRODUCTS, create_demo_pipeline
from bridgecrm.pipeline.models import LostReason, Pipeline, Product, Stage

pytestmark = pytest.mark.django_db


def test_demo_pipelines_products_and_reasons(company) -> None:
    assert create_demo_pipeline(admin=company.admin) == len(PRODUCTS)
    assert list(Pipeline.objects.values_list("name", "is_default")) == [("新客户销售", True), ("渠道", False)]
    default = Pipeline.objects.get(is_default=True)
    assert list(default.stages.values_list("name", flat=True)) == [
        "初步接洽",
        "需求确认",
        "方案报价",
        "商务谈判",
        "赢单",
        "输单",
    ]
    assert default.stages.get(kind="lost").gate_fields == ["lost_reason"]
    channel = Pipeline.objects.get(name="渠道")
    assert [s.order for s in channel.stages.all()] == list(range(1, channel.stages.count() + 1))
    assert set(Stage.objects.filter(pipeline=channel).values_list("kind", flat=True)) == {"open", "won", "lost"}
    assert Product.objects.count() == len(PRODUCTS) >= 40
    assert Product.objects.filter(currency="USD").count() >= 3
    assert Product.objects.filter(is_active=False).count() == 1
    assert list(LostReason.objects.values_list("name", flat=True)) == list(LOST_REASONS)
