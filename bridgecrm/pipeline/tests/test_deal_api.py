"""The deals API: the same services, gates, conflicts, visibility and query budgets as the pages."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from bridgecrm.api.tests.conftest import API, ApiClient, assert_error_shape, issue_token
from bridgecrm.customers.tests.factories import make_contact, make_customer
from bridgecrm.pipeline import services
from bridgecrm.pipeline.models import Deal, DealStageChange
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


def _api(user) -> ApiClient:
    return ApiClient(issue_token(user))


def _put(api: ApiClient, path: str, body: dict) -> object:
    return api.client.put(API + path, json.dumps(body), content_type="application/json", headers=api._headers(None))


def test_create_read_and_list_with_filters(setup) -> None:
    company, pipeline, customer, contact, _r = setup
    api = _api(company.owner)
    response = api.post(
        "/deals",
        {
            "name": "API 商机",
            "customer_id": customer.pk,
            "contact_id": contact.pk,
            "amount": "12345.67",
            "expected_close_date": "2026-05-20",
            "competitors": ["用友"],
            "stage_id": stage(pipeline, 2).pk,
        },
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["stage_id"], body["amount"], body["probability"], body["competitors"]) == (
        stage(pipeline, 2).pk,
        "12345.67",
        30,
        ["用友"],
    )
    make_deal(company.owner, customer, "Other", expected_close_date="2026-08-01")
    listed = api.get("/deals", {"close_from": "2026-05-01", "close_to": "2026-05-31"}).json()
    assert (listed["count"], [d["name"] for d in listed["items"]]) == (1, ["API 商机"])
    assert api.get("/deals", {"stage": stage(pipeline, 1).pk}).json()["count"] == 1
    assert api.get("/deals", {"status": "won"}).json()["count"] == 0
    assert api.get("/deals", {"customer": customer.pk}).json()["count"] == 2
    assert_error_shape(api.get("/deals", {"close_from": "2026-02-30"}), 400, "invalid")
    detail = api.get(f"/deals/{body['id']}").json()
    assert detail["lines"] == []


def test_list_query_count_is_independent_of_the_page_size(setup) -> None:
    company, _p, customer, _c, _r = setup
    for i in range(25):
        make_deal(company.owner, customer, f"D{i}", competitors=["A", "B"], collaborators=[company.teammate])
    api = _api(company.owner)
    api.get("/deals")  # the token's first use is recorded once
    counts = []
    for limit in (5, 25):
        with CaptureQueriesContext(connection) as ctx:
            response = api.get("/deals", {"limit": limit})
        assert len(response.json()["items"]) == limit
        counts.append(len(ctx.captured_queries))
    assert counts[0] == counts[1]


def test_invisible_customer_and_deal_are_not_found(setup) -> None:
    company, _p, customer, _c, _r = setup
    deal = make_deal(company.owner, customer)
    api = _api(company.other_rep)
    before = Deal.objects.count()
    assert_error_shape(api.post("/deals", {"name": "x", "customer_id": customer.pk}), 404, "not_found")
    assert Deal.objects.count() == before
    assert_error_shape(api.get(f"/deals/{deal.pk}"), 404, "not_found")
    assert_error_shape(api.patch(f"/deals/{deal.pk}", {"name": "x", "version": 1}), 404, "not_found")
    assert api.get("/deals").json()["count"] == 0


def test_patch_conflict_second_writer_is_told_nothing_overwritten(setup) -> None:
    company, _p, customer, _c, _r = setup
    deal = make_deal(company.owner, customer, amount="100")
    first, second = _api(company.owner), _api(company.manager_a)
    assert first.patch(f"/deals/{deal.pk}", {"amount": "200", "version": 1}).status_code == 200
    body = assert_error_shape(second.patch(f"/deals/{deal.pk}", {"amount": "300", "version": 1}), 409, "stale")
    assert body["details"]["current_version"] == ["2"]
    deal.refresh_from_db()
    assert (deal.amount, deal.version) == (Decimal("200.00"), 2)
    assert_error_shape(first.patch(f"/deals/{deal.pk}", {"amount": "1"}), 422, "invalid")  # version required


def test_move_gate_refusal_then_success_and_history(setup) -> None:
    company, pipeline, customer, contact, _r = setup
    target = stage(pipeline, 4)
    services.stage_update(actor=company.admin, stage=target, gate_fields=["amount", "contact", "competitors"])
    deal = make_deal(company.owner, customer)
    api = _api(company.owner)
    body = assert_error_shape(api.post(f"/deals/{deal.pk}/move", {"stage_id": target.pk, "version": 1}), 400, "gate")
    assert body["details"] == {"missing": ["amount", "contact", "competitors"]}
    assert DealStageChange.objects.filter(deal=deal).count() == 1
    response = api.post(
        f"/deals/{deal.pk}/move",
        {"stage_id": target.pk, "version": 1, "amount": "50", "contact_id": contact.pk, "competitors": ["金蝶"]},
    )
    assert response.status_code == 200, response.content
    assert (response.json()["stage_id"], response.json()["version"]) == (target.pk, 2)
    history = api.get(f"/deals/{deal.pk}/stage-history").json()
    assert [h["to_stage_id"] for h in history] == [stage(pipeline, 1).pk, target.pk]
    assert history[1]["seconds_in_from_stage"] >= 0
    other = make_pipeline(company.admin, "其他")
    assert_error_shape(api.post(f"/deals/{deal.pk}/move", {"stage_id": stage(other, 1).pk, "version": 2}), 400)


def test_close_lines_delete_and_competitors(setup) -> None:
    company, _p, customer, _c, reason = setup
    deal = make_deal(company.owner, customer)
    api = _api(company.owner)
    body = assert_error_shape(api.post(f"/deals/{deal.pk}/close", {"outcome": "lost", "version": 1}), 400)
    assert "lost_reason" in body["details"]
    response = _put(
        api,
        f"/deals/{deal.pk}/lines",
        {"version": 1, "lines": [{"name": "许可", "quantity": "3", "unit_price": "33.33", "discount_percent": "10"}]},
    )
    assert response.status_code == 200, response.content
    assert (response.json()["amount"], response.json()["lines"][0]["subtotal"]) == ("89.99", "89.99")
    response = api.post(f"/deals/{deal.pk}/close", {"outcome": "lost", "version": 2, "lost_reason_id": reason.pk})
    assert (response.json()["status"], response.json()["lost_reason_id"]) == ("lost", reason.pk)
    response = api.post(f"/deals/{deal.pk}/close", {"outcome": "reopen", "version": 3})
    assert response.json()["status"] == "open"
    response = api.post(f"/deals/{deal.pk}/close", {"outcome": "won", "version": 4})
    assert (response.json()["status"], response.json()["probability"]) == ("won", 100)
    make_deal(company.owner, customer, competitors=["Salesforce", "用友"])
    names = [c["name"] for c in api.get("/competitors").json()["items"]]
    assert names == ["Salesforce", "用友"]
    assert api.get("/competitors", {"q": "sales"}).json()["count"] == 1
    assert api.client.delete(API + f"/deals/{deal.pk}", headers=api._headers(None)).status_code == 204
    assert_error_shape(api.get(f"/deals/{deal.pk}"), 404)
