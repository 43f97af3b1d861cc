"""The REST API's endpoints: error shape and language, pagination, visibility, audit trail, profile, queries."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import polib
import pytest
from django.conf import settings
from django.db import connection
from django.test.utils import CaptureQueriesContext

from bridgecrm.api import users as api_users
from bridgecrm.api.tests.conftest import ApiClient, assert_error_shape, issue_token
from bridgecrm.core.models import AuditAction, AuditEntry
from bridgecrm.users import services
from bridgecrm.users.models import Role, Team, User
from bridgecrm.users.tests.factories import UserFactory, make_team, role

pytestmark = pytest.mark.django_db

PO_FILE = Path(settings.BASE_DIR) / "bridgecrm" / "locale" / "zh_Hans" / "LC_MESSAGES" / "django.po"


def _zh_translations() -> dict[str, str]:
    """msgid → msgstr for every entry of the zh-Hans catalogue that is actually translated."""
    po = polib.pofile(str(PO_FILE))
    return {e.msgid: e.msgstr for e in po if e.msgstr and not e.fuzzy and not e.obsolete}


def _usernames(response: Any) -> set[str]:
    assert response.status_code == 200, response.content[:500]
    return {item["username"] for item in response.json()["items"]}


@pytest.fixture
def org(company):
    """The shared company plus a sub-team under team A (with a rep) and a regional manager."""
    sub_team = make_team("Team A1", parent=company.team_a)
    sub_rep = UserFactory(username="sub_rep", role=role("rep"), team=sub_team)
    region_mgr = UserFactory(username="region_mgr", role=role("manager"), team=company.region)
    Team.objects.filter(pk=company.region.pk).update(manager=region_mgr)
    company.sub_team, company.sub_rep, company.region_mgr = sub_team, sub_rep, region_mgr
    return company


# ---- errors and their language --------------------------------------------------------------------


def _error_requests(company) -> dict[str, tuple[ApiClient, str, str, dict[str, Any] | None, int, str]]:
    rw = issue_token(company.owner)
    ro = issue_token(company.owner, read_only=True)
    return {
        "401": (ApiClient(), "GET", "/me", None, 401, "unauthenticated"),
        "401-query": (ApiClient(), "GET", "/me?token=" + rw, None, 401, "token_in_query"),
        "403": (ApiClient(ro), "PATCH", "/me", {"phone": "1"}, 403, "read_only_token"),
        "404": (ApiClient(rw), "GET", f"/users/{company.other_rep.pk}", None, 404, "not_found"),
        "422": (ApiClient(rw), "GET", "/users?limit=101", None, 422, "invalid"),
        "400": (ApiClient(rw), "PATCH", "/me", {"time_zone": "Mars/Olympus_Mons"}, 400, "invalid_time_zone"),
    }


@pytest.mark.parametrize("case", ["401", "401-query", "403", "404", "422", "400"])
def test_errors_have_one_shape_in_the_requests_language(company, case):
    client, method, path, body, status, code = _error_requests(company)[case]
    catalogue = _zh_translations()
    bodies = {}
    for language in ("en", "zh-hans"):
        client.language = language
        response = client.patch(path, body) if method == "PATCH" else client.get(path)
        bodies[language] = assert_error_shape(response, status, code)
        assert response["Content-Language"] == language  # the negotiation happened
    en, zh = bodies["en"], bodies["zh-hans"]
    assert zh["code"] == en["code"]
    assert set(zh["details"]) == set(en["details"])
    if en["message"] in catalogue:
        assert zh["message"] != en["message"], f"{en['message']!r} is translated in the .po but not served"
        assert zh["message"] == catalogue[en["message"]]


def test_validation_error_details_name_the_fields(company):
    client = ApiClient(issue_token(company.owner))
    body = assert_error_shape(client.get("/users", {"limit": 0, "team": "x", "offset": -1}), 422, "invalid")
    assert set(body["details"]) == {"limit", "team", "offset"}
    assert all(isinstance(msgs, list) and msgs for msgs in body["details"].values())
    body = assert_error_shape(client.patch("/me", {"full_name": "x" * 151}), 422, "invalid")
    assert set(body["details"]) == {"full_name"}


def test_unknown_api_path_is_404_json(company):
    response = ApiClient(issue_token(company.owner)).get("/nothing-here")
    assert response.status_code == 404


# ---- pagination -------------------------------------------------------------------------------------


def test_lists_paginate_with_count_and_a_capped_limit(company):
    for i in range(7):
        UserFactory(username=f"extra{i}", team=company.team_b, role=role("rep"))
    client = ApiClient(issue_token(company.admin))
    total = User.objects.count()

    first = client.get("/users", {"limit": 3}).json()
    assert set(first) == {"items", "count"}
    assert first["count"] == total
    assert len(first["items"]) == 3

    seen: list[str] = []
    for offset in range(0, total + 3, 3):
        page = client.get("/users", {"limit": 3, "offset": offset}).json()
        assert page["count"] == total
        seen += [u["username"] for u in page["items"]]
    assert seen == sorted(User.objects.values_list("username", flat=True))

    assert len(client.get("/users").json()["items"]) == min(total, settings.NINJA_PAGINATION_PER_PAGE)
    assert client.get("/users", {"limit": 100}).status_code == 200
    for bad in ({"limit": 101}, {"limit": 1000}, {"limit": 0}, {"limit": -1}, {"offset": -1}, {"limit": "ten"}):
        body = assert_error_shape(client.get("/users", bad), 422, "invalid")
        assert set(body["details"]) <= {"limit", "offset"}
    teams = client.get("/teams", {"limit": 2}).json()
    assert teams["count"] == Team.objects.count()
    assert len(teams["items"]) == 2
    assert_error_shape(client.get("/teams", {"limit": 101}), 422, "invalid")


def test_list_filters(org):
    client = ApiClient(issue_token(org.admin))
    assert _usernames(client.get("/users", {"team": org.team_a.pk})) == {"manager_a", "owner", "teammate"}
    assert _usernames(client.get("/users", {"q": "rep"})) == {"other_rep", "sub_rep"}
    services.user_deactivate(actor=org.admin, user=org.teammate)
    assert "teammate" not in _usernames(client.get("/users", {"active": "true"}))
    assert _usernames(client.get("/users", {"active": "false"})) == {"teammate"}
    names = {t["name"] for t in client.get("/teams", {"q": "team a"}).json()["items"]}
    assert names == {"Team A", "Team A1"}


# ---- visibility ---------------------------------------------------------------------------------------


def test_users_visibility_by_role(org):
    everyone = set(User.objects.values_list("username", flat=True))
    expected = {
        "owner": {"owner", "teammate", "manager_a"},  # a rep: self + own team (not the sub-team)
        "other_rep": {"other_rep", "manager_b"},
        "manager_a": {"manager_a", "owner", "teammate", "sub_rep"},  # a manager: the subtree
        "manager_b": {"manager_b", "other_rep"},
        "region_mgr": {"region_mgr", "manager_a", "owner", "teammate", "sub_rep", "manager_b", "other_rep"},
        "admin": everyone,
    }
    for username, visible in expected.items():
        client = ApiClient(issue_token(User.objects.get(username=username)))
        response = client.get("/users", {"limit": 100})
        assert _usernames(response) == visible, username
        assert response.json()["count"] == len(visible)
        for other in User.objects.all():
            detail = client.get(f"/users/{other.pk}")
            if other.username in visible:
                assert detail.status_code == 200
                assert detail.json()["username"] == other.username
            else:
                assert_error_shape(detail, 404, "not_found")


def test_rep_gets_404_for_other_teams_rep_and_missing_ids(company):
    client = ApiClient(issue_token(company.owner))
    assert_error_shape(client.get(f"/users/{company.other_rep.pk}"), 404, "not_found")
    assert_error_shape(client.get("/users/987654321"), 404, "not_found")
    assert_error_shape(client.get(f"/users/{2**63 + 5}"), 404, "not_found")
    assert client.get(f"/users/{company.teammate.pk}").status_code == 200
    # Filtering on another team shows nothing rather than leaking its members.
    assert client.get("/users", {"team": company.team_b.pk}).json() == {"items": [], "count": 0}


def test_teams_visibility(org):
    client = ApiClient(issue_token(org.owner))
    names = {t["name"] for t in client.get("/teams").json()["items"]}
    assert names == {"Company", "East", "Team A"}  # own team and its ancestors
    assert_error_shape(client.get(f"/teams/{org.team_b.pk}"), 404, "not_found")
    assert client.get(f"/teams/{org.team_a.pk}").json()["manager_id"] == org.manager_a.pk

    names = {t["name"] for t in ApiClient(issue_token(org.manager_a)).get("/teams").json()["items"]}
    assert names == {"Company", "East", "Team A", "Team A1"}
    admin_names = {t["name"] for t in ApiClient(issue_token(org.admin)).get("/teams").json()["items"]}
    assert admin_names == set(Team.objects.values_list("name", flat=True))


# ---- the audit trail of one record -------------------------------------------------------------------


def test_audit_endpoint_returns_a_records_history(company):
    services.user_update_profile(actor=company.admin, user=company.owner, full_name="Before")  # from the web/system
    client = ApiClient(issue_token(company.owner))
    assert client.patch("/me", {"phone": "+86 21 5555 0000"}).status_code == 200
    response = client.get(f"/audit/users.user/{company.owner.pk}")
    assert response.status_code == 200, response.content
    body = response.json()
    assert set(body) == {"items", "next_cursor"}
    assert body["next_cursor"] is None
    items = body["items"]
    assert {i["object_type"] for i in items} == {"users.user"}
    assert {i["object_id"] for i in items} == {str(company.owner.pk)}
    assert [(i["field"], i["source"]) for i in items if i["action"] == AuditAction.UPDATE] == [
        ("phone", "api"),
        ("full_name", "system"),
    ]  # newest first
    assert [i["id"] for i in items] == sorted((i["id"] for i in items), reverse=True)
    phone = next(i for i in items if i["field"] == "phone")
    assert phone["old_value"] == ""
    assert phone["new_value"] == "+86 21 5555 0000"
    assert phone["source"] == "api"
    assert phone["actor_id"] == company.owner.pk
    # Own record: own security events (the token made above) are shown.
    assert any(i["event"] == "token_created" for i in items)
    # Labels are case-insensitive.
    assert client.get(f"/audit/users.User/{company.owner.pk}").json() == body


def test_audit_endpoint_is_404_for_records_not_visible(company):
    client = ApiClient(issue_token(company.owner))
    assert_error_shape(client.get(f"/audit/users.user/{company.other_rep.pk}"), 404, "not_found")
    assert_error_shape(client.get(f"/audit/users.team/{company.team_b.pk}"), 404, "not_found")
    for path in (
        "/audit/users.user/987654321",
        "/audit/users.user/abc",
        f"/audit/users.user/{2**64}",
        "/audit/users.nothing/1",
        "/audit/auth.group/1",
        "/audit/core.auditentry/1",
        "/audit/nonsense/1",
    ):
        assert_error_shape(client.get(path), 404, "not_found")
    # Visible records, but somebody else's security events stay hidden.
    issue_token(company.teammate)
    services.user_update_profile(actor=company.teammate, user=company.teammate, phone="123")
    items = client.get(f"/audit/users.user/{company.teammate.pk}").json()["items"]
    assert items
    assert not any(i["action"] == AuditAction.SECURITY for i in items)
    assert client.get(f"/audit/users.team/{company.team_a.pk}").status_code == 200
    admin_items = ApiClient(issue_token(company.admin)).get(f"/audit/users.user/{company.teammate.pk}").json()["items"]
    assert any(i["event"] == "token_created" for i in admin_items)


def test_audit_endpoint_for_roles_is_for_auditors_only(company):
    rep_role = Role.objects.get(code="rep")
    services.role_set_capabilities(actor=company.admin, role=rep_role, capabilities=["api.use", "audit.view_all"])
    services.role_set_capabilities(actor=company.admin, role=rep_role, capabilities=["api.use"])
    admin = ApiClient(issue_token(company.admin))
    response = admin.get(f"/audit/users.role/{rep_role.pk}")
    assert response.status_code == 200, response.content[:300]
    assert any(i["event"] == "role_changed" for i in response.json()["items"])
    assert_error_shape(admin.get("/audit/users.role/987654"), 404, "not_found")
    rep = ApiClient(issue_token(company.owner))
    assert_error_shape(rep.get(f"/audit/users.role/{rep_role.pk}"), 404, "not_found")


def test_audit_endpoint_cursor_pagination(company):
    client = ApiClient(issue_token(company.owner))
    for i in range(6):
        assert client.patch("/me", {"phone": f"{i}"}).status_code == 200
    everything = client.get(f"/audit/users.user/{company.owner.pk}", {"limit": 100}).json()["items"]
    assert len(everything) == 7  # the token's creation and six phone changes
    ids: list[int] = []
    after = ""
    while True:
        page = client.get(f"/audit/users.user/{company.owner.pk}", {"limit": 3, "after": after}).json()
        assert len(page["items"]) <= 3
        ids += [i["id"] for i in page["items"]]
        if page["next_cursor"] is None:
            break
        after = page["next_cursor"]
    assert ids == [i["id"] for i in everything]
    # A garbled cursor is ignored (first page); bounds are enforced.
    garbled = client.get(f"/audit/users.user/{company.owner.pk}", {"limit": 3, "after": "not-a-cursor"})
    assert [i["id"] for i in garbled.json()["items"]] == ids[:3]
    for after in ("1e308_1", "nan_1", "inf_-1", f"1_{10**40}", "-1e12_1"):
        response = client.get(f"/audit/users.user/{company.owner.pk}", {"after": after})
        assert response.status_code == 200, (after, response.content[:300])
    for bad in ({"limit": 101}, {"limit": 0}, {"after": "x" * 65}):
        assert_error_shape(client.get(f"/audit/users.user/{company.owner.pk}", bad), 422, "invalid")


# ---- PATCH /me ----------------------------------------------------------------------------------------


def test_patch_me_goes_through_the_service_and_audits_each_changed_field(company, monkeypatch):
    calls: list[dict[str, Any]] = []
    real = services.user_update_profile

    def spy(**kwargs: Any) -> User:
        calls.append(kwargs)
        return real(**kwargs)

    monkeypatch.setattr(api_users.services, "user_update_profile", spy)
    owner = company.owner
    old_name = owner.full_name
    client = ApiClient(issue_token(owner))
    before = set(AuditEntry.objects.values_list("pk", flat=True))

    response = client.patch(
        "/me", {"full_name": "  Li Lei  ", "phone": "+86 10 8888 0000", "time_zone": "Asia/Shanghai"}
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["full_name"] == "Li Lei"
    assert body["phone"] == "+86 10 8888 0000"
    assert len(calls) == 1
    assert calls[0]["user"].pk == owner.pk
    assert calls[0]["actor"].pk == owner.pk

    rows = list(AuditEntry.objects.exclude(pk__in=before).order_by("field"))
    assert [r.field for r in rows] == ["full_name", "phone"]  # time_zone did not change: no row
    for row in rows:
        assert row.source == "api"
        assert row.action == AuditAction.UPDATE
        assert row.actor_id == owner.pk
        assert row.object_id == str(owner.pk)
        assert row.content_type.model == "user"
        assert row.request_id == response["X-Request-ID"]
    assert (rows[0].old_value, rows[0].new_value) == (old_name, "Li Lei")
    assert (rows[1].old_value, rows[1].new_value) == ("", "+86 10 8888 0000")
    owner.refresh_from_db()
    assert owner.full_name == "Li Lei"
    assert owner.phone == "+86 10 8888 0000"

    # The same values again, an empty patch and nulls change nothing and write nothing.
    count = AuditEntry.objects.count()
    assert client.patch("/me", {"full_name": "Li Lei", "phone": "+86 10 8888 0000"}).status_code == 200
    assert client.patch("/me", {}).status_code == 200
    assert client.patch("/me", {"full_name": None, "email": None}).status_code == 200
    assert AuditEntry.objects.count() == count

    # One field, one row.
    assert client.patch("/me", {"language": "zh-hans"}).json()["language"] == "zh-hans"
    assert list(AuditEntry.objects.filter(pk__gt=rows[-1].pk).values_list("field", "source")) == [("language", "api")]


def test_patch_me_refuses_bad_values_without_writing(company):
    client = ApiClient(issue_token(company.owner))
    count = AuditEntry.objects.count()
    assert_error_shape(client.patch("/me", {"language": "fr"}), 400, "invalid_language")
    assert_error_shape(client.patch("/me", {"time_zone": "Mars/Olympus_Mons"}), 400, "invalid_time_zone")
    assert_error_shape(client.patch("/me", {"time_zone": "../../etc/passwd"}), 400, "invalid_time_zone")
    body = assert_error_shape(client.patch("/me", {"email": "not an address"}), 400, "invalid")
    assert set(body["details"]) == {"email"}
    assert_error_shape(client.patch("/me", {"phone": "1" * 41}), 422, "invalid")
    assert_error_shape(client.patch("/me", {"full_name": "nul\x00byte"}), 422, "invalid")
    assert_error_shape(client.patch("/me", {"full_name": 12}), 422, "invalid")
    response = client.client.patch(
        "/api/v1/me", "{not json", content_type="application/json", headers={"Authorization": f"Bearer {client.secret}"}
    )
    assert response.status_code == 400
    assert set(response.json()) == {"code", "message", "details"}
    for not_an_object in ("[null, null]", '"text"', "3", "null"):
        response = client.client.patch(
            "/api/v1/me",
            not_an_object,
            content_type="application/json",
            headers={"Authorization": f"Bearer {client.secret}"},
        )
        assert_error_shape(response, 422, "invalid")
    # Fields that are not part of the profile are not writable here.
    response = client.patch("/me", {"username": "root", "is_active": False, "role": "admin"})
    assert response.status_code == 200
    assert response.json()["username"] == "owner"
    company.owner.refresh_from_db()
    assert company.owner.username == "owner"
    assert company.owner.is_active
    assert company.owner.role.code == "rep"
    assert AuditEntry.objects.count() == count


def test_nul_in_search_is_refused_not_a_server_error(company):
    client = ApiClient(issue_token(company.admin))
    assert_error_shape(client.get("/users", {"q": "a\x00b"}), 422, "invalid")
    assert_error_shape(client.get("/teams", {"q": "a\x00b"}), 422, "invalid")
    assert_error_shape(client.get("/users", {"team": 2**63}), 422, "invalid")
    assert client.get("/users", {"q": "管理"}).status_code == 200


# ---- query budget -------------------------------------------------------------------------------------


def _bulk_users(team: Team, n: int) -> None:
    rep = role("rep")
    User.objects.bulk_create(
        [User(username=f"bulk{i:03d}", team=team, role=rep, password="!", time_zone="Asia/Shanghai") for i in range(n)]
    )


@pytest.mark.parametrize("actor", ["admin", "manager_a", "owner"])
def test_user_list_query_count_does_not_grow_with_page_size(company, actor):
    _bulk_users(company.team_a, 120)
    client = ApiClient(issue_token(getattr(company, actor)))
    client.get("/users", {"limit": 1})  # first use stamps last_used_at; not part of the budget
    counts = {}
    for limit in (10, 100):
        with CaptureQueriesContext(connection) as ctx:
            response = client.get("/users", {"limit": limit})
        assert response.status_code == 200
        assert len(response.json()["items"]) == limit
        counts[limit] = len(ctx.captured_queries)
    assert counts[10] == counts[100], counts
    assert counts[100] <= 6, counts


def test_team_list_query_count_does_not_grow_with_page_size(company):
    for i in range(12):
        make_team(f"Extra {i}", parent=company.region)
    client = ApiClient(issue_token(company.admin))
    client.get("/teams", {"limit": 1})
    counts = {}
    for limit in (2, 10):
        with CaptureQueriesContext(connection) as ctx:
            assert len(client.get("/teams", {"limit": limit}).json()["items"]) == limit
        counts[limit] = len(ctx.captured_queries)
    assert counts[2] == counts[10], counts
