"""The demo command: the same seed makes the same demo, and `setup --demo` seeds only once.

(Apart from test_demo.py, whose module-wide demo would be in the way of building new ones.)"""

from __future__ import annotations

import datetime as dt
import hashlib
from typing import Any

import pytest
from django.core.management import call_command
from django.db import transaction
from django.db.models import Max, Min

from bridgecrm.activities.models import FollowUp, Task
from bridgecrm.contracts.models import Contract, Payment, Quote
from bridgecrm.customers.models import Customer
from bridgecrm.pipeline.models import Deal, DealStageChange
from bridgecrm.users.models import User
from bridgecrm.web.management.commands.demo import DemoSize, create_demo
from bridgecrm.web.tests.test_demo import NOW

pytestmark = pytest.mark.django_db


class Rollback(Exception):
    pass


def fingerprint() -> str:
    """The demo's content without database ids (sequences differ between runs on PostgreSQL)."""
    parts: list[Any] = [
        list(
            Customer.objects.order_by("name", "created_at").values_list(
                "name", "lifecycle_stage", "created_at", "last_follow_up_at", "next_follow_up_on"
            )
        ),
        list(
            Deal.objects.order_by("created_at", "name").values_list(
                "name",
                "customer__name",
                "stage__name",
                "status",
                "amount",
                "amount_base",
                "closed_on",
                "stage_entered_at",
            )
        ),
        list(DealStageChange.objects.order_by("changed_at", "deal__name").values_list("deal__name", "to_stage__name")),
        list(Quote.objects.order_by("number", "version").values_list("number", "version", "status", "total")),
        list(Contract.objects.order_by("number").values_list("number", "amount", "received_amount", "status")),
        list(Payment.objects.order_by("received_on", "reference").values_list("received_on", "amount", "reference")),
        list(
            FollowUp.objects.order_by("occurred_at", "customer__name").values_list(
                "customer__name", "kind", "occurred_at", "next_follow_up_on", "checkin_latitude"
            )
        ),
        list(Task.objects.order_by("due_at", "title").values_list("title", "due_at", "done_at")),
    ]
    return hashlib.sha256(repr(parts).encode()).hexdigest()


def build_and_fingerprint(seed: int) -> str:
    try:
        with transaction.atomic():
            create_demo(seed=seed, now=NOW, size=DemoSize.scaled(0.02))
            result = fingerprint()
            raise Rollback
    except Rollback:
        return result


def test_the_same_seed_makes_the_same_demo() -> None:
    first = build_and_fingerprint(5)
    assert not User.objects.exists()
    assert build_and_fingerprint(5) == first
    assert build_and_fingerprint(6) != first


def test_setup_seeds_only_once(tmp_path: Any, settings: Any) -> None:
    settings.VAR_DIR = tmp_path
    call_command("setup", "--demo", "--no-static", "--demo-scale", "0.02", verbosity=0)
    counts = [m.objects.count() for m in (User, Customer, Deal, FollowUp, Quote, Contract, Payment, Task)]
    assert counts[0] == 30 and all(counts)
    call_command("setup", "--demo", "--no-static", "--demo-scale", "0.02", verbosity=0)
    call_command("demo", "--scale", "0.02", verbosity=0)
    assert [m.objects.count() for m in (User, Customer, Deal, FollowUp, Quote, Contract, Payment, Task)] == counts
    assert (tmp_path / "demo-sign-in.txt").exists()


def test_bad_options_are_refused_before_anything_is_written() -> None:
    from django.core.management.base import CommandError

    for options in ({"scale": 0}, {"scale": 11}, {"today": "2026-13-01"}):
        with pytest.raises(CommandError):
            call_command("demo", verbosity=0, **options)
    assert not User.objects.exists()


def test_a_pinned_day_dates_the_demo(tmp_path: Any, settings: Any) -> None:
    settings.VAR_DIR = tmp_path
    call_command("demo", "--scale", "0.02", "--today", "2025-03-31", verbosity=0)
    assert Deal.objects.aggregate(m=Max("created_at"))["m"].date() <= dt.date(2025, 3, 31)
    assert Payment.objects.aggregate(m=Max("received_on"))["m"] <= dt.date(2025, 3, 31)
    assert FollowUp.objects.aggregate(m=Min("occurred_at"))["m"].date() >= dt.date(2023, 3, 25)
