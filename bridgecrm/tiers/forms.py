"""Forms of the tier pages. The model form is built from the current model, tiers and custom fields;
``values()`` and ``tier_rows()`` give the services their plain input."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from bridgecrm.activities.models import FollowUpKind
from bridgecrm.core.forms import BridgeForm
from bridgecrm.customers.models import Industry, SizeBand
from bridgecrm.customization.models import Entity, FieldDefinition, FieldType
from bridgecrm.tiers import services
from bridgecrm.tiers.models import BANDS, Tier, TierModel, VisitPeriod

BAND_LABELS = {"high": _("high"), "medium": _("medium"), "low": _("low")}
EXTRA_TIER_ROWS = 1


def _number(label: Any, *, places: int = 2, low: int = 0, high: int | None = None) -> forms.DecimalField:
    return forms.DecimalField(
        label=label, decimal_places=places, max_digits=16, min_value=Decimal(low), max_value=high, required=True
    )


class TierModelForm(BridgeForm):
    version = forms.IntegerField(widget=forms.HiddenInput, required=False)

    def __init__(self, *args: Any, model: TierModel, tiers: list[Tier], **kwargs: Any) -> None:
        self.custom_fields = [
            f
            for f in FieldDefinition.objects.for_entity(Entity.CUSTOMER)
            if f.type in (FieldType.NUMBER, FieldType.MONEY, FieldType.SINGLE_SELECT)
        ]
        factors = {str(f.get("key")): f for f in model.custom_factors or []}
        rows = len(tiers) + EXTRA_TIER_ROWS
        initial: dict[str, Any] = {"version": model.version}
        for name in services.MODEL_FIELDS:
            if name not in ("size_points", "industry_points", "custom_factors", "grid"):
                initial[name] = getattr(model, name)
        for code in SizeBand.values:
            initial[f"size_{code}"] = (model.size_points or {}).get(code)
        for code in Industry.values:
            initial[f"industry_{code}"] = (model.industry_points or {}).get(code)
        for field in self.custom_fields:
            factor = factors.get(field.key, {})
            initial[f"cf_{field.key}_weight"] = factor.get("weight")
            initial[f"cf_{field.key}_full"] = factor.get("full")
            for option in field.options or []:
                initial[f"cf_{field.key}_pt_{option.get('value')}"] = (factor.get("points") or {}).get(
                    option.get("value")
                )
        for vband in BANDS:
            for pband in BANDS:
                initial[f"grid_{vband}_{pband}"] = (model.grid or {}).get(vband, {}).get(pband)
        for i, tier in enumerate(tiers):
            initial |= {
                f"t{i}_code": tier.code,
                f"t{i}_label_en": tier.label_en,
                f"t{i}_label_zh": tier.label_zh,
                f"t{i}_every": tier.follow_up_every_days,
                f"t{i}_visits": tier.min_visits,
                f"t{i}_period": tier.visit_period,
                f"t{i}_kinds": tier.counted_kinds,
            }
        kwargs.setdefault("initial", initial)
        super().__init__(*args, **kwargs)
        self.tier_count = rows
        labels = {f.name: f.verbose_name for f in TierModel._meta.get_fields() if hasattr(f, "verbose_name")}
        for name in (
            "weight_payments",
            "weight_won",
            "weight_frequency",
            "weight_recency",
            "weight_potential",
            "weight_size",
            "weight_industry",
        ):
            self.fields[name] = _number(labels[name], high=1000)
        for name in ("payments_full", "won_full", "potential_full"):
            self.fields[name] = _number(labels[name], low=0)
        self.fields["frequency_full"] = forms.IntegerField(label=labels["frequency_full"], min_value=1, max_value=1000)
        self.fields["recency_days"] = forms.IntegerField(label=labels["recency_days"], min_value=1, max_value=3650)
        for name in ("value_high", "value_medium", "potential_high", "potential_medium"):
            self.fields[name] = _number(labels[name], places=1, high=100)
        for code, label in SizeBand.choices:
            self.fields[f"size_{code}"] = forms.IntegerField(label=label, min_value=0, max_value=100, required=False)
        for code, label in Industry.choices:
            self.fields[f"industry_{code}"] = forms.IntegerField(
                label=label, min_value=0, max_value=100, required=False
            )
        for field in self.custom_fields:
            self.fields[f"cf_{field.key}_weight"] = forms.DecimalField(
                label=_("%(field)s: weight") % {"field": field.label}, min_value=0, max_value=1000, required=False
            )
            if field.type == FieldType.SINGLE_SELECT:
                for option in field.options or []:
                    self.fields[f"cf_{field.key}_pt_{option.get('value')}"] = forms.IntegerField(
                        label=field.option_label(str(option.get("value"))), min_value=0, max_value=100, required=False
                    )
            else:
                self.fields[f"cf_{field.key}_full"] = forms.DecimalField(
                    label=_("%(field)s: full marks at") % {"field": field.label}, min_value=0, required=False
                )
        codes = [t.code for t in tiers]
        for i in range(rows):
            submitted = str(self.data.get(f"t{i}_code", "") or "").strip() if self.is_bound else ""
            if submitted and submitted not in codes:
                codes.append(submitted)
        for vband in BANDS:
            for pband in BANDS:
                self.fields[f"grid_{vband}_{pband}"] = forms.ChoiceField(
                    label=_("value %(v)s × potential %(p)s") % {"v": BAND_LABELS[vband], "p": BAND_LABELS[pband]},
                    choices=[(c, c) for c in codes],
                )
        for i in range(rows):
            self.fields[f"t{i}_code"] = forms.CharField(label=_("Code"), max_length=16, required=False)
            self.fields[f"t{i}_label_en"] = forms.CharField(label=_("Label (English)"), max_length=60, required=False)
            self.fields[f"t{i}_label_zh"] = forms.CharField(label=_("Label (Chinese)"), max_length=60, required=False)
            self.fields[f"t{i}_every"] = forms.IntegerField(
                label=_("Follow up every (days)"), min_value=1, max_value=3650, required=False
            )
            self.fields[f"t{i}_visits"] = forms.IntegerField(
                label=_("Visits at least"), min_value=0, max_value=100, required=False
            )
            self.fields[f"t{i}_period"] = forms.ChoiceField(label=_("Per"), choices=VisitPeriod.choices, required=False)
            self.fields[f"t{i}_kinds"] = forms.MultipleChoiceField(
                label=_("Follow-up kinds that count (none ticked: all)"),
                choices=FollowUpKind.choices,
                widget=forms.CheckboxSelectMultiple,
                required=False,
            )

    # ---- groups for the template ----

    def group(self, *names: str) -> list[forms.BoundField]:
        return [self[name] for name in names]

    @property
    def value_fields(self) -> list[forms.BoundField]:
        return self.group(
            "weight_payments", "payments_full", "weight_won", "won_full", "weight_frequency", "frequency_full"
        ) + self.group("weight_recency", "recency_days")

    @property
    def potential_fields(self) -> list[forms.BoundField]:
        return self.group("weight_potential", "potential_full", "weight_size", "weight_industry")

    @property
    def threshold_fields(self) -> list[forms.BoundField]:
        return self.group("value_high", "value_medium", "potential_high", "potential_medium")

    @property
    def size_fields(self) -> list[forms.BoundField]:
        return [self[f"size_{c}"] for c in SizeBand.values]

    @property
    def industry_fields(self) -> list[forms.BoundField]:
        return [self[f"industry_{c}"] for c in Industry.values]

    @property
    def custom_groups(self) -> list[tuple[FieldDefinition, list[forms.BoundField]]]:
        groups = []
        for field in self.custom_fields:
            names = [n for n in self.fields if n.startswith(f"cf_{field.key}_")]
            groups.append((field, [self[n] for n in names]))
        return groups

    @property
    def grid_rows(self) -> list[tuple[Any, list[forms.BoundField]]]:
        return [(BAND_LABELS[v], [self[f"grid_{v}_{p}"] for p in BANDS]) for v in BANDS]

    @property
    def band_labels(self) -> list[Any]:
        return [BAND_LABELS[b] for b in BANDS]

    @property
    def tier_rows_bound(self) -> list[list[forms.BoundField]]:
        names = ("code", "label_en", "label_zh", "every", "visits", "period", "kinds")
        return [[self[f"t{i}_{n}"] for n in names] for i in range(self.tier_count)]

    # ---- input for the services ----

    def values(self) -> dict[str, Any]:
        data = self.cleaned_data
        values = {n: data[n] for n in services.MODEL_FIELDS if n in data}
        values["size_points"] = {c: data[f"size_{c}"] for c in SizeBand.values if data.get(f"size_{c}") is not None}
        values["industry_points"] = {
            c: data[f"industry_{c}"] for c in Industry.values if data.get(f"industry_{c}") is not None
        }
        factors = []
        for field in self.custom_fields:
            weight = data.get(f"cf_{field.key}_weight")
            if not weight:
                continue
            if field.type == FieldType.SINGLE_SELECT:
                points = {
                    str(o.get("value")): data.get(f"cf_{field.key}_pt_{o.get('value')}")
                    for o in field.options or []
                    if data.get(f"cf_{field.key}_pt_{o.get('value')}") is not None
                }
                factors.append({"key": field.key, "weight": weight, "points": points})
            else:
                factors.append({"key": field.key, "weight": weight, "full": data.get(f"cf_{field.key}_full")})
        values["custom_factors"] = factors
        values["grid"] = {v: {p: data[f"grid_{v}_{p}"] for p in BANDS} for v in BANDS}
        return values

    def tier_rows(self) -> list[dict[str, Any]]:
        data = self.cleaned_data
        rows = []
        for i in range(self.tier_count):
            code = (data.get(f"t{i}_code") or "").strip()
            if not code:
                continue
            rows.append(
                {
                    "code": code,
                    "label_en": data.get(f"t{i}_label_en") or code,
                    "label_zh": data.get(f"t{i}_label_zh") or "",
                    "follow_up_every_days": data.get(f"t{i}_every"),
                    "min_visits": data.get(f"t{i}_visits") or 0,
                    "visit_period": data.get(f"t{i}_period") or VisitPeriod.MONTH,
                    "counted_kinds": data.get(f"t{i}_kinds") or [],
                }
            )
        return rows


class ManualTierForm(BridgeForm):
    tier = forms.ChoiceField(label=_("Tier"))
    reason = forms.CharField(label=_("Reason"), max_length=500)

    def __init__(self, *args: Any, tiers: list[Tier], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["tier"].choices = [(t.code, t.label) for t in tiers]  # type: ignore[attr-defined]


class RoutineFilterForm(BridgeForm):
    tier = forms.ChoiceField(label=_("Tier"), required=False)
    within = forms.IntegerField(label=_("Due within (days)"), min_value=0, max_value=90, required=False)

    def __init__(self, *args: Any, tiers: list[Tier], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["tier"].choices = [("", _("All tiers")), *[(t.code, t.label) for t in tiers]]  # type: ignore[attr-defined]


class PeriodForm(BridgeForm):
    start = forms.DateField(label=_("From"), widget=forms.DateInput(attrs={"type": "date"}))
    end = forms.DateField(label=_("To"), widget=forms.DateInput(attrs={"type": "date"}))

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        start, end = data.get("start"), data.get("end")
        if isinstance(start, dt.date) and isinstance(end, dt.date):
            if end < start:
                raise forms.ValidationError(_("The end cannot be before the start."))
            if (end - start).days > 366:
                raise forms.ValidationError(_("Choose a period of at most a year."))
        return data
