"""Forms only parse and validate input; the services decide and write."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from bridgecrm.core.forms import BridgeForm
from bridgecrm.core.money import CURRENCIES
from bridgecrm.pipeline.gates import GATE_CHOICES
from bridgecrm.pipeline.models import ForecastCategory, ProductCategory, ProductUnit, StageKind
from bridgecrm.pipeline.selectors import ProductFilters

ANY: list[tuple[str, Any]] = [("", "—")]
ACTIVE_CHOICES = [("1", _("Active")), ("0", _("Inactive")), ("all", _("All"))]
PRICE = {"max_digits": 14, "decimal_places": 2, "min_value": 0}


class ProductFilterForm(BridgeForm):
    q = forms.CharField(
        label=_("Search"),
        max_length=100,
        required=False,
        widget=forms.TextInput(attrs={"type": "search", "placeholder": _("SKU or name")}),
    )
    category = forms.ChoiceField(label=_("Category"), choices=ANY + ProductCategory.choices, required=False)
    active = forms.ChoiceField(label=_("Status"), choices=ACTIVE_CHOICES, required=False)

    def filters(self) -> ProductFilters:
        d = self.cleaned_data
        active = {"": True, "1": True, "0": False, "all": None}[d.get("active") or ""]
        return ProductFilters(q=d.get("q") or "", category=d.get("category") or "", active=active)


class ProductForm(BridgeForm):
    sku = forms.CharField(label=_("SKU"), max_length=40)
    name = forms.CharField(label=_("Name"), max_length=200)
    category = forms.ChoiceField(label=_("Category"), choices=ProductCategory.choices)
    unit = forms.ChoiceField(label=_("Unit"), choices=ProductUnit.choices)
    list_price = forms.DecimalField(label=_("List price"), **PRICE)  # type: ignore[arg-type]
    currency = forms.ChoiceField(label=_("Currency"), choices=[(c, c) for c in CURRENCIES], initial="CNY")
    is_active = forms.BooleanField(label=_("Active"), required=False, initial=True)


class PipelineForm(BridgeForm):
    name = forms.CharField(label=_("Name"), max_length=80)
    is_default = forms.BooleanField(label=_("Default pipeline"), required=False)
    is_active = forms.BooleanField(label=_("Active"), required=False, initial=True)


class StageForm(BridgeForm):
    name = forms.CharField(label=_("Name"), max_length=80)
    kind = forms.ChoiceField(label=_("Type"), choices=StageKind.choices)
    probability = forms.IntegerField(label=_("Default probability (%)"), min_value=0, max_value=100)
    stale_after_days = forms.IntegerField(
        label=_("Stale after (days)"),
        min_value=1,
        max_value=3650,
        required=False,
        help_text=_("Empty: never counts as stale."),
    )
    forecast_category = forms.ChoiceField(label=_("Forecast category"), choices=ForecastCategory.choices)
    gate_fields = forms.MultipleChoiceField(
        label=_("Required before a deal may enter"),
        choices=GATE_CHOICES,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )


class StageMoveForm(BridgeForm):
    direction = forms.ChoiceField(choices=[("up", "up"), ("down", "down")])


class LostReasonForm(BridgeForm):
    name = forms.CharField(label=_("Reason"), max_length=80)
    is_active = forms.BooleanField(label=_("Active"), required=False, initial=True)
