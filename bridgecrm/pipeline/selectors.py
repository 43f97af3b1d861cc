"""Reads about products, pipelines, stages and lost reasons: every signed-in user reads them all."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Prefetch, Q, QuerySet
from django.utils.translation import gettext_lazy as _

from bridgecrm.core.errors import NotFound
from bridgecrm.pipeline import policies
from bridgecrm.pipeline.models import LostReason, Pipeline, Product, Stage
from bridgecrm.users.models import User


@dataclass(frozen=True)
class ProductFilters:
    q: str = ""
    category: str = ""
    active: bool | None = True  # None: active and inactive


def _not_found() -> NotFound:
    return NotFound("not_found", _("Not found."))


def _valid_id(value: int) -> bool:
    return 0 < value < 2**63


def _require_viewer(actor: User) -> None:
    # Signed-in users only; an inactive account sees nothing (the same answer as a missing row).
    if not policies.may_view(actor):
        raise _not_found()


def product_list(*, actor: User, filters: ProductFilters | None = None) -> QuerySet[Product]:
    """Products by name (the id breaks ties); ``q`` matches the SKU or the name."""
    _require_viewer(actor)
    f = filters or ProductFilters()
    qs = Product.objects.all()
    text = " ".join(f.q.split())[:100]
    if text:
        qs = qs.filter(Q(name__icontains=text) | Q(sku__icontains=text))
    if f.category:
        qs = qs.filter(category=f.category)
    if f.active is not None:
        qs = qs.filter(is_active=f.active)
    return qs.order_by("name", "id")


def product_get(*, actor: User, product_id: int) -> Product:
    _require_viewer(actor)
    if not _valid_id(product_id):
        raise _not_found()
    product = Product.objects.filter(pk=product_id).first()
    if product is None:
        raise _not_found()
    return product


def pipeline_list(*, actor: User, active_only: bool = False) -> list[Pipeline]:
    """Pipelines in their order, each with its stages prefetched (two queries)."""
    _require_viewer(actor)
    qs = Pipeline.objects.all()
    if active_only:
        qs = qs.filter(is_active=True)
    return list(
        qs.prefetch_related(Prefetch("stages", queryset=Stage.objects.order_by("order"))).order_by("order", "id")
    )


def pipeline_get(*, actor: User, pipeline_id: int) -> Pipeline:
    _require_viewer(actor)
    if not _valid_id(pipeline_id):
        raise _not_found()
    pipeline = (
        Pipeline.objects.filter(pk=pipeline_id)
        .prefetch_related(Prefetch("stages", queryset=Stage.objects.order_by("order")))
        .first()
    )
    if pipeline is None:
        raise _not_found()
    return pipeline


def stage_get(*, actor: User, stage_id: int, pipeline_id: int | None = None) -> Stage:
    _require_viewer(actor)
    if not _valid_id(stage_id) or (pipeline_id is not None and not _valid_id(pipeline_id)):
        raise _not_found()
    qs = Stage.objects.select_related("pipeline").filter(pk=stage_id)
    if pipeline_id is not None:
        qs = qs.filter(pipeline_id=pipeline_id)
    stage = qs.first()
    if stage is None:
        raise _not_found()
    return stage


def lost_reason_list(*, actor: User, active_only: bool = False) -> QuerySet[LostReason]:
    _require_viewer(actor)
    qs = LostReason.objects.all()
    if active_only:
        qs = qs.filter(is_active=True)
    return qs.order_by("order", "id")


def lost_reason_get(*, actor: User, reason_id: int) -> LostReason:
    _require_viewer(actor)
    if not _valid_id(reason_id):
        raise _not_found()
    reason = LostReason.objects.filter(pk=reason_id).first()
    if reason is None:
        raise _not_found()
    return reason
