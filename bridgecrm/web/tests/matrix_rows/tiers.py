"""Authorization-matrix rows for tiers and follow-up routines (see matrix_support.py).

The tier model is company configuration: everyone signed in reads it (API), only admins
(``tiers.manage``) change it, preview it or start a recomputation. A customer's tier, its history
and its manual pin follow the customer: those who see it (SEES_CUSTOMER) read and set it, everyone
else gets 404 and nothing changes. The routine list and compliance are scoped per actor (probes).
"""

from __future__ import annotations

from typing import Any

from bridgecrm.customers.models import Customer
from bridgecrm.tiers import selectors, services
from bridgecrm.tiers.forms import TierModelForm
from bridgecrm.web.tests.matrix_support import (
    OK,
    OK_SAVED,
    SAVED,
    SEES_CUSTOMER,
    UNAUTHENTICATED,
    Case,
    World,
    admin_only,
    api_user,
    customer_pk,
    signed_in,
    url,
    visible_to,
)

SEES_OWNER_ROW = frozenset({"owner", "manager_a", "admin"})  # whose compliance shows the owner's row


def build(world: World) -> None:
    # The world's customer is in tier A, pinned by hand (so clearing it writes).
    services.manual_tier_set(actor=world.c.owner, customer=world.customer, tier="A", reason="Matrix pin")
    world.customer = Customer.objects.get(pk=world.customer.pk)


def settings_form(w: World, **changes: Any) -> dict[str, Any]:
    form = TierModelForm(model=selectors.tier_model(), tiers=selectors.tiers())
    data: dict[str, Any] = {}
    for name, field in form.fields.items():
        value = form.initial.get(name, field.initial)
        if value is not None:
            data[name] = [str(v) for v in value] if isinstance(value, list) else str(value)
    return data | changes


def web_routine_lists_customer(w: World, response: Any) -> bool:
    return w.customer.pk in {c.pk for c, _s in response.context["rows"]}


def web_compliance_has_owner(w: World, response: Any) -> bool:
    return w.c.owner.pk in {r.key for r in response.context["result"].reps}


def api_compliance_has_owner(w: World, response: Any) -> bool:
    return w.c.owner.pk in {r["id"] for r in response.json()["reps"]}


T = "tiers:"
A = "api-1.0.0:"
CUSTOMER_TIER = url(A + "customer_tier", customer_id=customer_pk)
PERIOD = {"start": "2026-01-01", "end": "2026-01-31"}

ROWS: list[Case] = [
    Case(T + "settings", "GET", url(T + "settings"), admin_only(OK)),
    Case(
        T + "settings",
        "POST",
        url(T + "settings"),
        admin_only(OK),
        data=lambda w: settings_form(w, action="preview", value_high="70"),
        variant="preview",
    ),
    Case(
        T + "settings",
        "POST",
        url(T + "settings"),
        admin_only(SAVED),
        data=lambda w: settings_form(w, action="save", value_high="70"),
    ),
    Case(T + "recompute", "POST", url(T + "recompute"), admin_only(SAVED)),
    Case(
        T + "customer_tier",
        "POST",
        url(T + "customer_tier", customer_id=customer_pk),
        visible_to(SEES_CUSTOMER, SAVED),
        data=lambda w: {"action": "set", "tier": "B", "reason": "Matrix says B"},
    ),
    Case(
        T + "customer_tier",
        "POST",
        url(T + "customer_tier", customer_id=customer_pk),
        visible_to(SEES_CUSTOMER, SAVED),
        data=lambda w: {"action": "clear"},
        variant="clear",
    ),
    Case(
        T + "routine",
        "GET",
        url(T + "routine"),
        signed_in(OK),
        data=lambda w: {"within": "30"},
        probe=web_routine_lists_customer,
        probe_seen_by=SEES_CUSTOMER,
    ),
    Case(
        T + "compliance",
        "GET",
        url(T + "compliance"),
        signed_in(OK),
        data=lambda w: PERIOD,
        probe=web_compliance_has_owner,
        probe_seen_by=SEES_OWNER_ROW,
    ),
    Case(A + "tier_model", "GET", url(A + "tier_model"), api_user(OK), operation="GET /api/v1/tiers"),
    Case(
        A + "compliance",
        "GET",
        url(A + "compliance"),
        api_user(OK),
        data=lambda w: PERIOD,
        operation="GET /api/v1/tiers/compliance",
        probe=api_compliance_has_owner,
        probe_seen_by=SEES_OWNER_ROW,
    ),
    Case(
        A + "customer_tier",
        "GET",
        CUSTOMER_TIER,
        visible_to(SEES_CUSTOMER, OK, anonymous=UNAUTHENTICATED),
        operation="GET /api/v1/customers/{customer_id}/tier",
    ),
    Case(
        A + "customer_tier_history",
        "GET",
        url(A + "customer_tier_history", customer_id=customer_pk),
        visible_to(SEES_CUSTOMER, OK, anonymous=UNAUTHENTICATED),
        operation="GET /api/v1/customers/{customer_id}/tier/history",
    ),
    Case(
        A + "customer_tier_set",
        "PUT",
        url(A + "customer_tier_set", customer_id=customer_pk),
        visible_to(SEES_CUSTOMER, OK_SAVED, anonymous=UNAUTHENTICATED),
        data=lambda w: {"tier": "C", "reason": "Matrix API"},
        operation="PUT /api/v1/customers/{customer_id}/tier",
    ),
    Case(
        A + "customer_tier_clear",
        "DELETE",
        url(A + "customer_tier_clear", customer_id=customer_pk),
        visible_to(SEES_CUSTOMER, OK_SAVED, anonymous=UNAUTHENTICATED),
        operation="DELETE /api/v1/customers/{customer_id}/tier",
    ),
]
