from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django import template
from django.core.exceptions import FieldDoesNotExist
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

register = template.Library()

EVENT_LABELS = {
    "sign_in": _("signed in"),
    "sign_out": _("signed out"),
    "sign_in_failed": _("failed sign-in"),
    "sign_in_throttled": _("sign-in refused: too many attempts"),
    "role_changed": _("role changed"),
    "token_created": _("API token created"),
    "token_revoked": _("API token revoked"),
    "password_changed": _("password changed"),
    "password_reset_sent": _("password reset sent"),
    "sessions_ended": _("sessions ended"),
}


@register.filter
def audit_event(code: str) -> Any:
    return EVENT_LABELS.get(code, code)


@register.filter
def audit_value(value: Any) -> str:
    if value is None or value == "":
        return "—"
    if isinstance(value, list):
        return ", ".join(str(v) for v in value) or "—"
    if isinstance(value, dict):
        return ", ".join(f"{k}: {v}" for k, v in value.items())
    return str(value)


def _custom_field(entry: Any) -> Any:
    """The custom field definition of a ``custom.<key>`` entry (archived ones too), or None."""
    from bridgecrm.customization.selectors import ENTITY_OF_MODEL, history_labels

    if not entry.content_type_id or not str(entry.field).startswith("custom."):
        return None
    entity = ENTITY_OF_MODEL.get(f"{entry.content_type.app_label}.{entry.content_type.model}")
    key = entry.field.removeprefix("custom.")
    return history_labels(entity, [key]).get(key) if entity else None


@register.filter
def audit_field(entry: Any) -> Any:
    """The field's label in the reader's language (the stored name if the field no longer exists).
    A custom field's value (``custom.<key>``) shows under the field's current label, even after a
    rename or a deletion (definitions are archived, never removed)."""
    model = entry.content_type.model_class() if entry.content_type_id else None
    if model is None or not entry.field:
        return entry.field
    custom = _custom_field(entry)
    if custom is not None:
        return custom.label
    try:
        return model._meta.get_field(entry.field).verbose_name
    except FieldDoesNotExist:  # a renamed or removed field keeps its stored name
        return entry.field


@dataclass(frozen=True)
class AuditRow:
    """One audit entry as plain, already-localised strings: list pages stay cheap per row."""

    kind: str
    at_iso: str
    at: str
    who: str
    source: str
    what: str
    old: str
    new: str
    is_change: bool
    object_label: str
    request: str


def _shorten(text: str, limit: int = 60) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _model_label(ct: Any, cache: dict[int, str]) -> str:
    if ct.pk not in cache:
        model = ct.model_class()
        cache[ct.pk] = str(model._meta.verbose_name) if model is not None else ct.model
    return cache[ct.pk]


@register.simple_tag
def audit_rows(entries: Iterable[Any], seconds: bool = False) -> list[AuditRow]:
    """Present audit entries for the timeline and the audit search (in the active language and zone)."""
    system = str(_("System"))
    pattern = "%Y-%m-%d %H:%M:%S" if seconds else "%Y-%m-%d %H:%M"
    tz = timezone.get_current_timezone()
    labels: dict[tuple[int | None, str], str] = {}
    model_labels: dict[int, str] = {}
    definitions: dict[tuple[int | None, str], Any] = {}
    rows = []
    for e in entries:
        if e.action == "security":
            what = str(audit_event(e.event))
        elif e.action in ("create", "delete"):
            what = str(_("created") if e.action == "create" else _("deleted"))
        else:
            key = (e.content_type_id, e.field)
            if key not in labels:
                labels[key] = str(audit_field(e))
                if str(e.field).startswith("custom."):
                    definitions[key] = _custom_field(e)
            what = str(_("changed %(field)s") % {"field": labels[key]})
        custom = definitions.get((e.content_type_id, e.field)) if e.action == "update" else None
        old_text, new_text = audit_value(e.old_value), audit_value(e.new_value)
        if custom is not None:
            from bridgecrm.customization.values import display

            old_text = display(custom, e.old_value) or "—"
            new_text = display(custom, e.new_value) or "—"
        ct = e.content_type
        rows.append(
            AuditRow(
                kind=e.action,
                at_iso=e.at.isoformat(),
                at=e.at.astimezone(tz).strftime(pattern),
                who=e.actor_label or system,
                source=e.source,
                what=what,
                old=_shorten(old_text),
                new=_shorten(new_text),
                is_change=e.action == "update",
                object_label=f"{_model_label(ct, model_labels)} #{e.object_id} {e.object_repr}" if ct else "",
                request=e.request_id[:8],
            )
        )
    return rows
