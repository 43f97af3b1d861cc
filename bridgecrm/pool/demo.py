"""Demo data for the public pool: the customers the demo company has neglected longest are in the
pool, recycled by the rules' own reasoning, so the pool page, the timeline and the limits have
something real to show. The rules are set so that the first recycling run of a fresh demo finds
nothing more to do (nobody logs in to a demo and loses half their customers overnight)."""

from __future__ import annotations

import datetime as dt
import random

from django.db.models import Exists, OuterRef

from bridgecrm.customers.models import Customer
from bridgecrm.pipeline.models import Deal, DealStatus
from bridgecrm.pool.models import PoolEvent, PoolEventKind, PoolRules, RecycleReason


def create_demo_pool(*, seed: int, now: dt.datetime, share: float = 0.08) -> int:
    """Put the ``share`` of customers without an open deal and with the oldest last follow-up into
    the pool, each with the event that explains it; protect a few key customers. Returns how many
    customers are in the pool."""
    rng = random.Random(seed + 41)
    open_deal = Deal.objects.filter(customer_id=OuterRef("pk"), status=DealStatus.OPEN)
    candidates = list(
        Customer.objects.filter(owner__isnull=False, deleted_at__isnull=True)
        .exclude(Exists(open_deal))
        .order_by("last_follow_up_at", "id")
        .values_list("pk", "owner_id", "last_follow_up_at", "owner_since", "created_at")[
            : int(Customer.objects.count() * share)
        ]
    )
    events = []
    for pk, owner_id, last, since, created in candidates:
        quiet_since = max(d for d in (last, since, created) if d is not None)
        days = max((now - quiet_since).days, 1)
        at = now - dt.timedelta(days=rng.randint(1, 60), hours=rng.randint(0, 23))
        at = max(at, quiet_since)
        events.append(
            PoolEvent(
                customer_id=pk,
                kind=PoolEventKind.RECYCLED,
                at=at,
                user_id=owner_id,
                reason=RecycleReason.NO_FOLLOW_UP,
                days=min(days, 30_000),
                period_start=since or created,
            )
        )
        Customer.objects.filter(pk=pk).update(
            owner=None, team=None, pooled_at=at, owner_since=None, is_protected=False, updated_at=at
        )
    PoolEvent.objects.bulk_create(events, batch_size=500)
    for pk in [pk for pk, *_ in candidates]:
        Customer.collaborators.through.objects.filter(customer_id=pk).delete()
    # A few of each rep's biggest customers are protected from recycling.
    biggest = (
        Customer.objects.filter(owner__isnull=False, estimated_annual_potential__isnull=False)
        .order_by("-estimated_annual_potential", "id")
        .values_list("pk", flat=True)[:40]
    )
    Customer.objects.filter(pk__in=list(biggest)).update(is_protected=True)
    # The demo's rules recycle nothing more today: the oldest owned customer without a follow-up
    # sets the follow-up clock (deal progress is off), so a rep sees warnings, not losses.
    clocks = Customer.objects.filter(owner__isnull=False, is_protected=False, deleted_at__isnull=True).values_list(
        "last_follow_up_at", "owner_since", "created_at"
    )
    quiet = [max(d for d in (last, since or created) if d is not None) for last, since, created in clocks]
    oldest = min(quiet, default=None)
    rules = PoolRules.objects.get_or_create(pk=1)[0]
    if oldest is not None:
        rules.recycle_no_follow_up_days = max(30, (now - oldest).days + 10)
    rules.recycle_no_progress_days = 0
    rules.save()
    return Customer.objects.filter(owner__isnull=True, pooled_at__isnull=False).count()
