"""Small builders for the training tests (through the services, as the pages do)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.utils import timezone

from bridgecrm.training import services
from bridgecrm.training.models import TrainingCourse, TrainingSession
from bridgecrm.users.models import User


def course(actor: User, title: str = "Objection handling", pass_score: str | None = "60") -> TrainingCourse:
    return services.course_create(
        actor=actor, title=title, kind="skill", pass_score=Decimal(pass_score) if pass_score else None
    )


def session(
    actor: User, c: TrainingCourse, *, days_ago: int = 3, is_open: bool = True, hour: int = 10
) -> TrainingSession:
    starts = timezone.now().replace(hour=hour, minute=0, second=0, microsecond=0) - dt.timedelta(days=days_ago)
    return services.session_create(actor=actor, course=c, starts_at=starts, location="Room 3", is_open=is_open)
