"""The product list's export: filters, both formats, neutralised cells, Chinese text."""

from __future__ import annotations

import csv
import io

import pytest
from openpyxl import load_workbook

from bridgecrm.pipeline import services

pytestmark = pytest.mark.django_db


def test_csv_has_a_bom_honours_filters_and_neutralises_formulas(company, login) -> None:
    services.product_create(
        actor=company.admin, sku="EX-1", name='=HYPERLINK("x") 软件', category="software", list_price="10.00"
    )
    services.product_create(actor=company.admin, sku="EX-2", name="培训服务", category="training", list_price="99.50")
    response = login(company.owner).get("/manage/products/export/?category=software")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    body = b"".join(response.streaming_content)
    assert body.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))
    assert rows[0][0] == "SKU"
    assert [r[0] for r in rows[1:]] == ["EX-1"]
    assert rows[1][1] == '\'=HYPERLINK("x") 软件'


def test_xlsx_keeps_numbers_as_numbers(company, login) -> None:
    services.product_create(actor=company.admin, sku="EX-3", name="许可证", category="software", list_price="1234.56")
    response = login(company.owner).get("/manage/products/export/?format=xlsx")
    assert response.status_code == 200
    workbook = load_workbook(io.BytesIO(b"".join(response.streaming_content)), read_only=True)
    rows = list(workbook.active.iter_rows(values_only=True))
    assert rows[0][0] == "SKU"
    row = next(r for r in rows if r[0] == "EX-3")
    assert row[1] == "许可证"
    assert float(row[4]) == 1234.56
