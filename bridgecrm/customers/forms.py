"""Forms only parse and validate input; the services decide and write."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from bridgecrm.core.choices import CUSTOMER_TIER, choices_of
from bridgecrm.core.forms import BridgeForm, FastSelect
from bridgecrm.customers.models import (
    Country,
    CustomerKind,
    CustomerSource,
    DecisionRole,
    Industry,
    LifecycleStage,
    Province,
    SizeBand,
)
from bridgecrm.customers.selectors import DEFAULT_SORT, ContactFilters, CustomerFilters
from bridgecrm.customization import forms as custom_forms
from bridgecrm.customization.models import Entity
from bridgecrm.users.models import Team, User

ANY: list[tuple[str, Any]] = [("", "—")]
SORT_CHOICES = [
    ("-updated", _("Recently updated")),
    ("updated", _("Least recently updated")),
    ("-created", _("Newest")),
    ("created", _("Oldest")),
    ("name", _("Name A–Z")),
    ("-name", _("Name Z–A")),
    ("-potential", _("Highest potential")),
    ("potential", _("Lowest potential")),
]
POTENTIAL = {"max_digits": 14, "decimal_places": 2, "min_value": 0}


def _split(text: str, *, lines: bool = False) -> list[str]:
    import re

    parts = text.splitlines() if lines else re.split(r"[,，;；\n]", text)
    return [p.strip() for p in parts if p.strip()]


def _fast_selects(form: forms.Form) -> None:
    """Every ``<select>`` of a filter form formatted in Python (``FastSelect``): the list pages render
    the whole form each time, and Django's one template per ``<option>`` cost more than the rows."""
    for field in form.fields.values():
        if not isinstance(field.widget, forms.Select):
            continue
        widget = FastSelect(attrs=field.widget.attrs)
        if isinstance(field, forms.ModelChoiceField):
            # People and teams as (id, label) rows: no model instance per option.
            qs = field.queryset
            assert qs is not None
            if qs.model is User:
                rows = [
                    (pk, full_name or username)
                    for pk, full_name, username in qs.values_list("pk", "full_name", "username")
                ]
            else:
                rows = list(qs.values_list("pk", "name"))
            widget.choices = [("", field.empty_label or ""), *rows]
        else:
            widget.choices = field.choices  # type: ignore[attr-defined]
        field.widget = widget


class CustomerFilterForm(BridgeForm):
    q = forms.CharField(
        label=_("Search"),
        max_length=100,
        required=False,
        widget=forms.TextInput(attrs={"type": "search", "placeholder": _("Name, phone or e-mail")}),
    )
    stage = forms.ChoiceField(label=_("Stage"), choices=ANY + LifecycleStage.choices, required=False)
    tier = forms.ChoiceField(label=_("Tier"), choices=ANY, required=False)
    kind = forms.ChoiceField(label=_("Kind"), choices=ANY + CustomerKind.choices, required=False)
    source = forms.ChoiceField(label=_("Source"), choices=ANY + CustomerSource.choices, required=False)
    industry = forms.ChoiceField(label=_("Industry"), choices=ANY + Industry.choices, required=False)
    country = forms.ChoiceField(label=_("Country"), choices=ANY + Country.choices, required=False)
    province = forms.ChoiceField(label=_("Province"), choices=ANY + Province.choices, required=False)
    city = forms.CharField(label=_("City"), max_length=60, required=False)
    size = forms.ChoiceField(label=_("Size"), choices=ANY + SizeBand.choices, required=False)
    owner = forms.ModelChoiceField(
        label=_("Owner"), queryset=User.objects.none(), required=False, empty_label="—", widget=FastSelect
    )
    team = forms.ModelChoiceField(label=_("Team"), queryset=Team.objects.none(), required=False, empty_label="—")
    tag = forms.CharField(label=_("Tag"), max_length=40, required=False)
    potential_min = forms.DecimalField(label=_("Potential from"), required=False, **POTENTIAL)  # type: ignore[arg-type]
    potential_max = forms.DecimalField(label=_("Potential to"), required=False, **POTENTIAL)  # type: ignore[arg-type]
    sort = forms.ChoiceField(label=_("Sort by"), choices=SORT_CHOICES, required=False)

    # Shown at once; the others sit behind "More filters" (open when one of them is set).
    MAIN_FIELDS = ("q", "stage", "tier", "owner", "sort")

    def __init__(self, *args: Any, actor: User, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["owner"].queryset = User.objects.visible_to(actor).filter(is_active=True)  # type: ignore[attr-defined]
        self.fields["team"].queryset = Team.objects.visible_to(actor)  # type: ignore[attr-defined]
        self.fields["tier"].choices = ANY + choices_of(CUSTOMER_TIER)  # type: ignore[attr-defined]
        custom_forms.add_filter_fields(self, entity=Entity.CUSTOMER, actor=actor)
        _fast_selects(self)

    def clean(self) -> dict[str, Any] | None:
        data = super().clean()
        custom_forms.clean_filter_fields(self)
        return data

    def main_fields(self) -> list[Any]:
        return [self[name] for name in self.MAIN_FIELDS]

    def more_fields(self) -> list[Any]:
        return [self[name] for name in self.fields if name not in self.MAIN_FIELDS]

    def more_in_use(self) -> bool:
        return any(self.data.get(name) for name in self.fields if name not in self.MAIN_FIELDS)

    def filters(self) -> CustomerFilters:
        d = self.cleaned_data
        return CustomerFilters(
            q=d.get("q") or "",
            kind=d.get("kind") or "",
            stage=d.get("stage") or "",
            tier=d.get("tier") or "",
            source=d.get("source") or "",
            industry=d.get("industry") or "",
            country=d.get("country") or "",
            province=d.get("province") or "",
            city=d.get("city") or "",
            size=d.get("size") or "",
            owner_id=d["owner"].pk if d.get("owner") else None,
            team_id=d["team"].pk if d.get("team") else None,
            tag=d.get("tag") or "",
            potential_min=d.get("potential_min"),
            potential_max=d.get("potential_max"),
            sort=d.get("sort") or DEFAULT_SORT,
            custom=custom_forms.filter_values(self),
        )


class CustomerForm(BridgeForm):
    name = forms.CharField(label=_("Name"), max_length=200)
    kind = forms.ChoiceField(label=_("Kind"), choices=CustomerKind.choices, initial=CustomerKind.COMPANY)
    lifecycle_stage = forms.ChoiceField(label=_("Lifecycle stage"), choices=LifecycleStage.choices)
    source = forms.ChoiceField(label=_("Source"), choices=ANY + CustomerSource.choices, required=False)
    industry = forms.ChoiceField(label=_("Industry"), choices=ANY + Industry.choices, required=False)
    country = forms.ChoiceField(label=_("Country"), choices=Country.choices, initial=Country.CN)
    province = forms.ChoiceField(
        label=_("Province"), choices=ANY + Province.choices, required=False, help_text=_("For customers in China.")
    )
    city = forms.CharField(label=_("City"), max_length=60, required=False)
    size = forms.ChoiceField(label=_("Size"), choices=ANY + SizeBand.choices, required=False)
    estimated_annual_potential = forms.DecimalField(
        label=_("Estimated annual potential"),
        required=False,
        **POTENTIAL,  # type: ignore[arg-type]
    )
    currency = forms.CharField(label=_("Currency"), max_length=3, initial="CNY")
    tags = forms.CharField(label=_("Tags"), max_length=900, required=False, help_text=_("Separate tags with commas."))
    owner = forms.ModelChoiceField(
        label=_("Owner"), queryset=User.objects.none(), required=False, empty_label="—", widget=FastSelect
    )
    team = forms.ModelChoiceField(label=_("Team"), queryset=Team.objects.none(), required=False, empty_label="—")
    collaborators = forms.ModelMultipleChoiceField(
        label=_("Collaborators"), queryset=User.objects.none(), required=False
    )
    version = forms.IntegerField(widget=forms.HiddenInput, required=False, min_value=1)

    def __init__(self, *args: Any, actor: User, may_reassign: bool = True, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        people = User.objects.visible_to(actor).filter(is_active=True)
        self.fields["owner"].queryset = people  # type: ignore[attr-defined]
        self.fields["collaborators"].queryset = people  # type: ignore[attr-defined]
        self.fields["team"].queryset = Team.objects.visible_to(actor).filter(is_active=True)  # type: ignore[attr-defined]
        if not may_reassign:
            for name in ("owner", "team", "collaborators"):
                del self.fields[name]

    def clean_tags(self) -> list[str]:
        return _split(self.cleaned_data.get("tags") or "")

    def clean_currency(self) -> str:
        return str(self.cleaned_data.get("currency") or "").strip().upper()


class ContactForm(BridgeForm):
    name = forms.CharField(label=_("Name"), max_length=100)
    title = forms.CharField(label=pgettext_lazy("job title", "Title"), max_length=100, required=False)
    decision_role = forms.ChoiceField(
        label=_("Role in the decision"), choices=ANY + DecisionRole.choices, required=False
    )
    phones = forms.CharField(
        label=_("Phones"),
        required=False,
        max_length=400,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("One number per line, e.g. 138 0013 8000 or 010-1234 5678."),
    )
    email = forms.EmailField(label=_("E-mail"), required=False)
    wechat = forms.CharField(label=_("WeChat ID"), max_length=64, required=False)
    is_primary = forms.BooleanField(label=_("Primary contact"), required=False)
    notes = forms.CharField(label=_("Notes"), max_length=2000, required=False, widget=forms.Textarea(attrs={"rows": 3}))

    def clean_phones(self) -> list[str]:
        return _split(self.cleaned_data.get("phones") or "", lines=True)


class SavedViewForm(BridgeForm):
    name = forms.CharField(label=_("View name"), max_length=80)
    query = forms.CharField(max_length=2000, required=False, widget=forms.HiddenInput)
    shared_with_team = forms.BooleanField(label=_("Share with my team"), required=False)


class ContactFilterForm(BridgeForm):
    q = forms.CharField(
        label=_("Search"),
        max_length=100,
        required=False,
        widget=forms.TextInput(attrs={"type": "search", "placeholder": _("Name, phone or e-mail")}),
    )
    owner = forms.ModelChoiceField(
        label=_("Customer owner"), queryset=User.objects.none(), required=False, empty_label="—", widget=FastSelect
    )

    def __init__(self, *args: Any, actor: User, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["owner"].queryset = User.objects.visible_to(actor).filter(is_active=True)  # type: ignore[attr-defined]
        custom_forms.add_filter_fields(self, entity=Entity.CONTACT, actor=actor)

    def clean(self) -> dict[str, Any] | None:
        data = super().clean()
        custom_forms.clean_filter_fields(self)
        return data

    def filters(self) -> ContactFilters:
        d = self.cleaned_data
        return ContactFilters(
            q=d.get("q") or "",
            owner_id=d["owner"].pk if d.get("owner") else None,
            custom=custom_forms.filter_values(self),
        )
