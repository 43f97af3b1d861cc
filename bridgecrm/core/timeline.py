"""A customer's timeline, assembled from sources the higher apps register (follow-ups, deals,
quotes, contracts, payments), so the customers app shows them without importing those apps.

Each source returns at most ``limit`` items older than ``before`` (newest first) for a customer
the actor may see, in one or two queries; the merge keeps the newest ``limit`` of all of them, so a
page costs a fixed number of queries whatever the customer's history.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class TimelineItem:
    at: dt.datetime
    kind: str  # the registering source: "follow_up", "deal", "quote", "contract", "payment"…
    title: str  # already translated, in the request's language
    url: str = ""
    detail: str = ""
    by: str = ""  # who did it (a display name)
    icon: str = ""  # a CSS modifier for the marker


TimelineSource = Callable[..., list[TimelineItem]]  # (*, actor, customer, before, limit)

_SOURCES: dict[str, TimelineSource] = {}


def register_customer_timeline(kind: str, source: TimelineSource) -> None:
    """Called from an AppConfig.ready(): ``source(*, actor, customer, before, limit)``."""
    _SOURCES[kind] = source


def customer_timeline(
    *, actor: Any, customer: Any, before: dt.datetime | None = None, limit: int = 20
) -> list[TimelineItem]:
    """The newest ``limit`` items of every registered source, older than ``before``, newest first.
    The caller has already checked that ``actor`` may see ``customer``."""
    items: list[TimelineItem] = []
    for source in _SOURCES.values():
        items.extend(source(actor=actor, customer=customer, before=before, limit=limit))
    items.sort(key=lambda item: item.at, reverse=True)
    return items[:limit]
