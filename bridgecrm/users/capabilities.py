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
MANAGE_TIERS = "tiers.manage"
MANAGE_POOL = "pool.manage"
ASSIGN_POOL = "pool.assign"
MERGE_CUSTOMERS = "customers.merge"
MANAGE_FIELDS = "fields.manage"
IMPORT_DATA = "data.import"
MANAGE_TARGETS = "targets.manage"
VIEW_OTHERS_TARGETS = "targets.view_others"
MANAGE_SCORECARDS = "scorecards.manage"
REVIEW_EVALUATIONS = "evaluations.review"
MANAGE_INCENTIVES = "incentives.manage"
VIEW_COMMISSION_RATES = "incentives.view_rates"
APPROVE_STATEMENTS = "statements.approve"
MANAGE_TRAINING = "training.manage"
VIEW_PRODUCT_COST = "products.view_cost"

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
    Capability(MANAGE_TIERS, _("Define customer tiers and their follow-up routines")),
    Capability(MANAGE_POOL, _("Set the public pool's rules")),
    Capability(ASSIGN_POOL, _("Assign and distribute customers from the public pool")),
    Capability(MERGE_CUSTOMERS, _("See the duplicate report and merge duplicate customers")),
    Capability(MANAGE_FIELDS, _("Add and change custom fields")),
    Capability(IMPORT_DATA, _("Import customers, contacts, deals and other records from files")),
    Capability(MANAGE_TARGETS, _("Set and decompose sales targets and sales plans")),
    Capability(VIEW_OTHERS_TARGETS, _("See other people's targets within one's visibility")),
    Capability(MANAGE_SCORECARDS, _("Define scorecards and run evaluations")),
    Capability(REVIEW_EVALUATIONS, _("Review, adjust and lock evaluations of one's team")),
    Capability(MANAGE_INCENTIVES, _("Define commission plans, bonus rules and promotion criteria")),
    Capability(VIEW_COMMISSION_RATES, _("See commission rates and other people's statements")),
    Capability(APPROVE_STATEMENTS, _("Approve commission statements of one's team")),
    Capability(MANAGE_TRAINING, _("Record training sessions, attendance and coaching")),
    Capability(VIEW_PRODUCT_COST, _("See and set product costs and deal margins")),
)
CAPABILITY_CODES = frozenset(c.code for c in CAPABILITIES)

# What a fresh installation grants; a data migration writes these rows, admins change them later.
DEFAULT_GRANTS: dict[str, tuple[str, ...]] = {
    "admin": tuple(c.code for c in CAPABILITIES),
    "manager": (
        VIEW_TEAM_RECORDS,
        USE_API,
        ASSIGN_POOL,
        MERGE_CUSTOMERS,
        IMPORT_DATA,
        MANAGE_TARGETS,
        VIEW_OTHERS_TARGETS,
        REVIEW_EVALUATIONS,
        VIEW_COMMISSION_RATES,
        APPROVE_STATEMENTS,
        MANAGE_TRAINING,
        VIEW_PRODUCT_COST,
    ),
    "rep": (USE_API,),
}
