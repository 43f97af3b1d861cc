"""Tier pages: the model (admins), a customer's manual tier, the routine's due list and compliance."""

from __future__ import annotations

import datetime as dt

from django.contrib import messages
from django.db.models import Count
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from bridgecrm.core import dates
from bridgecrm.core.errors import ApplicationError, NotFound, PermissionDenied
from bridgecrm.customers.models import Customer
from bridgecrm.tiers import forms, policies, selectors, services
from bridgecrm.users.viewtools import actor_of, guarded, require
from bridgecrm.users.viewtools import form_errors as _form_errors
from bridgecrm.users.viewtools import int_param as _int

PAGE_SIZE = 50


@guarded
def tier_settings(request: HttpRequest) -> HttpResponse:
    actor = actor_of(request)
    require(policies.may_manage(actor))
    model = selectors.tier_model()
    tiers = selectors.tiers()
    preview: dict[str, int] | None = None
    status = 200
    if request.method == "POST":
        form = forms.TierModelForm(request.POST, model=model, tiers=tiers)
        if form.is_valid():
            try:
                if request.POST.get("action") == "save":
                    services.tier_model_save(
                        actor=actor,
                        values=form.values(),
                        tier_rows=form.tier_rows(),
                        version=form.cleaned_data.get("version"),
                    )
                    messages.success(request, _("The tier model was saved; customers are being recomputed."))
                    return redirect("tiers:settings")
                preview = services.tier_model_preview(actor=actor, values=form.values(), tier_rows=form.tier_rows())
            except (PermissionDenied, NotFound):
                raise
            except ApplicationError as exc:
                _form_errors(form, exc)
                status = 400
        else:
            status = 400
    else:
        form = forms.TierModelForm(model=model, tiers=tiers)
    current = dict(
        (code, n)
        for code, n in Customer.objects.filter(deleted_at__isnull=True)
        .order_by()
        .values_list("tier")
        .annotate(n=Count("pk"))
        .values_list("tier", "n")
    )
    codes = [t.code for t in tiers] + sorted(set(current) - {t.code for t in tiers})
    if preview is not None:
        codes += sorted(set(preview) - set(codes))
    counts = [
        {"code": c or "—", "now": current.get(c, 0), "preview": None if preview is None else preview.get(c, 0)}
        for c in codes
    ]
    return render(
        request,
        "tiers/settings.html",
        {"form": form, "model": model, "counts": counts, "previewed": preview is not None},
        status=status,
    )


@guarded
@require_POST
def tier_recompute(request: HttpRequest) -> HttpResponse:
    services.tier_recompute_request(actor=actor_of(request))
    messages.success(request, _("Recomputation started: tiers change within a minute."))
    return redirect("tiers:settings")


@guarded
@require_POST
def customer_tier(request: HttpRequest, customer_id: int) -> HttpResponse:
    actor = actor_of(request)
    customer = Customer.objects.visible_to(actor).filter(pk=customer_id).first()
    if customer is None:
        raise NotFound("not_found", _("Not found."))
    if request.POST.get("action") == "clear":
        services.manual_tier_clear(actor=actor, customer=customer)
        messages.success(request, _("The manual tier was cleared."))
        return redirect("customers:detail", customer_id=customer.pk)
    form = forms.ManualTierForm(request.POST, tiers=selectors.tiers())
    if form.is_valid():
        try:
            services.manual_tier_set(
                actor=actor, customer=customer, tier=form.cleaned_data["tier"], reason=form.cleaned_data["reason"]
            )
        except (PermissionDenied, NotFound):
            raise
        except ApplicationError as exc:
            messages.error(request, str(exc.message))
        else:
            messages.success(request, _("The tier was set by hand."))
    else:
        messages.error(request, _("Choose a tier and say why."))
    return redirect("customers:detail", customer_id=customer.pk)


@guarded
def routine(request: HttpRequest) -> HttpResponse:
    actor = actor_of(request)
    tiers = selectors.tiers()
    form = forms.RoutineFilterForm(request.GET or None, tiers=tiers)
    tier, within = "", 0
    if form.is_bound and form.is_valid():
        tier, within = form.cleaned_data["tier"] or "", form.cleaned_data["within"] or 0
    page = _int(request.GET.get("page"), 1)
    today = dates.company_today()
    qs = selectors.routine_customers(actor=actor, today=today, tier=tier, within_days=within)
    rows = list(qs[(page - 1) * PAGE_SIZE : page * PAGE_SIZE + 1])
    shown = rows[:PAGE_SIZE]
    statuses = selectors.sop_statuses(shown, today=today)
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "tiers/routine.html",
        {
            "form": form,
            "customers": shown,
            "rows": [(c, statuses[c.pk]) for c in shown],
            "page": page,
            "has_next": len(rows) > PAGE_SIZE,
            "query": query.urlencode(),
            "labels": {t.code: t.label for t in tiers},
        },
    )


@guarded
def compliance(request: HttpRequest) -> HttpResponse:
    actor = actor_of(request)
    today = dates.company_today()
    start_default = today.replace(day=1)
    form = forms.PeriodForm(request.GET or None, initial={"start": start_default, "end": today})
    start, end = start_default, today
    status = 200
    if form.is_bound:
        if form.is_valid():
            start, end = form.cleaned_data["start"], form.cleaned_data["end"]
        else:
            status = 400
    result = selectors.sop_compliance(actor=actor, period_start=start, period_end=end, today=today)
    return render(
        request,
        "tiers/compliance.html",
        {"form": form, "result": result, "running": end >= today, "today": today, "yesterday": today - dt.timedelta(1)},
        status=status,
    )
