"""CI check: every translatable string in the code is in the zh-Hans catalogue, translated.

Runs ``makemessages`` (GNU gettext) over a copy of the catalogue, reports what is missing or
fuzzy, and puts the original back.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from pathlib import Path

import polib


def main() -> int:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bridgecrm.config.settings")
    import django
    from django.core.management import call_command

    django.setup()
    from bridgecrm.core.i18n import catalogues

    problems = 0
    backups: dict[Path, Path] = {}
    tmp = Path(tempfile.mkdtemp())
    try:
        for po in catalogues():
            backup = tmp / f"{len(backups)}.po"
            shutil.copy2(po, backup)
            backups[po] = backup
        cwd = os.getcwd()
        os.chdir(Path(__file__).resolve().parent.parent)
        try:
            call_command(
                "makemessages",
                locale=["zh_Hans"],
                no_location=True,
                verbosity=0,
                ignore_patterns=["tests/*", "migrations/*"],
            )
        finally:
            os.chdir(cwd)
        for po in catalogues():
            catalogue = polib.pofile(str(po))
            for entry in catalogue.untranslated_entries() + catalogue.fuzzy_entries():
                print(f"{po.name}: not translated: {entry.msgid!r}")
                problems += 1
    finally:
        for po, backup in backups.items():
            shutil.copy2(backup, po)
        shutil.rmtree(tmp, ignore_errors=True)
    print(f"translations: {problems} missing")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
