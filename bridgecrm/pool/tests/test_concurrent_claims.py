"""Twenty reps claim the same pool customer at the same moment, each on its own database
connection: exactly one gets it, the nineteen others get a conflict, and the customer's history
shows one claim. On PostgreSQL the conditional UPDATE's row lock decides; on SQLite one writer
at a time (BEGIN IMMEDIATE with a busy timeout). A second test has one rep claim several
customers at once against a holding limit: the limit holds."""

from __future__ import annotations

import importlib
import threading
from collections.abc import Callable

import pytest
from django.apps import apps
from django.db import connection, connections

from bridgecrm.conftest import build_company
from bridgecrm.core.errors import ApplicationError, Conflict
from bridgecrm.customers.models import Customer
from bridgecrm.customers.tests.factories import make_customer
from bridgecrm.pool import selectors, services
from bridgecrm.pool.models import PoolEvent, PoolEventKind, PoolRules
from bridgecrm.users.models import User
from bridgecrm.users.tests.factories import UserFactory

THREADS = 20


@pytest.fixture
def default_roles(transactional_db: None) -> None:
    """The roles a data migration made: a transactional test before this one may have flushed them."""
    migration = importlib.import_module("bridgecrm.users.migrations.0002_default_roles")
    migration.create(apps, None)


def run_together(jobs: list[Callable[[], None]]) -> tuple[list[object], list[BaseException]]:
    barrier = threading.Barrier(len(jobs))
    results: list[object] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def run(job: Callable[[], None]) -> None:
        try:
            barrier.wait(timeout=30)
            outcome: object = job()
        except BaseException as exc:
            outcome = exc
        finally:
            connections.close_all()
        with lock:
            (errors if isinstance(outcome, BaseException) else results).append(outcome)

    threads = [threading.Thread(target=run, args=(job,)) for job in jobs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return results, errors


def _skip_in_memory() -> None:
    if connection.vendor == "sqlite" and connection.is_in_memory_db():
        pytest.skip("an in-memory SQLite database is not shared between threads' connections")


@pytest.mark.django_db(transaction=True)
def test_twenty_concurrent_claims_give_exactly_one_winner(default_roles: None) -> None:
    _skip_in_memory()
    company = build_company()
    rep_role = company.owner.role
    reps: list[User] = [UserFactory(username=f"rep{i:02d}", role=rep_role, team=company.team_a) for i in range(THREADS)]
    customer = make_customer(company.admin, name="抢手客户")
    services.pool_release(actor=company.admin, customer=customer, reason="并发测试")
    customer = Customer.objects.get(pk=customer.pk)

    def claim(rep: User) -> Callable[[], None]:
        return lambda: services.pool_claim(actor=rep, customer=customer)  # type: ignore[return-value]

    results, errors = run_together([claim(rep) for rep in reps])
    assert len(results) == 1, errors[:3]
    assert len(errors) == THREADS - 1
    assert all(isinstance(e, Conflict) and e.code == "claimed" for e in errors), errors[:3]
    winner = Customer.objects.get(pk=customer.pk)
    assert winner.owner_id in {r.pk for r in reps}
    assert winner.pooled_at is None
    assert winner.version == customer.version + 1
    assert PoolEvent.objects.filter(customer=customer, kind=PoolEventKind.CLAIMED).count() == 1


@pytest.mark.django_db(transaction=True)
def test_one_rep_claiming_many_at_once_stays_within_the_holding_limit(default_roles: None) -> None:
    _skip_in_memory()
    company = build_company()
    selectors.rules_get()
    PoolRules.objects.filter(pk=1).update(holding_limit=3, daily_claim_limit=0)
    customers = []
    for i in range(10):
        c = make_customer(company.admin, name=f"Pool {i}")
        services.pool_release(actor=company.admin, customer=c, reason="x")
        customers.append(Customer.objects.get(pk=c.pk))

    def claim(c: Customer) -> Callable[[], None]:
        return lambda: services.pool_claim(actor=company.owner, customer=c)  # type: ignore[return-value]

    results, errors = run_together([claim(c) for c in customers])
    assert len(results) == 3
    assert all(isinstance(e, ApplicationError) and e.code == "holding_limit" for e in errors), errors[:3]
    assert selectors.holdings(company.owner) == 3
