"""Target and plan pages: progress tree, a target with its decomposition, plans with milestones."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.db.models import F
from django.http import HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from bridgecrm.core import dates
from bridgecrm.core.errors import ApplicationError, NotFound, PermissionDenied
from bridgecrm.core.periods import Period, PeriodKind
from bridgecrm.targets import forms, measures, policies, selectors, services
from bridgecrm.targets.models import DecompositionMethod, Measure, PlanPhase
from bridgecrm.users.viewtools import actor_of, export_response, guarded, require, save_form


def _period_default() -> Period:
    return Period.containing(PeriodKind.YEAR, dates.company_today())


@guarded
def progress(request: HttpRequest) -> HttpResponseBase:
    actor = actor_of(request)
    form = forms.ProgressFilterForm(request.GET or None)
    measure, period, category = Measure.SIGNED_AMOUNT.value, _period_default(), ""
    status = 200
    if form.is_bound:
        if form.is_valid():
            measure = form.cleaned_data["measure"] or measure
            period = form.cleaned_data["period"] or period
            category = form.cleaned_data["category"] or ""
        else:
            status = 400
    raw_team = request.GET.get("team") or ""
    focus = int(raw_team) if raw_team.isdigit() and len(raw_team) < 19 else None
    result = selectors.progress(
        actor=actor, measure=measure, period=period, product_category=category, focus_team_id=focus
    )
    if request.GET.get("export") and status == 200:
        return _export(request, result)
    query = request.GET.copy()
    query.pop("team", None)
    return render(
        request,
        "targets/progress.html",
        {
            "form": form,
            "result": result,
            "measure_label": measures.label_of(measure),
            "measure": measures.get(measure),
            "may_manage": policies.may_manage(actor),
            "query": query.urlencode(),
        },
        status=status,
    )


def _export(request: HttpRequest, result: selectors.Progress) -> HttpResponseBase:
    """The progress rows the page shows (the same selector, so the same visibility), as CSV or XLSX."""
    from bridgecrm.targets.templatetags.targets import STATUS_LABELS

    unit = " (%)" if result.unit == measures.RATIO else ""
    header = [_("Name"), _("Target") + unit, _("Actual") + unit, "%", _("Projection"), _("Status"), _("Coverage")]
    rows = (
        [
            r.label,
            r.amount,
            r.actual,
            r.percent,
            r.projection,
            str(STATUS_LABELS.get(r.status, "")) if r.target else "",
            r.coverage,
        ]
        for r in result.rows
    )
    return export_response(request, name=f"targets-{result.measure}-{result.period.code}", header=header, rows=rows)


@guarded
def target_new(request: HttpRequest) -> HttpResponse:
    actor = actor_of(request)
    require(policies.may_manage(actor))
    initial = {"period": _period_default().code, "scope": "company" if policies.may_set_company(actor) else "team"}
    form = forms.TargetForm(request.POST or None, actor=actor, initial=initial)
    unavailable = [m for m in measures.all_measures() if not m.available]
    if request.method == "POST":
        d = form.cleaned_data if form.is_valid() else {}
        target = save_form(
            form,
            lambda: services.target_create(
                actor=actor,
                measure=d["measure"],
                period=d["period"],
                scope=d["scope"],
                amount=d["amount"],
                team=d.get("team"),
                user=d.get("user"),
                product_category=d.get("product_category") or "",
            ),
        )
        if target is not None:
            messages.success(request, _("The target was set."))
            return redirect("targets:detail", target_id=target.pk)
    return render(
        request,
        "targets/target_form.html",
        {"form": form, "unavailable": unavailable, "ratio_codes": [m.code for m in measures.available() if m.is_ratio]},
        status=400 if form.errors else 200,
    )


def _detail_context(actor: Any, target_id: int) -> dict[str, Any]:
    target = selectors.target_for(actor=actor, target_id=target_id)
    scope_children, time_children = selectors.children_of(target)
    view_others = policies.may_view_others(actor)
    visible_ids = set(
        selectors.visible_targets(actor)
        .filter(pk__in=[c.pk for c in scope_children + time_children])
        .values_list("pk", flat=True)
    )
    scope_children = [c for c in scope_children if c.pk in visible_ids]
    time_children = [c for c in time_children if c.pk in visible_ids]
    from bridgecrm.targets import decompose

    return {
        "target": target,
        "scope_children": scope_children,
        "time_children": time_children,
        # Rates and averages are copied to their parts, not split: their parts do not add up.
        "scope_mismatch": decompose.mismatch(target.amount, [c.amount for c in scope_children])
        if view_others and target.additive
        else None,
        "time_mismatch": decompose.mismatch(target.amount, [c.amount for c in time_children])
        if view_others and target.additive
        else None,
        "additive": target.additive,
        "may_edit": policies.may_edit_target(actor, target),
        "may_edit_children": {c.pk: policies.may_edit_target(actor, c) for c in scope_children + time_children},
        "measure_label": measures.label_of(target.measure),
        "measure": target.measure_def,
    }


@guarded
def target_detail(request: HttpRequest, target_id: int) -> HttpResponse:
    actor = actor_of(request)
    context = _detail_context(actor, target_id)
    target = context["target"]
    method = DecompositionMethod.EQUAL if target.additive else DecompositionMethod.SAME
    form = forms.DecomposeForm(
        request.POST or None, additive=target.additive, initial={"dimension": "scope", "method": method}
    )
    preview = None
    status = 200
    if request.method == "POST":
        require(context["may_edit"])
        if form.is_valid():
            weights = {k[2:]: v for k, v in request.POST.items() if k.startswith("w-")}
            try:
                if request.POST.get("action") == "save":
                    _children, saved = services.target_decompose(
                        actor=actor,
                        parent=target,
                        dimension=form.cleaned_data["dimension"],
                        method=form.cleaned_data["method"],
                        weights=weights,
                    )
                    messages.success(
                        request, _("The target was decomposed into %(n)s parts.") % {"n": len(saved.lines)}
                    )
                    if saved.fell_back_to_equal:
                        messages.info(request, _("Last year has no data for this split: it was split equally."))
                    return redirect("targets:detail", target_id=target.pk)
                preview = services.decomposition_preview(
                    actor=actor,
                    parent=target,
                    dimension=form.cleaned_data["dimension"],
                    method=form.cleaned_data["method"],
                    weights=weights,
                )
            except (PermissionDenied, NotFound):
                raise
            except ApplicationError as exc:
                form.add_error(None, str(exc.message))
                status = 400
        else:
            status = 400
    context.update(form=form, preview=preview, adjust_form=forms.AdjustForm())
    return render(request, "targets/target_detail.html", context, status=status)


@guarded
@require_POST
def target_adjust(request: HttpRequest, target_id: int) -> HttpResponse:
    actor = actor_of(request)
    target = selectors.target_for(actor=actor, target_id=target_id)
    form = forms.AdjustForm(request.POST)
    back = target.parent_id or target.pk
    error = ""
    if not form.is_valid():
        error = _("Enter an amount of at least 0.")
    else:
        try:
            services.target_adjust(actor=actor, target=target, amount=form.cleaned_data["amount"])
        except (PermissionDenied, NotFound):
            raise
        except ApplicationError as exc:
            error = str(exc.message)
    if request.htmx and target.parent_id is not None:  # type: ignore[attr-defined]
        # From the parent's page: redraw its parts, with the new sums and mismatches.
        context = _detail_context(actor, target.parent_id)
        context.update(adjusted=not error, adjust_error=error)
        # 200 either way: htmx swaps only successful answers, and the error is part of the partial.
        return render(request, "targets/children_sections.html", context)
    if error:
        messages.error(request, error)
    else:
        messages.success(request, _("The target was changed."))
    return redirect("targets:detail", target_id=back)


@guarded
@require_POST
def target_delete(request: HttpRequest, target_id: int) -> HttpResponse:
    actor = actor_of(request)
    target = selectors.target_for(actor=actor, target_id=target_id)
    services.target_delete(actor=actor, target=target)
    messages.success(request, _("The target was removed."))
    return redirect("targets:progress")


# ---- plans -----------------------------------------------------------------------------------------


@guarded
def plan_list(request: HttpRequest) -> HttpResponse:
    actor = actor_of(request)
    may_manage = policies.may_manage(actor)
    form = forms.PlanForm(request.POST or None, actor=actor, initial={"period": _period_default().code})
    if request.method == "POST":
        require(may_manage)
        d = form.cleaned_data if form.is_valid() else {}
        plan = save_form(
            form,
            lambda: services.plan_create(
                actor=actor,
                name=d["name"],
                period=d["period"],
                scope=d["scope"],
                team=d.get("team"),
                user=d.get("user"),
                description=d.get("description") or "",
            ),
        )
        if plan is not None:
            messages.success(request, _("The plan was created."))
            return redirect("targets:plan_detail", plan_id=plan.pk)
    plans = selectors.plan_list(actor=actor)
    return render(
        request,
        "targets/plan_list.html",
        {"plans": plans, "form": form, "may_manage": may_manage},
        status=400 if form.errors else 200,
    )


def _linkable_targets(actor: Any, plan: Any) -> list[Any]:
    """Targets the actor sees inside the plan's period (at most 200), for a milestone to link."""
    return list(
        selectors.visible_targets(actor)
        .filter(period_start__gte=plan.period_start, period_end__lte=plan.period_end, product_category="")
        .select_related("team", "user")
        .order_by("period_start", "scope", "measure", "id")[:200]
    )


def _key_customers(actor: Any, plan: Any) -> list[tuple[int, str]]:
    """Customers of the plan's rep (or of the plan team's people) that the actor sees, largest
    potential first (at most 300), to pick key customers from."""
    from bridgecrm.customers.models import Customer

    qs = Customer.objects.visible_to(actor).filter(deleted_at__isnull=True)
    if plan.user_id is not None:
        qs = qs.filter(owner_id=plan.user_id)
    elif plan.team is not None:
        qs = qs.filter(owner__team__path__startswith=plan.team.path)
    rows = qs.order_by(F("estimated_annual_potential").desc(nulls_last=True), "name", "pk").values_list("pk", "name")
    return list(rows[:300])


def _plan_page(request: HttpRequest, plan_id: int, **extra: Any) -> HttpResponse:
    actor = actor_of(request)
    plan = selectors.plan_detail(actor=actor, plan_id=plan_id)
    today = dates.company_today()
    phases = list(plan.phases.all())
    may_edit = policies.may_edit_plan(actor, plan)
    milestones = list(plan.milestones.all())
    context = {
        "plan": plan,
        "summary": selectors.plan_summary(plan, today),
        "phases": phases,
        "milestones": milestones,
        "today": today,
        "may_edit": may_edit,
        "may_status_ids": {m.pk for m in milestones if m.owner_id == actor.pk or may_edit},
        "phase_form": extra.pop("phase_form", None) or forms.PhaseForm(),
        "milestone_form": extra.pop("milestone_form", None)
        or forms.MilestoneForm(
            actor=actor, phases=phases, targets=_linkable_targets(actor, plan), customers=_key_customers(actor, plan)
        ),
    }
    context.update(extra)
    return render(request, "targets/plan_detail.html", context, status=extra.get("status", 200))


@guarded
def plan_detail(request: HttpRequest, plan_id: int) -> HttpResponse:
    return _plan_page(request, plan_id)


@guarded
@require_POST
def plan_phase_add(request: HttpRequest, plan_id: int) -> HttpResponse:
    actor = actor_of(request)
    plan = selectors.plan_for(actor=actor, plan_id=plan_id)
    require(policies.may_edit_plan(actor, plan))
    form = forms.PhaseForm(request.POST)
    d = form.cleaned_data if form.is_valid() else {}
    phase = save_form(
        form,
        lambda: services.phase_add(
            actor=actor, plan=plan, name=d["name"], starts_on=d["starts_on"], ends_on=d["ends_on"]
        ),
    )
    if phase is not None:
        messages.success(request, _("The phase was added."))
        return redirect("targets:plan_detail", plan_id=plan.pk)
    return _plan_page(request, plan_id, phase_form=form, status=400)


@guarded
@require_POST
def plan_milestone_add(request: HttpRequest, plan_id: int) -> HttpResponse:
    actor = actor_of(request)
    plan = selectors.plan_for(actor=actor, plan_id=plan_id)
    require(policies.may_edit_plan(actor, plan))
    phases = list(plan.phases.all())
    form = forms.MilestoneForm(
        request.POST,
        actor=actor,
        phases=phases,
        targets=_linkable_targets(actor, plan),
        customers=_key_customers(actor, plan),
    )
    d = form.cleaned_data if form.is_valid() else {}
    milestone = save_form(
        form,
        lambda: services.milestone_add(
            actor=actor,
            plan=plan,
            title=d["title"],
            due_on=d["due_on"],
            owner=d["owner"],
            phase=PlanPhase.objects.filter(plan=plan, pk=d["phase"]).first() if d.get("phase") else None,
            customer_ids=d.get("customers") or [],
            target_ids=d.get("targets") or [],
        ),
    )
    if milestone is not None:
        messages.success(request, _("The milestone was added."))
        return redirect("targets:plan_detail", plan_id=plan.pk)
    return _plan_page(request, plan_id, milestone_form=form, status=400)


@guarded
@require_POST
def milestone_status(request: HttpRequest, milestone_id: int) -> HttpResponse:
    actor = actor_of(request)
    milestone = selectors.milestone_for(actor=actor, milestone_id=milestone_id)
    form = forms.MilestoneStatusForm(request.POST)
    if form.is_valid():
        services.milestone_set_status(actor=actor, milestone=milestone, status=form.cleaned_data["status"])
        messages.success(request, _("The milestone was updated."))
    else:
        messages.error(request, _("Select a valid choice."))
    return redirect("targets:plan_detail", plan_id=milestone.plan_id)


@guarded
@require_POST
def plan_delete(request: HttpRequest, plan_id: int) -> HttpResponse:
    actor = actor_of(request)
    plan = selectors.plan_for(actor=actor, plan_id=plan_id)
    services.plan_delete(actor=actor, plan=plan)
    messages.success(request, _("The plan was removed."))
    return redirect("targets:plans")
