"""Demo scorecards: "Sales reps" (the domestic regions) and "Key account managers" (the international
region), each evaluated for last quarter (run, reviewed with an adjustment and a comment, published,
acknowledged by a few reps, locked), and a draft of "Sales reps" for the current quarter.

Fixed targets come from the demo's own records (the reps' median of the quarter before last, rounded
up), so the scores spread whatever the demo's scale; nothing is invented per rep.
"""

from __future__ import annotations

import datetime as dt
import statistics
from decimal import ROUND_UP, Decimal

from django.db.models import Q

from bridgecrm.core.periods import Period, PeriodKind
from bridgecrm.scorecards import metrics, scoring, services
from bridgecrm.scorecards.models import EvaluationStatus, Scorecard
from bridgecrm.users.models import Role, Team, TeamKind, User


def _round_target(values: list[Decimal | None], floor: Decimal) -> Decimal:
    """The median of the values above zero, rounded up to two significant digits (at least ``floor``)."""
    present = sorted(v for v in values if v is not None and v > 0)
    if not present:
        return floor
    median = Decimal(str(statistics.median(present)))
    exponent = median.adjusted() - 1
    step = Decimal(1).scaleb(exponent)
    return max(floor, (median / step).to_integral_value(ROUND_UP) * step)


def _targets(codes: list[str], period: Period, ids: list[int], today: dt.date) -> dict[str, Decimal]:
    values = metrics.compute_all(codes, period=period, user_ids=ids, today=today)
    floors = {
        "signed_amount": Decimal(10_000),
        "collected_amount": Decimal(10_000),
        "average_deal_size": Decimal(5_000),
    }
    return {c: _round_target(list(values[c].values()), floors.get(c, Decimal(1))) for c in codes}


def _card(
    admin: User, name: str, description: str, rules: list[scoring.Rule], *, roles: list[Role], teams: list[Team]
) -> Scorecard:
    return services.scorecard_save(
        actor=admin,
        values=services.ScorecardValues(
            name=name,
            description=description,
            period_kind=PeriodKind.QUARTER,
            is_active=True,
            role_ids=[r.pk for r in roles],
            team_ids=[t.pk for t in teams],
            rules=rules,
        ),
    )


def _review_and_lock(admin: User, card: Scorecard, period: Period, today: dt.date) -> int:
    evaluation = services.evaluation_run(actor=admin, scorecard=card, period=period, today=today)
    services.evaluation_advance(actor=admin, evaluation=evaluation, to=EvaluationStatus.IN_REVIEW)
    entries = list(evaluation.entries.select_related("user__team__manager").order_by("rank", "user_id"))
    # The manager of the middle-ranked rep lifts a process score, with the reason, and comments.
    if entries:
        entry = entries[len(entries) // 2]
        manager = entry.user.team.manager if entry.user.team else None
        reviewer = manager if manager is not None and manager.pk != entry.user_id else admin
        process = [x for x in entry.breakdown["metrics"] if x["kind"] == "process"]
        if process:
            line = process[0]
            cap = Decimal(line.get("cap") or 100) / 100 if line.get("curve") == "linear" else Decimal(1)
            points = min(Decimal(line["points"]) + Decimal(5), Decimal(line["weight"]) * cap)
            services.entry_adjust(
                actor=reviewer,
                entry=entry,
                metric=line["code"],
                points=points,
                reason="客户拜访记录补录（系统故障期间的线下拜访） / Visits logged late during the outage",
            )
        services.entry_comment(
            actor=reviewer,
            entry=entry,
            text="回款节奏很好，下季度重点跟进大客户 / Good collections; focus on key accounts",
        )
    services.evaluation_advance(actor=admin, evaluation=evaluation, to=EvaluationStatus.PUBLISHED)
    for entry in entries[:3]:
        services.entry_acknowledge(actor=entry.user, entry=entry)
    services.evaluation_advance(actor=admin, evaluation=evaluation, to=EvaluationStatus.LOCKED)
    return len(entries)


def _ids(roles: list[Role], teams: list[Team]) -> list[int]:
    condition = Q(pk__in=[])
    for team in teams:
        condition |= Q(team__path__startswith=team.path)
    return list(User.objects.filter(condition, is_active=True, role__in=roles).values_list("pk", flat=True))


def create_demo_scorecards(*, today: dt.date) -> dict[str, int]:
    admin = (
        User.objects.filter(is_active=True, role__code="admin").order_by("pk").first()
        or User.objects.filter(is_superuser=True).order_by("pk").first()
    )
    if admin is None:
        return {"scorecards": 0, "evaluation entries": 0}
    rep_role = Role.objects.filter(code="rep").first()
    current = Period.containing(PeriodKind.QUARTER, today)
    last = current.previous()
    before = last.previous()
    regions = list(Team.objects.filter(kind=TeamKind.REGION, is_active=True).order_by("pk"))
    international = [t for t in regions if "International" in t.name] or regions[-1:]
    domestic = [t for t in regions if t not in international] or regions
    roles = [rep_role] if rep_role else []
    sales_ids = _ids(roles, domestic)
    sales_targets = _targets(["signed_amount", "collected_amount", "new_customers", "visits"], before, sales_ids, today)
    sales = _card(
        admin,
        "Sales reps 销售代表",
        "Quarterly scorecard of the domestic sales reps: results 70 %, process 30 %.",
        [
            scoring.Rule("signed_amount", Decimal(30), cap=Decimal(120), target_value=sales_targets["signed_amount"]),
            scoring.Rule(
                "collected_amount", Decimal(20), cap=Decimal(120), target_value=sales_targets["collected_amount"]
            ),
            scoring.Rule(
                "signing_rate", Decimal(10), curve="threshold", threshold=Decimal(100), target_value=Decimal("0.4")
            ),
            scoring.Rule("new_customers", Decimal(10), cap=Decimal(120), target_value=sales_targets["new_customers"]),
            scoring.Rule(
                "visits",
                Decimal(15),
                curve="bands",
                bands=((Decimal(100), Decimal(100)), (Decimal(80), Decimal(60)), (Decimal(50), Decimal(30))),
                target_value=sales_targets["visits"],
                kind="process",
            ),
            scoring.Rule("sop_compliance", Decimal(15), cap=Decimal(100), target_value=Decimal("0.8"), kind="process"),
        ],
        roles=roles,
        teams=domestic,
    )
    kam_ids = _ids(roles, international)
    kam_targets = _targets(["collected_amount", "average_deal_size"], before, kam_ids, today)
    kam = _card(
        admin,
        "Key account managers 大客户经理",
        "Quarterly scorecard of the international key account managers: collections and deal size first.",
        [
            scoring.Rule(
                "collected_amount", Decimal(40), cap=Decimal(150), target_value=kam_targets["collected_amount"]
            ),
            scoring.Rule("collection_rate", Decimal(20), cap=Decimal(100), target_value=Decimal("0.9")),
            scoring.Rule(
                "average_deal_size", Decimal(20), cap=Decimal(150), target_value=kam_targets["average_deal_size"]
            ),
            scoring.Rule("sop_compliance", Decimal(20), cap=Decimal(100), target_value=Decimal("0.8"), kind="process"),
        ],
        roles=roles,
        teams=international,
    )
    entries = _review_and_lock(admin, sales, last, today) + _review_and_lock(admin, kam, last, today)
    draft = services.evaluation_run(actor=admin, scorecard=sales, period=current, today=today)
    entries += draft.entries.count()
    return {"scorecards": 2, "evaluations": 3, "evaluation entries": entries}
