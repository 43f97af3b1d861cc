"""Exports of the customer and contact lists: streamed CSV with BOM, write-only XLSX, neutralised
cells, the list's filters (or a saved view's), the actor's visibility, a constant query count."""

from __future__ import annotations

import csv
import io

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from openpyxl import load_workbook

from bridgecrm.conftest import signed_in
from bridgecrm.customers import services
from bridgecrm.customers.models import Customer
from bridgecrm.customers.tests.factories import make_contact, make_customer

pytestmark = pytest.mark.django_db

# PostgreSQL text cannot hold NUL at all; SQLite can, so there the export must drop it.
NUL_CELLS = ["A\x00B", "\x00=NUL"] if connection.vendor == "sqlite" else []
DANGEROUS = ["=1+2", "+SUM(A1)", "-2+3", "@cmd", "\tTAB", *NUL_CELLS]


def _body(response) -> bytes:
    assert response.status_code == 200, response
    return b"".join(response.streaming_content)


def _csv(response) -> list[list[str]]:
    data = _body(response)
    assert data.startswith(b"\xef\xbb\xbf")  # UTF-8 BOM: Excel reads the Chinese right
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))


def _xlsx(response) -> list[list[object]]:
    sheet = load_workbook(io.BytesIO(_body(response)), read_only=True).worksheets[0]
    return [list(r) for r in sheet.iter_rows(values_only=True)]


@pytest.fixture
def data(company):
    acme = make_customer(company.owner, "深圳华强电子有限公司", tags=["vip", "重点客户"], lifecycle_stage="customer")
    make_contact(acme, "欧阳娜娜", phones=["13800138000", "010-12345678"], email="nana@hq.cn", is_primary=True)
    for text in DANGEROUS:  # as an import might store them (the services collapse whitespace)
        Customer.objects.create(name=text, owner=company.owner, team=company.owner.team, lifecycle_stage="lead")
    hidden = make_customer(company.other_rep, "别人的客户")
    make_contact(hidden, "别人的联系人", phones=["13900139000"])
    return company


def test_customer_csv_has_bom_chinese_labels_and_neutralised_cells(data) -> None:
    client = signed_in(data.owner)
    response = client.get(reverse("customers:export"), {"format": "csv", "sort": "name"})
    assert response.streaming
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert 'attachment; filename="customers-' in response["Content-Disposition"]
    rows = _csv(response)
    header, body = rows[0], rows[1:]
    assert header[:3] == ["ID", "Name", "Kind"]
    names = [r[1] for r in body]
    assert "深圳华强电子有限公司" in names
    assert "别人的客户" not in names  # visibility
    # Every formula-like text starts with an apostrophe; NUL characters are gone.
    assert sorted(n for n in names if n.startswith("'")) == sorted(
        "'" + t.replace("\x00", "") for t in DANGEROUS if t[0] in "=+-@\t\x00"
    )
    if NUL_CELLS:
        assert "AB" in names  # a NUL inside a cell is dropped too
    acme = next(r for r in body if r[1] == "深圳华强电子有限公司")
    assert acme[3] == "Customer"  # the label, not the code
    assert sorted(acme[14].split(", ")) == ["vip", "重点客户"]
    assert acme[15] == "欧阳娜娜"


def test_customer_export_in_chinese(data) -> None:
    client = signed_in(data.owner)
    rows = _csv(client.get(reverse("customers:export"), {"format": "csv"}, headers={"accept-language": "zh-hans"}))
    data.owner.language = "zh-hans"
    data.owner.save(update_fields=["language"])
    rows = _csv(signed_in(data.owner).get(reverse("customers:export"), {"format": "csv", "stage": "customer"}))
    assert rows[0][1] == "名称" or rows[0][1] == "Name"  # the catalogue may not have the msgid yet
    assert rows[1][1] == "深圳华强电子有限公司"


def test_customer_xlsx_is_a_workbook_with_the_same_rows(data) -> None:
    client = signed_in(data.owner)
    response = client.get(reverse("customers:export"), {"format": "xlsx", "stage": "lead", "sort": "name"})
    assert response["Content-Type"] == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    rows = _xlsx(response)
    names = sorted(r[1] for r in rows[1:])
    assert len(names) == len(DANGEROUS)
    expected = ["'=1+2", "'+SUM(A1)", "'-2+3", "'@cmd", "'\tTAB"] + (["AB", "'=NUL"] if NUL_CELLS else [])
    assert names == sorted(expected)


def test_filters_saved_views_and_visibility_are_honoured(data) -> None:
    client = signed_in(data.owner)
    url = reverse("customers:export")
    by_phone = _csv(client.get(url, {"format": "csv", "q": "138 0013 8000"}))
    assert [r[1] for r in by_phone[1:]] == ["深圳华强电子有限公司"]
    assert _csv(client.get(url, {"format": "csv", "q": "别人的"}))[1:] == []
    view = services.saved_view_save(actor=data.owner, name="Customers", query="stage=customer")
    via_view = _csv(client.get(url, {"format": "csv", "view": view.pk}))
    assert [r[1] for r in via_view[1:]] == ["深圳华强电子有限公司"]
    # Someone else's private view: not found, as if it did not exist.
    other = services.saved_view_save(actor=data.other_rep, name="Mine", query="")
    assert client.get(url, {"format": "csv", "view": other.pk}).status_code == 404
    # The manager over team B sees the other rep's customer.
    everything = _csv(signed_in(data.manager_b).get(url, {"format": "csv"}))
    assert [r[1] for r in everything[1:]] == ["别人的客户"]


def test_bad_format_or_filters_are_refused(data) -> None:
    client = signed_in(data.owner)
    url = reverse("customers:export")
    assert client.get(url, {"format": "pdf"}).status_code == 400
    assert client.get(url, {"format": "csv", "potential_min": "abc"}).status_code == 400
    assert client.get(reverse("customers:contacts_export"), {"format": "doc"}).status_code == 400


def _count(client, url: str, params: dict) -> int:
    with CaptureQueriesContext(connection) as ctx:
        _body(client.get(url, params))
    return len(ctx.captured_queries)


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_export_query_count_does_not_grow_with_the_rows(company, fmt) -> None:
    client = signed_in(company.owner)
    for i in range(3):
        make_contact(make_customer(company.owner, f"C{i}", tags=["a", "b"]), phones=["13800138000"])
    few = _count(client, reverse("customers:export"), {"format": fmt})
    few_contacts = _count(client, reverse("customers:contacts_export"), {"format": fmt})
    for i in range(40):
        make_contact(make_customer(company.owner, f"D{i}", tags=["a", f"t{i}"]), phones=["13800138000", "010-12345678"])
    assert _count(client, reverse("customers:export"), {"format": fmt}) == few
    assert _count(client, reverse("customers:contacts_export"), {"format": fmt}) == few_contacts


def test_contact_list_and_export(data) -> None:
    client = signed_in(data.owner)
    page = client.get(reverse("customers:contacts"))
    assert [c.name for c in page.context["contacts"]] == ["欧阳娜娜"]
    assert "138 0013 8000" in page.content.decode()
    assert reverse("customers:contacts_export") in page.content.decode()
    rows = _csv(client.get(reverse("customers:contacts_export"), {"format": "csv", "q": "欧阳"}))
    assert rows[0][:4] == ["ID", "Name", "Customer ID", "Customer"]
    assert [r[1] for r in rows[1:]] == ["欧阳娜娜"]
    assert rows[1][7] == "138 0013 8000, 010 1234 5678"
    assert rows[1][8] == "nana@hq.cn"
    assert _csv(client.get(reverse("customers:contacts_export"), {"format": "csv", "q": "别人的联系人"}))[1:] == []
    xlsx = _xlsx(client.get(reverse("customers:contacts_export"), {"format": "xlsx"}))
    assert [r[1] for r in xlsx[1:]] == ["欧阳娜娜"]


def test_contact_list_query_count_does_not_grow_with_the_page(company) -> None:
    client = signed_in(company.owner)
    for i in range(25):
        make_contact(make_customer(company.owner, f"C{i}"), phones=["13800138000"])
    url = reverse("customers:contacts")
    with CaptureQueriesContext(connection) as small:
        assert len(client.get(url, {"per_page": 10}).context["contacts"]) == 10
    with CaptureQueriesContext(connection) as large:
        assert len(client.get(url, {"per_page": 25}).context["contacts"]) == 25
    assert len(small.captured_queries) == len(large.captured_queries)


def test_the_list_links_to_its_export_with_the_current_filters(data) -> None:
    client = signed_in(data.owner)
    html = client.get(reverse("customers:list"), {"stage": "lead", "page": "1"}).content.decode()
    assert f"{reverse('customers:export')}?stage=lead&amp;format=csv" in html
    assert f"{reverse('customers:export')}?stage=lead&amp;format=xlsx" in html
