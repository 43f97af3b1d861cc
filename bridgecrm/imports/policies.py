"""Who may import: holders of the ``data.import`` capability (admins and managers by default)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bridgecrm.users.capabilities import IMPORT_DATA

if TYPE_CHECKING:
    from bridgecrm.imports.models import ImportJob
    from bridgecrm.users.models import User


def may_import(actor: User | None) -> bool:
    return bool(actor is not None and actor.is_authenticated and actor.is_active and actor.can(IMPORT_DATA))


def may_see_job(actor: User | None, job: ImportJob) -> bool:
    """An import's page, progress and error file: the person who started it, or an admin."""
    if actor is None or not may_import(actor):
        return False
    from bridgecrm.users.capabilities import VIEW_ALL_RECORDS

    return job.created_by_id == actor.pk or actor.can(VIEW_ALL_RECORDS)
