"""Calendar periods (year, quarter, month) that targets, evaluations and statements are set for.

A period is a closed date range ``[start, end]`` in the company's calendar. Parsing and labels are
shared here so that every app names the same period the same way ("2026", "2026-Q3", "2026-07").
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import date

from django.db import models
from django.utils.translation import gettext_lazy as _


class PeriodKind(models.TextChoices):
    YEAR = "year", _("Year")
    QUARTER = "quarter", _("Quarter")
    MONTH = "month", _("Month")


_PATTERN = re.compile(r"^(?P<year>\d{4})(?:-(?:Q(?P<quarter>[1-4])|(?P<month>0[1-9]|1[0-2])))?$")


@dataclass(frozen=True, order=True)
class Period:
    start: date
    end: date
    kind: str

    @classmethod
    def year(cls, year: int) -> Period:
        return cls(date(year, 1, 1), date(year, 12, 31), PeriodKind.YEAR)

    @classmethod
    def quarter(cls, year: int, quarter: int) -> Period:
        first = 3 * (quarter - 1) + 1
        last = first + 2
        return cls(date(year, first, 1), date(year, last, calendar.monthrange(year, last)[1]), PeriodKind.QUARTER)

    @classmethod
    def month(cls, year: int, month: int) -> Period:
        return cls(date(year, month, 1), date(year, month, calendar.monthrange(year, month)[1]), PeriodKind.MONTH)

    @classmethod
    def containing(cls, kind: str, day: date) -> Period:
        if kind == PeriodKind.YEAR:
            return cls.year(day.year)
        if kind == PeriodKind.QUARTER:
            return cls.quarter(day.year, (day.month - 1) // 3 + 1)
        if kind == PeriodKind.MONTH:
            return cls.month(day.year, day.month)
        raise ValueError(kind)

    @classmethod
    def parse(cls, code: str) -> Period:
        """``"2026"``, ``"2026-Q3"`` or ``"2026-07"``; ``ValueError`` for anything else."""
        found = _PATTERN.match(code.strip())
        if not found:
            raise ValueError(code)
        year = int(found["year"])
        if found["quarter"]:
            return cls.quarter(year, int(found["quarter"]))
        if found["month"]:
            return cls.month(year, int(found["month"]))
        return cls.year(year)

    @property
    def code(self) -> str:
        if self.kind == PeriodKind.YEAR:
            return f"{self.start.year}"
        if self.kind == PeriodKind.QUARTER:
            return f"{self.start.year}-Q{(self.start.month - 1) // 3 + 1}"
        return f"{self.start.year}-{self.start.month:02d}"

    def __str__(self) -> str:
        return self.code

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    def months(self) -> list[Period]:
        """The calendar months inside this period, in order."""
        out = []
        year, month = self.start.year, self.start.month
        while date(year, month, 1) <= self.end:
            out.append(Period.month(year, month))
            year, month = (year + 1, 1) if month == 12 else (year, month + 1)
        return out

    def quarters(self) -> list[Period]:
        return [Period.containing(PeriodKind.QUARTER, m.start) for m in self.months() if m.start.month % 3 == 1]

    def previous(self) -> Period:
        if self.kind == PeriodKind.YEAR:
            return Period.year(self.start.year - 1)
        if self.kind == PeriodKind.QUARTER:
            q = (self.start.month - 1) // 3 + 1
            return Period.quarter(self.start.year - 1, 4) if q == 1 else Period.quarter(self.start.year, q - 1)
        if self.start.month == 1:
            return Period.month(self.start.year - 1, 12)
        return Period.month(self.start.year, self.start.month - 1)

    def a_year_earlier(self) -> Period:
        return Period.containing(self.kind, date(self.start.year - 1, self.start.month, 1))

    def contains(self, day: date) -> bool:
        return self.start <= day <= self.end
