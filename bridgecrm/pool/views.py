"""Public pool pages. Views parse input, call one selector or service, and render."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from bridgecrm.core.errors import ApplicationError, Conflict
from bridgecrm.customers import selectors as customer_selectors
from bridgecrm.customers.models import CustomerSource, Industry, Province
from bridgecrm.pool import forms, policies, selectors, services
from bridgecrm.users.viewtools import actor_of as _actor
from bridgecrm.users.viewtools import export_response, guarded, require, save_form
from bridgecrm.users.viewtools import int_param as _int

PAGE_SIZE = 50
MAX_PAGE_SIZE = 200


def _query_without(request: HttpRequest, *names: str) -> str:
    query = request.GET.copy()
    for name in names:
        query.pop(name, None)
    return query.urlencode()


def _filters(request: HttpRequest) -> tuple[forms.PoolFilterForm, selectors.PoolFilters]:
    form = forms.PoolFilterForm(request.GET)
    return form, form.filters() if form.is_valid() else selectors.PoolFilters()


@guarded
def pool_list(request: HttpRequest) -> HttpResponse:
    actor = _actor(request)
    require(policies.may_use_pool(actor))
    form, filters = _filters(request)
    page = _int(request.GET.get("page"), 1)
    size = _int(request.GET.get("per_page"), PAGE_SIZE, low=10, high=MAX_PAGE_SIZE)
    # One row more than the page says whether there is a next page: no COUNT over the pool.
    customers = list(selectors.pool_list(actor=actor, filters=filters)[(page - 1) * size : page * size + 1])
    rows = selectors.pool_rows(actor=actor, customers=customers[:size])
    reps = selectors.assignable_reps(actor=actor)
    return render(
        request,
        "pool/pool_list.html",
        {
            "form": form,
            "rows": rows,
            "items": _items(rows),
            "page": page,
            "has_next": len(customers) > size,
            "query": _query_without(request, "page"),
            "export_query": _query_without(request, "page", "per_page", "format"),
            "status": selectors.pool_status(actor=actor),
            "may_assign": bool(reps),
            "distribute_form": forms.DistributeForm(reps=reps) if reps else None,
            "may_manage": policies.may_manage_rules(actor),
            "labels": _labels(),
        },
    )


def _items(rows: list[selectors.PoolRow]) -> list[dict[str, Any]]:
    """The codes' labels, looked up once per page."""
    labels = _labels()
    return [
        {
            "row": r,
            "industry": labels["industry"].get(r.customer.industry, ""),
            "place": labels["province"].get(r.customer.province, ""),
        }
        for r in rows
    ]


def _labels() -> dict[str, dict[str, Any]]:
    return {
        "industry": dict(Industry.choices),
        "province": dict(Province.choices),
        "source": dict(CustomerSource.choices),
    }


@guarded
def pool_export(request: HttpRequest) -> HttpResponseBase:
    actor = _actor(request)
    require(policies.may_use_pool(actor))
    _form, filters = _filters(request)
    labels = _labels()
    header = [
        _("Id"),
        _("Name"),
        _("Industry"),
        _("Province"),
        _("City"),
        _("Source"),
        _("In the pool since"),
        _("Why in the pool"),
        _("Contact"),
        _("Phone"),
        _("E-mail"),
        _("WeChat ID"),
    ]

    def rows() -> Any:
        for row in selectors.pool_rows_iter(actor=actor, filters=filters):
            c, contact = row.customer, row.contact
            yield [
                c.pk,
                c.name,
                str(labels["industry"].get(c.industry, "")),
                str(labels["province"].get(c.province, "")),
                c.city,
                str(labels["source"].get(c.source, "")),
                c.pooled_at,
                row.reason_text,
                contact.name if contact else "",
                " ".join(contact.phones) if contact else "",
                contact.email if contact else "",
                contact.wechat if contact else "",
            ]

    return export_response(request, name="public-pool", header=header, rows=rows())


@guarded
def pool_detail(request: HttpRequest, customer_id: int) -> HttpResponse:
    actor = _actor(request)
    customer = selectors.pool_get(actor=actor, customer_id=customer_id)
    reps = selectors.assignable_reps(actor=actor)
    return render(
        request,
        "pool/pool_detail.html",
        {
            "customer": customer,
            "row": selectors.pool_row(actor=actor, customer=customer),
            "contacts": selectors.pool_contacts(actor=actor, customer=customer),
            "events": [(e, selectors.event_text(e)) for e in selectors.pool_events(customer=customer)],
            "status": selectors.pool_status(actor=actor),
            "assign_form": forms.AssignForm(reps=reps) if reps else None,
            "labels": _labels(),
        },
    )


def _refusal(request: HttpRequest, exc: ApplicationError) -> None:
    messages.error(request, str(exc.message))


@guarded
@require_POST
def pool_claim(request: HttpRequest, customer_id: int) -> HttpResponse:
    actor = _actor(request)
    try:
        customer = selectors.pool_get(actor=actor, customer_id=customer_id)
    except ApplicationError:
        messages.error(request, _("This customer is no longer in the public pool."))
        return redirect("pool:list")
    try:
        services.pool_claim(actor=actor, customer=customer)
    except Conflict as exc:
        _refusal(request, exc)
        return redirect("pool:list")
    except ApplicationError as exc:
        if exc.status != 400:
            raise
        _refusal(request, exc)
        return redirect("pool:detail", customer_id=customer_id)
    messages.success(request, _("%(name)s is yours now.") % {"name": customer.name})
    return redirect("customers:detail", customer_id=customer_id)


@guarded
@require_POST
def pool_assign(request: HttpRequest, customer_id: int) -> HttpResponse:
    actor = _actor(request)
    require(policies.may_assign(actor))
    customer = selectors.pool_get(actor=actor, customer_id=customer_id)
    form = forms.AssignForm(request.POST, reps=selectors.assignable_reps(actor=actor))
    if not form.is_valid():
        messages.error(request, _("Choose an active rep in your teams."))
        return redirect("pool:detail", customer_id=customer_id)
    rep = form.cleaned_data["user"]
    try:
        services.pool_assign(actor=actor, customer=customer, rep=rep)
    except ApplicationError as exc:
        if exc.status not in (400, 409):
            raise
        _refusal(request, exc)
        return redirect("pool:detail", customer_id=customer_id)
    messages.success(request, _("%(name)s was assigned to %(rep)s.") % {"name": customer.name, "rep": rep.display_name})
    return redirect("pool:list")


@guarded
@require_POST
def pool_distribute(request: HttpRequest) -> HttpResponse:
    actor = _actor(request)
    require(policies.may_assign(actor))
    form = forms.DistributeForm(request.POST, reps=selectors.assignable_reps(actor=actor))
    if not form.is_valid():
        messages.error(request, _("Tick the customers and choose the reps to share them among."))
        return redirect("pool:list")
    customers = list(selectors.in_pool().filter(pk__in=form.cleaned_data["customers"]))
    try:
        result = services.pool_distribute(
            actor=actor, customers=customers, reps=list(form.cleaned_data["users"]), mode=form.cleaned_data["mode"]
        )
    except ApplicationError as exc:
        if exc.status != 400:
            raise
        _refusal(request, exc)
        return redirect("pool:list")
    messages.success(
        request,
        _("%(assigned)s customers assigned, %(skipped)s left in the pool.")
        % {
            "assigned": len(result.assigned),
            "skipped": len(result.skipped) + len(form.cleaned_data["customers"]) - len(customers),
        },
    )
    return redirect("pool:list")


@guarded
def pool_release(request: HttpRequest, customer_id: int) -> HttpResponse:
    """The owner's (or their manager's) page to release a customer to the pool or protect it."""
    actor = _actor(request)
    customer = customer_selectors.customer_get(actor=actor, customer_id=customer_id)
    require(policies.may_release(actor, customer))
    form = forms.ReleaseForm(request.POST or None)
    if request.method == "POST":
        done = save_form(
            form, lambda: services.pool_release(actor=actor, customer=customer, reason=form.cleaned_data["reason"])
        )
        if done is not None:
            messages.success(request, _("%(name)s is back in the public pool.") % {"name": customer.name})
            return redirect("customers:list")
    return render(
        request,
        "pool/release.html",
        {"customer": customer, "form": form, "status": selectors.pool_status(actor=actor)},
        status=400 if form.errors else 200,
    )


@guarded
@require_POST
def pool_protect(request: HttpRequest, customer_id: int) -> HttpResponse:
    actor = _actor(request)
    customer = customer_selectors.customer_get(actor=actor, customer_id=customer_id)
    require(policies.may_protect(actor, customer))
    protected = request.POST.get("protected") == "1"
    try:
        services.pool_protect(actor=actor, customer=customer, protected=protected)
    except ApplicationError as exc:
        if exc.status != 400:
            raise
        _refusal(request, exc)
        return redirect("pool:release", customer_id=customer_id)
    messages.success(
        request,
        (_("%(name)s is protected from recycling.") if protected else _("%(name)s is no longer protected."))
        % {"name": customer.name},
    )
    return redirect("pool:release", customer_id=customer_id)


@guarded
def pool_rules(request: HttpRequest) -> HttpResponse:
    actor = _actor(request)
    require(policies.may_manage_rules(actor))
    rules = selectors.rules_get()
    form = forms.RulesForm(request.POST or None, instance=rules, initial={"version": rules.version}, label_suffix="")
    if request.method == "POST":

        def save() -> Any:
            data = {k: v for k, v in form.cleaned_data.items() if k != "version"}
            return services.rules_update(actor=actor, version=form.cleaned_data["version"], **data)

        # The form is a ModelForm only for its fields and labels: the service writes.
        if save_form(form, save) is not None:
            messages.success(request, _("The pool's rules were saved."))
            return redirect("pool:rules")
    return render(request, "pool/rules.html", {"form": form, "rules": rules}, status=400 if form.errors else 200)
