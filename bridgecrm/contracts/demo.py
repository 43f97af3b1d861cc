"""Demo quotes, contracts, payment plans and payments (回款), made from the demo deals by seed.

- Deals that reached the proposal stage mostly have a quote (some in two versions, the first
  superseded); the latest version is accepted for a won deal, rejected or expired for a lost one,
  and draft, sent or expired for an open one, its dates consistent with that (sent before decided,
  decided before the deal closed, expired only after ``valid_until``). Totals are exact Decimals:
  line total = quantity × price × (1 − discount %) rounded once, HALF_UP; tax 13 % on the subtotal.
- Every won deal has a contract, from its accepted quote where there is one (amount = the quote's
  total), else for the deal's amount plus 13 % tax; signed on or just after the close.
- Each contract has 1–4 plan lines that add up to its amount (largest-remainder split). Payments
  come on time, late or not at all; each is allocated to the open plan lines oldest due first, and
  ``paid_amount``/``paid_on``/``received_amount`` are what those allocations add up to. A few
  contracts are chosen so that the aging view has lines overdue by 1–30, 31–60, 61–90 and 90+ days.
- Numbers follow ``numbering.next_number``'s form (Q2026-00017, HT2026-00005) in the order the
  documents were made, and the NumberSequence rows are set to the last number used, so the next
  quote or contract made in the app continues the series.

Rows are bulk-inserted without per-row audit entries (the demo writes history, it does not replay it
through the services); no denormalised field is left inconsistent.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from bridgecrm.contracts.models import (
    Contract,
    ContractStatus,
    DocumentSettings,
    NumberSequence,
    Payment,
    PaymentAllocation,
    PaymentMethod,
    PaymentPlanLine,
    Quote,
    QuoteLine,
    QuoteStatus,
)
from bridgecrm.core import money
from bridgecrm.pipeline.demo_deals import DemoDeal, line_subtotal, local_date, working_time
from bridgecrm.pipeline.models import DealStatus, StageKind

QUOTE_SEQUENCE = "quote"
CONTRACT_SEQUENCE = "contract"
TAX_RATE = Decimal("13")
# Overdue by this many days: one showcase contract per aging bucket (1–30, 31–60, 61–90, 90+).
AGING_SHOWCASE = (12, 45, 76, 130)
PLAN_SPLITS: tuple[tuple[tuple[int, ...], int], ...] = (
    ((1,), 25),
    ((3, 7), 20),
    ((5, 5), 15),
    ((3, 6, 1), 16),
    ((4, 4, 2), 12),
    ((3, 3, 3, 1), 6),
    ((4, 3, 2, 1), 6),
)
PLAN_NOTES = {
    1: ("一次性付款",),
    2: ("预付款", "验收款"),
    3: ("预付款", "验收款", "质保金"),
    4: ("预付款", "到货款", "验收款", "质保金"),
}
PLAN_NOTES_EN = {
    1: ("Payment in full",),
    2: ("Advance", "On acceptance"),
    3: ("Advance", "On acceptance", "Retention"),
    4: ("Advance", "On delivery", "On acceptance", "Retention"),
}
METHODS = (
    (PaymentMethod.BANK_TRANSFER, 70),
    (PaymentMethod.ACCEPTANCE_BILL, 10),
    (PaymentMethod.ALIPAY, 5),
    (PaymentMethod.WECHAT_PAY, 5),
    (PaymentMethod.CHEQUE, 5),
    (PaymentMethod.CASH, 2),
    (PaymentMethod.OTHER, 3),
)
TERMS = "报价有效期内有效；价格含 13% 增值税；付款方式：按合同约定分期付款；交付周期以合同为准。"
TERMS_EN = "Valid until the date shown; prices exclude 13% VAT; payment as agreed in the contract."


@dataclass
class ContractsResult:
    quotes: int = 0
    contracts: int = 0
    plan_lines: int = 0
    payments: int = 0
    showcase: list[int] = field(default_factory=list)  # contract ids chosen for the aging buckets


@dataclass
class _PlanLine:
    line: PaymentPlanLine
    remaining: Decimal


def _weighted[T](rng: random.Random, pairs: Sequence[tuple[T, int]]) -> T:
    return rng.choices([p for p, _w in pairs], weights=[w for _p, w in pairs])[0]


def _totals(quote: Quote, lines: Sequence[QuoteLine]) -> None:
    """Subtotal = Σ line totals; discounts = Σ (quantity × price rounded) − subtotal; tax on the subtotal."""
    subtotal = sum((line.line_total for line in lines), Decimal(0))
    gross = sum((money.quantize(line.quantity * line.unit_price, quote.currency) for line in lines), Decimal(0))
    quote.subtotal = subtotal
    quote.discount_total = gross - subtotal
    quote.tax_amount = money.quantize(subtotal * quote.tax_rate / Decimal(100), quote.currency)
    quote.total = subtotal + quote.tax_amount


def _quote_lines(d: DemoDeal, less_discount: Decimal) -> list[QuoteLine]:
    lines = []
    for line in d.lines:
        discount = max(Decimal(0), line.discount_percent - less_discount)
        lines.append(
            QuoteLine(
                product=line.product,
                name=line.name,
                unit=line.product.unit if line.product else "",
                quantity=line.quantity,
                unit_price=line.unit_price,
                discount_percent=discount,
                line_total=line_subtotal(line.quantity, line.unit_price, discount),
                order=line.order,
            )
        )
    return lines


def _proposal_at(d: DemoDeal) -> dt.datetime | None:
    opens = [at for stage, at in d.path if stage.kind == StageKind.OPEN]
    return opens[2] if len(opens) >= 3 else None


def create_demo_contracts(
    *, seed: int, now: dt.datetime, deals: Sequence[DemoDeal], tax_rate: Decimal = TAX_RATE
) -> ContractsResult:
    rng = random.Random(seed * 17 + 5)
    today = local_date(now)
    settings = DocumentSettings.objects.order_by("pk").first() or DocumentSettings.objects.create()
    validity = dt.timedelta(days=settings.quote_validity_days or 30)
    result = ContractsResult()

    # ---- quotes ---------------------------------------------------------------------------------
    groups: list[tuple[DemoDeal, list[tuple[Quote, list[QuoteLine]]]]] = []
    accepted: dict[int, Quote] = {}  # id(deal) → its accepted quote
    for d in deals:
        proposal_at = _proposal_at(d)
        if proposal_at is None or rng.random() > {"won": 0.85, "lost": 0.8}.get(d.deal.status, 0.75):
            continue
        end = d.closed_at or now
        created = min(working_time(rng, local_date(proposal_at) + dt.timedelta(days=rng.randint(0, 3))), end)
        if created <= proposal_at:
            created = proposal_at + (end - proposal_at) / 4
        versions = 2 if rng.random() < 0.25 else 1
        moments = [created]
        if versions == 2:
            moments.append(created + (end - created) * rng.uniform(0.2, 0.6))
        made: list[tuple[Quote, list[QuoteLine]]] = []
        for v, at in enumerate(moments, start=1):
            latest = v == versions
            quote = Quote(
                version=v,
                customer_id=d.deal.customer_id,
                deal=d.deal,
                contact_id=d.deal.contact_id,
                title=d.deal.name,
                currency=d.deal.currency,
                tax_rate=tax_rate,
                valid_until=local_date(at) + validity,
                status=QuoteStatus.SUPERSEDED,
                terms=TERMS_EN if d.international else TERMS,
                owner_id=d.deal.owner_id,
                created_at=at,
                updated_at=at,
            )
            lines = _quote_lines(d, Decimal(5) if not latest else Decimal(0))
            _totals(quote, lines)
            sent = at + min((end - at) * rng.uniform(0.02, 0.2), dt.timedelta(days=3))
            # Answered within its validity, and before the deal closed.
            answer_by = min(end, sent + dt.timedelta(days=25))
            if not latest:
                quote.sent_at = at + (moments[v] - at) * rng.uniform(0.1, 0.5)
                quote.updated_at = moments[v]  # superseded when the next version was made
            elif d.deal.status == DealStatus.WON:
                quote.status = QuoteStatus.ACCEPTED
                quote.sent_at = sent
                quote.decided_at = sent + (answer_by - sent) * rng.uniform(0.3, 0.95)
                quote.valid_until = max(quote.valid_until, local_date(quote.decided_at))
                accepted[id(d)] = quote
            elif d.deal.status == DealStatus.LOST:
                quote.sent_at = sent
                if quote.valid_until < local_date(end) and rng.random() < 0.4:
                    quote.status = QuoteStatus.EXPIRED  # never answered; the deal was lost later
                else:
                    quote.status = QuoteStatus.REJECTED
                    quote.decided_at = sent + (answer_by - sent) * rng.uniform(0.5, 0.99)
                    quote.valid_until = max(quote.valid_until, local_date(quote.decided_at))
            elif now - at < dt.timedelta(days=4) and rng.random() < 0.4:
                quote.status = QuoteStatus.DRAFT
            else:
                quote.sent_at = sent
                quote.status = QuoteStatus.EXPIRED if quote.valid_until < today else QuoteStatus.SENT
            quote.updated_at = max(quote.updated_at, quote.decided_at or quote.sent_at or at)
            made.append((quote, lines))
        groups.append((d, made))
    groups.sort(key=lambda g: (g[1][0][0].created_at, g[0].deal.pk))
    quote_counters: dict[int, int] = {}
    quotes: list[Quote] = []
    quote_lines: list[QuoteLine] = []
    for _d, made in groups:
        year = local_date(made[0][0].created_at).year
        quote_counters[year] = quote_counters.get(year, 0) + 1
        number = f"{settings.quote_prefix}{year}-{quote_counters[year]:05d}"
        for quote, _lines in made:
            quote.number = number
            quotes.append(quote)
    Quote.objects.bulk_create(quotes, batch_size=500)
    for _d, made in groups:
        for quote, lines in made:
            for line in lines:
                line.quote = quote
                quote_lines.append(line)
    QuoteLine.objects.bulk_create(quote_lines, batch_size=1000)
    result.quotes = len(quotes)

    # ---- contracts ------------------------------------------------------------------------------
    contracts: list[tuple[DemoDeal, Contract]] = []
    for d in deals:
        if d.deal.status != DealStatus.WON or d.closed_at is None or rng.random() < 0.03:
            continue
        closed = local_date(d.closed_at)
        signed = min(today, closed + dt.timedelta(days=rng.choice([0, 0, 1, 2, 3, 5, 7])))
        starts = signed + dt.timedelta(days=rng.randint(0, 14))
        accepted_quote = accepted.get(id(d))
        amount = (
            accepted_quote.total
            if accepted_quote is not None
            else money.quantize(
                (d.deal.amount or Decimal(0)) * (Decimal(100) + tax_rate) / Decimal(100), d.deal.currency
            )
        )
        if amount <= 0:
            continue
        created_at = min(now, working_time(rng, signed))
        contract = Contract(
            title=d.deal.name,
            customer_id=d.deal.customer_id,
            deal=d.deal,
            quote=accepted_quote,
            amount=amount,
            currency=d.deal.currency,
            signed_on=signed,
            starts_on=starts,
            ends_on=starts + dt.timedelta(days=rng.choice([180, 364, 364, 729])),
            status=ContractStatus.ACTIVE,
            owner_id=d.deal.owner_id,
            created_at=created_at,
            updated_at=created_at,
        )
        contracts.append((d, contract))
    contracts.sort(key=lambda pair: (pair[1].signed_on or today, pair[1].created_at, pair[0].deal.pk))
    contract_counters: dict[int, int] = {}
    for _d, contract in contracts:
        assert contract.signed_on is not None
        year = contract.signed_on.year
        contract_counters[year] = contract_counters.get(year, 0) + 1
        contract.number = f"{settings.contract_prefix}{year}-{contract_counters[year]:05d}"
    result.contracts = len(contracts)

    # ---- one showcase contract per aging bucket --------------------------------------------------
    showcase: dict[int, int] = {}  # index in contracts → days overdue of its first line
    for days in AGING_SHOWCASE:
        due = today - dt.timedelta(days=days)
        candidates = [
            i
            for i, (_d, c) in enumerate(contracts)
            if i not in showcase and c.signed_on is not None and c.signed_on <= due - dt.timedelta(days=7)
        ]
        if candidates:
            near = sorted(candidates, key=lambda i: due - (contracts[i][1].signed_on or due))[:5]
            showcase[rng.choice(near)] = days

    # ---- plans and payments --------------------------------------------------------------------
    plan_rows: list[PaymentPlanLine] = []
    payments: list[Payment] = []
    allocations: list[tuple[Payment, PaymentPlanLine, Decimal]] = []
    reference = 0
    for i, (d, contract) in enumerate(contracts):
        assert contract.signed_on is not None
        split = _weighted(rng, PLAN_SPLITS)
        parts = money.allocate(money.Money(contract.amount, contract.currency), [Decimal(w) for w in split])
        notes = (PLAN_NOTES_EN if d.international else PLAN_NOTES)[len(split)]
        due = contract.signed_on + dt.timedelta(days=rng.randint(7, 30))
        if i in showcase:
            due = today - dt.timedelta(days=showcase[i])
        plan: list[_PlanLine] = []
        for n, part in enumerate(parts):
            if part.amount <= 0:
                continue
            plan_line = PaymentPlanLine(contract=contract, due_on=due, amount=part.amount, note=notes[n])
            plan.append(_PlanLine(plan_line, part.amount))
            due += dt.timedelta(days=rng.randint(30, 120))
        # When the customer pays: on time, late, or stops paying (a part, then nothing).
        payer = _weighted(rng, (("prompt", 60), ("slow", 28), ("bad", 12)))
        events: list[tuple[dt.date, Decimal]] = []
        stopped = i in showcase
        for n, planned in enumerate(plan):
            if stopped:
                break
            delay = {"prompt": rng.randint(-10, 8), "slow": rng.randint(12, 80), "bad": rng.randint(20, 150)}[payer]
            paid_on = max(contract.signed_on, planned.line.due_on + dt.timedelta(days=delay))
            amount = planned.line.amount
            if payer == "bad" and (n > 0 or rng.random() < 0.3):
                stopped = True
                if rng.random() < 0.5:
                    continue
                amount = money.quantize(
                    amount * Decimal(rng.choice([30, 40, 50, 60])) / Decimal(100), contract.currency
                )
            if payer == "prompt" and events and rng.random() < 0.12:  # two instalments paid together
                last_day, last_amount = events.pop()
                events.append((last_day, last_amount + amount))
                continue
            if amount > 0:
                events.append((paid_on, amount))
        # Allocate each payment received by today to the open lines, oldest due first.
        for received_on, amount in sorted(events):
            if received_on > today:
                continue
            reference += 1
            moment = working_time(rng, received_on)
            method = _weighted(rng, METHODS)
            payment = Payment(
                contract=contract,
                received_on=received_on,
                amount=amount,
                currency=contract.currency,
                method=method,
                reference=f"{method.upper()}-{received_on:%Y%m%d}-{reference:05d}",
                recorded_by_id=contract.owner_id,
                created_at=min(now, moment),
            )
            payments.append(payment)
            left = amount
            for planned in plan:
                if left <= 0:
                    break
                if planned.remaining <= 0:
                    continue
                take = min(left, planned.remaining)
                planned.remaining -= take
                planned.line.paid_amount += take
                left -= take
                if planned.remaining == 0:
                    planned.line.paid_on = received_on
                allocations.append((payment, planned.line, take))
            assert left == 0, "a demo payment larger than what is owed"
            contract.received_amount += amount
            contract.updated_at = max(contract.updated_at, payment.created_at)
        plan_rows.extend(p.line for p in plan)
        if contract.received_amount == contract.amount and contract.ends_on and contract.ends_on < today:
            contract.status = ContractStatus.COMPLETED
    # Saved once their received amounts and statuses are known; the lines and payments point at them.
    Contract.objects.bulk_create([c for _d, c in contracts], batch_size=500)
    PaymentPlanLine.objects.bulk_create(plan_rows, batch_size=1000)
    Payment.objects.bulk_create(payments, batch_size=1000)
    PaymentAllocation.objects.bulk_create(
        [PaymentAllocation(payment=p, plan_line=line, amount=a) for p, line, a in allocations], batch_size=1000
    )
    for kind, counters in ((QUOTE_SEQUENCE, quote_counters), (CONTRACT_SEQUENCE, contract_counters)):
        for year, value in counters.items():
            sequence, _created = NumberSequence.objects.get_or_create(kind=kind, year=year)
            if sequence.value < value:
                sequence.value = value
                sequence.save(update_fields=["value"])
    result.plan_lines = len(plan_rows)
    result.payments = len(payments)
    result.showcase = [contracts[i][1].pk for i in sorted(showcase)]
    return result
