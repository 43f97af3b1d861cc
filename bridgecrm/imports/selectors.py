"""Reads for the import pages: the actor's imports (an admin's: everyone's), one import, previews of
its file, its error file and its duplicate findings, and a saved mapping for the file's columns."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _

from bridgecrm.core.errors import ApplicationError, NotFound
from bridgecrm.customers.models import Customer
from bridgecrm.imports import policies, readers
from bridgecrm.imports.models import ImportJob, SavedMapping
from bridgecrm.users.capabilities import VIEW_ALL_RECORDS
from bridgecrm.users.models import User

PREVIEW_ROWS = 3
SHOWN_ERRORS = 50
SHOWN_FINDINGS = 50


def jobs_for(*, actor: User) -> QuerySet[ImportJob]:
    """Past imports: the actor's own; an admin (who sees every record) sees everyone's."""
    jobs = ImportJob.objects.select_related("created_by").order_by("-created_at", "-id")
    if actor.can(VIEW_ALL_RECORDS):
        return jobs
    return jobs.filter(created_by=actor)


def job_get(*, actor: User, job_id: int) -> ImportJob:
    """One import the actor may see (their own; any for an admin), else 404."""
    job = ImportJob.objects.select_related("created_by", "default_owner").filter(pk=job_id).first()
    if job is None or not policies.may_see_job(actor, job):
        raise NotFound("not_found", _("Not found."))
    return job


def file_preview(job: ImportJob, *, limit: int = PREVIEW_ROWS) -> list[list[str]]:
    """The first rows of the stored file, as samples beside each column on the mapping page."""
    try:
        _table, rows = readers.read_preview(Path(job.file_path), filename=job.original_name, limit=limit)
    except ApplicationError:
        return []
    return rows


@dataclass(frozen=True)
class ErrorPreview:
    header: list[str]
    rows: list[list[str]]


def error_preview(job: ImportJob, *, limit: int = SHOWN_ERRORS) -> ErrorPreview | None:
    """The first rows of the job's error file (row, error, the row's cells), or None without one."""
    if not job.error_file_path:
        return None
    path = Path(job.error_file_path)
    if not path.is_file():
        return None
    with path.open(encoding="utf-8-sig", newline="") as handle:
        reader = csv.reader(handle)
        header = next(reader, [])
        rows = []
        for row in reader:
            rows.append(row)
            if len(rows) >= limit:
                break
    return ErrorPreview(header=header, rows=rows)


@dataclass(frozen=True)
class Finding:
    row: int
    name: str
    column: str
    value: str
    existing_id: int | None  # the record the row duplicates, when the actor may open it
    existing_name: str
    earlier_row: int | None  # the row duplicates an earlier row of the same file
    hidden: bool  # a record exists that the actor may not see


def findings_preview(*, actor: User, job: ImportJob, limit: int = SHOWN_FINDINGS) -> list[Finding]:
    """The first duplicate findings; a record the actor may not see is named only as existing."""
    raw: list[dict[str, Any]] = [f for f in (job.findings or [])[:limit] if isinstance(f, dict)]
    ids = {f["existing"] for f in raw if isinstance(f.get("existing"), int)}
    visible: dict[int, str] = {}
    if ids and job.kind == "customers":
        visible = dict(Customer.objects.visible_to(actor).filter(pk__in=ids).values_list("pk", "name"))
    out: list[Finding] = []
    for f in raw:
        existing = f.get("existing")
        earlier: int | None = None
        existing_id: int | None = None
        hidden = False
        if isinstance(existing, int):
            if existing in visible:
                existing_id = existing
            else:
                hidden = True
        elif isinstance(existing, str) and existing.startswith("row "):
            digits = existing[4:].strip()
            earlier = int(digits) if digits.isdigit() else None
        elif isinstance(existing, dict) and isinstance(existing.get("row"), int):
            earlier = existing["row"]
        out.append(
            Finding(
                row=int(f.get("row") or 0),
                name=str(f.get("name") or ""),
                column=str(f.get("column") or ""),
                value=str(f.get("value") or ""),
                existing_id=existing_id,
                existing_name=visible.get(existing_id, "") if existing_id else "",
                earlier_row=earlier,
                hidden=hidden,
            )
        )
    return out


def saved_mapping_for(*, actor: User, kind: str, headers: list[str]) -> SavedMapping | None:
    """The actor's most recent mapping saved for a file with the same columns."""
    from bridgecrm.imports.services import header_signature

    return (
        SavedMapping.objects.filter(owner=actor, kind=kind, header_signature=header_signature(headers))
        .order_by("-updated_at", "-id")
        .first()
    )


def saved_mappings(*, actor: User, kind: str) -> list[SavedMapping]:
    return list(SavedMapping.objects.filter(owner=actor, kind=kind).order_by("name")[:100])
