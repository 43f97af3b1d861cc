"""Who may do what with follow-ups and tasks. Which rows one sees is ``visible_to``.

- A follow-up is seen by whoever sees its customer; it is changed or deleted by its author, the
  managers over the author's team and admins.
- A task is seen by its assignee, the managers over the assignee's team and admins; whoever sees it
  may change, complete or delete it. A rep assigns tasks to themselves; a manager to the people in
  the subtree they manage (and themselves); an admin to anyone.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from bridgecrm.customers.policies import manages_owner

if TYPE_CHECKING:
    from bridgecrm.activities.models import FollowUp
    from bridgecrm.users.models import User


def _active(actor: User | None) -> bool:
    return actor is not None and actor.is_authenticated and actor.is_active


def may_change_follow_up(actor: User | None, follow_up: FollowUp) -> bool:
    if actor is None or not _active(actor):
        return False
    return follow_up.owner_id == actor.pk or manages_owner(actor, follow_up.owner)


def may_assign_task_to(actor: User, assignee: User) -> bool:
    return assignee.pk == actor.pk or manages_owner(actor, assignee)
