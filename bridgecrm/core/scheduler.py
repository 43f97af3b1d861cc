"""A periodic scheduler: cron-style entries declared in code, run by the worker.

Each app may declare entries in ``<app>/schedule.py`` as ``SCHEDULE = [Entry(...), ...]``. On every
tick the worker computes which slots are due and, for each, inserts a ``ScheduledSlot`` row and
enqueues the task *in one transaction*. The unique (name, slot) constraint means that two workers
racing for the same slot end with one row and one enqueued task; the loser's transaction rolls
back. Slots missed while no worker ran are caught up on the next tick (each once), bounded by
``BRIDGE_SCHEDULER_CATCH_UP_SECONDS``.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterator
from dataclasses import dataclass, field
from importlib import import_module
from typing import Any

from cronsim import CronSim
from django.apps import apps
from django.conf import settings
from django.db import IntegrityError, transaction
from django.tasks import Task
from django.utils import timezone

from bridgecrm.core.models import ScheduledSlot

logger = logging.getLogger(__name__)

MAX_SLOTS_PER_TICK = 500


@dataclass(frozen=True)
class Entry:
    name: str
    cron: str  # five fields, evaluated in UTC
    task: Task[..., Any]
    kwargs: dict[str, Any] = field(default_factory=dict)
    catch_up: bool = True  # False: after downtime run only the latest missed slot

    def __post_init__(self) -> None:
        CronSim(self.cron, timezone.now())  # raises CronSimError for a bad expression


def slots_between(cron: str, after: dt.datetime, until: dt.datetime) -> Iterator[dt.datetime]:
    """Slot times ``t`` with ``after < t <= until``, in order."""
    for slot in CronSim(cron, after.astimezone(dt.UTC)):
        if slot > until:
            return
        yield slot


def latest_slot(cron: str, until: dt.datetime) -> dt.datetime | None:
    for slot in CronSim(cron, until.astimezone(dt.UTC) + dt.timedelta(seconds=1), reverse=True):
        return slot if slot <= until else None
    return None


def registered_entries() -> list[Entry]:
    entries: list[Entry] = []
    for config in apps.get_app_configs():
        if not config.name.startswith("bridgecrm."):
            continue
        try:
            module = import_module(f"{config.name}.schedule")
        except ModuleNotFoundError as exc:
            if exc.name != f"{config.name}.schedule":
                raise
            continue
        entries.extend(getattr(module, "SCHEDULE", []))
    return entries


def due_slots(entry: Entry, now: dt.datetime) -> list[dt.datetime]:
    last = ScheduledSlot.objects.filter(name=entry.name).order_by("-slot").values_list("slot", flat=True).first()
    horizon = now - dt.timedelta(seconds=settings.BRIDGE_SCHEDULER_CATCH_UP_SECONDS)
    if last is None:
        newest = latest_slot(entry.cron, now)
        return [newest] if newest is not None and newest > horizon else []
    slots = list(slots_between(entry.cron, max(last, horizon), now))
    if not entry.catch_up:
        slots = slots[-1:]
    return slots[-MAX_SLOTS_PER_TICK:]


def claim_and_enqueue(entry: Entry, slot: dt.datetime, now: dt.datetime) -> bool:
    """Record the slot and enqueue its task atomically; False if another worker had it."""
    try:
        with transaction.atomic():
            row = ScheduledSlot.objects.create(name=entry.name, slot=slot, enqueued_at=now)
            result = entry.task.enqueue(**entry.kwargs)
            ScheduledSlot.objects.filter(pk=row.pk).update(task_result_id=str(result.id))
    except IntegrityError:
        return False
    logger.info("scheduled %s for slot %s", entry.name, slot.isoformat())
    return True


def tick(now: dt.datetime | None = None, entries: list[Entry] | None = None) -> list[tuple[str, dt.datetime]]:
    """Enqueue every due slot once. Returns what this call enqueued."""
    now = now or timezone.now()
    enqueued: list[tuple[str, dt.datetime]] = []
    for entry in registered_entries() if entries is None else entries:
        for slot in due_slots(entry, now):
            if claim_and_enqueue(entry, slot, now):
                enqueued.append((entry.name, slot))
    return enqueued
