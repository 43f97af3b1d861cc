"""The import wizard through the web: upload → mapping → check → run → result, and who may use it."""

from __future__ import annotations

import csv
import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from bridgecrm.conftest import signed_in
from bridgecrm.customers.models import Customer
from bridgecrm.imports import services
from bridgecrm.imports.models import ImportJob, ImportStatus, SavedMapping

HEADERS = ["客户名称", "行业", "手机", "邮箱", "负责人", "客户编号"]
ROWS = [
    ["上海星辰科技有限公司", "Manufacturing", "13800138000", "info@xingchen.cn", "owner", "EXT-1"],
    ["北京云海贸易有限公司", "technology", "13912345678", "sales@yunhai.cn", "", "EXT-2"],
    ["", "Technology", "13700000000", "", "", "EXT-3"],  # no name: an error
]


@pytest.fixture
def var(settings, tmp_path):
    settings.VAR_DIR = tmp_path / "var"
    return tmp_path


def gbk_csv(rows=ROWS, headers=HEADERS, name="客户.csv") -> SimpleUploadedFile:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(headers)
    writer.writerows(rows)
    return SimpleUploadedFile(name, buffer.getvalue().encode("gbk"), content_type="text/csv")


def upload(client, file=None, kind="customers"):
    return client.post(reverse("imports:upload"), {"kind": kind, "file": file or gbk_csv()})


def mapping_data(job: ImportJob, chosen: dict[str, str], **options) -> dict[str, str]:
    data = {f"col_{i}": chosen.get(h, "") for i, h in enumerate(job.headers)}
    data |= {"on_duplicate": "skip", "external_id_column": "", "default_owner": "", "save_as": ""}
    data |= options
    return data


def test_the_whole_wizard_with_a_gbk_csv(company, var, django_capture_on_commit_callbacks):
    client = signed_in(company.manager_a)
    assert client.get(reverse("imports:upload")).status_code == 200

    response = upload(client)
    job = ImportJob.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("imports:mapping", kwargs={"job_id": job.pk})
    assert job.encoding == "gb18030" and job.headers == HEADERS
    assert job.created_by == company.manager_a

    page = client.get(response["Location"])
    assert page.status_code == 200
    form = page.context["form"]
    # Suggested from the Chinese headers; the id-like column is offered as the external id.
    assert form.initial["col_0"] == "name"
    assert form.initial["col_1"] == "industry"
    assert form.initial["col_2"] == "phone"
    assert form.initial["col_3"] == "email"
    assert form.initial["col_4"] == "owner"
    assert form.initial["external_id_column"] == "客户编号"
    assert "上海星辰科技有限公司" in page.content.decode()  # sample values beside the columns

    chosen = {"客户名称": "name", "行业": "industry", "手机": "phone", "邮箱": "email", "负责人": "owner"}
    response = client.post(
        reverse("imports:mapping", kwargs={"job_id": job.pk}),
        mapping_data(job, chosen, external_id_column="客户编号", save_as="CRM 导出"),
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    assert response["Location"] == reverse("imports:check", kwargs={"job_id": job.pk})
    job.refresh_from_db()
    assert job.status == ImportStatus.VALIDATED
    assert (job.created_count, job.failed_count) == (2, 1)
    assert Customer.objects.count() == 0  # the check writes nothing
    assert SavedMapping.objects.get(owner=company.manager_a).mapping == chosen

    page = client.get(response["Location"])
    assert page.status_code == 200
    assert page.context["errors"].rows[0][0] == "3"
    assert b"run-import" in page.content

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("imports:start", kwargs={"job_id": job.pk}))
    assert response.status_code == 302
    assert response["Location"] == reverse("imports:job", kwargs={"job_id": job.pk})
    job.refresh_from_db()
    assert job.status == ImportStatus.DONE
    assert (job.rows_read, job.created_count, job.failed_count) == (3, 2, 1)
    assert set(Customer.objects.values_list("name", flat=True)) == {"上海星辰科技有限公司", "北京云海贸易有限公司"}

    page = client.get(response["Location"])
    assert page.status_code == 200
    body = page.content.decode()
    assert 'data-count="created">2<' in body and 'data-count="failed">1<' in body
    assert reverse("customers:list") in body

    progress = client.get(reverse("imports:progress", kwargs={"job_id": job.pk}), headers={"HX-Request": "true"})
    assert progress.status_code == 200
    assert progress["HX-Refresh"] == "true"
    assert b"hx-trigger" not in progress.content  # polling stops once the job is done

    errors = client.get(reverse("imports:errors", kwargs={"job_id": job.pk}))
    assert errors.status_code == 200
    assert errors["X-Content-Type-Options"] == "nosniff"
    assert "attachment" in errors["Content-Disposition"]
    lines = list(csv.reader(io.StringIO(b"".join(errors.streaming_content).decode("utf-8-sig"))))
    assert lines[1][0] == "3" and lines[1][2:] == ROWS[2]

    listing = client.get(reverse("imports:list"))
    assert [j.pk for j in listing.context["jobs"]] == [job.pk]


def test_saved_mapping_is_offered_again_for_the_same_columns(company, var):
    client = signed_in(company.manager_a)
    upload(client)
    first = ImportJob.objects.get()
    services.mapping_save(
        actor=company.manager_a,
        kind="customers",
        name="Mine",
        headers=first.headers,
        mapping={"客户名称": "name", "手机": "phone"},  # deliberately not the suggestions
    )
    upload(client)
    second = ImportJob.objects.latest("id")
    page = client.get(reverse("imports:mapping", kwargs={"job_id": second.pk}))
    assert page.context["saved_name"] == "Mine"
    assert page.context["form"].initial["col_0"] == "name"
    assert page.context["form"].initial["col_2"] == "phone"
    assert page.context["form"].initial["col_3"] == ""  # e-mail not in the saved mapping


def test_a_column_mapped_twice_is_refused_and_nothing_changes(company, var):
    client = signed_in(company.manager_a)
    upload(client)
    job = ImportJob.objects.get()
    response = client.post(
        reverse("imports:mapping", kwargs={"job_id": job.pk}), mapping_data(job, {"客户名称": "name", "行业": "name"})
    )
    assert response.status_code == 400
    assert response.context["form"].errors["col_1"]
    job.refresh_from_db()
    assert job.mapping == {} and job.status == ImportStatus.UPLOADED


def test_nothing_mapped_is_refused(company, var):
    client = signed_in(company.manager_a)
    upload(client)
    job = ImportJob.objects.get()
    response = client.post(reverse("imports:mapping", kwargs={"job_id": job.pk}), mapping_data(job, {}))
    assert response.status_code == 400
    assert response.context["form"].non_field_errors()


def test_hostile_or_bad_files_are_refused_on_the_form(company, var):
    client = signed_in(company.manager_a)
    response = upload(client, SimpleUploadedFile("x.exe", b"MZ\x90\x00"))
    assert response.status_code == 400
    assert response.context["form"].errors
    response = upload(client, SimpleUploadedFile("empty.csv", b""))
    assert response.status_code == 400
    response = upload(client, SimpleUploadedFile("bad.xlsx", b"PK\x03\x04not a zip"))
    assert response.status_code == 400
    assert "XLSX" in str(response.context["form"].errors)
    assert ImportJob.objects.count() == 0
    assert not any((var / "var" / "imports").glob("*")) if (var / "var" / "imports").exists() else True


def test_reps_may_not_import(company, var):
    client = signed_in(company.owner)
    assert client.get(reverse("imports:list")).status_code == 403
    assert client.get(reverse("imports:upload")).status_code == 403
    assert upload(client).status_code == 403
    assert ImportJob.objects.count() == 0


def test_another_managers_import_is_not_found_and_admin_sees_all(company, var):
    upload(signed_in(company.manager_a))
    job = ImportJob.objects.get()
    other = signed_in(company.manager_b)
    for name in ("job", "mapping", "check", "progress", "errors"):
        assert other.get(reverse(f"imports:{name}", kwargs={"job_id": job.pk})).status_code == 404, name
    assert other.post(reverse("imports:start", kwargs={"job_id": job.pk})).status_code == 404
    assert [j.pk for j in other.get(reverse("imports:list")).context["jobs"]] == []
    admin = signed_in(company.admin)
    assert [j.pk for j in admin.get(reverse("imports:list")).context["jobs"]] == [job.pk]
    assert admin.get(reverse("imports:mapping", kwargs={"job_id": job.pk})).status_code == 200
    job.refresh_from_db()
    assert job.status == ImportStatus.UPLOADED


def test_list_costs_a_fixed_number_of_queries(company, var, django_assert_max_num_queries):
    client = signed_in(company.admin)
    for i in range(3):
        services.import_job_create(
            actor=company.manager_a, kind="customers", source=gbk_csv().file, original_name=f"a{i}.csv"
        )
    client.get(reverse("imports:list"))
    with django_assert_max_num_queries(12):
        small = client.get(reverse("imports:list"))
    for i in range(30):
        services.import_job_create(
            actor=company.manager_b, kind="customers", source=gbk_csv().file, original_name=f"b{i}.csv"
        )
    with django_assert_max_num_queries(12):
        big = client.get(reverse("imports:list"))
    assert len(small.context["jobs"]) == 3 and len(big.context["jobs"]) == 25


def test_progress_polls_while_running(company, var):
    client = signed_in(company.manager_a)
    upload(client)
    job = ImportJob.objects.get()
    ImportJob.objects.filter(pk=job.pk).update(status=ImportStatus.RUNNING, rows_total=200, rows_committed=50)
    response = client.get(reverse("imports:progress", kwargs={"job_id": job.pk}), headers={"HX-Request": "true"})
    body = response.content.decode()
    assert 'hx-trigger="every 1s"' in body
    assert 'value="25"' in body
    assert "HX-Refresh" not in response
    page = client.get(reverse("imports:job", kwargs={"job_id": job.pk}))
    assert page.status_code == 200 and 'data-status="running"' in page.content.decode()


def test_error_file_missing_is_404(company, var):
    client = signed_in(company.manager_a)
    upload(client)
    job = ImportJob.objects.get()
    assert client.get(reverse("imports:errors", kwargs={"job_id": job.pk})).status_code == 404
    ImportJob.objects.filter(pk=job.pk).update(error_file_path="/etc/passwd")
    assert client.get(reverse("imports:errors", kwargs={"job_id": job.pk})).status_code == 404


def test_a_file_that_cannot_be_read_to_the_end_fails_the_check_with_its_reason(company, var):
    body = ("客户名称,手机\n" + "".join(f"客户{i},1380013{i % 10000:04d}\n" for i in range(20000))).encode("utf-8")
    body += "坏客户,13800138000\n".encode("gbk")  # a GBK line deep inside a UTF-8 file
    client = signed_in(company.manager_a)
    upload(client, SimpleUploadedFile("mixed.csv", body, content_type="text/csv"))
    job = ImportJob.objects.get()
    assert job.encoding == "utf-8"
    response = client.post(
        reverse("imports:mapping", kwargs={"job_id": job.pk}), mapping_data(job, {"客户名称": "name", "手机": "phone"})
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("imports:job", kwargs={"job_id": job.pk})
    job.refresh_from_db()
    assert job.status == ImportStatus.FAILED and "20002" in job.message
    page = client.get(response["Location"]).content.decode()
    assert 'data-testid="import-failed"' in page and "20002" in page
    assert reverse("imports:start", kwargs={"job_id": job.pk}) not in page  # nothing to resume
    assert Customer.objects.count() == 0


VCARDS = (
    "BEGIN:VCARD\r\nVERSION:2.1\r\n"
    "N;CHARSET=UTF-8;ENCODING=QUOTED-PRINTABLE:=E5=BC=A0;=E4=BC=9F;;;\r\n"
    "ORG;CHARSET=UTF-8;ENCODING=QUOTED-PRINTABLE:=E6=98=9F=E6=B2=B3=E7=A7=91=E6=8A=80\r\n"
    "TEL;CELL:13800138000\r\nEMAIL;INTERNET:zhang@xinghe.example\r\nEND:VCARD\r\n"
    "BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Li Na\r\nORG:星河科技;采购部\r\nTITLE:采购经理\r\n"
    "TEL;TYPE=CELL:13900139000\r\nUID:card-2\r\nEND:VCARD\r\n"
    "BEGIN:VCARD\r\nVERSION:4.0\r\nFN:Nobody\r\nORG:不存在的公司\r\nEND:VCARD\r\n"
).encode()


def test_vcard_contacts_through_the_wizard(company, var, django_capture_on_commit_callbacks):
    from bridgecrm.customers import services as customer_services
    from bridgecrm.customers.models import Contact

    customer_services.customer_create(actor=company.manager_a, name="星河科技")
    client = signed_in(company.manager_a)
    upload(client, SimpleUploadedFile("phone.vcf", VCARDS, content_type="text/vcard"), kind="contacts")
    job = ImportJob.objects.get()
    page = client.get(reverse("imports:mapping", kwargs={"job_id": job.pk}))
    initial = page.context["form"].initial
    chosen = {h: initial[f"col_{i}"] for i, h in enumerate(job.headers) if initial[f"col_{i}"]}
    assert chosen == {
        "Name": "name",
        "Organization": "customer",
        "Title": "title",
        "Mobile": "phone",
        "Email": "email",
        "Note": "notes",
    }
    assert initial["external_id_column"] == "UID"
    response = client.post(
        reverse("imports:mapping", kwargs={"job_id": job.pk}), mapping_data(job, chosen, external_id_column="UID")
    )
    assert response.status_code == 302, response.content.decode()[:1500]
    job.refresh_from_db()
    assert (job.rows_read, job.created_count, job.failed_count) == (3, 2, 1)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("imports:start", kwargs={"job_id": job.pk}))
    job.refresh_from_db()
    assert job.status == ImportStatus.DONE
    contacts = sorted(Contact.objects.values_list("name", "customer__name"))
    assert contacts == [("Li Na", "星河科技"), ("张伟", "星河科技")]


def test_a_big_files_check_runs_in_the_worker_with_its_progress_then_opens_the_findings(
    company, var, monkeypatch, django_capture_on_commit_callbacks
):
    monkeypatch.setattr(services, "CHECK_NOW_MAX_ROWS", 2)  # the three rows of this file count as big
    client = signed_in(company.manager_a)
    upload(client)
    job = ImportJob.objects.get()
    chosen = {"客户名称": "name", "手机": "phone", "邮箱": "email"}
    with django_capture_on_commit_callbacks() as queued:
        response = client.post(reverse("imports:mapping", kwargs={"job_id": job.pk}), mapping_data(job, chosen))
    job.refresh_from_db()
    assert response.status_code == 302 and response["Location"] == reverse("imports:job", kwargs={"job_id": job.pk})
    assert (job.status, job.dry_run, job.checking, job.rows_total) == (ImportStatus.QUEUED, True, True, 3)
    page = client.get(reverse("imports:job", kwargs={"job_id": job.pk})).content.decode()
    assert 'data-testid="checking"' in page and 'hx-trigger="every 1s"' in page
    assert client.post(reverse("imports:start", kwargs={"job_id": job.pk})).status_code == 302
    assert ImportJob.objects.get().status == ImportStatus.QUEUED  # not started while it is being checked

    for callback in queued:  # the worker takes the check
        callback()
    job.refresh_from_db()
    assert (job.status, job.rows_read, job.created_count, job.failed_count) == (ImportStatus.VALIDATED, 3, 2, 1)
    assert not Customer.objects.exists()
    response = client.get(reverse("imports:progress", kwargs={"job_id": job.pk}), headers={"HX-Request": "true"})
    assert response["HX-Refresh"] == "true"  # the job page reloads and goes on to the findings
    assert client.get(reverse("imports:job", kwargs={"job_id": job.pk}))["Location"] == reverse(
        "imports:check", kwargs={"job_id": job.pk}
    )
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("imports:start", kwargs={"job_id": job.pk}))
    assert ImportJob.objects.get().status == ImportStatus.DONE and Customer.objects.count() == 2
