"""The tiers API: read the model, a customer's tier and history, set and clear a manual tier,
compliance; visibility and validation."""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import Client

from bridgecrm.conftest import Company
from bridgecrm.tiers import services
from bridgecrm.tiers.models import ManualTier
from bridgecrm.tiers.tests.helpers import customer, follow_up
from bridgecrm.users import services as user_services
from bridgecrm.users.models import User

pytestmark = pytest.mark.django_db


def api(user: User) -> Client:
    secret = user_services.token_create(actor=user, name="t").secret
    return Client(headers={"Authorization": f"Bearer {secret}"})


def test_model_and_tiers(company: Company) -> None:
    body = api(company.owner).get("/api/v1/tiers").json()
    assert [t["code"] for t in body["tiers"]] == ["A", "B", "C", "D"]
    assert body["tiers"][0]["follow_up_every_days"] == 7 and body["grid"]["high"]["high"] == "A"
    assert body["version"] == 1 and body["value_high"] == 60.0
    assert Client().get("/api/v1/tiers").status_code == 401


def test_customer_tier_manual_set_clear_and_history(company: Company) -> None:
    target = customer(company.owner, "Weekly", tier="A")
    follow_up(target, dt.date(2026, 3, 10))
    services.tiers_recompute()
    client = api(company.owner)
    url = f"/api/v1/customers/{target.pk}/tier"
    body = client.get(url).json()
    assert body["tier"] == "D" and body["manual"] is None and body["scores"]["value"] == 0.0
    assert body["routine"]["overdue_days"] > 0
    set_body = client.put(url, {"tier": "A", "reason": "Key account by contract"}, content_type="application/json")
    assert set_body.status_code == 200 and set_body.json()["manual"]["reason"] == "Key account by contract"
    assert set_body.json()["tier"] == "A"
    assert client.put(url, {"tier": "A", "reason": ""}, content_type="application/json").status_code == 400
    assert client.put(url, {"tier": "Q", "reason": "x"}, content_type="application/json").status_code == 400
    history = client.get(url + "/history").json()
    assert [(h["from_tier"], h["to_tier"], h["manual"]) for h in history["items"]] == [
        ("D", "A", True),
        ("A", "D", False),
    ]
    cleared = client.delete(url)
    assert cleared.status_code == 200 and cleared.json()["tier"] == "D" and cleared.json()["manual"] is None
    assert not ManualTier.objects.exists()


def test_other_people_cannot_see_or_set(company: Company) -> None:
    target = customer(company.owner, "Mine", tier="A")
    url = f"/api/v1/customers/{target.pk}/tier"
    for outsider in (company.other_rep, company.manager_b):
        client = api(outsider)
        assert client.get(url).status_code == 404
        assert client.get(url + "/history").status_code == 404
        assert client.put(url, {"tier": "B", "reason": "x"}, content_type="application/json").status_code == 404
        assert client.delete(url).status_code == 404
    assert not ManualTier.objects.exists()
    assert api(company.owner).get("/api/v1/customers/99999999999999999999/tier").status_code == 422


def test_compliance(company: Company) -> None:
    customer(company.owner, "Late", tier="A")
    body = api(company.manager_a).get("/api/v1/tiers/compliance", {"start": "2026-03-01", "end": "2026-03-31"}).json()
    assert {r["id"] for r in body["reps"]} == {company.manager_a.pk, company.owner.pk, company.teammate.pk}
    assert body["total"]["customers"] == 1 and body["total"]["on_time_share"] == 0.0
    bad = api(company.owner).get("/api/v1/tiers/compliance", {"start": "2026-03-31", "end": "2026-03-01"})
    assert bad.status_code == 400
    assert api(company.owner).get("/api/v1/tiers/compliance", {"start": "x", "end": "y"}).status_code == 422
