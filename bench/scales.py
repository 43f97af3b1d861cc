"""The named data scales. The one place that says how big "smoke" or "audit-1m" is."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Scale:
    name: str
    audit_rows: int  # AuditEntry rows in total (the demo company's own rows count towards it)
    extra_people: int  # reps added to the demo company's teams, so the trail has many actors
    days: int  # the trail spans this many days, ending now
    description: str


SCALES: dict[str, Scale] = {
    s.name: s
    for s in (
        Scale("smoke", 10_000, 20, 730, "Tiny: for the test suite, seconds to generate."),
        Scale("audit-100k", 100_000, 100, 730, "A department after a few months; quick local runs."),
        Scale("audit-1m", 1_000_000, 300, 730, "Two years of a 330-person department: the audit budget."),
    )
}


def get_scale(name: str) -> Scale:
    try:
        return SCALES[name]
    except KeyError:
        raise SystemExit(f"unknown scale {name!r}; known: {', '.join(SCALES)}") from None
