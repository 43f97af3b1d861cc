"""Writes for training, coaching and the know-how library: one service per change, each audited."""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import uuid
from collections.abc import Iterable, Sequence
from decimal import Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.base import File
from django.core.files.storage import default_storage
from django.core.validators import URLValidator
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from bridgecrm.activities.models import NotificationKind
from bridgecrm.activities.services import notification_create
from bridgecrm.contracts.services.contracts import safe_display_name, sniff
from bridgecrm.core import audit, dates
from bridgecrm.core.errors import ApplicationError, NotFound
from bridgecrm.customers.models import Customer
from bridgecrm.pipeline.models import Deal, Product
from bridgecrm.training import policies, selectors
from bridgecrm.training.models import (
    Article,
    ArticleKind,
    CoachingCheckIn,
    CoachingPlan,
    CoachingReminder,
    CoachingStatus,
    CourseKind,
    Enrollment,
    TrainingCourse,
    TrainingMaterial,
    TrainingSession,
)
from bridgecrm.users.models import User

DEFAULT_MAX_MATERIAL_BYTES = 20 * 1024 * 1024
MAX_MATERIALS = 30
MAX_SCORE = Decimal("100")
MAX_KPIS = 12


def invalid(field: str, message: Any, code: str = "invalid") -> ApplicationError:
    return ApplicationError(code, message, details={field: [str(message)]})


def _not_found() -> NotFound:
    return NotFound("not_found", _("Not found."))


def _text(value: str, field: str, *, max_length: int, required: bool = False) -> str:
    value = (value or "").strip()
    if "\x00" in value:
        raise invalid(field, _("Enter valid text."))
    if required and not value:
        raise invalid(field, _("This field is required."), "required")
    if len(value) > max_length:
        raise invalid(field, _("Enter at most %(n)s characters.") % {"n": max_length})
    return value


def _score(value: Decimal | str | int | None, field: str) -> Decimal | None:
    if value is None or value == "":
        return None
    try:
        number = Decimal(str(value))
    except (InvalidOperation, ValueError) as exc:
        raise invalid(field, _("Enter a score from 0 to 100.")) from exc
    if not number.is_finite() or number < 0 or number > MAX_SCORE:
        raise invalid(field, _("Enter a score from 0 to 100."))
    return number.quantize(Decimal("0.01"))


def _choice(value: str, choices: Iterable[str], field: str) -> str:
    if value not in choices:
        raise invalid(field, _("Select a valid choice."))
    return value


# ---- courses ---------------------------------------------------------------------------------------

COURSE_FIELDS = ("title", "kind", "product", "description", "pass_score", "is_active")


def _course_values(
    *, title: str, kind: str, description: str, pass_score: Decimal | str | None, product: Product | None
) -> dict[str, Any]:
    return {
        "title": _text(title, "title", max_length=200, required=True),
        "kind": _choice(kind, CourseKind.values, "kind"),
        "description": _text(description, "description", max_length=5000),
        "pass_score": _score(pass_score, "pass_score"),
        "product": product,
    }


def course_create(
    *,
    actor: User,
    title: str,
    kind: str = CourseKind.SKILL,
    description: str = "",
    pass_score: Decimal | str | None = None,
    product: Product | None = None,
) -> TrainingCourse:
    policies.require(policies.may_manage(actor))
    values = _course_values(title=title, kind=kind, description=description, pass_score=pass_score, product=product)
    with transaction.atomic():
        course = TrainingCourse.objects.create(**values)
        audit.record_created(actor=actor, obj=course, values=audit.snapshot(course, COURSE_FIELDS))
    return course


def course_update(
    *,
    actor: User,
    course: TrainingCourse,
    title: str,
    kind: str,
    description: str = "",
    pass_score: Decimal | str | None = None,
    product: Product | None = None,
    is_active: bool = True,
) -> TrainingCourse:
    """Change a course. A new pass score applies to scores recorded from now on (completions already
    recorded stay: they were earned under the rule of their day)."""
    policies.require(policies.may_manage(actor))
    values = _course_values(title=title, kind=kind, description=description, pass_score=pass_score, product=product)
    with transaction.atomic():
        course = TrainingCourse.objects.select_for_update().get(pk=course.pk)
        before = audit.snapshot(course, COURSE_FIELDS)
        for name, value in values.items():
            setattr(course, name, value)
        course.is_active = bool(is_active)
        course.save()
        audit.record_changes(actor=actor, obj=course, before=before, after=audit.snapshot(course, COURSE_FIELDS))
    return course


# ---- sessions --------------------------------------------------------------------------------------

SESSION_FIELDS = ("course", "starts_at", "duration_minutes", "trainer", "trainer_name", "location", "notes", "is_open")


def _session_values(
    *,
    actor: User,
    course: TrainingCourse,
    starts_at: dt.datetime,
    duration_minutes: int,
    trainer: User | None,
    trainer_name: str,
    location: str,
    notes: str,
    is_open: bool,
) -> dict[str, Any]:
    if not course.is_active:
        raise invalid("course", _("This course is no longer active."))
    if timezone.is_naive(starts_at):
        raise invalid("starts_at", _("Enter a date and time with a time zone."))
    if not 1 <= int(duration_minutes) <= 24 * 60:
        raise invalid("duration_minutes", _("A session lasts from 1 minute to 24 hours."))
    if trainer is not None and not trainer.is_active:
        raise invalid("trainer", _("Choose an active trainer."))
    return {
        "course": course,
        "starts_at": starts_at,
        "duration_minutes": int(duration_minutes),
        "trainer": trainer,
        "trainer_name": _text(trainer_name, "trainer_name", max_length=120),
        "location": _text(location, "location", max_length=200),
        "notes": _text(notes, "notes", max_length=5000),
        "is_open": bool(is_open),
    }


def session_create(
    *,
    actor: User,
    course: TrainingCourse,
    starts_at: dt.datetime,
    duration_minutes: int = 60,
    trainer: User | None = None,
    trainer_name: str = "",
    location: str = "",
    notes: str = "",
    is_open: bool = True,
) -> TrainingSession:
    policies.require(policies.may_manage(actor))
    values = _session_values(
        actor=actor,
        course=course,
        starts_at=starts_at,
        duration_minutes=duration_minutes,
        trainer=trainer,
        trainer_name=trainer_name,
        location=location,
        notes=notes,
        is_open=is_open,
    )
    with transaction.atomic():
        session = TrainingSession.objects.create(created_by=actor, **values)
        audit.record_created(actor=actor, obj=session, values=audit.snapshot(session, SESSION_FIELDS))
    return session


def session_update(
    *,
    actor: User,
    session: TrainingSession,
    course: TrainingCourse,
    starts_at: dt.datetime,
    duration_minutes: int = 60,
    trainer: User | None = None,
    trainer_name: str = "",
    location: str = "",
    notes: str = "",
    is_open: bool = True,
) -> TrainingSession:
    """Change a session. Its course changes only while nobody has completed it (completions are
    counted per course)."""
    policies.require(policies.may_manage(actor))
    values = _session_values(
        actor=actor,
        course=course,
        starts_at=starts_at,
        duration_minutes=duration_minutes,
        trainer=trainer,
        trainer_name=trainer_name,
        location=location,
        notes=notes,
        is_open=is_open,
    )
    with transaction.atomic():
        session = TrainingSession.objects.select_for_update().get(pk=session.pk)
        if course.pk != session.course_id and session.enrollments.filter(completed_at__isnull=False).exists():
            raise invalid("course", _("Someone has completed this session: its course can no longer change."))
        before = audit.snapshot(session, SESSION_FIELDS)
        for name, value in values.items():
            setattr(session, name, value)
        session.save()
        audit.record_changes(actor=actor, obj=session, before=before, after=audit.snapshot(session, SESSION_FIELDS))
    return session


# ---- enrolments, attendance and scores ---------------------------------------------------------------


def _notify_enrolled(enrollment: Enrollment, session: TrainingSession) -> None:
    user = enrollment.user
    url = reverse("training:session_detail", kwargs={"session_id": session.pk})
    try:
        zone: dt.tzinfo = ZoneInfo(user.time_zone or settings.BRIDGE_DEFAULT_TIME_ZONE)
    except (ZoneInfoNotFoundError, ValueError):
        zone = ZoneInfo(settings.BRIDGE_DEFAULT_TIME_ZONE)
    local = session.starts_at.astimezone(zone)  # in the recipient's time zone, not the sender's
    notification_create(
        recipient=user,
        kind=NotificationKind.TRAINING_ENROLLED,
        params={"session_id": session.pk, "course": session.course.title, "when": f"{local:%Y-%m-%d %H:%M}"},
        url=url,
    )


def enrollment_add(*, actor: User, session: TrainingSession, users: Sequence[User]) -> list[Enrollment]:
    """Enrol people the actor manages (training.manage over their team subtree); those already enrolled
    are skipped. Each new enrolment is audited and notified (TRAINING_ENROLLED). Returns the new ones."""
    policies.require(policies.may_manage(actor))
    if not users:
        raise invalid("users", _("Choose at least one person."), "required")
    allowed = set(
        selectors.enrollable_people(actor=actor).filter(pk__in=[u.pk for u in users]).values_list("pk", flat=True)
    )
    refused = [u for u in users if u.pk not in allowed]
    if refused:
        raise invalid("users", _("You may only enrol active people of the teams you manage."), "not_managed")
    created: list[Enrollment] = []
    with transaction.atomic():
        existing = set(Enrollment.objects.filter(session=session).values_list("user_id", flat=True))
        for user in users:
            if user.pk in existing:
                continue
            existing.add(user.pk)
            enrollment = Enrollment.objects.create(session=session, user=user)
            audit.record_event(
                actor=actor,
                event="training.enrolled",
                obj=session,
                details={"user": user.pk, "enrollment": enrollment.pk},
            )
            _notify_enrolled(enrollment, session)
            created.append(enrollment)
    return created


def is_completion(*, attended: bool | None, score: Decimal | None, pass_score: Decimal | None) -> bool:
    """Completion: attended and, when the course has a pass score, a score at or above it."""
    if attended is not True:
        return False
    if pass_score is None:
        return True
    return score is not None and score >= pass_score


ENROLLMENT_FIELDS = ("attended", "score", "completed_at")


def enrollment_record(
    *, actor: User, enrollment: Enrollment, attended: bool | None, score: Decimal | str | None
) -> Enrollment:
    """Record attendance and the assessment score (0–100) and set ``completed_at`` when they complete
    the course (now, the first time; cleared again if a correction undoes it)."""
    policies.require(policies.manages_person(actor, enrollment.user))
    value = _score(score, "score")
    if value is not None and attended is not True:
        raise invalid("score", _("Only someone who attended can have a score."))
    with transaction.atomic():
        enrollment = Enrollment.objects.select_for_update().select_related("session__course").get(pk=enrollment.pk)
        session = enrollment.session
        if attended is not None and session.starts_at > timezone.now():
            raise invalid("attended", _("Attendance can be recorded once the session has started."), "not_started")
        before = audit.snapshot(enrollment, ENROLLMENT_FIELDS)
        enrollment.attended = attended
        enrollment.score = value
        done = is_completion(attended=attended, score=value, pass_score=session.course.pass_score)
        if done and enrollment.completed_at is None:
            enrollment.completed_at = timezone.now()
        elif not done:
            enrollment.completed_at = None
        after = audit.snapshot(enrollment, ENROLLMENT_FIELDS)
        if after != before:
            enrollment.save(update_fields=["attended", "score", "completed_at"])
            audit.record_changes(actor=actor, obj=enrollment, before=before, after=after)
    return enrollment


def enrollment_remove(*, actor: User, enrollment: Enrollment) -> None:
    policies.require(policies.manages_person(actor, enrollment.user))
    with transaction.atomic():
        audit.record_event(
            actor=actor,
            event="training.unenrolled",
            obj=enrollment.session,
            details={"user": enrollment.user_id, "enrollment": enrollment.pk},
        )
        enrollment.delete()


# ---- materials -------------------------------------------------------------------------------------


def max_material_bytes() -> int:
    return int(getattr(settings, "BRIDGE_TRAINING_MATERIAL_MAX_BYTES", DEFAULT_MAX_MATERIAL_BYTES))


def material_add(
    *, actor: User, session: TrainingSession, title: str = "", link: str = "", upload: Any = None
) -> TrainingMaterial:
    """Add a link (http/https) or a file (PDF, images, Office documents, ZIP; at most 20 MB, its type
    read from its bytes) to a session. Files go to the default storage under ``training/``."""
    policies.require(policies.may_manage(actor))
    link = _text(link, "link", max_length=500)
    if bool(link) == (upload is not None):
        raise invalid("link", _("Give either a file or a link."), "required")
    if TrainingMaterial.objects.filter(session=session).count() >= MAX_MATERIALS:
        raise invalid("file", _("A session has at most 30 materials."))
    if link:
        try:
            URLValidator(schemes=["http", "https"])(link)
        except ValidationError as exc:
            raise invalid("link", _("Enter a web address starting with http:// or https://.")) from exc
        title = _text(title, "title", max_length=200) or link[:200]
        with transaction.atomic():
            material = TrainingMaterial.objects.create(session=session, title=title, link=link, uploaded_by=actor)
            audit.record_event(actor=actor, event="training.material_added", obj=session, details={"link": link})
        return material
    limit = max_material_bytes()
    too_large = _("The file is larger than %(mb)s MB.") % {"mb": limit // (1024 * 1024) or 1}
    size = int(getattr(upload, "size", 0) or 0)
    if size <= 0:
        raise invalid("file", _("The file is empty."))
    if size > limit:
        raise invalid("file", too_large, "too_large")
    upload.seek(0)
    data = upload.read(limit + 1)
    if len(data) > limit:
        raise invalid("file", too_large, "too_large")
    found = sniff(data[:16], io.BytesIO(data))
    if found is None:
        raise invalid(
            "file", _("Only PDF, PNG, JPEG, Word, Excel, PowerPoint and ZIP files can be added."), "file_type"
        )
    content_type, extension = found
    original = safe_display_name(getattr(upload, "name", ""))
    title = _text(title, "title", max_length=200) or original
    now = timezone.now()
    with transaction.atomic():
        saved = default_storage.save(f"training/{now:%Y/%m}/{uuid.uuid4().hex}.{extension}", File(io.BytesIO(data)))
        try:
            material = TrainingMaterial.objects.create(
                session=session,
                title=title,
                file=saved,
                original_name=original,
                content_type=content_type,
                size=len(data),
                uploaded_by=actor,
                created_at=now,
            )
            audit.record_event(
                actor=actor,
                event="training.material_added",
                obj=session,
                details={"name": original, "size": len(data), "sha256": hashlib.sha256(data).hexdigest()},
            )
        except Exception:
            default_storage.delete(saved)
            raise
    return material


def material_delete(*, actor: User, material: TrainingMaterial) -> None:
    policies.require(policies.may_manage(actor))
    name = material.file.name or ""
    with transaction.atomic():
        audit.record_event(
            actor=actor,
            event="training.material_deleted",
            obj=material.session,
            details={"material": material.pk, "title": material.title},
        )
        material.delete()
        if name:
            transaction.on_commit(lambda: default_storage.delete(name))


# ---- coaching --------------------------------------------------------------------------------------

PLAN_FIELDS = ("rep", "coach", "title", "goals", "kpis", "kpi_note", "next_check_in", "status")


def normalise_kpis(raw: str | Iterable[Any]) -> list[dict[str, str]]:
    """Linked KPIs from lines ``code: label`` (or ``code``) or a list of {code, label}; codes are
    lower-case words (a scorecard metric code or any label of the coach's own)."""
    items: list[tuple[str, str]] = []
    if isinstance(raw, str):
        for line in raw.replace("，", ",").splitlines():
            if not line.strip():
                continue
            code, _sep, label = line.partition(":")
            items.append((code, label))
    else:
        for item in raw:
            if isinstance(item, dict):
                items.append((str(item.get("code", "")), str(item.get("label", ""))))
            else:
                items.append((str(item), ""))
    out: list[dict[str, str]] = []
    for code, label in items:
        code = "_".join(code.strip().lower().split())[:40]
        label = " ".join(label.split())[:100]
        if "\x00" in code + label:
            raise invalid("kpis", _("Enter valid text."))
        if code and all(k["code"] != code for k in out):
            out.append({"code": code, "label": label or code})
    if len(out) > MAX_KPIS:
        raise invalid("kpis", _("Link at most 12 KPIs."))
    return out


def _check_rep(actor: User, rep: User) -> None:
    if not rep.is_active:
        raise invalid("rep", _("Choose an active person."))
    policies.require(policies.manages_person(actor, rep))


def coaching_plan_create(
    *,
    actor: User,
    rep: User,
    title: str,
    goals: str = "",
    kpis: str | Iterable[Any] = (),
    kpi_note: str = "",
    next_check_in: dt.date | None = None,
    coach: User | None = None,
) -> CoachingPlan:
    """A coaching plan for a rep the actor manages; the actor coaches unless he names another coach
    (someone he manages, or himself)."""
    policies.require(policies.may_manage(actor))
    _check_rep(actor, rep)
    coach = coach or actor
    if coach.pk != actor.pk and not policies.manages_person(actor, coach):
        raise invalid("coach", _("Choose yourself or someone you manage as the coach."))
    if coach.pk == rep.pk:
        raise invalid("coach", _("A rep cannot coach himself."))
    with transaction.atomic():
        plan = CoachingPlan.objects.create(
            rep=rep,
            coach=coach,
            title=_text(title, "title", max_length=200, required=True),
            goals=_text(goals, "goals", max_length=5000),
            kpis=normalise_kpis(kpis),
            kpi_note=_text(kpi_note, "kpi_note", max_length=2000),
            next_check_in=next_check_in,
        )
        audit.record_created(actor=actor, obj=plan, values=audit.snapshot(plan, PLAN_FIELDS))
    return plan


def coaching_plan_update(
    *,
    actor: User,
    plan: CoachingPlan,
    title: str,
    goals: str = "",
    kpis: str | Iterable[Any] = (),
    kpi_note: str = "",
    next_check_in: dt.date | None = None,
    status: str = CoachingStatus.ACTIVE,
) -> CoachingPlan:
    policies.require(policies.manages_person(actor, plan.rep))
    values = {
        "title": _text(title, "title", max_length=200, required=True),
        "goals": _text(goals, "goals", max_length=5000),
        "kpis": normalise_kpis(kpis),
        "kpi_note": _text(kpi_note, "kpi_note", max_length=2000),
        "next_check_in": next_check_in,
        "status": _choice(status, CoachingStatus.values, "status"),
    }
    with transaction.atomic():
        plan = CoachingPlan.objects.select_for_update().get(pk=plan.pk)
        before = audit.snapshot(plan, PLAN_FIELDS)
        for name, value in values.items():
            setattr(plan, name, value)
        plan.updated_at = timezone.now()
        plan.save()
        audit.record_changes(actor=actor, obj=plan, before=before, after=audit.snapshot(plan, PLAN_FIELDS))
    return plan


def coaching_check_in_add(
    *,
    actor: User,
    plan: CoachingPlan,
    held_on: dt.date,
    note: str,
    private_note: str = "",
    next_check_in: dt.date | None = None,
) -> CoachingCheckIn:
    """Record a check-in (the coach or a manager of the rep) and set the next check-in date."""
    if not (plan.coach_id == actor.pk and policies.may_manage(actor)):
        policies.require(policies.manages_person(actor, plan.rep))
    note = _text(note, "note", max_length=5000, required=True)
    private_note = _text(private_note, "private_note", max_length=5000)
    if held_on > dates.company_today():
        raise invalid("held_on", _("A check-in cannot be dated in the future."))
    if next_check_in is not None and next_check_in <= held_on:
        raise invalid("next_check_in", _("The next check-in must come after this one."))
    with transaction.atomic():
        check_in = CoachingCheckIn.objects.create(
            plan=plan, held_on=held_on, note=note, private_note=private_note, author=actor
        )
        before = audit.snapshot(plan, ("next_check_in",))
        CoachingPlan.objects.filter(pk=plan.pk).update(next_check_in=next_check_in, updated_at=timezone.now())
        plan.next_check_in = next_check_in
        audit.record_event(actor=actor, event="coaching.check_in", obj=plan, details={"check_in": check_in.pk})
        audit.record_changes(actor=actor, obj=plan, before=before, after=audit.snapshot(plan, ("next_check_in",)))
    return check_in


def coaching_reminders_send(*, today: dt.date | None = None) -> int:
    """Tell each coach about active plans whose next check-in is today or overdue: once per plan and
    due date (a unique row claims it in the notification's transaction), so reruns send nothing twice."""
    today = today or dates.company_today()
    plans = (
        CoachingPlan.objects.filter(status=CoachingStatus.ACTIVE, next_check_in__isnull=False, next_check_in__lte=today)
        .select_related("rep", "coach")
        .order_by("pk")
    )
    sent = 0
    for plan in plans.iterator(chunk_size=500):
        coach = plan.coach
        if not coach.is_active or plan.next_check_in is None:
            continue
        if CoachingReminder.objects.filter(plan=plan, due_on=plan.next_check_in).exists():
            continue
        rep_name = plan.rep.display_name
        try:
            with transaction.atomic():
                CoachingReminder.objects.create(plan=plan, due_on=plan.next_check_in)
                notification_create(
                    recipient=coach,
                    kind=NotificationKind.COACHING_DUE,
                    params={"plan_id": plan.pk, "rep": rep_name, "title": plan.title, "due_on": plan.next_check_in},
                    url=reverse("training:coaching_detail", kwargs={"plan_id": plan.pk}),
                )
        except IntegrityError:
            continue  # another run claimed it first
        sent += 1
    return sent


# ---- the know-how library ------------------------------------------------------------------------

ARTICLE_FIELDS = ("kind", "title", "body", "tags", "customer", "deal", "product")


def _article_values(
    *,
    actor: User,
    kind: str,
    title: str,
    body: str,
    tags: str | Iterable[str],
    customer: Customer | None,
    deal: Deal | None,
    product: Product | None,
) -> dict[str, Any]:
    if customer is not None and not Customer.objects.visible_to(actor).filter(pk=customer.pk).exists():
        raise invalid("customer", _("Choose a customer you can see."))
    if deal is not None and not Deal.objects.visible_to(actor).filter(pk=deal.pk).exists():
        raise invalid("deal", _("Choose a deal you can see."))
    tag_list = selectors.normalise_tags(tags)
    return {
        "kind": _choice(kind, ArticleKind.values, "kind"),
        "title": _text(title, "title", max_length=200, required=True),
        "body": _text(body, "body", max_length=50_000, required=True),
        "tags": f",{','.join(tag_list)}," if tag_list else "",
        "customer": customer,
        "deal": deal,
        "product": product,
    }


def article_create(
    *,
    actor: User,
    kind: str,
    title: str,
    body: str,
    tags: str | Iterable[str] = "",
    customer: Customer | None = None,
    deal: Deal | None = None,
    product: Product | None = None,
) -> Article:
    """Anyone signed in shares know-how; a linked customer or deal must be one he can see."""
    policies.require(policies._active(actor))
    values = _article_values(
        actor=actor, kind=kind, title=title, body=body, tags=tags, customer=customer, deal=deal, product=product
    )
    with transaction.atomic():
        article = Article.objects.create(author=actor, **values)
        audit.record_created(actor=actor, obj=article, values=audit.snapshot(article, ARTICLE_FIELDS))
    return article


def article_update(
    *,
    actor: User,
    article: Article,
    kind: str,
    title: str,
    body: str,
    tags: str | Iterable[str] = "",
    customer: Customer | None = None,
    deal: Deal | None = None,
    product: Product | None = None,
) -> Article:
    """The author or a training manager edits. A link the editor cannot see is kept as it was."""
    policies.require(policies.may_edit_article(actor, article))
    keep_customer = (
        customer is None
        and article.customer_id is not None
        and not (Customer.objects.visible_to(actor).filter(pk=article.customer_id).exists())
    )
    keep_deal = (
        deal is None
        and article.deal_id is not None
        and not (Deal.objects.visible_to(actor).filter(pk=article.deal_id).exists())
    )
    values = _article_values(
        actor=actor, kind=kind, title=title, body=body, tags=tags, customer=customer, deal=deal, product=product
    )
    if keep_customer:
        values.pop("customer")
    if keep_deal:
        values.pop("deal")
    with transaction.atomic():
        article = Article.objects.select_for_update().get(pk=article.pk)
        before = audit.snapshot(article, ARTICLE_FIELDS)
        for name, value in values.items():
            setattr(article, name, value)
        article.updated_at = timezone.now()
        article.save()
        audit.record_changes(actor=actor, obj=article, before=before, after=audit.snapshot(article, ARTICLE_FIELDS))
    return article


def article_delete(*, actor: User, article: Article) -> None:
    policies.require(policies.may_edit_article(actor, article))
    with transaction.atomic():
        audit.record_deleted(actor=actor, obj=article, values=audit.snapshot(article, ARTICLE_FIELDS))
        article.delete()
