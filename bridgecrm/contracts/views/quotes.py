"""Quote pages. Views parse input, call one service or selector, and render."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from bridgecrm.contracts import forms_quotes as forms
from bridgecrm.contracts import pdf as quote_pdf_module
from bridgecrm.contracts import selectors_quotes as selectors
from bridgecrm.contracts.models import Quote, QuoteStatus
from bridgecrm.contracts.services import quotes as services
from bridgecrm.core.errors import ApplicationError, Conflict, NotFound, PermissionDenied
from bridgecrm.core.models import CompanyProfile
from bridgecrm.customers import selectors as customer_selectors
from bridgecrm.users.models import User
from bridgecrm.users.viewtools import actor_of as _actor
from bridgecrm.users.viewtools import export_response, form_errors, guarded, require
from bridgecrm.users.viewtools import int_param as _int

PAGE_SIZE = 50
MAX_PAGE_SIZE = 200
ACTIONS = {
    "send": gettext_lazy("Mark as sent"),
    "accept": gettext_lazy("Accepted by the customer"),
    "reject": gettext_lazy("Rejected by the customer"),
    "expire": gettext_lazy("Mark as expired"),
}


def _query_without(request: HttpRequest, *names: str) -> str:
    query = request.GET.copy()
    for name in names:
        query.pop(name, None)
    return query.urlencode()


def _filters(request: HttpRequest, actor: User) -> tuple[forms.QuoteFilterForm, selectors.QuoteFilters]:
    form = forms.QuoteFilterForm(request.GET, actor=actor)
    return form, form.filters() if form.is_valid() else selectors.QuoteFilters()


@guarded
def quote_list(request: HttpRequest) -> HttpResponse:
    actor = _actor(request)
    form, filters = _filters(request, actor)
    page = _int(request.GET.get("page"), 1)
    size = _int(request.GET.get("per_page"), PAGE_SIZE, low=10, high=MAX_PAGE_SIZE)
    rows = list(selectors.quote_list(actor=actor, filters=filters)[(page - 1) * size : page * size + 1])
    customer = None
    if filters.customer_id is not None:
        try:
            customer = customer_selectors.customer_get(actor=actor, customer_id=filters.customer_id)
        except NotFound:
            customer = None
    return render(
        request,
        "contracts/quote_list.html",
        {
            "form": form,
            "quotes": rows[:size],
            "page": page,
            "has_next": len(rows) > size,
            "query": _query_without(request, "page"),
            "export_query": _query_without(request, "page", "per_page", "format"),
            "filter_customer": customer,
        },
    )


@guarded
def quote_export(request: HttpRequest) -> HttpResponseBase:
    actor = _actor(request)
    _form, filters = _filters(request, actor)
    qs = selectors.quote_list(actor=actor, filters=filters)
    tz = timezone.get_current_timezone()
    rows = selectors.export_rows(qs, tz)
    return export_response(request, name="quotes", header=selectors.export_header(), rows=rows, sheet_title=_("Quotes"))


# ---- the editor --------------------------------------------------------------------------------------


def _line_initial(quote: Quote | None) -> list[dict[str, Any]]:
    if quote is None:
        return []
    return [
        {
            "product": line.product_id,
            "name": line.name,
            "unit": line.unit,
            "quantity": line.quantity.normalize(),
            "unit_price": line.unit_price,
            "discount_percent": line.discount_percent.normalize(),
        }
        for line in quote.lines.all()
    ]


def _line_formset(request: HttpRequest, initial: list[dict[str, Any]]) -> Any:
    products = selectors.active_products()
    if request.method == "POST":
        formset = forms.QuoteLineFormSet(request.POST, prefix="lines", form_kwargs={"products": products})
        # "Add lines": the same rows again, with more blank ones, nothing saved.
        if "add_lines" in request.POST and formset.is_valid():
            data = [f.cleaned_data for f in formset.forms if not f.is_blank()]
            initial = [{**d, "product": d["product"].pk if d.get("product") else None} for d in data]
            initial += [{}] * (forms.EXTRA_LINES + 2)
            return forms.QuoteLineFormSet(initial=initial, prefix="lines", form_kwargs={"products": products})
        return formset
    rows = initial + [{}] * forms.EXTRA_LINES
    return forms.QuoteLineFormSet(initial=rows, prefix="lines", form_kwargs={"products": products})


def _lines_of(formset: Any) -> list[dict[str, Any]] | None:
    if not formset.is_valid():
        return None
    return [f.as_line() for f in formset.forms if not f.is_blank()]


def _preview(request: HttpRequest, form: forms.QuoteForm, formset: Any) -> HttpResponse:
    """The totals box, computed by the service's own arithmetic from the unsaved form (htmx)."""
    context: dict[str, Any] = {"preview_error": ""}
    lines = _lines_of(formset)
    form.is_valid()
    currency = form.cleaned_data.get("currency") or "CNY"
    rate = form.cleaned_data.get("tax_rate")
    try:
        clean = services.clean_lines(lines or [], currency)
        totals = services.compute_totals(
            [(c.quantity, c.unit_price, c.discount_percent) for c in clean], rate or Decimal(0), currency
        )
        context |= {"totals": totals, "currency": currency, "tax_rate": rate or Decimal(0)}
    except ApplicationError as exc:
        context["preview_error"] = str(exc.message)
    return render(request, "contracts/quote_totals.html", context)


def _editor(request: HttpRequest, context: dict[str, Any]) -> HttpResponse:
    return render(request, "contracts/quote_form.html", context)


@guarded
def quote_create(request: HttpRequest) -> HttpResponse:
    actor = _actor(request)
    source = request.POST if request.method == "POST" else request.GET
    customer_id = _int(source.get("customer"), 0, low=0, high=2**62)
    if not customer_id:
        customers = list(
            customer_selectors.customer_list(actor=actor).order_by("name", "id").values("pk", "name")[:500]
        )
        return render(request, "contracts/quote_pick_customer.html", {"customers": customers})
    customer = customer_selectors.customer_get(actor=actor, customer_id=customer_id)
    deals = selectors.deals_for(actor=actor, customer=customer)
    settings_row = services.document_settings()
    deal_id = _int(request.GET.get("deal"), 0, low=0, high=2**62)
    initial: dict[str, Any] = {
        "currency": customer.currency or "CNY",
        "tax_rate": settings_row.default_tax_rate,
        "valid_until": timezone.localdate() + dt.timedelta(days=settings_row.quote_validity_days),
    }
    if deal_id and any(d.pk == deal_id for d in deals):
        deal = next(d for d in deals if d.pk == deal_id)
        initial |= {"deal": deal.pk, "from_deal": True, "currency": deal.currency, "title": deal.name}
        if deal.contact_id is not None:
            initial["contact"] = deal.contact_id  # the deal's contact is the quote's, unless changed
    form = forms.QuoteForm(request.POST or None, customer=customer, deals=deals, creating=True, initial=initial)
    formset = _line_formset(request, [])
    if request.method == "POST" and "preview" in request.POST:
        return _preview(request, form, formset)
    if request.method == "POST" and "add_lines" not in request.POST and form.is_valid():
        lines = _lines_of(formset)
        if formset.is_valid():
            d = form.cleaned_data
            use_deal = bool(d.get("from_deal") and d.get("deal") and not lines)
            try:
                quote = services.quote_create(
                    actor=actor,
                    customer=customer,
                    deal=d.get("deal"),
                    contact=d.get("contact"),
                    lines=None if use_deal else lines,
                    from_deal=use_deal,
                    currency=d["currency"],
                    tax_rate=d["tax_rate"],
                    valid_until=d["valid_until"],
                    terms=d.get("terms") or "",
                    title=d.get("title") or "",
                )
            except (PermissionDenied, NotFound):
                raise
            except ApplicationError as exc:
                form_errors(form, exc)
            else:
                messages.success(request, _("The quote %(number)s was created.") % {"number": quote.number})
                return redirect("contracts:quote_detail", quote_id=quote.pk)
    return _editor(request, {"form": form, "formset": formset, "customer": customer, "quote": None})


@guarded
def quote_detail(request: HttpRequest, quote_id: int) -> HttpResponse:
    actor = _actor(request)
    quote = selectors.quote_get(actor=actor, quote_id=quote_id)
    may_change = services.may_change(actor, quote)
    actions = []
    if may_change:
        actions = [(code, label) for code, label in ACTIONS.items() if quote.status in services.TRANSITIONS[code][0]]
    contract = getattr(quote, "contract", None) if quote.status == QuoteStatus.ACCEPTED else None
    return render(
        request,
        "contracts/quote_detail.html",
        {
            "quote": quote,
            "lines": list(quote.lines.all()),
            "versions": selectors.quote_versions(actor=actor, quote=quote),
            "may_change": may_change,
            "actions": actions,
            "may_edit": may_change and quote.status == QuoteStatus.DRAFT,
            "may_revise": may_change and quote.status in services.REVISABLE,
            "contract": contract,
        },
    )


@guarded
def quote_edit(request: HttpRequest, quote_id: int) -> HttpResponse:
    actor = _actor(request)
    quote = selectors.quote_get(actor=actor, quote_id=quote_id)
    require(services.may_change(actor, quote))
    if quote.status != QuoteStatus.DRAFT:
        messages.error(request, _("Only a draft quote can be edited; revise it instead."))
        return redirect("contracts:quote_detail", quote_id=quote.pk)
    initial = {
        "contact": quote.contact_id,
        "title": quote.title,
        "currency": quote.currency,
        "tax_rate": quote.tax_rate,
        "valid_until": quote.valid_until,
        "terms": quote.terms,
        "lock_version": quote.lock_version,
    }
    form = forms.QuoteForm(request.POST or None, customer=quote.customer, deals=[], creating=False, initial=initial)
    formset = _line_formset(request, _line_initial(quote))
    if request.method == "POST" and "preview" in request.POST:
        return _preview(request, form, formset)
    if request.method == "POST" and "add_lines" not in request.POST and form.is_valid():
        lines = _lines_of(formset)
        if lines is not None:
            d = form.cleaned_data
            try:
                services.quote_update(
                    actor=actor,
                    quote=quote,
                    lock_version=d.get("lock_version") or 0,
                    contact=d.get("contact"),
                    title=d.get("title") or "",
                    currency=d["currency"],
                    tax_rate=d["tax_rate"],
                    valid_until=d["valid_until"],
                    terms=d.get("terms") or "",
                    lines=lines,
                )
            except (PermissionDenied, NotFound):
                raise
            except Conflict as exc:
                form.add_error(None, str(exc.message))
            except ApplicationError as exc:
                form_errors(form, exc)
            else:
                messages.success(request, _("The quote was saved."))
                return redirect("contracts:quote_detail", quote_id=quote.pk)
    return _editor(request, {"form": form, "formset": formset, "customer": quote.customer, "quote": quote})


@require_POST
@guarded
def quote_status(request: HttpRequest, quote_id: int) -> HttpResponse:
    actor = _actor(request)
    quote = selectors.quote_get(actor=actor, quote_id=quote_id)
    action = request.POST.get("action", "")
    lock = _int(request.POST.get("lock_version"), 0, low=0, high=2**31)
    try:
        services.quote_set_status(actor=actor, quote=quote, action=action, lock_version=lock or None)
    except (PermissionDenied, NotFound):
        raise
    except ApplicationError as exc:
        messages.error(request, str(exc.message))
    else:
        if action == "accept":
            messages.success(request, _("The quote was accepted and a draft contract was created."))
        else:
            messages.success(request, _("The quote's status was changed."))
    return redirect("contracts:quote_detail", quote_id=quote.pk)


@require_POST
@guarded
def quote_revise(request: HttpRequest, quote_id: int) -> HttpResponse:
    actor = _actor(request)
    quote = selectors.quote_get(actor=actor, quote_id=quote_id)
    lock = _int(request.POST.get("lock_version"), 0, low=0, high=2**31)
    try:
        new = services.quote_revise(actor=actor, quote=quote, lock_version=lock or None)
    except (PermissionDenied, NotFound):
        raise
    except ApplicationError as exc:
        messages.error(request, str(exc.message))
        return redirect("contracts:quote_detail", quote_id=quote.pk)
    messages.success(request, _("Version %(version)s was created.") % {"version": new.version})
    return redirect("contracts:quote_edit", quote_id=new.pk)


@guarded
def quote_print(request: HttpRequest, quote_id: int) -> HttpResponse:
    actor = _actor(request)
    quote = selectors.quote_get(actor=actor, quote_id=quote_id)
    return render(
        request,
        "contracts/quote_print.html",
        {
            "quote": quote,
            "lines": list(quote.lines.all()),
            "company": (CompanyProfile.objects.filter(pk=1).first() or CompanyProfile()),
        },
    )


@guarded
def quote_pdf(request: HttpRequest, quote_id: int) -> HttpResponse:
    actor = _actor(request)
    quote = selectors.quote_get(actor=actor, quote_id=quote_id)
    try:
        content = quote_pdf_module.quote_pdf(quote)
    except quote_pdf_module.PdfFontMissing as exc:
        return HttpResponse(str(exc.message), status=503, content_type="text/plain; charset=utf-8")
    response = HttpResponse(content, content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="{quote_pdf_module.pdf_filename(quote)}"'
    return response


# ---- document settings (admins) ----------------------------------------------------------------------


@guarded
def document_settings(request: HttpRequest) -> HttpResponse:
    actor = _actor(request)
    require(actor.can(services.MANAGE_COMPANY))
    row = services.document_settings()
    initial = {name: getattr(row, name) for name in services.SETTINGS_FIELDS}
    form = forms.DocumentSettingsForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            services.document_settings_update(actor=actor, **form.cleaned_data)
        except PermissionDenied:
            raise
        except ApplicationError as exc:
            form_errors(form, exc)
        else:
            messages.success(request, _("The document settings were saved."))
            return redirect("contracts:document_settings")
    return render(request, "contracts/document_settings.html", {"form": form})
