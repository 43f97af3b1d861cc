"""A document one may see (through its customer) does not show the name of a deal one may not see:
not on its page, in its list, nor in its export."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.test import Client

from bridgecrm.activities import services as activity_services
from bridgecrm.conftest import signed_in
from bridgecrm.contracts.services import contracts as contract_services
from bridgecrm.contracts.tests.quote_helpers import make_quote
from bridgecrm.customers.tests.factories import make_customer
from bridgecrm.pipeline.tests.deal_factories import make_deal
from bridgecrm.pipeline.tests.factories import make_pipeline

pytestmark = pytest.mark.django_db
SECRET = "机密商机 Confidential"


def _text(response) -> str:
    assert response.status_code == 200
    if response.streaming:
        return b"".join(response.streaming_content).decode("utf-8-sig")
    return response.content.decode()


def test_an_invisible_deal_is_not_named_on_visible_documents(company) -> None:
    make_pipeline(company.admin, is_default=True)
    customer = make_customer(company.owner, "可见客户")
    deal = make_deal(company.admin, customer, SECRET)  # the admin's deal: the customer's owner may not see it
    quote = make_quote(company.admin, customer, deal=deal, title="报价")
    contract = contract_services.contract_create(
        actor=company.admin, customer=customer, deal=deal, title="合同", amount=Decimal("100.00"), currency="CNY"
    )
    activity_services.follow_up_log(actor=company.admin, customer=customer, deal=deal, kind="call", summary="电话")
    pages = [
        f"/quotes/{quote.pk}/",
        "/quotes/export/",
        f"/contracts/{contract.pk}/",
        "/contracts/export/",
        "/follow-ups/",
        "/follow-ups/export/",
    ]
    owner: Client = signed_in(company.owner)
    admin: Client = signed_in(company.admin)
    for page in pages:
        assert SECRET not in _text(owner.get(page)), page
        assert SECRET in _text(admin.get(page)), page
