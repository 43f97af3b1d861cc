"""Who may do what with the public pool.

Every active, signed-in user sees the pool and may claim from it (the limits are rules, not
permissions). Releasing and protecting a customer is for whoever may reassign it (its owner, the
managers over the owner's team, admins). Assigning and distributing pool customers needs
``pool.assign`` and a rep within one's scope; the rules are set with ``pool.manage``, and only
holders of ``pool.manage`` see the pool's contact details unmasked.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from bridgecrm.customers import policies as customer_policies
from bridgecrm.users.capabilities import ASSIGN_POOL, MANAGE_POOL

if TYPE_CHECKING:
    from bridgecrm.customers.models import Customer
    from bridgecrm.users.models import User


def _active(actor: User | None) -> bool:
    return actor is not None and actor.is_authenticated and actor.is_active


def may_use_pool(actor: User | None) -> bool:
    return _active(actor)


def may_claim(actor: User | None) -> bool:
    return _active(actor)


def may_release(actor: User | None, customer: Customer) -> bool:
    return customer.owner_id is not None and customer_policies.may_reassign(actor, customer)


def may_protect(actor: User | None, customer: Customer) -> bool:
    return may_release(actor, customer)


def may_assign(actor: User | None) -> bool:
    return actor is not None and _active(actor) and actor.can(ASSIGN_POOL)


def may_assign_to(actor: User, rep: User) -> bool:
    """A rep in the actor's scope: themselves, the people of the teams they manage, anyone for admins."""
    return rep.is_active and customer_policies.may_assign_to(actor, rep)


def may_manage_rules(actor: User | None) -> bool:
    return actor is not None and _active(actor) and actor.can(MANAGE_POOL)


def sees_contact_details(actor: User | None) -> bool:
    """Pool customers' phones, e-mails and WeChat ids unmasked: only for those who set the rules."""
    return may_manage_rules(actor)
