"""The exchange-rate admin page: dated rates against the base currency, and the base currency itself.

Holders of ``company.manage`` only (403 for everyone else, before anything is read)."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

from bridgecrm.contracts import forms
from bridgecrm.core import services
from bridgecrm.core.models import CompanyProfile, ExchangeRate
from bridgecrm.users.viewtools import actor_of as _actor
from bridgecrm.users.viewtools import guarded, require, save_form

MAX_ROWS = 500


def may_manage_rates(user: object) -> bool:
    can = getattr(user, "can", None)
    return bool(getattr(user, "is_active", False) and can is not None and can(services.MANAGE_COMPANY))


@guarded
def exchange_rates(request: HttpRequest) -> HttpResponse:
    actor = _actor(request)
    require(may_manage_rates(actor))
    profile = CompanyProfile.current()
    action = request.POST.get("action") if request.method == "POST" else None
    rate_form = forms.ExchangeRateForm(request.POST if action == "rate" else None)
    base_form = forms.BaseCurrencyForm(
        request.POST if action == "base" else None, initial={"currency": profile.base_currency}
    )
    if action == "rate" and None is not save_form(
        rate_form, lambda: services.exchange_rate_set(actor=actor, **rate_form.cleaned_data)
    ):
        messages.success(request, _("The exchange rate was saved."))
        return redirect("contracts:exchange_rates")
    if action == "base" and None is not save_form(
        base_form, lambda: services.base_currency_set(actor=actor, currency=base_form.cleaned_data["currency"])
    ):
        messages.success(request, _("The base currency was saved."))
        return redirect("contracts:exchange_rates")
    rates = list(ExchangeRate.objects.order_by("currency", "-valid_from")[:MAX_ROWS])
    return render(
        request,
        "contracts/exchange_rates.html",
        {
            "rates": rates,
            "base": profile.base_currency,
            "rate_form": rate_form,
            "base_form": base_form,
            "may_change_base": not rates,
        },
        status=400 if action and request.method == "POST" else 200,
    )
