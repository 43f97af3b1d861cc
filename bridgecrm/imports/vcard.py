"""vCard 2.1, 3.0 and 4.0 as a table of contact columns, one row per card, streamed.

A small parser of our own, working on bytes, because the three versions differ where exports from
phones and mail programs matter most:

* line folding (CRLF + one space or tab, all versions) and, in 2.1, quoted-printable soft line
  breaks (a physical line ending in ``=`` continues on the next one, with no leading space);
* 2.1's bare parameters (``TEL;CELL;PREF:``), ``ENCODING=QUOTED-PRINTABLE`` and ``CHARSET=GBK`` or
  ``CHARSET=UTF-8`` per property; 3.0's ``ENCODING=b`` (photos, skipped); 4.0's quoted parameter
  lists (``TYPE="cell,voice"``), ``PREF=1`` and ``tel:`` URIs;
* escaped text (``\\,`` ``\\;`` ``\\n``) and the structured ``N`` and ``ORG`` values.

Text without a CHARSET is decoded with the file's encoding (detected by the caller: UTF-8, or
GB18030 for old Chinese phones). Nested cards (2.1 ``AGENT``) are skipped.
"""

from __future__ import annotations

import codecs
import quopri
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from django.utils.translation import gettext_lazy as _

from bridgecrm.core.errors import ApplicationError
from bridgecrm.imports import readers

HEADERS = ["Name", "Organization", "Department", "Title", "Mobile", "Phone", "Email", "Note", "UID"]
MAX_LOGICAL_LINE = 4 * 1024 * 1024


@dataclass
class Property:
    name: str
    params: dict[str, list[str]]
    value: bytes

    def types(self) -> set[str]:
        found: set[str] = set()
        for value in self.params.get("TYPE", []):
            found.update(part.strip().lower() for part in value.split(",") if part.strip())
        return found

    def is_preferred(self) -> bool:
        return "pref" in self.types() or bool(self.params.get("PREF"))


@dataclass
class Card:
    props: list[Property] = field(default_factory=list)


def _split_unquoted(text: str, sep: str) -> list[str]:
    parts: list[str] = []
    current: list[str] = []
    quoted = False
    for ch in text:
        if ch == '"':
            quoted = not quoted
            continue
        if ch == sep and not quoted:
            parts.append("".join(current))
            current = []
            continue
        current.append(ch)
    parts.append("".join(current))
    return parts


def parse_line(line: bytes) -> Property | None:
    """``group.NAME;PARAM=x;BARE:value`` → Property (``None`` for a line without a colon)."""
    quoted = False
    colon = -1
    for index, byte in enumerate(line):
        if byte == 0x22:  # "
            quoted = not quoted
        elif byte == 0x3A and not quoted:  # :
            colon = index
            break
    if colon < 0:
        return None
    head = line[:colon].decode("ascii", errors="replace")
    value = line[colon + 1 :]
    pieces = _split_unquoted(head, ";")
    name = pieces[0].strip().upper()
    if "." in name:
        name = name.rsplit(".", 1)[1]
    params: dict[str, list[str]] = {}
    for piece in pieces[1:]:
        piece = piece.strip()
        if not piece:
            continue
        if "=" in piece:
            key, _sep, raw = piece.partition("=")
            key = key.strip().upper()
        else:  # vCard 2.1 bare parameter: a type or an encoding
            key, raw = "TYPE", piece
            upper = piece.upper()
            if upper in {"QUOTED-PRINTABLE", "BASE64", "8BIT", "7BIT", "B"}:
                key = "ENCODING"
        params.setdefault(key, []).append(raw.strip())
    return Property(name=name, params=params, value=value)


def _param(prop: Property, key: str) -> str:
    values = prop.params.get(key)
    return values[0].upper() if values else ""


def _is_qp(prop: Property) -> bool:
    return _param(prop, "ENCODING") in {"QUOTED-PRINTABLE", "QP"}


def decode_value(prop: Property, encoding: str) -> str | None:
    """The property's text (``None`` for binary values such as photos)."""
    transfer = _param(prop, "ENCODING")
    if transfer in {"B", "BASE64"}:
        return None
    raw = prop.value
    if transfer in {"QUOTED-PRINTABLE", "QP"}:
        raw = quopri.decodestring(raw)
    charset = prop.params.get("CHARSET")
    codec = encoding
    if charset:
        try:
            codec = codecs.lookup(charset[0].strip()).name
        except LookupError:
            codec = encoding
        if codec in {"gb2312", "gbk"}:
            codec = "gb18030"
    try:
        return raw.decode(codec)
    except UnicodeDecodeError:
        # A card whose CHARSET lies: UTF-8, then GB18030, then show what can be read.
        for fallback in ("utf-8", "gb18030"):
            try:
                return raw.decode(fallback)
            except UnicodeDecodeError:
                continue
        return raw.decode(codec, errors="replace")


def unescape(text: str) -> str:
    out: list[str] = []
    index = 0
    while index < len(text):
        ch = text[index]
        if ch == "\\" and index + 1 < len(text):
            nxt = text[index + 1]
            out.append("\n" if nxt in "nN" else nxt)
            index += 2
            continue
        out.append(ch)
        index += 1
    return "".join(out)


def split_structured(text: str) -> list[str]:
    """Split ``N`` or ``ORG`` at unescaped semicolons, then unescape each part."""
    parts: list[str] = []
    current: list[str] = []
    index = 0
    while index < len(text):
        ch = text[index]
        if ch == "\\" and index + 1 < len(text):
            current.append(text[index : index + 2])
            index += 2
            continue
        if ch == ";":
            parts.append(unescape("".join(current)).strip())
            current = []
        else:
            current.append(ch)
        index += 1
    parts.append(unescape("".join(current)).strip())
    return parts


def _has_cjk(text: str) -> bool:
    return any("\u3400" <= ch <= "\u9fff" for ch in text)


def logical_lines(handle: IO[bytes]) -> Iterator[bytes]:
    """Unfold physical lines: leading-whitespace folding and quoted-printable soft breaks."""
    current: bytes | None = None
    qp_open = False
    for physical in handle:
        line = physical.rstrip(b"\r\n")
        if current is not None and qp_open:
            current = current[:-1] + line  # a soft line break: drop the "=" and join
            qp_open = current.endswith(b"=")
        elif current is not None and line[:1] in (b" ", b"\t"):
            current += line[1:]
        else:
            if current is not None:
                yield current
            current = line
            upper = line.split(b":", 1)[0].upper()
            qp_open = b"QUOTED-PRINTABLE" in upper and line.endswith(b"=")
            continue
        if len(current) > MAX_LOGICAL_LINE:
            raise ApplicationError("import_bad_vcard", _("The vCard file has a line that is too long."))
    if current is not None:
        yield current


def cards(handle: IO[bytes]) -> Iterator[Card]:
    depth = 0
    card: Card | None = None
    for line in logical_lines(handle):
        stripped = line.strip()
        if not stripped:
            continue
        upper = stripped.upper()
        if upper.startswith(b"BEGIN:VCARD") or upper.endswith(b":BEGIN:VCARD"):
            depth += 1
            if depth == 1:
                card = Card()
            continue
        if upper.startswith(b"END:VCARD"):
            depth = max(depth - 1, 0)
            if depth == 0 and card is not None:
                yield card
                card = None
            continue
        if depth != 1 or card is None:
            continue
        prop = parse_line(stripped)
        if prop is not None:
            card.props.append(prop)


def card_row(card: Card, encoding: str) -> list[str]:
    fields: dict[str, str] = dict.fromkeys(HEADERS, "")
    given_name = ""
    mobiles: list[tuple[bool, str]] = []
    phones: list[tuple[bool, str]] = []
    emails: list[tuple[bool, str]] = []
    for prop in card.props:
        text = decode_value(prop, encoding)
        if text is None:
            continue
        if prop.name == "FN":
            fields["Name"] = unescape(text).strip()
        elif prop.name == "N":
            parts = split_structured(text) + [""] * 5
            family, given, additional = parts[0], parts[1], parts[2]
            if _has_cjk(family + given):
                given_name = f"{family}{additional}{given}"
            else:
                given_name = " ".join(p for p in (parts[3], given, additional, family, parts[4]) if p)
        elif prop.name == "ORG":
            parts = [p for p in split_structured(text) if p]
            if parts:
                fields["Organization"] = parts[0]
                fields["Department"] = " / ".join(parts[1:])
        elif prop.name == "TITLE":
            fields["Title"] = unescape(text).strip()
        elif prop.name == "TEL":
            number = unescape(text).strip()
            if number.lower().startswith("tel:"):
                number = number[4:].split(";", 1)[0]
            if not number:
                continue
            entry = (prop.is_preferred(), number)
            (mobiles if prop.types() & {"cell", "mobile", "iphone"} else phones).append(entry)
        elif prop.name == "EMAIL":
            address = unescape(text).strip()
            if address.lower().startswith("mailto:"):
                address = address[7:]
            if address:
                emails.append((prop.is_preferred(), address))
        elif prop.name == "NOTE":
            fields["Note"] = unescape(text).strip()
        elif prop.name == "UID":
            fields["UID"] = unescape(text).strip()
    if not fields["Name"]:
        fields["Name"] = given_name

    def first(entries: list[tuple[bool, str]]) -> str:
        preferred = [value for pref, value in entries if pref]
        return preferred[0] if preferred else (entries[0][1] if entries else "")

    fields["Mobile"] = first(mobiles)
    fields["Phone"] = first(phones)
    fields["Email"] = first(emails)
    return [fields[name] for name in HEADERS]


def _rows(handle: IO[bytes], encoding: str) -> Iterator[list[str]]:
    count = 0
    try:
        for card in cards(handle):
            row = card_row(card, encoding)
            if not any(row):
                continue
            count += 1
            if count > readers.MAX_ROWS:
                raise readers.too_many_rows()
            yield row
    finally:
        handle.close()


def open_vcard(path: Path, *, encoding: str) -> readers.Table:
    if encoding == "utf-8-sig":
        encoding = "utf-8"
    if encoding.startswith("utf-16") or encoding.startswith("utf_16"):
        raise ApplicationError(
            "import_bad_encoding",
            _("vCard files in UTF-16 cannot be read; export them as UTF-8 and upload again."),
        )
    handle = path.open("rb")
    head = handle.read(readers.SNIFF_BYTES)
    handle.seek(0)
    if head[:3] == codecs.BOM_UTF8:
        handle.read(3)
    if b"BEGIN:VCARD" not in head.upper():
        handle.close()
        raise ApplicationError("import_bad_vcard", _("The file is not a vCard file."))
    table = readers.Table(headers=list(HEADERS), rows=_rows(handle, encoding), encoding=encoding, format="vcard")
    table._closers.append(handle.close)
    return table
