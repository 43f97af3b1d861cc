from __future__ import annotations

import pytest

from bridgecrm.core.models import AuditEntry
from bridgecrm.customers.models import Contact, ContactPhone, Customer
from bridgecrm.imports.models import ExternalRef, ImportStatus
from bridgecrm.imports.tests.support import error_rows, run_import, write_csv

pytestmark = pytest.mark.django_db

HEADERS = ["name", "industry", "phone", "email", "owner", "contact_name"]


@pytest.fixture
def var(settings, tmp_path):
    settings.VAR_DIR = tmp_path / "var"
    return tmp_path


def test_customers_are_created_with_keys_owner_contact_and_one_audit_event_per_batch(company, var):
    path = write_csv(
        var / "c.csv",
        HEADERS,
        [
            ["深圳市腾讯计算机系统有限公司", "科技", "138 0013 8000", "Pony@QQ.com", "owner", "马化腾"],
            ["ACME Co., Ltd.", "Manufacturing", "", "", "", ""],
        ],
    )
    job = run_import(company.manager_a, "customers", path)
    assert (job.status, job.rows_read, job.created_count, job.failed_count) == (ImportStatus.DONE, 2, 2, 0)
    tencent = Customer.objects.get(name="深圳市腾讯计算机系统有限公司")
    assert (tencent.name_key, tencent.industry, tencent.owner, tencent.team) == (
        "深圳市腾讯计算机系统",
        "technology",
        company.owner,
        company.team_a,
    )
    assert tencent.owner_since is not None and tencent.created_at == tencent.updated_at
    contact = Contact.objects.get(customer=tencent)
    assert (contact.name, contact.email, contact.is_primary) == ("马化腾", "pony@qq.com", True)
    assert list(ContactPhone.objects.filter(contact=contact).values_list("e164", flat=True)) == ["+8613800138000"]
    acme = Customer.objects.get(name="ACME Co., Ltd.")
    assert (acme.name_key, acme.owner, acme.industry) == ("acme", company.manager_a, "manufacturing")
    assert not acme.contacts.exists()
    events = AuditEntry.objects.filter(event__startswith="import.")
    assert sorted(events.values_list("event", flat=True)) == ["import.batch", "import.created", "import.done"]
    batch = events.get(event="import.batch")
    assert batch.new_value["created"] == 2 and sorted(batch.new_value["created_ids"]) == sorted([tencent.pk, acme.pk])
    assert batch.source == "import"


def test_bad_rows_go_to_the_error_file_with_their_error(company, var):
    path = write_csv(
        var / "c.csv",
        HEADERS,
        [
            ["Good", "", "", "", "", ""],
            ["", "Retail", "", "", "", ""],
            ["Bad phone", "", "123", "", "", ""],
            ["Bad mail", "", "", "not-an-email", "", ""],
            ["Bad industry", "Mining", "", "", "", ""],
            ["Nobody's", "", "", "", "nobody", ""],
            ["Other team", "", "", "", "other_rep", ""],
        ],
    )
    job = run_import(company.manager_a, "customers", path)
    assert (job.created_count, job.failed_count) == (1, 6)
    rows = error_rows(job)
    assert [r[0] for r in rows] == ["2", "3", "4", "5", "6", "7"]
    assert rows[0][1].startswith("name:") and rows[1][1].startswith("phone:") and rows[2][1].startswith("email:")
    assert "Mining" in rows[3][1] and "nobody" in rows[4][1] and rows[5][1].startswith("owner:")
    assert rows[1][2:] == ["Bad phone", "", "123", "", "", ""]
    with open(job.error_file_path, "rb") as handle:
        assert handle.read(3) == b"\xef\xbb\xbf"
    assert list(Customer.objects.values_list("name", flat=True)) == ["Good"]


def test_duplicate_policies_by_name_phone_and_email(company, var):
    tencent = Customer.objects.create(name="腾讯有限公司", name_key="腾讯", owner=company.owner, industry="")
    other = Customer.objects.create(name="Other", name_key="other", owner=company.owner)
    contact = Contact.objects.create(customer=other, name="X", email="x@example.com")
    ContactPhone.objects.create(contact=contact, raw="13800138000", e164="+8613800138000")
    rows = [
        ["腾讯 有限责任公司", "Technology", "", "", "", ""],
        ["By phone", "", "+86 138-0013-8000", "", "", ""],
        ["By mail", "", "", "X@Example.com", "", ""],
        ["New one", "", "", "", "", ""],
        ["new one", "Retail", "", "", "", ""],
    ]
    path = write_csv(var / "c.csv", HEADERS, rows)
    job = run_import(company.admin, "customers", path, on_duplicate="skip")
    assert (job.created_count, job.skipped_count, job.updated_count) == (1, 4, 0)
    assert Customer.objects.count() == 3

    path = write_csv(var / "c2.csv", HEADERS, rows)
    job = run_import(company.admin, "customers", path, on_duplicate="update")
    tencent.refresh_from_db()
    assert (tencent.name, tencent.industry, tencent.version) == ("腾讯 有限责任公司", "technology", 2)
    assert (job.updated_count, job.created_count) == (3, 0)  # "New one" is updated by "new one"

    path = write_csv(var / "c3.csv", HEADERS, rows[:1])
    job = run_import(company.admin, "customers", path, on_duplicate="create")
    assert job.created_count == 1 and Customer.objects.filter(name_key="腾讯").count() == 2


def test_duplicate_keys_follow_the_admins_duplicate_settings(company, var):
    """With phone matching switched off (customers.dedup settings), a shared phone is no duplicate,
    neither against the database nor between rows of the file; names still are."""
    from bridgecrm.customers.models import DuplicateSettings

    DuplicateSettings.objects.update_or_create(pk=1, defaults={"match_phone": False})
    other = Customer.objects.create(name="Other", name_key="other", owner=company.owner)
    contact = Contact.objects.create(customer=other, name="X")
    ContactPhone.objects.create(contact=contact, raw="13800138000", e164="+8613800138000")
    rows = [
        ["By phone", "", "+86 138-0013-8000", "", "", ""],
        ["Same phone again", "", "13800138000", "", "", ""],
        ["other", "", "", "", "", ""],
    ]
    job = run_import(company.admin, "customers", write_csv(var / "c.csv", HEADERS, rows), on_duplicate="skip")
    assert (job.created_count, job.skipped_count) == (2, 1)
    assert Customer.objects.filter(name__in=["By phone", "Same phone again"]).count() == 2


def test_external_id_rerun_changes_nothing(company, var):
    headers = ["Id", *HEADERS]
    rows = [["SF-1", "Alpha", "", "", "", "", ""], ["SF-2", "Beta", "", "13900139000", "", "", ""]]
    path = write_csv(var / "c.csv", headers, rows)
    first = run_import(company.admin, "customers", path, external_id_column="Id", on_duplicate="update")
    assert first.created_count == 2
    by_name = dict(Customer.objects.values_list("name", "pk"))
    assert dict(ExternalRef.objects.values_list("external_id", "object_id")) == {
        "SF-1": by_name["Alpha"],
        "SF-2": by_name["Beta"],
    }
    before = list(Customer.objects.order_by("pk").values("pk", "name", "version", "updated_at"))
    audit_before = AuditEntry.objects.count()
    path2 = write_csv(var / "c2.csv", headers, rows)
    second = run_import(company.admin, "customers", path2, external_id_column="Id", on_duplicate="update")
    assert (second.created_count, second.updated_count, second.skipped_count) == (0, 0, 2)
    assert list(Customer.objects.order_by("pk").values("pk", "name", "version", "updated_at")) == before
    assert ContactPhone.objects.count() == 1
    assert AuditEntry.objects.count() == audit_before + 3  # created, one batch, done: no record changed


def test_dry_run_writes_nothing_and_reports_errors_and_duplicates(company, var):
    Customer.objects.create(name="Existing Ltd", name_key="existing", owner=company.owner)
    path = write_csv(
        var / "c.csv",
        HEADERS,
        [
            ["Existing", "", "", "", "", ""],
            ["Fresh", "", "", "", "", ""],
            ["FRESH", "", "", "", "", ""],
            ["", "", "", "", "", ""],
            ["", "", "", "", "owner", ""],
        ],
    )
    job = run_import(company.admin, "customers", path, dry_run=True)
    assert job.status == ImportStatus.VALIDATED
    assert (job.rows_read, job.created_count, job.skipped_count, job.failed_count) == (5, 1, 2, 1)
    assert [(f["row"], f["column"]) for f in job.findings] == [(1, "name"), (3, "name")]
    assert Customer.objects.count() == 1 and not Contact.objects.exists()
    assert [r[0] for r in error_rows(job)] == ["5"]  # the blank row 4 is passed over
    assert job.rows_committed == 0
