"""Capabilities that code checks. Which role has which is data (``RolePermission`` rows)."""

from __future__ import annotations

from dataclasses import dataclass

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _


@dataclass(frozen=True)
class Capability:
    code: str
    label: Promise


VIEW_ALL_RECORDS = "records.view_all"
VIEW_TEAM_RECORDS = "records.view_team"
MANAGE_USERS = "users.manage"
MANAGE_TEAMS = "teams.manage"
MANAGE_ROLES = "roles.manage"
VIEW_AUDIT = "audit.view_all"
USE_API = "api.use"
MANAGE_COMPANY = "company.manage"
MANAGE_PIPELINE = "pipeline.manage"

CAPABILITIES: tuple[Capability, ...] = (
    Capability(VIEW_ALL_RECORDS, _("See every record in the company")),
    Capability(VIEW_TEAM_RECORDS, _("See records owned within the teams one manages")),
    Capability(MANAGE_USERS, _("Invite, deactivate and reset users")),
    Capability(MANAGE_TEAMS, _("Create and rearrange teams")),
    Capability(MANAGE_ROLES, _("Change what each role may do")),
    Capability(VIEW_AUDIT, _("Search the whole audit trail")),
    Capability(USE_API, _("Use the REST API with personal tokens")),
    Capability(MANAGE_COMPANY, _("Set the base currency and exchange rates")),
    Capability(MANAGE_PIPELINE, _("Configure products, pipelines, stages and lost reasons")),
)
CAPABILITY_CODES = frozenset(c.code for c in CAPABILITIES)

# What a fresh installation grants; a data migration writes these rows, admins change them later.
DEFAULT_GRANTS: dict[str, tuple[str, ...]] = {
    "admin": tuple(c.code for c in CAPABILITIES),
    "manager": (VIEW_TEAM_RECORDS, USE_API),
    "rep": (USE_API,),
}
