"""Targets on any registered measure (issue 5): the registry, validation, rates and averages
decomposed by copying, their group values (computed on the group, not averaged), their progress
and status (higher and lower is better), the API, the pages and the manager dashboard.

The small world (2026, closed deals): the owner (team A) won 1 deal of 100 and lost 3; the
teammate (team A) won 3 of 200 and lost none; the other rep (team B) won 1 of 1,000 and lost 1.
Signing rates: owner 25 %, teammate 100 %, other rep 50 %; team A 4 ÷ 7 = 57.14 % (the average of
its reps would be 62.5 %); the company 5 ÷ 9 = 55.56 %. Average deal size: owner 100, teammate
200, team A 700 ÷ 4 = 175.00 (not 150), the company 1,700 ÷ 5 = 340.00.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator, Sequence
from decimal import Decimal
from typing import Any

import pytest
from django.test import Client

from bridgecrm.activities.tests.factories import default_pipeline, make_deal
from bridgecrm.conftest import Company, signed_in
from bridgecrm.core.errors import ApplicationError
from bridgecrm.core.models import AuditEntry
from bridgecrm.core.periods import Period
from bridgecrm.customers.models import Customer
from bridgecrm.pipeline.models import DealStatus
from bridgecrm.targets import decompose, measures, selectors, services
from bridgecrm.targets.models import Target
from bridgecrm.targets.tests.helpers import customer, won
from bridgecrm.users import services as user_services
from bridgecrm.users.models import User

pytestmark = pytest.mark.django_db
D = Decimal
YEAR = Period.parse("2026")
TODAY = dt.date(2026, 6, 30)


def lost(admin: User, target: Customer, on: dt.date) -> None:
    default_pipeline(admin)
    assert target.owner is not None
    deal = make_deal(target, target.owner, amount=D("50.00"), amount_base=D("50.00"))
    type(deal).objects.filter(pk=deal.pk).update(status=DealStatus.LOST, closed_on=on)


def small_world(c: Company) -> None:
    a, t, b = customer(c.owner, "A"), customer(c.teammate, "T"), customer(c.other_rep, "B")
    won(c.admin, a, "100.00", dt.date(2026, 2, 1))
    for day in (3, 4, 5):
        lost(c.admin, a, dt.date(2026, 2, day))
        won(c.admin, t, "200.00", dt.date(2026, 3, day))
    won(c.admin, b, "1000.00", dt.date(2026, 4, 1))
    lost(c.admin, b, dt.date(2026, 4, 2))
    won(c.admin, a, "999.00", dt.date(2025, 12, 31))  # last year: not counted


def rows_by_key(result: selectors.Progress) -> dict[tuple[str, int], selectors.ProgressRow]:
    return {(r.kind, r.key): r for r in result.rows}


# ---- the registry ----------------------------------------------------------------------------------


def test_registry_lists_every_metric_with_unit_and_additivity() -> None:
    codes = measures.codes()
    for code in ("signed_amount", "collected_amount", "new_customers", "won_deals", "follow_ups", "visits"):
        assert code in codes and measures.is_additive(code)
    for code in ("signing_rate", "collection_rate", "sop_compliance", "training_completion"):
        m = measures.get(code)
        assert m is not None and m.available and m.unit == measures.RATIO and not m.additive and m.places == 2
    average = measures.get("average_deal_size")
    assert average is not None and average.unit == measures.MONEY and not average.additive
    market = measures.get("market_research")  # notes written: a count, added up over people
    assert market is not None and market.available and market.additive and "market_research" in codes
    for code in ("satisfaction", "sales_vs_target"):
        m = measures.get(code)
        assert m is not None and not m.available and m.unavailable and code not in codes
    assert [m.code for m in measures.all_measures()][:6] == [
        "signed_amount",
        "collected_amount",
        "new_customers",
        "won_deals",
        "follow_ups",
        "visits",
    ]


def test_a_built_in_measure_cannot_be_replaced() -> None:
    before = measures.get("signed_amount")
    measures.register(measures.MeasureDef("signed_amount", "fake", measures.COUNT, True, None))
    assert measures.get("signed_amount") is before
    measures.unregister("signed_amount")
    assert measures.get("signed_amount") is before


def test_rep_and_group_values_of_a_rate_and_an_average(company: Company) -> None:
    c = company
    small_world(c)
    rate = measures.get("signing_rate")
    average = measures.get("average_deal_size")
    assert rate is not None and average is not None
    ids = [c.owner.pk, c.teammate.pk, c.other_rep.pk, c.manager_a.pk]
    assert rate.compute_reps(YEAR, ids) == {
        c.owner.pk: D("25.00"),
        c.teammate.pk: D("100.00"),
        c.other_rep.pk: D("50.00"),
        c.manager_a.pk: None,  # nothing closed: no data, not 0
    }
    assert rate.compute_group(YEAR, [c.owner.pk, c.teammate.pk]) == D("57.14")  # 4 ÷ 7, not (25 + 100) ÷ 2
    assert rate.compute_group(YEAR, ids) == D("55.56")  # 5 ÷ 9
    assert rate.compute_group(YEAR, [c.manager_a.pk]) is None
    assert average.compute_reps(YEAR, [c.owner.pk, c.teammate.pk]) == {
        c.owner.pk: D("100.00"),
        c.teammate.pk: D("200.00"),
    }
    assert average.compute_group(YEAR, [c.owner.pk, c.teammate.pk]) == D("175.00")  # 700 ÷ 4, not 150
    signed = measures.get("signed_amount")
    assert signed is not None and signed.compute_group(YEAR, [c.owner.pk, c.teammate.pk]) == D("700.00")
    assert signed.compute_reps(YEAR, [c.manager_a.pk]) == {c.manager_a.pk: D("0.00")}


# ---- validation ------------------------------------------------------------------------------------


def test_unknown_and_unavailable_measures_are_refused_and_nothing_is_written(company: Company) -> None:
    c = company
    for code, error in (("bogus", "invalid"), ("satisfaction", "unavailable"), ("sales_vs_target", "unavailable")):
        with pytest.raises(ApplicationError) as raised:
            services.target_create(actor=c.admin, measure=code, period="2026", scope="company", amount="50")
        assert raised.value.code == error and "measure" in raised.value.details
    with pytest.raises(ApplicationError) as raised:
        services.target_create(actor=c.admin, measure="satisfaction", period="2026", scope="company", amount="50")
    assert "no satisfaction surveys" in str(raised.value.message)
    assert not Target.objects.exists() and not AuditEntry.objects.filter(content_type__model="target").exists()


def test_a_rate_is_entered_in_percent_between_0_and_100(company: Company) -> None:
    c = company
    with pytest.raises(ApplicationError) as raised:
        services.target_create(actor=c.admin, measure="signing_rate", period="2026", scope="company", amount="100.01")
    assert raised.value.details == {"amount": [str(raised.value.message)]}
    with pytest.raises(ApplicationError):  # hundredths of a percent at most
        services.target_create(actor=c.admin, measure="signing_rate", period="2026", scope="company", amount="35.555")
    assert not Target.objects.exists()
    made = services.target_create(actor=c.admin, measure="signing_rate", period="2026", scope="company", amount="35.5")
    assert made.amount == D("35.50") and made.unit == "ratio" and made.get_measure_display() == "Contract signing rate"
    with pytest.raises(ApplicationError):
        services.target_adjust(actor=c.admin, target=made, amount="120")
    made.refresh_from_db()
    assert made.amount == D("35.50")
    with pytest.raises(ApplicationError):  # a product category narrows signed amounts and won deals only
        services.target_create(
            actor=c.admin,
            measure="signing_rate",
            period="2026-Q1",
            scope="company",
            amount="40",
            product_category="hardware",
        )


# ---- decomposition ---------------------------------------------------------------------------------


def test_a_rate_is_copied_to_every_part_by_scope_and_by_time(company: Company) -> None:
    c = company
    top = services.target_create(actor=c.admin, measure="signing_rate", period="2026", scope="company", amount="60")
    with pytest.raises(ApplicationError) as raised:  # splitting a rate makes no sense
        services.target_decompose(actor=c.admin, parent=top, dimension="scope", method="equal")
    assert raised.value.details and "method" in raised.value.details
    for method in ("weights", "last_year_share", "seasonality"):
        with pytest.raises(ApplicationError):
            services.decomposition_preview(actor=c.admin, parent=top, dimension="months", method=method)
    assert not Target.objects.filter(parent=top).exists()
    preview = services.decomposition_preview(actor=c.admin, parent=top, dimension="months", method="same")
    assert preview.total is None and [line.amount for line in preview.lines] == [D("60.00")] * 12
    regions, _p = services.target_decompose(actor=c.admin, parent=top, dimension="scope", method="same")
    assert [(t.team_id, t.amount, t.method) for t in regions] == [(c.region.pk, D("60.00"), "same")]
    teams, _p = services.target_decompose(actor=c.admin, parent=regions[0], dimension="scope", method="same")
    assert sorted((t.team_id, t.amount) for t in teams) == sorted(
        [(c.team_a.pk, D("60.00")), (c.team_b.pk, D("60.00"))]
    )
    reps, _p = services.target_decompose(actor=c.manager_a, parent=teams[0], dimension="scope", method="same")
    assert {t.amount for t in reps} == {D("60.00")} and len(reps) == 2
    months, _p = services.target_decompose(actor=c.admin, parent=top, dimension="quarters", method="same")
    assert [t.amount for t in months] == [D("60.00")] * 4
    # Children of a rate do not add up to it, and no warning says they should.
    result = selectors.progress(actor=c.admin, measure="signing_rate", period=YEAR, today=TODAY)
    assert result.warnings == [] and all(r.mismatch is None and r.time_mismatch is None for r in result.rows)


def test_a_sum_cannot_be_copied(company: Company) -> None:
    c = company
    top = services.target_create(actor=c.admin, measure="visits", period="2026", scope="company", amount="100")
    with pytest.raises(ApplicationError):
        services.target_decompose(actor=c.admin, parent=top, dimension="months", method="same")
    assert not Target.objects.filter(parent=top).exists()


def test_rep_targets_of_a_rate_are_never_summed_over_months(company: Company) -> None:
    c = company
    for month in ("2026-01", "2026-02", "2026-03"):
        services.target_create(
            actor=c.admin, measure="signing_rate", period=month, scope="rep", user=c.owner, amount="40"
        )
        services.target_create(actor=c.admin, measure="visits", period=month, scope="rep", user=c.owner, amount="10")
    q1 = Period.parse("2026-Q1")
    assert selectors.rep_target_amounts(measure="visits", period=q1, user_ids=[c.owner.pk]) == {c.owner.pk: D(30)}
    assert selectors.rep_target_amounts(measure="signing_rate", period=q1, user_ids=[c.owner.pk]) == {}
    services.target_create(
        actor=c.admin, measure="signing_rate", period="2026-Q1", scope="rep", user=c.owner, amount="45"
    )
    assert selectors.rep_target_amounts(measure="signing_rate", period=q1, user_ids=[c.owner.pk]) == {
        c.owner.pk: D("45.00")
    }


# ---- progress and status ---------------------------------------------------------------------------


def test_value_status_thresholds_both_directions() -> None:
    s = decompose.value_status
    assert s(D(60), D(60)) == "on_track" and s(D(60), D(54)) == "at_risk" and s(D(60), D("53.99")) == "behind"
    assert s(D(60), None) == "no_data" and s(D(60), D(90), started=False) == "not_started"
    assert s(D(10), D(10), direction="lower") == "on_track"
    assert s(D(10), D(11), direction="lower") == "at_risk"
    assert s(D(10), D("11.01"), direction="lower") == "behind"
    assert s(D(10), D(2), direction="lower") == "on_track"


def test_progress_of_a_rate_on_the_small_world(company: Company, django_assert_max_num_queries: Any) -> None:
    c = company
    small_world(c)
    top = services.target_create(actor=c.admin, measure="signing_rate", period="2026", scope="company", amount="60")
    services.target_decompose(actor=c.admin, parent=top, dimension="scope", method="same")
    for team in (c.team_a, c.team_b):
        services.target_create(
            actor=c.admin, measure="signing_rate", period="2026", scope="team", team=team, amount="60"
        )
    services.target_create(actor=c.admin, measure="signing_rate", period="2026", scope="rep", user=c.owner, amount="20")
    services.target_create(
        actor=c.admin, measure="signing_rate", period="2026", scope="rep", user=c.manager_a, amount="20"
    )
    with django_assert_max_num_queries(12):
        result = selectors.progress(actor=c.admin, measure="signing_rate", period=YEAR, today=TODAY)
    assert result.unit == "ratio" and not result.additive and not result.projection_applies
    rows = rows_by_key(result)
    company_row = rows[("company", 0)]
    assert company_row.actual == D("55.56") and company_row.status == "at_risk"  # ≥ 90 % of 60
    assert company_row.percent == D("92.6") and company_row.projection is None and company_row.coverage is None
    assert rows[("team", c.region.pk)].actual == D("55.56")
    team_a, team_b = rows[("team", c.team_a.pk)], rows[("team", c.team_b.pk)]
    assert team_a.actual == D("57.14") and team_a.status == "at_risk"
    assert team_b.actual == D("50.00") and team_b.status == "behind"
    owner = rows[("rep", c.owner.pk)]
    assert owner.actual == D("25.00") and owner.status == "on_track" and owner.percent == D("125.0")
    assert rows[("rep", c.teammate.pk)].actual == D("100.00") and rows[("rep", c.teammate.pk)].target is None
    manager = rows[("rep", c.manager_a.pk)]
    assert manager.actual is None and manager.status == "no_data" and manager.percent is None
    assert "close_from=2026-01-01" in owner.link and f"owner={c.owner.pk}" in owner.link
    # Before the year starts: not started.
    early = selectors.progress(actor=c.admin, measure="signing_rate", period=YEAR, today=dt.date(2025, 12, 1))
    assert rows_by_key(early)[("team", c.team_a.pk)].status == "not_started"


def test_progress_of_an_average_is_computed_on_the_group(company: Company) -> None:
    c = company
    small_world(c)
    services.target_create(
        actor=c.admin, measure="average_deal_size", period="2026", scope="team", team=c.team_a, amount="180"
    )
    result = selectors.progress(actor=c.admin, measure="average_deal_size", period=YEAR, today=TODAY)
    rows = rows_by_key(result)
    assert result.unit == "money" and not result.additive
    assert rows[("company", 0)].actual == D("340.00")
    assert rows[("team", c.team_a.pk)].actual == D("175.00") and rows[("team", c.team_a.pk)].status == "at_risk"
    assert rows[("rep", c.owner.pk)].actual == D("100.00")


def test_progress_is_scoped_to_the_actor(company: Company) -> None:
    c = company
    small_world(c)
    result = selectors.progress(actor=c.owner, measure="signing_rate", period=YEAR, today=TODAY)
    reps = {r.key for r in result.rows if r.kind == "rep"}
    assert reps == {c.owner.pk}
    # The team's value still counts the whole team: it is the team's figure, not the rep's.
    assert rows_by_key(result)[("team", c.team_a.pk)].actual == D("57.14")


@pytest.fixture
def fewer_is_better() -> Iterator[str]:
    """A measure registered by "another app" (no code in targets): lost deals per rep, lower is better."""

    def parts(period: Period, ids: Sequence[int] | None, category: str) -> dict[int, tuple[Decimal, ...]]:
        from bridgecrm.pipeline.models import Deal

        qs = Deal.objects.filter(status=DealStatus.LOST, closed_on__range=(period.start, period.end))
        if ids is not None:
            qs = qs.filter(owner_id__in=list(ids))
        found: dict[int, tuple[Decimal, ...]] = {}
        for owner_id in qs.values_list("owner_id", flat=True):
            found[owner_id] = (found.get(owner_id, (D(0),))[0] + 1,)
        return found

    measures.register(
        measures.MeasureDef("lost_deals_test", "Lost deals", measures.COUNT, True, parts, direction=measures.LOWER)
    )
    yield "lost_deals_test"
    measures.unregister("lost_deals_test")


def test_a_measure_registered_later_works_without_code_in_targets(company: Company, fewer_is_better: str) -> None:
    c = company
    small_world(c)
    top = services.target_create(actor=c.admin, measure=fewer_is_better, period="2026", scope="company", amount="10")
    teams, _p = services.target_decompose(actor=c.admin, parent=top, dimension="scope", method="equal")
    assert [t.amount for t in teams] == [D(10)]
    result = selectors.progress(actor=c.admin, measure=fewer_is_better, period=YEAR, today=TODAY)
    rows = rows_by_key(result)
    assert rows[("company", 0)].actual == D(4) and rows[("team", c.team_a.pk)].actual == D(3)
    assert result.direction == "lower"


def test_a_lower_is_better_rate(company: Company) -> None:
    """A rate where lower is better (registered as another app would): on track at or under the target."""
    c = company
    small_world(c)
    rate = measures.get("signing_rate")
    assert rate is not None and rate.parts is not None
    measures.register(
        measures.MeasureDef(
            "loss_rate_test",
            "Loss rate",
            measures.RATIO,
            False,
            rate.parts,
            combine=lambda p: (D(100) * (p[1] - p[0]) / p[1]).quantize(D("0.01")) if p[1] else None,
            direction=measures.LOWER,
        )
    )
    try:
        for team, amount in ((c.team_a, "40"), (c.team_b, "46")):
            services.target_create(
                actor=c.admin, measure="loss_rate_test", period="2026", scope="team", team=team, amount=amount
            )
        services.target_create(
            actor=c.admin, measure="loss_rate_test", period="2026", scope="rep", user=c.owner, amount="60"
        )
        rows = rows_by_key(selectors.progress(actor=c.admin, measure="loss_rate_test", period=YEAR, today=TODAY))
        assert rows[("team", c.team_a.pk)].actual == D("42.86") and rows[("team", c.team_a.pk)].status == "at_risk"
        assert rows[("team", c.team_b.pk)].actual == D("50.00") and rows[("team", c.team_b.pk)].status == "at_risk"
        assert rows[("rep", c.owner.pk)].actual == D("75.00") and rows[("rep", c.owner.pk)].status == "behind"
    finally:
        measures.unregister("loss_rate_test")


# ---- the API ---------------------------------------------------------------------------------------


def api(user: User) -> Client:
    secret = user_services.token_create(actor=user, name="t").secret
    return Client(headers={"Authorization": f"Bearer {secret}"})


def post(client: Client, url: str, body: dict[str, Any]) -> Any:
    return client.post("/api/v1" + url, json.dumps(body), content_type="application/json")


def test_api_sets_decomposes_and_reads_a_rate(company: Company) -> None:
    c = company
    small_world(c)
    admin = api(c.admin)
    made = post(admin, "/targets", {"measure": "signing_rate", "period": "2026", "scope": "company", "amount": "60"})
    assert made.status_code == 201, made.content
    assert made.json()["unit"] == "ratio" and made.json()["amount"] == "60.00"
    tid = made.json()["id"]
    wrong = post(admin, f"/targets/{tid}/decompose", {"method": "equal", "preview": True})
    assert wrong.status_code == 400 and wrong.json()["code"] == "invalid"
    copied = post(admin, f"/targets/{tid}/decompose", {"method": "same"}).json()
    assert copied["saved"] and copied["total"] is None and [p["amount"] for p in copied["parts"]] == ["60.00"]
    progress = admin.get("/api/v1/targets/progress", {"measure": "signing_rate", "period": "2026"}).json()
    assert progress["unit"] == "ratio" and progress["additive"] is False and progress["direction"] == "higher"
    first = progress["rows"][0]
    assert first["actual"] == "55.56" and first["projection"] is None and first["status"] == "at_risk"
    listed = admin.get("/api/v1/targets", {"measure": "signing_rate"}).json()
    assert listed["count"] == 2


def test_api_refuses_unknown_and_unavailable_measures(company: Company) -> None:
    c = company
    admin = api(c.admin)
    unknown = post(admin, "/targets", {"measure": "bogus", "period": "2026", "scope": "company", "amount": "1"})
    assert unknown.status_code == 400 and unknown.json()["code"] == "invalid"
    unavailable = post(
        admin, "/targets", {"measure": "satisfaction", "period": "2026", "scope": "company", "amount": "1"}
    )
    assert unavailable.status_code == 400 and unavailable.json()["code"] == "unavailable"
    too_much = post(
        admin, "/targets", {"measure": "sop_compliance", "period": "2026", "scope": "company", "amount": "101"}
    )
    assert too_much.status_code == 400 and too_much.json()["details"]["amount"]
    assert admin.get("/api/v1/targets/progress", {"measure": "satisfaction"}).status_code == 400
    assert admin.get("/api/v1/targets/progress", {"measure": "bogus"}).status_code == 400
    assert not Target.objects.exists()


def test_api_measures_and_openapi_enum(company: Company) -> None:
    client = api(company.owner)
    listed = client.get("/api/v1/targets/measures").json()
    by_code = {m["code"]: m for m in listed}
    assert by_code["signing_rate"]["unit"] == "ratio" and by_code["signing_rate"]["available"] is True
    assert by_code["satisfaction"]["available"] is False and by_code["satisfaction"]["unavailable_reason"]
    assert by_code["signed_amount"]["pipeline_coverage"] and not by_code["average_deal_size"]["additive"]
    schema = client.get("/api/v1/openapi.json").json()
    target_in = schema["components"]["schemas"]["TargetIn"]["properties"]["measure"]
    assert "signing_rate" in target_in["enum"] and "training_completion" in target_in["enum"]
    assert "satisfaction" not in target_in["enum"] and "signed_amount" in target_in["enum"]


# ---- the pages and the dashboard -------------------------------------------------------------------


def test_pages_show_rates_in_percent_without_projection(company: Company) -> None:
    c = company
    small_world(c)
    top = services.target_create(actor=c.admin, measure="signing_rate", period="2026", scope="company", amount="60")
    client = signed_in(c.admin)
    page = client.get("/targets/", {"measure": "signing_rate", "period": "2026"})
    html = page.content.decode()
    assert page.status_code == 200 and "55.56 %" in html and "not applicable" in html and "ratio-help" in html
    form = client.get("/targets/new/").content.decode()
    assert "Contract signing rate" in form and "Bridge has no satisfaction surveys yet." in form
    assert 'value="satisfaction"' not in form
    refused = client.post(
        "/targets/new/", {"measure": "satisfaction", "period": "2026", "scope": "company", "amount": "50"}
    )
    assert refused.status_code == 400 and Target.objects.count() == 1
    detail = client.get(f"/targets/{top.pk}/").content.decode()
    assert "same-value-help" in detail and 'value="same"' in detail and 'value="equal"' not in detail
    saved = client.post(f"/targets/{top.pk}/", {"dimension": "scope", "method": "same", "action": "save"})
    assert saved.status_code == 302 and Target.objects.get(parent=top).amount == D("60.00")
    bad = client.post(f"/targets/{top.pk}/", {"dimension": "scope", "method": "equal", "action": "save"})
    assert bad.status_code == 400
    assert client.get("/targets/", {"measure": "satisfaction"}).status_code == 400


def test_manager_dashboard_shows_a_rate_target(company: Company) -> None:
    c = company
    small_world(c)
    today = dt.date.today()
    month = f"{today.year}-{today.month:02d}"
    services.target_create(
        actor=c.admin, measure="signing_rate", period=month, scope="team", team=c.team_a, amount="60"
    )
    services.target_create(actor=c.admin, measure="sop_compliance", period=str(today.year), scope="company", amount="9")
    page = signed_in(c.manager_a).get("/manager/")
    html = page.content.decode()
    assert page.status_code == 200 and 'data-measure="signing_rate"' in html and "not applicable" in html
    assert 'data-measure="sop_compliance"' not in html  # a year's target: the section is this month's
