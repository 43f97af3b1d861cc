from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from ninja import Field, Schema
from pydantic import BaseModel, StrictInt

# No text of ours has a use for NUL, and PostgreSQL cannot store or compare it: refuse it (422).
NO_NUL = r"^[^\x00]*$"
MAX_ID = 2**63 - 1  # the largest primary key a 64-bit column holds
# A record id in a request: positive and within a 64-bit column (a larger one would overflow the driver).
Id = Annotated[int, Field(ge=1, le=MAX_ID)]
# The same in a JSON body, strict: ``true`` or ``"5"`` is refused (422) as the schema says, where
# ``int`` would take ``true`` for 1. Not for path or query parameters, which arrive as text.
BodyId = Annotated[StrictInt, Field(ge=1, le=MAX_ID)]


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


class MePatch(BaseModel):
    # A plain pydantic model, not a ninja Schema: Schema reads attributes from any object, so a JSON
    # array or string body would pass as "no changes" instead of being refused with 422.
    full_name: str | None = Field(None, max_length=150, pattern=NO_NUL)
    email: str | None = Field(None, max_length=254, pattern=NO_NUL)
    phone: str | None = Field(None, max_length=40, pattern=NO_NUL)
    language: str | None = Field(None, max_length=10, pattern=NO_NUL)
    time_zone: str | None = Field(None, max_length=64, pattern=NO_NUL)


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
