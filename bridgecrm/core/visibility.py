"""Record-level visibility: one mechanism, ``visible_to(actor)``, for every read.

A rep sees what they own or collaborate on; a manager sees everything owned within the subtree of
the teams they manage (and their own records); an admin sees all. The users app computes an
actor's :class:`Scope`; querysets here turn it into a filter. Anything that is not an active,
signed-in user sees nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol, Self, TypeVar

from django.db import models
from django.db.models import Q


@dataclass(frozen=True)
class Scope:
    user_id: int
    sees_all: bool
    # Materialised paths of the teams whose subtree the actor manages.
    managed_team_paths: tuple[str, ...] = ()


class Actor(Protocol):
    pk: Any
    is_authenticated: bool
    is_active: bool

    def visibility_scope(self) -> Scope: ...


def scope_of(actor: object) -> Scope | None:
    """The actor's scope, or None for anonymous, inactive or unknown actors (who see nothing)."""
    if actor is None or not getattr(actor, "is_authenticated", False) or not getattr(actor, "is_active", False):
        return None
    scope_fn = getattr(actor, "visibility_scope", None)
    if scope_fn is None:
        return None
    scope = scope_fn()
    return scope if isinstance(scope, Scope) else None


def subtree_filter(lookup: str, paths: tuple[str, ...]) -> Q:
    """``Q`` matching rows whose team path (``lookup``) lies under any of ``paths``."""
    condition = Q(pk__in=[])
    for path in paths:
        condition |= Q(**{f"{lookup}__startswith": path})
    return condition


M = TypeVar("M", bound=models.Model)


class OwnedQuerySet(models.QuerySet[M]):
    """For records with an owner (a user) and optional collaborators.

    Subclasses set ``owner_field``, ``collaborators_field`` (or None) and ``owner_team_path`` (the
    lookup from the record to its owner's team path).
    """

    owner_field: str = "owner"
    collaborators_field: str | None = "collaborators"
    owner_team_path: str = "owner__team__path"

    def visible_to(self, actor: object) -> Self:
        scope = scope_of(actor)
        if scope is None:
            return self.none()
        if scope.sees_all:
            return self.all()
        condition = Q(**{f"{self.owner_field}_id": scope.user_id})
        if self.collaborators_field:
            # A subquery, not a join: no duplicate rows, so no DISTINCT over the whole list.
            collaborating = self.model._default_manager.filter(**{self.collaborators_field: scope.user_id})
            condition |= Q(pk__in=collaborating.values("pk"))
        if scope.managed_team_paths:
            condition |= subtree_filter(self.owner_team_path, scope.managed_team_paths)
        return self.filter(condition)
