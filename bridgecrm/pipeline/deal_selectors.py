"""Reads about deals: the list, one deal, its history, the board. Each starts from ``visible_to``.

The board's totals come from one aggregate query over the pipeline (grouped by stage), never
from loading deals; its cards come a column at a time, ``BOARD_PAGE`` at a time, in keyset order
(most recently updated first), so a pipeline with 10,000 open deals costs the same as one with 10.
"""

from __future__ import annotations

import datetime as dt
import decimal
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Count, DecimalField, Exists, F, OuterRef, Prefetch, Q, Sum
from django.db.models.functions import Round
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from bridgecrm.core import money
from bridgecrm.core.errors import NotFound
from bridgecrm.core.models import CompanyProfile
from bridgecrm.core.ordering import total_order
from bridgecrm.customers.models import Customer
from bridgecrm.customization import selectors as custom_fields
from bridgecrm.customization.models import Entity
from bridgecrm.pipeline.models import (
    Deal,
    DealLine,
    DealQuerySet,
    DealStageChange,
    DealStatus,
    Pipeline,
    Stage,
    StageKind,
)
from bridgecrm.users.models import User

SORTS: dict[str, tuple[str, bool]] = {
    "-updated": ("updated_at", True),
    "updated": ("updated_at", False),
    "-created": ("created_at", True),
    "created": ("created_at", False),
    "name": ("name", False),
    "-name": ("name", True),
    "-amount": ("amount_base", True),
    "amount": ("amount_base", False),
    "close": ("expected_close_date", False),
    "-close": ("expected_close_date", True),
}
DEFAULT_SORT = "-updated"
BOARD_PAGE = 20
EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


def _not_found() -> NotFound:
    return NotFound("not_found", _("Not found."))


def _valid_id(value: int) -> bool:
    return 0 < value < 2**63


@dataclass(frozen=True)
class DealFilters:
    q: str = ""
    pipeline_id: int | None = None
    stage_id: int | None = None
    status: str = ""
    owner_id: int | None = None
    team_id: int | None = None
    customer_id: int | None = None
    close_month: dt.date | None = None  # any day of the month
    close_from: dt.date | None = None
    close_to: dt.date | None = None
    amount_min: decimal.Decimal | None = None
    amount_max: decimal.Decimal | None = None
    source: str = ""
    sort: str = DEFAULT_SORT
    # Custom field filters: (``cf_<key>[__min|__max|__set]``, value) pairs (customization.selectors).
    custom: tuple[tuple[str, str], ...] = ()


def month_bounds(day: dt.date) -> tuple[dt.date, dt.date]:
    first = day.replace(day=1)
    following = (first + dt.timedelta(days=32)).replace(day=1)
    return first, following - dt.timedelta(days=1)


def _filtered(actor: User, f: DealFilters) -> DealQuerySet:
    qs: DealQuerySet = Deal.objects.visible_to(actor)
    ids = {
        "pipeline_id": f.pipeline_id,
        "stage_id": f.stage_id,
        "owner_id": f.owner_id,
        "team_id": f.team_id,
        "customer_id": f.customer_id,
    }
    qs = qs.filter(**{k: v for k, v in ids.items() if v is not None})
    if f.status:
        qs = qs.filter(status=f.status)
    if f.source:
        qs = qs.filter(source=f.source)
    if f.close_month is not None:
        first, last = month_bounds(f.close_month)
        qs = qs.filter(expected_close_date__range=(first, last))
    if f.close_from is not None:
        qs = qs.filter(expected_close_date__gte=f.close_from)
    if f.close_to is not None:
        qs = qs.filter(expected_close_date__lte=f.close_to)
    if f.amount_min is not None:
        qs = qs.filter(amount_base__gte=f.amount_min)
    if f.amount_max is not None:
        qs = qs.filter(amount_base__lte=f.amount_max)
    text = " ".join(f.q.split())[:100]
    if text:
        qs = qs.filter(
            Q(name__icontains=text) | Q(customer__in=Customer.objects.filter(name__icontains=text).values("pk"))
        )
    if f.custom:
        qs = custom_fields.apply_filters(qs, entity=Entity.DEAL, actor=actor, params=f.custom)
    return qs


def deal_visible(actor: User, field: str = "deal_id") -> Exists:
    """For a record that points at a deal (a quote, contract, follow-up, task): may the actor see that
    deal? Annotate it (``deal_visible``) and show the deal's name only then: seeing the customer's
    documents does not open another rep's deals."""
    return Exists(Deal.objects.visible_to(actor).filter(pk=OuterRef(field)))


def deal_list(*, actor: User, filters: DealFilters | None = None) -> DealQuerySet:
    """Visible deals, filtered and sorted (a total order); slice it for a page."""
    f = filters or DealFilters()
    qs = _filtered(actor, f).select_related("customer", "stage", "pipeline", "owner", "team")
    by_custom = custom_fields.sort_field(Entity.DEAL, actor, f.sort)
    if by_custom is not None:
        return custom_fields.order_by_field(qs, *by_custom)
    field_name, descending = SORTS.get(f.sort, SORTS[DEFAULT_SORT])
    return qs.order_by(*total_order(Deal, field_name, descending=descending))


def deal_get(*, actor: User, deal_id: int) -> Deal:
    if not _valid_id(deal_id):
        raise _not_found()
    deal = (
        Deal.objects.visible_to(actor)
        .select_related("customer", "contact", "stage", "pipeline", "owner__team", "team", "lost_reason")
        .prefetch_related(
            "collaborators",
            "competitors",
            Prefetch("lines", queryset=DealLine.objects.select_related("product").order_by("order", "id")),
        )
        .filter(pk=deal_id)
        .first()
    )
    if deal is None:
        raise _not_found()
    return deal


@dataclass(frozen=True)
class StageStay:
    change: DealStageChange
    seconds: int | None  # time spent in ``change.to_stage`` (up to now for the current stage)
    current: bool


def deal_stage_history(*, actor: User, deal: Deal) -> list[StageStay]:
    """The deal's moves, oldest first, each with the time spent in the stage it entered."""
    changes = list(
        DealStageChange.objects.filter(deal_id=deal.pk)
        .select_related("from_stage", "to_stage", "changed_by")
        .order_by("changed_at", "id")[:500]
    )
    now = timezone.now()
    stays = []
    for i, change in enumerate(changes):
        if i + 1 < len(changes):
            stays.append(StageStay(change, changes[i + 1].seconds_in_from_stage, False))
        else:
            since = deal.stage_entered_at or change.changed_at
            stays.append(StageStay(change, max(0, int((now - since).total_seconds())), True))
    return stays


def stage_changes(*, actor: User, deal: Deal) -> list[DealStageChange]:
    return [s.change for s in deal_stage_history(actor=actor, deal=deal)]


# ---- the board -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class BoardFilters:
    owner_id: int | None = None
    team_id: int | None = None
    close_month: dt.date | None = None

    def as_deal_filters(self, pipeline: Pipeline) -> DealFilters:
        return DealFilters(
            pipeline_id=pipeline.pk, owner_id=self.owner_id, team_id=self.team_id, close_month=self.close_month
        )


@dataclass
class Column:
    stage: Stage
    count: int = 0
    amount: decimal.Decimal = decimal.Decimal(0)  # Σ amount_base
    weighted: decimal.Decimal = decimal.Decimal(0)  # Σ amount_base × probability / 100, rounded once
    cards: list[Deal] = field(default_factory=list)


@dataclass
class Board:
    pipeline: Pipeline
    columns: list[Column]
    currency: str

    @property
    def count(self) -> int:
        return sum(c.count for c in self.columns)

    @property
    def amount(self) -> decimal.Decimal:
        return sum((c.amount for c in self.columns), decimal.Decimal(0))

    @property
    def weighted(self) -> decimal.Decimal:
        return sum((c.weighted for c in self.columns), decimal.Decimal(0))


# The won and lost columns show the deals closed in the last 30 days: a board is for the work in
# progress, and two years of closed deals would bury it (reports show the rest).
CLOSED_WINDOW_DAYS = 30


def closed_since() -> dt.date:
    return timezone.localdate() - dt.timedelta(days=CLOSED_WINDOW_DAYS)


def _column_totals(qs: DealQuerySet, cents: Any, whole: Any) -> list[dict[str, Any]]:
    return [
        dict(row)
        for row in qs.order_by()
        .values("stage_id")
        .annotate(
            n=Count("id"),
            cents=Sum(cents, output_field=whole),
            weighted=Sum(cents * F("probability"), output_field=whole),
        )
    ]


def board(*, actor: User, pipeline: Pipeline, filters: BoardFilters | None = None) -> Board:
    """Columns with their totals in the base currency: two aggregate queries, whatever the deal count.

    Sums run over whole cents (``amount_base`` × 100, rounded) so SQLite's floating-point SUM
    stays exact; the weighted amount is rounded once, at the end.
    """
    f = filters or BoardFilters()
    stages = list(Stage.objects.filter(pipeline_id=pipeline.pk).order_by("order"))
    cents = Round(F("amount_base") * 100)
    whole = DecimalField(max_digits=30, decimal_places=0)
    scope = _filtered(actor, f.as_deal_filters(pipeline))
    # Two grouped queries, each on its own index: the open deals, and the deals closed recently.
    rows = [
        *_column_totals(scope.filter(status=DealStatus.OPEN), cents, whole),
        *_column_totals(scope.exclude(status=DealStatus.OPEN).filter(closed_on__gte=closed_since()), cents, whole),
    ]
    base = CompanyProfile.current().base_currency
    totals = {r["stage_id"]: r for r in rows}
    columns = []
    for stage in stages:
        r = totals.get(stage.pk)
        column = Column(stage)
        if r:
            column.count = r["n"]
            column.amount = money.quantize(decimal.Decimal(r["cents"] or 0) / 100, base)
            column.weighted = money.quantize(decimal.Decimal(r["weighted"] or 0) / 10000, base)
        columns.append(column)
    return Board(pipeline, columns, base)


def encode_cursor(deal: Deal) -> str:
    micros = (deal.updated_at - EPOCH) // dt.timedelta(microseconds=1)
    return f"{micros}_{deal.pk}"


def decode_cursor(raw: str) -> tuple[dt.datetime, int] | None:
    try:
        micros, pk = (int(part) for part in raw.split("_", 1))
        if not (0 < pk < 2**63 and 0 <= micros < 2**62):
            return None
        return EPOCH + dt.timedelta(microseconds=micros), pk
    except (ValueError, OverflowError):
        return None


@dataclass
class ColumnPage:
    stage: Stage
    cards: list[Deal]
    next_cursor: str  # "" when this is the last page


def board_column(
    *,
    actor: User,
    pipeline: Pipeline,
    stage: Stage,
    filters: BoardFilters | None = None,
    cursor: str = "",
    limit: int = BOARD_PAGE,
) -> ColumnPage:
    """One page of a column's cards, most recently updated first, after ``cursor`` (keyset)."""
    f = filters or BoardFilters()
    qs = _filtered(actor, f.as_deal_filters(pipeline)).filter(stage_id=stage.pk)
    if stage.kind == StageKind.OPEN:
        qs = qs.filter(status=DealStatus.OPEN)
    else:
        qs = qs.exclude(status=DealStatus.OPEN).filter(closed_on__gte=closed_since())
    position = decode_cursor(cursor) if cursor else None
    if position is not None:
        at, pk = position
        qs = qs.filter(Q(updated_at__lt=at) | Q(updated_at=at, id__lt=pk))
    cards = list(qs.select_related("customer", "owner").order_by("-updated_at", "-id")[: limit + 1])
    more = len(cards) > limit
    cards = cards[:limit]
    now = timezone.now()
    for card in cards:
        card.is_stale = bool(  # type: ignore[attr-defined]
            stage.stale_after_days and now - card.stage_entered_at > dt.timedelta(days=stage.stale_after_days)
        )
        card.days_in_stage = (now - card.stage_entered_at).days  # type: ignore[attr-defined]
    return ColumnPage(stage, cards, encode_cursor(cards[-1]) if more and cards else "")


def pipeline_for_board(*, actor: User, pipeline_id: int | None) -> Pipeline:
    """The pipeline asked for (active or not), else the default one."""
    qs = Pipeline.objects.all()
    if pipeline_id is not None:
        if not _valid_id(pipeline_id):
            raise _not_found()
        found = qs.filter(pk=pipeline_id).first()
    else:
        found = qs.filter(is_active=True).order_by("-is_default", "order", "id").first()
    if found is None:
        raise _not_found()
    return found


def stage_of(*, pipeline: Pipeline, stage_id: int) -> Stage:
    if not _valid_id(stage_id):
        raise _not_found()
    stage = Stage.objects.filter(pk=stage_id, pipeline_id=pipeline.pk).first()
    if stage is None:
        raise _not_found()
    return stage
