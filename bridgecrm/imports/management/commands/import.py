"""``bridgecrm import KIND FILE``: the import engine for operators, with a JSON summary."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from bridgecrm.core.errors import ApplicationError
from bridgecrm.imports import engine, services
from bridgecrm.imports.kinds import KINDS, target_fields
from bridgecrm.imports.models import ImportJob, ImportStatus, OnDuplicate
from bridgecrm.users.models import User


def _user(text: str, what: str) -> User:
    found = User.objects.filter(username=text).first() or User.objects.filter(email__iexact=text).first()
    if found is None or not found.is_active:
        raise CommandError(f"No active user {text!r} ({what}).")
    return found


class Command(BaseCommand):
    help = (
        "Import customers, contacts, deals, follow-ups, products or payments from a CSV/XLSX/vCard file. "
        "Prints a JSON summary; exits 1 when any row failed, 2 when the file could not be imported."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("kind", choices=sorted(KINDS))
        parser.add_argument("file", type=Path)
        parser.add_argument(
            "--map",
            action="append",
            default=[],
            metavar="SOURCE=FIELD",
            help="map a column to a field (repeatable); without any, columns named like a field map to it",
        )
        parser.add_argument("--external-id", default="", metavar="COLUMN")
        parser.add_argument("--on-duplicate", choices=OnDuplicate.values, default=OnDuplicate.SKIP)
        parser.add_argument("--default-owner", default="", metavar="USER")
        parser.add_argument(
            "--blank-clears",
            action="store_true",
            help="with --on-duplicate update: an empty cell in a mapped column empties that field",
        )
        parser.add_argument("--dry-run", action="store_true")
        parser.add_argument("--resume", type=int, default=None, metavar="JOB_ID")
        parser.add_argument("--batch-size", type=int, default=engine.BATCH_SIZE, help="rows committed together")
        parser.add_argument(
            "--as",
            dest="as_user",
            default="",
            metavar="USER",
            help="the importing user (default: the first active admin)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        actor = _user(options["as_user"], "--as") if options["as_user"] else self._admin()
        try:
            job = self._job(actor, options)
            job = engine.run_job(job, dry_run=options["dry_run"], batch_size=options["batch_size"])
        except ApplicationError as exc:
            raise CommandError(str(exc.message)) from exc
        self.stdout.write(json.dumps(engine.summary(job), ensure_ascii=False))
        if job.status == ImportStatus.FAILED:
            raise SystemExit(2)
        if job.failed_count:
            raise SystemExit(1)

    def _admin(self) -> User:
        from bridgecrm.imports import policies

        for user in User.objects.filter(is_active=True).order_by("id"):
            if policies.may_import(user) and user.can("records.view_all"):
                return user
        raise CommandError("No active admin to import as; name one with --as.")

    def _job(self, actor: User, options: dict[str, Any]) -> ImportJob:
        path: Path = options["file"]
        if options["resume"] is not None:
            job = ImportJob.objects.filter(pk=options["resume"]).first()
            if job is None:
                raise CommandError(f"No import {options['resume']}.")
            if job.status == ImportStatus.DONE:
                raise CommandError(f"Import {job.pk} has already finished.")
            return job
        if not path.is_file():
            raise CommandError(f"No file {path}.")
        if not options["dry_run"]:
            unfinished = services.unfinished_job_for(
                actor=actor, kind=options["kind"], sha256=services.file_sha256(path)
            )
            if unfinished is not None:
                self.stderr.write(f"Resuming import {unfinished.pk} after row {unfinished.rows_committed}.")
                return unfinished
        mapping = {}
        for item in options["map"]:
            source, sep, target = item.partition("=")
            if not sep:
                raise CommandError(f"--map takes SOURCE=FIELD, not {item!r}.")
            mapping[source.strip()] = target.strip()
        owner = _user(options["default_owner"], "--default-owner") if options["default_owner"] else None
        job = services.import_job_create(
            actor=actor,
            kind=options["kind"],
            source=path,
            original_name=path.name,
            external_id_column=options["external_id"],
            on_duplicate=options["on_duplicate"],
            default_owner=owner,
            dry_run=options["dry_run"],
            blank_clears=options["blank_clears"],
        )
        if not mapping:
            names = {t.name for t in target_fields(job.kind)}
            mapping = {h: h for h in job.headers if h in names}
        return services.import_job_configure(
            actor=actor,
            job=job,
            mapping=mapping,
            external_id_column=options["external_id"],
            on_duplicate=options["on_duplicate"],
            default_owner=owner,
            blank_clears=options["blank_clears"],
        )
