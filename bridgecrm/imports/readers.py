"""Read uploaded import files as a table: a header row and a stream of data rows.

``open_table(path, filename=...)`` picks the reader from the file's name and its first bytes:

* CSV (also ``.txt``/``.tsv``): UTF-8, UTF-8 with BOM, UTF-16 with BOM (Excel's "Unicode text"),
  or whatever charset-normalizer detects (GBK/GB2312 are read as their superset GB18030); the
  delimiter (comma, semicolon, tab or bar) is sniffed from the first lines.
* XLSX: openpyxl in read-only mode over the first worksheet. Before openpyxl sees the file, the
  zip directory is checked (uncompressed sizes, compression ratio, member count) and every XML part
  is refused if it declares a DTD; openpyxl parses with defusedxml (installed), which refuses
  entity expansion (billion laughs) as a second line.
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
from collections.abc import Callable, Iterator
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
                    head = part.read(8192)
            except (zipfile.BadZipFile, OSError, EOFError, NotImplementedError) as exc:
                raise _error("import_bad_file", _("The file is not a valid XLSX workbook.")) from exc
            upper = head.upper()
            if b"<!DOCTYPE" in upper or b"<!ENTITY" in upper:
                raise _hostile("XML declares a DTD")


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
    from openpyxl import load_workbook

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
        workbook = load_workbook(path, read_only=True, data_only=True)
    except DefusedXmlException as exc:
        raise _hostile("XML entities") from exc
    except parse_errors as exc:
        raise _error("import_bad_file", _("The file is not a valid XLSX workbook.")) from exc
    try:
        sheets = workbook.worksheets
        if not sheets:
            raise _error("import_empty_file", _("The workbook has no worksheet."))
        sheet = sheets[0]
        max_row = getattr(sheet, "max_row", None)
        max_column = getattr(sheet, "max_column", None)
        if isinstance(max_column, int) and max_column > MAX_COLUMNS:
            raise too_many_columns()
        if isinstance(max_row, int) and max_row > MAX_ROWS + 1:
            raise too_many_rows()
        # The declared dimension served the early refusal above; openpyxl would also stop reading at
        # it, so a file with a wrong (too small) dimension would lose rows silently. Read them all.
        reset = getattr(sheet, "reset_dimensions", None)
        if reset is not None:
            reset()
        values = sheet.iter_rows(values_only=True)
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
        workbook.close()
        raise
    table = Table(
        headers=headers,
        rows=_xlsx_rows(values, workbook, width=len(headers), parse_errors=parse_errors),
        encoding=None,
        format="xlsx",
        count=_xlsx_counter(path, getattr(sheet, "_worksheet_path", None), header_row),
    )
    table._closers.append(workbook.close)
    return table


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
        last = 0
        tail = b""
        with zipfile.ZipFile(path) as archive, archive.open(part.lstrip("/")) as stream:
            while chunk := stream.read(1 << 20):
                data = tail + chunk
                cut = data.rfind(b"<")  # a tag may straddle two chunks: keep its start for the next
                if cut == -1:
                    cut = len(data)
                for match in _ROW_TAG.finditer(data, 0, cut):
                    number = _ROW_NUMBER.search(match[1])
                    last = int(number[1]) if number else last + 1
                tail = data[cut:]
            for match in _ROW_TAG.finditer(tail):
                number = _ROW_NUMBER.search(match[1])
                last = int(number[1]) if number else last + 1
        return max(0, last - header_row)

    return count


def _xlsx_rows(
    values: Iterator[tuple[Any, ...]], workbook: Any, *, width: int, parse_errors: tuple[type[BaseException], ...]
) -> Iterator[list[str]]:
    from defusedxml import DefusedXmlException

    count = 0
    try:
        while True:
            try:
                raw = next(values)
            except StopIteration:
                return
            except DefusedXmlException as exc:
                raise _hostile("XML entities") from exc
            except parse_errors as exc:
                raise _error("import_bad_file", _("The file is not a valid XLSX workbook.")) from exc
            if len(raw) > MAX_COLUMNS and any(v not in (None, "") for v in raw[MAX_COLUMNS:]):
                raise too_many_columns()
            row = [_cell_text(v) for v in raw[:MAX_COLUMNS]]
            count += 1
            if count > MAX_ROWS:
                raise too_many_rows()
            if len(row) > width:
                row = _strip_trailing_empty(row)
            if len(row) < width:
                row.extend([""] * (width - len(row)))
            yield row
    finally:
        workbook.close()


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
