"""Exports of lists to CSV and XLSX: streamed, bounded in memory, safe to open in Excel.

- CSV is UTF-8 with a byte-order mark, so Excel opens Chinese text correctly.
- Cells that a spreadsheet would read as a formula (starting with ``=``, ``+``, ``-``, ``@``, a tab,
  a carriage return or NUL) are neutralised with a leading apostrophe (OWASP's advice for CSV
  injection); numbers stay numbers.
- Rows come from an iterator (a queryset's ``.iterator()``), so 50,000 rows never sit in memory.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
import tempfile
from collections.abc import Iterable, Iterator, Sequence
from decimal import Decimal
from typing import IO, Any

# The control characters XLSX cannot hold (as openpyxl's ILLEGAL_CHARACTERS_RE).
ILLEGAL_CHARACTERS_RE = re.compile(r"[\000-\010]|[\013-\014]|[\016-\037]")
DANGEROUS_PREFIXES = ("=", "+", "-", "@", "\t", "\r", "\x00")
BOM = "\ufeff"

Cell = str | int | Decimal | float | dt.date | dt.datetime | bool | None


def neutralise(value: Cell) -> Cell:
    """A string a spreadsheet would evaluate gets a leading apostrophe; other values pass through."""
    if isinstance(value, str) and value.startswith(DANGEROUS_PREFIXES):
        return "'" + value.replace("\x00", "")
    return value


def _text(value: Cell) -> str:
    value = neutralise(value)
    if value is None:
        return ""
    if isinstance(value, str):
        return value.replace("\x00", "")  # a NUL anywhere truncates the cell in some readers
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, dt.datetime):
        return value.isoformat(sep=" ", timespec="seconds")
    return str(value)


def csv_chunks(header: Sequence[str], rows: Iterable[Sequence[Cell]], *, batch: int = 500) -> Iterator[bytes]:
    """UTF-8 CSV with BOM, yielded in chunks of ``batch`` rows (for a StreamingHttpResponse)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    buffer.write(BOM)
    writer.writerow([_text(h) for h in header])
    for count, row in enumerate(rows, start=1):
        writer.writerow([_text(cell) for cell in row])
        if count % batch == 0:
            yield buffer.getvalue().encode("utf-8")
            buffer.seek(0)
            buffer.truncate(0)
    yield buffer.getvalue().encode("utf-8")


def xlsx_file(header: Sequence[str], rows: Iterable[Sequence[Cell]], *, sheet_title: str = "Export") -> IO[bytes]:
    """An XLSX workbook written in openpyxl's write-only mode to a spooled temporary file.

    Write-only mode keeps memory flat whatever the row count; the caller streams the returned file
    (positioned at 0) and closes it.
    """
    from openpyxl import Workbook

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(title=sheet_title[:31] or "Export")
    sheet.append([str(h) for h in header])
    for row in rows:
        sheet.append([_xlsx_cell(cell) for cell in row])
    handle: IO[bytes] = tempfile.SpooledTemporaryFile(max_size=8 * 1024 * 1024)  # noqa: SIM115 - caller closes
    workbook.save(handle)
    handle.seek(0)
    return handle


def _xlsx_cell(value: Cell) -> Any:
    value = neutralise(value)
    if isinstance(value, str):
        # Control characters (NUL, vertical tab…) are not allowed in XLSX: openpyxl would refuse the row.
        return ILLEGAL_CHARACTERS_RE.sub("", value)
    if isinstance(value, dt.datetime) and value.tzinfo is not None:
        return value.replace(tzinfo=None)  # Excel has no time zones: callers pass local times
    return value
