"""The follow-up dates of many customers at once (one query; the import's path, and each logged
follow-up's through ``customer_follow_up_dates``) equal the rule computed plainly, customer by customer."""

from __future__ import annotations

import datetime as dt
import random

import pytest
from django.db import connection
from django.db.models import Max
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from bridgecrm.activities import services
from bridgecrm.activities.models import FollowUp
from bridgecrm.core import dates
from bridgecrm.customers.models import Customer
from bridgecrm.customers.tests.factories import make_customer

pytestmark = pytest.mark.django_db


def plainly(customer_id: int) -> tuple[dt.datetime | None, dt.date | None]:
    """The rule as written (customer_follow_up_dates' docstring), with a query per step: the last
    live follow-up; the next date set by the newest one that set one, unless a later follow-up
    happened on or after that day."""
    live = FollowUp.objects.filter(customer_id=customer_id, deleted_at__isnull=True)
    last = live.aggregate(last=Max("occurred_at"))["last"]
    setter = (
        live.filter(next_follow_up_on__isnull=False)
        .order_by("-occurred_at", "-id")
        .values("occurred_at", "next_follow_up_on")
        .first()
    )
    if setter is None:
        return last, None
    day_start = dt.datetime.combine(setter["next_follow_up_on"], dt.time.min, tzinfo=dates.company_zone())
    done = live.filter(occurred_at__gt=setter["occurred_at"], occurred_at__gte=day_start).exists()
    return last, None if done else setter["next_follow_up_on"]


def test_many_customers_dates_equal_each_customers_own(company) -> None:
    rng = random.Random(5)
    zone = dates.company_zone()
    today = timezone.localdate(timezone=zone)
    customers = [make_customer(company.owner, name=f"客户{i}") for i in range(40)]
    rows = []
    for customer in customers[:-3]:  # the last three have no follow-up, or only deleted ones
        for _ in range(rng.randrange(1, 7)):
            day = today - dt.timedelta(days=rng.randrange(0, 20))
            # Some on the very first moment of a day, some at the same moment as another.
            moment = dt.datetime.combine(day, dt.time(rng.choice((0, 0, 9, 15))), tzinfo=zone)
            rows.append(
                FollowUp(
                    customer=customer,
                    owner=company.owner,
                    kind="call",
                    summary="s",
                    occurred_at=moment,
                    next_follow_up_on=(day + dt.timedelta(days=rng.randrange(-2, 6)) if rng.random() < 0.5 else None),
                    deleted_at=timezone.now() if rng.random() < 0.15 else None,
                )
            )
    rows.append(
        FollowUp(
            customer=customers[-2],
            owner=company.owner,
            kind="call",
            summary="gone",
            occurred_at=timezone.now(),
            next_follow_up_on=today,
            deleted_at=timezone.now(),
        )
    )
    FollowUp.objects.bulk_create(rows)
    ids = [c.pk for c in customers]
    expected = {pk: plainly(pk) for pk in ids}
    assert {pk: services.customer_follow_up_dates(pk) for pk in ids} == expected
    assert {due for _last, due in expected.values()} - {None}, "some next dates are still due"
    assert any(due is None and last is not None for last, due in expected.values()), "and some are done"

    with CaptureQueriesContext(connection) as queries:
        assert services.customers_follow_up_dates(ids) == expected
    assert len(queries.captured_queries) == 1

    Customer.objects.filter(pk__in=ids).update(last_follow_up_at=timezone.now(), next_follow_up_on=today)
    services.customers_refresh_follow_up_dates(ids)
    assert {c.pk: (c.last_follow_up_at, c.next_follow_up_on) for c in Customer.objects.filter(pk__in=ids)} == expected
    assert services.customers_follow_up_dates([]) == {}
