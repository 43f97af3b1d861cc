"""Reads: visibility for the six actors, filters, sort, search, saved views."""

from __future__ import annotations

import decimal

import pytest

from bridgecrm.core.errors import NotFound
from bridgecrm.customers import selectors, services
from bridgecrm.customers.models import Contact
from bridgecrm.customers.selectors import CustomerFilters
from bridgecrm.customers.tests.factories import make_contact, make_customer

pytestmark = pytest.mark.django_db

ACTORS = ("owner", "teammate", "other_rep", "manager_a", "manager_b", "admin")


def _names(actor, **filters) -> list[str]:
    return [c.name for c in selectors.customer_list(actor=actor, filters=CustomerFilters(**filters))]


@pytest.mark.parametrize(
    ("collaborator", "seers"),
    [
        (None, {"owner", "manager_a", "admin"}),
        ("teammate", {"owner", "teammate", "manager_a", "admin"}),
        ("other_rep", {"owner", "other_rep", "manager_a", "admin"}),
    ],
)
def test_visibility_for_the_six_actors(company, collaborator, seers) -> None:
    people = [getattr(company, collaborator)] if collaborator else []
    customer = services.customer_create(actor=company.admin, name="Acme", owner=company.owner, collaborators=people)
    contact = make_contact(customer)
    for actor in ACTORS:
        user = getattr(company, actor)
        seen = selectors.customer_list(actor=user).filter(pk=customer.pk).exists()
        assert seen == (actor in seers), actor
        assert Contact.objects.visible_to(user).filter(pk=contact.pk).exists() == (actor in seers), actor
        if actor not in seers:
            with pytest.raises(NotFound):
                selectors.customer_get(actor=user, customer_id=customer.pk)
            with pytest.raises(NotFound):
                selectors.contact_get(actor=user, contact_id=contact.pk)


def test_anonymous_and_inactive_see_nothing(company) -> None:
    from django.contrib.auth.models import AnonymousUser

    make_customer(company.owner)
    assert not selectors.customer_list(actor=AnonymousUser()).exists()  # type: ignore[arg-type]
    company.owner.is_active = False
    assert not selectors.customer_list(actor=company.owner).exists()


def test_contact_get_checks_the_customer_in_the_address(company) -> None:
    a, b = make_customer(company.owner, "A"), make_customer(company.owner, "B")
    contact = make_contact(a)
    assert selectors.contact_get(actor=company.owner, contact_id=contact.pk, customer_id=a.pk) == contact
    with pytest.raises(NotFound):
        selectors.contact_get(actor=company.owner, contact_id=contact.pk, customer_id=b.pk)


def test_filters_on_every_column(company) -> None:
    o = company.owner
    make_customer(o, "Alpha", kind="individual", lifecycle_stage="prospect", source="referral", industry="finance")
    make_customer(o, "Beta", country="CN", province="GD", city="深圳", size="51-200", tags=["VIP"])
    make_customer(o, "Gamma", country="SG", estimated_annual_potential="500000")
    make_customer(company.manager_a, "Delta", estimated_annual_potential="10")
    admin = company.admin
    assert _names(admin, kind="individual") == ["Alpha"]
    assert _names(admin, stage="prospect") == ["Alpha"]
    assert _names(admin, source="referral") == ["Alpha"]
    assert _names(admin, industry="finance") == ["Alpha"]
    assert _names(admin, country="SG") == ["Gamma"]
    assert _names(admin, province="GD") == ["Beta"]
    assert _names(admin, city=" 深圳 ") == ["Beta"]
    assert _names(admin, size="51-200") == ["Beta"]
    assert _names(admin, tag="vip") == ["Beta"]
    assert _names(admin, owner_id=company.manager_a.pk) == ["Delta"]
    assert _names(admin, team_id=company.team_a.pk, sort="name") == ["Alpha", "Beta", "Delta", "Gamma"]
    assert _names(admin, potential_min=decimal.Decimal(100)) == ["Gamma"]
    assert _names(admin, potential_max=decimal.Decimal(100)) == ["Delta"]


def test_sorts_are_total_and_put_unknown_potentials_last(company) -> None:
    for name, potential in (("b", "5"), ("a", None), ("c", "7"), ("a", "1")):
        make_customer(company.owner, name, estimated_annual_potential=potential)
    assert _names(company.owner, sort="name") == ["a", "a", "b", "c"]
    assert _names(company.owner, sort="-name") == ["c", "b", "a", "a"]
    assert _names(company.owner, sort="-potential") == ["c", "b", "a", "a"]
    assert _names(company.owner, sort="potential")[-1] == "a"
    assert _names(company.owner, sort="created") == ["b", "a", "c", "a"]
    assert _names(company.owner, sort="-created") == ["a", "c", "a", "b"]
    assert _names(company.owner, sort="nonsense") == _names(company.owner, sort="-updated")


def test_search_by_name_contact_name_phone_and_email(company) -> None:
    acme = make_customer(company.owner, "Acme Trading 上海")
    other = make_customer(company.owner, "华强电子")
    make_contact(acme, "Lily Chen", phones=["13800138000"], email="lily@acme.cn")
    make_contact(other, "张伟", phones=["010-12345678"])
    o = company.owner
    assert _names(o, q="acme") == ["Acme Trading 上海"]
    assert _names(o, q="强电") == ["华强电子"]
    assert _names(o, q="lily chen") == ["Acme Trading 上海"]
    assert _names(o, q="+86 138-0013-8000") == ["Acme Trading 上海"]
    assert _names(o, q="(010) 1234 5678") == ["华强电子"]
    assert _names(o, q="LILY@ACME.CN") == ["Acme Trading 上海"]
    assert _names(o, q="nobody") == []


def test_search_never_reveals_invisible_customers(company) -> None:
    hidden = make_customer(company.other_rep, "Hidden Co")
    make_contact(hidden, "Secret", phones=["13900139000"], email="s@hidden.cn")
    for q in ("Hidden", "13900139000", "s@hidden.cn", "Secret"):
        assert _names(company.owner, q=q) == []
        assert _names(company.manager_b, q=q) == ["Hidden Co"]


def test_saved_views_are_own_and_shared_within_the_team(company) -> None:
    services.saved_view_save(actor=company.owner, name="Mine", query="stage=lead")
    services.saved_view_save(actor=company.owner, name="Team A leads", query="stage=lead", shared_with_team=True)
    services.saved_view_save(actor=company.other_rep, name="Team B", query="", shared_with_team=True)
    assert [v.name for v in selectors.saved_view_list(actor=company.owner)] == ["Mine", "Team A leads"]
    assert [v.name for v in selectors.saved_view_list(actor=company.teammate)] == ["Team A leads"]
    assert [v.name for v in selectors.saved_view_list(actor=company.manager_a)] == ["Team A leads"]
    assert [v.name for v in selectors.saved_view_list(actor=company.other_rep)] == ["Team B"]
