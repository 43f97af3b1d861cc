"""The import wizard: upload → column mapping → dry run (check) → run as a task with a progress bar →
result with counts and the error file. Past imports are listed for the actor (all for an admin).

Views are thin: the services in ``imports/services.py`` do the work, ``selectors.py`` the reads,
``policies.py`` says who may (``data.import``; a job is seen by its starter and admins).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, cast

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import FileResponse, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from bridgecrm.core.errors import ApplicationError, NotFound
from bridgecrm.imports import engine, kinds, mapping, policies, selectors, services
from bridgecrm.imports.forms import MappingForm, UploadForm, column_field_name
from bridgecrm.imports.models import ImportJob, ImportStatus
from bridgecrm.users.models import User
from bridgecrm.users.viewtools import actor_of, form_errors, guarded, int_param, require

PAGE_SIZE = 25
# Where the imported records of each kind are listed, for the result page's link.
LIST_URLS = {
    "customers": "customers:list",
    "contacts": "customers:contacts",
    "deals": "pipeline:deals",
    "follow_ups": "activities:follow_ups",
    "products": "pipeline:products",
    "payments": "contracts:collections",
}


def _importer(request: HttpRequest) -> User:
    actor = actor_of(request)
    require(policies.may_import(actor))
    return actor


def _job(request: HttpRequest, job_id: int) -> tuple[User, ImportJob]:
    actor = _importer(request)
    return actor, selectors.job_get(actor=actor, job_id=job_id)


@guarded
def job_list(request: HttpRequest) -> HttpResponse:
    actor = _importer(request)
    paginator = Paginator(selectors.jobs_for(actor=actor), PAGE_SIZE)
    page = paginator.get_page(int_param(request.GET.get("page"), 1, high=100_000))
    return render(request, "imports/job_list.html", {"page": page, "jobs": list(page.object_list)})


@guarded
def upload(request: HttpRequest) -> HttpResponse:
    actor = _importer(request)
    form = UploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        upload_file = form.cleaned_data["file"]
        try:
            job = services.import_job_create(
                actor=actor,
                kind=form.cleaned_data["kind"],
                source=upload_file,
                original_name=upload_file.name or "upload",
            )
        except ApplicationError as exc:
            if exc.status in (403, 404):
                raise
            form_errors(form, exc)
        else:
            return redirect("imports:mapping", job_id=job.pk)
    status = 400 if form.is_bound else 200
    return render(request, "imports/upload.html", {"form": form}, status=status)


def _targets(job: ImportJob, *, mark_required: bool = False) -> list[tuple[str, str]]:
    """(field, label) for each field of the kind; "*" after required ones on the mapping form."""
    out = []
    kind = kinds.get_kind(job.kind)
    for target in kinds.target_fields(job.kind):
        if not kind.offers(job.created_by, target.name):
            continue
        label = str(target.label)
        out.append((target.name, f"{label} *" if mark_required and target.required else label))
    return out


def _initial(actor: User, job: ImportJob) -> tuple[dict[str, Any], str]:
    """The form's first values: the job's own mapping, else a saved one, else suggestions."""
    headers = list(job.headers)
    used = ""
    chosen: dict[str, str] = dict(job.mapping or {})
    if not chosen:
        kind = kinds.get_kind(job.kind)
        saved = selectors.saved_mapping_for(actor=actor, kind=job.kind, headers=headers)
        if saved is not None:
            used = saved.name
        chosen = mapping.suggest(
            job.kind,
            headers,
            [t for t in kind.targets if kind.offers(actor, t.name)],
            kinds.custom_fields_of(kind),
            saved=saved.mapping if saved is not None else None,
        )
    initial: dict[str, Any] = {column_field_name(i): chosen.get(h, "") for i, h in enumerate(headers)}
    initial["external_id_column"] = job.external_id_column or mapping.suggest_external_id(headers, chosen)
    initial["on_duplicate"] = job.on_duplicate
    initial["blank_clears"] = job.blank_clears
    initial["default_owner"] = job.default_owner_id
    return initial, used


@guarded
def mapping_page(request: HttpRequest, job_id: int) -> HttpResponse:
    actor, job = _job(request, job_id)
    if job.status not in (ImportStatus.UPLOADED, ImportStatus.VALIDATED):
        return redirect("imports:job", job_id=job.pk)
    initial, saved_name = _initial(actor, job)
    form = MappingForm(
        request.POST or None,
        actor=actor,
        headers=list(job.headers),
        targets=_targets(job, mark_required=True),
        samples=selectors.file_preview(job),
        initial=initial,
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            services.import_job_configure(
                actor=actor,
                job=job,
                mapping=form.mapping(),
                external_id_column=data.get("external_id_column") or "",
                on_duplicate=data["on_duplicate"],
                default_owner=data.get("default_owner"),
                blank_clears=bool(data.get("blank_clears")),
            )
            if data.get("save_as"):
                services.mapping_save(
                    actor=actor, kind=job.kind, name=data["save_as"], headers=list(job.headers), mapping=form.mapping()
                )
            job = services.import_job_dry_run(actor=actor, job=job)
        except ApplicationError as exc:
            if exc.status in (403, 404):
                raise
            form_errors(form, exc)
        else:
            if job.status != ImportStatus.VALIDATED:  # failed, or a big file's check queued for the worker
                return redirect("imports:job", job_id=job.pk)
            return redirect("imports:check", job_id=job.pk)
    status = 400 if form.is_bound else 200
    context = {"job": job, "form": form, "saved_name": saved_name}
    return render(request, "imports/mapping.html", context, status=status)


@guarded
def check(request: HttpRequest, job_id: int) -> HttpResponse:
    actor, job = _job(request, job_id)
    if job.status == ImportStatus.UPLOADED:
        return redirect("imports:mapping", job_id=job.pk)
    if job.status != ImportStatus.VALIDATED:
        return redirect("imports:job", job_id=job.pk)
    labels = dict(_targets(job))
    findings = selectors.findings_preview(actor=actor, job=job)
    context = {
        "job": job,
        "errors": selectors.error_preview(job),
        "findings": [(f, labels.get(f.column, f.column)) for f in findings],
        "findings_total": len(job.findings or []),
        "findings_capped": len(job.findings or []) >= engine.MAX_FINDINGS,
        "mapping_rows": [(h, labels.get(t, t)) for h in job.headers if (t := (job.mapping or {}).get(h))],
    }
    return render(request, "imports/check.html", context)


@require_POST
@guarded
def start(request: HttpRequest, job_id: int) -> HttpResponse:
    actor, job = _job(request, job_id)
    try:
        services.import_job_start(actor=actor, job=job)
    except ApplicationError as exc:
        if exc.status in (403, 404):
            raise
        messages.error(request, str(exc.message))
    return redirect("imports:job", job_id=job.pk)


def _list_url(job: ImportJob) -> str:
    name = LIST_URLS.get(job.kind)
    if not name:
        return ""
    try:
        return reverse(name)
    except NoReverseMatch:
        return ""


def _job_context(job: ImportJob) -> dict[str, Any]:
    finished = job.status in (ImportStatus.DONE, ImportStatus.FAILED, ImportStatus.VALIDATED)
    return {"job": job, "finished": finished, "running": not finished, "list_url": _list_url(job)}


@guarded
def job_detail(request: HttpRequest, job_id: int) -> HttpResponse:
    _actor, job = _job(request, job_id)
    if job.status == ImportStatus.UPLOADED:
        return redirect("imports:mapping", job_id=job.pk)
    if job.status == ImportStatus.VALIDATED:
        return redirect("imports:check", job_id=job.pk)
    context = _job_context(job) | {"errors": selectors.error_preview(job)}
    return render(request, "imports/job_detail.html", context)


@guarded
def progress(request: HttpRequest, job_id: int) -> HttpResponse:
    """The progress bar, polled by htmx while the job runs; when it ends the page reloads."""
    _actor, job = _job(request, job_id)
    context = _job_context(job)
    response = render(request, "imports/progress.html", context)
    if context["finished"] and request.headers.get("HX-Request"):
        response["HX-Refresh"] = "true"
    return response


@guarded
def error_file(request: HttpRequest, job_id: int) -> HttpResponse:
    """The rows that failed, each with its error (CSV, UTF-8 with BOM), as an attachment."""
    _actor, job = _job(request, job_id)
    path = Path(job.error_file_path) if job.error_file_path else None
    folder = engine.imports_dir().resolve()
    if path is None or not path.resolve().is_relative_to(folder) or not path.is_file():
        raise NotFound("not_found", _("Not found."))
    suffix = "check" if job.status == ImportStatus.VALIDATED else "errors"
    response = FileResponse(
        path.open("rb"),
        as_attachment=True,
        filename=f"import-{job.pk}-{suffix}.csv",
        content_type="text/csv; charset=utf-8",
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response["Cache-Control"] = "private, no-store"
    return cast(HttpResponse, response)
