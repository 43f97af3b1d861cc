"""Deals with their pipeline stage and stage dates, which become the deal's stage history.

``stage`` names a stage of ``pipeline`` (the default pipeline when empty); ``stage_dates`` lists the
stages the deal went through with the day it entered each ("Qualification:2025-01-05; Proposal:
2025-02-01"), the last one being its current stage unless ``stage`` says otherwise. A won or lost
stage closes the deal on the day it was entered. The same customer and deal name is a duplicate.
"""

from __future__ import annotations

import datetime as dt
import decimal
import re
from collections.abc import Sequence
from typing import Any

from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from bridgecrm.core import dates, money
from bridgecrm.core.errors import ApplicationError
from bridgecrm.core.selectors import rates_on
from bridgecrm.customers.models import CustomerSource
from bridgecrm.customization.models import Entity
from bridgecrm.imports.kinds import base
from bridgecrm.imports.kinds.base import BatchResult, Context, Row, RowError, Target
from bridgecrm.imports.models import ExternalRef, ImportKind, OnDuplicate
from bridgecrm.pipeline.deals import MAX_AMOUNT
from bridgecrm.pipeline.models import Deal, DealStageChange, DealStatus, Pipeline, Stage, StageKind

_STAGE_DATES_SPLIT = re.compile(r"[;；\n]")
_STAGE_DATE = re.compile(r"^(.+?)\s*[:：=@]\s*(\S.*)$")
CURRENCY_RE = re.compile(r"^[A-Z]{3}$")


class DealsKind(base.Kind):
    code = ImportKind.DEALS
    label = _("Deals")
    entity = Entity.DEAL
    targets = (
        Target("customer", _("Customer"), required=True),
        Target("name", _("Name"), required=True),
        Target("pipeline", _("Pipeline")),
        Target("stage", _("Stage")),
        Target("stage_dates", _("Stage dates")),
        Target("amount", _("Amount")),
        Target("currency", _("Currency")),
        Target("expected_close_date", _("Expected close date")),
        Target("created_at", _("Created")),
        Target("contact", _("Contact")),
        Target("owner", _("Owner")),
        Target("source", _("Source")),
        Target("next_step", _("Next step")),
    )

    def _pipelines(self, ctx: Context) -> tuple[dict[str, Pipeline], Pipeline | None, dict[tuple[int, str], Stage]]:
        if "pipelines" not in ctx.cache:
            pipelines = list(Pipeline.objects.filter(is_active=True).order_by("-is_default", "order", "id"))
            stages = {
                (s.pipeline_id, base.fold(s.name)): s
                for s in Stage.objects.filter(pipeline__in=pipelines).order_by("order")
            }
            ctx.cache["pipelines"] = (
                {base.fold(p.name): p for p in pipelines},
                pipelines[0] if pipelines else None,
                stages,
            )
        found: tuple[dict[str, Pipeline], Pipeline | None, dict[tuple[int, str], Stage]] = ctx.cache["pipelines"]
        return found

    def _amount_base(self, ctx: Context, amount: decimal.Decimal | None, currency: str, on: dt.date) -> Any:
        if amount is None:
            return None
        rates = ctx.cache.get(f"rates:{on.isoformat()}")
        if rates is None:
            rates = ctx.cache[f"rates:{on.isoformat()}"] = rates_on(on)
        try:
            return money.convert(money.Money(amount, currency), rates.base, rates).amount
        except ApplicationError as exc:
            raise RowError(exc.message, "currency") from None

    def _history(self, ctx: Context, row: Row, pipeline: Pipeline) -> list[tuple[Stage, dt.datetime]]:
        _by_name, _default, stages = self._pipelines(ctx)
        history: list[tuple[Stage, dt.datetime]] = []
        for part in _STAGE_DATES_SPLIT.split(row.values.get("stage_dates", "")):
            if not part.strip():
                continue
            match = _STAGE_DATE.match(part.strip())
            if not match:
                raise RowError(_("Write stage dates as “Stage: YYYY-MM-DD; …”."), "stage_dates")
            stage = stages.get((pipeline.pk, base.fold(match[1])))
            if stage is None:
                raise RowError(_("No stage “%(value)s” in this pipeline.") % {"value": match[1][:80]}, "stage_dates")
            moment = base.moment_value({"d": match[2]}, "d")
            assert moment is not None
            if history and moment < history[-1][1]:
                raise RowError(_("List the stages in the order the deal went through them."), "stage_dates")
            history.append((stage, moment))
        return history

    def clean(self, ctx: Context, row: Row, customers: base.Resolved, users: dict[str, Any]) -> dict[str, Any]:
        v = row.values
        by_name, default, stages = self._pipelines(ctx)
        customer_id = base.resolve_one(customers, row, "customer", required=True, what=_("customer"))
        pipeline = by_name.get(base.fold(v["pipeline"])) if v.get("pipeline") else default
        if pipeline is None:
            raise RowError(_("No active pipeline “%(value)s”.") % {"value": v.get("pipeline", "")[:80]}, "pipeline")
        history = self._history(ctx, row, pipeline)
        now = timezone.now()
        created = base.moment_value(v, "created_at") or (history[0][1] if history else now)
        if v.get("stage"):
            stage = stages.get((pipeline.pk, base.fold(v["stage"])))
            if stage is None:
                raise RowError(_("No stage “%(value)s” in this pipeline.") % {"value": v["stage"][:80]}, "stage")
            if not history or history[-1][0].pk != stage.pk:
                history.append((stage, history[-1][1] if history else created))
        elif not history:
            first_open = next(
                (s for (pid, _n), s in stages.items() if pid == pipeline.pk and s.kind == StageKind.OPEN), None
            )
            if first_open is None:
                raise RowError(_("This pipeline has no open stage."), "stage")
            history.append((first_open, created))
        if history[0][1] < created:
            created = history[0][1]
        stage, entered = history[-1]
        currency = v.get("currency", "").upper() or "CNY"
        if not CURRENCY_RE.match(currency):
            raise RowError(_("Enter a three-letter currency code such as CNY."), "currency")
        amount = base.amount(v, "amount", maximum=MAX_AMOUNT)
        expected = base.date_value(v, "expected_close_date")
        owner = base.owner_for(ctx, row, users)
        status = {"won": DealStatus.WON, "lost": DealStatus.LOST}.get(str(stage.kind), DealStatus.OPEN)
        return {
            "customer_id": customer_id,
            "name": base.text(v, "name", 200, required=True),
            "pipeline": pipeline,
            "stage": stage,
            "status": status,
            "amount": amount,
            "currency": currency,
            "amount_base": self._amount_base(ctx, amount, currency, expected or timezone.localdate()),
            "expected_close_date": expected,
            "probability": stage.probability,
            "forecast_category": stage.forecast_category,
            "owner": owner,
            "team_id": owner.team_id,
            "source": base.choice(v, "source", CustomerSource),
            "next_step": base.text(v, "next_step", 200),
            "closed_on": entered.astimezone(dates.company_zone()).date() if status != DealStatus.OPEN else None,
            "stage_entered_at": entered,
            "created_at": created,
            "updated_at": now,
            "custom": base.custom_values(ctx, v, current=None, creating=True),
            "_history": history,
        }

    def process(self, ctx: Context, rows: Sequence[Row], ready: Any = None) -> BatchResult:
        result = BatchResult()
        customers = base.customers_by_reference(ctx, base.column_values(rows, "customer"))
        users = base.users_by_text(ctx, base.column_values(rows, "owner"))
        contacts = base.contacts_of_customers(customers.ids.values())
        refs = base.external_refs(self.code, (r.external_id for r in rows))
        prepared: list[tuple[Row, dict[str, Any]]] = []
        for row in rows:
            try:
                facts = self.clean(ctx, row, customers, users)
                facts["contact_id"] = base.contact_for(contacts, row, facts["customer_id"])
            except RowError as exc:
                result.fail(row, exc)
                continue
            prepared.append((row, facts))
        existing = {
            (customer_id, name.casefold())
            for customer_id, name in Deal.objects.filter(
                customer_id__in={f["customer_id"] for _r, f in prepared}, deleted_at__isnull=True
            ).values_list("customer_id", "name")
        }
        to_create: list[tuple[Row, dict[str, Any]]] = []
        for row, facts in prepared:
            if row.external_id and row.external_id in refs:
                result.skipped += 1  # imported before
                continue
            key = (facts["customer_id"], facts["name"].casefold())
            space_key = f"{key[0]}|{key[1]}"
            if key in existing or space_key in ctx.seen.get("deal", {}):
                result.findings.append({"row": row.number, "column": "name", "value": facts["name"], "existing": 0})
                if ctx.on_duplicate != OnDuplicate.CREATE:
                    result.skipped += 1
                    continue
            existing.add(key)
            ctx.remember("deal", space_key, row.number)
            to_create.append((row, facts))
        if ctx.dry_run:
            result.created = [0] * len(to_create)
            return result
        deals = [Deal(**{k: v for k, v in f.items() if not k.startswith("_")}) for _r, f in to_create]
        Deal.objects.bulk_create(deals, batch_size=500)
        changes: list[DealStageChange] = []
        for (_r, facts), deal in zip(to_create, deals, strict=True):
            previous: tuple[Stage, dt.datetime] | None = None
            for stage, moment in facts["_history"]:
                changes.append(
                    DealStageChange(
                        deal=deal,
                        from_stage=previous[0] if previous else None,
                        to_stage=stage,
                        changed_at=moment,
                        changed_by=ctx.actor,
                        seconds_in_from_stage=int((moment - previous[1]).total_seconds()) if previous else None,
                    )
                )
                previous = (stage, moment)
        DealStageChange.objects.bulk_create(changes, batch_size=1000)
        ExternalRef.objects.bulk_create(
            [
                ExternalRef(kind=self.code, external_id=r.external_id, object_id=d.pk, job=ctx.job)
                for (r, _f), d in zip(to_create, deals, strict=True)
                if r.external_id
            ]
        )
        result.created = [d.pk for d in deals]
        return result
