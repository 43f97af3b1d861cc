"""The team activity feed: what happened today, scoped like every read, keyset pages, fixed queries."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from bridgecrm.activities import services as activity_services
from bridgecrm.collab import selectors, services
from bridgecrm.contracts.services import payments as payment_services
from bridgecrm.contracts.tests.money_helpers import make_contract
from bridgecrm.contracts.tests.quote_helpers import make_quote
from bridgecrm.customers.tests.factories import make_customer
from bridgecrm.pipeline import services as pipeline_services
from bridgecrm.pipeline.tests.factories import make_pipeline

pytestmark = pytest.mark.django_db

EVERY_KIND = {"customer", "follow_up", "deal_new", "deal_open", "deal_won", "quote", "contract", "payment", "comment"}


def _day_of(owner, label: str) -> None:
    """A day's work of ``owner``: every kind of feed item once."""
    customer = make_customer(owner, name=f"{label} customer")
    activity_services.follow_up_log(actor=owner, customer=customer, kind="call", summary=f"{label} call")
    deal = pipeline_services.deal_create(actor=owner, customer=customer, name=f"{label} deal")
    stages = list(deal.pipeline.stages.order_by("order"))
    deal = pipeline_services.deal_move_to_stage(actor=owner, deal=deal, stage=stages[1], version=deal.version)
    won = next(s for s in stages if s.kind == "won")
    second = pipeline_services.deal_create(actor=owner, customer=customer, name=f"{label} deal 2")
    pipeline_services.deal_move_to_stage(actor=owner, deal=second, stage=won, version=second.version)
    make_quote(owner, customer)
    contract = make_contract(owner, customer=customer, plan=[(timezone.localdate(), "1000.00")])
    payment_services.payment_record(actor=owner, contract=contract, received_on=timezone.localdate(), amount="100.00")
    services.comment_create(actor=owner, record=customer, body=f"{label} comment")


@pytest.fixture
def busy_day(company) -> None:
    make_pipeline(company.admin)
    _day_of(company.owner, "A")
    _day_of(company.other_rep, "B")


def _all_items(actor, *, limit: int = 50, **kwargs) -> list[selectors.FeedItem]:
    items: list[selectors.FeedItem] = []
    before = None
    while True:
        page = selectors.feed(actor=actor, before=before, limit=limit, **kwargs)
        items += page.items
        if not page.older:
            return items
        before = page.older


def test_the_feed_holds_every_kind_of_event_of_the_day(company, busy_day) -> None:
    items = _all_items(company.owner)
    assert {i.kind for i in items} == EVERY_KIND
    assert all(i.url.startswith("/") for i in items)
    times = [(i.at, i.rank, i.pk) for i in items]
    assert times == sorted(times, reverse=True)


@pytest.mark.parametrize(
    ("actor", "sees"),
    [
        ("owner", {"A"}),
        ("teammate", set()),
        ("other_rep", {"B"}),
        ("manager_a", {"A"}),
        ("manager_b", {"B"}),
        ("admin", {"A", "B"}),
    ],
)
def test_the_feed_is_scoped_to_what_the_actor_sees(company, busy_day, actor, sees) -> None:
    items = _all_items(getattr(company, actor))
    names = {i.title for i in items}
    shown = {label for label in ("A", "B") if any(f"{label} customer" in n or f"{label} deal" in n for n in names)}
    assert shown == sees
    # a customer, a call, two new deals, a move, a win, a quote, a contract, a payment, a comment
    assert len(items) == 10 * len(sees)


def test_a_collaborator_sees_the_shared_customer_in_the_feed(company, busy_day) -> None:
    from bridgecrm.customers.models import Customer

    Customer.objects.get(name="A customer").collaborators.add(company.teammate)
    kinds = {i.kind for i in _all_items(company.teammate)}
    assert {"customer", "follow_up", "quote", "contract", "payment", "comment"} <= kinds
    assert not kinds & {"deal_new", "deal_open", "deal_won"}  # the deals are not shared


def test_keyset_pages_give_every_item_exactly_once(company, busy_day) -> None:
    whole = _all_items(company.admin, limit=100)
    for size in (1, 5, 7):
        paged = _all_items(company.admin, limit=size)
        assert [(i.kind, i.pk) for i in paged] == [(i.kind, i.pk) for i in whole]


def test_other_days_and_bad_cursors(company, busy_day) -> None:
    yesterday = timezone.localdate() - dt.timedelta(days=1)
    assert selectors.feed(actor=company.admin, day=yesterday).items == []
    assert len(selectors.feed(actor=company.admin, before="garbage", limit=100).items) == 20


def test_a_feed_page_costs_the_same_queries_at_two_page_sizes(company, busy_day, django_assert_num_queries) -> None:
    # Warm the actor's scope and capabilities once (the session middleware does it on every request).
    company.admin.visibility_scope()
    company.manager_a.visibility_scope()
    for actor in (company.admin, company.manager_a):
        for size in (3, 30):
            with django_assert_num_queries(len(selectors.FEED_SOURCES)):
                selectors.feed(actor=actor, limit=size)
