"""Authorization-matrix rows for deals (商机) and the board: pages, exports and the API.

The world's deal belongs to the owner (team A), on the world's customer, with no collaborators: the
owner, the manager of team A and the admin see it. A second customer (and its contact) belongs to
the rep of team B: attaching the deal to it is refused (404 or 400) to everyone who does not see
both, and nothing is written.
"""

from __future__ import annotations

from typing import Any

from bridgecrm.customers import services as customer_services
from bridgecrm.pipeline import deals
from bridgecrm.web.tests.matrix_support import (
    CREATED,
    DELETED,
    NOT_FOUND,
    OK,
    OK_SAVED,
    SAVED,
    SEES_CUSTOMER,
    UNAUTHENTICATED,
    Case,
    Outcome,
    World,
    api_user,
    signed_in,
    url,
    visible_to,
)

SEES_DEAL = SEES_CUSTOMER
BAD_REQUEST = Outcome("400", 400)  # refused as invalid: nothing written


def build(world: World) -> None:
    c = world.c
    first = world.pipeline.stages.get(order=1)
    world.extra["deal"] = deals.deal_create(
        actor=c.owner, customer=world.customer, name="Matrix deal 矩阵商机", stage=first, amount="1000"
    )
    foreign = customer_services.customer_create(actor=c.other_rep, name="Matrix foreign customer")
    world.extra["foreign_customer"] = foreign
    world.extra["foreign_contact"] = customer_services.contact_create(
        actor=c.other_rep, customer=foreign, name="Matrix foreign contact"
    )


def deal_pk(w: World) -> int:
    return int(w.extra["deal"].pk)


def first_stage_pk(w: World) -> int:
    return int(w.pipeline.stages.get(order=1).pk)


def _lists_deal(w: World, response: Any) -> bool:
    assert response.context is not None
    return w.extra["deal"].pk in {d.pk for d in response.context["deals"]}


def _column_shows_deal(w: World, response: Any) -> bool:
    assert response.context is not None
    return w.extra["deal"].pk in {d.pk for d in response.context["page"].cards}


def _api_lists_deal(w: World, response: Any) -> bool:
    return w.extra["deal"].pk in {item["id"] for item in response.json()["items"]}


def _edit_data(w: World) -> dict[str, Any]:
    return {
        "name": "Matrix deal (renamed)",
        "customer": w.customer.pk,
        "amount": "2000",
        "currency": "CNY",
        "probability": "10",
        "forecast_category": "pipeline",
        "owner": w.c.owner.pk,
        "version": "1",
    }


def _api(seers: frozenset[str], outcome: Outcome, *, others: Outcome = NOT_FOUND) -> dict[str, Outcome]:
    return visible_to(seers, outcome, anonymous=UNAUTHENTICATED, others=others)


ROWS: list[Case] = [
    # -- pages -------------------------------------------------------------------------------------
    Case("pipeline:deals", "GET", url("pipeline:deals"), signed_in(OK), probe=_lists_deal, probe_seen_by=SEES_DEAL),
    Case(
        "pipeline:deals",
        "GET",
        url("pipeline:deals"),
        signed_in(OK),
        data=lambda w: {"q": "矩阵", "status": "open", "sort": "-amount", "per_page": "10"},
        variant="filtered",
        probe=_lists_deal,
        probe_seen_by=SEES_DEAL,
    ),
    Case("pipeline:deals_export", "GET", url("pipeline:deals_export"), signed_in(OK), data=lambda w: {"format": "csv"}),
    Case(
        "pipeline:deals_export",
        "GET",
        url("pipeline:deals_export"),
        signed_in(OK),
        data=lambda w: {"format": "xlsx", "q": "Matrix"},
        variant="xlsx",
    ),
    Case("pipeline:deal_create", "GET", url("pipeline:deal_create"), signed_in(OK)),
    Case(
        "pipeline:deal_create",
        "GET",
        url("pipeline:deal_create"),
        visible_to(SEES_CUSTOMER, OK),
        data=lambda w: {"customer": w.customer.pk},
        variant="for a customer",
    ),
    Case(
        "pipeline:deal_create",
        "POST",
        url("pipeline:deal_create"),
        # Attaching a deal to a customer one does not see: 404, nothing written.
        visible_to(SEES_CUSTOMER, SAVED),
        data=lambda w: {
            "name": "Matrix new deal",
            "customer": w.customer.pk,
            "stage": first_stage_pk(w),
            "amount": "5000",
            "currency": "CNY",
        },
    ),
    Case("pipeline:deal_detail", "GET", url("pipeline:deal_detail", deal_id=deal_pk), visible_to(SEES_DEAL, OK)),
    Case("pipeline:deal_edit", "GET", url("pipeline:deal_edit", deal_id=deal_pk), visible_to(SEES_DEAL, OK)),
    Case(
        "pipeline:deal_edit",
        "POST",
        url("pipeline:deal_edit", deal_id=deal_pk),
        visible_to(SEES_DEAL, SAVED),
        data=_edit_data,
    ),
    Case(
        "pipeline:deal_edit",
        "POST",
        url("pipeline:deal_edit", deal_id=deal_pk),
        # Moving the deal to a customer one does not see: 404 (only the admin sees both).
        visible_to(frozenset({"admin"}), SAVED),
        data=lambda w: _edit_data(w) | {"customer": w.extra["foreign_customer"].pk},
        variant="to an unseen customer",
    ),
    Case(
        "pipeline:deal_move",
        "POST",
        url("pipeline:deal_move", deal_id=deal_pk),
        visible_to(SEES_DEAL, SAVED),
        data=lambda w: {"stage": w.stage.pk, "version": 1},
    ),
    Case(
        "pipeline:deal_move",
        "POST",
        url("pipeline:deal_move", deal_id=deal_pk),
        # The contact of a customer other than the deal's (and unseen): 400, nothing written.
        visible_to(SEES_DEAL, BAD_REQUEST),
        data=lambda w: {"stage": w.stage.pk, "version": 1, "contact": w.extra["foreign_contact"].pk},
        variant="with an unseen contact",
    ),
    Case(
        "pipeline:deal_close",
        "POST",
        url("pipeline:deal_close", deal_id=deal_pk),
        visible_to(SEES_DEAL, SAVED),
        data=lambda w: {"outcome": "won", "version": 1},
    ),
    Case(
        "pipeline:deal_close",
        "POST",
        url("pipeline:deal_close", deal_id=deal_pk),
        visible_to(SEES_DEAL, SAVED),
        data=lambda w: {"outcome": "lost", "version": 1, "lost_reason": w.lost_reason.pk, "note": "矩阵"},
        variant="lost",
    ),
    Case(
        "pipeline:deal_lines",
        "POST",
        url("pipeline:deal_lines", deal_id=deal_pk),
        visible_to(SEES_DEAL, SAVED),
        data=lambda w: (
            {"version": 1, "line-0-name": "Matrix licence", "line-0-quantity": "2"}
            | {"line-0-unit_price": "1000", "line-0-discount_percent": "5"}
        ),
    ),
    Case(
        "pipeline:deal_delete",
        "POST",
        url("pipeline:deal_delete", deal_id=deal_pk),
        visible_to(SEES_DEAL, SAVED),
    ),
    Case("pipeline:board", "GET", url("pipeline:board"), signed_in(OK)),
    Case(
        "pipeline:board",
        "GET",
        url("pipeline:board"),
        signed_in(OK),
        data=lambda w: {"pipeline": w.pipeline.pk, "owner": w.c.owner.pk, "close_month": "2026-01"},
        variant="filtered",
    ),
    Case(
        "pipeline:board_column",
        "GET",
        url("pipeline:board_column", pipeline_id=lambda w: w.pipeline.pk, stage_id=first_stage_pk),
        signed_in(OK),
        probe=_column_shows_deal,
        probe_seen_by=SEES_DEAL,
    ),
    # -- API ---------------------------------------------------------------------------------------
    Case(
        "api-1.0.0:deals_list",
        "GET",
        url("api-1.0.0:deals_list"),
        api_user(OK),
        operation="GET /api/v1/deals",
        probe=_api_lists_deal,
        probe_seen_by=SEES_DEAL,
    ),
    Case(
        "api-1.0.0:deal_create",
        "POST",
        url("api-1.0.0:deal_create"),
        # Attaching a deal to a customer one does not see: 404, nothing written.
        _api(SEES_CUSTOMER, CREATED),
        data=lambda w: {"name": "Matrix API deal", "customer_id": w.customer.pk, "amount": "10"},
        operation="POST /api/v1/deals",
    ),
    Case(
        "api-1.0.0:deal_detail",
        "GET",
        url("api-1.0.0:deal_detail", deal_id=deal_pk),
        _api(SEES_DEAL, OK),
        operation="GET /api/v1/deals/{deal_id}",
    ),
    Case(
        "api-1.0.0:deal_update",
        "PATCH",
        url("api-1.0.0:deal_update", deal_id=deal_pk),
        _api(SEES_DEAL, OK_SAVED),
        data=lambda w: {"amount": "3000", "next_step": "演示", "version": 1},
        operation="PATCH /api/v1/deals/{deal_id}",
    ),
    Case(
        "api-1.0.0:deal_update",
        "PATCH",
        url("api-1.0.0:deal_update", deal_id=deal_pk),
        _api(frozenset({"admin"}), OK_SAVED),
        data=lambda w: {"customer_id": w.extra["foreign_customer"].pk, "version": 1},
        operation="PATCH /api/v1/deals/{deal_id}",
        variant="to an unseen customer",
    ),
    Case(
        "api-1.0.0:deal_delete",
        "DELETE",
        url("api-1.0.0:deal_delete", deal_id=deal_pk),
        _api(SEES_DEAL, DELETED),
        operation="DELETE /api/v1/deals/{deal_id}",
    ),
    Case(
        "api-1.0.0:deal_move",
        "POST",
        url("api-1.0.0:deal_move", deal_id=deal_pk),
        _api(SEES_DEAL, OK_SAVED),
        data=lambda w: {"stage_id": w.stage.pk, "version": 1},
        operation="POST /api/v1/deals/{deal_id}/move",
    ),
    Case(
        "api-1.0.0:deal_move",
        "POST",
        url("api-1.0.0:deal_move", deal_id=deal_pk),
        _api(SEES_DEAL, BAD_REQUEST),
        data=lambda w: {"stage_id": w.stage.pk, "version": 1, "contact_id": w.extra["foreign_contact"].pk},
        operation="POST /api/v1/deals/{deal_id}/move",
        variant="with an unseen contact",
    ),
    Case(
        "api-1.0.0:deal_close",
        "POST",
        url("api-1.0.0:deal_close", deal_id=deal_pk),
        _api(SEES_DEAL, OK_SAVED),
        data=lambda w: {"outcome": "lost", "version": 1, "lost_reason_id": w.lost_reason.pk},
        operation="POST /api/v1/deals/{deal_id}/close",
    ),
    Case(
        "api-1.0.0:deal_stage_history",
        "GET",
        url("api-1.0.0:deal_stage_history", deal_id=deal_pk),
        _api(SEES_DEAL, OK),
        operation="GET /api/v1/deals/{deal_id}/stage-history",
    ),
    Case(
        "api-1.0.0:deal_lines",
        "PUT",
        url("api-1.0.0:deal_lines", deal_id=deal_pk),
        _api(SEES_DEAL, OK_SAVED),
        data=lambda w: {"version": 1, "lines": [{"name": "Matrix", "quantity": "3", "unit_price": "99.99"}]},
        operation="PUT /api/v1/deals/{deal_id}/lines",
    ),
    Case(
        "api-1.0.0:competitors_list",
        "GET",
        url("api-1.0.0:competitors_list"),
        api_user(OK),
        operation="GET /api/v1/competitors",
    ),
]
