"""Tasks are an interface: each takes ids, calls one service, is idempotent.

``bridge_task`` wraps a function so that everything it changes is audited with the right source
(``system`` for housekeeping, ``automation`` for rules) and runs it in the company's time zone (so
``timezone.localdate()`` is the company's day, as it would be for a user of the default zone in a
request; see core.dates), then registers it with ``django.tasks``.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, ParamSpec, TypeVar

from django.tasks import Task, task
from django.utils import timezone

from bridgecrm.core import context, dates
from bridgecrm.core.context import Source

P = ParamSpec("P")
R = TypeVar("R")


def bridge_task(
    *, source: Source = Source.SYSTEM, queue_name: str = "default", priority: int = 0
) -> Callable[[Callable[P, R]], Task[P, R]]:
    def decorate(func: Callable[P, R]) -> Task[P, R]:
        @functools.wraps(func)
        def run(*args: P.args, **kwargs: P.kwargs) -> R:
            with context.acting(source), timezone.override(dates.company_zone()):
                return func(*args, **kwargs)

        return task(queue_name=queue_name, priority=priority)(run)

    return decorate


def enqueue_on_commit(t: Task[..., Any], /, **kwargs: Any) -> None:
    """Enqueue after the current transaction commits (never for a change that rolled back)."""
    from django.db import transaction

    transaction.on_commit(lambda: t.enqueue(**kwargs))
