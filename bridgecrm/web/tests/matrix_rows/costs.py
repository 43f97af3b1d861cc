"""Authorization-matrix rows for product cost and deal margin (capability ``products.view_cost``).

A product "MX-COST" costs 777.77 (list price 1,234.00); a deal of the owner (team A) on the world's
customer has one line of it, so its cost is 777.77 and its margin 456.23. Admins and managers hold
``products.view_cost``; reps do not. Products are company settings (every signed-in user reads
them), so both managers see the product's cost; the deal is seen by the owner, manager A and the
admin, and only manager A and the admin see its cost and margin. Each probe looks for the cost
itself in the response: a rep's page, export and API answer never contain it. Writes of a cost by
someone without the right are refused (403) and change nothing.
"""

from __future__ import annotations

import re
from typing import Any

from bridgecrm.pipeline import deals
from bridgecrm.pipeline import services as pipeline_services
from bridgecrm.web.tests.matrix_support import (
    FORBIDDEN,
    LOGIN,
    NOT_FOUND,
    OK,
    OK_SAVED,
    SAVED,
    UNAUTHENTICATED,
    Case,
    World,
    api_user,
    row,
    signed_in,
    url,
)

COST_HOLDERS = frozenset({"manager_a", "manager_b", "admin"})
SEES_DEAL_COST = frozenset({"manager_a", "admin"})


def build(world: World) -> None:
    c = world.c
    product = pipeline_services.product_create(
        actor=c.admin,
        sku="MX-COST",
        name="Matrix costed",
        category="hardware",
        list_price="1234.00",
        unit_cost="777.77",
    )
    world.extra["cost_product"] = product
    deal = deals.deal_create(actor=c.owner, customer=world.customer, name="Matrix costed deal")
    world.extra["cost_deal"] = deals.deal_lines_set(
        actor=c.owner,
        deal=deal,
        version=deal.version,
        lines=[{"product": product.pk, "quantity": "1", "unit_price": "1234"}],
    )


def _product_pk(w: World) -> int:
    return int(w.extra["cost_product"].pk)


def _deal_pk(w: World) -> int:
    return int(w.extra["cost_deal"].pk)


_COST_IN_HTML = re.compile(r"(?<![\w.])777\.77(?![\w])")


def _html_shows_cost(w: World, response: Any) -> bool:
    # The amount itself, not any "777": a CSRF token or a static file's hash may hold those digits
    # (a PostgreSQL run once showed a rep "777" on the products page).
    return _COST_IN_HTML.search(response.content.decode()) is not None


def _export_shows_cost(w: World, response: Any) -> bool:
    body = b"".join(response.streaming_content) if response.streaming else response.content
    return b"777.77" in body


def _api_product_cost(w: World, response: Any) -> bool:
    return response.json()["unit_cost"] == "777.77"


def _api_products_cost(w: World, response: Any) -> bool:
    return any(item["unit_cost"] == "777.77" for item in response.json()["items"])


def _api_deal_cost(w: World, response: Any) -> bool:
    body = response.json()
    shown = (body["cost_base"], body["margin_base"], body["lines"][0]["unit_cost"])
    assert shown in {("777.77", "456.23", "777.77"), (None, None, None)}, shown
    return shown[0] is not None


def _lines_with_cost(w: World) -> dict[str, Any]:
    return {
        "version": w.extra["cost_deal"].version,
        "lines": [{"product_id": _product_pk(w), "quantity": "2", "unit_price": "1234", "unit_cost": "700"}],
    }


def _lines_form_with_cost(w: World) -> dict[str, Any]:
    return {
        "version": str(w.extra["cost_deal"].version),
        "line-0-product": str(_product_pk(w)),
        "line-0-name": "Matrix costed",
        "line-0-quantity": "2",
        "line-0-unit_price": "1234",
        "line-0-unit_cost": "700",
    }


ROWS: list[Case] = [
    Case(
        "pipeline:products",
        "GET",
        lambda w: url("pipeline:products")(w) + "?q=MX-COST",
        signed_in(OK),
        variant="cost column",
        probe=_html_shows_cost,
        probe_seen_by=COST_HOLDERS,
    ),
    Case(
        "pipeline:product_export",
        "GET",
        lambda w: url("pipeline:product_export")(w) + "?q=MX-COST",
        signed_in(OK),
        variant="cost column",
        probe=_export_shows_cost,
        probe_seen_by=COST_HOLDERS,
    ),
    Case(
        "pipeline:deal_detail",
        "GET",
        url("pipeline:deal_detail", deal_id=_deal_pk),
        row(
            anonymous=LOGIN,
            owner=OK,
            teammate=NOT_FOUND,
            other_rep=NOT_FOUND,
            manager_a=OK,
            manager_b=NOT_FOUND,
            admin=OK,
        ),
        variant="cost and margin",
        probe=_html_shows_cost,
        probe_seen_by=SEES_DEAL_COST,
    ),
    Case(
        "pipeline:deal_lines",
        "POST",
        url("pipeline:deal_lines", deal_id=_deal_pk),
        row(
            anonymous=LOGIN,
            owner=FORBIDDEN,
            teammate=NOT_FOUND,
            other_rep=NOT_FOUND,
            manager_a=SAVED,
            manager_b=NOT_FOUND,
            admin=SAVED,
        ),
        data=_lines_form_with_cost,
        variant="with a cost",
    ),
    Case(
        "api-1.0.0:products_list",
        "GET",
        lambda w: url("api-1.0.0:products_list")(w) + "?q=MX-COST",
        api_user(OK),
        operation="GET /api/v1/products",
        variant="cost",
        probe=_api_products_cost,
        probe_seen_by=COST_HOLDERS,
    ),
    Case(
        "api-1.0.0:product_detail",
        "GET",
        url("api-1.0.0:product_detail", product_id=_product_pk),
        api_user(OK),
        operation="GET /api/v1/products/{product_id}",
        variant="cost",
        probe=_api_product_cost,
        probe_seen_by=COST_HOLDERS,
    ),
    Case(
        "api-1.0.0:product_update",
        "PATCH",
        url("api-1.0.0:product_update", product_id=_product_pk),
        {**api_user(FORBIDDEN), "admin": OK_SAVED},
        data=lambda w: {"unit_cost": "800.00"},
        operation="PATCH /api/v1/products/{product_id}",
        variant="cost",
    ),
    Case(
        "api-1.0.0:deal_detail",
        "GET",
        url("api-1.0.0:deal_detail", deal_id=_deal_pk),
        row(
            anonymous=UNAUTHENTICATED,
            owner=OK,
            teammate=NOT_FOUND,
            other_rep=NOT_FOUND,
            manager_a=OK,
            manager_b=NOT_FOUND,
            admin=OK,
        ),
        operation="GET /api/v1/deals/{deal_id}",
        variant="cost and margin",
        probe=_api_deal_cost,
        probe_seen_by=SEES_DEAL_COST,
    ),
    Case(
        "api-1.0.0:deal_lines",
        "PUT",
        url("api-1.0.0:deal_lines", deal_id=_deal_pk),
        row(
            anonymous=UNAUTHENTICATED,
            owner=FORBIDDEN,
            teammate=NOT_FOUND,
            other_rep=NOT_FOUND,
            manager_a=OK_SAVED,
            manager_b=NOT_FOUND,
            admin=OK_SAVED,
        ),
        data=_lines_with_cost,
        operation="PUT /api/v1/deals/{deal_id}/lines",
        variant="with a cost",
    ),
]
