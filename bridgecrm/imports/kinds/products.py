"""Products (the price list), by SKU: a row whose SKU exists is a duplicate."""

from __future__ import annotations

import decimal
import re
from collections.abc import Sequence
from typing import Any

from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from bridgecrm.core import money
from bridgecrm.core.errors import ApplicationError, PermissionDenied
from bridgecrm.imports import fastsql
from bridgecrm.imports.kinds import base
from bridgecrm.imports.kinds.base import BatchResult, Context, Row, RowError, Target
from bridgecrm.imports.models import ExternalRef, ImportKind, OnDuplicate
from bridgecrm.pipeline.models import Product, ProductCategory, ProductUnit
from bridgecrm.pipeline.policies import may_view_cost
from bridgecrm.users.capabilities import MANAGE_PIPELINE
from bridgecrm.users.models import User

FIELDS = ("sku", "name", "category", "unit", "list_price", "currency", "unit_cost", "is_active")
DECIMALS = ("list_price", "unit_cost")
CLEARABLE = frozenset({"unit_cost"})  # empty: unknown; the other fields are required or have a default
MAX_PRICE = decimal.Decimal("999999999999.99")
CURRENCY_RE = re.compile(r"^[A-Z]{3}$")


class ProductsKind(base.Kind):
    code = ImportKind.PRODUCTS
    label = _("Products")
    targets = (
        Target("sku", _("SKU"), required=True),
        Target("name", _("Name"), required=True),
        Target("category", _("Category"), required=True),
        Target("unit", _("Unit")),
        Target("list_price", _("List price"), required=True),
        Target("currency", _("Currency")),
        Target("unit_cost", _("Unit cost")),
        Target("is_active", _("Active")),
    )

    def check_target(self, actor: User, name: str) -> None:
        """A product's cost is only for holders of ``products.view_cost``: a mapping that writes it is
        refused before any row is read (so no cost reaches the error file either)."""
        if name == "unit_cost" and not may_view_cost(actor):
            raise ApplicationError(
                "bad_mapping", _("You may not see or set costs."), details={"mapping": ["unit_cost"]}
            )

    def check_actor(self, actor: User) -> None:
        if not actor.can(MANAGE_PIPELINE):
            raise PermissionDenied("forbidden", _("Only those who configure products may import them."))

    def clean(self, row: Row) -> dict[str, Any]:
        v = row.values
        currency = v.get("currency", "").upper() or "CNY"
        if not CURRENCY_RE.match(currency):
            raise RowError(_("Enter a three-letter currency code such as CNY."), "currency")
        active = v.get("is_active", "")
        return {
            "sku": base.text(v, "sku", 40, required=True),
            "name": base.text(v, "name", 200, required=True),
            "category": base.choice(v, "category", ProductCategory) or _required("category"),
            "unit": base.choice(v, "unit", ProductUnit, ProductUnit.PIECE),
            "list_price": base.amount(v, "list_price", maximum=MAX_PRICE, required=True),
            "currency": currency,
            # Empty: unknown (never 0). JPY and KRW costs have no cents.
            "unit_cost": _whole_if_needed(base.amount(v, "unit_cost", maximum=MAX_PRICE), currency),
            "is_active": (active.casefold() in base.TRUE_WORDS) if active else True,
        }

    def process(self, ctx: Context, rows: Sequence[Row], ready: Any = None) -> BatchResult:
        result = BatchResult()
        refs = base.external_refs(self.code, (r.external_id for r in rows))
        prepared: list[tuple[Row, dict[str, Any]]] = []
        for row in rows:
            try:
                prepared.append((row, self.clean(row)))
            except RowError as exc:
                result.fail(row, exc)
        existing = {p.sku: p for p in Product.objects.filter(sku__in={facts["sku"] for _r, facts in prepared})} | {
            p.sku: p for p in Product.objects.filter(pk__in=set(refs.values()))
        }
        by_id = {p.pk: p for p in existing.values()}
        to_create: list[tuple[Row, dict[str, Any]]] = []
        changed: dict[int, Product] = {}
        seen: set[str] = set()
        now = timezone.now()
        for row, facts in prepared:
            match = by_id.get(refs[row.external_id]) if row.external_id in refs else existing.get(facts["sku"])
            if match is None and (facts["sku"] in seen or facts["sku"] in ctx.seen.get("sku", {})):
                result.findings.append({"row": row.number, "column": "sku", "value": facts["sku"], "existing": 0})
                result.skipped += 1  # the SKU is unique: a second row with it cannot create another
                continue
            if match is None:
                seen.add(facts["sku"])
                ctx.remember("sku", facts["sku"], row.number)
                to_create.append((row, facts))
                continue
            result.findings.append({"row": row.number, "column": "sku", "value": facts["sku"], "existing": match.pk})
            if ctx.on_duplicate != OnDuplicate.UPDATE:
                result.skipped += 1  # "create" cannot make a second product with the same SKU
                continue
            diff = base.changes_of(match, {f: facts[f] for f in base.fields_to_update(ctx, row, FIELDS, CLEARABLE)})
            if not diff:
                result.skipped += 1
                continue
            result.updated[match.pk] = diff
            for name in diff:
                setattr(match, name, facts[name])
            match.updated_at = now
            changed[match.pk] = match
        if ctx.dry_run:
            result.created = [0] * len(to_create)
            return result
        if changed:
            Product.objects.bulk_update(list(changed.values()), [*FIELDS, "updated_at"], batch_size=500)
        stamp = fastsql.adapt_datetime(now)
        ids = fastsql.insert_rows(
            Product,
            (*FIELDS, "created_at", "updated_at"),
            [(*(_decimal(f[n]) if n in DECIMALS else f[n] for n in FIELDS), stamp, stamp) for _r, f in to_create],
        )
        fastsql.insert_rows(
            ExternalRef,
            ("kind", "external_id", "object_id", "job_id"),
            [
                (self.code, r.external_id, pk, ctx.job.pk)
                for (r, _f), pk in zip(to_create, ids, strict=True)
                if r.external_id
            ],
        )
        result.created = ids
        return result


def _decimal(value: decimal.Decimal | None) -> Any:
    return None if value is None else fastsql.adapt_decimal(value, 14, 2)


def _whole_if_needed(value: decimal.Decimal | None, currency: str) -> decimal.Decimal | None:
    try:
        whole = value is None or value == money.quantize(value, currency)
    except ApplicationError:  # an unknown currency: the row is refused for it elsewhere
        whole = True
    if not whole:
        raise RowError(_("This currency has no smaller unit than the amount given."), "unit_cost")
    return value


def _required(column: str) -> str:
    raise RowError(_("A value is required."), column)
