"""The public pool (公海): its rules (one row) and the events that move customers in and out of it.

A customer is in the pool when it has no owner and ``Customer.pooled_at`` is set. The pool's
history (recycled, claimed, released, assigned, protected, warned) is a ``PoolEvent`` per change:
it explains each move on the customer's timeline and is what the daily claim limit, the cool-down
and the once-per-ownership warning are counted from, so nothing lives in memory between runs.
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class PoolRules(models.Model):
    """The pool's rules; one row (pk 1), made on first read. A zero turns a rule off."""

    recycle_no_follow_up_days = models.PositiveIntegerField(
        _("recycle after days without a follow-up"), default=30, help_text=_("0 turns this rule off.")
    )
    recycle_no_progress_days = models.PositiveIntegerField(
        _("recycle after days without deal progress"), default=90, help_text=_("0 turns this rule off.")
    )
    warning_days = models.PositiveIntegerField(_("warn the owner days before"), default=3)
    holding_limit = models.PositiveIntegerField(
        _("customers a rep may hold"), default=200, help_text=_("0 means no limit.")
    )
    daily_claim_limit = models.PositiveIntegerField(
        _("claims per rep per day"), default=10, help_text=_("0 means no limit.")
    )
    cooldown_days = models.PositiveIntegerField(_("days before a rep may re-claim a customer they lost"), default=7)
    protected_cap = models.PositiveIntegerField(
        _("protected customers per rep"), default=10, help_text=_("0 means none may be protected.")
    )
    mask_contacts = models.BooleanField(_("mask contact details in the pool"), default=True)
    version = models.PositiveIntegerField(default=1, editable=False)
    updated_at = models.DateTimeField(_("updated"), default=timezone.now, editable=False)

    class Meta:
        verbose_name = _("public pool rules")
        verbose_name_plural = _("public pool rules")
        constraints = [models.CheckConstraint(condition=Q(pk=1), name="pool_rules_singleton")]

    def __str__(self) -> str:
        return "pool rules"


class PoolEventKind(models.TextChoices):
    RECYCLED = "recycled", _("Recycled")
    RELEASED = "released", _("Released")
    CLAIMED = "claimed", _("Claimed")
    ASSIGNED = "assigned", _("Assigned")
    PROTECTED = "protected", _("Protected")
    UNPROTECTED = "unprotected", _("Protection removed")
    WARNED = "warned", _("Warned")


class RecycleReason(models.TextChoices):
    NO_FOLLOW_UP = "no_follow_up", _("No follow-up")
    NO_PROGRESS = "no_progress", _("No deal progress")


class PoolEvent(models.Model):
    customer = models.ForeignKey(
        "customers.Customer", on_delete=models.CASCADE, related_name="pool_events", verbose_name=_("customer")
    )
    kind = models.CharField(_("kind"), max_length=12, choices=PoolEventKind.choices)
    at = models.DateTimeField(_("when"), default=timezone.now)
    # Who did it (None: the recycling job) and whom it concerns (the rep who lost or got the customer).
    actor = models.ForeignKey(
        "users.User", on_delete=models.PROTECT, null=True, blank=True, related_name="+", verbose_name=_("by")
    )
    user = models.ForeignKey(
        "users.User", on_delete=models.PROTECT, null=True, blank=True, related_name="+", verbose_name=_("rep")
    )
    reason = models.CharField(_("reason"), max_length=16, choices=RecycleReason.choices, blank=True)
    days = models.PositiveIntegerField(_("days"), null=True, blank=True)
    note = models.CharField(_("note"), max_length=300, blank=True)
    # The ownership period an event belongs to (the owner's ``owner_since``): one warning per period.
    period_start = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("pool event")
        verbose_name_plural = _("pool events")
        ordering = ["-at", "-id"]
        indexes = [
            models.Index(fields=["customer", "-at", "-id"], name="pool_event_customer"),
            models.Index(fields=["user", "kind", "-at"], name="pool_event_user_kind"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["customer", "period_start"], condition=Q(kind="warned"), name="pool_one_warning_per_period"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.customer_id}"
