"""Updating by import: an empty cell leaves the field as it is, unless the job says empty cells
clear fields; then a mapped column's empty cell empties the field (never one that cannot be
empty, and never a column the file does not map)."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.urls import reverse

from bridgecrm.conftest import signed_in
from bridgecrm.customers.models import Contact, Customer
from bridgecrm.customers.tests.factories import make_contact, make_customer
from bridgecrm.customization.models import FieldDefinition
from bridgecrm.imports.models import ImportJob
from bridgecrm.imports.tests.support import run_import, write_csv
from bridgecrm.imports.tests.test_views_api import api as api_client
from bridgecrm.pipeline.models import Product
from bridgecrm.pipeline.tests.factories import make_product

pytestmark = pytest.mark.django_db

HEADERS = ["name", "city", "industry", "potential", "stage", "erp"]
MAPPING = {
    "name": "name",
    "city": "city",
    "industry": "industry",
    "potential": "estimated_annual_potential",
    "stage": "lifecycle_stage",
    "erp": "custom.erp_code",
}


@pytest.fixture(autouse=True)
def var(settings, tmp_path):
    settings.VAR_DIR = tmp_path / "var"
    return tmp_path


@pytest.fixture
def acme(company):
    FieldDefinition.objects.create(entity="customer", key="erp_code", type="number", label_en="ERP", label_zh="ERP")
    customer = make_customer(company.owner, name="Acme Trading Co., Ltd.")
    Customer.objects.filter(pk=customer.pk).update(
        city="深圳",
        province="GD",
        industry="technology",
        estimated_annual_potential=Decimal("100000.00"),
        lifecycle_stage="customer",
        custom={"erp_code": 7},
    )
    return customer


def test_empty_cells_leave_the_fields_as_they_are_by_default(company, var, acme):
    path = write_csv(var / "u.csv", HEADERS, [["ACME trading", "", "retail", "", "", ""]])
    job = run_import(company.admin, "customers", path, MAPPING, on_duplicate="update")
    assert job.updated_count == 1
    acme.refresh_from_db()
    assert (acme.city, acme.industry, acme.estimated_annual_potential, acme.custom) == (
        "深圳",
        "retail",
        Decimal("100000.00"),
        {"erp_code": 7},
    )


def test_empty_cells_clear_the_mapped_fields_when_the_job_says_so(company, var, acme):
    path = write_csv(var / "u.csv", HEADERS, [["ACME trading", "", "retail", "", "", ""]])
    job = run_import(company.admin, "customers", path, MAPPING, on_duplicate="update", blank_clears=True)
    assert (job.updated_count, job.failed_count) == (1, 0)
    acme.refresh_from_db()
    assert (acme.city, acme.industry, acme.estimated_annual_potential, acme.custom) == ("", "retail", None, {})
    assert acme.province == "GD"  # not a column of the file: untouched
    assert acme.lifecycle_stage == "customer"  # a stage cannot be empty: an empty cell leaves it
    # The same file again changes nothing more.
    again = run_import(company.admin, "customers", path, MAPPING, on_duplicate="update", blank_clears=True)
    assert (again.updated_count, again.skipped_count) == (0, 1)


def test_a_check_reports_what_clearing_would_change_and_writes_nothing(company, var, acme):
    path = write_csv(var / "u.csv", HEADERS, [["ACME trading", "", "technology", "100000", "", "7"]])
    job = run_import(company.admin, "customers", path, MAPPING, on_duplicate="update", blank_clears=True, dry_run=True)
    assert job.updated_count == 1
    acme.refresh_from_db()
    assert acme.city == "深圳"


def test_contacts_and_products_clear_their_optional_fields(company, var):
    customer = make_customer(company.owner, name="Beta Ltd")
    contact = make_contact(customer, name="Wang Wei", email="wang@beta.example")
    Contact.objects.filter(pk=contact.pk).update(title="采购经理", wechat="wangwei")
    path = write_csv(
        var / "c.csv",
        ["customer", "name", "email", "title", "wechat"],
        [["Beta Ltd", "王伟", "wang@beta.example", "", "ww2"]],
    )
    job = run_import(company.admin, "contacts", path, on_duplicate="update", blank_clears=True)
    assert job.updated_count == 1
    contact.refresh_from_db()
    assert (contact.name, contact.title, contact.wechat) == ("王伟", "", "ww2")

    product = make_product(company.admin, sku="LIC-1", name="Licence")
    Product.objects.filter(pk=product.pk).update(unit_cost=Decimal("300.00"))
    path = write_csv(
        var / "p.csv",
        ["sku", "name", "category", "list_price", "unit", "unit_cost"],
        [["LIC-1", "Licence", "Software licence", "1200", "", ""]],
    )
    run_import(company.admin, "products", path, on_duplicate="update")
    assert Product.objects.get(pk=product.pk).unit_cost == Decimal("300.00")
    run_import(company.admin, "products", path, on_duplicate="update", blank_clears=True)
    product.refresh_from_db()
    assert (product.unit_cost, product.unit) == (None, "piece")  # unknown again; the unit has a default


def test_the_option_from_the_wizard_the_command_line_and_the_api(company, var, acme):
    client = signed_in(company.admin)
    body = b"name,city\nACME trading,\n"
    client.post(reverse("imports:upload"), {"kind": "customers", "file": SimpleUploadedFile("u.csv", body)})
    job = ImportJob.objects.get()
    data = {"col_0": "name", "col_1": "city", "on_duplicate": "update", "blank_clears": "on"}
    data |= {"external_id_column": "", "default_owner": "", "save_as": ""}
    response = client.post(reverse("imports:mapping", kwargs={"job_id": job.pk}), data)
    assert response.status_code == 302
    job.refresh_from_db()
    assert job.blank_clears is True and job.updated_count == 1
    check = client.get(reverse("imports:check", kwargs={"job_id": job.pk})).content.decode()
    assert "Empty cells clear the fields they are mapped to." in check
    mapping = client.get(reverse("imports:mapping", kwargs={"job_id": job.pk})).content.decode()
    [box] = re.findall(r"<input[^>]*name=\"blank_clears\"[^>]*>", mapping)
    assert "checked" in box  # the option is shown as chosen when the mapping is changed

    path = write_csv(var / "cli.csv", ["name", "city"], [["ACME trading", ""]])
    call_command("import", "customers", str(path), "--on-duplicate", "update", "--blank-clears", "--as", "admin")
    acme.refresh_from_db()
    assert acme.city == ""

    api, auth = api_client(company.admin)
    response = api.post(
        "/api/v1/imports",
        {
            "kind": "customers",
            "file": SimpleUploadedFile("api.csv", body),
            "mapping": '{"name": "name", "city": "city"}',
            "on_duplicate": "update",
            "blank_clears": "true",
        },
        headers=auth,
    )
    assert response.status_code == 201, response.content
    assert response.json()["blank_clears"] is True
