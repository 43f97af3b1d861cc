"""Compile the .po catalogues with polib, so a fresh machine needs no GNU gettext."""

from __future__ import annotations

from pathlib import Path

import polib
from django.conf import settings


def catalogues() -> list[Path]:
    return [po for base in settings.LOCALE_PATHS for po in Path(base).glob("*/LC_MESSAGES/*.po")]


def compile_catalogues() -> int:
    """Write each .mo that is missing or older than its .po; return how many were written."""
    written = 0
    for po_path in catalogues():
        mo_path = po_path.with_suffix(".mo")
        if mo_path.exists() and mo_path.stat().st_mtime >= po_path.stat().st_mtime:
            continue
        polib.pofile(str(po_path)).save_as_mofile(str(mo_path))
        written += 1
    return written
