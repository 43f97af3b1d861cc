"""Follow-ups (跟进记录) on customers the importer sees. The same customer, kind and time is a
duplicate; the customers' last and next follow-up dates are recomputed for the batch."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.db import connection
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from bridgecrm.activities.models import FollowUp, FollowUpKind, FollowUpOutcome
from bridgecrm.activities.services import customers_refresh_follow_up_dates
from bridgecrm.core import dates
from bridgecrm.imports import fastsql
from bridgecrm.imports.kinds import base
from bridgecrm.imports.kinds.base import BatchResult, Context, Row, RowError, Target
from bridgecrm.imports.models import ExternalRef, ImportKind, OnDuplicate

FUTURE_SLACK = dt.timedelta(minutes=5)
COLUMNS = ("customer_id", "kind", "occurred_at", "summary", "outcome", "next_follow_up_on", "contact_id", "owner_id")


@dataclass(slots=True)
class Prepared:
    """A row's cells checked without the database. The checks run in the order of the rules, and
    the one that needs the clock (not in the future) comes between them: ``later`` is the first
    error of the checks after it, which ``process`` reports only when the row passes that one."""

    row: Row
    kind: str
    occurred: dt.datetime
    later: RowError | None
    upcoming: dt.date | None
    summary: str
    outcome: str

    def __reduce__(self) -> tuple[Any, ...]:
        """Pickled as a plain tuple (imports/ahead.py sends prepared batches through a pipe)."""
        return (Prepared, (self.row, self.kind, self.occurred, self.later, self.upcoming, self.summary, self.outcome))


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

    prepares = True

    def prepare(self, rows: Sequence[Row]) -> list[Prepared | RowError]:
        """Each row's kind, time, next date, summary and outcome, or its error: pure, so a big
        file's batches are prepared ahead in a second process (imports/ahead.py)."""
        zone = dates.company_zone()
        out: list[Prepared | RowError] = []
        for row in rows:
            v = row.values
            try:
                kind = base.choice(v, "kind", FollowUpKind)
                if not kind:
                    raise RowError(_("A value is required."), "kind")
                occurred = base.moment_value(v, "occurred_at", required=True)
                assert occurred is not None
            except RowError as exc:
                out.append(base.detached(exc))
                continue
            item = Prepared(row, kind, occurred, None, None, "", "")
            try:
                item.upcoming = upcoming = base.date_value(v, "next_follow_up_on")
                if upcoming is not None and upcoming < occurred.astimezone(zone).date():
                    raise RowError(_("The next follow-up cannot be before this one."), "next_follow_up_on")
                item.summary = base.long_text(v, "summary", 4000, required=True)
                item.outcome = base.choice(v, "outcome", FollowUpOutcome)
            except RowError as exc:
                item.later = base.detached(exc)
            out.append(item)
        return out

    def process(self, ctx: Context, rows: Sequence[Row], ready: Any = None) -> BatchResult:
        result = BatchResult()
        customers = base.customers_by_reference(ctx, base.column_values(rows, "customer"))
        users = base.users_by_text(ctx, base.column_values(rows, "owner"))
        contacts = base.contacts_of_customers(customers.ids.values())
        refs = base.external_refs(self.code, (r.external_id for r in rows))
        now = timezone.now()
        prepared: list[tuple[Row, dict[str, Any]]] = []
        for row, item in zip(rows, ready if ready is not None else self.prepare(rows), strict=True):
            try:
                customer_id = base.resolve_one(customers, row, "customer", required=True, what=_("customer"))
                assert customer_id is not None
                if isinstance(item, RowError):
                    result.fail(row, item)  # not raised here: a traceback would tie this frame to ``ready``
                    continue
                if item.occurred > now + FUTURE_SLACK:
                    raise RowError(_("A follow-up cannot be logged for the future."), "occurred_at")
                if item.later is not None:
                    result.fail(row, item.later)
                    continue
                facts: dict[str, Any] = {
                    "customer_id": customer_id,
                    "kind": item.kind,
                    "occurred_at": item.occurred,
                    "summary": item.summary,
                    "outcome": item.outcome,
                    "next_follow_up_on": item.upcoming,
                    "contact_id": base.contact_for(contacts, row, customer_id),
                    "owner_id": base.owner_for(ctx, row, users).pk,
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
        ops = connection.ops  # looked up once (a lookup through Django's connection proxy costs more than adapting)
        adapt_datetime, adapt_date = ops.adapt_datetimefield_value, ops.adapt_datefield_value
        stamp = adapt_datetime(now)
        ids = fastsql.insert_rows(
            FollowUp,
            (*COLUMNS, "created_at", "updated_at"),
            [
                (
                    f["customer_id"],
                    f["kind"],
                    adapt_datetime(f["occurred_at"]),
                    f["summary"],
                    f["outcome"],
                    adapt_date(f["next_follow_up_on"]),
                    f["contact_id"],
                    f["owner_id"],
                    stamp,
                    stamp,
                )
                for _r, f in to_create
            ],
        )
        fastsql.insert_rows(
            ExternalRef,
            ("kind", "external_id", "object_id", "job_id"),
            [
                (self.code, r.external_id, pk, ctx.job.pk)
                for (r, _f), pk in zip(to_create, ids, strict=True)
                if r.external_id
            ],
            ids=False,
        )
        # The customers' derived dates, as logging a follow-up keeps them (activities/services.py).
        customers_refresh_follow_up_dates({f["customer_id"] for _r, f in to_create})
        result.created = ids
        return result
