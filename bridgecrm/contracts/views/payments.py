"""Payment plan, payments (回款) and their list, aging (账龄) and collection-rate pages."""

from __future__ import annotations

import datetime as dt
import decimal
from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from bridgecrm.contracts import forms, selectors
from bridgecrm.contracts.services import payments as services
from bridgecrm.contracts.services import refunds as refund_services
from bridgecrm.contracts.views.contracts import (
    detail_page,
    export_response,
    parse_date,
    payments_section,
    query_without,
    refund_form_row,
)
from bridgecrm.core.errors import ApplicationError, NotFound, PermissionDenied
from bridgecrm.core.money import quantize
from bridgecrm.users.models import User
from bridgecrm.users.viewtools import actor_of as _actor
from bridgecrm.users.viewtools import guarded, save_form
from bridgecrm.users.viewtools import int_param as _int

PAGE_SIZE = 50
MAX_PAGE_SIZE = 200
EXPORT_LIMIT = 50_000
MAX_PLAN_ROWS = 200
AGING_ROWS_SHOWN = 200  # the page shows the groups owing most; the totals and the export cover all


@require_POST
@guarded
def plan_save(request: HttpRequest, contract_id: int) -> HttpResponse:
    actor = _actor(request)
    contract = selectors.contract_get(actor=actor, contract_id=contract_id)
    ids, dues = request.POST.getlist("line_id"), request.POST.getlist("due_on")
    amounts, notes = request.POST.getlist("amount"), request.POST.getlist("note")
    count = max(len(ids), len(dues), len(amounts), len(notes))
    raw: list[dict[str, Any]] = []
    lines: list[services.PlanLineIn] = []
    error = ""
    for i in range(min(count, MAX_PLAN_ROWS)):
        values = {
            "id": ids[i] if i < len(ids) else "",
            "due_on": (dues[i] if i < len(dues) else "").strip(),
            "amount": (amounts[i] if i < len(amounts) else "").strip(),
            "note": notes[i] if i < len(notes) else "",
        }
        if not values["due_on"] and not values["amount"] and not values["id"]:
            continue
        raw.append(values)
        due = parse_date(values["due_on"])
        line_id = int(values["id"]) if str(values["id"]).isdigit() and 0 < int(values["id"]) < 2**63 else None
        if due is None or not values["amount"]:
            error = error or _("Line %(n)s: enter a due date and an amount.") % {"n": len(raw)}
            continue
        lines.append(services.PlanLineIn(due_on=due, amount=values["amount"], note=values["note"], id=line_id))
    version = request.POST.get("lock_version", "")
    if not error:
        try:
            services.plan_lines_set(
                actor=actor, contract=contract, lines=lines, lock_version=int(version) if version.isdigit() else None
            )
        except (NotFound, PermissionDenied):
            raise
        except ApplicationError as exc:
            error = str(exc.message)
    if error:
        return detail_page(request, contract, plan_error=error, plan_input=raw, status=400)
    messages.success(request, _("The payment plan was saved."))
    return redirect("contracts:contract_detail", contract_id=contract.pk)


@require_POST
@guarded
def payment_record(request: HttpRequest, contract_id: int) -> HttpResponse:
    actor = _actor(request)
    contract = selectors.contract_get(actor=actor, contract_id=contract_id)
    form = forms.PaymentForm(request.POST)
    if save_form(form, lambda: services.payment_record(actor=actor, contract=contract, **form.cleaned_data)):
        messages.success(request, _("The payment was recorded."))
        return redirect("contracts:contract_detail", contract_id=contract.pk)
    return detail_page(request, contract, payment_form=form, status=400)


@require_POST
@guarded
def payment_delete(request: HttpRequest, contract_id: int, payment_id: int) -> HttpResponse:
    actor = _actor(request)
    payment = selectors.payment_get(actor=actor, payment_id=payment_id, contract_id=contract_id)
    services.payment_delete(actor=actor, payment=payment)
    messages.success(request, _("The payment was deleted."))
    return redirect("contracts:contract_detail", contract_id=contract_id)


@require_http_methods(["GET", "POST"])
@guarded
def refund_record(request: HttpRequest, contract_id: int, payment_id: int) -> HttpResponse:
    """GET: the refund form as a table row under its payment (htmx; ``close`` gives the empty row
    back). POST: record a refund. From the contract page (htmx): on success the page reloads (the
    plan's status and the figures change too); a refusal redraws the payments section with the
    form open and its errors, and nothing is saved."""
    actor = _actor(request)
    payment = selectors.payment_get(actor=actor, payment_id=payment_id, contract_id=contract_id)
    contract = selectors.contract_get(actor=actor, contract_id=contract_id)
    if request.method == "GET":
        return refund_form_row(request, contract, payment.pk, closed=bool(request.GET.get("close")))
    form = forms.RefundForm(request.POST, auto_id=f"id_refund_{payment.pk}_%s")
    if save_form(form, lambda: refund_services.refund_record(actor=actor, payment=payment, **form.cleaned_data)):
        messages.success(request, _("The refund was recorded."))
        url = reverse("contracts:contract_detail", kwargs={"contract_id": contract.pk})
        if request.headers.get("HX-Request"):
            response = HttpResponse(status=204)
            response["HX-Redirect"] = url
            return response
        return redirect(url)
    if request.headers.get("HX-Request"):
        # 200: htmx swaps only successful answers, and the errors are part of the section.
        return payments_section(request, contract, refund_form=form, refund_payment_id=payment.pk)
    return detail_page(request, contract, refund_form=form, refund_payment_id=payment.pk, status=400)


@require_POST
@guarded
def refund_delete(request: HttpRequest, contract_id: int, refund_id: int) -> HttpResponse:
    actor = _actor(request)
    refund = selectors.refund_get(actor=actor, refund_id=refund_id, contract_id=contract_id)
    try:
        refund_services.refund_delete(actor=actor, refund=refund)
    except (NotFound, PermissionDenied):
        raise
    except ApplicationError as exc:
        messages.error(request, str(exc.message))
    else:
        messages.success(request, _("The refund was deleted."))
    return redirect("contracts:contract_detail", contract_id=contract_id)


# ---- the list of payments ------------------------------------------------------------------------


def _payment_filters(request: HttpRequest, actor: User) -> tuple[forms.PaymentFilterForm, selectors.PaymentFilters]:
    form = forms.PaymentFilterForm(request.GET, actor=actor)
    return form, (form.filters() if form.is_valid() else selectors.PaymentFilters())


@guarded
def payment_list(request: HttpRequest) -> HttpResponse:
    actor = _actor(request)
    form, filters = _payment_filters(request, actor)
    page = _int(request.GET.get("page"), 1)
    size = _int(request.GET.get("per_page"), PAGE_SIZE, low=10, high=MAX_PAGE_SIZE)
    rows = list(selectors.payment_list(actor=actor, filters=filters)[(page - 1) * size : page * size + 1])
    return render(
        request,
        "contracts/payment_list.html",
        {
            "form": form,
            "payments": rows[:size],
            "page": page,
            "has_next": len(rows) > size,
            "query": query_without(request, "page"),
            "export_query": query_without(request, "page", "per_page", "format"),
        },
    )


PAYMENT_HEADER = (
    "received_on", "contract", "customer", "currency", "amount", "refunded", "method", "reference", "note", "owner",
    "recorded_by",
)  # fmt: skip


@guarded
def payment_export(request: HttpRequest) -> HttpResponseBase:
    actor = _actor(request)
    _form, filters = _payment_filters(request, actor)
    qs = selectors.payment_list(actor=actor, filters=filters)[:EXPORT_LIMIT]
    rows = (
        (
            p.received_on,
            p.contract.number,
            p.contract.customer.name,
            p.currency,
            p.amount,
            quantize(decimal.Decimal(p.refunded), p.currency),  # type: ignore[attr-defined]
            p.method,
            p.reference,
            p.note,
            p.contract.owner.display_name,
            p.recorded_by.display_name,
        )
        for p in qs.iterator(chunk_size=1000)
    )
    return export_response(request, "payments", PAYMENT_HEADER, rows)


# ---- aging and collections -----------------------------------------------------------------------


def _aging_report(request: HttpRequest) -> tuple[forms.AgingForm, selectors.AgingReport]:
    actor = _actor(request)
    form = forms.AgingForm(request.GET)
    data = form.cleaned_data if form.is_valid() else {}
    report = selectors.aging(
        actor=actor,
        group_by=data.get("group_by") or "customer",
        customer_id=data.get("customer"),
        owner_id=data.get("owner"),
        team_id=data.get("team"),
    )
    return form, report


@guarded
def aging(request: HttpRequest) -> HttpResponse:
    form, report = _aging_report(request)
    drill = {"customer": "customer", "owner": "owner", "team": "team"}[report.group_by]
    return render(
        request,
        "contracts/aging.html",
        {
            "form": form,
            "report": report,
            "buckets": selectors.BUCKETS,
            "group_label": selectors.GROUP_LABELS[report.group_by],
            "groups": list(selectors.GROUP_LABELS.items()),
            "drill": drill,
            "rows": [(r, [r.buckets[k] for k in selectors.BUCKET_KEYS]) for r in report.rows[:AGING_ROWS_SHOWN]],
            "rows_hidden": max(0, len(report.rows) - AGING_ROWS_SHOWN),
            "totals": [report.totals[k] for k in selectors.BUCKET_KEYS],
            "export_query": query_without(request, "format"),
        },
    )


@guarded
def aging_export(request: HttpRequest) -> HttpResponseBase:
    _form, report = _aging_report(request)
    header = (report.group_by, "currency", *selectors.BUCKET_KEYS, "overdue", "total")
    rows = [
        (r.label, report.base, *[r.buckets[k] for k in selectors.BUCKET_KEYS], r.overdue, r.total) for r in report.rows
    ]
    return export_response(request, "aging", header, iter(rows))


@guarded
def collections(request: HttpRequest) -> HttpResponse:
    actor = _actor(request)
    today = timezone.localdate()
    query = request.GET.copy()
    # The period defaults to this year so far, and the form shows it.
    for name, default in (("date_from", dt.date(today.year, 1, 1)), ("date_to", today), ("group_by", "owner")):
        if not query.get(name):
            query[name] = default.isoformat() if isinstance(default, dt.date) else default
    form = forms.CollectionsForm(query)
    data = form.cleaned_data if form.is_valid() else {}
    date_from = data.get("date_from") or dt.date(today.year, 1, 1)
    date_to = data.get("date_to") or today
    report = selectors.collections(
        actor=actor, date_from=date_from, date_to=date_to, group_by=data.get("group_by") or "owner", today=today
    )
    return render(request, "contracts/collections.html", {"form": form, "report": report})
