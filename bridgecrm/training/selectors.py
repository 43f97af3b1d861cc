"""Reads of training records. Scorecards and promotion criteria use these functions."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from django.db.models import Count, Exists, OuterRef, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from bridgecrm.core.errors import NotFound
from bridgecrm.core.periods import Period
from bridgecrm.customers.models import Customer
from bridgecrm.pipeline.models import Deal
from bridgecrm.training import policies
from bridgecrm.training.models import (
    Article,
    CoachingCheckIn,
    CoachingPlan,
    CoachingStatus,
    Enrollment,
    TrainingCourse,
    TrainingMaterial,
    TrainingSession,
)
from bridgecrm.users.models import User


def completion_rates(*, period: Period, user_ids: Iterable[int]) -> dict[int, Decimal]:
    """Per rep, the share (0–1, four places) of their enrolments in sessions held within ``period``
    that they completed. Reps without any such enrolment are absent (the metric is unavailable for
    them, not zero). No visibility check: callers hold ids they were allowed to see."""
    rows = (
        Enrollment.objects.filter(
            user_id__in=list(user_ids),
            session__starts_at__date__gte=period.start,
            session__starts_at__date__lte=period.end,
        )
        .values("user_id")
        .annotate(total=Count("id"), done=Count("id", filter=Q(completed_at__isnull=False)))
    )
    return {
        r["user_id"]: (Decimal(r["done"]) / Decimal(r["total"])).quantize(Decimal("0.0001"), ROUND_HALF_UP)
        for r in rows
        if r["total"]
    }


def completed_course_ids(*, user_ids: Iterable[int]) -> dict[int, set[int]]:
    """Per rep, the courses they have completed at any time."""
    out: dict[int, set[int]] = {}
    for user_id, course_id in Enrollment.objects.filter(
        user_id__in=list(user_ids), completed_at__isnull=False
    ).values_list("user_id", "session__course_id"):
        out.setdefault(user_id, set()).add(course_id)
    return out


# ---- scoped reads for the pages and the API ------------------------------------------------------


def _not_found() -> NotFound:
    return NotFound("not_found", _("Not found."))


def courses(*, actor: User, include_inactive: bool = False) -> QuerySet[TrainingCourse]:
    """The course catalogue: every signed-in user reads it (inactive courses only for managers)."""
    if not policies._active(actor):
        return TrainingCourse.objects.none()
    qs = TrainingCourse.objects.select_related("product")
    if not (include_inactive and policies.may_manage(actor)):
        qs = qs.filter(is_active=True)
    return qs


def course_get(*, actor: User, course_id: int) -> TrainingCourse:
    course = courses(actor=actor, include_inactive=True).filter(pk=course_id).first()
    if course is None:
        raise _not_found()
    return course


def sessions_visible(*, actor: User) -> QuerySet[TrainingSession]:
    """Managers of training see every session; others the open ones and those they are enrolled in."""
    if not policies._active(actor):
        return TrainingSession.objects.none()
    qs = TrainingSession.objects.all()
    if policies.may_manage(actor):
        return qs
    enrolled = Enrollment.objects.filter(session=OuterRef("pk"), user_id=actor.pk)
    return qs.filter(Q(is_open=True) | Exists(enrolled))


def sessions(
    *, actor: User, course_id: int | None = None, upcoming: bool | None = None, now: dt.datetime | None = None
) -> QuerySet[TrainingSession]:
    """Sessions for a list, newest first, with the enrolment count and the actor's own enrolment."""
    qs = sessions_visible(actor=actor).select_related("course", "trainer")
    if course_id:
        qs = qs.filter(course_id=course_id)
    if upcoming is not None:
        moment = now or timezone.now()
        qs = qs.filter(starts_at__gte=moment) if upcoming else qs.filter(starts_at__lt=moment)
    return qs.annotate(
        enrolled_count=Count("enrollments", distinct=True),
        completed_count=Count("enrollments", filter=Q(enrollments__completed_at__isnull=False), distinct=True),
        mine=Exists(Enrollment.objects.filter(session=OuterRef("pk"), user_id=actor.pk)),
    ).order_by("-starts_at", "-id")


def session_get(*, actor: User, session_id: int) -> TrainingSession:
    session = sessions_visible(actor=actor).select_related("course", "trainer").filter(pk=session_id).first()
    if session is None:
        raise _not_found()
    return session


def enrollments_visible(*, actor: User) -> QuerySet[Enrollment]:
    """One's own enrolments and those of the people one manages (all for admins)."""
    if not policies._active(actor):
        return Enrollment.objects.none()
    return Enrollment.objects.filter(policies.managed_people(actor, "user__"))


def session_enrollments(*, actor: User, session: TrainingSession) -> list[Enrollment]:
    return list(
        enrollments_visible(actor=actor)
        .filter(session=session)
        .select_related("user", "user__team")
        .order_by("user__full_name", "user__username")
    )


def enrollment_get(*, actor: User, enrollment_id: int) -> Enrollment:
    found = (
        enrollments_visible(actor=actor)
        .filter(session__in=sessions_visible(actor=actor))
        .select_related("session", "session__course", "user")
        .filter(pk=enrollment_id)
        .first()
    )
    if found is None:
        raise _not_found()
    return found


def my_enrollments(*, actor: User) -> list[Enrollment]:
    return list(
        Enrollment.objects.filter(user_id=actor.pk)
        .select_related("session", "session__course", "session__trainer")
        .order_by("-session__starts_at", "-id")[:200]
    )


def session_materials(*, session: TrainingSession) -> list[TrainingMaterial]:
    """A session's materials (the caller fetched the session through ``session_get``)."""
    return list(TrainingMaterial.objects.filter(session=session))


def material_get(*, actor: User, material_id: int) -> TrainingMaterial:
    found = (
        TrainingMaterial.objects.filter(session__in=sessions_visible(actor=actor))
        .select_related("session")
        .filter(pk=material_id)
        .first()
    )
    if found is None:
        raise _not_found()
    return found


def enrollable_people(*, actor: User) -> QuerySet[User]:
    """Whom ``actor`` may enrol: active people he manages (none without training.manage)."""
    if not policies.may_manage(actor):
        return User.objects.none()
    return (
        User.objects.filter(policies.managed_people(actor), is_active=True)
        .select_related("team")
        .order_by("full_name", "username")
    )


@dataclass(frozen=True)
class Completion:
    user_id: int
    enrolled: int
    attended: int
    completed: int

    @property
    def rate(self) -> Decimal | None:
        if not self.enrolled:
            return None
        return (Decimal(self.completed) / Decimal(self.enrolled)).quantize(Decimal("0.0001"), ROUND_HALF_UP)


def completion_summary(*, actor: User, user: User, period: Period | None = None) -> Completion:
    """One person's enrolments, attendances and completions (the actor must see them)."""
    qs = enrollments_visible(actor=actor).filter(user_id=user.pk)
    if period is not None:
        qs = qs.filter(session__starts_at__date__gte=period.start, session__starts_at__date__lte=period.end)
    row = qs.aggregate(
        n=Count("id"),
        attended=Count("id", filter=Q(attended=True)),
        done=Count("id", filter=Q(completed_at__isnull=False)),
    )
    return Completion(user.pk, row["n"] or 0, row["attended"] or 0, row["done"] or 0)


# ---- coaching --------------------------------------------------------------------------------------


def coaching_plans_visible(*, actor: User) -> QuerySet[CoachingPlan]:
    """The rep's own plans, the plans one coaches, and the plans of the people one manages."""
    if not policies._active(actor):
        return CoachingPlan.objects.none()
    return CoachingPlan.objects.filter(Q(coach_id=actor.pk) | policies.managed_people(actor, "rep__"))


def coaching_plans(*, actor: User, status: str = "") -> QuerySet[CoachingPlan]:
    qs = coaching_plans_visible(actor=actor).select_related("rep", "rep__team", "coach")
    if status:
        qs = qs.filter(status=status)
    return qs.order_by("status", "next_check_in", "id")


def coaching_plan_get(*, actor: User, plan_id: int) -> CoachingPlan:
    plan = coaching_plans_visible(actor=actor).select_related("rep", "coach").filter(pk=plan_id).first()
    if plan is None:
        raise _not_found()
    return plan


def check_ins(*, actor: User, plan: CoachingPlan) -> list[CoachingCheckIn]:
    """The plan's check-ins; the private note is blanked for readers who may not see it (the rep)."""
    rows = list(plan.check_ins.select_related("author"))
    if not policies.sees_private_coaching(actor, plan):
        for row in rows:
            row.private_note = ""
    return rows


@dataclass(frozen=True)
class CoachingDue:
    plan_id: int
    title: str
    rep_id: int
    rep_name: str
    coach_id: int
    coach_name: str
    next_check_in: dt.date
    days_overdue: int  # 0 when due today; negative when still ahead (within the window)


def coaching_due(*, actor: User, today: dt.date, within_days: int = 7) -> list[CoachingDue]:
    """Active plans whose next check-in is overdue or falls within ``within_days`` of ``today``,
    scoped to the actor, soonest first (for the manager dashboard)."""
    rows = (
        coaching_plans_visible(actor=actor)
        .filter(
            status=CoachingStatus.ACTIVE,
            next_check_in__isnull=False,
            next_check_in__lte=today + dt.timedelta(days=within_days),
        )
        .select_related("rep", "coach")
        .order_by("next_check_in", "id")[:500]
    )
    return [
        CoachingDue(
            plan_id=p.pk,
            title=p.title,
            rep_id=p.rep_id,
            rep_name=p.rep.display_name,
            coach_id=p.coach_id,
            coach_name=p.coach.display_name,
            next_check_in=p.next_check_in,
            days_overdue=(today - p.next_check_in).days,
        )
        for p in rows
        if p.next_check_in is not None
    ]


def coachable_people(*, actor: User) -> QuerySet[User]:
    return enrollable_people(actor=actor)


# ---- the know-how library ------------------------------------------------------------------------


def normalise_tags(raw: str | Iterable[str]) -> list[str]:
    """Tags from "a, b，c" or a list: trimmed, lower-cased, no commas, de-duplicated, at most 20 of 40 chars."""
    parts = raw.replace("，", ",").split(",") if isinstance(raw, str) else list(raw)
    out: list[str] = []
    for part in parts:
        tag = " ".join(str(part).replace(",", " ").split()).lower()[:40]
        if tag and tag not in out:
            out.append(tag)
    return out[:20]


def articles(*, actor: User, q: str = "", tag: str = "", kind: str = "") -> QuerySet[Article]:
    """Library articles, newest first; every signed-in user reads them. Search is a bounded
    ``icontains`` over title, body and tags (the library is small: hundreds of articles)."""
    if not policies._active(actor):
        return Article.objects.none()
    qs = Article.objects.select_related("author")
    if kind:
        qs = qs.filter(kind=kind)
    tags = normalise_tags(tag)
    if tags:
        qs = qs.filter(tags__contains=f",{tags[0]},")
    for word in q.split()[:5]:
        qs = qs.filter(Q(title__icontains=word) | Q(body__icontains=word) | Q(tags__icontains=word))
    return qs.order_by("-updated_at", "-id")


def article_get(*, actor: User, article_id: int) -> Article:
    article = articles(actor=actor).select_related("product").filter(pk=article_id).first()
    if article is None:
        raise _not_found()
    return article


def article_links(*, actor: User, article: Article) -> dict[str, object | None]:
    """The article's linked customer and deal, each only if the reader may see it."""
    customer = (
        Customer.objects.visible_to(actor).filter(pk=article.customer_id).first() if article.customer_id else None
    )
    deal = Deal.objects.visible_to(actor).filter(pk=article.deal_id).first() if article.deal_id else None
    return {"customer": customer, "deal": deal, "product": article.product if article.product_id else None}


def popular_tags(*, actor: User, limit: int = 30) -> list[tuple[str, int]]:
    """Tags in use with their article counts (read from the 1,000 most recent articles)."""
    counts: dict[str, int] = {}
    for raw in articles(actor=actor).values_list("tags", flat=True)[:1000]:
        for tag in raw.split(","):
            if tag:
                counts[tag] = counts.get(tag, 0) + 1
    return sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:limit]
