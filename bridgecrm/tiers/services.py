"""The one write path for tiers: the model and its tiers, recomputation, manual tiers, and the
follow-up routine's overdue reminders.

Recomputation is set-based: three aggregate queries read every customer's facts
(``selectors.collect_facts``), a pure function scores them (``scoring.score``), and only the
customers whose tier moves are written, one ``UPDATE … WHERE id IN (…)`` per tier and chunk, with
their ``TierChange`` rows inserted in bulk. The preview runs the very same ``selectors.assign``
without writing, so what it counts is what a save gives.
"""

from __future__ import annotations

import datetime as dt
import re
import time
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from types import SimpleNamespace
from typing import Any

from django.db import IntegrityError, connection, transaction
from django.db.models import Exists, OuterRef
from django.db.models.functions import Coalesce
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from bridgecrm.activities.models import FollowUpKind, NotificationKind
from bridgecrm.activities.services import notification_create
from bridgecrm.core import audit, dates
from bridgecrm.core.errors import ApplicationError, NotFound, PermissionDenied
from bridgecrm.core.tasks import enqueue_on_commit
from bridgecrm.customers.models import Customer
from bridgecrm.customization.models import Entity, FieldDefinition, FieldType
from bridgecrm.tiers import policies, selectors
from bridgecrm.tiers.models import BANDS, ManualTier, SopReminder, Tier, TierChange, TierModel, VisitPeriod
from bridgecrm.users.models import User

WEIGHTS = (
    "weight_payments",
    "weight_won",
    "weight_frequency",
    "weight_recency",
    "weight_potential",
    "weight_size",
    "weight_industry",
)
FULL_MARKS = ("payments_full", "won_full", "potential_full")
THRESHOLDS = ("value_high", "value_medium", "potential_high", "potential_medium")
MODEL_FIELDS = (
    *WEIGHTS,
    *FULL_MARKS,
    "frequency_full",
    "recency_days",
    *THRESHOLDS,
    "size_points",
    "industry_points",
    "custom_factors",
    "grid",
)
TIER_FIELDS = ("code", "label_en", "label_zh", "follow_up_every_days", "min_visits", "visit_period", "counted_kinds")
CODE = re.compile(r"^[A-Za-z0-9_-]{1,16}$")
CHUNK = 5000


def _invalid(field: str, message: Any) -> ApplicationError:
    return ApplicationError("invalid", message, details={field: [str(message)]})


def _forbidden() -> PermissionDenied:
    return PermissionDenied("forbidden", _("You do not have permission to do this."))


def _decimal(field: str, raw: Any, low: Decimal, high: Decimal) -> Decimal:
    try:
        value = Decimal(str(raw).strip())
    except (InvalidOperation, ValueError):
        raise _invalid(field, _("Enter a number.")) from None
    if not value.is_finite() or value < low or value > high:
        raise _invalid(field, _("Enter a number between %(low)s and %(high)s.") % {"low": low, "high": high})
    return value


def _points(field: str, raw: Any, allowed: Sequence[str] | None) -> dict[str, float]:
    if not isinstance(raw, Mapping):
        raise _invalid(field, _("Give points from 0 to 100 for each choice."))
    out: dict[str, float] = {}
    for key, points in raw.items():
        if allowed is not None and str(key) not in allowed:
            raise _invalid(field, _("Unknown choice: %(choice)s") % {"choice": key})
        if points in (None, ""):
            continue
        out[str(key)] = float(_decimal(field, points, Decimal(0), Decimal(100)))
    return out


def _custom_factors(raw: Any) -> list[dict[str, Any]]:
    if not isinstance(raw, Sequence) or isinstance(raw, str):
        raise _invalid("custom_factors", _("Choose custom fields with a weight."))
    fields = {f.key: f for f in FieldDefinition.objects.for_entity(Entity.CUSTOMER)}
    out, seen = [], set()
    for item in raw:
        key = str(item.get("key", "")) if isinstance(item, Mapping) else ""
        field = fields.get(key)
        if field is None or key in seen:
            raise _invalid("custom_factors", _("Unknown or repeated custom field: %(key)s") % {"key": key})
        seen.add(key)
        weight = float(_decimal("custom_factors", item.get("weight", 0), Decimal(0), Decimal(1000)))
        if field.type in (FieldType.NUMBER, FieldType.MONEY):
            full = float(_decimal("custom_factors", item.get("full"), Decimal("0.01"), Decimal("1e15")))
            out.append({"key": key, "weight": weight, "full": full})
        elif field.type == FieldType.SINGLE_SELECT:
            options = [str(o.get("value")) for o in field.options or []]
            out.append({"key": key, "weight": weight, "points": _points("custom_factors", item.get("points"), options)})
        else:
            raise _invalid("custom_factors", _("Only number, money and single-select fields can score."))
    return out


def _clean_tiers(rows: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    codes: set[str] = set()
    for position, row in enumerate(rows):
        code = str(row.get("code") or "").strip()
        if not CODE.match(code):
            raise _invalid("tiers", _("A tier code is 1 to 16 letters, digits, - or _."))
        if code in codes:
            raise _invalid("tiers", _("Each tier code once: %(code)s") % {"code": code})
        codes.add(code)
        label_en = " ".join(str(row.get("label_en") or "").split())[:60]
        if not label_en:
            raise _invalid("tiers", _("Every tier needs an English label."))
        every = row.get("follow_up_every_days")
        every_days = None if every in (None, "") else int(_decimal("tiers", every, Decimal(1), Decimal(3650)))
        visits = int(_decimal("tiers", row.get("min_visits") or 0, Decimal(0), Decimal(100)))
        period = str(row.get("visit_period") or VisitPeriod.MONTH)
        if period not in VisitPeriod.values:
            raise _invalid("tiers", _("Select a valid choice."))
        kinds = [str(k) for k in row.get("counted_kinds") or []]
        if any(k not in FollowUpKind.values for k in kinds):
            raise _invalid("tiers", _("Select a valid choice."))
        out.append(
            {
                "code": code,
                "label_en": label_en,
                "label_zh": " ".join(str(row.get("label_zh") or "").split())[:60],
                "position": position,
                "follow_up_every_days": every_days,
                "min_visits": visits,
                "visit_period": period,
                "counted_kinds": [k for k in FollowUpKind.values if k in kinds],
            }
        )
    if not out:
        raise _invalid("tiers", _("Define at least one tier."))
    return out


def clean_model(values: Mapping[str, Any], tier_codes: Sequence[str]) -> dict[str, Any]:
    """Every field of the tier model, checked; raises a translated ``ApplicationError``."""
    from bridgecrm.customers.models import Industry, SizeBand

    missing = [name for name in MODEL_FIELDS if name not in values]
    if missing:
        raise ApplicationError("invalid", _("Missing fields."), details={f: ["missing"] for f in missing})
    out: dict[str, Any] = {}
    for name in WEIGHTS:
        out[name] = _decimal(name, values[name], Decimal(0), Decimal(1000))
    for name in FULL_MARKS:
        out[name] = _decimal(name, values[name], Decimal("0.01"), Decimal("1e13"))
    out["frequency_full"] = int(_decimal("frequency_full", values["frequency_full"], Decimal(1), Decimal(1000)))
    out["recency_days"] = int(_decimal("recency_days", values["recency_days"], Decimal(1), Decimal(3650)))
    for name in THRESHOLDS:
        out[name] = _decimal(name, values[name], Decimal(0), Decimal(100)).quantize(Decimal("0.1"))
    if out["value_medium"] > out["value_high"]:
        raise _invalid("value_medium", _("The medium threshold cannot be above the high one."))
    if out["potential_medium"] > out["potential_high"]:
        raise _invalid("potential_medium", _("The medium threshold cannot be above the high one."))
    out["size_points"] = _points("size_points", values["size_points"], SizeBand.values)
    out["industry_points"] = _points("industry_points", values["industry_points"], Industry.values)
    out["custom_factors"] = _custom_factors(values["custom_factors"])
    grid = values["grid"]
    clean_grid: dict[str, dict[str, str]] = {}
    for value_band in BANDS:
        row = grid.get(value_band) if isinstance(grid, Mapping) else None
        clean_grid[value_band] = {}
        for potential_band in BANDS:
            code = str(row.get(potential_band, "")) if isinstance(row, Mapping) else ""
            if code not in tier_codes:
                raise _invalid("grid", _("Every cell of the grid needs one of the tiers."))
            clean_grid[value_band][potential_band] = code
    out["grid"] = clean_grid
    return out


# ---- the model -------------------------------------------------------------------------------------


def _model_snapshot(model: TierModel) -> audit.Snapshot:
    return audit.snapshot(model, MODEL_FIELDS)


def _tier_snapshot(tier: Tier) -> audit.Snapshot:
    return audit.snapshot(tier, (*TIER_FIELDS, "position"))


def tier_model_preview(
    *, actor: User, values: Mapping[str, Any], tier_rows: Sequence[Mapping[str, Any]], today: dt.date | None = None
) -> dict[str, int]:
    """How many customers each tier would hold with these (unsaved) rules: the real run's arithmetic
    on the real facts, manual tiers included, nothing written."""
    if not policies.may_manage(actor):
        raise _forbidden()
    rows = _clean_tiers(tier_rows)
    cleaned = clean_model(values, [r["code"] for r in rows])
    params = selectors.params_of(SimpleNamespace(**cleaned, version=0))
    assignment = selectors.assign(params, today=today or dates.company_today())
    return assignment.counts()


def tier_model_save(
    *,
    actor: User,
    values: Mapping[str, Any],
    tier_rows: Sequence[Mapping[str, Any]],
    version: int | None = None,
    recompute: bool = True,
) -> TierModel:
    """Save the rules and the tiers (created, changed, removed by code), then recompute on commit."""
    if not policies.may_manage(actor):
        raise _forbidden()
    rows = _clean_tiers(tier_rows)
    codes = [r["code"] for r in rows]
    cleaned = clean_model(values, codes)
    with transaction.atomic():
        model = TierModel.objects.select_for_update().filter(pk=selectors.tier_model().pk).get()
        if version is not None and model.version != version:
            raise ApplicationError(
                "stale",
                _("Someone else changed the tier model in the meantime. Reload the page and try again."),
                details={"version": [str(model.version)]},
            )
        pinned = set(ManualTier.objects.exclude(tier__in=codes).values_list("tier", flat=True))
        if pinned:
            raise _invalid(
                "tiers",
                _("Tier %(code)s is set by hand on some customers: clear those first.") % {"code": sorted(pinned)[0]},
            )
        existing = {t.code: t for t in Tier.objects.select_for_update()}
        now = timezone.now()
        for row in rows:
            tier = existing.pop(row["code"], None)
            if tier is None:
                tier = Tier.objects.create(**row, created_at=now, updated_at=now)
                audit.record_created(actor=actor, obj=tier, values=_tier_snapshot(tier))
                continue
            before = _tier_snapshot(tier)
            for name, value in row.items():
                setattr(tier, name, value)
            after = _tier_snapshot(tier)
            if after != before:
                tier.updated_at = now
                tier.save()
                audit.record_changes(actor=actor, obj=tier, before=before, after=after)
        for tier in existing.values():
            audit.record_deleted(actor=actor, obj=tier, values=_tier_snapshot(tier))
            tier.delete()
        before = _model_snapshot(model)
        for name, value in cleaned.items():
            setattr(model, name, value)
        after = _model_snapshot(model)
        if after != before:
            model.version += 1
            model.updated_at = now
            model.updated_by = actor
            model.save()
            audit.record_changes(actor=actor, obj=model, before=before, after=after)
        if recompute:
            from bridgecrm.tiers import tasks

            enqueue_on_commit(tasks.recompute_tiers)
    return model


def tier_recompute_request(*, actor: User) -> None:
    """ "Recompute now": runs as a task after the request commits."""
    if not policies.may_manage(actor):
        raise _forbidden()
    from bridgecrm.tiers import tasks

    audit.record_event(actor=actor, event="tiers_recompute_requested")
    enqueue_on_commit(tasks.recompute_tiers)


# ---- recomputation ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class RecomputeResult:
    customers: int
    changed: int
    counts: dict[str, int]
    seconds: float


def _chunks(items: Sequence[int], size: int = CHUNK) -> list[Sequence[int]]:
    return [items[i : i + size] for i in range(0, len(items), size)]


def _insert_history(changes: Sequence[tuple[int, str, str, Any]], *, version: int, at: dt.datetime) -> None:
    """The ``TierChange`` rows of a run, with ``executemany`` in chunks: ``bulk_create`` spends more
    time building 100,000 model instances than the database spends storing them."""
    quote = connection.ops.quote_name
    columns = ", ".join(quote(c) for c in ("customer_id", "from_tier", "to_tier", "reason", "manual", "at"))
    reason = "%s::jsonb" if connection.vendor == "postgresql" else "%s"
    table = quote(TierChange._meta.db_table)
    sql = f"INSERT INTO {table} ({columns}) VALUES (%s, %s, %s, {reason}, %s, %s)"  # noqa: S608 - model names
    moment = connection.ops.adapt_datetimefield_value(at)
    with connection.cursor() as cursor:
        for start in range(0, len(changes), CHUNK):
            cursor.executemany(
                sql,
                [
                    (pk, old, new, result.reason_json(version), False, moment)
                    for pk, old, new, result in changes[start : start + CHUNK]
                ],
            )


def tiers_recompute(*, today: dt.date | None = None, customer_ids: Sequence[int] | None = None) -> RecomputeResult:
    """Score every live customer (or the ones given) and write the tiers that move, with their
    history. Customers with a manual tier are left alone. Idempotent: a second run writes nothing."""
    started = time.perf_counter()
    today = today or dates.company_today()
    model = selectors.tier_model()
    params = selectors.params_of(model)
    assignment = selectors.assign(params, today=today, customer_ids=customer_ids)
    changes = assignment.changes()
    now = timezone.now()
    by_tier: dict[str, list[int]] = defaultdict(list)
    for pk, _old, new, _result in changes:
        by_tier[new].append(pk)
    unpinned = ~Exists(ManualTier.objects.filter(customer_id=OuterRef("pk")))
    with transaction.atomic():
        for code, pks in by_tier.items():
            for chunk in _chunks(pks):
                Customer.objects.filter(unpinned, pk__in=chunk).update(tier=code)
        _insert_history(changes, version=model.version, at=now)
        if customer_ids is None:
            audit.record_event(
                actor=None,
                event="tiers_recomputed",
                details={"customers": len(assignment.results), "changed": len(changes), "version": model.version},
            )
    return RecomputeResult(
        customers=len(assignment.results),
        changed=len(changes),
        counts=assignment.counts(),
        seconds=round(time.perf_counter() - started, 3),
    )


# ---- manual tiers ----------------------------------------------------------------------------------


def _editable_customer(actor: User, customer: Customer) -> Customer:
    found = Customer.objects.visible_to(actor).filter(pk=customer.pk).first()
    if found is None:
        raise NotFound("not_found", _("Not found."))
    if not policies.may_set_manual(actor, found):
        raise _forbidden()
    return found


def manual_tier_set(*, actor: User, customer: Customer, tier: str, reason: str) -> ManualTier:
    """Pin the customer's tier, with a reason; recomputation leaves it until it is cleared."""
    customer = _editable_customer(actor, customer)
    reason = " ".join(str(reason or "").split())
    if not reason:
        raise _invalid("reason", _("Say why this customer gets this tier."))
    if len(reason) > 500:
        raise _invalid("reason", _("This value is too long."))
    if not Tier.objects.filter(code=tier).exists():
        raise _invalid("tier", _("Select a valid choice."))
    now = timezone.now()
    with transaction.atomic():
        locked = Customer.objects.select_for_update().get(pk=customer.pk)
        old = locked.tier
        pinned = ManualTier.objects.select_for_update().filter(customer=locked).first()
        if pinned is None:
            pinned = ManualTier.objects.create(customer=locked, tier=tier, reason=reason, set_by=actor, set_at=now)
            audit.record_created(actor=actor, obj=pinned, values=audit.snapshot(pinned, ("customer", "tier", "reason")))
        else:
            before = audit.snapshot(pinned, ("tier", "reason"))
            pinned.tier, pinned.reason, pinned.set_by, pinned.set_at = tier, reason, actor, now
            pinned.save()
            audit.record_changes(
                actor=actor, obj=pinned, before=before, after=audit.snapshot(pinned, ("tier", "reason"))
            )
        if old != tier:
            Customer.objects.filter(pk=locked.pk).update(tier=tier)
            audit.record_changes(actor=actor, obj=locked, before={"tier": old}, after={"tier": tier})
        TierChange.objects.create(
            customer=locked, from_tier=old, to_tier=tier, reason={"note": reason}, manual=True, by=actor, at=now
        )
    return pinned


def manual_tier_clear(*, actor: User, customer: Customer) -> str:
    """Unpin: the scores decide again at once. Returns the customer's tier now."""
    customer = _editable_customer(actor, customer)
    today = dates.company_today()
    with transaction.atomic():
        locked = Customer.objects.select_for_update().get(pk=customer.pk)
        pinned = ManualTier.objects.select_for_update().filter(customer=locked).first()
        if pinned is None:
            return locked.tier
        audit.record_deleted(actor=actor, obj=pinned, values=audit.snapshot(pinned, ("customer", "tier", "reason")))
        pinned.delete()
        model = selectors.tier_model()
        assignment = selectors.assign(selectors.params_of(model), today=today, customer_ids=[locked.pk])
        result = assignment.results[locked.pk]
        if result.tier != locked.tier:
            Customer.objects.filter(pk=locked.pk).update(tier=result.tier)
            audit.record_changes(actor=actor, obj=locked, before={"tier": locked.tier}, after={"tier": result.tier})
        TierChange.objects.create(
            customer=locked,
            from_tier=locked.tier,
            to_tier=result.tier,
            reason={"cleared": True, **result.reason(model.version)},
            manual=True,
            by=actor,
        )
    return result.tier


# ---- routine reminders -----------------------------------------------------------------------------


def sop_reminders_send(*, today: dt.date | None = None) -> int:
    """Notify the owner of each customer overdue by its tier's routine: once per customer and due
    date (a unique row claims it, in the notification's transaction), so reruns and two workers
    at once send nothing twice. In-app, and by e-mail when configured (``notification_create``)."""
    today = today or dates.company_today()
    candidates = (
        Customer.objects.filter(deleted_at__isnull=True, owner__isnull=False)
        .annotate(since=Coalesce("owner_since", "created_at"))
        .filter(selectors.overdue_condition(today))
        .select_related("owner")
        .order_by("pk")
    )
    sent = 0
    labels = selectors.tier_labels()
    batch: list[Customer] = []
    for customer in candidates.iterator(chunk_size=500):
        batch.append(customer)
        if len(batch) == 500:
            sent += _remind(batch, today, labels)
            batch = []
    if batch:
        sent += _remind(batch, today, labels)
    return sent


def _remind(customers: list[Customer], today: dt.date, labels: dict[str, str]) -> int:
    statuses = selectors.sop_statuses(customers, today=today)
    done = set(
        SopReminder.objects.filter(customer_id__in=[c.pk for c in customers]).values_list("customer_id", "due_on")
    )
    sent = 0
    for customer in customers:
        status = statuses[customer.pk]
        owner = customer.owner
        if status.due_on is None or status.due_on >= today or owner is None or (customer.pk, status.due_on) in done:
            continue
        try:
            with transaction.atomic():
                SopReminder.objects.create(customer=customer, due_on=status.due_on, recipient=owner)
                notification_create(
                    recipient=owner,
                    kind=NotificationKind.SOP_OVERDUE,
                    params={
                        "customer_id": customer.pk,
                        "name": customer.name,
                        "due_on": status.due_on.isoformat(),
                        "days": status.overdue_days,
                        "tier": labels.get(customer.tier, customer.tier),
                    },
                    url=reverse("customers:detail", kwargs={"customer_id": customer.pk}),
                )
        except IntegrityError:
            continue  # another run claimed it first
        sent += 1
    return sent
