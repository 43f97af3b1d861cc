"""Fifty quotes created at the same moment by fifty threads, each on its own database connection,
get fifty distinct, gapless numbers. Runs on PostgreSQL (row lock of the counter's UPDATE) and on
SQLite (one writer at a time: BEGIN IMMEDIATE with a busy timeout makes the others wait)."""

from __future__ import annotations

import importlib
import threading

import pytest
from django.apps import apps
from django.db import connection, connections
from django.utils import timezone

from bridgecrm.conftest import build_company
from bridgecrm.contracts.models import Quote
from bridgecrm.contracts.services import quotes as services
from bridgecrm.customers.tests.factories import make_customer

THREADS = 50


@pytest.fixture
def default_roles(transactional_db: None) -> None:
    """The roles a data migration made: a transactional test before this one may have flushed them."""
    migration = importlib.import_module("bridgecrm.users.migrations.0002_default_roles")
    migration.create(apps, None)


@pytest.mark.django_db(transaction=True)
def test_fifty_concurrent_quote_creations_get_fifty_distinct_numbers(default_roles: None) -> None:
    if connection.vendor == "sqlite" and connection.is_in_memory_db():
        pytest.skip("an in-memory SQLite database is not shared between threads' connections")
    company = build_company()
    customer = make_customer(company.owner, name="并发客户")
    barrier = threading.Barrier(THREADS)
    numbers: list[str] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def create() -> None:
        try:
            barrier.wait(timeout=30)
            quote = services.quote_create(
                actor=company.owner,
                customer=customer,
                lines=[{"name": "并发", "quantity": "1", "unit_price": "1.00"}],
            )
            with lock:
                numbers.append(quote.number)
        except BaseException as exc:
            with lock:
                errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=create) for _ in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not errors, errors[:3]
    assert len(numbers) == THREADS
    assert len(set(numbers)) == THREADS
    year = timezone.localdate().year
    assert sorted(numbers) == [f"Q{year}-{n:05d}" for n in range(1, THREADS + 1)]
    assert Quote.objects.count() == THREADS
