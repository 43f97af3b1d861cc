"""Pages for products (read by everyone, changed by admins), pipelines, stages and lost reasons (admins).

Admin pages check the capability before looking anything up: 403 for everyone without it, whatever
the id; an admin asking for a missing id gets 404.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from bridgecrm.core.errors import ApplicationError, PermissionDenied
from bridgecrm.pipeline import forms, policies, selectors, services
from bridgecrm.pipeline.models import Pipeline, Stage
from bridgecrm.users.models import User
from bridgecrm.users.viewtools import actor_of as _actor
from bridgecrm.users.viewtools import export_response, guarded, save_form
from bridgecrm.users.viewtools import int_param as _int

PAGE_SIZE = 50


def _manager(request: HttpRequest) -> User:
    actor = _actor(request)
    if not policies.may_manage(actor):
        raise DjangoPermissionDenied
    return actor


# ---- products ------------------------------------------------------------------------------------


@guarded
def product_list(request: HttpRequest) -> HttpResponse:
    actor = _actor(request)
    form = forms.ProductFilterForm(request.GET)
    filters = form.filters() if form.is_valid() else selectors.ProductFilters()
    page = _int(request.GET.get("page"), 1)
    qs = selectors.product_list(actor=actor, filters=filters)
    rows = list(qs[(page - 1) * PAGE_SIZE : page * PAGE_SIZE + 1])  # one more: is there a next page?
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "pipeline/product_list.html",
        {
            "form": form,
            "products": rows[:PAGE_SIZE],
            "page": page,
            "has_next": len(rows) > PAGE_SIZE,
            "query": query.urlencode(),
            "may_manage": policies.may_manage(actor),
            "show_cost": policies.may_view_cost(actor),
        },
    )


@guarded
def product_export(request: HttpRequest) -> HttpResponseBase:
    """The product list as CSV or XLSX, with the list's filters."""
    form = forms.ProductFilterForm(request.GET)
    filters = form.filters() if form.is_valid() else selectors.ProductFilters()
    actor = _actor(request)
    products = selectors.product_list(actor=actor, filters=filters)
    show_cost = policies.may_view_cost(actor)
    header = [_("SKU"), _("Name"), _("Category"), _("Unit"), _("List price"), _("Currency"), _("Active")]
    if show_cost:
        header += [_("Unit cost"), _("Margin %")]
    rows = (
        [
            p.sku,
            p.name,
            p.get_category_display(),
            p.get_unit_display(),
            p.list_price,
            p.currency,
            p.is_active,
            *([p.unit_cost, p.list_margin_percent] if show_cost else []),
        ]
        for p in products.iterator(chunk_size=2000)
    )
    return export_response(request, name="products", header=header, rows=rows)


@guarded
def product_create(request: HttpRequest) -> HttpResponse:
    actor = _manager(request)
    form = forms.ProductForm(
        request.POST or None, initial={"currency": "CNY", "is_active": True}, show_cost=policies.may_view_cost(actor)
    )
    if (
        request.method == "POST"
        and (product := save_form(form, lambda: services.product_create(actor=actor, **form.cleaned_data))) is not None
    ):
        messages.success(request, _("The product %(sku)s was created.") % {"sku": product.sku})
        return redirect("pipeline:products")
    return render(request, "pipeline/product_form.html", {"form": form, "product": None})


@guarded
def product_edit(request: HttpRequest, product_id: int) -> HttpResponse:
    actor = _manager(request)
    product = selectors.product_get(actor=actor, product_id=product_id)
    show_cost = policies.may_view_cost(actor)
    initial = {name: getattr(product, name) for name in services.PRODUCT_FIELDS if show_cost or name != "unit_cost"}
    form = forms.ProductForm(request.POST or None, initial=initial, show_cost=show_cost)
    if (
        request.method == "POST"
        and save_form(form, lambda: services.product_update(actor=actor, product=product, **form.cleaned_data))
        is not None
    ):
        messages.success(request, _("The product %(sku)s was saved.") % {"sku": product.sku})
        return redirect("pipeline:products")
    return render(request, "pipeline/product_form.html", {"form": form, "product": product})


@require_POST
@guarded
def product_deactivate(request: HttpRequest, product_id: int) -> HttpResponse:
    actor = _manager(request)
    product = selectors.product_get(actor=actor, product_id=product_id)
    services.product_deactivate(actor=actor, product=product)
    messages.success(request, _("The product %(sku)s was deactivated.") % {"sku": product.sku})
    return redirect("pipeline:products")


# ---- pipelines and stages ------------------------------------------------------------------------


@guarded
def pipeline_list(request: HttpRequest) -> HttpResponse:
    actor = _manager(request)
    form = forms.PipelineForm(request.POST or None, initial={"is_active": True})
    if (
        request.method == "POST"
        and (pipeline := save_form(form, lambda: services.pipeline_create(actor=actor, **form.cleaned_data)))
        is not None
    ):
        messages.success(request, _("The pipeline %(name)s was created.") % {"name": pipeline.name})
        return redirect("pipeline:pipeline_detail", pipeline_id=pipeline.pk)
    return render(
        request, "pipeline/pipeline_list.html", {"pipelines": selectors.pipeline_list(actor=actor), "form": form}
    )


def _stage_form(stage: Stage) -> forms.StageForm:
    initial = {name: getattr(stage, name) for name in services.STAGE_EDITABLE}
    return forms.StageForm(initial=initial, prefix=f"stage-{stage.pk}")


def _pipeline_page(
    request: HttpRequest,
    pipeline: Pipeline,
    *,
    settings_form: forms.PipelineForm | None = None,
    new_stage_form: forms.StageForm | None = None,
    bound: tuple[int, forms.StageForm] | None = None,
) -> HttpResponse:
    stages = list(pipeline.stages.all())
    rows = []
    for stage in stages:
        form = bound[1] if bound is not None and bound[0] == stage.pk else _stage_form(stage)
        rows.append({"stage": stage, "form": form, "open": bound is not None and bound[0] == stage.pk})
    return render(
        request,
        "pipeline/pipeline_detail.html",
        {
            "pipeline": pipeline,
            "rows": rows,
            "last_index": len(stages),
            "settings_form": settings_form
            or forms.PipelineForm(
                initial={"name": pipeline.name, "is_default": pipeline.is_default, "is_active": pipeline.is_active}
            ),
            "new_stage_form": new_stage_form
            or forms.StageForm(initial={"kind": "open", "probability": 50, "forecast_category": "pipeline"}),
            "new_stage_open": new_stage_form is not None,
        },
    )


@guarded
def pipeline_detail(request: HttpRequest, pipeline_id: int) -> HttpResponse:
    actor = _manager(request)
    pipeline = selectors.pipeline_get(actor=actor, pipeline_id=pipeline_id)
    if request.method == "POST":
        form = forms.PipelineForm(request.POST)
        if (
            save_form(form, lambda: services.pipeline_update(actor=actor, pipeline=pipeline, **form.cleaned_data))
            is not None
        ):
            messages.success(request, _("The pipeline was saved."))
            return redirect("pipeline:pipeline_detail", pipeline_id=pipeline.pk)
        return _pipeline_page(request, pipeline, settings_form=form)
    return _pipeline_page(request, pipeline)


@require_POST
@guarded
def stage_add(request: HttpRequest, pipeline_id: int) -> HttpResponse:
    actor = _manager(request)
    pipeline = selectors.pipeline_get(actor=actor, pipeline_id=pipeline_id)
    form = forms.StageForm(request.POST)
    if save_form(form, lambda: services.stage_add(actor=actor, pipeline=pipeline, **form.cleaned_data)) is not None:
        messages.success(request, _("The stage was added."))
        return redirect("pipeline:pipeline_detail", pipeline_id=pipeline.pk)
    return _pipeline_page(request, pipeline, new_stage_form=form)


@require_POST
@guarded
def stage_edit(request: HttpRequest, pipeline_id: int, stage_id: int) -> HttpResponse:
    actor = _manager(request)
    stage = selectors.stage_get(actor=actor, stage_id=stage_id, pipeline_id=pipeline_id)
    form = forms.StageForm(request.POST, prefix=f"stage-{stage.pk}")
    if save_form(form, lambda: services.stage_update(actor=actor, stage=stage, **form.cleaned_data)) is not None:
        messages.success(request, _("The stage was saved."))
        return redirect("pipeline:pipeline_detail", pipeline_id=pipeline_id)
    pipeline = selectors.pipeline_get(actor=actor, pipeline_id=pipeline_id)
    return _pipeline_page(request, pipeline, bound=(stage.pk, form))


@require_POST
@guarded
def stage_move(request: HttpRequest, pipeline_id: int, stage_id: int) -> HttpResponse:
    actor = _manager(request)
    stage = selectors.stage_get(actor=actor, stage_id=stage_id, pipeline_id=pipeline_id)
    form = forms.StageMoveForm(request.POST)
    if form.is_valid():
        services.stage_move(actor=actor, stage=stage, direction=form.cleaned_data["direction"])
    return redirect("pipeline:pipeline_detail", pipeline_id=pipeline_id)


@require_POST
@guarded
def stage_delete(request: HttpRequest, pipeline_id: int, stage_id: int) -> HttpResponse:
    actor = _manager(request)
    stage = selectors.stage_get(actor=actor, stage_id=stage_id, pipeline_id=pipeline_id)
    try:
        services.stage_delete(actor=actor, stage=stage)
    except PermissionDenied:
        raise
    except ApplicationError as exc:
        messages.error(request, str(exc.message))
    else:
        messages.success(request, _("The stage %(name)s was deleted.") % {"name": stage.name})
    return redirect("pipeline:pipeline_detail", pipeline_id=pipeline_id)


# ---- lost reasons --------------------------------------------------------------------------------


@guarded
def lost_reason_list(request: HttpRequest) -> HttpResponse:
    actor = _manager(request)
    form = forms.LostReasonForm(request.POST or None, initial={"is_active": True})
    if (
        request.method == "POST"
        and save_form(form, lambda: services.lost_reason_create(actor=actor, **form.cleaned_data)) is not None
    ):
        messages.success(request, _("The reason was added."))
        return redirect("pipeline:lost_reasons")
    reasons = list(selectors.lost_reason_list(actor=actor))
    rows: list[dict[str, Any]] = [
        {
            "reason": r,
            "form": forms.LostReasonForm(initial={"name": r.name, "is_active": r.is_active}, prefix=f"r{r.pk}"),
        }
        for r in reasons
    ]
    return render(request, "pipeline/lost_reasons.html", {"rows": rows, "form": form})


@require_POST
@guarded
def lost_reason_edit(request: HttpRequest, reason_id: int) -> HttpResponse:
    actor = _manager(request)
    reason = selectors.lost_reason_get(actor=actor, reason_id=reason_id)
    form = forms.LostReasonForm(request.POST, prefix=f"r{reason.pk}")
    if not form.is_valid():
        messages.error(request, _("Give the reason a name of at most 80 characters."))
        return redirect("pipeline:lost_reasons")
    try:
        services.lost_reason_update(actor=actor, reason=reason, **form.cleaned_data)
    except PermissionDenied:
        raise
    except ApplicationError as exc:
        messages.error(request, str(exc.message))
    else:
        messages.success(request, _("The reason was saved."))
    return redirect("pipeline:lost_reasons")
