"""Who may do what with tiers. Which customers one sees is ``Customer.objects.visible_to``."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bridgecrm.customers import policies as customer_policies
from bridgecrm.users.capabilities import MANAGE_TIERS

if TYPE_CHECKING:
    from bridgecrm.customers.models import Customer
    from bridgecrm.users.models import User


def _active(actor: User | None) -> bool:
    return actor is not None and actor.is_authenticated and actor.is_active


def may_manage(actor: User | None) -> bool:
    """Define the tier model, the tiers and their routines, and start a recomputation."""
    return actor is not None and _active(actor) and actor.can(MANAGE_TIERS)


def may_set_manual(actor: User | None, customer: Customer) -> bool:
    """Pin or clear a customer's tier: whoever may edit the customer (fetched through ``visible_to``)."""
    return customer_policies.may_edit(actor, customer)
