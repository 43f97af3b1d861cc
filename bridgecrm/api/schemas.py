from __future__ import annotations

import datetime as dt
from typing import Any

from ninja import Field, Schema


class ErrorOut(Schema):
    code: str
    message: str
    details: dict[str, Any] = Field(default_factory=dict)


class TeamRef(Schema):
    id: int
    name: str


class RoleRef(Schema):
    code: str
    name: str


class UserOut(Schema):
    id: int
    username: str
    full_name: str
    email: str
    is_active: bool
    team: TeamRef | None
    role: RoleRef | None


class MeOut(UserOut):
    phone: str
    language: str
    time_zone: str
    capabilities: list[str]

    @staticmethod
    def resolve_capabilities(obj: Any) -> list[str]:
        return sorted(obj.capabilities())


class MePatch(Schema):
    full_name: str | None = Field(None, max_length=150)
    email: str | None = Field(None, max_length=254)
    phone: str | None = Field(None, max_length=40)
    language: str | None = Field(None, max_length=10)
    time_zone: str | None = Field(None, max_length=64)


class TeamOut(Schema):
    id: int
    name: str
    kind: str
    parent_id: int | None
    manager_id: int | None
    is_active: bool


class AuditEntryOut(Schema):
    id: int
    at: dt.datetime
    actor_id: int | None
    actor_label: str
    source: str
    request_id: str
    action: str
    event: str
    object_type: str
    object_id: str
    object_repr: str
    field: str
    old_value: Any = None
    new_value: Any = None

    @staticmethod
    def resolve_object_type(obj: Any) -> str:
        ct = obj.content_type
        return f"{ct.app_label}.{ct.model}" if ct else ""


class AuditPageOut(Schema):
    items: list[AuditEntryOut]
    next_cursor: str | None
