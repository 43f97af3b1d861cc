"""Commissions (提成), bonuses (奖金) and promotion criteria (晋升).

- A ``CommissionPlan`` says what is paid on: the signed amount (won deals, in the base currency),
  the collected amount (payments received) or the margin (won deals: amount − cost of their lines;
  a deal whose margin is unknown is listed as not paid, never given a cost of 0). Rates come by attainment band
  (actual ÷ the rep's target), either marginal (each part of the amount at its band's rate) or
  whole (the band the final attainment reaches sets one rate for everything); an accelerator
  multiplies the rate on the part above the target; a cap limits commission per statement.
- ``PlanAssignment`` gives a plan to a rep, a team (and its subtree) or a role, for dates.
- ``BonusRule`` pays a fixed bonus for a locked scorecard total at or above a threshold.
- A ``Statement`` is one rep's pay for one period: lines that add up to its total, each traceable
  to the deal, payment, earlier line or evaluation behind it. Approved statements never change;
  reversals after approval come back as clawback lines in a later statement.
- ``PromotionCriterion``: a score for some quarters in a row, a completed course, a tenure.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from bridgecrm.core.periods import Period, PeriodKind


class Basis(models.TextChoices):
    SIGNED = "signed", _("Signed amount (won deals)")
    COLLECTED = "collected", _("Collected amount (payments received)")
    MARGIN = "margin", _("Margin (won deals: amount − cost)")


class BandMode(models.TextChoices):
    MARGINAL = "marginal", _("Marginal: each part at its band's rate")
    WHOLE = "whole", _("Whole amount: the band reached sets the rate for all")


class CommissionPlan(models.Model):
    name = models.CharField(_("name"), max_length=120)
    basis = models.CharField(_("basis"), max_length=12, choices=Basis.choices, default=Basis.SIGNED)
    band_mode = models.CharField(_("bands"), max_length=10, choices=BandMode.choices, default=BandMode.MARGINAL)
    # [{"from": "0", "rate": "2.00"}, {"from": "80", "rate": "3.00"}]: attainment (% of target) from
    # which each band starts, and its rate in % of the amount; the first band starts at 0.
    bands = models.JSONField(_("rate bands"), default=list)
    accelerator = models.DecimalField(
        _("accelerator above target (×)"), max_digits=5, decimal_places=2, default=1, help_text=_("1 means none")
    )
    cap = models.DecimalField(_("cap per statement"), max_digits=16, decimal_places=2, null=True, blank=True)
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now, editable=False)
    updated_at = models.DateTimeField(_("updated"), default=timezone.now, editable=False)
    version = models.PositiveIntegerField(default=1, editable=False)

    class Meta:
        verbose_name = _("commission plan")
        verbose_name_plural = _("commission plans")
        ordering = ["name", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(accelerator__gte=1), name="plan_accelerator_at_least_one"),
            models.CheckConstraint(condition=Q(cap__isnull=True) | Q(cap__gte=0), name="plan_cap_not_negative"),
        ]

    def __str__(self) -> str:
        return self.name


class PlanAssignment(models.Model):
    """A plan for one rep, a team (with its subtree) or a role, valid from a date (to a date)."""

    plan = models.ForeignKey(CommissionPlan, on_delete=models.CASCADE, related_name="assignments")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("rep"),
    )
    team = models.ForeignKey(
        "users.Team", on_delete=models.CASCADE, null=True, blank=True, related_name="+", verbose_name=_("team")
    )
    role = models.ForeignKey(
        "users.Role", on_delete=models.CASCADE, null=True, blank=True, related_name="+", verbose_name=_("role")
    )
    valid_from = models.DateField(_("valid from"))
    valid_to = models.DateField(_("valid to"), null=True, blank=True)

    class Meta:
        verbose_name = _("plan assignment")
        verbose_name_plural = _("plan assignments")
        ordering = ["plan", "valid_from", "id"]
        constraints = [
            models.CheckConstraint(
                condition=(
                    Q(user__isnull=False, team__isnull=True, role__isnull=True)
                    | Q(user__isnull=True, team__isnull=False, role__isnull=True)
                    | Q(user__isnull=True, team__isnull=True, role__isnull=False)
                ),
                name="plan_assignment_one_target",
            ),
            models.CheckConstraint(
                condition=Q(valid_to__isnull=True) | Q(valid_to__gte=models.F("valid_from")),
                name="plan_assignment_dates_ordered",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.plan_id} → {self.user_id or self.team_id or self.role_id}"


class BonusRule(models.Model):
    """A locked evaluation total at or above ``min_total`` earns ``amount``; of the rules a total
    meets, the one with the highest threshold pays (one bonus per evaluation entry)."""

    name = models.CharField(_("name"), max_length=120)
    scorecard = models.ForeignKey(
        "scorecards.Scorecard",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("scorecard"),
        help_text=_("Empty: any scorecard."),
    )
    min_total = models.DecimalField(_("total at least"), max_digits=7, decimal_places=2)
    amount = models.DecimalField(_("bonus"), max_digits=16, decimal_places=2)
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now, editable=False)

    class Meta:
        verbose_name = _("bonus rule")
        verbose_name_plural = _("bonus rules")
        ordering = ["-min_total", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="bonus_amount_positive"),
            models.CheckConstraint(condition=Q(min_total__gte=0), name="bonus_threshold_not_negative"),
        ]

    def __str__(self) -> str:
        return self.name


class StatementStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    APPROVED = "approved", pgettext_lazy("statement status", "Approved")


class StatementQuerySet(models.QuerySet["Statement"]):
    def visible_to(self, actor: object) -> StatementQuerySet:
        """A rep's own statements; with ``incentives.view_rates`` also those of the reps in the team
        subtrees one manages (admins: all). See ``policies.statement_owner_filter``."""
        from bridgecrm.incentives.policies import statement_owner_filter

        return self.filter(statement_owner_filter(actor))  # type: ignore[arg-type]


class Statement(models.Model):
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="commission_statements", verbose_name=_("rep")
    )
    period_kind = models.CharField(_("period"), max_length=8, choices=PeriodKind.choices)
    period_start = models.DateField(_("period start"))
    period_end = models.DateField(_("period end"))
    status = models.CharField(
        _("status"), max_length=10, choices=StatementStatus.choices, default=StatementStatus.DRAFT
    )
    plan = models.ForeignKey(
        CommissionPlan, on_delete=models.PROTECT, null=True, blank=True, related_name="+", verbose_name=_("plan")
    )
    # The plan as it was applied, frozen with the statement (name, basis, bands, accelerator, cap).
    plan_snapshot = models.JSONField(default=dict, blank=True)
    currency = models.CharField(_("currency"), max_length=3, default="CNY")
    basis_total = models.DecimalField(_("basis"), max_digits=16, decimal_places=2, default=0)
    target = models.DecimalField(_("target"), max_digits=18, decimal_places=2, null=True, blank=True)
    attainment = models.DecimalField(_("attainment %"), max_digits=9, decimal_places=2, null=True, blank=True)
    total = models.DecimalField(_("total"), max_digits=16, decimal_places=2, default=0)
    generated_at = models.DateTimeField(_("generated"), default=timezone.now)
    generated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    approved_at = models.DateTimeField(_("approved"), null=True, blank=True)
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("approved by"),
    )

    objects = StatementQuerySet.as_manager()

    class Meta:
        verbose_name = _("commission statement")
        verbose_name_plural = _("commission statements")
        ordering = ["-period_start", "user_id"]
        constraints = [
            models.UniqueConstraint(fields=["user", "period_start", "period_end"], name="statement_once_per_period")
        ]
        indexes = [models.Index(fields=["period_start", "status"], name="statement_period_status")]

    def __str__(self) -> str:
        return f"{self.user_id} {self.period}"

    @property
    def period(self) -> Period:
        return Period(self.period_start, self.period_end, self.period_kind)

    @property
    def is_locked(self) -> bool:
        return self.status == StatementStatus.APPROVED


class LineKind(models.TextChoices):
    COMMISSION = "commission", _("Commission")
    ACCELERATOR = "accelerator", _("Accelerator")
    CAP = "cap", _("Cap adjustment")
    CLAWBACK = "clawback", _("Clawback")
    BONUS = "bonus", _("Bonus")
    NOT_PAID = "not_paid", _("Not paid")


class StatementLine(models.Model):
    """One line; ``amount`` is what it adds to the statement's total (negative for cap and clawback).

    The source is kept twice: as a link (``deal`` / ``payment``, cleared if the record goes) and as
    ``source_ref`` + ``source_label`` (kept forever), so a reversed payment still explains its line.
    """

    statement = models.ForeignKey(Statement, on_delete=models.CASCADE, related_name="lines")
    position = models.PositiveIntegerField(default=0)
    kind = models.CharField(_("kind"), max_length=12, choices=LineKind.choices)
    deal = models.ForeignKey(
        "pipeline.Deal", on_delete=models.SET_NULL, null=True, blank=True, related_name="+", verbose_name=_("deal")
    )
    payment = models.ForeignKey(
        "contracts.Payment",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("payment"),
    )
    source_ref = models.CharField(max_length=40, blank=True)  # "deal:12", "payment:7"
    source_label = models.CharField(_("source"), max_length=250, blank=True)
    source_date = models.DateField(_("date"), null=True, blank=True)
    base_amount = models.DecimalField(_("amount counted"), max_digits=16, decimal_places=2, null=True, blank=True)
    rate = models.DecimalField(_("rate %"), max_digits=8, decimal_places=4, null=True, blank=True)
    band = models.CharField(_("band"), max_length=40, blank=True)
    amount = models.DecimalField(_("amount"), max_digits=16, decimal_places=2)
    clawback_of = models.OneToOneField(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="clawed_back_by"
    )
    evaluation_entry = models.OneToOneField(
        "scorecards.EvaluationEntry", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    bonus_rule = models.ForeignKey(BonusRule, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")

    class Meta:
        verbose_name = _("statement line")
        verbose_name_plural = _("statement lines")
        ordering = ["statement", "position", "id"]
        indexes = [models.Index(fields=["source_ref"], name="statement_line_source")]

    def __str__(self) -> str:
        return f"{self.statement_id} {self.kind} {self.amount}"


class PromotionCriterion(models.Model):
    """Who is ready for promotion: every condition set must hold (an empty one is not checked)."""

    name = models.CharField(_("name"), max_length=120)
    min_score = models.DecimalField(
        _("scorecard total at least"), max_digits=7, decimal_places=2, null=True, blank=True
    )
    quarters = models.PositiveSmallIntegerField(_("for quarters in a row"), default=3)
    course = models.ForeignKey(
        "training.TrainingCourse",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("completed course"),
    )
    min_tenure_months = models.PositiveSmallIntegerField(_("tenure at least (months)"), null=True, blank=True)
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now, editable=False)

    class Meta:
        verbose_name = _("promotion criterion")
        verbose_name_plural = _("promotion criteria")
        ordering = ["name", "id"]

    def __str__(self) -> str:
        return self.name
