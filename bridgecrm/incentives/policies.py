"""Who may see and do what with commissions, bonuses and promotion criteria.

- A rep sees his own statements: every line's source, the amount counted and what it pays, his
  basis, target and attainment. He does not see rates, bands, the accelerator or the cap (the
  plan), unless his role has ``incentives.view_rates``.
- Holders of ``incentives.view_rates`` see the statements of the reps in the team subtrees they
  manage (admins: everyone's) and the plans with their rates.
- ``statements.approve`` approves (and generates) the statements of one's team subtree; nobody
  approves his own statement.
- ``incentives.manage`` defines plans, assignments, bonus rules and promotion criteria.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.db.models import Q

from bridgecrm.core.visibility import scope_of, subtree_filter
from bridgecrm.users.capabilities import APPROVE_STATEMENTS, MANAGE_INCENTIVES, VIEW_COMMISSION_RATES

if TYPE_CHECKING:
    from bridgecrm.incentives.models import Statement
    from bridgecrm.users.models import User


def _active(actor: User | None) -> bool:
    return actor is not None and actor.is_authenticated and actor.is_active


def may_manage(actor: User | None) -> bool:
    return _active(actor) and actor is not None and actor.can(MANAGE_INCENTIVES)


def may_view_rates(actor: User | None) -> bool:
    return _active(actor) and actor is not None and actor.can(VIEW_COMMISSION_RATES)


def may_approve_any(actor: User | None) -> bool:
    return _active(actor) and actor is not None and actor.can(APPROVE_STATEMENTS)


def statement_owner_filter(actor: User | None, *, for_approval: bool = False) -> Q:
    """``Q`` over ``user`` of the reps whose statements ``actor`` may see (or approve)."""
    scope = scope_of(actor)
    if scope is None or actor is None:
        return Q(pk__in=[])
    capability = APPROVE_STATEMENTS if for_approval else VIEW_COMMISSION_RATES
    own = Q(user_id=scope.user_id)
    if not actor.can(capability):
        return Q(pk__in=[]) if for_approval else own
    if scope.sees_all:
        return Q() if not for_approval else ~own
    team = subtree_filter("user__team__path", scope.managed_team_paths)
    return team & ~own if for_approval else own | team


def may_approve(actor: User | None, statement: Statement) -> bool:
    """Approve a draft statement of a rep in one's team subtree (never one's own)."""
    if not may_approve_any(actor) or actor is None or statement.user_id == actor.pk:
        return False
    from bridgecrm.incentives.models import Statement as StatementModel

    return StatementModel.objects.filter(statement_owner_filter(actor, for_approval=True), pk=statement.pk).exists()


def may_see_rates_of(actor: User | None, statement: Statement) -> bool:
    return may_view_rates(actor)
