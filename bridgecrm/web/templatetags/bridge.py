from __future__ import annotations

from typing import Any

from django import template
from django.core.exceptions import FieldDoesNotExist
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


@register.filter
def audit_field(entry: Any) -> Any:
    """The field's label in the reader's language (the stored name if the field no longer exists)."""
    model = entry.content_type.model_class() if entry.content_type_id else None
    if model is None or not entry.field:
        return entry.field
    try:
        return model._meta.get_field(entry.field).verbose_name
    except FieldDoesNotExist:  # a renamed or removed field keeps its stored name
        return entry.field
