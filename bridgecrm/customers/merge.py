"""Merging two duplicate customers: the survivor takes the chosen values and every row of the loser.

``customer_merge`` picks, per field, whether the survivor's or the loser's value stays, then moves
every row that points to the loser — found generically through the models' foreign keys and
generic relations, so the apps added later (comments, tier history, pool events…) are covered —
to the survivor, soft-deletes the loser with ``merged_into`` set, and audits it all. Unique rules
are respected: the survivor keeps its primary contact, many-to-many rows are not doubled, and a row
that cannot move because the survivor already has its one-to-one counterpart stays with the loser
(named in the audit entry).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django.apps import apps
from django.contrib.contenttypes.fields import GenericForeignKey
from django.contrib.contenttypes.models import ContentType
from django.db import IntegrityError, models, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from bridgecrm.core import audit
from bridgecrm.core.errors import ApplicationError, Conflict, NotFound, PermissionDenied
from bridgecrm.customers import normalise
from bridgecrm.customers.models import Contact, Customer
from bridgecrm.customers.services import customer_snapshot
from bridgecrm.users import capabilities
from bridgecrm.users.models import User

SURVIVOR = "survivor"
LOSER = "loser"
BOTH = "both"  # tags only: the union

# The choices of the wizard: one per line, some lines carry several columns (the place).
FIELD_GROUPS: dict[str, tuple[str, ...]] = {
    "name": ("name",),
    "kind": ("kind",),
    "lifecycle_stage": ("lifecycle_stage",),
    "source": ("source",),
    "industry": ("industry",),
    "place": ("country", "province", "city"),
    "size": ("size",),
    "estimated_annual_potential": ("estimated_annual_potential",),
    "currency": ("currency",),
    "owner": ("owner",),
    "team": ("team",),
}
TAGS = "tags"
CUSTOM_PREFIX = "custom:"
MERGE_EVENT = "customer.merged"
MERGED_INTO_EVENT = "customer.merged_into"
# Rows that are history and never change (the audit trail stays with the record it describes).
IMMUTABLE_MODELS = frozenset({"core.AuditEntry"})


def may_merge(actor: User | None) -> bool:
    return bool(
        actor is not None and actor.is_authenticated and actor.is_active and actor.can(capabilities.MERGE_CUSTOMERS)
    )


@dataclass(frozen=True)
class MergeResult:
    survivor: Customer
    moved: dict[str, int]  # model label → rows moved to the survivor
    kept: dict[str, int]  # model label → rows left with the loser (the survivor had their one-of-a-kind)


def _forbidden() -> PermissionDenied:
    return PermissionDenied("forbidden", _("You do not have permission to do this."))


def _invalid(field: str, message: Any) -> ApplicationError:
    return ApplicationError("invalid", message, details={field: [str(message)]})


def _clean_choices(choices: Mapping[str, str], survivor: Customer, loser: Customer) -> dict[str, str]:
    """Every field group gets a side (the survivor's by default, the loser's for a custom value the
    survivor lacks); unknown keys or sides are refused."""
    custom_keys = set(survivor.custom or {}) | set(loser.custom or {})
    allowed = set(FIELD_GROUPS) | {TAGS} | {CUSTOM_PREFIX + k for k in custom_keys}
    unknown = set(choices) - allowed
    if unknown:
        raise ApplicationError("invalid", _("Unknown fields."), details={f: ["unknown"] for f in sorted(unknown)})
    result: dict[str, str] = {}
    for key in sorted(allowed):
        default = SURVIVOR
        if key.startswith(CUSTOM_PREFIX) and (survivor.custom or {}).get(key[len(CUSTOM_PREFIX) :]) in (None, "", []):
            default = LOSER  # a custom value only the loser has is kept unless told otherwise
        side = choices.get(key) or default
        sides = (SURVIVOR, LOSER, BOTH) if key == TAGS else (SURVIVOR, LOSER)
        if side not in sides:
            raise _invalid(key, _("Choose which customer's value to keep."))
        result[key] = side
    return result


def _references() -> list[tuple[type[models.Model], models.Field[Any, Any]]]:
    """Every concrete foreign key or one-to-one field of any model (incl. many-to-many tables)
    that points to Customer, except Customer.merged_into."""
    found: list[tuple[type[models.Model], models.Field[Any, Any]]] = []
    for model in apps.get_models(include_auto_created=True):
        for f in model._meta.concrete_fields:
            if (
                f.is_relation
                and f.is_relation
                and (f.many_to_one or f.one_to_one)
                and f.related_model is Customer
                and not (model is Customer and f.name == "merged_into")
            ):
                found.append((model, f))
    return found


def _attname(model: type[models.Model], name: str) -> str:
    field = model._meta.get_field(name)
    assert isinstance(field, models.Field)
    return str(field.attname)


def _generic_references() -> list[tuple[type[models.Model], GenericForeignKey]]:
    found = []
    for model in apps.get_models():
        if model._meta.label in IMMUTABLE_MODELS:
            continue
        for f in model._meta.private_fields:
            if isinstance(f, GenericForeignKey):
                found.append((model, f))
    return found


def _unique_sets(model: type[models.Model], field: models.Field[Any, Any]) -> bool:
    """Does a unique rule of ``model`` involve ``field`` (so moving rows may collide)?"""
    if field.unique:
        return True
    for together in model._meta.unique_together:
        if field.name in together:
            return True
    for constraint in model._meta.constraints:
        if isinstance(constraint, models.UniqueConstraint) and field.name in (constraint.fields or ()):
            return True
    return False


def _move(
    model: type[models.Model], field: models.Field[Any, Any], loser: Customer, survivor: Customer
) -> tuple[int, int]:
    """Point the rows of ``model`` that reference the loser at the survivor: (moved, kept)."""
    manager = model._base_manager
    rows = manager.filter(**{field.attname: loser.pk})
    if not _unique_sets(model, field):
        return rows.update(**{field.attname: survivor.pk}), 0
    try:
        with transaction.atomic():
            return rows.update(**{field.attname: survivor.pk}), 0
    except IntegrityError:
        pass
    moved = kept = 0
    for pk in list(rows.values_list("pk", flat=True)):
        try:
            with transaction.atomic():
                manager.filter(pk=pk).update(**{field.attname: survivor.pk})
            moved += 1
        except IntegrityError:
            kept += 1
    return moved, kept


def _move_many_to_many(
    through: type[models.Model], field: models.Field[Any, Any], loser: Customer, survivor: Customer
) -> tuple[int, int]:
    """A many-to-many table: move the loser's rows whose other side the survivor lacks, drop the rest."""
    others = [f for f in through._meta.concrete_fields if f.is_relation and f is not field]
    if len(others) != 1:
        return _move(through, field, loser, survivor)
    other = others[0].attname
    manager = through._base_manager
    have = set(manager.filter(**{field.attname: survivor.pk}).values_list(other, flat=True))
    doubled = manager.filter(**{field.attname: loser.pk, f"{other}__in": have})
    dropped = doubled.count()
    doubled.delete()
    moved = manager.filter(**{field.attname: loser.pk}).update(**{field.attname: survivor.pk})
    return moved, dropped


def _pick(survivor: Customer, loser: Customer, side: str, name: str) -> Any:
    source = loser if side == LOSER else survivor
    return getattr(source, _attname(Customer, name))


def customer_merge(
    *,
    actor: User,
    survivor: Customer,
    loser: Customer,
    choices: Mapping[str, str] | None = None,
    survivor_version: int | None = None,
    loser_version: int | None = None,
) -> MergeResult:
    """Merge ``loser`` into ``survivor``. ``choices``: field group (see ``FIELD_GROUPS``, ``tags``,
    ``custom:<key>``) → ``survivor`` or ``loser`` (``both`` for tags). Versions, when given, must be
    current (else 409 ``stale``). Needs ``customers.merge`` and both customers visible."""
    if not may_merge(actor):
        raise _forbidden()
    visible = Customer.objects.visible_to(actor)
    if visible.filter(pk__in=[survivor.pk, loser.pk]).count() != len({survivor.pk, loser.pk}):
        raise NotFound("not_found", _("Not found."))
    if survivor.pk == loser.pk:
        raise _invalid("loser", _("Choose two different customers."))
    with transaction.atomic():
        locked = {
            c.pk: c for c in Customer.objects.select_for_update().filter(pk__in=[survivor.pk, loser.pk]).order_by("pk")
        }
        keep, drop = locked[survivor.pk], locked[loser.pk]
        if keep.deleted_at is not None or drop.deleted_at is not None:
            raise NotFound("not_found", _("Not found."))
        for customer, version in ((keep, survivor_version), (drop, loser_version)):
            if version is not None and customer.version != version:
                raise Conflict(
                    "stale",
                    _("Someone else changed one of these customers in the meantime. Reload the page and try again."),
                    details={"current_version": [str(customer.version)], "customer_id": [str(customer.pk)]},
                )
        picked = _clean_choices(choices or {}, keep, drop)
        before = customer_snapshot(keep)
        loser_before = customer_snapshot(drop)
        old_owner_id = keep.owner_id
        for group, columns in FIELD_GROUPS.items():
            for column in columns:
                setattr(keep, _attname(Customer, column), _pick(keep, drop, picked[group], column))
        custom = dict(keep.custom or {})
        for key in set(keep.custom or {}) | set(drop.custom or {}):
            if picked[CUSTOM_PREFIX + key] == LOSER:
                if key in (drop.custom or {}):
                    custom[key] = drop.custom[key]
                else:
                    custom.pop(key, None)
        keep.custom = custom
        tag_side = picked[TAGS]
        keep_tags = set(keep.tags.values_list("pk", flat=True))
        drop_tags = set(drop.tags.values_list("pk", flat=True))
        keep.name_key = normalise.name_key(keep.name)
        dates = [d for d in (keep.last_follow_up_at, drop.last_follow_up_at) if d is not None]
        keep.last_follow_up_at = max(dates) if dates else None
        due = [d for d in (keep.next_follow_up_on, drop.next_follow_up_on) if d is not None]
        keep.next_follow_up_on = min(due) if due else None
        keep.is_protected = keep.is_protected or drop.is_protected
        now = timezone.now()
        if keep.owner_id != old_owner_id:
            keep.owner_since = drop.owner_since if keep.owner_id == drop.owner_id else now
            keep.pooled_at = None if keep.owner_id is not None else (drop.pooled_at or now)
        # The survivor keeps its primary contact; the loser's is demoted when both have one.
        if Contact.objects.filter(customer=keep, is_primary=True).exists():
            Contact.objects.filter(customer=drop, is_primary=True).update(is_primary=False)
        moved: dict[str, int] = {}
        kept: dict[str, int] = {}
        for model, field in _references():
            label = model._meta.label
            if model._meta.auto_created:
                count, extra = _move_many_to_many(model, field, drop, keep)
            else:
                count, extra = _move(model, field, drop, keep)
            if count:
                moved[label] = moved.get(label, 0) + count
            if extra and not model._meta.auto_created:
                kept[label] = kept.get(label, 0) + extra
        customer_type = ContentType.objects.get_for_model(Customer)
        for model, gfk in _generic_references():
            ct_field = _attname(model, gfk.ct_field)
            rows = model._base_manager.filter(**{ct_field: customer_type.pk, gfk.fk_field: loser.pk})
            count = rows.update(**{gfk.fk_field: survivor.pk})
            if count:
                moved[model._meta.label] = moved.get(model._meta.label, 0) + count
        # Tags: the through table moved the union already; take the chosen side back out.
        if tag_side == SURVIVOR:
            keep.tags.remove(*(drop_tags - keep_tags))
        elif tag_side == LOSER:
            keep.tags.remove(*(keep_tags - drop_tags))
        if keep.owner_id is not None:
            keep.collaborators.remove(keep.owner_id)
        keep.version += 1
        keep.updated_at = now
        keep.save()
        drop.deleted_at = now
        drop.merged_into = keep
        drop.version += 1
        drop.save(update_fields=["deleted_at", "merged_into", "version"])
        after = customer_snapshot(keep)
        audit.record_changes(actor=actor, obj=keep, before=before, after=after)
        details = {
            "survivor_id": keep.pk,
            "loser_id": drop.pk,
            "loser_name": drop.name,
            "choices": picked,
            "values": after,
            "loser_values": loser_before,
            "moved": moved,
            "kept_with_loser": kept,
        }
        audit.record_event(actor=actor, event=MERGE_EVENT, obj=keep, details=details)
        audit.record_event(actor=actor, event=MERGED_INTO_EVENT, obj=drop, details=details)
    return MergeResult(survivor=keep, moved=moved, kept=kept)


def merged_history(customer: Customer, *, before: Any = None, limit: int = 20) -> list[Any]:
    """The merge events on ``customer`` (as survivor), newest first: for its timeline."""
    from bridgecrm.core.models import AuditEntry

    qs = AuditEntry.objects.for_object(customer).filter(event=MERGE_EVENT).select_related("actor")
    if before is not None:
        qs = qs.filter(at__lt=before)
    return list(qs.order_by("-at", "-id")[:limit])


def counts_by_model(customer_ids: list[int]) -> dict[str, int]:
    """Rows of every referencing table that point to these customers (for tests and the wizard)."""
    result: dict[str, int] = {}
    for model, field in _references():
        n = model._base_manager.filter(**{f"{field.attname}__in": customer_ids}).count()
        if n:
            result[model._meta.label] = result.get(model._meta.label, 0) + n
    customer_type = ContentType.objects.get_for_model(Customer)
    for model, gfk in _generic_references():
        ct_field = _attname(model, gfk.ct_field)
        n = model._base_manager.filter(
            Q(**{ct_field: customer_type.pk}), Q(**{f"{gfk.fk_field}__in": [str(i) for i in customer_ids]})
        ).count()
        if n:
            result[model._meta.label] = result.get(model._meta.label, 0) + n
    return result


def timeline_source(*, actor: Any, customer: Customer, before: Any = None, limit: int = 20) -> list[Any]:
    """``core.timeline`` source: "merged with …" on the survivor's timeline."""
    from bridgecrm.core.timeline import TimelineItem

    items = []
    for entry in merged_history(customer, before=before, limit=limit):
        details = entry.new_value if isinstance(entry.new_value, dict) else {}
        moved = sum(int(n) for n in (details.get("moved") or {}).values())
        items.append(
            TimelineItem(
                at=entry.at,
                kind="merge",
                title=str(_("Merged with “%(name)s”") % {"name": details.get("loser_name", "")}),
                detail=str(_("%(count)s records moved to this customer") % {"count": moved}),
                by=entry.actor.display_name if entry.actor is not None else entry.actor_label,
                icon="merge",
            )
        )
    return items
