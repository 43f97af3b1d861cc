"""Writes for refunds (退款) of payments received. Every change is audited.

Decisions (docs/collections.md, "Refunds"):
- **Who.** Recording a refund needs what recording a payment needs (seeing the contract); deleting one
  needs what deleting a payment needs (``policies.may_delete_payment``: the owner's manager or an
  admin), since a deleted refund raises the collection figures pay may depend on. No new capability.
- **How much.** In the payment's currency, more than zero, at most what is left of the payment after
  its earlier refunds (code ``over_refund``). Dated on or after the payment (``before_payment``) and
  not in the future (``future_date``), as payments are.
- **Plan lines.** A refund takes back what its payment paid on the plan lines, *latest due first*
  (``RefundAllocation`` rows), so those lines are owed again: aging, overdue and "outstanding" are
  true again, and a new payment fills them like any other open line. ``Contract.received_amount`` is
  net of refunds.
- **Locking.** One transaction locks the contract row (the same order as ``payment_record`` and
  ``payment_delete``), then the payment row, then the plan lines: two refunds of the same payment at
  the same moment are taken one after the other, and the second sees what the first left.
- **Deleting a refund** gives back what it took on each line. It is refused (``refund_refilled``) when
  a reopened line has been paid again since (by another payment): delete that payment or extend
  the plan first. A payment that has refunds cannot be deleted (``payment_refunded``): delete its
  refunds first.
"""

from __future__ import annotations

import datetime as dt
import decimal

from django.db import transaction
from django.db.models import F, Sum
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from bridgecrm.contracts import policies
from bridgecrm.contracts.models import Contract, Payment, PaymentPlanLine, Refund, RefundAllocation
from bridgecrm.contracts.services.contracts import (
    _clean_amount,
    forbidden,
    invalid,
    not_found,
    require_visible,
)
from bridgecrm.contracts.services.payments import fill_in_order
from bridgecrm.core import audit
from bridgecrm.core.errors import ApplicationError
from bridgecrm.users.models import User

REFUND_FIELDS = ("payment", "contract", "refunded_on", "amount", "currency", "reason")
MAX_REASON = 500


def take_back_latest_first(
    allocated: list[tuple[int, decimal.Decimal]], amount: decimal.Decimal
) -> list[tuple[int, decimal.Decimal]]:
    """Pure: ``allocated`` are (line id, what the payment still has on it) latest due first; the
    refund empties the first, then the next. Returns (line id, taken); raises if it does not fit."""
    return fill_in_order(allocated, amount)


def refunded_total(payment: Payment) -> decimal.Decimal:
    total = Refund.objects.filter(payment=payment).aggregate(s=Sum("amount"))["s"]
    return decimal.Decimal(total or 0)


def refund_record(
    *, actor: User, payment: Payment, refunded_on: dt.date, amount: decimal.Decimal | str, reason: str
) -> Refund:
    """Give back ``amount`` of ``payment`` on ``refunded_on``; the lines it paid are owed again."""
    contract = payment.contract
    require_visible(actor, contract)
    if not isinstance(refunded_on, dt.date):
        raise invalid("refunded_on", _("Enter a valid date."))
    if refunded_on > timezone.localdate():
        raise invalid("refunded_on", _("A refund cannot be dated in the future."), code="future_date")
    reason = " ".join(str(reason or "").split())
    if not reason:
        raise invalid("reason", _("Give the reason for the refund."), code="reason_required")
    if len(reason) > MAX_REASON:
        raise invalid("reason", _("A reason has at most 500 characters."))
    with transaction.atomic():
        current = Contract.objects.select_for_update().get(pk=contract.pk)
        # The payment row is locked too: every other refund of it waits here, so the total below
        # is current and cannot be overtaken.
        row = Payment.objects.select_for_update().filter(pk=payment.pk, contract=current).first()
        if row is None:
            raise not_found()
        value = _clean_amount(amount, row.currency)
        if value <= 0:
            raise invalid("amount", _("The amount must be more than zero."))
        if refunded_on < row.received_on:
            raise invalid(
                "refunded_on",
                _("A refund cannot be dated before its payment was received (%(date)s).")
                % {"date": row.received_on.isoformat()},
                code="before_payment",
            )
        left = row.amount - refunded_total(row)
        if value > left:
            raise invalid(
                "amount",
                _("The refund (%(amount)s) is more than what is left of the payment (%(left)s).")
                % {"amount": f"{row.currency} {value:,}", "left": f"{row.currency} {left:,}"},
                code="over_refund",
            )
        held = _held_per_line(row)
        lines = {
            line.pk: line
            for line in PaymentPlanLine.objects.select_for_update().filter(pk__in=list(held)).order_by("pk")
        }
        order = sorted(held, key=lambda pk: (lines[pk].due_on, pk), reverse=True)
        parts = take_back_latest_first([(pk, held[pk]) for pk in order], value)
        refund = Refund.objects.create(
            payment=row,
            contract=current,
            refunded_on=refunded_on,
            amount=value,
            currency=row.currency,
            reason=reason,
            recorded_by=actor,
        )
        RefundAllocation.objects.bulk_create(
            [RefundAllocation(refund=refund, plan_line_id=pk, amount=part) for pk, part in parts]
        )
        for pk, part in parts:
            line = lines[pk]
            line.paid_amount -= part
            line.paid_on = None
            line.save(update_fields=["paid_amount", "paid_on"])
        Contract.objects.filter(pk=current.pk).update(received_amount=F("received_amount") - value)
        audit.record_created(
            actor=actor,
            obj=refund,
            values={
                **audit.snapshot(refund, REFUND_FIELDS),
                "allocations": [{"plan_line": pk, "amount": str(part)} for pk, part in parts],
            },
        )
    contract.refresh_from_db()
    return refund


def _held_per_line(payment: Payment) -> dict[int, decimal.Decimal]:
    """What ``payment`` still has on each plan line: its allocations less its refunds' take-backs."""
    held: dict[int, decimal.Decimal] = {}
    for line_id, amount in payment.allocations.values_list("plan_line_id", "amount"):
        held[line_id] = held.get(line_id, decimal.Decimal(0)) + amount
    for line_id, amount in RefundAllocation.objects.filter(refund__payment=payment).values_list(
        "plan_line_id", "amount"
    ):
        held[line_id] = held.get(line_id, decimal.Decimal(0)) - amount
    return {pk: value for pk, value in held.items() if value > 0}


def refund_delete(*, actor: User, refund: Refund) -> None:
    """Remove a refund (a correction) and give back to each plan line what it took."""
    contract = refund.contract
    require_visible(actor, contract)
    if not policies.may_delete_payment(actor, contract):
        raise forbidden()
    with transaction.atomic():
        current = Contract.objects.select_for_update().get(pk=contract.pk)
        payment = Payment.objects.select_for_update().filter(pk=refund.payment_id, contract=current).first()
        row = Refund.objects.filter(pk=refund.pk, contract=current).first() if payment is not None else None
        if row is None:
            raise not_found()
        allocations = list(row.allocations.all())
        lines = {
            line.pk: line
            for line in PaymentPlanLine.objects.select_for_update()
            .filter(pk__in=[a.plan_line_id for a in allocations])
            .order_by("pk")
        }
        for allocation in allocations:
            line = lines[allocation.plan_line_id]
            if line.paid_amount + allocation.amount > line.amount:
                raise ApplicationError(
                    "refund_refilled",
                    _(
                        "The instalment due %(date)s that this refund reopened has been paid again since. "
                        "Delete that payment or extend the plan first."
                    )
                    % {"date": line.due_on.isoformat()},
                )
        values = {
            **audit.snapshot(row, REFUND_FIELDS),
            "allocations": [{"plan_line": a.plan_line_id, "amount": str(a.amount)} for a in allocations],
        }
        row_pk = row.pk
        row.delete()  # the allocations go with it
        row.pk = row_pk  # for the audit row
        for allocation in allocations:
            line = lines[allocation.plan_line_id]
            line.paid_amount += allocation.amount
            if line.paid_amount >= line.amount:
                line.paid_on = _paid_in_full_on(line)
            line.save(update_fields=["paid_amount", "paid_on"])
        Contract.objects.filter(pk=current.pk).update(received_amount=F("received_amount") + row.amount)
        audit.record_deleted(actor=actor, obj=row, values=values)
    contract.refresh_from_db()


def _paid_in_full_on(line: PaymentPlanLine) -> dt.date | None:
    """The day the latest payment on the line was received: when it was paid in full again."""
    return (
        Payment.objects.filter(allocations__plan_line=line)
        .order_by("-received_on")
        .values_list("received_on", flat=True)
        .first()
    )
