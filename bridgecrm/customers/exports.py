"""The customer and contact lists as spreadsheet rows: headers in the reader's language, codes shown
as their labels, times in the reader's time zone. The views stream them through ``core.exports``."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import pgettext

from bridgecrm.core.exports import Cell
from bridgecrm.customers import phones, selectors
from bridgecrm.customers.models import (
    Country,
    CustomerKind,
    CustomerSource,
    DecisionRole,
    Industry,
    LifecycleStage,
    Province,
    SizeBand,
)
from bridgecrm.customization import selectors as custom_fields
from bridgecrm.customization.models import Entity, FieldType
from bridgecrm.users.models import User

CHUNK = 2_000  # rows fetched per database round trip while streaming


def _labels(choices: Any) -> dict[str, str]:
    return {value: str(label) for value, label in choices.choices}


def _local(value: dt.datetime | None) -> dt.datetime | None:
    return None if value is None else timezone.localtime(value)


def _people(fields: list[Any]) -> dict[int, str] | None:
    """Every person's name when a ``user`` custom field is exported (people are few; rows are many)."""
    if not any(f.type == FieldType.USER for f in fields):
        return None
    return {pk: full or name for pk, full, name in User.objects.values_list("pk", "full_name", "username")}


def customer_header(actor: User | None = None) -> list[str]:
    """The columns; with ``actor``, the custom fields they see follow the built-in ones."""
    custom = [f.label for f in custom_fields.fields_for(Entity.CUSTOMER, actor)] if actor is not None else []
    return [
        _("ID"),
        _("Name"),
        _("Kind"),
        _("Lifecycle stage"),
        _("Source"),
        _("Industry"),
        _("Country"),
        _("Province"),
        _("City"),
        _("Size"),
        _("Estimated annual potential"),
        _("Currency"),
        _("Owner"),
        _("Team"),
        _("Tags"),
        _("Primary contact"),
        _("Last follow-up"),
        _("Next follow-up"),
        _("Created"),
        _("Updated"),
        *custom,
    ]


def customer_rows(*, actor: User, filters: selectors.CustomerFilters) -> Iterator[list[Cell]]:
    kinds, stages, sources = _labels(CustomerKind), _labels(LifecycleStage), _labels(CustomerSource)
    industries, countries, provinces, sizes = _labels(Industry), _labels(Country), _labels(Province), _labels(SizeBand)
    rows = selectors.customer_export_rows(actor=actor, filters=filters)
    fields = custom_fields.fields_for(Entity.CUSTOMER, actor)
    people = _people(fields)
    for (
        pk,
        name,
        kind,
        stage,
        source,
        industry,
        country,
        province,
        city,
        size,
        potential,
        currency,
        owner_name,
        owner_username,
        team,
        tags,
        primary,
        last_follow_up,
        next_follow_up,
        created,
        updated,
        custom,
    ) in rows.iterator(chunk_size=CHUNK):
        yield [
            pk,
            name,
            kinds.get(kind, kind),
            stages.get(stage, stage),
            sources.get(source, source),
            industries.get(industry, industry),
            countries.get(country, country),
            provinces.get(province, province),
            city,
            sizes.get(size, size),
            potential,
            currency,
            owner_name or owner_username or "",
            team or "",
            tags or "",
            primary or "",
            _local(last_follow_up),
            next_follow_up,
            _local(created),
            _local(updated),
            *custom_fields.display_row(fields, custom, people),
        ]


def contact_header(actor: User | None = None) -> list[str]:
    custom = [f.label for f in custom_fields.fields_for(Entity.CONTACT, actor)] if actor is not None else []
    return [
        _("ID"),
        _("Name"),
        _("Customer ID"),
        pgettext("the company a contact works for", "Customer"),
        _("Title"),
        _("Role in the decision"),
        _("Primary contact"),
        _("Phones"),
        _("E-mail"),
        _("WeChat ID"),
        _("Owner"),
        _("Created"),
        *custom,
    ]


def _phone(e164: str) -> str:
    """As the pages show it; Chinese mobiles (most numbers) without parsing them."""
    if len(e164) == 14 and e164.startswith("+861"):
        return f"{e164[3:6]} {e164[6:10]} {e164[10:]}"
    return phones.display(e164)


def contact_rows(*, actor: User, filters: selectors.ContactFilters) -> Iterator[list[Cell]]:
    roles = _labels(DecisionRole)
    rows = selectors.contact_export_rows(actor=actor, filters=filters)
    fields = custom_fields.fields_for(Entity.CONTACT, actor)
    people = _people(fields)
    for (
        pk,
        name,
        customer_id,
        customer_name,
        title,
        role,
        is_primary,
        numbers,
        email,
        wechat,
        owner_name,
        owner_username,
        created,
        custom,
    ) in rows.iterator(chunk_size=CHUNK):
        shown = ", ".join(_phone(n) for n in numbers.split(", ")) if numbers else ""
        yield [
            pk,
            name,
            customer_id,
            customer_name,
            title,
            roles.get(role, role),
            _("Yes") if is_primary else "",
            shown,
            email,
            wechat,
            owner_name or owner_username or "",
            _local(created),
            *custom_fields.display_row(fields, custom, people),
        ]
