"""Demo deals (商机): about 3,000 over the two years that end today, reproducible by seed.

What makes them look real, so every board and report has something true to show:
- a deal is created some time after its customer, for the customer's owner, from a product bundle
  (line items with quantity × price × (1 − discount %), rounded once, HALF_UP; amount = Σ lines);
- it walks the open stages of its pipeline one by one (DealStageChange rows: from → to, when, by
  whom and the seconds spent in the stage it left, chained so each ``from`` is the previous ``to``
  and the last ``to`` is the deal's stage, entered at ``stage_entered_at``);
- it closes (won or lost) when its sales cycle ends before today, else it is still open; closes
  cluster at quarter ends and most of all in December;
- the chance to win depends on the rep (strong and weak reps) and on the source (referral >
  partner > exhibition > website > cold call); lost deals carry a lost reason, many a competitor;
- about a fifth of the open deals sit in their stage longer than its ``stale_after_days``;
- ``amount_base`` is the amount in the base currency at the rate in force on the expected close
  date (the demo adds monthly USD/EUR/HKD/SGD rates when there are none).

Rows are bulk-inserted without per-row audit entries: the demo writes history, it does not replay
it through the services. Every denormalised field (status, probability, forecast category,
closed_on, stage_entered_at, amount, amount_base) is set to what the services would have kept.
"""

from __future__ import annotations

import bisect
import datetime as dt
import itertools
import random
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from zoneinfo import ZoneInfo

from bridgecrm.core import money
from bridgecrm.core.models import CompanyProfile, ExchangeRate
from bridgecrm.customers.models import Contact, Customer, CustomerSource, LifecycleStage
from bridgecrm.pipeline.models import (
    Competitor,
    Deal,
    DealLine,
    DealStageChange,
    DealStatus,
    LostReason,
    Pipeline,
    Product,
    Stage,
    StageKind,
)
from bridgecrm.users.models import User

DEMO_TIME_ZONE = ZoneInfo("Asia/Shanghai")  # the demo company's working hours (Singapore shares UTC+8)
YEARS_DAYS = 730
CENT = Decimal("0.01")

# ---- the calendar: working days, weekends, Spring Festival, Labour Day, National Day ----------------

SPRING_FESTIVAL = {
    2023: dt.date(2023, 1, 22),
    2024: dt.date(2024, 2, 10),
    2025: dt.date(2025, 1, 29),
    2026: dt.date(2026, 2, 17),
    2027: dt.date(2027, 2, 6),
    2028: dt.date(2028, 1, 26),
    2029: dt.date(2029, 2, 13),
    2030: dt.date(2030, 2, 3),
    2031: dt.date(2031, 1, 23),
    2032: dt.date(2032, 2, 11),
}


def day_weight(day: dt.date) -> float:
    """How busy a sales team is on ``day``: 1 on a working day, far less on weekends and holidays."""
    festival = SPRING_FESTIVAL.get(day.year)
    if festival is None and day.month == 12:
        festival = SPRING_FESTIVAL.get(day.year + 1)
    if festival is not None:
        offset = (day - festival).days
        if -2 <= offset <= 6:
            return 0.04
        if -8 <= offset <= 12:
            return 0.45
    if day.month == 10 and day.day <= 7:
        return 0.05
    if day.month == 5 and day.day <= 5:
        return 0.2
    if day.weekday() >= 5:
        return 0.12
    return 1.0


class DemoCalendar:
    """Days from ``start`` to ``end`` with their weights, for drawing busy-looking dates."""

    def __init__(self, start: dt.date, end: dt.date) -> None:
        self.start = start
        self.end = end
        self.cumulative = [0.0]
        day = start
        while day <= end:
            self.cumulative.append(self.cumulative[-1] + day_weight(day))
            day += dt.timedelta(days=1)

    def pick(self, rng: random.Random, lo: dt.date, hi: dt.date) -> dt.date:
        """A day in [lo, hi] (clamped to the calendar), working days far likelier than holidays."""
        i0 = max(0, (lo - self.start).days)
        i1 = min(len(self.cumulative) - 2, (hi - self.start).days)
        if i1 <= i0:
            return self.start + dt.timedelta(days=max(0, min(i0, len(self.cumulative) - 2)))
        r = rng.uniform(self.cumulative[i0], self.cumulative[i1 + 1])
        i = bisect.bisect_right(self.cumulative, r) - 1
        return self.start + dt.timedelta(days=min(max(i, i0), i1))


def local_at(day: dt.date, minutes: int) -> dt.datetime:
    """``day`` at ``minutes`` past local midnight in the demo's time zone (aware)."""
    return dt.datetime.combine(day, dt.time(0), DEMO_TIME_ZONE) + dt.timedelta(minutes=minutes)


def local_date(moment: dt.datetime) -> dt.date:
    return moment.astimezone(DEMO_TIME_ZONE).date()


def working_time(rng: random.Random, day: dt.date) -> dt.datetime:
    return local_at(day, rng.randint(9 * 60, 18 * 60 + 30))


# ---- exchange rates ----------------------------------------------------------------------------------

# Units of CNY per unit, about where they stood; each month drifts a little, by seed.
DEMO_RATES = {"USD": Decimal("7.1800"), "EUR": Decimal("7.8200"), "HKD": Decimal("0.9180"), "SGD": Decimal("5.3600")}


class RateBook:
    """All exchange rates in memory: ``on(date)`` answers as ``core.selectors.rates_on`` does."""

    def __init__(self, base: str, rows: Sequence[tuple[str, dt.date, Decimal]]) -> None:
        self.base = base
        self.by_currency: dict[str, tuple[list[dt.date], list[Decimal]]] = {}
        for currency, valid_from, rate in sorted(rows):
            dates, rates = self.by_currency.setdefault(currency, ([], []))
            dates.append(valid_from)
            rates.append(rate)
        self._cache: dict[dt.date, money.Rates] = {}

    def on(self, day: dt.date) -> money.Rates:
        if day not in self._cache:
            per_unit = {}
            for currency, (dates, rates) in self.by_currency.items():
                i = bisect.bisect_right(dates, day) - 1
                if i >= 0:
                    per_unit[currency] = rates[i]
            self._cache[day] = money.Rates(base=self.base, on=day, per_unit=per_unit)
        return self._cache[day]

    def has(self, currency: str, day: dt.date) -> bool:
        return currency == self.base or currency in self.on(day).per_unit

    def to_base(self, amount: Decimal, currency: str, day: dt.date) -> Decimal:
        return money.convert(money.Money(amount, currency), self.base, self.on(day)).amount


def ensure_demo_rates(*, seed: int, today: dt.date) -> RateBook:
    """Monthly rates for USD, EUR, HKD and SGD over the demo's two years, unless rates exist."""
    base = CompanyProfile.current().base_currency
    if not ExchangeRate.objects.exists() and base == "CNY":
        rng = random.Random(seed * 7 + 1)
        first = (today - dt.timedelta(days=YEARS_DAYS + 62)).replace(day=1)
        rows = []
        for currency, start in DEMO_RATES.items():
            rate, month = start, first
            while month <= today:
                rows.append(ExchangeRate(currency=currency, valid_from=month, rate=rate))
                drift = Decimal(str(round(rng.uniform(-0.012, 0.012), 4)))
                rate = (rate * (1 + drift)).quantize(Decimal("0.0001"), rounding=ROUND_HALF_UP)
                month = (month + dt.timedelta(days=32)).replace(day=1)
        ExchangeRate.objects.bulk_create(rows)
    rows_in = [(c, d, r) for c, d, r in ExchangeRate.objects.values_list("currency", "valid_from", "rate")]
    return RateBook(base, rows_in)


# ---- what is sold --------------------------------------------------------------------------------------

Qty = tuple[int, int]
ONE: Qty = (1, 1)
USERS: Qty = (10, 200)
DAYS: Qty = (5, 60)
# (Chinese theme, English theme, [(SKU, quantity range), …]): the first line is always there.
BUNDLES: tuple[tuple[str, str, tuple[tuple[str, Qty], ...]], ...] = (
    ("CRM 标准版上线", "CRM rollout", (("CRM-STD-U", USERS), ("IMP-PKG-S", ONE), ("TRN-ONL", (5, 40)))),
    (
        "CRM 专业版升级",
        "CRM upgrade",
        (("CRM-PRO-U", USERS), ("IMP-STD", DAYS), ("DATA-MIG", ONE), ("SUP-STD-Y", ONE)),
    ),
    (
        "CRM 企业版项目",
        "Enterprise CRM",
        (("CRM-ENT-U", (50, 500)), ("IMP-SR", DAYS), ("SEC-SSO-Y", ONE), ("SUP-PRM-Y", ONE)),
    ),
    (
        "私有化部署项目",
        "On-premises CRM",
        (("CRM-PRV-L", ONE), ("IMP-PKG-L", ONE), ("HW-SRV-2U", (2, 4)), ("SUP-PRM-Y", ONE)),
    ),
    ("经营分析 BI 项目", "Analytics (BI)", (("BI-STD-L", ONE), ("BI-DASH-U", (20, 200)), ("IMP-STD", (5, 30)))),
    (
        "ERP 财务供应链项目",
        "ERP finance & supply chain",
        (("ERP-FIN-L", ONE), ("ERP-SCM-L", ONE), ("INT-ERP", ONE), ("IMP-SR", DAYS)),
    ),
    (
        "WMS 仓储项目",
        "Warehouse management",
        (("WMS-L", ONE), ("HW-PDA", (10, 60)), ("HW-SCAN", (10, 40)), ("HW-PRN-L", (2, 10)), ("IMP-STD", DAYS)),
    ),
    (
        "MES 智能制造项目",
        "Manufacturing execution",
        (("MES-L", ONE), ("HW-SRV-2U", (1, 3)), ("IMP-SR", DAYS), ("DEV-CUST", (10, 80))),
    ),
    ("年度运维续约", "Support renewal", (("SUP-STD-Y", ONE), ("STO-1TB-Y", (1, 5)), ("SMS-PACK", (1, 4)))),
    ("尊享运维续约", "Premium support renewal", (("SUP-PRM-Y", ONE), ("API-GW-Y", ONE))),
    (
        "机房设备采购",
        "Server room hardware",
        (("HW-SRV-2U", (1, 6)), ("HW-NAS-8", (1, 3)), ("HW-SW-48", (2, 8)), ("HW-FW", (1, 2))),
    ),
    ("人力资源系统", "HR system", (("ERP-HR-L", ONE), ("IMP-STD", (5, 30)), ("TRN-ONS", (1, 5)))),
    ("AI 推理平台", "AI inference platform", (("HW-SRV-GPU", (1, 4)), ("DEV-CUST", (10, 60)), ("API-GW-Y", ONE))),
    ("培训与认证", "Training and certification", (("TRN-ONS", (1, 5)), ("TRN-ADM", (2, 10)))),
    ("门店自助终端", "Self-service kiosks", (("HW-KIOSK", (5, 40)), ("SMS-PACK", (1, 5)), ("IMP-STD", (5, 20)))),
)
USD_BUNDLE = (
    "Bridge CRM Enterprise",
    "Bridge CRM Enterprise",
    (("CRM-ENT-USD", (20, 300)), ("IMP-SR-USD", (5, 40)), ("SUP-PRM-USD", ONE), ("HW-GPU-USD", (1, 2))),
)
DISCOUNTS: tuple[tuple[Decimal, int], ...] = tuple(
    (Decimal(p), w) for p, w in (("0", 40), ("5", 18), ("8", 12), ("10", 15), ("15", 10), ("20", 5))
)
NO_DISCOUNT_CATEGORIES = ("service", "training")

COMPETITORS = ("销售易", "纷享销客", "用友", "金蝶", "Salesforce", "HubSpot", "Zoho", "简道云")
# How well a source converts (times the base chance) and how reps compare.
SOURCE_FACTOR = {
    CustomerSource.REFERRAL: 1.6,
    CustomerSource.PARTNER: 1.3,
    CustomerSource.EXHIBITION: 1.15,
    CustomerSource.WEBSITE: 0.95,
    CustomerSource.ADVERTISING: 0.85,
    CustomerSource.OTHER: 0.9,
    CustomerSource.COLD_CALL: 0.6,
}
BASE_WIN = 0.32
REP_FACTORS = (1.55, 1.35, 1.2, 1.1, 1.0, 1.0, 0.95, 0.9, 0.8, 0.7, 0.6, 0.5)
CUSTOMER_WEIGHT = {
    LifecycleStage.CUSTOMER: 5.0,
    LifecycleStage.PROSPECT: 3.0,
    LifecycleStage.CHURNED: 1.0,
    LifecycleStage.LEAD: 0.6,
}
NEXT_STEPS = ("安排演示", "发送方案", "约见决策人", "确认预算", "商务谈判", "准备合同", "技术交流", "提交报价")
NEXT_STEPS_EN = ("Book a demo", "Send the proposal", "Meet the decision maker", "Confirm budget", "Negotiate terms")
LOST_NOTES = ("客户预算压缩，项目延期到明年", "对方给出更低报价", "决策人变动", "需求调整，暂缓采购", "")
FORM_SUFFIX = re.compile(
    r"(股份有限公司|集团有限公司|有限公司|\s+(Pte Ltd|Ltd|Sdn Bhd|GmbH|Inc\.))$",
)


@dataclass
class DemoDeal:
    """A generated deal with what the later generators need: its lines and the stages it entered."""

    deal: Deal
    lines: list[DealLine]
    path: list[tuple[Stage, dt.datetime]]  # (stage entered, when); the first is the creation
    international: bool
    competitors: list[Competitor] = field(default_factory=list)
    collaborators: list[int] = field(default_factory=list)

    @property
    def created_at(self) -> dt.datetime:
        return self.path[0][1]

    @property
    def closed_at(self) -> dt.datetime | None:
        return self.path[-1][1] if self.deal.status != DealStatus.OPEN else None

    def entered(self, stage_order_at_least: int) -> dt.datetime | None:
        """When the deal first reached an open stage of order ≥ the given one (None if it never did)."""
        for stage, at in self.path:
            if stage.kind == StageKind.OPEN and stage.order >= stage_order_at_least:
                return at
        return None


@dataclass
class DealsResult:
    deals: list[DemoDeal]
    rates: RateBook
    rep_factor: dict[int, float]


def short_name(name: str) -> str:
    return FORM_SUFFIX.sub("", name).strip() or name


def line_subtotal(quantity: Decimal, price: Decimal, discount: Decimal) -> Decimal:
    """quantity × price × (1 − discount %), rounded once to the cent, HALF_UP."""
    return (quantity * price * (Decimal(100) - discount) / Decimal(100)).quantize(CENT, rounding=ROUND_HALF_UP)


def _weighted(rng: random.Random, pairs: Sequence[tuple[Decimal, int]]) -> Decimal:
    return rng.choices([p for p, _w in pairs], weights=[w for _p, w in pairs])[0]


def _quarter_end(day: dt.date) -> dt.date:
    month = ((day.month - 1) // 3 + 1) * 3
    following = dt.date(day.year + (month == 12), month % 12 + 1, 1)
    return following - dt.timedelta(days=1)


def _close_day(
    rng: random.Random, planned: dt.date, earliest: dt.date, today: dt.date, calendar: DemoCalendar
) -> dt.date:
    """The planned close, often pulled to the last two weeks of its quarter (most of all in December)."""
    quarter_end = _quarter_end(planned)
    pull = 0.7 if quarter_end.month == 12 else 0.4
    day = planned
    if rng.random() < pull and quarter_end < today:
        lo = max(earliest, quarter_end - dt.timedelta(days=13))
        if lo <= quarter_end:
            day = calendar.pick(rng, lo, quarter_end)
    while day.weekday() >= 5 and day - dt.timedelta(days=1) >= earliest:
        day -= dt.timedelta(days=1)
    return day


def _between(rng: random.Random, start: dt.datetime, end: dt.datetime, count: int) -> list[dt.datetime]:
    """``count`` ascending moments strictly inside (start, end), at whole minutes."""
    span = max(int((end - start).total_seconds() // 60), count + 1)
    picks = sorted(rng.sample(range(1, span), k=count)) if span > count + 1 else list(range(1, count + 1))
    return [start + dt.timedelta(minutes=m) for m in picks]


def create_demo_deals(
    *,
    seed: int,
    now: dt.datetime,
    count: int = 3000,
    customers: Sequence[Customer] | None = None,
) -> DealsResult:
    """Create ``count`` deals (with lines, stage history, competitors) over the two years to ``now``."""
    rng = random.Random(seed * 31 + 3)
    today = local_date(now)
    start_day = today - dt.timedelta(days=YEARS_DAYS)
    calendar = DemoCalendar(start_day - dt.timedelta(days=30), today + dt.timedelta(days=400))
    rates = ensure_demo_rates(seed=seed, today=today)
    if customers is None:
        customers = list(Customer.objects.filter(deleted_at__isnull=True, owner__isnull=False).order_by("pk"))
    customers = [c for c in customers if c.owner_id is not None]
    if not customers or count <= 0:
        return DealsResult([], rates, {})
    contacts: dict[int, list[int]] = {}
    for person, customer_id in Contact.objects.order_by("customer_id", "-is_primary", "pk").values_list(
        "pk", "customer_id"
    ):
        contacts.setdefault(customer_id, []).append(person)
    owners = {u.pk: u for u in User.objects.filter(pk__in={c.owner_id for c in customers})}
    owner_ids = sorted(owners)
    factors = list(REP_FACTORS)
    rng.shuffle(factors)
    rep_factor = {pk: factors[i % len(factors)] for i, pk in enumerate(owner_ids)}
    products = {p.sku: p for p in Product.objects.all()}
    pipelines = list(Pipeline.objects.filter(is_active=True).order_by("-is_default", "order", "pk"))
    stages_of: dict[int, list[Stage]] = {}
    won_of: dict[int, Stage] = {}
    lost_of: dict[int, Stage] = {}
    for stage in Stage.objects.filter(pipeline__in=pipelines).order_by("order"):
        if stage.kind == StageKind.OPEN:
            stages_of.setdefault(stage.pipeline_id, []).append(stage)
        elif stage.kind == StageKind.WON:
            won_of.setdefault(stage.pipeline_id, stage)
        else:
            lost_of.setdefault(stage.pipeline_id, stage)
    pipelines = [p for p in pipelines if p.pk in stages_of and p.pk in won_of and p.pk in lost_of]
    if not pipelines:
        return DealsResult([], rates, rep_factor)
    default, channel = pipelines[0], pipelines[1] if len(pipelines) > 1 else pipelines[0]
    reasons = list(LostReason.objects.filter(is_active=True).order_by("order", "pk"))
    competitor_reason = next((r for r in reasons if "竞争" in r.name), None)
    Competitor.objects.bulk_create([Competitor(name=n) for n in COMPETITORS], ignore_conflicts=True)
    competitors = list(Competitor.objects.filter(name__in=COMPETITORS).order_by("pk"))
    # Customers by the day they appeared, weighted by how much they buy: a deal's customer is drawn
    # among those who existed a day before the deal.
    customers = sorted(customers, key=lambda c: (c.created_at, c.pk))
    appeared = [local_date(c.created_at) for c in customers]
    weights = [CUSTOMER_WEIGHT.get(LifecycleStage(c.lifecycle_stage), 1.0) for c in customers]
    cumulative = list(itertools.accumulate(weights))

    generated: list[DemoDeal] = []
    for _n in range(count):
        # When: spread over the two years (busy days likelier), then whose.
        created_day = calendar.pick(rng, start_day + dt.timedelta(days=10), today - dt.timedelta(days=1))
        known = bisect.bisect_left(appeared, created_day)  # customers created before that day
        if known == 0:
            customer = customers[0]
            created_day = max(created_day, appeared[0] + dt.timedelta(days=1))
        else:
            customer = rng.choices(customers[:known], cum_weights=cumulative[:known])[0]
        assert customer.owner_id is not None
        owner = owners[customer.owner_id]
        international = customer.country != "CN"
        currency = "CNY"
        if international:
            currency = {"DE": "EUR", "HK": "HKD"}.get(customer.country, "USD")
        source = customer.source if customer.source and rng.random() < 0.85 else rng.choice(list(CustomerSource))
        pipeline = channel if (source == CustomerSource.PARTNER or rng.random() < 0.12) else default
        opens = stages_of[pipeline.pk]
        created_at = working_time(rng, created_day)
        if created_at >= now:
            created_at = now - dt.timedelta(hours=rng.randint(2, 20))
            created_day = local_date(created_at)
        # A sales cycle of two weeks to five months; big projects take up to a year.
        cycle = int(rng.triangular(12, 170, 45) if rng.random() < 0.85 else rng.triangular(60, 360, 120))
        planned = created_day + dt.timedelta(days=cycle)
        path: list[tuple[Stage, dt.datetime]] = []
        status = DealStatus.OPEN
        if planned < today:
            close_day = min(_close_day(rng, planned, created_day + dt.timedelta(days=3), today, calendar), today)
            close_at = working_time(rng, close_day)
            if close_at >= now or close_at <= created_at:
                close_at = created_at + (min(now, created_at + dt.timedelta(days=cycle)) - created_at) / 2
            chance = BASE_WIN * SOURCE_FACTOR.get(CustomerSource(source), 1.0) * rep_factor[owner.pk]
            won = rng.random() < min(chance, 0.9)
            if won:
                reached = [s for s in opens if s is opens[0] or s is opens[-1] or rng.random() > 0.08]
                final = won_of[pipeline.pk]
                status = DealStatus.WON
            else:
                depth = rng.choices(range(1, len(opens) + 1), weights=[40, 30, 20, 10, 5, 5][: len(opens)])[0]
                reached = opens[:depth]
                final = lost_of[pipeline.pk]
                status = DealStatus.LOST
            times = [created_at, *_between(rng, created_at, close_at, len(reached) - 1), close_at]
            path = [*zip(reached, times[:-1], strict=True), (final, close_at)]
            expected = local_date(close_at)
        else:
            elapsed = (now - created_at).total_seconds()
            fraction = elapsed / (cycle * 86400)
            depth = max(1, min(len(opens), 1 + int(fraction * len(opens) * rng.uniform(0.6, 1.3))))
            reached = opens[:depth]
            last_limit = reached[-1].stale_after_days or 30
            if rng.random() < 0.22:  # stuck: in this stage well past its stale limit
                entered = now - dt.timedelta(days=last_limit * rng.uniform(1.2, 3.0), minutes=rng.randint(0, 600))
            else:
                entered = now - dt.timedelta(days=last_limit * rng.uniform(0.0, 0.8), minutes=rng.randint(5, 600))
            if depth == 1 or entered <= created_at + dt.timedelta(minutes=depth * 10):
                entered = created_at if depth == 1 else created_at + (now - created_at) * rng.uniform(0.5, 0.95)
            times = [created_at, *_between(rng, created_at, entered, depth - 2), entered] if depth > 1 else [created_at]
            path = list(zip(reached, times, strict=True))
            expected = today + dt.timedelta(days=max(3, cycle - int(elapsed // 86400)) + rng.randint(-10, 20))
            if rng.random() < 0.1:  # the rep has not moved the date yet
                expected = today - dt.timedelta(days=rng.randint(1, 25))
        stage = path[-1][0]
        # Line items from a bundle, priced in the deal's currency at the rate of the creation day.
        bundle = USD_BUNDLE if currency == "USD" and rng.random() < 0.5 else rng.choice(BUNDLES)
        theme_zh, theme_en, items = bundle
        discount = _weighted(rng, DISCOUNTS)
        lines: list[DealLine] = []
        for i, (sku, (lo, hi)) in enumerate(items):
            if i > 0 and rng.random() > 0.7:
                continue
            product = products.get(sku)
            if product is None:
                continue
            price = product.list_price
            cost = product.unit_cost
            if product.currency != currency:
                rate_day = created_day
                if not (rates.has(product.currency, rate_day) and rates.has(currency, rate_day)):
                    continue
                base_price = rates.to_base(price, product.currency, rate_day)
                price = money.quantize(base_price / rates.on(rate_day).rate(currency), currency)
                if cost is not None:
                    base_cost = rates.to_base(cost, product.currency, rate_day)
                    cost = money.quantize(base_cost / rates.on(rate_day).rate(currency), currency)
            quantity = Decimal(rng.randint(lo, hi) if hi > 1 else 1)
            if hi >= 20:
                quantity = Decimal(int(quantity) // 5 * 5 or 5)
            line_discount = Decimal(0) if product.category in NO_DISCOUNT_CATEGORIES else discount
            lines.append(
                DealLine(
                    product=product,
                    name=product.name,
                    quantity=quantity,
                    unit_price=price,
                    discount_percent=line_discount,
                    subtotal=line_subtotal(quantity, price, line_discount),
                    unit_cost=cost,
                    order=len(lines),
                )
            )
        if not lines:  # no rate for this currency: sell in the base currency instead
            currency = rates.base
            product = products.get("IMP-STD") or next(iter(products.values()))
            quantity = Decimal(rng.randint(5, 30))
            lines.append(
                DealLine(
                    product=product,
                    name=product.name,
                    quantity=quantity,
                    unit_price=product.list_price,
                    discount_percent=Decimal(0),
                    subtotal=line_subtotal(quantity, product.list_price, Decimal(0)),
                    unit_cost=product.unit_cost,
                    order=0,
                )
            )
        amount = sum((line.subtotal for line in lines), Decimal(0))
        costs = [line.unit_cost for line in lines]
        cost = None
        if None not in costs:  # a line without a cost leaves the deal's cost (and margin) unknown
            cost = sum(
                (money.quantize(ln.quantity * c, currency) for ln, c in zip(lines, costs, strict=True) if c), Decimal(0)
            )
        name = (
            f"{short_name(customer.name)} – {theme_en}" if international else f"{short_name(customer.name)}{theme_zh}"
        )
        customer_contacts = contacts.get(customer.pk, [])
        contact_id: int | None = None
        if customer_contacts:
            contact_id = customer_contacts[0] if rng.random() < 0.7 else rng.choice(customer_contacts)
        last_at = path[-1][1]
        deal = Deal(
            name=name[:200],
            customer_id=customer.pk,
            contact_id=contact_id,
            pipeline=pipeline,
            stage=stage,
            status=status,
            amount=amount,
            currency=currency,
            amount_base=rates.to_base(amount, currency, expected) if rates.has(currency, expected) else None,
            cost_base=(
                rates.to_base(cost, currency, expected) if cost is not None and rates.has(currency, expected) else None
            ),
            expected_close_date=expected,
            probability=stage.probability,
            forecast_category=stage.forecast_category,
            owner_id=owner.pk,
            team_id=owner.team_id,
            source=source,
            next_step=(rng.choice(NEXT_STEPS_EN if international else NEXT_STEPS) if status == "open" else ""),
            closed_on=local_date(last_at) if status != DealStatus.OPEN else None,
            stage_entered_at=last_at,
            created_at=created_at,
            updated_at=min(now, last_at + dt.timedelta(minutes=rng.randint(0, 240))),
            version=len(path),
        )
        if status == DealStatus.OPEN and rng.random() < 0.06:  # the rep's own judgement
            deal.probability = min(95, max(5, stage.probability + rng.choice([-20, -10, 10, 15])))
            deal.probability_overridden = True
        generated.append(DemoDeal(deal=deal, lines=lines, path=path, international=international))
        picked: list[Competitor] = []
        if status == DealStatus.LOST:
            reason = rng.choice(reasons) if reasons else None
            if reason is not None and rng.random() < 0.3 and competitor_reason is not None:
                reason = competitor_reason
            deal.lost_reason = reason
            deal.lost_note = rng.choice(LOST_NOTES)
            if reason is not None and reason == competitor_reason:
                picked = [rng.choice(competitors)]
        if not picked and competitors and rng.random() < 0.3:
            picked = rng.sample(competitors, k=rng.choice([1, 1, 2]))
        generated[-1].competitors = picked
        if rng.random() < 0.1:
            team_mates = [pk for pk in owner_ids if pk != owner.pk and owners[pk].team_id == owner.team_id]
            if team_mates:
                generated[-1].collaborators = [rng.choice(team_mates)]

    generated.sort(key=lambda d: (d.created_at, d.deal.name))
    Deal.objects.bulk_create([d.deal for d in generated], batch_size=500)
    all_lines, changes = [], []
    for d in generated:
        for line in d.lines:
            line.deal = d.deal
            all_lines.append(line)
        previous: tuple[Stage, dt.datetime] | None = None
        for stage, at in d.path:
            changes.append(
                DealStageChange(
                    deal=d.deal,
                    from_stage=previous[0] if previous else None,
                    to_stage=stage,
                    changed_at=at,
                    changed_by_id=d.deal.owner_id,
                    seconds_in_from_stage=int((at - previous[1]).total_seconds()) if previous else None,
                )
            )
            previous = (stage, at)
    DealLine.objects.bulk_create(all_lines, batch_size=1000)
    DealStageChange.objects.bulk_create(changes, batch_size=1000)
    competitor_links = []
    collaborator_links = []
    for d in generated:
        for competitor in d.competitors:
            competitor_links.append(Deal.competitors.through(deal_id=d.deal.pk, competitor_id=competitor.pk))
        for user_id in d.collaborators:
            collaborator_links.append(Deal.collaborators.through(deal_id=d.deal.pk, user_id=user_id))
    Deal.competitors.through.objects.bulk_create(competitor_links, batch_size=1000)
    Deal.collaborators.through.objects.bulk_create(collaborator_links, batch_size=1000)
    # Whoever bought is a customer now (a churned account stays churned).
    buyers = {d.deal.customer_id: d.closed_at for d in generated if d.deal.status == DealStatus.WON}
    upgraded = []
    for customer in customers:
        if customer.pk in buyers and customer.lifecycle_stage in (LifecycleStage.LEAD, LifecycleStage.PROSPECT):
            customer.lifecycle_stage = LifecycleStage.CUSTOMER
            upgraded.append(customer)
    Customer.objects.bulk_update(upgraded, ["lifecycle_stage"], batch_size=100)
    return DealsResult(generated, rates, rep_factor)
