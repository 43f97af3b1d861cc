"""Who may do what to quotes, contracts and payments beyond seeing them (seeing is ``visible_to``)."""

from __future__ import annotations

from bridgecrm.contracts.models import Contract
from bridgecrm.customers.policies import manages_owner
from bridgecrm.users.models import User


def may_delete_payment(actor: User | None, contract: Contract) -> bool:
    """Money received is corrected by the contract owner's manager or an admin, never by the rep
    who booked it: a deleted receipt changes the collection figures their pay may depend on."""
    return actor is not None and actor.is_active and manages_owner(actor, contract.owner)
