"""Who may do what with targets and sales plans. Which rows one sees is in ``selectors``."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from bridgecrm.core.visibility import scope_of
from bridgecrm.users.capabilities import MANAGE_TARGETS, VIEW_OTHERS_TARGETS

if TYPE_CHECKING:
    from bridgecrm.targets.models import Milestone, SalesPlan, Target
    from bridgecrm.users.models import Team, User

__all__ = ["MANAGE_TARGETS", "VIEW_OTHERS_TARGETS"]


def _active(actor: Any) -> bool:
    return actor is not None and getattr(actor, "is_authenticated", False) and actor.is_active


def may_view_others(actor: Any) -> bool:
    """See other people's targets (within one's visibility)."""
    return _active(actor) and actor.can(VIEW_OTHERS_TARGETS)


def may_manage(actor: Any) -> bool:
    """Set targets and plans at all (for some scope)."""
    return _active(actor) and actor.can(MANAGE_TARGETS)


def _covers(actor: User, path: str | None) -> bool:
    scope = scope_of(actor)
    if scope is None:
        return False
    if scope.sees_all:
        return True
    return bool(path) and any(path.startswith(p) for p in scope.managed_team_paths)  # type: ignore[union-attr]


def may_set_company(actor: Any) -> bool:
    """Company targets: only someone who sees the whole company (an admin) with ``targets.manage``."""
    scope = scope_of(actor)
    return may_manage(actor) and scope is not None and scope.sees_all


def may_set_for_team(actor: Any, team: Team | None) -> bool:
    return may_manage(actor) and team is not None and _covers(actor, team.path)


def may_set_for_rep(actor: Any, user: User | None) -> bool:
    """A rep's target: managers over the rep's team (not their own, unless they see all), admins."""
    if not may_manage(actor) or user is None:
        return False
    scope = scope_of(actor)
    if scope is not None and scope.sees_all:
        return True
    if user.pk == actor.pk:
        return False
    return _covers(actor, user.team.path if user.team is not None else None)


def may_edit_target(actor: Any, target: Target) -> bool:
    """Set, adjust, decompose or delete this target (its scope decides)."""
    if target.scope == "company":
        return may_set_company(actor)
    if target.scope == "team":
        return may_set_for_team(actor, target.team)
    return may_set_for_rep(actor, target.user)


def may_edit_plan(actor: Any, plan: SalesPlan) -> bool:
    """Change a plan, its phases and milestones: managers over the plan's team or rep, admins."""
    if plan.scope == "team":
        return may_set_for_team(actor, plan.team)
    return may_set_for_rep(actor, plan.user)


def may_set_milestone_status(actor: Any, milestone: Milestone) -> bool:
    """Mark a milestone done, cancelled or open again: its owner, and whoever may edit the plan."""
    return _active(actor) and (milestone.owner_id == actor.pk or may_edit_plan(actor, milestone.plan))
