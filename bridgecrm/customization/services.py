"""The one write path for custom field definitions (audited), and for the values of a record.

Definitions: ``field_create``, ``field_update`` (labels, help, required, default, options, roles,
section, order: never the key, the record type or the value type, so stored values keep their
meaning), ``field_archive`` (a deletion that keeps the values and the history readable),
``field_restore`` and ``field_move`` (order within a section).

Values: the customer, contact and deal services call ``clean_custom`` with the actor's input; it
validates every value by type (``values.clean_values``) against the fields the actor may edit.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.text import slugify
from django.utils.translation import gettext_lazy as _

from bridgecrm.core import audit
from bridgecrm.core.errors import ApplicationError, PermissionDenied
from bridgecrm.customization import policies, selectors, values
from bridgecrm.customization.models import Entity, FieldDefinition, FieldType
from bridgecrm.users.models import Role, User

KEY_RE = re.compile(r"^[a-z][a-z0-9]*(?:_[a-z0-9]+)*$")
MAX_FIELDS = 100  # active fields per record type
MAX_OPTIONS = 200
SELECT_TYPES = frozenset({FieldType.SINGLE_SELECT, FieldType.MULTI_SELECT})
FIELD_FIELDS = (
    "entity",
    "key",
    "type",
    "label_en",
    "label_zh",
    "help_en",
    "help_zh",
    "required",
    "default",
    "options",
    "section",
    "position",
    "archived_at",
)


def _invalid(field: str, message: Any) -> ApplicationError:
    return ApplicationError("invalid", message, details={field: [str(message)]})


def _forbidden() -> PermissionDenied:
    return PermissionDenied("forbidden", _("You do not have permission to do this."))


def _require_manage(actor: User) -> None:
    if not policies.may_manage(actor):
        raise _forbidden()


def field_snapshot(field: FieldDefinition) -> audit.Snapshot:
    values_ = audit.snapshot(field, FIELD_FIELDS)
    values_["visible_to"] = sorted(field.visible_to.values_list("code", flat=True))
    values_["editable_by"] = sorted(field.editable_by.values_list("code", flat=True))
    return values_


# ---- cleaning a definition ------------------------------------------------------------------


def _text(name: str, value: Any, limit: int, *, required: bool = False) -> str:
    text = " ".join(str(value or "").split())
    if required and not text:
        raise _invalid(name, _("This field is required."))
    if len(text) > limit:
        raise _invalid(name, _("At most %(limit)d characters.") % {"limit": limit})
    return text


def make_key(label: str, entity: str) -> str:
    """A key from the English label (``Contract number`` → ``contract_number``), unique for the type."""
    base = re.sub(r"_+", "_", slugify(label).replace("-", "_")).strip("_")[:32]
    if not base or not base[0].isalpha():
        base = f"field_{base}".rstrip("_") if base else "field"
    taken = set(FieldDefinition.objects.filter(entity=entity, key__startswith=base).values_list("key", flat=True))
    key, n = base, 2
    while key in taken:
        key, n = f"{base}_{n}", n + 1
    return key


def clean_options(raw: Any) -> list[dict[str, str]]:
    """Options as ``[{"value", "label_en", "label_zh"}]`` from that list or from lines of text
    ``value | English | 中文`` (a line with one part uses it for all three)."""
    items: list[Any]
    if isinstance(raw, str):
        items = []
        for line in raw.splitlines():
            parts = [p.strip() for p in line.split("|")]
            if not any(parts):
                continue
            value = parts[0]
            label_en = parts[1] if len(parts) > 1 and parts[1] else value
            label_zh = parts[2] if len(parts) > 2 and parts[2] else label_en
            items.append({"value": value, "label_en": label_en, "label_zh": label_zh})
    elif isinstance(raw, list):
        items = raw
    else:
        raise _invalid("options", _("Give the options as a list."))
    result: list[dict[str, str]] = []
    seen: set[str] = set()
    for item in items:
        if not isinstance(item, Mapping):
            raise _invalid("options", _("Give the options as a list."))
        value = _text("options", item.get("value"), 60)
        if not value:
            raise _invalid("options", _("Every option needs a value."))
        if value.casefold() in seen:
            raise _invalid("options", _("The option “%(value)s” is given twice.") % {"value": value})
        seen.add(value.casefold())
        label_en = _text("options", item.get("label_en") or value, 80)
        label_zh = _text("options", item.get("label_zh") or label_en, 80)
        result.append({"value": value, "label_en": label_en, "label_zh": label_zh})
    if len(result) > MAX_OPTIONS:
        raise _invalid("options", _("A field has at most 200 options."))
    return result


def _roles(name: str, roles: Iterable[Role | int]) -> list[Role]:
    ids = sorted({r.pk if isinstance(r, Role) else int(r) for r in roles})
    found = list(Role.objects.filter(pk__in=ids))
    if len(found) != len(ids):
        raise _invalid(name, _("Select a valid choice."))
    return found


def _clean_default(field: FieldDefinition, raw: Any) -> Any:
    if values.is_empty(raw):
        return None
    try:
        return values.coerce(field, raw)
    except ApplicationError as exc:
        raise _invalid("default", exc.message) from exc


def _apply(field: FieldDefinition, data: Mapping[str, Any]) -> None:
    """Set the changeable attributes of ``field`` from ``data`` (only the keys given), validated."""
    if "label_en" in data:
        field.label_en = _text("label_en", data["label_en"], 80, required=True)
    if "label_zh" in data:
        field.label_zh = _text("label_zh", data["label_zh"], 80) or field.label_en
    if "help_en" in data:
        field.help_en = _text("help_en", data["help_en"], 200)
    if "help_zh" in data:
        field.help_zh = _text("help_zh", data["help_zh"], 200)
    if "required" in data:
        field.required = bool(data["required"])
    if "section" in data:
        field.section = _text("section", data["section"], 60)
    if "position" in data and data["position"] is not None:
        try:
            position = int(data["position"])
        except (TypeError, ValueError):
            raise _invalid("position", _("Enter a whole number.")) from None
        if not 0 <= position <= 10_000:
            raise _invalid("position", _("Enter a whole number between 0 and 10,000."))
        field.position = position
    if "options" in data:
        field.options = clean_options(data["options"]) if field.type in SELECT_TYPES else []
    if field.type in SELECT_TYPES and not field.options:
        raise _invalid("options", _("A select field needs at least one option."))
    if "default" in data:
        field.default = _clean_default(field, data["default"])
    elif "options" in data and field.default is not None:
        field.default = _clean_default(field, field.default)


def _changed() -> None:
    transaction.on_commit(selectors.forget_cached_fields)
    selectors.forget_cached_fields()


# ---- definitions -----------------------------------------------------------------------------


def field_create(
    *,
    actor: User,
    entity: str,
    type: str,
    label_en: str,
    label_zh: str = "",
    key: str = "",
    help_en: str = "",
    help_zh: str = "",
    required: bool = False,
    default: Any = None,
    options: Any = (),
    visible_to: Iterable[Role | int] = (),
    editable_by: Iterable[Role | int] = (),
    section: str = "",
    position: int | None = None,
) -> FieldDefinition:
    """Add a field; it shows at once in forms, pages, lists, filters, exports, imports and the API."""
    _require_manage(actor)
    if entity not in Entity.values:
        raise _invalid("entity", _("Select a valid choice."))
    if type not in FieldType.values:
        raise _invalid("type", _("Select a valid choice."))
    label = _text("label_en", label_en, 80, required=True)
    key = str(key or "").strip().lower()
    if key:
        if len(key) > 40 or not KEY_RE.match(key):
            raise _invalid(
                "key", _("A key is lower-case letters, digits and single underscores, starting with a letter.")
            )
        if FieldDefinition.objects.filter(entity=entity, key=key).exists():
            raise _invalid("key", _("This key is taken (a deleted field keeps its key)."))
    else:
        key = make_key(label, entity)
    if FieldDefinition.objects.active().filter(entity=entity).count() >= MAX_FIELDS:
        raise _invalid("entity", _("A record type has at most 100 custom fields."))
    field = FieldDefinition(entity=entity, key=key, type=type, label_en=label)
    data: dict[str, Any] = {
        "label_zh": label_zh,
        "help_en": help_en,
        "help_zh": help_zh,
        "required": required,
        "section": section,
        "options": list(options) if not isinstance(options, str) else options,
        "default": default,
    }
    if position is None:
        last = FieldDefinition.objects.filter(entity=entity, section=_text("section", section, 60))
        data["position"] = (max(last.values_list("position", flat=True), default=0) or 0) + 10
    else:
        data["position"] = position
    _apply(field, data)
    seers, editors = _roles("visible_to", visible_to), _roles("editable_by", editable_by)
    with transaction.atomic():
        field.save()
        field.visible_to.set(seers)
        field.editable_by.set(editors)
        audit.record_created(actor=actor, obj=field, values=field_snapshot(field))
        _changed()
    return field


def field_update(
    *,
    actor: User,
    field: FieldDefinition,
    visible_to: Iterable[Role | int] | None = None,
    editable_by: Iterable[Role | int] | None = None,
    **changes: Any,
) -> FieldDefinition:
    """Change labels, help, required, default, options, roles, section or order. The key, the
    record type and the value type stay: the values already stored keep their meaning."""
    _require_manage(actor)
    fixed = {"entity", "key", "type"} & set(changes)
    unknown = set(changes) - {"label_en", "label_zh", "help_en", "help_zh", "required", "default", "options"}
    unknown -= {"section", "position"} | fixed
    if unknown:
        raise ApplicationError("invalid", _("Unknown fields."), details={f: ["unknown"] for f in sorted(unknown)})
    with transaction.atomic():
        locked = FieldDefinition.objects.select_for_update().get(pk=field.pk)
        for name in sorted(fixed):
            if str(changes[name]) != str(getattr(locked, name)):
                raise _invalid(name, _("The key, record type and type of a field cannot change; add a new field."))
        before = field_snapshot(locked)
        _apply(locked, {k: v for k, v in changes.items() if k not in fixed})
        if visible_to is not None:
            locked.visible_to.set(_roles("visible_to", visible_to))
        if editable_by is not None:
            locked.editable_by.set(_roles("editable_by", editable_by))
        after = field_snapshot(locked)
        if after != before:
            locked.version += 1
            locked.updated_at = timezone.now()
            locked.save()
            audit.record_changes(actor=actor, obj=locked, before=before, after=after)
            _changed()
    return locked


def field_archive(*, actor: User, field: FieldDefinition) -> FieldDefinition:
    """Delete a field: it leaves every form, page, list, export, import and the API; its values stay
    in the records and the history shows them under its label. Its key is never reused."""
    _require_manage(actor)
    with transaction.atomic():
        locked = FieldDefinition.objects.select_for_update().get(pk=field.pk)
        if locked.archived_at is not None:
            return locked
        before = field_snapshot(locked)
        locked.archived_at = timezone.now()
        locked.version += 1
        locked.updated_at = locked.archived_at
        locked.save()
        audit.record_changes(actor=actor, obj=locked, before=before, after=field_snapshot(locked))
        _changed()
    return locked


def field_restore(*, actor: User, field: FieldDefinition) -> FieldDefinition:
    """Bring a deleted field back, with the values it had."""
    _require_manage(actor)
    with transaction.atomic():
        locked = FieldDefinition.objects.select_for_update().get(pk=field.pk)
        if locked.archived_at is None:
            return locked
        if FieldDefinition.objects.active().filter(entity=locked.entity).count() >= MAX_FIELDS:
            raise _invalid("entity", _("A record type has at most 100 custom fields."))
        before = field_snapshot(locked)
        locked.archived_at = None
        locked.version += 1
        locked.updated_at = timezone.now()
        locked.save()
        audit.record_changes(actor=actor, obj=locked, before=before, after=field_snapshot(locked))
        _changed()
    return locked


def field_move(*, actor: User, field: FieldDefinition, up: bool) -> FieldDefinition:
    """Swap the field with its neighbour in its section (form order); renumbers the section by 10s."""
    _require_manage(actor)
    with transaction.atomic():
        siblings = list(
            FieldDefinition.objects.select_for_update()
            .active()
            .filter(entity=field.entity, section=field.section)
            .order_by("position", "id")
        )
        index = next((i for i, f in enumerate(siblings) if f.pk == field.pk), None)
        if index is None:
            return field
        other = index - 1 if up else index + 1
        if 0 <= other < len(siblings):
            siblings[index], siblings[other] = siblings[other], siblings[index]
        for number, sibling in enumerate(siblings, start=1):
            if sibling.position != number * 10:
                before = {"position": sibling.position}
                sibling.position = number * 10
                sibling.save(update_fields=["position"])
                audit.record_changes(actor=actor, obj=sibling, before=before, after={"position": sibling.position})
        _changed()
    return next(f for f in siblings if f.pk == field.pk)


# ---- values of a record ----------------------------------------------------------------------


def clean_custom(
    *,
    actor: User,
    entity: str,
    raw: Mapping[str, Any] | None,
    current: Mapping[str, Any] | None = None,
    creating: bool = False,
) -> dict[str, Any]:
    """The record's new ``custom`` dict from the actor's input ``raw`` ({key: value}).

    Every value is validated by type. A field the actor sees but may not edit is refused as
    read-only; a field the actor does not see is refused as unknown (its existence is not told).
    On creation, defaults fill what ``raw`` leaves out, also for fields the actor may not edit."""
    raw = dict(raw or {})
    editable = selectors.fields_for(entity, actor, editable=True)
    editable_keys = {f.key for f in editable}
    read_only = sorted(
        k for k in raw if k not in editable_keys and k in {f.key for f in selectors.fields_for(entity, actor)}
    )
    if read_only:
        message = _("You may not change this field.")
        raise ApplicationError(
            "invalid", message, details={f"custom.{k}": [str(message)] for k in read_only} | {"keys": read_only}
        )
    result = values.clean_values(editable, raw, current=dict(current or {}), creating=creating)
    if creating:
        for field in FieldDefinition.objects.for_entity(entity).exclude(key__in=editable_keys):
            if field.default is not None and field.key not in result:
                result[field.key] = field.default
    return result


def custom_snapshot(custom: Mapping[str, Any] | None) -> audit.Snapshot:
    """The values as audit snapshot entries ``custom.<key>``: one history row per changed field,
    shown with the field's label (see ``web/templatetags/bridge.audit_field``)."""
    return {f"custom.{k}": audit.to_json(v) for k, v in sorted((custom or {}).items())}
