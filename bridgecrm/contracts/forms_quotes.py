"""Quote forms only parse and validate input; the services decide and write."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from bridgecrm.contracts.models import QuoteStatus
from bridgecrm.contracts.selectors_quotes import DEFAULT_SORT, SORT_LABELS, QuoteFilters
from bridgecrm.core.forms import BridgeForm, FastSelect
from bridgecrm.core.money import CURRENCIES
from bridgecrm.customers.models import Contact, Customer
from bridgecrm.pipeline.models import Deal, Product
from bridgecrm.users.models import User

ANY: list[tuple[str, Any]] = [("", "—")]
EXTRA_LINES = 3
MAX_FORM_LINES = 200


class QuoteFilterForm(BridgeForm):
    q = forms.CharField(
        label=_("Search"),
        max_length=100,
        required=False,
        widget=forms.TextInput(attrs={"type": "search", "placeholder": _("Number, title or customer")}),
    )
    status = forms.ChoiceField(label=_("Status"), choices=ANY + QuoteStatus.choices, required=False)
    customer = forms.IntegerField(
        label=pgettext_lazy("account", "Customer"), required=False, min_value=1, widget=forms.HiddenInput
    )
    owner = forms.ModelChoiceField(
        label=_("Owner"), queryset=User.objects.none(), required=False, empty_label="—", widget=FastSelect
    )
    created_from = forms.DateField(
        label=_("Created from"), required=False, widget=forms.DateInput({"type": "date"}, format="%Y-%m-%d")
    )
    created_to = forms.DateField(
        label=_("Created to"), required=False, widget=forms.DateInput({"type": "date"}, format="%Y-%m-%d")
    )
    sort = forms.ChoiceField(label=_("Sort by"), choices=list(SORT_LABELS.items()), required=False)

    def __init__(self, *args: Any, actor: User, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["owner"].queryset = User.objects.visible_to(actor).filter(is_active=True)  # type: ignore[attr-defined]

    def filters(self) -> QuoteFilters:
        d = self.cleaned_data
        return QuoteFilters(
            q=d.get("q") or "",
            status=d.get("status") or "",
            customer_id=d.get("customer"),
            owner_id=d["owner"].pk if d.get("owner") else None,
            created_from=d.get("created_from"),
            created_to=d.get("created_to"),
            sort=d.get("sort") or DEFAULT_SORT,
        )


class QuoteForm(BridgeForm):
    deal = forms.ModelChoiceField(label=_("Deal"), queryset=Deal.objects.none(), required=False, empty_label="—")
    from_deal = forms.BooleanField(label=_("Copy the deal's line items"), required=False)
    contact = forms.ModelChoiceField(
        label=_("Contact"), queryset=Contact.objects.none(), required=False, empty_label="—"
    )
    title = forms.CharField(label=_("Subject"), max_length=200, required=False)
    currency = forms.ChoiceField(label=_("Currency"), choices=[(c, c) for c in CURRENCIES], initial="CNY")
    tax_rate = forms.DecimalField(label=_("Tax rate %"), max_digits=5, decimal_places=2, min_value=0, max_value=100)
    valid_until = forms.DateField(label=_("Valid until"), widget=forms.DateInput({"type": "date"}, format="%Y-%m-%d"))
    terms = forms.CharField(label=_("Terms"), max_length=4000, required=False, widget=forms.Textarea({"rows": 4}))
    lock_version = forms.IntegerField(widget=forms.HiddenInput, required=False, min_value=1)

    def __init__(self, *args: Any, customer: Customer, deals: list[Deal], creating: bool, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["deal"].queryset = Deal.objects.filter(pk__in=[d.pk for d in deals])  # type: ignore[attr-defined]
        self.fields["contact"].queryset = Contact.objects.filter(customer_id=customer.pk).order_by("name")  # type: ignore[attr-defined]
        if not creating:
            del self.fields["deal"]
            del self.fields["from_deal"]


class QuoteLineForm(BridgeForm):
    product = forms.ModelChoiceField(
        label=_("Product"), queryset=Product.objects.none(), required=False, empty_label="—"
    )
    name = forms.CharField(label=_("Item"), max_length=200, required=False)
    unit = forms.CharField(label=_("Unit"), max_length=16, required=False)
    quantity = forms.DecimalField(
        label=_("Qty"), max_digits=12, decimal_places=3, min_value=Decimal("0.001"), required=False
    )
    unit_price = forms.DecimalField(label=_("Unit price"), max_digits=14, decimal_places=2, min_value=0, required=False)
    discount_percent = forms.DecimalField(
        label=_("Discount %"), max_digits=5, decimal_places=2, min_value=0, max_value=100, required=False
    )

    def __init__(self, *args: Any, products: list[Product] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["product"].queryset = Product.objects.filter(pk__in=[p.pk for p in products or []])  # type: ignore[attr-defined]
        self.fields["product"].widget.attrs["class"] = "line-product"

    def is_blank(self) -> bool:
        d = getattr(self, "cleaned_data", {})
        return not d.get("product") and not (d.get("name") or "").strip()

    def as_line(self) -> dict[str, Any]:
        d = self.cleaned_data
        return {
            "product": d.get("product"),
            "name": d.get("name") or "",
            "unit": d.get("unit") or "",
            "quantity": d.get("quantity") if d.get("quantity") is not None else Decimal(1),
            "unit_price": d.get("unit_price"),
            "discount_percent": d.get("discount_percent") or Decimal(0),
        }


QuoteLineFormSet = forms.formset_factory(
    QuoteLineForm, extra=0, max_num=MAX_FORM_LINES, absolute_max=MAX_FORM_LINES, validate_max=True
)


class DocumentSettingsForm(BridgeForm):
    quote_prefix = forms.CharField(label=_("Quote number prefix"), max_length=12)
    contract_prefix = forms.CharField(label=_("Contract number prefix"), max_length=12)
    default_tax_rate = forms.DecimalField(
        label=_("Default tax rate %"), max_digits=5, decimal_places=2, min_value=0, max_value=100
    )
    quote_validity_days = forms.IntegerField(label=_("Quotes valid for (days)"), min_value=1, max_value=365)
