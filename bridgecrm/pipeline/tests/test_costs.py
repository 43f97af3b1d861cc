"""Product cost, deal line cost and deal margin: the snapshot, conversion, unknown costs, who may see
and set them (services, pages, API, export), the audit trail, and query budgets."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from bridgecrm.api.tests.conftest import API, ApiClient, issue_token
from bridgecrm.conftest import signed_in
from bridgecrm.core.errors import ApplicationError, PermissionDenied
from bridgecrm.core.models import AuditAction, AuditEntry, ExchangeRate
from bridgecrm.core.selectors import record_timeline
from bridgecrm.customers.tests.factories import make_customer
from bridgecrm.pipeline import deals, services
from bridgecrm.pipeline.models import Deal, DealLine, Product
from bridgecrm.pipeline.tests.deal_factories import make_deal
from bridgecrm.pipeline.tests.factories import make_pipeline, make_product
from bridgecrm.users.capabilities import VIEW_PRODUCT_COST
from bridgecrm.users.models import RolePermission

pytestmark = pytest.mark.django_db
D = Decimal


@pytest.fixture
def setup(company):
    make_pipeline(company.admin, "新客户销售", is_default=True)
    customer = make_customer(company.owner, "华东电气")
    licence = make_product(company.admin, sku="LIC-1", name="CRM 许可", list_price="1000.00", unit_cost="600.00")
    service = make_product(company.admin, sku="SRV-1", name="实施服务", category="service", list_price="2000.00")
    return company, customer, licence, service


def _state() -> tuple[object, ...]:
    return (
        list(Deal.objects.order_by("id").values_list()),
        list(DealLine.objects.order_by("id").values_list()),
        list(Product.objects.order_by("id").values_list()),
        AuditEntry.objects.count(),
    )


def _without_cost_right(user) -> None:
    RolePermission.objects.filter(role_id=user.role_id, capability=VIEW_PRODUCT_COST).delete()
    user.forget_cached_permissions()


# ---- products ------------------------------------------------------------------------------------


def test_product_cost_is_set_checked_and_audited(setup) -> None:
    company, _c, licence, service = setup
    assert (licence.unit_cost, service.unit_cost) == (D("600.00"), None)  # unknown stays unknown, never 0
    created = AuditEntry.objects.get(
        object_id=str(licence.pk), action=AuditAction.CREATE, content_type__model="product"
    )
    assert created.new_value["unit_cost"] == "600.00"
    before = _state()
    for bad in ("-1", "abc", "1.001", "1e20"):
        with pytest.raises(ApplicationError) as err:
            services.product_update(actor=company.admin, product=licence, unit_cost=bad)
        assert err.value.details is not None and "unit_cost" in err.value.details
    with pytest.raises(ApplicationError):
        make_product(company.admin, sku="JP-1", currency="JPY", list_price="1000", unit_cost="10.5")  # no sen
    assert _state() == before
    services.product_update(actor=company.admin, product=licence, unit_cost=None)
    assert Product.objects.get(pk=licence.pk).unit_cost is None
    change = AuditEntry.objects.filter(field="unit_cost").latest("id")
    assert (change.old_value, change.new_value) == ("600.00", None)


def test_setting_a_cost_needs_the_cost_right(setup) -> None:
    company, _c, licence, _s = setup
    _without_cost_right(company.admin)  # still configures products, but may not see costs
    before = _state()
    with pytest.raises(PermissionDenied) as err:
        services.product_update(actor=company.admin, product=licence, unit_cost="1")
    assert err.value.code == "forbidden" and str(err.value.message) == "You may not see or set costs."
    with pytest.raises(PermissionDenied):
        make_product(company.admin, sku="NEW-1", unit_cost="5")
    assert _state() == before
    services.product_update(actor=company.admin, product=licence, name="CRM 许可 v2")  # other fields: fine
    assert Product.objects.get(pk=licence.pk).unit_cost == D("600.00")  # the cost is left alone


# ---- deal lines ----------------------------------------------------------------------------------


def test_line_cost_is_a_snapshot_of_the_product_cost(setup) -> None:
    company, customer, licence, _s = setup
    deal = make_deal(company.owner, customer)
    deal = deals.deal_lines_set(
        actor=company.owner,
        deal=deal,
        version=deal.version,
        lines=[{"product": licence.pk, "quantity": "3", "unit_price": "900", "discount_percent": "10"}],
    )
    line = deal.lines.get()
    assert (line.subtotal, line.unit_cost, line.cost, line.margin, line.margin_percent) == (
        D("2430.00"),  # 3 × 900 × 0.9
        D("600.00"),
        D("1800.00"),
        D("630.00"),
        D("25.9"),
    )
    assert (deal.amount_base, deal.cost_base, deal.margin_base, deal.margin_percent) == (
        D("2430.00"),
        D("1800.00"),
        D("630.00"),
        D("25.9"),
    )
    # The product's cost changes later: the line keeps the cost it was sold at, even when a rep
    # (who cannot see costs) saves the lines again; a new line takes the product's cost of now.
    services.product_update(actor=company.admin, product=licence, unit_cost="700.00")
    deal = deals.deal_lines_set(
        actor=company.owner,
        deal=deal,
        version=deal.version,
        lines=[
            {"product": licence.pk, "quantity": "3", "unit_price": "900", "discount_percent": "10"},
            {"product": licence.pk, "quantity": "1", "unit_price": "900"},
        ],
    )
    assert list(deal.lines.order_by("order").values_list("unit_cost", flat=True)) == [D("600.00"), D("700.00")]
    assert deal.cost_base == D("2500.00")


def test_a_product_cost_in_another_currency_is_converted(setup) -> None:
    company, customer, _l, _s = setup
    ExchangeRate.objects.create(currency="USD", valid_from=dt.date(2020, 1, 1), rate=D("7.1"))
    chip = make_product(
        company.admin, sku="HW-1", category="hardware", currency="USD", list_price="100", unit_cost="33.33"
    )
    deal = make_deal(company.owner, customer)
    deal = deals.deal_lines_set(
        actor=company.owner, deal=deal, version=1, lines=[{"product": chip.pk, "quantity": "2", "unit_price": "1000"}]
    )
    assert deal.lines.get().unit_cost == D("236.64")  # 33.33 × 7.1 = 236.643 → rounded once
    assert (deal.cost_base, deal.margin_base) == (D("473.28"), D("1526.72"))
    # A USD deal: line costs are in USD, cost_base in CNY at the deal's rate, like amount_base.
    usd = make_deal(company.owner, customer, name="USD", currency="USD", expected_close_date="2026-03-31")
    usd = deals.deal_lines_set(
        actor=company.owner, deal=usd, version=1, lines=[{"product": chip.pk, "quantity": "3", "unit_price": "50"}]
    )
    assert (usd.lines.get().unit_cost, usd.amount_base, usd.cost_base) == (D("33.33"), D("1065.00"), D("709.93"))


def test_unknown_costs_give_an_unknown_margin_never_a_zero_cost(setup) -> None:
    company, customer, licence, service = setup
    deal = make_deal(company.owner, customer, amount="5000")
    assert (deal.cost_base, deal.margin_base, deal.margin_percent) == (None, None, None)  # no lines
    deal = deals.deal_lines_set(
        actor=company.owner,
        deal=deal,
        version=deal.version,
        lines=[
            {"product": licence.pk, "quantity": "1", "unit_price": "1000"},
            {"product": service.pk, "quantity": "1", "unit_price": "2000"},  # a product without a cost
        ],
    )
    assert (deal.cost_base, deal.margin_base) == (None, None)
    free = deals.deal_lines_set(
        actor=company.owner,
        deal=deal,
        version=deal.version,
        lines=[{"name": "差旅", "quantity": "1", "unit_price": "9"}],
    )
    assert (free.lines.get().unit_cost, free.cost_base) == (None, None)


def test_only_cost_holders_set_a_line_cost(setup) -> None:
    company, customer, licence, _s = setup
    deal = make_deal(company.owner, customer)
    before = _state()
    with pytest.raises(PermissionDenied) as err:
        deals.deal_lines_set(
            actor=company.owner,
            deal=deal,
            version=1,
            lines=[{"product": licence.pk, "quantity": "1", "unit_price": "1000", "unit_cost": "1"}],
        )
    assert err.value.code == "forbidden" and str(err.value.message) == "You may not see or set costs."
    with pytest.raises(ApplicationError):
        deals.deal_lines_set(
            actor=company.manager_a,
            deal=deal,
            version=1,
            lines=[{"product": licence.pk, "quantity": "1", "unit_price": "1000", "unit_cost": "-5"}],
        )
    assert _state() == before
    deal = deals.deal_lines_set(
        actor=company.manager_a,
        deal=deal,
        version=1,
        lines=[
            {"product": licence.pk, "quantity": "1", "unit_price": "1000", "unit_cost": "550"},
            {"name": "定制开发", "quantity": "2", "unit_price": "500", "unit_cost": "300"},
        ],
    )
    assert deal.cost_base == D("1150.00")
    # The rep edits the quantities later: the costs the manager set stay with their lines.
    deal = deals.deal_lines_set(
        actor=company.owner,
        deal=deal,
        version=deal.version,
        lines=[
            {"product": licence.pk, "quantity": "2", "unit_price": "1000"},
            {"name": "定制开发", "quantity": "2", "unit_price": "500"},
        ],
    )
    assert deal.cost_base == D("1700.00")


def test_cost_changes_are_audited_out_of_the_reps_sight(setup) -> None:
    company, customer, licence, _s = setup
    deal = make_deal(company.owner, customer)
    deal = deals.deal_lines_set(
        actor=company.owner, deal=deal, version=1, lines=[{"product": licence.pk, "quantity": "2", "unit_price": "900"}]
    )
    event = AuditEntry.objects.get(event="deal_costs_changed", object_id=str(deal.pk))
    assert event.new_value == {"lines": ["CRM 许可: 600.00"], "cost_base": "1200.00"}
    lines_change = AuditEntry.objects.get(field="lines", object_id=str(deal.pk))
    assert "600" not in json.dumps(lines_change.new_value)
    rep_view = record_timeline(actor=company.owner, model_label="pipeline.Deal", object_id=str(deal.pk))
    assert all(e.event != "deal_costs_changed" for e in rep_view.entries)
    assert "1200.00" not in json.dumps([e.new_value for e in rep_view.entries])
    admin_view = record_timeline(actor=company.admin, model_label="pipeline.Deal", object_id=str(deal.pk))
    assert any(e.event == "deal_costs_changed" for e in admin_view.entries)


# ---- pages, export and API -----------------------------------------------------------------------


def _deal_with_lines(company, customer, licence, n: int) -> Deal:
    deal = make_deal(company.owner, customer, name=f"{n} lines")
    return deals.deal_lines_set(
        actor=company.owner,
        deal=deal,
        version=1,
        lines=[{"product": licence.pk, "quantity": str(i + 1), "unit_price": "987.65"} for i in range(n)],
    )


def test_deal_page_shows_cost_and_margin_to_cost_holders_only(setup) -> None:
    company, customer, licence, _s = setup
    deal = _deal_with_lines(company, customer, licence, 2)  # cost 3 × 600 = 1800.00, amount 2962.95
    url = reverse("pipeline:deal_detail", args=[deal.pk])
    manager_page = signed_in(company.manager_a).get(url).content.decode()
    assert 'data-testid="cost-head"' in manager_page and "1,800.00" in manager_page and "1,162.95" in manager_page
    assert "39.2 %" in manager_page  # 1162.95 ÷ 2962.95
    rep_page = signed_in(company.owner).get(url).content.decode()
    assert 'data-testid="cost-head"' not in rep_page and "1,800.00" not in rep_page and "unit_cost" not in rep_page
    assert "600.00" not in rep_page and "1,162.95" not in rep_page


def test_deal_page_costs_a_fixed_number_of_queries(setup) -> None:
    company, customer, licence, _s = setup
    client = signed_in(company.manager_a)
    counts = []
    for n in (1, 12):
        deal = _deal_with_lines(company, customer, licence, n)
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(reverse("pipeline:deal_detail", args=[deal.pk])).status_code == 200
        counts.append(len(ctx))
    assert counts[0] == counts[1], counts


def test_lines_form_posts_costs_for_holders_and_refuses_others(setup) -> None:
    company, customer, licence, _s = setup
    deal = make_deal(company.owner, customer)
    url = reverse("pipeline:deal_lines", args=[deal.pk])
    form = {"version": "1", "line-0-product": str(licence.pk), "line-0-quantity": "1", "line-0-unit_price": "1000"}
    rep = signed_in(company.owner)
    before = _state()
    response = rep.post(url, {**form, "line-0-unit_cost": "1"}, follow=True)
    assert response.status_code == 403
    assert _state() == before
    response = signed_in(company.manager_a).post(url, {**form, "line-0-unit_cost": "400"})
    assert response.status_code == 302
    assert Deal.objects.get(pk=deal.pk).cost_base == D("400.00")


def test_product_list_and_export_show_cost_to_cost_holders_only(setup) -> None:
    company, *_rest = setup
    admin_page = signed_in(company.admin).get(reverse("pipeline:products")).content.decode()
    cost_cell = '<td class="num nowrap">600.00</td>'
    assert 'data-testid="cost-head"' in admin_page and cost_cell in admin_page and "40.0 %" in admin_page
    rep_page = signed_in(company.owner).get(reverse("pipeline:products")).content.decode()
    assert 'data-testid="cost-head"' not in rep_page and cost_cell not in rep_page and "40.0 %" not in rep_page
    for user, expected in ((company.admin, True), (company.owner, False)):
        body = b"".join(signed_in(user).get(reverse("pipeline:product_export")).streaming_content).decode("utf-8-sig")
        rows = list(csv.reader(io.StringIO(body)))
        assert ("Unit cost" in rows[0]) is expected
        assert any("600.00" in row for row in rows) is expected
    form = signed_in(company.admin).get(reverse("pipeline:product_create")).content.decode()
    assert 'name="unit_cost"' in form


def test_product_form_without_the_cost_right_has_no_cost_field(setup) -> None:
    company, _c, licence, _s = setup
    _without_cost_right(company.admin)
    client = signed_in(company.admin)
    page = client.get(reverse("pipeline:product_edit", args=[licence.pk])).content.decode()
    assert 'name="unit_cost"' not in page and "600.00" not in page


def test_product_list_costs_a_fixed_number_of_queries(setup) -> None:
    company, *_rest = setup
    client = signed_in(company.admin)
    counts = []
    for extra in (0, 20):
        for i in range(extra):
            make_product(company.admin, sku=f"X-{extra}-{i}", unit_cost="1.00")
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(reverse("pipeline:products")).status_code == 200
        counts.append(len(ctx))
    assert counts[0] == counts[1], counts


def _api(user) -> ApiClient:
    return ApiClient(issue_token(user))


def test_product_api_cost_for_holders_only(setup) -> None:
    company, _c, licence, _s = setup
    rep, admin = _api(company.owner), _api(company.admin)
    assert rep.get(f"/products/{licence.pk}").json()["unit_cost"] is None
    assert admin.get(f"/products/{licence.pk}").json()["unit_cost"] == "600.00"
    assert all(p["unit_cost"] is None for p in rep.get("/products").json()["items"])
    created = admin.post(
        "/products", {"sku": "API-1", "name": "A", "category": "other", "list_price": "10", "unit_cost": "4"}
    )
    assert created.status_code == 201 and created.json()["unit_cost"] == "4.00"
    cleared = admin.patch(f"/products/{licence.pk}", {"unit_cost": None})
    assert cleared.status_code == 200 and cleared.json()["unit_cost"] is None
    admin.patch(f"/products/{licence.pk}", {"unit_cost": "600"})
    bad = admin.patch(f"/products/{licence.pk}", {"unit_cost": "-1"})
    assert bad.status_code == 422
    _without_cost_right(company.admin)
    no_cost = _api(company.admin)
    before = _state()
    refused = no_cost.patch(f"/products/{licence.pk}", {"unit_cost": "1"})
    assert refused.status_code == 403 and refused.json()["message"] == "You may not see or set costs."
    assert _state() == before


def test_deal_api_cost_and_margin_for_holders_only(setup) -> None:
    company, customer, licence, _s = setup
    deal = _deal_with_lines(company, customer, licence, 1)
    rep = _api(company.owner).get(f"/deals/{deal.pk}").json()
    assert (rep["cost_base"], rep["margin_base"], rep["margin_percent"]) == (None, None, None)
    assert (rep["lines"][0]["unit_cost"], rep["lines"][0]["cost"], rep["lines"][0]["margin"]) == (None, None, None)
    manager = _api(company.manager_a).get(f"/deals/{deal.pk}").json()
    assert (manager["cost_base"], manager["margin_base"], manager["margin_percent"]) == ("600.00", "387.65", "39.2")
    assert (manager["lines"][0]["unit_cost"], manager["lines"][0]["margin"]) == ("600.00", "387.65")
    body = {
        "version": deal.version,
        "lines": [{"product_id": licence.pk, "quantity": "1", "unit_price": "1", "unit_cost": "1"}],
    }
    api = _api(company.owner)
    before = _state()
    put = api.client.put(
        API + f"/deals/{deal.pk}/lines", json.dumps(body), content_type="application/json", headers=api._headers(None)
    )
    assert put.status_code == 403 and put.json()["message"] == "You may not see or set costs."
    assert _state() == before
    api = _api(company.manager_a)
    put = api.client.put(
        API + f"/deals/{deal.pk}/lines", json.dumps(body), content_type="application/json", headers=api._headers(None)
    )
    assert put.status_code == 200 and put.json()["cost_base"] == "1.00"
