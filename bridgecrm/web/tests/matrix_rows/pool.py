"""Authorization-matrix rows for the public pool (see matrix_support.py).

The objects (built once, see ``build``): a customer in the pool (made by the admin and released),
with a contact whose phone and e-mail are masked for all but the admin (``pool.manage``).

Every signed-in user sees the pool, its export and its customers' pages, and may claim. Assigning
and distributing need ``pool.assign`` (manager_a, manager_b, admin) and a rep in one's scope: the
rows give the owner (team A) as the rep, so manager_b's request is refused (the owner is not
theirs) and nothing is written. Releasing and protecting the world's customer (the owner's) is
for those who may reassign it: the owner, manager_a and the admin; the others do not see it (404).
The rules page and the rules' PATCH are the admin's (``pool.manage``).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.utils import timezone

from bridgecrm.customers import services as customer_services
from bridgecrm.customers.models import Customer
from bridgecrm.pool import selectors
from bridgecrm.pool import services as pool_services
from bridgecrm.pool.models import PoolEvent, PoolRules
from bridgecrm.web.tests.matrix_support import (
    FORBIDDEN,
    LOGIN,
    OK,
    OK_SAVED,
    REDIRECT,
    SAVED,
    SEES_CUSTOMER,
    TABLES,
    UNAUTHENTICATED,
    Case,
    Outcome,
    World,
    admin_only,
    api_user,
    row,
    signed_in,
    url,
    visible_to,
)

# The pool's own tables join the "nothing changed" snapshot.
TABLES.setdefault("pool.PoolRules", (PoolRules, ()))
TABLES.setdefault("pool.PoolEvent", (PoolEvent, ()))

BAD_REFERENCE = Outcome("400", 400)  # an API reference to a rep outside one's scope: nothing written
SIGNED_IN = frozenset({"owner", "teammate", "other_rep", "manager_a", "manager_b", "admin"})


def build(world: World) -> None:
    admin = world.c.admin
    customer = customer_services.customer_create(actor=admin, name="Matrix pool customer 公海")
    customer_services.contact_create(
        actor=admin, customer=customer, name="Pool Contact", phones=["13900139000"], email="pool@example.com"
    )
    # Released a month ago: past the admin's cool-down, so the admin may claim it back too.
    pool_services.pool_release(
        actor=admin, customer=customer, reason="Matrix", now=timezone.now() - dt.timedelta(days=30)
    )
    selectors.rules_get()
    world.extra["pool_customer"] = Customer.objects.get(pk=customer.pk)


def pool_pk(w: World) -> int:
    return int(w.extra["pool_customer"].pk)


def web_lists_pool_customer(w: World, response: Any) -> bool:
    return pool_pk(w) in {r.id for r in response.context["rows"]}


def api_lists_pool_customer(w: World, response: Any) -> bool:
    return pool_pk(w) in {item["id"] for item in response.json()["items"]}


def rules_form(w: World) -> dict[str, Any]:
    rules = selectors.rules_get()
    return {
        "recycle_no_follow_up_days": "45",
        "recycle_no_progress_days": str(rules.recycle_no_progress_days),
        "warning_days": str(rules.warning_days),
        "holding_limit": str(rules.holding_limit),
        "daily_claim_limit": str(rules.daily_claim_limit),
        "cooldown_days": str(rules.cooldown_days),
        "protected_cap": str(rules.protected_cap),
        "mask_contacts": "on",
        "version": str(rules.version),
    }


# manager_a and the admin may give to the owner; manager_b may assign, but not to the owner.
ASSIGN_WEB = row(
    anonymous=LOGIN,
    owner=FORBIDDEN,
    teammate=FORBIDDEN,
    other_rep=FORBIDDEN,
    manager_a=SAVED,
    manager_b=REDIRECT,
    admin=SAVED,
)
ASSIGN_API = row(
    anonymous=UNAUTHENTICATED,
    owner=FORBIDDEN,
    teammate=FORBIDDEN,
    other_rep=FORBIDDEN,
    manager_a=OK_SAVED,
    manager_b=BAD_REFERENCE,
    admin=OK_SAVED,
)

ROWS: list[Case] = [
    # ---- pages ----
    Case(
        "pool:list",
        "GET",
        url("pool:list"),
        signed_in(OK),
        probe=web_lists_pool_customer,
        probe_seen_by=SIGNED_IN,
    ),
    Case("pool:export", "GET", url("pool:export"), signed_in(OK)),
    Case("pool:detail", "GET", url("pool:detail", customer_id=pool_pk), signed_in(OK)),
    Case("pool:claim", "POST", url("pool:claim", customer_id=pool_pk), signed_in(SAVED)),
    Case(
        "pool:assign",
        "POST",
        url("pool:assign", customer_id=pool_pk),
        ASSIGN_WEB,
        data=lambda w: {"user": w.c.owner.pk},
    ),
    Case(
        "pool:distribute",
        "POST",
        url("pool:distribute"),
        ASSIGN_WEB,
        data=lambda w: {"customers": [pool_pk(w)], "users": [w.c.owner.pk], "mode": "load"},
    ),
    Case("pool:rules", "GET", url("pool:rules"), admin_only(OK)),
    Case("pool:rules", "POST", url("pool:rules"), admin_only(SAVED), data=rules_form),
    Case(
        "pool:release",
        "GET",
        url("pool:release", customer_id=lambda w: w.customer.pk),
        visible_to(SEES_CUSTOMER, OK),
    ),
    Case(
        "pool:release",
        "POST",
        url("pool:release", customer_id=lambda w: w.customer.pk),
        visible_to(SEES_CUSTOMER, SAVED),
        data=lambda w: {"reason": "Matrix release"},
    ),
    Case(
        "pool:protect",
        "POST",
        url("pool:protect", customer_id=lambda w: w.customer.pk),
        visible_to(SEES_CUSTOMER, SAVED),
        data=lambda w: {"protected": "1"},
    ),
    # ---- API ----
    Case(
        "api-1.0.0:pool_list",
        "GET",
        url("api-1.0.0:pool_list"),
        api_user(OK),
        operation="GET /api/v1/pool/customers",
        probe=api_lists_pool_customer,
        probe_seen_by=SIGNED_IN,
    ),
    Case(
        "api-1.0.0:pool_detail",
        "GET",
        url("api-1.0.0:pool_detail", customer_id=pool_pk),
        api_user(OK),
        operation="GET /api/v1/pool/customers/{customer_id}",
    ),
    Case(
        "api-1.0.0:pool_claim",
        "POST",
        url("api-1.0.0:pool_claim", customer_id=pool_pk),
        api_user(OK_SAVED),
        operation="POST /api/v1/pool/customers/{customer_id}/claim",
    ),
    Case(
        "api-1.0.0:pool_assign",
        "POST",
        url("api-1.0.0:pool_assign", customer_id=pool_pk),
        ASSIGN_API,
        data=lambda w: {"user_id": w.c.owner.pk},
        operation="POST /api/v1/pool/customers/{customer_id}/assign",
    ),
    Case(
        "api-1.0.0:pool_distribute",
        "POST",
        url("api-1.0.0:pool_distribute"),
        ASSIGN_API,
        data=lambda w: {"customer_ids": [pool_pk(w)], "user_ids": [w.c.owner.pk], "mode": "round_robin"},
        operation="POST /api/v1/pool/distribute",
    ),
    Case(
        "api-1.0.0:pool_release",
        "POST",
        url("api-1.0.0:pool_release", customer_id=lambda w: w.customer.pk),
        visible_to(SEES_CUSTOMER, OK_SAVED, anonymous=UNAUTHENTICATED),
        data=lambda w: {"reason": "Matrix release"},
        operation="POST /api/v1/customers/{customer_id}/release",
    ),
    Case(
        "api-1.0.0:pool_protect",
        "POST",
        url("api-1.0.0:pool_protect", customer_id=lambda w: w.customer.pk),
        visible_to(SEES_CUSTOMER, OK_SAVED, anonymous=UNAUTHENTICATED),
        data=lambda w: {"protected": True},
        operation="POST /api/v1/customers/{customer_id}/protect",
    ),
    Case(
        "api-1.0.0:pool_rules_get",
        "GET",
        url("api-1.0.0:pool_rules_get"),
        api_user(OK),
        operation="GET /api/v1/pool/rules",
    ),
    Case(
        "api-1.0.0:pool_rules_update",
        "PATCH",
        url("api-1.0.0:pool_rules_update"),
        admin_only(OK_SAVED, anonymous=UNAUTHENTICATED),
        data=lambda w: {"holding_limit": 42, "version": selectors.rules_get().version},
        operation="PATCH /api/v1/pool/rules",
    ),
    Case(
        "api-1.0.0:pool_status",
        "GET",
        url("api-1.0.0:pool_status"),
        api_user(OK),
        operation="GET /api/v1/pool/status",
    ),
]
