"""Each import kind: references resolved in bulk, duplicates, external ids, custom fields, limits."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from bridgecrm.activities.models import FollowUp
from bridgecrm.contracts.models import Payment
from bridgecrm.contracts.tests.money_helpers import make_contract
from bridgecrm.customers.models import Contact, ContactPhone, Customer
from bridgecrm.customers.tests.factories import make_contact, make_customer
from bridgecrm.customization.models import FieldDefinition
from bridgecrm.imports import engine
from bridgecrm.imports.kinds import base
from bridgecrm.imports.models import ExternalRef, ImportStatus
from bridgecrm.imports.tests.support import error_rows, run_import, write_csv
from bridgecrm.pipeline.models import Deal, DealStageChange, Product, Stage
from bridgecrm.pipeline.tests.factories import make_pipeline, make_product

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def var(settings, tmp_path):
    settings.VAR_DIR = tmp_path / "var"
    return tmp_path


def test_contacts_resolve_customers_by_name_and_external_id_and_skip_duplicates(company, var):
    acme = make_customer(company.owner, name="Acme 上海有限公司")
    run_import(
        company.admin,
        "customers",
        write_csv(var / "c.csv", ["Id", "name"], [["SF-9", "Beta Ltd"]]),
        external_id_column="Id",
        default_owner=company.owner,
    )
    beta = Customer.objects.get(name="Beta Ltd")
    make_contact(acme, name="Old", email="old@example.com")
    path = write_csv(
        var / "k.csv",
        ["customer", "name", "email", "phone", "is_primary", "decision_role"],
        [
            ["acme 上海", "王伟", "wang@example.com", "13800138000; 010-12345678", "yes", "决策者"],
            ["SF-9", "Li", "", "", "", ""],
            ["Acme 上海有限公司", "Dup", "OLD@example.com", "", "", ""],
            ["Nowhere Inc", "X", "", "", "", ""],
            ["Acme 上海有限公司", "Bad", "", "", "", "boss"],
        ],
    )
    job = run_import(company.manager_a, "contacts", path)
    assert (job.created_count, job.skipped_count, job.failed_count) == (2, 1, 2)
    wang = Contact.objects.get(name="王伟")
    assert (wang.customer, wang.is_primary, wang.decision_role) == (acme, True, "decision_maker")
    assert sorted(ContactPhone.objects.filter(contact=wang).values_list("e164", flat=True)) == [
        "+861012345678",
        "+8613800138000",
    ]
    assert Contact.objects.get(name="Li").customer == beta
    errors = {r[0]: r[1] for r in error_rows(job)}
    assert "Nowhere Inc" in errors["4"] and errors["5"].startswith("decision_role:")


def test_contacts_of_customers_the_importer_does_not_see_are_refused(company, var):
    make_customer(company.other_rep, name="Hidden Co")  # team B: manager A does not see it
    job = run_import(
        company.manager_a, "contacts", write_csv(var / "k.csv", ["customer", "name"], [["Hidden Co", "A"]])
    )
    assert job.failed_count == 1 and not Contact.objects.exists()


def test_deals_with_stage_dates_become_stage_history_and_close_when_won(company, var):
    pipeline = make_pipeline(company.admin, name="Sales", is_default=True)
    stages = list(Stage.objects.filter(pipeline=pipeline).order_by("order"))
    first, second, won = stages[0], stages[1], next(s for s in stages if s.kind == "won")
    make_customer(company.owner, name="甲方科技有限公司")
    path = write_csv(
        var / "d.csv",
        ["customer", "name", "stage_dates", "amount", "owner"],
        [
            [
                "甲方科技",
                "Big deal",
                f"{first.name}: 2025-01-05; {second.name}: 2025-02-01; {won.name}: 2025-03-10",
                "¥120,000",
                "owner",
            ],
            ["甲方科技", "Open deal", "", "5000", ""],
            ["甲方科技", "Big deal", "", "", ""],
            ["甲方科技", "Bad", f"{second.name}: 2025-02-01; {first.name}: 2025-01-01", "", ""],
        ],
    )
    job = run_import(company.admin, "deals", path)
    assert (job.created_count, job.skipped_count, job.failed_count) == (2, 1, 1)
    big = Deal.objects.get(name="Big deal")
    assert (big.stage, big.status, big.closed_on, big.amount, big.owner) == (
        won,
        "won",
        dt.date(2025, 3, 10),
        Decimal("120000.00"),
        company.owner,
    )
    history = list(DealStageChange.objects.filter(deal=big).order_by("changed_at"))
    assert [(h.from_stage, h.to_stage) for h in history] == [(None, first), (first, second), (second, won)]
    assert history[1].seconds_in_from_stage == 27 * 86400
    assert big.created_at == history[0].changed_at
    opened = Deal.objects.get(name="Open deal")
    assert (opened.stage, opened.status, opened.owner, opened.team) == (
        first,
        "open",
        company.admin,
        company.admin.team,
    )


def test_follow_ups_keep_the_customers_dates_and_skip_the_same_moment(company, var):
    acme = make_customer(company.owner, name="Acme")
    make_contact(acme, name="王伟", email="wang@example.com")
    path = write_csv(
        var / "f.csv",
        ["customer", "kind", "occurred_at", "summary", "contact", "next_follow_up_on"],
        [
            ["Acme", "拜访", "2025-05-01 10:00", "Visited", "wang@example.com", "2099-01-01"],
            ["Acme", "Call", "2025-05-02", "Called", "王伟", ""],
            ["Acme", "call", "2025-05-02", "Called again", "", ""],
            ["Acme", "Call", "2999-01-01", "Future", "", ""],
        ],
    )
    job = run_import(company.manager_a, "follow_ups", path)
    assert (job.created_count, job.skipped_count, job.failed_count) == (2, 1, 1)
    visit = FollowUp.objects.get(summary="Visited")
    assert (visit.kind, visit.contact.name, visit.owner) == ("visit", "王伟", company.manager_a)
    acme.refresh_from_db()
    assert acme.next_follow_up_on == dt.date(2099, 1, 1)
    assert acme.last_follow_up_at == FollowUp.objects.get(summary="Called").occurred_at


def test_products_by_sku_update_and_only_for_those_who_configure_them(company, var):
    make_product(company.admin, sku="LIC-1", name="Old name")
    path = write_csv(
        var / "p.csv",
        ["sku", "name", "category", "list_price", "unit"],
        [["LIC-1", "New name", "Software licence", "1200", ""], ["SRV-1", "实施服务", "服务", "800.5", "person-day"]],
    )
    job = run_import(company.admin, "products", path, on_duplicate="update")
    assert (job.created_count, job.updated_count) == (1, 1)
    assert Product.objects.get(sku="LIC-1").name == "New name"
    service = Product.objects.get(sku="SRV-1")
    assert (service.category, service.unit, service.list_price) == ("service", "day", Decimal("800.50"))
    refused = run_import(company.manager_a, "products", path)
    assert refused.status == ImportStatus.FAILED and "products" in refused.message


def test_payments_go_through_the_payment_service_against_the_contract_number(company, var):
    contract = make_contract(company.owner, amount="10000.00", plan=[(dt.date(2026, 1, 31), "10000.00")])
    path = write_csv(
        var / "pay.csv",
        ["contract", "received_on", "amount", "reference"],
        [
            [contract.number, "2026-02-01", "4000", "TX1"],
            [contract.number, "2026-02-01", "4000", "TX1"],
            [contract.number, "2026-02-02", "99000", "TX2"],
            ["HT-NONE", "2026-02-01", "1", ""],
        ],
    )
    job = run_import(company.manager_a, "payments", path)
    assert (job.created_count, job.skipped_count, job.failed_count) == (1, 1, 2)
    # In the file's order, though the over-payment is found after the unknown contract.
    assert [row[0] for row in error_rows(job)] == ["3", "4"]
    contract.refresh_from_db()
    assert contract.received_amount == Decimal("4000.00")
    assert Payment.objects.get().allocations.count() == 1


def test_custom_field_columns_are_validated_and_stored(company, var):
    FieldDefinition.objects.create(entity="customer", key="erp_code", type="number", label_en="ERP", label_zh="ERP")
    FieldDefinition.objects.create(
        entity="customer",
        key="grade",
        type="single_select",
        label_en="Grade",
        label_zh="等级",
        options=[{"value": "a", "label_en": "Gold", "label_zh": "金牌"}],
    )
    path = write_csv(var / "c.csv", ["name", "ERP", "等级"], [["One", "1,234", "金牌"], ["Two", "abc", ""]])
    job = run_import(
        company.admin, "customers", path, mapping={"name": "name", "ERP": "custom.erp_code", "等级": "custom.grade"}
    )
    assert (job.created_count, job.failed_count) == (1, 1)
    assert Customer.objects.get(name="One").custom == {"erp_code": 1234, "grade": "a"}
    assert error_rows(job)[0][1].startswith("ERP: ")  # the file's column, not the field's key
    with pytest.raises(Exception, match="not a field"):
        run_import(company.admin, "customers", path, mapping={"name": "name", "ERP": "custom.missing"})


def test_limits_rows_and_columns(company, var, monkeypatch):
    from bridgecrm.imports import readers

    monkeypatch.setattr(readers, "MAX_ROWS", 3)
    job = run_import(company.admin, "customers", write_csv(var / "c.csv", ["name"], [[f"C{i}"] for i in range(4)]))
    assert job.status == ImportStatus.FAILED and not Customer.objects.exists()
    wide = write_csv(var / "w.csv", [f"col{i}" for i in range(engine.MAX_COLUMNS + 1)], [["x"] * 1001])
    with pytest.raises(Exception, match="1,000"):
        run_import(company.admin, "customers", wide, mapping={"col0": "name"})


def test_references_cost_one_query_per_type_per_batch(company, var):
    for i in range(30):
        make_customer(company.owner, name=f"客户{i}")
    rows = [[f"客户{i}", f"C{i}", f"c{i}@example.com", f"1390000{i:04d}"] for i in range(30)]
    path = write_csv(var / "k.csv", ["customer", "name", "email", "phone"], rows)
    with CaptureQueriesContext(connection) as few:
        run_import(company.admin, "contacts", path)
    rows = [[f"客户{i % 30}", f"D{i}", f"d{i}@example.com", f"1380000{i:04d}"] for i in range(300)]
    path = write_csv(var / "k2.csv", ["customer", "name", "email", "phone"], rows)
    with CaptureQueriesContext(connection) as many:
        run_import(company.admin, "contacts", path)
    assert Contact.objects.count() == 330
    assert len(many.captured_queries) <= len(few.captured_queries) + 2


def test_fast_mobile_path_agrees_with_libphonenumber():
    import random

    from bridgecrm.customers import phones

    rng = random.Random(4)
    for _ in range(3000):
        number = "1" + "".join(rng.choice("0123456789") for _ in range(10))
        expected = phones.normalise(number)
        try:
            got = base.phone_value(number, "phone")
        except base.RowError:
            got = None
        assert (got.e164, got.kind) == (expected.e164, expected.kind) if expected else got is None


def test_imported_customers_are_found_by_search(company, var):
    run_import(company.admin, "customers", write_csv(var / "c.csv", ["name"], [["深圳市腾讯计算机系统有限公司"]]))
    from bridgecrm.customers import search_index

    if connection.vendor == "sqlite":
        assert search_index.sqlite_fts_ready()
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT rowid FROM customers_customer_fts WHERE customers_customer_fts MATCH %s", ['"腾讯计算"']
            )
            assert [r[0] for r in cursor.fetchall()] == [Customer.objects.get().pk]
    assert ExternalRef.objects.count() == 0
