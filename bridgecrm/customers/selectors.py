"""Reads about customers, contacts and saved views. Every one takes the actor and starts from ``visible_to``.

Search (``q``) matches the customer's name and its contacts' names (substring; a trigram index
serves it on PostgreSQL), a phone number in any common format (normalised to E.164, exact match
on an indexed column) and an e-mail address (lower-cased, exact match on an indexed column).
"""

from __future__ import annotations

import decimal
from dataclasses import dataclass

from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from bridgecrm.core.errors import NotFound
from bridgecrm.customers import phones
from bridgecrm.customers.models import Contact, ContactPhone, ContactQuerySet, Customer, CustomerQuerySet, SavedView
from bridgecrm.users.models import User

SORTS: dict[str, tuple[str, bool]] = {
    # key → (field, descending); the id breaks ties in the same direction, so the order is total.
    "-updated": ("updated_at", True),
    "updated": ("updated_at", False),
    "-created": ("created_at", True),
    "created": ("created_at", False),
    "name": ("name", False),
    "-name": ("name", True),
    "-potential": ("estimated_annual_potential", True),
    "potential": ("estimated_annual_potential", False),
}
DEFAULT_SORT = "-updated"


@dataclass(frozen=True)
class CustomerFilters:
    q: str = ""
    kind: str = ""
    stage: str = ""
    source: str = ""
    industry: str = ""
    country: str = ""
    province: str = ""
    city: str = ""
    size: str = ""
    owner_id: int | None = None
    team_id: int | None = None
    tag: str = ""
    potential_min: decimal.Decimal | None = None
    potential_max: decimal.Decimal | None = None
    sort: str = DEFAULT_SORT


def _not_found() -> NotFound:
    return NotFound("not_found", _("Not found."))


def _valid_id(value: int) -> bool:
    """Ids beyond a 64-bit column cannot exist (and SQLite cannot even compare them): not found."""
    return 0 < value < 2**63


def search_condition(query: str) -> Q:
    text = " ".join(query.split())[:100]
    condition = Q(name__icontains=text) | Q(pk__in=Contact.objects.filter(name__icontains=text).values("customer_id"))
    phone = phones.normalise(text)
    if phone is not None:
        condition |= Q(pk__in=ContactPhone.objects.filter(e164=phone.e164).values("contact__customer_id"))
    if "@" in text:
        condition |= Q(pk__in=Contact.objects.filter(email=text.lower()).values("customer_id"))
    return condition


def customer_list(*, actor: User, filters: CustomerFilters | None = None) -> CustomerQuerySet:
    """Visible customers, filtered and sorted; slice it for a page (the order is total)."""
    f = filters or CustomerFilters()
    qs: CustomerQuerySet = Customer.objects.visible_to(actor)
    if f.q.strip():
        qs = qs.filter(search_condition(f.q))
    exact = {
        "kind": f.kind,
        "lifecycle_stage": f.stage,
        "source": f.source,
        "industry": f.industry,
        "country": f.country,
        "province": f.province,
        "size": f.size,
    }
    qs = qs.filter(**{k: v for k, v in exact.items() if v})
    if f.city.strip():
        qs = qs.filter(city__iexact=f.city.strip())
    if f.owner_id is not None:
        qs = qs.filter(owner_id=f.owner_id)
    if f.team_id is not None:
        qs = qs.filter(team_id=f.team_id)
    if f.tag.strip():
        tag = " ".join(f.tag.split()).lower()
        qs = qs.filter(pk__in=Customer.tags.through.objects.filter(tag__name=tag).values("customer_id"))
    if f.potential_min is not None:
        qs = qs.filter(estimated_annual_potential__gte=f.potential_min)
    if f.potential_max is not None:
        qs = qs.filter(estimated_annual_potential__lte=f.potential_max)
    field, descending = SORTS.get(f.sort, SORTS[DEFAULT_SORT])
    if descending:
        order = [F(field).desc(nulls_last=True), F("id").desc()]
    else:
        order = [F(field).asc(nulls_last=True), F("id").asc()]
    return qs.select_related("owner", "team").prefetch_related("tags").order_by(*order)


def customer_get(*, actor: User, customer_id: int) -> Customer:
    if not _valid_id(customer_id):
        raise _not_found()
    customer = (
        Customer.objects.visible_to(actor)
        .select_related("owner", "team")
        .prefetch_related("tags", "collaborators")
        .filter(pk=customer_id)
        .first()
    )
    if customer is None:
        raise _not_found()
    return customer


def contact_list(*, actor: User, customer: Customer) -> ContactQuerySet:
    """The contacts of a customer (fetched through ``customer_get``), primary first, with phones."""
    qs: ContactQuerySet = Contact.objects.visible_to(actor)
    return qs.filter(customer_id=customer.pk).prefetch_related("phones").order_by("-is_primary", "name", "id")


def contact_get(*, actor: User, contact_id: int, customer_id: int | None = None) -> Contact:
    if not _valid_id(contact_id) or (customer_id is not None and not _valid_id(customer_id)):
        raise _not_found()
    qs: ContactQuerySet = Contact.objects.visible_to(actor)
    if customer_id is not None:
        qs = qs.filter(customer_id=customer_id)
    contact = qs.select_related("customer").prefetch_related("phones").filter(pk=contact_id).first()
    if contact is None:
        raise _not_found()
    return contact


def saved_view_list(*, actor: User) -> list[SavedView]:
    """One's own views and those shared by people in one's team."""
    condition = Q(owner_id=actor.pk)
    if actor.team_id is not None:
        condition |= Q(shared_with_team=True, owner__team_id=actor.team_id)
    return list(SavedView.objects.filter(condition).select_related("owner").order_by("name", "id")[:100])


def saved_view_get_own(*, actor: User, view_id: int) -> SavedView:
    if not _valid_id(view_id):
        raise _not_found()
    view = SavedView.objects.filter(owner_id=actor.pk, pk=view_id).first()
    if view is None:
        raise _not_found()
    return view
