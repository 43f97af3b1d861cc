"""The duplicate pages and API: the create/edit forms ask for confirmation, the API answers 409,
the report, the settings, the merge wizard, and what hidden matches reveal (nothing but the owner)."""

from __future__ import annotations

import pytest
from django.urls import reverse

from bridgecrm.api.tests.conftest import ApiClient, assert_error_shape, issue_token
from bridgecrm.customers.models import Contact, Customer, DuplicateSettings
from bridgecrm.customers.tests.factories import make_contact, make_customer

pytestmark = pytest.mark.django_db

FORM = {"kind": "company", "lifecycle_stage": "lead", "country": "CN", "currency": "CNY"}


def test_the_create_form_shows_matches_and_saves_after_confirmation(company, login) -> None:
    theirs = make_customer(company.other_rep, name="Umbrella Pharmaceuticals Co., Ltd.")
    mine = make_customer(company.owner, name="Umbrella Pharma Trading")
    make_contact(mine, name="A", phones=["13800138000"])
    client = login(company.owner)
    before = Customer.objects.count()
    data = FORM | {"name": "UMBRELLA PHARMACEUTICALS", "owner": company.owner.pk, "team": company.team_a.pk}
    page = client.post(reverse("customers:create"), data)
    assert page.status_code == 200
    assert Customer.objects.count() == before
    [match] = page.context["duplicates"]
    assert (match.visible, match.customer_id, match.owner_label) == (False, None, company.other_rep.display_name)
    html = page.content.decode()
    assert "Umbrella Pharmaceuticals Co., Ltd." not in html and f"/customers/{theirs.pk}/" not in html
    assert company.other_rep.display_name in html and 'name="allow_duplicate"' in html
    saved = client.post(reverse("customers:create"), data | {"allow_duplicate": "1"})
    assert saved.status_code == 302
    assert Customer.objects.count() == before + 1


def test_the_edit_form_checks_a_new_name(company, login) -> None:
    make_customer(company.owner, name="Wonka Confectionery")
    other = make_customer(company.owner, name="Slugworth Sweets")
    client = login(company.owner)
    data = FORM | {"name": "wonka confectionery ltd", "owner": company.owner.pk, "team": company.team_a.pk}
    page = client.post(reverse("customers:edit", args=[other.pk]), data | {"version": 1})
    assert page.status_code == 200 and page.context["duplicates"][0].visible
    assert Customer.objects.get(pk=other.pk).name == "Slugworth Sweets"
    assert (
        client.post(
            reverse("customers:edit", args=[other.pk]), data | {"version": 1, "allow_duplicate": "1"}
        ).status_code
        == 302
    )


def test_customer_duplicates_page_links_only_visible_matches(company, login) -> None:
    mine = make_customer(company.owner, name="Tyrell Biotech")
    twin = make_customer(company.owner, name="TYRELL BIOTECH LTD")
    hidden = make_customer(company.other_rep, name="Tyrell Biotech Inc")
    page = login(company.manager_a).get(reverse("customers:customer_duplicates", args=[mine.pk]))
    assert page.status_code == 200
    html = page.content.decode()
    assert f"loser={twin.pk}" in html and f"/customers/{hidden.pk}/" not in html
    assert sum(1 for m in page.context["matches"] if not m.visible) == 1
    assert login(company.other_rep).get(reverse("customers:customer_duplicates", args=[mine.pk])).status_code == 404


def test_report_and_settings_pages(company, login, django_assert_max_num_queries) -> None:
    for i in range(6):
        make_customer(company.owner, name=f"Oscorp {i}")
        make_customer(company.owner, name=f"OSCORP {i} LTD")
    admin = login(company.admin)
    page = admin.get(reverse("customers:duplicates"))
    assert page.status_code == 200 and len(page.context["groups"]) == 6
    assert 'data-testid="merge-link"' in page.content.decode()
    for reason in ("phone", "email", "similar_name", "bogus"):
        assert admin.get(reverse("customers:duplicates"), {"reason": reason}).status_code == 200
    assert login(company.owner).get(reverse("customers:duplicates")).status_code == 403
    assert login(company.owner).get(reverse("customers:duplicate_settings")).status_code == 403
    saved = admin.post(
        reverse("customers:duplicate_settings"),
        {"match_name": "on", "match_phone": "on", "similarity_threshold": "90", "version": "1"},
    )
    assert saved.status_code == 302
    row = DuplicateSettings.objects.get()
    assert (row.match_email, row.match_similar_name, row.similarity_threshold, row.version) == (False, False, 90, 2)
    stale = admin.post(reverse("customers:duplicate_settings"), {"similarity_threshold": "80", "version": "1"})
    assert stale.status_code == 200 and DuplicateSettings.objects.get().similarity_threshold == 90


def test_report_page_query_count_does_not_grow(company, login, django_assert_max_num_queries) -> None:
    for i in range(25):
        make_customer(company.owner, name=f"Sirius {i}")
        make_customer(company.owner, name=f"sirius {i} co")
    admin = login(company.admin)
    admin.get(reverse("customers:duplicates"))
    with django_assert_max_num_queries(16):
        assert len(admin.get(reverse("customers:duplicates")).context["groups"]) == 20
    with django_assert_max_num_queries(16):
        assert len(admin.get(reverse("customers:duplicates"), {"page": 2}).context["groups"]) == 5


def test_merge_wizard_merges_and_refuses_stale_forms(company, login) -> None:
    keep = make_customer(company.owner, name="Cyberdyne Robotics", industry="technology")
    drop = make_customer(company.owner, name="Cyberdyne Robotics Corp", industry="manufacturing", city="深圳")
    make_contact(drop, name="Miles", is_primary=True)
    client = login(company.manager_a)
    url = reverse("customers:merge")
    page = client.get(url, {"survivor": keep.pk, "loser": drop.pk})
    assert page.status_code == 200 and page.context["moving"] == 1
    form = {"survivor": keep.pk, "loser": drop.pk, "survivor_version": 1, "loser_version": 1, "industry": "loser"}
    stale = client.post(url, form | {"loser_version": 7})
    assert stale.status_code == 409 and Customer.objects.get(pk=drop.pk).deleted_at is None
    done = client.post(url, form)
    assert done.status_code == 302 and done["Location"] == reverse("customers:detail", args=[keep.pk])
    kept = Customer.objects.get(pk=keep.pk)
    assert kept.industry == "manufacturing" and Contact.objects.filter(customer=kept).count() == 1
    assert Customer.objects.get(pk=drop.pk).merged_into_id == keep.pk
    detail = client.get(reverse("customers:detail", args=[keep.pk]))
    assert any(item.kind == "merge" for item in detail.context["activity"])
    # Reps may not merge; nobody merges what they do not see.
    assert login(company.owner).get(url, {"survivor": keep.pk, "loser": drop.pk}).status_code == 403
    assert client.get(url, {"survivor": keep.pk, "loser": 999999}).status_code == 404
    assert client.get(url).status_code == 404


def test_api_create_answers_409_with_masked_matches_unless_allowed(company) -> None:
    theirs = make_customer(company.other_rep, name="Blue Harbor Shipping Ltd")
    api = ApiClient(issue_token(company.owner))
    before = Customer.objects.count()
    body = assert_error_shape(api.post("/customers", {"name": "blue harbor shipping"}), 409, "duplicate")
    [match] = body["details"]["matches"]
    assert match == {
        "customer_id": None,
        "name": "",
        "visible": False,
        "owner": company.other_rep.display_name,
        "in_pool": False,
        "reasons": ["name"],
        "score": 100,
    }
    assert Customer.objects.count() == before
    created = api.post("/customers", {"name": "blue harbor shipping", "allow_duplicate": True})
    assert created.status_code == 201
    other = api.post("/customers", {"name": "Harbor Freight"}).json()
    renamed = api.patch(f"/customers/{other['id']}", {"name": "Blue Harbor Shipping", "version": 1})
    assert_error_shape(renamed, 409, "duplicate")
    ids = {m["customer_id"] for m in renamed.json()["details"]["matches"]}
    assert ids == {None, created.json()["id"]} and theirs.pk not in ids


def test_api_check_settings_and_merge(company) -> None:
    a = make_customer(company.owner, name="Soylent Foods")
    b = make_customer(company.owner, name="SOYLENT FOODS LTD")
    admin = ApiClient(issue_token(company.admin))
    rep = ApiClient(issue_token(company.owner))
    checked = rep.post("/duplicates/check", {"name": "Soylent Foods Inc."})
    assert checked.status_code == 200 and {m["customer_id"] for m in checked.json()} == {a.pk, b.pk}
    assert_error_shape(rep.get("/duplicates/settings"), 403, "forbidden")
    got = admin.get("/duplicates/settings").json()
    assert got["similarity_threshold"] == 85 and got["version"] == 1
    changed = admin.patch("/duplicates/settings", {"similarity_threshold": 92, "version": 1})
    assert changed.status_code == 200 and changed.json()["version"] == 2
    assert_error_shape(admin.patch("/duplicates/settings", {"match_name": False, "version": 1}), 409, "stale")
    assert_error_shape(admin.patch("/duplicates/settings", {"similarity_threshold": 20, "version": 2}), 422)
    merge_body = {"survivor_id": a.pk, "loser_id": b.pk, "survivor_version": 1, "loser_version": 1}
    assert_error_shape(rep.post("/customers/merge", merge_body), 403, "forbidden")
    assert_error_shape(admin.post("/customers/merge", merge_body | {"loser_version": 3}), 409, "stale")
    assert_error_shape(admin.post("/customers/merge", merge_body | {"choices": {"name": "both"}}), 400, "invalid")
    merged = admin.post("/customers/merge", merge_body | {"choices": {"name": "loser"}})
    assert merged.status_code == 200, merged.content
    assert merged.json()["survivor_id"] == a.pk and merged.json()["survivor_version"] == 2
    assert Customer.objects.get(pk=a.pk).name == "SOYLENT FOODS LTD"
    assert_error_shape(admin.post("/customers/merge", merge_body), 404, "not_found")
