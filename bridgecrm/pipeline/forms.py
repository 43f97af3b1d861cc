"""Forms only parse and validate input; the services decide and write."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from bridgecrm.core.forms import BridgeForm
from bridgecrm.core.money import CURRENCIES
from bridgecrm.customers.models import CustomerSource
from bridgecrm.customization import forms as custom_forms
from bridgecrm.customization.models import Entity
from bridgecrm.pipeline.deal_selectors import DealFilters
from bridgecrm.pipeline.gates import GATE_CHOICES
from bridgecrm.pipeline.models import (
    DealStatus,
    ForecastCategory,
    Pipeline,
    ProductCategory,
    ProductUnit,
    Stage,
    StageKind,
)
from bridgecrm.pipeline.selectors import ProductFilters
from bridgecrm.users.models import Team, User

ANY: list[tuple[str, Any]] = [("", "—")]
ACTIVE_CHOICES = [("1", _("Active")), ("0", _("Inactive")), ("all", _("All"))]
PRICE = {"max_digits": 14, "decimal_places": 2, "min_value": 0}
AMOUNT = {"max_digits": 16, "decimal_places": 2, "min_value": 0}


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
    unit_cost = forms.DecimalField(
        label=_("Unit cost"),
        required=False,
        help_text=_("What one unit costs the company, in the product's currency. Empty: unknown (never taken as 0)."),
        **PRICE,  # type: ignore[arg-type]
    )
    is_active = forms.BooleanField(label=_("Active"), required=False, initial=True)

    def __init__(self, *args: Any, show_cost: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if not show_cost:  # cost is for holders of products.view_cost only: not even an empty field
            del self.fields["unit_cost"]


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


# ---- deals ---------------------------------------------------------------------------------------


class DealFilterForm(BridgeForm):
    """The deal list's filters; choices come from what the actor may see."""

    q = forms.CharField(
        label=_("Search"),
        max_length=100,
        required=False,
        widget=forms.TextInput(attrs={"type": "search", "placeholder": _("Deal or customer name")}),
    )
    pipeline = forms.TypedChoiceField(label=_("Pipeline"), coerce=int, required=False, empty_value=None)
    stage = forms.TypedChoiceField(label=_("Stage"), coerce=int, required=False, empty_value=None)
    status = forms.ChoiceField(label=_("Status"), choices=ANY + DealStatus.choices, required=False)
    # Ids, not choices: an id one does not see filters to nothing rather than voiding every filter.
    owner = forms.IntegerField(label=_("Owner"), required=False, min_value=1, max_value=2**63 - 1, widget=forms.Select)
    team = forms.IntegerField(label=_("Team"), required=False, min_value=1, max_value=2**63 - 1, widget=forms.Select)
    customer = forms.IntegerField(widget=forms.HiddenInput, required=False, min_value=1, max_value=2**63 - 1)
    source = forms.ChoiceField(label=_("Source"), choices=ANY + CustomerSource.choices, required=False)
    close_month = forms.CharField(
        label=_("Close month"), required=False, widget=forms.TextInput(attrs={"type": "month"})
    )
    close_from = forms.DateField(label=_("Close from"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    close_to = forms.DateField(label=_("Close to"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    amount_min = forms.DecimalField(
        label=_("Amount from"), required=False, min_value=0, max_digits=16, decimal_places=2
    )
    amount_max = forms.DecimalField(label=_("Amount to"), required=False, min_value=0, max_digits=16, decimal_places=2)
    sort = forms.ChoiceField(
        label=_("Sort"),
        required=False,
        choices=[
            ("-updated", _("Recently updated")),
            ("-created", _("Newest")),
            ("name", _("Name A–Z")),
            ("-amount", _("Largest amount")),
            ("close", _("Closing soonest")),
        ],
    )

    main = ("q", "pipeline", "stage", "status", "owner", "close_month", "sort")

    def __init__(self, *args: Any, actor: User, custom: bool = True, **kwargs: Any) -> None:
        """``custom``: with the custom field filters (the board has none)."""
        super().__init__(*args, **kwargs)
        pipelines = list(Pipeline.objects.order_by("order", "id"))
        self.fields["pipeline"].choices = ANY + [(p.pk, p.name) for p in pipelines]  # type: ignore[attr-defined]
        stages = Stage.objects.select_related("pipeline").order_by("pipeline__order", "pipeline_id", "order")
        self.fields["stage"].choices = ANY + [  # type: ignore[attr-defined]
            (s.pk, f"{s.pipeline.name} · {s.name}" if len(pipelines) > 1 else s.name) for s in stages
        ]
        people = User.objects.visible_to(actor).filter(is_active=True).order_by("full_name", "username")[:500]
        self.fields["owner"].widget.choices = ANY + [(u.pk, str(u)) for u in people]
        teams = Team.objects.visible_to(actor).filter(is_active=True).order_by("path")[:200]
        self.fields["team"].widget.choices = ANY + [(t.pk, t.name) for t in teams]
        if custom:
            custom_forms.add_filter_fields(self, entity=Entity.DEAL, actor=actor)

    def clean(self) -> dict[str, Any] | None:
        data = super().clean()
        custom_forms.clean_filter_fields(self)
        return data

    def main_fields(self) -> list[Any]:
        return [self[name] for name in self.main]

    def more_fields(self) -> list[Any]:
        return [self[name] for name in self.fields if name not in self.main and name != "customer"]

    def more_in_use(self) -> bool:
        data = getattr(self, "cleaned_data", {})
        return any(data.get(name) not in (None, "") for name in self.fields if name not in self.main)

    def clean_close_month(self) -> dt.date | None:
        raw = self.cleaned_data.get("close_month") or ""
        if not raw:
            return None
        try:
            return dt.date.fromisoformat(f"{raw}-01")
        except ValueError as exc:
            raise forms.ValidationError(_("Enter a month such as 2026-03.")) from exc

    def filters(self) -> DealFilters:
        d = self.cleaned_data
        return DealFilters(
            q=d.get("q") or "",
            pipeline_id=d.get("pipeline"),
            stage_id=d.get("stage"),
            status=d.get("status") or "",
            owner_id=d.get("owner"),
            team_id=d.get("team"),
            customer_id=d.get("customer"),
            source=d.get("source") or "",
            close_month=d.get("close_month"),
            close_from=d.get("close_from"),
            close_to=d.get("close_to"),
            amount_min=d.get("amount_min"),
            amount_max=d.get("amount_max"),
            sort=d.get("sort") or "-updated",
            custom=custom_forms.filter_values(self),
        )


class DealForm(BridgeForm):
    name = forms.CharField(label=_("Name"), max_length=200)
    customer = forms.IntegerField(label=_("Customer"), min_value=1, max_value=2**63 - 1)
    contact = forms.TypedChoiceField(label=_("Contact"), coerce=int, required=False, empty_value=None)
    stage = forms.TypedChoiceField(label=_("Stage"), coerce=int, required=False, empty_value=None)
    amount = forms.DecimalField(label=_("Amount"), required=False, min_value=0, max_digits=14, decimal_places=2)
    currency = forms.ChoiceField(label=_("Currency"), choices=[(c, c) for c in CURRENCIES], initial="CNY")
    expected_close_date = forms.DateField(
        label=_("Expected close date"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    probability = forms.IntegerField(
        label=_("Probability (%)"),
        required=False,
        min_value=0,
        max_value=100,
        help_text=_("Leave empty for the stage's default."),
    )
    forecast_category = forms.ChoiceField(
        label=_("Forecast category"), choices=ANY + ForecastCategory.choices, required=False
    )
    source = forms.ChoiceField(label=_("Source"), choices=ANY + CustomerSource.choices, required=False)
    next_step = forms.CharField(label=_("Next step"), max_length=200, required=False)
    competitors = forms.CharField(
        label=_("Competitors"),
        max_length=1000,
        required=False,
        help_text=_("Names separated by commas; new ones are added to the list."),
    )
    owner = forms.TypedChoiceField(label=_("Owner"), coerce=int, required=False, empty_value=None)
    collaborators = forms.TypedMultipleChoiceField(label=_("Collaborators"), coerce=int, required=False)
    version = forms.IntegerField(widget=forms.HiddenInput, required=False)

    def __init__(
        self,
        *args: Any,
        actor: User,
        customers: list[Any],
        contacts: list[Any],
        stages: list[Stage] | None,
        may_reassign: bool,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.fields["customer"].widget = forms.Select(choices=[(c.pk, c.name) for c in customers])
        self.fields["contact"].choices = ANY + [(c.pk, c.name) for c in contacts]  # type: ignore[attr-defined]
        if stages is None:
            del self.fields["stage"]
        else:
            self.fields["stage"].choices = [(s.pk, s.name) for s in stages]  # type: ignore[attr-defined]
        people = list(User.objects.visible_to(actor).filter(is_active=True).order_by("full_name", "username")[:500])
        self.fields["collaborators"].choices = [(u.pk, str(u)) for u in people]  # type: ignore[attr-defined]
        if may_reassign:
            self.fields["owner"].choices = ANY + [(u.pk, str(u)) for u in people]  # type: ignore[attr-defined]
        else:
            del self.fields["owner"]
        self.people = {u.pk: u for u in people}

    def clean_competitors(self) -> list[str]:
        raw = self.cleaned_data.get("competitors") or ""
        return [part.strip() for part in raw.replace("，", ",").split(",") if part.strip()]


class DealCloseForm(BridgeForm):
    outcome = forms.ChoiceField(choices=[("won", _("Won")), ("lost", _("Lost")), ("reopen", _("Reopen"))])
    version = forms.IntegerField(widget=forms.HiddenInput)
    lost_reason = forms.TypedChoiceField(label=_("Lost reason"), coerce=int, required=False, empty_value=None)
    note = forms.CharField(label=_("Note"), max_length=500, required=False)

    def __init__(self, *args: Any, reasons: list[Any], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["lost_reason"].choices = ANY + [(r.pk, r.name) for r in reasons]  # type: ignore[attr-defined]


class GateForm(BridgeForm):
    """The fields a stage gate may ask for, filled in place during a move; ``only`` keeps the missing ones."""

    stage = forms.IntegerField(widget=forms.HiddenInput, min_value=1, max_value=2**63 - 1)
    version = forms.IntegerField(widget=forms.HiddenInput, min_value=1, max_value=2**31)
    next = forms.CharField(widget=forms.HiddenInput, required=False, max_length=1000)
    amount = forms.DecimalField(label=_("Amount"), required=False, min_value=0, max_digits=14, decimal_places=2)
    expected_close_date = forms.DateField(
        label=_("Expected close date"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    contact = forms.TypedChoiceField(label=_("Contact"), coerce=int, required=False, empty_value=None)
    probability = forms.IntegerField(label=_("Probability (%)"), required=False, min_value=0, max_value=100)
    competitors = forms.CharField(label=_("Competitors"), max_length=1000, required=False)
    lost_reason = forms.TypedChoiceField(label=_("Lost reason"), coerce=int, required=False, empty_value=None)
    lost_note = forms.CharField(label=_("Note"), max_length=500, required=False)
    next_step = forms.CharField(label=_("Next step"), max_length=200, required=False)

    VALUE_FIELDS: tuple[str, ...] = (
        "amount",
        "expected_close_date",
        "contact",
        "probability",
        "competitors",
        "lost_reason",
        "lost_note",
        "next_step",
    )

    def __init__(
        self, *args: Any, contacts: list[Any], reasons: list[Any], only: list[str] | None = None, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.fields["contact"].choices = ANY + [(c.pk, c.name) for c in contacts]  # type: ignore[attr-defined]
        self.fields["lost_reason"].choices = ANY + [(r.pk, r.name) for r in reasons]  # type: ignore[attr-defined]
        if only is not None:
            keep = set(only) | ({"lost_note"} if "lost_reason" in only else set())
            for name in self.VALUE_FIELDS:
                if name not in keep:
                    del self.fields[name]
            for name in only:
                if name in self.fields:
                    self.fields[name].required = True

    def values(self) -> dict[str, Any]:
        d = self.cleaned_data
        return {k: d[k] for k in self.VALUE_FIELDS if k in d and d[k] not in (None, "")}

    def value_fields(self) -> list[Any]:
        return [self[name] for name in self.VALUE_FIELDS if name in self.fields]
