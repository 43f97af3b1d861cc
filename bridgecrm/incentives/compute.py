"""The commission arithmetic, as pure functions over Decimals (no ORM: tested without a database).

The items (won deals or payments) are taken in date order and their amounts pile up against the
rep's target. Attainment at any point is the running total ÷ target.

- **Marginal** bands (the default, tiered): each part of an item is paid at the rate of the band its
  slice of the running total falls in. Reaching a higher band never changes what earlier parts
  earned.
- **Whole-amount** bands (retroactive): the band that the period's final attainment reaches sets
  one rate for every item of the period.
- **Accelerator** ×m: the part of the running total above 100 % of the target earns, on top of its
  band's commission, an accelerator line at the band rate × (m − 1).
- **Cap**: if commission and accelerator lines together exceed the cap, one cap line brings them
  down to it.

A margin plan pays on each deal's margin but moves attainment by its signed amount: the deal's
margin is split across bands in proportion to the slices of its signed amount (``Item.progress``).

Every line is rounded to the cent (half up) on its own; the statement's total is the sum of its
lines, so lines add up to the total exactly. Without a target (or a zero target) attainment is
unknown: everything is paid at the first band's rate and no accelerator applies.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

CENT = Decimal("0.01")
HUNDRED = Decimal(100)
ZERO = Decimal(0)


def cents(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


@dataclass(frozen=True)
class Band:
    start: Decimal  # attainment % from which the band applies
    rate: Decimal  # % of the amount


@dataclass(frozen=True)
class Rules:
    bands: tuple[Band, ...]
    whole: bool = False
    accelerator: Decimal = Decimal(1)
    cap: Decimal | None = None


@dataclass(frozen=True)
class Item:
    key: str  # "deal:12" or "payment:7"
    amount: Decimal  # what is paid on
    # What the item adds to the running total against the target, when it differs from ``amount``
    # (a margin plan pays on the margin but measures attainment on the signed amount).
    progress: Decimal | None = None

    @property
    def moves(self) -> Decimal:
        return self.amount if self.progress is None else self.progress


@dataclass(frozen=True)
class Line:
    kind: str  # "commission", "accelerator" or "cap"
    key: str  # the item's key ("" for the cap)
    base: Decimal | None  # the part of the item this line is paid on
    rate: Decimal | None  # % applied to ``base``
    band: str  # the band's label, e.g. "80–100 %"
    amount: Decimal


@dataclass
class Result:
    basis: Decimal
    attainment: Decimal | None  # % of the target, two places
    lines: list[Line] = field(default_factory=list)

    @property
    def total(self) -> Decimal:
        return sum((line.amount for line in self.lines), ZERO)


def plain(value: Decimal) -> str:
    """80 → "80", 2.50 → "2.5", never "8E+1"."""
    if value == value.to_integral_value():
        return str(int(value))
    return format(value.normalize(), "f")


def band_label(bands: Sequence[Band], index: int) -> str:
    start = bands[index].start
    if index + 1 < len(bands):
        return f"{plain(start)}–{plain(bands[index + 1].start)} %"
    return f"≥ {plain(start)} %"


def _band_index(bands: Sequence[Band], attainment: Decimal) -> int:
    index = 0
    for i, band in enumerate(bands):
        if attainment >= band.start:
            index = i
    return index


def _segments(low: Decimal, high: Decimal, cuts: Sequence[Decimal]) -> list[tuple[Decimal, Decimal]]:
    """[low, high) cut at every point of ``cuts`` inside it."""
    points = [low, *[c for c in cuts if low < c < high], high]
    return [(a, b) for a, b in itertools.pairwise(points) if b > a]


def commission(items: Sequence[Item], target: Decimal | None, rules: Rules) -> Result:
    """The commission, accelerator and cap lines for ``items`` (in the order given) against ``target``."""
    bands = sorted(rules.bands, key=lambda b: b.start)
    if not bands:
        raise ValueError("a plan needs at least one band")
    basis = sum((i.amount for i in items), ZERO)
    result = Result(basis=basis, attainment=None)
    if target is None or target <= 0:
        for item in items:
            if item.progress is not None and item.amount <= 0:
                continue
            result.lines.append(
                Line("commission", item.key, item.amount, bands[0].rate, band_label(bands, 0),
                     cents(item.amount * bands[0].rate / HUNDRED))
            )  # fmt: skip
        return _capped(result, rules)
    measured = sum((i.moves for i in items), ZERO)
    result.attainment = cents(measured / target * HUNDRED)
    boundaries = [target * b.start / HUNDRED for b in bands]
    whole_index = _band_index(bands, measured / target * HUNDRED)
    running = ZERO
    for item in items:
        low, high = running, running + item.moves
        running = high
        if item.progress is not None and item.amount <= 0:
            continue  # counts towards attainment, earns nothing (a deal without a positive margin)
        if rules.whole:
            per_band = {whole_index: item.moves}
        else:
            per_band = {}
            for a, b in _segments(low, high, boundaries):
                index = _band_index(bands, a / target * HUNDRED)
                per_band[index] = per_band.get(index, ZERO) + (b - a)
        per_band = _paid_parts(item, per_band)
        for index, base in sorted(per_band.items()):
            rate = bands[index].rate
            result.lines.append(
                Line("commission", item.key, base, rate, band_label(bands, index), cents(base * rate / HUNDRED))
            )
        if rules.accelerator > 1 and high > target:
            above_low = max(low, target)
            per_band_above: dict[int, Decimal] = {}
            if rules.whole:
                per_band_above[whole_index] = high - above_low
            else:
                for a, b in _segments(above_low, high, boundaries):
                    index = _band_index(bands, a / target * HUNDRED)
                    per_band_above[index] = per_band_above.get(index, ZERO) + (b - a)
            per_band_above = _paid_parts(item, per_band_above)
            for index, base in sorted(per_band_above.items()):
                rate = bands[index].rate * (rules.accelerator - 1)
                result.lines.append(
                    Line("accelerator", item.key, base, rate, f"> 100 % ×{plain(rules.accelerator)}",
                         cents(base * rate / HUNDRED))
                )  # fmt: skip
    return _capped(result, rules)


def _paid_parts(item: Item, parts: dict[int, Decimal]) -> dict[int, Decimal]:
    """The parts of ``item.amount`` paid in each band when attainment moves by ``item.progress``:
    each band gets the share of the amount that its slice is of the progress, rounded to the cent,
    the last band the rest (so the parts add up exactly). Without a separate progress: unchanged."""
    if item.progress is None or item.progress == item.amount or item.progress <= 0:
        return parts
    out: dict[int, Decimal] = {}
    ordered = sorted(parts.items())
    paid = ZERO
    share_total = sum(parts.values(), ZERO)
    whole = cents(item.amount * share_total / item.progress)
    for n, (index, part) in enumerate(ordered):
        if n + 1 < len(ordered):
            out[index] = cents(item.amount * part / item.progress)
            paid += out[index]
        else:
            out[index] = whole - paid
    return out


def _capped(result: Result, rules: Rules) -> Result:
    earned = result.total
    if rules.cap is not None and earned > rules.cap:
        result.lines.append(Line("cap", "", None, None, "", rules.cap - earned))
    return result


def clawback_amount(line_amount: Decimal, earned: Decimal, cap_adjustment: Decimal) -> Decimal:
    """What to take back for a line of an approved statement: the line as paid, that is scaled by
    the share of the earnings the cap let through. Negative (it is deducted)."""
    if earned <= 0 or cap_adjustment == 0:
        return -line_amount
    return -cents(line_amount * (earned + cap_adjustment) / earned)


def refund_share(refunded: Decimal, paid: Decimal) -> Decimal:
    """The part of a payment a refund gives back (both in the payment's currency), 0…1."""
    if paid <= 0:
        return ZERO
    return min(refunded / paid, Decimal(1))


def refund_clawback(
    base: Decimal, rate: Decimal, share: Decimal, earned: Decimal, cap_adjustment: Decimal
) -> tuple[Decimal, Decimal]:
    """(base taken back, amount) for one commission or accelerator line of a refunded payment: the
    refunded share of the line's base, rounded to the cent, at the line's own rate, scaled like any
    clawback when the statement that paid it was capped. The amount is negative."""
    taken = cents(base * share)
    return taken, clawback_amount(cents(taken * rate / HUNDRED), earned, cap_adjustment)
