"""The comments panel the customer and deal pages include (loaded by name, so those lower apps
import nothing of ours): ``{% load collab %}{% comments_panel customer %}``."""

from __future__ import annotations

from typing import Any

from django import template

from bridgecrm.collab import forms, selectors, views

register = template.Library()


@register.inclusion_tag("collab/panel_body.html", takes_context=True)
def comments_panel(context: Any, record: Any) -> dict[str, Any]:
    request = context["request"]
    actor = request.user
    page = selectors.comment_list(actor=actor, record=record)
    return views.record_context(actor, record) | {
        "rows": views.comment_rows(actor, page.comments),
        "older": page.older,
        "form": forms.CommentForm(),
        "csrf_token": context.get("csrf_token"),
        "csp_nonce": context.get("csp_nonce"),
        "request": request,
    }
