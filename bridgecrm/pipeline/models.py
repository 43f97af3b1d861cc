"""Products, pipelines with their stages, and the reasons a deal is lost: configured by admins."""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy


class ProductCategory(models.TextChoices):
    SOFTWARE = "software", _("Software licence")
    SUBSCRIPTION = "subscription", _("Subscription")
    SERVICE = "service", _("Service")
    HARDWARE = "hardware", _("Hardware")
    TRAINING = "training", _("Training")
    OTHER = "other", _("Other")


class ProductUnit(models.TextChoices):
    PIECE = "piece", _("piece")
    LICENCE = "licence", _("licence")
    USER_YEAR = "user_year", _("user per year")
    SET = "set", _("set")
    DAY = "day", _("person-day")
    HOUR = "hour", _("hour")
    YEAR = "year", _("year")
    PROJECT = "project", _("project")


class Product(models.Model):
    sku = models.CharField(_("SKU"), max_length=40, unique=True)
    name = models.CharField(_("name"), max_length=200)
    category = models.CharField(_("category"), max_length=16, choices=ProductCategory.choices)
    unit = models.CharField(_("unit"), max_length=16, choices=ProductUnit.choices, default=ProductUnit.PIECE)
    list_price = models.DecimalField(_("list price"), max_digits=14, decimal_places=2)
    currency = models.CharField(_("currency"), max_length=3, default="CNY")
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now, editable=False)
    updated_at = models.DateTimeField(_("updated"), default=timezone.now, editable=False)

    class Meta:
        verbose_name = _("product")
        verbose_name_plural = _("products")
        ordering = ["name", "id"]
        indexes = [
            models.Index(fields=["name", "id"], name="product_name"),
            models.Index(fields=["category", "name"], name="product_category_name"),
        ]

    def __str__(self) -> str:
        return f"{self.sku} {self.name}"


class Pipeline(models.Model):
    name = models.CharField(_("name"), max_length=80, unique=True)
    is_default = models.BooleanField(_("default"), default=False)
    is_active = models.BooleanField(_("active"), default=True)
    order = models.PositiveIntegerField(_("order"), default=0)

    class Meta:
        verbose_name = _("pipeline")
        verbose_name_plural = _("pipelines")
        ordering = ["order", "id"]
        constraints = [
            models.UniqueConstraint(fields=["is_default"], condition=Q(is_default=True), name="one_default_pipeline"),
        ]

    def __str__(self) -> str:
        return self.name


class StageKind(models.TextChoices):
    OPEN = "open", _("Open")
    WON = "won", _("Won")
    LOST = "lost", _("Lost")


class ForecastCategory(models.TextChoices):
    PIPELINE = "pipeline", pgettext_lazy("forecast category", "Pipeline")
    BEST_CASE = "best_case", _("Best case")
    COMMIT = "commit", _("Commit")
    CLOSED = "closed", _("Closed")
    OMITTED = "omitted", _("Omitted")


class Stage(models.Model):
    pipeline = models.ForeignKey(Pipeline, on_delete=models.CASCADE, related_name="stages", verbose_name=_("pipeline"))
    name = models.CharField(_("name"), max_length=80)
    order = models.PositiveIntegerField(_("order"))
    probability = models.PositiveSmallIntegerField(_("default probability"))
    kind = models.CharField(_("type"), max_length=8, choices=StageKind.choices, default=StageKind.OPEN)
    stale_after_days = models.PositiveIntegerField(_("stale after (days)"), null=True, blank=True)
    forecast_category = models.CharField(
        _("forecast category"), max_length=16, choices=ForecastCategory.choices, default=ForecastCategory.PIPELINE
    )
    gate_fields = models.JSONField(_("required fields"), default=list, blank=True)

    class Meta:
        verbose_name = _("stage")
        verbose_name_plural = _("stages")
        ordering = ["pipeline", "order"]
        constraints = [
            models.UniqueConstraint(fields=["pipeline", "order"], name="stage_order_once"),
            models.CheckConstraint(condition=Q(probability__lte=100), name="stage_probability_max_100"),
            models.CheckConstraint(condition=~Q(kind="won") | Q(probability=100), name="stage_won_is_100"),
            models.CheckConstraint(condition=~Q(kind="lost") | Q(probability=0), name="stage_lost_is_0"),
        ]

    def __str__(self) -> str:
        return self.name

    def gate_labels(self) -> list[str]:
        from bridgecrm.pipeline.gates import GATE_FIELDS

        return [str(GATE_FIELDS[c]) for c in self.gate_fields if c in GATE_FIELDS]


class LostReason(models.Model):
    name = models.CharField(_("name"), max_length=80, unique=True)
    is_active = models.BooleanField(_("active"), default=True)
    order = models.PositiveIntegerField(_("order"), default=0)

    class Meta:
        verbose_name = _("lost reason")
        verbose_name_plural = _("lost reasons")
        ordering = ["order", "id"]

    def __str__(self) -> str:
        return self.name
