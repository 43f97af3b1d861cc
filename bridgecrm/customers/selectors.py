"""Reads about customers, contacts and saved views. Every one takes the actor and starts from ``visible_to``.

Search (``q``) matches the customer's name and its contacts' names (case-insensitive substring),
a phone number in any common format (normalised to E.164, exact match on the indexed
``ContactPhone.e164``) and an e-mail address (lower-cased, exact match on the indexed
``Contact.email``). The matching customer ids come from one ``UNION`` subquery, so the database
finds the few matches through indexes first and then sorts only those:

- PostgreSQL: ``UPPER(name) LIKE``, served by the trigram GIN indexes of migration 0002;
- SQLite: ``MATCH`` on the FTS5 trigram tables of migration 0004 (``search_index``);
- a query of one or two characters (a trigram needs three) falls back to ``LIKE`` on both.
"""

from __future__ import annotations

import decimal
from dataclasses import dataclass
from typing import Any

from django.db import connection
from django.db.models import F, OuterRef, Q, QuerySet, StringAgg, Subquery, Value
from django.db.models.expressions import RawSQL
from django.utils.translation import gettext_lazy as _

from bridgecrm.core.errors import NotFound
from bridgecrm.customers import phones
from bridgecrm.customers.models import Contact, ContactPhone, ContactQuerySet, Customer, CustomerQuerySet, SavedView
from bridgecrm.customization import selectors as custom_fields
from bridgecrm.customization.models import Entity
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
NULLABLE_SORTS = frozenset({"estimated_annual_potential"})


@dataclass(frozen=True)
class CustomerFilters:
    q: str = ""
    kind: str = ""
    stage: str = ""
    tier: str = ""
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
    # Custom field filters: (``cf_<key>[__min|__max|__set]``, value) pairs (customization.selectors).
    custom: tuple[tuple[str, str], ...] = ()


def _not_found() -> NotFound:
    return NotFound("not_found", _("Not found."))


def _valid_id(value: int) -> bool:
    """Ids beyond a 64-bit column cannot exist (and SQLite cannot even compare them): not found."""
    return 0 < value < 2**63


SEARCH_MAX = 100
TRIGRAM = 3  # the shortest text a trigram index can serve


def search_text(query: str) -> str:
    """The query as searched: whitespace collapsed, at most ``SEARCH_MAX`` characters."""
    return " ".join(query.split())[:SEARCH_MAX]


def _like_pattern(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _fts_phrase(text: str) -> str:
    """An FTS5 phrase: the text in double quotes (a quote inside is doubled), so no operator applies."""
    return '"' + text.replace('"', '""') + '"'


def _name_ids(table: str, fts: str, text: str) -> tuple[str, list[str]]:
    """SQL selecting the ids of the rows of ``table`` whose name contains ``text`` (any case)."""
    if connection.vendor == "sqlite" and len(text) >= TRIGRAM:
        return f"SELECT rowid FROM {fts} WHERE {fts} MATCH %s", [_fts_phrase(text)]  # noqa: S608
    if connection.vendor == "sqlite":
        return f"SELECT id FROM {table} WHERE name LIKE %s ESCAPE '\\'", [_like_pattern(text)]  # noqa: S608
    # PostgreSQL: the expression of the trigram indexes of migration 0002.
    return f"SELECT id FROM {table} WHERE UPPER(name) LIKE UPPER(%s)", [_like_pattern(text)]  # noqa: S608


def matching_customer_ids(query: str) -> tuple[str, list[str]] | None:
    """SQL selecting the ids of customers (any, not only visible ones) whose name, contact name,
    contact phone or contact e-mail matches ``query``; None for an empty query.

    The caller intersects it with the actor's visible customers (``customer_list``)."""
    text = search_text(query)
    if not text:
        return None
    customers_sql, params = _name_ids("customers_customer", "customers_customer_fts", text)
    contacts_sql, contacts_params = _name_ids("customers_contact", "customers_contact_fts", text)
    via_contacts = f"SELECT customer_id FROM customers_contact WHERE id IN ({contacts_sql})"  # noqa: S608
    parts = [customers_sql, via_contacts]
    params = params + contacts_params
    phone = phones.normalise(text)
    if phone is not None:
        parts.append(
            "SELECT c.customer_id FROM customers_contactphone p"
            " JOIN customers_contact c ON c.id = p.contact_id WHERE p.e164 = %s"
        )
        params.append(phone.e164)
    if "@" in text:
        parts.append("SELECT customer_id FROM customers_contact WHERE email = %s")
        params.append(text.lower())
    return " UNION ".join(parts), params


def matching_contact_ids(query: str) -> tuple[str, list[str]] | None:
    """The same for contacts: by their name, phone or e-mail (not their customer's name)."""
    text = search_text(query)
    if not text:
        return None
    sql, params = _name_ids("customers_contact", "customers_contact_fts", text)
    parts = [sql]
    phone = phones.normalise(text)
    if phone is not None:
        parts.append("SELECT contact_id FROM customers_contactphone WHERE e164 = %s")
        params.append(phone.e164)
    if "@" in text:
        parts.append("SELECT id FROM customers_contact WHERE email = %s")
        params.append(text.lower())
    return " UNION ".join(parts), params


def search_condition(query: str) -> Q:
    found = matching_customer_ids(query)
    if found is None:
        return Q()
    sql, params = found
    return Q(pk__in=RawSQL(sql, params))  # noqa: S611 - fixed SQL; the user's text is a parameter


def customer_list(*, actor: User, filters: CustomerFilters | None = None) -> CustomerQuerySet:
    """Visible customers, filtered and sorted; slice it for a page (the order is total)."""
    f = filters or CustomerFilters()
    qs: CustomerQuerySet = Customer.objects.visible_to(actor)
    if f.q.strip():
        qs = qs.filter(search_condition(f.q))
    exact = {
        "kind": f.kind,
        "lifecycle_stage": f.stage,
        "tier": f.tier,
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
    if f.custom:
        qs = custom_fields.apply_filters(qs, entity=Entity.CUSTOMER, actor=actor, params=f.custom)
    by_custom = custom_fields.sort_field(Entity.CUSTOMER, actor, f.sort)
    if by_custom is not None:
        qs = custom_fields.order_by_field(qs, *by_custom)
        return qs.select_related("owner", "team").prefetch_related("tags")
    field, descending = SORTS.get(f.sort, SORTS[DEFAULT_SORT])
    # Only the potential may be empty (shown last either way); for the other columns a NULLS LAST
    # would stop PostgreSQL from reading the index in order (its DESC puts NULLs first).
    nulls = {"nulls_last": True} if field in NULLABLE_SORTS else {}
    order = [F(field).desc(**nulls), F("id").desc()] if descending else [F(field).asc(**nulls), F("id").asc()]
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


# ---- the contact list and the exports ------------------------------------------------------------


@dataclass(frozen=True)
class ContactFilters:
    q: str = ""  # the contact's name, phone or e-mail
    owner_id: int | None = None  # the customer's owner
    customer_id: int | None = None
    custom: tuple[tuple[str, str], ...] = ()  # custom field filters (customization.selectors)


def contact_search(*, actor: User, filters: ContactFilters | None = None) -> ContactQuerySet:
    """Visible contacts across customers, newest first (the primary key orders them: no sort over
    300,000 rows); slice it for a page."""
    f = filters or ContactFilters()
    # Visibility is a correlated EXISTS (see ``ContactQuerySet.visible_to``): the database walks the
    # contacts newest first and checks each one's customer by primary key, stopping after a page.
    qs: ContactQuerySet = Contact.objects.visible_to(actor)
    found = matching_contact_ids(f.q)
    if found is not None:
        qs = qs.filter(pk__in=RawSQL(*found))  # noqa: S611 - fixed SQL; the user's text is a parameter
    if f.owner_id is not None:
        qs = qs.filter(customer__owner_id=f.owner_id)
    if f.customer_id is not None:
        qs = qs.filter(customer_id=f.customer_id)
    if f.custom:
        qs = custom_fields.apply_filters(qs, entity=Entity.CONTACT, actor=actor, params=f.custom)
    return qs.order_by("-id")


def _ordered(field: str) -> str | None:
    """An aggregate's order where the database has it (SQLite only from 3.44)."""
    return field if connection.features.supports_aggregate_order_by_clause else None


def _tag_names() -> Subquery:
    through: Any = Customer.tags.through  # the auto-created model: the plugin does not see its annotations
    names = (
        through.objects.filter(customer_id=OuterRef("pk"))
        .values("customer_id")
        .annotate(names=StringAgg("tag__name", delimiter=Value(", "), order_by=_ordered("tag__name")))
        .values("names")
    )
    return Subquery(names)


def _phone_numbers() -> Subquery:
    numbers = (
        ContactPhone.objects.filter(contact_id=OuterRef("pk"))
        .values("contact_id")
        .annotate(numbers=StringAgg("e164", delimiter=Value(", "), order_by=_ordered("id")))
        .values("numbers")
    )
    return Subquery(numbers)


CUSTOMER_EXPORT_FIELDS = (
    "id",
    "name",
    "kind",
    "lifecycle_stage",
    "source",
    "industry",
    "country",
    "province",
    "city",
    "size",
    "estimated_annual_potential",
    "currency",
    "owner__full_name",
    "owner__username",
    "team__name",
    "export_tags",
    "export_primary_contact",
    "last_follow_up_at",
    "next_follow_up_on",
    "created_at",
    "updated_at",
    "custom",  # the custom field values, shown by the fields the actor sees (customers.exports)
)


def customer_export_rows(*, actor: User, filters: CustomerFilters | None = None) -> QuerySet[Any, tuple[Any, ...]]:
    """The customer list's rows as tuples (``CUSTOMER_EXPORT_FIELDS``), in the list's order, with the
    tags and the primary contact as subqueries: one query whatever the row count; iterate it with
    ``.iterator(chunk_size=…)``."""
    primary = Contact.objects.filter(customer_id=OuterRef("pk"), is_primary=True).values("name")[:1]
    return (
        customer_list(actor=actor, filters=filters)
        .select_related(None)
        .prefetch_related(None)
        .annotate(export_tags=_tag_names(), export_primary_contact=Subquery(primary))
        .values_list(*CUSTOMER_EXPORT_FIELDS)
    )


CONTACT_EXPORT_FIELDS = (
    "id",
    "name",
    "customer_id",
    "customer__name",
    "title",
    "decision_role",
    "is_primary",
    "export_phones",
    "email",
    "wechat",
    "customer__owner__full_name",
    "customer__owner__username",
    "created_at",
    "custom",
)


def contact_export_rows(*, actor: User, filters: ContactFilters | None = None) -> QuerySet[Any, tuple[Any, ...]]:
    """The contact list's rows as tuples (``CONTACT_EXPORT_FIELDS``), phones aggregated: one query."""
    return (
        contact_search(actor=actor, filters=filters)
        .annotate(export_phones=_phone_numbers())
        .values_list(*CONTACT_EXPORT_FIELDS)
    )


def saved_view_get_visible(*, actor: User, view_id: int) -> SavedView:
    """One of ``saved_view_list``'s views (one's own, or shared by one's team), else not found."""
    if not _valid_id(view_id):
        raise _not_found()
    condition = Q(owner_id=actor.pk)
    if actor.team_id is not None:
        condition |= Q(shared_with_team=True, owner__team_id=actor.team_id)
    view = SavedView.objects.filter(condition, pk=view_id).first()
    if view is None:
        raise _not_found()
    return view
