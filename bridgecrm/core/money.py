"""Money: ``Decimal`` amounts with an ISO 4217 currency, rounding rules and dated conversion.

Rounding (documented in docs/money.md):
- Every stored amount is quantised to its currency's minor unit (CNY/USD/EUR: 0.01, JPY/KRW: 1)
  with ROUND_HALF_UP, the commercial rounding Chinese invoices and most ERPs use.
- Conversion multiplies by exact ``Decimal`` rates (units of the base currency per unit) and rounds
  once, at the end, never in between.
- Splitting an amount (payment allocation, converting a list of lines) uses the largest-remainder
  method, so the parts always add up to the whole: no cent is lost or invented.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal

from django.utils.translation import gettext_lazy as _

from bridgecrm.core.errors import ApplicationError

MINOR_UNITS: dict[str, int] = {
    "CNY": 2, "USD": 2, "EUR": 2, "GBP": 2, "HKD": 2, "SGD": 2, "AUD": 2, "CAD": 2, "CHF": 2, "TWD": 2,
    "MYR": 2, "THB": 2, "INR": 2, "AED": 2, "RUB": 2, "JPY": 0, "KRW": 0, "VND": 0, "IDR": 0,
}  # fmt: skip
CURRENCIES: tuple[str, ...] = tuple(sorted(MINOR_UNITS))
DEFAULT_BASE_CURRENCY = "CNY"


class CurrencyMismatch(ApplicationError):
    pass


def check_currency(code: str) -> str:
    code = (code or "").strip().upper()
    if code not in MINOR_UNITS:
        raise ApplicationError("unknown_currency", _("Unknown currency."), details={"currency": [code]})
    return code


def quantum(currency: str) -> Decimal:
    return Decimal(1).scaleb(-MINOR_UNITS[check_currency(currency)])


def quantize(amount: Decimal, currency: str) -> Decimal:
    return Decimal(amount).quantize(quantum(currency), rounding=ROUND_HALF_UP)


@dataclass(frozen=True, order=False)
class Money:
    amount: Decimal
    currency: str

    def __post_init__(self) -> None:
        if not isinstance(self.amount, Decimal):
            raise TypeError("Money amounts are Decimal, never float")
        object.__setattr__(self, "currency", check_currency(self.currency))
        object.__setattr__(self, "amount", quantize(self.amount, self.currency))

    @classmethod
    def zero(cls, currency: str) -> Money:
        return cls(Decimal(0), currency)

    def _same(self, other: Money) -> None:
        if other.currency != self.currency:
            raise CurrencyMismatch(
                "currency_mismatch", _("Amounts in different currencies cannot be added without conversion.")
            )

    def __add__(self, other: Money) -> Money:
        self._same(other)
        return Money(self.amount + other.amount, self.currency)

    def __sub__(self, other: Money) -> Money:
        self._same(other)
        return Money(self.amount - other.amount, self.currency)

    def __neg__(self) -> Money:
        return Money(-self.amount, self.currency)

    def __str__(self) -> str:
        return f"{self.currency} {self.amount:,}"

    def minor_units(self) -> int:
        return int(self.amount.scaleb(MINOR_UNITS[self.currency]))


def allocate(total: Money, weights: Sequence[Decimal]) -> list[Money]:
    """Split ``total`` in proportion to ``weights``; the parts add up to ``total`` exactly.

    Largest remainder: each part is rounded down to the minor unit, then the units left over go
    one by one to the parts with the largest remainders (ties to the earlier part).
    """
    if not weights:
        raise ValueError("allocate needs at least one weight")
    if any(w < 0 for w in weights):
        raise ValueError("weights must not be negative")
    weight_sum = sum(weights, Decimal(0))
    units = total.minor_units()
    sign = -1 if units < 0 else 1
    units = abs(units)
    if weight_sum == 0:
        weights, weight_sum = [Decimal(1)] * len(weights), Decimal(len(weights))
    exact = [Decimal(units) * w / weight_sum for w in weights]
    floors = [int(e.to_integral_value(rounding=ROUND_DOWN)) for e in exact]
    left = units - sum(floors)
    order = sorted(range(len(weights)), key=lambda i: (-(exact[i] - floors[i]), i))
    for i in order[:left]:
        floors[i] += 1
    scale = MINOR_UNITS[total.currency]
    return [Money(Decimal(sign * f).scaleb(-scale), total.currency) for f in floors]


@dataclass(frozen=True)
class Rates:
    """Rates on one date, as units of ``base`` per one unit of each currency (base itself is 1)."""

    base: str
    on: dt.date
    per_unit: dict[str, Decimal]

    def rate(self, currency: str) -> Decimal:
        currency = check_currency(currency)
        if currency == self.base:
            return Decimal(1)
        try:
            return self.per_unit[currency]
        except KeyError:
            raise ApplicationError(
                "missing_rate",
                _("No exchange rate for %(currency)s on or before %(date)s.")
                % {"currency": currency, "date": self.on.isoformat()},
                details={"currency": [currency]},
            ) from None


def convert(money: Money, to: str, rates: Rates) -> Money:
    """Convert at full precision, round once."""
    to = check_currency(to)
    if money.currency == to:
        return money
    exact = money.amount * rates.rate(money.currency) / rates.rate(to)
    return Money(quantize(exact, to), to)


def convert_lines(lines: Sequence[Money], to: str, rates: Rates) -> list[Money]:
    """Convert several amounts of one currency so that the parts add up to the converted total."""
    if not lines:
        return []
    total = sum(lines[1:], lines[0]) if len(lines) > 1 else lines[0]
    converted_total = convert(total, to, rates)
    if all(line.amount >= 0 for line in lines) or all(line.amount <= 0 for line in lines):
        return allocate(converted_total, [abs(line.amount) for line in lines])
    # Mixed signs (refunds beside charges): convert each, then put the rounding difference on the largest line.
    parts = [convert(line, to, rates) for line in lines]
    diff = converted_total - sum(parts[1:], parts[0])
    largest = max(range(len(lines)), key=lambda i: abs(lines[i].amount))
    parts[largest] = parts[largest] + diff
    return parts
