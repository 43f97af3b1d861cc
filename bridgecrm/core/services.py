"""Company-wide writes: the base currency and dated exchange rates. Audited like everything else."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db import transaction
from django.utils.translation import gettext_lazy as _

from bridgecrm.core import audit
from bridgecrm.core.errors import ApplicationError, PermissionDenied
from bridgecrm.core.models import CompanyProfile, ExchangeRate
from bridgecrm.core.money import check_currency

MANAGE_COMPANY = "company.manage"


def _require_company_manager(actor: Any) -> None:
    if not (getattr(actor, "is_active", False) and getattr(actor, "can", lambda _c: False)(MANAGE_COMPANY)):
        raise PermissionDenied("forbidden", _("You do not have permission to do this."))


def exchange_rate_set(*, actor: Any, currency: str, valid_from: dt.date, rate: Decimal | str) -> ExchangeRate:
    """Record (or correct) the rate of ``currency`` from ``valid_from`` on."""
    _require_company_manager(actor)
    currency = check_currency(currency)
    profile = CompanyProfile.current()
    if currency == profile.base_currency:
        raise ApplicationError("base_currency_rate", _("The base currency always has the rate 1."))
    try:
        value = Decimal(str(rate))
    except InvalidOperation as exc:
        raise ApplicationError("invalid", _("The rate must be a number."), details={"rate": [str(rate)]}) from exc
    if not value.is_finite() or value <= 0 or value >= Decimal("1e10"):
        raise ApplicationError("invalid", _("The rate must be a positive number."), details={"rate": [str(rate)]})
    value = value.quantize(Decimal("1e-10"))
    with transaction.atomic():
        existing = ExchangeRate.objects.select_for_update().filter(currency=currency, valid_from=valid_from).first()
        if existing is None:
            row = ExchangeRate.objects.create(currency=currency, valid_from=valid_from, rate=value)
            audit.record_created(actor=actor, obj=row, values=audit.snapshot(row, ("currency", "valid_from", "rate")))
            return row
        before = audit.snapshot(existing, ("rate",))
        existing.rate = value
        existing.save(update_fields=["rate"])
        audit.record_changes(actor=actor, obj=existing, before=before, after=audit.snapshot(existing, ("rate",)))
        return existing


def base_currency_set(*, actor: Any, currency: str) -> CompanyProfile:
    """Change the base currency; only while no rate is recorded (rates are quoted against it)."""
    _require_company_manager(actor)
    currency = check_currency(currency)
    with transaction.atomic():
        profile = CompanyProfile.objects.select_for_update().get(pk=CompanyProfile.current().pk)
        if profile.base_currency == currency:
            return profile
        if ExchangeRate.objects.exists():
            raise ApplicationError(
                "rates_exist", _("The base currency cannot change once exchange rates are recorded against it.")
            )
        before = audit.snapshot(profile, ("base_currency",))
        profile.base_currency = currency
        profile.save(update_fields=["base_currency"])
        audit.record_changes(actor=actor, obj=profile, before=before, after=audit.snapshot(profile, ("base_currency",)))
    return profile
