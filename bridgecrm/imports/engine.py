"""The import engine: reads a job's stored file, checks and writes it batch by batch.

Each batch of ``BATCH_SIZE`` rows commits whole, in one transaction with the job's counts and
resume point (``rows_committed``), one audit event and its part of the error file; a killed import
leaves only whole batches and ``run_job`` continues after the last one. A dry run goes through the
same checks and lookups and writes nothing but the job's report (counts, duplicate findings and the
error file).
"""

from __future__ import annotations

import csv
import gc
import io
import os
import shutil
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models import F
from django.urls import NoReverseMatch, reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as gettext_now
from django.utils.translation import gettext_lazy as _

from bridgecrm.core import audit, context
from bridgecrm.core.context import Source
from bridgecrm.core.errors import ApplicationError
from bridgecrm.customers import search_index
from bridgecrm.customization.models import FieldDefinition
from bridgecrm.imports import ahead, kinds, policies, readers
from bridgecrm.imports.kinds.base import CUSTOM_PREFIX, Context, Row
from bridgecrm.imports.models import ImportJob, ImportStatus
from bridgecrm.users.models import User

BATCH_SIZE = 2000
MAX_ROWS = 250_000
MAX_COLUMNS = 1000
MAX_FINDINGS = 1000
ERROR_EXTRA_COLUMNS = 2  # "row" and "error" before the file's own columns


def imports_dir() -> Path:
    path = Path(settings.VAR_DIR) / "imports"
    path.mkdir(parents=True, exist_ok=True)
    return path


def open_table(path: Path, *, filename: str) -> readers.Table:
    """The file's header and a stream of its rows (CSV in UTF-8, UTF-8 with BOM or GBK/GB18030,
    XLSX, vCard), through the shared readers, which refuse bad and hostile files."""
    return readers.open_table(path, filename=filename)


def count_rows(job: ImportJob) -> int:
    """Rows under the header (the readers refuse more than 250,000), for the progress bar."""
    count = 0
    with open_table(Path(job.file_path), filename=job.original_name) as table:
        if table.count is not None:  # XLSX: from the row tags, without parsing the cells
            return table.count()
        for _row in table.rows:
            count += 1
    return count


def error_part(job: ImportJob, start: int) -> Path:
    folder = imports_dir() / f"{job.pk}-errors.parts"
    folder.mkdir(exist_ok=True)
    return folder / f"{start:07d}.csv"


def error_file(job: ImportJob, *, dry_run: bool) -> Path:
    return imports_dir() / f"{job.pk}-{'check' if dry_run else 'errors'}.csv"


def _error_lines(errors: list[tuple[Row, str]], job: ImportJob) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    columns = _column_names(job)
    for row, message in errors:
        writer.writerow([row.number, _in_the_files_words(message, columns), *row.cells])
    return buffer.getvalue()


def _column_names(job: ImportJob) -> dict[str, str]:
    """The file's header for each field a column is mapped to (the first such column)."""
    names: dict[str, str] = {}
    for header, target in (job.mapping or {}).items():
        if target:
            names.setdefault(str(target), str(header))
    return names


def _in_the_files_words(message: str, columns: dict[str, str]) -> str:
    """An error that names the field it is about (``contract: …``) names the file's column instead
    (``合同编号: …``), which the person who made the file knows; other errors stay as they are."""
    field, separator, rest = message.partition(": ")
    header = columns.get(field) if separator else None
    return f"{header}: {rest}" if header else message


def _write_atomically(path: Path, content: str) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_text(content, encoding="utf-8")
    os.replace(tmp, path)


def _join_errors(job: ImportJob, headers: list[str], target: Path, parts: list[Path] | None, lines: str) -> str:
    """The error file: UTF-8 with a BOM (Excel opens it right), the file's header with "row" and
    "error" before it, then each bad row. Empty string when no row failed."""
    if parts is not None:
        parts = [p for p in parts if p.stat().st_size]
        if not parts:
            return ""
    elif not lines:
        return ""
    tmp = target.with_suffix(".tmp")
    with tmp.open("w", encoding="utf-8-sig", newline="") as out:
        csv.writer(out).writerow([gettext_now("row"), gettext_now("error"), *headers])
        if parts is not None:
            for part in parts:
                with part.open(encoding="utf-8") as handle:
                    shutil.copyfileobj(handle, out)
        else:
            out.write(lines)
    os.replace(tmp, target)
    return str(target)


def _editable_custom_fields(actor: User, kind: kinds.Kind) -> list[FieldDefinition]:
    fields = kinds.custom_fields_of(kind)
    return [f for f in fields if not f.editable_by.all() or any(r.pk == actor.role_id for r in f.editable_by.all())]


def _columns(
    job: ImportJob, headers: list[str], kind: kinds.Kind, custom: list[FieldDefinition]
) -> list[tuple[int, str]]:
    """(column index, target field) for the mapped columns; ApplicationError for a bad mapping."""
    allowed = set(kind.target_names()) | {CUSTOM_PREFIX + f.key for f in custom}
    index = {h: i for i, h in enumerate(headers)}
    pairs: list[tuple[int, str]] = []
    targets: set[str] = set()
    for column, target in (job.mapping or {}).items():
        if not target:
            continue
        if column not in index:
            raise ApplicationError(
                "bad_mapping",
                _("The file has no column “%(column)s”.") % {"column": column[:80]},
                details={"mapping": [column]},
            )
        if target not in allowed:
            raise ApplicationError(
                "bad_mapping",
                _("“%(field)s” is not a field of this import.") % {"field": target[:80]},
                details={"mapping": [target]},
            )
        if target in targets:
            raise ApplicationError(
                "bad_mapping",
                _("Two columns are mapped to “%(field)s”.") % {"field": target[:80]},
                details={"mapping": [target]},
            )
        kind.check_target(job.created_by, target)
        targets.add(target)
        pairs.append((index[column], target))
    missing = [str(t.label) for t in kind.targets if t.required and t.name not in targets]
    if missing:
        raise ApplicationError(
            "bad_mapping",
            _("Map a column to each required field: %(fields)s") % {"fields": ", ".join(missing)},
            details={"mapping": missing},
        )
    if job.external_id_column and job.external_id_column not in index:
        raise ApplicationError(
            "bad_mapping",
            _("The file has no column “%(column)s”.") % {"column": job.external_id_column[:80]},
            details={"external_id_column": [job.external_id_column]},
        )
    return pairs


def check_mapping(job: ImportJob) -> None:
    """Raise ApplicationError when the job's mapping does not fit its file and kind."""
    kind = kinds.get_kind(job.kind)
    _columns(job, list(job.headers or []), kind, _editable_custom_fields(job.created_by, kind))


def _rows(table: readers.Table, columns: list[tuple[int, str]], ext_index: int | None, start: int) -> Iterator[Row]:
    width = max([i for i, _t in columns] + [ext_index or 0]) + 1
    spec = tuple(columns)
    for number, cells in enumerate(table.rows, start=1):
        if number <= start or not any(c.strip() for c in cells):
            continue  # done before the resume point, or a blank line
        if len(cells) < width:
            cells = cells + [""] * (width - len(cells))
        external_id = cells[ext_index].strip()[:200] if ext_index is not None else ""
        yield Row(number, cells, None, external_id, spec)


def _batches(rows: Iterator[Row], size: int = BATCH_SIZE) -> Iterator[list[Row]]:
    batch: list[Row] = []
    for row in rows:
        batch.append(row)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def _fail(job: ImportJob, message: Any) -> ImportJob:
    job.status = ImportStatus.FAILED
    job.message = str(message)[:500]
    job.finished_at = job.updated_at = timezone.now()
    job.save(update_fields=["status", "message", "finished_at", "updated_at"])
    return job


def _job_url(job: ImportJob) -> str:
    """The job's page. Resolved against the imports app's own URLconf (included at the root, which
    a test checks): the whole site's URLconf would build the API's schemas first, about 1.5 s that
    a command-line import does not need."""
    try:
        return reverse("job", urlconf="bridgecrm.imports.urls", kwargs={"job_id": job.pk})
    except NoReverseMatch:
        return ""


def run_job(job: ImportJob, *, dry_run: bool | None = None, batch_size: int = BATCH_SIZE) -> ImportJob:
    """Check (``dry_run``) or import the job's file; resumes a real run after its last whole batch.

    ``dry_run`` defaults to the job's own option. Returns the job with its counts."""
    dry = job.dry_run if dry_run is None else dry_run
    actor = job.created_by
    language = getattr(actor, "language", "") or settings.LANGUAGE_CODE
    with context.acting(Source.IMPORT), translation.override(language), _quiet_collector():
        try:
            return _run(job, actor, dry, max(1, min(batch_size, 10_000)))
        except ApplicationError as exc:
            if exc.code == "import_overtaken":  # another runner has it: leave the job to that one
                job.refresh_from_db()
                return job
            return _fail(job, exc.message)


@contextmanager
def _quiet_collector() -> Iterator[None]:
    """Python's cycle collector, out of the import's way: the objects alive before the import
    (Django's, the modules', the caches') are frozen, so that the collections the import's millions
    of small objects set off do not walk them again each time. Measured on 100,000 customers,
    reading the prepared batches back from the second process took 1.75 s with the collector as it
    was and 0.88 s with them frozen. (Collecting less often as well saved little more and kept
    50 MB more of the import's cyclic garbage alive, so the thresholds stay.)"""
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


def _run(job: ImportJob, actor: User, dry: bool, batch_size: int) -> ImportJob:
    kind = kinds.get_kind(job.kind)
    with open_table(Path(job.file_path), filename=job.original_name) as table:
        return _run_table(job, actor, dry, batch_size, kind, table)


def _run_table(
    job: ImportJob, actor: User, dry: bool, batch_size: int, kind: kinds.Kind, table: readers.Table
) -> ImportJob:
    if not policies.may_import(actor):  # the importer lost the right since the job was made
        raise ApplicationError("forbidden", _("You do not have permission to do this."))
    kind.check_actor(actor)
    headers = list(table.headers)
    if len(headers) > MAX_COLUMNS:
        raise ApplicationError("too_many_columns", _("The file has more than 1,000 columns."))
    custom = _editable_custom_fields(actor, kind)
    columns = _columns(job, headers, kind, custom)
    ext_index = headers.index(job.external_id_column) if job.external_id_column else None
    if job.rows_total is None:
        job.rows_total = count_rows(job)
        ImportJob.objects.filter(pk=job.pk).update(rows_total=job.rows_total)
    if job.rows_total > MAX_ROWS:
        raise ApplicationError("too_many_rows", _("The file has more than 250,000 rows."))
    default_owner = job.default_owner if job.default_owner is not None and job.default_owner.is_active else actor
    ctx = Context(
        job=job,
        actor=actor,
        default_owner=default_owner,
        dry_run=dry,
        custom_fields=custom,
        mapped=frozenset(target for _index, target in columns),
    )
    now = timezone.now()
    job.status, job.started_at, job.updated_at = ImportStatus.RUNNING, job.started_at or now, now
    job.save(update_fields=["status", "started_at", "updated_at"])
    if dry:
        return _dry_run(job, ctx, kind, table, columns, ext_index, headers)
    batches = _prepared(kind, table, columns, ext_index, job.rows_committed, batch_size, job.rows_total)
    with _fewer_checkpoints():
        for number, (batch, ready) in enumerate(batches, 1):
            _commit_batch(job, ctx, kind, batch, ready)
            if number & (number - 1) == 0:  # after batches 1, 2, 4, 8…
                _refresh_statistics()
    return _finish(job, headers)


def _prepared(
    kind: kinds.Kind,
    table: readers.Table,
    columns: list[tuple[int, str]],
    ext_index: int | None,
    start: int,
    batch_size: int,
    total: int,
) -> Iterator[tuple[list[Row], Any]]:
    """Each batch with the kind's checks of its cells (``Kind.prepare``), run ahead in a second
    process (imports/ahead.py) when the file has more than a couple of batches left."""
    batches = _batches(_rows(table, columns, ext_index, start), batch_size)
    parallel = kind.prepares and total - start > 2 * batch_size
    return ahead.prepared(batches, kind.prepare, parallel=parallel, beside=_checkpointer())


def _checkpointer() -> Callable[[], None] | None:
    """On a SQLite file, what the reading process does while this one writes a batch: copy the
    write-ahead log's committed pages back into the database (a PASSIVE checkpoint, on a connection
    of its own, which never blocks the writer). Done by the writer, checkpoints took 1.4 s of the
    writer's 10 s on 100,000 customers; beside it they take none of its time."""
    if connection.vendor != "sqlite" or str(connection.settings_dict["NAME"]).startswith(("file:", ":memory:")):
        return None
    path = str(connection.settings_dict["NAME"])
    opened: list[sqlite3.Connection] = []

    def checkpoint() -> None:
        try:
            if not opened:  # opened in the reading process, after the fork
                opened.append(sqlite3.connect(path, timeout=0, isolation_level=None))
            opened[0].execute("PRAGMA wal_checkpoint(PASSIVE)")
        except sqlite3.Error:
            pass  # busy or gone: the writer's own checkpoints still happen

    return checkpoint


# Pages SQLite lets the write-ahead log grow to before copying them back into the database (its
# default is 1,000, 4 MB). An import batch touches thousands of index pages, so the default copies
# most of them back after every batch; at 8,000 pages (32 MB) a page changed by several batches is
# copied once: 100,000 customers take 2.5 s of inserts instead of 3.2 s, with a log of about 100 MB.
IMPORT_CHECKPOINT_PAGES = 8000


@contextmanager
def _fewer_checkpoints() -> Iterator[None]:
    """On SQLite, checkpoint less often during the import (this connection only), then once at the
    end without waiting for readers; nothing to do on PostgreSQL."""
    if connection.vendor != "sqlite":
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA wal_autocheckpoint")
        (before,) = cursor.fetchone()
        cursor.execute(f"PRAGMA wal_autocheckpoint={IMPORT_CHECKPOINT_PAGES:d}")
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute(f"PRAGMA wal_autocheckpoint={int(before):d}")
            if not connection.in_atomic_block:
                cursor.execute("PRAGMA wal_checkpoint(PASSIVE)")


# The tables whose exact-key and reference lookups every kind's batches make.
_LOOKUP_TABLES = ("customers_customer", "customers_contact", "customers_contactphone", "imports_externalref")


def _refresh_statistics() -> None:
    """PostgreSQL plans the duplicate check's key lookups from table statistics. An import grows the
    tables faster than autovacuum re-analyses them, and on stale statistics the planner scans whole
    tables: 54 ms a phone lookup at 100,000 customers instead of about 1 ms. So the engine analyses
    the lookup tables after batches 1, 2, 4, 8…, a logarithmic number of times per run (tens of
    milliseconds each). SQLite plans by its indexes alone and needs nothing."""
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE " + ", ".join(_LOOKUP_TABLES))


def _dry_run(
    job: ImportJob,
    ctx: Context,
    kind: kinds.Kind,
    table: readers.Table,
    columns: list[tuple[int, str]],
    ext_index: int | None,
    headers: list[str],
) -> ImportJob:
    created = updated = skipped = failed = read = 0
    findings: list[dict[str, Any]] = []
    lines: list[str] = []
    total = job.rows_total or 0
    for batch, ready in _prepared(kind, table, columns, ext_index, 0, BATCH_SIZE, total):
        result = kind.process(ctx, batch, ready)
        read = batch[-1].number  # rows of the file gone through, blank lines included
        created += len(result.created)
        updated += len(result.updated) + result.merged
        skipped += result.skipped
        failed += len(result.errors)
        lines.append(_error_lines(result.errors, job))
        findings.extend(result.findings[: MAX_FINDINGS - len(findings)])
        ImportJob.objects.filter(pk=job.pk).update(rows_read=read, updated_at=timezone.now())
    job.error_file_path = _join_errors(job, headers, error_file(job, dry_run=True), None, "".join(lines))
    job.rows_read, job.created_count, job.updated_count = read, created, updated
    job.skipped_count, job.failed_count = skipped, failed
    job.findings = audit.to_json(findings)
    job.status = ImportStatus.VALIDATED
    job.finished_at = job.updated_at = timezone.now()
    job.save()
    return job


def _commit_batch(job: ImportJob, ctx: Context, kind: kinds.Kind, batch: list[Row], ready: Any) -> None:
    start, end = job.rows_committed, batch[-1].number
    with transaction.atomic():
        current = ImportJob.objects.select_for_update().filter(pk=job.pk).values_list("rows_committed", flat=True)[0]
        if current != start:
            raise ApplicationError("import_overtaken", _("Another run of this import is going on."))
        with search_index.bulk_insert():
            result = kind.process(ctx, batch, ready)
        _write_atomically(error_part(job, start), _error_lines(result.errors, job))
        counts = {
            "created": len(result.created),
            "updated": len(result.updated) + result.merged,
            "skipped": result.skipped,
            "failed": len(result.errors),
        }
        audit.record_event(
            actor=ctx.actor,
            event="import.batch",
            obj=job,
            details={
                "kind": job.kind,
                "rows": [start + 1, end],
                **counts,
                "created_ids": result.created,
                "updated_changes": {str(k): v for k, v in result.updated.items()},
            },
        )
        ImportJob.objects.filter(pk=job.pk).update(
            rows_committed=end,
            rows_read=end,
            created_count=F("created_count") + counts["created"],
            updated_count=F("updated_count") + counts["updated"],
            skipped_count=F("skipped_count") + counts["skipped"],
            failed_count=F("failed_count") + counts["failed"],
            updated_at=timezone.now(),
        )
    job.rows_committed = job.rows_read = end


def _finish(job: ImportJob, headers: list[str]) -> ImportJob:
    job.refresh_from_db()
    folder = imports_dir() / f"{job.pk}-errors.parts"
    parts = sorted(folder.glob("*.csv")) if folder.exists() else []
    job.error_file_path = _join_errors(job, headers, error_file(job, dry_run=False), parts, "")
    shutil.rmtree(folder, ignore_errors=True)
    job.status = ImportStatus.DONE
    job.finished_at = job.updated_at = timezone.now()
    job.message = ""
    with transaction.atomic():
        job.save(update_fields=["error_file_path", "status", "finished_at", "updated_at", "message"])
        audit.record_event(
            actor=job.created_by,
            event="import.done",
            obj=job,
            details={
                "kind": job.kind,
                "file": job.original_name,
                "read": job.rows_read,
                "created": job.created_count,
                "updated": job.updated_count,
                "skipped": job.skipped_count,
                "failed": job.failed_count,
            },
        )
        from bridgecrm.activities.models import NotificationKind
        from bridgecrm.activities.services import notification_create

        notification_create(
            recipient=job.created_by,
            kind=NotificationKind.IMPORT_DONE,
            params={
                "file": job.original_name,
                "created": job.created_count,
                "updated": job.updated_count,
                "skipped": job.skipped_count,
                "failed": job.failed_count,
            },
            url=_job_url(job),
        )
    return job


def summary(job: ImportJob) -> dict[str, Any]:
    """What the CLI prints and the API returns."""
    return {
        "job": job.pk,
        "kind": job.kind,
        "status": job.status,
        "dry_run": job.status == ImportStatus.VALIDATED,
        "rows_read": job.rows_read,
        "created": job.created_count,
        "updated": job.updated_count,
        "skipped": job.skipped_count,
        "failed": job.failed_count,
        "error_file": job.error_file_path or None,
        "message": job.message or None,
    }
