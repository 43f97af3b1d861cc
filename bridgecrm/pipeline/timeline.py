"""The customer timeline's "deal" source: deals created, won and lost, for a customer one sees."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.urls import reverse
from django.utils.translation import gettext as _

from bridgecrm.core.timeline import TimelineItem
from bridgecrm.pipeline.models import Deal, DealStageChange, StageKind


def deal_items(*, actor: Any, customer: Any, before: dt.datetime | None, limit: int) -> list[TimelineItem]:
    """At most ``limit`` newest items older than ``before``: two queries whatever the history."""
    deals = Deal.objects.visible_to(actor).filter(customer_id=customer.pk)
    created = deals.select_related("owner")
    closes = DealStageChange.objects.filter(
        deal__in=deals.values("pk"), to_stage__kind__in=(StageKind.WON, StageKind.LOST)
    ).select_related("deal", "to_stage", "changed_by")
    if before is not None:
        created = created.filter(created_at__lt=before)
        closes = closes.filter(changed_at__lt=before)
    items = [
        TimelineItem(
            at=d.created_at,
            kind="deal",
            title=_("Deal created: %(name)s") % {"name": d.name},
            url=reverse("pipeline:deal_detail", args=[d.pk]),
            detail=f"{d.currency} {d.amount:,}" if d.amount is not None else "",
            by=str(d.owner),
            icon="deal",
        )
        for d in created.order_by("-created_at", "-id")[:limit]
    ]
    for change in closes.order_by("-changed_at", "-id")[:limit]:
        won = change.to_stage.kind == StageKind.WON
        title = _("Deal won: %(name)s") if won else _("Deal lost: %(name)s")
        items.append(
            TimelineItem(
                at=change.changed_at,
                kind="deal",
                title=title % {"name": change.deal.name},
                url=reverse("pipeline:deal_detail", args=[change.deal_id]),
                by=str(change.changed_by) if change.changed_by else "",
                icon="deal-won" if won else "deal-lost",
            )
        )
    items.sort(key=lambda item: item.at, reverse=True)
    return items[:limit]
