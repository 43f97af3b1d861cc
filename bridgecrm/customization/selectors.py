"""Reads about custom fields: which fields an actor sees or edits, and list filters and sorting.

``fields_for`` is what every path uses (forms, pages, lists, exports, the API and imports): the
active fields of one record type the actor may see (or edit), in form order. It is cached on the
actor object, which lives for one request, so a page costs three small queries for the definitions
whatever its row count; a change to any definition in this process empties the cache.

Filtering reads the record's ``custom`` JSON column. Equality (selects, checkboxes, users) is
written ``custom__contains={key: value}`` on PostgreSQL, which the GIN ``jsonb_path_ops`` index of
migration 0002 serves; on SQLite it is ``json_extract`` (JSON1). Ranges and text matches read the
key (``custom -> 'key'``); they are not indexed and scan the actor's visible rows until a page is
full. Sorting by a custom field sorts every visible row by ``custom -> 'key'`` (no index can serve
it), so its cost grows with the filtered list. Measured here (first page of 100,000 customers seen
by an admin, SQLite): ~560 ms sorted by a number field against ~50 ms for the indexed "recently
updated"; an equality filter on a select ~30 ms and a range filter ~50 ms. Filter first where the
list is large; an expression index on one hot key (``CREATE INDEX … ((custom -> 'key'))``) is the
remedy should one custom sort become common.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from django.db import connection
from django.db.models import BooleanField, F, Q, QuerySet
from django.db.models.expressions import RawSQL
from django.db.models.fields.json import KeyTextTransform, KeyTransform
from django.utils.translation import gettext_lazy as _

from bridgecrm.core.errors import ApplicationError, NotFound
from bridgecrm.customization import policies, values
from bridgecrm.customization.models import Entity, FieldDefinition, FieldType
from bridgecrm.users.models import User

PARAM_PREFIX = "cf_"
SORT_PREFIX = "cf_"
EQUALITY_TYPES = frozenset({FieldType.SINGLE_SELECT, FieldType.CHECKBOX, FieldType.USER})
RANGE_TYPES = frozenset({FieldType.NUMBER, FieldType.MONEY, FieldType.DATE, FieldType.DATETIME})
TEXT_TYPES = frozenset({FieldType.TEXT, FieldType.LONG_TEXT, FieldType.URL, FieldType.EMAIL, FieldType.PHONE})

_generation = 0  # bumped by every definition change (services), so cached lists never outlive one


def forget_cached_fields() -> None:
    global _generation
    _generation += 1


def _all_active(actor: User, entity: str) -> list[FieldDefinition]:
    cache: dict[str, Any] | None = actor.__dict__.get("_custom_fields")
    if cache is None or cache.get("generation") != _generation:
        cache = {"generation": _generation}
        actor.__dict__["_custom_fields"] = cache
    if entity not in cache:
        rows = list(FieldDefinition.objects.for_entity(entity).prefetch_related("visible_to", "editable_by"))
        for field in rows:
            field.visible_role_ids = frozenset(r.pk for r in field.visible_to.all())  # type: ignore[attr-defined]
            field.editable_role_ids = frozenset(r.pk for r in field.editable_by.all())  # type: ignore[attr-defined]
        cache[entity] = rows
    result: list[FieldDefinition] = cache[entity]
    return result


def may_see(actor: User, field: FieldDefinition) -> bool:
    return policies.role_allowed(actor, field.visible_role_ids)  # type: ignore[attr-defined]


def may_edit(actor: User, field: FieldDefinition) -> bool:
    return may_see(actor, field) and policies.role_allowed(actor, field.editable_role_ids)  # type: ignore[attr-defined]


def fields_for(entity: str, actor: User | None, *, editable: bool = False) -> list[FieldDefinition]:
    """The active fields of ``entity`` the actor may see (``editable``: may edit), in form order."""
    if actor is None or not actor.is_authenticated or not actor.is_active:
        return []
    check = may_edit if editable else may_see
    return [f for f in _all_active(actor, entity) if check(actor, f)]


def visible_values(entity: str, actor: User | None, custom: Mapping[str, Any] | None) -> dict[str, Any]:
    """The stored values of the fields the actor sees (for the API's ``custom`` object)."""
    stored = custom or {}
    return {f.key: stored[f.key] for f in fields_for(entity, actor) if f.key in stored}


@dataclass(frozen=True)
class Shown:
    """One custom value as a page shows it."""

    field: FieldDefinition
    value: Any
    text: str


def shown_values(entity: str, actor: User, custom: Mapping[str, Any] | None) -> list[Shown]:
    stored = custom or {}
    return [Shown(f, stored.get(f.key), values.display(f, stored.get(f.key))) for f in fields_for(entity, actor)]


def list_columns(entity: str, actor: User) -> list[FieldDefinition]:
    """The custom fields a list shows as columns: every visible one but long texts."""
    return [f for f in fields_for(entity, actor) if f.type != FieldType.LONG_TEXT]


def display_rows(fields: list[FieldDefinition], customs: list[Mapping[str, Any] | None]) -> list[list[str]]:
    """The display values of ``fields`` for many rows: the people of ``user`` fields in one query."""
    people = user_labels(fields, customs)
    return [display_row(fields, custom, people) for custom in customs]


def display_row(
    fields: Iterable[FieldDefinition], custom: Mapping[str, Any] | None, people: Mapping[int, str] | None = None
) -> list[str]:
    """The display values of ``fields`` for one row (list columns, exports); ``people`` names the
    users of ``user`` fields (see ``user_labels``), else each is looked up."""
    stored = custom or {}
    cells = []
    for f in fields:
        value = stored.get(f.key)
        if f.type == FieldType.USER and people is not None and value is not None:
            cells.append(people.get(value, str(value)) if isinstance(value, int) else str(value))
        else:
            cells.append(values.display(f, value))
    return cells


def user_labels(fields: Iterable[FieldDefinition], rows: Iterable[Mapping[str, Any] | None]) -> dict[int, str]:
    """The names of the people that ``user`` fields of ``rows`` point at, in one query."""
    keys = [f.key for f in fields if f.type == FieldType.USER]
    ids = {v for r in rows for k in keys if isinstance(v := (r or {}).get(k), int)}
    if not ids:
        return {}
    found = User.objects.filter(pk__in=ids).values_list("pk", "full_name", "username")
    return {pk: full or name for pk, full, name in found}


# ---- the admin pages --------------------------------------------------------------------------


def _require_manage(actor: User) -> None:
    from bridgecrm.core.errors import PermissionDenied

    if not policies.may_manage(actor):
        raise PermissionDenied("forbidden", _("You do not have permission to do this."))


def definition_list(*, actor: User, include_archived: bool = True) -> list[FieldDefinition]:
    _require_manage(actor)
    qs = FieldDefinition.objects.all() if include_archived else FieldDefinition.objects.active()
    return list(
        qs.prefetch_related("visible_to", "editable_by").order_by("entity", "archived_at", "section", "position", "id")
    )


def definition_get(*, actor: User, field_id: int) -> FieldDefinition:
    _require_manage(actor)
    field = FieldDefinition.objects.filter(pk=field_id).first() if 0 < field_id < 2**63 else None
    if field is None:
        raise NotFound("not_found", _("Not found."))
    return field


def history_labels(entity: str, keys: Iterable[str]) -> dict[str, FieldDefinition]:
    """Definitions by key, archived ones included, for the audit trail's labels and values."""
    wanted = list(set(keys))
    return {f.key: f for f in FieldDefinition.objects.filter(entity=entity, key__in=wanted)} if wanted else {}


ENTITY_OF_MODEL = {
    "customers.customer": Entity.CUSTOMER,
    "customers.contact": Entity.CONTACT,
    "pipeline.deal": Entity.DEAL,
}


# ---- list filters and sorting ---------------------------------------------------------------


def filter_params(data: Mapping[str, Any] | Any) -> tuple[tuple[str, str], ...]:
    """The ``cf_…`` parameters of a query string (a QueryDict or a dict), as sorted pairs."""
    getlist = getattr(data, "getlist", None)
    pairs: list[tuple[str, str]] = []
    for name in data:
        if not str(name).startswith(PARAM_PREFIX):
            continue
        raw = getlist(name) if getlist is not None else [data[name]]
        pairs.extend((str(name), str(v).strip()[:200]) for v in raw if str(v).strip())
    return tuple(sorted(pairs))


def _bad_filter(field: FieldDefinition, message: Any) -> ApplicationError:
    return ApplicationError("invalid", message, details={f"{PARAM_PREFIX}{field.key}": [str(message)]})


def _equals(field: FieldDefinition, value: Any) -> Q:
    if connection.vendor == "postgresql":
        # jsonb @> '{"key": value}': served by the GIN (jsonb_path_ops) index of migration 0002.
        return Q(custom__contains={field.key: value})
    return Q(**{f"custom__{field.key}": value})


def _contains_option(field: FieldDefinition, value: str) -> Q:
    if connection.vendor == "postgresql":
        return Q(custom__contains={field.key: [value]})
    # SQLite (JSON1): one of the list's items equals the option's value.
    sql = "EXISTS (SELECT 1 FROM json_each(custom, %s) WHERE json_each.value = %s)"
    path = f"$.{field.key}"  # a key is letters, digits and underscores (see services)
    return Q(RawSQL(sql, [path, value], output_field=BooleanField()))  # noqa: S611 - fixed SQL, parameters


def condition(field: FieldDefinition, op: str, raw: str) -> Q:
    """The condition of one ``cf_<key>[__op]=raw`` parameter; raises ApplicationError on bad input."""
    key = field.key
    if op == "set":
        if raw not in ("1", "0", "true", "false"):
            raise _bad_filter(field, _("Choose whether the field is set."))
        is_set = Q(custom__has_key=key) & ~Q(**{f"custom__{key}": None})
        return is_set if raw in ("1", "true") else ~is_set
    if op in ("min", "max"):
        if field.type not in RANGE_TYPES:
            raise _bad_filter(field, _("This field has no range."))
        bound = values.coerce(field, raw)
        lookup = "gte" if op == "min" else "lte"
        if field.type == FieldType.DATETIME and op == "max" and "T" not in raw and ":" not in raw:
            bound = values.coerce(field, raw + " 23:59:59")
        return Q(**{f"custom__{key}__{lookup}": bound})
    if op:
        raise _bad_filter(field, _("Unknown filter."))
    if field.type in TEXT_TYPES:
        return Q(**{f"custom__{key}__icontains": raw})
    if field.type == FieldType.MULTI_SELECT:
        return _contains_option(field, values._option(field, raw))
    if field.type in RANGE_TYPES:
        return _equals(field, values.coerce(field, raw))
    return _equals(field, values.coerce(field, raw))


def apply_filters[QS: QuerySet[Any]](qs: QS, *, entity: str, actor: User, params: Iterable[tuple[str, str]]) -> QS:
    """``qs`` narrowed by the ``cf_<key>`` parameters of fields the actor sees. A parameter naming a
    field the actor does not see (or no field) is ignored, as the list ignores unknown parameters."""
    by_key = {f.key: f for f in fields_for(entity, actor)}
    for name, raw in params:
        key, _sep, op = name.removeprefix(PARAM_PREFIX).partition("__")
        field = by_key.get(key)
        if field is None or not raw:
            continue
        qs = qs.filter(condition(field, op, raw))
    return qs


def sort_field(entity: str, actor: User, sort: str) -> tuple[FieldDefinition, bool] | None:
    """``cf_<key>`` or ``-cf_<key>`` naming a field the actor sees: (field, descending); else None."""
    descending = sort.startswith("-")
    key = sort.removeprefix("-")
    if not key.startswith(SORT_PREFIX):
        return None
    key = key.removeprefix(SORT_PREFIX)
    for field in fields_for(entity, actor):
        if field.key == key:
            return field, descending
    return None


def order_by_field[QS: QuerySet[Any]](qs: QS, field: FieldDefinition, descending: bool) -> QS:
    """Sorted by the custom value (empty ones last), then by id: a total order."""
    expr: Any = KeyTextTransform(field.key, "custom") if field.type in TEXT_TYPES else KeyTransform(field.key, "custom")
    order = [expr.desc(nulls_last=True), F("id").desc()] if descending else [expr.asc(nulls_last=True), F("id").asc()]
    return qs.order_by(*order)


def sort_choices(entity: str, actor: User) -> list[tuple[str, str]]:
    result: list[tuple[str, str]] = []
    for field in fields_for(entity, actor):
        if field.type in (FieldType.LONG_TEXT, FieldType.MULTI_SELECT):
            continue
        result.append((f"{SORT_PREFIX}{field.key}", f"{field.label} ↑"))
        result.append((f"-{SORT_PREFIX}{field.key}", f"{field.label} ↓"))
    return result
