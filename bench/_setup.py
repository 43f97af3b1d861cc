"""Start Django for the bench's command-line entry points (tests already have it started)."""

from __future__ import annotations

import os


def django_setup() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bridgecrm.config.settings")
    import django

    django.setup()


def ensure_static() -> None:
    """Pages link their CSS through the manifest storage (as served): collect static files once
    into the var directory if that has not been done (``bridgecrm setup`` does the same)."""
    from django.conf import settings
    from django.contrib.staticfiles.storage import ManifestFilesMixin, staticfiles_storage
    from django.core.management import call_command

    if not isinstance(staticfiles_storage, ManifestFilesMixin):
        return
    if not (settings.STATIC_ROOT and (settings.STATIC_ROOT / staticfiles_storage.manifest_name).exists()):
        call_command("collectstatic", interactive=False, verbosity=0)
