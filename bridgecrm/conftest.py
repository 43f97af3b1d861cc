"""Fixtures shared by every app's tests: the six actors of the authorization matrix."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from django.test import Client

from bridgecrm.users.models import Team, TeamKind, User
from bridgecrm.users.tests.factories import PASSWORD, UserFactory, make_team, role


@dataclass
class Company:
    company: Team
    region: Team
    team_a: Team
    team_b: Team
    admin: User
    manager_a: User  # manages team A (the owner's team)
    manager_b: User  # manages team B
    owner: User  # a rep in team A
    other_rep: User  # a rep in team B
    teammate: User  # a second rep in team A


def build_company() -> Company:
    """Company → East region → teams A and B, with the six actors of the authorization matrix."""
    company = make_team("Company", kind=TeamKind.COMPANY)
    region = make_team("East", parent=company, kind=TeamKind.REGION)
    team_a = make_team("Team A", parent=region)
    team_b = make_team("Team B", parent=region)
    admin = UserFactory(username="admin", role=role("admin"), team=company)
    manager_a = UserFactory(username="manager_a", role=role("manager"), team=team_a)
    manager_b = UserFactory(username="manager_b", role=role("manager"), team=team_b)
    Team.objects.filter(pk=team_a.pk).update(manager=manager_a)
    Team.objects.filter(pk=team_b.pk).update(manager=manager_b)
    owner = UserFactory(username="owner", role=role("rep"), team=team_a)
    other_rep = UserFactory(username="other_rep", role=role("rep"), team=team_b)
    teammate = UserFactory(username="teammate", role=role("rep"), team=team_a)
    for team in (team_a, team_b):
        team.refresh_from_db()
    return Company(company, region, team_a, team_b, admin, manager_a, manager_b, owner, other_rep, teammate)


@pytest.fixture
def company(db) -> Company:
    return build_company()


def signed_in(user: User) -> Client:
    client = Client()
    response = client.post("/accounts/login/", {"username": user.username, "password": PASSWORD})
    assert response.status_code == 302, response.content[:500]
    return client


@pytest.fixture
def login():
    return signed_in
