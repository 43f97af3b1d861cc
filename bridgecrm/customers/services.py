"""The one write path for customers, contacts and saved views. Customer and contact changes are audited.

Every service takes the actor, re-checks that the actor sees the record (so a caller cannot attach
a contact to a customer the actor does not see), checks the policy, writes in one transaction.
"""

from __future__ import annotations

import decimal
import re
from collections.abc import Iterable
from typing import Any
from urllib.parse import urlencode

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.http import QueryDict
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from bridgecrm.core import audit
from bridgecrm.core.errors import ApplicationError, Conflict, NotFound, PermissionDenied
from bridgecrm.customers import dedup, normalise, policies
from bridgecrm.customers import phones as phone_numbers
from bridgecrm.customers.models import (
    Contact,
    ContactPhone,
    Country,
    Customer,
    CustomerKind,
    CustomerSource,
    DecisionRole,
    Industry,
    LifecycleStage,
    Province,
    SavedView,
    SizeBand,
    Tag,
)
from bridgecrm.customization import services as custom_fields
from bridgecrm.customization.models import Entity
from bridgecrm.users.models import Team, User

CUSTOMER_FIELDS = (
    "kind",
    "name",
    "lifecycle_stage",
    "source",
    "industry",
    "country",
    "province",
    "city",
    "size",
    "estimated_annual_potential",
    "currency",
    "owner",
    "team",
)
# Fields anyone who sees the customer may change; owner, team and collaborators are a reassignment.
FACT_FIELDS = tuple(f for f in CUSTOMER_FIELDS if f not in ("owner", "team"))
REASSIGN_FIELDS = ("owner", "team", "collaborators")
CONTACT_FIELDS = ("customer", "name", "title", "decision_role", "email", "wechat", "is_primary", "notes")
CONTACT_EDITABLE = ("name", "title", "decision_role", "email", "wechat", "is_primary", "notes", "phones", "custom")
MAX_TAGS = 20
MAX_PHONES = 5
MAX_POTENTIAL = decimal.Decimal("999999999999.99")
CURRENCY_RE = re.compile(r"^[A-Z]{3}$")
SAVED_VIEW_KEYS = (
    "q",
    "kind",
    "stage",
    "tier",
    "source",
    "industry",
    "country",
    "province",
    "city",
    "size",
    "owner",
    "team",
    "tag",
    "potential_min",
    "potential_max",
    "sort",
)


def _invalid(field: str, message: Any, code: str = "invalid") -> ApplicationError:
    return ApplicationError(code, message, details={field: [str(message)]})


def _not_found() -> NotFound:
    return NotFound("not_found", _("Not found."))


def _forbidden() -> PermissionDenied:
    return PermissionDenied("forbidden", _("You do not have permission to do this."))


def _require_visible(actor: User, customer: Customer) -> None:
    if not Customer.objects.visible_to(actor).filter(pk=customer.pk).exists():
        raise _not_found()


# ---- values ----------------------------------------------------------------------------------------


def normalise_tags(names: Iterable[str]) -> list[str]:
    """Trimmed, lower-cased, inner spaces collapsed, without duplicates, in the order given."""
    result: list[str] = []
    for raw in names:
        name = " ".join(str(raw).split()).lower()
        if not name:
            continue
        if len(name) > 40:
            raise _invalid("tags", _("A tag has at most 40 characters."))
        if name not in result:
            result.append(name)
    if len(result) > MAX_TAGS:
        raise _invalid("tags", _("A customer has at most 20 tags."))
    return result


def _choice(field: str, value: Any, choices: Any, *, blank: bool) -> str:
    text = str(value or "")
    if (blank and text == "") or text in choices.values:
        return text
    raise _invalid(field, _("Select a valid choice."))


def _clean_facts(values: dict[str, Any]) -> dict[str, Any]:
    """Validate and normalise the customer's facts; raises ApplicationError naming the field."""
    out = dict(values)
    name = " ".join(str(out.get("name") or "").split())
    if not name:
        raise _invalid("name", _("A name is required."))
    if len(name) > 200:
        raise _invalid("name", _("A name has at most 200 characters."))
    out["name"] = name
    out["kind"] = _choice("kind", out.get("kind"), CustomerKind, blank=False)
    out["lifecycle_stage"] = _choice("lifecycle_stage", out.get("lifecycle_stage"), LifecycleStage, blank=False)
    out["source"] = _choice("source", out.get("source"), CustomerSource, blank=True)
    out["industry"] = _choice("industry", out.get("industry"), Industry, blank=True)
    out["country"] = _choice("country", out.get("country"), Country, blank=False)
    out["province"] = _choice("province", out.get("province"), Province, blank=True)
    if out["province"] and out["country"] != Country.CN:
        raise _invalid("province", _("A province is only given for customers in China."))
    out["size"] = _choice("size", out.get("size"), SizeBand, blank=True)
    out["city"] = " ".join(str(out.get("city") or "").split())
    if len(out["city"]) > 60:
        raise _invalid("city", _("A city has at most 60 characters."))
    potential = out.get("estimated_annual_potential")
    if potential is not None and potential != "":
        try:
            potential = decimal.Decimal(str(potential)).quantize(decimal.Decimal("0.01"))
        except (decimal.InvalidOperation, ValueError) as exc:
            raise _invalid("estimated_annual_potential", _("Enter an amount.")) from exc
        if not potential.is_finite() or potential < 0 or potential > MAX_POTENTIAL:
            raise _invalid("estimated_annual_potential", _("Enter an amount between 0 and 999,999,999,999.99."))
        out["estimated_annual_potential"] = potential
    else:
        out["estimated_annual_potential"] = None
    currency = str(out.get("currency") or "CNY").strip().upper()
    if not CURRENCY_RE.match(currency):
        raise _invalid("currency", _("Enter a three-letter currency code such as CNY."))
    out["currency"] = currency
    return out


def _set_tags(customer: Customer, names: list[str]) -> None:
    if names:
        Tag.objects.bulk_create([Tag(name=n) for n in names], ignore_conflicts=True)
    customer.tags.set(list(Tag.objects.filter(name__in=names)))


def _check_collaborators(actor: User, collaborators: Iterable[User], owner: User | None) -> list[User]:
    people = list({u.pk: u for u in collaborators}.values())
    ids = [u.pk for u in people]
    visible = set(User.objects.visible_to(actor).filter(pk__in=ids, is_active=True).values_list("pk", flat=True))
    if set(ids) - visible:
        raise _invalid("collaborators", _("Choose collaborators among the active people you can see."))
    return [u for u in people if owner is None or u.pk != owner.pk]


def _check_team(actor: User, team: Team | None) -> None:
    if team is not None and not Team.objects.visible_to(actor).filter(pk=team.pk, is_active=True).exists():
        raise _invalid("team", _("Choose one of your teams."))


def _check_owner(actor: User, owner: User) -> None:
    if not owner.is_active:
        raise _invalid("owner", _("The owner must be an active user."))
    if not policies.may_assign_to(actor, owner):
        raise _forbidden()


def customer_snapshot(customer: Customer) -> audit.Snapshot:
    values = audit.snapshot(customer, CUSTOMER_FIELDS)
    values["tags"] = sorted(customer.tags.values_list("name", flat=True))
    values["collaborators"] = sorted(customer.collaborators.values_list("pk", flat=True))
    values.update(custom_fields.custom_snapshot(customer.custom))
    return values


# ---- customers -------------------------------------------------------------------------------------


def customer_create(
    *,
    actor: User,
    name: str,
    kind: str = CustomerKind.COMPANY,
    lifecycle_stage: str = LifecycleStage.LEAD,
    source: str = "",
    industry: str = "",
    country: str = Country.CN,
    province: str = "",
    city: str = "",
    size: str = "",
    estimated_annual_potential: decimal.Decimal | str | None = None,
    currency: str = "CNY",
    tags: Iterable[str] = (),
    owner: User | None = None,
    collaborators: Iterable[User] = (),
    team: Team | None = None,
    custom: dict[str, Any] | None = None,
    allow_duplicate: bool = True,
) -> Customer:
    """Create a customer; the owner is the actor unless a manager or admin gives it to someone.
    ``custom`` holds custom field values by key, validated by type (bridgecrm.customization).
    ``allow_duplicate=False``: refuse (409 ``duplicate``) when the duplicate check finds matches."""
    if not policies.may_create(actor):
        raise _forbidden()
    owner = owner or actor
    _check_owner(actor, owner)
    facts = _clean_facts(
        {
            "name": name,
            "kind": kind,
            "lifecycle_stage": lifecycle_stage,
            "source": source,
            "industry": industry,
            "country": country,
            "province": province,
            "city": city,
            "size": size,
            "estimated_annual_potential": estimated_annual_potential,
            "currency": currency,
        }
    )
    tag_names = normalise_tags(tags)
    custom_values = custom_fields.clean_custom(actor=actor, entity=Entity.CUSTOMER, raw=custom, creating=True)
    if not allow_duplicate:
        _refuse_duplicates(actor, facts["name"], None)
    people = _check_collaborators(actor, collaborators, owner)
    if team is None:
        team = owner.team
    else:
        _check_team(actor, team)
    with transaction.atomic():
        now = timezone.now()
        customer = Customer.objects.create(
            **facts,
            owner=owner,
            team=team,
            created_at=now,
            updated_at=now,
            owner_since=now,
            name_key=normalise.name_key(facts["name"]),
            custom=custom_values,
        )
        _set_tags(customer, tag_names)
        customer.collaborators.set(people)
        audit.record_created(actor=actor, obj=customer, values=customer_snapshot(customer))
    return customer


def customer_update(
    *, actor: User, customer: Customer, version: int | None = None, allow_duplicate: bool = True, **changes: Any
) -> Customer:
    """Change facts, tags, owner, team or collaborators. ``version`` (when given) must be current.
    ``allow_duplicate=False``: a new name that the duplicate check matches is refused (409)."""
    unknown = set(changes) - {*FACT_FIELDS, "tags", *REASSIGN_FIELDS, "custom"}
    if unknown:
        raise ApplicationError("invalid", _("Unknown fields."), details={f: ["unknown"] for f in sorted(unknown)})
    _require_visible(actor, customer)
    with transaction.atomic():
        locked = Customer.objects.select_for_update().get(pk=customer.pk)
        if version is not None and locked.version != version:
            raise Conflict(
                "stale",
                _("Someone else changed this customer in the meantime. Reload the page and try again."),
                details={"current_version": [str(locked.version)]},
            )
        before = customer_snapshot(locked)
        facts = _clean_facts({**{f: getattr(locked, f) for f in FACT_FIELDS}, **_pick(changes, FACT_FIELDS)})
        owner = changes.get("owner", locked.owner) or locked.owner
        team = changes.get("team", locked.team)
        reassigning = (
            (owner is not None and owner.pk != locked.owner_id)
            or (team.pk if team else None) != locked.team_id
            or (
                "collaborators" in changes and sorted(u.pk for u in changes["collaborators"]) != before["collaborators"]
            )
        )
        if reassigning and not policies.may_reassign(actor, locked):
            raise _forbidden()
        if owner is not None and owner.pk != locked.owner_id:
            _check_owner(actor, owner)
            if "team" not in changes:
                team = owner.team
        if team is not None and (team.pk != locked.team_id):
            _check_team(actor, team)
        if not allow_duplicate and facts["name"] != locked.name:
            _refuse_duplicates(actor, facts["name"], locked.pk)
        for name, value in facts.items():
            setattr(locked, name, value)
        locked.name_key = normalise.name_key(locked.name)
        if owner is not None and owner.pk != locked.owner_id:
            locked.owner_since, locked.pooled_at = timezone.now(), None
        locked.owner, locked.team = owner, team
        if "tags" in changes:
            _set_tags(locked, normalise_tags(changes["tags"]))
        if "collaborators" in changes:
            locked.collaborators.set(_check_collaborators(actor, changes["collaborators"], owner))
        if changes.get("custom") is not None:
            locked.custom = custom_fields.clean_custom(
                actor=actor, entity=Entity.CUSTOMER, raw=changes["custom"], current=locked.custom
            )
        after = customer_snapshot(locked)
        if after != before:
            locked.version += 1
            locked.updated_at = timezone.now()
            locked.save()
            audit.record_changes(actor=actor, obj=locked, before=before, after=after)
    return locked


# ---- duplicate check (customers/dedup.py) ------------------------------------------------------


class DuplicateFound(Conflict):
    """The duplicate check found matches; ``matches`` are what the actor may be told about them."""

    def __init__(self, matches: list[Any]) -> None:
        super().__init__(
            "duplicate",
            _("This customer may already exist. Check the matches, or confirm to save it anyway."),
            details={"matches": [m.as_dict() for m in matches]},
        )
        self.matches = matches


def _refuse_duplicates(actor: User, name: str, exclude_id: int | None) -> None:
    matches = dedup.find_duplicates(actor=actor, name=name, exclude_id=exclude_id)
    if matches:
        raise DuplicateFound(matches)


def _pick(changes: dict[str, Any], names: Iterable[str]) -> dict[str, Any]:
    return {k: v for k, v in changes.items() if k in names}


def customer_delete(*, actor: User, customer: Customer) -> None:
    """Soft delete: the customer disappears from every list and page; its history stays."""
    _require_visible(actor, customer)
    if not policies.may_delete(actor, customer):
        raise _forbidden()
    with transaction.atomic():
        locked = Customer.objects.select_for_update().get(pk=customer.pk)
        locked.deleted_at = timezone.now()
        locked.version += 1
        locked.save(update_fields=["deleted_at", "version"])
        audit.record_deleted(actor=actor, obj=locked, values=customer_snapshot(locked))


# ---- contacts --------------------------------------------------------------------------------------


def normalise_phones(raw: Iterable[str]) -> list[phone_numbers.Phone]:
    result: dict[str, phone_numbers.Phone] = {}
    for text in raw:
        if not str(text).strip():
            continue
        phone = phone_numbers.normalise(str(text))
        if phone is None:
            raise _invalid("phones", _("“%(phone)s” is not a valid phone number.") % {"phone": str(text).strip()[:40]})
        result.setdefault(phone.e164, phone)
    if len(result) > MAX_PHONES:
        raise _invalid("phones", _("A contact has at most 5 phone numbers."))
    return list(result.values())


def _clean_contact(values: dict[str, Any]) -> dict[str, Any]:
    out = dict(values)
    out["name"] = " ".join(str(out.get("name") or "").split())
    if not out["name"]:
        raise _invalid("name", _("A name is required."))
    for field, limit in (("name", 100), ("title", 100), ("wechat", 64), ("notes", 2000)):
        out[field] = str(out.get(field) or "").strip()
        if len(out[field]) > limit:
            raise _invalid(field, _("This value is too long."))
    out["decision_role"] = _choice("decision_role", out.get("decision_role"), DecisionRole, blank=True)
    email = str(out.get("email") or "").strip().lower()
    if email:
        try:
            validate_email(email)
        except ValidationError as exc:
            raise _invalid("email", _("Enter a valid e-mail address.")) from exc
    out["email"] = email
    out["is_primary"] = bool(out.get("is_primary"))
    return out


def contact_snapshot(contact: Contact) -> audit.Snapshot:
    values = audit.snapshot(contact, CONTACT_FIELDS)
    values["phones"] = list(contact.phones.order_by("id").values_list("e164", flat=True))
    values.update(custom_fields.custom_snapshot(contact.custom))
    return values


def _write_phones(contact: Contact, phones: list[phone_numbers.Phone]) -> None:
    contact.phones.all().delete()
    ContactPhone.objects.bulk_create(
        [ContactPhone(contact=contact, raw=p.raw, e164=p.e164, kind=p.kind) for p in phones]
    )


def contact_create(
    *,
    actor: User,
    customer: Customer,
    name: str,
    title: str = "",
    decision_role: str = "",
    email: str = "",
    wechat: str = "",
    is_primary: bool = False,
    notes: str = "",
    phones: Iterable[str] = (),
    custom: dict[str, Any] | None = None,
) -> Contact:
    _require_visible(actor, customer)
    if not policies.may_edit(actor, customer):
        raise _forbidden()
    values = _clean_contact(
        {
            "name": name,
            "title": title,
            "decision_role": decision_role,
            "email": email,
            "wechat": wechat,
            "is_primary": is_primary,
            "notes": notes,
        }
    )
    parsed = normalise_phones(phones)
    values["custom"] = custom_fields.clean_custom(actor=actor, entity=Entity.CONTACT, raw=custom, creating=True)
    with transaction.atomic():
        Customer.objects.select_for_update().filter(pk=customer.pk).first()  # one primary at a time
        if values["is_primary"]:
            Contact.objects.filter(customer=customer, is_primary=True).update(is_primary=False)
        contact = Contact.objects.create(customer=customer, **values)
        _write_phones(contact, parsed)
        audit.record_created(actor=actor, obj=contact, values=contact_snapshot(contact))
    return contact


def contact_update(*, actor: User, contact: Contact, **changes: Any) -> Contact:
    unknown = set(changes) - set(CONTACT_EDITABLE)
    if unknown:
        raise ApplicationError("invalid", _("Unknown fields."), details={f: ["unknown"] for f in sorted(unknown)})
    customer = contact.customer
    _require_visible(actor, customer)
    if not policies.may_edit(actor, customer):
        raise _forbidden()
    parsed = normalise_phones(changes.pop("phones")) if "phones" in changes else None
    custom = changes.pop("custom", None)
    with transaction.atomic():
        Customer.objects.select_for_update().filter(pk=customer.pk).first()
        locked = Contact.objects.select_for_update().get(pk=contact.pk)
        before = contact_snapshot(locked)
        current = {f: getattr(locked, f) for f in CONTACT_EDITABLE if f not in ("phones", "custom")}
        values = _clean_contact({**current, **changes})
        if values["is_primary"] and not locked.is_primary:
            Contact.objects.filter(customer_id=locked.customer_id, is_primary=True).update(is_primary=False)
        for name, value in values.items():
            setattr(locked, name, value)
        if custom is not None:
            locked.custom = custom_fields.clean_custom(
                actor=actor, entity=Entity.CONTACT, raw=custom, current=locked.custom
            )
        locked.updated_at = timezone.now()
        locked.save()
        if parsed is not None:
            _write_phones(locked, parsed)
        after = contact_snapshot(locked)
        audit.record_changes(actor=actor, obj=locked, before=before, after=after)
    return locked


def contact_delete(*, actor: User, contact: Contact) -> None:
    customer = contact.customer
    _require_visible(actor, customer)
    if not policies.may_edit(actor, customer):
        raise _forbidden()
    with transaction.atomic():
        values = contact_snapshot(contact)
        audit.record_deleted(actor=actor, obj=contact, values=values)
        contact.delete()


# ---- saved views -----------------------------------------------------------------------------------


def clean_view_query(query: str) -> str:
    """Only the list's own filter keys survive, in a fixed order; page numbers are dropped."""
    parsed = QueryDict(query)
    pairs = [(k, v.strip()) for k in SAVED_VIEW_KEYS for v in parsed.getlist(k) if v.strip()]
    # Custom field filters (``cf_<key>…``), in a fixed order too.
    pairs += [(k, v.strip()) for k in sorted(parsed) if k.startswith("cf_") for v in parsed.getlist(k) if v.strip()]
    return urlencode(pairs)[:2000]


def saved_view_save(*, actor: User, name: str, query: str, shared_with_team: bool = False) -> SavedView:
    """Save the current filters under a name; saving again under the same name replaces them."""
    if not policies.may_create(actor):
        raise _forbidden()
    name = " ".join(name.split())
    if not name or len(name) > 80:
        raise _invalid("name", _("Give the view a name of at most 80 characters."))
    view, _created = SavedView.objects.update_or_create(
        owner=actor, name=name, defaults={"query": clean_view_query(query), "shared_with_team": shared_with_team}
    )
    return view


def saved_view_delete(*, actor: User, view: SavedView) -> None:
    if view.owner_id != actor.pk:
        raise _not_found()
    view.delete()
