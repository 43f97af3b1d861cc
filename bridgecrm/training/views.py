"""Training pages: sessions and courses, my training, coaching plans and the know-how library."""

from __future__ import annotations

from typing import Any, cast

from django.contrib import messages
from django.db import transaction
from django.http import FileResponse, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from bridgecrm.core import dates
from bridgecrm.core.errors import ApplicationError, NotFound, PermissionDenied
from bridgecrm.customers.models import Customer
from bridgecrm.pipeline.models import Deal
from bridgecrm.training import forms, policies, selectors, services
from bridgecrm.training.models import Article, CoachingPlan, CoachingStatus, TrainingCourse, TrainingSession
from bridgecrm.users.models import User
from bridgecrm.users.viewtools import actor_of, guarded, require, save_form
from bridgecrm.users.viewtools import int_param as _int

PAGE_SIZE = 50


def _page(request: HttpRequest) -> int:
    return _int(request.GET.get("page"), 1)


def _query_without_page(request: HttpRequest) -> str:
    query = request.GET.copy()
    query.pop("page", None)
    return query.urlencode()


# ---- my training -----------------------------------------------------------------------------------


@guarded
def mine(request: HttpRequest) -> HttpResponse:
    actor = actor_of(request)
    enrollments = selectors.my_enrollments(actor=actor)
    summary = selectors.completion_summary(actor=actor, user=actor)
    plans = list(selectors.coaching_plans(actor=actor).filter(rep_id=actor.pk)[:20])
    return render(
        request,
        "training/mine.html",
        {"enrollments": enrollments, "summary": summary, "plans": plans, "may_manage": policies.may_manage(actor)},
    )


# ---- sessions --------------------------------------------------------------------------------------


@guarded
def session_list(request: HttpRequest) -> HttpResponse:
    actor = actor_of(request)
    when = request.GET.get("when") or ""
    upcoming = {"upcoming": True, "past": False}.get(when)
    course_id = _int(request.GET.get("course"), 0, low=0, high=2**62)
    page = _page(request)
    qs = selectors.sessions(actor=actor, course_id=course_id or None, upcoming=upcoming)
    rows = list(qs[(page - 1) * PAGE_SIZE : page * PAGE_SIZE + 1])
    return render(
        request,
        "training/session_list.html",
        {
            "sessions": rows[:PAGE_SIZE],
            "has_next": len(rows) > PAGE_SIZE,
            "page": page,
            "query": _query_without_page(request),
            "when": when,
            "course_id": course_id,
            "courses": list(selectors.courses(actor=actor)),
            "may_manage": policies.may_manage(actor),
        },
    )


def _session_form(actor: User, data: Any = None, **kwargs: Any) -> forms.SessionForm:
    return forms.SessionForm(
        data,
        **kwargs,
        courses=selectors.courses(actor=actor),
        trainers=User.objects.visible_to(actor)
        .filter(is_active=True)
        .select_related("team")
        .order_by("full_name", "username"),
    )


@guarded
def session_new(request: HttpRequest) -> HttpResponse:
    actor = actor_of(request)
    require(policies.may_manage(actor))
    form = _session_form(actor, request.POST or None)
    if request.method == "POST":
        session = save_form(
            form,
            lambda: services.session_create(
                actor=actor,
                course=form.cleaned_data["course"],
                starts_at=form.cleaned_data["starts_at"],
                duration_minutes=form.cleaned_data["duration_minutes"],
                trainer=form.cleaned_data["trainer"],
                trainer_name=form.cleaned_data["trainer_name"],
                location=form.cleaned_data["location"],
                notes=form.cleaned_data["notes"],
                is_open=form.cleaned_data["is_open"],
            ),
        )
        if session is not None:
            messages.success(request, _("The session was created."))
            return redirect("training:session_detail", session_id=session.pk)
        return render(request, "training/session_form.html", {"form": form}, status=400)
    return render(request, "training/session_form.html", {"form": form})


@guarded
def session_edit(request: HttpRequest, session_id: int) -> HttpResponse:
    actor = actor_of(request)
    session = selectors.session_get(actor=actor, session_id=session_id)
    require(policies.may_manage(actor))
    initial = {
        "course": session.course_id,
        "starts_at": timezone.localtime(session.starts_at),
        "duration_minutes": session.duration_minutes,
        "trainer": session.trainer_id,
        "trainer_name": session.trainer_name,
        "location": session.location,
        "notes": session.notes,
        "is_open": session.is_open,
    }
    form = _session_form(actor, request.POST or None, initial=initial)
    if request.method == "POST":
        saved = save_form(
            form,
            lambda: services.session_update(
                actor=actor,
                session=session,
                course=form.cleaned_data["course"],
                starts_at=form.cleaned_data["starts_at"],
                duration_minutes=form.cleaned_data["duration_minutes"],
                trainer=form.cleaned_data["trainer"],
                trainer_name=form.cleaned_data["trainer_name"],
                location=form.cleaned_data["location"],
                notes=form.cleaned_data["notes"],
                is_open=form.cleaned_data["is_open"],
            ),
        )
        if saved is not None:
            messages.success(request, _("The session was saved."))
            return redirect("training:session_detail", session_id=session.pk)
        return render(request, "training/session_form.html", {"form": form, "session": session}, status=400)
    return render(request, "training/session_form.html", {"form": form, "session": session})


def _session_page(
    request: HttpRequest,
    actor: User,
    session: TrainingSession,
    *,
    sheet: list[tuple[Any, forms.AttendanceForm]] | None = None,
    enrol_form: forms.EnrolForm | None = None,
    material_form: forms.MaterialForm | None = None,
    status: int = 200,
) -> HttpResponse:
    manage = policies.may_manage(actor)
    enrollments = selectors.session_enrollments(actor=actor, session=session)
    if sheet is None:
        sheet = [
            (
                e,
                forms.AttendanceForm(
                    prefix=f"e{e.pk}",
                    initial={
                        "attended": "" if e.attended is None else ("yes" if e.attended else "no"),
                        "score": e.score,
                    },
                ),
            )
            for e in enrollments
        ]
    people = selectors.enrollable_people(actor=actor).exclude(training_enrollments__session=session)
    return render(
        request,
        "training/session_detail.html",
        {
            "session": session,
            "sheet": sheet,
            "materials": selectors.session_materials(session=session),
            "may_manage": manage,
            "enrol_form": enrol_form or (forms.EnrolForm(people=people) if manage else None),
            "material_form": material_form or (forms.MaterialForm() if manage else None),
            "pass_score": session.course.pass_score,
        },
        status=status,
    )


@guarded
def session_detail(request: HttpRequest, session_id: int) -> HttpResponse:
    actor = actor_of(request)
    return _session_page(request, actor, selectors.session_get(actor=actor, session_id=session_id))


@guarded
@require_POST
def session_enrol(request: HttpRequest, session_id: int) -> HttpResponse:
    actor = actor_of(request)
    session = selectors.session_get(actor=actor, session_id=session_id)
    require(policies.may_manage(actor))
    people = selectors.enrollable_people(actor=actor)
    form = forms.EnrolForm(request.POST, people=people)
    created = save_form(
        form, lambda: services.enrollment_add(actor=actor, session=session, users=list(form.cleaned_data["users"]))
    )
    if created is None:
        return _session_page(request, actor, session, enrol_form=form, status=400)
    messages.success(request, _("%(n)s enrolled.") % {"n": len(created)})
    return redirect("training:session_detail", session_id=session.pk)


@guarded
@require_POST
def session_attendance(request: HttpRequest, session_id: int) -> HttpResponse:
    """The attendance sheet: every row is checked first; one bad row changes nothing."""
    actor = actor_of(request)
    session = selectors.session_get(actor=actor, session_id=session_id)
    require(policies.may_manage(actor))
    enrollments = selectors.session_enrollments(actor=actor, session=session)
    sheet = [(e, forms.AttendanceForm(request.POST, prefix=f"e{e.pk}")) for e in enrollments]
    if not all(f.is_valid() for _e, f in sheet):
        return _session_page(request, actor, session, sheet=sheet, status=400)
    failed = False
    try:
        with transaction.atomic():
            for enrollment, form in sheet:
                if f"e{enrollment.pk}-attended" not in request.POST:
                    continue
                attended, score = form.attended_value(), form.cleaned_data.get("score")
                if attended == enrollment.attended and score == enrollment.score:
                    continue
                try:
                    services.enrollment_record(actor=actor, enrollment=enrollment, attended=attended, score=score)
                except (PermissionDenied, NotFound):
                    raise
                except ApplicationError as exc:
                    field = next((n for n in exc.details if n in form.fields), None)
                    form.add_error(field, str(exc.message))
                    failed = True
            if failed:
                transaction.set_rollback(True)
    except (PermissionDenied, NotFound):
        raise
    if failed:
        return _session_page(request, actor, session, sheet=sheet, status=400)
    messages.success(request, _("Attendance and scores were saved."))
    return redirect("training:session_detail", session_id=session.pk)


@guarded
@require_POST
def material_add(request: HttpRequest, session_id: int) -> HttpResponse:
    actor = actor_of(request)
    session = selectors.session_get(actor=actor, session_id=session_id)
    require(policies.may_manage(actor))
    form = forms.MaterialForm(request.POST, request.FILES)
    material = save_form(
        form,
        lambda: services.material_add(
            actor=actor,
            session=session,
            title=form.cleaned_data["title"],
            link=form.cleaned_data["link"],
            upload=form.cleaned_data.get("file"),
        ),
    )
    if material is None:
        return _session_page(request, actor, session, material_form=form, status=400)
    messages.success(request, _("The material was added."))
    return redirect("training:session_detail", session_id=session.pk)


@guarded
def material_download(request: HttpRequest, material_id: int) -> HttpResponse:
    """A session's file, only to signed-in people who may see the session."""
    material = selectors.material_get(actor=actor_of(request), material_id=material_id)
    if material.link:
        return redirect(material.link)
    try:
        handle = material.file.open("rb")
    except (FileNotFoundError, ValueError) as exc:
        raise NotFound("not_found", _("Not found.")) from exc
    response = FileResponse(
        handle, as_attachment=True, filename=material.original_name or "file", content_type=material.content_type
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response["Cache-Control"] = "private, no-store"
    return cast(HttpResponse, response)


# ---- courses ---------------------------------------------------------------------------------------


@guarded
def course_list(request: HttpRequest) -> HttpResponse:
    actor = actor_of(request)
    manage = policies.may_manage(actor)
    form = forms.CourseForm(request.POST or None) if manage else None
    status = 200
    if request.method == "POST":
        require(manage)
        assert form is not None
        course = save_form(
            form,
            lambda: services.course_create(
                actor=actor,
                title=form.cleaned_data["title"],
                kind=form.cleaned_data["kind"],
                description=form.cleaned_data["description"],
                pass_score=form.cleaned_data["pass_score"],
                product=form.cleaned_data["product"],
            ),
        )
        if course is not None:
            messages.success(request, _("The course was created."))
            return redirect("training:courses")
        status = 400
    courses = list(selectors.courses(actor=actor, include_inactive=True)[:500])
    return render(
        request, "training/course_list.html", {"courses": courses, "form": form, "may_manage": manage}, status=status
    )


@guarded
def course_edit(request: HttpRequest, course_id: int) -> HttpResponse:
    actor = actor_of(request)
    course: TrainingCourse = selectors.course_get(actor=actor, course_id=course_id)
    require(policies.may_manage(actor))
    initial = {
        "title": course.title,
        "kind": course.kind,
        "product": course.product_id,
        "pass_score": course.pass_score,
        "description": course.description,
        "is_active": course.is_active,
    }
    form = forms.CourseForm(request.POST or None, initial=initial)
    if request.method == "POST":
        saved = save_form(
            form,
            lambda: services.course_update(
                actor=actor,
                course=course,
                title=form.cleaned_data["title"],
                kind=form.cleaned_data["kind"],
                description=form.cleaned_data["description"],
                pass_score=form.cleaned_data["pass_score"],
                product=form.cleaned_data["product"],
                is_active=form.cleaned_data["is_active"],
            ),
        )
        if saved is not None:
            messages.success(request, _("The course was saved."))
            return redirect("training:courses")
        return render(request, "training/course_form.html", {"form": form, "course": course}, status=400)
    return render(request, "training/course_form.html", {"form": form, "course": course})


# ---- coaching --------------------------------------------------------------------------------------


@guarded
def coaching_list(request: HttpRequest) -> HttpResponse:
    actor = actor_of(request)
    status = request.GET.get("status", CoachingStatus.ACTIVE)
    if status not in CoachingStatus.values:
        status = ""
    today = dates.company_today()
    plans = list(selectors.coaching_plans(actor=actor, status=status)[:300])
    return render(
        request,
        "training/coaching_list.html",
        {
            "plans": plans,
            "status": status,
            "statuses": CoachingStatus.choices,
            "today": today,
            "due": selectors.coaching_due(actor=actor, today=today),
            "may_manage": policies.may_manage(actor),
        },
    )


def _plan_form(actor: User, data: Any = None, **kwargs: Any) -> forms.CoachingPlanForm:
    return forms.CoachingPlanForm(data, people=selectors.coachable_people(actor=actor), **kwargs)


def _kpi_text(plan: CoachingPlan) -> str:
    return "\n".join(f"{k.get('code', '')}: {k.get('label', '')}" for k in plan.kpis if isinstance(k, dict))


@guarded
def coaching_new(request: HttpRequest) -> HttpResponse:
    actor = actor_of(request)
    require(policies.may_manage(actor))
    initial = {}
    rep_id = _int(request.GET.get("rep"), 0, low=0, high=2**62)
    if rep_id:
        initial["rep"] = rep_id
    form = _plan_form(actor, request.POST or None, initial=initial)
    if request.method == "POST":
        plan = save_form(
            form,
            lambda: services.coaching_plan_create(
                actor=actor,
                rep=form.cleaned_data["rep"],
                title=form.cleaned_data["title"],
                goals=form.cleaned_data["goals"],
                kpis=form.cleaned_data["kpis"],
                kpi_note=form.cleaned_data["kpi_note"],
                next_check_in=form.cleaned_data["next_check_in"],
            ),
        )
        if plan is not None:
            messages.success(request, _("The coaching plan was created."))
            return redirect("training:coaching_detail", plan_id=plan.pk)
        return render(request, "training/coaching_form.html", {"form": form}, status=400)
    return render(request, "training/coaching_form.html", {"form": form})


def _plan_page(
    request: HttpRequest, actor: User, plan: CoachingPlan, *, check_in_form: Any = None, status: int = 200
) -> HttpResponse:
    may_edit = policies.manages_person(actor, plan.rep)
    may_check_in = may_edit or (plan.coach_id == actor.pk and policies.may_manage(actor))
    today = dates.company_today()
    return render(
        request,
        "training/coaching_detail.html",
        {
            "plan": plan,
            "check_ins": selectors.check_ins(actor=actor, plan=plan),
            "sees_private": policies.sees_private_coaching(actor, plan),
            "may_edit": may_edit,
            "check_in_form": check_in_form or (forms.CheckInForm(initial={"held_on": today}) if may_check_in else None),
            "today": today,
            "completion": selectors.completion_summary(actor=actor, user=plan.rep),
        },
        status=status,
    )


@guarded
def coaching_detail(request: HttpRequest, plan_id: int) -> HttpResponse:
    actor = actor_of(request)
    return _plan_page(request, actor, selectors.coaching_plan_get(actor=actor, plan_id=plan_id))


@guarded
def coaching_edit(request: HttpRequest, plan_id: int) -> HttpResponse:
    actor = actor_of(request)
    plan = selectors.coaching_plan_get(actor=actor, plan_id=plan_id)
    require(policies.manages_person(actor, plan.rep))
    initial = {
        "title": plan.title,
        "goals": plan.goals,
        "kpis": _kpi_text(plan),
        "kpi_note": plan.kpi_note,
        "next_check_in": plan.next_check_in,
        "status": plan.status,
    }
    form = _plan_form(actor, request.POST or None, initial=initial, editing=True)
    if request.method == "POST":
        saved = save_form(
            form,
            lambda: services.coaching_plan_update(
                actor=actor,
                plan=plan,
                title=form.cleaned_data["title"],
                goals=form.cleaned_data["goals"],
                kpis=form.cleaned_data["kpis"],
                kpi_note=form.cleaned_data["kpi_note"],
                next_check_in=form.cleaned_data["next_check_in"],
                status=form.cleaned_data["status"],
            ),
        )
        if saved is not None:
            messages.success(request, _("The coaching plan was saved."))
            return redirect("training:coaching_detail", plan_id=plan.pk)
        return render(request, "training/coaching_form.html", {"form": form, "plan": plan}, status=400)
    return render(request, "training/coaching_form.html", {"form": form, "plan": plan})


@guarded
@require_POST
def coaching_check_in(request: HttpRequest, plan_id: int) -> HttpResponse:
    actor = actor_of(request)
    plan = selectors.coaching_plan_get(actor=actor, plan_id=plan_id)
    form = forms.CheckInForm(request.POST)
    saved = save_form(
        form,
        lambda: services.coaching_check_in_add(
            actor=actor,
            plan=plan,
            held_on=form.cleaned_data["held_on"],
            note=form.cleaned_data["note"],
            private_note=form.cleaned_data["private_note"],
            next_check_in=form.cleaned_data["next_check_in"],
        ),
    )
    if saved is None:
        return _plan_page(request, actor, plan, check_in_form=form, status=400)
    messages.success(request, _("The check-in was recorded."))
    return redirect("training:coaching_detail", plan_id=plan.pk)


# ---- the know-how library ------------------------------------------------------------------------


@guarded
def library(request: HttpRequest) -> HttpResponse:
    actor = actor_of(request)
    form = forms.LibraryFilterForm(request.GET or None)
    q = tag = kind = ""
    status = 200
    if form.is_bound:
        if form.is_valid():
            q, tag, kind = form.cleaned_data["q"], form.cleaned_data["tag"], form.cleaned_data["kind"]
        else:
            status = 400
    page = _page(request)
    rows = list(
        selectors.articles(actor=actor, q=q, tag=tag, kind=kind).defer("body")[
            (page - 1) * PAGE_SIZE : page * PAGE_SIZE + 1
        ]
    )
    return render(
        request,
        "training/library.html",
        {
            "form": form,
            "articles": rows[:PAGE_SIZE],
            "has_next": len(rows) > PAGE_SIZE,
            "page": page,
            "query": _query_without_page(request),
            "tags": selectors.popular_tags(actor=actor),
            "tag": tag,
        },
        status=status,
    )


def _article_links(actor: User, form: forms.ArticleForm) -> tuple[Customer | None, Deal | None]:
    """The typed ids as records the actor may see (an unknown or hidden one is a form error)."""
    customer = deal = None
    if form.cleaned_data.get("customer"):
        customer = Customer.objects.visible_to(actor).filter(pk=form.cleaned_data["customer"]).first()
        if customer is None:
            raise services.invalid("customer", _("Choose a customer you can see."))
    if form.cleaned_data.get("deal"):
        deal = Deal.objects.visible_to(actor).filter(pk=form.cleaned_data["deal"]).first()
        if deal is None:
            raise services.invalid("deal", _("Choose a deal you can see."))
    return customer, deal


@guarded
def article_new(request: HttpRequest) -> HttpResponse:
    actor = actor_of(request)
    form = forms.ArticleForm(request.POST or None)
    if request.method == "POST":

        def create() -> Article:
            customer, deal = _article_links(actor, form)
            return services.article_create(
                actor=actor,
                kind=form.cleaned_data["kind"],
                title=form.cleaned_data["title"],
                body=form.cleaned_data["body"],
                tags=form.cleaned_data["tags"],
                customer=customer,
                deal=deal,
                product=form.cleaned_data["product"],
            )

        article = save_form(form, create)
        if article is not None:
            messages.success(request, _("The article was published."))
            return redirect("training:article_detail", article_id=article.pk)
        return render(request, "training/article_form.html", {"form": form}, status=400)
    return render(request, "training/article_form.html", {"form": form})


@guarded
def article_detail(request: HttpRequest, article_id: int) -> HttpResponse:
    actor = actor_of(request)
    article = selectors.article_get(actor=actor, article_id=article_id)
    return render(
        request,
        "training/article_detail.html",
        {
            "article": article,
            "links": selectors.article_links(actor=actor, article=article),
            "may_edit": policies.may_edit_article(actor, article),
        },
    )


@guarded
def article_edit(request: HttpRequest, article_id: int) -> HttpResponse:
    actor = actor_of(request)
    article = selectors.article_get(actor=actor, article_id=article_id)
    require(policies.may_edit_article(actor, article))
    links = selectors.article_links(actor=actor, article=article)
    initial = {
        "kind": article.kind,
        "title": article.title,
        "body": article.body,
        "tags": ", ".join(article.tag_list),
        "customer": links["customer"].pk if links["customer"] else None,  # type: ignore[attr-defined]
        "deal": links["deal"].pk if links["deal"] else None,  # type: ignore[attr-defined]
        "product": article.product_id,
    }
    form = forms.ArticleForm(request.POST or None, initial=initial)
    if request.method == "POST":

        def update() -> Article:
            customer, deal = _article_links(actor, form)
            return services.article_update(
                actor=actor,
                article=article,
                kind=form.cleaned_data["kind"],
                title=form.cleaned_data["title"],
                body=form.cleaned_data["body"],
                tags=form.cleaned_data["tags"],
                customer=customer,
                deal=deal,
                product=form.cleaned_data["product"],
            )

        saved = save_form(form, update)
        if saved is not None:
            messages.success(request, _("The article was saved."))
            return redirect("training:article_detail", article_id=article.pk)
        return render(request, "training/article_form.html", {"form": form, "article": article}, status=400)
    return render(request, "training/article_form.html", {"form": form, "article": article})


@guarded
@require_POST
def enrolment_remove(request: HttpRequest, enrollment_id: int) -> HttpResponse:
    actor = actor_of(request)
    enrollment = selectors.enrollment_get(actor=actor, enrollment_id=enrollment_id)
    services.enrollment_remove(actor=actor, enrollment=enrollment)
    messages.success(request, _("%(name)s was taken off the session.") % {"name": enrollment.user.display_name})
    return redirect("training:session_detail", session_id=enrollment.session_id)


@guarded
@require_POST
def article_delete(request: HttpRequest, article_id: int) -> HttpResponse:
    actor = actor_of(request)
    services.article_delete(actor=actor, article=selectors.article_get(actor=actor, article_id=article_id))
    messages.success(request, _("The article was deleted."))
    return redirect("training:library")


@guarded
@require_POST
def material_delete(request: HttpRequest, material_id: int) -> HttpResponse:
    actor = actor_of(request)
    material = selectors.material_get(actor=actor, material_id=material_id)
    services.material_delete(actor=actor, material=material)
    messages.success(request, _("The material was removed."))
    return redirect("training:session_detail", session_id=material.session_id)
