"""Who may see and change products, pipelines, stages and lost reasons, and deals.

They are company settings, not owned records: every signed-in, active user reads them; holders of
``pipeline.manage`` (admins by default) change them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from bridgecrm.users.capabilities import MANAGE_PIPELINE, VIEW_PRODUCT_COST

if TYPE_CHECKING:
    from bridgecrm.pipeline.models import Deal
    from bridgecrm.users.models import User


def _active(actor: User | None) -> bool:
    return actor is not None and actor.is_authenticated and actor.is_active


def may_view(actor: User | None) -> bool:
    return _active(actor)


def may_manage(actor: User | None) -> bool:
    return _active(actor) and actor is not None and actor.can(MANAGE_PIPELINE)


def may_view_cost(actor: User | None) -> bool:
    """Product costs, line costs and deal margins are sensitive: only holders of ``products.view_cost``
    (admins and managers by default) see them, in pages, the API, exports and import error files,
    and only they may set them."""
    return _active(actor) and actor is not None and actor.can(VIEW_PRODUCT_COST)


# ---- deals ---------------------------------------------------------------------------------------
# Which deals one sees is ``Deal.objects.visible_to``: the owner, collaborators, managers over the
# owner's team, admins. Everyone who sees a deal may edit it and move it; sharing it (collaborators)
# and deleting it are for the owner, the managers over the owner's team and admins; giving it to
# another owner or team is for managers and admins only.


def may_create_deal(actor: User | None) -> bool:
    return _active(actor)


def may_edit_deal(actor: User | None, deal: Deal) -> bool:
    """For a deal the caller fetched through ``visible_to(actor)``: seeing it is enough."""
    return _active(actor)


def may_reassign_deal(actor: User | None, deal: Deal) -> bool:
    from bridgecrm.customers.policies import manages_owner

    return actor is not None and _active(actor) and manages_owner(actor, deal.owner)


def may_share_deal(actor: User | None, deal: Deal) -> bool:
    return actor is not None and _active(actor) and (deal.owner_id == actor.pk or may_reassign_deal(actor, deal))


def may_delete_deal(actor: User | None, deal: Deal) -> bool:
    return may_share_deal(actor, deal)


def may_assign_deals(actor: User | None) -> bool:
    """Managers and admins may give a new deal to someone else (within the people they manage)."""
    from bridgecrm.core.visibility import scope_of

    scope = scope_of(actor)
    return scope is not None and (scope.sees_all or bool(scope.managed_team_paths))
