"""Who may do what with scorecards and evaluations. Which entries one sees is ``selectors.entries``.

* ``scorecards.manage`` (admins): define scorecards, run evaluations, move them through review,
  publication and lock, see every entry, try what-ifs.
* ``evaluations.review`` (managers): while an evaluation is in review, comment on and adjust the
  entries of the reps in the teams they manage (never their own entry).
* Everyone: read the scorecards' definitions; see and acknowledge their own published entry.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from bridgecrm.core.visibility import scope_of
from bridgecrm.users.capabilities import MANAGE_SCORECARDS, REVIEW_EVALUATIONS

if TYPE_CHECKING:
    from bridgecrm.scorecards.models import EvaluationEntry
    from bridgecrm.users.models import User


def _active(actor: User | None) -> bool:
    return actor is not None and actor.is_authenticated and actor.is_active


def may_manage(actor: User | None) -> bool:
    return actor is not None and _active(actor) and actor.can(MANAGE_SCORECARDS)


def may_review(actor: User | None) -> bool:
    """Holds the reviewer's capability (which entries: ``may_review_entry``)."""
    return actor is not None and _active(actor) and (actor.can(REVIEW_EVALUATIONS) or actor.can(MANAGE_SCORECARDS))


def manages_user_of(actor: User, entry: EvaluationEntry) -> bool:
    scope = scope_of(actor)
    if scope is None or entry.user_id == actor.pk:
        return False
    path = entry.user.team.path if entry.user.team_id and entry.user.team else ""
    return bool(path) and any(path.startswith(p) for p in scope.managed_team_paths)


def may_review_entry(actor: User | None, entry: EvaluationEntry) -> bool:
    """Comment on or adjust ``entry``: the scorecards' managers, or a reviewer over the rep's team."""
    if actor is None or not _active(actor):
        return False
    if actor.can(MANAGE_SCORECARDS):
        return True
    return actor.can(REVIEW_EVALUATIONS) and manages_user_of(actor, entry)


def may_acknowledge(actor: User | None, entry: EvaluationEntry) -> bool:
    return actor is not None and _active(actor) and entry.user_id == actor.pk
