"""Forms of the incentive pages; the services check every rule again."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from bridgecrm.core.forms import BridgeForm
from bridgecrm.core.periods import Period
from bridgecrm.incentives.models import BandMode, Basis, CommissionPlan
from bridgecrm.scorecards.models import Scorecard
from bridgecrm.training.models import TrainingCourse
from bridgecrm.users.models import Role, Team, User

BAND_ROWS = 5


class PeriodField(forms.CharField):
    """A period code: "2026-07" (month), "2026-Q3" (quarter) or "2026" (year)."""

    def clean(self, value: Any) -> Any:
        text = super().clean(value)
        if not text:
            return None
        try:
            return Period.parse(text)
        except ValueError:
            raise forms.ValidationError(_("Enter a period such as 2026-07, 2026-Q3 or 2026.")) from None


class StatementFilterForm(BridgeForm):
    period = PeriodField(label=_("Period"), required=False, max_length=8)
    status = forms.ChoiceField(
        label=_("Status"),
        required=False,
        choices=[("", _("Any")), ("draft", _("Draft")), ("approved", _("Approved"))],
    )


class GenerateForm(BridgeForm):
    period = PeriodField(label=_("Period"), max_length=8)


class PlanForm(BridgeForm):
    name = forms.CharField(label=_("Name"), max_length=120)
    basis = forms.ChoiceField(
        label=_("Basis"),
        choices=Basis.choices,
        help_text=_(
            "Margin: won deals' amount minus the cost of their lines; deals with an unknown cost are not paid. "
            "Attainment is measured on the signed amount against the signed-amount target."
        ),
    )
    band_mode = forms.ChoiceField(label=_("How bands apply"), choices=BandMode.choices)
    accelerator = forms.DecimalField(label=_("Accelerator above target (×)"), max_digits=5, decimal_places=2, initial=1)
    cap = forms.DecimalField(label=_("Cap per statement"), max_digits=16, decimal_places=2, required=False)
    is_active = forms.BooleanField(label=_("Active"), required=False, initial=True)

    def __init__(self, *args: Any, plan: CommissionPlan | None = None, **kwargs: Any) -> None:
        bound = bool(args and args[0] is not None) or kwargs.get("data") is not None
        if plan is not None and not bound:
            kwargs.setdefault(
                "initial",
                {
                    "name": plan.name,
                    "basis": plan.basis,
                    "band_mode": plan.band_mode,
                    "accelerator": plan.accelerator,
                    "cap": plan.cap,
                    "is_active": plan.is_active,
                    **{f"band_from_{i}": b["from"] for i, b in enumerate(plan.bands)},
                    **{f"band_rate_{i}": b["rate"] for i, b in enumerate(plan.bands)},
                },
            )
        super().__init__(*args, **kwargs)
        for i in range(BAND_ROWS):
            self.fields[f"band_from_{i}"] = forms.DecimalField(
                label=_("From attainment (%)"), max_digits=8, decimal_places=2, required=False
            )
            self.fields[f"band_rate_{i}"] = forms.DecimalField(
                label=_("Rate (%)"), max_digits=8, decimal_places=4, required=False
            )
        if plan is None and not bound:
            self.initial.setdefault("band_from_0", 0)

    def band_rows(self) -> list[tuple[Any, Any]]:
        return [(self[f"band_from_{i}"], self[f"band_rate_{i}"]) for i in range(BAND_ROWS)]

    def values(self) -> dict[str, Any]:
        data = self.cleaned_data
        bands = []
        for i in range(BAND_ROWS):
            start, rate = data.get(f"band_from_{i}"), data.get(f"band_rate_{i}")
            if start is None and rate is None:
                continue
            bands.append({"from": "" if start is None else str(start), "rate": "" if rate is None else str(rate)})
        return {
            "name": data["name"],
            "basis": data["basis"],
            "band_mode": data["band_mode"],
            "accelerator": data["accelerator"] if data.get("accelerator") is not None else "1",
            "cap": data.get("cap"),
            "is_active": data.get("is_active", False),
            "bands": bands,
        }


class AssignForm(BridgeForm):
    user = forms.ModelChoiceField(label=_("Rep"), queryset=User.objects.none(), required=False)
    team = forms.ModelChoiceField(label=_("Team"), queryset=Team.objects.none(), required=False)
    role = forms.ModelChoiceField(label=_("Role"), queryset=Role.objects.none(), required=False)
    valid_from = forms.DateField(label=_("Valid from"))
    valid_to = forms.DateField(label=_("Valid to"), required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["user"].queryset = User.objects.filter(is_active=True).order_by("username")  # type: ignore[attr-defined]
        self.fields["team"].queryset = Team.objects.filter(is_active=True).order_by("path")  # type: ignore[attr-defined]
        self.fields["role"].queryset = Role.objects.order_by("pk")  # type: ignore[attr-defined]


class BonusRuleForm(BridgeForm):
    name = forms.CharField(label=_("Name"), max_length=120)
    scorecard = forms.ModelChoiceField(
        label=_("Scorecard"), queryset=Scorecard.objects.none(), required=False, empty_label=_("Any scorecard")
    )
    min_total = forms.DecimalField(label=_("Total at least"), max_digits=7, decimal_places=2, min_value=0)
    amount = forms.DecimalField(label=_("Bonus"), max_digits=16, decimal_places=2, min_value=0)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["scorecard"].queryset = Scorecard.objects.order_by("name")  # type: ignore[attr-defined]


class CriterionForm(BridgeForm):
    name = forms.CharField(label=_("Name"), max_length=120)
    min_score = forms.DecimalField(label=_("Scorecard total at least"), max_digits=7, decimal_places=2, required=False)
    quarters = forms.IntegerField(label=_("For quarters in a row"), min_value=1, max_value=12, initial=3)
    course = forms.ModelChoiceField(label=_("Completed course"), queryset=TrainingCourse.objects.none(), required=False)
    min_tenure_months = forms.IntegerField(
        label=_("Tenure at least (months)"), min_value=0, max_value=600, required=False
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["course"].queryset = TrainingCourse.objects.order_by("title")  # type: ignore[attr-defined]
