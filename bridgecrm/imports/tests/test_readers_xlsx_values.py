"""Bridge's own loop over a worksheet's cells and its shared strings (``readers._sheet_values``,
``readers.SharedStrings``) against openpyxl's ``iter_rows(values_only=True)``: the same values,
of the same types, on workbooks written by openpyxl, by xlsxwriter (inline strings, cached formula
results) and edited by hand (no row or cell references, phonetic guides, rich text, escapes, the
1904 calendar, date serials out of range), and the DTD pre-scan on its own."""

from __future__ import annotations

import datetime as dt
import io
import re
import zipfile
from pathlib import Path

import pytest
import xlsxwriter
from openpyxl import Workbook, load_workbook
from openpyxl.cell.rich_text import CellRichText, TextBlock
from openpyxl.cell.text import InlineFont
from openpyxl.utils.datetime import CALENDAR_MAC_1904

from bridgecrm.imports import readers
from bridgecrm.imports.readers import open_table


def _openpyxl_rows(path: Path) -> list[tuple]:
    workbook = load_workbook(path, read_only=True, data_only=True)
    try:
        sheet = workbook.worksheets[0]
        sheet.reset_dimensions()
        return list(sheet.iter_rows(values_only=True))
    finally:
        workbook.close()


def _bridge_rows(path: Path) -> list[tuple]:
    workbook = readers._load_workbook(path)
    try:
        return list(readers._sheet_values(workbook.worksheets[0]))
    finally:
        readers._close_workbook(workbook)


def _same(path: Path) -> list[tuple]:
    expected = [tuple(row) for row in _openpyxl_rows(path)]  # a missing row is [] there, () here
    got = _bridge_rows(path)
    assert got == expected
    assert [[type(v) for v in row] for row in got] == [[type(v) for v in row] for row in expected]
    return got


def _rewrite(source: Path, target: Path, edit) -> Path:
    with zipfile.ZipFile(source) as src, zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            dst.writestr(info.filename, edit(info.filename, src.read(info.filename)))
    return target


def _every_kind(path: Path, *, epoch=None) -> Path:
    workbook = Workbook()
    if epoch is not None:
        workbook.epoch = epoch
    sheet = workbook.active
    sheet.append(["名称 Name", "Amount", "When", "Flag", "Note"])
    sheet.append(["华鑫科技有限公司", 1234.5, dt.datetime(2024, 3, 1, 9, 30), True, None])
    sheet.append(["Acme", 13800138000, dt.date(2024, 3, 1), False, "#N/A"])
    sheet["C3"].number_format = "yyyy-mm-dd"
    sheet.append(["  spaced  ", -0.000001, dt.time(8, 15), None, "x_x005F_y"])
    sheet.append([None, 1e20, dt.timedelta(hours=30), None, "=SUM(B2:B3)"])
    sheet["C5"].number_format = "[h]:mm:ss"
    sheet["A8"] = CellRichText(["富", TextBlock(InlineFont(b=True), "文本"), " rich"])
    sheet["H8"] = "far right"  # a gap of columns, and rows 6 and 7 missing
    sheet["B9"] = 7
    sheet["B9"].number_format = "0.00%"  # a number format that is not a date
    sheet["E2"].value = "#DIV/0!"
    sheet["E2"].data_type = "e"
    workbook.save(path)
    return path


@pytest.mark.parametrize("epoch", [None, CALENDAR_MAC_1904])
def test_an_openpyxl_workbook_with_every_kind_of_cell(tmp_path, epoch):
    rows = _same(_every_kind(tmp_path / "every.xlsx", epoch=epoch))
    assert rows[1][:4] == ("华鑫科技有限公司", 1234.5, dt.datetime(2024, 3, 1, 9, 30), True)
    assert rows[4][2] == dt.timedelta(hours=30)
    assert rows[5] == rows[6] == () and rows[7][0] == "富文本 rich" and rows[7][7] == "far right"
    assert rows[1][4] == "#DIV/0!" and rows[3][4] == "x_x005F_y"  # unescaped only in shared strings


def test_an_xlsxwriter_workbook_with_inline_strings_and_cached_formula_results(tmp_path):
    path = tmp_path / "writer.xlsx"
    workbook = xlsxwriter.Workbook(path, {"constant_memory": True})
    sheet = workbook.add_worksheet()
    date = workbook.add_format({"num_format": "yyyy-mm-dd"})
    sheet.write_row(0, 0, ["Name", "Phone", "Signed", "Total", "Status", "OK"])
    sheet.write_row(1, 0, ["上海有限公司", "010-12345678"])
    sheet.write_datetime(1, 2, dt.datetime(2025, 12, 31), date)
    sheet.write_formula(1, 3, "=1+1", None, 2)
    sheet.write_formula(1, 4, '="a"&"b"', None, "ab")
    sheet.write_boolean(1, 5, True)
    sheet.write_number(3, 1, 42)  # row 3 missing
    workbook.close()
    rows = _same(path)
    assert rows[1] == ("上海有限公司", "010-12345678", dt.datetime(2025, 12, 31), 2, "ab", True)
    assert rows[2] == ()


def _shared(path: Path) -> Path:
    """A workbook with shared strings, as Excel and WPS write them (openpyxl writes inline ones)."""
    workbook = xlsxwriter.Workbook(path)
    sheet = workbook.add_worksheet()
    bold = workbook.add_format({"bold": True})
    sheet.write_row(0, 0, ["名称 Name", "Amount", "When", "Note"])
    sheet.write_row(1, 0, ["华鑫科技有限公司", 1234.5])
    sheet.write_datetime(1, 2, dt.datetime(2024, 3, 1, 9, 30), workbook.add_format({"num_format": "yyyy-mm-dd hh:mm"}))
    sheet.write_rich_string(1, 3, "富", bold, "文本", " rich")
    sheet.write_row(2, 0, ["Acme", "13800138000", "  spaced  ", "x_x005F_y"])
    sheet.write_row(3, 0, ["Acme", 3, "华鑫科技有限公司"])  # repeated strings: one shared entry each
    workbook.close()
    return path


def test_an_xlsxwriter_workbook_with_shared_and_rich_strings(tmp_path):
    rows = _same(_shared(tmp_path / "shared.xlsx"))
    assert rows[1] == ("华鑫科技有限公司", 1234.5, dt.datetime(2024, 3, 1, 9, 30), "富文本 rich")
    assert rows[3] == ("Acme", 3, "华鑫科技有限公司")


@pytest.mark.filterwarnings("ignore:Cell None is marked as a date:UserWarning")  # openpyxl's, on the serial
def test_a_workbook_edited_by_hand(tmp_path):
    """No ``r`` on some rows and cells, a phonetic guide and rich runs in a shared string, a date
    serial out of range, a row numbered as a float, a row out of order, lower-case references."""
    base = _shared(tmp_path / "base.xlsx")

    def edit(name: str, data: bytes) -> bytes:
        if name == "xl/sharedStrings.xml":
            guide = b'<si><t>\xe5\x8d\x8e\xe9\x91\xab</t><rPh sb="0" eb="2"><t>huaxin</t></rPh></si>'
            runs = b"<si><r><t>A</t></r><r><rPr><b/></rPr><t>B</t></r><r><t/></r></si>"
            data = data.replace(b"</sst>", guide + runs + b"</sst>")
            count = data.count(b"<si>")
            return re.sub(rb'uniqueCount="\d+"', b'uniqueCount="%d"' % count, data)
        if name == "xl/worksheets/sheet1.xml":
            with zipfile.ZipFile(base) as src:
                count = src.read("xl/sharedStrings.xml").count(b"<si>")
            data = re.sub(rb'<row r="3"', b'<row r="3.0"', data)
            data, found = re.subn(rb'(<row r="4"[^>]*>)<c r="A4"', rb"\1<c", data)
            assert found
            data = re.sub(rb'<c r="B4"', b'<c r="b4"', data)
            extra = b'<row><c t="s"><v>%d</v></c><c t="s"><v>%d</v></c><c s="1"><v>99999999</v></c></row>' % (
                count,
                count + 1,
            )
            extra += b'<row r="2"><c r="A2"><v>1</v></c></row>'  # numbered before the last: passed over
            return data.replace(b"</sheetData>", extra + b"</sheetData>")
        return data

    path = _rewrite(base, tmp_path / "hand.xlsx", edit)
    rows = _same(path)
    assert rows[-1][:2] == ("华鑫", "AB")


def test_the_rows_an_import_reads_from_xlsx_are_the_same_strings_as_before(tmp_path):
    path = _every_kind(tmp_path / "every.xlsx")
    with open_table(path, filename="every.xlsx") as table:
        rows = list(table.rows)
    assert table.headers == ["名称 Name", "Amount", "When", "Flag", "Note"]
    assert rows[0] == ["华鑫科技有限公司", "1234.5", "2024-03-01 09:30:00", "true", "#DIV/0!"]
    assert rows[1] == ["Acme", "13800138000", "2024-03-01", "false", "#N/A"]


@pytest.mark.parametrize(
    ("data", "declares"),
    [
        (b'<?xml version="1.0"?><worksheet/>', False),
        (b"\xef\xbb\xbf<?xml version='1.0'?>\r\n<worksheet><!DOCTYPE x></worksheet>", False),
        (b"<!DOCTYPE r><r/>", True),
        (b"<!ENTITY a 'b'><r/>", True),
        (b'<?xml version="1.0"?><!-- <a --><!DOCTYPE r><r/>', True),
        (b'<?xml version="1.0"?><!--' + b"-" * 200_000 + b"--><!DOCTYPE r><r/>", True),
        (b"<?pi " + b"?" * 200_000 + b"?><!DOCTYPE r><r/>", True),
        ('<?xml version="1.0" encoding="UTF-16"?><!DOCTYPE r><r/>'.encode("utf-16"), True),
        ('<?xml version="1.0"?><!DOCTYPE r><r/>'.encode("utf-16-le"), True),
        ('<?xml version="1.0"?><!DOCTYPE r><r/>'.encode("utf-16-be"), True),
        ('<?xml version="1.0" encoding="UTF-16"?><r/>'.encode("utf-16"), False),
        (b"", False),
        (b"<?xml", False),
    ],
)
def test_the_dtd_pre_scan_reads_the_whole_prolog_and_no_further(data, declares):
    assert readers._declares_dtd(io.BytesIO(data)) is declares


def test_a_workbook_without_a_dimension_is_read_whole_and_its_size_is_not_looked_for(tmp_path):
    """openpyxl's ``write_only`` mode declares no dimension: openpyxl would parse the whole sheet
    once to find its size, Bridge reads the declared one only, and the rows all the same."""
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet()
    sheet.append(["Name", "Phone"])
    for i in range(50):
        sheet.append([f"客户 {i}", f"1380013{i:04d}"])
    other = workbook.create_sheet("Second")
    other.append(["not", "read"])
    path = tmp_path / "nodim.xlsx"
    workbook.save(path)
    with zipfile.ZipFile(path) as archive:
        assert b"<dimension" not in archive.read("xl/worksheets/sheet1.xml")
    rows = _same(path)
    assert len(rows) == 51 and rows[-1] == ("客户 49", "13800130049")
    opened = readers._load_workbook(path)
    assert [s.title for s in opened.worksheets] == ["Sheet", "Second"]
    assert opened.worksheets[0].max_row is None  # unknown, not counted
    readers._close_workbook(opened)
    declared = readers._load_workbook(_every_kind(tmp_path / "every.xlsx"))
    assert (declared.worksheets[0].max_row, declared.worksheets[0].max_column) == (9, 8)
    readers._close_workbook(declared)


def test_opening_a_workbook_reads_only_the_shared_strings_its_header_needs(tmp_path):
    path = tmp_path / "many.xlsx"
    workbook = xlsxwriter.Workbook(path)
    sheet = workbook.add_worksheet()
    sheet.write_row(0, 0, ["Name", "City"])
    for i in range(1, 2001):
        sheet.write_row(i, 0, [f"客户 {i}", f"城市 {i % 50}"])
    workbook.close()
    with open_table(path, filename="many.xlsx") as table:
        assert table.headers == ["Name", "City"]
        assert next(iter(table.rows)) == ["客户 1", "城市 1"]
    opened = readers._load_workbook(path)
    loaded = opened._bridge_strings
    assert isinstance(loaded, readers.SharedStrings) and not loaded._items
    assert loaded[3] == "城市 1" and len(loaded._items) == 4
    with pytest.raises(IndexError):
        loaded[10_000]
    readers._close_workbook(opened)
