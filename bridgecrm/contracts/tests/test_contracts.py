"""Contracts: creation and editing through the services, status transitions, attachments (sniffed
types, size limit, server-made names, download headers), pages, exports, the API and the timeline."""

from __future__ import annotations

import datetime as dt
import io
import json
import zipfile
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from bridgecrm.conftest import signed_in
from bridgecrm.contracts.models import Contract, ContractAttachment, DocumentSettings, Payment
from bridgecrm.contracts.services import contracts as services
from bridgecrm.contracts.tests.money_helpers import make_contract
from bridgecrm.core.errors import ApplicationError, Conflict, NotFound
from bridgecrm.core.timeline import customer_timeline
from bridgecrm.customers.tests.factories import make_customer
from bridgecrm.users import services as user_services

D = Decimal
PDF = b"%PDF-1.7\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 40


def docx_bytes() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as z:
        z.writestr("[Content_Types].xml", "<Types/>")
        z.writestr("word/document.xml", "<w:document/>")
    return buffer.getvalue()


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.STORAGES = {**settings.STORAGES, "default": {"BACKEND": "django.core.files.storage.FileSystemStorage",
                                                         "OPTIONS": {"location": str(tmp_path)}}}  # fmt: skip
    return tmp_path


# ---- services ------------------------------------------------------------------------------------


def test_create_numbers_the_contract_with_the_document_prefix(company):
    DocumentSettings.objects.create(contract_prefix="HT-")
    contract = make_contract(company.owner, active=False)
    assert contract.number.startswith(f"HT-{dt.date.today().year}-")
    assert contract.status == "draft"
    second = make_contract(company.owner, customer=contract.customer, active=False)
    assert int(second.number[-5:]) == int(contract.number[-5:]) + 1


def test_create_on_a_customer_one_may_not_see_is_not_found(company):
    customer = make_customer(company.owner)
    with pytest.raises(NotFound):
        services.contract_create(actor=company.other_rep, customer=customer, title="x", amount=D(1), currency="CNY")
    assert not Contract.objects.exists()


def test_the_deal_must_belong_to_the_customer(company):
    from bridgecrm.pipeline import services as pipeline_services
    from bridgecrm.pipeline.models import Deal

    pipeline = pipeline_services.pipeline_create(actor=company.admin, name="P")
    first, second = make_customer(company.owner, name="A"), make_customer(company.owner, name="B")
    deal = Deal.objects.create(
        name="D", customer=first, pipeline=pipeline, stage=pipeline.stages.first(), probability=10,
        forecast_category="pipeline", owner=company.owner,
    )  # fmt: skip
    with pytest.raises(ApplicationError) as err:
        services.contract_create(actor=company.owner, customer=second, deal=deal, title="x", amount=D(1))
    assert "deal" in err.value.details
    assert services.contract_create(actor=company.owner, customer=first, deal=deal, title="x", amount=D(1)).deal == deal


def test_update_refuses_a_stale_version_and_an_amount_below_the_plan(company):
    contract = make_contract(company.owner, amount="1000.00", plan=[(dt.date(2026, 1, 1), "800.00")])
    with pytest.raises(Conflict):
        services.contract_update(actor=company.owner, contract=contract, lock_version=1, title="new")
    with pytest.raises(ApplicationError) as err:
        services.contract_update(
            actor=company.owner, contract=contract, lock_version=contract.lock_version, amount=D("799.99")
        )
    assert "amount" in err.value.details
    updated = services.contract_update(
        actor=company.owner, contract=contract, lock_version=contract.lock_version, amount=D("800.00"), title="New"
    )
    assert (updated.title, updated.amount, updated.lock_version) == ("New", D("800.00"), contract.lock_version + 1)


def test_status_transitions(company):
    contract = make_contract(company.owner, active=False)
    with pytest.raises(ApplicationError) as err:
        services.contract_set_status(actor=company.owner, contract=contract, status="active")
    assert err.value.code == "not_signed"
    with pytest.raises(ApplicationError) as err:
        services.contract_set_status(actor=company.owner, contract=contract, status="completed")
    assert err.value.code == "illegal_transition"
    contract = services.contract_update(
        actor=company.owner, contract=contract, lock_version=contract.lock_version, signed_on=dt.date(2026, 1, 1)
    )
    contract = services.contract_set_status(actor=company.owner, contract=contract, status="active")
    contract = services.contract_set_status(actor=company.owner, contract=contract, status="completed")
    with pytest.raises(ApplicationError):
        services.contract_set_status(actor=company.owner, contract=contract, status="active")
    with pytest.raises(NotFound):
        services.contract_set_status(actor=company.other_rep, contract=contract, status="terminated")
    assert Contract.objects.get().status == "completed"


# ---- attachments ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "data", "expected"),
    [
        ("scan.pdf", PDF, "application/pdf"),
        ("photo.PNG", PNG, "image/png"),
        ("合同.docx", docx_bytes(), "application/vnd.openxmlformats-officedocument.wordprocessingml.document"),
        ("no-extension", PDF, "application/pdf"),  # the bytes decide, not the name
    ],
)
def test_attachments_are_typed_by_their_bytes_and_stored_under_a_server_name(company, media, name, data, expected):
    contract = make_contract(company.owner)
    upload = SimpleUploadedFile(name, data, content_type="text/html")
    attachment = services.attachment_add(actor=company.owner, contract=contract, upload=upload)
    assert attachment.content_type == expected
    assert attachment.original_name == name
    assert name not in attachment.file.name
    assert (media / attachment.file.name).read_bytes() == data


@pytest.mark.parametrize(
    ("name", "data"),
    [
        ("invoice.pdf", b"MZ\x90\x00\x03" + b"\x00" * 60),  # a Windows program renamed
        ("page.pdf", b"<!DOCTYPE html><script>alert(1)</script>"),
        ("image.png", b"GIF89a"),
        ("broken.docx", b"PK\x03\x04 not a zip"),
    ],
)
def test_other_types_are_refused_and_nothing_is_stored(company, media, name, data):
    contract = make_contract(company.owner)
    with pytest.raises(ApplicationError) as err:
        services.attachment_add(
            actor=company.owner, contract=contract, upload=SimpleUploadedFile(name, data, "application/pdf")
        )
    assert err.value.code == "file_type"
    assert not ContractAttachment.objects.exists()
    assert not any(p.is_file() for p in media.rglob("*"))


def test_the_size_limit(company, settings):
    settings.BRIDGE_ATTACHMENT_MAX_BYTES = 1024
    contract = make_contract(company.owner)
    with pytest.raises(ApplicationError) as err:
        services.attachment_add(
            actor=company.owner, contract=contract, upload=SimpleUploadedFile("big.pdf", PDF + b"0" * 1024)
        )
    assert err.value.code == "too_large"
    services.attachment_add(actor=company.owner, contract=contract, upload=SimpleUploadedFile("ok.pdf", PDF))


def test_download_headers_and_visibility(company):
    contract = make_contract(company.owner)
    attachment = services.attachment_add(
        actor=company.owner, contract=contract, upload=SimpleUploadedFile('报告 "final";.pdf', PDF)
    )
    url = reverse("contracts:attachment_download", args=[contract.pk, attachment.pk])
    response = signed_in(company.owner).get(url)
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == PDF
    assert response["Content-Type"] == "application/pdf"
    assert response["X-Content-Type-Options"] == "nosniff"
    disposition = response["Content-Disposition"]
    assert disposition.startswith("attachment;")
    assert "filename*=utf-8''" in disposition
    assert "\n" not in disposition
    assert signed_in(company.other_rep).get(url).status_code == 404
    assert (
        signed_in(company.owner)
        .get(reverse("contracts:attachment_download", args=[contract.pk + 1, attachment.pk]))
        .status_code
        == 404
    )


def test_upload_and_delete_through_the_page(company, media):
    contract = make_contract(company.owner)
    client = signed_in(company.owner)
    response = client.post(
        reverse("contracts:attachment_upload", args=[contract.pk]),
        {"file": SimpleUploadedFile("evil.pdf", b"<html>", "application/pdf")},
    )
    assert response.status_code == 400
    assert "Only PDF" in response.content.decode()
    response = client.post(
        reverse("contracts:attachment_upload", args=[contract.pk]), {"file": SimpleUploadedFile("a.pdf", PDF)}
    )
    assert response.status_code == 302
    attachment = ContractAttachment.objects.get()
    stored = media / attachment.file.name
    assert stored.exists()
    with pytest.raises(NotFound):
        services.attachment_delete(actor=company.other_rep, attachment=attachment)
    from django.test import TestCase

    with TestCase.captureOnCommitCallbacks(execute=True):
        response = client.post(reverse("contracts:attachment_delete", args=[contract.pk, attachment.pk]))
    assert response.status_code == 302
    assert not ContractAttachment.objects.exists()
    assert not stored.exists()


# ---- pages ---------------------------------------------------------------------------------------


def test_contract_pages(company):
    contract = make_contract(company.owner, amount="3000.00", plan=[(dt.date(2026, 1, 1), "1000.00")])
    client = signed_in(company.owner)
    assert client.get(reverse("contracts:contracts")).status_code == 200
    page = client.get(reverse("contracts:contract_detail", args=[contract.pk]))
    assert page.status_code == 200
    assert contract.number in page.content.decode()
    response = client.post(
        reverse("contracts:plan_save", args=[contract.pk]),
        {
            "lock_version": contract.lock_version,
            "line_id": [str(contract.plan_lines.get().pk), "", ""],
            "due_on": ["2026-01-01", "2026-02-01", ""],
            "amount": ["1000.00", "2000.00", ""],
            "note": ["", "final", ""],
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    assert contract.plan_lines.count() == 2
    response = client.post(
        reverse("contracts:payment_record", args=[contract.pk]),
        {"received_on": "2026-01-05", "amount": "1500.00", "method": "bank", "reference": "TX-1"},
    )
    assert response.status_code == 302
    contract.refresh_from_db()
    assert contract.received_amount == D("1500.00")
    response = client.post(
        reverse("contracts:payment_record", args=[contract.pk]),
        {"received_on": "2026-01-05", "amount": "1500.01", "method": "bank"},
    )
    assert response.status_code == 400
    assert "Extend the plan first" in response.content.decode()
    payment = Payment.objects.get()
    delete = reverse("contracts:payment_delete", args=[contract.pk, payment.pk])
    assert client.post(delete).status_code == 403  # the rep who booked it may not take money back
    assert signed_in(company.manager_a).post(delete).status_code == 302
    assert not Payment.objects.exists()
    for name in ("contracts:payments", "contracts:aging", "contracts:collections"):
        assert client.get(reverse(name)).status_code == 200
    assert client.get(reverse("contracts:aging") + "?group_by=team").status_code == 200


def test_the_contract_list_costs_the_same_at_two_page_sizes(company):
    customer = make_customer(company.owner)
    for _i in range(12):
        make_contract(company.owner, customer=customer, active=False)
    client = signed_in(company.owner)
    client.get(reverse("contracts:contracts"))

    def count(per_page: int) -> int:
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(reverse("contracts:contracts"), {"per_page": per_page}).status_code == 200
        return len(ctx.captured_queries)

    assert count(10) == count(50)


def test_exports_have_a_bom_neutralised_cells_filters_and_visibility(company):
    customer = make_customer(company.owner, name="=HYPERLINK(1)")
    mine = make_contract(company.owner, customer=customer, title="+cmd", plan=[(dt.date(2026, 1, 1), "10.00")])
    make_contract(company.owner, customer=customer, title="draft one", active=False)
    make_contract(company.other_rep, customer=make_customer(company.other_rep, name="Hidden"), title="hidden")
    client = signed_in(company.owner)
    body = b"".join(client.get(reverse("contracts:contracts_export"), {"status": "active"}).streaming_content)
    text = body.decode("utf-8")
    assert text.startswith("\ufeff")
    assert "'+cmd" in text and "'=HYPERLINK(1)" in text
    assert "draft one" not in text and "hidden" not in text
    assert mine.number in text
    xlsx = client.get(reverse("contracts:contracts_export"), {"format": "xlsx"})
    assert xlsx["Content-Type"].startswith("application/vnd.openxmlformats")
    from bridgecrm.contracts.services import payments

    payments.payment_record(actor=company.owner, contract=mine, received_on=dt.date(2026, 1, 2), amount="10.00")
    body = b"".join(client.get(reverse("contracts:payments_export")).streaming_content).decode()
    assert body.startswith("\ufeff") and mine.number in body
    aging_csv = b"".join(client.get(reverse("contracts:aging_export")).streaming_content).decode()
    assert aging_csv.startswith("\ufeff")
    other = b"".join(signed_in(company.other_rep).get(reverse("contracts:payments_export")).streaming_content)
    assert mine.number.encode() not in other


def test_exchange_rate_page_is_for_company_managers(company):
    url = reverse("contracts:exchange_rates")
    assert signed_in(company.owner).get(url).status_code == 403
    client = signed_in(company.admin)
    assert client.get(url).status_code == 200
    response = client.post(url, {"action": "rate", "currency": "USD", "valid_from": "2026-01-01", "rate": "7.1"})
    assert response.status_code == 302
    from bridgecrm.core.models import ExchangeRate

    assert ExchangeRate.objects.get().rate == D("7.1")
    response = client.post(url, {"action": "base", "currency": "USD"})
    assert response.status_code == 400


def test_the_customer_timeline_shows_contracts_and_payments(company):
    from bridgecrm.contracts.services import payments

    contract = make_contract(company.owner, plan=[(dt.date(2026, 1, 1), "100.00")])
    payments.payment_record(actor=company.owner, contract=contract, received_on=dt.date(2026, 1, 2), amount="100.00")
    kinds = [i.kind for i in customer_timeline(actor=company.owner, customer=contract.customer)]
    assert "contract" in kinds and "payment" in kinds
    assert customer_timeline(actor=company.other_rep, customer=contract.customer) == []


# ---- API -----------------------------------------------------------------------------------------


def api(user):
    from django.test import Client

    secret = user_services.token_create(actor=user, name="t").secret
    return Client(headers={"Authorization": f"Bearer {secret}"})


def test_api_contract_plan_and_payments(company):
    customer = make_customer(company.owner)
    client = api(company.owner)
    response = client.post(
        "/api/v1/contracts",
        json.dumps({"title": "API", "customer_id": customer.pk, "amount": "1000.00", "signed_on": "2026-01-01"}),
        content_type="application/json",
    )
    assert response.status_code == 201, response.content
    contract = response.json()
    cid = contract["id"]
    response = client.put(
        f"/api/v1/contracts/{cid}/plan",
        json.dumps({"lock_version": contract["lock_version"], "lines": [{"due_on": "2026-02-01", "amount": "600"}]}),
        content_type="application/json",
    )
    assert response.status_code == 200, response.content
    response = client.post(
        f"/api/v1/contracts/{cid}/status", json.dumps({"status": "active"}), content_type="application/json"
    )
    assert response.json()["status"] == "active"
    response = client.post(
        f"/api/v1/contracts/{cid}/payments",
        json.dumps({"received_on": "2026-02-02", "amount": "700"}),
        content_type="application/json",
    )
    assert (response.status_code, response.json()["code"]) == (400, "overpayment")
    response = client.post(
        f"/api/v1/contracts/{cid}/payments",
        json.dumps({"received_on": "2026-02-02", "amount": "250.50"}),
        content_type="application/json",
    )
    assert response.status_code == 201
    assert response.json()["allocations"][0]["amount"] == "250.50"
    plan = client.get(f"/api/v1/contracts/{cid}/plan").json()
    assert plan["lines"][0]["status"] in ("overdue", "partly_paid")
    listed = client.get("/api/v1/contracts", {"status": "active", "customer": customer.pk}).json()
    assert listed["count"] == 1
    aging = client.get("/api/v1/collections/aging", {"group_by": "owner"}).json()
    assert aging["base_currency"] == "CNY"
    # Someone who may not see the contract: 404 and nothing written.
    stranger = api(company.other_rep)
    response = stranger.post(
        f"/api/v1/contracts/{cid}/payments",
        json.dumps({"received_on": "2026-02-02", "amount": "1"}),
        content_type="application/json",
    )
    assert response.status_code == 404
    assert Payment.objects.count() == 1
    payment_id = Payment.objects.get().pk
    assert client.delete(f"/api/v1/payments/{payment_id}").status_code == 403  # the owner may not take money back
    assert api(company.manager_a).delete(f"/api/v1/payments/{payment_id}").status_code == 204
    assert api(company.owner).post(
        "/api/v1/exchange-rates", json.dumps({"currency": "USD", "valid_from": "2026-01-01", "rate": "7.1"}),
        content_type="application/json",
    ).status_code == 403  # fmt: skip


def test_the_payment_list_and_the_api_cost_the_same_at_two_page_sizes(company):
    from bridgecrm.contracts.services import payments

    customer = make_customer(company.owner)
    for _i in range(12):
        contract = make_contract(company.owner, customer=customer, plan=[(dt.date(2026, 1, 1), "100.00")])
        payments.payment_record(actor=company.owner, contract=contract, received_on=dt.date(2026, 1, 2), amount="60")
    client = signed_in(company.owner)
    token_client = api(company.owner)

    def count(get, url: str, params: dict) -> int:
        get(url, params)
        with CaptureQueriesContext(connection) as ctx:
            assert get(url, params).status_code == 200
        return len(ctx.captured_queries)

    assert count(client.get, reverse("contracts:payments"), {"per_page": 10}) == count(
        client.get, reverse("contracts:payments"), {"per_page": 50}
    )
    assert count(token_client.get, "/api/v1/contracts", {"limit": 5}) == count(
        token_client.get, "/api/v1/contracts", {"limit": 50}
    )
    first = Contract.objects.order_by("pk").first()
    assert first is not None
    assert count(token_client.get, f"/api/v1/contracts/{first.pk}/payments", {"limit": 1}) == count(
        token_client.get, f"/api/v1/contracts/{first.pk}/payments", {"limit": 50}
    )
    page = client.get(reverse("contracts:collections"))
    assert page.context["form"]["date_from"].value() == f"{dt.date.today().year}-01-01"
