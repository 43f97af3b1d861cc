from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja import Field, Query, Router, Schema

from bridgecrm.api.schemas import AuditPageOut, ErrorOut
from bridgecrm.core import selectors

router = Router(tags=["audit"])


class PageParams(Schema):
    after: str = Field("", max_length=64, description="Cursor from the previous page's next_cursor")
    limit: int = Field(50, ge=1, le=100)


@router.get(
    "/{object_type}/{object_id}",
    response={200: AuditPageOut, 401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 422: ErrorOut},
    summary="The audit trail of one record (for example users.user/42)",
)
def record_trail(request: HttpRequest, object_type: str, object_id: str, params: Query[PageParams]) -> Any:
    cursor = selectors.Cursor.decode(params.after) if params.after else None
    page = selectors.record_timeline(
        actor=request.user, model_label=object_type, object_id=object_id, cursor=cursor, limit=params.limit
    )
    return {"items": page.entries, "next_cursor": page.next_cursor}
