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
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from django.db import connection
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from bridgecrm.core import dates, money
from bridgecrm.core.errors import ApplicationError
from bridgecrm.core.models import CompanyProfile
from bridgecrm.core.selectors import rates_in_force
from bridgecrm.customers.models import CustomerSource
from bridgecrm.customization.models import Entity
from bridgecrm.imports import fastsql
from bridgecrm.imports.kinds import base
from bridgecrm.imports.kinds.base import BatchResult, Context, Row, RowError, Target
from bridgecrm.imports.models import ExternalRef, ImportKind, OnDuplicate
from bridgecrm.pipeline.deals import MAX_AMOUNT
from bridgecrm.pipeline.models import Deal, DealStageChange, DealStatus, Pipeline, Stage, StageKind

_STAGE_DATES_SPLIT = re.compile(r"[;；\n]")
_STAGE_DATE = re.compile(r"^(.+?)\s*[:：=@]\s*(\S.*)$")
CURRENCY_RE = re.compile(r"^[A-Z]{3}$")
STATUS_OF_KIND = {str(StageKind.WON): str(DealStatus.WON), str(StageKind.LOST): str(DealStatus.LOST)}
# The deal's columns an import writes (the others take their defaults), in the order of ``_create``.
COLUMNS = (
    "customer_id",
    "name",
    "pipeline_id",
    "stage_id",
    "status",
    "amount",
    "currency",
    "amount_base",
    "expected_close_date",
    "probability",
    "forecast_category",
    "owner_id",
    "team_id",
    "source",
    "next_step",
    "closed_on",
    "stage_entered_at",
    "created_at",
    "updated_at",
    "custom",
    "contact_id",
)


@dataclass(slots=True)
class Prepared:
    """A row's cells checked without the database. The rules check cells between checks that need
    it (the customer, the pipeline's stages, the owner, the exchange rate) and a row reports the
    first rule it breaks, so each check keeps its own outcome, its value or its RowError, which
    ``process`` raises in the rules' order."""

    row: Row
    pipeline: str | None  # the pipeline's name folded; None: the default pipeline
    # Each written stage date: (stage name folded, as written, moment or RowError); a part not
    # written as "stage: date" is a RowError, the last item.
    parts: tuple[tuple[str, str, Any] | RowError, ...]
    created: Any  # dt.datetime | None | RowError
    stage: str | None  # the stage's name folded; None: no stage column
    currency: Any  # str | RowError
    amount: Any  # decimal.Decimal | None | RowError
    expected: Any  # dt.date | None | RowError
    name: Any  # str | RowError
    source: Any  # str | RowError
    next_step: Any  # str | RowError

    def __reduce__(self) -> tuple[Any, ...]:
        """Pickled as a plain tuple (imports/ahead.py sends prepared batches through a pipe)."""
        return (
            Prepared,
            (
                self.row,
                self.pipeline,
                self.parts,
                self.created,
                self.stage,
                self.currency,
                self.amount,
                self.expected,
                self.name,
                self.source,
                self.next_step,
            ),
        )


def _checked(check: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """``check(…)``'s value, or the RowError it raised."""
    try:
        return check(*args, **kwargs)
    except RowError as exc:
        return base.detached(exc)


def _ok[T](outcome: T | RowError) -> T:
    """The value of a check done in ``prepare``, or its error raised now, in the rules' order."""
    if isinstance(outcome, RowError):
        raise outcome
    return outcome


def _currency(values: dict[str, str]) -> str:
    currency = values.get("currency", "").upper() or "CNY"
    if not CURRENCY_RE.match(currency):
        raise RowError(_("Enter a three-letter currency code such as CNY."), "currency")
    return currency


def _parts(written: str) -> tuple[tuple[str, str, Any] | RowError, ...]:
    parts: list[tuple[str, str, Any] | RowError] = []
    for part in _STAGE_DATES_SPLIT.split(written):
        if not part.strip():
            continue
        match = _STAGE_DATE.match(part.strip())
        if not match:
            parts.append(base.detached(RowError(_("Write stage dates as “Stage: YYYY-MM-DD; …”."), "stage_dates")))
            break
        parts.append((base.fold(match[1]), match[1][:80], _checked(base.moment_value, {"d": match[2]}, "d")))
    return tuple(parts)


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

    prepares = True

    def prepare(self, rows: Sequence[Row]) -> list[Prepared]:
        """Each row's stage dates, times, currency, amount, close date, name, source and next step,
        parsed and checked: pure, so a big file's batches are prepared ahead in a second process
        (imports/ahead.py)."""
        out: list[Prepared] = []
        for row in rows:
            v = row.values
            out.append(
                Prepared(
                    row,
                    base.fold(v["pipeline"]) if v.get("pipeline") else None,
                    _parts(v.get("stage_dates", "")),
                    _checked(base.moment_value, v, "created_at"),
                    base.fold(v["stage"]) if v.get("stage") else None,
                    _checked(_currency, v),
                    _checked(base.amount, v, "amount", maximum=MAX_AMOUNT),
                    _checked(base.date_value, v, "expected_close_date"),
                    _checked(base.text, v, "name", 200, required=True),
                    _checked(base.choice, v, "source", CustomerSource),
                    _checked(base.text, v, "next_step", 200),
                )
            )
        return out

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

    # ---- exchange rates: those of the batch's currencies and days in one query ----------------------

    def _fetch_rates(self, ctx: Context, wanted: dict[str, set[dt.date]]) -> None:
        """Into ``ctx.cache["deal_rates"]``: (currency, day) → the rate in force that day, for
        those not fetched by an earlier batch (``core.selectors.rates_in_force``)."""
        known: dict[tuple[str, dt.date], decimal.Decimal | None] = ctx.cache.setdefault("deal_rates", {})
        known.update(rates_in_force({c: {d for d in days if (c, d) not in known} for c, days in wanted.items()}))

    def _rates(self, ctx: Context, items: Sequence[Prepared]) -> str | None:
        """The base currency (None when no row has an amount), after fetching the rates of the
        rows' other currencies on their days."""
        if not any(isinstance(p.amount, decimal.Decimal) for p in items):
            return None
        base_currency = CompanyProfile.current().base_currency
        today = timezone.localdate()
        wanted: dict[str, set[dt.date]] = {}
        for p in items:
            if (
                isinstance(p.amount, decimal.Decimal)
                and isinstance(p.currency, str)
                and p.currency in money.MINOR_UNITS
                and p.currency != base_currency
                and not isinstance(p.expected, RowError)
            ):
                wanted.setdefault(p.currency, set()).add(p.expected or today)
        self._fetch_rates(ctx, wanted)
        return base_currency

    def _amount_base(
        self, ctx: Context, amount: decimal.Decimal | None, currency: str, on: dt.date, base_currency: str | None
    ) -> Any:
        if amount is None:
            return None
        if base_currency is None:
            base_currency = CompanyProfile.current().base_currency
        per_unit: dict[str, decimal.Decimal] = {}
        if currency != base_currency and currency in money.MINOR_UNITS:
            if (currency, on) not in ctx.cache.get("deal_rates", {}):
                self._fetch_rates(ctx, {currency: {on}})
            rate = ctx.cache["deal_rates"][(currency, on)]
            if rate is not None:
                per_unit[currency] = rate
        try:
            return money.convert(
                money.Money(amount, currency), base_currency, money.Rates(base_currency, on, per_unit)
            ).amount
        except ApplicationError as exc:
            raise RowError(exc.message, "currency") from None

    # ---- the rows ----------------------------------------------------------------------------------

    def _history(self, ctx: Context, item: Prepared, pipeline: Pipeline) -> list[tuple[Stage, dt.datetime]]:
        _by_name, _default, stages = self._pipelines(ctx)
        history: list[tuple[Stage, dt.datetime]] = []
        for part in item.parts:
            folded, written, moment = _ok(part)
            stage = stages.get((pipeline.pk, folded))
            if stage is None:
                raise RowError(_("No stage “%(value)s” in this pipeline.") % {"value": written}, "stage_dates")
            moment = _ok(moment)
            if history and moment < history[-1][1]:
                raise RowError(_("List the stages in the order the deal went through them."), "stage_dates")
            history.append((stage, moment))
        return history

    def clean(
        self,
        ctx: Context,
        item: Prepared,
        customers: base.Resolved,
        users: dict[str, Any],
        base_currency: str | None,
    ) -> dict[str, Any]:
        """The deal's values, the rules checked in this order (the first one a row breaks is its error)."""
        row = item.row
        v = row.values
        by_name, default, stages = self._pipelines(ctx)
        customer_id = base.resolve_one(customers, row, "customer", required=True, what=_("customer"))
        pipeline = by_name.get(item.pipeline) if item.pipeline is not None else default
        if pipeline is None:
            raise RowError(_("No active pipeline “%(value)s”.") % {"value": v.get("pipeline", "")[:80]}, "pipeline")
        history = self._history(ctx, item, pipeline)
        now = timezone.now()
        created = _ok(item.created) or (history[0][1] if history else now)
        if item.stage is not None:
            stage = stages.get((pipeline.pk, item.stage))
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
        currency: str = _ok(item.currency)
        amount: decimal.Decimal | None = _ok(item.amount)
        expected: dt.date | None = _ok(item.expected)
        owner = base.owner_for(ctx, row, users)
        status = STATUS_OF_KIND.get(str(stage.kind), str(DealStatus.OPEN))
        name: str = _ok(item.name)
        amount_base = self._amount_base(ctx, amount, currency, expected or timezone.localdate(), base_currency)
        return {
            "customer_id": customer_id,
            "name": name,
            "pipeline_id": pipeline.pk,
            "stage_id": stage.pk,
            "status": status,
            "amount": amount,
            "currency": currency,
            "amount_base": amount_base,
            "expected_close_date": expected,
            "probability": stage.probability,
            "forecast_category": stage.forecast_category,
            "owner_id": owner.pk,
            "team_id": owner.team_id,
            "source": _ok(item.source),
            "next_step": _ok(item.next_step),
            "closed_on": entered.astimezone(dates.company_zone()).date() if status != DealStatus.OPEN else None,
            "stage_entered_at": entered,
            "created_at": created,
            "updated_at": now,
            "custom": base.custom_values(ctx, v, current=None, creating=True),
            "_history": history,
        }

    def process(self, ctx: Context, rows: Sequence[Row], ready: Any = None) -> BatchResult:
        result = BatchResult()
        items: list[Prepared] = ready if ready is not None else self.prepare(rows)
        customers = base.customers_by_reference(ctx, base.column_values(rows, "customer"))
        users = base.users_by_text(ctx, base.column_values(rows, "owner"))
        contacts = base.contacts_of_customers(customers.ids.values())
        refs = base.external_refs(self.code, (r.external_id for r in rows))
        base_currency = self._rates(ctx, items)
        prepared: list[tuple[Row, dict[str, Any]]] = []
        for row, item in zip(rows, items, strict=True):
            try:
                facts = self.clean(ctx, item, customers, users, base_currency)
                facts["contact_id"] = base.contact_for(contacts, row, facts["customer_id"])
            except RowError as exc:
                # Detached: an error made in ``prepare`` was raised here, and its traceback would
                # tie this frame to ``ready``, which holds it.
                result.fail(row, base.detached(exc))
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
        result.created = self._create(ctx, to_create)
        return result

    def _create(self, ctx: Context, to_create: list[tuple[Row, dict[str, Any]]]) -> list[int]:
        """The deals, their stage history and external ids, as rows of values (imports/fastsql.py)."""
        # The backend's adapters that fastsql's helpers call, looked up once: through Django's
        # connection proxy each lookup cost more than the adapting (0.3 s of 20,000 deals).
        ops = connection.ops
        adapt_datetime, adapt_date, adapt_decimal = (
            ops.adapt_datetimefield_value,
            ops.adapt_datefield_value,
            ops.adapt_decimalfield_value,
        )
        ids = fastsql.insert_rows(
            Deal,
            COLUMNS,
            [
                (
                    f["customer_id"],
                    f["name"],
                    f["pipeline_id"],
                    f["stage_id"],
                    f["status"],
                    adapt_decimal(f["amount"], 14, 2),
                    f["currency"],
                    adapt_decimal(f["amount_base"], 16, 2),
                    adapt_date(f["expected_close_date"]),
                    f["probability"],
                    f["forecast_category"],
                    f["owner_id"],
                    f["team_id"],
                    f["source"],
                    f["next_step"],
                    adapt_date(f["closed_on"]),
                    adapt_datetime(f["stage_entered_at"]),
                    adapt_datetime(f["created_at"]),
                    adapt_datetime(f["updated_at"]),
                    fastsql.adapt_json(f["custom"]),
                    f["contact_id"],
                )
                for _r, f in to_create
            ],
        )
        changes: list[tuple[Any, ...]] = []
        for (_r, facts), deal_id in zip(to_create, ids, strict=True):
            previous: tuple[Stage, dt.datetime] | None = None
            for stage, moment in facts["_history"]:
                changes.append(
                    (
                        deal_id,
                        previous[0].pk if previous else None,
                        stage.pk,
                        adapt_datetime(moment),
                        ctx.actor.pk,
                        int((moment - previous[1]).total_seconds()) if previous else None,
                    )
                )
                previous = (stage, moment)
        fastsql.insert_rows(
            DealStageChange,
            ("deal_id", "from_stage_id", "to_stage_id", "changed_at", "changed_by_id", "seconds_in_from_stage"),
            changes,
            ids=False,
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
        return ids
