"""Authorization-matrix rows for the duplicate check (查重) and merge (see matrix_support.py).

Two duplicates of the owner's ("twins") are seen by SEES_CUSTOMER. The report, the settings and
the merge are for ``customers.merge`` (managers and the admin; settings also ``company.manage``):
reps get 403. Merging needs both customers visible, so the manager of the other team gets 404.
The duplicate check itself is for everyone; a match the actor cannot see comes without id or name
(the probe looks for the twin's id).
"""

from __future__ import annotations

from typing import Any

from bridgecrm.customers import services as customer_services
from bridgecrm.customers.models import DuplicateSettings
from bridgecrm.web.tests import matrix_support
from bridgecrm.web.tests.matrix_support import (
    FORBIDDEN,
    LOGIN,
    NOT_FOUND,
    OK,
    OK_SAVED,
    SAVED,
    SEES_CUSTOMER,
    UNAUTHENTICATED,
    Case,
    World,
    row,
    url,
    visible_to,
)

# The settings row is not in the main snapshot: a denied change must leave it as it was too.
matrix_support.TABLES.setdefault("customers.DuplicateSettings", (DuplicateSettings, ()))

MERGERS = frozenset({"manager_a", "admin"})  # hold customers.merge and see both twins


def build(world: World) -> None:
    owner = world.c.owner
    world.extra["twin"] = customer_services.customer_create(actor=owner, name="Dedup Twin 查重")
    world.extra["twin_copy"] = customer_services.customer_create(actor=owner, name="DEDUP TWIN 查重 有限公司")


def twin_pk(w: World) -> int:
    return int(w.extra["twin"].pk)


def copy_pk(w: World) -> int:
    return int(w.extra["twin_copy"].pk)


def _merge_form(w: World) -> dict[str, Any]:
    return {"survivor": twin_pk(w), "loser": copy_pk(w), "survivor_version": 1, "loser_version": 1, "name": "loser"}


def _web_report_has_twins(w: World, response: Any) -> bool:
    return any(twin_pk(w) in {c.pk for c in g.customers} for g in response.context["groups"])


def _api_check_shows_twin(w: World, response: Any) -> bool:
    return twin_pk(w) in {m["customer_id"] for m in response.json()}


def _mergers(outcome: Any, *, anonymous: Any = LOGIN, other_manager: Any = NOT_FOUND) -> dict[str, Any]:
    return row(
        anonymous=anonymous,
        owner=FORBIDDEN,
        teammate=FORBIDDEN,
        other_rep=FORBIDDEN,
        manager_a=outcome,
        manager_b=other_manager,
        admin=outcome,
    )


A = "api-1.0.0:"
SETTINGS_FORM = {"match_name": "on", "match_phone": "on", "match_similar_name": "on", "similarity_threshold": "90"}

ROWS: list[Case] = [
    Case(
        "customers:duplicates",
        "GET",
        url("customers:duplicates"),
        _mergers(OK, other_manager=OK),
        probe=_web_report_has_twins,
        probe_seen_by=MERGERS,
    ),
    Case(
        "customers:duplicates",
        "GET",
        url("customers:duplicates"),
        _mergers(OK, other_manager=OK),
        data=lambda w: {"reason": "similar_name", "page": "2"},
        variant="similar names, page 2",
    ),
    Case("customers:duplicate_settings", "GET", url("customers:duplicate_settings"), _mergers(OK, other_manager=OK)),
    Case(
        "customers:duplicate_settings",
        "POST",
        url("customers:duplicate_settings"),
        _mergers(SAVED, other_manager=SAVED),
        data=lambda w: SETTINGS_FORM | {"version": "1"},
    ),
    Case(
        "customers:customer_duplicates",
        "GET",
        url("customers:customer_duplicates", customer_id=twin_pk),
        visible_to(SEES_CUSTOMER, OK),
    ),
    Case(
        "customers:merge",
        "GET",
        url("customers:merge"),
        _mergers(OK),
        data=lambda w: {"survivor": twin_pk(w), "loser": copy_pk(w)},
    ),
    Case("customers:merge", "POST", url("customers:merge"), _mergers(SAVED), data=_merge_form),
    # -- the API -------------------------------------------------------------------------------------
    Case(
        A + "duplicates_check",
        "POST",
        url(A + "duplicates_check"),
        visible_to(frozenset(matrix_support.ACTORS) - {"anonymous"}, OK, anonymous=UNAUTHENTICATED),
        data=lambda w: {"name": "dedup twin 查重"},
        operation="POST /api/v1/duplicates/check",
        probe=_api_check_shows_twin,
        probe_seen_by=SEES_CUSTOMER,
    ),
    Case(
        A + "duplicate_settings",
        "GET",
        url(A + "duplicate_settings"),
        _mergers(OK, anonymous=UNAUTHENTICATED, other_manager=OK),
        operation="GET /api/v1/duplicates/settings",
    ),
    Case(
        A + "duplicate_settings_update",
        "PATCH",
        url(A + "duplicate_settings_update"),
        _mergers(OK_SAVED, anonymous=UNAUTHENTICATED, other_manager=OK_SAVED),
        data=lambda w: {"similarity_threshold": 90, "version": 1},
        operation="PATCH /api/v1/duplicates/settings",
    ),
    Case(
        A + "customers_merge",
        "POST",
        url(A + "customers_merge"),
        _mergers(OK_SAVED, anonymous=UNAUTHENTICATED),
        data=lambda w: {
            "survivor_id": twin_pk(w),
            "loser_id": copy_pk(w),
            "survivor_version": 1,
            "loser_version": 1,
            "choices": {"name": "loser"},
        },
        operation="POST /api/v1/customers/merge",
    ),
]
