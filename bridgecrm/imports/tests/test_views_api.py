"""The imports API: multipart upload with mapping and options, check, start, status, error file."""

from __future__ import annotations

import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from bridgecrm.customers.models import Customer
from bridgecrm.imports.models import ImportJob, ImportStatus
from bridgecrm.users import services as user_services

CSV = "客户名称,手机,编号\n星河科技有限公司,13800138000,A1\n,13800138001,A2\n".encode("gbk")
MAPPING = json.dumps({"客户名称": "name", "手机": "phone"})


@pytest.fixture
def var(settings, tmp_path):
    settings.VAR_DIR = tmp_path / "var"
    return tmp_path


def api(user) -> tuple[Client, dict[str, str]]:
    secret = user_services.token_create(actor=user, name="t").secret
    return Client(), {"Authorization": f"Bearer {secret}"}


def upload(client, headers, **fields):
    data = {"kind": "customers", "file": SimpleUploadedFile("c.csv", CSV, content_type="text/csv")} | fields
    return client.post("/api/v1/imports", data, headers=headers)


def test_upload_check_start_status_and_errors(company, var, django_capture_on_commit_callbacks):
    client, headers = api(company.manager_a)
    response = upload(client, headers, mapping=MAPPING, external_id_column="编号", then="check")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["status"] == "validated" and body["encoding"] == "gb18030"
    assert (body["created"], body["failed"], body["has_error_file"]) == (1, 1, True)
    assert Customer.objects.count() == 0
    job_id = body["id"]

    errors = client.get(f"/api/v1/imports/{job_id}/errors", headers=headers)
    assert errors.status_code == 200 and errors["X-Content-Type-Options"] == "nosniff"

    with django_capture_on_commit_callbacks(execute=True):
        started = client.post(f"/api/v1/imports/{job_id}/start", headers=headers)
    assert started.status_code == 200, started.json()
    status = client.get(f"/api/v1/imports/{job_id}", headers=headers).json()
    assert status["status"] == "done" and status["progress_percent"] == 100
    assert (status["created"], status["failed"]) == (1, 1)
    assert list(Customer.objects.values_list("name", flat=True)) == ["星河科技有限公司"]
    listing = client.get("/api/v1/imports", headers=headers).json()
    assert [j["id"] for j in listing["items"]] == [job_id] and listing["count"] == 1


def test_upload_only_stores_the_file_and_its_columns(company, var):
    client, headers = api(company.admin)
    body = upload(client, headers).json()
    assert body["status"] == "uploaded" and body["headers"] == ["客户名称", "手机", "编号"]


def test_bad_input_is_refused_with_nothing_stored(company, var):
    client, headers = api(company.manager_a)
    assert upload(client, headers, mapping="[1, 2]").status_code == 400
    assert upload(client, headers, then="check").status_code == 400  # no mapping to check with
    assert upload(client, headers, mapping=json.dumps({"客户名称": "nope"}), then="check").status_code == 400
    assert upload(client, headers, kind="spaceships").status_code == 422
    bad = client.post(
        "/api/v1/imports",
        {"kind": "customers", "file": SimpleUploadedFile("x.xlsx", b"PK\x03\x04junk")},
        headers=headers,
    )
    assert bad.status_code == 400 and bad.json()["code"] == "import_bad_file"
    assert ImportJob.objects.count() == 0


def test_reps_are_forbidden_and_other_managers_see_nothing(company, var):
    client, headers = api(company.owner)
    response = upload(client, headers, mapping=MAPPING, then="start")
    assert response.status_code == 403 and response.json()["code"] == "forbidden"
    assert client.get("/api/v1/imports", headers=headers).status_code == 403
    assert ImportJob.objects.count() == 0

    mine, my_headers = api(company.manager_a)
    job_id = upload(mine, my_headers, mapping=MAPPING).json()["id"]
    other, other_headers = api(company.manager_b)
    assert other.get(f"/api/v1/imports/{job_id}", headers=other_headers).status_code == 404
    assert other.post(f"/api/v1/imports/{job_id}/start", headers=other_headers).status_code == 404
    assert other.get("/api/v1/imports", headers=other_headers).json()["count"] == 0
    assert ImportJob.objects.get().status == ImportStatus.UPLOADED
