"""Refunds on the contract page (htmx form under each payment), in the payments list and its
export, on the collection rates page, and through the API (schema, codes, visibility)."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal as D

import pytest
from django.test import Client
from django.urls import reverse

from bridgecrm.conftest import signed_in
from bridgecrm.contracts.models import Payment, Refund
from bridgecrm.contracts.services import payments as payment_services
from bridgecrm.contracts.services import refunds as refund_services
from bridgecrm.contracts.tests.money_helpers import make_contract
from bridgecrm.users import services as user_services

pytestmark = pytest.mark.django_db
HTMX = {"HX-Request": "true"}


def api(user) -> Client:
    secret = user_services.token_create(actor=user, name="t").secret
    return Client(headers={"Authorization": f"Bearer {secret}"})


@pytest.fixture
def payment(company) -> Payment:
    contract = make_contract(
        company.owner, amount="3000.00", plan=[(dt.date(2026, 1, 31), "1000.00"), (dt.date(2026, 2, 28), "2000.00")]
    )
    return payment_services.payment_record(
        actor=company.owner, contract=contract, received_on=dt.date(2026, 2, 1), amount="2500.00", reference="TX-9"
    )


def test_refund_from_the_contract_page_with_htmx(company, payment):
    client = signed_in(company.owner)
    url = reverse("contracts:refund_record", args=[payment.contract_id, payment.pk])
    page = client.get(reverse("contracts:contract_detail", args=[payment.contract_id])).content.decode()
    assert f'hx-get="{url}"' in page and f'id="refund-row-{payment.pk}"' in page and 'id="payments-section"' in page
    # "Refund" fetches the form as a row under the payment; "Cancel" gives the empty row back.
    row = client.get(url, headers=HTMX).content.decode()
    assert row.startswith(f'<tr id="refund-row-{payment.pk}" class="refund-form-row">')
    assert f'hx-post="{url}"' in row and 'value="2500.00"' in row  # what is left, offered
    assert "hidden" in client.get(url, {"close": "1"}, headers=HTMX).content.decode()
    # Without JavaScript the link opens the page with that form.
    page = client.get(reverse("contracts:contract_detail", args=[payment.contract_id]), {"refund": payment.pk})
    assert f'hx-post="{url}"' in page.content.decode()
    # Refused: the section comes back (200, for htmx to swap) with the error and the input kept.
    response = client.post(url, {"refunded_on": "2026-03-01", "amount": "2500.01", "reason": "Too much"}, headers=HTMX)
    assert response.status_code == 200
    body = response.content.decode()
    assert "more than what is left of the payment" in body and 'value="2500.01"' in body
    assert body.startswith('<section class="panel mt-16" id="payments-section">')
    assert not Refund.objects.exists()
    # Accepted: the page reloads (the plan and figures change as well).
    response = client.post(
        url, {"refunded_on": "2026-03-01", "amount": "600.00", "reason": "Two seats cancelled"}, headers=HTMX
    )
    assert response.status_code == 204
    assert response["HX-Redirect"] == reverse("contracts:contract_detail", args=[payment.contract_id])
    page = client.get(reverse("contracts:contract_detail", args=[payment.contract_id])).content.decode()
    assert "Two seats cancelled" in page and "−CNY 600.00" in page
    assert "The refund was recorded." in page
    payment.contract.refresh_from_db()
    assert payment.contract.received_amount == D("1900.00")


def test_refund_without_htmx_and_its_errors(company, payment):
    client = signed_in(company.owner)
    url = reverse("contracts:refund_record", args=[payment.contract_id, payment.pk])
    response = client.post(url, {"refunded_on": "2026-01-01", "amount": "10", "reason": "Early"})
    assert response.status_code == 400
    assert "before its payment was received (2026-02-01)" in response.content.decode()
    response = client.post(url, {"refunded_on": "2026-03-01", "amount": "10", "reason": ""})
    assert response.status_code == 400
    assert client.post(url, {"refunded_on": "2026-03-01", "amount": "10", "reason": "ok"}).status_code == 302
    assert Refund.objects.count() == 1


def test_refund_pages_in_chinese(company, payment):
    client = signed_in(company.owner)
    url = reverse("contracts:refund_record", args=[payment.contract_id, payment.pk])
    client.cookies["django_language"] = "zh-hans"
    response = client.post(url, {"refunded_on": "2026-03-01", "amount": "0", "reason": "x"}, headers=HTMX)
    assert response.status_code == 200
    assert not Refund.objects.exists()


def test_refund_delete_from_the_page(company, payment):
    refund = refund_services.refund_record(
        actor=company.owner, payment=payment, refunded_on=dt.date(2026, 3, 1), amount="100.00", reason="Returned"
    )
    url = reverse("contracts:refund_delete", args=[payment.contract_id, refund.pk])
    assert signed_in(company.owner).post(url).status_code == 403
    assert signed_in(company.other_rep).post(url).status_code == 404
    assert Refund.objects.exists()
    assert signed_in(company.manager_a).post(url).status_code == 302
    assert not Refund.objects.exists()


def test_payments_list_and_export_show_refunded_and_net(company, payment):
    refund_services.refund_record(
        actor=company.owner, payment=payment, refunded_on=dt.date(2026, 3, 1), amount="100.00", reason="Returned"
    )
    client = signed_in(company.owner)
    response = client.get(reverse("contracts:payments"))
    row = response.context["payments"][0]
    assert (row.refunded, row.net) == (D("100.00"), D("2400.00"))
    assert "2,400.00" in response.content.decode()
    export = b"".join(client.get(reverse("contracts:payments_export")).streaming_content).decode("utf-8-sig")
    header, first = export.splitlines()[:2]
    assert "refunded" in header.split(",")
    assert "100.00" in first.split(",")


def test_collection_rates_page_shows_refunds_of_the_period(company, payment):
    refund_services.refund_record(
        actor=company.owner, payment=payment, refunded_on=dt.date(2026, 3, 1), amount="100.00", reason="Returned"
    )
    response = signed_in(company.admin).get(
        reverse("contracts:collections"), {"date_from": "2026-03-01", "date_to": "2026-03-31", "group_by": "owner"}
    )
    assert response.status_code == 200
    assert response.context["report"].total.refunded_in_period == D("100.00")
    assert "−100.00" in response.content.decode()


def test_api_refunds(company, payment):
    owner = api(company.owner)
    url = f"/api/v1/payments/{payment.pk}/refunds"

    def post(client: Client, body: dict) -> object:
        return client.post(url, json.dumps(body), content_type="application/json")

    response = post(owner, {"refunded_on": "2026-03-01", "amount": "2600.00", "reason": "Too much"})
    assert response.status_code == 400 and response.json()["code"] == "over_refund"
    response = post(owner, {"refunded_on": "2026-03-01", "amount": "10.00", "reason": "   "})
    assert response.status_code == 400 and response.json()["code"] == "reason_required"
    response = post(owner, {"refunded_on": "2026-01-01", "amount": "10.00", "reason": "Early"})
    assert response.status_code == 400 and response.json()["code"] == "before_payment"
    response = post(owner, {"refunded_on": "2026-03-01", "amount": "0", "reason": "Zero"})
    assert response.status_code == 422
    assert post(api(company.other_rep), {"refunded_on": "2026-03-01", "amount": "1", "reason": "x"}).status_code == 404
    assert not Refund.objects.exists()
    response = post(owner, {"refunded_on": "2026-03-01", "amount": "600.00", "reason": "Cancelled"})
    assert response.status_code == 201
    body = response.json()
    assert (body["amount"], body["currency"], body["reason"]) == ("600.00", "CNY", "Cancelled")
    assert sorted(a["amount"] for a in body["allocations"]) == ["600.00"]
    refund_id = body["id"]
    assert owner.get(f"/api/v1/refunds/{refund_id}").json()["payment_id"] == payment.pk
    listed = owner.get(f"/api/v1/contracts/{payment.contract_id}/refunds").json()
    assert [r["id"] for r in listed["items"]] == [refund_id]
    payments = owner.get(f"/api/v1/contracts/{payment.contract_id}/payments").json()
    assert payments["items"][0]["refunded_amount"] == "600.00"
    assert api(company.other_rep).get(f"/api/v1/refunds/{refund_id}").status_code == 404
    assert owner.delete(f"/api/v1/refunds/{refund_id}").status_code == 403
    assert api(company.manager_a).delete(f"/api/v1/refunds/{refund_id}").status_code == 204
    assert not Refund.objects.exists()


def test_openapi_schema_documents_refunds(company):
    schema = api(company.owner).get("/api/v1/openapi.json").json()
    assert "post" in schema["paths"]["/api/v1/payments/{payment_id}/refunds"]
    assert "delete" in schema["paths"]["/api/v1/refunds/{refund_id}"]
    assert "get" in schema["paths"]["/api/v1/contracts/{contract_id}/refunds"]
    assert "RefundIn" in schema["components"]["schemas"]


def test_a_refund_is_on_the_customers_timeline_and_in_the_audit_search(company, payment):
    from bridgecrm.core.audit import audited_model_labels
    from bridgecrm.core.timeline import customer_timeline

    refund_services.refund_record(
        actor=company.owner, payment=payment, refunded_on=dt.date(2026, 3, 1), amount="100.00", reason="Damaged"
    )
    items = customer_timeline(actor=company.owner, customer=payment.contract.customer, limit=20)
    refund_item = next(i for i in items if i.kind == "refund")
    assert "CNY 100.00" in str(refund_item.title) and "Damaged" in refund_item.detail
    stranger = customer_timeline(actor=company.other_rep, customer=payment.contract.customer, limit=20)
    assert not [i for i in stranger if i.kind == "refund"]
    assert "contracts.Refund" in audited_model_labels()
