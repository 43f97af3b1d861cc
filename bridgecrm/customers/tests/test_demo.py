from __future__ import annotations

import pytest

from bridgecrm.core.models import AuditAction, AuditEntry
from bridgecrm.customers import phones
from bridgecrm.customers.demo import create_demo_customers
from bridgecrm.customers.models import Contact, ContactPhone, Customer

pytestmark = pytest.mark.django_db


def test_demo_customers_are_realistic_and_audited(company) -> None:
    owners = [company.owner, company.teammate, company.other_rep]
    assert create_demo_customers(seed=3, owners=owners, count=60) == 60
    assert Customer.objects.count() == 60
    assert set(Customer.objects.values_list("owner_id", flat=True)) <= {o.pk for o in owners}
    assert Contact.objects.count() >= 60
    assert Contact.objects.filter(is_primary=True).count() == 60
    for e164, raw in ContactPhone.objects.values_list("e164", "raw"):
        normalised = phones.normalise(raw)
        assert normalised is not None
        assert normalised.e164 == e164
    assert AuditEntry.objects.filter(content_type__model="customer", action=AuditAction.CREATE).count() == 60
    names = list(Customer.objects.order_by("pk").values_list("name", flat=True))
    Customer.objects.all().delete()
    create_demo_customers(seed=3, owners=owners, count=60)
    assert list(Customer.objects.order_by("pk").values_list("name", flat=True)) == names
