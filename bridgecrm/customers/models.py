"""Customers (companies or individuals), their contacts and phones, tags and saved list views."""

from __future__ import annotations

from django.db import models
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from bridgecrm.core.visibility import OwnedQuerySet


class CustomerKind(models.TextChoices):
    COMPANY = "company", _("Company")
    INDIVIDUAL = "individual", _("Individual")


class LifecycleStage(models.TextChoices):
    LEAD = "lead", _("Lead")
    PROSPECT = "prospect", _("Prospect")
    CUSTOMER = "customer", pgettext_lazy("lifecycle stage", "Customer")
    CHURNED = "churned", _("Churned")


class CustomerSource(models.TextChoices):
    REFERRAL = "referral", _("Referral")
    WEBSITE = "website", _("Website")
    EXHIBITION = "exhibition", _("Exhibition")
    COLD_CALL = "cold_call", _("Cold call")
    PARTNER = "partner", _("Partner")
    ADVERTISING = "advertising", _("Advertising")
    OTHER = "other", _("Other")


class Industry(models.TextChoices):
    MANUFACTURING = "manufacturing", _("Manufacturing")
    RETAIL = "retail", _("Retail and consumer goods")
    TECHNOLOGY = "technology", _("Technology")
    FINANCE = "finance", _("Finance")
    HEALTHCARE = "healthcare", _("Healthcare")
    EDUCATION = "education", _("Education")
    LOGISTICS = "logistics", _("Logistics")
    CONSTRUCTION = "construction", _("Construction and real estate")
    ENERGY = "energy", _("Energy")
    GOVERNMENT = "government", _("Government and public sector")
    OTHER = "other", _("Other")


class SizeBand(models.TextChoices):
    XS = "1-10", _("1–10 employees")
    S = "11-50", _("11–50 employees")
    M = "51-200", _("51–200 employees")
    L = "201-1000", _("201–1,000 employees")
    XL = "1000+", _("More than 1,000 employees")


class Country(models.TextChoices):
    """ISO 3166-1 alpha-2 codes of the countries the sales department deals with."""

    CN = "CN", _("China")
    HK = "HK", _("Hong Kong (China)")
    MO = "MO", _("Macao (China)")
    TW = "TW", _("Taiwan (China)")
    SG = "SG", _("Singapore")
    MY = "MY", _("Malaysia")
    JP = "JP", _("Japan")
    KR = "KR", _("South Korea")
    VN = "VN", _("Vietnam")
    TH = "TH", _("Thailand")
    IN = "IN", _("India")
    AU = "AU", _("Australia")
    US = "US", _("United States")
    GB = "GB", _("United Kingdom")
    DE = "DE", _("Germany")
    FR = "FR", _("France")
    IT = "IT", _("Italy")


class Province(models.TextChoices):
    """Provincial divisions of mainland China (ISO 3166-2:CN codes without the "CN-")."""

    BJ = "BJ", _("Beijing")
    TJ = "TJ", _("Tianjin")
    HE = "HE", _("Hebei")
    SX = "SX", _("Shanxi")
    NM = "NM", _("Inner Mongolia")
    LN = "LN", _("Liaoning")
    JL = "JL", _("Jilin")
    HL = "HL", _("Heilongjiang")
    SH = "SH", _("Shanghai")
    JS = "JS", _("Jiangsu")
    ZJ = "ZJ", _("Zhejiang")
    AH = "AH", _("Anhui")
    FJ = "FJ", _("Fujian")
    JX = "JX", _("Jiangxi")
    SD = "SD", _("Shandong")
    HA = "HA", _("Henan")
    HB = "HB", _("Hubei")
    HN = "HN", _("Hunan")
    GD = "GD", _("Guangdong")
    GX = "GX", _("Guangxi")
    HI = "HI", _("Hainan")
    CQ = "CQ", _("Chongqing")
    SC = "SC", _("Sichuan")
    GZ = "GZ", _("Guizhou")
    YN = "YN", _("Yunnan")
    XZ = "XZ", _("Tibet")
    SN = "SN", _("Shaanxi")
    GS = "GS", _("Gansu")
    QH = "QH", _("Qinghai")
    NX = "NX", _("Ningxia")
    XJ = "XJ", _("Xinjiang")


class DecisionRole(models.TextChoices):
    DECISION_MAKER = "decision_maker", _("Decision maker")
    INFLUENCER = "influencer", _("Influencer")
    CHAMPION = "champion", _("Champion")
    USER = "user", _("User")
    GATEKEEPER = "gatekeeper", _("Gatekeeper")
    OTHER = "other", _("Other")


class PhoneKind(models.TextChoices):
    MOBILE = "mobile", _("Mobile")
    LANDLINE = "landline", _("Landline")
    OTHER = "other", _("Other")


class Tag(models.Model):
    """A free label; names are stored trimmed and lower-cased, so "VIP" and "vip " are one tag."""

    name = models.CharField(_("name"), max_length=40, unique=True)

    class Meta:
        verbose_name = _("tag")
        verbose_name_plural = _("tags")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class CustomerQuerySet(OwnedQuerySet["Customer"]):
    owner_field = "owner"
    collaborators_field = "collaborators"
    owner_team_path = "owner__team__path"

    def visible_to(self, actor: object) -> CustomerQuerySet:
        """Owned-record visibility, minus deleted customers (a deletion is soft: the history stays)."""
        return super().visible_to(actor).filter(deleted_at__isnull=True)


class Customer(models.Model):
    kind = models.CharField(_("kind"), max_length=16, choices=CustomerKind.choices, default=CustomerKind.COMPANY)
    name = models.CharField(_("name"), max_length=200)
    lifecycle_stage = models.CharField(
        _("lifecycle stage"), max_length=16, choices=LifecycleStage.choices, default=LifecycleStage.LEAD
    )
    source = models.CharField(_("source"), max_length=16, choices=CustomerSource.choices, blank=True)
    industry = models.CharField(_("industry"), max_length=20, choices=Industry.choices, blank=True)
    country = models.CharField(_("country"), max_length=2, choices=Country.choices, default=Country.CN)
    province = models.CharField(_("province"), max_length=2, choices=Province.choices, blank=True)
    city = models.CharField(_("city"), max_length=60, blank=True)
    size = models.CharField(_("size"), max_length=10, choices=SizeBand.choices, blank=True)
    estimated_annual_potential = models.DecimalField(
        _("estimated annual potential"), max_digits=14, decimal_places=2, null=True, blank=True
    )
    currency = models.CharField(_("currency"), max_length=3, default="CNY")
    tags = models.ManyToManyField(Tag, blank=True, related_name="customers", verbose_name=_("tags"))
    owner = models.ForeignKey(
        "users.User",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="owned_customers",
        verbose_name=_("owner"),
        db_index=False,  # the (owner, updated_at) and (owner, next_follow_up_on) indexes lead with it
    )
    collaborators = models.ManyToManyField(
        "users.User", blank=True, related_name="collaborating_customers", verbose_name=_("collaborators")
    )
    team = models.ForeignKey(
        "users.Team",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="customers",
        verbose_name=_("team"),
        db_index=False,  # the (team, updated_at) index leads with it
    )
    created_at = models.DateTimeField(_("created"), default=timezone.now, editable=False)
    updated_at = models.DateTimeField(_("updated"), default=timezone.now, editable=False)
    deleted_at = models.DateTimeField(_("deleted"), null=True, blank=True, editable=False)
    version = models.PositiveIntegerField(default=1, editable=False)
    # Kept by the activities services when a follow-up is logged: what "my day", SOP cadences and
    # the public pool's recycling rules read, without scanning the follow-ups.
    last_follow_up_at = models.DateTimeField(_("last follow-up"), null=True, blank=True, editable=False)
    next_follow_up_on = models.DateField(_("next follow-up"), null=True, blank=True, editable=False)
    # Duplicate check (customers/normalise.py): the name without legal suffixes, width, case or spaces.
    name_key = models.CharField(_("name key"), max_length=200, blank=True, editable=False)
    # Tiering (bridgecrm.tiers): the current tier's code, kept by the tier services for list filters.
    tier = models.CharField(_("tier"), max_length=16, blank=True, editable=False)
    # Public pool (bridgecrm.pool): a customer without an owner is in the pool since ``pooled_at``;
    # ``owner_since`` is when the current owner got it (claim, assignment or creation).
    pooled_at = models.DateTimeField(_("in the pool since"), null=True, blank=True, editable=False)
    owner_since = models.DateTimeField(_("owned since"), null=True, blank=True, editable=False)
    is_protected = models.BooleanField(_("protected from recycling"), default=False, editable=False)
    # Custom field values (bridgecrm.customization), keyed by the field's key.
    custom = models.JSONField(_("custom fields"), default=dict, blank=True, editable=False)
    # Duplicate merge (customers/merge.py): a merged customer is soft-deleted and points to the survivor.
    merged_into = models.ForeignKey(
        "self",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        editable=False,
        verbose_name=_("merged into"),
    )

    objects = CustomerQuerySet.as_manager()

    class Meta:
        verbose_name = _("customer")
        verbose_name_plural = _("customers")
        ordering = ["-updated_at", "-id"]
        indexes = [
            # One index per sort order of the list (the id breaks ties), and one per common filter.
            models.Index(fields=["-updated_at", "-id"], name="customer_updated"),
            models.Index(fields=["-created_at", "-id"], name="customer_created"),
            models.Index(fields=["name", "id"], name="customer_name"),
            models.Index(fields=["estimated_annual_potential", "id"], name="customer_potential"),
            models.Index(fields=["owner", "-updated_at"], name="customer_owner_updated"),
            models.Index(fields=["team", "-updated_at"], name="customer_team_updated"),
            models.Index(fields=["lifecycle_stage", "-updated_at"], name="customer_stage_updated"),
            models.Index(fields=["country", "province", "city"], name="customer_place"),
            models.Index(fields=["owner", "next_follow_up_on"], name="customer_owner_next_follow_up"),
            models.Index(fields=["name_key"], name="customer_name_key"),
            models.Index(fields=["tier", "-updated_at"], name="customer_tier_updated"),
            models.Index(fields=["pooled_at", "id"], name="customer_pooled"),
        ]

    def __str__(self) -> str:
        return self.name


class ContactQuerySet(models.QuerySet["Contact"]):
    def visible_to(self, actor: object) -> ContactQuerySet:
        """A contact is visible when its customer is.

        Written as a correlated ``EXISTS`` (the customer, by primary key): as ``customer_id IN
        (visible customers)`` SQLite first built the list of every visible customer (100,000 rows,
        ~90 ms) even to read the contacts of one customer, and a list of contacts newest first read
        and sorted every visible customer's contacts (6 s at 300,000)."""
        visible = Customer.objects.visible_to(actor).filter(pk=OuterRef("customer_id"))
        return self.filter(Exists(visible))


class Contact(models.Model):
    customer = models.ForeignKey(
        Customer, on_delete=models.CASCADE, related_name="contacts", verbose_name=_("customer")
    )
    name = models.CharField(_("name"), max_length=100)
    title = models.CharField(pgettext_lazy("job title", "title"), max_length=100, blank=True)
    decision_role = models.CharField(_("role in the decision"), max_length=20, choices=DecisionRole.choices, blank=True)
    email = models.EmailField(_("e-mail"), blank=True, db_index=True)  # stored lower-cased
    wechat = models.CharField(_("WeChat ID"), max_length=64, blank=True)
    is_primary = models.BooleanField(_("primary contact"), default=False)
    notes = models.TextField(_("notes"), blank=True, max_length=2000)
    created_at = models.DateTimeField(_("created"), default=timezone.now, editable=False)
    updated_at = models.DateTimeField(_("updated"), default=timezone.now, editable=False)
    # Custom field values (bridgecrm.customization), keyed by the field's key.
    custom = models.JSONField(_("custom fields"), default=dict, blank=True, editable=False)

    objects = ContactQuerySet.as_manager()

    class Meta:
        verbose_name = _("contact")
        verbose_name_plural = _("contacts")
        ordering = ["-is_primary", "name", "id"]
        constraints = [
            models.UniqueConstraint(fields=["customer"], condition=Q(is_primary=True), name="one_primary_contact"),
        ]

    def __str__(self) -> str:
        return self.name


class ContactPhone(models.Model):
    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="phones", verbose_name=_("contact"))
    raw = models.CharField(_("as entered"), max_length=40)
    e164 = models.CharField(_("phone"), max_length=20, db_index=True)
    kind = models.CharField(_("kind"), max_length=10, choices=PhoneKind.choices, default=PhoneKind.MOBILE)

    class Meta:
        verbose_name = _("phone")
        verbose_name_plural = _("phones")
        ordering = ["id"]

    def __str__(self) -> str:
        return self.e164


class SavedView(models.Model):
    """A named set of list filters and a sort order; shared views show to the owner's team."""

    owner = models.ForeignKey(
        "users.User", on_delete=models.CASCADE, related_name="saved_customer_views", verbose_name=_("owner")
    )
    name = models.CharField(_("name"), max_length=80)
    query = models.CharField(_("filters"), max_length=2000, blank=True)
    shared_with_team = models.BooleanField(_("shared with my team"), default=False)
    created_at = models.DateTimeField(_("created"), default=timezone.now, editable=False)

    class Meta:
        verbose_name = _("saved view")
        verbose_name_plural = _("saved views")
        ordering = ["name", "id"]
        constraints = [models.UniqueConstraint(fields=["owner", "name"], name="saved_view_name_once")]

    def __str__(self) -> str:
        return self.name


class DuplicateSettings(models.Model):
    """How the duplicate check (查重) matches: one row (pk 1), changed by admins (customers/dedup.py)."""

    match_name = models.BooleanField(_("same name (without legal suffixes)"), default=True)
    match_phone = models.BooleanField(_("same phone number"), default=True)
    match_email = models.BooleanField(_("same e-mail address"), default=True)
    match_similar_name = models.BooleanField(_("similar name"), default=True)
    similarity_threshold = models.PositiveSmallIntegerField(_("similarity threshold (%)"), default=85)
    version = models.PositiveIntegerField(default=1, editable=False)
    updated_at = models.DateTimeField(_("updated"), default=timezone.now, editable=False)

    class Meta:
        verbose_name = _("duplicate check settings")
        verbose_name_plural = _("duplicate check settings")

    def __str__(self) -> str:
        return str(_("Duplicate check settings"))
