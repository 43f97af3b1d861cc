"""Users, the team tree and roles as data, through the services and the visibility mechanism."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command
from django.test import Client

from bridgecrm.core.errors import ApplicationError, PermissionDenied
from bridgecrm.users import services
from bridgecrm.users.capabilities import MANAGE_TEAMS, VIEW_ALL_RECORDS
from bridgecrm.users.models import RolePermission, Team, User
from bridgecrm.users.tests.factories import PASSWORD, UserFactory, make_team, role

pytestmark = pytest.mark.django_db


def names(qs):
    return sorted(u.username for u in qs)


def test_visible_users_per_role(company):
    c = company
    assert names(User.objects.visible_to(c.owner)) == ["manager_a", "owner", "teammate"]
    assert names(User.objects.visible_to(c.manager_a)) == ["manager_a", "owner", "teammate"]
    assert names(User.objects.visible_to(c.manager_b)) == ["manager_b", "other_rep"]
    assert User.objects.visible_to(c.admin).count() == User.objects.count()
    assert User.objects.visible_to(None).count() == 0
    services.user_deactivate(actor=c.admin, user=c.teammate)
    c.teammate.refresh_from_db()
    assert User.objects.visible_to(c.teammate).count() == 0  # inactive actors see nothing


def test_region_manager_sees_the_whole_subtree(company):
    c = company
    boss = UserFactory(username="region_boss", role=role("manager"), team=c.region)
    Team.objects.filter(pk=c.region.pk).update(manager=boss)
    assert set(names(User.objects.visible_to(boss))) >= {"owner", "other_rep", "manager_a", "manager_b", "teammate"}
    assert "admin" not in names(User.objects.visible_to(boss))


def test_a_new_role_is_a_row_not_code(company):
    c = company
    auditor = services.role_create(actor=c.admin, code="auditor", name_en="Auditor", name_zh="审计员")
    services.role_set_capabilities(actor=c.admin, role=auditor, capabilities=[VIEW_ALL_RECORDS, MANAGE_TEAMS])
    person = UserFactory(role=auditor)
    assert User.objects.visible_to(person).count() == User.objects.count()
    assert person.can(MANAGE_TEAMS)
    assert set(RolePermission.objects.filter(role=auditor).values_list("capability", flat=True)) == {
        VIEW_ALL_RECORDS,
        MANAGE_TEAMS,
    }


def test_role_management_refuses_unknown_capabilities_and_self_lockout(company):
    c = company
    admin_role = role("admin")
    with pytest.raises(ApplicationError):
        services.role_set_capabilities(actor=c.admin, role=admin_role, capabilities=["nuke.everything"])
    with pytest.raises(ApplicationError) as raised:
        services.role_set_capabilities(actor=c.admin, role=admin_role, capabilities=[VIEW_ALL_RECORDS])
    assert raised.value.code == "lockout"
    with pytest.raises(PermissionDenied):
        services.role_set_capabilities(actor=c.manager_a, role=role("rep"), capabilities=[VIEW_ALL_RECORDS])
    assert not role("rep").grants.filter(capability=VIEW_ALL_RECORDS).exists()


def test_moving_a_team_moves_its_subtree_and_refuses_cycles(company):
    c = company
    west = make_team("West", parent=c.company)
    sub = make_team("Team A1", parent=c.team_a)
    services.team_update(actor=c.admin, team=c.team_a, name="Team A", kind="team", parent=west, manager=c.manager_a)
    sub.refresh_from_db()
    assert sub.path.startswith(west.path)
    with pytest.raises(ApplicationError) as raised:
        services.team_update(actor=c.admin, team=c.team_a, name="Team A", kind="team", parent=sub, manager=None)
    assert raised.value.code == "team_cycle"
    # the manager of team A still sees the rep whose team moved with it
    assert "owner" in names(User.objects.visible_to(User.objects.get(pk=c.manager_a.pk)))


def test_invite_sends_a_set_password_link(company, mailoutbox, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        user = services.user_invite(
            actor=company.admin, username="newbie", email="newbie@example.com", team=company.team_a, role=role("rep")
        )
    assert not user.has_usable_password()
    assert len(mailoutbox) == 1 and "/accounts/reset/" in mailoutbox[0].body


def test_duplicate_user_name_is_refused_and_nothing_is_written(company):
    before = User.objects.count()
    with pytest.raises(ApplicationError) as raised:
        services.user_create(actor=company.admin, username="OWNER")
    assert raised.value.code == "username_taken"
    assert User.objects.count() == before


def test_admin_pages_for_users_teams_roles(company):
    client = Client()
    client.post("/accounts/login/", {"username": "admin", "password": PASSWORD})
    assert client.get("/manage/users/").status_code == 200
    response = client.post(
        "/manage/users/invite/",
        {
            "username": "li.lei",
            "email": "li@example.com",
            "full_name": "李雷",
            "team": company.team_a.pk,
            "role": role("rep").pk,
        },
    )
    assert response.status_code == 302
    new = User.objects.get(username="li.lei")
    assert client.post(f"/manage/users/{new.pk}/deactivate/").status_code == 302
    new.refresh_from_db()
    assert not new.is_active
    response = client.post("/manage/teams/", {"name": "华南三组", "kind": "team", "parent": company.region.pk})
    assert response.status_code == 302 and Team.objects.filter(name="华南三组").exists()
    assert client.get("/manage/roles/").status_code == 200
    assert client.get("/manage/audit/?field=is_active").status_code == 200


def test_createadmin_generates_a_password_shown_once():
    out = io.StringIO()
    call_command("createadmin", "boss", "--generate", stdout=out)
    password = out.getvalue().split("store it now): ")[1].strip()
    boss = User.objects.get(username="boss")
    assert boss.check_password(password) and boss.role.code == "admin"
    assert Client().post("/accounts/login/", {"username": "boss", "password": password}).status_code == 302


def test_demo_company_is_reproducible_by_seed():
    from django.db import transaction

    from bridgecrm.users.demo import create_demo_company

    def people(seed: int) -> list[tuple[str, str, str]]:
        with transaction.atomic():
            accounts = create_demo_company(seed=seed)
            transaction.set_rollback(True)
        return [(a.username, a.full_name, a.team) for a in accounts]

    assert people(7) == people(7)
    assert people(7) != people(8)
    accounts = create_demo_company(seed=7)
    assert Team.objects.filter(kind="region").count() == 3
    assert Team.objects.filter(kind="team").count() == 6
    assert 25 <= len(accounts) <= 35
    assert any(any("\u4e00" <= ch <= "\u9fff" for ch in a.full_name) for a in accounts)
    assert any(a.full_name.isascii() for a in accounts)
    director = next(a for a in accounts if a.username == "director")
    assert Client().post("/accounts/login/", {"username": "director", "password": director.password}).status_code == 302


def test_roles_page_shows_the_history_of_role_changes(company):
    services.role_set_capabilities(actor=company.admin, role=role("rep"), capabilities=[MANAGE_TEAMS])
    client = Client()
    client.post("/accounts/login/", {"username": "admin", "password": PASSWORD})
    html = client.get("/manage/roles/").content.decode()
    assert "teams.manage" in html and "Sales rep" in html
