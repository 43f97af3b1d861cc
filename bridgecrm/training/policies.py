"""Who may see and do what in training, coaching and the know-how library.

- Courses: everyone signed in reads them; ``training.manage`` creates and edits them.
- Sessions: holders of ``training.manage`` see every session (the company's training calendar);
  everyone else sees open sessions and those he is enrolled in.
- Enrolments: one sees his own, and those of the people he manages (his team subtree; all for
  admins). ``training.manage`` enrols, and records attendance and scores, only for people he manages.
- Coaching plans: the rep sees his own plan and its shared notes, never the private notes; the coach
  and the managers of the rep's team subtree see everything; ``training.manage`` over the rep creates
  and edits plans and adds check-ins.
- Library: everyone signed in reads and writes articles; the author or ``training.manage`` edits.
  A linked customer or deal shows only to readers who may see it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from bridgecrm.core.errors import PermissionDenied
from bridgecrm.core.visibility import scope_of, subtree_filter
from bridgecrm.users.capabilities import MANAGE_TRAINING
from bridgecrm.users.models import User

if TYPE_CHECKING:
    from bridgecrm.training.models import Article, CoachingPlan


def _active(actor: User | None) -> bool:
    return actor is not None and actor.is_authenticated and actor.is_active


def may_manage(actor: User | None) -> bool:
    """Create courses and sessions, enrol people, record attendance, run coaching plans."""
    return actor is not None and _active(actor) and actor.can(MANAGE_TRAINING)


def managed_people(actor: User | None, prefix: str = "") -> Q:
    """``Q`` over users (``prefix`` is the lookup to the user, e.g. ``"user__"``) whom ``actor``
    oversees: himself, his team subtree, everyone for admins. Matches nothing for anonymous."""
    scope = scope_of(actor)
    if scope is None:
        return Q(pk__in=[])
    if scope.sees_all:
        # Not an empty Q: ``Q(x) | Q()`` is ``Q(x)``, which would drop "everyone" from an OR.
        return Q(**{f"{prefix}pk__isnull": False})
    return Q(**{f"{prefix}pk" if prefix else "pk": scope.user_id}) | subtree_filter(
        f"{prefix}team__path", scope.managed_team_paths
    )


def manages_person(actor: User | None, user: User) -> bool:
    """Whether ``actor`` holds training.manage over ``user`` (in his subtree, or an admin)."""
    if not may_manage(actor) or actor is None:
        return False
    return User.objects.filter(managed_people(actor)).filter(pk=user.pk).exists()


def sees_private_coaching(actor: User | None, plan: CoachingPlan) -> bool:
    """The coach and the rep's managers read private notes; the rep does not."""
    if actor is None or not _active(actor):
        return False
    if plan.coach_id == actor.pk:
        return True
    return plan.rep_id != actor.pk and User.objects.filter(managed_people(actor)).filter(pk=plan.rep_id).exists()


def may_edit_article(actor: User | None, article: Article) -> bool:
    return _active(actor) and actor is not None and (article.author_id == actor.pk or may_manage(actor))


def require(allowed: bool) -> None:
    if not allowed:
        raise PermissionDenied("forbidden", _("You do not have permission to do this."))
