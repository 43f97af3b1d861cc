from __future__ import annotations

from bridgecrm.core.context import Source
from bridgecrm.core.tasks import bridge_task


@bridge_task(source=Source.IMPORT)
def run_import_job(job_id: int) -> int:
    """Run (or resume after its last whole batch) one queued import, or the check (dry run) of a
    big file; returns the rows committed (none for a check).

    Idempotent: a job already done or checked is left alone, and a second run of the same job waits
    for the first's batch lock and then finds the rows already committed."""
    from bridgecrm.imports import engine
    from bridgecrm.imports.models import ImportJob, ImportStatus

    job = ImportJob.objects.select_related("created_by", "default_owner").filter(pk=job_id).first()
    if job is None or job.status == ImportStatus.DONE:
        return 0
    if job.dry_run:
        if job.status in (ImportStatus.QUEUED, ImportStatus.RUNNING):
            engine.run_job(job, dry_run=True)
        return 0
    return engine.run_job(job, dry_run=False).rows_committed
