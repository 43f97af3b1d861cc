from __future__ import annotations

from typing import Any

from bridgecrm.customers import services
from bridgecrm.customers.models import Contact, Customer
from bridgecrm.users.models import User


def make_customer(owner: User, name: str = "Acme 上海", **kwargs: Any) -> Customer:
    """A customer made through the service, as its owner (so it is audited like a real one)."""
    return services.customer_create(actor=owner, name=name, **kwargs)


def make_contact(customer: Customer, name: str = "王伟", **kwargs: Any) -> Contact:
    assert customer.owner is not None
    return services.contact_create(actor=customer.owner, customer=customer, name=name, **kwargs)
