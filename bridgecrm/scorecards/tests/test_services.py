"""Evaluation life cycle: run, re-run, review (comment, adjust), publish, acknowledge, lock; refusals
change nothing; visibility of entries; what-if saves nothing."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from django.utils import translation

from bridgecrm.activities.models import Notification, NotificationKind
from bridgecrm.activities.selectors import notification_text
from bridgecrm.conftest import Company
from bridgecrm.core.errors import ApplicationError, Conflict, PermissionDenied
from bridgecrm.core.periods import Period
from bridgecrm.scorecards import scoring, selectors, services
from bridgecrm.scorecards.models import Evaluation, EvaluationAdjustment, EvaluationEntry, Scorecard
from bridgecrm.tiers.tests.helpers import customer, follow_up
from bridgecrm.users.tests.factories import role

pytestmark = pytest.mark.django_db

Q1 = Period.quarter(2026, 1)
TODAY = dt.date(2026, 4, 10)
IN_Q1 = dt.datetime(2026, 2, 10, 2, 0, tzinfo=dt.UTC)


def simple_card(company: Company, **changes: Any) -> Scorecard:
    values = services.ScorecardValues(
        name="Reps",
        description="",
        period_kind="quarter",
        is_active=True,
        role_ids=[role("rep").pk],
        team_ids=[],
        rules=[
            scoring.Rule("new_customers", Decimal(50), cap=Decimal(100), target_value=Decimal(2)),
            scoring.Rule("visits", Decimal(50), cap=Decimal(100), target_value=Decimal(2), kind="process"),
        ],
    )
    for k, v in changes.items():
        values = services.ScorecardValues(**{**values.__dict__, k: v})
    return services.scorecard_save(actor=company.admin, values=values)


def data(company: Company) -> None:
    # owner: 2 new customers, 2 visits → 100; teammate: 1 new, 0 visits → 25; other_rep: nothing → 0
    a = customer(company.owner, "Owner new 1", since=IN_Q1)
    customer(company.owner, "Owner new 2", since=IN_Q1)
    follow_up(a, dt.date(2026, 2, 11), kind="visit")
    follow_up(a, dt.date(2026, 2, 12), kind="visit")
    customer(company.teammate, "Mate new", since=IN_Q1)


@pytest.fixture
def run(company: Company) -> Evaluation:
    data(company)
    return services.evaluation_run(actor=company.admin, scorecard=simple_card(company), period=Q1, today=TODAY)


def totals(evaluation: Evaluation) -> dict[str, tuple[Decimal, int]]:
    return {e.user.username: (e.total, e.rank) for e in evaluation.entries.select_related("user")}


def test_run_scores_and_ranks(company: Company, run: Evaluation) -> None:
    assert totals(run) == {
        "owner": (Decimal("100.00"), 1),
        "teammate": (Decimal("25.00"), 2),
        "other_rep": (Decimal("0.00"), 3),
    }
    assert run.status == "draft" and run.definition["metrics"][0]["code"] == "new_customers"


def test_weights_must_add_up_to_100_and_nothing_is_saved(company: Company) -> None:
    with pytest.raises(ApplicationError) as exc:
        simple_card(company, rules=[scoring.Rule("visits", Decimal("99.99"), target_value=Decimal(1))])
    assert exc.value.code == "weights"
    assert not Scorecard.objects.exists()


def test_unavailable_metric_cannot_be_picked(company: Company) -> None:
    with pytest.raises(ApplicationError) as exc:
        simple_card(company, rules=[scoring.Rule("satisfaction", Decimal(100), target_value=Decimal(1))])
    assert exc.value.code == "unavailable"
    assert not Scorecard.objects.exists()


def test_only_managers_of_scorecards_define_and_run(company: Company) -> None:
    with pytest.raises(PermissionDenied):
        services.scorecard_save(
            actor=company.manager_a,
            values=services.ScorecardValues("X", "", "quarter", True, [role("rep").pk], [], []),
        )
    card = simple_card(company)
    with pytest.raises(PermissionDenied):
        services.evaluation_run(actor=company.manager_a, scorecard=card, period=Q1, today=TODAY)
    assert not Evaluation.objects.exists()


def test_rerun_replaces_a_draft_but_not_a_later_one(company: Company, run: Evaluation) -> None:
    customer(company.other_rep, "Late new", since=IN_Q1)
    again = services.evaluation_run(actor=company.admin, scorecard=run.scorecard, period=Q1, today=TODAY)
    assert again.pk == run.pk and totals(again)["other_rep"] == (Decimal("25.00"), 2)
    services.evaluation_advance(actor=company.admin, evaluation=run, to="in_review")
    with pytest.raises(Conflict) as exc:
        services.evaluation_run(actor=company.admin, scorecard=run.scorecard, period=Q1, today=TODAY)
    assert exc.value.code == "not_draft"


def test_review_adjust_publish_acknowledge_lock(company: Company, run: Evaluation) -> None:
    services.evaluation_advance(actor=company.admin, evaluation=run, to="in_review")
    mate = run.entries.get(user=company.teammate)
    # manager B does not review team A; manager A does not review himself
    with pytest.raises(PermissionDenied):
        services.entry_adjust(actor=company.manager_b, entry=mate, metric="visits", points="50", reason="x")
    with pytest.raises(ApplicationError) as exc:
        services.entry_adjust(actor=company.manager_a, entry=mate, metric="visits", points="50", reason=" ")
    assert exc.value.code == "required"
    with pytest.raises(ApplicationError):
        services.entry_adjust(actor=company.manager_a, entry=mate, metric="visits", points="50.01", reason="x")
    assert EvaluationEntry.objects.get(pk=mate.pk).total == Decimal("25.00")
    adjusted = services.entry_adjust(
        actor=company.manager_a, entry=mate, metric="visits", points="50", reason="Visits logged late"
    )
    assert adjusted.total == Decimal("75.00")
    assert totals(run) == {
        "owner": (Decimal("100.00"), 1),
        "teammate": (Decimal("75.00"), 2),
        "other_rep": (Decimal("0.00"), 3),
    }
    line = adjusted.breakdown["metrics"][1]
    assert line["points"] == "0.00" and line["adjusted"]["points"] == "50.00"
    assert "adjusted to 50.00" in selectors.explain(line) and "Visits logged late" in selectors.explain(line)
    assert EvaluationAdjustment.objects.get().reason == "Visits logged late"
    services.entry_comment(actor=company.manager_a, entry=mate, text="Good quarter")
    services.evaluation_advance(actor=company.admin, evaluation=run, to="published")
    assert Notification.objects.filter(kind=NotificationKind.EVALUATION_PUBLISHED).count() == 3
    note = Notification.objects.get(recipient=company.teammate)
    assert note.params["total"] == "75.00" and note.params["rank"] == 2
    with translation.override("en"):
        assert "is published: 75.00 points, rank 2" in notification_text(note)
    with translation.override("zh-hans"):
        assert "75.00" in notification_text(note) and "published" not in notification_text(note)
    with pytest.raises(PermissionDenied):
        services.entry_acknowledge(actor=company.owner, entry=mate)
    assert services.entry_acknowledge(actor=company.teammate, entry=mate).acknowledged_at is not None
    services.evaluation_advance(actor=company.admin, evaluation=run, to="locked")
    run.refresh_from_db()
    assert run.status == "locked" and run.locked_at is not None


def test_a_locked_evaluation_never_changes(company: Company, run: Evaluation) -> None:
    for step in ("in_review", "published", "locked"):
        services.evaluation_advance(actor=company.admin, evaluation=run, to=step)
    before = list(EvaluationEntry.objects.order_by("pk").values())
    entry = run.entries.get(user=company.owner)
    attempts = [
        lambda: services.evaluation_run(actor=company.admin, scorecard=run.scorecard, period=Q1, today=TODAY),
        lambda: services.entry_adjust(actor=company.admin, entry=entry, metric="visits", points="1", reason="x"),
        lambda: services.entry_comment(actor=company.admin, entry=entry, text="late"),
        lambda: services.evaluation_advance(actor=company.admin, evaluation=run, to="in_review"),
        lambda: services.entry_acknowledge(actor=company.owner, entry=entry),
    ]
    for attempt in attempts:
        with pytest.raises(Conflict):
            attempt()
    assert list(EvaluationEntry.objects.order_by("pk").values()) == before
    assert Evaluation.objects.get().status == "locked"


def test_visibility_of_entries(company: Company, run: Evaluation) -> None:
    def seen(actor: Any) -> set[str]:
        return {e.user.username for e in selectors.entries(actor=actor).select_related("user")}

    assert seen(company.owner) == set() and seen(company.manager_a) == set()  # a draft
    assert seen(company.admin) == {"owner", "teammate", "other_rep"}
    services.evaluation_advance(actor=company.admin, evaluation=run, to="in_review")
    assert seen(company.manager_a) == {"owner", "teammate"} and seen(company.owner) == set()
    assert seen(company.manager_b) == {"other_rep"}
    services.evaluation_advance(actor=company.admin, evaluation=run, to="published")
    assert seen(company.owner) == {"owner"} and seen(company.other_rep) == {"other_rep"}
    rows = selectors.leaderboard(actor=company.owner, today=TODAY)
    assert [(r.rep.username, r.total, r.rank) for r in rows] == [("owner", Decimal("100.00"), 1)]
    assert [r.rep.username for r in selectors.leaderboard(actor=company.admin, today=TODAY, limit=2)] == [
        "owner",
        "teammate",
    ]


def test_locked_totals(company: Company, run: Evaluation) -> None:
    ids = [company.owner.pk, company.teammate.pk]
    assert selectors.locked_totals(user_ids=ids, period=Q1) == {}
    for step in ("in_review", "published", "locked"):
        services.evaluation_advance(actor=company.admin, evaluation=run, to=step)
    assert selectors.locked_totals(user_ids=ids, period=Q1) == {
        company.owner.pk: Decimal("100.00"),
        company.teammate.pk: Decimal("25.00"),
    }


def test_what_if_moves_totals_and_ranks_without_saving(company: Company, run: Evaluation) -> None:
    before = list(EvaluationEntry.objects.order_by("pk").values())
    rules = [
        scoring.Rule("new_customers", Decimal(90), cap=Decimal(100), target_value=Decimal(2)),
        scoring.Rule("visits", Decimal(10), cap=Decimal(100), target_value=Decimal(2)),
    ]
    rows = services.evaluation_what_if(actor=company.admin, evaluation=run, rules=rules)
    assert [(r.name, r.published_total, r.total, r.rank) for r in rows][1:] == [
        (company.teammate.display_name, Decimal("25.00"), Decimal("45.00"), 2),
        (company.other_rep.display_name, Decimal("0.00"), Decimal("0.00"), 3),
    ]
    assert list(EvaluationEntry.objects.order_by("pk").values()) == before
    with pytest.raises(PermissionDenied):
        services.evaluation_what_if(actor=company.manager_a, evaluation=run, rules=rules)


def test_target_difficulty(company: Company) -> None:
    from bridgecrm.targets.models import Target

    customer(company.owner, "Big", estimated_annual_potential="400000")
    Target.objects.create(
        measure="signed_amount",
        period_kind="quarter",
        period_start=Q1.start,
        period_end=Q1.end,
        scope="rep",
        user=company.owner,
        amount=Decimal(50_000),
    )
    run = services.evaluation_run(actor=company.admin, scorecard=simple_card(company), period=Q1, today=TODAY)
    entry = run.entries.get(user=company.owner)
    # 50,000 ÷ (400,000 × 3/12) = 0.5
    assert entry.breakdown["potential"] == "100000.00" and selectors.difficulty(entry) == Decimal("0.5000")
    assert selectors.difficulty(run.entries.get(user=company.teammate)) is None
