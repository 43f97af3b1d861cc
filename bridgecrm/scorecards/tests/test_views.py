"""The scorecard pages: define (with errors), run, review, adjust, publish, lock, what-if, export,
history; query budgets that do not grow with the number of reps."""

from __future__ import annotations

from typing import Any

import pytest
from django.urls import reverse

from bridgecrm.conftest import Company, signed_in
from bridgecrm.scorecards import services
from bridgecrm.scorecards.models import Evaluation, EvaluationEntry, Scorecard
from bridgecrm.scorecards.tests.test_services import Q1, TODAY, data, simple_card
from bridgecrm.users.tests.factories import UserFactory, role

pytestmark = pytest.mark.django_db


def form_data(**changes: Any) -> dict[str, Any]:
    base = {
        "name": "Field sales",
        "period_kind": "quarter",
        "is_active": "on",
        "roles": [str(role("rep").pk)],
        "m_new_customers_use": "on",
        "m_new_customers_weight": "60",
        "m_new_customers_direction": "higher",
        "m_new_customers_curve": "linear",
        "m_new_customers_cap": "120",
        "m_new_customers_threshold": "100",
        "m_new_customers_target_kind": "fixed",
        "m_new_customers_target_value": "5",
        "m_new_customers_kind": "result",
        "m_visits_use": "on",
        "m_visits_weight": "40",
        "m_visits_direction": "higher",
        "m_visits_curve": "bands",
        "m_visits_cap": "120",
        "m_visits_threshold": "100",
        "m_visits_bands": "100:100, 50:40",
        "m_visits_target_kind": "fixed",
        "m_visits_target_value": "10",
        "m_visits_kind": "process",
    }
    return base | changes


def test_define_a_scorecard(company: Company) -> None:
    client = signed_in(company.admin)
    page = client.get(reverse("scorecards:new"))
    assert page.status_code == 200
    assert "Bridge has no satisfaction surveys yet." in page.content.decode()
    bad = client.post(reverse("scorecards:new"), form_data(m_visits_weight="30"))
    assert bad.status_code == 400 and "must add up to exactly 100" in bad.content.decode()
    assert not Scorecard.objects.exists()
    bad_bands = client.post(reverse("scorecards:new"), form_data(m_visits_bands="lots"))
    assert bad_bands.status_code == 400 and not Scorecard.objects.exists()
    saved = client.post(reverse("scorecards:new"), form_data())
    assert saved.status_code == 302
    card = Scorecard.objects.get()
    assert [(m.code, m.weight, m.curve, m.bands) for m in card.metrics.all()] == [
        ("new_customers", 60, "linear", []),
        ("visits", 40, "bands", [["100", "100"], ["50", "40"]]),
    ]
    edit = client.get(reverse("scorecards:edit", args=[card.pk]))
    assert edit.status_code == 200 and edit.context["form"]["m_visits_bands"].value() == "100:100, 50:40"


def test_run_review_publish_lock_through_the_pages(company: Company) -> None:
    data(company)
    card = simple_card(company)
    admin = signed_in(company.admin)
    ran = admin.post(reverse("scorecards:run", args=[card.pk]), {"period": "2026-Q1"})
    evaluation = Evaluation.objects.get()
    assert ran.status_code == 302 and ran["Location"] == reverse("scorecards:evaluation", args=[evaluation.pk])
    admin.post(reverse("scorecards:advance", args=[evaluation.pk]), {"to": "in_review"})
    mate = evaluation.entries.get(user=company.teammate)
    manager = signed_in(company.manager_a)
    page = manager.get(reverse("scorecards:entry", args=[mate.pk]))
    assert page.status_code == 200 and page.context["may_review"]
    manager.post(reverse("scorecards:adjust", args=[mate.pk]), {"metric": "visits", "points": "50", "reason": ""})
    assert EvaluationEntry.objects.get(pk=mate.pk).total == 25
    manager.post(
        reverse("scorecards:adjust", args=[mate.pk]), {"metric": "visits", "points": "50", "reason": "Late log"}
    )
    assert EvaluationEntry.objects.get(pk=mate.pk).total == 75
    manager.post(reverse("scorecards:comment", args=[mate.pk]), {"text": "Well done"})
    page = manager.get(reverse("scorecards:entry", args=[mate.pk])).content.decode()
    assert "Late log" in page and "Well done" in page
    admin.post(reverse("scorecards:advance", args=[evaluation.pk]), {"to": "published"})
    rep = signed_in(company.teammate)
    assert rep.get(reverse("scorecards:entry", args=[mate.pk])).context["may_acknowledge"]
    rep.post(reverse("scorecards:acknowledge", args=[mate.pk]))
    assert EvaluationEntry.objects.get(pk=mate.pk).acknowledged_at is not None
    assert rep.get(reverse("scorecards:entry", args=[evaluation.entries.get(user=company.owner).pk])).status_code == 404
    admin.post(reverse("scorecards:advance", args=[evaluation.pk]), {"to": "locked"})
    evaluation.refresh_from_db()
    assert evaluation.status == "locked"
    again = admin.post(reverse("scorecards:run", args=[card.pk]), {"period": "2026-Q1"}, follow=True)
    assert "locked" in again.content.decode()
    history = rep.get(reverse("scorecards:history", args=[company.teammate.pk]))
    assert [e.pk for e, _d in history.context["entries"]] == [mate.pk]


def test_what_if_page_saves_nothing(company: Company) -> None:
    data(company)
    evaluation = services.evaluation_run(actor=company.admin, scorecard=simple_card(company), period=Q1, today=TODAY)
    client = signed_in(company.admin)
    form = client.get(reverse("scorecards:what_if", args=[evaluation.pk])).context["form"]
    post = {name: str(form[name].value()) for name in form.fields}
    post |= {"w_new_customers_weight": "90", "w_visits_weight": "10"}
    response = client.post(reverse("scorecards:what_if", args=[evaluation.pk]), post, HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    assert [(r.name, str(r.total), r.rank) for r in response.context["rows"]][1] == (
        company.teammate.display_name,
        "45.00",
        2,
    )
    bad = client.post(reverse("scorecards:what_if", args=[evaluation.pk]), post | {"w_visits_weight": "11"})
    assert bad.status_code == 400
    assert EvaluationEntry.objects.get(user=company.teammate).total == 25


def test_export_is_scoped(company: Company) -> None:
    data(company)
    evaluation = services.evaluation_run(actor=company.admin, scorecard=simple_card(company), period=Q1, today=TODAY)
    for step in ("in_review", "published"):
        services.evaluation_advance(actor=company.admin, evaluation=evaluation, to=step)
    body = b"".join(signed_in(company.owner).get(reverse("scorecards:export", args=[evaluation.pk])).streaming_content)
    text = body.decode("utf-8-sig")
    assert company.owner.display_name in text and company.teammate.display_name not in text


@pytest.mark.parametrize("extra_reps", [0, 20])
def test_query_budgets(company: Company, django_assert_max_num_queries: Any, extra_reps: int) -> None:
    for i in range(extra_reps):
        UserFactory(username=f"extra{i}", role=role("rep"), team=company.team_b)
    data(company)
    evaluation = services.evaluation_run(actor=company.admin, scorecard=simple_card(company), period=Q1, today=TODAY)
    services.evaluation_advance(actor=company.admin, evaluation=evaluation, to="in_review")
    admin, manager = signed_in(company.admin), signed_in(company.manager_b)
    entry = evaluation.entries.first()
    assert entry is not None
    for client, name, args in [
        (admin, "scorecards:list", []),
        (admin, "scorecards:detail", [evaluation.scorecard_id]),
        (admin, "scorecards:evaluation", [evaluation.pk]),
        (manager, "scorecards:evaluation", [evaluation.pk]),
        (admin, "scorecards:entry", [entry.pk]),
        (admin, "scorecards:what_if", [evaluation.pk]),
        (admin, "scorecards:history", [company.owner.pk]),
    ]:
        with django_assert_max_num_queries(16):
            assert client.get(reverse(name, args=args)).status_code == 200
