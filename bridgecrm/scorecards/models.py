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


class Direction(models.TextChoices):
    HIGHER = "higher", _("Higher is better")
    LOWER = "lower", _("Lower is better")


class Curve(models.TextChoices):
    LINEAR = "linear", _("Linear to target, capped")
    THRESHOLD = "threshold", _("Threshold: all or nothing")
    BANDS = "bands", _("Bands")


class TargetKind(models.TextChoices):
    FIXED = "fixed", _("Fixed value")
    REP = "rep", _("The rep's own target")


class MetricKind(models.TextChoices):
    RESULT = "result", _("Result")
    PROCESS = "process", _("Process")


class ScorecardMetric(models.Model):
    """One metric of a scorecard: its weight (percent of 100), curve and target.

    Achievement is ``raw ÷ target`` (higher is better) or ``2 − raw ÷ target`` (lower is better, floored
    at 0); the curve turns it into points out of the weight (see ``scorecards.scoring``)."""

    scorecard = models.ForeignKey(Scorecard, on_delete=models.CASCADE, related_name="metrics")
    code = models.CharField(_("metric"), max_length=40)
    position = models.PositiveSmallIntegerField(default=0)
    weight = models.DecimalField(_("weight %"), max_digits=5, decimal_places=2)
    direction = models.CharField(_("direction"), max_length=8, choices=Direction.choices, default=Direction.HIGHER)
    curve = models.CharField(_("scoring curve"), max_length=10, choices=Curve.choices, default=Curve.LINEAR)
    # xgettext:no-python-format
    cap = models.DecimalField(_("cap % of target"), max_digits=6, decimal_places=2, default=120)
    # xgettext:no-python-format
    threshold = models.DecimalField(_("threshold % of target"), max_digits=6, decimal_places=2, default=100)
    # [[from achievement %, points as % of the weight], ...]
    bands = models.JSONField(_("bands"), default=list, blank=True)
    target_kind = models.CharField(_("target"), max_length=8, choices=TargetKind.choices, default=TargetKind.FIXED)
    target_value = models.DecimalField(_("target value"), max_digits=18, decimal_places=4, null=True, blank=True)
    kind = models.CharField(_("kind"), max_length=8, choices=MetricKind.choices, default=MetricKind.RESULT)

    class Meta:
        verbose_name = _("scorecard metric")
        verbose_name_plural = _("scorecard metrics")
        ordering = ["scorecard_id", "position", "id"]
        constraints = [models.UniqueConstraint(fields=["scorecard", "code"], name="scorecard_metric_once")]

    def __str__(self) -> str:
        return f"{self.code} {self.weight}%"


class EvaluationComment(models.Model):
    """A reviewer's comment on one entry (while the evaluation is in review)."""

    entry = models.ForeignKey(EvaluationEntry, on_delete=models.CASCADE, related_name="comments")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    text = models.TextField(_("comment"), max_length=2000)
    created_at = models.DateTimeField(_("written"), default=timezone.now)

    class Meta:
        verbose_name = _("evaluation comment")
        verbose_name_plural = _("evaluation comments")
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return self.text[:40]


class EvaluationAdjustment(models.Model):
    """A reviewer's change of one metric's points on one entry, with the required reason."""

    entry = models.ForeignKey(EvaluationEntry, on_delete=models.CASCADE, related_name="adjustments")
    metric = models.CharField(_("metric"), max_length=40)
    old_points = models.DecimalField(_("points before"), max_digits=7, decimal_places=2)
    new_points = models.DecimalField(_("points after"), max_digits=7, decimal_places=2)
    reason = models.CharField(_("reason"), max_length=500)
    by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    at = models.DateTimeField(_("adjusted"), default=timezone.now)

    class Meta:
        verbose_name = _("evaluation adjustment")
        verbose_name_plural = _("evaluation adjustments")
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.metric}: {self.old_points} → {self.new_points}"
