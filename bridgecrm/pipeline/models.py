"""Products, pipelines with their stages, and the reasons a deal is lost: configured by admins."""

from __future__ import annotations

import decimal

from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from bridgecrm.core.visibility import OwnedQuerySet


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
    # What one unit costs the company, in ``currency``; None when unknown (never taken as 0). Seen and
    # set only with the ``products.view_cost`` capability.
    unit_cost = models.DecimalField(_("unit cost"), max_digits=14, decimal_places=2, null=True, blank=True)
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
        constraints = [
            models.CheckConstraint(
                condition=Q(unit_cost__gte=0) | Q(unit_cost__isnull=True), name="product_cost_not_negative"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.sku} {self.name}"

    @property
    def list_margin_percent(self) -> decimal.Decimal | None:
        """(list price − unit cost) ÷ list price, in %, one decimal; None when the cost is unknown."""
        if self.unit_cost is None or not self.list_price:
            return None
        margin = (self.list_price - self.unit_cost) * 100 / self.list_price
        return margin.quantize(decimal.Decimal("0.1"), rounding=decimal.ROUND_HALF_UP)


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


# ---- deals (商机) ----------------------------------------------------------------------------------


class DealStatus(models.TextChoices):
    """The kind of the deal's current stage, kept on the deal so lists and boards filter on one column."""

    OPEN = "open", _("Open")
    WON = "won", _("Won")
    LOST = "lost", _("Lost")


class Competitor(models.Model):
    name = models.CharField(_("name"), max_length=120, unique=True)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("competitor")
        verbose_name_plural = _("competitors")
        ordering = ["name", "id"]

    def __str__(self) -> str:
        return self.name


class DealQuerySet(OwnedQuerySet["Deal"]):
    owner_field = "owner"
    collaborators_field = "collaborators"
    owner_team_path = "owner__team__path"

    def visible_to(self, actor: object) -> DealQuerySet:
        """Owned-record visibility, minus deleted deals (a deletion is soft: the history stays)."""
        return super().visible_to(actor).filter(deleted_at__isnull=True)


class Deal(models.Model):
    name = models.CharField(_("name"), max_length=200)
    customer = models.ForeignKey(
        "customers.Customer", on_delete=models.PROTECT, related_name="deals", verbose_name=_("customer")
    )
    contact = models.ForeignKey(
        "customers.Contact",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="deals",
        verbose_name=_("contact"),
    )
    pipeline = models.ForeignKey(Pipeline, on_delete=models.PROTECT, related_name="deals", verbose_name=_("pipeline"))
    stage = models.ForeignKey(Stage, on_delete=models.PROTECT, related_name="deals", verbose_name=_("stage"))
    status = models.CharField(_("status"), max_length=8, choices=DealStatus.choices, default=DealStatus.OPEN)
    amount = models.DecimalField(_("amount"), max_digits=14, decimal_places=2, null=True, blank=True)
    currency = models.CharField(_("currency"), max_length=3, default="CNY")
    # ``amount`` in the company's base currency at the rate of ``expected_close_date`` (or of the day
    # it was saved); kept by the services so boards and reports sum one column.
    amount_base = models.DecimalField(_("amount (base currency)"), max_digits=16, decimal_places=2, null=True)
    # The cost of the deal's lines in the base currency, at the same rate as ``amount_base``; None
    # (unknown) when the deal has no lines or any line has no cost. Margin = amount_base − cost_base.
    cost_base = models.DecimalField(_("cost (base currency)"), max_digits=16, decimal_places=2, null=True)
    expected_close_date = models.DateField(_("expected close date"), null=True, blank=True)
    probability = models.PositiveSmallIntegerField(_("probability"))
    probability_overridden = models.BooleanField(default=False)
    forecast_category = models.CharField(_("forecast category"), max_length=16, choices=ForecastCategory.choices)
    forecast_overridden = models.BooleanField(default=False)
    owner = models.ForeignKey(
        "users.User", on_delete=models.PROTECT, related_name="owned_deals", verbose_name=_("owner")
    )
    collaborators = models.ManyToManyField(
        "users.User", blank=True, related_name="collaborating_deals", verbose_name=_("collaborators")
    )
    team = models.ForeignKey(
        "users.Team", on_delete=models.PROTECT, null=True, blank=True, related_name="deals", verbose_name=_("team")
    )
    source = models.CharField(_("source"), max_length=16, blank=True)  # customers.CustomerSource codes
    next_step = models.CharField(_("next step"), max_length=200, blank=True)
    competitors = models.ManyToManyField(Competitor, blank=True, related_name="deals", verbose_name=_("competitors"))
    lost_reason = models.ForeignKey(
        LostReason, on_delete=models.PROTECT, null=True, blank=True, related_name="deals", verbose_name=_("lost reason")
    )
    lost_note = models.CharField(_("note on the loss"), max_length=500, blank=True)
    closed_on = models.DateField(_("closed on"), null=True, blank=True)  # the won or lost date
    stage_entered_at = models.DateTimeField(_("in this stage since"), default=timezone.now)
    created_at = models.DateTimeField(_("created"), default=timezone.now, editable=False)
    updated_at = models.DateTimeField(_("updated"), default=timezone.now, editable=False)
    deleted_at = models.DateTimeField(_("deleted"), null=True, blank=True, editable=False)
    # Custom field values (bridgecrm.customization), keyed by the field's key.
    custom = models.JSONField(_("custom fields"), default=dict, blank=True, editable=False)
    version = models.PositiveIntegerField(default=1, editable=False)

    objects = DealQuerySet.as_manager()

    class Meta:
        verbose_name = _("deal")
        verbose_name_plural = _("deals")
        ordering = ["-updated_at", "-id"]
        indexes = [
            models.Index(fields=["-updated_at", "-id"], name="deal_updated"),
            models.Index(fields=["owner", "-updated_at"], name="deal_owner_updated"),
            # "my day": the owner's open deals longest in their stage (the stale ones) first.
            models.Index(fields=["owner", "status", "stage_entered_at"], name="deal_owner_status_entered"),
            models.Index(fields=["customer", "-updated_at"], name="deal_customer_updated"),
            models.Index(fields=["stage", "-updated_at", "-id"], name="deal_stage_updated"),
            models.Index(fields=["pipeline", "status", "stage"], name="deal_pipeline_status"),
            models.Index(fields=["status", "expected_close_date"], name="deal_status_close"),
            # Won amounts per owner over a period (targets, scorecards, commissions) read this index
            # alone: the owner, amount and deletion mark ride along after the date.
            models.Index(
                fields=["status", "closed_on", "owner", "amount_base", "deleted_at"], name="deal_status_closed_owner"
            ),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(probability__lte=100), name="deal_probability_max_100"),
            models.CheckConstraint(
                condition=Q(amount__gte=0) | Q(amount__isnull=True), name="deal_amount_not_negative"
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def margin_base(self) -> decimal.Decimal | None:
        """amount_base − cost_base; None when either is unknown."""
        if self.amount_base is None or self.cost_base is None:
            return None
        return self.amount_base - self.cost_base

    @property
    def margin_percent(self) -> decimal.Decimal | None:
        """The margin as a % of the amount, one decimal; None when unknown or the amount is 0."""
        margin = self.margin_base
        if margin is None or not self.amount_base:
            return None
        return (margin * 100 / self.amount_base).quantize(decimal.Decimal("0.1"), rounding=decimal.ROUND_HALF_UP)


class DealLine(models.Model):
    """A product line on a deal; ``subtotal`` = quantity × unit price × (1 − discount %), rounded once."""

    deal = models.ForeignKey(Deal, on_delete=models.CASCADE, related_name="lines", verbose_name=_("deal"))
    product = models.ForeignKey(
        Product, on_delete=models.PROTECT, null=True, blank=True, related_name="deal_lines", verbose_name=_("product")
    )
    name = models.CharField(_("name"), max_length=200)
    quantity = models.DecimalField(_("quantity"), max_digits=12, decimal_places=3)
    unit_price = models.DecimalField(_("unit price"), max_digits=14, decimal_places=2)
    discount_percent = models.DecimalField(_("discount %"), max_digits=5, decimal_places=2, default=0)
    subtotal = models.DecimalField(_("subtotal"), max_digits=16, decimal_places=2)
    # The cost of one unit in the deal's currency: the product's cost when the line was added
    # (converted at that day's rate), or set by someone allowed to see costs; None when unknown.
    unit_cost = models.DecimalField(_("unit cost"), max_digits=14, decimal_places=2, null=True, blank=True)
    order = models.PositiveIntegerField(_("order"), default=0)

    class Meta:
        verbose_name = _("line item")
        verbose_name_plural = _("line items")
        ordering = ["deal", "order", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(quantity__gt=0), name="deal_line_quantity_positive"),
            models.CheckConstraint(condition=Q(unit_price__gte=0), name="deal_line_price_not_negative"),
            models.CheckConstraint(
                condition=Q(unit_cost__gte=0) | Q(unit_cost__isnull=True), name="deal_line_cost_not_negative"
            ),
            models.CheckConstraint(
                condition=Q(discount_percent__gte=0) & Q(discount_percent__lte=100), name="deal_line_discount_0_100"
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def cost(self) -> decimal.Decimal | None:
        """quantity × unit cost, rounded to the cent; None when the cost is unknown."""
        if self.unit_cost is None:
            return None
        return (self.quantity * self.unit_cost).quantize(decimal.Decimal("0.01"), rounding=decimal.ROUND_HALF_UP)

    @property
    def margin(self) -> decimal.Decimal | None:
        cost = self.cost
        return None if cost is None else self.subtotal - cost

    @property
    def margin_percent(self) -> decimal.Decimal | None:
        margin = self.margin
        if margin is None or not self.subtotal:
            return None
        return (margin * 100 / self.subtotal).quantize(decimal.Decimal("0.1"), rounding=decimal.ROUND_HALF_UP)


class DealStageChange(models.Model):
    """One move of a deal between stages (the first row, with no ``from_stage``, is its creation)."""

    deal = models.ForeignKey(Deal, on_delete=models.CASCADE, related_name="stage_changes", verbose_name=_("deal"))
    from_stage = models.ForeignKey(
        Stage, on_delete=models.PROTECT, null=True, blank=True, related_name="+", verbose_name=_("from")
    )
    to_stage = models.ForeignKey(Stage, on_delete=models.PROTECT, related_name="+", verbose_name=_("to"))
    changed_at = models.DateTimeField(_("when"), default=timezone.now)
    changed_by = models.ForeignKey(
        "users.User", on_delete=models.SET_NULL, null=True, blank=True, related_name="+", verbose_name=_("by")
    )
    # Seconds the deal spent in ``from_stage`` before this move (None for the creation row).
    seconds_in_from_stage = models.BigIntegerField(_("time in the previous stage"), null=True, blank=True)

    class Meta:
        verbose_name = _("stage change")
        verbose_name_plural = _("stage changes")
        ordering = ["deal", "changed_at", "id"]
        indexes = [
            models.Index(fields=["deal", "changed_at"], name="stage_change_deal"),
            models.Index(fields=["to_stage", "changed_at"], name="stage_change_to"),
        ]

    def __str__(self) -> str:
        return f"{self.deal_id}: {self.from_stage_id} → {self.to_stage_id}"
