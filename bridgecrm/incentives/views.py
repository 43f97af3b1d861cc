"""Incentive pages: statements (list, detail, generate, approve, payroll export), commission plans,
bonus rules, promotion criteria and who is eligible."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from bridgecrm.core import dates
from bridgecrm.core.errors import ApplicationError, NotFound, PermissionDenied
from bridgecrm.core.periods import Period, PeriodKind
from bridgecrm.incentives import exports, forms, policies, selectors, services
from bridgecrm.incentives.models import BonusRule, PlanAssignment, PromotionCriterion, StatementStatus
from bridgecrm.users.viewtools import XLSX_CONTENT_TYPE, actor_of, guarded, require, save_form
from bridgecrm.users.viewtools import int_param as _int

PAGE_SIZE = 50


def _last_month() -> Period:
    return Period.containing(PeriodKind.MONTH, dates.company_today()).previous()


@guarded
def statement_list(request: HttpRequest) -> HttpResponse:
    actor = actor_of(request)
    form = forms.StatementFilterForm(request.GET or None)
    period: Period | None = None
    status_filter = ""
    status = 200
    if form.is_bound:
        if form.is_valid():
            period, status_filter = form.cleaned_data["period"], form.cleaned_data["status"] or ""
        else:
            status = 400
    page = _int(request.GET.get("page"), 1)
    qs = selectors.statements(actor=actor, period=period, status=status_filter)
    rows = list(qs[(page - 1) * PAGE_SIZE : page * PAGE_SIZE + 1])
    query = request.GET.copy()
    query.pop("page", None)
    may_generate = policies.may_approve_any(actor)
    return render(
        request,
        "incentives/statements.html",
        {
            "form": form,
            "statements": rows[:PAGE_SIZE],
            "page": page,
            "has_next": len(rows) > PAGE_SIZE,
            "query": query.urlencode(),
            "may_generate": may_generate,
            "generate_form": forms.GenerateForm(initial={"period": _last_month().code}) if may_generate else None,
            "export_period": (period or _last_month()).code,
            "may_view_rates": policies.may_view_rates(actor),
            "may_manage": policies.may_manage(actor),
        },
        status=status,
    )


@guarded
@require_POST
def statements_generate(request: HttpRequest) -> HttpResponse:
    actor = actor_of(request)
    require(policies.may_approve_any(actor))
    form = forms.GenerateForm(request.POST)
    count = save_form(form, lambda: services.statements_generate(actor=actor, period=form.cleaned_data["period"]))
    if count is None:
        messages.error(request, " ".join(str(e) for errors in form.errors.values() for e in errors))
        return redirect("incentives:statements")
    messages.success(request, _("%(count)s statements generated.") % {"count": count})
    return redirect(f"{_url('incentives:statements')}?period={form.cleaned_data['period'].code}")


def _url(name: str, **kwargs: Any) -> str:
    from django.urls import reverse

    return reverse(name, kwargs=kwargs or None)


@guarded
def statement_export(request: HttpRequest) -> HttpResponse:
    actor = actor_of(request)
    form = forms.GenerateForm(request.GET or None)
    if not form.is_valid():
        return HttpResponse(_("Enter a period such as 2026-07, 2026-Q3 or 2026."), status=400)
    period = form.cleaned_data["period"]
    content = exports.payroll_workbook(
        selectors.payroll_rows(actor=actor, period=period),
        selectors.payroll_lines(actor=actor, period=period),
        show_rates=policies.may_view_rates(actor),
    )
    response = HttpResponse(content, content_type=XLSX_CONTENT_TYPE)
    response["Content-Disposition"] = f'attachment; filename="payroll-{period.code}.xlsx"'
    return response


@guarded
def statement_detail(request: HttpRequest, statement_id: int) -> HttpResponse:
    actor = actor_of(request)
    statement = selectors.statement(actor=actor, statement_id=statement_id)
    lines = selectors.statement_lines(statement)
    return render(
        request,
        "incentives/statement.html",
        {
            "statement": statement,
            "lines": lines,
            "show_rates": policies.may_see_rates_of(actor, statement),
            "may_approve": statement.status == StatementStatus.DRAFT and policies.may_approve(actor, statement),
            "plan": statement.plan_snapshot,
        },
    )


@guarded
@require_POST
def statement_approve(request: HttpRequest, statement_id: int) -> HttpResponse:
    actor = actor_of(request)
    statement = selectors.statement(actor=actor, statement_id=statement_id)
    try:
        services.statement_approve(actor=actor, statement=statement)
    except (PermissionDenied, NotFound):
        raise
    except ApplicationError as exc:
        messages.error(request, str(exc.message))
    else:
        messages.success(request, _("The statement is approved and locked; the rep has been told."))
    return redirect("incentives:statement", statement_id=statement.pk)


@guarded
@require_POST
def statement_regenerate(request: HttpRequest, statement_id: int) -> HttpResponse:
    actor = actor_of(request)
    statement = selectors.statement(actor=actor, statement_id=statement_id)
    require(policies.may_approve(actor, statement))
    try:
        services.statement_generate(actor=actor, user=statement.user, period=statement.period)
    except (PermissionDenied, NotFound):
        raise
    except ApplicationError as exc:
        messages.error(request, str(exc.message))
    else:
        messages.success(request, _("The statement was generated again from the current figures."))
    return redirect("incentives:statement", statement_id=statement.pk)


# ---- plans -----------------------------------------------------------------------------------------


@guarded
def plan_list(request: HttpRequest) -> HttpResponse:
    actor = actor_of(request)
    require(policies.may_view_rates(actor) or policies.may_manage(actor))
    return render(
        request,
        "incentives/plans.html",
        {"plans": list(selectors.plans(actor=actor)), "may_manage": policies.may_manage(actor)},
    )


@guarded
def plan_new(request: HttpRequest) -> HttpResponse:
    actor = actor_of(request)
    require(policies.may_manage(actor))
    form = forms.PlanForm(request.POST or None)
    if request.method == "POST":
        plan = save_form(form, lambda: services.plan_save(actor=actor, values=form.values()))
        if plan is not None:
            messages.success(request, _("The plan was saved."))
            return redirect("incentives:plan", plan_id=plan.pk)
    return render(
        request,
        "incentives/plan_form.html",
        {"form": form, "plan": None},
        status=400 if request.method == "POST" else 200,
    )


@guarded
def plan_detail(request: HttpRequest, plan_id: int) -> HttpResponse:
    actor = actor_of(request)
    require(policies.may_view_rates(actor) or policies.may_manage(actor))
    plan = selectors.plan(actor=actor, plan_id=plan_id)
    may_manage = policies.may_manage(actor)
    form = forms.PlanForm(request.POST or None, plan=plan)
    status = 200
    if request.method == "POST":
        require(may_manage)
        saved = save_form(form, lambda: services.plan_save(actor=actor, values=form.values(), plan=plan))
        if saved is not None:
            messages.success(request, _("The plan was saved."))
            return redirect("incentives:plan", plan_id=plan.pk)
        status = 400
    return render(
        request,
        "incentives/plan_form.html",
        {
            "form": form,
            "plan": plan,
            "may_manage": may_manage,
            "assignments": selectors.assignments(plan),
            "assign_form": forms.AssignForm() if may_manage else None,
        },
        status=status,
    )


@guarded
@require_POST
def plan_assign(request: HttpRequest, plan_id: int) -> HttpResponse:
    actor = actor_of(request)
    require(policies.may_manage(actor))
    plan = selectors.plan(actor=actor, plan_id=plan_id)
    form = forms.AssignForm(request.POST)
    done = save_form(
        form,
        lambda: services.plan_assign(
            actor=actor,
            plan=plan,
            user=form.cleaned_data["user"],
            team=form.cleaned_data["team"],
            role=form.cleaned_data["role"],
            valid_from=form.cleaned_data["valid_from"],
            valid_to=form.cleaned_data["valid_to"],
        ),
    )
    if done is None:
        messages.error(request, " ".join(str(e) for errors in form.errors.values() for e in errors))
    else:
        messages.success(request, _("The plan was assigned."))
    return redirect("incentives:plan", plan_id=plan.pk)


@guarded
@require_POST
def plan_unassign(request: HttpRequest, assignment_id: int) -> HttpResponse:
    actor = actor_of(request)
    require(policies.may_manage(actor))
    assignment = PlanAssignment.objects.filter(pk=assignment_id).first()
    if assignment is None:
        raise NotFound("not_found", _("Not found."))
    plan_id = assignment.plan_id
    services.plan_unassign(actor=actor, assignment=assignment)
    messages.success(request, _("The assignment was removed."))
    return redirect("incentives:plan", plan_id=plan_id)


# ---- bonus rules -----------------------------------------------------------------------------------


@guarded
def bonus_rules(request: HttpRequest) -> HttpResponse:
    actor = actor_of(request)
    may_manage = policies.may_manage(actor)
    require(may_manage or policies.may_view_rates(actor))
    form = forms.BonusRuleForm(request.POST or None)
    status = 200
    if request.method == "POST":
        require(may_manage)
        rule = save_form(
            form,
            lambda: services.bonus_rule_create(
                actor=actor,
                name=form.cleaned_data["name"],
                scorecard=form.cleaned_data["scorecard"],
                min_total=form.cleaned_data["min_total"],
                amount=form.cleaned_data["amount"],
            ),
        )
        if rule is not None:
            messages.success(request, _("The bonus rule was added."))
            return redirect("incentives:bonus_rules")
        status = 400
    return render(
        request,
        "incentives/bonus_rules.html",
        {"rules": list(selectors.bonus_rules()), "form": form if may_manage else None},
        status=status,
    )


@guarded
@require_POST
def bonus_rule_delete(request: HttpRequest, rule_id: int) -> HttpResponse:
    actor = actor_of(request)
    require(policies.may_manage(actor))
    rule = BonusRule.objects.filter(pk=rule_id).first()
    if rule is None:
        raise NotFound("not_found", _("Not found."))
    services.bonus_rule_delete(actor=actor, rule=rule)
    messages.success(request, _("The bonus rule was removed."))
    return redirect("incentives:bonus_rules")


# ---- promotion -------------------------------------------------------------------------------------


@guarded
def promotion(request: HttpRequest) -> HttpResponse:
    actor = actor_of(request)
    may_manage = policies.may_manage(actor)
    form = forms.CriterionForm(request.POST or None)
    status = 200
    if request.method == "POST":
        require(may_manage)
        crit = save_form(
            form,
            lambda: services.criterion_create(
                actor=actor,
                name=form.cleaned_data["name"],
                min_score=form.cleaned_data["min_score"],
                quarters=form.cleaned_data["quarters"],
                course=form.cleaned_data["course"],
                min_tenure_months=form.cleaned_data["min_tenure_months"],
            ),
        )
        if crit is not None:
            messages.success(request, _("The promotion criterion was added."))
            return redirect("incentives:promotion")
        status = 400
    results = selectors.eligibility(actor=actor)
    return render(
        request,
        "incentives/promotion.html",
        {
            "criteria": list(selectors.criteria()),
            "results": results,
            "form": form if may_manage else None,
            "eligible_count": sum(1 for r in results if r.eligible),
            "may_view_rates": policies.may_view_rates(actor),
            "may_manage": may_manage,
        },
        status=status,
    )


@guarded
@require_POST
def criterion_delete(request: HttpRequest, criterion_id: int) -> HttpResponse:
    actor = actor_of(request)
    require(policies.may_manage(actor))
    crit = PromotionCriterion.objects.filter(pk=criterion_id).first()
    if crit is None:
        raise NotFound("not_found", _("Not found."))
    services.criterion_delete(actor=actor, criterion=crit)
    messages.success(request, _("The promotion criterion was removed."))
    return redirect("incentives:promotion")
