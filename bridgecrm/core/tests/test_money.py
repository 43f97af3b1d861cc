"""Money never loses or invents a cent: rounding, allocation and conversion."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bridgecrm.core.errors import ApplicationError, PermissionDenied
from bridgecrm.core.models import AuditEntry, ExchangeRate
from bridgecrm.core.money import (
    CURRENCIES,
    CurrencyMismatch,
    Money,
    Rates,
    allocate,
    convert,
    convert_lines,
    quantize,
    quantum,
)
from bridgecrm.core.selectors import rates_in_force, rates_on
from bridgecrm.core.services import base_currency_set, exchange_rate_set

amounts = st.decimals(min_value=Decimal("-1e9"), max_value=Decimal("1e9"), places=2, allow_nan=False)
positive = st.decimals(min_value=Decimal("0"), max_value=Decimal("1e9"), places=2, allow_nan=False)
weights = st.lists(
    st.decimals(min_value=0, max_value=Decimal("1e6"), places=3, allow_nan=False), min_size=1, max_size=30
)
rates = st.decimals(min_value=Decimal("0.0001"), max_value=Decimal("20000"), places=6, allow_nan=False)
currency = st.sampled_from(CURRENCIES)


def test_money_refuses_floats_and_mixed_currencies():
    with pytest.raises(TypeError):
        Money(0.1, "CNY")  # type: ignore[arg-type]
    with pytest.raises(CurrencyMismatch):
        Money(Decimal("1"), "CNY") + Money(Decimal("1"), "USD")
    with pytest.raises(ApplicationError):
        Money(Decimal("1"), "XXX")


def test_rounding_is_half_up_to_the_minor_unit():
    assert quantize(Decimal("2.345"), "CNY") == Decimal("2.35")
    assert quantize(Decimal("-2.345"), "CNY") == Decimal("-2.35")
    assert quantize(Decimal("1234.5"), "JPY") == Decimal("1235")
    assert Money(Decimal("0.005"), "USD").amount == Decimal("0.01")


@given(total=amounts, parts=weights, code=currency)
def test_allocation_adds_up_exactly(total, parts, code):
    money = Money(total, code)
    shares = allocate(money, parts)
    assert len(shares) == len(parts)
    assert sum((s.amount for s in shares), Decimal(0)) == money.amount
    unit = quantum(code)
    weight_sum = sum(parts, Decimal(0))
    for share, weight in zip(shares, parts, strict=True):
        if weight_sum:
            exact = money.amount * weight / weight_sum
            assert abs(share.amount - exact) < unit  # never a whole minor unit away from its exact share


def test_allocation_example():
    assert [m.amount for m in allocate(Money(Decimal("100.00"), "CNY"), [Decimal(1)] * 3)] == [
        Decimal("33.34"),
        Decimal("33.33"),
        Decimal("33.33"),
    ]


@given(lines=st.lists(positive, min_size=1, max_size=20), rate=rates, to_rate=rates)
def test_converting_lines_keeps_the_converted_total(lines, rate, to_rate):
    table = Rates(base="CNY", on=dt.date(2026, 1, 1), per_unit={"USD": rate, "EUR": to_rate})
    money = [Money(a, "USD") for a in lines]
    converted = convert_lines(money, "EUR", table)
    total = sum(money[1:], money[0])
    assert sum((c.amount for c in converted), Decimal(0)) == convert(total, "EUR", table).amount


@given(amount=amounts, rate=rates)
def test_conversion_rounds_once_and_round_trips_within_a_cent_per_unit_of_rate(amount, rate):
    table = Rates(base="CNY", on=dt.date(2026, 1, 1), per_unit={"USD": rate})
    usd = Money(amount, "USD")
    cny = convert(usd, "CNY", table)
    assert cny.amount == quantize(amount * rate, "CNY")
    assert convert(cny, "CNY", table) == cny


@pytest.mark.django_db
def test_rates_are_dated_and_audited(company):
    exchange_rate_set(actor=company.admin, currency="USD", valid_from=dt.date(2026, 1, 1), rate="7.1000")
    exchange_rate_set(actor=company.admin, currency="USD", valid_from=dt.date(2026, 6, 1), rate="7.2500")
    exchange_rate_set(actor=company.admin, currency="EUR", valid_from=dt.date(2026, 3, 1), rate="7.80")
    exchange_rate_set(actor=company.admin, currency="USD", valid_from=dt.date(2026, 6, 1), rate="7.2600")  # correction
    assert rates_on(dt.date(2025, 12, 31)).per_unit == {}
    assert rates_on(dt.date(2026, 5, 31)).per_unit == {"USD": Decimal("7.1"), "EUR": Decimal("7.8")}
    june = rates_on(dt.date(2026, 6, 1))
    assert june.rate("USD") == Decimal("7.26")
    assert convert(Money(Decimal("100"), "USD"), "CNY", june).amount == Decimal("726.00")
    assert convert(Money(Decimal("780"), "CNY"), "EUR", june).amount == Decimal("100.00")
    with pytest.raises(ApplicationError) as missing:
        june.rate("JPY")
    assert missing.value.code == "missing_rate"
    rows = AuditEntry.objects.filter(content_type__model="exchangerate")
    assert rows.filter(action="create").count() == 3
    assert rows.filter(action="update", field="rate").count() == 1
    days = {dt.date(2025, 12, 31), dt.date(2026, 3, 1), dt.date(2026, 5, 31), dt.date(2026, 6, 1), dt.date(2027, 1, 1)}
    in_force = rates_in_force({"USD": days, "EUR": days, "JPY": days})  # the same as rates_on, in one query
    for day in days:
        per_unit = rates_on(day).per_unit
        for currency in ("USD", "EUR", "JPY"):
            assert in_force[(currency, day)] == per_unit.get(currency), (currency, day)


@pytest.mark.django_db
def test_only_company_managers_set_rates_and_bad_input_changes_nothing(company):
    with pytest.raises(PermissionDenied):
        exchange_rate_set(actor=company.manager_a, currency="USD", valid_from=dt.date(2026, 1, 1), rate="7")
    for bad in ("0", "-1", "abc", "NaN", "1e12"):
        with pytest.raises(ApplicationError):
            exchange_rate_set(actor=company.admin, currency="USD", valid_from=dt.date(2026, 1, 1), rate=bad)
    with pytest.raises(ApplicationError):
        exchange_rate_set(actor=company.admin, currency="CNY", valid_from=dt.date(2026, 1, 1), rate="1")
    assert ExchangeRate.objects.count() == 0
    base_currency_set(actor=company.admin, currency="USD")
    exchange_rate_set(actor=company.admin, currency="CNY", valid_from=dt.date(2026, 1, 1), rate="0.14")
    with pytest.raises(ApplicationError) as raised:
        base_currency_set(actor=company.admin, currency="EUR")
    assert raised.value.code == "rates_exist"
