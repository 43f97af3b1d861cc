"""Authorization-matrix rows for quotes (see matrix_support.py).

The quotes belong to the world's customer (owned by ``owner``): whoever sees the customer sees its
quotes (SEES_CUSTOMER); changing them is for the owner, the owner's manager and admins, which here
is the same set. ``draft`` is a draft, ``sent`` has been sent (for accept and revise). A second
customer with a deal belongs to ``other_rep``: quoting against that deal is refused.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django.utils import timezone

from bridgecrm.contracts.services import quotes as services
from bridgecrm.customers import services as customer_services
from bridgecrm.pipeline.models import Deal, DealLine
from bridgecrm.web.tests.matrix_support import (
    CREATED,
    NOT_FOUND,
    OK,
    OK_SAVED,
    REDIRECT,
    SAVED,
    SEES_CUSTOMER,
    UNAUTHENTICATED,
    Case,
    Outcome,
    World,
    admin_only,
    api_user,
    customer_pk,
    signed_in,
    url,
    visible_to,
)

BAD_REQUEST = Outcome("400", 400)  # a refusal that names the field; nothing written


def _deal(world: World, customer: Any, owner: Any) -> Deal:
    # The pipeline's first stage: the stage rows delete ``world.stage``, which a deal would protect.
    stage = world.pipeline.stages.get(order=1)
    deal = Deal.objects.create(
        name="Matrix quote deal",
        customer=customer,
        pipeline=world.pipeline,
        stage=stage,
        probability=stage.probability,
        forecast_category=stage.forecast_category,
        owner=owner,
        team=owner.team,
        currency="CNY",
    )
    DealLine.objects.create(
        deal=deal, name="Matrix line", quantity=Decimal(2), unit_price=Decimal("500.00"), subtotal=Decimal("1000.00")
    )
    return deal


def build(world: World) -> None:
    owner = world.c.owner
    lines = [{"name": "Matrix 许可", "quantity": "2", "unit_price": "1000.00", "discount_percent": "5"}]
    draft = services.quote_create(actor=owner, customer=world.customer, lines=lines, tax_rate="13")
    sent = services.quote_create(actor=owner, customer=world.customer, lines=lines, tax_rate="13")
    sent = services.quote_set_status(actor=owner, quote=sent, action="send")
    others = customer_services.customer_create(actor=world.c.other_rep, name="Matrix other customer")
    world.extra["quote_draft"] = draft
    world.extra["quote_sent"] = sent
    world.extra["quote_deal"] = _deal(world, world.customer, owner)
    world.extra["quote_hidden_deal"] = _deal(world, others, world.c.other_rep)


def draft_pk(w: World) -> int:
    return int(w.extra["quote_draft"].pk)


def sent_pk(w: World) -> int:
    return int(w.extra["quote_sent"].pk)


def web_lists_quote(w: World, response: Any) -> bool:
    return draft_pk(w) in {q.pk for q in response.context["quotes"]}


def api_lists_quote(w: World, response: Any) -> bool:
    return draft_pk(w) in {item["id"] for item in response.json()["items"]}


def _valid_until() -> str:
    return (timezone.localdate() + dt.timedelta(days=20)).isoformat()


def create_data(w: World, *, deal: int | None = None) -> dict[str, Any]:
    data: dict[str, Any] = {
        "customer": w.customer.pk,
        "currency": "CNY",
        "tax_rate": "13",
        "valid_until": _valid_until(),
        "title": "Matrix quote",
        "lines-TOTAL_FORMS": "2",
        "lines-INITIAL_FORMS": "0",
        "lines-0-name": "Matrix 实施",
        "lines-0-quantity": "3",
        "lines-0-unit_price": "800.00",
        "lines-0-discount_percent": "0",
        "lines-1-product": str(w.product.pk),
        "lines-1-quantity": "1",
    }
    if deal is not None:
        data["deal"] = deal
    return data


def edit_data(w: World) -> dict[str, Any]:
    return {
        "currency": "CNY",
        "tax_rate": "6",
        "valid_until": _valid_until(),
        "title": "Matrix quote (edited)",
        "lock_version": "1",
        "lines-TOTAL_FORMS": "1",
        "lines-INITIAL_FORMS": "0",
        "lines-0-name": "Matrix 年费",
        "lines-0-quantity": "1",
        "lines-0-unit_price": "999.00",
    }


SEES = SEES_CUSTOMER

ROWS: list[Case] = [
    # -- pages ---------------------------------------------------------------------------------------
    Case(
        "contracts:quotes",
        "GET",
        url("contracts:quotes"),
        signed_in(OK),
        probe=web_lists_quote,
        probe_seen_by=SEES,
    ),
    Case(
        "contracts:quotes",
        "GET",
        url("contracts:quotes"),
        signed_in(OK),
        data=lambda w: {"status": "draft", "customer": w.customer.pk, "sort": "-total", "q": "Q"},
        variant="filtered",
        probe=web_lists_quote,
        probe_seen_by=SEES,
    ),
    Case("contracts:quotes_export", "GET", url("contracts:quotes_export"), signed_in(OK), data=lambda w: {}),
    Case(
        "contracts:quotes_export",
        "GET",
        url("contracts:quotes_export"),
        signed_in(OK),
        data=lambda w: {"format": "xlsx", "status": "sent"},
        variant="xlsx",
    ),
    Case("contracts:quote_create", "GET", url("contracts:quote_create"), signed_in(OK), variant="pick a customer"),
    Case(
        "contracts:quote_create",
        "GET",
        url("contracts:quote_create"),
        visible_to(SEES, OK),
        data=lambda w: {"customer": customer_pk(w), "deal": w.extra["quote_deal"].pk},
        variant="customer and deal",
    ),
    Case(
        "contracts:quote_create",
        "POST",
        url("contracts:quote_create"),
        # Quoting for a customer one does not see: 404, nothing written.
        visible_to(SEES, SAVED),
        data=create_data,
    ),
    Case(
        "contracts:quote_create",
        "POST",
        url("contracts:quote_create"),
        # The deal belongs to a customer the owner does not see: the form refuses it, nothing written.
        visible_to(SEES, OK),
        data=lambda w: create_data(w, deal=w.extra["quote_hidden_deal"].pk),
        variant="deal one may not see",
    ),
    Case(
        "contracts:quote_detail",
        "GET",
        url("contracts:quote_detail", quote_id=draft_pk),
        visible_to(SEES, OK),
    ),
    Case("contracts:quote_edit", "GET", url("contracts:quote_edit", quote_id=draft_pk), visible_to(SEES, OK)),
    Case(
        "contracts:quote_edit",
        "POST",
        url("contracts:quote_edit", quote_id=draft_pk),
        visible_to(SEES, SAVED),
        data=edit_data,
    ),
    Case(
        "contracts:quote_status",
        "POST",
        url("contracts:quote_status", quote_id=draft_pk),
        visible_to(SEES, SAVED),
        data=lambda w: {"action": "send", "lock_version": "1"},
    ),
    Case(
        "contracts:quote_status",
        "POST",
        url("contracts:quote_status", quote_id=sent_pk),
        visible_to(SEES, SAVED),  # accepted, and a draft contract made
        data=lambda w: {"action": "accept"},
        variant="accept",
    ),
    Case(
        "contracts:quote_status",
        "POST",
        url("contracts:quote_status", quote_id=draft_pk),
        visible_to(SEES, REDIRECT),  # a draft cannot be accepted: refused with a message, nothing written
        data=lambda w: {"action": "accept"},
        variant="illegal",
    ),
    Case(
        "contracts:quote_revise",
        "POST",
        url("contracts:quote_revise", quote_id=sent_pk),
        visible_to(SEES, SAVED),
        data=lambda w: {},
    ),
    Case("contracts:quote_print", "GET", url("contracts:quote_print", quote_id=draft_pk), visible_to(SEES, OK)),
    Case("contracts:quote_pdf", "GET", url("contracts:quote_pdf", quote_id=draft_pk), visible_to(SEES, OK)),
    Case("contracts:document_settings", "GET", url("contracts:document_settings"), admin_only(OK)),
    Case(
        "contracts:document_settings",
        "POST",
        url("contracts:document_settings"),
        admin_only(SAVED),
        data=lambda w: {
            "quote_prefix": "MXQ",
            "contract_prefix": "MXC",
            "default_tax_rate": "9",
            "quote_validity_days": "14",
        },
    ),
    # -- API -----------------------------------------------------------------------------------------
    Case(
        "api-1.0.0:quotes_list",
        "GET",
        url("api-1.0.0:quotes_list"),
        api_user(OK),
        operation="GET /api/v1/quotes",
        probe=api_lists_quote,
        probe_seen_by=SEES,
    ),
    Case(
        "api-1.0.0:quote_create",
        "POST",
        url("api-1.0.0:quote_create"),
        visible_to(SEES, CREATED, anonymous=UNAUTHENTICATED),
        data=lambda w: {
            "customer_id": w.customer.pk,
            "lines": [{"name": "Matrix API line", "quantity": "2", "unit_price": "10.00"}],
        },
        operation="POST /api/v1/quotes",
    ),
    Case(
        "api-1.0.0:quote_create",
        "POST",
        url("api-1.0.0:quote_create"),
        visible_to(SEES, BAD_REQUEST, anonymous=UNAUTHENTICATED),
        data=lambda w: {"customer_id": w.customer.pk, "deal_id": w.extra["quote_hidden_deal"].pk, "from_deal": True},
        operation="POST /api/v1/quotes",
        variant="deal one may not see",
    ),
    Case(
        "api-1.0.0:quote_detail",
        "GET",
        url("api-1.0.0:quote_detail", quote_id=draft_pk),
        visible_to(SEES, OK, anonymous=UNAUTHENTICATED),
        operation="GET /api/v1/quotes/{quote_id}",
    ),
    Case(
        "api-1.0.0:quote_update",
        "PATCH",
        url("api-1.0.0:quote_update", quote_id=draft_pk),
        visible_to(SEES, OK_SAVED, anonymous=UNAUTHENTICATED),
        data=lambda w: {"title": "Matrix API title", "lock_version": 1},
        operation="PATCH /api/v1/quotes/{quote_id}",
    ),
    Case(
        "api-1.0.0:quote_status",
        "POST",
        url("api-1.0.0:quote_status", quote_id=draft_pk),
        visible_to(SEES, OK_SAVED, anonymous=UNAUTHENTICATED),
        data=lambda w: {"action": "send"},
        operation="POST /api/v1/quotes/{quote_id}/status",
    ),
    Case(
        "api-1.0.0:quote_revise",
        "POST",
        url("api-1.0.0:quote_revise", quote_id=sent_pk),
        visible_to(SEES, CREATED, anonymous=UNAUTHENTICATED),
        data=lambda w: {},
        operation="POST /api/v1/quotes/{quote_id}/revise",
    ),
    Case(
        "api-1.0.0:quote_pdf",
        "GET",
        url("api-1.0.0:quote_pdf", quote_id=draft_pk),
        visible_to(SEES, OK, anonymous=UNAUTHENTICATED),
        operation="GET /api/v1/quotes/{quote_id}/pdf",
    ),
    Case(
        "api-1.0.0:quote_pdf",
        "GET",
        url("api-1.0.0:quote_pdf", quote_id=lambda w: draft_pk(w) + 100000),
        api_user(NOT_FOUND),
        operation="GET /api/v1/quotes/{quote_id}/pdf",
        variant="missing",
    ),
]
