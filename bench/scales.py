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
    # CRM rows (bench/crm.py); 0: none.
    customers: int = 0
    contacts: int = 0
    follow_ups: int = 0
    deals: int = 0
    open_deals: int = 0  # of ``deals``, open in the default pipeline (the kanban board's)
    plan_lines: int = 0


SCALES: dict[str, Scale] = {
    s.name: s
    for s in (
        Scale("smoke", 10_000, 20, 730, "Tiny: for the test suite, seconds to generate."),
        Scale("audit-100k", 100_000, 100, 730, "A department after a few months; quick local runs."),
        Scale("audit-1m", 1_000_000, 300, 730, "Two years of a 330-person department: the audit budget."),
        Scale(
            "crm-smoke",
            2_000,
            20,
            730,
            "Tiny CRM data set: for the test suite, seconds to generate.",
            customers=300,
            contacts=900,
            follow_ups=3_000,
            deals=600,
            open_deals=100,
            plan_lines=300,
        ),
        Scale(
            "crm-large",
            20_000,
            300,
            730,
            "Two years of a 330-person department's CRM: the issue 3 budgets.",
            customers=100_000,
            contacts=300_000,
            follow_ups=1_000_000,
            deals=200_000,
            open_deals=10_000,
            plan_lines=100_000,
        ),
    )
}


def get_scale(name: str) -> Scale:
    try:
        return SCALES[name]
    except KeyError:
        raise SystemExit(f"unknown scale {name!r}; known: {', '.join(SCALES)}") from None
