"""The order-to-cash end of the funnel: quotes (报价单), contracts (合同), payment plans and the
payments received against them (回款).

A quote, a contract and a payment belong to a customer and are visible to whoever sees that
customer (the owner, collaborators, the owner's managers, admins): collections are followed up by
the account's people, not only by the rep who typed the contract in.
"""

from __future__ import annotations

from typing import Self, TypeVar

from django.db import models
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

M = TypeVar("M", bound=models.Model)


class CustomerScopedQuerySet(models.QuerySet[M]):
    """Visible when the customer (reached through ``customer_lookup``) is visible."""

    customer_lookup = "customer"

    def visible_to(self, actor: object) -> Self:
        from bridgecrm.customers.models import Customer

        # A correlated EXISTS, not ``customer_id IN (visible customers)``: SQLite would build the list of
        # every visible customer first, even to read one customer's documents (see ContactQuerySet).
        visible = Customer.objects.visible_to(actor).filter(pk=OuterRef(f"{self.customer_lookup}_id"))
        return self.filter(Exists(visible))


class QuoteQuerySet(CustomerScopedQuerySet["Quote"]):
    pass


class ContractQuerySet(CustomerScopedQuerySet["Contract"]):
    pass


class AttachmentQuerySet(CustomerScopedQuerySet["ContractAttachment"]):
    customer_lookup = "contract__customer"


class PaymentQuerySet(CustomerScopedQuerySet["Payment"]):
    customer_lookup = "contract__customer"


class PlanLineQuerySet(CustomerScopedQuerySet["PaymentPlanLine"]):
    customer_lookup = "contract__customer"


class DocumentSettings(models.Model):
    """One row: numbering prefixes and defaults for quotes and contracts, kept by admins."""

    quote_prefix = models.CharField(_("quote number prefix"), max_length=12, default="Q")
    contract_prefix = models.CharField(_("contract number prefix"), max_length=12, default="HT")
    default_tax_rate = models.DecimalField(_("default tax rate %"), max_digits=5, decimal_places=2, default=13)
    quote_validity_days = models.PositiveIntegerField(_("quotes valid for (days)"), default=30)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("document settings")
        verbose_name_plural = _("document settings")

    def __str__(self) -> str:
        return "document settings"


class NumberSequence(models.Model):
    """A counter per (kind, year): the next number is taken by an ``UPDATE … SET value = value + 1``
    in the transaction that creates the document, so two saves can never get the same number."""

    kind = models.CharField(max_length=16)
    year = models.PositiveIntegerField()
    value = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["kind", "year"], name="number_sequence_once")]

    def __str__(self) -> str:
        return f"{self.kind} {self.year}: {self.value}"


class QuoteStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    SENT = "sent", _("Sent")
    ACCEPTED = "accepted", _("Accepted")
    REJECTED = "rejected", _("Rejected")
    EXPIRED = "expired", _("Expired")
    SUPERSEDED = "superseded", _("Superseded")  # a later version of the same quote replaced it


class Quote(models.Model):
    """One version of a quote. Versions share ``number``; only the latest one may change."""

    number = models.CharField(_("number"), max_length=40)
    version = models.PositiveIntegerField(_("version"), default=1)
    customer = models.ForeignKey(
        "customers.Customer", on_delete=models.PROTECT, related_name="quotes", verbose_name=_("customer")
    )
    deal = models.ForeignKey(
        "pipeline.Deal", on_delete=models.PROTECT, null=True, blank=True, related_name="quotes", verbose_name=_("deal")
    )
    contact = models.ForeignKey(
        "customers.Contact",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("contact"),
    )
    title = models.CharField(_("title"), max_length=200, blank=True)
    currency = models.CharField(_("currency"), max_length=3, default="CNY")
    tax_rate = models.DecimalField(_("tax rate %"), max_digits=5, decimal_places=2, default=0)
    subtotal = models.DecimalField(_("subtotal"), max_digits=16, decimal_places=2, default=0)  # lines after discount
    discount_total = models.DecimalField(_("discounts"), max_digits=16, decimal_places=2, default=0)
    tax_amount = models.DecimalField(_("tax"), max_digits=16, decimal_places=2, default=0)
    total = models.DecimalField(_("total"), max_digits=16, decimal_places=2, default=0)
    valid_until = models.DateField(_("valid until"))
    status = models.CharField(_("status"), max_length=10, choices=QuoteStatus.choices, default=QuoteStatus.DRAFT)
    terms = models.TextField(_("terms"), blank=True, max_length=4000)
    owner = models.ForeignKey("users.User", on_delete=models.PROTECT, related_name="quotes", verbose_name=_("owner"))
    sent_at = models.DateTimeField(_("sent"), null=True, blank=True)
    decided_at = models.DateTimeField(_("accepted or rejected"), null=True, blank=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now, editable=False)
    updated_at = models.DateTimeField(_("updated"), default=timezone.now, editable=False)
    lock_version = models.PositiveIntegerField(default=1, editable=False)

    objects = QuoteQuerySet.as_manager()

    class Meta:
        verbose_name = _("quote")
        verbose_name_plural = _("quotes")
        ordering = ["-created_at", "-id"]
        constraints = [models.UniqueConstraint(fields=["number", "version"], name="quote_number_version_once")]
        indexes = [
            models.Index(fields=["-created_at", "-id"], name="quote_created"),
            models.Index(fields=["customer", "-created_at"], name="quote_customer"),
            models.Index(fields=["deal", "-created_at"], name="quote_deal"),
            models.Index(fields=["status", "valid_until"], name="quote_status_valid"),
        ]

    def __str__(self) -> str:
        return f"{self.number} v{self.version}"


class QuoteLine(models.Model):
    quote = models.ForeignKey(Quote, on_delete=models.CASCADE, related_name="lines", verbose_name=_("quote"))
    product = models.ForeignKey(
        "pipeline.Product", on_delete=models.PROTECT, null=True, blank=True, related_name="+", verbose_name=_("product")
    )
    name = models.CharField(_("name"), max_length=200)
    description = models.CharField(_("description"), max_length=500, blank=True)
    unit = models.CharField(_("unit"), max_length=16, blank=True)
    quantity = models.DecimalField(_("quantity"), max_digits=12, decimal_places=3)
    unit_price = models.DecimalField(_("unit price"), max_digits=14, decimal_places=2)
    discount_percent = models.DecimalField(_("discount %"), max_digits=5, decimal_places=2, default=0)
    line_total = models.DecimalField(_("line total"), max_digits=16, decimal_places=2)
    order = models.PositiveIntegerField(_("order"), default=0)

    class Meta:
        verbose_name = _("quote line")
        verbose_name_plural = _("quote lines")
        ordering = ["quote", "order", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(quantity__gt=0), name="quote_line_quantity_positive"),
            models.CheckConstraint(condition=Q(unit_price__gte=0), name="quote_line_price_not_negative"),
            models.CheckConstraint(
                condition=Q(discount_percent__gte=0) & Q(discount_percent__lte=100), name="quote_line_discount_0_100"
            ),
        ]

    def __str__(self) -> str:
        return self.name


class ContractStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    ACTIVE = "active", pgettext_lazy("contract status", "Active")
    COMPLETED = "completed", _("Completed")
    TERMINATED = "terminated", _("Terminated")


class Contract(models.Model):
    number = models.CharField(_("number"), max_length=40, unique=True)
    title = models.CharField(_("title"), max_length=200)
    customer = models.ForeignKey(
        "customers.Customer", on_delete=models.PROTECT, related_name="contracts", verbose_name=_("customer")
    )
    deal = models.ForeignKey(
        "pipeline.Deal",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="contracts",
        verbose_name=_("deal"),
    )
    quote = models.OneToOneField(
        Quote, on_delete=models.PROTECT, null=True, blank=True, related_name="contract", verbose_name=_("quote")
    )
    amount = models.DecimalField(_("amount"), max_digits=16, decimal_places=2)
    currency = models.CharField(_("currency"), max_length=3, default="CNY")
    signed_on = models.DateField(_("signed on"), null=True, blank=True)
    starts_on = models.DateField(_("starts on"), null=True, blank=True)
    ends_on = models.DateField(_("ends on"), null=True, blank=True)
    status = models.CharField(_("status"), max_length=12, choices=ContractStatus.choices, default=ContractStatus.DRAFT)
    owner = models.ForeignKey("users.User", on_delete=models.PROTECT, related_name="contracts", verbose_name=_("owner"))
    # Kept by the payment services: what has been received, for lists and collection rates.
    received_amount = models.DecimalField(_("received"), max_digits=16, decimal_places=2, default=0)
    notes = models.TextField(_("notes"), blank=True, max_length=4000)
    created_at = models.DateTimeField(_("created"), default=timezone.now, editable=False)
    updated_at = models.DateTimeField(_("updated"), default=timezone.now, editable=False)
    lock_version = models.PositiveIntegerField(default=1, editable=False)

    objects = ContractQuerySet.as_manager()

    class Meta:
        verbose_name = _("contract")
        verbose_name_plural = _("contracts")
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["-created_at", "-id"], name="contract_created"),
            models.Index(fields=["customer", "-created_at"], name="contract_customer"),
            models.Index(fields=["owner", "-created_at"], name="contract_owner"),
            models.Index(fields=["status", "-signed_on"], name="contract_status_signed"),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gte=0), name="contract_amount_not_negative"),
            models.CheckConstraint(
                condition=Q(ends_on__isnull=True) | Q(starts_on__isnull=True) | Q(ends_on__gte=models.F("starts_on")),
                name="contract_ends_after_start",
            ),
        ]

    def __str__(self) -> str:
        return self.number


class ContractAttachment(models.Model):
    """An uploaded file, stored under a server-made name; ``original_name`` is only shown and sent
    back as the download's file name."""

    contract = models.ForeignKey(
        Contract, on_delete=models.CASCADE, related_name="attachments", verbose_name=_("contract")
    )
    file = models.FileField(_("file"), upload_to="contracts/%Y/%m/", max_length=200)
    original_name = models.CharField(_("file name"), max_length=200)
    content_type = models.CharField(_("type"), max_length=100)
    size = models.PositiveBigIntegerField(_("size"))
    sha256 = models.CharField(max_length=64)
    uploaded_by = models.ForeignKey("users.User", on_delete=models.PROTECT, related_name="+", verbose_name=_("by"))
    uploaded_at = models.DateTimeField(_("uploaded"), default=timezone.now)

    objects = AttachmentQuerySet.as_manager()

    class Meta:
        verbose_name = _("attachment")
        verbose_name_plural = _("attachments")
        ordering = ["contract", "uploaded_at", "id"]

    def __str__(self) -> str:
        return self.original_name


class PaymentPlanLine(models.Model):
    """One instalment the customer owes: due date and amount; ``paid_amount`` is the sum of the
    allocations to it, kept by the payment services. Status (pending / partly paid / paid / overdue)
    follows from these and today's date."""

    contract = models.ForeignKey(
        Contract, on_delete=models.CASCADE, related_name="plan_lines", verbose_name=_("contract")
    )
    due_on = models.DateField(_("due on"))
    amount = models.DecimalField(_("amount"), max_digits=16, decimal_places=2)
    paid_amount = models.DecimalField(_("paid"), max_digits=16, decimal_places=2, default=0)
    paid_on = models.DateField(_("paid in full on"), null=True, blank=True)
    note = models.CharField(_("note"), max_length=200, blank=True)

    objects = PlanLineQuerySet.as_manager()

    class Meta:
        verbose_name = _("payment plan line")
        verbose_name_plural = _("payment plan lines")
        ordering = ["contract", "due_on", "id"]
        indexes = [
            models.Index(fields=["contract", "due_on", "id"], name="plan_line_contract_due"),
            models.Index(fields=["due_on"], condition=Q(paid_on__isnull=True), name="plan_line_open_due"),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="plan_line_amount_positive"),
            models.CheckConstraint(
                condition=Q(paid_amount__gte=0) & Q(paid_amount__lte=models.F("amount")), name="plan_line_paid_0_amount"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.contract_id} {self.due_on} {self.amount}"


class PaymentMethod(models.TextChoices):
    BANK_TRANSFER = "bank", _("Bank transfer")
    ALIPAY = "alipay", _("Alipay")
    WECHAT_PAY = "wechat", _("WeChat Pay")
    CHEQUE = "cheque", _("Cheque")
    ACCEPTANCE_BILL = "bill", _("Bank acceptance bill")
    CASH = "cash", _("Cash")
    OTHER = "other", _("Other")


class Payment(models.Model):
    """Money received (回款) on a contract, in the contract's currency, allocated to its plan lines
    oldest due first."""

    contract = models.ForeignKey(
        Contract, on_delete=models.PROTECT, related_name="payments", verbose_name=_("contract")
    )
    received_on = models.DateField(_("received on"))
    amount = models.DecimalField(_("amount"), max_digits=16, decimal_places=2)
    currency = models.CharField(_("currency"), max_length=3)
    method = models.CharField(
        _("method"), max_length=10, choices=PaymentMethod.choices, default=PaymentMethod.BANK_TRANSFER
    )
    reference = models.CharField(_("reference"), max_length=100, blank=True)
    note = models.CharField(_("note"), max_length=500, blank=True)
    recorded_by = models.ForeignKey("users.User", on_delete=models.PROTECT, related_name="+", verbose_name=_("by"))
    created_at = models.DateTimeField(_("recorded"), default=timezone.now, editable=False)

    objects = PaymentQuerySet.as_manager()

    class Meta:
        verbose_name = _("payment")
        verbose_name_plural = _("payments")
        ordering = ["-received_on", "-id"]
        indexes = [
            models.Index(fields=["contract", "-received_on"], name="payment_contract"),
            # The collections list's order; contract, currency and amount ride along so that sums of
            # a period per owner (targets, scorecards, commissions) read the index alone.
            models.Index(
                fields=["-received_on", "-id", "contract", "currency", "amount"], name="payment_received_cover"
            ),
        ]
        constraints = [models.CheckConstraint(condition=Q(amount__gt=0), name="payment_amount_positive")]

    def __str__(self) -> str:
        return f"{self.contract_id} {self.received_on} {self.amount}"


class PaymentAllocation(models.Model):
    payment = models.ForeignKey(Payment, on_delete=models.CASCADE, related_name="allocations")
    plan_line = models.ForeignKey(PaymentPlanLine, on_delete=models.PROTECT, related_name="allocations")
    amount = models.DecimalField(max_digits=16, decimal_places=2)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="allocation_amount_positive"),
            models.UniqueConstraint(fields=["payment", "plan_line"], name="allocation_once"),
        ]

    def __str__(self) -> str:
        return f"{self.payment_id} → {self.plan_line_id}: {self.amount}"


class RefundQuerySet(CustomerScopedQuerySet["Refund"]):
    customer_lookup = "contract__customer"


class Refund(models.Model):
    """Money given back (退款) on a payment, in the payment's currency. The refunds of a payment add up
    to at most its amount. A refund takes back what the payment paid on its plan lines, latest due
    first (``RefundAllocation``), so those lines are owed again; collected figures are net of refunds,
    each refund counting on ``refunded_on``. ``contract`` and ``currency`` repeat the payment's so that
    period sums per owner read the covering index alone, as they do for payments."""

    payment = models.ForeignKey(Payment, on_delete=models.PROTECT, related_name="refunds", verbose_name=_("payment"))
    contract = models.ForeignKey(Contract, on_delete=models.PROTECT, related_name="refunds", verbose_name=_("contract"))
    refunded_on = models.DateField(_("refunded on"))
    amount = models.DecimalField(_("amount"), max_digits=16, decimal_places=2)
    currency = models.CharField(_("currency"), max_length=3)
    reason = models.CharField(_("reason"), max_length=500)
    recorded_by = models.ForeignKey("users.User", on_delete=models.PROTECT, related_name="+", verbose_name=_("by"))
    created_at = models.DateTimeField(_("recorded"), default=timezone.now, editable=False)

    objects = RefundQuerySet.as_manager()

    class Meta:
        verbose_name = _("refund")
        verbose_name_plural = _("refunds")
        ordering = ["-refunded_on", "-id"]
        indexes = [
            # Sums of a period per owner or customer (targets, scorecards, tiers, commissions,
            # collections) read this index alone: the date, then what they group and add up.
            models.Index(
                fields=["refunded_on", "payment", "contract", "currency", "amount"], name="refund_refunded_cover"
            ),
            models.Index(fields=["contract", "-refunded_on"], name="refund_contract"),
        ]
        constraints = [models.CheckConstraint(condition=Q(amount__gt=0), name="refund_amount_positive")]

    def __str__(self) -> str:
        return f"{self.payment_id} {self.refunded_on} −{self.amount}"


class RefundAllocation(models.Model):
    """What a refund took back from one plan line (that line's allocation of the refunded payment)."""

    refund = models.ForeignKey(Refund, on_delete=models.CASCADE, related_name="allocations")
    plan_line = models.ForeignKey(PaymentPlanLine, on_delete=models.PROTECT, related_name="refund_allocations")
    amount = models.DecimalField(max_digits=16, decimal_places=2)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="refund_allocation_amount_positive"),
            models.UniqueConstraint(fields=["refund", "plan_line"], name="refund_allocation_once"),
        ]

    def __str__(self) -> str:
        return f"{self.refund_id} ← {self.plan_line_id}: {self.amount}"
