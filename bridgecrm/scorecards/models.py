"""Scorecards (绩效考核) and their evaluations.

A ``Scorecard`` is a weighted set of metrics that applies to roles or teams for a kind of period.
An ``Evaluation`` runs it for one period and freezes one ``EvaluationEntry`` per rep: the raw
values, the score per metric, the weighted total, the rank and a breakdown that explains every
point. Once ``LOCKED`` an evaluation never changes; incentives and promotion read locked entries.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from bridgecrm.core.periods import Period, PeriodKind


class Scorecard(models.Model):
    name = models.CharField(_("name"), max_length=120)
    description = models.TextField(_("description"), blank=True)
    period_kind = models.CharField(_("period"), max_length=8, choices=PeriodKind.choices, default=PeriodKind.QUARTER)
    roles = models.ManyToManyField("users.Role", blank=True, related_name="+", verbose_name=_("roles"))
    teams = models.ManyToManyField("users.Team", blank=True, related_name="+", verbose_name=_("teams"))
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now, editable=False)
    updated_at = models.DateTimeField(_("updated"), default=timezone.now, editable=False)

    class Meta:
        verbose_name = _("scorecard")
        verbose_name_plural = _("scorecards")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class EvaluationStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    IN_REVIEW = "in_review", _("In review")
    PUBLISHED = "published", _("Published")
    LOCKED = "locked", _("Locked")


class Evaluation(models.Model):
    scorecard = models.ForeignKey(Scorecard, on_delete=models.PROTECT, related_name="evaluations")
    period_kind = models.CharField(_("period"), max_length=8, choices=PeriodKind.choices)
    period_start = models.DateField(_("period start"))
    period_end = models.DateField(_("period end"))
    status = models.CharField(
        _("status"), max_length=12, choices=EvaluationStatus.choices, default=EvaluationStatus.DRAFT
    )
    definition = models.JSONField(
        _("scorecard as run"), default=dict, help_text="The metrics, weights and curves this run used, frozen."
    )
    run_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+")
    run_at = models.DateTimeField(_("run"), default=timezone.now)
    locked_at = models.DateTimeField(_("locked"), null=True, blank=True)

    class Meta:
        verbose_name = _("evaluation")
        verbose_name_plural = _("evaluations")
        ordering = ["-period_start", "scorecard_id"]
        constraints = [
            models.UniqueConstraint(
                fields=["scorecard", "period_start", "period_end"], name="evaluation_once_per_period"
            )
        ]

    def __str__(self) -> str:
        return f"{self.scorecard} {self.period}"

    @property
    def period(self) -> Period:
        return Period(self.period_start, self.period_end, self.period_kind)


class EvaluationEntry(models.Model):
    evaluation = models.ForeignKey(Evaluation, on_delete=models.CASCADE, related_name="entries")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="evaluation_entries")
    team = models.ForeignKey("users.Team", on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    total = models.DecimalField(_("total score"), max_digits=7, decimal_places=2)
    rank = models.PositiveIntegerField(_("rank"))
    breakdown = models.JSONField(_("breakdown"), default=dict)
    acknowledged_at = models.DateTimeField(_("acknowledged"), null=True, blank=True)

    class Meta:
        verbose_name = _("evaluation entry")
        verbose_name_plural = _("evaluation entries")
        ordering = ["rank", "user_id"]
        constraints = [models.UniqueConstraint(fields=["evaluation", "user"], name="evaluation_entry_once_per_rep")]

    def __str__(self) -> str:
        return f"{self.user_id}: {self.total}"
