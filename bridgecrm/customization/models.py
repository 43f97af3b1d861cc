"""Custom fields (自定义字段): admins add typed fields to customers, contacts and deals in the UI.

A definition is a row; the values live in the record's ``custom`` JSON column under the field's
``key``, which never changes after creation, so renaming a field (its labels) keeps every value
and the audit history readable. Deleting a field archives it (``archived_at``): its values stay in
the rows and in the history, but no form, list, export, import or API shows it any more.
"""

from __future__ import annotations

from django.db import models
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _


class Entity(models.TextChoices):
    CUSTOMER = "customer", _("Customer")
    CONTACT = "contact", _("Contact")
    DEAL = "deal", _("Deal")


class FieldType(models.TextChoices):
    TEXT = "text", _("Text")
    LONG_TEXT = "long_text", _("Long text")
    NUMBER = "number", _("Number")
    MONEY = "money", _("Money")
    DATE = "date", _("Date")
    DATETIME = "datetime", _("Date and time")
    SINGLE_SELECT = "single_select", _("Single select")
    MULTI_SELECT = "multi_select", _("Multiple select")
    CHECKBOX = "checkbox", _("Checkbox")
    USER = "user", _("User")
    URL = "url", _("Web address")
    EMAIL = "email", _("E-mail")
    PHONE = "phone", _("Phone")


class FieldDefinitionQuerySet(models.QuerySet["FieldDefinition"]):
    def active(self) -> FieldDefinitionQuerySet:
        return self.filter(archived_at__isnull=True)

    def for_entity(self, entity: str) -> FieldDefinitionQuerySet:
        return self.active().filter(entity=entity).order_by("section", "position", "id")


class FieldDefinition(models.Model):
    entity = models.CharField(_("record type"), max_length=16, choices=Entity.choices)
    # The JSON key of the value: lower-case letters, digits and underscores, fixed at creation.
    key = models.SlugField(_("key"), max_length=40)
    type = models.CharField(_("type"), max_length=16, choices=FieldType.choices)
    label_en = models.CharField(_("label (English)"), max_length=80)
    label_zh = models.CharField(_("label (Chinese)"), max_length=80)
    help_en = models.CharField(_("help text (English)"), max_length=200, blank=True)
    help_zh = models.CharField(_("help text (Chinese)"), max_length=200, blank=True)
    required = models.BooleanField(_("required"), default=False)
    # The default in stored form (see values.py), or None.
    default = models.JSONField(_("default"), null=True, blank=True)
    # Single and multiple select: [{"value": "a", "label_en": "…", "label_zh": "…"}, …].
    options = models.JSONField(_("options"), default=list, blank=True)
    # Empty means every role; otherwise only users whose role is listed see or edit the field.
    visible_to = models.ManyToManyField(
        "users.Role", blank=True, related_name="visible_custom_fields", verbose_name=_("visible to")
    )
    editable_by = models.ManyToManyField(
        "users.Role", blank=True, related_name="editable_custom_fields", verbose_name=_("editable by")
    )
    section = models.CharField(_("form section"), max_length=60, blank=True)
    position = models.PositiveIntegerField(_("order"), default=0)
    created_at = models.DateTimeField(_("created"), default=timezone.now, editable=False)
    updated_at = models.DateTimeField(_("updated"), default=timezone.now, editable=False)
    archived_at = models.DateTimeField(_("deleted"), null=True, blank=True, editable=False)
    version = models.PositiveIntegerField(default=1, editable=False)

    objects = FieldDefinitionQuerySet.as_manager()

    class Meta:
        verbose_name = _("custom field")
        verbose_name_plural = _("custom fields")
        ordering = ["entity", "section", "position", "id"]
        constraints = [
            # A key is never reused, even after the field is deleted: old values keep their meaning.
            models.UniqueConstraint(fields=["entity", "key"], name="custom_field_key_once"),
        ]

    def __str__(self) -> str:
        return self.label

    @property
    def label(self) -> str:
        return self.label_zh if (get_language() or "").startswith("zh") and self.label_zh else self.label_en

    @property
    def help_text(self) -> str:
        return self.help_zh if (get_language() or "").startswith("zh") and self.help_zh else self.help_en

    def option_label(self, value: str) -> str:
        zh = (get_language() or "").startswith("zh")
        for option in self.options or []:
            if option.get("value") == value:
                return str(option.get("label_zh") if zh and option.get("label_zh") else option.get("label_en", value))
        return value
