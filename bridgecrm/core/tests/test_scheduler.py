"""The scheduler: each slot enqueued once, even with two workers; missed slots caught up once."""

from __future__ import annotations

import datetime as dt
import threading
from collections import Counter

import pytest
from django.db import connection
from django.tasks import task
from django.test import override_settings

from bridgecrm.core import scheduler
from bridgecrm.core.models import ScheduledSlot
from bridgecrm.core.worker import BridgeWorker

RUNS: Counter[str] = Counter()
RUNS_LOCK = threading.Lock()


@task()
def record_run(label: str) -> None:
    with RUNS_LOCK:
        RUNS[label] += 1


T0 = dt.datetime(2026, 11, 2, 8, 0, tzinfo=dt.UTC)
DB_TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}


def entry(name: str = "every-minute", cron: str = "* * * * *", catch_up: bool = True) -> scheduler.Entry:
    return scheduler.Entry(name=name, cron=cron, task=record_run, kwargs={"label": name}, catch_up=catch_up)


@pytest.fixture(autouse=True)
def _reset_runs():
    RUNS.clear()


def test_slots_between_is_half_open():
    slots = list(scheduler.slots_between("*/15 * * * *", T0, T0 + dt.timedelta(hours=1)))
    assert slots == [T0 + dt.timedelta(minutes=m) for m in (15, 30, 45, 60)]


@pytest.mark.django_db
def test_first_tick_runs_only_the_latest_slot_then_each_new_slot_once():
    e = entry()
    assert scheduler.tick(now=T0 + dt.timedelta(seconds=30), entries=[e]) == [("every-minute", T0)]
    assert scheduler.tick(now=T0 + dt.timedelta(seconds=50), entries=[e]) == []
    assert scheduler.tick(now=T0 + dt.timedelta(minutes=1, seconds=1), entries=[e]) == [
        ("every-minute", T0 + dt.timedelta(minutes=1))
    ]
    assert RUNS["every-minute"] == 2


@pytest.mark.django_db
def test_catch_up_after_downtime_runs_each_missed_slot_once():
    e = entry(cron="0 * * * *", name="hourly")
    scheduler.tick(now=T0, entries=[e])
    later = T0 + dt.timedelta(hours=5, minutes=10)
    enqueued = scheduler.tick(now=later, entries=[e])
    assert [slot for _n, slot in enqueued] == [T0 + dt.timedelta(hours=h) for h in range(1, 6)]
    assert scheduler.tick(now=later, entries=[e]) == []  # a restart does not run them twice
    assert RUNS["hourly"] == 6


@pytest.mark.django_db
def test_catch_up_can_be_limited_to_the_latest_slot():
    e = entry(cron="0 * * * *", name="latest-only", catch_up=False)
    scheduler.tick(now=T0, entries=[e])
    enqueued = scheduler.tick(now=T0 + dt.timedelta(hours=5, minutes=10), entries=[e])
    assert [slot for _n, slot in enqueued] == [T0 + dt.timedelta(hours=5)]


@pytest.mark.django_db(transaction=True)
@override_settings(TASKS=DB_TASKS)
def test_two_workers_over_one_database_run_each_slot_exactly_once():
    """Two worker loops (scheduler tick + queued tasks through django-tasks-db) race over 30 minutes
    of simulated time; every minute slot is enqueued and executed exactly once."""
    e = entry()
    minutes = 30
    barrier = threading.Barrier(2)
    errors: list[BaseException] = []

    def work(worker_id: str) -> None:
        try:
            worker = BridgeWorker(worker_id=worker_id)
            barrier.wait()
            for second in range(0, minutes * 60 + 1, 20):
                scheduler.tick(now=T0 + dt.timedelta(seconds=second), entries=[e])
                worker._task_worker().run()
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=work, args=(f"w{i}",)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert ScheduledSlot.objects.filter(name="every-minute").count() == minutes + 1
    assert RUNS["every-minute"] == minutes + 1
    from django_tasks_db.models import DBTaskResult

    assert DBTaskResult.objects.filter(status="SUCCESSFUL").count() == minutes + 1


def test_registered_entries_are_valid():
    names = [e.name for e in scheduler.registered_entries()]
    assert "users.deactivate_due" in names
    assert len(names) == len(set(names))
