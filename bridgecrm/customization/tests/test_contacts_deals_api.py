"""Custom fields on contacts and deals (forms, pages, lists, exports, API), and the definitions API."""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from bridgecrm.api.tests.conftest import ApiClient, issue_token
from bridgecrm.conftest import Company, signed_in
from bridgecrm.customers import services as customer_services
from bridgecrm.customers.models import Contact
from bridgecrm.customization import services
from bridgecrm.customization.models import FieldDefinition
from bridgecrm.pipeline import deals as deal_services
from bridgecrm.pipeline.models import Deal
from bridgecrm.pipeline.tests.factories import make_pipeline

pytestmark = pytest.mark.django_db


def _csv(response: Any) -> list[list[str]]:
    return list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode("utf-8-sig"))))


def test_contact_fields_in_form_list_export_and_api(company: Company) -> None:
    field = services.field_create(
        actor=company.admin, entity="contact", type="date", label_en="Birthday", label_zh="生日"
    )
    customer = customer_services.customer_create(actor=company.owner, name="C")
    client = signed_in(company.owner)
    data = {"name": "王伟", f"custom.{field.key}": "1990-13-01"}
    page = client.post(f"/customers/{customer.pk}/contacts/new/", data)
    assert page.status_code == 200
    assert f"custom.{field.key}" in page.context["form"].errors
    assert not Contact.objects.exists()
    data[f"custom.{field.key}"] = "1990-02-01"
    assert client.post(f"/customers/{customer.pk}/contacts/new/", data).status_code == 302
    contact = Contact.objects.get()
    assert contact.custom == {field.key: "1990-02-01"}
    assert "1990-02-01" in client.get(f"/customers/{customer.pk}/").content.decode()
    listed = client.get("/customers/contacts/")
    assert [f.key for f in listed.context["custom_columns"]] == [field.key]
    assert "1990-02-01" in listed.content.decode()
    assert len(client.get("/customers/contacts/", {f"cf_{field.key}__min": "1990-01-01"}).context["contacts"]) == 1
    assert client.get("/customers/contacts/", {f"cf_{field.key}__min": "1991-01-01"}).context["contacts"] == []
    rows = _csv(client.get("/customers/contacts/export/"))
    assert (rows[0][-1], rows[1][-1]) == ("Birthday", "1990-02-01")
    api = ApiClient(issue_token(company.owner))
    read = api.get(f"/customers/{customer.pk}/contacts").json()["items"][0]
    assert read["custom"] == {field.key: "1990-02-01"}
    bad = api.patch(f"/customers/{customer.pk}/contacts/{contact.pk}", {"custom": {field.key: "soon"}})
    assert bad.status_code == 400
    assert Contact.objects.get().custom == {field.key: "1990-02-01"}


def test_deal_fields_in_form_detail_list_filter_sort_export_and_api(company: Company) -> None:
    make_pipeline(company.admin, is_default=True)
    budget = services.field_create(actor=company.admin, entity="deal", type="money", label_en="Budget")
    channel = services.field_create(
        actor=company.admin, entity="deal", type="single_select", label_en="Channel", options="web\nphone"
    )
    customer = customer_services.customer_create(actor=company.owner, name="D")
    small = deal_services.deal_create(actor=company.owner, customer=customer, name="Small", custom={budget.key: "10"})
    big = deal_services.deal_create(
        actor=company.owner, customer=customer, name="Big", custom={budget.key: "1000.5", channel.key: "web"}
    )
    assert Deal.objects.get(pk=big.pk).custom == {budget.key: 1000.5, channel.key: "web"}
    client = signed_in(company.owner)
    form = client.get("/deals/new/").context["form"]
    assert {f"custom.{budget.key}", f"custom.{channel.key}"} <= set(form.fields)
    listed = client.get("/deals/", {f"cf_{budget.key}__min": "100"})
    assert [d.pk for d in listed.context["deals"]] == [big.pk]
    assert client.get("/deals/", {"sort": f"-cf_{budget.key}"}).context["deals"][0].pk == big.pk
    assert "1,000.50" in client.get(f"/deals/{big.pk}/").content.decode()
    rows = _csv(client.get("/deals/export/", {f"cf_{channel.key}": "web"}))
    assert rows[0][-2:] == ["Budget", "Channel"]
    assert [r[1] for r in rows[1:]] == ["Big"]
    assert rows[1][-2:] == ["1,000.50", "web"]
    api = ApiClient(issue_token(company.owner))
    assert api.get(f"/deals/{small.pk}").json()["custom"] == {budget.key: 10}
    assert [d["name"] for d in api.get("/deals", {f"cf_{channel.key}": "web"}).json()["items"]] == ["Big"]
    patched = api.patch(f"/deals/{small.pk}", {"version": small.version, "custom": {channel.key: "phone"}})
    assert patched.status_code == 200, patched.content
    assert patched.json()["custom"] == {budget.key: 10, channel.key: "phone"}
    refused = api.patch(f"/deals/{small.pk}", {"version": small.version + 1, "custom": {budget.key: "x"}})
    assert refused.status_code == 400
    document = api.get("/openapi.json").json()["components"]["schemas"]
    assert document["DealOut"]["properties"]["custom"]["properties"][budget.key]["anyOf"][0]["type"] == "number"


def test_deal_list_costs_a_fixed_number_of_queries(company: Company) -> None:
    make_pipeline(company.admin, is_default=True)
    who = services.field_create(actor=company.admin, entity="deal", type="user", label_en="Sponsor")
    customer = customer_services.customer_create(actor=company.owner, name="Q")
    for i in range(30):
        deal_services.deal_create(actor=company.owner, customer=customer, name=f"D{i}", custom={who.key: "owner"})
    client = signed_in(company.owner)
    counts = []
    for size in (10, 30):
        with CaptureQueriesContext(connection) as ctx:
            assert len(client.get("/deals/", {"per_page": size}).context["deals"]) == size
        counts.append(len(ctx.captured_queries))
    assert counts[0] == counts[1], counts


def test_definitions_api(company: Company) -> None:
    admin = ApiClient(issue_token(company.admin))
    created = admin.post(
        "/custom-fields",
        {
            "entity": "customer",
            "type": "multi_select",
            "label_en": "Regions",
            "label_zh": "区域",
            "options": [{"value": "north", "label_en": "North", "label_zh": "北方"}, {"value": "south"}],
            "visible_to": ["admin", "manager"],
        },
    )
    assert created.status_code == 201, created.content
    body = created.json()
    assert (body["key"], body["visible_to"], body["editable"]) == ("regions", ["admin", "manager"], True)
    assert body["options"][1] == {"value": "south", "label_en": "south", "label_zh": "south"}
    rep = ApiClient(issue_token(company.owner))
    assert rep.get("/custom-fields").json() == []  # not visible to reps
    manager = ApiClient(issue_token(company.manager_a))
    listed = manager.get("/custom-fields", {"entity": "customer"}).json()
    assert [f["key"] for f in listed] == ["regions"]
    assert listed[0]["visible_to"] == []  # the roles are for field managers
    assert rep.post("/custom-fields", {"entity": "deal", "type": "text", "label_en": "X"}).status_code == 403
    bad = admin.post("/custom-fields", {"entity": "deal", "type": "single_select", "label_en": "X"})
    assert bad.status_code == 400
    assert "options" in bad.json()["details"]
    renamed = admin.patch(f"/custom-fields/{body['id']}", {"label_en": "Sales regions", "visible_to": []})
    assert renamed.status_code == 200, renamed.content
    assert (renamed.json()["label_en"], renamed.json()["visible_to"]) == ("Sales regions", [])
    assert [f["key"] for f in rep.get("/custom-fields").json()] == ["regions"]
    assert (
        admin.client.delete(
            f"/api/v1/custom-fields/{body['id']}", headers={"Authorization": f"Bearer {admin.secret}"}
        ).status_code
        == 204
    )
    assert FieldDefinition.objects.get().archived_at is not None
    assert rep.get("/custom-fields").json() == []
