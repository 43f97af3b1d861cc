"""The demo calendar and pricing helpers the deal generator leans on."""

from __future__ import annotations

import datetime as dt
import random
from collections import Counter
from decimal import Decimal

from bridgecrm.pipeline.demo_deals import (
    DemoCalendar,
    _close_day,
    _quarter_end,
    day_weight,
    line_subtotal,
    short_name,
)


def test_holidays_and_weekends_weigh_less_than_working_days() -> None:
    assert day_weight(dt.date(2026, 6, 16)) == 1.0  # a Tuesday
    assert day_weight(dt.date(2026, 6, 20)) < 0.2  # a Saturday
    assert day_weight(dt.date(2026, 2, 18)) < 0.1  # Spring Festival 2026
    assert day_weight(dt.date(2025, 1, 28)) < 0.1  # New Year's Eve, 2025
    assert day_weight(dt.date(2026, 10, 2)) < 0.1  # National Day
    assert day_weight(dt.date(2026, 5, 1)) < 0.5  # Labour Day


def test_calendar_picks_stay_in_range_and_prefer_working_days() -> None:
    calendar = DemoCalendar(dt.date(2025, 1, 1), dt.date(2026, 12, 31))
    rng = random.Random(1)
    lo, hi = dt.date(2026, 1, 20), dt.date(2026, 3, 10)
    days = [calendar.pick(rng, lo, hi) for _ in range(3000)]
    assert min(days) >= lo and max(days) <= hi
    festival = sum(1 for d in days if dt.date(2026, 2, 15) <= d <= dt.date(2026, 2, 23))
    weekdays = Counter(d.weekday() for d in days)
    assert festival < 60  # nine days; an ordinary working day alone gets about 90
    assert weekdays[1] > 4 * weekdays[6]
    assert calendar.pick(rng, hi, lo) == hi  # an empty range gives its start


def test_closes_are_pulled_to_the_quarter_end_and_never_past_today() -> None:
    calendar = DemoCalendar(dt.date(2025, 1, 1), dt.date(2026, 12, 31))
    rng = random.Random(2)
    today = dt.date(2026, 11, 30)
    assert _quarter_end(dt.date(2026, 11, 3)) == dt.date(2026, 12, 31)
    assert _quarter_end(dt.date(2026, 2, 3)) == dt.date(2026, 3, 31)
    closes = [_close_day(rng, dt.date(2026, 5, 4), dt.date(2026, 4, 20), today, calendar) for _ in range(500)]
    assert all(dt.date(2026, 4, 20) <= d <= dt.date(2026, 6, 30) for d in closes)
    assert sum(1 for d in closes if d >= dt.date(2026, 6, 17)) > 100
    assert all(d.weekday() < 5 for d in closes)
    late = [_close_day(rng, dt.date(2026, 11, 2), dt.date(2026, 10, 20), today, calendar) for _ in range(100)]
    assert all(d <= today for d in late)


def test_line_subtotal_rounds_once_half_up() -> None:
    assert line_subtotal(Decimal("1"), Decimal("0.05"), Decimal("50")) == Decimal("0.03")
    assert line_subtotal(Decimal("3"), Decimal("0.15"), Decimal("50")) == Decimal("0.23")  # 0.225
    assert line_subtotal(Decimal("25"), Decimal("1200.00"), Decimal("8")) == Decimal("27600.00")


def test_short_names_drop_the_legal_form() -> None:
    assert short_name("上海华瑞精密机械有限公司") == "上海华瑞精密机械"
    assert short_name("Pacific Trading Pte Ltd") == "Pacific Trading"
    assert short_name("王伟") == "王伟"
