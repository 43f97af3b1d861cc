"""Forms of the target and plan pages. They check shapes; the services check the rules."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from bridgecrm.core.forms import BridgeForm
from bridgecrm.core.periods import Period
from bridgecrm.pipeline.models import ProductCategory
from bridgecrm.targets import measures
from bridgecrm.targets.models import DecompositionMethod, MilestoneStatus, PlanScope, TargetScope
from bridgecrm.users.models import Team, User

ANY = [("", _("All products"))]
DATE = forms.DateInput(attrs={"type": "date"})


class PeriodField(forms.CharField):
    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("max_length", 8)
        kwargs.setdefault("help_text", _("2026, 2026-Q3 or 2026-07"))
        super().__init__(**kwargs)

    def clean(self, value: Any) -> Any:
        raw = super().clean(value)
        if not raw:
            return None
        try:
            return Period.parse(raw)
        except ValueError:
            raise forms.ValidationError(_("Enter a period as 2026, 2026-Q3 or 2026-07.")) from None


def measure_choices() -> list[tuple[str, Any]]:
    """The measures a target may be set on, grouped: sums, then rates and averages."""
    sums: list[tuple[str, Any]] = [(m.code, m.label) for m in measures.available() if m.additive]
    others: list[tuple[str, Any]] = [(m.code, m.label) for m in measures.available() if not m.additive]
    if not others:
        return list(sums)
    return [(str(_("Sums")), sums), (str(_("Rates and averages")), others)]


class ProgressFilterForm(BridgeForm):
    measure = forms.ChoiceField(label=_("Measure"), choices=measure_choices, required=False)
    period = PeriodField(label=_("Period"), required=False)
    category = forms.ChoiceField(label=_("Product category"), choices=ANY + ProductCategory.choices, required=False)


class TargetForm(BridgeForm):
    measure = forms.ChoiceField(label=_("Measure"), choices=measure_choices)
    period = PeriodField(label=_("Period"))
    scope = forms.ChoiceField(label=pgettext_lazy("target", "Scope"), choices=TargetScope.choices)
    team = forms.ModelChoiceField(label=_("Team"), queryset=Team.objects.none(), required=False)
    user = forms.ModelChoiceField(label=_("Rep"), queryset=User.objects.none(), required=False)
    product_category = forms.ChoiceField(
        label=_("Product category"), choices=ANY + ProductCategory.choices, required=False
    )
    amount = forms.DecimalField(
        label=_("Amount"),
        min_value=0,
        max_digits=18,
        decimal_places=2,
        help_text=_("Money in the base currency; counts in whole numbers; rates in percent (enter 35 for 35 percent)."),
    )

    def __init__(self, *args: Any, actor: User, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        teams = Team.objects.visible_to(actor).filter(is_active=True).order_by("path")
        users = User.objects.visible_to(actor).filter(is_active=True).order_by("full_name", "username")
        self.fields["team"].queryset = teams  # type: ignore[attr-defined]
        self.fields["user"].queryset = users  # type: ignore[attr-defined]


class DecomposeForm(BridgeForm):
    dimension = forms.ChoiceField(
        label=_("Split into"),
        choices=[("scope", _("Teams or reps")), ("months", _("Months")), ("quarters", _("Quarters"))],
    )
    method = forms.ChoiceField(
        label=pgettext_lazy("target", "Method"),
        choices=[c for c in DecompositionMethod.choices if c[0] != DecompositionMethod.MANUAL],
    )

    def __init__(self, *args: Any, additive: bool = True, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # A sum splits (any method but "same"); a rate or an average is copied ("same" only).
        offered = [
            c
            for c in DecompositionMethod.choices
            if c[0] != DecompositionMethod.MANUAL and (c[0] == DecompositionMethod.SAME) != additive
        ]
        self.fields["method"].choices = offered  # type: ignore[attr-defined]
        if not additive:
            self.fields["method"].initial = DecompositionMethod.SAME


class AdjustForm(BridgeForm):
    amount = forms.DecimalField(label=_("Amount"), min_value=0, max_digits=18, decimal_places=2)


class PlanForm(BridgeForm):
    name = forms.CharField(label=_("Name"), max_length=200)
    period = PeriodField(label=_("Period"))
    scope = forms.ChoiceField(label=_("For"), choices=PlanScope.choices)
    team = forms.ModelChoiceField(label=_("Team"), queryset=Team.objects.none(), required=False)
    user = forms.ModelChoiceField(label=_("Rep"), queryset=User.objects.none(), required=False)
    description = forms.CharField(label=_("Description"), widget=forms.Textarea(attrs={"rows": 3}), required=False)

    def __init__(self, *args: Any, actor: User, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["team"].queryset = Team.objects.visible_to(actor).filter(is_active=True).order_by("path")  # type: ignore[attr-defined]
        self.fields["user"].queryset = (  # type: ignore[attr-defined]
            User.objects.visible_to(actor).filter(is_active=True).order_by("full_name", "username")
        )


class PhaseForm(BridgeForm):
    name = forms.CharField(label=_("Phase"), max_length=200)
    starts_on = forms.DateField(label=_("Starts on"), widget=DATE)
    ends_on = forms.DateField(label=_("Ends on"), widget=DATE)


class MilestoneForm(BridgeForm):
    title = forms.CharField(label=_("Milestone"), max_length=200)
    due_on = forms.DateField(label=_("Due on"), widget=DATE)
    owner = forms.ModelChoiceField(label=_("Owner"), queryset=User.objects.none())
    phase = forms.TypedChoiceField(label=_("Phase"), coerce=int, required=False, empty_value=None)
    targets = forms.TypedMultipleChoiceField(label=_("Linked targets"), coerce=int, required=False)
    customers = forms.TypedMultipleChoiceField(label=_("Key customers"), coerce=int, required=False)

    def __init__(
        self,
        *args: Any,
        actor: User,
        phases: Sequence[Any],
        targets: Sequence[Any] = (),
        customers: Sequence[tuple[int, str]] = (),
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.fields["customers"].choices = list(customers)  # type: ignore[attr-defined]
        self.fields["targets"].choices = [  # type: ignore[attr-defined]
            (t.pk, f"{t.owner_label} · {t.get_measure_display()} · {t.period.code}") for t in targets
        ]
        self.fields["owner"].queryset = (  # type: ignore[attr-defined]
            User.objects.visible_to(actor).filter(is_active=True).order_by("full_name", "username")
        )
        self.fields["phase"].choices = [("", "—")] + [(p.pk, p.name) for p in phases]  # type: ignore[attr-defined]


class MilestoneStatusForm(BridgeForm):
    status = forms.ChoiceField(choices=MilestoneStatus.choices)
