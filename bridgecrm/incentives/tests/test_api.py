"""The incentives API: statements scoped to the caller, rates only for those allowed, approval,
plans for rate readers; query budgets."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.test import Client

from bridgecrm.conftest import Company
from bridgecrm.incentives import services
from bridgecrm.incentives.models import Statement, StatementStatus
from bridgecrm.incentives.tests.helpers import JULY, plan, target, won_deal
from bridgecrm.users import services as user_services
from bridgecrm.users.models import User
from bridgecrm.users.tests.factories import UserFactory, role

pytestmark = pytest.mark.django_db


def api(user: User) -> Client:
    secret = user_services.token_create(actor=user, name="t").secret
    return Client(headers={"Authorization": f"Bearer {secret}"})


@pytest.fixture
def july(company: Company) -> Statement:
    plan(company.admin, company.owner, accelerator="1.5")
    target(company.owner, "1000")
    won_deal(company.admin, company.owner, "900", dt.date(2026, 7, 5), "Alpha")
    won_deal(company.admin, company.owner, "345.67", dt.date(2026, 7, 8), "Beta")
    return services.statement_generate(actor=company.manager_a, user=company.owner, period=JULY)


def test_statement_detail_hides_rates_from_the_rep(company: Company, july: Statement) -> None:
    mine = api(company.owner).get(f"/api/v1/incentives/statements/{july.pk}").json()
    assert mine["total"] == "33.06" and mine["attainment"] == "124.57" and mine["period"] == "2026-07"
    assert [line["amount"] for line in mine["lines"]] == ["16.00", "3.00", "10.37", "3.69"]
    assert {line["rate"] for line in mine["lines"]} == {None} and {line["band"] for line in mine["lines"]} == {None}
    assert mine["lines"][0]["deal_id"] and mine["lines"][0]["source_ref"].startswith("deal:")
    managers = api(company.manager_a).get(f"/api/v1/incentives/statements/{july.pk}").json()
    assert [line["rate"] for line in managers["lines"]] == ["2.0000", "3.0000", "3.0000", "1.5000"]
    assert api(company.teammate).get(f"/api/v1/incentives/statements/{july.pk}").status_code == 404
    assert api(company.manager_b).get(f"/api/v1/incentives/statements/{july.pk}").status_code == 404


def test_approve_through_the_api(company: Company, july: Statement) -> None:
    denied = api(company.owner).post(f"/api/v1/incentives/statements/{july.pk}/approve")
    assert denied.status_code == 403 and denied.json()["code"] == "forbidden"
    assert Statement.objects.get().status == StatementStatus.DRAFT
    done = api(company.manager_a).post(f"/api/v1/incentives/statements/{july.pk}/approve")
    assert done.status_code == 200 and done.json()["status"] == "approved"
    twice = api(company.admin).post(f"/api/v1/incentives/statements/{july.pk}/approve")
    assert twice.status_code == 400 and twice.json()["code"] == "locked"


def test_plans_are_for_rate_readers(company: Company, july: Statement) -> None:
    body = api(company.manager_b).get("/api/v1/incentives/plans").json()
    assert body["count"] == 1
    assert body["items"][0]["bands"] == [{"start": "0", "rate": "2"}, {"start": "80", "rate": "3"}]
    assert body["items"][0]["accelerator"] == "1.50"
    assert api(company.owner).get("/api/v1/incentives/plans").status_code == 403
    assert api(company.owner).get(f"/api/v1/incentives/plans/{body['items'][0]['id']}").status_code == 403
    assert api(company.admin).get("/api/v1/incentives/plans/999999").status_code == 404


@pytest.mark.parametrize("count", [2, 30])
def test_statement_list_costs_fixed_queries(company: Company, count: int, django_assert_max_num_queries: Any) -> None:
    for i in range(count):
        rep = UserFactory(username=f"rep{i}", role=role("rep"), team=company.team_a)
        services.statement_generate(actor=company.manager_a, user=rep, period=JULY)
    client = api(company.manager_a)
    with django_assert_max_num_queries(8):
        body = client.get("/api/v1/incentives/statements", {"period": "2026-07", "limit": 100}).json()
    assert body["count"] == count and len(body["items"]) == count
    assert client.get("/api/v1/incentives/statements", {"period": "July"}).status_code == 422
    assert api(company.owner).get("/api/v1/incentives/statements").json()["count"] == 0


def test_statement_history_follows_its_visibility(company: Company, july: Statement) -> None:
    services.statement_approve(actor=company.manager_a, statement=july)
    url = f"/api/v1/audit/incentives.statement/{july.pk}"
    events = api(company.owner).get(url).json()["items"]
    assert "status" in {e.get("field") for e in events}
    assert api(company.other_rep).get(url).status_code == 404
    assert api(company.manager_b).get(url).status_code == 404
