"""Forms of the pool pages: they parse input; the services decide."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from bridgecrm.core.forms import BridgeForm
from bridgecrm.customers.models import CustomerSource, Industry, Province
from bridgecrm.pool import selectors
from bridgecrm.pool.models import PoolRules
from bridgecrm.users.models import User

ANY: list[tuple[str, Any]] = [("", "—")]
REASONS: list[tuple[str, Any]] = [
    ("no_follow_up", _("Recycled: no follow-up")),
    ("no_progress", _("Recycled: no deal progress")),
    ("released", _("Released by its owner")),
]
SORTS: list[tuple[str, Any]] = [
    ("-pooled", _("Newest in the pool")),
    ("pooled", _("Longest in the pool")),
    ("name", _("Name")),
]


class PoolFilterForm(BridgeForm):
    q = forms.CharField(
        label=_("Search"),
        max_length=100,
        required=False,
        widget=forms.TextInput(attrs={"type": "search", "placeholder": _("Customer or contact name")}),
    )
    industry = forms.ChoiceField(label=_("Industry"), choices=ANY + Industry.choices, required=False)
    province = forms.ChoiceField(label=_("Province"), choices=ANY + Province.choices, required=False)
    source = forms.ChoiceField(label=_("Source"), choices=ANY + CustomerSource.choices, required=False)
    reason = forms.ChoiceField(label=_("Why in the pool"), choices=ANY + REASONS, required=False)
    pooled_since = forms.DateField(
        label=_("In the pool since"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    sort = forms.ChoiceField(label=_("Sort by"), choices=SORTS, required=False)

    def filters(self) -> selectors.PoolFilters:
        d = self.cleaned_data
        return selectors.PoolFilters(
            q=d.get("q") or "",
            industry=d.get("industry") or "",
            province=d.get("province") or "",
            source=d.get("source") or "",
            reason=d.get("reason") or "",
            pooled_since=d.get("pooled_since"),
            sort=d.get("sort") or "-pooled",
        )


class ReleaseForm(BridgeForm):
    reason = forms.CharField(
        label=_("Why do you release this customer?"), max_length=300, widget=forms.Textarea(attrs={"rows": 3})
    )


class AssignForm(BridgeForm):
    user = forms.ModelChoiceField(label=_("Rep"), queryset=User.objects.none(), empty_label=None)

    def __init__(self, *args: Any, reps: list[User], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["user"].queryset = User.objects.filter(pk__in=[u.pk for u in reps]).order_by("username")  # type: ignore[attr-defined]


class DistributeForm(BridgeForm):
    customers = forms.TypedMultipleChoiceField(label=_("Customers"), coerce=int, choices=[])
    users = forms.ModelMultipleChoiceField(label=_("Reps"), queryset=User.objects.none())
    mode = forms.ChoiceField(
        label=_("How"),
        choices=[("round_robin", _("In turn (round robin)")), ("load", _("To whoever holds the fewest"))],
    )

    def __init__(self, *args: Any, reps: list[User], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["users"].queryset = User.objects.filter(pk__in=[u.pk for u in reps]).order_by("username")  # type: ignore[attr-defined]
        ids = self.data.getlist("customers") if hasattr(self.data, "getlist") else []
        self.fields["customers"].choices = [(i, i) for i in ids[:500]]  # type: ignore[attr-defined]


class RulesForm(forms.ModelForm):  # type: ignore[type-arg]
    version = forms.IntegerField(widget=forms.HiddenInput)

    class Meta:
        model = PoolRules
        fields = (
            "recycle_no_follow_up_days",
            "recycle_no_progress_days",
            "warning_days",
            "holding_limit",
            "daily_claim_limit",
            "cooldown_days",
            "protected_cap",
            "mask_contacts",
        )
