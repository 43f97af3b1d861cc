from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from bridgecrm.pipeline.models import Product, Stage
from bridgecrm.pipeline.tests.factories import make_pipeline, make_product

pytestmark = pytest.mark.django_db


def test_products_page_reads_for_reps_and_manages_for_admins(company, login) -> None:
    for i in range(3):
        make_product(company.admin, sku=f"LIC-{i}", name=f"许可 {i}")
    rep_page = login(company.owner).get(reverse("pipeline:products"))
    assert rep_page.status_code == 200
    assert "LIC-1" in rep_page.content.decode()
    assert reverse("pipeline:product_create") not in rep_page.content.decode()
    admin_page = login(company.admin).get(reverse("pipeline:products"))
    assert reverse("pipeline:product_create") in admin_page.content.decode()


def test_products_page_query_count_does_not_grow_with_rows(company, login) -> None:
    client = login(company.owner)
    make_product(company.admin, sku="A-1")
    with CaptureQueriesContext(connection) as few:
        client.get(reverse("pipeline:products"))
    for i in range(30):
        make_product(company.admin, sku=f"B-{i}")
    with CaptureQueriesContext(connection) as many:
        response = client.get(reverse("pipeline:products"))
    assert len(response.context["products"]) == 31
    assert len(many) == len(few)


def test_product_form_shows_service_errors(company, login) -> None:
    make_product(company.admin, sku="LIC-1")
    response = login(company.admin).post(
        reverse("pipeline:product_create"),
        {"sku": "lic-1", "name": "重复", "category": "software", "unit": "piece", "list_price": "1", "currency": "CNY"},
    )
    assert response.status_code == 200
    assert response.context["form"].errors["sku"]
    assert Product.objects.count() == 1


def test_pipeline_page_and_stage_edit_with_gate_checkboxes(company, login) -> None:
    pipeline = make_pipeline(company.admin)
    stage = pipeline.stages.get(order=3)
    client = login(company.admin)
    page = client.get(reverse("pipeline:pipeline_detail", args=[pipeline.pk]))
    assert page.status_code == 200
    assert page.content.decode().count('data-testid="stage-row"') == 6
    prefix = f"stage-{stage.pk}-"
    response = client.post(
        reverse("pipeline:stage_edit", args=[pipeline.pk, stage.pk]),
        {
            prefix + "name": "方案与报价",
            prefix + "kind": "open",
            prefix + "probability": "65",
            prefix + "forecast_category": "best_case",
            prefix + "gate_fields": ["amount", "expected_close_date"],
        },
    )
    assert response.status_code == 302
    stage.refresh_from_db()
    assert (stage.name, stage.probability, stage.gate_fields) == ("方案与报价", 65, ["amount", "expected_close_date"])


def test_a_refused_stage_change_shows_on_the_page_and_changes_nothing(company, login) -> None:
    pipeline = make_pipeline(company.admin)
    won = pipeline.stages.get(kind="won")
    client = login(company.admin)
    prefix = f"stage-{won.pk}-"
    response = client.post(
        reverse("pipeline:stage_edit", args=[pipeline.pk, won.pk]),
        {
            prefix + "name": "赢单",
            prefix + "kind": "open",
            prefix + "probability": "90",
            prefix + "forecast_category": "commit",
        },
    )
    assert response.status_code == 200
    assert "won stage" in response.content.decode() or "赢单阶段" in response.content.decode()
    assert Stage.objects.get(pk=won.pk).kind == "won"
    deleted = client.post(reverse("pipeline:stage_delete", args=[pipeline.pk, won.pk]), follow=True)
    assert deleted.status_code == 200
    assert Stage.objects.filter(pk=won.pk).exists()


def test_nav_shows_products_to_all_and_pipelines_to_admins(company, login) -> None:
    rep_home = login(company.owner).get("/").content.decode()
    assert reverse("pipeline:products") in rep_home
    assert reverse("pipeline:pipelines") not in rep_home
    assert reverse("pipeline:pipelines") in login(company.admin).get("/").content.decode()
