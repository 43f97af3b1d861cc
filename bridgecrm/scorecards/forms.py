"""Forms of the scorecard pages: the definition (one row per metric), the run, review and what-if."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal, InvalidOperation
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from bridgecrm.core.periods import Period, PeriodKind
from bridgecrm.scorecards import metrics, scoring
from bridgecrm.scorecards.models import Curve, Direction, MetricKind, Scorecard, TargetKind
from bridgecrm.scorecards.services import ScorecardValues
from bridgecrm.users.models import Role, Team

ROW_FIELDS = ("use", "weight", "direction", "curve", "cap", "threshold", "bands", "target_kind", "target_value", "kind")


def _decimal(value: Any) -> Decimal | None:
    if value in (None, ""):
        return None
    try:
        return Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None


def _or(value: Decimal | None, default: Decimal) -> Decimal:
    return default if value is None else value


class ScorecardForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=120)
    description = forms.CharField(label=_("Description"), required=False, widget=forms.Textarea(attrs={"rows": 2}))
    period_kind = forms.ChoiceField(label=_("Period"), choices=PeriodKind.choices, initial=PeriodKind.QUARTER)
    is_active = forms.BooleanField(label=_("Active"), required=False, initial=True)
    roles = forms.ModelMultipleChoiceField(
        label=_("Applies to roles"), queryset=Role.objects.none(), required=False, widget=forms.CheckboxSelectMultiple
    )
    teams = forms.ModelMultipleChoiceField(
        label=_("Applies to teams (and their sub-teams)"),
        queryset=Team.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )

    def __init__(self, *args: Any, scorecard: Scorecard | None = None, **kwargs: Any) -> None:
        initial = kwargs.pop("initial", {}) or {}
        rows: dict[str, Any] = {}
        if scorecard is not None:
            initial.update(
                name=scorecard.name,
                description=scorecard.description,
                period_kind=scorecard.period_kind,
                is_active=scorecard.is_active,
                roles=list(scorecard.roles.all()),
                teams=list(scorecard.teams.all()),
            )
            rows = {m.code: m for m in scorecard.metrics.all()}
        kwargs["initial"] = initial
        super().__init__(*args, **kwargs)
        self.fields["roles"].queryset = Role.objects.order_by("code")  # type: ignore[attr-defined]
        self.fields["teams"].queryset = Team.objects.filter(is_active=True).order_by("path")  # type: ignore[attr-defined]
        self.metric_rows: list[tuple[metrics.Metric, list[forms.BoundField]]] = []
        self.unavailable = [m for m in metrics.REGISTRY.values() if not m.available]
        for metric in metrics.available():
            saved = rows.get(metric.code)
            prefix = f"m_{metric.code}_"
            self.fields[prefix + "use"] = forms.BooleanField(
                label=str(metric.label), required=False, initial=saved is not None
            )
            self.fields[prefix + "weight"] = forms.DecimalField(
                label=_("Weight %"),
                required=False,
                min_value=0,
                max_value=100,
                decimal_places=2,
                initial=saved.weight if saved else None,
            )
            self.fields[prefix + "direction"] = forms.ChoiceField(
                label=_("Direction"),
                required=False,
                choices=Direction.choices,
                initial=saved.direction if saved else metric.direction,
            )
            self.fields[prefix + "curve"] = forms.ChoiceField(
                label=_("Curve"), required=False, choices=Curve.choices, initial=saved.curve if saved else Curve.LINEAR
            )
            self.fields[prefix + "cap"] = forms.DecimalField(
                label=_("Cap %"),
                required=False,
                min_value=1,
                max_value=1000,
                decimal_places=2,
                initial=saved.cap if saved else Decimal(120),
            )
            self.fields[prefix + "threshold"] = forms.DecimalField(
                label=_("Threshold %"),
                required=False,
                min_value=0,
                max_value=1000,
                decimal_places=2,
                initial=saved.threshold if saved else Decimal(100),
            )
            self.fields[prefix + "bands"] = forms.CharField(
                label=_("Bands (from %: points %)"),
                required=False,
                max_length=300,
                initial=scoring.bands_text(saved.bands) if saved else "",
                widget=forms.TextInput(attrs={"placeholder": "100:100, 80:60, 50:20"}),
            )
            target_choices = (
                TargetKind.choices if metrics.has_rep_targets(metric) else [(TargetKind.FIXED, TargetKind.FIXED.label)]
            )
            self.fields[prefix + "target_kind"] = forms.ChoiceField(
                label=_("Target"),
                required=False,
                choices=target_choices,
                initial=saved.target_kind if saved else (TargetKind.REP if metric.measure else TargetKind.FIXED),
            )
            self.fields[prefix + "target_value"] = forms.DecimalField(
                label=_("Fixed target"),
                required=False,
                min_value=0,
                max_digits=18,
                decimal_places=4,
                initial=saved.target_value if saved else None,
                help_text=_("a share for rates: 0.9 is 90 %") if metric.unit == metrics.RATIO else "",
            )
            self.fields[prefix + "kind"] = forms.ChoiceField(
                label=_("Kind"),
                required=False,
                choices=MetricKind.choices,
                initial=saved.kind if saved else metric.kind,
            )
            self.metric_rows.append((metric, [self[prefix + f] for f in ROW_FIELDS]))

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        rules: list[scoring.Rule] = []
        for metric, _row in self.metric_rows:
            prefix = f"m_{metric.code}_"
            if not data.get(prefix + "use"):
                continue
            try:
                bands = scoring.parse_bands(data.get(prefix + "bands") or "")
            except (ValueError, ArithmeticError):
                self.add_error(prefix + "bands", _("Write bands as “from %: points %”, e.g. “100:100, 80:60”."))
                continue
            weight = data.get(prefix + "weight")
            if weight is None:
                self.add_error(prefix + "weight", _("Give the metric a weight."))
                continue
            rules.append(
                scoring.Rule(
                    code=metric.code,
                    weight=weight,
                    direction=data.get(prefix + "direction") or "higher",
                    curve=data.get(prefix + "curve") or "linear",
                    cap=data.get(prefix + "cap") or Decimal(120),
                    threshold=_or(data.get(prefix + "threshold"), Decimal(100)),
                    bands=bands,
                    target_kind=data.get(prefix + "target_kind") or "fixed",
                    target_value=data.get(prefix + "target_value"),
                    kind=data.get(prefix + "kind") or metric.kind,
                )
            )
        data["rules"] = rules
        return data

    def values(self) -> ScorecardValues:
        d = self.cleaned_data
        return ScorecardValues(
            name=d["name"],
            description=d.get("description") or "",
            period_kind=d["period_kind"],
            is_active=bool(d.get("is_active")),
            role_ids=[r.pk for r in d.get("roles") or []],
            team_ids=[t.pk for t in d.get("teams") or []],
            rules=d["rules"],
        )


def recent_periods(kind: str, today: dt.date, count: int = 6) -> list[Period]:
    period = Period.containing(kind, today)
    out = []
    for _i in range(count):
        out.append(period)
        period = period.previous()
    return out


class RunForm(forms.Form):
    period = forms.ChoiceField(label=_("Period"))

    def __init__(self, *args: Any, kind: str, today: dt.date, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        choices = [(p.code, p.code) for p in recent_periods(kind, today)]
        self.fields["period"].choices = choices  # type: ignore[attr-defined]
        self.fields["period"].initial = choices[1][0] if len(choices) > 1 else choices[0][0]

    def period_value(self) -> Period:
        return Period.parse(self.cleaned_data["period"])


class CommentForm(forms.Form):
    text = forms.CharField(label=_("Comment"), max_length=2000, widget=forms.Textarea(attrs={"rows": 2}))


class AdjustForm(forms.Form):
    metric = forms.ChoiceField(label=_("Metric"))
    points = forms.DecimalField(label=_("Points"), min_value=0, max_digits=7, decimal_places=2)
    reason = forms.CharField(label=_("Reason"), max_length=500)

    def __init__(self, *args: Any, codes: list[tuple[str, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["metric"].choices = codes  # type: ignore[attr-defined]


class WhatIfForm(forms.Form):
    """Weights and curves per metric of an evaluation's frozen definition."""

    def __init__(self, *args: Any, rules: list[scoring.Rule], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.base_rules = rules
        self.rows: list[tuple[str, list[forms.BoundField]]] = []
        for rule in rules:
            p = f"w_{rule.code}_"
            self.fields[p + "weight"] = forms.DecimalField(
                label=_("Weight %"), min_value=0, max_value=100, decimal_places=2, initial=rule.weight
            )
            self.fields[p + "curve"] = forms.ChoiceField(label=_("Curve"), choices=Curve.choices, initial=rule.curve)
            self.fields[p + "cap"] = forms.DecimalField(
                label=_("Cap %"), min_value=1, max_value=1000, decimal_places=2, initial=rule.cap
            )
            self.fields[p + "threshold"] = forms.DecimalField(
                label=_("Threshold %"), min_value=0, max_value=1000, decimal_places=2, initial=rule.threshold
            )
            self.fields[p + "bands"] = forms.CharField(
                label=_("Bands"), required=False, max_length=300, initial=scoring.bands_text(rule.bands)
            )
            label = str(metrics.REGISTRY[rule.code].label) if rule.code in metrics.REGISTRY else rule.code
            self.rows.append((label, [self[p + f] for f in ("weight", "curve", "cap", "threshold", "bands")]))

    def rules(self) -> list[scoring.Rule]:
        d = self.cleaned_data
        out = []
        for rule in self.base_rules:
            p = f"w_{rule.code}_"
            try:
                bands = scoring.parse_bands(d.get(p + "bands") or "")
            except (ValueError, ArithmeticError):
                self.add_error(p + "bands", _("Write bands as “from %: points %”, e.g. “100:100, 80:60”."))
                bands = ()
            out.append(
                scoring.Rule(
                    code=rule.code,
                    weight=d[p + "weight"],
                    direction=rule.direction,
                    curve=d[p + "curve"],
                    cap=d[p + "cap"],
                    threshold=d[p + "threshold"],
                    bands=bands,
                    target_kind=rule.target_kind,
                    target_value=rule.target_value,
                    kind=rule.kind,
                )
            )
        return out
