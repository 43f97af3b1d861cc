"""Contract pages: list and export, create, detail (facts, status, attachments, plan, payments), edit."""

from __future__ import annotations

import datetime as dt
from typing import Any, cast

from django.contrib import messages
from django.http import FileResponse, HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from bridgecrm.contracts import forms, policies, selectors
from bridgecrm.contracts.models import Contract, ContractStatus
from bridgecrm.contracts.services import contracts as services
from bridgecrm.contracts.services.contracts import TRANSITIONS
from bridgecrm.core.errors import ApplicationError, NotFound, PermissionDenied
from bridgecrm.users import viewtools
from bridgecrm.users.models import User
from bridgecrm.users.viewtools import actor_of as _actor
from bridgecrm.users.viewtools import guarded, save_form
from bridgecrm.users.viewtools import int_param as _int

PAGE_SIZE = 50
MAX_PAGE_SIZE = 200
EXPORT_LIMIT = 50_000


def query_without(request: HttpRequest, *names: str) -> str:
    query = request.GET.copy()
    for name in names:
        query.pop(name, None)
    return query.urlencode()


def _filters(request: HttpRequest, actor: User) -> tuple[forms.ContractFilterForm, selectors.ContractFilters]:
    form = forms.ContractFilterForm(request.GET, actor=actor)
    return form, (form.filters() if form.is_valid() else selectors.ContractFilters())


@guarded
def contract_list(request: HttpRequest) -> HttpResponse:
    actor = _actor(request)
    form, filters = _filters(request, actor)
    page = _int(request.GET.get("page"), 1)
    size = _int(request.GET.get("per_page"), PAGE_SIZE, low=10, high=MAX_PAGE_SIZE)
    rows = list(selectors.contract_list(actor=actor, filters=filters)[(page - 1) * size : page * size + 1])
    return render(
        request,
        "contracts/contract_list.html",
        {
            "form": form,
            "contracts": rows[:size],
            "page": page,
            "has_next": len(rows) > size,
            "query": query_without(request, "page"),
            "export_query": query_without(request, "page", "per_page", "format"),
        },
    )


EXPORT_HEADER = (
    "number", "title", "customer", "deal", "status", "currency", "amount", "received", "outstanding",
    "signed_on", "starts_on", "ends_on", "owner", "team", "created_at",
)  # fmt: skip


def _export_rows(contracts: Any) -> Any:
    for c in contracts:
        yield (
            c.number,
            c.title,
            c.customer.name,
            c.deal.name if c.deal and c.deal_visible else "",
            c.status,
            c.currency,
            c.amount,
            c.received_amount,
            c.amount - c.received_amount,
            c.signed_on,
            c.starts_on,
            c.ends_on,
            c.owner.display_name,
            c.owner.team.name if c.owner.team else "",
            timezone.localtime(c.created_at).replace(tzinfo=None),
        )


def export_response(request: HttpRequest, name: str, header: tuple[str, ...], rows: Any) -> HttpResponseBase:
    return viewtools.export_response(request, name=name, header=header, rows=rows)


@guarded
def contract_export(request: HttpRequest) -> HttpResponseBase:
    actor = _actor(request)
    _form, filters = _filters(request, actor)
    qs = selectors.contract_list(actor=actor, filters=filters)[:EXPORT_LIMIT]
    return export_response(request, "contracts", EXPORT_HEADER, _export_rows(qs.iterator(chunk_size=1000)))


def _int_or_none(raw: str | None) -> int | None:
    try:
        value = int(raw or "")
    except ValueError:
        return None
    return value if 0 < value < 2**63 else None


def _form_data(form: forms.ContractForm) -> dict[str, Any]:
    data = dict(form.cleaned_data)
    data.pop("lock_version", None)
    return data


@guarded
def contract_create(request: HttpRequest) -> HttpResponse:
    actor = _actor(request)
    customer_id = _int_or_none(request.GET.get("customer"))
    deal_id = _int_or_none(request.GET.get("deal"))
    initial: dict[str, Any] = {"owner": actor.pk, "currency": "CNY", "customer": customer_id, "deal": deal_id}
    if deal_id is not None:
        from bridgecrm.pipeline.models import Deal

        deal = Deal.objects.visible_to(actor).filter(pk=deal_id).first()
        if deal is not None:
            customer_id = deal.customer_id
            initial.update(customer=deal.customer_id, title=deal.name, amount=deal.amount, currency=deal.currency)
    form = forms.ContractForm(request.POST or None, actor=actor, customer_id=customer_id, initial=initial)
    if (
        request.method == "POST"
        and (contract := save_form(form, lambda: services.contract_create(actor=actor, **_form_data(form)))) is not None
    ):
        messages.success(request, _("The contract %(number)s was created.") % {"number": contract.number})
        return redirect("contracts:contract_detail", contract_id=contract.pk)
    status = 400 if request.method == "POST" else 200
    return render(request, "contracts/contract_form.html", {"form": form, "contract": None}, status=status)


def detail_page(
    request: HttpRequest,
    contract: Contract,
    *,
    attachment_form: forms.AttachmentForm | None = None,
    payment_form: forms.PaymentForm | None = None,
    plan_error: str = "",
    plan_input: list[dict[str, Any]] | None = None,
    refund_form: forms.RefundForm | None = None,
    refund_payment_id: int | None = None,
    status: int = 200,
) -> HttpResponse:
    actor = _actor(request)
    today = timezone.localdate()
    rows = selectors.plan_rows(actor=actor, contract=contract, today=today)
    figures = selectors.contract_figures(contract=contract, rows=rows, today=today)
    editable = contract.status not in (ContractStatus.COMPLETED, ContractStatus.TERMINATED)
    if plan_input is None:
        plan_input = [
            {"id": r.line.pk, "due_on": r.line.due_on.isoformat(), "amount": r.line.amount, "note": r.line.note}
            for r in rows
        ]
    blanks = [{"id": "", "due_on": "", "amount": "", "note": ""} for _i in range(3)]
    return render(
        request,
        "contracts/contract_detail.html",
        {
            "contract": contract,
            "plan_rows": rows,
            "figures": figures,
            "attachments": selectors.attachment_list(actor=actor, contract=contract),
            **_payments_context(actor, contract, payment_form, refund_form, refund_payment_id),
            "attachment_form": attachment_form or forms.AttachmentForm(),
            "transitions": [(s, ContractStatus(s).label) for s in TRANSITIONS[contract.status]],
            "editable": editable,
            "plan_input": plan_input + (blanks if editable else []),
            "plan_error": plan_error,
            "max_mb": services.max_attachment_bytes() // (1024 * 1024),
        },
        status=status,
    )


def _payments_context(
    actor: User,
    contract: Contract,
    payment_form: forms.PaymentForm | None,
    refund_form: forms.RefundForm | None,
    refund_payment_id: int | None,
) -> dict[str, Any]:
    """The payments section: each payment with its refunds, and a refund form for each payment that
    has something left to refund (the one that was refused keeps its input and errors)."""
    today = timezone.localdate()
    payments = selectors.contract_payments(actor=actor, contract=contract)
    for p in payments:
        if refund_form is not None and p.pk == refund_payment_id:
            p.refund_form = refund_form  # type: ignore[attr-defined]
        else:
            p.refund_form = forms.RefundForm(  # type: ignore[attr-defined]
                initial={"refunded_on": today, "amount": p.left},  # type: ignore[attr-defined]
                auto_id=f"id_refund_{p.pk}_%s",
            )
    return {
        "contract": contract,
        "payments": payments,
        "refund_payment_id": refund_payment_id,
        "payment_form": payment_form or forms.PaymentForm(initial={"received_on": today}),
        "takes_payments": contract.status != ContractStatus.DRAFT,
        "may_delete_payments": policies.may_delete_payment(actor, contract),
    }


def refund_form_row(request: HttpRequest, contract: Contract, payment_id: int, *, closed: bool) -> HttpResponse:
    """The refund form's table row for one payment (or, ``closed``, the empty placeholder row)."""
    if closed:
        return HttpResponse(f'<tr id="refund-row-{int(payment_id)}" class="refund-form-row" hidden></tr>')
    context = _payments_context(_actor(request), contract, None, None, None)
    payment = next((p for p in context["payments"] if p.pk == payment_id), None)
    if payment is None or payment.left <= 0:
        return HttpResponse(f'<tr id="refund-row-{int(payment_id)}" class="refund-form-row" hidden></tr>')
    context.update(p=payment, form=payment.refund_form)
    return render(request, "contracts/refund_form_row.html", context)


def payments_section(
    request: HttpRequest, contract: Contract, *, refund_form: forms.RefundForm, refund_payment_id: int
) -> HttpResponse:
    context = _payments_context(_actor(request), contract, None, refund_form, refund_payment_id)
    return render(request, "contracts/payments_section.html", context)


@guarded
def contract_detail(request: HttpRequest, contract_id: int) -> HttpResponse:
    contract = selectors.contract_get(actor=_actor(request), contract_id=contract_id)
    # ``?refund=<payment id>`` opens that payment's refund form (the link's target without htmx).
    refund_for = _int(request.GET.get("refund"), 0, low=0, high=2**63 - 1)
    return detail_page(request, contract, refund_payment_id=refund_for or None)


@guarded
def contract_edit(request: HttpRequest, contract_id: int) -> HttpResponse:
    actor = _actor(request)
    contract = selectors.contract_get(actor=actor, contract_id=contract_id)
    initial = {name: getattr(contract, name) for name in services.CONTRACT_FIELDS}
    initial.update(customer=contract.customer_id, deal=contract.deal_id, owner=contract.owner_id)
    initial["lock_version"] = contract.lock_version
    form = forms.ContractForm(request.POST or None, actor=actor, customer_id=contract.customer_id, initial=initial)
    if (
        request.method == "POST"
        and save_form(
            form,
            lambda: services.contract_update(
                actor=actor, contract=contract, lock_version=form.cleaned_data.get("lock_version"), **_form_data(form)
            ),
        )
        is not None
    ):
        messages.success(request, _("The contract was saved."))
        return redirect("contracts:contract_detail", contract_id=contract.pk)
    status = 400 if request.method == "POST" else 200
    return render(request, "contracts/contract_form.html", {"form": form, "contract": contract}, status=status)


@require_POST
@guarded
def contract_status(request: HttpRequest, contract_id: int) -> HttpResponse:
    actor = _actor(request)
    contract = selectors.contract_get(actor=actor, contract_id=contract_id)
    form = forms.StatusForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Select a valid choice."))
        return redirect("contracts:contract_detail", contract_id=contract.pk)
    try:
        services.contract_set_status(
            actor=actor,
            contract=contract,
            status=form.cleaned_data["status"],
            lock_version=form.cleaned_data.get("lock_version"),
        )
    except (NotFound, PermissionDenied):
        raise
    except ApplicationError as exc:
        messages.error(request, str(exc.message))
    else:
        messages.success(request, _("The contract's status was changed."))
    return redirect("contracts:contract_detail", contract_id=contract.pk)


# ---- attachments ---------------------------------------------------------------------------------


@require_POST
@guarded
def attachment_upload(request: HttpRequest, contract_id: int) -> HttpResponse:
    actor = _actor(request)
    contract = selectors.contract_get(actor=actor, contract_id=contract_id)
    form = forms.AttachmentForm(request.POST, request.FILES)
    if save_form(
        form, lambda: services.attachment_add(actor=actor, contract=contract, upload=form.cleaned_data["file"])
    ):
        messages.success(request, _("The file was attached."))
        return redirect("contracts:contract_detail", contract_id=contract.pk)
    return detail_page(request, contract, attachment_form=form, status=400)


@guarded
def attachment_download(request: HttpRequest, contract_id: int, attachment_id: int) -> HttpResponse:
    attachment = selectors.attachment_get(actor=_actor(request), contract_id=contract_id, attachment_id=attachment_id)
    try:
        handle = attachment.file.open("rb")
    except FileNotFoundError as exc:
        raise NotFound("not_found", _("Not found.")) from exc
    # FileResponse writes Content-Disposition with an ASCII fallback and an RFC 5987 filename*.
    response = FileResponse(
        handle, as_attachment=True, filename=attachment.original_name, content_type=attachment.content_type
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response["Cache-Control"] = "private, no-store"
    return cast(HttpResponse, response)


@require_POST
@guarded
def attachment_delete(request: HttpRequest, contract_id: int, attachment_id: int) -> HttpResponse:
    actor = _actor(request)
    attachment = selectors.attachment_get(actor=actor, contract_id=contract_id, attachment_id=attachment_id)
    services.attachment_delete(actor=actor, attachment=attachment)
    messages.success(request, _("The file %(name)s was removed.") % {"name": attachment.original_name})
    return redirect("contracts:contract_detail", contract_id=contract_id)


def parse_date(raw: str) -> dt.date | None:
    try:
        return dt.date.fromisoformat(raw.strip())
    except ValueError:
        return None
