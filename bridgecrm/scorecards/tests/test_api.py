"""The scorecards API: the same visibility and rules as the pages, errors with codes, query budgets."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from bridgecrm.conftest import Company
from bridgecrm.scorecards import services
from bridgecrm.scorecards.models import Evaluation, EvaluationEntry
from bridgecrm.scorecards.tests.test_services import Q1, TODAY, data, simple_card
from bridgecrm.users import services as user_services
from bridgecrm.users.models import User
from bridgecrm.users.tests.factories import UserFactory, role

pytestmark = pytest.mark.django_db


def api(user: User) -> Client:
    issued = user_services.token_create(actor=user, user=user, name="test")
    return Client(HTTP_AUTHORIZATION=f"Bearer {issued.secret}")


@pytest.fixture
def evaluation(company: Company) -> Evaluation:
    data(company)
    return services.evaluation_run(actor=company.admin, scorecard=simple_card(company), period=Q1, today=TODAY)


def test_scorecards_and_metrics_are_readable(company: Company, evaluation: Evaluation) -> None:
    client = api(company.owner)
    listed = client.get("/api/v1/scorecards").json()
    assert listed["count"] == 1 and [m["code"] for m in listed["items"][0]["metrics"]] == ["new_customers", "visits"]
    metrics = {m["code"]: m for m in client.get("/api/v1/scorecards/metrics").json()}
    assert metrics["satisfaction"]["available"] is False and metrics["satisfaction"]["unavailable_reason"]


def test_evaluation_flow_and_visibility(company: Company, evaluation: Evaluation) -> None:
    admin, manager_a, owner = api(company.admin), api(company.manager_a), api(company.owner)
    assert owner.get(f"/api/v1/evaluations/{evaluation.pk}").status_code == 404  # a draft
    assert (
        owner.post(f"/api/v1/evaluations/{evaluation.pk}/advance", {"to": "in_review"}, "application/json").status_code
        == 404
    )
    assert (
        manager_a.post(
            f"/api/v1/evaluations/{evaluation.pk}/advance", {"to": "in_review"}, "application/json"
        ).status_code
        == 404
    )
    moved = admin.post(f"/api/v1/evaluations/{evaluation.pk}/advance", {"to": "in_review"}, "application/json")
    assert moved.status_code == 200 and moved.json()["status"] == "in_review"
    detail = manager_a.get(f"/api/v1/evaluations/{evaluation.pk}").json()
    assert {e["user_id"] for e in detail["entries"]} == {company.owner.pk, company.teammate.pk}
    mate = EvaluationEntry.objects.get(user=company.teammate)
    bad = manager_a.post(
        f"/api/v1/evaluation-entries/{mate.pk}/adjustments",
        {"metric": "visits", "points": "99", "reason": "x"},
        "application/json",
    )
    assert bad.status_code == 400 and bad.json()["code"] == "invalid"
    ok = manager_a.post(
        f"/api/v1/evaluation-entries/{mate.pk}/adjustments",
        {"metric": "visits", "points": "50", "reason": "Late log"},
        "application/json",
    )
    assert ok.status_code == 200 and ok.json()["total"] == "75.00"
    line = ok.json()["lines"][1]
    assert line["points"] == "50.00" and line["computed_points"] == "0.00" and line["adjusted_reason"] == "Late log"
    assert api(company.manager_b).get(f"/api/v1/evaluation-entries/{mate.pk}").status_code == 404
    comment = manager_a.post(f"/api/v1/evaluation-entries/{mate.pk}/comments", {"text": "Nice"}, "application/json")
    assert comment.status_code == 201
    admin.post(f"/api/v1/evaluations/{evaluation.pk}/advance", {"to": "published"}, "application/json")
    assert api(company.teammate).post(f"/api/v1/evaluation-entries/{mate.pk}/acknowledge").status_code == 200
    admin.post(f"/api/v1/evaluations/{evaluation.pk}/advance", {"to": "locked"}, "application/json")
    again = admin.post(f"/api/v1/evaluations/{evaluation.pk}/advance", {"to": "locked"}, "application/json")
    assert again.status_code == 409 and again.json()["code"] == "locked"
    assert [e["id"] for e in owner.get("/api/v1/evaluations").json()["items"]] == [evaluation.pk]


@pytest.mark.parametrize("extra", [0, 20])
def test_api_query_budgets(company: Company, django_assert_max_num_queries: Any, extra: int) -> None:
    for i in range(extra):
        UserFactory(username=f"x{i}", role=role("rep"), team=company.team_a)
    data(company)
    evaluation = services.evaluation_run(actor=company.admin, scorecard=simple_card(company), period=Q1, today=TODAY)
    client = api(company.admin)
    for path in ("/api/v1/scorecards", "/api/v1/evaluations", f"/api/v1/evaluations/{evaluation.pk}"):
        with django_assert_max_num_queries(12):
            assert client.get(path).status_code == 200


def test_run_and_history_through_the_api(company: Company) -> None:
    data(company)
    card = simple_card(company)
    admin = api(company.admin)
    assert (
        api(company.manager_a)
        .post(f"/api/v1/scorecards/{card.pk}/evaluations", {"period": "2026-Q1"}, "application/json")
        .status_code
        == 403
    )
    bad = admin.post(f"/api/v1/scorecards/{card.pk}/evaluations", {"period": "2026-07"}, "application/json")
    assert bad.status_code == 400 and bad.json()["code"] == "invalid"  # a monthly period for a quarterly card
    ran = admin.post(f"/api/v1/scorecards/{card.pk}/evaluations", {"period": "2026-Q1"}, "application/json")
    assert ran.status_code == 201 and ran.json()["status"] == "draft"
    evaluation = Evaluation.objects.get()
    for step in ("in_review", "published"):
        services.evaluation_advance(actor=company.admin, evaluation=evaluation, to=step)
    mine = api(company.owner).get("/api/v1/evaluation-entries").json()
    assert [(e["user_id"], e["total"], e["period"]) for e in mine["items"]] == [(company.owner.pk, "100.00", "2026-Q1")]
    assert api(company.owner).get(f"/api/v1/evaluation-entries?user_id={company.teammate.pk}").json()["count"] == 0
    assert admin.get(f"/api/v1/evaluation-entries?user_id={company.teammate.pk}").json()["count"] == 1
