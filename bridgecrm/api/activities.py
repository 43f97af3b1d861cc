# No `from __future__ import annotations`: @paginate wraps the list views (see users.py).
"""The API for activities: the same selectors and services as the UI."""

import datetime as dt
import decimal
from typing import Any

from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _
from ninja import Field, Query, Router, Schema
from ninja.pagination import paginate
from ninja.responses import Status
from pydantic import BaseModel, StrictBool, StrictInt

from bridgecrm.activities import selectors, services
from bridgecrm.activities.models import FollowUp, Notification, Task
from bridgecrm.api.pagination import Pagination
from bridgecrm.api.references import bad_reference as _bad
from bridgecrm.api.schemas import MAX_ID, NO_NUL, BodyId, ErrorOut
from bridgecrm.core.errors import ApplicationError
from bridgecrm.customers.models import Contact, Customer
from bridgecrm.pipeline.models import Deal
from bridgecrm.users.models import User

router = Router(tags=["activities"])
ERRORS: dict[int, Any] = {401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 422: ErrorOut}
WRITE_ERRORS: dict[int, Any] = {400: ErrorOut, **ERRORS}
LIST_ERRORS: dict[int, Any] = {400: ErrorOut, **ERRORS}
DATE = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$"  # a query date is spelled out: lax parsing would take "0" as 1970


def _actor(request: HttpRequest) -> User:
    assert isinstance(request.user, User)
    return request.user


def _date(field: str, raw: str | None) -> dt.date | None:
    if not raw:
        return None
    try:
        return dt.date.fromisoformat(raw)
    except ValueError as exc:
        raise ApplicationError("invalid", _("Enter a valid date."), details={field: ["invalid date"]}) from exc


# ---- schemas -------------------------------------------------------------------------------------


class FollowUpFiltersIn(Schema):
    customer: int | None = Field(None, ge=1, le=MAX_ID)
    owner: int | None = Field(None, ge=1, le=MAX_ID)
    kind: str = Field("", max_length=10, pattern=NO_NUL)
    outcome: str = Field("", max_length=10, pattern=NO_NUL)
    date_from: str | None = Field(None, alias="from", pattern=DATE, description="YYYY-MM-DD, in your time zone")
    date_to: str | None = Field(None, alias="to", pattern=DATE, description="YYYY-MM-DD, inclusive")


class FollowUpOut(Schema):
    id: int
    customer_id: int
    contact_id: int | None
    deal_id: int | None
    kind: str
    occurred_at: dt.datetime
    summary: str
    outcome: str
    next_follow_up_on: dt.date | None
    checkin_latitude: decimal.Decimal | None
    checkin_longitude: decimal.Decimal | None
    checkin_address: str
    checkin_at: dt.datetime | None
    owner_id: int
    created_at: dt.datetime
    updated_at: dt.datetime
    version: int


class FollowUpFields(BaseModel):
    contact_id: StrictInt | None = Field(None, ge=1, le=MAX_ID)
    deal_id: StrictInt | None = Field(None, ge=1, le=MAX_ID)
    occurred_at: dt.datetime | None = None
    outcome: str | None = Field(None, max_length=10, pattern=NO_NUL)
    next_follow_up_on: dt.date | None = None
    checkin_latitude: decimal.Decimal | None = Field(None, ge=-90, le=90)
    checkin_longitude: decimal.Decimal | None = Field(None, ge=-180, le=180)
    checkin_address: str | None = Field(None, max_length=200, pattern=NO_NUL)
    checkin_at: dt.datetime | None = None


class FollowUpIn(FollowUpFields):
    customer_id: StrictInt = Field(..., ge=1, le=MAX_ID)
    kind: str = Field(..., max_length=10, pattern=NO_NUL)
    summary: str = Field(..., min_length=1, max_length=4000, pattern=NO_NUL)


class FollowUpPatch(FollowUpFields):
    kind: str | None = Field(None, max_length=10, pattern=NO_NUL)
    summary: str | None = Field(None, min_length=1, max_length=4000, pattern=NO_NUL)
    version: StrictInt = Field(..., ge=1, le=MAX_ID, description="The version you read; a newer one answers 409.")


class TaskFiltersIn(Schema):
    assignee: int | None = Field(None, ge=1, le=MAX_ID)
    customer: int | None = Field(None, ge=1, le=MAX_ID)
    done: bool | None = None
    due_from: str | None = Field(None, pattern=DATE, description="YYYY-MM-DD, in your time zone")
    due_to: str | None = Field(None, pattern=DATE, description="YYYY-MM-DD, inclusive")


class TaskOut(Schema):
    id: int
    title: str
    notes: str
    due_at: dt.datetime
    remind_at: dt.datetime | None
    reminded_at: dt.datetime | None
    priority: str
    assignee_id: int
    created_by_id: int
    customer_id: int | None
    deal_id: int | None
    done_at: dt.datetime | None
    created_at: dt.datetime
    updated_at: dt.datetime
    version: int


class TaskFields(BaseModel):
    notes: str | None = Field(None, max_length=4000, pattern=NO_NUL)
    remind_at: dt.datetime | None = None
    priority: str | None = Field(None, max_length=8, pattern=NO_NUL)
    assignee_id: StrictInt | None = Field(None, ge=1, le=MAX_ID)
    customer_id: StrictInt | None = Field(None, ge=1, le=MAX_ID)
    deal_id: StrictInt | None = Field(None, ge=1, le=MAX_ID)


class TaskIn(TaskFields):
    title: str = Field(..., min_length=1, max_length=200, pattern=NO_NUL)
    due_at: dt.datetime


class TaskPatch(TaskFields):
    title: str | None = Field(None, min_length=1, max_length=200, pattern=NO_NUL)
    due_at: dt.datetime | None = None
    version: StrictInt = Field(..., ge=1, le=MAX_ID, description="The version you read; a newer one answers 409.")


class TaskCompleteIn(BaseModel):
    version: StrictInt | None = Field(None, ge=1, le=MAX_ID)
    done: StrictBool = Field(True, description="false reopens the task")


class NotificationOut(Schema):
    id: int
    kind: str
    text: str
    params: dict[str, Any]
    url: str
    created_at: dt.datetime
    read_at: dt.datetime | None

    @staticmethod
    def resolve_text(obj: Any) -> str:
        return selectors.notification_text(obj)


class NotificationFiltersIn(Schema):
    unread: bool = False
    kind: str = Field("", max_length=20, pattern=NO_NUL, description="Only this kind (e.g. mention, comment).")


class MarkReadIn(BaseModel):
    ids: list[BodyId] | None = Field(None, max_length=200, description="Omit to mark every notification read.")


class MarkReadOut(Schema):
    marked: int


# ---- references by id ----------------------------------------------------------------------------


def _aware(field: str, value: dt.datetime | None) -> dt.datetime | None:
    if value is not None and value.tzinfo is None:
        raise ApplicationError("invalid", _("Give times with a time zone offset."), details={field: ["naive datetime"]})
    return value


def _follow_up_refs(actor: User, customer: Customer, data: dict[str, Any]) -> dict[str, Any]:
    if "contact_id" in data:
        contact_id = data.pop("contact_id")
        contact = Contact.objects.filter(pk=contact_id, customer_id=customer.pk).first() if contact_id else None
        if contact_id and contact is None:
            raise _bad("contact_id")
        data["contact"] = contact
    if "deal_id" in data:
        deal_id = data.pop("deal_id")
        deal = Deal.objects.visible_to(actor).filter(pk=deal_id, customer_id=customer.pk).first() if deal_id else None
        if deal_id and deal is None:
            raise _bad("deal_id")
        data["deal"] = deal
    for name in ("occurred_at", "checkin_at"):
        if name in data:
            _aware(name, data[name])
    return data


def _task_refs(actor: User, data: dict[str, Any]) -> dict[str, Any]:
    if "assignee_id" in data:
        assignee_id = data.pop("assignee_id")
        if assignee_id is not None:
            assignee = User.objects.visible_to(actor).filter(pk=assignee_id).first()
            if assignee is None:
                raise _bad("assignee_id")
            data["assignee"] = assignee
    if "customer_id" in data:
        customer_id = data.pop("customer_id")
        customer = Customer.objects.visible_to(actor).filter(pk=customer_id).first() if customer_id else None
        if customer_id and customer is None:
            raise _bad("customer_id")
        data["customer"] = customer
    if "deal_id" in data:
        deal_id = data.pop("deal_id")
        deal = Deal.objects.visible_to(actor).filter(pk=deal_id).first() if deal_id else None
        if deal_id and deal is None:
            raise _bad("deal_id")
        data["deal"] = deal
    for name in ("due_at", "remind_at"):
        if name in data:
            _aware(name, data[name])
    return data


# ---- follow-ups ----------------------------------------------------------------------------------


@router.get("/follow-ups", response={200: list[FollowUpOut], **LIST_ERRORS}, summary="Follow-ups you may see")
@paginate(Pagination)
def follow_ups_list(request: HttpRequest, filters: Query[FollowUpFiltersIn]) -> Any:
    f = filters
    return selectors.follow_up_list(
        actor=_actor(request),
        filters=selectors.FollowUpFilters(
            kind=f.kind,
            outcome=f.outcome,
            owner_id=f.owner,
            customer_id=f.customer,
            date_from=_date("from", f.date_from),
            date_to=_date("to", f.date_to),
        ),
    )


@router.post("/follow-ups", response={201: FollowUpOut, **WRITE_ERRORS}, summary="Log a follow-up")
def follow_up_create(request: HttpRequest, payload: FollowUpIn) -> Status[FollowUp]:
    actor = _actor(request)
    data = payload.model_dump(exclude_none=True)
    customer_id = data.pop("customer_id")
    customer = Customer.objects.visible_to(actor).filter(pk=customer_id).first()
    if customer is None:
        raise _bad("customer_id")
    follow_up = services.follow_up_log(actor=actor, customer=customer, **_follow_up_refs(actor, customer, data))
    return Status(201, selectors.follow_up_get(actor=actor, follow_up_id=follow_up.pk))


@router.get("/follow-ups/{follow_up_id}", response={200: FollowUpOut, **ERRORS}, summary="One follow-up")
def follow_up_detail(request: HttpRequest, follow_up_id: int) -> FollowUp:
    return selectors.follow_up_get(actor=_actor(request), follow_up_id=follow_up_id)


@router.patch(
    "/follow-ups/{follow_up_id}",
    response={200: FollowUpOut, 409: ErrorOut, **WRITE_ERRORS},
    summary="Change a follow-up",
)
def follow_up_update(request: HttpRequest, follow_up_id: int, payload: FollowUpPatch) -> FollowUp:
    actor = _actor(request)
    follow_up = selectors.follow_up_get(actor=actor, follow_up_id=follow_up_id)
    data = payload.model_dump(exclude_unset=True)
    version = data.pop("version")
    for name in ("kind", "summary", "occurred_at"):
        if name in data and data[name] is None:
            data.pop(name)
    if "outcome" in data and data["outcome"] is None:
        data["outcome"] = ""
    if "checkin_address" in data and data["checkin_address"] is None:
        data["checkin_address"] = ""
    data = _follow_up_refs(actor, follow_up.customer, data)
    services.follow_up_update(actor=actor, follow_up=follow_up, version=version, **data)
    return selectors.follow_up_get(actor=actor, follow_up_id=follow_up_id)


@router.delete("/follow-ups/{follow_up_id}", response={204: None, **ERRORS}, summary="Delete a follow-up")
def follow_up_delete(request: HttpRequest, follow_up_id: int) -> Status[None]:
    actor = _actor(request)
    services.follow_up_delete(actor=actor, follow_up=selectors.follow_up_get(actor=actor, follow_up_id=follow_up_id))
    return Status(204, None)


# ---- tasks ---------------------------------------------------------------------------------------


@router.get("/tasks", response={200: list[TaskOut], **LIST_ERRORS}, summary="Tasks you may see")
@paginate(Pagination)
def tasks_list(request: HttpRequest, filters: Query[TaskFiltersIn]) -> Any:
    f = filters
    return selectors.task_list(
        actor=_actor(request),
        filters=selectors.TaskFilters(
            assignee_id=f.assignee,
            done=f.done,
            due_from=_date("due_from", f.due_from),
            due_to=_date("due_to", f.due_to),
            customer_id=f.customer,
        ),
    )


@router.post("/tasks", response={201: TaskOut, **WRITE_ERRORS}, summary="Create a task")
def task_create(request: HttpRequest, payload: TaskIn) -> Status[Task]:
    actor = _actor(request)
    data = _task_refs(actor, payload.model_dump(exclude_none=True))
    task = services.task_create(actor=actor, **data)
    return Status(201, selectors.task_get(actor=actor, task_id=task.pk))


@router.get("/tasks/{task_id}", response={200: TaskOut, **ERRORS}, summary="One task")
def task_detail(request: HttpRequest, task_id: int) -> Task:
    return selectors.task_get(actor=_actor(request), task_id=task_id)


@router.patch("/tasks/{task_id}", response={200: TaskOut, 409: ErrorOut, **WRITE_ERRORS}, summary="Change a task")
def task_update(request: HttpRequest, task_id: int, payload: TaskPatch) -> Task:
    actor = _actor(request)
    task = selectors.task_get(actor=actor, task_id=task_id)
    data = payload.model_dump(exclude_unset=True)
    version = data.pop("version")
    for name in ("title", "due_at", "priority", "assignee_id"):
        if name in data and data[name] is None:
            data.pop(name)
    if "notes" in data and data["notes"] is None:
        data["notes"] = ""
    services.task_update(actor=actor, task=task, version=version, **_task_refs(actor, data))
    return selectors.task_get(actor=actor, task_id=task_id)


@router.delete("/tasks/{task_id}", response={204: None, **ERRORS}, summary="Delete a task")
def task_delete(request: HttpRequest, task_id: int) -> Status[None]:
    actor = _actor(request)
    services.task_delete(actor=actor, task=selectors.task_get(actor=actor, task_id=task_id))
    return Status(204, None)


@router.post(
    "/tasks/{task_id}/complete",
    response={200: TaskOut, 409: ErrorOut, **WRITE_ERRORS},
    summary="Mark a task done (or reopen it with done=false)",
)
def task_complete(request: HttpRequest, task_id: int, payload: TaskCompleteIn) -> Task:
    actor = _actor(request)
    task = selectors.task_get(actor=actor, task_id=task_id)
    if payload.done:
        services.task_complete(actor=actor, task=task, version=payload.version)
    else:
        services.task_reopen(actor=actor, task=task, version=payload.version)
    return selectors.task_get(actor=actor, task_id=task_id)


# ---- notifications -------------------------------------------------------------------------------


@router.get("/notifications", response={200: list[NotificationOut], **ERRORS}, summary="Your notifications")
@paginate(Pagination)
def notifications_list(request: HttpRequest, filters: Query[NotificationFiltersIn]) -> Any:
    return selectors.notification_list(actor=_actor(request), unread_only=filters.unread, kind=filters.kind)


@router.post("/notifications/read", response={200: MarkReadOut, **WRITE_ERRORS}, summary="Mark notifications read")
def notifications_mark_read(request: HttpRequest, payload: MarkReadIn) -> dict[str, int]:
    actor = _actor(request)
    if payload.ids is None:
        return {"marked": services.notification_mark_all_read(actor=actor)}
    marked = 0
    found: list[Notification] = list(selectors.notification_list(actor=actor).filter(pk__in=payload.ids))
    if len(found) != len(set(payload.ids)):
        raise _bad("ids")
    for notification in found:
        if notification.read_at is None:
            services.notification_mark_read(actor=actor, notification=notification)
            marked += 1
    return {"marked": marked}
