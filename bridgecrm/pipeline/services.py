"""The one write path for products, pipelines, stages and lost reasons. Every change is audited.

Stage invariants, kept by every service here:
- a pipeline always has at least one open, one won and one lost stage;
- stage orders are unique within a pipeline (1, 2, 3… after every change);
- a won stage has probability 100, a lost stage 0; probabilities lie between 0 and 100;
- gate fields are codes from ``gates.GATE_FIELDS``.
Exactly one pipeline is the default: making one the default takes it from the others.
"""

from __future__ import annotations

import decimal
from collections.abc import Iterable
from typing import Any

from django.db import transaction
from django.db.models import Max, Q
from django.utils import timezone, translation
from django.utils.translation import gettext_lazy as _

from bridgecrm.core import audit, money
from bridgecrm.core.errors import ApplicationError, NotFound, PermissionDenied
from bridgecrm.pipeline import gates, policies
from bridgecrm.pipeline.deals import (  # deals have their own module; their services are re-exported here
    deal_close_lost as deal_close_lost,
)
from bridgecrm.pipeline.deals import (
    deal_close_won as deal_close_won,
)
from bridgecrm.pipeline.deals import (
    deal_create as deal_create,
)
from bridgecrm.pipeline.deals import (
    deal_delete as deal_delete,
)
from bridgecrm.pipeline.deals import (
    deal_lines_set as deal_lines_set,
)
from bridgecrm.pipeline.deals import (
    deal_move_to_stage as deal_move_to_stage,
)
from bridgecrm.pipeline.deals import (
    deal_reopen as deal_reopen,
)
from bridgecrm.pipeline.deals import (
    deal_update as deal_update,
)
from bridgecrm.pipeline.models import (
    Deal,
    DealStageChange,
    ForecastCategory,
    LostReason,
    Pipeline,
    Product,
    ProductCategory,
    ProductUnit,
    Stage,
    StageKind,
)
from bridgecrm.users.models import User

PRODUCT_FIELDS = ("sku", "name", "category", "unit", "list_price", "currency", "unit_cost", "is_active")
PIPELINE_FIELDS = ("name", "is_default", "is_active", "order")
STAGE_FIELDS = (
    "pipeline",
    "name",
    "order",
    "probability",
    "kind",
    "stale_after_days",
    "forecast_category",
    "gate_fields",
)
STAGE_EDITABLE = ("name", "probability", "kind", "stale_after_days", "forecast_category", "gate_fields")
LOST_REASON_FIELDS = ("name", "is_active", "order")
MAX_PRICE = decimal.Decimal("999999999999.99")
MAX_STALE_DAYS = 3650

# A new pipeline's stages: (Chinese name, English name, probability, kind, forecast category).
DEFAULT_STAGES: tuple[tuple[str, str, int, str, str], ...] = (
    ("初步接洽", "Qualification", 10, StageKind.OPEN, ForecastCategory.PIPELINE),
    ("需求确认", "Needs analysis", 30, StageKind.OPEN, ForecastCategory.PIPELINE),
    ("方案报价", "Proposal", 60, StageKind.OPEN, ForecastCategory.BEST_CASE),
    ("商务谈判", "Negotiation", 80, StageKind.OPEN, ForecastCategory.COMMIT),
    ("赢单", "Won", 100, StageKind.WON, ForecastCategory.CLOSED),
    ("输单", "Lost", 0, StageKind.LOST, ForecastCategory.OMITTED),
)


def _invalid(field: str, message: Any, code: str = "invalid") -> ApplicationError:
    return ApplicationError(code, message, details={field: [str(message)]})


def _forbidden() -> PermissionDenied:
    return PermissionDenied("forbidden", _("You do not have permission to do this."))


def _require_manager(actor: User) -> None:
    if not policies.may_manage(actor):
        raise _forbidden()


def _unknown(changes: dict[str, Any], allowed: Iterable[str]) -> None:
    unknown = set(changes) - set(allowed)
    if unknown:
        raise ApplicationError("invalid", _("Unknown fields."), details={f: ["unknown"] for f in sorted(unknown)})


def _text(field: str, value: Any, limit: int) -> str:
    text = " ".join(str(value or "").split())
    if not text:
        raise _invalid(field, _("This field is required."))
    if len(text) > limit:
        raise _invalid(field, _("This value is too long."))
    return text


def _choice(field: str, value: Any, choices: Any) -> str:
    text = str(value or "")
    if text in choices.values:
        return text
    raise _invalid(field, _("Select a valid choice."))


# ---- products ----------------------------------------------------------------------------------------


def _clean_product(values: dict[str, Any]) -> dict[str, Any]:
    out = dict(values)
    out["sku"] = _text("sku", out.get("sku"), 40).upper().replace(" ", "-")
    out["name"] = _text("name", out.get("name"), 200)
    out["category"] = _choice("category", out.get("category"), ProductCategory)
    out["unit"] = _choice("unit", out.get("unit"), ProductUnit)
    try:
        out["currency"] = money.check_currency(str(out.get("currency") or ""))
    except ApplicationError as exc:
        raise _invalid("currency", _("Unknown currency."), code="unknown_currency") from exc
    try:
        price = decimal.Decimal(str(out.get("list_price")))
    except (decimal.InvalidOperation, ValueError) as exc:
        raise _invalid("list_price", _("Enter an amount.")) from exc
    if not price.is_finite() or price < 0 or price > MAX_PRICE:
        raise _invalid("list_price", _("Enter an amount between 0 and 999,999,999,999.99."))
    if price != money.quantize(price, out["currency"]):
        raise _invalid("list_price", _("This currency has no smaller unit than the amount given."))
    out["list_price"] = money.quantize(price, out["currency"])
    out["unit_cost"] = clean_cost("unit_cost", out.get("unit_cost"), out["currency"])
    out["is_active"] = bool(out.get("is_active", True))
    return out


def clean_cost(field: str, value: Any, currency: str) -> decimal.Decimal | None:
    """A unit cost: empty is unknown (None, never 0); otherwise 0 or more, in the currency's minor unit."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    try:
        cost = decimal.Decimal(str(value).strip().replace(",", ""))
    except (decimal.InvalidOperation, ValueError) as exc:
        raise _invalid(field, _("Enter a cost.")) from exc
    if not cost.is_finite() or cost < 0 or cost > MAX_PRICE:
        raise _invalid(field, _("Enter a cost between 0 and 999,999,999,999.99, or leave it empty if unknown."))
    if cost != money.quantize(cost, currency):
        raise _invalid(field, _("This currency has no smaller unit than the amount given."))
    return money.quantize(cost, currency)


def _check_cost_write(actor: User, given: bool) -> None:
    if given and not policies.may_view_cost(actor):
        # The uniform refusal (code "forbidden", no details), with a message that says why.
        raise PermissionDenied("forbidden", _("You may not see or set costs."))


def _sku_taken(sku: str, exclude: int | None = None) -> bool:
    qs = Product.objects.filter(sku=sku)
    if exclude is not None:
        qs = qs.exclude(pk=exclude)
    return qs.exists()


def product_create(
    *,
    actor: User,
    sku: str,
    name: str,
    category: str,
    list_price: decimal.Decimal | str,
    currency: str = "CNY",
    unit: str = ProductUnit.PIECE,
    is_active: bool = True,
    unit_cost: decimal.Decimal | str | None = None,
) -> Product:
    """A new product. ``unit_cost`` (None: unknown) needs ``products.view_cost``."""
    _require_manager(actor)
    _check_cost_write(actor, unit_cost not in (None, ""))
    values = _clean_product(
        {
            "sku": sku,
            "name": name,
            "category": category,
            "unit": unit,
            "list_price": list_price,
            "currency": currency,
            "unit_cost": unit_cost,
            "is_active": is_active,
        }
    )
    with transaction.atomic():
        if _sku_taken(values["sku"]):
            raise _invalid("sku", _("Another product has this SKU."), code="duplicate_sku")
        now = timezone.now()
        product = Product.objects.create(**values, created_at=now, updated_at=now)
        audit.record_created(actor=actor, obj=product, values=audit.snapshot(product, PRODUCT_FIELDS))
    return product


def product_update(*, actor: User, product: Product, **changes: Any) -> Product:
    """Change a product; changing ``unit_cost`` (to a value or to unknown) needs ``products.view_cost``."""
    _unknown(changes, PRODUCT_FIELDS)
    _require_manager(actor)
    _check_cost_write(actor, "unit_cost" in changes)
    with transaction.atomic():
        locked = Product.objects.select_for_update().get(pk=product.pk)
        before = audit.snapshot(locked, PRODUCT_FIELDS)
        values = _clean_product({**{f: getattr(locked, f) for f in PRODUCT_FIELDS}, **changes})
        if values["sku"] != locked.sku and _sku_taken(values["sku"], exclude=locked.pk):
            raise _invalid("sku", _("Another product has this SKU."), code="duplicate_sku")
        for name, value in values.items():
            setattr(locked, name, value)
        after = audit.snapshot(locked, PRODUCT_FIELDS)
        if after != before:
            locked.updated_at = timezone.now()
            locked.save()
            audit.record_changes(actor=actor, obj=locked, before=before, after=after)
    return locked


def product_deactivate(*, actor: User, product: Product) -> Product:
    """Products are never deleted (deals and quotes will refer to them): they are switched off."""
    return product_update(actor=actor, product=product, is_active=False)


# ---- pipelines ---------------------------------------------------------------------------------------


def _stage_snapshot(stage: Stage) -> audit.Snapshot:
    return audit.snapshot(stage, STAGE_FIELDS)


def pipeline_create(*, actor: User, name: str, is_default: bool = False, is_active: bool = True) -> Pipeline:
    """A new pipeline, with the default stages (qualification … won, lost) to edit from."""
    _require_manager(actor)
    name = _text("name", name, 80)
    with transaction.atomic():
        if Pipeline.objects.filter(name=name).exists():
            raise _invalid("name", _("Another pipeline has this name."), code="duplicate_name")
        first = not Pipeline.objects.exists()
        make_default = is_default or first
        if make_default:
            _take_default()
        order = (Pipeline.objects.aggregate(m=Max("order"))["m"] or 0) + 1
        pipeline = Pipeline.objects.create(
            name=name, is_default=make_default, is_active=is_active or make_default, order=order
        )
        audit.record_created(actor=actor, obj=pipeline, values=audit.snapshot(pipeline, PIPELINE_FIELDS))
        chinese = (actor.language or translation.get_language() or "en").startswith("zh")
        for i, (zh, en, probability, kind, forecast) in enumerate(DEFAULT_STAGES, start=1):
            stage = Stage.objects.create(
                pipeline=pipeline,
                name=zh if chinese else en,
                order=i,
                probability=probability,
                kind=kind,
                forecast_category=forecast,
                stale_after_days=30 if kind == StageKind.OPEN else None,
            )
            audit.record_created(actor=actor, obj=stage, values=_stage_snapshot(stage))
    return pipeline


def _take_default() -> None:
    for old in Pipeline.objects.select_for_update().filter(is_default=True):
        old.is_default = False
        old.save(update_fields=["is_default"])


def pipeline_update(*, actor: User, pipeline: Pipeline, **changes: Any) -> Pipeline:
    """Rename, (de)activate, reorder or make the default. The default pipeline stays active, and
    the default moves by making another pipeline the default, never by unsetting it."""
    _unknown(changes, ("name", "is_default", "is_active", "order"))
    _require_manager(actor)
    with transaction.atomic():
        locked = Pipeline.objects.select_for_update().get(pk=pipeline.pk)
        before = audit.snapshot(locked, PIPELINE_FIELDS)
        if "name" in changes:
            name = _text("name", changes["name"], 80)
            if Pipeline.objects.filter(name=name).exclude(pk=locked.pk).exists():
                raise _invalid("name", _("Another pipeline has this name."), code="duplicate_name")
            locked.name = name
        if "order" in changes:
            order = int(changes["order"])
            if not 0 <= order <= 10_000:
                raise _invalid("order", _("Enter a whole number between 0 and 10,000."))
            locked.order = order
        is_default = bool(changes.get("is_default", locked.is_default))
        is_active = bool(changes.get("is_active", locked.is_active))
        if locked.is_default and not is_default:
            raise _invalid("is_default", _("Make another pipeline the default instead."), code="default_required")
        if is_default and not is_active:
            raise _invalid("is_active", _("The default pipeline cannot be deactivated."), code="default_required")
        if is_default and not locked.is_default:
            _take_default()
        locked.is_default, locked.is_active = is_default, is_active
        after = audit.snapshot(locked, PIPELINE_FIELDS)
        if after != before:
            locked.save()
            audit.record_changes(actor=actor, obj=locked, before=before, after=after)
    return locked


# ---- stages ------------------------------------------------------------------------------------------


def clean_gate_fields(codes: Iterable[str]) -> list[str]:
    """Known codes only, without duplicates, in the registry's order."""
    given = [str(c) for c in codes]
    unknown = gates.unknown_codes(given)
    if unknown:
        raise _invalid("gate_fields", _("Unknown deal field: %(codes)s.") % {"codes": ", ".join(unknown)[:200]})
    return [code for code in gates.GATE_FIELDS if code in given]


def _clean_stage(values: dict[str, Any]) -> dict[str, Any]:
    out = dict(values)
    out["name"] = _text("name", out.get("name"), 80)
    out["kind"] = _choice("kind", out.get("kind"), StageKind)
    out["forecast_category"] = _choice("forecast_category", out.get("forecast_category"), ForecastCategory)
    try:
        probability = int(out.get("probability"))  # type: ignore[arg-type]
    except (TypeError, ValueError) as exc:
        raise _invalid("probability", _("Enter a whole number between 0 and 100.")) from exc
    if isinstance(out.get("probability"), bool) or not 0 <= probability <= 100:
        raise _invalid("probability", _("Enter a whole number between 0 and 100."))
    if out["kind"] == StageKind.WON and probability != 100:
        raise _invalid("probability", _("A won stage has probability 100%."))
    if out["kind"] == StageKind.LOST and probability != 0:
        raise _invalid("probability", _("A lost stage has probability 0%."))
    out["probability"] = probability
    stale = out.get("stale_after_days")
    if stale in (None, ""):
        out["stale_after_days"] = None
    else:
        try:
            stale = int(stale)
        except (TypeError, ValueError) as exc:
            raise _invalid("stale_after_days", _("Enter a number of days between 1 and 3,650.")) from exc
        if not 1 <= stale <= MAX_STALE_DAYS:
            raise _invalid("stale_after_days", _("Enter a number of days between 1 and 3,650."))
        out["stale_after_days"] = stale
    out["gate_fields"] = clean_gate_fields(out.get("gate_fields") or [])
    return out


def _check_kinds(pipeline: Pipeline) -> None:
    kinds = set(Stage.objects.filter(pipeline=pipeline).values_list("kind", flat=True))
    if StageKind.OPEN not in kinds:
        raise _invalid("kind", _("A pipeline needs at least one open stage."), code="open_stage_required")
    if StageKind.WON not in kinds:
        raise _invalid("kind", _("A pipeline needs at least one won stage."), code="won_stage_required")
    if StageKind.LOST not in kinds:
        raise _invalid("kind", _("A pipeline needs at least one lost stage."), code="lost_stage_required")


def _renumber(pipeline: Pipeline, ordered: list[Stage]) -> None:
    """Give ``ordered`` the orders 1…n, through a free range so the unique (pipeline, order) holds."""
    offset = (Stage.objects.filter(pipeline=pipeline).aggregate(m=Max("order"))["m"] or 0) + 1
    for i, stage in enumerate(ordered):
        Stage.objects.filter(pk=stage.pk).update(order=offset + i)
    for i, stage in enumerate(ordered, start=1):
        Stage.objects.filter(pk=stage.pk).update(order=i)
        stage.order = i


def stage_add(
    *,
    actor: User,
    pipeline: Pipeline,
    name: str,
    probability: int,
    kind: str = StageKind.OPEN,
    stale_after_days: int | None = None,
    forecast_category: str = ForecastCategory.PIPELINE,
    gate_fields: Iterable[str] = (),
    position: int | None = None,
) -> Stage:
    """Add a stage at ``position`` (1-based; at the end by default; open stages before won and lost)."""
    _require_manager(actor)
    values = _clean_stage(
        {
            "name": name,
            "probability": probability,
            "kind": kind,
            "stale_after_days": stale_after_days,
            "forecast_category": forecast_category,
            "gate_fields": list(gate_fields),
        }
    )
    with transaction.atomic():
        Pipeline.objects.select_for_update().filter(pk=pipeline.pk).first()
        stages = list(Stage.objects.filter(pipeline=pipeline).order_by("order"))
        if len(stages) >= 30:
            raise _invalid("name", _("A pipeline has at most 30 stages."))
        if position is None:
            # An open stage goes after the last open one; won and lost stages at the end.
            opens = [i for i, s in enumerate(stages) if s.kind == StageKind.OPEN]
            index = (opens[-1] + 1 if opens else 0) if values["kind"] == StageKind.OPEN else len(stages)
        else:
            index = max(0, min(len(stages), position - 1))
        top = (stages[-1].order if stages else 0) + len(stages) + 1
        stage = Stage.objects.create(pipeline=pipeline, order=top, **values)
        _renumber(pipeline, [*stages[:index], stage, *stages[index:]])
        audit.record_created(actor=actor, obj=stage, values=_stage_snapshot(stage))
    return stage


def stage_update(*, actor: User, stage: Stage, **changes: Any) -> Stage:
    _unknown(changes, STAGE_EDITABLE)
    _require_manager(actor)
    with transaction.atomic():
        Pipeline.objects.select_for_update().filter(pk=stage.pipeline_id).first()
        locked = Stage.objects.select_for_update().get(pk=stage.pk)
        before = _stage_snapshot(locked)
        current = {f: getattr(locked, f) for f in STAGE_EDITABLE}
        merged = {**current, **changes}
        # Switching to won or lost without a probability: take the one that kind requires.
        if "kind" in changes and "probability" not in changes:
            if merged["kind"] == StageKind.WON:
                merged["probability"] = 100
            elif merged["kind"] == StageKind.LOST:
                merged["probability"] = 0
        values = _clean_stage(merged)
        for name, value in values.items():
            setattr(locked, name, value)
        locked.save()
        _check_kinds(locked.pipeline)  # raises inside the transaction: the change is rolled back
        after = _stage_snapshot(locked)
        if after != before:
            audit.record_changes(actor=actor, obj=locked, before=before, after=after)
    return locked


def stage_move(*, actor: User, stage: Stage, direction: str) -> Stage:
    """Move a stage one place ``up`` or ``down``."""
    _require_manager(actor)
    if direction not in ("up", "down"):
        raise _invalid("direction", _("Select a valid choice."))
    with transaction.atomic():
        Pipeline.objects.select_for_update().filter(pk=stage.pipeline_id).first()
        stages = list(Stage.objects.filter(pipeline_id=stage.pipeline_id).order_by("order"))
        index = next(i for i, s in enumerate(stages) if s.pk == stage.pk)
        other = index - 1 if direction == "up" else index + 1
        if not 0 <= other < len(stages):
            return stages[index]
        moved = stages[index]
        before = moved.order
        stages[index], stages[other] = stages[other], stages[index]
        _renumber(moved.pipeline, stages)
        audit.record_changes(actor=actor, obj=moved, before={"order": before}, after={"order": moved.order})
    return moved


def stage_delete(*, actor: User, stage: Stage) -> None:
    """Refused when it would leave the pipeline without an open, a won or a lost stage."""
    _require_manager(actor)
    with transaction.atomic():
        pipeline = Pipeline.objects.select_for_update().get(pk=stage.pipeline_id)
        locked = Stage.objects.select_for_update().get(pk=stage.pk)
        same_kind = Stage.objects.filter(pipeline=pipeline, kind=locked.kind).count()
        if same_kind <= 1:
            messages = {
                StageKind.OPEN: (_("The last open stage of a pipeline cannot be deleted."), "open_stage_required"),
                StageKind.WON: (_("The last won stage of a pipeline cannot be deleted."), "won_stage_required"),
                StageKind.LOST: (_("The last lost stage of a pipeline cannot be deleted."), "lost_stage_required"),
            }
            message, code = messages[StageKind(locked.kind)]
            raise ApplicationError(code, message, details={"stage": [str(message)]})
        if (
            Deal.objects.filter(stage_id=locked.pk).exists()
            or DealStageChange.objects.filter(Q(to_stage_id=locked.pk) | Q(from_stage_id=locked.pk)).exists()
        ):
            message = _("Deals are or were in this stage, so it cannot be deleted; rename it instead.")
            raise ApplicationError("stage_in_use", message, details={"stage": [str(message)]})
        audit.record_deleted(actor=actor, obj=locked, values=_stage_snapshot(locked))
        locked.delete()
        _renumber(pipeline, list(Stage.objects.filter(pipeline=pipeline).order_by("order")))


# ---- lost reasons ------------------------------------------------------------------------------------


def lost_reason_create(*, actor: User, name: str, is_active: bool = True) -> LostReason:
    _require_manager(actor)
    name = _text("name", name, 80)
    with transaction.atomic():
        if LostReason.objects.filter(name=name).exists():
            raise _invalid("name", _("This reason is already in the list."), code="duplicate_name")
        order = (LostReason.objects.aggregate(m=Max("order"))["m"] or 0) + 1
        reason = LostReason.objects.create(name=name, is_active=is_active, order=order)
        audit.record_created(actor=actor, obj=reason, values=audit.snapshot(reason, LOST_REASON_FIELDS))
    return reason


def lost_reason_update(*, actor: User, reason: LostReason, **changes: Any) -> LostReason:
    _unknown(changes, ("name", "is_active"))
    _require_manager(actor)
    with transaction.atomic():
        locked = LostReason.objects.select_for_update().get(pk=reason.pk)
        before = audit.snapshot(locked, LOST_REASON_FIELDS)
        if "name" in changes:
            name = _text("name", changes["name"], 80)
            if LostReason.objects.filter(name=name).exclude(pk=locked.pk).exists():
                raise _invalid("name", _("This reason is already in the list."), code="duplicate_name")
            locked.name = name
        if "is_active" in changes:
            locked.is_active = bool(changes["is_active"])
        after = audit.snapshot(locked, LOST_REASON_FIELDS)
        if after != before:
            locked.save()
            audit.record_changes(actor=actor, obj=locked, before=before, after=after)
    return locked


def not_found() -> NotFound:
    return NotFound("not_found", _("Not found."))
