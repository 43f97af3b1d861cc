from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from bridgecrm.core.errors import NotFound
from bridgecrm.pipeline import selectors, services
from bridgecrm.pipeline.tests.factories import make_pipeline, make_product

pytestmark = pytest.mark.django_db


def test_product_filters(company) -> None:
    make_product(company.admin, sku="LIC-1", name="CRM 标准版")
    make_product(company.admin, sku="SRV-1", name="实施服务", category="service")
    old = make_product(company.admin, sku="HW-1", name="扫码枪", category="hardware")
    services.product_deactivate(actor=company.admin, product=old)

    def skus(**kwargs: object) -> list[str]:
        qs = selectors.product_list(actor=company.owner, filters=selectors.ProductFilters(**kwargs))  # type: ignore[arg-type]
        return [p.sku for p in qs]

    assert skus() == ["LIC-1", "SRV-1"]  # active ones, by name
    assert skus(q="srv") == ["SRV-1"]
    assert skus(q="标准") == ["LIC-1"]
    assert skus(category="hardware") == []
    assert skus(category="hardware", active=None) == ["HW-1"]
    assert skus(active=False) == ["HW-1"]


def test_every_signed_in_user_reads_but_inactive_users_do_not(company) -> None:
    product = make_product(company.admin)
    assert selectors.product_get(actor=company.other_rep, product_id=product.pk) == product
    company.other_rep.is_active = False
    with pytest.raises(NotFound):
        selectors.product_get(actor=company.other_rep, product_id=product.pk)
    with pytest.raises(NotFound):
        selectors.product_get(actor=company.owner, product_id=2**63)


def test_pipeline_list_takes_two_queries(company) -> None:
    make_pipeline(company.admin)
    make_pipeline(company.admin, name="渠道")
    with CaptureQueriesContext(connection) as queries:
        pipelines = selectors.pipeline_list(actor=company.owner)
        stages = [[s.name for s in p.stages.all()] for p in pipelines]
    assert len(queries) == 2
    assert [len(s) for s in stages] == [6, 6]


def test_stage_get_checks_the_pipeline(company) -> None:
    first = make_pipeline(company.admin)
    second = make_pipeline(company.admin, name="渠道")
    stage = first.stages.get(order=1)
    assert selectors.stage_get(actor=company.owner, stage_id=stage.pk, pipeline_id=first.pk) == stage
    with pytest.raises(NotFound):
        selectors.stage_get(actor=company.owner, stage_id=stage.pk, pipeline_id=second.pk)
