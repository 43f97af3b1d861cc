"""Start Django for the bench's command-line entry points (tests already have it started)."""

from __future__ import annotations

import os


def django_setup() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bridgecrm.config.settings")
    import django

    django.setup()
