"""Reads of the audit trail.

Searching the whole trail needs the ``audit.view_all`` capability. A record's timeline is read
through an object the caller already fetched with ``visible_to(actor)``, so it never leaks.
Pages are keyset-paginated on (time, id): the cost of a page does not grow with the table.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from bridgecrm.core import money
from bridgecrm.core.errors import PermissionDenied
from bridgecrm.core.models import AuditAction, AuditEntry

VIEW_AUDIT = "audit.view_all"
MAX_PAGE = 100
EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


@dataclass(frozen=True)
class AuditFilters:
    user_id: int | None = None
    content_type_id: int | None = None
    object_id: str = ""
    field: str = ""  # a field name or an event code
    date_from: dt.datetime | None = None
    date_to: dt.datetime | None = None


@dataclass(frozen=True)
class Cursor:
    at: dt.datetime
    id: int

    def encode(self) -> str:
        # Whole microseconds since the epoch, in integers: a float timestamp can be off by one.
        micros = (self.at - EPOCH) // dt.timedelta(microseconds=1)
        return f"{micros}_{self.id}"

    @classmethod
    def decode(cls, raw: str) -> Cursor | None:
        try:
            micros, pk = raw.split("_", 1)
            return cls(at=EPOCH + dt.timedelta(microseconds=int(micros)), id=int(pk))
        except (ValueError, OverflowError):
            return None


@dataclass(frozen=True)
class AuditPage:
    entries: list[AuditEntry]
    next_cursor: str | None


def _page(qs: models.QuerySet[AuditEntry], cursor: Cursor | None, limit: int) -> AuditPage:
    return _merged_page([qs], cursor, limit)


def _merged_page(querysets: list[models.QuerySet[AuditEntry]], cursor: Cursor | None, limit: int) -> AuditPage:
    """The newest ``limit`` rows of the union of ``querysets``, older than ``cursor``.

    Each queryset is read as one ordered index range (``… ORDER BY at DESC, id DESC LIMIT n``),
    so a page costs one short query per queryset whatever the size of the table.
    """
    limit = max(1, min(limit, MAX_PAGE))
    rows: dict[int, AuditEntry] = {}
    for qs in querysets:
        if cursor is not None:
            # at <= cursor bounds the index range; the OR alone made the database walk every newer row.
            qs = qs.filter(Q(at__lte=cursor.at) & (Q(at__lt=cursor.at) | Q(id__lt=cursor.id)))
        for row in qs.select_related("content_type").order_by("-at", "-id")[: limit + 1]:
            rows[row.id] = row
    ordered = sorted(rows.values(), key=lambda r: (r.at, r.id), reverse=True)[: limit + 1]
    next_cursor = Cursor(at=ordered[limit - 1].at, id=ordered[limit - 1].id).encode() if len(ordered) > limit else None
    return AuditPage(entries=ordered[:limit], next_cursor=next_cursor)


def audit_search(*, actor: Any, filters: AuditFilters, cursor: Cursor | None = None, limit: int = 50) -> AuditPage:
    if not (getattr(actor, "is_active", False) and getattr(actor, "can", lambda _c: False)(VIEW_AUDIT)):
        raise PermissionDenied("forbidden", _("You do not have permission to do this."))
    qs = AuditEntry.objects.all()  # unscoped on purpose: only holders of audit.view_all get here
    if filters.user_id is not None:
        qs = qs.filter(actor_id=filters.user_id)
    if filters.content_type_id is not None:
        qs = qs.filter(content_type_id=filters.content_type_id)
        if filters.object_id:
            qs = qs.filter(object_id=filters.object_id)
    if filters.date_from is not None:
        qs = qs.filter(at__gte=filters.date_from)
    if filters.date_to is not None:
        qs = qs.filter(at__lt=filters.date_to)
    if filters.field:
        # "field = x OR event = x" in one query has no index to read it in time order: SQLite sorts
        # every match, PostgreSQL filters its way down the time index. Two ordered ranges, merged.
        return _merged_page([qs.filter(field=filters.field), qs.filter(event=filters.field)], cursor, limit)
    return _page(qs, cursor, limit)


def audit_timeline(
    *, visible_obj: models.Model, include_security: bool, cursor: Cursor | None = None, limit: int = 50
) -> AuditPage:
    """History of one record that the caller fetched through ``visible_to(actor)``."""
    ct = ContentType.objects.get_for_model(visible_obj, for_concrete_model=False)
    qs = AuditEntry.objects.filter(content_type=ct, object_id=str(visible_obj.pk))
    if not include_security:
        qs = qs.exclude(action=AuditAction.SECURITY)
    return _page(qs, cursor, limit)


def model_history(*, model: type[models.Model], cursor: Cursor | None = None, limit: int = 20) -> AuditPage:
    """Changes to every record of one model, for pages where the actor may see them all (roles)."""
    ct = ContentType.objects.get_for_model(model, for_concrete_model=False)
    return _page(AuditEntry.objects.filter(content_type=ct), cursor, limit)


def audited_object_types() -> list[tuple[str, str]]:
    """Object types registered as audited, for the search form: (content type id, label)."""
    from django.apps import apps

    from bridgecrm.core.audit import audited_model_labels

    result = []
    for label in audited_model_labels():
        model = apps.get_model(label)
        ct = ContentType.objects.get_for_model(model)
        result.append((str(ct.pk), str(model._meta.verbose_name).capitalize()))
    return result


def may_see_security_events(actor: Any, obj: models.Model) -> bool:
    """Sign-ins, token changes and the like show to auditors, and to a user on their own record."""
    can = getattr(actor, "can", lambda _c: False)
    return bool(can(VIEW_AUDIT)) or (obj.__class__ is actor.__class__ and obj.pk == getattr(actor, "pk", None))


def record_timeline(
    *, actor: Any, model_label: str, object_id: str, cursor: Cursor | None = None, limit: int = 50
) -> AuditPage:
    """The history of one audited record, 404 unless the actor may see the record itself."""
    from django.apps import apps
    from django.core.exceptions import ValidationError

    from bridgecrm.core.audit import audited_model_labels
    from bridgecrm.core.errors import NotFound

    labels = {label.lower(): label for label in audited_model_labels()}
    label = labels.get(model_label.lower())
    if label is None:
        raise NotFound("not_found", _("Not found."))
    model = apps.get_model(label)
    try:
        pk = model._meta.pk.to_python(object_id)
    except (ValidationError, ValueError, OverflowError) as exc:
        raise NotFound("not_found", _("Not found.")) from exc
    if not isinstance(pk, int) or not -(2**63) < pk < 2**63:
        raise NotFound("not_found", _("Not found."))
    manager = model._default_manager
    if hasattr(manager, "visible_to"):
        obj = manager.visible_to(actor).filter(pk=pk).first()
    else:  # no record-level visibility (roles): only auditors, who may search the whole trail anyway
        obj = manager.filter(pk=pk).first() if getattr(actor, "can", lambda _c: False)(VIEW_AUDIT) else None
    if obj is None:
        raise NotFound("not_found", _("Not found."))
    return audit_timeline(
        visible_obj=obj, include_security=may_see_security_events(actor, obj), cursor=cursor, limit=limit
    )


def rates_in_force(wanted: dict[str, set[dt.date]]) -> dict[tuple[str, dt.date], Decimal | None]:
    """``(currency, day)`` → the rate in force that day, as :func:`rates_on` finds it (the latest on
    or before it), None when there is none: for many currencies and days in one query (an import's
    batch of deals dated across years)."""
    import bisect

    from bridgecrm.core.models import ExchangeRate

    wanted = {currency: days for currency, days in wanted.items() if days}
    if not wanted:
        return {}
    history: dict[str, tuple[list[dt.date], list[Decimal]]] = {currency: ([], []) for currency in wanted}
    for currency, valid_from, rate in (
        ExchangeRate.objects.filter(currency__in=sorted(wanted), valid_from__lte=max(max(d) for d in wanted.values()))
        .order_by("currency", "valid_from")
        .values_list("currency", "valid_from", "rate")
    ):
        history[currency][0].append(valid_from)
        history[currency][1].append(rate)
    found: dict[tuple[str, dt.date], Decimal | None] = {}
    for currency, days in wanted.items():
        starts, rates = history[currency]
        for day in days:
            i = bisect.bisect_right(starts, day)
            found[(currency, day)] = rates[i - 1] if i else None
    return found


def rates_on(on: dt.date) -> money.Rates:
    """The rate in force on ``on`` for every currency that has one (the latest on or before it)."""
    from django.db.models import Max

    from bridgecrm.core.models import CompanyProfile, ExchangeRate

    latest = dict(
        ExchangeRate.objects.filter(valid_from__lte=on)
        .values("currency")
        .annotate(d=Max("valid_from"))
        .values_list("currency", "d")
    )
    per_unit: dict[str, Decimal] = {}
    if latest:
        condition = Q(pk__in=[])
        for currency, valid_from in latest.items():
            condition |= Q(currency=currency, valid_from=valid_from)
        per_unit = dict(ExchangeRate.objects.filter(condition).values_list("currency", "rate"))
    return money.Rates(base=CompanyProfile.current().base_currency, on=on, per_unit=per_unit)
