"""A quote as a PDF (A4), with Chinese text that renders and can be searched and copied.

The PDF is drawn with fpdf2 in an embedded CJK font. Debian's ``fonts-noto-cjk`` ships Noto Sans
CJK as TrueType collections with CFF (PostScript) outlines; fpdf2 embeds such CID-keyed fonts
behind a custom encoding CMap, which text extractors such as pypdf do not follow. So, per document,
the font is cut down (fontTools' subsetter) to the characters the document uses and its outlines are
converted to TrueType quadratics (fontTools' cu2qu): fpdf2 then embeds an ordinary TrueType subset
with ``Identity-H`` and a ``ToUnicode`` map, which every viewer and extractor reads. The subset of a
one-page quote is a few dozen kilobytes and takes a fraction of a second.

Font discovery: ``settings.BRIDGE_PDF_FONT`` (from the environment variable of that name: a path,
optionally ``path#index`` for a face in a collection), then the usual system locations on
Debian/Ubuntu, Fedora, Arch, macOS and Windows, then ``fc-match``. Without a CJK font,
:class:`PdfFontMissing` says what to install.
"""

from __future__ import annotations

import decimal
import functools
import logging
import os
import shutil
import subprocess
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.utils import formats, timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext

from bridgecrm.contracts.models import Quote
from bridgecrm.core.errors import ApplicationError
from bridgecrm.core.models import CompanyProfile

KNOWN_FONTS: tuple[str, ...] = (
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",  # Debian, Ubuntu: fonts-noto-cjk
    "/usr/share/fonts/noto-cjk/NotoSansCJK-Regular.ttc",  # Arch
    "/usr/share/fonts/google-noto-cjk/NotoSansCJK-Regular.ttc",  # Fedora
    "/usr/share/fonts/opentype/noto/NotoSerifCJK-Regular.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",  # fonts-wqy-zenhei
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/truetype/arphic/uming.ttc",
    "/System/Library/Fonts/PingFang.ttc",
    "/System/Library/Fonts/STHeiti Light.ttc",
    "C:/Windows/Fonts/msyh.ttc",
    "C:/Windows/Fonts/simsun.ttc",
)
PROBE = "报价单合计客户"  # a face must have these to be used

# fontTools' subsetter reports every table at INFO level: a few hundred lines per PDF.
logging.getLogger("fontTools.subset").setLevel(logging.WARNING)


class PdfFontMissing(ApplicationError):
    status = 503


@dataclass(frozen=True)
class FontFace:
    path: str
    index: int


def _covers(font: object) -> bool:
    cmap = font.getBestCmap() or {}  # type: ignore[attr-defined]
    return all(ord(ch) in cmap for ch in PROBE)


def _face_in(path: str, index: int | None = None) -> FontFace | None:
    """The face of ``path`` to use: ``index`` if given, else the Simplified Chinese face of a
    collection (its name says SC), else its first face with Chinese glyphs."""
    from fontTools.ttLib import TTCollection, TTFont, TTLibError

    if not os.path.isfile(path):
        return None
    try:
        if path.lower().endswith((".ttc", ".otc")):
            collection = TTCollection(path, lazy=True)
            faces = list(enumerate(collection.fonts))
            if index is not None:
                faces = [(i, f) for i, f in faces if i == index]
            named = sorted(faces, key=lambda pair: " SC" not in str(pair[1]["name"].getDebugName(4) or ""))
            for i, face in named:
                if _covers(face):
                    return FontFace(path, i)
            return None
        return FontFace(path, 0) if _covers(TTFont(path, lazy=True)) else None
    except (TTLibError, OSError, KeyError, AssertionError):
        return None


def _fc_match() -> FontFace | None:
    binary = shutil.which("fc-match")
    if binary is None:
        return None
    try:
        out = subprocess.run(  # noqa: S603 - a fixed command, no user input
            [binary, "-f", "%{file}#%{index}", "sans-serif:lang=zh-cn"], capture_output=True, text=True, timeout=5
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    path, _sep, index = out.partition("#")
    return _face_in(path, int(index) if index.isdigit() else None)


@functools.cache
def find_font() -> FontFace:
    configured = str(getattr(settings, "BRIDGE_PDF_FONT", "") or "")
    if configured:
        path, _sep, index = configured.partition("#")
        face = _face_in(path, int(index) if index.isdigit() else None)
        if face is None:
            raise PdfFontMissing(
                "pdf_font_missing",
                gettext_lazy("The font set in BRIDGE_PDF_FONT cannot be read or has no Chinese characters."),
            )
        return face
    for path in KNOWN_FONTS:
        face = _face_in(path)
        if face is not None:
            return face
    face = _fc_match()
    if face is None:
        raise PdfFontMissing(
            "pdf_font_missing",
            gettext_lazy(
                "No Chinese font was found for PDF files. Install one (on Debian or Ubuntu: "
                "apt-get install fonts-noto-cjk) or set BRIDGE_PDF_FONT to a .ttf, .otf or .ttc file."
            ),
        )
    return face


def _truetype_subset(face: FontFace, text: str, target: Path) -> None:
    """Write to ``target`` a TrueType-outlined font with only the glyphs ``text`` needs."""
    from fontTools import subset
    from fontTools.pens.cu2quPen import Cu2QuPen
    from fontTools.pens.ttGlyphPen import TTGlyphPen
    from fontTools.ttLib import TTFont, newTable

    font = TTFont(face.path, fontNumber=face.index, lazy=True)
    options = subset.Options()
    options.layout_features = []
    options.notdef_outline = True
    options.recommended_glyphs = True
    options.desubroutinize = True
    options.drop_tables += ["VORG", "GSUB", "GPOS", "GDEF", "BASE", "vhea", "vmtx", "DSIG"]
    subsetter = subset.Subsetter(options)
    subsetter.populate(text=text)
    subsetter.subset(font)
    if "CFF " in font:
        order = font.getGlyphOrder()
        glyph_set = font.getGlyphSet()
        glyphs = {}
        for name in order:
            pen = TTGlyphPen(glyph_set)
            glyph_set[name].draw(Cu2QuPen(pen, 1.0, reverse_direction=True))
            glyphs[name] = pen.glyph()
        font["loca"] = newTable("loca")
        glyf = font["glyf"] = newTable("glyf")
        glyf.glyphOrder = order
        glyf.glyphs = glyphs
        del font["CFF "]
        glyf.compile(font)
        maxp = font["maxp"] = newTable("maxp")
        maxp.tableVersion = 0x00010000
        for attribute in (
            "maxTwilightPoints", "maxStorage", "maxFunctionDefs", "maxInstructionDefs", "maxStackElements",
            "maxSizeOfInstructions", "maxComponentElements",
        ):  # fmt: skip
            setattr(maxp, attribute, 0)
        maxp.maxZones = 1
        maxp.numGlyphs = len(order)
        post = font["post"]
        post.formatType = 2.0
        post.extraNames = []
        post.mapping = {}
        post.glyphOrder = order
        font["head"].glyphDataFormat = 0
        font.sfntVersion = "\x00\x01\x00\x00"
    font.save(str(target))


def _money(value: decimal.Decimal) -> str:
    return f"{value:,}"


def _number(value: decimal.Decimal) -> str:
    text = f"{value.normalize():f}"
    return text


def quote_pdf(quote: Quote, *, lines: Sequence[object] | None = None) -> bytes:
    """The quote as a one-or-more-page A4 PDF, in the current language."""
    from fpdf import FPDF
    from fpdf.fonts import FontFace as Style

    face = find_font()
    company = (CompanyProfile.objects.filter(pk=1).first() or CompanyProfile()).name or "Bridge"
    rows = list(lines if lines is not None else quote.lines.all())
    labels = {
        "title": _("Quote"),
        "number": _("Number"),
        "date": _("Date"),
        "valid": _("Valid until"),
        "customer": pgettext("account", "Customer"),
        "contact": _("Contact"),
        "owner": _("Prepared by"),
        "item": _("Item"),
        "qty": _("Qty"),
        "unit": _("Unit"),
        "price": _("Unit price"),
        "disc": _("Discount %"),
        "line": _("Line total"),
        "subtotal": _("Subtotal"),
        "discounts": _("Discounts"),
        "tax": _("Tax (%(rate)s%%)") % {"rate": _number(quote.tax_rate)},
        "total": _("Total"),
        "terms": _("Terms"),
        "version": _("version %(n)s") % {"n": quote.version},
    }
    created = timezone.localtime(quote.created_at).date()
    header_values = [
        company,
        quote.title,
        quote.number,
        quote.customer.name,
        quote.contact.name if quote.contact else "",
        quote.owner.display_name,
        quote.terms,
        quote.currency,
        formats.date_format(created, "Y-m-d"),
        formats.date_format(quote.valid_until, "Y-m-d"),
    ]
    cells: list[str] = []
    for line in rows:
        cells += [line.name, line.description, line.unit, _number(line.quantity), _money(line.unit_price)]  # type: ignore[attr-defined]
        cells += [_number(line.discount_percent), _money(line.line_total)]  # type: ignore[attr-defined]
    totals = [_money(quote.subtotal), _money(quote.discount_total), _money(quote.tax_amount), _money(quote.total)]
    text = (
        "".join([*labels.values(), *header_values, *cells, *totals]) + "".join(chr(c) for c in range(32, 127)) + "·—–×…"
    )

    with tempfile.TemporaryDirectory(prefix="bridge-pdf-") as tmp:
        font_file = Path(tmp) / "cjk.ttf"
        _truetype_subset(face, text, font_file)
        pdf = FPDF(orientation="P", unit="mm", format="A4")
        pdf.set_title(f"{labels['title']} {quote.number}")
        pdf.set_author(company)
        pdf.set_creator("Bridge")
        pdf.set_auto_page_break(auto=True, margin=18)
        pdf.add_font("cjk", fname=str(font_file))
        pdf.set_margins(16, 16, 16)
        pdf.add_page()
        width = pdf.epw

        pdf.set_font("cjk", size=15)
        pdf.cell(width * 0.6, 8, company)
        pdf.set_font("cjk", size=20)
        pdf.cell(width * 0.4, 8, labels["title"], align="R", new_x="LMARGIN", new_y="NEXT")
        pdf.set_font("cjk", size=9)
        pdf.set_text_color(90, 90, 90)
        pdf.cell(width, 6, f"{quote.number} · {labels['version']}", align="R", new_x="LMARGIN", new_y="NEXT")
        pdf.set_text_color(0, 0, 0)
        pdf.ln(3)

        pdf.set_font("cjk", size=10)
        facts = [
            (labels["customer"], quote.customer.name),
            (labels["contact"], quote.contact.name if quote.contact else "—"),
            (labels["number"], f"{quote.number} ({labels['version']})"),
            (labels["date"], header_values[8]),
            (labels["valid"], header_values[9]),
            (labels["owner"], quote.owner.display_name),
        ]
        for label, value in facts:
            pdf.set_text_color(90, 90, 90)
            pdf.cell(32, 6, label)
            pdf.set_text_color(0, 0, 0)
            pdf.multi_cell(width - 32, 6, value, new_x="LMARGIN", new_y="NEXT")
        if quote.title:
            pdf.ln(2)
            pdf.set_font("cjk", size=12)
            pdf.multi_cell(width, 7, quote.title, new_x="LMARGIN", new_y="NEXT")
        pdf.ln(3)

        pdf.set_font("cjk", size=9)
        heading = Style(fill_color=(238, 242, 255))
        with pdf.table(
            col_widths=(6, 44, 12, 11, 20, 15, 22),
            text_align=("CENTER", "LEFT", "RIGHT", "LEFT", "RIGHT", "RIGHT", "RIGHT"),
            headings_style=heading,
            line_height=5.5,
            padding=1.2,
        ) as table:
            head = table.row()
            for title in ("#", labels["item"], labels["qty"], labels["unit"], labels["price"], labels["disc"]):
                head.cell(title)
            head.cell(f"{labels['line']} ({quote.currency})")
            for number, line in enumerate(rows, start=1):
                row = table.row()
                row.cell(str(number))
                name = line.name + (f"\n{line.description}" if line.description else "")  # type: ignore[attr-defined]
                row.cell(name)
                row.cell(_number(line.quantity))  # type: ignore[attr-defined]
                row.cell(line.unit or "")  # type: ignore[attr-defined]
                row.cell(_money(line.unit_price))  # type: ignore[attr-defined]
                row.cell(_number(line.discount_percent))  # type: ignore[attr-defined]
                row.cell(_money(line.line_total))  # type: ignore[attr-defined]
        pdf.ln(3)

        pdf.set_font("cjk", size=10)
        for label, value, size in (
            (labels["subtotal"], totals[0], 10),
            (labels["discounts"], totals[1], 10),
            (labels["tax"], totals[2], 10),
            (labels["total"], totals[3], 13),
        ):
            pdf.set_font("cjk", size=size)
            pdf.cell(width - 55, 7, label, align="R")
            pdf.cell(55, 7, f"{quote.currency} {value}", align="R", new_x="LMARGIN", new_y="NEXT")

        if quote.terms:
            pdf.ln(4)
            pdf.set_font("cjk", size=11)
            pdf.cell(width, 7, labels["terms"], new_x="LMARGIN", new_y="NEXT")
            pdf.set_font("cjk", size=9)
            pdf.multi_cell(width, 5, quote.terms, new_x="LMARGIN", new_y="NEXT")

        pdf.set_auto_page_break(auto=False)
        pdf.set_y(-14)
        pdf.set_font("cjk", size=8)
        pdf.set_text_color(120, 120, 120)
        stamp = formats.date_format(timezone.localtime(), "Y-m-d H:i")
        pdf.cell(width, 5, f"{company} · {quote.number} · {stamp}", align="C")
        return bytes(pdf.output())


def pdf_filename(quote: Quote) -> str:
    return f"{quote.number}-v{quote.version}.pdf"


__all__ = ["PdfFontMissing", "find_font", "pdf_filename", "quote_pdf"]
