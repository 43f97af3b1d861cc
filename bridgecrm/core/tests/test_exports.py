"""Exports: BOM, neutralised formulas, Chinese text intact, streamed in bounded memory."""

from __future__ import annotations

import csv
import datetime as dt
import io
import tracemalloc
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st
from openpyxl import load_workbook

from bridgecrm.core.exports import BOM, csv_chunks, neutralise, xlsx_file

HEADER = ["客户", "金额", "备注"]


@pytest.mark.parametrize("dangerous", ["=1+1", "+86 138", "-5", "@SUM(A1)", "\tx", "\rx", "\x00=cmd"])
def test_formula_like_cells_are_neutralised(dangerous):
    out = neutralise(dangerous)
    assert isinstance(out, str) and out.startswith("'") and "\x00" not in out


def test_numbers_and_plain_text_pass_through():
    assert neutralise(-5) == -5
    assert neutralise(Decimal("-1.20")) == Decimal("-1.20")
    assert neutralise("上海桥联科技有限公司") == "上海桥联科技有限公司"


@given(st.text())
def test_no_string_leaves_as_a_formula(text):
    out = neutralise(text)
    assert not out.startswith(("=", "+", "-", "@", "\t", "\r", "\x00"))


def test_csv_has_a_bom_and_round_trips_chinese_text():
    rows = [["上海桥联科技", Decimal("1234.50"), '=HYPERLINK("x")'], ["Acme, Inc.", 7, None]]
    data = b"".join(csv_chunks(HEADER, rows)).decode("utf-8")
    assert data.startswith(BOM)
    parsed = list(csv.reader(io.StringIO(data[1:])))
    assert parsed[0] == HEADER
    assert parsed[1] == ["上海桥联科技", "1234.50", '\'=HYPERLINK("x")']
    assert parsed[2] == ["Acme, Inc.", "7", ""]


def test_csv_streams_fifty_thousand_rows_in_bounded_memory():
    def rows():
        for i in range(50_000):
            yield [f"客户{i}", Decimal(i) / 100, dt.date(2026, 1, 1)]

    tracemalloc.start()
    chunks = 0
    size = 0
    for chunk in csv_chunks(HEADER, rows()):
        chunks += 1
        size += len(chunk)
    _current, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert chunks > 50
    assert size > 1_000_000
    assert peak < 2_000_000  # a few chunks at a time, never the whole file


def test_xlsx_keeps_types_and_neutralises():
    handle = xlsx_file(HEADER, [["深圳客户", Decimal("10.5"), "=1+1"], ["x", 3, dt.date(2026, 2, 1)]])
    sheet = load_workbook(handle, read_only=True).active
    values = [list(r) for r in sheet.iter_rows(values_only=True)]
    handle.close()
    assert values[0] == HEADER
    assert values[1] == ["深圳客户", 10.5, "'=1+1"]
    assert values[2][2] == dt.datetime(2026, 2, 1)
