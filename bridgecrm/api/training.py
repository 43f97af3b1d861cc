# No `from __future__ import annotations`: @paginate wraps the list views (see users.py).
"""The API for training, coaching and the know-how library: the same selectors and services as the UI."""

import datetime as dt
import decimal
from typing import Annotated, Any, Literal

from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _
from ninja import Field, Query, Router, Schema
from ninja.pagination import paginate
from ninja.responses import Status
from pydantic import BaseModel, StrictBool, StrictInt

from bridgecrm.api.pagination import Pagination
from bridgecrm.api.references import bad_reference as _bad
from bridgecrm.api.schemas import MAX_ID, NO_NUL, BodyId, ErrorOut, Id
from bridgecrm.core import dates
from bridgecrm.core.errors import ApplicationError
from bridgecrm.customers.models import Customer
from bridgecrm.pipeline.models import Deal, Product
from bridgecrm.training import policies, selectors, services
from bridgecrm.training.models import Article, CoachingPlan, Enrollment, TrainingCourse, TrainingSession
from bridgecrm.users.models import User

router = Router(tags=["training"])
ERRORS: dict[int, Any] = {401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 422: ErrorOut}
WRITE_ERRORS: dict[int, Any] = {400: ErrorOut, **ERRORS}
DATE = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$"  # spelled out: lax parsing would take "0" as 1970
Score = Annotated[decimal.Decimal, Field(ge=0, le=100, max_digits=5, decimal_places=2)]


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


def _product(product_id: int | None) -> Product | None:
    if product_id is None:
        return None
    product = Product.objects.filter(pk=product_id).first()
    if product is None:
        raise _bad("product_id")
    return product


# ---- schemas -------------------------------------------------------------------------------------


class PersonRef(Schema):
    id: int
    username: str
    name: str = Field(validation_alias="display_name")


class CourseOut(Schema):
    id: int
    title: str
    kind: str
    product_id: int | None
    description: str
    pass_score: decimal.Decimal | None = Field(description="Empty: attending completes the course")
    is_active: bool


class CourseIn(BaseModel):
    title: str = Field(..., min_length=1, max_length=200, pattern=NO_NUL)
    kind: Literal["product", "skill", "compliance", "other"] = "skill"
    product_id: BodyId | None = None
    description: str = Field("", max_length=5000, pattern=NO_NUL)
    pass_score: Score | None = None


class MaterialOut(Schema):
    id: int
    title: str
    link: str
    original_name: str
    content_type: str
    size: int
    download_url: str


class SessionOut(Schema):
    id: int
    course: CourseOut
    starts_at: dt.datetime
    duration_minutes: int
    trainer_id: int | None
    trainer_name: str
    location: str
    notes: str
    is_open: bool


class SessionDetailOut(SessionOut):
    materials: list[MaterialOut]


class SessionIn(BaseModel):
    course_id: BodyId
    starts_at: dt.datetime = Field(description="ISO 8601 with a time zone offset")
    duration_minutes: StrictInt = Field(60, ge=1, le=1440)
    trainer_id: BodyId | None = None
    trainer_name: str = Field("", max_length=120, pattern=NO_NUL)
    location: str = Field("", max_length=200, pattern=NO_NUL)
    notes: str = Field("", max_length=5000, pattern=NO_NUL)
    is_open: StrictBool = True


class SessionFiltersIn(Schema):
    course: int | None = Field(None, ge=1, le=MAX_ID)
    when: Literal["", "upcoming", "past"] = ""


class EnrollmentOut(Schema):
    id: int
    session_id: int
    user: PersonRef
    attended: bool | None
    score: decimal.Decimal | None
    completed_at: dt.datetime | None
    created_at: dt.datetime


class EnrolIn(BaseModel):
    user_ids: list[BodyId] = Field(..., min_length=1, max_length=200)


class RecordIn(BaseModel):
    attended: StrictBool | None = Field(description="true attended, false absent, null not recorded")
    score: Score | None = None


class EnrolmentFiltersIn(Schema):
    user_id: int | None = Field(None, ge=1, le=MAX_ID)
    session_id: int | None = Field(None, ge=1, le=MAX_ID)


class KpiIO(BaseModel):
    code: str = Field(..., min_length=1, max_length=40, pattern=NO_NUL)
    label: str = Field("", max_length=100, pattern=NO_NUL)


class CheckInOut(Schema):
    id: int
    held_on: dt.date
    note: str
    private_note: str | None = Field(description="Null for readers who may not see private notes (the rep)")
    author_id: int | None


class CoachingOut(Schema):
    id: int
    rep: PersonRef
    coach: PersonRef
    title: str
    goals: str
    kpis: list[KpiIO]
    kpi_note: str
    next_check_in: dt.date | None
    status: str


class CoachingDetailOut(CoachingOut):
    check_ins: list[CheckInOut]


class CoachingIn(BaseModel):
    rep_id: BodyId
    title: str = Field(..., min_length=1, max_length=200, pattern=NO_NUL)
    goals: str = Field("", max_length=5000, pattern=NO_NUL)
    kpis: list[KpiIO] = Field(default_factory=list, max_length=12)
    kpi_note: str = Field("", max_length=2000, pattern=NO_NUL)
    next_check_in: str | None = Field(None, pattern=DATE)


class CheckInIn(BaseModel):
    held_on: str = Field(..., pattern=DATE)
    note: str = Field(..., min_length=1, max_length=5000, pattern=NO_NUL)
    private_note: str = Field("", max_length=5000, pattern=NO_NUL)
    next_check_in: str | None = Field(None, pattern=DATE)


class CoachingFiltersIn(Schema):
    status: Literal["", "active", "paused", "completed"] = ""


class DueFiltersIn(Schema):
    within_days: int = Field(7, ge=0, le=365)


class CoachingDueOut(Schema):
    plan_id: int
    title: str
    rep_id: int
    rep_name: str
    coach_id: int
    coach_name: str
    next_check_in: dt.date
    days_overdue: int


class ArticleOut(Schema):
    id: int
    kind: str
    title: str
    tags: list[str] = Field(validation_alias="tag_list")
    author_id: int | None
    product_id: int | None
    created_at: dt.datetime
    updated_at: dt.datetime


class ArticleDetailOut(ArticleOut):
    body: str
    customer_id: int | None = Field(description="Null unless you may see the linked customer")
    deal_id: int | None = Field(description="Null unless you may see the linked deal")


class ArticleIn(BaseModel):
    kind: Literal["story", "playbook", "objection"]
    title: str = Field(..., min_length=1, max_length=200, pattern=NO_NUL)
    body: str = Field(..., min_length=1, max_length=50_000, pattern=NO_NUL)
    tags: list[Annotated[str, Field(max_length=40, pattern=NO_NUL)]] = Field(default_factory=list, max_length=20)
    customer_id: BodyId | None = None
    deal_id: BodyId | None = None
    product_id: BodyId | None = None


class LibraryFiltersIn(Schema):
    q: str = Field("", max_length=100, pattern=NO_NUL)
    tag: str = Field("", max_length=40, pattern=NO_NUL)
    kind: Literal["", "story", "playbook", "objection"] = ""


# ---- courses and sessions ------------------------------------------------------------------------


@router.get("/training/courses", response={200: list[CourseOut], **ERRORS}, summary="Active training courses")
@paginate(Pagination)
def courses_list(request: HttpRequest) -> Any:
    return selectors.courses(actor=_actor(request)).order_by("title", "id")


@router.post("/training/courses", response={201: CourseOut, **WRITE_ERRORS}, summary="Create a course")
def course_create(request: HttpRequest, payload: CourseIn) -> Status[TrainingCourse]:
    course = services.course_create(
        actor=_actor(request),
        title=payload.title,
        kind=payload.kind,
        description=payload.description,
        pass_score=payload.pass_score,
        product=_product(payload.product_id),
    )
    return Status(201, course)


def _session_out(session: TrainingSession) -> dict[str, Any]:
    return {
        "id": session.pk,
        "course": session.course,
        "starts_at": session.starts_at,
        "duration_minutes": session.duration_minutes,
        "trainer_id": session.trainer_id,
        "trainer_name": session.trainer_name,
        "location": session.location,
        "notes": session.notes,
        "is_open": session.is_open,
    }


@router.get(
    "/training/sessions",
    response={200: list[SessionOut], **ERRORS},
    summary="Sessions you may see (all for training managers; otherwise open ones and yours)",
)
@paginate(Pagination)
def sessions_list(request: HttpRequest, filters: Query[SessionFiltersIn]) -> Any:
    upcoming = {"upcoming": True, "past": False}.get(filters.when)
    return selectors.sessions(actor=_actor(request), course_id=filters.course, upcoming=upcoming)


def _session_refs(actor: User, payload: SessionIn) -> dict[str, Any]:
    course = selectors.courses(actor=actor).filter(pk=payload.course_id).first()
    if course is None:
        raise _bad("course_id")
    trainer = None
    if payload.trainer_id is not None:
        trainer = User.objects.visible_to(actor).filter(pk=payload.trainer_id, is_active=True).first()
        if trainer is None:
            raise _bad("trainer_id")
    if payload.starts_at.tzinfo is None:
        raise ApplicationError("invalid", _("Give times with a time zone offset."), details={"starts_at": ["naive"]})
    return {
        "course": course,
        "starts_at": payload.starts_at,
        "duration_minutes": payload.duration_minutes,
        "trainer": trainer,
        "trainer_name": payload.trainer_name,
        "location": payload.location,
        "notes": payload.notes,
        "is_open": payload.is_open,
    }


@router.put(
    "/training/sessions/{session_id}", response={200: SessionDetailOut, **WRITE_ERRORS}, summary="Change a session"
)
def session_update(request: HttpRequest, session_id: Id, payload: SessionIn) -> dict[str, Any]:
    actor = _actor(request)
    session = selectors.session_get(actor=actor, session_id=session_id)
    policies.require(policies.may_manage(actor))
    services.session_update(actor=actor, session=session, **_session_refs(actor, payload))
    return _session_detail(selectors.session_get(actor=actor, session_id=session_id))


@router.delete(
    "/training/materials/{material_id}", response={204: None, **ERRORS}, summary="Remove a session's material"
)
def material_delete(request: HttpRequest, material_id: Id) -> Status[None]:
    actor = _actor(request)
    services.material_delete(actor=actor, material=selectors.material_get(actor=actor, material_id=material_id))
    return Status(204, None)


@router.post("/training/sessions", response={201: SessionDetailOut, **WRITE_ERRORS}, summary="Create a session")
def session_create(request: HttpRequest, payload: SessionIn) -> Status[dict[str, Any]]:
    actor = _actor(request)
    policies.require(policies.may_manage(actor))
    return Status(201, _session_detail(services.session_create(actor=actor, **_session_refs(actor, payload))))


def _session_detail(session: TrainingSession) -> dict[str, Any]:
    from django.urls import reverse

    materials = [
        {
            "id": m.pk,
            "title": m.title,
            "link": m.link,
            "original_name": m.original_name,
            "content_type": m.content_type,
            "size": m.size,
            "download_url": reverse("training:material_download", kwargs={"material_id": m.pk}),
        }
        for m in selectors.session_materials(session=session)
    ]
    return {**_session_out(session), "materials": materials}


@router.get("/training/sessions/{session_id}", response={200: SessionDetailOut, **ERRORS}, summary="A session")
def session_detail(request: HttpRequest, session_id: Id) -> dict[str, Any]:
    return _session_detail(selectors.session_get(actor=_actor(request), session_id=session_id))


@router.get(
    "/training/sessions/{session_id}/enrolments",
    response={200: list[EnrollmentOut], **ERRORS},
    summary="A session's enrolments you may see (yours, and those of the people you manage)",
)
def session_enrolments(request: HttpRequest, session_id: Id) -> list[Enrollment]:
    actor = _actor(request)
    session = selectors.session_get(actor=actor, session_id=session_id)
    return selectors.session_enrollments(actor=actor, session=session)


@router.post(
    "/training/sessions/{session_id}/enrolments",
    response={201: list[EnrollmentOut], **WRITE_ERRORS},
    summary="Enrol people you manage (those already enrolled are skipped); each is notified",
)
def session_enrol(request: HttpRequest, session_id: Id, payload: EnrolIn) -> Status[list[Enrollment]]:
    actor = _actor(request)
    session = selectors.session_get(actor=actor, session_id=session_id)
    policies.require(policies.may_manage(actor))
    users = list(selectors.enrollable_people(actor=actor).filter(pk__in=payload.user_ids))
    if len(users) != len(set(payload.user_ids)):
        raise _bad("user_ids")
    services.enrollment_add(actor=actor, session=session, users=users)
    return Status(201, selectors.session_enrollments(actor=actor, session=session))


@router.get(
    "/training/enrolments",
    response={200: list[EnrollmentOut], **ERRORS},
    summary="Enrolments you may see: yours and those of the people you manage",
)
@paginate(Pagination)
def enrolments_list(request: HttpRequest, filters: Query[EnrolmentFiltersIn]) -> Any:
    qs = selectors.enrollments_visible(actor=_actor(request)).select_related("user")
    if filters.user_id:
        qs = qs.filter(user_id=filters.user_id)
    if filters.session_id:
        qs = qs.filter(session_id=filters.session_id)
    return qs.order_by("-session__starts_at", "id")


@router.patch(
    "/training/enrolments/{enrollment_id}",
    response={200: EnrollmentOut, **WRITE_ERRORS},
    summary="Record attendance and the assessment score (completion follows the course's pass score)",
)
def enrolment_record(request: HttpRequest, enrollment_id: Id, payload: RecordIn) -> Enrollment:
    actor = _actor(request)
    enrollment = selectors.enrollment_get(actor=actor, enrollment_id=enrollment_id)
    services.enrollment_record(actor=actor, enrollment=enrollment, attended=payload.attended, score=payload.score)
    return selectors.enrollment_get(actor=actor, enrollment_id=enrollment_id)


# ---- coaching --------------------------------------------------------------------------------------


@router.get("/training/coaching", response={200: list[CoachingOut], **ERRORS}, summary="Coaching plans you may see")
@paginate(Pagination)
def coaching_list(request: HttpRequest, filters: Query[CoachingFiltersIn]) -> Any:
    return selectors.coaching_plans(actor=_actor(request), status=filters.status)


@router.get(
    "/training/coaching/due",
    response={200: list[CoachingDueOut], **ERRORS},
    summary="Active plans whose next check-in is overdue or within the coming days",
)
def coaching_due(request: HttpRequest, filters: Query[DueFiltersIn]) -> list[selectors.CoachingDue]:
    return selectors.coaching_due(actor=_actor(request), today=dates.company_today(), within_days=filters.within_days)


def _plan_detail(actor: User, plan: CoachingPlan) -> dict[str, Any]:
    private = policies.sees_private_coaching(actor, plan)
    return {
        "id": plan.pk,
        "rep": plan.rep,
        "coach": plan.coach,
        "title": plan.title,
        "goals": plan.goals,
        "kpis": plan.kpis,
        "kpi_note": plan.kpi_note,
        "next_check_in": plan.next_check_in,
        "status": plan.status,
        "check_ins": [
            {
                "id": c.pk,
                "held_on": c.held_on,
                "note": c.note,
                "private_note": c.private_note if private else None,
                "author_id": c.author_id,
            }
            for c in selectors.check_ins(actor=actor, plan=plan)
        ],
    }


@router.post("/training/coaching", response={201: CoachingDetailOut, **WRITE_ERRORS}, summary="Create a coaching plan")
def coaching_create(request: HttpRequest, payload: CoachingIn) -> Status[dict[str, Any]]:
    actor = _actor(request)
    policies.require(policies.may_manage(actor))
    rep = selectors.coachable_people(actor=actor).filter(pk=payload.rep_id).first()
    if rep is None:
        raise _bad("rep_id")
    plan = services.coaching_plan_create(
        actor=actor,
        rep=rep,
        title=payload.title,
        goals=payload.goals,
        kpis=[k.model_dump() for k in payload.kpis],
        kpi_note=payload.kpi_note,
        next_check_in=_date("next_check_in", payload.next_check_in),
    )
    return Status(201, _plan_detail(actor, selectors.coaching_plan_get(actor=actor, plan_id=plan.pk)))


@router.get("/training/coaching/{plan_id}", response={200: CoachingDetailOut, **ERRORS}, summary="A coaching plan")
def coaching_detail(request: HttpRequest, plan_id: Id) -> dict[str, Any]:
    actor = _actor(request)
    return _plan_detail(actor, selectors.coaching_plan_get(actor=actor, plan_id=plan_id))


@router.post(
    "/training/coaching/{plan_id}/check-ins",
    response={201: CoachingDetailOut, **WRITE_ERRORS},
    summary="Record a check-in and the next check-in date",
)
def coaching_check_in(request: HttpRequest, plan_id: Id, payload: CheckInIn) -> Status[dict[str, Any]]:
    actor = _actor(request)
    plan = selectors.coaching_plan_get(actor=actor, plan_id=plan_id)
    held_on = _date("held_on", payload.held_on)
    assert held_on is not None
    services.coaching_check_in_add(
        actor=actor,
        plan=plan,
        held_on=held_on,
        note=payload.note,
        private_note=payload.private_note,
        next_check_in=_date("next_check_in", payload.next_check_in),
    )
    return Status(201, _plan_detail(actor, selectors.coaching_plan_get(actor=actor, plan_id=plan_id)))


# ---- the know-how library ------------------------------------------------------------------------


@router.get("/training/library", response={200: list[ArticleOut], **ERRORS}, summary="Know-how articles, newest first")
@paginate(Pagination)
def library_list(request: HttpRequest, filters: Query[LibraryFiltersIn]) -> Any:
    return selectors.articles(actor=_actor(request), q=filters.q, tag=filters.tag, kind=filters.kind).defer("body")


def _article_detail(actor: User, article: Article) -> dict[str, Any]:
    links = selectors.article_links(actor=actor, article=article)
    customer, deal = links["customer"], links["deal"]
    return {
        "id": article.pk,
        "kind": article.kind,
        "title": article.title,
        "tag_list": article.tag_list,
        "author_id": article.author_id,
        "product_id": article.product_id,
        "created_at": article.created_at,
        "updated_at": article.updated_at,
        "body": article.body,
        "customer_id": customer.pk if isinstance(customer, Customer) else None,
        "deal_id": deal.pk if isinstance(deal, Deal) else None,
    }


def _links(actor: User, payload: ArticleIn) -> dict[str, Any]:
    customer = deal = None
    if payload.customer_id is not None:
        customer = Customer.objects.visible_to(actor).filter(pk=payload.customer_id).first()
        if customer is None:
            raise _bad("customer_id")
    if payload.deal_id is not None:
        deal = Deal.objects.visible_to(actor).filter(pk=payload.deal_id).first()
        if deal is None:
            raise _bad("deal_id")
    return {"customer": customer, "deal": deal, "product": _product(payload.product_id)}


@router.post("/training/library", response={201: ArticleDetailOut, **WRITE_ERRORS}, summary="Share an article")
def article_create(request: HttpRequest, payload: ArticleIn) -> Status[dict[str, Any]]:
    actor = _actor(request)
    article = services.article_create(
        actor=actor,
        kind=payload.kind,
        title=payload.title,
        body=payload.body,
        tags=payload.tags,
        **_links(actor, payload),
    )
    return Status(201, _article_detail(actor, article))


@router.get("/training/library/{article_id}", response={200: ArticleDetailOut, **ERRORS}, summary="A know-how article")
def article_detail(request: HttpRequest, article_id: Id) -> dict[str, Any]:
    actor = _actor(request)
    return _article_detail(actor, selectors.article_get(actor=actor, article_id=article_id))


@router.put(
    "/training/library/{article_id}",
    response={200: ArticleDetailOut, **WRITE_ERRORS},
    summary="Replace an article (its author or a training manager)",
)
def article_update(request: HttpRequest, article_id: Id, payload: ArticleIn) -> dict[str, Any]:
    actor = _actor(request)
    article = selectors.article_get(actor=actor, article_id=article_id)
    policies.require(policies.may_edit_article(actor, article))
    article = services.article_update(
        actor=actor,
        article=article,
        kind=payload.kind,
        title=payload.title,
        body=payload.body,
        tags=payload.tags,
        **_links(actor, payload),
    )
    return _article_detail(actor, article)


@router.delete(
    "/training/enrolments/{enrollment_id}",
    response={204: None, **ERRORS},
    summary="Take someone you manage off a session",
)
def enrolment_remove(request: HttpRequest, enrollment_id: Id) -> Status[None]:
    actor = _actor(request)
    services.enrollment_remove(
        actor=actor, enrollment=selectors.enrollment_get(actor=actor, enrollment_id=enrollment_id)
    )
    return Status(204, None)


@router.delete(
    "/training/library/{article_id}",
    response={204: None, **ERRORS},
    summary="Delete an article (its author or a training manager)",
)
def article_delete(request: HttpRequest, article_id: Id) -> Status[None]:
    actor = _actor(request)
    services.article_delete(actor=actor, article=selectors.article_get(actor=actor, article_id=article_id))
    return Status(204, None)
