"""Training (培训) and coaching (辅导).

A ``TrainingCourse`` is what is taught (a product or a skill); a ``TrainingSession`` is one time it
is given, by a trainer, on a date. ``Enrollment`` records who was enrolled, whether they attended,
their assessment score and whether they completed it: completion feeds the scorecards and the
promotion criteria.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class CourseKind(models.TextChoices):
    PRODUCT = "product", _("Product")
    SKILL = "skill", _("Skill")
    COMPLIANCE = "compliance", _("Compliance")
    OTHER = "other", _("Other")


class TrainingCourse(models.Model):
    title = models.CharField(_("title"), max_length=200)
    kind = models.CharField(_("kind"), max_length=16, choices=CourseKind.choices, default=CourseKind.SKILL)
    product = models.ForeignKey(
        "pipeline.Product",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("product"),
    )
    description = models.TextField(_("description"), blank=True)
    pass_score = models.DecimalField(
        _("pass score"),
        max_digits=5,
        decimal_places=2,
        null=True,
        blank=True,
        help_text=_("Leave empty when attending is enough to complete the course."),
    )
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now, editable=False)

    class Meta:
        verbose_name = _("training course")
        verbose_name_plural = _("training courses")
        ordering = ["title"]

    def __str__(self) -> str:
        return self.title


class TrainingSession(models.Model):
    course = models.ForeignKey(
        TrainingCourse, on_delete=models.PROTECT, related_name="sessions", verbose_name=_("course")
    )
    starts_at = models.DateTimeField(_("starts"))
    duration_minutes = models.PositiveIntegerField(_("duration (minutes)"), default=60)
    trainer = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("trainer"),
    )
    trainer_name = models.CharField(_("outside trainer"), max_length=120, blank=True)
    location = models.CharField(_("location"), max_length=200, blank=True)
    notes = models.TextField(_("notes"), blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(_("created"), default=timezone.now, editable=False)

    class Meta:
        verbose_name = _("training session")
        verbose_name_plural = _("training sessions")
        ordering = ["-starts_at"]
        indexes = [models.Index(fields=["starts_at"], name="training_session_starts")]

    def __str__(self) -> str:
        return f"{self.course} {self.starts_at:%Y-%m-%d}"


class Enrollment(models.Model):
    session = models.ForeignKey(TrainingSession, on_delete=models.CASCADE, related_name="enrollments")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="training_enrollments")
    attended = models.BooleanField(_("attended"), null=True, blank=True)
    score = models.DecimalField(_("assessment score"), max_digits=5, decimal_places=2, null=True, blank=True)
    completed_at = models.DateTimeField(_("completed"), null=True, blank=True)
    created_at = models.DateTimeField(_("enrolled"), default=timezone.now, editable=False)

    class Meta:
        verbose_name = _("enrolment")
        verbose_name_plural = _("enrolments")
        constraints = [models.UniqueConstraint(fields=["session", "user"], name="enrollment_once_per_session")]
        indexes = [models.Index(fields=["user", "completed_at"], name="enrollment_user_completed")]

    def __str__(self) -> str:
        return f"{self.user_id} @ {self.session_id}"

    @property
    def is_completed(self) -> bool:
        return self.completed_at is not None
