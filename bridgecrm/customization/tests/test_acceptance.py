"""THE acceptance test of custom fields: within one test and without code changes, a field added
through the admin page is used in the customer list's filter, its export, and the API (write, read,
filter and the OpenAPI document) and an import (a GBK CSV whose column is headed with the field's
Chinese label: the mapping is suggested from it and the values are checked by type)."""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

import pytest

from bridgecrm.api.tests.conftest import ApiClient, issue_token
from bridgecrm.conftest import Company, signed_in
from bridgecrm.customers import services as customer_services
from bridgecrm.customers.models import Customer
from bridgecrm.customization.models import FieldDefinition
from bridgecrm.imports import kinds as import_kinds
from bridgecrm.imports import services as import_services
from bridgecrm.imports.mapping import suggest

pytestmark = pytest.mark.django_db


def _csv(response) -> list[list[str]]:
    body = b"".join(response.streaming_content).decode("utf-8-sig")
    return list(csv.reader(io.StringIO(body)))


def test_a_field_added_in_the_ui_works_in_list_filter_export_import_and_api(
    company: Company, tmp_path: Path, django_capture_on_commit_callbacks: Any
) -> None:
    admin = signed_in(company.admin)
    # Given: an admin adds a single-select field "Contract tier" to customers through the page.
    response = admin.post(
        "/manage/fields/new/",
        {
            "entity": "customer",
            "type": "single_select",
            "label_en": "Contract tier",
            "label_zh": "合同级别",
            "options": "gold | Gold | 金牌\nsilver | Silver | 银牌",
            "section": "Contract",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    field = FieldDefinition.objects.get(entity="customer", label_en="Contract tier")
    assert field.key == "contract_tier"

    gold = customer_services.customer_create(actor=company.owner, name="Gold Co", custom={"contract_tier": "gold"})
    silver = customer_services.customer_create(
        actor=company.owner, name="Silver Co", custom={"contract_tier": "Silver"}
    )
    plain = customer_services.customer_create(actor=company.owner, name="Plain Co")
    assert Customer.objects.get(pk=silver.pk).custom == {"contract_tier": "silver"}

    # The customer list: a column and a filter.
    owner = signed_in(company.owner)
    page = owner.get("/customers/", {"cf_contract_tier": "gold"})
    assert page.status_code == 200
    assert [c.pk for c in page.context["customers"]] == [gold.pk]
    assert "Contract tier" in page.content.decode()
    assert "cf_contract_tier" in page.context["form"].fields
    every = owner.get("/customers/", {"sort": "cf_contract_tier"})
    assert [c.pk for c in every.context["customers"]] == [gold.pk, silver.pk, plain.pk]

    # The export: a column with the value as people read it.
    rows = _csv(owner.get("/customers/export/", {"cf_contract_tier": "gold", "format": "csv"}))
    assert rows[0][-1] == "Contract tier"
    assert [r[1] for r in rows[1:]] == ["Gold Co"]
    assert rows[1][-1] == "Gold"

    # The import: a GBK CSV from Excel, its column headed with the field's Chinese label.
    source = tmp_path / "客户.csv"
    source.write_bytes("客户名称,合同级别\n进口铜牌公司,金牌\n进口错误公司,铂金\n".encode("gbk"))
    headers = ["客户名称", "合同级别"]
    custom_fields = list(FieldDefinition.objects.for_entity("customer"))
    mapping = suggest("customers", headers, import_kinds.target_fields("customers"), custom_fields)
    assert mapping == {"客户名称": "name", "合同级别": "custom.contract_tier"}
    job = import_services.import_job_create(
        actor=company.admin, kind="customers", source=source, original_name=source.name, mapping=mapping
    )
    with django_capture_on_commit_callbacks(execute=True):
        job = import_services.import_job_start(actor=company.admin, job=job)
    job.refresh_from_db()
    assert (job.created_count, job.failed_count) == (1, 1)
    assert Customer.objects.get(name="进口铜牌公司").custom == {"contract_tier": "gold"}
    assert not Customer.objects.filter(name="进口错误公司").exists()

    # The API: write, read, filter, and the OpenAPI document lists the field with its JSON type.
    api = ApiClient(issue_token(company.owner))
    created = api.post("/customers", {"name": "API Co", "custom": {"contract_tier": "silver"}})
    assert created.status_code == 201, created.content
    assert created.json()["custom"] == {"contract_tier": "silver"}
    refused = api.post("/customers", {"name": "Bad Co", "custom": {"contract_tier": "platinum"}})
    assert refused.status_code == 400
    assert "custom.contract_tier" in refused.json()["details"]
    assert not Customer.objects.filter(name="Bad Co").exists()
    read = api.get(f"/customers/{gold.pk}")
    assert read.json()["custom"] == {"contract_tier": "gold"}
    listed = api.get("/customers", {"cf_contract_tier": "silver"})
    assert sorted(item["name"] for item in listed.json()["items"]) == ["API Co", "Silver Co"]
    document = api.get("/openapi.json").json()
    custom = document["components"]["schemas"]["CustomerOut"]["properties"]["custom"]
    assert custom["properties"]["contract_tier"]["anyOf"][0] == {
        "type": "string",
        "enum": ["gold", "silver"],
        "title": "Contract tier",
        "description": "合同级别",
    }
    written = document["components"]["schemas"]["CustomerIn"]["properties"]["custom"]
    assert "contract_tier" in written["properties"]
    # A second field shows in the next document at once (nothing is cached).
    admin.post("/manage/fields/new/", {"entity": "customer", "type": "checkbox", "label_en": "Key account"})
    again = api.get("/openapi.json").json()["components"]["schemas"]["CustomerOut"]["properties"]["custom"]
    assert again["properties"]["key_account"]["anyOf"][0]["type"] == "boolean"
