"""Imports (导入): a job per uploaded file, mappings saved for reuse, and the external ids that make a
re-run of the same file change nothing.

The engine (``imports/engine.py``) reads the job's stored file, validates and writes it in batches;
each batch commits whole together with ``rows_committed`` (the resume point), so a killed import
leaves only whole batches and continues where it stopped. See ``imports/README-engine.md``.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class ImportKind(models.TextChoices):
    CUSTOMERS = "customers", _("Customers")
    CONTACTS = "contacts", _("Contacts")
    DEALS = "deals", _("Deals")
    FOLLOW_UPS = "follow_ups", _("Follow-ups")
    PRODUCTS = "products", _("Products")
    PAYMENTS = "payments", _("Payments")


class ImportStatus(models.TextChoices):
    UPLOADED = "uploaded", _("Uploaded")  # file stored, mapping not confirmed yet
    VALIDATED = "validated", _("Checked")  # a dry run finished
    QUEUED = "queued", _("Queued")
    RUNNING = "running", _("Running")
    DONE = "done", _("Done")
    FAILED = "failed", _("Failed")  # the file as a whole could not be read (not: some rows failed)


class OnDuplicate(models.TextChoices):
    SKIP = "skip", _("Skip the row")
    UPDATE = "update", _("Update the existing record")
    CREATE = "create", _("Create a new record anyway")


class ImportJob(models.Model):
    kind = models.CharField(_("kind"), max_length=16, choices=ImportKind.choices)
    status = models.CharField(_("status"), max_length=12, choices=ImportStatus.choices, default=ImportStatus.UPLOADED)
    # Server-made path under BRIDGE_VAR_DIR/imports (never a name the user chose); original_name is
    # only shown.
    file_path = models.CharField(_("stored file"), max_length=500, editable=False)
    original_name = models.CharField(_("file name"), max_length=255)
    file_sha256 = models.CharField(_("file checksum"), max_length=64, blank=True, db_index=True, editable=False)
    encoding = models.CharField(_("detected encoding"), max_length=40, blank=True)
    headers = models.JSONField(_("columns"), default=list, blank=True)
    # {source column: target field}; a field is a kind field name ("name", "owner", …) or "custom.<key>".
    mapping = models.JSONField(_("column mapping"), default=dict, blank=True)
    external_id_column = models.CharField(_("external id column"), max_length=200, blank=True)
    on_duplicate = models.CharField(
        _("when a duplicate is found"), max_length=8, choices=OnDuplicate.choices, default=OnDuplicate.SKIP
    )
    default_owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("default owner"),
    )
    # On update, a mapped column's empty cell empties the field (else it leaves the field as it is).
    blank_clears = models.BooleanField(_("empty cells clear fields"), default=False)
    dry_run = models.BooleanField(_("dry run"), default=False)
    # Progress and result. rows_total is known after the first full read (dry run or count pass).
    rows_total = models.PositiveIntegerField(_("rows in the file"), null=True, blank=True)
    rows_committed = models.PositiveIntegerField(_("rows done"), default=0)  # resume point: data rows handled
    rows_read = models.PositiveIntegerField(_("rows read"), default=0)
    created_count = models.PositiveIntegerField(_("created"), default=0)
    updated_count = models.PositiveIntegerField(_("updated"), default=0)
    skipped_count = models.PositiveIntegerField(_("skipped"), default=0)
    failed_count = models.PositiveIntegerField(_("failed"), default=0)
    # Duplicate findings of a dry run: [{"row": n, "column": …, "value": …, "existing_id": id}, …] (first 1,000).
    findings = models.JSONField(_("duplicate findings"), default=list, blank=True)
    error_file_path = models.CharField(_("error file"), max_length=500, blank=True, editable=False)
    message = models.CharField(_("message"), max_length=500, blank=True)  # why a job failed as a whole
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="import_jobs", verbose_name=_("by")
    )
    created_at = models.DateTimeField(_("created"), default=timezone.now, editable=False)
    started_at = models.DateTimeField(_("started"), null=True, blank=True, editable=False)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True, editable=False)
    updated_at = models.DateTimeField(_("updated"), default=timezone.now, editable=False)

    class Meta:
        verbose_name = _("import")
        verbose_name_plural = _("imports")
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["created_by", "-created_at"], name="import_job_by")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.original_name}"

    @property
    def progress_percent(self) -> int:
        if not self.rows_total:
            return 100 if self.status in (ImportStatus.DONE, ImportStatus.VALIDATED) else 0
        done = self.rows_read if self.dry_run else self.rows_committed  # a check commits nothing
        return min(100, round(100 * done / self.rows_total))

    @property
    def rows_done(self) -> int:
        return self.rows_read if self.dry_run else self.rows_committed

    @property
    def checking(self) -> bool:
        """A check (dry run) queued for or running in the worker."""
        return self.dry_run and self.status in (ImportStatus.QUEUED, ImportStatus.RUNNING)


class SavedMapping(models.Model):
    """A column mapping a user saved; offered again for a file whose header signature matches."""

    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="import_mappings", verbose_name=_("owner")
    )
    kind = models.CharField(_("kind"), max_length=16, choices=ImportKind.choices)
    name = models.CharField(_("name"), max_length=80)
    # sha256 of the normalised (trimmed, lower-cased) headers joined by "\x1f": same columns, same mapping.
    header_signature = models.CharField(_("header signature"), max_length=64, db_index=True)
    mapping = models.JSONField(_("column mapping"), default=dict)
    created_at = models.DateTimeField(_("created"), default=timezone.now, editable=False)
    updated_at = models.DateTimeField(_("updated"), default=timezone.now, editable=False)

    class Meta:
        verbose_name = _("saved mapping")
        verbose_name_plural = _("saved mappings")
        ordering = ["name", "id"]
        constraints = [models.UniqueConstraint(fields=["owner", "kind", "name"], name="import_mapping_name_once")]

    def __str__(self) -> str:
        return self.name


class ExternalRef(models.Model):
    """The id a record had in the system it came from (a Salesforce Id, a spreadsheet row key…)."""

    kind = models.CharField(_("kind"), max_length=16, choices=ImportKind.choices)
    external_id = models.CharField(_("external id"), max_length=200)
    object_id = models.BigIntegerField(_("record"))
    job = models.ForeignKey(
        ImportJob, on_delete=models.SET_NULL, null=True, blank=True, related_name="+", verbose_name=_("import")
    )

    class Meta:
        verbose_name = _("external id")
        verbose_name_plural = _("external ids")
        constraints = [models.UniqueConstraint(fields=["kind", "external_id"], name="external_ref_once")]
        indexes = [models.Index(fields=["kind", "object_id"], name="external_ref_object")]

    def __str__(self) -> str:
        return f"{self.kind}:{self.external_id}"
