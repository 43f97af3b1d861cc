"""Sales targets (销售目标) and sales plans (销售计划).

A ``Target`` is an amount of one measure for one period (year, quarter or month) and one scope
(the company, a team or a rep, optionally narrowed to a product category). Decomposition creates
children pointing to their ``parent``; the parent's amount is what the children should add up to.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from bridgecrm.core.periods import Period, PeriodKind


class Measure(models.TextChoices):
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
    measure = models.CharField(_("measure"), max_length=40, choices=Measure.choices)
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

    @property
    def period(self) -> Period:
        return Period(self.period_start, self.period_end, self.period_kind)
