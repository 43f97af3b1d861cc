"""Who may do what with users, teams, roles and tokens. Rows are scoped by ``visible_to``."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.utils.translation import gettext_lazy as _

from bridgecrm.core.errors import PermissionDenied
from bridgecrm.users.capabilities import MANAGE_ROLES, MANAGE_TEAMS, MANAGE_USERS, USE_API, VIEW_AUDIT

if TYPE_CHECKING:
    from bridgecrm.users.models import User


def _active(actor: User | None) -> bool:
    return actor is not None and actor.is_authenticated and actor.is_active


def may_manage_users(actor: User | None) -> bool:
    return _active(actor) and actor is not None and actor.can(MANAGE_USERS)


def may_manage_teams(actor: User | None) -> bool:
    return _active(actor) and actor is not None and actor.can(MANAGE_TEAMS)


def may_manage_roles(actor: User | None) -> bool:
    return _active(actor) and actor is not None and actor.can(MANAGE_ROLES)


def may_search_audit(actor: User | None) -> bool:
    return _active(actor) and actor is not None and actor.can(VIEW_AUDIT)


def may_use_api(actor: User | None) -> bool:
    return _active(actor) and actor is not None and actor.can(USE_API)


def may_edit_profile(actor: User | None, user: User) -> bool:
    return _active(actor) and actor is not None and (actor.pk == user.pk or actor.can(MANAGE_USERS))


def may_create_token(actor: User | None, user: User) -> bool:
    return _active(actor) and actor is not None and actor.pk == user.pk and actor.can(USE_API)


def require(actor: User | None, allowed: bool) -> None:
    if not allowed:
        raise PermissionDenied("forbidden", _("You do not have permission to do this."))
