"""Core models: the append-only audit trail and the scheduler's slot ledger."""

from __future__ import annotations

from typing import Any, NoReturn

from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.utils.translation import gettext_lazy as _

from bridgecrm.core.context import Source


class AuditAction(models.TextChoices):
    CREATE = "create", _("Created")
    UPDATE = "update", _("Changed")
    DELETE = "delete", _("Deleted")
    SECURITY = "security", _("Security event")


class AuditImmutable(Exception):
    pass


class AuditQuerySet(models.QuerySet["AuditEntry"]):
    def update(self, **kwargs: Any) -> NoReturn:
        raise AuditImmutable("audit rows are append-only")

    def delete(self) -> NoReturn:
        raise AuditImmutable("audit rows are append-only")

    def for_object(self, obj: models.Model) -> AuditQuerySet:
        ct = ContentType.objects.get_for_model(obj, for_concrete_model=False)
        return self.filter(content_type=ct, object_id=str(obj.pk))


class AuditEntry(models.Model):
    """One changed field (or one event) of one object, by one actor, from one source.

    Rows are only ever inserted: the model, its queryset and (on PostgreSQL) a trigger refuse
    updates and deletes.
    """

    id = models.BigAutoField(primary_key=True)
    at = models.DateTimeField(_("time"), db_index=False)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,
        verbose_name=_("actor"),
    )
    actor_label = models.CharField(_("actor"), max_length=150, blank=True)
    source = models.CharField(_("source"), max_length=16, choices=[(s.value, s.value) for s in Source])
    request_id = models.CharField(_("request id"), max_length=64, blank=True)
    ip = models.CharField(_("IP address"), max_length=64, blank=True)
    action = models.CharField(_("action"), max_length=16, choices=AuditAction.choices)
    event = models.CharField(_("event"), max_length=40, blank=True)
    content_type = models.ForeignKey(
        ContentType,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,
    )
    object_id = models.CharField(max_length=64, blank=True)
    object_repr = models.CharField(_("object"), max_length=200, blank=True)
    field = models.CharField(_("field"), max_length=100, blank=True)
    old_value = models.JSONField(_("old value"), null=True, blank=True)
    new_value = models.JSONField(_("new value"), null=True, blank=True)

    objects = AuditQuerySet.as_manager()

    class Meta:
        verbose_name = _("audit entry")
        verbose_name_plural = _("audit entries")
        indexes = [
            models.Index(fields=["content_type", "object_id", "-at", "-id"], name="audit_object_idx"),
            models.Index(fields=["content_type", "-at", "-id"], name="audit_type_idx"),
            models.Index(fields=["actor", "-at", "-id"], name="audit_actor_idx"),
            models.Index(fields=["field", "-at", "-id"], name="audit_field_idx"),
            models.Index(fields=["event", "-at", "-id"], name="audit_event_idx"),
            models.Index(fields=["-at", "-id"], name="audit_at_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.actor_label} {self.action} {self.object_repr} {self.field}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            raise AuditImmutable("audit rows are append-only")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> NoReturn:
        raise AuditImmutable("audit rows are append-only")


class ScheduledSlot(models.Model):
    """One (schedule entry, slot time) pair that has been enqueued. Unique: a slot runs once."""

    name = models.CharField(max_length=100)
    slot = models.DateTimeField()
    enqueued_at = models.DateTimeField()
    task_result_id = models.CharField(max_length=64, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["name", "slot"], name="scheduled_slot_once")]
        indexes = [models.Index(fields=["name", "-slot"], name="scheduled_slot_latest")]

    def __str__(self) -> str:
        return f"{self.name} @ {self.slot.isoformat()}"


class CompanyProfile(models.Model):
    """The one row of company-wide settings (pk 1): its name and base currency."""

    name = models.CharField(_("company name"), max_length=200, blank=True)
    base_currency = models.CharField(_("base currency"), max_length=3, default="CNY")

    class Meta:
        verbose_name = _("company profile")
        verbose_name_plural = _("company profile")

    def __str__(self) -> str:
        return self.name or "Bridge"

    @classmethod
    def current(cls) -> CompanyProfile:
        profile, _created = cls.objects.get_or_create(pk=1)
        return profile


class ExchangeRate(models.Model):
    """Units of the base currency for one unit of ``currency``, in force from ``valid_from``."""

    currency = models.CharField(_("currency"), max_length=3)
    valid_from = models.DateField(_("valid from"))
    rate = models.DecimalField(_("rate"), max_digits=20, decimal_places=10)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("exchange rate")
        verbose_name_plural = _("exchange rates")
        constraints = [
            models.UniqueConstraint(fields=["currency", "valid_from"], name="exchange_rate_once_a_day"),
            models.CheckConstraint(condition=models.Q(rate__gt=0), name="exchange_rate_positive"),
        ]
        indexes = [models.Index(fields=["currency", "-valid_from"], name="exchange_rate_latest")]

    def __str__(self) -> str:
        return f"{self.currency} {self.rate} ({self.valid_from})"
