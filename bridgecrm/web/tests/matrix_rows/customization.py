"""Authorization-matrix rows for custom fields (see matrix_support.py).

Definitions are company settings: only holders of ``fields.manage`` (admins) open the admin pages
and write through the API; everyone signed in reads, through the API, the fields they may see.
The world has one text field on customers, visible to and editable by every role."""

from __future__ import annotations

from typing import Any

from bridgecrm.customization import services
from bridgecrm.customization.models import FieldDefinition
from bridgecrm.web.tests import matrix_support
from bridgecrm.web.tests.matrix_support import (
    CREATED,
    DELETED,
    OK,
    OK_SAVED,
    REDIRECT,
    SAVED,
    UNAUTHENTICATED,
    Case,
    World,
    admin_only,
    api_user,
    url,
)

# A write to a definition must show in the "nothing changed" snapshot of denied requests.
matrix_support.TABLES.setdefault("customization.FieldDefinition", (FieldDefinition, ()))
matrix_support.TABLES.setdefault("customization.FieldDefinition.visible_to", (FieldDefinition.visible_to.through, ()))
matrix_support.TABLES.setdefault("customization.FieldDefinition.editable_by", (FieldDefinition.editable_by.through, ()))


def build(world: World) -> None:
    world.extra["custom_field"] = services.field_create(
        actor=world.c.admin, entity="customer", type="text", label_en="Matrix field", label_zh="矩阵字段"
    )
    archived = services.field_create(actor=world.c.admin, entity="deal", type="number", label_en="Matrix old")
    world.extra["archived_field"] = services.field_archive(actor=world.c.admin, field=archived)


def field_pk(w: World) -> int:
    return int(w.extra["custom_field"].pk)


def archived_pk(w: World) -> int:
    return int(w.extra["archived_field"].pk)


def new_field(w: World) -> dict[str, Any]:
    return {"entity": "contact", "type": "single_select", "label_en": "Matrix select", "label_zh": "矩阵选择"} | {
        "options": "a | A | 甲\nb | B | 乙",
        "section": "Matrix",
    }


def edit_field(w: World) -> dict[str, Any]:
    return {"label_en": "Matrix field (renamed)", "label_zh": "矩阵字段（改名）", "required": "", "section": "S"}


ROWS: list[Case] = [
    Case("customization:fields", "GET", url("customization:fields"), admin_only(OK)),
    Case("customization:field_create", "GET", url("customization:field_create"), admin_only(OK)),
    Case("customization:field_create", "POST", url("customization:field_create"), admin_only(SAVED), data=new_field),
    Case("customization:field_edit", "GET", url("customization:field_edit", field_id=field_pk), admin_only(OK)),
    Case(
        "customization:field_edit",
        "POST",
        url("customization:field_edit", field_id=field_pk),
        admin_only(SAVED),
        data=edit_field,
    ),
    Case(
        "customization:field_archive",
        "POST",
        url("customization:field_archive", field_id=field_pk),
        admin_only(SAVED),
        data=lambda w: {},
    ),
    Case(
        "customization:field_restore",
        "POST",
        url("customization:field_restore", field_id=archived_pk),
        admin_only(SAVED),
        data=lambda w: {},
    ),
    Case(
        "customization:field_move",
        "POST",
        url("customization:field_move", field_id=field_pk),
        admin_only(REDIRECT),
        data=lambda w: {"direction": "up"},
    ),
    Case(
        "api-1.0.0:custom_fields_list",
        "GET",
        url("api-1.0.0:custom_fields_list"),
        api_user(OK),
        operation="GET /api/v1/custom-fields",
    ),
    Case(
        "api-1.0.0:custom_field_create",
        "POST",
        url("api-1.0.0:custom_field_create"),
        admin_only(CREATED, anonymous=UNAUTHENTICATED),
        data=lambda w: {"entity": "deal", "type": "checkbox", "label_en": "Matrix check"},
        operation="POST /api/v1/custom-fields",
    ),
    Case(
        "api-1.0.0:custom_field_update",
        "PATCH",
        url("api-1.0.0:custom_field_update", field_id=field_pk),
        admin_only(OK_SAVED, anonymous=UNAUTHENTICATED),
        data=lambda w: {"label_en": "Matrix field (API)"},
        operation="PATCH /api/v1/custom-fields/{field_id}",
    ),
    Case(
        "api-1.0.0:custom_field_archive",
        "DELETE",
        url("api-1.0.0:custom_field_archive", field_id=field_pk),
        admin_only(DELETED, anonymous=UNAUTHENTICATED),
        operation="DELETE /api/v1/custom-fields/{field_id}",
    ),
]
