"""Reads of training records. Scorecards and promotion criteria use these functions."""

from __future__ import annotations

from collections.abc import Iterable
from decimal import ROUND_HALF_UP, Decimal

from django.db.models import Count, Q

from bridgecrm.core.periods import Period
from bridgecrm.training.models import Enrollment


def completion_rates(*, period: Period, user_ids: Iterable[int]) -> dict[int, Decimal]:
    """Per rep, the share (0–1, four places) of their enrolments in sessions held within ``period``
    that they completed. Reps without any such enrolment are absent (the metric is unavailable for
    them, not zero). No visibility check: callers hold ids they were allowed to see."""
    rows = (
        Enrollment.objects.filter(
            user_id__in=list(user_ids),
            session__starts_at__date__gte=period.start,
            session__starts_at__date__lte=period.end,
        )
        .values("user_id")
        .annotate(total=Count("id"), done=Count("id", filter=Q(completed_at__isnull=False)))
    )
    return {
        r["user_id"]: (Decimal(r["done"]) / Decimal(r["total"])).quantize(Decimal("0.0001"), ROUND_HALF_UP)
        for r in rows
        if r["total"]
    }


def completed_course_ids(*, user_ids: Iterable[int]) -> dict[int, set[int]]:
    """Per rep, the courses they have completed at any time."""
    out: dict[int, set[int]] = {}
    for user_id, course_id in Enrollment.objects.filter(
        user_id__in=list(user_ids), completed_at__isnull=False
    ).values_list("user_id", "session__course_id"):
        out.setdefault(user_id, set()).add(course_id)
    return out
