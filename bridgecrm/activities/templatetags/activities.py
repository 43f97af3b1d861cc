"""Template pieces other apps' pages show: the unread badge in the shell header, and the customer
page's follow-up form and open tasks (loaded by name, so the lower apps import nothing of ours)."""

from __future__ import annotations

from typing import Any

from django import template
from django.utils import timezone

from bridgecrm.activities import forms, selectors

register = template.Library()


@register.inclusion_tag("activities/unread_badge.html", takes_context=True)
def unread_badge(context: Any) -> dict[str, Any]:
    request = context.get("request")
    user = getattr(request, "user", None)
    count = selectors.unread_count(actor=user) if user is not None and user.is_authenticated else 0
    return {"unread": count, "shown": "99+" if count > 99 else str(count)}


@register.inclusion_tag("activities/customer_panel.html", takes_context=True)
def customer_activities(context: Any, customer: Any) -> dict[str, Any]:
    request = context["request"]
    actor = request.user
    form = forms.FollowUpForm(
        actor=actor, customer=customer, initial={"occurred_at": timezone.localtime().replace(second=0, microsecond=0)}
    )
    return {
        "customer": customer,
        "follow_up_form": form,
        "open_tasks": selectors.customer_open_tasks(actor=actor, customer=customer),
        "csrf_token": context.get("csrf_token"),
        "csp_nonce": context.get("csp_nonce"),
        "request": request,
    }
