"""Readers over real files written by the tests: CSV encodings and delimiters, XLSX, hostile XLSX."""

from __future__ import annotations

import re
import tracemalloc
import zipfile
from pathlib import Path

import pytest
from django.utils import translation
from openpyxl import Workbook

from bridgecrm.core.errors import ApplicationError
from bridgecrm.imports import readers
from bridgecrm.imports.readers import open_table

ROWS = [
    ["客户名称", "手机", "邮箱", "行业"],
    ["上海星辰科技有限公司", "13800138000", "info@xingchen.cn", "制造业"],
    ["北京云海贸易有限公司", "+86 139 1234 5678", "sales@yunhai.com", "贸易"],
]


def write_csv(path: Path, rows, *, encoding: str = "utf-8", delimiter: str = ",") -> Path:
    text = "\r\n".join(delimiter.join(row) for row in rows) + "\r\n"
    path.write_bytes(text.encode(encoding))
    return path


def read_all(path: Path, filename: str | None = None, **kwargs):
    with open_table(path, filename=filename or path.name, **kwargs) as table:
        return table.headers, list(table.rows), table


def test_utf8_csv(tmp_path):
    headers, rows, table = read_all(write_csv(tmp_path / "a.csv", ROWS))
    assert headers == ROWS[0]
    assert rows == ROWS[1:]
    assert table.encoding == "utf-8"
    assert table.delimiter == ","


def test_utf8_bom_csv(tmp_path):
    path = tmp_path / "bom.csv"
    path.write_bytes(b"\xef\xbb\xbf" + write_csv(tmp_path / "x.csv", ROWS).read_bytes())
    headers, rows, table = read_all(path)
    assert headers[0] == "客户名称"  # no BOM left in the first header
    assert rows == ROWS[1:]
    assert table.encoding == "utf-8-sig"


@pytest.mark.parametrize("encoding", ["gbk", "gb18030", "gb2312"])
def test_gbk_csv_is_detected(tmp_path, encoding):
    headers, rows, table = read_all(write_csv(tmp_path / "gbk.csv", ROWS, encoding=encoding))
    assert table.encoding == "gb18030"
    assert headers == ROWS[0]
    assert rows == ROWS[1:]


def test_gbk_csv_many_rows_streams_past_the_sniffed_sample(tmp_path):
    body = [ROWS[0]] + [[f"客户{i}有限公司", f"1380013{i:04d}", f"c{i}@x.cn", "制造业"] for i in range(5000)]
    path = write_csv(tmp_path / "big.csv", body, encoding="gbk")
    assert path.stat().st_size > readers.SNIFF_BYTES
    _headers, rows, table = read_all(path)
    assert table.encoding == "gb18030"
    assert len(rows) == 5000
    assert rows[-1] == ["客户4999有限公司", "13800134999", "c4999@x.cn", "制造业"]


def test_utf16_excel_unicode_text(tmp_path):
    path = tmp_path / "excel.txt"
    text = "\r\n".join("\t".join(r) for r in ROWS)
    path.write_bytes(text.encode("utf-16"))
    headers, rows, table = read_all(path)
    assert table.delimiter == "\t"
    assert headers == ROWS[0] and rows == ROWS[1:]


@pytest.mark.parametrize("delimiter", [",", ";", "\t"])
def test_delimiter_sniffing(tmp_path, delimiter):
    rows = [
        ["Account Name", "Phone", "Billing City"],
        ["Acme, Inc.", "555-0100", "Boston"],
        ["Globex", "555-0101", "Springfield"],
    ]
    path = tmp_path / "d.csv"
    import csv

    with path.open("w", encoding="utf-8", newline="") as handle:
        csv.writer(handle, delimiter=delimiter).writerows(rows)
    headers, got, table = read_all(path)
    assert table.delimiter == delimiter
    assert headers == rows[0]
    assert got == rows[1:]


def test_blank_rows_kept_in_place_short_rows_padded_duplicate_headers_renamed(tmp_path):
    path = tmp_path / "messy.csv"
    path.write_text("\nName,Phone,Phone,\n,,,\nAcme,1\n\nGlobex,2,3\n", encoding="utf-8")
    headers, rows, _table = read_all(path)
    assert headers == ["Name", "Phone", "Phone (2)"]
    # Data row N is the Nth row under the header, blank or not, so error reports point at the right row.
    assert rows == [["", "", ""], ["Acme", "1", ""], ["", "", ""], ["Globex", "2", "3"]]


def test_quoted_newlines_in_cells(tmp_path):
    path = tmp_path / "q.csv"
    path.write_text('Name,Notes\n"Acme","line one\nline two"\n', encoding="utf-8")
    _headers, rows, _table = read_all(path)
    assert rows == [["Acme", "line one\nline two"]]


def test_forced_encoding(tmp_path):
    path = write_csv(tmp_path / "f.csv", ROWS, encoding="gb18030")
    _headers, rows, table = read_all(path, encoding="GB18030")
    assert table.encoding == "gb18030" and rows == ROWS[1:]


def test_utf8_file_with_bad_bytes_later_is_refused_with_the_line(tmp_path):
    good = "\n".join(f"客户{i},1" for i in range(20000))
    path = tmp_path / "mixed.csv"
    path.write_bytes(("Name,Phone\n" + good + "\n").encode("utf-8") + "坏客户,2\n".encode("gbk"))
    with open_table(path, filename="mixed.csv") as table:
        assert table.encoding == "utf-8"
        with pytest.raises(ApplicationError) as raised:
            list(table.rows)
    assert raised.value.code == "import_bad_encoding"
    assert raised.value.details["line"] == 20002  # exactly the GBK line (the header is line 1)


def test_bare_carriage_return_line_ends(tmp_path):
    path = tmp_path / "mac.csv"
    path.write_bytes("Name,Phone\r客户,1\r".encode())
    headers, rows, _table = read_all(path)
    assert headers == ["Name", "Phone"] and rows == [["客户", "1"]]


def test_empty_and_header_only_files(tmp_path):
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    with pytest.raises(ApplicationError) as raised:
        open_table(empty, filename="empty.csv")
    assert raised.value.code == "import_empty_file"
    blank = tmp_path / "blank.csv"
    blank.write_text("\n ,\n", encoding="utf-8")
    with pytest.raises(ApplicationError) as raised:
        open_table(blank, filename="blank.csv")
    assert raised.value.code == "import_empty_file"
    header_only = tmp_path / "h.csv"
    header_only.write_text("Name,Phone\n", encoding="utf-8")
    headers, rows, _table = read_all(header_only)
    assert headers == ["Name", "Phone"] and rows == []


def test_file_size_limit(tmp_path, monkeypatch):
    path = write_csv(tmp_path / "a.csv", ROWS)
    monkeypatch.setattr(readers, "MAX_FILE_BYTES", path.stat().st_size - 1)
    with pytest.raises(ApplicationError) as raised:
        open_table(path, filename="a.csv")
    assert raised.value.code == "import_file_too_large"


def test_real_limits_are_the_issues():
    assert readers.MAX_FILE_BYTES == 50 * 1024 * 1024
    assert readers.MAX_ROWS == 250_000
    assert readers.MAX_COLUMNS == 1_000


def test_row_limit_refused_while_streaming(tmp_path, monkeypatch):
    monkeypatch.setattr(readers, "MAX_ROWS", 3)
    path = tmp_path / "rows.csv"
    path.write_text("Name\n" + "".join(f"c{i}\n" for i in range(4)), encoding="utf-8")
    with open_table(path, filename="rows.csv") as table:
        rows = table.rows
        assert [next(rows) for _ in range(3)] == [["c0"], ["c1"], ["c2"]]
        with pytest.raises(ApplicationError) as raised:
            next(rows)
    assert raised.value.code == "import_too_many_rows"


def test_column_limit(tmp_path):
    path = tmp_path / "wide.csv"
    path.write_text(",".join(f"c{i}" for i in range(readers.MAX_COLUMNS + 1)) + "\n", encoding="utf-8")
    with pytest.raises(ApplicationError) as raised:
        open_table(path, filename="wide.csv")
    assert raised.value.code == "import_too_many_columns"
    ok = tmp_path / "ok.csv"
    ok.write_text(",".join(f"c{i}" for i in range(readers.MAX_COLUMNS)) + "\n", encoding="utf-8")
    headers, _rows, _table = read_all(ok)
    assert len(headers) == readers.MAX_COLUMNS


def test_errors_are_translated(tmp_path):
    empty = tmp_path / "e.csv"
    empty.write_bytes(b"")
    with translation.override("zh-hans"), pytest.raises(ApplicationError) as raised:
        open_table(empty, filename="e.csv")
    assert raised.value.message  # a lazy string, rendered in the active language by the UI


def test_unsupported_and_old_excel(tmp_path):
    pdf = tmp_path / "a.pdf"
    pdf.write_bytes(b"%PDF-1.4 hello")
    with pytest.raises(ApplicationError) as raised:
        open_table(pdf, filename="a.pdf")
    assert raised.value.code == "import_unsupported_file"
    xls = tmp_path / "old.xls"
    xls.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 100)
    with pytest.raises(ApplicationError) as raised:
        open_table(xls, filename="old.xls")
    assert raised.value.code == "import_old_excel"


def test_csv_streams_in_constant_memory(tmp_path):
    path = tmp_path / "many.csv"
    with path.open("w", encoding="utf-8") as handle:
        handle.write("Name,Phone,Email\n")
        for i in range(100_000):
            handle.write(f"Customer number {i},1380000{i:05d},c{i}@example.com\n")
    tracemalloc.start()
    try:
        with open_table(path, filename="many.csv") as table:
            count = sum(1 for _ in table.rows)
        _current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert count == 100_000
    assert peak < 5 * 1024 * 1024, peak  # the file is ~5 MB; nothing close to it is held


# -- XLSX -------------------------------------------------------------------------------------------


def write_xlsx(path: Path, rows) -> Path:
    workbook = Workbook()
    sheet = workbook.active
    for row in rows:
        sheet.append(row)
    workbook.save(path)
    return path


def test_xlsx(tmp_path):
    import datetime as dt

    path = write_xlsx(
        tmp_path / "a.xlsx",
        [
            ["Account Name", "Phone", "Annual Revenue", "Created Date", None],
            ["Acme", 13800138000, 1234.5, dt.datetime(2024, 3, 1), None],
            [None, None, None, None, None],
            ["Globex", "010-12345678", 2000, dt.datetime(2024, 3, 1, 9, 30), None],
        ],
    )
    headers, rows, table = read_all(path)
    assert table.format == "xlsx" and table.encoding is None
    assert headers == ["Account Name", "Phone", "Annual Revenue", "Created Date"]
    assert rows == [
        ["Acme", "13800138000", "1234.5", "2024-03-01"],
        ["", "", "", ""],
        ["Globex", "010-12345678", "2000", "2024-03-01 09:30:00"],
    ]


def test_xlsx_with_a_csv_name_is_refused(tmp_path):
    path = write_xlsx(tmp_path / "a.xlsx", ROWS)
    renamed = tmp_path / "a.csv"
    path.rename(renamed)
    with pytest.raises(ApplicationError) as raised:
        open_table(renamed, filename="a.csv")
    assert raised.value.code == "import_bad_file"


def test_corrupt_xlsx(tmp_path):
    path = tmp_path / "bad.xlsx"
    path.write_bytes(b"PK\x03\x04" + b"garbage" * 100)
    with pytest.raises(ApplicationError) as raised:
        open_table(path, filename="bad.xlsx")
    assert raised.value.code == "import_bad_file"
    notzip = tmp_path / "text.xlsx"
    notzip.write_text("Name\nAcme\n")
    with pytest.raises(ApplicationError) as raised:
        open_table(notzip, filename="text.xlsx")
    assert raised.value.code == "import_bad_file"


def _rewrite_xlsx(source: Path, target: Path, replace: dict[str, bytes], extra: dict[str, bytes] | None = None):
    with zipfile.ZipFile(source) as src, zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            data = replace.get(info.filename, src.read(info.filename))
            dst.writestr(info.filename, data, compress_type=zipfile.ZIP_DEFLATED, compresslevel=9)
        for name, data in (extra or {}).items():
            dst.writestr(name, data, compress_type=zipfile.ZIP_DEFLATED, compresslevel=9)
    return target


def test_zip_bomb_xlsx_is_refused_before_inflating(tmp_path):
    base = write_xlsx(tmp_path / "base.xlsx", ROWS)
    # 200 MB of zeros compresses to ~200 KB: a ratio of ~1000. Written in chunks, never held whole.
    bomb = tmp_path / "bomb.xlsx"
    with zipfile.ZipFile(base) as src, zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            dst.writestr(info.filename, src.read(info.filename))
        with dst.open("xl/worksheets/sheet2.xml", "w") as part:
            chunk = b"\0" * (1024 * 1024)
            for _ in range(200):
                part.write(chunk)
    assert bomb.stat().st_size < 2 * 1024 * 1024
    tracemalloc.start()
    try:
        with pytest.raises(ApplicationError) as raised:
            open_table(bomb, filename="bomb.xlsx")
        _current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert raised.value.code == "import_hostile_file"
    assert raised.value.details["reason"] == "compression ratio"
    assert peak < 20 * 1024 * 1024


def test_xlsx_whose_parts_add_up_too_big_is_refused(tmp_path, monkeypatch):
    path = write_xlsx(tmp_path / "a.xlsx", ROWS)
    monkeypatch.setattr(readers, "MAX_XLSX_UNCOMPRESSED", 1000)
    with pytest.raises(ApplicationError) as raised:
        open_table(path, filename="a.xlsx")
    assert raised.value.details["reason"] == "uncompressed size"


BILLION_LAUGHS = b"""<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>
<row r="1"><c r="A1" t="inlineStr"><is><t>&lol9;</t></is></c></row>
</sheetData></worksheet>
"""


def test_billion_laughs_xlsx_is_refused(tmp_path):
    base = write_xlsx(tmp_path / "base.xlsx", ROWS)
    path = _rewrite_xlsx(base, tmp_path / "laughs.xlsx", {"xl/worksheets/sheet1.xml": BILLION_LAUGHS})
    with pytest.raises(ApplicationError) as raised:
        open_table(path, filename="laughs.xlsx")
    assert raised.value.code == "import_hostile_file"


@pytest.mark.parametrize(
    ("part", "encoding"),
    [("xl/worksheets/sheet1.xml", "utf-8"), ("xl/sharedStrings.xml", "utf-8"), ("xl/worksheets/sheet1.xml", "utf-16")],
)
def test_billion_laughs_behind_a_long_prolog_or_in_utf16_is_refused_up_front(tmp_path, part, encoding):
    """The pre-scan reads the whole prolog, whatever its length, in UTF-8 or UTF-16: the sheet and
    the shared strings are parsed by the standard library's parser, which defusedxml does not guard."""
    padded = BILLION_LAUGHS.replace(b"<!DOCTYPE", b"<!--" + b"<a " * 30000 + b"-->\n<?pi x?>\n<!DOCTYPE", 1)
    if encoding == "utf-16":
        padded = padded.decode().replace('encoding="UTF-8"', 'encoding="UTF-16"').encode("utf-16")
    base = write_xlsx(tmp_path / "base.xlsx", ROWS)
    with zipfile.ZipFile(base) as archive:
        present = part in archive.namelist()
    # openpyxl writes inline strings: a shared strings part is added, as Excel's workbooks have one.
    path = _rewrite_xlsx(base, tmp_path / "laughs2.xlsx", {part: padded}, None if present else {part: padded})
    with pytest.raises(ApplicationError) as raised:
        open_table(path, filename="laughs2.xlsx")
    assert raised.value.code == "import_hostile_file"


def test_xlsx_over_the_row_limit_is_refused_by_its_count_and_while_reading(tmp_path, monkeypatch):
    path = write_xlsx(tmp_path / "a.xlsx", [["Name"]] + [[f"c{i}"] for i in range(10)])
    monkeypatch.setattr(readers, "MAX_ROWS", 5)
    with open_table(path, filename="a.xlsx") as table:
        assert table.count is not None
        assert table.count() == 10  # the engine refuses the job on this before writing anything
        with pytest.raises(ApplicationError) as raised:
            list(table.rows)
    assert raised.value.code == "import_too_many_rows"


def test_a_declared_dimension_of_the_whole_grid_and_formatted_empty_rows_do_not_refuse_a_file(tmp_path, monkeypatch):
    """Some programs declare the whole grid (A1:XFD1048576) and write formatted rows with no cell
    below the data: the file is its rows with values, counted and read as such."""
    base = write_xlsx(tmp_path / "a.xlsx", [["Name", "City"], ["Acme", "Wuxi"], ["", ""], ["Beta", "Xi'an"]])
    with zipfile.ZipFile(base) as src:
        sheet = src.read("xl/worksheets/sheet1.xml")
    styled = b"".join(b'<row r="%d" spans="1:2" s="1" customFormat="1"/>' % n for n in range(6, 400))
    sheet = re.sub(rb'<dimension ref="[^"]*"\s*/>', b'<dimension ref="A1:XFD1048576"/>', sheet)
    sheet = sheet.replace(b"</sheetData>", styled + b'<row r="1048576" s="1" customFormat="1"/></sheetData>')
    path = _rewrite_xlsx(base, tmp_path / "grid.xlsx", {"xl/worksheets/sheet1.xml": sheet})
    monkeypatch.setattr(readers, "MAX_ROWS", 100)  # fewer than the formatted rows, more than the data
    with open_table(path, filename="grid.xlsx") as table:
        assert table.headers == ["Name", "City"]
        assert table.count is not None
        assert table.count() == 3
        assert list(table.rows) == [["Acme", "Wuxi"], ["", ""], ["Beta", "Xi'an"]]


def test_xlsx_row_limit_while_streaming_when_the_dimension_lies(tmp_path, monkeypatch):
    base = write_xlsx(tmp_path / "a.xlsx", [["Name"]] + [[f"c{i}"] for i in range(10)])
    with zipfile.ZipFile(base) as src:
        sheet = src.read("xl/worksheets/sheet1.xml")
    import re

    lying = re.sub(rb'<dimension ref="[^"]*"\s*/>', b'<dimension ref="A1"/>', sheet)
    path = _rewrite_xlsx(base, tmp_path / "lying.xlsx", {"xl/worksheets/sheet1.xml": lying})
    monkeypatch.setattr(readers, "MAX_ROWS", 5)
    with open_table(path, filename="lying.xlsx") as table, pytest.raises(ApplicationError) as raised:
        list(table.rows)
    assert raised.value.code == "import_too_many_rows"


def test_xlsx_column_limit(tmp_path):
    path = write_xlsx(tmp_path / "wide.xlsx", [[f"c{i}" for i in range(readers.MAX_COLUMNS + 1)]])
    with pytest.raises(ApplicationError) as raised:
        open_table(path, filename="wide.xlsx")
    assert raised.value.code == "import_too_many_columns"


def rows_and_count(path: Path) -> tuple[int, int]:
    with open_table(path, filename=path.name) as table:
        assert table.count is not None
        counted = table.count()
        return sum(1 for _row in table.rows), counted


def test_xlsx_row_count_from_the_row_tags_matches_the_rows_read(tmp_path):
    """The progress bar's total comes from the sheet's row tags (no cell is parsed); it must equal
    what reading yields: gaps filled, blank lines before the header skipped, trailing rows kept."""
    workbook = Workbook()
    sheet = workbook.active
    sheet["B3"] = "Name"  # the header on row 3, after two blank rows
    sheet["B4"] = "Acme"
    sheet["B7"] = "Beta"  # rows 5 and 6 missing from the XML
    sheet["C12"] = ""  # a trailing row with an empty string
    sheet["D15"] = "x"  # a cell past the header's width, further down
    path = tmp_path / "gaps.xlsx"
    workbook.save(path)
    assert rows_and_count(path) == (12, 12)

    with zipfile.ZipFile(path) as src:
        xml = src.read("xl/worksheets/sheet1.xml")
    # Row numbers are optional in the format: without them a row is one after the one before.
    numbered = re.sub(rb'(<row\b[^>]*?)\s+r="\d+"', rb"\1", xml)
    assert numbered != xml
    bare = _rewrite_xlsx(path, tmp_path / "bare.xlsx", {"xl/worksheets/sheet1.xml": numbered})
    read, counted = rows_and_count(bare)
    assert counted == read
    prefixed = re.sub(rb"<(/?)(row|c|v|sheetData|is|t)\b", rb"<\1x:\2", xml).replace(
        b"<worksheet ", b'<worksheet xmlns:x="http://schemas.openxmlformats.org/spreadsheetml/2006/main" ', 1
    )
    assert (
        rows_and_count(_rewrite_xlsx(path, tmp_path / "prefixed.xlsx", {"xl/worksheets/sheet1.xml": prefixed}))[1]
        == rows_and_count(path)[1]
    )


def test_a_csv_has_no_counter_and_is_counted_by_reading(tmp_path):
    path = tmp_path / "a.csv"
    path.write_text("name\nA\nB\n", encoding="utf-8")
    with open_table(path, filename="a.csv") as table:
        assert table.count is None
