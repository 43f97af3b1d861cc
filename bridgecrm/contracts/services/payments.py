"""Writes for payment plans (回款计划) and payments received (回款). Every change is audited.

Decisions (see docs in the module docstrings of the models too):
- **Plan vs amount**: the plan lines of a contract add up to *at most* the contract amount (a plan
  may cover only part of it, e.g. while the last instalment is not agreed yet). A line cannot be
  removed, nor shrunk below what has already been paid on it.
- **Allocation**: a payment is allocated to the unpaid plan lines *oldest due first* (ties: the
  line made first): it fills the oldest line, then the next. All of it happens in one transaction
  that first locks the contract row (``SELECT … FOR UPDATE``) and then its open plan lines, so two
  payments recorded at the same moment are allocated one after the other and never over-allocate.
- **Over-payment** beyond what the plan still asks for is *refused* with a clear message (code
  ``overpayment``): nothing is kept unallocated. Extend the plan first (if the contract amount
  allows), then record the payment.
- A payment is in the contract's currency; draft contracts take no payments (sign and activate first).
- Deleting a payment reverses its allocations and the contract's received amount.
"""

from __future__ import annotations

import datetime as dt
import decimal
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

from django.db import connection, transaction
from django.db.models import F, Sum
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from bridgecrm.contracts import policies
from bridgecrm.contracts.models import (
    Contract,
    ContractStatus,
    Payment,
    PaymentAllocation,
    PaymentMethod,
    PaymentPlanLine,
)
from bridgecrm.contracts.services.contracts import (
    _active,
    _clean_amount,
    forbidden,
    invalid,
    not_found,
    require_visible,
)
from bridgecrm.core import audit
from bridgecrm.core.errors import ApplicationError, Conflict
from bridgecrm.core.money import quantize
from bridgecrm.users.models import User

MAX_PLAN_LINES = 120
PAYMENT_FIELDS = ("contract", "received_on", "amount", "currency", "method", "reference", "note")


class LineStatus:
    PENDING = "pending"
    PARTLY_PAID = "partly_paid"
    PAID = "paid"
    OVERDUE = "overdue"


LINE_STATUS_LABELS = {
    LineStatus.PENDING: _("Pending"),
    LineStatus.PARTLY_PAID: _("Partly paid"),
    LineStatus.PAID: _("Paid"),
    LineStatus.OVERDUE: _("Overdue"),
}


def line_status(*, amount: decimal.Decimal, paid: decimal.Decimal, due_on: dt.date, today: dt.date) -> str:
    """Paid when fully paid; overdue when the due date has passed (due today is not overdue yet) and
    something is still owed; partly paid when some of it is paid; else pending."""
    if paid >= amount:
        return LineStatus.PAID
    if due_on < today:
        return LineStatus.OVERDUE
    if paid > 0:
        return LineStatus.PARTLY_PAID
    return LineStatus.PENDING


@dataclass(frozen=True)
class PlanLineIn:
    due_on: dt.date
    amount: decimal.Decimal | str
    note: str = ""
    id: int | None = None


def _conflict() -> Conflict:
    return Conflict(
        "conflict", _("Someone else changed this contract meanwhile. Reload it and make your change again.")
    )


def _lock_contract(contract: Contract) -> Contract:
    return Contract.objects.select_for_update().get(pk=contract.pk)


def _plan_snapshot(contract: Contract) -> list[dict[str, Any]]:
    return [
        {"id": pk, "due_on": due.isoformat(), "amount": str(amount), "note": note}
        for pk, due, amount, note in contract.plan_lines.order_by("due_on", "id").values_list(
            "pk", "due_on", "amount", "note"
        )
    ]


def plan_lines_set(
    *, actor: User, contract: Contract, lines: list[PlanLineIn], lock_version: int | None
) -> list[PaymentPlanLine]:
    """Replace the plan with ``lines``: lines with an ``id`` are changed, new ones added, missing
    ones removed (only if nothing was paid on them)."""
    require_visible(actor, contract)
    if len(lines) > MAX_PLAN_LINES:
        raise invalid("lines", _("A payment plan has at most 120 lines."))
    with transaction.atomic():
        current = _lock_contract(contract)
        if lock_version is None or current.lock_version != lock_version:
            raise _conflict()
        if current.status in (ContractStatus.COMPLETED, ContractStatus.TERMINATED):
            raise ApplicationError("contract_closed", _("A completed or terminated contract cannot be changed."))
        existing = {line.pk: line for line in PaymentPlanLine.objects.select_for_update().filter(contract=current)}
        cleaned: list[tuple[PlanLineIn, decimal.Decimal, str]] = []
        seen: set[int] = set()
        for index, line in enumerate(lines, start=1):
            field = f"lines.{index}"
            if not isinstance(line.due_on, dt.date):
                raise invalid(field, _("Line %(n)s: enter a due date.") % {"n": index})
            amount = _clean_amount(line.amount, current.currency, field)
            if amount <= 0:
                raise invalid(field, _("Line %(n)s: the amount must be more than zero.") % {"n": index})
            note = " ".join(str(line.note or "").split())
            if len(note) > 200:
                raise invalid(field, _("Line %(n)s: a note has at most 200 characters.") % {"n": index})
            if line.id is not None:
                if line.id not in existing or line.id in seen:
                    raise invalid(field, _("Line %(n)s is not a line of this plan.") % {"n": index})
                seen.add(line.id)
                if amount < existing[line.id].paid_amount:
                    raise invalid(
                        field,
                        _("Line %(n)s: %(paid)s is already paid on it; it cannot ask for less.")
                        % {"n": index, "paid": f"{existing[line.id].paid_amount:,}"},
                        code="below_paid",
                    )
            cleaned.append((line, amount, note))
        total = sum((amount for _line, amount, _note in cleaned), decimal.Decimal(0))
        if total > current.amount:
            raise invalid(
                "lines",
                _("The plan (%(total)s) adds up to more than the contract amount (%(amount)s).")
                % {"total": f"{total:,}", "amount": f"{current.amount:,}"},
                code="plan_exceeds_amount",
            )
        removed = [pk for pk in existing if pk not in seen]
        # A line with allocations stays even when refunds took them back to zero: the payment and
        # refund rows still point at it.
        if (
            any(existing[pk].paid_amount > 0 for pk in removed)
            or PaymentAllocation.objects.filter(plan_line_id__in=removed).exists()
        ):
            raise invalid("lines", _("A line that has payments cannot be removed."), code="line_paid")
        before = _plan_snapshot(current)
        PaymentPlanLine.objects.filter(pk__in=removed).delete()
        result: list[PaymentPlanLine] = []
        for line, amount, note in cleaned:
            if line.id is not None:
                row = existing[line.id]
                row.due_on, row.amount, row.note = line.due_on, amount, note
                if row.paid_amount < row.amount:
                    row.paid_on = None
                elif row.paid_on is None:
                    row.paid_on = (
                        Payment.objects.filter(allocations__plan_line=row)
                        .order_by("-received_on")
                        .values_list("received_on", flat=True)
                        .first()
                    )
                row.save(update_fields=["due_on", "amount", "note", "paid_on"])
            else:
                row = PaymentPlanLine.objects.create(contract=current, due_on=line.due_on, amount=amount, note=note)
            result.append(row)
        current.updated_at = timezone.now()
        current.lock_version = F("lock_version") + 1
        current.save(update_fields=["updated_at", "lock_version"])
        after = _plan_snapshot(current)
        if before != after:
            audit.record_event(
                actor=actor, event="contract.plan_set", obj=current, field="plan", old_value=before, new_value=after
            )
    contract.refresh_from_db()
    return sorted(result, key=lambda r: (r.due_on, r.pk))


def fill_in_order(
    slots: list[tuple[int, decimal.Decimal]], amount: decimal.Decimal
) -> list[tuple[int, decimal.Decimal]]:
    """Pure: ``slots`` are (id, room) in the order to fill; ``amount`` fills the first, then the next.
    Returns (id, taken) for the slots it touches; raises ValueError if it does not fit."""
    left = amount
    result: list[tuple[int, decimal.Decimal]] = []
    for slot_id, room in slots:
        if left <= 0:
            break
        if room <= 0:
            continue
        take = min(room, left)
        result.append((slot_id, take))
        left -= take
    if left > 0:
        raise ValueError(f"{amount} does not fit in what is open")
    return result


def allocate_oldest_first(
    open_lines: list[tuple[int, decimal.Decimal]], amount: decimal.Decimal
) -> list[tuple[int, decimal.Decimal]]:
    """Pure: ``open_lines`` are (line id, still owed) in due order; the payment fills the first,
    then the next. Returns (line id, allocated) for the lines it touches; raises if it does not fit."""
    return fill_in_order(open_lines, amount)


@dataclass(frozen=True)
class PaymentIn:
    """One payment to record: what the form, the API and an import row give."""

    contract: Contract
    received_on: dt.date
    amount: decimal.Decimal | str
    method: str = PaymentMethod.BANK_TRANSFER
    reference: str = ""
    note: str = ""


def _clean_payment(item: PaymentIn) -> tuple[str, str]:
    """The checks that need no database; returns the cleaned reference and note."""
    if not isinstance(item.received_on, dt.date):
        raise invalid("received_on", _("Enter a valid date."))
    if item.received_on > timezone.localdate():
        raise invalid("received_on", _("A payment cannot be received in the future."))
    if item.method not in PaymentMethod.values:
        raise invalid("method", _("Select a valid choice."))
    reference = " ".join(str(item.reference or "").split())
    if len(reference) > 100:
        raise invalid("reference", _("A reference has at most 100 characters."))
    note = str(item.note or "").strip()
    if len(note) > 500:
        raise invalid("note", _("A note has at most 500 characters."))
    return reference, note


def _owed_check(contract: _Locked, value: decimal.Decimal, owed: decimal.Decimal) -> None:
    if value > owed:
        raise invalid(
            "amount",
            _(
                "The payment (%(amount)s) is more than the payment plan still asks for (%(owed)s). "
                "Extend the plan first."
            )
            % {"amount": f"{contract.currency} {value:,}", "owed": f"{contract.currency} {owed:,}"},
            code="overpayment",
        )


def payments_record(
    *, actor: User, payments: Sequence[PaymentIn], dry_run: bool = False
) -> list[Payment | ApplicationError]:
    """Record ``payments`` in their order, as if each were recorded alone after the one before it:
    each is allocated to what its contract's plan still asks for once the earlier ones are
    allocated. Returns, for each, the new payment or the error that refused it; nothing of a
    refused payment is written, and the others still are.

    One transaction locks the contracts (in id order, so that two batches never wait on each
    other crosswise) and their open plan lines, then writes the payments, allocations, lines,
    contracts' received totals and audit rows with a few statements for the whole batch: an import
    of payments costs a few queries per batch instead of a dozen per payment. With ``dry_run``
    it only checks, and the payments returned are not saved."""
    if not _active(actor):
        return [not_found() for _item in payments]
    wanted = {item.contract.pk for item in payments}
    results: list[Payment | ApplicationError] = []
    with transaction.atomic():
        visible = Contract.objects.visible_to(actor).filter(pk__in=wanted).values_list("pk", flat=True)
        # Locked, and read under the lock: what a payment depends on (the received totals are
        # added to in SQL). Tuples, not instances: an import locks thousands a batch.
        locked = {
            pk: _Locked(currency, status)
            for pk, currency, status in Contract.objects.select_for_update()
            .filter(pk__in=list(visible))
            .order_by("pk")
            .values_list("pk", "currency", "status")
        }
        plans: dict[int, list[_OpenLine]] = defaultdict(list)
        lines = PaymentPlanLine.objects.select_for_update().filter(
            contract_id__in=list(locked), paid_amount__lt=F("amount")
        )
        for row in lines.order_by("contract_id", "due_on", "id").values_list(
            "pk", "contract_id", "amount", "paid_amount", "paid_on"
        ):
            plans[row[1]].append(_OpenLine(*row))
        created: list[tuple[Payment, list[tuple[int, decimal.Decimal]]]] = []
        changed_lines: dict[int, _OpenLine] = {}
        received: dict[int, decimal.Decimal] = defaultdict(decimal.Decimal)
        for item in payments:
            try:
                current = locked.get(item.contract.pk)
                if current is None:
                    raise not_found()
                reference, note = _clean_payment(item)
                value = _clean_amount(item.amount, current.currency)
                if value <= 0:
                    raise invalid("amount", _("The amount must be more than zero."))
                if current.status == ContractStatus.DRAFT:
                    raise ApplicationError(
                        "contract_draft",
                        _("Activate the contract before recording payments."),
                        details={"contract": []},
                    )
                open_lines = [line for line in plans[item.contract.pk] if line.paid < line.amount]
                _owed_check(current, value, sum((line.amount - line.paid for line in open_lines), decimal.Decimal(0)))
            except ApplicationError as exc:
                # Without its traceback, whose frame holds ``results``: no cycle keeps a batch alive.
                results.append(exc.with_traceback(None))
                continue
            by_id = {line.pk: line for line in open_lines}
            parts = allocate_oldest_first([(line.pk, line.amount - line.paid) for line in open_lines], value)
            for pk, part in parts:
                line = by_id[pk]
                line.paid += part
                if line.paid >= line.amount:
                    line.paid_on = item.received_on
                changed_lines[pk] = line
            received[item.contract.pk] += value
            payment = Payment(
                contract=item.contract,
                received_on=item.received_on,
                amount=value,
                currency=current.currency,
                method=item.method,
                reference=reference,
                note=note,
                recorded_by=actor,
            )
            created.append((payment, parts))
            results.append(payment)
        if created and not dry_run:
            _write_payments(actor, created, list(changed_lines.values()), received)
    return results


class _Locked(NamedTuple):
    currency: str
    status: str


@dataclass(slots=True)
class _OpenLine:
    """A plan line that still asks for money, as a batch allocates to it (no model instance: an
    import reads tens of thousands of them)."""

    pk: int
    contract_id: int
    amount: decimal.Decimal
    paid: decimal.Decimal
    paid_on: dt.date | None


def _write_payments(
    actor: User,
    created: list[tuple[Payment, list[tuple[int, decimal.Decimal]]]],
    lines: list[_OpenLine],
    received: dict[int, decimal.Decimal],
) -> None:
    Payment.objects.bulk_create([payment for payment, _parts in created], batch_size=500)
    PaymentAllocation.objects.bulk_create(
        [
            PaymentAllocation(payment=payment, plan_line_id=pk, amount=part)
            for payment, parts in created
            for pk, part in parts
        ],
        batch_size=1000,
    )
    # One prepared statement run for every line and contract (executemany), where bulk_update's
    # CASE expressions cost Django more than the database: 8 of 15 s for 20,000 payments.
    line_meta, contract_meta = PaymentPlanLine._meta, Contract._meta
    paid, paid_on = line_meta.get_field("paid_amount"), line_meta.get_field("paid_on")
    received_field = contract_meta.get_field("received_amount")

    def qn(name: str | None) -> str:
        return connection.ops.quote_name(str(name))

    with connection.cursor() as cursor:
        cursor.executemany(
            f"UPDATE {qn(line_meta.db_table)} SET {qn(paid.column)} = %s, {qn(paid_on.column)} = %s "  # noqa: S608
            f"WHERE {qn(line_meta.pk.column)} = %s",
            [
                (
                    paid.get_db_prep_save(line.paid, connection),
                    paid_on.get_db_prep_save(line.paid_on, connection),
                    line.pk,
                )
                for line in lines
            ],
        )
        column = qn(received_field.column)
        cursor.executemany(
            f"UPDATE {qn(contract_meta.db_table)} SET {column} = {column} + %s "  # noqa: S608
            f"WHERE {qn(contract_meta.pk.column)} = %s",
            [(received_field.get_db_prep_save(value, connection), pk) for pk, value in received.items()],
        )
    audit.record_created_many(
        actor=actor,
        items=(
            (
                payment,
                {
                    **audit.snapshot(payment, PAYMENT_FIELDS),
                    "allocations": [{"plan_line": pk, "amount": str(part)} for pk, part in parts],
                },
            )
            for payment, parts in created
        ),
    )


def payment_record(
    *,
    actor: User,
    contract: Contract,
    received_on: dt.date,
    amount: decimal.Decimal | str,
    method: str = PaymentMethod.BANK_TRANSFER,
    reference: str = "",
    note: str = "",
) -> Payment:
    """One payment, allocated oldest due first (``payments_record`` of one)."""
    item = PaymentIn(contract, received_on, amount, method, reference, note)
    [result] = payments_record(actor=actor, payments=[item])
    if isinstance(result, ApplicationError):
        raise result
    contract.refresh_from_db()
    return result


def payment_delete(*, actor: User, payment: Payment) -> None:
    """Remove a payment and give back what it paid on each plan line."""
    contract = payment.contract
    require_visible(actor, contract)
    if not policies.may_delete_payment(actor, contract):
        raise forbidden()
    with transaction.atomic():
        current = _lock_contract(contract)
        row = Payment.objects.select_for_update().filter(pk=payment.pk, contract=current).first()
        if row is None:
            raise not_found()
        if row.refunds.exists():
            raise ApplicationError(
                "payment_refunded", _("This payment has refunds. Delete its refunds first, then the payment.")
            )
        allocations = list(row.allocations.all())
        lines = {
            line.pk: line
            for line in PaymentPlanLine.objects.select_for_update().filter(pk__in=[a.plan_line_id for a in allocations])
        }
        values = {
            **audit.snapshot(row, PAYMENT_FIELDS),
            "allocations": [{"plan_line": a.plan_line_id, "amount": str(a.amount)} for a in allocations],
        }
        row_pk = row.pk
        row.delete()  # the allocations go with it
        row.pk = row_pk  # for the audit row
        for allocation in allocations:
            line = lines[allocation.plan_line_id]
            line.paid_amount -= allocation.amount
            if line.paid_amount < line.amount:
                line.paid_on = None
            line.save(update_fields=["paid_amount", "paid_on"])
        Contract.objects.filter(pk=current.pk).update(received_amount=F("received_amount") - row.amount)
        audit.record_deleted(actor=actor, obj=row, values=values)
    contract.refresh_from_db()


def contract_received_check(contract: Contract) -> bool:
    """Invariant used by tests: the kept totals equal the allocations, net of refunds, on the
    contract and on each of its plan lines."""
    from bridgecrm.contracts.models import Refund, RefundAllocation

    allocated = PaymentAllocation.objects.filter(payment__contract=contract).aggregate(s=Sum("amount"))["s"] or 0
    allocated -= RefundAllocation.objects.filter(refund__contract=contract).aggregate(s=Sum("amount"))["s"] or 0
    received = Payment.objects.filter(contract=contract).aggregate(s=Sum("amount"))["s"] or 0
    received -= Refund.objects.filter(contract=contract).aggregate(s=Sum("amount"))["s"] or 0
    for line in PaymentPlanLine.objects.filter(contract=contract):
        paid = line.allocations.aggregate(s=Sum("amount"))["s"] or 0
        paid -= line.refund_allocations.aggregate(s=Sum("amount"))["s"] or 0
        if paid != line.paid_amount:
            return False
    return bool(
        quantize(decimal.Decimal(allocated), contract.currency)
        == quantize(decimal.Decimal(received), contract.currency)
        == contract.received_amount
    )
