# No `from __future__ import annotations`: @paginate wraps the list views (see users.py).
"""The API for imports: upload a file (multipart) with its mapping and options, check it or start
it, follow its progress and fetch its error file. The same services, selectors and policies as the
wizard: ``data.import`` to use any of it (403 otherwise); a job is seen by the one who started it
and by admins (404 for everyone else)."""

import json
from pathlib import Path
from typing import Any

from django.http import FileResponse, HttpRequest
from django.utils.translation import gettext_lazy as _
from ninja import Field, File, Form, Router, Schema
from ninja.files import UploadedFile
from ninja.pagination import paginate
from ninja.responses import Status

from bridgecrm.api.pagination import Pagination
from bridgecrm.api.schemas import MAX_ID, NO_NUL, ErrorOut
from bridgecrm.core.errors import ApplicationError, NotFound, PermissionDenied
from bridgecrm.imports import engine, policies, selectors, services
from bridgecrm.imports.models import ImportJob, ImportKind, ImportStatus, OnDuplicate
from bridgecrm.users.models import User

router = Router(tags=["imports"])
ERRORS: dict[int, Any] = {401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 422: ErrorOut}
WRITE_ERRORS: dict[int, Any] = {400: ErrorOut, **ERRORS}


def _actor(request: HttpRequest) -> User:
    assert isinstance(request.user, User)
    return request.user


def _importer(request: HttpRequest) -> User:
    actor = _actor(request)
    if not policies.may_import(actor):
        raise PermissionDenied("forbidden", _("You do not have permission to do this."))
    return actor


class ImportJobOut(Schema):
    id: int
    kind: str
    status: str
    file_name: str = Field(..., alias="original_name")
    encoding: str
    headers: list[str]
    mapping: dict[str, str]
    external_id_column: str
    on_duplicate: str
    blank_clears: bool
    default_owner_id: int | None
    rows_total: int | None
    rows_read: int
    rows_done: int = Field(..., alias="rows_committed")
    progress_percent: int
    created: int = Field(..., alias="created_count")
    updated: int = Field(..., alias="updated_count")
    skipped: int = Field(..., alias="skipped_count")
    failed: int = Field(..., alias="failed_count")
    has_error_file: bool
    message: str
    created_by_id: int
    created_at: Any
    started_at: Any | None
    finished_at: Any | None

    @staticmethod
    def resolve_has_error_file(obj: ImportJob) -> bool:
        return bool(obj.error_file_path)


class ImportIn(Schema):
    kind: str = Field(..., pattern="^(" + "|".join(ImportKind.values) + ")$")
    mapping: str = Field("", max_length=200_000, pattern=NO_NUL)
    external_id_column: str = Field("", max_length=200, pattern=NO_NUL)
    on_duplicate: str = Field(OnDuplicate.SKIP, pattern="^(" + "|".join(OnDuplicate.values) + ")$")
    blank_clears: bool = Field(
        False, description="On update, an empty cell in a mapped column empties that field (else it is left as is)."
    )
    default_owner_id: int | None = Field(None, ge=1, le=MAX_ID)
    then: str = Field("", pattern="^(|check|start)$")


def _mapping(raw: str) -> dict[str, str] | None:
    if not raw.strip():
        return None
    try:
        value = json.loads(raw)
    except ValueError:
        value = None
    if not isinstance(value, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in value.items()):
        raise ApplicationError(
            "invalid",
            _("The mapping must be a JSON object of column → field."),
            details={"mapping": ["JSON object"]},
        )
    return value


def _default_owner(actor: User, owner_id: int | None) -> User | None:
    if owner_id is None:
        return None
    owner = User.objects.visible_to(actor).filter(pk=owner_id).first()
    if owner is None:
        raise ApplicationError(
            "invalid", _("Choose a default owner you may give records to."), details={"default_owner_id": []}
        )
    return owner


@router.get("/imports", response={200: list[ImportJobOut], **ERRORS}, summary="Your imports (an admin's: all)")
@paginate(Pagination)
def imports_list(request: HttpRequest) -> Any:
    return selectors.jobs_for(actor=_importer(request))


@router.post(
    "/imports",
    response={201: ImportJobOut, **WRITE_ERRORS},
    summary="Upload a file to import (multipart), optionally check or start it",
    description=(
        "Form fields: `kind` (customers, contacts, deals, follow_ups, products or payments), `file` "
        "(CSV, XLSX or vCard; at most 50 MB and 250,000 rows), `mapping` (a JSON object of column → field; "
        "field names as the wizard lists them, custom fields as `custom.<key>`), `external_id_column`, "
        "`on_duplicate` (skip, update or create), `default_owner_id` and `then`: empty to only store the file, "
        "`check` to run the dry run (now for up to 20,000 rows; a bigger file is checked by the worker: "
        "`status` is `queued`, then `running`, then `validated`), `start` to queue the import (follow "
        "either with GET /imports/{job_id})."
    ),
)
def import_create(request: HttpRequest, file: File[UploadedFile], payload: Form[ImportIn]) -> Status[ImportJob]:
    actor = _importer(request)
    chosen = _mapping(payload.mapping)
    then = payload.then
    if then and not chosen:
        raise ApplicationError(
            "invalid", _("Give the mapping to check or start the import."), details={"mapping": ["required"]}
        )
    job = services.import_job_create(
        actor=actor,
        kind=payload.kind,
        source=file,
        original_name=file.name or "upload",
        mapping=chosen,
        external_id_column=payload.external_id_column,
        on_duplicate=payload.on_duplicate,
        default_owner=_default_owner(actor, payload.default_owner_id),
        blank_clears=payload.blank_clears,
    )
    if then == "check":
        job = services.import_job_dry_run(actor=actor, job=job)
    elif then == "start":
        job = services.import_job_start(actor=actor, job=job)
    return Status(201, job)


@router.get("/imports/{job_id}", response={200: ImportJobOut, **ERRORS}, summary="One import: status and counts")
def import_detail(request: HttpRequest, job_id: int) -> ImportJob:
    return selectors.job_get(actor=_importer(request), job_id=job_id)


@router.post(
    "/imports/{job_id}/start",
    response={200: ImportJobOut, **WRITE_ERRORS},
    summary="Queue a checked import (or resume one that stopped)",
)
def import_start(request: HttpRequest, job_id: int) -> ImportJob:
    actor = _importer(request)
    job = selectors.job_get(actor=actor, job_id=job_id)
    return services.import_job_start(actor=actor, job=job)


@router.get(
    "/imports/{job_id}/errors",
    response={200: None, **ERRORS},
    summary="The import's error file: each failed row with its error (CSV, UTF-8 with BOM)",
)
def import_errors(request: HttpRequest, job_id: int) -> Any:
    job = selectors.job_get(actor=_importer(request), job_id=job_id)
    path = Path(job.error_file_path) if job.error_file_path else None
    if path is None or not path.resolve().is_relative_to(engine.imports_dir().resolve()) or not path.is_file():
        raise NotFound("not_found", _("Not found."))
    suffix = "check" if job.status == ImportStatus.VALIDATED else "errors"
    response = FileResponse(
        path.open("rb"), as_attachment=True, filename=f"import-{job.pk}-{suffix}.csv", content_type="text/csv"
    )
    response["X-Content-Type-Options"] = "nosniff"
    return response
