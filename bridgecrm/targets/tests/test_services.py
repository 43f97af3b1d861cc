"""Targets and plans through their services: decomposition by every method with exact amounts,
manual adjustment and mismatch, permissions (denied changes nothing), visibility, actuals,
progress, plans, milestones and the idempotent reminders."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import translation

from bridgecrm.activities.models import Notification, NotificationKind
from bridgecrm.activities.selectors import notification_text
from bridgecrm.conftest import Company
from bridgecrm.core import dates
from bridgecrm.core.errors import ApplicationError, NotFound, PermissionDenied
from bridgecrm.core.periods import Period
from bridgecrm.targets import selectors, services
from bridgecrm.targets.models import Milestone, MilestoneReminder, SalesPlan, Target
from bridgecrm.targets.tests.helpers import company_target, customer, follow_up, open_deal, paid, won

pytestmark = pytest.mark.django_db
D = Decimal


def amounts(children: list[Target]) -> dict[str, Decimal]:
    return {
        c.owner_label
        if c.period_end == c.parent.period_end and c.period_start == c.parent.period_start
        else c.period.code: c.amount  # type: ignore[union-attr]
        for c in children
    }


def test_company_to_region_to_teams_by_last_years_share(company: Company) -> None:
    c = company
    a = customer(c.owner, "A customer")
    b = customer(c.other_rep, "B customer")
    won(c.admin, a, "300000.00", dt.date(2025, 3, 1))
    won(c.admin, b, "100000.00", dt.date(2025, 9, 1))
    won(c.admin, a, "999.00", dt.date(2024, 12, 31))  # the year before last: not counted
    top = company_target(c)
    regions, preview = services.target_decompose(actor=c.admin, parent=top, dimension="scope", method="equal")
    assert [(t.team_id, t.amount) for t in regions] == [(c.region.pk, D("1000000.00"))]
    teams, preview = services.target_decompose(
        actor=c.admin, parent=regions[0], dimension="scope", method="last_year_share"
    )
    assert not preview.fell_back_to_equal
    assert amounts(teams) == {"Team A": D("750000.00"), "Team B": D("250000.00")}
    assert [line.weight for line in preview.lines] == [D("300000.00"), D("100000.00")]


def test_team_to_reps_equal_skips_the_manager_and_rounds_to_the_cent(company: Company) -> None:
    c = company
    team = services.target_create(
        actor=c.manager_a, measure="signed_amount", period="2026-Q1", scope="team", team=c.team_a, amount="100.01"
    )
    reps, _p = services.target_decompose(actor=c.manager_a, parent=team, dimension="scope", method="equal")
    assert sorted(r.user_id for r in reps) == sorted([c.owner.pk, c.teammate.pk])
    assert sum(r.amount for r in reps) == D("100.01")
    assert sorted(r.amount for r in reps) == [D("50.00"), D("50.01")]
    # The reps hear about it.
    (note,) = Notification.objects.filter(recipient=c.owner, kind=NotificationKind.TARGET_SET)
    # Worded when read, in the reader's language, not frozen in the sender's.
    with translation.override("en"):
        assert notification_text(note).startswith("Your target for 2026-Q1: Signed amount 50.0")
    with translation.override("zh-hans"):
        assert "2026-Q1" in notification_text(note) and "Your target" not in notification_text(note)


def test_entered_weights_and_count_measures(company: Company) -> None:
    c = company
    team = services.target_create(
        actor=c.admin, measure="visits", period="2026", scope="team", team=c.team_a, amount="100"
    )
    weights = {f"rep:{c.owner.pk}": "2", f"rep:{c.teammate.pk}": "1"}
    reps, _p = services.target_decompose(
        actor=c.admin, parent=team, dimension="scope", method="weights", weights=weights
    )
    assert {r.user_id: r.amount for r in reps} == {c.owner.pk: D(67), c.teammate.pk: D(33)}
    with pytest.raises(ApplicationError) as exc:
        services.target_create(actor=c.admin, measure="visits", period="2027", scope="company", amount="10.5")
    assert exc.value.code == "invalid"


def test_seasonality_from_last_years_months_and_fallback(company: Company) -> None:
    c = company
    a = customer(c.owner, "A customer")
    won(c.admin, a, "100.00", dt.date(2025, 1, 15))
    won(c.admin, a, "300.00", dt.date(2025, 12, 1))
    rep = services.target_create(
        actor=c.manager_a, measure="signed_amount", period="2026", scope="rep", user=c.owner, amount="1200.00"
    )
    months, preview = services.target_decompose(actor=c.manager_a, parent=rep, dimension="months", method="seasonality")
    got = amounts(months)
    assert got["2026-01"] == D("300.00") and got["2026-12"] == D("900.00")
    assert sum(got.values()) == D("1200.00") and len(got) == 12
    quarters, preview = services.target_decompose(
        actor=c.manager_a, parent=rep, dimension="quarters", method="seasonality"
    )
    assert amounts(quarters) == {
        "2026-Q1": D("300.00"),
        "2026-Q2": D("0.00"),
        "2026-Q3": D("0.00"),
        "2026-Q4": D("900.00"),
    }
    # One time split per target: the quarters replaced the months (split a quarter into months).
    assert Target.objects.filter(parent=rep).count() == 4
    # Nobody had visits last year: an equal split, and it says so.
    visits = services.target_create(
        actor=c.manager_a, measure="visits", period="2026-Q2", scope="rep", user=c.owner, amount="10"
    )
    parts, preview = services.target_decompose(
        actor=c.manager_a, parent=visits, dimension="months", method="seasonality"
    )
    assert preview.fell_back_to_equal and [p.amount for p in parts] == [D(4), D(3), D(3)]
    with pytest.raises(ApplicationError):
        services.decomposition_preview(actor=c.manager_a, parent=visits, dimension="scope", method="seasonality")


def test_adjust_makes_a_mismatch_that_progress_reports(company: Company) -> None:
    c = company
    team = services.target_create(
        actor=c.admin, measure="signed_amount", period="2026", scope="team", team=c.team_a, amount="1000.00"
    )
    reps, _p = services.target_decompose(actor=c.admin, parent=team, dimension="scope", method="equal")
    services.target_adjust(actor=c.manager_a, target=reps[0], amount="600.00")
    result = selectors.progress(
        actor=c.admin, measure="signed_amount", period=Period.year(2026), today=dt.date(2026, 7, 2)
    )
    [warning] = result.warnings
    assert warning.kind == "team" and warning.mismatch is not None
    assert warning.mismatch.children_sum == D("1100.00") and warning.mismatch.difference == D("100.00")
    # Redecomposing puts it right again.
    services.target_decompose(actor=c.admin, parent=team, dimension="scope", method="equal")
    assert not selectors.progress(actor=c.admin, measure="signed_amount", period=Period.year(2026)).warnings


def test_denied_changes_nothing(company: Company) -> None:
    c = company
    top = company_target(c)
    team = services.target_create(
        actor=c.manager_a, measure="signed_amount", period="2026", scope="team", team=c.team_a, amount="10.00"
    )
    before = list(Target.objects.order_by("pk").values_list("pk", "amount", "parent_id"))
    with pytest.raises(PermissionDenied):
        services.target_create(actor=c.manager_a, measure="signed_amount", period="2027", scope="company", amount="1")
    with pytest.raises(PermissionDenied):
        services.target_decompose(actor=c.manager_a, parent=top, dimension="scope", method="equal")
    with pytest.raises(NotFound):
        services.target_adjust(actor=c.manager_b, target=team, amount="99.00")
    with pytest.raises(PermissionDenied):
        services.target_adjust(actor=c.owner, target=team, amount="99.00")
    with pytest.raises(PermissionDenied):
        services.target_create(actor=c.owner, measure="visits", period="2026", scope="rep", user=c.owner, amount="1")
    with pytest.raises(PermissionDenied):  # a manager does not set his own target
        services.target_create(
            actor=c.manager_a, measure="visits", period="2026", scope="rep", user=c.manager_a, amount="1"
        )
    with pytest.raises(ApplicationError) as exc:
        services.target_create(
            actor=c.admin,
            measure="collected_amount",
            period="2026",
            scope="company",
            amount="1",
            product_category="software",
        )
    assert exc.value.code == "invalid"
    with pytest.raises(ApplicationError) as exc:
        company_target(c)
    assert exc.value.code == "exists"
    assert list(Target.objects.order_by("pk").values_list("pk", "amount", "parent_id")) == before


def test_visibility_of_targets(company: Company) -> None:
    c = company
    top = company_target(c)
    team = services.target_create(
        actor=c.admin, measure="signed_amount", period="2026", scope="team", team=c.team_a, amount="10.00"
    )
    reps, _p = services.target_decompose(actor=c.admin, parent=team, dimension="scope", method="equal")
    mine = next(r for r in reps if r.user_id == c.owner.pk)
    theirs = next(r for r in reps if r.user_id == c.teammate.pk)
    seen = {
        a: set(selectors.visible_targets(getattr(c, a)).values_list("pk", flat=True))
        for a in ("owner", "teammate", "other_rep", "manager_a", "manager_b", "admin")
    }
    assert seen["owner"] == {top.pk, team.pk, mine.pk}
    assert seen["other_rep"] == {top.pk}
    assert seen["manager_a"] == {top.pk, team.pk, mine.pk, theirs.pk}
    assert seen["manager_b"] == {top.pk}
    assert seen["admin"] == {top.pk, team.pk, mine.pk, theirs.pk}
    rows = selectors.progress(actor=c.owner, measure="signed_amount", period=Period.year(2026)).rows
    assert {(r.kind, r.key) for r in rows if r.kind == "rep"} == {("rep", c.owner.pk)}
    assert all(r.mismatch is None for r in rows)


def test_actuals_of_every_measure(company: Company) -> None:
    c = company
    a = customer(c.owner, "A", since=dt.datetime(2026, 3, 5, 2, tzinfo=dt.UTC))
    customer(c.owner, "Old", since=dt.datetime(2025, 3, 5, 2, tzinfo=dt.UTC))
    won(c.admin, a, "1234.56", dt.date(2026, 3, 10))
    won(c.admin, a, "1000.00", dt.date(2026, 4, 1))
    paid(c.owner, a, "500.25", dt.date(2026, 3, 20))
    follow_up(a, dt.date(2026, 3, 1), kind="visit")
    follow_up(a, dt.date(2026, 3, 31), kind="call", hour=23)  # 23:00 Shanghai on the 31st: March
    follow_up(a, dt.date(2026, 4, 1), kind="visit", hour=0)  # midnight on April 1st: April
    march = Period.month(2026, 3)
    ids = [c.owner.pk, c.teammate.pk]
    assert selectors.actuals(measure="signed_amount", period=march, user_ids=ids) == {
        c.owner.pk: D("1234.56"),
        c.teammate.pk: D(0),
    }
    assert selectors.actuals(measure="won_deals", period=march, user_ids=ids)[c.owner.pk] == D(1)
    assert selectors.actuals(measure="collected_amount", period=march, user_ids=ids)[c.owner.pk] == D("500.25")
    assert selectors.actuals(measure="new_customers", period=march, user_ids=ids)[c.owner.pk] == D(1)
    assert selectors.actuals(measure="follow_ups", period=march, user_ids=ids)[c.owner.pk] == D(2)
    assert selectors.actuals(measure="visits", period=march, user_ids=ids)[c.owner.pk] == D(1)


def test_progress_projection_status_and_coverage(company: Company) -> None:
    c = company
    a = customer(c.owner, "A")
    won(c.admin, a, "300.00", dt.date(2026, 3, 5))
    open_deal(c.admin, a, "1000.00", dt.date(2026, 3, 25), 40)  # 400 weighted
    open_deal(c.admin, a, "5000.00", dt.date(2026, 4, 2), 90)  # next month: not counted
    rep = services.target_create(
        actor=c.admin, measure="signed_amount", period="2026-03", scope="rep", user=c.owner, amount="1000.00"
    )
    result = selectors.progress(
        actor=c.manager_a, measure="signed_amount", period=Period.month(2026, 3), today=dt.date(2026, 3, 10)
    )
    row = next(r for r in result.rows if r.kind == "rep" and r.key == c.owner.pk)
    assert row.target is not None and row.target.pk == rep.pk
    assert row.actual == D("300.00") and row.percent == D("30.0")
    assert row.projection == D("930.00")  # 300 ÷ 10 days × 31
    assert row.status == "at_risk"  # 93 %
    assert row.coverage == D("0.57")  # 400 ÷ 700
    team_row = next(r for r in result.rows if r.kind == "team" and r.key == c.team_a.pk)
    assert team_row.actual == D("300.00") and team_row.target is None
    company_row = result.rows[0]
    assert company_row.kind == "company" and company_row.actual == D("300.00")


def test_plans_milestones_and_reminders(company: Company) -> None:
    c = company
    a = customer(c.owner, "Key account")
    plan = services.plan_create(actor=c.manager_a, name="Q1 push", period="2026-Q1", scope="team", team=c.team_a)
    phase = services.phase_add(
        actor=c.manager_a, plan=plan, name="Prospect", starts_on="2026-01-01", ends_on="2026-01-31"
    )
    m1 = services.milestone_add(
        actor=c.manager_a,
        plan=plan,
        title="Demo to key account",
        due_on="2026-01-20",
        owner=c.owner,
        phase=phase,
        customer_ids=[a.pk],
    )
    m2 = services.milestone_add(actor=c.manager_a, plan=plan, title="Sign", due_on="2026-03-20", owner=c.teammate)
    plan_b = services.plan_create(actor=c.manager_b, name="B", period="2026-Q1", scope="team", team=c.team_b)
    with pytest.raises(ApplicationError):  # a customer the manager of team B cannot see
        services.milestone_add(
            actor=c.manager_b, plan=plan_b, title="x", due_on="2026-01-02", owner=c.other_rep, customer_ids=[a.pk]
        )
    with pytest.raises(ApplicationError):
        services.phase_add(actor=c.manager_a, plan=plan, name="Late", starts_on="2026-03-01", ends_on="2026-04-30")
    today = dt.date(2026, 2, 1)
    assert [m.pk for m in selectors.overdue_milestones(actor=c.manager_a, today=today)] == [m1.pk]
    assert selectors.overdue_milestones(actor=c.manager_b, today=today) == []
    assert selectors.overdue_milestones(actor=c.owner, today=today)[0].pk == m1.pk  # his team's plan
    assert services.milestone_reminders_send(today=today) == 1
    assert services.milestone_reminders_send(today=today) == 0  # idempotent
    note = Notification.objects.get(kind=NotificationKind.MILESTONE_OVERDUE)
    assert note.recipient_id == c.owner.pk and MilestoneReminder.objects.count() == 1
    # The owner marks it done; the teammate may not touch someone else's milestone? He may not edit the plan.
    with pytest.raises(PermissionDenied):
        services.milestone_set_status(actor=c.teammate, milestone=m1, status="done")
    services.milestone_set_status(actor=c.owner, milestone=m1, status="done", today=today)
    [summary] = selectors.plan_list(actor=c.manager_a, today=today)
    assert (summary.total, summary.done, summary.overdue, summary.progress) == (2, 1, 0, D("50.0"))
    with pytest.raises(NotFound):
        services.milestone_set_status(actor=c.other_rep, milestone=m2, status="done")
    assert Milestone.objects.get(pk=m2.pk).status == "open"
    assert SalesPlan.objects.count() == 2


def test_many_people_fold_reps_under_a_focused_team(company: Company, monkeypatch: pytest.MonkeyPatch) -> None:
    c = company
    monkeypatch.setattr(selectors, "REP_ROWS_LIMIT", 3)
    year = Period.year(2026)
    folded = selectors.progress(actor=c.admin, measure="visits", period=year)
    assert folded.reps_folded and not [r for r in folded.rows if r.kind == "rep"]
    focused = selectors.progress(actor=c.admin, measure="visits", period=year, focus_team_id=c.team_a.pk)
    assert {r.key for r in focused.rows if r.kind == "rep"} == {c.owner.pk, c.teammate.pk, c.manager_a.pk}
    assert {r.key for r in focused.rows if r.kind == "team"} == {c.region.pk, c.team_a.pk, c.team_b.pk}


def test_the_scheduled_task_sends_each_reminder_once(company: Company) -> None:
    from bridgecrm.targets import schedule, tasks

    c = company
    today = dates.company_today()
    period = Period.containing("year", today)
    plan = services.plan_create(actor=c.manager_a, name="P", period=period, scope="rep", user=c.owner)
    services.milestone_add(actor=c.manager_a, plan=plan, title="Late", due_on=period.start, owner=c.owner)
    if period.start < today:
        tasks.send_milestone_reminders.enqueue()
        tasks.send_milestone_reminders.enqueue()
        assert Notification.objects.filter(kind=NotificationKind.MILESTONE_OVERDUE).count() == 1
    assert {e.name for e in schedule.SCHEDULE} == {"targets.milestone_reminders"}


def test_product_category_actuals_use_the_lines_share_in_base_currency(company: Company) -> None:
    from bridgecrm.activities.tests.factories import default_pipeline, make_deal
    from bridgecrm.pipeline import services as pipeline_services
    from bridgecrm.pipeline.models import Deal, DealLine

    c = company
    default_pipeline(c.admin)
    software = pipeline_services.product_create(
        actor=c.admin, sku="S-1", name="Licence", category="software", list_price="100.00"
    )
    service = pipeline_services.product_create(
        actor=c.admin, sku="V-1", name="Setup", category="service", list_price="100.00"
    )
    a = customer(c.owner, "A")
    # A USD deal of 1,000.00 worth 7,000.00 in the base currency: 600 of it software, 400 service.
    deal = make_deal(a, c.owner, amount=D("1000.00"), amount_base=D("7000.00"), currency="USD")
    Deal.objects.filter(pk=deal.pk).update(status="won", closed_on=dt.date(2026, 5, 5))
    for product, subtotal in ((software, "600.00"), (service, "400.00")):
        DealLine.objects.create(
            deal=deal, product=product, name=product.name, quantity=1, unit_price=D(subtotal), subtotal=D(subtotal)
        )
    may = Period.month(2026, 5)
    assert selectors.actuals_by_owner(measure="signed_amount", period=may, product_category="software") == {
        c.owner.pk: D("4200.00")
    }
    assert selectors.actuals_by_owner(measure="won_deals", period=may, product_category="service") == {c.owner.pk: D(1)}
    assert selectors.actuals_by_owner(measure="won_deals", period=may, product_category="hardware") == {}
