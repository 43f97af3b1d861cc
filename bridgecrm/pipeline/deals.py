"""The one write path for deals (商机): create, edit, move between stages, close, reopen, line items.

Rules every service here keeps:
- the actor must see the deal (``Deal.objects.visible_to``), and the customer and contact it is
  attached to; an unseen customer is "not found", an unseen contact is an invalid choice;
- edits carry the ``version`` the user read; a newer one is a conflict and nothing is written;
- a move checks the target stage's gate fields (after applying the values the user filled in
  place) and records a ``DealStageChange`` with the seconds spent in the stage it leaves;
- ``amount_base`` is ``amount`` in the company's base currency at the rate of the expected close
  date (or today), converted with ``core.money`` and rounded once;
- every write is audited.
"""

from __future__ import annotations

import datetime as dt
import decimal
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext

from bridgecrm.core import audit, money
from bridgecrm.core.errors import ApplicationError, Conflict, NotFound, PermissionDenied
from bridgecrm.core.selectors import rates_on
from bridgecrm.customers import policies as customer_policies
from bridgecrm.customers.models import Contact, Customer, CustomerSource
from bridgecrm.customization import services as custom_fields
from bridgecrm.customization.models import Entity
from bridgecrm.pipeline import gates, policies
from bridgecrm.pipeline.models import (
    Competitor,
    Deal,
    DealLine,
    DealStageChange,
    DealStatus,
    ForecastCategory,
    LostReason,
    Pipeline,
    Product,
    Stage,
    StageKind,
)
from bridgecrm.users.models import Team, User

DEAL_FIELDS = (
    "name",
    "customer",
    "contact",
    "pipeline",
    "stage",
    "status",
    "amount",
    "currency",
    "amount_base",
    "expected_close_date",
    "probability",
    "forecast_category",
    "owner",
    "team",
    "source",
    "next_step",
    "lost_reason",
    "lost_note",
    "closed_on",
)
# What ``deal_update`` changes; the stage, status and lost reason change through moves and closes.
EDITABLE = (
    "name",
    "customer",
    "contact",
    "amount",
    "currency",
    "expected_close_date",
    "probability",
    "forecast_category",
    "source",
    "next_step",
    "owner",
    "team",
    "collaborators",
    "competitors",
    "custom",
)
# Values a move may carry (the gate fields the user fills in place), plus the note on a loss.
MOVE_VALUES = ("amount", "expected_close_date", "contact", "probability", "competitors", "lost_reason", "next_step")
MAX_AMOUNT = decimal.Decimal("999999999999.99")
MAX_QUANTITY = decimal.Decimal("999999999.999")
MAX_LINES = 100
MAX_COMPETITORS = 20


def _invalid(field: str, message: Any, code: str = "invalid") -> ApplicationError:
    return ApplicationError(code, message, details={field: [str(message)]})


def _not_found() -> NotFound:
    return NotFound("not_found", _("Not found."))


def _forbidden() -> PermissionDenied:
    return PermissionDenied("forbidden", _("You do not have permission to do this."))


def _stale(deal: Deal) -> Conflict:
    return Conflict(
        "stale",
        _("Someone else changed this deal in the meantime. Reload the page and try again."),
        details={"current_version": [str(deal.version)]},
    )


# ---- values --------------------------------------------------------------------------------------


def clean_amount(field: str, value: Any, *, limit: decimal.Decimal = MAX_AMOUNT) -> decimal.Decimal | None:
    if value is None or value == "":
        return None
    try:
        number = decimal.Decimal(str(value).strip().replace(",", ""))
    except (decimal.InvalidOperation, ValueError) as exc:
        raise _invalid(field, _("Enter an amount.")) from exc
    if not number.is_finite() or number < 0 or number > limit:
        raise _invalid(field, _("Enter an amount between 0 and 999,999,999,999.99."))
    return number


def _clean_date(field: str, value: Any) -> dt.date | None:
    if value is None or value == "":
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError as exc:
        raise _invalid(field, _("Enter a valid date.")) from exc


def _clean_text(field: str, value: Any, limit: int, *, required: bool = False) -> str:
    text = " ".join(str(value or "").split())
    if required and not text:
        raise _invalid(field, _("This field is required."))
    if len(text) > limit:
        raise _invalid(field, _("This value is too long."))
    return text


def _clean_probability(value: Any) -> int:
    try:
        number = int(value)
    except (TypeError, ValueError) as exc:
        raise _invalid("probability", _("Enter a probability between 0 and 100.")) from exc
    if not 0 <= number <= 100:
        raise _invalid("probability", _("Enter a probability between 0 and 100."))
    return number


def _clean_forecast(value: Any) -> str:
    text = str(value or "")
    if text not in ForecastCategory.values:
        raise _invalid("forecast_category", _("Select a valid choice."))
    return text


def _clean_source(value: Any) -> str:
    text = str(value or "")
    if text and text not in CustomerSource.values:
        raise _invalid("source", _("Select a valid choice."))
    return text


def _clean_currency(value: Any) -> str:
    try:
        return money.check_currency(str(value or "CNY"))
    except ApplicationError as exc:
        raise _invalid("currency", _("Enter a three-letter currency code such as CNY.")) from exc


def amount_in_base(amount: decimal.Decimal | None, currency: str, on: dt.date | None) -> decimal.Decimal | None:
    """``amount`` in the base currency at the rate of ``on`` (today when None), rounded once."""
    if amount is None:
        return None
    rates = rates_on(on or timezone.localdate())
    return money.convert(money.Money(decimal.Decimal(amount), currency), rates.base, rates).amount


def _visible_customer(actor: User, customer: Customer | int) -> Customer:
    pk = customer.pk if isinstance(customer, Customer) else customer
    found = Customer.objects.visible_to(actor).filter(pk=pk).first()
    if found is None:
        raise _not_found()
    return found


def _contact_of(actor: User, contact: Contact | int | str | None, customer: Customer) -> Contact | None:
    if contact is None or contact == "":
        return None
    pk = contact.pk if isinstance(contact, Contact) else contact
    found = Contact.objects.visible_to(actor).filter(pk=pk, customer_id=customer.pk).first()
    if found is None:
        raise _invalid("contact", _("Choose a contact of this deal's customer."))
    return found


def competitors_from_names(names: Iterable[Any]) -> list[Competitor]:
    """Competitors by name, created when typed for the first time (matched case-insensitively)."""
    wanted: list[str] = []
    for raw in names:
        if isinstance(raw, Competitor):
            raw = raw.name
        name = " ".join(str(raw).split())
        if not name:
            continue
        if len(name) > 120:
            raise _invalid("competitors", _("A competitor's name has at most 120 characters."))
        if name.casefold() not in {w.casefold() for w in wanted}:
            wanted.append(name)
    if len(wanted) > MAX_COMPETITORS:
        raise _invalid("competitors", _("A deal has at most 20 competitors."))
    result: list[Competitor] = []
    for name in wanted:
        found = Competitor.objects.filter(name__iexact=name).order_by("id").first()
        if found is None:
            found, _created = Competitor.objects.get_or_create(name=name)
        result.append(found)
    return result


def _people(actor: User, collaborators: Iterable[User], owner: User) -> list[User]:
    people = list({u.pk: u for u in collaborators}.values())
    ids = [u.pk for u in people]
    visible = set(User.objects.visible_to(actor).filter(pk__in=ids, is_active=True).values_list("pk", flat=True))
    if set(ids) - visible:
        raise _invalid("collaborators", _("Choose collaborators among the active people you can see."))
    return [u for u in people if u.pk != owner.pk]


def _check_owner(actor: User, owner: User) -> None:
    if not owner.is_active:
        raise _invalid("owner", _("The owner must be an active user."))
    if not customer_policies.may_assign_to(actor, owner):
        raise _forbidden()


def _check_team(actor: User, team: Team | None) -> None:
    if team is not None and not Team.objects.visible_to(actor).filter(pk=team.pk, is_active=True).exists():
        raise _invalid("team", _("Choose one of your teams."))


def deal_snapshot(deal: Deal) -> audit.Snapshot:
    values = audit.snapshot(deal, DEAL_FIELDS)
    values["collaborators"] = sorted(deal.collaborators.values_list("pk", flat=True))
    values["competitors"] = sorted(deal.competitors.values_list("name", flat=True))
    values.update(custom_fields.custom_snapshot(deal.custom))
    return values


def _lines_snapshot(deal: Deal) -> list[str]:
    return [
        f"{n} × {q} @ {p} -{d}% = {s}"
        for n, q, p, d, s in deal.lines.order_by("order", "id").values_list(
            "name", "quantity", "unit_price", "discount_percent", "subtotal"
        )
    ]


# ---- gates ---------------------------------------------------------------------------------------


def required_fields(stage: Stage) -> list[str]:
    """The gate codes a deal needs to enter ``stage`` (a lost stage always needs a lost reason)."""
    codes = [c for c in stage.gate_fields if c in gates.GATE_FIELDS]
    if stage.kind == StageKind.LOST and "lost_reason" not in codes:
        codes.append("lost_reason")
    if stage.kind != StageKind.LOST and "lost_reason" in codes:
        codes.remove("lost_reason")
    return codes


def _filled(deal: Deal, code: str) -> bool:
    if code == "competitors":
        return deal.competitors.exists()
    if code == "line_items":
        return deal.lines.exists()
    if code == "probability":
        return deal.probability is not None
    if code == "next_step":
        return bool(deal.next_step.strip())
    return getattr(deal, f"{code}_id" if code in ("contact", "lost_reason") else code) is not None


def missing_fields(deal: Deal, stage: Stage) -> list[str]:
    return [code for code in required_fields(stage) if not _filled(deal, code)]


def _gate_error(stage: Stage, missing: list[str]) -> ApplicationError:
    # The separator of an enumeration in the reader's language (Chinese uses the enumeration comma 、).
    labels = pgettext("list separator", ", ").join(str(gates.GATE_FIELDS[c]) for c in missing)
    return ApplicationError(
        "gate",
        _("To move this deal to “%(stage)s”, fill in: %(fields)s.") % {"stage": stage.name, "fields": labels},
        details={"missing": missing},
    )


def _apply_values(actor: User, deal: Deal, values: Mapping[str, Any]) -> None:
    """Apply the values filled in place during a move (validated like an edit)."""
    unknown = set(values) - {*MOVE_VALUES, "lost_note"}
    if unknown:
        raise ApplicationError("invalid", _("Unknown fields."), details={f: ["unknown"] for f in sorted(unknown)})
    if "amount" in values and values["amount"] not in (None, ""):
        deal.amount = clean_amount("amount", values["amount"])
    if "expected_close_date" in values and values["expected_close_date"] not in (None, ""):
        deal.expected_close_date = _clean_date("expected_close_date", values["expected_close_date"])
    if "contact" in values and values["contact"] not in (None, ""):
        deal.contact = _contact_of(actor, values["contact"], deal.customer)
    if values.get("next_step"):
        deal.next_step = _clean_text("next_step", values["next_step"], 200)
    if "lost_reason" in values and values["lost_reason"] not in (None, ""):
        deal.lost_reason = _lost_reason(values["lost_reason"])
    if "lost_note" in values:
        deal.lost_note = _clean_text("lost_note", values["lost_note"], 500)
    if values.get("competitors"):
        names = values["competitors"]
        if isinstance(names, str):
            names = names.split(",")
        deal.competitors.set(competitors_from_names(names))


def _lost_reason(value: Any) -> LostReason:
    pk = value.pk if isinstance(value, LostReason) else value
    try:
        reason = LostReason.objects.filter(pk=int(pk), is_active=True).first()
    except (TypeError, ValueError):
        reason = None
    if reason is None:
        raise _invalid("lost_reason", _("Choose one of the lost reasons."))
    return reason


# ---- create and edit -----------------------------------------------------------------------------


def _first_open_stage(pipeline: Pipeline) -> Stage:
    stage = pipeline.stages.filter(kind=StageKind.OPEN).order_by("order").first()
    if stage is None:  # pragma: no cover - a pipeline always has an open stage
        raise _invalid("stage", _("This pipeline has no open stage."))
    return stage


def _default_pipeline() -> Pipeline:
    found = Pipeline.objects.filter(is_active=True).order_by("-is_default", "order", "id").first()
    if found is None:
        raise _invalid("pipeline", _("Set up a pipeline first."))
    return found


def deal_create(
    *,
    actor: User,
    customer: Customer | int,
    name: str,
    pipeline: Pipeline | None = None,
    stage: Stage | None = None,
    contact: Contact | int | None = None,
    amount: decimal.Decimal | str | None = None,
    currency: str = "CNY",
    expected_close_date: dt.date | str | None = None,
    probability: int | None = None,
    forecast_category: str = "",
    owner: User | None = None,
    team: Team | None = None,
    source: str = "",
    next_step: str = "",
    collaborators: Iterable[User] = (),
    competitors: Iterable[Any] = (),
    custom: dict[str, Any] | None = None,
) -> Deal:
    """A new open deal for a customer the actor sees, in the pipeline's first open stage by default.
    ``custom`` holds custom field values by key, validated by type (bridgecrm.customization)."""
    if not policies.may_create_deal(actor):
        raise _forbidden()
    customer = _visible_customer(actor, customer)
    owner = owner or actor
    _check_owner(actor, owner)
    if team is None:
        team = owner.team
    else:
        _check_team(actor, team)
    pipeline = pipeline or (stage.pipeline if stage is not None else _default_pipeline())
    if not pipeline.is_active:
        raise _invalid("pipeline", _("This pipeline is not active."))
    stage = stage or _first_open_stage(pipeline)
    if stage.pipeline_id != pipeline.pk:
        raise _invalid("stage", _("Choose a stage of this pipeline."))
    if stage.kind != StageKind.OPEN:
        raise _invalid("stage", _("A new deal starts in an open stage."))
    currency = _clean_currency(currency)
    deal = Deal(
        name=_clean_text("name", name, 200, required=True),
        customer=customer,
        contact=_contact_of(actor, contact, customer),
        pipeline=pipeline,
        stage=stage,
        status=DealStatus.OPEN,
        amount=clean_amount("amount", amount),
        currency=currency,
        expected_close_date=_clean_date("expected_close_date", expected_close_date),
        probability=stage.probability if probability is None else _clean_probability(probability),
        forecast_category=_clean_forecast(forecast_category) if forecast_category else stage.forecast_category,
        owner=owner,
        team=team,
        source=_clean_source(source),
        next_step=_clean_text("next_step", next_step, 200),
        custom=custom_fields.clean_custom(actor=actor, entity=Entity.DEAL, raw=custom, creating=True),
    )
    if deal.amount is not None:
        deal.amount = money.quantize(deal.amount, currency)
    deal.probability_overridden = deal.probability != stage.probability
    deal.forecast_overridden = deal.forecast_category != stage.forecast_category
    people = _people(actor, collaborators, owner)
    with transaction.atomic():
        deal.amount_base = amount_in_base(deal.amount, currency, deal.expected_close_date)
        now = timezone.now()
        deal.created_at = deal.updated_at = deal.stage_entered_at = now
        deal.save()
        deal.collaborators.set(people)
        deal.competitors.set(competitors_from_names(competitors))
        missing = missing_fields(deal, stage)
        if missing:
            raise _gate_error(stage, missing)
        DealStageChange.objects.create(deal=deal, from_stage=None, to_stage=stage, changed_at=now, changed_by=actor)
        audit.record_created(actor=actor, obj=deal, values=deal_snapshot(deal))
    return deal


def _lock(actor: User, deal: Deal, version: int | None) -> Deal:
    """The deal, locked for the transaction, after checking the actor sees it and the version."""
    locked = (
        Deal.objects.visible_to(actor)
        .select_for_update(of=("self",))
        .select_related("customer", "stage", "pipeline", "owner__team")
        .filter(pk=deal.pk)
        .first()
    )
    if locked is None:
        raise _not_found()
    if not policies.may_edit_deal(actor, locked):
        raise _forbidden()
    if version is not None and locked.version != version:
        raise _stale(locked)
    return locked


def cost_in_base(deal: Deal) -> decimal.Decimal | None:
    """The cost of the deal's lines in the base currency at the rate of ``amount_base``; None (unknown)
    when there are no lines or any line has no cost: a missing cost is never taken as 0."""
    rows = list(DealLine.objects.filter(deal_id=deal.pk).values_list("quantity", "unit_cost"))
    if not rows or any(cost is None for _quantity, cost in rows):
        return None
    total = sum((money.quantize(q * c, deal.currency) for q, c in rows if c is not None), decimal.Decimal(0))
    return amount_in_base(total, deal.currency, deal.expected_close_date)


def _save(actor: User, deal: Deal, before: audit.Snapshot, *, force: bool = False) -> None:
    after = deal_snapshot(deal)
    if after != before or force:
        deal.amount_base = amount_in_base(deal.amount, deal.currency, deal.expected_close_date)
        deal.cost_base = cost_in_base(deal)
        after = deal_snapshot(deal)
        deal.version += 1
        deal.updated_at = timezone.now()
        deal.save()
        audit.record_changes(actor=actor, obj=deal, before=before, after=after)


def deal_update(*, actor: User, deal: Deal, version: int, **changes: Any) -> Deal:
    """Change a deal's facts. ``version`` must be the one the user read; owner and team are for managers."""
    unknown = set(changes) - set(EDITABLE)
    if unknown:
        raise ApplicationError("invalid", _("Unknown fields."), details={f: ["unknown"] for f in sorted(unknown)})
    with transaction.atomic():
        locked = _lock(actor, deal, version)
        before = deal_snapshot(locked)
        if "customer" in changes and changes["customer"] is not None:
            customer = _visible_customer(actor, changes["customer"])
            if customer.pk != locked.customer_id:
                locked.customer = customer
                if "contact" not in changes:
                    locked.contact = None
        if "contact" in changes:
            locked.contact = _contact_of(actor, changes["contact"], locked.customer)
        if "name" in changes:
            locked.name = _clean_text("name", changes["name"], 200, required=True)
        if changes.get("currency"):
            locked.currency = _clean_currency(changes["currency"])
        if "amount" in changes:
            amount = clean_amount("amount", changes["amount"])
            locked.amount = None if amount is None else money.quantize(amount, locked.currency)
        if "expected_close_date" in changes:
            locked.expected_close_date = _clean_date("expected_close_date", changes["expected_close_date"])
        if locked.status == DealStatus.OPEN:
            if "probability" in changes:
                value = changes["probability"]
                locked.probability = locked.stage.probability if value in (None, "") else _clean_probability(value)
                locked.probability_overridden = locked.probability != locked.stage.probability
            if "forecast_category" in changes:
                value = changes["forecast_category"]
                locked.forecast_category = locked.stage.forecast_category if not value else _clean_forecast(value)
                locked.forecast_overridden = locked.forecast_category != locked.stage.forecast_category
        if "source" in changes:
            locked.source = _clean_source(changes["source"])
        if "next_step" in changes:
            locked.next_step = _clean_text("next_step", changes["next_step"], 200)
        owner = changes.get("owner") or locked.owner
        team = changes.get("team", locked.team) if "team" in changes else locked.team
        if owner.pk != locked.owner_id or (team.pk if team else None) != locked.team_id:
            if not policies.may_reassign_deal(actor, locked):
                raise _forbidden()
            if owner.pk != locked.owner_id:
                _check_owner(actor, owner)
                if "team" not in changes:
                    team = owner.team
            _check_team(actor, team)
            locked.owner, locked.team = owner, team
        if "collaborators" in changes:
            people = _people(actor, changes["collaborators"], locked.owner)
            if sorted(u.pk for u in people) != before["collaborators"]:
                if not policies.may_share_deal(actor, locked):
                    raise _forbidden()
                locked.collaborators.set(people)
        if "competitors" in changes:
            locked.competitors.set(competitors_from_names(changes["competitors"] or []))
        if changes.get("custom") is not None:
            locked.custom = custom_fields.clean_custom(
                actor=actor, entity=Entity.DEAL, raw=changes["custom"], current=locked.custom
            )
        _save(actor, locked, before)
    return locked


def deal_delete(*, actor: User, deal: Deal) -> None:
    """Soft delete: the deal leaves every list, board and total; its history stays."""
    with transaction.atomic():
        locked = _lock(actor, deal, None)
        if not policies.may_delete_deal(actor, locked):
            raise _forbidden()
        locked.deleted_at = timezone.now()
        locked.version += 1
        locked.save(update_fields=["deleted_at", "version"])
        audit.record_deleted(actor=actor, obj=locked, values=deal_snapshot(locked))


# ---- stages --------------------------------------------------------------------------------------


def deal_move_to_stage(
    *, actor: User, deal: Deal, stage: Stage, version: int, values: Mapping[str, Any] | None = None
) -> Deal:
    """Move a deal to ``stage`` of its pipeline, after checking the stage's gate fields.

    ``values`` are the missing fields the user fills in place (amount, expected close date,
    contact, lost reason…); they are applied first. A refusal names the missing fields in
    ``details["missing"]`` and writes nothing.
    """
    values = dict(values or {})
    with transaction.atomic():
        locked = _lock(actor, deal, version)
        stage = Stage.objects.get(pk=stage.pk)  # the gate as it is now, not as the caller read it
        if stage.pipeline_id != locked.pipeline_id:
            raise _invalid("stage", _("Choose a stage of this deal's pipeline."))
        before = deal_snapshot(locked)
        probability = values.pop("probability", None)
        forecast = values.pop("forecast_category", None)
        _apply_values(actor, locked, values)
        if probability not in (None, ""):
            locked.probability = _clean_probability(probability)
        missing = missing_fields(locked, stage)
        if missing:
            raise _gate_error(stage, missing)
        if stage.pk == locked.stage_id:
            _save(actor, locked, before)
            return locked
        now = timezone.now()
        seconds = max(0, int((now - locked.stage_entered_at).total_seconds()))
        DealStageChange.objects.create(
            deal=locked,
            from_stage_id=locked.stage_id,
            to_stage=stage,
            changed_at=now,
            changed_by=actor,
            seconds_in_from_stage=seconds,
        )
        locked.stage = stage
        locked.stage_entered_at = now
        locked.status = {StageKind.WON: DealStatus.WON, StageKind.LOST: DealStatus.LOST}.get(
            StageKind(stage.kind), DealStatus.OPEN
        )
        locked.closed_on = timezone.localdate(now) if locked.status != DealStatus.OPEN else None
        if locked.status != DealStatus.LOST:
            locked.lost_reason = None
            locked.lost_note = ""
        if locked.status == DealStatus.OPEN and probability not in (None, ""):
            locked.probability = _clean_probability(probability)
        else:
            locked.probability = stage.probability
        locked.probability_overridden = locked.probability != stage.probability
        if locked.status == DealStatus.OPEN and forecast:
            locked.forecast_category = _clean_forecast(forecast)
        else:
            locked.forecast_category = stage.forecast_category
        locked.forecast_overridden = locked.forecast_category != stage.forecast_category
        _save(actor, locked, before, force=True)
    return locked


def _stage_of_kind(deal: Deal, kind: str) -> Stage:
    stage = Stage.objects.filter(pipeline_id=deal.pipeline_id, kind=kind).order_by("order").first()
    if stage is None:  # pragma: no cover - a pipeline always has won and lost stages
        raise _invalid("stage", _("This pipeline has no such stage."))
    return stage


def deal_close_won(*, actor: User, deal: Deal, version: int, values: Mapping[str, Any] | None = None) -> Deal:
    return deal_move_to_stage(
        actor=actor, deal=deal, stage=_stage_of_kind(deal, StageKind.WON), version=version, values=values
    )


def deal_close_lost(
    *, actor: User, deal: Deal, version: int, lost_reason: LostReason | int | str | None, note: str = ""
) -> Deal:
    """Close as lost; a reason from the configured list is required."""
    if lost_reason in (None, ""):
        raise _invalid("lost_reason", _("Choose why the deal was lost."), code="gate")
    return deal_move_to_stage(
        actor=actor,
        deal=deal,
        stage=_stage_of_kind(deal, StageKind.LOST),
        version=version,
        values={"lost_reason": lost_reason, "lost_note": note},
    )


def deal_reopen(*, actor: User, deal: Deal, version: int, stage: Stage | None = None) -> Deal:
    """Back to an open stage: the one given, else the last open stage the deal was in."""
    if deal.status == DealStatus.OPEN:
        raise _invalid("status", _("This deal is already open."), code="not_closed")
    if stage is None:
        last = (
            DealStageChange.objects.filter(deal_id=deal.pk, to_stage__kind=StageKind.OPEN)
            .order_by("-changed_at", "-id")
            .values_list("to_stage_id", flat=True)
            .first()
        )
        stage = Stage.objects.filter(pk=last).first() if last else None
        stage = stage or _first_open_stage(deal.pipeline)
    if stage.kind != StageKind.OPEN:
        raise _invalid("stage", _("Choose an open stage."))
    return deal_move_to_stage(actor=actor, deal=deal, stage=stage, version=version)


# ---- line items ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class LineIn:
    name: str = ""
    quantity: decimal.Decimal | str | int = 1
    unit_price: decimal.Decimal | str | int = 0
    discount_percent: decimal.Decimal | str | int = 0
    product: Product | int | None = None
    # None or "": keep the cost the same line had (same product, or same name without a product), else
    # take the product's cost now. A value needs ``products.view_cost``.
    unit_cost: decimal.Decimal | str | int | None = None


def line_subtotal(
    quantity: decimal.Decimal, unit_price: decimal.Decimal, discount_percent: decimal.Decimal, currency: str
) -> decimal.Decimal:
    """quantity × unit price × (1 − discount %), computed exactly and rounded once (half up)."""
    exact = quantity * unit_price * (decimal.Decimal(100) - discount_percent) / decimal.Decimal(100)
    return money.quantize(exact, currency)


def _line_key(product_id: int | None, name: str) -> str:
    return f"p{product_id}" if product_id else f"n{name.casefold()}"


def _product_cost(product: Product, currency: str) -> decimal.Decimal | None:
    """The product's unit cost in the deal's currency at today's rate; None when unknown (no cost,
    or no exchange rate for the product's currency)."""
    if product.unit_cost is None:
        return None
    if product.currency == currency:
        return money.quantize(product.unit_cost, currency)
    try:
        rates = rates_on(timezone.localdate())
        return money.convert(money.Money(decimal.Decimal(product.unit_cost), product.currency), currency, rates).amount
    except ApplicationError:
        return None


def _line_cost(
    field: str,
    data: Mapping[str, Any],
    product: Product | None,
    name: str,
    currency: str,
    kept: dict[str, list[decimal.Decimal | None]],
    may_cost: bool,
) -> decimal.Decimal | None:
    raw = data.get("unit_cost")
    if raw is not None and str(raw).strip() != "":
        if not may_cost:
            message = _("You may not see or set costs.")
            raise PermissionDenied("forbidden", message)
        from bridgecrm.pipeline.services import clean_cost

        return clean_cost(field, raw, currency)
    previous = kept.get(_line_key(product.pk if product else None, name))
    if previous:
        return previous.pop(0)
    return _product_cost(product, currency) if product is not None else None


def _clean_line(
    index: int,
    line: LineIn | Mapping[str, Any],
    currency: str,
    kept: dict[str, list[decimal.Decimal | None]] | None = None,
    may_cost: bool = False,
) -> DealLine:
    data = line if isinstance(line, Mapping) else line.__dict__
    field = f"lines.{index}"
    product = data.get("product")
    if product not in (None, ""):
        pk = product.pk if isinstance(product, Product) else product
        product = Product.objects.filter(pk=pk, is_active=True).first()
        if product is None:
            raise _invalid(field, _("Choose an active product."))
    else:
        product = None
    name = _clean_text(field, data.get("name") or (product.name if product else ""), 200, required=True)
    try:
        quantity = decimal.Decimal(str(data.get("quantity", 1)).strip())
        price = decimal.Decimal(str(data.get("unit_price", 0)).strip())
        discount = decimal.Decimal(str(data.get("discount_percent") or 0).strip())
    except (decimal.InvalidOperation, ValueError) as exc:
        raise _invalid(field, _("Enter numbers for quantity, unit price and discount.")) from exc
    if not all(n.is_finite() for n in (quantity, price, discount)):
        raise _invalid(field, _("Enter numbers for quantity, unit price and discount."))
    if quantity <= 0 or quantity > MAX_QUANTITY or quantity != quantity.quantize(decimal.Decimal("0.001")):
        raise _invalid(field, _("The quantity is more than 0, with at most 3 decimals."))
    if price < 0 or price > MAX_AMOUNT or price != price.quantize(decimal.Decimal("0.01")):
        raise _invalid(field, _("The unit price is 0 or more, with at most 2 decimals."))
    if discount < 0 or discount > 100 or discount != discount.quantize(decimal.Decimal("0.01")):
        raise _invalid(field, _("The discount is between 0 and 100 %, with at most 2 decimals."))
    subtotal = line_subtotal(quantity, price, discount, currency)
    if subtotal > MAX_AMOUNT:
        raise _invalid(field, _("Enter an amount between 0 and 999,999,999,999.99."))
    return DealLine(
        product=product,
        name=name,
        quantity=quantity,
        unit_price=price,
        discount_percent=discount,
        subtotal=subtotal,
        unit_cost=_line_cost(field, data, product, name, currency, {} if kept is None else kept, may_cost),
        order=index,
    )


def deal_lines_set(
    *,
    actor: User,
    deal: Deal,
    version: int,
    lines: Iterable[LineIn | Mapping[str, Any]],
    amount_from_lines: bool = True,
) -> Deal:
    """Replace the deal's product lines; the deal's amount becomes their total unless told otherwise.

    Each line's unit cost is the one given (needs ``products.view_cost``), else the cost the same
    line had before (same product, or same name for a line without one), else the product's cost
    now, converted to the deal's currency. ``cost_base`` follows; a cost change is audited as an
    event only auditors see in the deal's history (reps must not read costs there)."""
    with transaction.atomic():
        locked = _lock(actor, deal, version)
        kept: dict[str, list[decimal.Decimal | None]] = {}
        costs_before: list[str] = []
        for pid, line_name, cost in locked.lines.order_by("order", "id").values_list("product_id", "name", "unit_cost"):
            kept.setdefault(_line_key(pid, line_name), []).append(cost)
            costs_before.append(f"{line_name}: {'' if cost is None else cost}")
        cost_base_before = locked.cost_base
        may_cost = policies.may_view_cost(actor)
        cleaned = [_clean_line(i, line, locked.currency, kept, may_cost) for i, line in enumerate(lines)]
        if len(cleaned) > MAX_LINES:
            raise _invalid("lines", _("A deal has at most 100 lines."))
        before = deal_snapshot(locked)
        before["lines"] = _lines_snapshot(locked)
        locked.lines.all().delete()
        for line in cleaned:
            line.deal = locked
        DealLine.objects.bulk_create(cleaned)
        total = sum((line.subtotal for line in cleaned), decimal.Decimal(0))
        if amount_from_lines and cleaned:
            if total > MAX_AMOUNT:
                raise _invalid("lines", _("Enter an amount between 0 and 999,999,999,999.99."))
            locked.amount = money.quantize(total, locked.currency)
        after_lines = _lines_snapshot(locked)
        changed = after_lines != before["lines"]
        costs_after = [f"{line.name}: {'' if line.unit_cost is None else line.unit_cost}" for line in cleaned]
        lines_before = before.pop("lines")
        _save(actor, locked, before, force=changed or costs_after != costs_before)
        if changed:
            audit.record_changes(actor=actor, obj=locked, before={"lines": lines_before}, after={"lines": after_lines})
        if costs_after != costs_before or locked.cost_base != cost_base_before:
            # A security-kind event: the deal's history shows it to auditors only, never to reps.
            audit.record_event(
                actor=actor,
                event="deal_costs_changed",
                obj=locked,
                field="line_costs",
                old_value={"lines": costs_before, "cost_base": audit.to_json(cost_base_before)},
                new_value={"lines": costs_after, "cost_base": audit.to_json(locked.cost_base)},
            )
    return locked
