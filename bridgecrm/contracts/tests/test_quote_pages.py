"""The quote pages, the exports, the PDF and the API, through real HTTP requests."""

from __future__ import annotations

import csv
import io
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from openpyxl import load_workbook
from pypdf import PdfReader

from bridgecrm.api.tests.conftest import ApiClient, assert_error_shape, issue_token
from bridgecrm.conftest import signed_in
from bridgecrm.contracts import pdf as quote_pdf
from bridgecrm.contracts.models import Contract, Quote
from bridgecrm.contracts.tests.quote_helpers import make_deal, make_quote
from bridgecrm.customers.tests.factories import make_contact, make_customer
from bridgecrm.pipeline.tests.factories import make_product

pytestmark = pytest.mark.django_db

CUSTOMER = "上海华丰机械有限公司"


def _text(pdf_bytes: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf_bytes)).pages)


def test_pdf_has_extractable_chinese_and_the_total(company) -> None:
    customer = make_customer(company.owner, name=CUSTOMER)
    quote = make_quote(company.owner, customer, contact=make_contact(customer), terms="付款方式：款到发货。")
    client = signed_in(company.owner)
    response = client.get(f"/quotes/{quote.pk}/pdf/")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert f'filename="{quote.number}-v1.pdf"' in response["Content-Disposition"]
    text = _text(response.content)
    assert CUSTOMER in text
    assert "8,700.98" in text
    assert "CNY" in text
    assert "王伟" in text
    assert "款到发货" in text
    assert "\x00" not in text


def test_pdf_in_chinese_has_chinese_labels(company) -> None:
    quote = make_quote(company.owner, make_customer(company.owner, name=CUSTOMER))
    from django.utils import translation

    with translation.override("zh-hans"):
        text = _text(quote_pdf.quote_pdf(quote))
    assert CUSTOMER in text
    assert "8,700.98" in text


def test_pdf_of_many_lines_runs_over_pages(company) -> None:
    lines = [{"name": f"配件 {i}", "quantity": "1", "unit_price": "10.00"} for i in range(80)]
    quote = make_quote(company.owner, make_customer(company.owner, name=CUSTOMER), lines=lines, tax_rate="0")
    reader = PdfReader(io.BytesIO(quote_pdf.quote_pdf(quote)))
    assert len(reader.pages) >= 2
    assert "800.00" in "".join(p.extract_text() for p in reader.pages)


def test_missing_font_says_what_to_install(company, settings) -> None:
    settings.BRIDGE_PDF_FONT = "/nonexistent/font.ttc"
    quote_pdf.find_font.cache_clear()
    try:
        quote = make_quote(company.owner, make_customer(company.owner))
        response = signed_in(company.owner).get(f"/quotes/{quote.pk}/pdf/")
        assert response.status_code == 503
        assert "BRIDGE_PDF_FONT" in response.content.decode()
    finally:
        quote_pdf.find_font.cache_clear()


def test_print_page_shows_company_customer_lines_and_totals(company) -> None:
    from bridgecrm.core.models import CompanyProfile

    CompanyProfile.objects.update_or_create(pk=1, defaults={"name": "桥梁软件有限公司"})
    quote = make_quote(company.owner, make_customer(company.owner, name=CUSTOMER), terms="质保一年")
    page = signed_in(company.manager_a).get(f"/quotes/{quote.pk}/print/").content.decode()
    for text in ("桥梁软件有限公司", CUSTOMER, "CRM 标准版许可", "CNY 8,700.98", "质保一年", "quote_print.css"):
        assert text in page
    assert "style=" not in page


def test_list_filters_and_query_count_does_not_grow(company) -> None:
    customer = make_customer(company.owner, name=CUSTOMER)
    for _ in range(12):
        make_quote(company.owner, customer)
    other = make_quote(company.owner, make_customer(company.owner, name="别的客户"))
    client = signed_in(company.owner)
    counts = []
    for size in (10, 13):
        with CaptureQueriesContext(connection) as ctx:
            response = client.get("/quotes/", {"per_page": size})
        assert response.status_code == 200
        assert len(response.context["quotes"]) == size
        counts.append(len(ctx))
    assert counts[0] == counts[1]
    response = client.get("/quotes/", {"customer": customer.pk})
    assert other.pk not in {q.pk for q in response.context["quotes"]}
    response = client.get("/quotes/", {"q": "别的"})
    assert [q.pk for q in response.context["quotes"]] == [other.pk]
    assert signed_in(company.other_rep).get("/quotes/").context["quotes"] == []


def test_exports_follow_filters_and_visibility(company) -> None:
    customer = make_customer(company.owner, name=CUSTOMER)
    quote = make_quote(company.owner, customer, title="=HYPERLINK()")
    make_quote(company.other_rep, make_customer(company.other_rep, name="看不见的客户"))
    response = signed_in(company.owner).get("/quotes/export/", {"status": "draft"})
    body = b"".join(response.streaming_content).decode("utf-8")
    assert body.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(body.lstrip("\ufeff"))))
    assert len(rows) == 2
    assert rows[1][0] == quote.number
    assert rows[1][3] == CUSTOMER
    assert rows[1][5] == "'=HYPERLINK()"
    assert "看不见的客户" not in body
    response = signed_in(company.owner).get("/quotes/export/", {"format": "xlsx"})
    sheet = load_workbook(io.BytesIO(b"".join(response.streaming_content))).active
    values = list(sheet.values)
    assert len(values) == 2
    assert values[1][3] == CUSTOMER
    assert Decimal(str(values[1][12])) == quote.total


def test_create_page_from_a_deal_and_htmx_preview(company) -> None:
    customer = make_customer(company.owner, name=CUSTOMER)
    deal = make_deal(company.owner, customer, admin=company.admin)
    client = signed_in(company.owner)
    page = client.get("/quotes/new/", {"customer": customer.pk, "deal": deal.pk})
    assert page.status_code == 200
    assert page.context["form"].initial["deal"] == deal.pk
    data = {
        "customer": customer.pk,
        "deal": deal.pk,
        "from_deal": "on",
        "currency": "CNY",
        "tax_rate": "13",
        "valid_until": page.context["form"].initial["valid_until"].isoformat(),
        "lines-TOTAL_FORMS": "1",
        "lines-INITIAL_FORMS": "0",
    }
    preview = client.post(
        "/quotes/new/",
        data | {"preview": "1", "lines-0-name": "单行", "lines-0-quantity": "2", "lines-0-unit_price": "10.005"},
        headers={"HX-Request": "true"},
    )
    assert preview.status_code == 200
    assert "quote-totals" in preview.content.decode()
    assert not Quote.objects.exists()
    response = client.post("/quotes/new/", data)
    assert response.status_code == 302
    quote = Quote.objects.get()
    assert quote.deal == deal
    assert quote.lines.count() == 2


def test_create_page_from_a_deal_takes_its_contact(company) -> None:
    customer = make_customer(company.owner, name=CUSTOMER)
    contact = make_contact(customer, "王伟")
    deal = make_deal(company.owner, customer, admin=company.admin)
    client = signed_in(company.owner)
    page = client.get("/quotes/new/", {"customer": customer.pk, "deal": deal.pk})
    assert "contact" not in page.context["form"].initial  # the deal has none yet
    deal.contact = contact
    deal.save(update_fields=["contact"])
    page = client.get("/quotes/new/", {"customer": customer.pk, "deal": deal.pk})
    assert page.context["form"].initial["contact"] == contact.pk
    assert f'<option value="{contact.pk}" selected>王伟</option>' in page.content.decode()


def test_edit_page_conflict_shows_an_error(company) -> None:
    quote = make_quote(company.owner, make_customer(company.owner))
    client = signed_in(company.owner)
    data = {
        "currency": "CNY",
        "tax_rate": "13",
        "valid_until": quote.valid_until.isoformat(),
        "lock_version": "1",
        "lines-TOTAL_FORMS": "1",
        "lines-INITIAL_FORMS": "0",
        "lines-0-name": "改",
        "lines-0-quantity": "1",
        "lines-0-unit_price": "1",
    }
    assert client.post(f"/quotes/{quote.pk}/edit/", data).status_code == 302
    response = client.post(f"/quotes/{quote.pk}/edit/", data)
    assert response.status_code == 200
    assert response.context["form"].non_field_errors()


def test_accept_through_the_page_makes_a_contract(company) -> None:
    quote = make_quote(company.owner, make_customer(company.owner))
    client = signed_in(company.owner)
    client.post(f"/quotes/{quote.pk}/status/", {"action": "send"})
    client.post(f"/quotes/{quote.pk}/status/", {"action": "accept"})
    assert Contract.objects.get().amount == quote.total
    page = client.get(f"/quotes/{quote.pk}/").content.decode()
    assert Contract.objects.get().number in page


def test_document_settings_page(company) -> None:
    client = signed_in(company.admin)
    response = client.post(
        "/settings/documents/",
        {"quote_prefix": "BAD PREFIX", "contract_prefix": "HT", "default_tax_rate": "13", "quote_validity_days": "30"},
    )
    assert response.status_code == 200
    assert response.context["form"].errors
    assert signed_in(company.manager_a).get("/settings/documents/").status_code == 403


# ---- API ---------------------------------------------------------------------------------------------


def test_api_create_patch_status_revise_and_pdf(company) -> None:
    customer = make_customer(company.owner, name=CUSTOMER)
    product = make_product(company.admin, list_price="99.90")
    api = ApiClient(issue_token(company.owner))
    response = api.post(
        "/quotes",
        {
            "customer_id": customer.pk,
            "tax_rate": "13",
            "lines": [{"product_id": product.pk, "quantity": "3"}, {"name": "运费", "unit_price": "50"}],
        },
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["subtotal"], body["tax_amount"], body["total"]) == ("349.70", "45.46", "395.16")
    quote_id = body["id"]
    stale = api.patch(f"/quotes/{quote_id}", {"title": "x", "lock_version": 9})
    assert_error_shape(stale, 409, "conflict")
    patched = api.patch(f"/quotes/{quote_id}", {"title": "新标题", "lock_version": 1}).json()
    assert (patched["title"], patched["lock_version"]) == ("新标题", 2)
    illegal = api.post(f"/quotes/{quote_id}/status", {"action": "accept"})
    assert_error_shape(illegal, 400, "invalid_transition")
    assert api.post(f"/quotes/{quote_id}/status", {"action": "send"}).json()["status"] == "sent"
    revised = api.post(f"/quotes/{quote_id}/revise", {})
    assert revised.status_code == 201
    assert revised.json()["version"] == 2
    listed = api.get("/quotes", {"customer": customer.pk, "status": "superseded"}).json()
    assert listed["count"] == 1
    pdf = api.get(f"/quotes/{quote_id}/pdf")
    assert pdf["Content-Type"] == "application/pdf"
    assert CUSTOMER in _text(pdf.content)
    other = ApiClient(issue_token(company.other_rep))
    assert_error_shape(other.get(f"/quotes/{quote_id}"), 404, "not_found")
    assert other.get("/quotes").json()["count"] == 0


def test_api_accept_returns_the_contract(company) -> None:
    quote = make_quote(company.owner, make_customer(company.owner))
    api = ApiClient(issue_token(company.owner))
    api.post(f"/quotes/{quote.pk}/status", {"action": "send"})
    body = api.post(f"/quotes/{quote.pk}/status", {"action": "accept", "lock_version": 2}).json()
    assert body["contract_id"] == Contract.objects.get().pk


def test_api_refuses_bad_input_and_writes_nothing(company) -> None:
    customer = make_customer(company.owner)
    api = ApiClient(issue_token(company.owner))
    assert_error_shape(api.post("/quotes", {"customer_id": customer.pk, "lines": []}), 400)
    bad_line = {"customer_id": customer.pk, "lines": [{"name": "x", "quantity": "-1", "unit_price": "1"}]}
    assert_error_shape(api.post("/quotes", bad_line), 422)
    assert_error_shape(
        api.post(
            "/quotes", {"customer_id": customer.pk, "currency": "XXX", "lines": [{"name": "x", "unit_price": "1"}]}
        ),
        400,
    )
    hidden = make_customer(company.other_rep)
    assert_error_shape(
        api.post("/quotes", {"customer_id": hidden.pk, "lines": [{"name": "x", "unit_price": "1"}]}), 404
    )
    assert not Quote.objects.exists()
