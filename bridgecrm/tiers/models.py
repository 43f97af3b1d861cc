"""Customer tiers (客户分层) and their follow-up routines (SOP).

The tier model (one row, edited by admins) turns each customer's facts into two scores, 0–100:

- value: trailing-12-month collected payments, won deal amounts, purchase frequency and recency (RFM);
- potential: estimated annual potential, company size, industry and chosen custom fields.

Each score falls in a band (high, medium, low) by two thresholds; the grid maps (value band,
potential band) to a tier code. ``Customer.tier`` holds the result; ``TierChange`` rows record every
change with the scores behind it. A ``ManualTier`` pins a customer's tier (with a reason) until it
is cleared: recomputation leaves such customers alone.
"""

from __future__ import annotations

from decimal import Decimal

from django.db import models
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

BANDS = ("high", "medium", "low")


class VisitPeriod(models.TextChoices):
    MONTH = "month", _("per month")
    QUARTER = "quarter", _("per quarter")


class Tier(models.Model):
    """One tier and its follow-up routine: follow up every N days (the kinds in ``counted_kinds``,
    or any kind when empty) and visit at least M times per month or quarter."""

    code = models.CharField(_("code"), max_length=16, unique=True)
    label_en = models.CharField(_("label (English)"), max_length=60)
    label_zh = models.CharField(_("label (Chinese)"), max_length=60, blank=True)
    position = models.PositiveIntegerField(_("order"), default=0)
    follow_up_every_days = models.PositiveIntegerField(_("follow up every (days)"), null=True, blank=True)
    min_visits = models.PositiveIntegerField(_("visits at least"), default=0)
    visit_period = models.CharField(
        _("visit period"), max_length=8, choices=VisitPeriod.choices, default=VisitPeriod.MONTH
    )
    counted_kinds = models.JSONField(_("follow-up kinds that count"), default=list, blank=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now, editable=False)
    updated_at = models.DateTimeField(_("updated"), default=timezone.now, editable=False)

    class Meta:
        verbose_name = _("tier")
        verbose_name_plural = _("tiers")
        ordering = ["position", "code"]

    def __str__(self) -> str:
        return self.label

    @property
    def label(self) -> str:
        return self.label_zh if (get_language() or "").startswith("zh") and self.label_zh else self.label_en


def default_size_points() -> dict[str, int]:
    return {"1-10": 10, "11-50": 30, "51-200": 55, "201-1000": 80, "1000+": 100}


def default_industry_points() -> dict[str, int]:
    return {}


def default_grid() -> dict[str, dict[str, str]]:
    return {
        "high": {"high": "A", "medium": "A", "low": "B"},
        "medium": {"high": "B", "medium": "B", "low": "C"},
        "low": {"high": "C", "medium": "D", "low": "D"},
    }


class TierModel(models.Model):
    """The scoring rules (one row; ``version`` counts the saves). Weights are relative: each score is
    the weighted mean of its parts, each part scaled to 0–100 ("full marks at" gives 100)."""

    weight_payments = models.DecimalField(_("weight: collected payments"), max_digits=6, decimal_places=2, default=40)
    weight_won = models.DecimalField(_("weight: won amount"), max_digits=6, decimal_places=2, default=30)
    weight_frequency = models.DecimalField(_("weight: frequency"), max_digits=6, decimal_places=2, default=15)
    weight_recency = models.DecimalField(_("weight: recency"), max_digits=6, decimal_places=2, default=15)
    payments_full = models.DecimalField(
        _("payments for full marks"), max_digits=16, decimal_places=2, default=Decimal("1000000")
    )
    won_full = models.DecimalField(_("won amount for full marks"), max_digits=16, decimal_places=2, default=1000000)
    frequency_full = models.PositiveIntegerField(_("purchases for full marks"), default=6)
    recency_days = models.PositiveIntegerField(_("recency horizon (days)"), default=365)
    weight_potential = models.DecimalField(_("weight: annual potential"), max_digits=6, decimal_places=2, default=50)
    weight_size = models.DecimalField(_("weight: company size"), max_digits=6, decimal_places=2, default=30)
    weight_industry = models.DecimalField(_("weight: industry"), max_digits=6, decimal_places=2, default=20)
    potential_full = models.DecimalField(
        _("annual potential for full marks"), max_digits=16, decimal_places=2, default=Decimal("2000000")
    )
    # Points (0–100) per size band and per industry code; a missing key scores 0.
    size_points = models.JSONField(_("points per company size"), default=default_size_points, blank=True)
    industry_points = models.JSONField(_("points per industry"), default=default_industry_points, blank=True)
    # Custom fields that add to the potential score:
    # [{"key": "employees", "weight": 10, "full": 500}]  (number and money fields), or
    # [{"key": "segment", "weight": 10, "points": {"smb": 20, "ent": 100}}]  (single select fields).
    custom_factors = models.JSONField(_("custom field factors"), default=list, blank=True)
    value_high = models.DecimalField(_("value: high from"), max_digits=5, decimal_places=1, default=60)
    value_medium = models.DecimalField(_("value: medium from"), max_digits=5, decimal_places=1, default=25)
    potential_high = models.DecimalField(_("potential: high from"), max_digits=5, decimal_places=1, default=60)
    potential_medium = models.DecimalField(_("potential: medium from"), max_digits=5, decimal_places=1, default=30)
    # {value band: {potential band: tier code}} for the bands high, medium, low.
    grid = models.JSONField(_("tier grid"), default=default_grid)
    updated_at = models.DateTimeField(_("updated"), default=timezone.now, editable=False)
    updated_by = models.ForeignKey(
        "users.User", on_delete=models.SET_NULL, null=True, blank=True, related_name="+", verbose_name=_("by")
    )
    version = models.PositiveIntegerField(default=1, editable=False)

    class Meta:
        verbose_name = _("tier model")
        verbose_name_plural = _("tier models")

    def __str__(self) -> str:
        return f"tier model v{self.version}"


class ManualTier(models.Model):
    """A tier set by hand, with a reason; it stays until cleared."""

    customer = models.OneToOneField(
        "customers.Customer", on_delete=models.CASCADE, related_name="manual_tier", verbose_name=_("customer")
    )
    tier = models.CharField(_("tier"), max_length=16)
    reason = models.CharField(_("reason"), max_length=500)
    set_by = models.ForeignKey("users.User", on_delete=models.PROTECT, related_name="+", verbose_name=_("by"))
    set_at = models.DateTimeField(_("set"), default=timezone.now)

    class Meta:
        verbose_name = _("manual tier")
        verbose_name_plural = _("manual tiers")

    def __str__(self) -> str:
        return f"{self.customer_id}: {self.tier}"


class TierChange(models.Model):
    """One change of a customer's tier: from, to, why (the scores, or the manual reason), when, by whom."""

    customer = models.ForeignKey(
        "customers.Customer", on_delete=models.CASCADE, related_name="tier_changes", verbose_name=_("customer")
    )
    from_tier = models.CharField(_("from"), max_length=16, blank=True)
    to_tier = models.CharField(_("to"), max_length=16, blank=True)
    # Automatic: {"value": 72.5, "potential": 40.0, "value_band": "high", "potential_band": "medium",
    # "parts": {...}, "model_version": 3}; manual: {"note": "…"}.
    reason = models.JSONField(_("reason"), default=dict)
    manual = models.BooleanField(_("manual"), default=False)
    by = models.ForeignKey(
        "users.User", on_delete=models.SET_NULL, null=True, blank=True, related_name="+", verbose_name=_("by")
    )
    at = models.DateTimeField(_("at"), default=timezone.now)

    class Meta:
        verbose_name = _("tier change")
        verbose_name_plural = _("tier changes")
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["customer", "-at", "-id"], name="tier_change_customer")]

    def __str__(self) -> str:
        return f"{self.customer_id}: {self.from_tier or '-'} → {self.to_tier or '-'}"


class SopReminder(models.Model):
    """The overdue-follow-up reminder sent for a customer and a due date: at most one each."""

    customer = models.ForeignKey("customers.Customer", on_delete=models.CASCADE, related_name="+")
    due_on = models.DateField()
    recipient = models.ForeignKey("users.User", on_delete=models.CASCADE, related_name="+")
    sent_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["customer", "due_on"], name="sop_reminder_once")]

    def __str__(self) -> str:
        return f"{self.customer_id} {self.due_on}"
