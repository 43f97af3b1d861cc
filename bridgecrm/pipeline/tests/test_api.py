from __future__ import annotations

import pytest

from bridgecrm.api.tests.conftest import API, ApiClient, assert_error_shape, issue_token
from bridgecrm.pipeline.models import Product, Stage
from bridgecrm.pipeline.tests.factories import make_pipeline, make_product

pytestmark = pytest.mark.django_db


def _delete(client: ApiClient, path: str):
    return client.client.delete(API + path, headers=client._headers(None))


def test_products_crud_for_admins(company) -> None:
    api = ApiClient(issue_token(company.admin))
    created = api.post("/products", {"sku": "hw-1", "name": "扫码枪", "category": "hardware", "list_price": "199.9"})
    assert created.status_code == 201, created.content
    body = created.json()
    assert (body["sku"], body["list_price"], body["currency"], body["unit"]) == ("HW-1", "199.90", "CNY", "piece")
    pk = body["id"]
    patched = api.patch(f"/products/{pk}", {"currency": "USD", "list_price": "29"})
    assert (patched.json()["currency"], patched.json()["list_price"]) == ("USD", "29.00")
    assert _delete(api, f"/products/{pk}").status_code == 204
    assert api.get(f"/products/{pk}").json()["is_active"] is False
    listed = api.get("/products", {"active": "all", "q": "hw"}).json()
    assert (listed["count"], listed["items"][0]["id"]) == (1, pk)
    assert api.get("/products").json()["count"] == 0


def test_product_api_refusals_change_nothing(company) -> None:
    product = make_product(company.admin)
    rep = ApiClient(issue_token(company.owner))
    assert rep.get(f"/products/{product.pk}").status_code == 200
    assert_error_shape(rep.patch(f"/products/{product.pk}", {"list_price": "1"}), 403, "forbidden")
    assert_error_shape(rep.post("/products", {"sku": "X", "name": "x", "category": "software", "list_price": "1"}), 403)
    admin = ApiClient(issue_token(company.admin))
    assert_error_shape(admin.patch(f"/products/{product.pk}", {"currency": "XXX"}), 400, "unknown_currency")
    assert_error_shape(admin.patch(f"/products/{product.pk}", {"list_price": "-5"}), 422, "invalid")
    assert_error_shape(admin.get("/products/999999"), 404, "not_found")
    product.refresh_from_db()
    assert (str(product.list_price), product.currency) == ("1000.00", "CNY")
    assert Product.objects.count() == 1


def test_pipelines_and_stages(company) -> None:
    pipeline = make_pipeline(company.admin)
    rep = ApiClient(issue_token(company.owner))
    listed = rep.get("/pipelines").json()
    assert [len(p["stages"]) for p in listed] == [6]
    assert listed[0]["stages"][4]["kind"] == "won"
    admin = ApiClient(issue_token(company.admin))
    created = admin.post(
        f"/pipelines/{pipeline.pk}/stages", {"name": "合同审批", "probability": 90, "gate_fields": ["amount"]}
    )
    assert created.status_code == 201, created.content
    assert (created.json()["order"], created.json()["gate_fields"]) == (5, ["amount"])
    bad = admin.post(f"/pipelines/{pipeline.pk}/stages", {"name": "x", "probability": 5, "gate_fields": ["shoe_size"]})
    assert_error_shape(bad, 400, "invalid")
    stage_id = created.json()["id"]
    patched = admin.patch(f"/pipelines/{pipeline.pk}/stages/{stage_id}", {"stale_after_days": 7})
    assert patched.json()["stale_after_days"] == 7
    won = pipeline.stages.get(kind="won")
    assert_error_shape(_delete(admin, f"/pipelines/{pipeline.pk}/stages/{won.pk}"), 400, "won_stage_required")
    assert _delete(admin, f"/pipelines/{pipeline.pk}/stages/{stage_id}").status_code == 204
    assert Stage.objects.filter(pipeline=pipeline).count() == 6
    assert_error_shape(_delete(rep, f"/pipelines/{pipeline.pk}/stages/{won.pk}"), 403, "forbidden")


def test_lost_reasons_list(company) -> None:
    from bridgecrm.pipeline import services

    services.lost_reason_create(actor=company.admin, name="价格过高")
    body = ApiClient(issue_token(company.other_rep)).get("/lost-reasons").json()
    assert [r["name"] for r in body] == ["价格过高"]
