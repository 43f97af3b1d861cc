"""Customer and contact pages. Views parse input, call one service or selector, and render."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import (
    HttpRequest,
    HttpResponse,
    HttpResponseBadRequest,
    HttpResponseBase,
    QueryDict,
)
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from bridgecrm.core import selectors as audit_selectors
from bridgecrm.core.errors import ApplicationError, PermissionDenied
from bridgecrm.core.timeline import customer_timeline
from bridgecrm.customers import exports as customer_exports
from bridgecrm.customers import forms, phones, policies, selectors, services
from bridgecrm.customers.models import Contact, Country, Customer, Industry, LifecycleStage, Province
from bridgecrm.customization import forms as custom_forms
from bridgecrm.customization import selectors as custom_fields
from bridgecrm.customization.models import Entity
from bridgecrm.users.viewtools import actor_of as _actor
from bridgecrm.users.viewtools import export_response, guarded, save_form
from bridgecrm.users.viewtools import form_errors as _form_errors
from bridgecrm.users.viewtools import int_param as _int

PAGE_SIZE = 50
MAX_PAGE_SIZE = 200
ACTIVITY_PAGE = 20


def _query_without(request: HttpRequest, *names: str) -> str:
    query = request.GET.copy()
    for name in names:
        query.pop(name, None)
    return query.urlencode()


def _label_rows(customers: list[Customer]) -> None:
    """The codes' labels, looked up once per page: ``get_FOO_display`` hashes the field's choices
    on every call, which cost more than the SQL on a 50-row page."""
    stages, industries = dict(LifecycleStage.choices), dict(Industry.choices)
    provinces, countries = dict(Province.choices), dict(Country.choices)
    for c in customers:
        c.stage_label = stages.get(c.lifecycle_stage, c.lifecycle_stage)  # type: ignore[attr-defined]
        c.industry_label = industries.get(c.industry, "")  # type: ignore[attr-defined]
        place = provinces.get(c.province, c.province) if c.province else countries.get(c.country, c.country)
        c.place_label = place  # type: ignore[attr-defined]


@guarded
def customer_list(request: HttpRequest) -> HttpResponse:
    actor = _actor(request)
    form = forms.CustomerFilterForm(request.GET, actor=actor)
    filters = form.filters() if form.is_valid() else selectors.CustomerFilters()
    page = _int(request.GET.get("page"), 1)
    size = _int(request.GET.get("per_page"), PAGE_SIZE, low=10, high=MAX_PAGE_SIZE)
    qs = selectors.customer_list(actor=actor, filters=filters)
    # One row more than the page says whether there is a next page: no COUNT over the whole list.
    rows = list(qs[(page - 1) * size : page * size + 1])
    _label_rows(rows)
    columns = custom_fields.list_columns(Entity.CUSTOMER, actor)
    for c, cells in zip(rows, custom_fields.display_rows(columns, [c.custom for c in rows]), strict=True):
        c.custom_cells = cells  # type: ignore[attr-defined]
    current = services.clean_view_query(request.GET.urlencode())
    return render(
        request,
        "customers/customer_list.html",
        {
            "form": form,
            "customers": rows[:size],
            "custom_columns": columns,
            "page": page,
            "has_next": len(rows) > size,
            "query": _query_without(request, "page"),
            "export_query": _query_without(request, "page", "per_page", "format"),
            "saved_views": selectors.saved_view_list(actor=actor),
            "current_query": current,
            "view_form": forms.SavedViewForm(initial={"query": current}),
        },
    )


def _customer_form_data(data: dict[str, Any], editable: list[Any]) -> dict[str, Any]:
    data = dict(data)
    data.pop("version", None)
    data["custom"] = custom_forms.pop_submitted(data, editable)
    return data


def _add_custom_fields(
    form: Any, actor: Any, entity: str, current: dict[str, Any] | None, *, creating: bool
) -> list[Any]:
    """The custom fields the actor sees, added to ``form``; returns those the actor may edit."""
    editable = custom_fields.fields_for(entity, actor, editable=True)
    custom_forms.add_fields(
        form,
        visible=custom_fields.fields_for(entity, actor),
        editable=editable,
        actor=actor,
        current=current,
        creating=creating,
    )
    return editable


@guarded
def customer_create(request: HttpRequest) -> HttpResponse:
    actor = _actor(request)
    form = forms.CustomerForm(
        request.POST or None, actor=actor, initial={"owner": actor.pk, "team": actor.team_id, "currency": "CNY"}
    )
    editable = _add_custom_fields(form, actor, Entity.CUSTOMER, None, creating=True)
    duplicates: list[Any] = []
    if (
        request.method == "POST"
        and (
            customer := save_form(
                form,
                lambda: _duplicates_shown(
                    duplicates,
                    lambda: services.customer_create(
                        actor=actor,
                        allow_duplicate=_confirmed(request),
                        **_customer_form_data(form.cleaned_data, editable),
                    ),
                ),
            )
        )
        is not None
    ):
        messages.success(request, _("The customer was created."))
        return redirect("customers:detail", customer_id=customer.pk)
    return render(request, "customers/customer_form.html", {"form": form, "customer": None, "duplicates": duplicates})


# Duplicate check (customers/dedup.py): the form shows the matches and asks to confirm.
def _confirmed(request: HttpRequest) -> bool:
    return request.POST.get("allow_duplicate") == "1"


def _duplicates_shown[T](shown: list[Any], action: Callable[[], T]) -> T:
    try:
        return action()
    except services.DuplicateFound as exc:
        shown.extend(exc.matches)
        raise


@guarded
def customer_detail(request: HttpRequest, customer_id: int) -> HttpResponse:
    actor = _actor(request)
    customer = selectors.customer_get(actor=actor, customer_id=customer_id)
    contacts = list(selectors.contact_list(actor=actor, customer=customer))
    for contact in contacts:
        contact.phone_rows = [(p, phones.display(p.e164)) for p in contact.phones.all()]  # type: ignore[attr-defined]
    contact_fields = custom_fields.list_columns(Entity.CONTACT, actor)
    cells = custom_fields.display_rows(contact_fields, [c.custom for c in contacts])
    for contact, row in zip(contacts, cells, strict=True):
        shown = [(f, text) for f, text in zip(contact_fields, row, strict=True) if text]
        contact.custom_cells = shown  # type: ignore[attr-defined]
    timeline = audit_selectors.audit_timeline(
        visible_obj=customer, include_security=False, cursor=_cursor(request), limit=20
    )
    activity = customer_timeline(actor=actor, customer=customer, before=_before(request), limit=ACTIVITY_PAGE)
    return render(
        request,
        "customers/customer_detail.html",
        {
            "customer": customer,
            "contacts": contacts,
            "timeline": timeline,
            "activity": activity,
            "activity_older": _encode_before(activity[-1].at) if len(activity) == ACTIVITY_PAGE else "",
            "contact_form": forms.ContactForm(initial={"is_primary": not contacts}),
            "custom_values": custom_fields.shown_values(Entity.CUSTOMER, actor, customer.custom),
            "may_delete": policies.may_delete(actor, customer),
        },
    )


@guarded
def customer_edit(request: HttpRequest, customer_id: int) -> HttpResponse:
    actor = _actor(request)
    customer = selectors.customer_get(actor=actor, customer_id=customer_id)
    may_reassign = policies.may_reassign(actor, customer)
    initial = {name: getattr(customer, name) for name in services.FACT_FIELDS}
    initial.update(
        tags=", ".join(t.name for t in customer.tags.all()),
        owner=customer.owner_id,
        team=customer.team_id,
        collaborators=[u.pk for u in customer.collaborators.all()],
        version=customer.version,
    )
    form = forms.CustomerForm(request.POST or None, actor=actor, may_reassign=may_reassign, initial=initial)
    editable = _add_custom_fields(form, actor, Entity.CUSTOMER, customer.custom, creating=False)
    duplicates: list[Any] = []
    if request.method == "POST" and form.is_valid():
        data = dict(form.cleaned_data)
        version = data.pop("version", None)
        data["custom"] = custom_forms.pop_submitted(data, editable)
        if "owner" in data and data["owner"] is None:
            data.pop("owner")
        try:
            _duplicates_shown(
                duplicates,
                lambda: services.customer_update(
                    actor=actor, customer=customer, version=version, allow_duplicate=_confirmed(request), **data
                ),
            )
        except PermissionDenied:
            raise
        except ApplicationError as exc:
            _form_errors(form, exc)
        else:
            messages.success(request, _("The customer was saved."))
            return redirect("customers:detail", customer_id=customer.pk)
    return render(
        request, "customers/customer_form.html", {"form": form, "customer": customer, "duplicates": duplicates}
    )


@require_POST
@guarded
def customer_delete(request: HttpRequest, customer_id: int) -> HttpResponse:
    actor = _actor(request)
    customer = selectors.customer_get(actor=actor, customer_id=customer_id)
    services.customer_delete(actor=actor, customer=customer)
    messages.success(request, _("The customer %(name)s was deleted.") % {"name": customer.name})
    return redirect("customers:list")


# ---- contacts ------------------------------------------------------------------------------------


def _contact_page(
    request: HttpRequest, customer: Customer, form: forms.ContactForm, contact: Contact | None
) -> HttpResponse:
    return render(request, "customers/contact_form.html", {"customer": customer, "form": form, "contact": contact})


@guarded
def contact_create(request: HttpRequest, customer_id: int) -> HttpResponse:
    actor = _actor(request)
    customer = selectors.customer_get(actor=actor, customer_id=customer_id)
    form = forms.ContactForm(request.POST or None)
    editable = _add_custom_fields(form, actor, Entity.CONTACT, None, creating=True)
    if (
        request.method == "POST"
        and save_form(
            form, lambda: services.contact_create(actor=actor, customer=customer, **_contact_data(form, editable))
        )
        is not None
    ):
        messages.success(request, _("The contact was added."))
        return redirect("customers:detail", customer_id=customer.pk)
    return _contact_page(request, customer, form, None)


@guarded
def contact_edit(request: HttpRequest, customer_id: int, contact_id: int) -> HttpResponse:
    actor = _actor(request)
    contact = selectors.contact_get(actor=actor, contact_id=contact_id, customer_id=customer_id)
    initial = {name: getattr(contact, name) for name in services.CONTACT_EDITABLE if name not in ("phones", "custom")}
    initial["phones"] = "\n".join(phones.display(p.e164) for p in contact.phones.all())
    form = forms.ContactForm(request.POST or None, initial=initial)
    editable = _add_custom_fields(form, actor, Entity.CONTACT, contact.custom, creating=False)
    if (
        request.method == "POST"
        and save_form(
            form, lambda: services.contact_update(actor=actor, contact=contact, **_contact_data(form, editable))
        )
        is not None
    ):
        messages.success(request, _("The contact was saved."))
        return redirect("customers:detail", customer_id=contact.customer_id)
    return _contact_page(request, contact.customer, form, contact)


def _contact_data(form: forms.ContactForm, editable: list[Any]) -> dict[str, Any]:
    data = dict(form.cleaned_data)
    data["custom"] = custom_forms.pop_submitted(data, editable)
    return data


@require_POST
@guarded
def contact_delete(request: HttpRequest, customer_id: int, contact_id: int) -> HttpResponse:
    actor = _actor(request)
    contact = selectors.contact_get(actor=actor, contact_id=contact_id, customer_id=customer_id)
    services.contact_delete(actor=actor, contact=contact)
    messages.success(request, _("The contact was deleted."))
    return redirect("customers:detail", customer_id=customer_id)


# ---- saved views ---------------------------------------------------------------------------------


@require_POST
@guarded
def view_save(request: HttpRequest) -> HttpResponse:
    actor = _actor(request)
    form = forms.SavedViewForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Give the view a name of at most 80 characters."))
        return redirect("customers:list")
    try:
        view = services.saved_view_save(actor=actor, **form.cleaned_data)
    except PermissionDenied as exc:
        raise DjangoPermissionDenied from exc
    except ApplicationError as exc:
        messages.error(request, str(exc.message))
        return redirect("customers:list")
    messages.success(request, _("The view %(name)s was saved.") % {"name": view.name})
    return redirect(f"{reverse('customers:list')}?{view.query}")


@require_POST
@guarded
def view_delete(request: HttpRequest, view_id: int) -> HttpResponse:
    actor = _actor(request)
    view = selectors.saved_view_get_own(actor=actor, view_id=view_id)
    services.saved_view_delete(actor=actor, view=view)
    messages.success(request, _("The view was deleted."))
    return redirect("customers:list")


def _cursor(request: HttpRequest) -> audit_selectors.Cursor | None:
    raw = request.GET.get("after", "")
    return audit_selectors.Cursor.decode(raw) if raw else None


def _encode_before(at: dt.datetime) -> str:
    """The activity timeline's keyset cursor: the oldest shown item's time in UTC microseconds."""
    return str(int(at.timestamp()) * 1_000_000 + at.microsecond)


def _before(request: HttpRequest) -> dt.datetime | None:
    raw = request.GET.get("before", "")
    if not raw.isdigit() or len(raw) > 18:
        return None
    micros = int(raw)
    return dt.datetime.fromtimestamp(micros // 1_000_000, tz=dt.UTC).replace(microsecond=micros % 1_000_000)


# ---- the contact list and the exports ----------------------------------------------------------


@guarded
def customer_export(request: HttpRequest) -> HttpResponseBase:
    """The customer list as shown (its filters and sort, or a saved view's: ``?view=<id>``), every
    page of it, limited to what the actor sees."""
    actor = _actor(request)
    data = request.GET
    if "view" in request.GET:
        view = selectors.saved_view_get_visible(actor=actor, view_id=_int(request.GET.get("view"), 0))
        data = QueryDict(view.query)
    form = forms.CustomerFilterForm(data, actor=actor)
    if not form.is_valid():
        return HttpResponseBadRequest(_("The filters are not valid; open the list, correct them and export again."))
    filters = form.filters()
    return export_response(
        request,
        name="customers",
        header=customer_exports.customer_header(actor),
        rows=customer_exports.customer_rows(actor=actor, filters=filters),
    )


def _contact_filters(request: HttpRequest, actor: Any) -> tuple[forms.ContactFilterForm, selectors.ContactFilters]:
    form = forms.ContactFilterForm(request.GET, actor=actor)
    return form, (form.filters() if form.is_valid() else selectors.ContactFilters())


@guarded
def contact_list(request: HttpRequest) -> HttpResponse:
    actor = _actor(request)
    form, filters = _contact_filters(request, actor)
    page = _int(request.GET.get("page"), 1)
    size = _int(request.GET.get("per_page"), PAGE_SIZE, low=10, high=MAX_PAGE_SIZE)
    qs = selectors.contact_search(actor=actor, filters=filters).select_related("customer").prefetch_related("phones")
    rows = list(qs[(page - 1) * size : page * size + 1])
    for contact in rows:
        contact.phone_rows = [phones.display(p.e164) for p in contact.phones.all()]  # type: ignore[attr-defined]
    columns = custom_fields.list_columns(Entity.CONTACT, actor)
    for contact, cells in zip(rows, custom_fields.display_rows(columns, [c.custom for c in rows]), strict=True):
        contact.custom_cells = cells  # type: ignore[attr-defined]
    return render(
        request,
        "customers/contact_list.html",
        {
            "form": form,
            "contacts": rows[:size],
            "custom_columns": columns,
            "page": page,
            "has_next": len(rows) > size,
            "query": _query_without(request, "page"),
            "export_query": _query_without(request, "page", "per_page", "format"),
        },
    )


@guarded
def contact_export(request: HttpRequest) -> HttpResponseBase:
    actor = _actor(request)
    form = forms.ContactFilterForm(request.GET, actor=actor)
    if not form.is_valid():
        return HttpResponseBadRequest(_("The filters are not valid; open the list, correct them and export again."))
    return export_response(
        request,
        name="contacts",
        header=customer_exports.contact_header(actor),
        rows=customer_exports.contact_rows(actor=actor, filters=form.filters()),
    )
