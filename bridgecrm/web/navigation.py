"""The navigation: only modules that exist, only what the actor may open."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.urls import reverse
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from bridgecrm.imports import policies as import_policies
from bridgecrm.pipeline import policies as pipeline_policies
from bridgecrm.users import policies


@dataclass(frozen=True)
class NavItem:
    label: Promise
    url_name: str
    allowed: Callable[[Any], bool]
    section: str = "main"


SECTION_ORDER = ("main", "performance", "admin")

NAV: tuple[NavItem, ...] = (
    NavItem(_("Home"), "web:home", lambda u: True),
    NavItem(_("My day"), "activities:my_day", lambda u: True),
    NavItem(_("Team activity"), "collab:feed", lambda u: True),
    NavItem(_("Calendar"), "activities:calendar", lambda u: True),
    NavItem(_("Follow-ups"), "activities:follow_ups", lambda u: True),
    NavItem(_("Tasks"), "activities:tasks", lambda u: True),
    NavItem(_("Follow-up routine"), "tiers:routine", lambda u: True),
    NavItem(_("Customers"), "customers:list", lambda u: True),
    NavItem(_("Public pool"), "pool:list", lambda u: True),
    NavItem(_("Deals"), "pipeline:deals", lambda u: True),
    NavItem(_("Board"), "pipeline:board", lambda u: True),
    NavItem(_("Products"), "pipeline:products", lambda u: True),
    NavItem(_("Quotes"), "contracts:quotes", lambda u: True),
    NavItem(_("Contracts"), "contracts:contracts", lambda u: True),
    NavItem(_("Collections"), "contracts:collections", lambda u: True),
    NavItem(_("People"), "users:people", lambda u: True),
    # Targets and people (issue 5)
    NavItem(_("Manager dashboard"), "web:manager_dashboard", lambda u: u.can("targets.view_others"), "performance"),
    NavItem(_("Targets"), "targets:progress", lambda u: True, "performance"),
    NavItem(_("Sales plans"), "targets:plans", lambda u: True, "performance"),
    NavItem(_("Scorecards"), "scorecards:list", lambda u: True, "performance"),
    NavItem(_("Commission statements"), "incentives:statements", lambda u: True, "performance"),
    NavItem(_("Promotion"), "incentives:promotion", lambda u: True, "performance"),
    NavItem(_("My training"), "training:mine", lambda u: True, "performance"),
    NavItem(_("Training sessions"), "training:sessions", lambda u: True, "performance"),
    NavItem(_("Coaching"), "training:coaching", lambda u: True, "performance"),
    NavItem(_("Know-how library"), "training:library", lambda u: True, "performance"),
    NavItem(_("Users"), "users:manage_users", policies.may_manage_users, "admin"),
    NavItem(_("Teams"), "users:manage_teams", policies.may_manage_teams, "admin"),
    NavItem(_("Roles"), "users:manage_roles", policies.may_manage_roles, "admin"),
    NavItem(_("Pipelines"), "pipeline:pipelines", pipeline_policies.may_manage, "admin"),
    NavItem(_("Customer tiers"), "tiers:settings", lambda u: u.can("tiers.manage"), "admin"),
    NavItem(_("Custom fields"), "customization:fields", lambda u: u.can("fields.manage"), "admin"),
    NavItem(_("Exchange rates"), "contracts:exchange_rates", lambda u: u.can("company.manage"), "admin"),
    NavItem(_("Document settings"), "contracts:document_settings", lambda u: u.can("company.manage"), "admin"),
    NavItem(_("Pool rules"), "pool:rules", lambda u: u.can("pool.manage"), "admin"),
    NavItem(_("Duplicates"), "customers:duplicates", lambda u: u.can("customers.merge"), "admin"),
    NavItem(_("Imports"), "imports:list", import_policies.may_import, "admin"),
    NavItem(
        _("Commission plans"),
        "incentives:plans",
        lambda u: u.can("incentives.view_rates") or u.can("incentives.manage"),
        "admin",
    ),
    NavItem(
        _("Bonus rules"),
        "incentives:bonus_rules",
        lambda u: u.can("incentives.view_rates") or u.can("incentives.manage"),
        "admin",
    ),
    NavItem(_("Audit trail"), "users:audit_search", policies.may_search_audit, "admin"),
    NavItem(_("API docs"), "api-1.0.0:openapi-view", policies.may_use_api, "admin"),
)


def items_for(user: Any, current_path: str) -> list[dict[str, Any]]:
    if not user.is_authenticated:
        return []
    result = []
    for item in NAV:
        if not item.allowed(user):
            continue
        url = reverse(item.url_name)
        active = current_path == url if url == "/" else current_path.startswith(url)
        result.append({"label": item.label, "url": url, "section": item.section, "active": active})
    # Only the most specific match is current (/deals/board/ is the board, not the deal list).
    longest = max((len(str(r["url"])) for r in result if r["active"]), default=0)
    for r in result:
        r["active"] = r["active"] and len(str(r["url"])) == longest
    # Grouped as the sections come (main, then performance, then admin), each after a rule.
    result.sort(key=lambda r: SECTION_ORDER.index(str(r["section"])))
    for before, r in zip([None, *result], result, strict=False):
        r["section_first"] = before is not None and before["section"] != r["section"]
    return result
