"""The one write path for imports: create a job from a file, set its mapping and options, check it
(dry run), start it (as a task), save mappings for reuse."""

from __future__ import annotations

import hashlib
import uuid
from pathlib import Path
from typing import IO

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from bridgecrm.core import audit
from bridgecrm.core.errors import ApplicationError, PermissionDenied
from bridgecrm.core.tasks import enqueue_on_commit
from bridgecrm.imports import engine, kinds, policies
from bridgecrm.imports.models import ImportJob, ImportStatus, OnDuplicate, SavedMapping
from bridgecrm.users.models import User

MAX_FILE_BYTES = 50 * 1024 * 1024
ALLOWED_SUFFIXES = (".csv", ".txt", ".xlsx", ".vcf")
UNFINISHED = (ImportStatus.QUEUED, ImportStatus.RUNNING, ImportStatus.FAILED)


def _forbidden() -> PermissionDenied:
    return PermissionDenied("forbidden", _("You do not have permission to do this."))


def _require_import(actor: User) -> None:
    if not policies.may_import(actor):
        raise _forbidden()


def header_signature(headers: list[str]) -> str:
    """The same columns (trimmed, case-folded, in order) give the same signature."""
    joined = "\x1f".join(h.strip().casefold() for h in headers)
    return hashlib.sha256(joined.encode("utf-8")).hexdigest()


def _store(source: Path | IO[bytes], suffix: str) -> tuple[Path, str, int]:
    """Copy the upload under a server-made name; (path, sha256, size). Refuses files over 50 MB."""
    target = engine.imports_dir() / f"{uuid.uuid4().hex}{suffix}"
    digest = hashlib.sha256()
    size = 0
    handle: IO[bytes] = source.open("rb") if isinstance(source, Path) else source
    try:
        with target.open("wb") as out:
            while chunk := handle.read(1024 * 1024):
                size += len(chunk)
                if size > MAX_FILE_BYTES:
                    raise ApplicationError("file_too_large", _("The file is larger than 50 MB."))
                digest.update(chunk)
                out.write(chunk)
    except BaseException:
        target.unlink(missing_ok=True)
        raise
    finally:
        if isinstance(source, Path):
            handle.close()
    return target, digest.hexdigest(), size


def _suffix(original_name: str) -> str:
    suffix = Path(original_name).suffix.lower()
    if suffix not in ALLOWED_SUFFIXES:
        raise ApplicationError(
            "bad_file_type", _("Choose a CSV, XLSX or vCard file."), details={"file": [original_name[:100]]}
        )
    return suffix


def _clean_options(on_duplicate: str, default_owner: User | None, actor: User) -> None:
    if on_duplicate not in OnDuplicate.values:
        raise ApplicationError("invalid", _("Select a valid choice."), details={"on_duplicate": [on_duplicate]})
    if default_owner is not None:
        from bridgecrm.customers import policies as customer_policies

        if not default_owner.is_active or not customer_policies.may_assign_to(actor, default_owner):
            raise ApplicationError(
                "invalid", _("Choose a default owner you may give records to."), details={"default_owner": []}
            )


def import_job_create(
    *,
    actor: User,
    kind: str,
    source: Path | IO[bytes],
    original_name: str,
    mapping: dict[str, str] | None = None,
    external_id_column: str = "",
    on_duplicate: str = OnDuplicate.SKIP,
    default_owner: User | None = None,
    dry_run: bool = False,
    blank_clears: bool = False,
) -> ImportJob:
    """Store the file, read its header and keep the job; the mapping may come now or later."""
    _require_import(actor)
    kinds.get_kind(kind)
    _clean_options(on_duplicate, default_owner, actor)
    path, digest, _size = _store(source, _suffix(original_name))
    try:
        with engine.open_table(path, filename=original_name) as table:
            headers = list(table.headers)
            encoding = table.encoding or ""
        if len(headers) > engine.MAX_COLUMNS:
            raise ApplicationError("too_many_columns", _("The file has more than 1,000 columns."))
        if not any(h.strip() for h in headers):
            raise ApplicationError("empty_file", _("The file has no header row."))
        if len(set(headers)) != len(headers):
            raise ApplicationError("duplicate_columns", _("Two columns of the file have the same name."))
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    with transaction.atomic():
        job = ImportJob.objects.create(
            kind=kind,
            file_path=str(path),
            original_name=Path(original_name).name[:255],
            file_sha256=digest,
            encoding=encoding[:40],
            headers=headers,
            mapping={},
            external_id_column=external_id_column,
            on_duplicate=on_duplicate,
            default_owner=default_owner,
            dry_run=dry_run,
            blank_clears=blank_clears,
            created_by=actor,
        )
        if mapping is not None:
            job.mapping = {str(k): str(v) for k, v in mapping.items()}
            engine.check_mapping(job)
            job.save(update_fields=["mapping"])
        audit.record_event(
            actor=actor,
            event="import.created",
            obj=job,
            details={"kind": kind, "file": job.original_name, "sha256": digest, "columns": len(headers)},
        )
    return job


def _own_job(actor: User, job: ImportJob) -> ImportJob:
    if not policies.may_see_job(actor, job):
        from bridgecrm.core.errors import NotFound

        raise NotFound("not_found", _("Not found."))
    return job


def import_job_configure(
    *,
    actor: User,
    job: ImportJob,
    mapping: dict[str, str],
    external_id_column: str = "",
    on_duplicate: str = OnDuplicate.SKIP,
    default_owner: User | None = None,
    blank_clears: bool = False,
) -> ImportJob:
    """Set the mapping and options of a job that has not started. ``blank_clears``: when a row
    updates an existing record, an empty cell in a mapped column empties that field."""
    _own_job(actor, job)
    if job.status not in (ImportStatus.UPLOADED, ImportStatus.VALIDATED):
        raise ApplicationError("import_started", _("This import has already started."))
    _clean_options(on_duplicate, default_owner, actor)
    job.mapping = {str(k): str(v) for k, v in mapping.items() if v}
    job.external_id_column = external_id_column
    job.on_duplicate = on_duplicate
    job.default_owner = default_owner
    job.blank_clears = bool(blank_clears)
    engine.check_mapping(job)
    job.status = ImportStatus.UPLOADED
    job.updated_at = timezone.now()
    job.save(
        update_fields=[
            "mapping",
            "external_id_column",
            "on_duplicate",
            "default_owner",
            "blank_clears",
            "status",
            "updated_at",
        ]
    )
    return job


# A file with more rows than this is checked by the worker, with the progress bar, instead of
# during the request: 20,000 rows take about 2 s to check, 250,000 about 25 s.
CHECK_NOW_MAX_ROWS = 20_000


def import_job_dry_run(*, actor: User, job: ImportJob, background: bool | None = None) -> ImportJob:
    """Check every row and find the duplicates; writes no record. A file of up to
    ``CHECK_NOW_MAX_ROWS`` rows is checked now; a bigger one (or ``background=True``) is queued
    for the worker (``queued``, then ``running`` with its progress, then ``validated``)."""
    _own_job(actor, job)
    if job.status not in (ImportStatus.UPLOADED, ImportStatus.VALIDATED):
        raise ApplicationError("import_started", _("This import has already started."))
    engine.check_mapping(job)
    if job.rows_total is None:
        try:
            job.rows_total = engine.count_rows(job)
        except ApplicationError:  # unreadable part way: the check fails the job with the reason, now
            return engine.run_job(job, dry_run=True)
        ImportJob.objects.filter(pk=job.pk).update(rows_total=job.rows_total)
    if background is None:
        background = job.rows_total > CHECK_NOW_MAX_ROWS
    if not background:
        return engine.run_job(job, dry_run=True)
    with transaction.atomic():
        locked = ImportJob.objects.select_for_update().get(pk=job.pk)
        if locked.status not in (ImportStatus.UPLOADED, ImportStatus.VALIDATED):
            raise ApplicationError("import_started", _("This import has already started."))
        _reset_counts(locked)
        _queue(locked, dry_run=True)
    job.refresh_from_db()
    return job


def _queue(locked: ImportJob, *, dry_run: bool) -> None:
    """Mark the (locked) job queued, for a check or the import, and hand it to the worker once the
    transaction commits (``imports.tasks.run_import_job``)."""
    from bridgecrm.imports import tasks

    locked.dry_run = dry_run
    locked.status = ImportStatus.QUEUED
    locked.updated_at = timezone.now()
    locked.save()
    enqueue_on_commit(tasks.run_import_job, job_id=locked.pk)


def _reset_counts(job: ImportJob) -> None:
    job.rows_committed = job.rows_read = 0
    job.created_count = job.updated_count = job.skipped_count = job.failed_count = 0
    job.findings = []
    job.error_file_path = ""
    job.message = ""


def import_job_start(*, actor: User, job: ImportJob) -> ImportJob:
    """Queue the import as a task (``imports.tasks.run_import_job``) after this transaction commits.

    A job that stopped part way (killed, or failed on a bad batch) is queued again and resumes
    after its last whole batch."""
    _own_job(actor, job)
    with transaction.atomic():
        locked = ImportJob.objects.select_for_update().get(pk=job.pk)
        if locked.status == ImportStatus.DONE:
            raise ApplicationError("import_done", _("This import has already finished."))
        if locked.checking:
            raise ApplicationError(
                "import_checking", _("The file is still being checked. Start it when the check ends.")
            )
        if locked.status in (ImportStatus.UPLOADED, ImportStatus.VALIDATED):
            engine.check_mapping(locked)
            _reset_counts(locked)
        _queue(locked, dry_run=False)
    job.refresh_from_db()
    return job


def unfinished_job_for(*, actor: User, kind: str, sha256: str) -> ImportJob | None:
    """The actor's import of the same file and kind that stopped part way, to resume it."""
    return (
        ImportJob.objects.filter(created_by=actor, kind=kind, file_sha256=sha256, status__in=UNFINISHED, dry_run=False)
        .order_by("-created_at", "-id")
        .first()
    )


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(1024 * 1024):
            digest.update(chunk)
    return digest.hexdigest()


def mapping_save(*, actor: User, kind: str, name: str, headers: list[str], mapping: dict[str, str]) -> SavedMapping:
    """Save (or replace, by name) a mapping; it is offered again for files with the same columns."""
    _require_import(actor)
    kinds.get_kind(kind)
    name = " ".join(str(name).split())
    if not name or len(name) > 80:
        raise ApplicationError("invalid", _("Give the mapping a name of at most 80 characters."), details={"name": []})
    allowed = {t.name for t in kinds.target_fields(kind)}
    clean = {str(k): str(v) for k, v in mapping.items() if v}
    unknown = sorted(set(clean.values()) - allowed)
    if unknown:
        raise ApplicationError(
            "bad_mapping",
            _("“%(field)s” is not a field of this import.") % {"field": unknown[0][:80]},
            details={"mapping": unknown},
        )
    saved, _created = SavedMapping.objects.update_or_create(
        owner=actor,
        kind=kind,
        name=name,
        defaults={"header_signature": header_signature(headers), "mapping": clean, "updated_at": timezone.now()},
    )
    return saved


def mapping_delete(*, actor: User, mapping: SavedMapping) -> None:
    if mapping.owner_id != actor.pk:
        from bridgecrm.core.errors import NotFound

        raise NotFound("not_found", _("Not found."))
    mapping.delete()
