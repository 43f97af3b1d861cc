"""Helpers for the import tests: write a CSV, run a job through the services and the engine."""

from __future__ import annotations

import csv
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from bridgecrm.imports import engine, services
from bridgecrm.imports.models import ImportJob
from bridgecrm.users.models import User


def write_csv(path: Path, headers: Sequence[str], rows: Iterable[Sequence[Any]], encoding: str = "utf-8") -> Path:
    with path.open("w", encoding=encoding, newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(headers)
        for row in rows:
            writer.writerow(["" if v is None else v for v in row])
    return path


def run_import(
    actor: User,
    kind: str,
    path: Path,
    mapping: dict[str, str] | None = None,
    *,
    dry_run: bool = False,
    **options: Any,
) -> ImportJob:
    job = services.import_job_create(actor=actor, kind=kind, source=path, original_name=path.name)
    if mapping is None:
        mapping = {h: h for h in job.headers if h != options.get("external_id_column")}
    services.import_job_configure(actor=actor, job=job, mapping=mapping, **options)
    return engine.run_job(job, dry_run=dry_run)


def error_rows(job: ImportJob) -> list[list[str]]:
    if not job.error_file_path:
        return []
    with open(job.error_file_path, encoding="utf-8-sig", newline="") as handle:
        return list(csv.reader(handle))[1:]
