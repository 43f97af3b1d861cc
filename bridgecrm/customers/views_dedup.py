"""Duplicate check (查重) and merge pages: the report, the settings, one customer's duplicates and
the merge wizard. Views parse input, call one service or selector, and render."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from bridgecrm.core.errors import ApplicationError, NotFound, PermissionDenied
from bridgecrm.customers import dedup, merge, selectors
from bridgecrm.customers.models import Customer
from bridgecrm.users.viewtools import actor_of, form_errors, guarded, int_param, require

REPORT_PAGE = 20
REPORT_TABS = (
    (dedup.REASON_NAME, gettext_lazy("Same name")),
    (dedup.REASON_PHONE, gettext_lazy("Same phone")),
    (dedup.REASON_EMAIL, gettext_lazy("Same e-mail")),
    (dedup.REASON_SIMILAR, gettext_lazy("Similar names")),
)
FIELD_LABELS = {
    "name": gettext_lazy("Name"),
    "kind": gettext_lazy("Kind"),
    "lifecycle_stage": gettext_lazy("Stage"),
    "source": gettext_lazy("Source"),
    "industry": gettext_lazy("Industry"),
    "place": gettext_lazy("Location"),
    "size": gettext_lazy("Size"),
    "estimated_annual_potential": gettext_lazy("Potential"),
    "currency": gettext_lazy("Currency"),
    "owner": gettext_lazy("Owner"),
    "team": gettext_lazy("Team"),
    "tags": gettext_lazy("Tags"),
}


class DuplicateSettingsForm(forms.Form):
    match_name = forms.BooleanField(label=gettext_lazy("Same name (without legal suffixes)"), required=False)
    match_phone = forms.BooleanField(label=gettext_lazy("Same phone number on a contact"), required=False)
    match_email = forms.BooleanField(label=gettext_lazy("Same e-mail address on a contact"), required=False)
    match_similar_name = forms.BooleanField(label=gettext_lazy("Similar name"), required=False)
    similarity_threshold = forms.IntegerField(
        label=gettext_lazy("Similarity threshold (%)"),
        min_value=50,
        max_value=100,
        help_text=gettext_lazy("Names at least this similar count as duplicates (default 85)."),
    )
    version = forms.IntegerField(widget=forms.HiddenInput, min_value=1)


@guarded
def duplicate_report(request: HttpRequest) -> HttpResponse:
    actor = actor_of(request)
    require(dedup.may_see_report(actor))
    reason = request.GET.get("reason") or dedup.REASON_NAME
    if reason not in dict(REPORT_TABS):
        reason = dedup.REASON_NAME
    page = int_param(request.GET.get("page"), 1)
    groups, has_next = dedup.report(actor=actor, reason=reason, page=page, size=REPORT_PAGE)
    return render(
        request,
        "customers/dedup_report.html",
        {
            "groups": groups,
            "reason": reason,
            "tabs": REPORT_TABS,
            "page": page,
            "has_next": has_next,
            "may_configure": dedup.may_configure(actor),
        },
    )


@guarded
def duplicate_settings(request: HttpRequest) -> HttpResponse:
    actor = actor_of(request)
    require(dedup.may_configure(actor))
    current = dedup.current_settings()
    initial = {name: getattr(current, name) for name in dedup.SETTINGS_FIELDS} | {"version": current.version}
    form = DuplicateSettingsForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = dict(form.cleaned_data)
        version = data.pop("version")
        try:
            dedup.settings_update(actor=actor, version=version, **data)
        except PermissionDenied:
            raise
        except ApplicationError as exc:
            form_errors(form, exc)
        else:
            messages.success(request, _("The duplicate check settings were saved."))
            return redirect("customers:duplicate_settings")
    return render(request, "customers/dedup_settings.html", {"form": form})


@guarded
def customer_duplicates(request: HttpRequest, customer_id: int) -> HttpResponse:
    """The probable duplicates of one customer the actor sees (hidden ones say only who owns them)."""
    actor = actor_of(request)
    customer = selectors.customer_get(actor=actor, customer_id=customer_id)
    matches = dedup.find_duplicates_of(actor=actor, customer=customer)
    return render(
        request,
        "customers/dedup_customer.html",
        {"customer": customer, "matches": matches, "may_merge": merge.may_merge(actor)},
    )


def _side_values(customer: Customer) -> dict[str, str]:
    place = customer.get_country_display()
    if customer.province:
        place += " · " + customer.get_province_display()
    if customer.city:
        place += " · " + customer.city
    potential = customer.estimated_annual_potential
    return {
        "name": customer.name,
        "kind": str(customer.get_kind_display()),
        "lifecycle_stage": str(customer.get_lifecycle_stage_display()),
        "source": str(customer.get_source_display()),
        "industry": str(customer.get_industry_display()),
        "place": place,
        "size": str(customer.get_size_display()),
        "estimated_annual_potential": "" if potential is None else f"{potential:,.2f}",
        "currency": customer.currency,
        "owner": customer.owner.display_name if customer.owner else str(_("public pool")),
        "team": str(customer.team or ""),
        "tags": ", ".join(t.name for t in customer.tags.all()),
    }


def _rows(survivor: Customer, loser: Customer, posted: Any) -> list[dict[str, Any]]:
    keep, drop = _side_values(survivor), _side_values(loser)
    rows = []
    for key, label in FIELD_LABELS.items():
        default = merge.SURVIVOR if keep[key] or not drop[key] else merge.LOSER
        rows.append(
            {
                "key": key,
                "label": label,
                "survivor": keep[key],
                "loser": drop[key],
                "same": keep[key] == drop[key],
                "choice": posted.get(key, default) if posted else default,
                "both": key == merge.TAGS,
            }
        )
    for key in sorted(set(survivor.custom or {}) | set(loser.custom or {})):
        a, b = (survivor.custom or {}).get(key), (loser.custom or {}).get(key)
        field = merge.CUSTOM_PREFIX + key
        default = merge.SURVIVOR if a not in (None, "", []) else merge.LOSER
        rows.append(
            {
                "key": field,
                "label": key,
                "survivor": "" if a is None else str(a),
                "loser": "" if b is None else str(b),
                "same": a == b,
                "choice": posted.get(field, default) if posted else default,
                "both": False,
            }
        )
    return rows


def _get_pair(request: HttpRequest, actor: Any) -> tuple[Customer, Customer]:
    source = request.POST if request.method == "POST" else request.GET
    survivor_id = int_param(source.get("survivor"), 0, low=0, high=2**62)
    loser_id = int_param(source.get("loser"), 0, low=0, high=2**62)
    if not survivor_id or not loser_id:
        raise NotFound("not_found", _("Not found."))
    return (
        selectors.customer_get(actor=actor, customer_id=survivor_id),
        selectors.customer_get(actor=actor, customer_id=loser_id),
    )


@guarded
def merge_wizard(request: HttpRequest) -> HttpResponse:
    """``?survivor=<id>&loser=<id>``: pick per field which value stays, then merge (POST)."""
    actor = actor_of(request)
    require(merge.may_merge(actor))
    survivor, loser = _get_pair(request, actor)
    error = ""
    if request.method == "POST":
        choices = {
            key: value
            for key in [*merge.FIELD_GROUPS, merge.TAGS]
            + [merge.CUSTOM_PREFIX + k for k in set(survivor.custom or {}) | set(loser.custom or {})]
            if (value := request.POST.get(key))
        }
        try:
            merge.customer_merge(
                actor=actor,
                survivor=survivor,
                loser=loser,
                choices=choices,
                survivor_version=int_param(request.POST.get("survivor_version"), 0, low=0, high=2**31),
                loser_version=int_param(request.POST.get("loser_version"), 0, low=0, high=2**31),
            )
        except (PermissionDenied, NotFound):
            raise
        except ApplicationError as exc:
            error = str(exc.message)
            status = exc.status
        else:
            messages.success(request, _("The customers were merged into %(name)s.") % {"name": survivor.name})
            return redirect("customers:detail", customer_id=survivor.pk)
    else:
        status = 200
    counts = merge.counts_by_model([loser.pk])
    moving = sum(n for label, n in counts.items() if not label.startswith("customers.Customer_"))
    return render(
        request,
        "customers/merge_wizard.html",
        {
            "survivor": survivor,
            "loser": loser,
            "rows": _rows(survivor, loser, request.POST if request.method == "POST" else None),
            "moving": moving,
            "error": error,
        },
        status=status,
    )
