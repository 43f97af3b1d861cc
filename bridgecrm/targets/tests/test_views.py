"""The target and plan pages and the manager dashboard: the flows, the 403/404s, and query
budgets that do not grow with the number of reps."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.urls import reverse

from bridgecrm.conftest import Company, signed_in
from bridgecrm.targets import services
from bridgecrm.targets.models import Target
from bridgecrm.targets.tests.helpers import company_target, customer, won
from bridgecrm.users.tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_set_and_decompose_through_the_pages(company: Company) -> None:
    c = company
    client = signed_in(c.admin)
    made = client.post(
        reverse("targets:new"),
        {"measure": "signed_amount", "period": "2026", "scope": "team", "team": c.team_a.pk, "amount": "900.00"},
    )
    assert made.status_code == 302, made.content[:2000]
    target = Target.objects.get()
    url = reverse("targets:detail", kwargs={"target_id": target.pk})
    preview = client.post(url, {"dimension": "scope", "method": "equal", "action": "preview"})
    assert (
        preview.status_code == 200
        and [line.amount for line in preview.context["preview"].lines] == [target.amount / 2] * 2
    )
    assert not Target.objects.filter(parent=target).exists()
    saved = client.post(url, {"dimension": "scope", "method": "equal", "action": "save"})
    assert saved.status_code == 302
    child = Target.objects.filter(parent=target).first()
    assert child is not None
    client.post(reverse("targets:adjust", kwargs={"target_id": child.pk}), {"amount": "500.00"})
    page = client.get(reverse("targets:progress"), {"measure": "signed_amount", "period": "2026"})
    assert page.status_code == 200
    assert "450" in page.content.decode() and page.context["result"].warnings


def test_bad_input_is_a_translated_error_and_changes_nothing(company: Company) -> None:
    client = signed_in(company.admin)
    page = client.post(
        reverse("targets:new"), {"measure": "visits", "period": "2026-Q5", "scope": "company", "amount": "1"}
    )
    assert page.status_code == 400 and Target.objects.count() == 0
    zh = signed_in(company.admin)
    zh.cookies["django_language"] = "zh-hans"
    assert zh.get(reverse("targets:progress"), {"period": "nope"}).status_code == 400


def test_reps_and_other_managers(company: Company) -> None:
    c = company
    top = company_target(c)
    assert signed_in(c.owner).get(reverse("targets:new")).status_code == 403
    assert (
        signed_in(c.manager_a)
        .post(
            reverse("targets:detail", kwargs={"target_id": top.pk}),
            {"dimension": "scope", "method": "equal", "action": "save"},
        )
        .status_code
        == 403
    )
    assert not Target.objects.filter(parent=top).exists()
    assert signed_in(c.owner).get(reverse("web:manager_dashboard")).status_code == 403


def test_query_budgets_do_not_grow(company: Company, django_assert_max_num_queries: Any) -> None:
    c = company
    top = company_target(c)
    services.target_decompose(actor=c.admin, parent=top, dimension="scope", method="equal")
    client = signed_in(c.admin)
    client.get(reverse("targets:progress"))
    with django_assert_max_num_queries(16):
        assert client.get(reverse("targets:progress")).status_code == 200
    for i in range(15):
        rep = UserFactory(username=f"extra{i}", team=c.team_a, role=c.owner.role)
        won(c.admin, customer(rep, f"C{i}"), "10.00", dt.date.today())
    with django_assert_max_num_queries(16):
        assert client.get(reverse("targets:progress")).status_code == 200
    manager = signed_in(c.manager_a)
    with django_assert_max_num_queries(30):
        page = manager.get(reverse("web:manager_dashboard"))
    assert page.status_code == 200
    plan = services.plan_create(actor=c.manager_a, name="P", period="2026", scope="team", team=c.team_a)
    for i in range(5):
        services.milestone_add(actor=c.manager_a, plan=plan, title=f"M{i}", due_on="2026-02-01", owner=c.owner)
    with django_assert_max_num_queries(14):
        assert manager.get(reverse("targets:plans")).status_code == 200
    with django_assert_max_num_queries(20):
        assert manager.get(reverse("targets:plan_detail", kwargs={"plan_id": plan.pk})).status_code == 200


def test_export_shows_only_what_the_page_shows(company: Company) -> None:
    c = company
    team = services.target_create(
        actor=c.admin, measure="visits", period="2026", scope="team", team=c.team_a, amount="10"
    )
    services.target_decompose(actor=c.admin, parent=team, dimension="scope", method="equal")

    def export(user: Any) -> str:
        response = signed_in(user).get(
            reverse("targets:progress"), {"measure": "visits", "period": "2026", "export": "1"}
        )
        assert response.status_code == 200
        return b"".join(response.streaming_content).decode("utf-8-sig")

    mine = export(c.owner)
    assert c.owner.display_name in mine and c.teammate.display_name not in mine
    assert c.teammate.display_name in export(c.manager_a)
    xlsx = signed_in(c.admin).get(reverse("targets:progress"), {"export": "1", "format": "xlsx"})
    assert xlsx.status_code == 200 and xlsx["Content-Type"].startswith("application/vnd.openxmlformats")


def test_milestone_with_a_linked_target_and_a_key_customer(company: Company) -> None:
    c = company
    key = customer(c.owner, "Key account")
    target = services.target_create(
        actor=c.manager_a, measure="visits", period="2026-Q1", scope="rep", user=c.owner, amount="30"
    )
    plan = services.plan_create(actor=c.manager_a, name="Q1", period="2026-Q1", scope="rep", user=c.owner)
    client = signed_in(c.manager_a)
    added = client.post(
        reverse("targets:milestone_add", kwargs={"plan_id": plan.pk}),
        {
            "title": "Visit the key account",
            "due_on": "2026-02-10",
            "owner": c.owner.pk,
            "targets": [target.pk],
            "customers": str(key.pk),
        },
    )
    assert added.status_code == 302, added.content[:1500]
    milestone = plan.milestones.get()
    assert list(milestone.targets.all()) == [target] and list(milestone.customers.all()) == [key]
    page = client.get(reverse("targets:plan_detail", kwargs={"plan_id": plan.pk})).content.decode()
    assert "Key account" in page and "2026-Q1" in page
    # A customer the manager of team B cannot see is refused, nothing saved.
    other = services.plan_create(actor=c.manager_b, name="B", period="2026-Q1", scope="rep", user=c.other_rep)
    refused = signed_in(c.manager_b).post(
        reverse("targets:milestone_add", kwargs={"plan_id": other.pk}),
        {"title": "x", "due_on": "2026-02-10", "owner": c.other_rep.pk, "customers": [key.pk]},
    )
    assert refused.status_code == 400 and not other.milestones.exists()


def test_reps_fold_on_the_page_until_a_team_is_opened(company: Company, monkeypatch: pytest.MonkeyPatch) -> None:
    from bridgecrm.targets import selectors

    monkeypatch.setattr(selectors, "REP_ROWS_LIMIT", 3)
    client = signed_in(company.admin)
    folded = client.get(reverse("targets:progress"))
    assert folded.context["result"].reps_folded
    assert not [r for r in folded.context["result"].rows if r.kind == "rep"]
    opened = client.get(reverse("targets:progress"), {"team": company.team_b.pk})
    assert {r.key for r in opened.context["result"].rows if r.kind == "rep"} == {
        company.other_rep.pk,
        company.manager_b.pk,
    }


def test_inline_adjust_with_htmx_redraws_the_parts_and_the_mismatch(company: Company) -> None:
    c = company
    team = services.target_create(
        actor=c.admin, measure="visits", period="2026", scope="team", team=c.team_a, amount="10"
    )
    reps, _p = services.target_decompose(actor=c.admin, parent=team, dimension="scope", method="equal")
    client = signed_in(c.manager_a)
    url = reverse("targets:adjust", kwargs={"target_id": reps[0].pk})
    partial = client.post(url, {"amount": "7"}, headers={"HX-Request": "true"})
    assert partial.status_code == 200
    body = partial.content.decode()
    assert 'id="target-children"' in body and "<html" not in body
    assert partial.context["scope_mismatch"].difference == 2
    bad = client.post(url, {"amount": "7.5"}, headers={"HX-Request": "true"})
    assert bad.context["adjust_error"] and Target.objects.get(pk=reps[0].pk).amount == 7
