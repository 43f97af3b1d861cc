"""Writing the audit trail. Only services call these; nothing edits or deletes a row afterwards."""

from __future__ import annotations

import datetime as dt
import decimal
import uuid
from collections.abc import Iterable, Mapping
from typing import Any

from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.utils import timezone

from bridgecrm.core import context
from bridgecrm.core.models import AuditAction, AuditEntry

Snapshot = dict[str, Any]

_AUDITED_MODELS: list[str] = []


def register_audited(*labels: str) -> None:
    """Apps declare (in ``ready``) which models have a history, for the audit search form."""
    for label in labels:
        if label not in _AUDITED_MODELS:
            _AUDITED_MODELS.append(label)


def audited_model_labels() -> tuple[str, ...]:
    return tuple(_AUDITED_MODELS)


def to_json(value: Any) -> Any:
    """A JSON-safe, readable form of a field value (money as a string, times in ISO 8601 UTC)."""
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float | decimal.Decimal):
        return str(value)
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC).isoformat() if timezone.is_aware(value) else value.isoformat()
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, models.Model):
        return value.pk
    if isinstance(value, list | tuple | set | frozenset):
        return [to_json(v) for v in value]
    if isinstance(value, Mapping):
        return {str(k): to_json(v) for k, v in value.items()}
    return str(value)


def snapshot(obj: models.Model, fields: Iterable[str]) -> Snapshot:
    """The current values of ``fields`` (foreign keys by id), to diff after a change."""
    result: Snapshot = {}
    for name in fields:
        field = obj._meta.get_field(name)
        attname = getattr(field, "attname", name)
        result[name] = to_json(getattr(obj, attname))
    return result


def _actor_fields(actor: Any) -> dict[str, Any]:
    if actor is not None and getattr(actor, "is_authenticated", False):
        return {"actor_id": actor.pk, "actor_label": str(actor.get_username())[:150]}
    return {"actor_id": None, "actor_label": ""}


def _object_fields(obj: models.Model | None) -> dict[str, Any]:
    if obj is None:
        return {"content_type": None, "object_id": "", "object_repr": ""}
    return {
        "content_type": ContentType.objects.get_for_model(obj, for_concrete_model=False),
        "object_id": str(obj.pk),
        "object_repr": str(obj)[:200],
    }


def _entry(actor: Any, obj: models.Model | None, **values: Any) -> AuditEntry:
    ctx = context.current()
    return AuditEntry(
        at=timezone.now(),
        source=ctx.source.value,
        request_id=ctx.request_id,
        ip=ctx.ip or "",
        **_actor_fields(actor),
        **_object_fields(obj),
        **values,
    )


def record_created(*, actor: Any, obj: models.Model, values: Snapshot) -> AuditEntry:
    """One row for a new object, its initial values in ``new_value``."""
    return AuditEntry.objects.bulk_create([_entry(actor, obj, action=AuditAction.CREATE, new_value=values)])[0]


def record_created_many(*, actor: Any, items: Iterable[tuple[models.Model, Snapshot]]) -> list[AuditEntry]:
    """``record_created`` for many new objects in one statement per 500 (a batch of payments)."""
    rows = [_entry(actor, obj, action=AuditAction.CREATE, new_value=values) for obj, values in items]
    return AuditEntry.objects.bulk_create(rows, batch_size=500) if rows else []


def record_changes(*, actor: Any, obj: models.Model, before: Snapshot, after: Snapshot) -> list[AuditEntry]:
    """One row per field whose value differs between ``before`` and ``after``."""
    rows = [
        _entry(actor, obj, action=AuditAction.UPDATE, field=name, old_value=before.get(name), new_value=value)
        for name in dict.fromkeys([*before, *after])  # a key gone from ``after`` (a cleared value) too
        if before.get(name) != (value := after.get(name))
    ]
    return AuditEntry.objects.bulk_create(rows) if rows else []


def record_deleted(*, actor: Any, obj: models.Model, values: Snapshot) -> AuditEntry:
    return AuditEntry.objects.bulk_create([_entry(actor, obj, action=AuditAction.DELETE, old_value=values)])[0]


def record_event(
    *,
    actor: Any,
    event: str,
    obj: models.Model | None = None,
    details: Mapping[str, Any] | None = None,
    field: str = "",
    old_value: Any = None,
    new_value: Any = None,
) -> AuditEntry:
    """A security or business event that is not a field change (sign-in, token revoked…)."""
    payload = new_value if new_value is not None else (to_json(dict(details)) if details else None)
    entry = _entry(
        actor,
        obj,
        action=AuditAction.SECURITY,
        event=event,
        field=field,
        old_value=to_json(old_value),
        new_value=payload,
    )
    return AuditEntry.objects.bulk_create([entry])[0]
