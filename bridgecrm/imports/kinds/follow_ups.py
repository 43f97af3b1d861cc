"""Follow-ups (跟进记录) on customers the importer sees. The same customer, kind and time is a
duplicate; the customers' last and next follow-up dates are recomputed for the batch."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from bridgecrm.activities.models import FollowUp, FollowUpKind, FollowUpOutcome
from bridgecrm.activities.services import customer_follow_up_dates
from bridgecrm.core import dates
from bridgecrm.customers.models import Customer
from bridgecrm.imports.kinds import base
from bridgecrm.imports.kinds.base import BatchResult, Context, Row, RowError, Target
from bridgecrm.imports.models import ExternalRef, ImportKind, OnDuplicate

FUTURE_SLACK = dt.timedelta(minutes=5)


class FollowUpsKind(base.Kind):
    code = ImportKind.FOLLOW_UPS
    label = _("Follow-ups")
    targets = (
        Target("customer", _("Customer"), required=True),
        Target("kind", _("Kind"), required=True),
        Target("occurred_at", _("When"), required=True),
        Target("summary", _("What happened"), required=True),
        Target("outcome", _("Outcome")),
        Target("next_follow_up_on", _("Next follow-up")),
        Target("contact", _("Contact")),
        Target("owner", _("By")),
    )

    def process(self, ctx: Context, rows: Sequence[Row], ready: Any = None) -> BatchResult:
        result = BatchResult()
        customers = base.customers_by_reference(ctx, base.column_values(rows, "customer"))
        users = base.users_by_text(ctx, base.column_values(rows, "owner"))
        contacts = base.contacts_of_customers(customers.ids.values())
        refs = base.external_refs(self.code, (r.external_id for r in rows))
        now = timezone.now()
        prepared: list[tuple[Row, dict[str, Any]]] = []
        for row in rows:
            v = row.values
            try:
                customer_id = base.resolve_one(customers, row, "customer", required=True, what=_("customer"))
                assert customer_id is not None
                kind = base.choice(v, "kind", FollowUpKind)
                if not kind:
                    raise RowError(_("A value is required."), "kind")
                occurred = base.moment_value(v, "occurred_at", required=True)
                assert occurred is not None
                if occurred > now + FUTURE_SLACK:
                    raise RowError(_("A follow-up cannot be logged for the future."), "occurred_at")
                upcoming = base.date_value(v, "next_follow_up_on")
                if upcoming is not None and upcoming < occurred.astimezone(dates.company_zone()).date():
                    raise RowError(_("The next follow-up cannot be before this one."), "next_follow_up_on")
                facts: dict[str, Any] = {
                    "customer_id": customer_id,
                    "kind": kind,
                    "occurred_at": occurred,
                    "summary": base.long_text(v, "summary", 4000, required=True),
                    "outcome": base.choice(v, "outcome", FollowUpOutcome),
                    "next_follow_up_on": upcoming,
                    "contact_id": base.contact_for(contacts, row, customer_id),
                    "owner": base.owner_for(ctx, row, users),
                }
            except RowError as exc:
                result.fail(row, exc)
                continue
            prepared.append((row, facts))

        existing = set(
            FollowUp.objects.filter(
                customer_id__in={f["customer_id"] for _r, f in prepared},
                occurred_at__in={f["occurred_at"] for _r, f in prepared},
                deleted_at__isnull=True,
            ).values_list("customer_id", "kind", "occurred_at")
        )
        to_create: list[tuple[Row, dict[str, Any]]] = []
        seen: set[tuple[Any, ...]] = set()
        for row, facts in prepared:
            if row.external_id and row.external_id in refs:
                result.skipped += 1  # imported before
                continue
            key = (facts["customer_id"], facts["kind"], facts["occurred_at"])
            space_key = f"{key[0]}|{key[1]}|{key[2].isoformat()}"
            if key in existing or key in seen or space_key in ctx.seen.get("follow_up", {}):
                result.findings.append(
                    {
                        "row": row.number,
                        "column": "occurred_at",
                        "value": facts["occurred_at"].isoformat(),
                        "existing": 0,
                    }
                )
                if ctx.on_duplicate != OnDuplicate.CREATE:
                    result.skipped += 1
                    continue
            seen.add(key)
            ctx.remember("follow_up", space_key, row.number)
            to_create.append((row, facts))
        if ctx.dry_run:
            result.created = [0] * len(to_create)
            return result
        objects = [FollowUp(**{k: v for k, v in f.items()}, created_at=now, updated_at=now) for _r, f in to_create]
        FollowUp.objects.bulk_create(objects, batch_size=1000)
        ExternalRef.objects.bulk_create(
            [
                ExternalRef(kind=self.code, external_id=r.external_id, object_id=o.pk, job=ctx.job)
                for (r, _f), o in zip(to_create, objects, strict=True)
                if r.external_id
            ]
        )
        # The customers' derived dates, as logging a follow-up keeps them (activities/services.py).
        touched = {o.customer_id for o in objects}
        for customer_id in sorted(touched):
            last, upcoming = customer_follow_up_dates(customer_id)
            Customer.objects.filter(pk=customer_id).update(last_follow_up_at=last, next_follow_up_on=upcoming)
        result.created = [o.pk for o in objects]
        return result
