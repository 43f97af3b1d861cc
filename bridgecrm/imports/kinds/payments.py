"""Payments received (回款) against contracts named by their number.

A batch's payments go through ``contracts.services.payments.payments_record``, the service that
records one payment from the form or the API: it allocates each to its contract's payment plan
oldest due first, in the file's order, keeps the contract's received total and audits each
payment, rules an import must not bypass. It does so for the whole batch under one lock with a
few statements, and the check (dry run) runs the same allocation without writing, so it reports
over-payments too. The same contract, day, amount and reference is a duplicate.
"""

from __future__ import annotations

import decimal
from collections.abc import Sequence
from typing import Any

from django.utils.translation import gettext_lazy as _

from bridgecrm.contracts.models import Contract, Payment, PaymentMethod
from bridgecrm.contracts.services.payments import PaymentIn, payments_record
from bridgecrm.core.errors import ApplicationError
from bridgecrm.imports.kinds import base
from bridgecrm.imports.kinds.base import BatchResult, Context, Row, RowError, Target
from bridgecrm.imports.models import ExternalRef, ImportKind, OnDuplicate

MAX_PAYMENT = decimal.Decimal("99999999999999.99")


class PaymentsKind(base.Kind):
    code = ImportKind.PAYMENTS
    label = _("Payments")
    targets = (
        Target("contract", _("Contract number"), required=True),
        Target("received_on", _("Received on"), required=True),
        Target("amount", _("Amount"), required=True),
        Target("method", _("Method")),
        Target("reference", _("Reference")),
        Target("note", _("Note")),
    )

    def process(self, ctx: Context, rows: Sequence[Row], ready: Any = None) -> BatchResult:
        result = BatchResult()
        numbers = base.column_values(rows, "contract")
        contracts = {c.number: c for c in Contract.objects.visible_to(ctx.actor).filter(number__in=numbers)}
        refs = base.external_refs(self.code, (r.external_id for r in rows))
        prepared: list[tuple[Row, Contract, dict[str, Any]]] = []
        for row in rows:
            v = row.values
            try:
                contract = contracts.get(v.get("contract", ""))
                if contract is None:
                    raise RowError(
                        _("No contract “%(value)s” that you can see.") % {"value": v.get("contract", "")[:80]},
                        "contract",
                    )
                # A draft contract and a date in the future are refused by payments_record, with the
                # same messages: the payment's rules live there alone.
                received = base.date_value(v, "received_on", required=True)
                facts: dict[str, Any] = {
                    "received_on": received,
                    "amount": base.amount(v, "amount", maximum=MAX_PAYMENT, positive=True, required=True),
                    "method": base.choice(v, "method", PaymentMethod, PaymentMethod.BANK_TRANSFER),
                    "reference": base.text(v, "reference", 100),
                    "note": base.long_text(v, "note", 500),
                }
            except RowError as exc:
                result.fail(row, exc)
                continue
            prepared.append((row, contract, facts))
        existing = set(
            Payment.objects.filter(contract__in={c.pk for _r, c, _f in prepared}).values_list(
                "contract_id", "received_on", "amount", "reference"
            )
        )
        to_record: list[tuple[Row, PaymentIn]] = []
        for row, contract, facts in prepared:
            if row.external_id and row.external_id in refs:
                result.skipped += 1
                continue
            key = (contract.pk, facts["received_on"], facts["amount"], facts["reference"])
            space_key = "|".join(str(k) for k in key)
            if key in existing or space_key in ctx.seen.get("payment", {}):
                result.findings.append(
                    {"row": row.number, "column": "amount", "value": str(facts["amount"]), "existing": 0}
                )
                if ctx.on_duplicate != OnDuplicate.CREATE:
                    result.skipped += 1
                    continue
            existing.add(key)
            ctx.remember("payment", space_key, row.number)
            to_record.append((row, PaymentIn(contract=contract, **facts)))
        outcomes = payments_record(actor=ctx.actor, payments=[item for _row, item in to_record], dry_run=ctx.dry_run)
        refs_made: list[ExternalRef] = []
        for (row, _item), outcome in zip(to_record, outcomes, strict=True):
            if isinstance(outcome, ApplicationError):
                result.fail(row, outcome)
                continue
            result.created.append(outcome.pk or 0)
            if row.external_id and not ctx.dry_run:
                refs_made.append(
                    ExternalRef(kind=self.code, external_id=row.external_id, object_id=outcome.pk, job=ctx.job)
                )
        ExternalRef.objects.bulk_create(refs_made, batch_size=1000)
        result.errors.sort(key=lambda error: error[0].number)  # the service's refusals come after the lookups
        return result
