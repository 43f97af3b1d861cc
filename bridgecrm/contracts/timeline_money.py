"""Customer-timeline sources for contracts and payments (registered in ``ContractsConfig.ready``)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.urls import reverse
from django.utils.translation import gettext as _

from bridgecrm.contracts.models import Contract, Payment, Refund
from bridgecrm.core.timeline import TimelineItem, register_customer_timeline


def contract_items(*, actor: Any, customer: Any, before: dt.datetime | None, limit: int) -> list[TimelineItem]:
    qs = Contract.objects.visible_to(actor).filter(customer_id=customer.pk).select_related("owner")
    if before is not None:
        qs = qs.filter(created_at__lt=before)
    return [
        TimelineItem(
            at=c.created_at,
            kind="contract",
            title=_("Contract %(number)s: %(title)s") % {"number": c.number, "title": c.title},
            url=reverse("contracts:contract_detail", args=[c.pk]),
            detail=f"{c.currency} {c.amount:,} · {c.get_status_display()}",
            by=c.owner.display_name,
            icon="contract",
        )
        for c in qs.order_by("-created_at", "-id")[:limit]
    ]


def _received_rows(model: Any, *, actor: Any, customer: Any, before: dt.datetime | None, limit: int) -> list[Any]:
    """Payments or refunds on the customer's contracts that ``actor`` sees, newest recorded first."""
    qs = (
        model.objects.visible_to(actor)
        .filter(contract__customer_id=customer.pk)
        .select_related("contract", "recorded_by")
    )
    if before is not None:
        qs = qs.filter(created_at__lt=before)
    return list(qs.order_by("-created_at", "-id")[:limit])


def payment_items(*, actor: Any, customer: Any, before: dt.datetime | None, limit: int) -> list[TimelineItem]:
    return [
        TimelineItem(
            at=p.created_at,
            kind="payment",
            title=_("Payment received: %(amount)s") % {"amount": f"{p.currency} {p.amount:,}"},
            url=reverse("contracts:contract_detail", args=[p.contract_id]),
            detail=f"{p.contract.number} · {p.received_on.isoformat()}",
            by=p.recorded_by.display_name,
            icon="payment",
        )
        for p in _received_rows(Payment, actor=actor, customer=customer, before=before, limit=limit)
    ]


def refund_items(*, actor: Any, customer: Any, before: dt.datetime | None, limit: int) -> list[TimelineItem]:
    return [
        TimelineItem(
            at=r.created_at,
            kind="refund",
            title=_("Refund: %(amount)s") % {"amount": f"{r.currency} {r.amount:,}"},
            url=reverse("contracts:contract_detail", args=[r.contract_id]),
            detail=f"{r.contract.number} · {r.refunded_on.isoformat()} · {r.reason}",
            by=r.recorded_by.display_name,
            icon="payment",
        )
        for r in _received_rows(Refund, actor=actor, customer=customer, before=before, limit=limit)
    ]


def register_money_sources() -> None:
    register_customer_timeline("contract", contract_items)
    register_customer_timeline("payment", payment_items)
    register_customer_timeline("refund", refund_items)
