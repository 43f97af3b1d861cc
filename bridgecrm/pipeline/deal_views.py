"""Deal pages: the list (with exports), a deal's page, its forms, and the kanban board.

Moves answer in two ways: a normal form post (the "move to…" select, the close forms) redirects
back, or shows a page asking for the fields the stage gate is missing; a ``fetch`` from the board's
script (``Accept: application/json``) gets JSON, with the gate's small form as HTML to show in place.
"""

from __future__ import annotations

import datetime as dt
import decimal
from collections.abc import Iterator
from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from bridgecrm.core.errors import ApplicationError, Conflict, NotFound, PermissionDenied
from bridgecrm.core.exports import Cell
from bridgecrm.core.models import CompanyProfile
from bridgecrm.customers import selectors as customer_selectors
from bridgecrm.customers.models import Contact, Customer
from bridgecrm.customization import forms as custom_forms
from bridgecrm.customization import selectors as custom_fields
from bridgecrm.customization.models import Entity
from bridgecrm.pipeline import deal_selectors as selectors
from bridgecrm.pipeline import deals as services
from bridgecrm.pipeline import forms, policies
from bridgecrm.pipeline.models import Deal, DealStatus, LostReason, Pipeline, Product, Stage, StageKind
from bridgecrm.users.models import User
from bridgecrm.users.viewtools import actor_of as _actor
from bridgecrm.users.viewtools import export_response, form_errors, guarded
from bridgecrm.users.viewtools import int_param as _int

PAGE_SIZE = 50
MAX_PAGE_SIZE = 200
EXPORT_LIMIT = 50_000


def _query_without(request: HttpRequest, *names: str) -> str:
    query = request.GET.copy()
    for name in names:
        query.pop(name, None)
    return query.urlencode()


def _filters(request: HttpRequest, actor: User) -> tuple[forms.DealFilterForm, selectors.DealFilters]:
    form = forms.DealFilterForm(request.GET, actor=actor)
    return form, (form.filters() if form.is_valid() else selectors.DealFilters())


def _reasons() -> list[LostReason]:
    return list(LostReason.objects.filter(is_active=True).order_by("order", "id"))


def _contacts(actor: User, customer_id: int) -> list[Contact]:
    return list(Contact.objects.visible_to(actor).filter(customer_id=customer_id).order_by("-is_primary", "name")[:200])


def _wants_json(request: HttpRequest) -> bool:
    return "application/json" in request.headers.get("Accept", "")


def _next(request: HttpRequest, default: str) -> str:
    target = request.POST.get("next") or ""
    if target and url_has_allowed_host_and_scheme(target, {request.get_host()}, require_https=request.is_secure()):
        return target
    return default


# ---- list and export -----------------------------------------------------------------------------


@guarded
def deal_list(request: HttpRequest) -> HttpResponse:
    actor = _actor(request)
    form, filters = _filters(request, actor)
    page = _int(request.GET.get("page"), 1)
    size = _int(request.GET.get("per_page"), PAGE_SIZE, low=10, high=MAX_PAGE_SIZE)
    rows = list(selectors.deal_list(actor=actor, filters=filters)[(page - 1) * size : page * size + 1])
    query = _query_without(request, "page")
    columns = custom_fields.list_columns(Entity.DEAL, actor)
    for deal, cells in zip(rows, custom_fields.display_rows(columns, [d.custom for d in rows]), strict=True):
        deal.custom_cells = cells  # type: ignore[attr-defined]
    return render(
        request,
        "pipeline/deal_list.html",
        {
            "form": form,
            "deals": rows[:size],
            "custom_columns": columns,
            "page": page,
            "has_next": len(rows) > size,
            "query": query,
            "export_query": _query_without(request, "page", "per_page", "format"),
        },
    )


def _export_rows(deals: Iterator[Deal], fields: list[Any] | None = None) -> Iterator[list[Cell]]:
    fields = fields or []
    people = (
        {pk: full or name for pk, full, name in User.objects.values_list("pk", "full_name", "username")}
        if any(f.type == "user" for f in fields)
        else None
    )
    for d in deals:
        yield [
            d.pk,
            d.name,
            d.customer.name,
            d.pipeline.name,
            d.stage.name,
            d.get_status_display(),
            d.amount,
            d.currency,
            d.amount_base,
            d.probability,
            d.get_forecast_category_display(),
            d.expected_close_date,
            d.closed_on,
            str(d.owner),
            d.team.name if d.team else "",
            d.source,
            d.next_step,
            timezone.localtime(d.created_at).replace(tzinfo=None),
            timezone.localtime(d.updated_at).replace(tzinfo=None),
            *custom_fields.display_row(fields, d.custom, people),
        ]


def export_header(fields: list[Any] | None = None) -> list[str]:
    return [
        _("ID"),
        _("Name"),
        _("Customer"),
        _("Pipeline"),
        _("Stage"),
        _("Status"),
        _("Amount"),
        _("Currency"),
        _("Amount (base currency)"),
        _("Probability (%)"),
        _("Forecast category"),
        _("Expected close date"),
        _("Closed on"),
        _("Owner"),
        _("Team"),
        _("Source"),
        _("Next step"),
        _("Created"),
        _("Updated"),
        *[f.label for f in fields or []],
    ]


@guarded
def deal_export(request: HttpRequest) -> Any:  # a streamed CSV or an XLSX file
    actor = _actor(request)
    _form, filters = _filters(request, actor)
    deals = selectors.deal_list(actor=actor, filters=filters)[:EXPORT_LIMIT].iterator(chunk_size=1000)
    fields = custom_fields.fields_for(Entity.DEAL, actor)
    return export_response(
        request, name="deals", header=export_header(fields), rows=_export_rows(deals, fields), sheet_title=_("Deals")
    )


# ---- create, view, edit --------------------------------------------------------------------------


def _open_stages() -> list[Stage]:
    return list(
        Stage.objects.filter(pipeline__is_active=True, kind=StageKind.OPEN)
        .select_related("pipeline")
        .order_by("-pipeline__is_default", "pipeline__order", "pipeline_id", "order")
    )


def _form_customers(actor: User, customer: Customer | None) -> list[Customer]:
    if customer is not None:
        return [customer]
    return list(Customer.objects.visible_to(actor).order_by("-updated_at", "-id")[:200])


def _add_custom_fields(form: forms.DealForm, actor: User, current: dict[str, Any] | None) -> list[Any]:
    """The deal's custom fields the actor sees, added to ``form``; returns those the actor may edit."""
    editable = custom_fields.fields_for(Entity.DEAL, actor, editable=True)
    custom_forms.add_fields(
        form,
        visible=custom_fields.fields_for(Entity.DEAL, actor),
        editable=editable,
        actor=actor,
        current=current,
        creating=current is None,
    )
    form.custom_editable = editable  # type: ignore[attr-defined]
    return editable


def _deal_values(form: forms.DealForm, actor: User) -> dict[str, Any]:
    data = dict(form.cleaned_data)
    data.pop("version", None)
    data["custom"] = custom_forms.pop_submitted(data, getattr(form, "custom_editable", []))
    if "owner" in data:
        owner_id = data.pop("owner")
        if owner_id is not None:
            if owner_id not in form.people:
                raise ApplicationError("invalid", _("Choose one of the people you can see."), details={"owner": []})
            data["owner"] = form.people[owner_id]
    data["collaborators"] = [form.people[pk] for pk in data.get("collaborators") or [] if pk in form.people]
    if data.get("amount") is None:
        data["amount"] = None
    return data


@guarded
def deal_create(request: HttpRequest) -> HttpResponse:
    actor = _actor(request)
    customer_id = _int(request.GET.get("customer") or request.POST.get("customer"), 0, low=0, high=2**62)
    customer = customer_selectors.customer_get(actor=actor, customer_id=customer_id) if customer_id else None
    stages = _open_stages()
    form = forms.DealForm(
        request.POST or None,
        actor=actor,
        customers=_form_customers(actor, customer),
        contacts=_contacts(actor, customer.pk) if customer else [],
        stages=stages,
        may_reassign=policies.may_assign_deals(actor),
        initial={"customer": customer.pk if customer else None, "currency": "CNY"},
    )
    _add_custom_fields(form, actor, None)
    if request.method == "POST" and form.is_valid():
        try:
            data = _deal_values(form, actor)
            stage_id = data.pop("stage", None)
            stage = next((s for s in stages if s.pk == stage_id), None)
            if stage_id is not None and stage is None:
                raise ApplicationError("invalid", _("Select a valid choice."), details={"stage": []})
            deal = services.deal_create(
                actor=actor,
                stage=stage,
                pipeline=stage.pipeline if stage else None,
                **{k: v for k, v in data.items() if v is not None or k == "amount"},
            )
        except (NotFound, PermissionDenied):
            raise
        except ApplicationError as exc:
            form_errors(form, exc)
        else:
            messages.success(request, _("The deal was created."))
            return redirect("pipeline:deal_detail", deal_id=deal.pk)
    return render(request, "pipeline/deal_form.html", {"form": form, "deal": None, "customer": customer})


@guarded
def deal_detail(request: HttpRequest, deal_id: int) -> HttpResponse:
    actor = _actor(request)
    deal = selectors.deal_get(actor=actor, deal_id=deal_id)
    stages = list(Stage.objects.filter(pipeline_id=deal.pipeline_id).order_by("order"))
    lines = list(deal.lines.all())
    show_cost = policies.may_view_cost(actor)
    costs = [line.cost for line in lines]
    lines_cost = sum((c for c in costs if c is not None), decimal.Decimal(0)) if lines and None not in costs else None
    lines_total = sum((line.subtotal for line in lines), decimal.Decimal(0)) if lines else None
    lines_margin = None if lines_cost is None or lines_total is None else lines_total - lines_cost
    return render(
        request,
        "pipeline/deal_detail.html",
        {
            "show_cost": show_cost,
            "lines_cost": lines_cost if show_cost else None,
            "lines_margin": lines_margin if show_cost else None,
            "lines_margin_percent": (
                (lines_margin * 100 / lines_total).quantize(decimal.Decimal("0.1"), rounding=decimal.ROUND_HALF_UP)
                if show_cost and lines_margin is not None and lines_total
                else None
            ),
            "missing_cost_line": next((line.name for line in lines if line.unit_cost is None), None),
            "deal": deal,
            "stages": stages,
            "history": selectors.deal_stage_history(actor=actor, deal=deal),
            "lines": lines,
            "blank_lines": range(len(lines), len(lines) + 3),
            "lines_total": lines_total,
            "reasons": _reasons(),
            "products": list(Product.objects.filter(is_active=True).order_by("name", "id")[:500]),
            "may_delete": policies.may_delete_deal(actor, deal),
            "is_open": deal.status == DealStatus.OPEN,
            "base_currency": CompanyProfile.current().base_currency,
            "custom_values": custom_fields.shown_values(Entity.DEAL, actor, deal.custom),
        },
    )


@guarded
def deal_edit(request: HttpRequest, deal_id: int) -> HttpResponse:
    actor = _actor(request)
    deal = selectors.deal_get(actor=actor, deal_id=deal_id)
    may_reassign = policies.may_reassign_deal(actor, deal)
    initial = {
        "name": deal.name,
        "customer": deal.customer_id,
        "contact": deal.contact_id,
        "amount": deal.amount,
        "currency": deal.currency,
        "expected_close_date": deal.expected_close_date,
        "probability": deal.probability,
        "forecast_category": deal.forecast_category,
        "source": deal.source,
        "next_step": deal.next_step,
        "competitors": ", ".join(c.name for c in deal.competitors.all()),
        "owner": deal.owner_id,
        "collaborators": [u.pk for u in deal.collaborators.all()],
        "version": deal.version,
    }
    form = forms.DealForm(
        request.POST or None,
        actor=actor,
        customers=_form_customers(actor, deal.customer),
        contacts=_contacts(actor, deal.customer_id),
        stages=None,
        may_reassign=may_reassign,
        initial=initial,
    )
    _add_custom_fields(form, actor, deal.custom)
    if request.method == "POST" and form.is_valid():
        version = form.cleaned_data.get("version")
        try:
            data = _deal_values(form, actor)
            if not policies.may_share_deal(actor, deal):
                data.pop("collaborators", None)
            services.deal_update(actor=actor, deal=deal, version=version or 0, **data)
        except (NotFound, PermissionDenied):
            raise
        except ApplicationError as exc:
            form_errors(form, exc)
        else:
            messages.success(request, _("The deal was saved."))
            return redirect("pipeline:deal_detail", deal_id=deal.pk)
    return render(request, "pipeline/deal_form.html", {"form": form, "deal": deal, "customer": deal.customer})


@require_POST
@guarded
def deal_delete(request: HttpRequest, deal_id: int) -> HttpResponse:
    actor = _actor(request)
    deal = selectors.deal_get(actor=actor, deal_id=deal_id)
    services.deal_delete(actor=actor, deal=deal)
    messages.success(request, _("The deal %(name)s was deleted.") % {"name": deal.name})
    return redirect("pipeline:deals")


@require_POST
@guarded
def deal_lines(request: HttpRequest, deal_id: int) -> HttpResponse:
    """The line items form on the deal page: rows ``line-<i>-name|quantity|unit_price|discount_percent``."""
    actor = _actor(request)
    deal = selectors.deal_get(actor=actor, deal_id=deal_id)
    lines = []
    for i in range(services.MAX_LINES + 1):
        prefix = f"line-{i}-"
        if not any(f"{prefix}{k}" in request.POST for k in ("name", "quantity", "unit_price", "product")):
            continue
        row = {k: request.POST.get(prefix + k, "").strip() for k in ("name", "quantity", "unit_price")}
        row["discount_percent"] = request.POST.get(prefix + "discount_percent", "").strip() or "0"
        row["product"] = request.POST.get(prefix + "product", "").strip()
        row["unit_cost"] = request.POST.get(
            prefix + "unit_cost", ""
        ).strip()  # refused by the service without the right
        if not row["name"] and not row["product"] and not row["unit_price"]:
            continue  # an empty row
        if row["product"] and not row["unit_price"]:
            product = Product.objects.filter(pk=_int(row["product"], 0, low=0, high=2**62), is_active=True).first()
            if product is not None and product.currency == deal.currency:
                row["unit_price"] = str(product.list_price)  # the list price, for a product picked without one
        lines.append(row)
    try:
        version = int(request.POST.get("version", ""))
        services.deal_lines_set(actor=actor, deal=deal, version=version, lines=lines)
    except ValueError:
        messages.error(request, _("Reload the page and try again."))
    except (NotFound, PermissionDenied):
        raise
    except ApplicationError as exc:
        messages.error(request, str(exc.message))
    else:
        messages.success(request, _("The line items were saved."))
    return redirect("pipeline:deal_detail", deal_id=deal.pk)


# ---- moves and closes ----------------------------------------------------------------------------


def _gate_context(
    request: HttpRequest, actor: User, deal: Deal, stage: Stage, missing: list[str], data: Any = None
) -> dict[str, Any]:
    form = forms.GateForm(
        data,
        contacts=_contacts(actor, deal.customer_id),
        reasons=_reasons(),
        only=missing,
        initial={"stage": stage.pk, "version": deal.version, "next": request.POST.get("next", "")},
    )
    if data is not None:
        form.is_valid()
    return {"form": form, "deal": deal, "stage": stage, "missing": missing}


def _refused(request: HttpRequest, actor: User, deal: Deal, stage: Stage, exc: ApplicationError) -> HttpResponse:
    """A move the gate or a rule refused: JSON for the board's script, else a page with the form."""
    missing = list(exc.details.get("missing", [])) if exc.code == "gate" else []
    status = exc.status
    if _wants_json(request):
        body: dict[str, Any] = {"code": exc.code, "message": str(exc.message), "details": exc.details}
        if missing or exc.code != "stale":
            fresh = Deal.objects.filter(pk=deal.pk).only("version").first()
            deal.version = fresh.version if fresh else deal.version
            context = _gate_context(request, actor, deal, stage, missing or [])
            context["message"] = str(exc.message)
            body["form"] = render_to_string("pipeline/gate_form.html", context, request=request)
        return JsonResponse(body, status=status)
    if exc.code == "stale":
        messages.error(request, str(exc.message))
        return redirect(_next(request, reverse("pipeline:deal_detail", args=[deal.pk])))
    context = _gate_context(request, actor, deal, stage, missing, None)
    context["message"] = str(exc.message)
    return render(request, "pipeline/deal_move.html", context, status=status)


@require_POST
@guarded
def deal_move(request: HttpRequest, deal_id: int) -> HttpResponse:
    actor = _actor(request)
    deal = selectors.deal_get(actor=actor, deal_id=deal_id)
    stage_id = _int(request.POST.get("stage"), 0, low=0, high=2**62)
    stage = Stage.objects.filter(pk=stage_id, pipeline_id=deal.pipeline_id).first()
    if stage is None:
        raise NotFound("not_found", _("Not found."))
    form = forms.GateForm(request.POST, contacts=_contacts(actor, deal.customer_id), reasons=_reasons())
    if not form.is_valid():
        exc = ApplicationError("invalid", _("Correct the values below."), details={})
        return _refused(request, actor, deal, stage, exc)
    try:
        moved = services.deal_move_to_stage(
            actor=actor, deal=deal, stage=stage, version=form.cleaned_data["version"], values=form.values()
        )
    except (NotFound, PermissionDenied):
        raise
    except ApplicationError as exc:
        return _refused(request, actor, deal, stage, exc)
    if _wants_json(request):
        return JsonResponse({"ok": True, "version": moved.version, "stage": stage.pk, "status": moved.status})
    messages.success(request, _("The deal moved to %(stage)s.") % {"stage": stage.name})
    return redirect(_next(request, reverse("pipeline:deal_detail", args=[deal.pk])))


@require_POST
@guarded
def deal_close(request: HttpRequest, deal_id: int) -> HttpResponse:
    actor = _actor(request)
    deal = selectors.deal_get(actor=actor, deal_id=deal_id)
    form = forms.DealCloseForm(request.POST, reasons=_reasons())
    detail = reverse("pipeline:deal_detail", args=[deal.pk])
    if not form.is_valid():
        messages.error(request, _("Choose won, lost or reopen, and reload the page if it is old."))
        return redirect(detail)
    d = form.cleaned_data
    outcome = d["outcome"]
    target = None
    try:
        if outcome == "won":
            target = Stage.objects.filter(pipeline_id=deal.pipeline_id, kind=StageKind.WON).order_by("order").first()
            services.deal_close_won(actor=actor, deal=deal, version=d["version"])
            messages.success(request, _("The deal was won."))
        elif outcome == "lost":
            services.deal_close_lost(
                actor=actor, deal=deal, version=d["version"], lost_reason=d.get("lost_reason"), note=d.get("note", "")
            )
            messages.success(request, _("The deal was closed as lost."))
        else:
            services.deal_reopen(actor=actor, deal=deal, version=d["version"])
            messages.success(request, _("The deal was reopened."))
    except (NotFound, PermissionDenied):
        raise
    except Conflict as exc:
        messages.error(request, str(exc.message))
    except ApplicationError as exc:
        if exc.code == "gate" and target is not None and exc.details.get("missing"):
            return _refused(request, actor, deal, target, exc)
        messages.error(request, str(exc.message))
    return redirect(detail)


# ---- the board -----------------------------------------------------------------------------------


def _board_filters(request: HttpRequest) -> tuple[selectors.BoardFilters, dict[str, Any]]:
    owner = _int(request.GET.get("owner"), 0, low=0, high=2**62) or None
    team = _int(request.GET.get("team"), 0, low=0, high=2**62) or None
    month_raw = (request.GET.get("close_month") or "").strip()
    month = None
    if month_raw:
        try:
            month = dt.date.fromisoformat(f"{month_raw}-01")
        except ValueError:
            month_raw = ""
    return selectors.BoardFilters(owner_id=owner, team_id=team, close_month=month), {
        "owner": owner,
        "team": team,
        "close_month": month_raw,
    }


@guarded
def board(request: HttpRequest) -> HttpResponse:
    actor = _actor(request)
    pipeline_id = _int(request.GET.get("pipeline"), 0, low=0, high=2**62) or None
    pipeline = selectors.pipeline_for_board(actor=actor, pipeline_id=pipeline_id)
    filters, values = _board_filters(request)
    the_board = selectors.board(actor=actor, pipeline=pipeline, filters=filters)
    column_query = _query_without(request, "pipeline", "cursor")
    filter_form = forms.DealFilterForm(
        {"owner": values["owner"] or "", "team": values["team"] or "", "close_month": values["close_month"]},
        actor=actor,
        custom=False,
    )
    return render(
        request,
        "pipeline/board.html",
        {
            "board": the_board,
            "pipelines": list(Pipeline.objects.filter(is_active=True).order_by("order", "id")),
            "pipeline": pipeline,
            "column_query": column_query,
            "filter_form": filter_form,
            "values": values,
        },
    )


@guarded
def board_column(request: HttpRequest, pipeline_id: int, stage_id: int) -> HttpResponse:
    actor = _actor(request)
    pipeline = selectors.pipeline_for_board(actor=actor, pipeline_id=pipeline_id)
    stage = selectors.stage_of(pipeline=pipeline, stage_id=stage_id)
    filters, _values = _board_filters(request)
    page = selectors.board_column(
        actor=actor, pipeline=pipeline, stage=stage, filters=filters, cursor=request.GET.get("cursor", "")[:80]
    )
    stages = list(Stage.objects.filter(pipeline_id=pipeline.pk).order_by("order"))
    board_url = f"{reverse('pipeline:board')}?pipeline={pipeline.pk}"
    return render(
        request,
        "pipeline/board_column.html",
        {
            "page": page,
            "stages": stages,
            "pipeline": pipeline,
            "query": _query_without(request, "cursor"),
            "board_url": board_url,
        },
    )
