"""Read uploaded import files as a table: a header row and a stream of data rows.

``open_table(path, filename=...)`` picks the reader from the file's name and its first bytes:

* CSV (also ``.txt``/``.tsv``): UTF-8, UTF-8 with BOM, UTF-16 with BOM (Excel's "Unicode text"),
  or whatever charset-normalizer detects (GBK/GB2312 are read as their superset GB18030); the
  delimiter (comma, semicolon, tab or bar) is sniffed from the first lines.
* XLSX: the first worksheet of a workbook opened by openpyxl in read-only mode. Before openpyxl
  sees the file, the zip directory is checked (uncompressed sizes, compression ratio, member count)
  and every XML part is refused if its prolog declares a DTD, however long the prolog and in UTF-8
  or UTF-16 (``_declares_dtd``). openpyxl parses the workbook's own parts with defusedxml; the
  shared strings and the worksheet's cells are read by Bridge's loop over the standard library's
  C parser (``_shared_strings``, ``_sheet_values``), which gives openpyxl's values 2.5 times faster,
  and no entity can reach it since no part has a DTD.
* vCard 2.1, 3.0 and 4.0 (``bridgecrm.imports.vcard``): one row per card with contact columns.

Rows stream: memory does not grow with the file. Limits (50 MB, 250,000 data rows, 1,000 columns)
are refused with a translated ``ApplicationError``; the row limit is enforced while streaming, so
a consumer sees the error at the first row past the limit (a dry run finds it before any write).
Every row after the header is yielded in file order, blank ones too (as empty strings), so that
data row N is the Nth row under the header in the user's spreadsheet; short rows are padded to
the header's width. Blank lines before the header are skipped.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import re
import zipfile
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import IO, Any

from django.utils.translation import gettext_lazy as _

from bridgecrm.core.errors import ApplicationError

MAX_FILE_BYTES = 50 * 1024 * 1024
MAX_ROWS = 250_000
MAX_COLUMNS = 1_000
# XLSX: the zip directory's figures, checked before any part is inflated. zipfile never inflates a
# member past the size its directory entry declares, so a lying directory cannot get round this.
MAX_XLSX_UNCOMPRESSED = 600 * 1024 * 1024
MAX_XLSX_RATIO = 200  # uncompressed / compressed, for members over 1 MB
MAX_XLSX_MEMBERS = 10_000
SNIFF_BYTES = 64 * 1024
DELIMITERS = (",", ";", "\t", "|")
CHINESE_ENCODINGS = {"gb2312", "gbk", "gb18030", "hz", "hz_gb_2312", "hz-gb-2312", "cp936", "euc_cn"}

CSV_SUFFIXES = {".csv", ".txt", ".tsv"}
XLSX_SUFFIXES = {".xlsx", ".xlsm"}
VCARD_SUFFIXES = {".vcf", ".vcard"}


@dataclass
class Table:
    """A header row and a lazily read stream of data rows (each a list of strings)."""

    headers: list[str]
    rows: Iterator[list[str]]
    encoding: str | None
    format: str = "csv"
    delimiter: str | None = None
    # How many rows ``rows`` will yield, found without reading them (XLSX), or None: iterate.
    count: Callable[[], int] | None = field(default=None, repr=False)
    _closers: list[Any] = field(default_factory=list, repr=False)

    def close(self) -> None:
        close_rows = getattr(self.rows, "close", None)
        if close_rows is not None:
            close_rows()
        for closer in self._closers:
            closer()
        self._closers.clear()

    def __enter__(self) -> Table:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _error(code: str, message: Any, **details: Any) -> ApplicationError:
    return ApplicationError(code, message, details=details)


def too_many_rows() -> ApplicationError:
    return _error(
        "import_too_many_rows",
        _("The file has more than %(limit)s rows; split it into smaller files.") % {"limit": f"{MAX_ROWS:,}"},
        limit=MAX_ROWS,
    )


def too_many_columns() -> ApplicationError:
    return _error(
        "import_too_many_columns",
        _("The file has more than %(limit)s columns.") % {"limit": f"{MAX_COLUMNS:,}"},
        limit=MAX_COLUMNS,
    )


def detect_format(head: bytes, filename: str) -> str:
    """``csv``, ``xlsx`` or ``vcard`` from the name and the first bytes; refuses anything else."""
    suffix = Path(filename).suffix.lower()
    if head.startswith(b"PK\x03\x04"):
        if suffix in XLSX_SUFFIXES or suffix not in CSV_SUFFIXES | VCARD_SUFFIXES:
            return "xlsx"
        raise _error("import_bad_file", _("The file is not a valid CSV file."))
    if head.startswith(b"\xd0\xcf\x11\xe0"):
        raise _error(
            "import_old_excel",
            _("Old Excel files (.xls) cannot be read; save the sheet as .xlsx or CSV and upload it again."),
        )
    if suffix in XLSX_SUFFIXES:
        raise _error("import_bad_file", _("The file is not a valid XLSX workbook."))
    text_head = head.lstrip(b"\xef\xbb\xbf").lstrip().upper()
    if suffix in VCARD_SUFFIXES or text_head.startswith(b"BEGIN:VCARD"):
        return "vcard"
    if suffix in CSV_SUFFIXES or not suffix:
        return "csv"
    raise _error(
        "import_unsupported_file",
        _("Unsupported file type. Upload a CSV, XLSX or vCard (.vcf) file."),
    )


def open_table(path: Path, *, filename: str, encoding: str | None = None) -> Table:
    """Open an uploaded file as a :class:`Table`; ``filename`` is the name the user gave it.

    ``encoding`` forces a text encoding (CSV and vCard) instead of detecting one.
    Raises ``ApplicationError`` for files that are too big, malformed or hostile.
    """
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise _error("import_file_missing", _("The uploaded file is no longer available.")) from exc
    if size > MAX_FILE_BYTES:
        raise _error(
            "import_file_too_large",
            _("The file is larger than %(limit)s MB.") % {"limit": MAX_FILE_BYTES // (1024 * 1024)},
            limit=MAX_FILE_BYTES,
        )
    if size == 0:
        raise _error("import_empty_file", _("The file is empty."))
    with path.open("rb") as handle:
        head = handle.read(SNIFF_BYTES)
    kind = detect_format(head, filename)
    if kind == "xlsx":
        return _open_xlsx(path)
    if encoding is None:
        encoding = detect_encoding(head, complete=size <= SNIFF_BYTES)
    else:
        try:
            encoding = codecs.lookup(encoding).name
        except LookupError as exc:
            raise _error("import_bad_encoding", _("Unknown text encoding.")) from exc
    if kind == "vcard":
        from bridgecrm.imports import vcard

        return vcard.open_vcard(path, encoding=encoding)
    return _open_csv(path, encoding=encoding, head=head)


# -- text ------------------------------------------------------------------------------------------


def detect_encoding(head: bytes, *, complete: bool = False) -> str:
    """The codec name for a text file whose first bytes are ``head``."""
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    sample = head
    if not complete:
        # Cut at the last line end so that a multi-byte character is not split.
        cut = sample.rfind(b"\n")
        if cut > 0:
            sample = sample[: cut + 1]
    try:
        sample.decode("utf-8")
    except UnicodeDecodeError:
        pass
    else:
        return "utf-8"
    from charset_normalizer import from_bytes

    best = from_bytes(sample).best()
    if best is None:
        raise _error(
            "import_bad_encoding",
            _("The file's text encoding could not be recognised; save it as UTF-8 and upload it again."),
        )
    name = codecs.lookup(best.encoding).name
    if name in CHINESE_ENCODINGS or name.replace("-", "_") in CHINESE_ENCODINGS:
        return "gb18030"
    if name not in {"big5", "big5hkscs", "utf_16", "utf_32", "ascii"}:
        # Detectors confuse short GBK texts with other double-byte and Latin code pages; a sample
        # that decodes cleanly as GB18030 with Chinese characters in it is read as GB18030.
        try:
            text = sample.decode("gb18030")
        except UnicodeDecodeError:
            pass
        else:
            if any("\u4e00" <= ch <= "\u9fff" for ch in text):
                return "gb18030"
    return name


def sniff_delimiter(text: str) -> str:
    """The delimiter that splits the first lines into the most, equally wide, columns."""
    lines = text.splitlines()[:20]
    if len(lines) > 1 and not text.endswith(("\n", "\r")):
        lines = lines[:-1]  # the last line of a sample may be cut short
    best, best_score = ",", 0
    for delimiter in DELIMITERS:
        try:
            widths = [len(row) for row in csv.reader(lines, delimiter=delimiter) if row]
        except csv.Error:
            continue
        if not widths or widths[0] < 2:
            continue
        consistent = sum(1 for width in widths if width == widths[0])
        score = widths[0] * consistent
        if score > best_score:
            best, best_score = delimiter, score
    return best


def _clean_headers(raw: list[str]) -> list[str]:
    headers: list[str] = []
    seen: dict[str, int] = {}
    for index, cell in enumerate(raw):
        name = " ".join(str(cell).replace("\ufeff", "").split()) or f"#{index + 1}"
        count = seen.get(name, 0) + 1
        seen[name] = count
        headers.append(name if count == 1 else f"{name} ({count})")
    return headers


def _strip_trailing_empty(row: list[str]) -> list[str]:
    end = len(row)
    while end and not row[end - 1]:
        end -= 1
    return row[:end]


def _open_csv(path: Path, *, encoding: str, head: bytes) -> Table:
    try:
        sample = head.decode(encoding, errors="ignore")
    except LookupError as exc:  # pragma: no cover - codecs.lookup passed above
        raise _error("import_bad_encoding", _("Unknown text encoding.")) from exc
    delimiter = sniff_delimiter(sample.lstrip("\ufeff"))
    handle = path.open("r", encoding=encoding, newline="", errors="strict")
    reader = csv.reader(handle, delimiter=delimiter)
    try:
        raw_headers = _read_header(reader, path, encoding)
    except BaseException:
        handle.close()
        raise
    headers = _clean_headers(_strip_trailing_empty(raw_headers))
    if len(headers) > MAX_COLUMNS:
        handle.close()
        raise too_many_columns()
    table = Table(
        headers=headers,
        rows=_csv_rows(reader, handle, width=len(headers), encoding=encoding, path=path),
        encoding=encoding,
        format="csv",
        delimiter=delimiter,
    )
    table._closers.append(handle.close)
    return table


def first_undecodable_line(path: Path, encoding: str) -> int | None:
    """The number of the first line that ``encoding`` cannot decode (error path only: a text stream
    decodes ahead in blocks, so the csv reader's line count is some lines short at that point)."""
    try:
        if codecs.lookup(encoding).name.startswith(("utf-16", "utf-32")):
            return None
    except LookupError:
        return None
    with path.open("rb") as handle:
        for number, raw in enumerate(handle, start=1):
            try:
                raw.decode(encoding)
            except UnicodeDecodeError:
                return number
    return None


def _read_header(reader: Any, path: Path, encoding: str) -> list[str]:
    try:
        for row in reader:
            if any(cell.strip() for cell in row):
                return list(row)
    except UnicodeDecodeError as exc:
        raise _decode_error(first_undecodable_line(path, encoding) or reader.line_num + 1) from exc
    except csv.Error as exc:
        message = _("The CSV file is malformed near line %(line)s.") % {"line": reader.line_num}
        raise _error("import_bad_csv", message) from exc
    raise _error("import_empty_file", _("The file has no header row."))


def _decode_error(line: int) -> ApplicationError:
    return _error(
        "import_bad_encoding",
        _("The file's text cannot be decoded near line %(line)s; save it as UTF-8 and upload it again.")
        % {"line": line},
        line=line,
    )


def _csv_rows(reader: Any, handle: IO[Any], *, width: int, encoding: str, path: Path) -> Iterator[list[str]]:
    count = 0
    try:
        while True:
            try:
                row = next(reader)
            except StopIteration:
                return
            except UnicodeDecodeError as exc:
                handle.close()
                raise _decode_error(first_undecodable_line(path, encoding) or reader.line_num + 1) from exc
            except csv.Error as exc:
                raise _error(
                    "import_bad_csv",
                    _("The CSV file is malformed near line %(line)s.") % {"line": reader.line_num},
                ) from exc
            count += 1
            if count > MAX_ROWS:
                raise too_many_rows()
            if len(row) > width:
                row = _strip_trailing_empty(row)
                if len(row) > MAX_COLUMNS:
                    raise too_many_columns()
            if len(row) < width:
                row.extend([""] * (width - len(row)))
            yield row
    finally:
        handle.close()


# -- XLSX ------------------------------------------------------------------------------------------


HOSTILE_REASONS = {
    "too many parts": _("it has too many parts"),
    "uncompressed size": _("it would expand to more than 600 MB"),
    "compression ratio": _("a part is compressed far more than a spreadsheet can be"),
    "XML declares a DTD": _("its XML declares a document type"),
    "XML entities": _("its XML defines entities"),
}


def _hostile(reason: str) -> ApplicationError:
    return _error(
        "import_hostile_file",
        _("The workbook was refused because it looks unsafe (%(reason)s). Save it again or export it as CSV.")
        % {"reason": HOSTILE_REASONS.get(reason, reason)},
        reason=reason,
    )


def check_xlsx_container(path: Path) -> None:
    """Refuse zip bombs and DTDs before openpyxl inflates anything."""
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as exc:
        raise _error("import_bad_file", _("The file is not a valid XLSX workbook.")) from exc
    with archive:
        members = archive.infolist()
        if len(members) > MAX_XLSX_MEMBERS:
            raise _hostile("too many parts")
        total = 0
        for info in members:
            total += info.file_size
            if total > MAX_XLSX_UNCOMPRESSED:
                raise _hostile("uncompressed size")
            if info.file_size > 1024 * 1024 and info.file_size > MAX_XLSX_RATIO * max(info.compress_size, 1):
                raise _hostile("compression ratio")
        names = {info.filename for info in members}
        if "[Content_Types].xml" not in names or not any(n.startswith("xl/worksheets/") for n in names):
            raise _error("import_bad_file", _("The file is not a valid XLSX workbook."))
        for info in members:
            if not info.filename.endswith((".xml", ".rels", ".vml")):
                continue
            try:
                with archive.open(info) as part:
                    declares = _declares_dtd(part)
            except (zipfile.BadZipFile, OSError, EOFError, NotImplementedError) as exc:
                raise _error("import_bad_file", _("The file is not a valid XLSX workbook.")) from exc
            if declares:
                raise _hostile("XML declares a DTD")


def _declares_dtd(part: IO[bytes]) -> bool:
    """Whether an XML part has a declaration (``<!DOCTYPE``, or a stray ``<!ENTITY``) in its
    prolog, however long the comments and processing instructions before it are, in UTF-8 or
    UTF-16. A DTD can only come before the root element, so the part is read up to that and no
    further. With none, no entity can be declared: the parts may go to the standard library's
    XML parser, which is faster than defusedxml's and fetches nothing from outside."""
    head = part.read(4)
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        encoding = "utf-16"
    elif head.startswith(b"<\0"):
        encoding = "utf-16-le"
    elif head.startswith(b"\0<"):
        encoding = "utf-16-be"
    else:
        encoding = "utf-8-sig"
    decoder = codecs.getincrementaldecoder(encoding)("replace")
    text = decoder.decode(head)
    inside: str | None = None  # the end of the comment or processing instruction being passed over
    while True:
        if inside is not None:
            close = text.find(inside)
            if close == -1:
                text = text[-len(inside) :]  # kept: the end may straddle two chunks
            else:
                text, inside = text[close + len(inside) :], None
                continue
        else:
            text = text.lstrip(" \t\r\n")
            if text.startswith("<?"):
                text, inside = text[2:], "?>"
                continue
            if text.startswith("<!--"):
                text, inside = text[4:], "-->"
                continue
            if len(text) >= 4:
                return text.startswith("<!")  # a declaration; else the root element (or junk)
        chunk = part.read(1 << 16)
        if not chunk:
            return False  # the part ends in its prolog: the parser refuses it
        text += decoder.decode(chunk)


def _cell_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        if value.is_integer() and abs(value) < 1e16:
            return str(int(value))
        return repr(value)
    if isinstance(value, dt.datetime):
        if value.time() == dt.time(0, 0) and value.tzinfo is None:
            return value.date().isoformat()
        return value.isoformat(sep=" ")
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, Decimal | int):
        return str(value)
    return str(value).strip()


def _open_xlsx(path: Path) -> Table:
    check_xlsx_container(path)
    from defusedxml import DefusedXmlException

    parse_errors: tuple[type[BaseException], ...] = (
        DefusedXmlException,
        zipfile.BadZipFile,
        KeyError,
        ValueError,
        TypeError,
        IndexError,
        OSError,
        SyntaxError,  # xml.etree's ParseError
    )
    try:
        workbook = _load_workbook(path)
    except DefusedXmlException as exc:
        raise _hostile("XML entities") from exc
    except parse_errors as exc:
        raise _error("import_bad_file", _("The file is not a valid XLSX workbook.")) from exc
    try:
        sheets = workbook.worksheets
        if not sheets:
            raise _error("import_empty_file", _("The workbook has no worksheet."))
        sheet = sheets[0]
        # The declared dimension is not a reason to refuse: some programs declare the whole grid
        # (A1:XFD1048576) over a few hundred rows. The rows are read to the end of the sheet,
        # whatever it says, and counted and limited as they come (``_xlsx_counter``, ``_xlsx_rows``).
        values = _sheet_values(sheet)
        raw_headers: list[str] | None = None
        header_row = 0  # its number in the sheet (openpyxl yields every row from the first, gaps filled)
        try:
            for raw in values:
                header_row += 1
                cells = [_cell_text(v) for v in raw[: MAX_COLUMNS + 1]]
                if any(cells):
                    raw_headers = cells
                    break
        except DefusedXmlException as exc:
            raise _hostile("XML entities") from exc
        except parse_errors as exc:
            raise _error("import_bad_file", _("The file is not a valid XLSX workbook.")) from exc
        if raw_headers is None:
            raise _error("import_empty_file", _("The file has no header row."))
        headers = _clean_headers(_strip_trailing_empty(raw_headers))
        if len(headers) > MAX_COLUMNS:
            raise too_many_columns()
    except BaseException:
        _close_workbook(workbook)
        raise
    table = Table(
        headers=headers,
        rows=_xlsx_rows(values, workbook, width=len(headers), parse_errors=parse_errors),
        encoding=None,
        format="xlsx",
        count=_xlsx_counter(path, getattr(sheet, "_worksheet_path", None), header_row),
    )
    table._closers.append(lambda: _close_workbook(workbook))
    return table


_MAIN_NS = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
_ROW, _VALUE, _INLINE, _TEXT, _STRING, _RUN, _SHEET_DATA = (
    _MAIN_NS + tag for tag in ("row", "v", "is", "t", "si", "r", "sheetData")
)


def _load_workbook(path: Path) -> Any:
    """openpyxl's ``load_workbook(path, read_only=True, data_only=True)``, except that the shared
    strings are read as the cells need them (``SharedStrings``; close the workbook with
    ``_close_workbook``) and a worksheet's size only from its declared
    dimension: openpyxl parses the whole of every worksheet without one to find it (10 s for
    100,000 rows), and the rows are read to the end of the sheet anyway."""
    from xml.etree.ElementTree import iterparse

    from openpyxl.reader.excel import ExcelReader
    from openpyxl.worksheet._read_only import ReadOnlyWorksheet
    from openpyxl.worksheet.dimensions import SheetDimension
    from openpyxl.xml.constants import SHARED_STRINGS

    dimension = _MAIN_NS + "dimension"

    class Sheet(ReadOnlyWorksheet):  # type: ignore[misc]
        def _get_size(self) -> None:
            with self._get_source() as source:
                for event, element in iterparse(source, events=("start", "end")):  # noqa: S314 - no DTD
                    if event == "end" and element.tag == dimension:
                        bounds = SheetDimension.from_tree(element).boundaries
                        self._min_column, self._min_row, self._max_column, self._max_row = bounds
                        return
                    if event == "start" and element.tag == _SHEET_DATA:
                        return  # none declared before the data: the size is not known

    class Reader(ExcelReader):  # type: ignore[misc]
        def read_strings(self) -> None:
            part = self.package.find(SHARED_STRINGS)
            if part is not None:
                self.shared_strings = SharedStrings(self.archive.open(part.PartName[1:]))

        def read_worksheets(self) -> None:
            # openpyxl's, for a read-only workbook: its worksheets (not chart sheets) in order.
            for sheet, rel in self.parser.find_sheets():
                if rel.target in self.valid_files and "chartsheet" not in rel.Type:
                    worksheet = Sheet(self.wb, sheet.name, rel.target, self.shared_strings)
                    worksheet.sheet_state = sheet.state
                    self.wb._sheets.append(worksheet)

    reader = Reader(path, read_only=True, data_only=True)
    try:
        reader.read()
    except BaseException:
        if isinstance(reader.shared_strings, SharedStrings):
            reader.shared_strings.close()
        raise
    workbook = reader.wb
    workbook._bridge_strings = reader.shared_strings
    return workbook


def _close_workbook(workbook: Any) -> None:
    """Close the shared strings' stream, then the workbook (whose file stays open while a stream
    of one of its parts does)."""
    strings = getattr(workbook, "_bridge_strings", None)
    if isinstance(strings, SharedStrings):
        strings.close()
    workbook.close()


class SharedStrings:
    """A workbook's shared strings, read only as far as the cells read so far need them: opening a
    workbook to show its header reads a handful, and the importer, which reads the header and then
    leaves the rows to its reading process (``imports/ahead.py``), never holds the whole table (a
    million strings, 100 MB, for 250,000 rows). Read as openpyxl's ``read_string_table`` reads
    them: an item's text and its runs' text, not its phonetic guide, with ``_x005F`` unescaped;
    without an object per item (openpyxl took 3 s for 329,000) and by the standard library's parser,
    as for the worksheet (``_sheet_values``)."""

    def __init__(self, source: IO[bytes]) -> None:
        self._source = source
        self._items: list[str] = []
        self._rest = self._read(source)

    def __getitem__(self, index: int) -> str:
        items = self._items
        if index >= len(items):
            for text in self._rest:
                items.append(text)
                if len(items) > index:
                    break
            else:
                raise IndexError(index)
        return items[index]

    def close(self) -> None:
        self._rest.close()
        self._source.close()

    @staticmethod
    def _read(source: IO[bytes]) -> Generator[str]:
        from xml.etree.ElementTree import iterparse

        events = iterparse(source, events=("start", "end"))  # noqa: S314 - no part declares a DTD (check_xlsx_container)
        _start, root = next(events)
        for event, element in events:
            if event == "start" or element.tag != _STRING:
                continue
            if len(element) == 1 and element[0].tag == _TEXT:
                text = element[0].text or ""
            else:
                parts = []
                for child in element:
                    if child.tag == _TEXT:
                        parts.append(child.text or "")
                    elif child.tag == _RUN:
                        parts.append(child.findtext(_TEXT) or "")
                text = "".join(parts)
            root.clear()  # not only the item: its parent would keep every emptied item, 26 MB for 329,000
            yield text.replace("x005F_", "") if "x005F_" in text else text


def _sheet_values(sheet: Any) -> Iterator[tuple[Any, ...]]:
    """The values of an openpyxl read-only worksheet's rows, as ``iter_rows(values_only=True)``
    gives them with no dimension to stop at: every row from the first, a missing row as ``()``,
    each cell at its column and a missing one as None, with the same types (shared and inline
    strings, numbers as int or float, dates by the cell's style and the workbook's epoch, booleans,
    ISO dates, error codes); a test compares the two on workbooks with every kind of cell.

    openpyxl's own loop builds a dict and parses a coordinate with a regular expression for every
    cell, through defusedxml's parser. Here the standard library's C parser reads the part:
    ``check_xlsx_container`` has refused any part with a DTD, so no entity can be declared (and
    the expat it runs on limits amplification besides). The workbook-level parts (styles, epoch)
    are openpyxl's, read with defusedxml."""
    from xml.etree.ElementTree import iterparse

    from openpyxl.cell.text import Text
    from openpyxl.utils.cell import coordinate_to_tuple
    from openpyxl.utils.datetime import from_excel, from_ISO8601

    workbook = sheet.parent
    shared = sheet._shared_strings
    dates, durations, epoch = workbook._date_formats, workbook._timedelta_formats, workbook.epoch
    row_number = 0
    counter = 1  # the next row number to yield
    with sheet._get_source() as source:
        rows_parent = None
        for event, element in iterparse(source, events=("start", "end")):  # noqa: S314 - no DTD (check_xlsx_container)
            if event == "start":
                if rows_parent is None and element.tag == _SHEET_DATA:
                    rows_parent = element
                continue
            if element.tag != _ROW:
                continue
            number = element.get("r")
            if number is None:
                row_number += 1
            else:
                try:
                    row_number = int(number)
                except ValueError:
                    as_float = float(number)
                    if not as_float.is_integer():
                        raise ValueError(f"{number} is not a valid row number") from None
                    row_number = int(as_float)
            cells: dict[int, Any] = {}
            column = 0
            for cell in element:
                ref = cell.get("r")
                if ref:
                    column = _column_of(ref) or coordinate_to_tuple(ref)[1]
                else:
                    column += 1
                kind = cell.get("t", "n")
                value: Any
                if kind == "inlineStr":
                    child = cell.find(_INLINE)
                    if child is None:
                        value = None
                    elif len(child) == 1 and child[0].tag == _TEXT:
                        value = child[0].text or ""
                    else:
                        value = Text.from_tree(child).content
                else:
                    value = cell.findtext(_VALUE) or None
                    if value is not None:
                        if kind == "n":
                            value = float(value) if "." in value or "E" in value or "e" in value else int(value)
                            style = cell.get("s")
                            if style and int(style) in dates:
                                try:
                                    value = from_excel(value, epoch, timedelta=int(style) in durations)
                                except (OverflowError, ValueError):
                                    value = "#VALUE!"  # as openpyxl: a date serial out of range
                        elif kind == "s":
                            value = shared[int(value)]
                        elif kind == "b":
                            value = bool(int(value))
                        elif kind == "d":
                            value = from_ISO8601(value)
                cells[column] = value
            if rows_parent is not None:
                rows_parent.clear()  # the row read, which the sheet's data element would keep
            else:
                element.clear()
            while counter < row_number:  # rows the sheet leaves out
                counter += 1
                yield ()
            if counter == row_number:  # (a row numbered before the last one read is passed over)
                counter += 1
                # As wide as its last cell's column, as openpyxl makes it.
                yield tuple(cells.get(i) for i in range(1, column + 1)) if cells else ()


def _column_of(ref: str) -> int:
    """The column number of a cell reference such as ``AB12`` (0 if it is not that simple form)."""
    column = 0
    for index, char in enumerate(ref):
        code = ord(char)
        if 65 <= code <= 90:
            column = column * 26 + code - 64
        elif 48 <= code <= 57 and index and index <= 3:
            return column
        else:
            return 0
    return 0


_ROW_TAG = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?row\b([^>]*)>")
_ROW_NUMBER = re.compile(rb"""\br\s*=\s*["'](\d+)["']""")


def _xlsx_counter(path: Path, part: str | None, header_row: int) -> Callable[[], int] | None:
    """The number of rows under the header, from the worksheet's row tags alone: the last row's
    number (``r``, or one more than the row before when it has none, as openpyxl counts) less the
    header's. openpyxl yields exactly that many rows (empty ones filled in), but getting there
    parses every cell: 14 s for 100,000 rows, against well under a second for this scan, which the
    import's progress bar needs before the first row is written."""
    if not part:
        return None

    def count() -> int:
        at = last = 0  # the row a tag is at, and the last row with cells
        tail = b""

        def seen(attributes: bytes) -> None:
            nonlocal at, last
            number = _ROW_NUMBER.search(attributes)
            at = int(number[1]) if number else at + 1
            if not attributes.endswith(b"/"):  # ``<row r="9" s="1"/>``: formatting, no cell
                last = at

        with zipfile.ZipFile(path) as archive, archive.open(part.lstrip("/")) as stream:
            while chunk := stream.read(1 << 20):
                data = tail + chunk
                cut = data.rfind(b"<")  # a tag may straddle two chunks: keep its start for the next
                if cut == -1:
                    cut = len(data)
                for match in _ROW_TAG.finditer(data, 0, cut):
                    seen(match[1])
                tail = data[cut:]
            for match in _ROW_TAG.finditer(tail):
                seen(match[1])
        return max(0, last - header_row)

    return count


def _xlsx_rows(
    values: Iterator[tuple[Any, ...]], workbook: Any, *, width: int, parse_errors: tuple[type[BaseException], ...]
) -> Iterator[list[str]]:
    from defusedxml import DefusedXmlException

    count = 0
    blank = 0  # blank rows not yet given: only given when a row with values follows them
    try:
        while True:
            try:
                raw = next(values)
            except StopIteration:
                return  # trailing blank rows (formatted, or a gap at the end) are not rows
            except DefusedXmlException as exc:
                raise _hostile("XML entities") from exc
            except parse_errors as exc:
                raise _error("import_bad_file", _("The file is not a valid XLSX workbook.")) from exc
            if len(raw) > MAX_COLUMNS and any(v not in (None, "") for v in raw[MAX_COLUMNS:]):
                raise too_many_columns()
            row = [_cell_text(v) for v in raw[:MAX_COLUMNS]]
            if not any(row):
                blank += 1
                continue
            count += blank + 1
            if count > MAX_ROWS:
                raise too_many_rows()
            for _blank in range(blank):
                yield [""] * width
            blank = 0
            if len(row) > width:
                row = _strip_trailing_empty(row)
            if len(row) < width:
                row.extend([""] * (width - len(row)))
            yield row
    finally:
        _close_workbook(workbook)


def read_preview(
    path: Path, *, filename: str, limit: int = 5, encoding: str | None = None
) -> tuple[Table, list[list[str]]]:
    """The table's headers and its first ``limit`` rows (the table is closed afterwards)."""
    table = open_table(path, filename=filename, encoding=encoding)
    with table:
        rows: list[list[str]] = []
        for row in table.rows:
            rows.append(row)
            if len(rows) >= limit:
                break
    return table, rows


__all__ = [
    "MAX_COLUMNS",
    "MAX_FILE_BYTES",
    "MAX_ROWS",
    "Table",
    "detect_encoding",
    "open_table",
    "read_preview",
    "sniff_delimiter",
]
