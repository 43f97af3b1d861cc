"""Sales targets (销售目标) and sales plans (销售计划).

A ``Target`` is an amount of one measure for one period (year, quarter or month) and one scope
(the company, a team or a rep, optionally narrowed to a product category). Decomposition creates
children pointing to their ``parent``; the parent's amount is what the children should add up to.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from bridgecrm.core.periods import Period, PeriodKind
from bridgecrm.targets import measures


class Measure(models.TextChoices):
    """The built-in measures. Every measure a target may use is in ``targets.measures`` (these six
    and those other apps register, such as the scorecard metrics)."""

    SIGNED_AMOUNT = "signed_amount", _("Signed amount")
    COLLECTED_AMOUNT = "collected_amount", _("Collected amount")
    NEW_CUSTOMERS = "new_customers", _("New customers")
    WON_DEALS = "won_deals", _("Won deals")
    FOLLOW_UPS = "follow_ups", _("Follow-ups")
    VISITS = "visits", _("Visits")


class TargetScope(models.TextChoices):
    COMPANY = "company", _("Company")
    TEAM = "team", _("Team")
    REP = "rep", _("Rep")


class Target(models.Model):
    # A code of the measure registry (``targets.measures``); the services refuse unknown codes.
    measure = models.CharField(_("measure"), max_length=40)
    period_kind = models.CharField(_("period"), max_length=8, choices=PeriodKind.choices)
    period_start = models.DateField(_("period start"))
    period_end = models.DateField(_("period end"))
    scope = models.CharField(_("scope"), max_length=8, choices=TargetScope.choices)
    team = models.ForeignKey(
        "users.Team", on_delete=models.CASCADE, null=True, blank=True, related_name="targets", verbose_name=_("team")
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="targets",
        verbose_name=_("rep"),
    )
    product_category = models.CharField(_("product category"), max_length=16, blank=True)
    parent = models.ForeignKey(
        "self", on_delete=models.CASCADE, null=True, blank=True, related_name="children", verbose_name=_("parent")
    )
    amount = models.DecimalField(_("amount"), max_digits=18, decimal_places=2)
    method = models.CharField(_("decomposition method"), max_length=20, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(_("created"), default=timezone.now, editable=False)
    updated_at = models.DateTimeField(_("updated"), default=timezone.now, editable=False)

    class Meta:
        verbose_name = _("target")
        verbose_name_plural = _("targets")
        constraints = [
            models.UniqueConstraint(
                fields=["measure", "period_start", "period_end", "product_category"],
                condition=models.Q(scope="company"),
                name="target_unique_company_period",
            ),
            models.UniqueConstraint(
                fields=["measure", "period_start", "period_end", "team", "product_category"],
                condition=models.Q(scope="team"),
                name="target_unique_team_period",
            ),
            models.UniqueConstraint(
                fields=["measure", "period_start", "period_end", "user", "product_category"],
                condition=models.Q(scope="rep"),
                name="target_unique_rep_period",
            ),
            models.CheckConstraint(
                condition=(
                    models.Q(scope="company", team__isnull=True, user__isnull=True)
                    | models.Q(scope="team", team__isnull=False, user__isnull=True)
                    | models.Q(scope="rep", user__isnull=False)
                ),
                name="target_scope_matches_owner",
            ),
            models.CheckConstraint(condition=models.Q(amount__gte=0), name="target_amount_not_negative"),
        ]
        indexes = [
            models.Index(fields=["measure", "period_start", "scope"], name="target_measure_period"),
            models.Index(fields=["user", "period_start"], name="target_user_period"),
        ]

    def __str__(self) -> str:
        return f"{self.get_measure_display()} {self.period}"

    def get_measure_display(self) -> str:
        return measures.label_of(self.measure)

    @property
    def measure_def(self) -> measures.MeasureDef | None:
        return measures.get(self.measure)

    @property
    def unit(self) -> str:
        found = measures.get(self.measure)
        return found.unit if found is not None else measures.MONEY

    @property
    def additive(self) -> bool:
        return measures.is_additive(self.measure)

    @property
    def period(self) -> Period:
        return Period(self.period_start, self.period_end, self.period_kind)

    @property
    def method_label(self) -> str:
        return str(DecompositionMethod(self.method).label) if self.method in DecompositionMethod.values else ""

    @property
    def category_label(self) -> str:
        from bridgecrm.pipeline.models import ProductCategory

        if self.product_category in ProductCategory.values:
            return str(ProductCategory(self.product_category).label)
        return self.product_category

    @property
    def is_count(self) -> bool:
        return self.unit == measures.COUNT

    @property
    def shown_amount(self) -> Decimal:
        """The amount as the measure counts it: whole units for counts, cents for money, hundredths
        of a percent for ratios."""
        return self.amount.quantize(Decimal(1).scaleb(-measures.places_of(self.measure)))

    @property
    def owner_label(self) -> str:
        if self.scope == TargetScope.REP and self.user is not None:
            return self.user.display_name
        if self.scope == TargetScope.TEAM and self.team is not None:
            return self.team.name
        return str(_("Company"))


# Measures counted in whole units (the rest are money in the company's base currency).
COUNT_MEASURES = frozenset({Measure.NEW_CUSTOMERS, Measure.WON_DEALS, Measure.FOLLOW_UPS, Measure.VISITS})
# Measures a product category can narrow (deal lines carry the product).
CATEGORY_MEASURES = frozenset({Measure.SIGNED_AMOUNT, Measure.WON_DEALS})


class DecompositionMethod(models.TextChoices):
    EQUAL = "equal", _("Equal split")
    WEIGHTS = "weights", _("Entered weights")
    LAST_YEAR_SHARE = "last_year_share", _("Last year's share")
    SEASONALITY = "seasonality", _("Last year's seasonality")
    MANUAL = "manual", _("Set by hand")
    SAME = "same", _("Same value for everyone")  # rates and averages: every part gets the parent's value


class PlanScope(models.TextChoices):
    TEAM = "team", _("Team")
    REP = "rep", _("Rep")


class SalesPlan(models.Model):
    """A sales plan (销售计划) of a team or a rep for a period: phases, milestones, key customers."""

    name = models.CharField(_("name"), max_length=200)
    period_kind = models.CharField(_("period"), max_length=8, choices=PeriodKind.choices)
    period_start = models.DateField(_("period start"))
    period_end = models.DateField(_("period end"))
    scope = models.CharField(_("scope"), max_length=8, choices=PlanScope.choices)
    team = models.ForeignKey(
        "users.Team",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="sales_plans",
        verbose_name=_("team"),
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="sales_plans",
        verbose_name=_("rep"),
    )
    description = models.TextField(_("description"), blank=True, max_length=4000)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(_("created"), default=timezone.now, editable=False)
    updated_at = models.DateTimeField(_("updated"), default=timezone.now, editable=False)

    class Meta:
        verbose_name = _("sales plan")
        verbose_name_plural = _("sales plans")
        ordering = ["-period_start", "name", "id"]
        constraints = [
            models.CheckConstraint(
                condition=(
                    models.Q(scope="team", team__isnull=False, user__isnull=True)
                    | models.Q(scope="rep", user__isnull=False, team__isnull=True)
                ),
                name="sales_plan_scope_matches_owner",
            ),
        ]
        indexes = [models.Index(fields=["-period_start", "name"], name="sales_plan_period")]

    def __str__(self) -> str:
        return self.name

    @property
    def period(self) -> Period:
        return Period(self.period_start, self.period_end, self.period_kind)

    @property
    def owner_label(self) -> str:
        if self.user is not None:
            return self.user.display_name
        return self.team.name if self.team is not None else ""


class PlanPhase(models.Model):
    plan = models.ForeignKey(SalesPlan, on_delete=models.CASCADE, related_name="phases", verbose_name=_("plan"))
    order = models.PositiveIntegerField(_("order"))
    name = models.CharField(_("name"), max_length=200)
    starts_on = models.DateField(_("starts on"))
    ends_on = models.DateField(_("ends on"))

    class Meta:
        verbose_name = _("phase")
        verbose_name_plural = _("phases")
        ordering = ["plan", "order", "id"]
        constraints = [
            models.CheckConstraint(condition=models.Q(ends_on__gte=models.F("starts_on")), name="plan_phase_dates"),
        ]

    def __str__(self) -> str:
        return self.name


class MilestoneStatus(models.TextChoices):
    OPEN = "open", _("Open")
    DONE = "done", _("Done")
    CANCELLED = "cancelled", _("Cancelled")


class Milestone(models.Model):
    plan = models.ForeignKey(SalesPlan, on_delete=models.CASCADE, related_name="milestones", verbose_name=_("plan"))
    phase = models.ForeignKey(
        PlanPhase, on_delete=models.SET_NULL, null=True, blank=True, related_name="milestones", verbose_name=_("phase")
    )
    title = models.CharField(_("title"), max_length=200)
    due_on = models.DateField(_("due on"))
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="milestones", verbose_name=_("owner")
    )
    status = models.CharField(_("status"), max_length=10, choices=MilestoneStatus.choices, default=MilestoneStatus.OPEN)
    targets = models.ManyToManyField(Target, blank=True, related_name="milestones", verbose_name=_("linked targets"))
    customers = models.ManyToManyField(
        "customers.Customer", blank=True, related_name="milestones", verbose_name=_("key customers")
    )
    done_on = models.DateField(_("done on"), null=True, blank=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now, editable=False)

    class Meta:
        verbose_name = _("milestone")
        verbose_name_plural = _("milestones")
        ordering = ["due_on", "id"]
        indexes = [
            models.Index(fields=["status", "due_on"], name="milestone_status_due"),
            models.Index(fields=["plan", "due_on"], name="milestone_plan_due"),
        ]

    def __str__(self) -> str:
        return self.title

    def is_overdue(self, today: date) -> bool:
        return self.status == MilestoneStatus.OPEN and self.due_on < today


class MilestoneReminder(models.Model):
    """The overdue reminder sent for a milestone and its due date: at most one each."""

    milestone = models.ForeignKey(Milestone, on_delete=models.CASCADE, related_name="+")
    due_on = models.DateField()
    recipient = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    sent_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["milestone", "due_on"], name="milestone_reminder_once")]

    def __str__(self) -> str:
        return f"{self.milestone_id} {self.due_on}"
