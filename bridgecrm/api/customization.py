# No `from __future__ import annotations`: ninja reads the annotations at import time.
"""Custom fields over the API: their definitions (read by everyone for the fields they see, written
by holders of ``fields.manage``), the ``custom`` object of customers, contacts and deals, and the
OpenAPI document, which lists the current fields with their JSON types (``describe_custom``)."""

from typing import Annotated, Any

from django.db import DatabaseError
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _
from ninja import Field, Query, Router, Schema
from ninja.responses import Status
from pydantic import BaseModel, StrictBool, StrictInt

from bridgecrm.api.schemas import MAX_ID, NO_NUL, ErrorOut
from bridgecrm.core.errors import ApplicationError, Unprocessable
from bridgecrm.customization import policies, selectors, services
from bridgecrm.customization.models import Entity, FieldDefinition, FieldType
from bridgecrm.users.models import Role, User

router = Router(tags=["custom fields"])
ERRORS: dict[int, Any] = {401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 422: ErrorOut}
WRITE_ERRORS: dict[int, Any] = {400: ErrorOut, **ERRORS}
MARK = "x-custom-fields"  # on a schema's ``custom`` property: the record type whose fields it holds


def _actor(request: HttpRequest) -> User:
    assert isinstance(request.user, User)
    return request.user


def custom_property(entity: str, *, required: bool = False) -> Any:
    """The ``custom`` property of a record schema; the OpenAPI document lists the fields in it."""
    description = "Custom field values by key (see GET /custom-fields); validated by type."
    extra: dict[str, Any] = {MARK: entity}
    if required:
        return Field(default_factory=dict, description=description, json_schema_extra=extra)
    return Field(None, description=description, json_schema_extra=extra)


def resolve_custom(entity: str) -> Any:
    """A resolver for ``custom`` on a read schema: only the fields the reader may see."""

    def resolve(obj: Any, context: Any) -> dict[str, Any]:
        request = context["request"] if context else None
        actor = getattr(request, "user", None) if request is not None else None
        return selectors.visible_values(entity, actor if isinstance(actor, User) else None, obj.custom)

    return staticmethod(resolve)


def check_filters(actor: User, entity: str, params: tuple[tuple[str, str], ...]) -> None:
    """A custom filter's value of the wrong type is a 422 naming the parameter, before any query."""
    by_key = {f.key: f for f in selectors.fields_for(entity, actor)}
    for name, raw in params:
        key, _sep, op = name.removeprefix(selectors.PARAM_PREFIX).partition("__")
        if key in by_key:
            try:
                selectors.condition(by_key[key], op, raw)
            except ApplicationError as exc:
                raise Unprocessable("invalid", exc.message, details={name: [str(exc.message)]}) from exc


# ---- the OpenAPI document ---------------------------------------------------------------------

_FORMATS: dict[str, str] = {
    FieldType.DATE: "date",
    FieldType.DATETIME: "date-time",
    FieldType.URL: "uri",
    FieldType.EMAIL: "email",
}


def json_schema(field: FieldDefinition) -> dict[str, Any]:
    """The JSON type of a field's value as the API reads and writes it."""
    schema: dict[str, Any]
    options = [str(o.get("value")) for o in field.options or []]
    match field.type:
        case FieldType.NUMBER | FieldType.MONEY:
            schema = {"type": "number"}
        case FieldType.CHECKBOX:
            schema = {"type": "boolean"}
        case FieldType.USER:
            schema = {"type": "integer", "description": "A user's id."}
        case FieldType.SINGLE_SELECT:
            schema = {"type": "string", "enum": options}
        case FieldType.MULTI_SELECT:
            schema = {"type": "array", "items": {"type": "string", "enum": options}}
        case _:
            schema = {"type": "string"}
            if field.type in _FORMATS:
                schema["format"] = _FORMATS[field.type]
    schema["title"] = field.label_en
    description = " / ".join(t for t in (field.label_zh, field.help_en) if t)
    if description:
        schema["description"] = (schema.get("description", "") + " " + description).strip()
    if field.required:
        schema["x-required"] = True
    return {"anyOf": [schema, {"type": "null"}]}


def describe_custom(document: Any) -> Any:
    """``document`` with every marked ``custom`` property listing the current (active) fields of its
    record type: built on each request of the document, so a new field shows at once."""
    components = document.get("components", {}).get("schemas", {})
    by_entity: dict[str, dict[str, Any]] = {}
    for schema in components.values():
        for prop in (schema.get("properties") or {}).values():
            entity = prop.get(MARK)
            if entity is None:
                continue
            if entity not in by_entity:
                try:
                    by_entity[entity] = {f.key: json_schema(f) for f in FieldDefinition.objects.for_entity(entity)}
                except (DatabaseError, RuntimeError):
                    # No database (the document built at import time, as test tools do): a free object.
                    return document
            prop.pop("anyOf", None)
            prop.pop("additionalProperties", None)
            prop.update({"type": "object", "properties": by_entity[entity], "additionalProperties": False})
    return document


# ---- definitions ------------------------------------------------------------------------------


class OptionOut(Schema):
    value: str
    label_en: str
    label_zh: str


class FieldOut(Schema):
    id: int
    entity: str
    key: str
    type: str
    label_en: str
    label_zh: str
    help_en: str
    help_zh: str
    required: bool
    default: Any = None
    options: list[OptionOut]
    section: str
    position: int
    editable: bool = False
    visible_to: list[str] = []
    editable_by: list[str] = []


class FieldFilters(Schema):
    entity: str = Field("", pattern="^(|customer|contact|deal)$")


RoleCode = Annotated[str, Field(max_length=40, pattern=NO_NUL)]


class OptionIn(BaseModel):
    value: str = Field(..., min_length=1, max_length=60, pattern=NO_NUL)
    label_en: str = Field("", max_length=80, pattern=NO_NUL)
    label_zh: str = Field("", max_length=80, pattern=NO_NUL)


class FieldChanges(BaseModel):
    label_zh: str | None = Field(None, max_length=80, pattern=NO_NUL)
    help_en: str | None = Field(None, max_length=200, pattern=NO_NUL)
    help_zh: str | None = Field(None, max_length=200, pattern=NO_NUL)
    required: StrictBool | None = Field(None, strict=True)
    default: Any = None
    options: list[OptionIn] | None = Field(None, max_length=200)
    visible_to: list[RoleCode] | None = Field(None, max_length=20, description="Role codes; empty: everyone.")
    editable_by: list[RoleCode] | None = Field(None, max_length=20, description="Role codes; empty: everyone.")
    section: str | None = Field(None, max_length=60, pattern=NO_NUL)
    position: StrictInt | None = Field(None, ge=0, le=10_000, strict=True)


class FieldIn(FieldChanges):
    entity: str = Field(..., pattern="^(customer|contact|deal)$")
    type: str = Field(..., pattern="^(" + "|".join(FieldType.values) + ")$")
    label_en: str = Field(..., min_length=1, max_length=80, pattern=NO_NUL)
    key: str = Field("", max_length=40, pattern="^[a-z0-9_]*$")


class FieldPatch(FieldChanges):
    label_en: str | None = Field(None, min_length=1, max_length=80, pattern=NO_NUL)


def _out(field: FieldDefinition, actor: User, *, manager: bool) -> dict[str, Any]:
    editable = {f.pk for f in selectors.fields_for(field.entity, actor, editable=True)}
    data = {name: getattr(field, name) for name in FieldOut.model_fields if hasattr(field, name)}
    data["editable"] = field.pk in editable
    data["visible_to"] = sorted(r.code for r in field.visible_to.all()) if manager else []
    data["editable_by"] = sorted(r.code for r in field.editable_by.all()) if manager else []
    return data


def _roles(codes: list[str] | None) -> list[Role] | None:
    if codes is None:
        return None
    found = list(Role.objects.filter(code__in=codes))
    if len(found) != len(set(codes)):
        raise ApplicationError("invalid", _("Select a valid choice."), details={"roles": codes})
    return found


def _data(payload: BaseModel) -> dict[str, Any]:
    data = payload.model_dump(exclude_unset=True)
    for name in ("visible_to", "editable_by"):
        if name in data:
            roles = _roles(data.pop(name))
            if roles is not None:
                data[name] = roles
    if data.get("options") is not None:
        data["options"] = [dict(o) for o in data["options"]]
    return {k: v for k, v in data.items() if v is not None or k == "default"}


@router.get(
    "/custom-fields",
    response={200: list[FieldOut], **ERRORS},
    summary="Custom fields you may see",
    url_name="custom_fields_list",
)
def fields_list(request: HttpRequest, filters: Query[FieldFilters]) -> list[dict[str, Any]]:
    actor = _actor(request)
    manager = policies.may_manage(actor)
    entities = [filters.entity] if filters.entity else list(Entity.values)
    return [_out(f, actor, manager=manager) for e in entities for f in selectors.fields_for(e, actor)]


@router.post(
    "/custom-fields",
    response={201: FieldOut, **WRITE_ERRORS},
    summary="Add a custom field",
    url_name="custom_field_create",
)
def field_create(request: HttpRequest, payload: FieldIn) -> Status[dict[str, Any]]:
    actor = _actor(request)
    field = services.field_create(actor=actor, **_data(payload))
    return Status(201, _out(field, actor, manager=True))


@router.patch(
    "/custom-fields/{field_id}",
    response={200: FieldOut, **WRITE_ERRORS},
    summary="Change a custom field",
    url_name="custom_field_update",
)
def field_update(request: HttpRequest, field_id: int, payload: FieldPatch) -> dict[str, Any]:
    actor = _actor(request)
    field = selectors.definition_get(actor=actor, field_id=min(field_id, MAX_ID))
    field = services.field_update(actor=actor, field=field, **_data(payload))
    return _out(field, actor, manager=True)


@router.delete(
    "/custom-fields/{field_id}",
    response={204: None, **ERRORS},
    summary="Delete (archive) a custom field",
    url_name="custom_field_archive",
)
def field_archive(request: HttpRequest, field_id: int) -> Status[None]:
    actor = _actor(request)
    services.field_archive(actor=actor, field=selectors.definition_get(actor=actor, field_id=min(field_id, MAX_ID)))
    return Status(204, None)
