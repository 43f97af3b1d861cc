"""Tier template tags: the tier panel of the customer page and the compliance table."""

from __future__ import annotations

from typing import Any

from django import template

from bridgecrm.tiers import forms, policies, selectors

register = template.Library()


@register.inclusion_tag("tiers/customer_panel.html", takes_context=True)
def customer_tier_panel(context: Any, customer: Any) -> dict[str, Any]:
    """Tier, scores, manual pin, routine status and recent tier changes of one customer (the page
    has already checked that the actor sees it). A fixed number of queries."""
    request = context["request"]
    actor = request.user
    info = selectors.customer_tier(actor=actor, customer_id=customer.pk, history_limit=5)
    tiers = selectors.tiers()
    return {
        "info": info,
        "customer": customer,
        "labels": {t.code: t.label for t in tiers},
        "may_set": policies.may_set_manual(actor, customer),
        "form": forms.ManualTierForm(tiers=tiers, initial={"tier": info.code}),
        "reasons": [(c, selectors.describe_reason(c)) for c in info.history],
        "band": selectors.band_label,
        "csrf_token": context.get("csrf_token"),
        "request": request,
    }


@register.inclusion_tag("tiers/compliance_table.html")
def compliance_table(rows: list[Any], total: Any) -> dict[str, Any]:
    return {"rows": rows, "total": total}


@register.filter
def get_item_safe(mapping: Any, key: Any) -> Any:
    return mapping.get(key, "") if isinstance(mapping, dict) else ""


@register.filter
def percent(value: Any) -> str:
    try:
        return f"{float(value) * 100:.1f}%"
    except (TypeError, ValueError):
        return "—"


@register.filter
def band_name(code: str) -> str:
    return selectors.band_label(code)
