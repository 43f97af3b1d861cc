"""Who may do what with customers and contacts. Which rows one sees is ``visible_to``.

Everyone who sees a customer (owner, collaborators, managers over the owner's team, admins) may
edit its facts and contacts. Reassigning it (owner, team, collaborators) and deleting it are for
the owner, the managers over the owner's team and admins, not for collaborators.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from bridgecrm.core.visibility import scope_of

if TYPE_CHECKING:
    from bridgecrm.customers.models import Customer
    from bridgecrm.users.models import User


def _active(actor: User | None) -> bool:
    return actor is not None and actor.is_authenticated and actor.is_active


def may_create(actor: User | None) -> bool:
    return _active(actor)


def manages_owner(actor: User, owner: User | None) -> bool:
    """Admins, and managers whose managed subtree holds ``owner``'s team."""
    scope = scope_of(actor)
    if scope is None:
        return False
    if scope.sees_all:
        return True
    path = owner.team.path if owner is not None and owner.team is not None else ""
    return bool(path) and any(path.startswith(p) for p in scope.managed_team_paths)


def may_edit(actor: User | None, customer: Customer) -> bool:
    """For a customer the caller fetched through ``visible_to(actor)``: seeing it is enough."""
    return _active(actor)


def may_reassign(actor: User | None, customer: Customer) -> bool:
    if actor is None or not _active(actor):
        return False
    return customer.owner_id == actor.pk or manages_owner(actor, customer.owner)


def may_delete(actor: User | None, customer: Customer) -> bool:
    return may_reassign(actor, customer)


def may_assign_to(actor: User, owner: User) -> bool:
    """A rep keeps customers for themselves; managers give them to their teams; admins to anyone."""
    return owner.pk == actor.pk or manages_owner(actor, owner)
