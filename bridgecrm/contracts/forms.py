"""Forms for contracts, payments, aging and exchange rates: they parse input; services decide."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from bridgecrm.contracts import selectors
from bridgecrm.contracts.models import ContractStatus, PaymentMethod
from bridgecrm.core.forms import BridgeForm, FastSelect
from bridgecrm.core.money import CURRENCIES
from bridgecrm.customers.models import Customer
from bridgecrm.pipeline.models import Deal
from bridgecrm.users.models import Team, User

ANY: list[tuple[str, Any]] = [("", "—")]
DATE = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
AMOUNT = {"max_digits": 16, "decimal_places": 2, "min_value": 0}
CONTRACT_SORTS = [
    ("-created", _("Newest")),
    ("created", _("Oldest")),
    ("-signed", _("Recently signed")),
    ("signed", _("Signed earliest")),
    ("-amount", _("Largest amount")),
    ("amount", _("Smallest amount")),
    ("number", _("Number")),
]
PAYMENT_SORTS = [
    ("-received", _("Recently received")),
    ("received", _("Received earliest")),
    ("-amount", _("Largest amount")),
    ("amount", _("Smallest amount")),
]
CURRENCY_CHOICES = [(c, c) for c in CURRENCIES]
MAX_OPTIONS = 300  # options shown in the customer and deal drop-downs


def _people(actor: User) -> Any:
    return User.objects.visible_to(actor).filter(is_active=True).order_by("full_name", "username")


class ContractFilterForm(BridgeForm):
    q = forms.CharField(
        label=_("Search"),
        max_length=100,
        required=False,
        widget=forms.TextInput(attrs={"type": "search", "placeholder": _("Number, title or customer")}),
    )
    status = forms.ChoiceField(label=_("Status"), choices=ANY + ContractStatus.choices, required=False)
    customer = forms.IntegerField(min_value=1, max_value=2**63 - 1, required=False, widget=forms.HiddenInput)
    owner = forms.ModelChoiceField(
        label=_("Owner"), queryset=User.objects.none(), required=False, empty_label="—", widget=FastSelect
    )
    team = forms.ModelChoiceField(label=_("Team"), queryset=Team.objects.none(), required=False, empty_label="—")
    signed_from = forms.DateField(label=_("Signed from"), required=False, widget=DATE)
    signed_to = forms.DateField(label=_("Signed to"), required=False, widget=DATE)
    sort = forms.ChoiceField(label=_("Sort by"), choices=CONTRACT_SORTS, required=False)

    def __init__(self, *args: Any, actor: User, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["owner"].queryset = _people(actor)  # type: ignore[attr-defined]
        self.fields["team"].queryset = Team.objects.visible_to(actor)  # type: ignore[attr-defined]

    def filters(self) -> selectors.ContractFilters:
        d = self.cleaned_data
        return selectors.ContractFilters(
            q=d.get("q") or "",
            status=d.get("status") or "",
            customer_id=d.get("customer"),
            owner_id=d["owner"].pk if d.get("owner") else None,
            team_id=d["team"].pk if d.get("team") else None,
            signed_from=d.get("signed_from"),
            signed_to=d.get("signed_to"),
            sort=d.get("sort") or selectors.DEFAULT_SORT,
        )


class ContractForm(BridgeForm):
    title = forms.CharField(label=_("Title"), max_length=200)
    customer = forms.ModelChoiceField(label=_("Customer"), queryset=Customer.objects.none(), widget=FastSelect)
    deal = forms.ModelChoiceField(
        label=_("Deal"), queryset=Deal.objects.none(), required=False, empty_label="—", widget=FastSelect
    )
    amount = forms.DecimalField(label=_("Amount"), **AMOUNT)  # type: ignore[arg-type]
    currency = forms.ChoiceField(label=_("Currency"), choices=CURRENCY_CHOICES, initial="CNY")
    signed_on = forms.DateField(label=_("Signed on"), required=False, widget=DATE)
    starts_on = forms.DateField(label=_("Starts on"), required=False, widget=DATE)
    ends_on = forms.DateField(label=_("Ends on"), required=False, widget=DATE)
    owner = forms.ModelChoiceField(label=_("Owner"), queryset=User.objects.none(), widget=FastSelect)
    notes = forms.CharField(label=_("Notes"), max_length=4000, required=False, widget=forms.Textarea(attrs={"rows": 3}))
    lock_version = forms.IntegerField(widget=forms.HiddenInput, required=False)

    def __init__(self, *args: Any, actor: User, customer_id: int | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        customers = Customer.objects.visible_to(actor).order_by("name", "id")
        deals = Deal.objects.visible_to(actor).order_by("-created_at", "-id")
        if customer_id is not None:
            deals = deals.filter(customer_id=customer_id)
        # Validation looks one id up in the full visible set; the drop-downs show a bounded list
        # (the chosen customer first), so an admin's form never renders 100,000 options.
        self.fields["customer"].queryset = customers  # type: ignore[attr-defined]
        self.fields["deal"].queryset = deals  # type: ignore[attr-defined]
        self.fields["owner"].queryset = _people(actor)  # type: ignore[attr-defined]
        chosen = customers.filter(pk=customer_id) if customer_id is not None else customers.none()
        shown = list(chosen.values_list("pk", "name")) + [
            row for row in customers.values_list("pk", "name")[:MAX_OPTIONS] if row[0] != customer_id
        ]
        self.fields["customer"].widget.choices = [("", "—"), *shown]
        self.fields["deal"].widget.choices = [("", "—"), *deals.values_list("pk", "name")[:MAX_OPTIONS]]


class StatusForm(BridgeForm):
    status = forms.ChoiceField(choices=ContractStatus.choices)
    lock_version = forms.IntegerField(required=False)


class AttachmentForm(BridgeForm):
    file = forms.FileField(label=_("File"))


class PaymentForm(BridgeForm):
    received_on = forms.DateField(label=_("Received on"), widget=DATE, initial=dt.date.today)
    amount = forms.DecimalField(label=_("Amount"), **AMOUNT)  # type: ignore[arg-type]
    method = forms.ChoiceField(label=_("Method"), choices=PaymentMethod.choices, initial=PaymentMethod.BANK_TRANSFER)
    reference = forms.CharField(label=_("Reference"), max_length=100, required=False)
    note = forms.CharField(label=_("Note"), max_length=500, required=False)


class RefundForm(BridgeForm):
    refunded_on = forms.DateField(label=_("Refunded on"), widget=DATE)
    amount = forms.DecimalField(label=_("Amount"), **AMOUNT)  # type: ignore[arg-type]
    reason = forms.CharField(label=_("Reason"), max_length=500)


class PaymentFilterForm(BridgeForm):
    q = forms.CharField(
        label=_("Search"),
        max_length=100,
        required=False,
        widget=forms.TextInput(attrs={"type": "search", "placeholder": _("Reference, contract or customer")}),
    )
    method = forms.ChoiceField(label=_("Method"), choices=ANY + PaymentMethod.choices, required=False)
    customer = forms.IntegerField(min_value=1, max_value=2**63 - 1, required=False, widget=forms.HiddenInput)
    contract = forms.IntegerField(min_value=1, max_value=2**63 - 1, required=False, widget=forms.HiddenInput)
    owner = forms.ModelChoiceField(
        label=_("Owner"), queryset=User.objects.none(), required=False, empty_label="—", widget=FastSelect
    )
    team = forms.ModelChoiceField(label=_("Team"), queryset=Team.objects.none(), required=False, empty_label="—")
    received_from = forms.DateField(label=_("Received from"), required=False, widget=DATE)
    received_to = forms.DateField(label=_("Received to"), required=False, widget=DATE)
    sort = forms.ChoiceField(label=_("Sort by"), choices=PAYMENT_SORTS, required=False)

    def __init__(self, *args: Any, actor: User, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["owner"].queryset = _people(actor)  # type: ignore[attr-defined]
        self.fields["team"].queryset = Team.objects.visible_to(actor)  # type: ignore[attr-defined]

    def filters(self) -> selectors.PaymentFilters:
        d = self.cleaned_data
        return selectors.PaymentFilters(
            q=d.get("q") or "",
            method=d.get("method") or "",
            customer_id=d.get("customer"),
            contract_id=d.get("contract"),
            owner_id=d["owner"].pk if d.get("owner") else None,
            team_id=d["team"].pk if d.get("team") else None,
            received_from=d.get("received_from"),
            received_to=d.get("received_to"),
            sort=d.get("sort") or "-received",
        )


class AgingForm(BridgeForm):
    group_by = forms.ChoiceField(label=_("Group by"), choices=list(selectors.GROUP_LABELS.items()), required=False)
    customer = forms.IntegerField(min_value=1, max_value=2**63 - 1, required=False, widget=forms.HiddenInput)
    owner = forms.IntegerField(min_value=1, max_value=2**63 - 1, required=False, widget=forms.HiddenInput)
    team = forms.IntegerField(min_value=1, max_value=2**63 - 1, required=False, widget=forms.HiddenInput)


class CollectionsForm(BridgeForm):
    group_by = forms.ChoiceField(
        label=_("Group by"),
        choices=[("owner", _("Sales rep")), ("team", _("Team")), ("customer", _("Customer"))],
        required=False,
    )
    date_from = forms.DateField(label=_("From"), required=False, widget=DATE)
    date_to = forms.DateField(label=_("To"), required=False, widget=DATE)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("date_from") and data.get("date_to") and data["date_to"] < data["date_from"]:
            raise forms.ValidationError(_("The period ends before it starts."))
        return data


class ExchangeRateForm(BridgeForm):
    currency = forms.ChoiceField(label=_("Currency"), choices=CURRENCY_CHOICES)
    valid_from = forms.DateField(label=_("Valid from"), widget=DATE, initial=dt.date.today)
    rate = forms.DecimalField(label=_("Rate"), max_digits=20, decimal_places=10, min_value=0)


class BaseCurrencyForm(BridgeForm):
    currency = forms.ChoiceField(label=_("Base currency"), choices=CURRENCY_CHOICES)
