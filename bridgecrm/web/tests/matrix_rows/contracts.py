"""Authorization-matrix rows for contracts, attachments, payment plans, payments, aging and
collections (see matrix_support.py). The contract belongs to the world's customer, so it is seen
by those who see the customer (SEES_CUSTOMER); everyone else gets 404 and nothing is written,
including when they try to record a payment on it or to make a contract for that customer."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django.core.files.uploadedfile import SimpleUploadedFile

from bridgecrm.contracts.models import Contract
from bridgecrm.contracts.services import contracts as contract_services
from bridgecrm.contracts.services import payments as payment_services
from bridgecrm.contracts.services import refunds as refund_services
from bridgecrm.web.tests.matrix_support import (
    CREATED,
    DELETED,
    FORBIDDEN,
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

PDF = b"%PDF-1.7\n%%EOF\n"
INVALID = Outcome("400", 400)  # a form refused: shown again with its error, nothing written


def build(world: World) -> None:
    owner = world.c.owner
    contract = contract_services.contract_create(
        actor=owner,
        customer=world.customer,
        title="Matrix contract",
        amount=Decimal("10000.00"),
        currency="CNY",
        signed_on=dt.date(2026, 1, 5),
        owner=owner,
    )
    payment_services.plan_lines_set(
        actor=owner,
        contract=contract,
        lines=[
            payment_services.PlanLineIn(due_on=dt.date(2026, 1, 31), amount="4000.00"),
            payment_services.PlanLineIn(due_on=dt.date(2026, 12, 31), amount="4000.00"),
        ],
        lock_version=contract.lock_version,
    )
    contract = contract_services.contract_set_status(actor=owner, contract=contract, status="active")
    payment = payment_services.payment_record(
        actor=owner, contract=contract, received_on=dt.date(2026, 1, 20), amount="1000.00", reference="MX-1"
    )
    # A second payment, part refunded: the refund rows act on it (the first payment stays deletable).
    refunded = payment_services.payment_record(
        actor=owner, contract=contract, received_on=dt.date(2026, 1, 25), amount="500.00", reference="MX-R"
    )
    refund = refund_services.refund_record(
        actor=owner, payment=refunded, refunded_on=dt.date(2026, 2, 3), amount="100.00", reason="Matrix refund"
    )
    attachment = contract_services.attachment_add(
        actor=owner, contract=contract, upload=SimpleUploadedFile("合同.pdf", PDF)
    )
    world.extra["contract"] = Contract.objects.get(pk=contract.pk)
    world.extra["payment"] = payment
    world.extra["refunded_payment"] = refunded
    world.extra["refund"] = refund
    world.extra["attachment"] = attachment


def contract_pk(w: World) -> int:
    return int(w.extra["contract"].pk)


def payment_pk(w: World) -> int:
    return int(w.extra["payment"].pk)


def refunded_payment_pk(w: World) -> int:
    return int(w.extra["refunded_payment"].pk)


def refund_pk(w: World) -> int:
    return int(w.extra["refund"].pk)


def api_lists_refund(w: World, response: Any) -> bool:
    return refund_pk(w) in {item["id"] for item in response.json()["items"]}


def attachment_pk(w: World) -> int:
    return int(w.extra["attachment"].pk)


def lock_version(w: World) -> int:
    return int(Contract.objects.get(pk=contract_pk(w)).lock_version)


def web_lists_contract(w: World, response: Any) -> bool:
    return contract_pk(w) in {c.pk for c in response.context["contracts"]}


def web_lists_payment(w: World, response: Any) -> bool:
    return payment_pk(w) in {p.pk for p in response.context["payments"]}


def api_lists_contract(w: World, response: Any) -> bool:
    return contract_pk(w) in {item["id"] for item in response.json()["items"]}


def web_aging_has_customer(w: World, response: Any) -> bool:
    return w.customer.pk in {r.key for r in response.context["report"].rows}


def contract_form(w: World) -> dict[str, Any]:
    return {
        "title": "Matrix contract (edited)",
        "customer": w.customer.pk,
        "amount": "12000.00",
        "currency": "CNY",
        "signed_on": "2026-01-05",
        "owner": w.c.owner.pk,
        "lock_version": lock_version(w),
    }


def plan_form(w: World) -> dict[str, Any]:
    lines = list(w.extra["contract"].plan_lines.order_by("due_on").values_list("pk", flat=True))
    return {
        "lock_version": lock_version(w),
        "line_id": [str(lines[0]), str(lines[1]), ""],
        "due_on": ["2026-01-31", "2026-12-31", "2027-03-31"],
        "amount": ["4000.00", "4000.00", "2000.00"],
        "note": ["", "", "final"],
    }


C = "contracts:"
SEEN_OK = visible_to(SEES_CUSTOMER, OK)
SEEN_SAVED = visible_to(SEES_CUSTOMER, SAVED)
API_SEEN = visible_to(SEES_CUSTOMER, OK, anonymous=UNAUTHENTICATED)
API_SEEN_SAVED = visible_to(SEES_CUSTOMER, OK_SAVED, anonymous=UNAUTHENTICATED)
ONE = url(C + "contract_detail", contract_id=contract_pk)
A = "api-1.0.0:"

ROWS: list[Case] = [
    Case(
        C + "contracts",
        "GET",
        url(C + "contracts"),
        signed_in(OK),
        probe=web_lists_contract,
        probe_seen_by=SEES_CUSTOMER,
    ),
    Case(
        C + "contracts",
        "GET",
        url(C + "contracts"),
        signed_in(OK),
        data=lambda w: {"q": "Matrix", "status": "active"},
        variant="filtered",
        probe=web_lists_contract,
        probe_seen_by=SEES_CUSTOMER,
    ),
    Case(C + "contracts_export", "GET", url(C + "contracts_export"), signed_in(OK)),
    Case(
        C + "contracts_export",
        "GET",
        url(C + "contracts_export"),
        signed_in(OK),
        data=lambda w: {"format": "xlsx"},
        variant="xlsx",
    ),
    Case(
        C + "contract_create",
        "GET",
        url(C + "contract_create"),
        signed_in(OK),
        data=lambda w: {"customer": w.customer.pk},
    ),
    Case(
        C + "contract_create",
        "POST",
        url(C + "contract_create"),
        # A contract for a customer one does not see: the form refuses the customer, nothing written.
        visible_to(SEES_CUSTOMER, SAVED, others=INVALID),
        data=lambda w: {
            "title": "Matrix new",
            "customer": w.customer.pk,
            "amount": "500.00",
            "currency": "CNY",
            "owner": w.c.owner.pk,
        },
    ),
    Case(C + "contract_detail", "GET", ONE, SEEN_OK),
    Case(C + "contract_edit", "GET", url(C + "contract_edit", contract_id=contract_pk), SEEN_OK),
    Case(
        C + "contract_edit", "POST", url(C + "contract_edit", contract_id=contract_pk), SEEN_SAVED, data=contract_form
    ),
    Case(
        C + "contract_status",
        "POST",
        url(C + "contract_status", contract_id=contract_pk),
        SEEN_SAVED,
        data=lambda w: {"status": "terminated", "lock_version": lock_version(w)},
    ),
    Case(
        C + "attachment_upload",
        "POST",
        url(C + "attachment_upload", contract_id=contract_pk),
        SEEN_SAVED,
        data=lambda w: {"file": SimpleUploadedFile("scan.pdf", PDF, "application/pdf")},
    ),
    Case(
        C + "attachment_download",
        "GET",
        url(C + "attachment_download", contract_id=contract_pk, attachment_id=attachment_pk),
        SEEN_OK,
    ),
    Case(
        C + "attachment_delete",
        "POST",
        url(C + "attachment_delete", contract_id=contract_pk, attachment_id=attachment_pk),
        SEEN_SAVED,
    ),
    Case(C + "plan_save", "POST", url(C + "plan_save", contract_id=contract_pk), SEEN_SAVED, data=plan_form),
    Case(
        C + "payment_record",
        "POST",
        url(C + "payment_record", contract_id=contract_pk),
        # Recording a payment on a contract one may not see: 404, nothing written.
        SEEN_SAVED,
        data=lambda w: {"received_on": "2026-02-01", "amount": "500.00", "method": "bank", "reference": "MX-2"},
    ),
    Case(
        C + "payment_delete",
        "POST",
        url(C + "payment_delete", contract_id=contract_pk, payment_id=payment_pk),
        # The owner's manager or an admin corrects money received; the owner sees it but may not.
        {**SEEN_SAVED, "owner": FORBIDDEN},
    ),
    Case(
        C + "refund_record",
        "GET",
        url(C + "refund_record", contract_id=contract_pk, payment_id=refunded_payment_pk),
        # The refund form's row (htmx), for those who see the contract.
        SEEN_OK,
    ),
    Case(
        C + "refund_record",
        "POST",
        url(C + "refund_record", contract_id=contract_pk, payment_id=refunded_payment_pk),
        # Recording a refund needs what recording a payment needs: seeing the contract.
        SEEN_SAVED,
        data=lambda w: {"refunded_on": "2026-02-10", "amount": "50.00", "reason": "Matrix: one unit returned"},
    ),
    Case(
        C + "refund_record",
        "POST",
        url(C + "refund_record", contract_id=contract_pk, payment_id=refunded_payment_pk),
        # An over-refund is refused with the form's error (400) and writes nothing; unseen: 404.
        visible_to(SEES_CUSTOMER, INVALID),
        data=lambda w: {"refunded_on": "2026-02-10", "amount": "400.01", "reason": "Too much"},
        variant="over-refund",
    ),
    Case(
        C + "refund_delete",
        "POST",
        url(C + "refund_delete", contract_id=contract_pk, refund_id=refund_pk),
        # As deleting a payment: the owner's manager or an admin; the owner sees it but may not.
        {**SEEN_SAVED, "owner": FORBIDDEN},
    ),
    Case(
        C + "payments", "GET", url(C + "payments"), signed_in(OK), probe=web_lists_payment, probe_seen_by=SEES_CUSTOMER
    ),
    Case(C + "payments_export", "GET", url(C + "payments_export"), signed_in(OK)),
    Case(
        C + "aging", "GET", url(C + "aging"), signed_in(OK), probe=web_aging_has_customer, probe_seen_by=SEES_CUSTOMER
    ),
    Case(C + "aging", "GET", url(C + "aging"), signed_in(OK), data=lambda w: {"group_by": "team"}, variant="team"),
    Case(C + "aging_export", "GET", url(C + "aging_export"), signed_in(OK)),
    Case(
        C + "collections",
        "GET",
        url(C + "collections"),
        signed_in(OK),
        data=lambda w: {"date_from": "2026-01-01", "date_to": "2026-12-31", "group_by": "team"},
    ),
    # -- the API ---------------------------------------------------------------------------------------
    Case(
        A + "contracts_list",
        "GET",
        url(A + "contracts_list"),
        api_user(OK),
        operation="GET /api/v1/contracts",
        probe=api_lists_contract,
        probe_seen_by=SEES_CUSTOMER,
    ),
    Case(
        A + "contract_create",
        "POST",
        url(A + "contract_create"),
        visible_to(SEES_CUSTOMER, CREATED, anonymous=UNAUTHENTICATED),  # an unseen customer: 404
        data=lambda w: {"title": "Matrix API contract", "customer_id": w.customer.pk, "amount": "900.00"},
        operation="POST /api/v1/contracts",
    ),
    Case(
        A + "contract_detail",
        "GET",
        url(A + "contract_detail", contract_id=contract_pk),
        API_SEEN,
        operation="GET /api/v1/contracts/{contract_id}",
    ),
    Case(
        A + "contract_update",
        "PATCH",
        url(A + "contract_update", contract_id=contract_pk),
        API_SEEN_SAVED,
        data=lambda w: {"title": "Matrix API edit", "lock_version": lock_version(w)},
        operation="PATCH /api/v1/contracts/{contract_id}",
    ),
    Case(
        A + "contract_status",
        "POST",
        url(A + "contract_status", contract_id=contract_pk),
        API_SEEN_SAVED,
        data=lambda w: {"status": "completed"},
        operation="POST /api/v1/contracts/{contract_id}/status",
    ),
    Case(
        A + "plan_get",
        "GET",
        url(A + "plan_get", contract_id=contract_pk),
        API_SEEN,
        operation="GET /api/v1/contracts/{contract_id}/plan",
    ),
    Case(
        A + "plan_set",
        "PUT",
        url(A + "plan_set", contract_id=contract_pk),
        API_SEEN_SAVED,
        data=lambda w: {
            "lock_version": lock_version(w),
            "lines": [
                {"id": plan_form(w)["line_id"][0], "due_on": "2026-01-31", "amount": "4000.00"},
                {"due_on": "2026-06-30", "amount": "6000.00"},
            ],
        },
        operation="PUT /api/v1/contracts/{contract_id}/plan",
    ),
    Case(
        A + "payments_list",
        "GET",
        url(A + "payments_list", contract_id=contract_pk),
        API_SEEN,
        operation="GET /api/v1/contracts/{contract_id}/payments",
    ),
    Case(
        A + "payment_record",
        "POST",
        url(A + "payment_record", contract_id=contract_pk),
        visible_to(SEES_CUSTOMER, CREATED, anonymous=UNAUTHENTICATED),  # an unseen contract: 404, nothing written
        data=lambda w: {"received_on": "2026-02-01", "amount": "250.00", "method": "wechat"},
        operation="POST /api/v1/contracts/{contract_id}/payments",
    ),
    Case(
        A + "payment_delete",
        "DELETE",
        url(A + "payment_delete", payment_id=payment_pk),
        {**visible_to(SEES_CUSTOMER, DELETED, anonymous=UNAUTHENTICATED), "owner": FORBIDDEN},
        operation="DELETE /api/v1/payments/{payment_id}",
    ),
    Case(
        A + "refunds_list",
        "GET",
        url(A + "refunds_list", contract_id=contract_pk),
        API_SEEN,
        probe=api_lists_refund,
        probe_seen_by=SEES_CUSTOMER,
        operation="GET /api/v1/contracts/{contract_id}/refunds",
    ),
    Case(
        A + "refund_record",
        "POST",
        url(A + "refund_record", payment_id=refunded_payment_pk),
        visible_to(SEES_CUSTOMER, CREATED, anonymous=UNAUTHENTICATED),  # an unseen payment: 404, nothing written
        data=lambda w: {"refunded_on": "2026-02-10", "amount": "50.00", "reason": "API refund"},
        operation="POST /api/v1/payments/{payment_id}/refunds",
    ),
    Case(
        A + "refund_get",
        "GET",
        url(A + "refund_get", refund_id=refund_pk),
        API_SEEN,
        operation="GET /api/v1/refunds/{refund_id}",
    ),
    Case(
        A + "refund_delete",
        "DELETE",
        url(A + "refund_delete", refund_id=refund_pk),
        {**visible_to(SEES_CUSTOMER, DELETED, anonymous=UNAUTHENTICATED), "owner": FORBIDDEN},
        operation="DELETE /api/v1/refunds/{refund_id}",
    ),
    Case(
        A + "aging",
        "GET",
        url(A + "aging"),
        api_user(OK),
        data=lambda w: {"group_by": "owner"},
        operation="GET /api/v1/collections/aging",
    ),
]

__all__ = ["NOT_FOUND", "ROWS", "build"]
