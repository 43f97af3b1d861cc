"""The tier pages: settings with preview, recompute, manual tier on the customer page, routine list
and compliance; query budgets that do not grow with the page."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.urls import reverse

from bridgecrm.conftest import Company, signed_in
from bridgecrm.core import dates
from bridgecrm.customers.models import Customer
from bridgecrm.tiers import selectors
from bridgecrm.tiers.models import ManualTier, TierModel
from bridgecrm.tiers.tests.helpers import customer, follow_up

pytestmark = pytest.mark.django_db


def settings_post(form: Any, **changes: Any) -> dict[str, Any]:
    """The settings page's form as rendered, with ``changes``."""
    data: dict[str, Any] = {}
    for name, field in form.fields.items():
        value = form.initial.get(name, field.initial)
        if value is None:
            continue
        data[name] = [str(v) for v in value] if isinstance(value, list) else str(value)
    data.update(changes)
    return data


def test_settings_preview_then_save(company: Company, django_capture_on_commit_callbacks: Any) -> None:
    customer(company.owner, "Fresh lead", size="201-1000", estimated_annual_potential="2000000")
    customer(company.owner, "Small", size="1-10")
    client = signed_in(company.admin)
    page = client.get(reverse("tiers:settings"))
    assert page.status_code == 200
    data = settings_post(page.context["form"], action="preview", potential_high="90")
    preview = client.post(reverse("tiers:settings"), data)
    assert preview.status_code == 200 and preview.context["previewed"]
    counts = {c["code"]: c["preview"] for c in preview.context["counts"]}
    assert counts["D"] == 2 and TierModel.objects.get().version == 1
    data["action"] = "save"
    with django_capture_on_commit_callbacks(execute=True):
        saved = client.post(reverse("tiers:settings"), data)
    assert saved.status_code == 302
    assert TierModel.objects.get().potential_high == 90
    assert dict(Customer.objects.values_list("name", "tier")) == {"Fresh lead": "D", "Small": "D"}


def test_settings_errors_are_shown_and_nothing_saved(company: Company) -> None:
    client = signed_in(company.admin)
    form = client.get(reverse("tiers:settings")).context["form"]
    bad = client.post(reverse("tiers:settings"), settings_post(form, action="save", value_medium="80"))
    assert bad.status_code == 400
    assert "cannot be above" in bad.content.decode()
    assert TierModel.objects.get().version == 1


def test_settings_need_tiers_manage(company: Company) -> None:
    for actor in (company.manager_a, company.owner):
        client = signed_in(actor)
        assert client.get(reverse("tiers:settings")).status_code == 403
        assert client.post(reverse("tiers:recompute")).status_code == 403


def test_customer_page_shows_tier_routine_and_manual_form(company: Company) -> None:
    target = customer(company.owner, "Weekly", tier="A")
    follow_up(target, dates.company_today() - dt.timedelta(days=10))
    client = signed_in(company.owner)
    page = client.get(reverse("customers:detail", kwargs={"customer_id": target.pk}))
    html = page.content.decode()
    assert 'data-testid="tier-panel"' in html and "3 days overdue" in html
    response = client.post(
        reverse("tiers:customer_tier", kwargs={"customer_id": target.pk}),
        {"action": "set", "tier": "B", "reason": "Smaller than it looks"},
    )
    assert response.status_code == 302
    assert ManualTier.objects.get(customer=target).tier == "B"
    html = client.get(reverse("customers:detail", kwargs={"customer_id": target.pk})).content.decode()
    assert "Smaller than it looks" in html and "Tier A · Key account → B · Growth" in html
    client.post(reverse("tiers:customer_tier", kwargs={"customer_id": target.pk}), {"action": "clear"})
    assert not ManualTier.objects.exists()
    other = signed_in(company.other_rep)
    denied = other.post(
        reverse("tiers:customer_tier", kwargs={"customer_id": target.pk}), {"action": "set", "tier": "A", "reason": "x"}
    )
    assert denied.status_code == 404


@pytest.mark.parametrize("count", [3, 60])
def test_routine_page_costs_fixed_queries(company: Company, count: int, django_assert_max_num_queries: Any) -> None:
    for i in range(count):
        customer(company.owner, f"Late {i}", tier="A")
    client = signed_in(company.owner)
    with django_assert_max_num_queries(12):
        page = client.get(reverse("tiers:routine"))
    assert page.status_code == 200
    assert len(page.context["rows"]) == min(count, 50)
    assert page.context["has_next"] == (count > 50)


def test_routine_filter_and_compliance_page(company: Company, django_assert_max_num_queries: Any) -> None:
    customer(company.owner, "Late A", tier="A")
    customer(company.owner, "Late B", tier="B")
    client = signed_in(company.manager_a)
    names = [c.name for c, _s in client.get(reverse("tiers:routine"), {"tier": "B"}).context["rows"]]
    assert names == ["Late B"]
    with django_assert_max_num_queries(14):
        page = client.get(reverse("tiers:compliance"), {"start": "2026-03-01", "end": "2026-03-31"})
    assert page.status_code == 200
    reps = {r.key: r for r in page.context["result"].reps}
    assert reps[company.owner.pk].customers == 2 and reps[company.owner.pk].on_time == 0
    assert company.other_rep.pk not in reps
    assert client.get(reverse("tiers:compliance"), {"start": "2026-03-31", "end": "2026-03-01"}).status_code == 400


def test_customer_list_shows_and_filters_by_tier_in_the_page_and_the_api(company: Company) -> None:
    from bridgecrm.api.tests.conftest import ApiClient, issue_token

    customer(company.owner, "Key account", tier="A")
    customer(company.owner, "Small shop", tier="D")
    customer(company.other_rep, "Someone else's A", tier="A")
    client = signed_in(company.owner)
    page = client.get(reverse("customers:list"), {"tier": "A"})
    assert [c.name for c in page.context["customers"]] == ["Key account"]
    labels = dict(page.context["form"].fields["tier"].choices)
    assert set(labels) == {"", *(t.code for t in selectors.tiers())}
    assert labels["A"].startswith("A")
    assert 'data-testid="tier">A<' in page.content.decode()
    assert client.get(reverse("customers:list"), {"tier": "nope"}).context["form"].errors["tier"]
    api = ApiClient(issue_token(company.owner))
    body = api.get("/customers", {"tier": "D"}).json()
    assert [(i["name"], i["tier"]) for i in body["items"]] == [("Small shop", "D")]
