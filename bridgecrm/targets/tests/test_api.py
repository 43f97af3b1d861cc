"""The targets and plans API: create, decompose (preview and save), adjust, progress, plans and
milestones; visibility, error codes, query budgets."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client

from bridgecrm.conftest import Company
from bridgecrm.targets.models import Target
from bridgecrm.users import services as user_services
from bridgecrm.users.models import User

pytestmark = pytest.mark.django_db


def api(user: User) -> Client:
    secret = user_services.token_create(actor=user, name="t").secret
    return Client(headers={"Authorization": f"Bearer {secret}"})


def post(client: Client, url: str, body: dict[str, Any], method: str = "post") -> Any:
    return getattr(client, method)("/api/v1" + url, json.dumps(body), content_type="application/json")


def test_create_decompose_adjust_and_progress(company: Company, django_assert_max_num_queries: Any) -> None:
    c = company
    admin = api(c.admin)
    made = post(
        admin,
        "/targets",
        {"measure": "signed_amount", "period": "2026", "scope": "team", "team_id": c.team_a.pk, "amount": "1000.00"},
    )
    assert made.status_code == 201, made.content
    tid = made.json()["id"]
    preview = post(admin, f"/targets/{tid}/decompose", {"method": "equal", "preview": True}).json()
    assert preview["saved"] is False and preview["total"] == "1000.00"
    assert not Target.objects.filter(parent_id=tid).exists()
    saved = post(
        admin,
        f"/targets/{tid}/decompose",
        {"method": "weights", "weights": {f"rep:{c.owner.pk}": "3", f"rep:{c.teammate.pk}": "1"}},
    ).json()
    assert {p["key"]: p["amount"] for p in saved["parts"]} == {
        f"rep:{c.owner.pk}": "750.00",
        f"rep:{c.teammate.pk}": "250.00",
    }
    child = Target.objects.get(parent_id=tid, user=c.owner)
    adjusted = post(api(c.manager_a), f"/targets/{child.pk}", {"amount": "800.00"}, method="patch")
    assert adjusted.status_code == 200 and adjusted.json()["amount"] == "800.00"
    client = api(c.manager_a)
    with django_assert_max_num_queries(14):
        body = client.get("/api/v1/targets/progress", {"measure": "signed_amount", "period": "2026"}).json()
    team = next(r for r in body["rows"] if r["kind"] == "team" and r["id"] == c.team_a.pk)
    assert team["target"] == "1000.00" and team["mismatch"]["difference"] == "50.00"
    listed = client.get("/api/v1/targets", {"period": "2026"}).json()
    assert {i["id"] for i in listed["items"]} == set(Target.objects.values_list("pk", flat=True))
    # The owner sees his own rep target and the team's, never the teammate's.
    mine = api(c.owner).get("/api/v1/targets").json()
    assert {i["scope"] for i in mine["items"]} == {"team", "rep"}
    assert {i["user_id"] for i in mine["items"] if i["scope"] == "rep"} == {c.owner.pk}
    other = Target.objects.get(parent_id=tid, user=c.teammate)
    assert api(c.owner).get(f"/api/v1/targets/{other.pk}").json()["code"] == "not_found"


def test_errors_have_codes(company: Company) -> None:
    c = company
    manager = api(c.manager_a)
    denied = post(
        manager, "/targets", {"measure": "signed_amount", "period": "2026", "scope": "company", "amount": "1"}
    )
    assert denied.status_code == 403 and denied.json()["code"] == "forbidden"
    bad = post(api(c.admin), "/targets", {"measure": "visits", "period": "2026", "scope": "company", "amount": "1.5"})
    assert bad.status_code == 400 and bad.json()["code"] == "invalid"
    shape = post(
        api(c.admin), "/targets", {"measure": "visits", "period": "2026-13", "scope": "company", "amount": "1"}
    )
    assert shape.status_code == 422
    assert Target.objects.count() == 0
    assert Client().get("/api/v1/targets").status_code == 401


def test_plans_and_milestones(company: Company) -> None:
    c = company
    manager = api(c.manager_a)
    plan = post(manager, "/plans", {"name": "Q1 push", "period": "2026-Q1", "scope": "rep", "user_id": c.owner.pk})
    assert plan.status_code == 201, plan.content
    pid = plan.json()["id"]
    phase = post(
        manager, f"/plans/{pid}/phases", {"name": "Open doors", "starts_on": "2026-01-01", "ends_on": "2026-02-15"}
    )
    assert phase.status_code == 201
    m = post(
        manager,
        f"/plans/{pid}/milestones",
        {"title": "Ten visits", "due_on": "2026-02-01", "owner_id": c.owner.pk, "phase_id": phase.json()["id"]},
    )
    assert m.status_code == 201
    done = post(api(c.owner), f"/milestones/{m.json()['id']}/status", {"status": "done"}, method="put")
    assert done.status_code == 200 and done.json()["status"] == "done"
    detail = api(c.owner).get(f"/api/v1/plans/{pid}").json()
    assert detail["progress"] == "100.0" and [p["name"] for p in detail["phases"]] == ["Open doors"]
    assert api(c.teammate).get(f"/api/v1/plans/{pid}").status_code == 404
    assert api(c.manager_b).get("/api/v1/plans").json()["count"] == 0


def test_ids_in_a_body_are_json_integers(company: Company) -> None:
    """``true`` is not team 1, nor ``"5"`` user 5: refused as the schema says (schemathesis found
    ``"team_id": true`` creating a plan)."""
    manager = api(company.manager_a)
    for field, value in (("team_id", True), ("user_id", str(company.owner.pk))):
        response = post(manager, "/plans", {"name": "P", "period": "2026-Q1", "scope": "team", field: value})
        assert response.status_code == 422, (field, response.content)
    response = post(
        manager,
        "/targets",
        {"measure": "won_amount", "period": "2026-Q1", "scope": "team", "team_id": True, "amount": "1"},
    )
    assert response.status_code == 422
