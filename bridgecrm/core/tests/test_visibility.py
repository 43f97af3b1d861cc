"""``visible_to(actor)`` for owned records: own or collaborate; managers their subtree; admins all."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from bridgecrm.core.tests.ownedapp.models import Note
from bridgecrm.users.models import Team
from bridgecrm.users.tests.factories import UserFactory, make_team, role

pytestmark = pytest.mark.django_db


@pytest.fixture
def notes(company):
    c = company
    sub_team = make_team("Team A1", parent=c.team_a)
    sub_rep = UserFactory(username="sub_rep", role=role("rep"), team=sub_team)
    owned = Note.objects.create(title="owner's", owner=c.owner)
    shared = Note.objects.create(title="other rep's, shared with teammate", owner=c.other_rep)
    shared.collaborators.add(c.teammate, c.owner)
    deep = Note.objects.create(title="sub-team rep's", owner=sub_rep)
    admins = Note.objects.create(title="admin's", owner=c.admin)
    return {"owned": owned, "shared": shared, "deep": deep, "admins": admins}


def titles(actor) -> set[str]:
    return set(Note.objects.visible_to(actor).values_list("title", flat=True))


def test_the_six_actors(company, notes):
    c = company
    assert titles(None) == set()
    assert titles(c.owner) == {"owner's", "other rep's, shared with teammate"}
    assert titles(c.teammate) == {"other rep's, shared with teammate"}
    assert titles(c.other_rep) == {"other rep's, shared with teammate"}
    assert titles(c.manager_a) == {"owner's", "sub-team rep's"}  # team A and everything below it
    assert titles(c.manager_b) == {"other rep's, shared with teammate"}
    assert titles(c.admin) == {"owner's", "other rep's, shared with teammate", "sub-team rep's", "admin's"}


def test_region_manager_sees_every_team_below(company, notes):
    boss = UserFactory(username="boss", role=role("manager"), team=company.region)
    Team.objects.filter(pk=company.region.pk).update(manager=boss)
    assert titles(boss) == {"owner's", "other rep's, shared with teammate", "sub-team rep's"}


def test_no_duplicates_and_one_query(company, notes):
    with CaptureQueriesContext(connection) as queries:
        rows = list(Note.objects.visible_to(company.owner).order_by("title"))
    assert len(rows) == len({r.pk for r in rows}) == 2
    assert len(queries) == 2  # the actor's capabilities (a rep manages no team), then the list itself


def test_a_manager_without_the_capability_sees_only_their_own(company, notes):
    from bridgecrm.users.models import RolePermission

    RolePermission.objects.filter(role__code="manager", capability="records.view_team").delete()
    manager = type(company.manager_a).objects.get(pk=company.manager_a.pk)
    assert titles(manager) == set()
