"""Authorization-matrix rows for the import wizard (see matrix_support.py).

Importing needs ``data.import`` (admins and managers): reps get 403 on every page. An import is
seen by the one who started it (manager A here) and by admins; manager B gets 404 for it, the
same page as for an import that does not exist, and nothing changes.

The imports app's tables join the snapshot, so a denied upload, mapping or start that wrote a job
row would be caught.
"""

from __future__ import annotations

import io
from typing import Any

from django.apps import apps
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from bridgecrm.activities.models import Notification
from bridgecrm.imports import engine, services
from bridgecrm.imports.models import ImportJob
from bridgecrm.web.tests import matrix_support
from bridgecrm.web.tests.matrix_support import (
    FORBIDDEN,
    LOGIN,
    NOT_FOUND,
    OK,
    OK_SAVED,
    SAVED,
    UNAUTHENTICATED,
    Case,
    Outcome,
    World,
    api_user,
    row,
    url,
)

for _model in apps.get_app_config("imports").get_models():
    matrix_support.TABLES.setdefault(_model._meta.label, (_model, ()))

HEADERS = "客户名称,手机,邮箱\n"
GOOD_AND_BAD = (HEADERS + "矩阵导入客户,13800138001,mx@example.com\n,13800138002,\n").encode("gbk")
ONLY_BAD = (HEADERS + ",13800138003,\n").encode("gbk")
MAPPING = {"客户名称": "name", "手机": "phone", "邮箱": "email"}


def build(world: World) -> None:
    manager = world.c.manager_a

    def new_job(content: bytes, name: str) -> ImportJob:
        return services.import_job_create(
            actor=manager, kind="customers", source=io.BytesIO(content), original_name=name
        )

    uploaded = new_job(GOOD_AND_BAD, "matrix-uploaded.csv")
    checked = new_job(GOOD_AND_BAD, "matrix-checked.csv")
    services.import_job_configure(actor=manager, job=checked, mapping=MAPPING)
    checked = services.import_job_dry_run(actor=manager, job=checked)
    assert checked.error_file_path, "the check found the bad row"
    done = new_job(ONLY_BAD, "matrix-done.csv")
    services.import_job_configure(actor=manager, job=done, mapping=MAPPING)
    done = engine.run_job(done, dry_run=False)
    assert done.status == "done" and done.failed_count == 1 and done.error_file_path
    # The finished import told manager A (IMPORT_DONE); mark it read so that the inbox rows'
    # "mark all read" still finds nothing to change.
    Notification.objects.filter(recipient=manager, read_at__isnull=True).update(read_at=timezone.now())
    world.extra["import_uploaded"] = uploaded
    world.extra["import_checked"] = checked
    world.extra["import_done"] = done


def uploaded_pk(w: World) -> int:
    return int(w.extra["import_uploaded"].pk)


def checked_pk(w: World) -> int:
    return int(w.extra["import_checked"].pk)


def done_pk(w: World) -> int:
    return int(w.extra["import_done"].pk)


def importers(outcome: Outcome) -> dict[str, Outcome]:
    """``data.import`` holders (managers and the admin) get ``outcome``; reps 403."""
    return row(
        anonymous=LOGIN,
        owner=FORBIDDEN,
        teammate=FORBIDDEN,
        other_rep=FORBIDDEN,
        manager_a=outcome,
        manager_b=outcome,
        admin=outcome,
    )


def starter_and_admin(outcome: Outcome) -> dict[str, Outcome]:
    """Manager A's import: manager A and the admin; manager B 404; reps 403 (no import rights)."""
    return {**importers(outcome), "manager_b": NOT_FOUND}


def api_importers(outcome: Outcome) -> dict[str, Outcome]:
    return {**importers(outcome), "anonymous": UNAUTHENTICATED}


def api_starter_and_admin(outcome: Outcome) -> dict[str, Outcome]:
    return {**starter_and_admin(outcome), "anonymous": UNAUTHENTICATED}


def api_lists_job(w: World, response: Any) -> bool:
    return done_pk(w) in {item["id"] for item in response.json()["items"]}


def web_lists_job(w: World, response: Any) -> bool:
    return done_pk(w) in {job.pk for job in response.context["jobs"]}


def upload_data(w: World) -> dict[str, Any]:
    return {"kind": "customers", "file": SimpleUploadedFile("matrix-new.csv", GOOD_AND_BAD, content_type="text/csv")}


def mapping_data(w: World) -> dict[str, Any]:
    return {
        "col_0": "name",
        "col_1": "phone",
        "col_2": "email",
        "external_id_column": "",
        "on_duplicate": "skip",
        "default_owner": "",
        "save_as": "",
    }


IM = "imports:"
A = "api-1.0.0:"
# The upload is multipart (a file and form fields); the matrix sends JSON bodies, which the schema
# refuses before any code runs (422 for every signed-in actor, nothing stored). Who may upload is
# tested with real multipart requests in imports/tests/test_views_api.py.
REFUSED_SHAPE = Outcome("422", 422)
REDIRECT_TO_PAGE = Outcome("302→page", 302)  # a job page sends the actor to the step the job is at

ROWS: list[Case] = [
    Case(
        IM + "list",
        "GET",
        url(IM + "list"),
        importers(OK),
        probe=web_lists_job,
        probe_seen_by=frozenset({"manager_a", "admin"}),
    ),
    Case(IM + "upload", "GET", url(IM + "upload"), importers(OK)),
    Case(IM + "upload", "POST", url(IM + "upload"), importers(SAVED), data=upload_data),
    Case(IM + "mapping", "GET", url(IM + "mapping", job_id=uploaded_pk), starter_and_admin(OK)),
    Case(
        IM + "mapping",
        "POST",
        url(IM + "mapping", job_id=uploaded_pk),
        starter_and_admin(SAVED),
        data=mapping_data,
    ),
    Case(IM + "check", "GET", url(IM + "check", job_id=checked_pk), starter_and_admin(OK)),
    Case(
        IM + "check",
        "GET",
        url(IM + "check", job_id=uploaded_pk),
        starter_and_admin(REDIRECT_TO_PAGE),
        variant="not checked yet",
    ),
    Case(IM + "start", "POST", url(IM + "start", job_id=checked_pk), starter_and_admin(SAVED)),
    Case(IM + "job", "GET", url(IM + "job", job_id=done_pk), starter_and_admin(OK)),
    Case(IM + "progress", "GET", url(IM + "progress", job_id=done_pk), starter_and_admin(OK)),
    Case(IM + "errors", "GET", url(IM + "errors", job_id=done_pk), starter_and_admin(OK)),
    Case(
        IM + "errors",
        "GET",
        url(IM + "errors", job_id=checked_pk),
        starter_and_admin(OK),
        variant="of the check",
    ),
    Case(
        A + "imports_list",
        "GET",
        url(A + "imports_list"),
        api_importers(OK),
        operation="GET /api/v1/imports",
        probe=api_lists_job,
        probe_seen_by=frozenset({"manager_a", "admin"}),
    ),
    Case(
        A + "import_create",
        "POST",
        url(A + "import_create"),
        api_user(REFUSED_SHAPE),
        data=lambda w: {"kind": "customers"},
        operation="POST /api/v1/imports",
    ),
    Case(
        A + "import_detail",
        "GET",
        url(A + "import_detail", job_id=done_pk),
        api_starter_and_admin(OK),
        operation="GET /api/v1/imports/{job_id}",
    ),
    Case(
        A + "import_start",
        "POST",
        url(A + "import_start", job_id=checked_pk),
        api_starter_and_admin(OK_SAVED),
        operation="POST /api/v1/imports/{job_id}/start",
    ),
    Case(
        A + "import_errors",
        "GET",
        url(A + "import_errors", job_id=done_pk),
        api_starter_and_admin(OK),
        operation="GET /api/v1/imports/{job_id}/errors",
    ),
]
