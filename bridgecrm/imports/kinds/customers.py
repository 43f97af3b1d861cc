"""Customers, each optionally with its primary contact (name, phone, e-mail) on the same row.

Duplicates by the exact keys of the duplicate check (customers/normalise.py): the name key, a
contact's phone in E.164 and a contact's e-mail, looked up in bulk for the whole batch across all
customers (owned, pooled and other teams'). An external id found in ``ExternalRef`` is the same
record: a re-run of the file changes nothing.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from bridgecrm.customers import dedup
from bridgecrm.customers.models import (
    Contact,
    ContactPhone,
    Country,
    Customer,
    CustomerKind,
    CustomerSource,
    Industry,
    LifecycleStage,
    Province,
    SizeBand,
)
from bridgecrm.customers.normalise import name_key
from bridgecrm.customers.phones import Phone
from bridgecrm.customers.services import MAX_POTENTIAL
from bridgecrm.customization.models import Entity
from bridgecrm.imports import fastsql
from bridgecrm.imports.kinds import base
from bridgecrm.imports.kinds.base import BatchResult, Context, Row, RowError, Target
from bridgecrm.imports.models import ExternalRef, ImportKind, OnDuplicate

CURRENCY_RE = re.compile(r"^[A-Z]{3}$")
FACTS = (
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
)
FACT_SET = frozenset(FACTS)
# Facts an update may empty when the job says empty cells clear fields: the others are required or
# have a default (kind, stage, country, currency).
CLEARABLE = frozenset({"source", "industry", "province", "city", "size", "estimated_annual_potential"})
# Plain strings, not the choices' enum members: a prepared row crosses a pipe (imports/ahead.py),
# and unpickling an enum member calls its class, which tripled the cost of reading a batch back.
DEFAULT_FACTS: dict[str, Any] = {
    "kind": str(CustomerKind.COMPANY.value),
    "lifecycle_stage": str(LifecycleStage.LEAD.value),
    "source": "",
    "industry": "",
    "country": str(Country.CN.value),
    "province": "",
    "city": "",
    "size": "",
    "estimated_annual_potential": None,
    "currency": "CNY",
}
CHOICES = (
    ("kind", CustomerKind),
    ("lifecycle_stage", LifecycleStage),
    ("source", CustomerSource),
    ("industry", Industry),
    ("country", Country),
    ("province", Province),
    ("size", SizeBand),
)


@dataclass
class Prepared:
    row: Row
    facts: dict[str, Any]
    key: str
    contact_name: str
    contact_title: str
    email: str
    wechat: str
    phones: list[Phone]
    given: set[str] = field(default_factory=set)  # the fact fields the row gives (for updates)
    # Set by ``process``: resolving the owner needs the database.
    owner_id: int = 0
    team_id: int | None = None
    pending: Customer | None = None

    def __reduce__(self) -> tuple[Any, ...]:
        """Pickled as plain tuples (imports/ahead.py sends prepared batches through a pipe): half
        the bytes of the dataclass and its dicts, and a quarter of the time to read them back."""
        facts = tuple(self.facts[f] for f in FACTS) if self.facts.keys() == FACT_SET else dict(self.facts)
        phones = tuple((ph.raw, ph.e164, ph.kind) for ph in self.phones)
        return (
            _restore,
            (
                self.row,
                facts,
                self.key,
                self.contact_name,
                self.contact_title,
                self.email,
                self.wechat,
                phones,
                tuple(self.given),
                self.owner_id,
                self.team_id,
            ),
        )


def _restore(
    row: Row,
    facts: tuple[Any, ...] | dict[str, Any],
    key: str,
    contact_name: str,
    contact_title: str,
    email: str,
    wechat: str,
    phones: tuple[tuple[str, str, str], ...],
    given: tuple[str, ...],
    owner_id: int,
    team_id: int | None,
) -> Prepared:
    return Prepared(
        row,
        dict(zip(FACTS, facts, strict=True)) if isinstance(facts, tuple) else facts,
        key,
        contact_name,
        contact_title,
        email,
        wechat,
        list(map(Phone._make, phones)),
        set(given),
        owner_id,
        team_id,
    )


class CustomersKind(base.Kind):
    code = ImportKind.CUSTOMERS
    label = _("Customers")
    entity = Entity.CUSTOMER
    targets = (
        Target("name", _("Name"), required=True),
        Target("kind", _("Kind")),
        Target("lifecycle_stage", _("Lifecycle stage")),
        Target("source", _("Source")),
        Target("industry", _("Industry")),
        Target("country", _("Country")),
        Target("province", _("Province")),
        Target("city", _("City")),
        Target("size", _("Size")),
        Target("estimated_annual_potential", _("Estimated annual potential")),
        Target("currency", _("Currency")),
        Target("owner", _("Owner")),
        Target("contact_name", _("Contact name")),
        Target("contact_title", _("Contact title")),
        Target("phone", _("Phone")),
        Target("email", _("E-mail")),
        Target("wechat", _("WeChat ID")),
    )

    prepares = True

    def prepare(self, rows: Sequence[Row]) -> list[Prepared | RowError]:
        """Each row's facts, name key, contact, e-mail and phones in E.164, or its error: pure, so a
        big file's batches are prepared ahead in a second process (imports/ahead.py)."""
        return base.cleaned(rows, self.clean)

    def clean(self, row: Row) -> Prepared:
        v = row.values
        facts: dict[str, Any] = {**DEFAULT_FACTS, "name": base.text(v, "name", 200, required=True)}
        # Only the columns the row has: most files give a few of these.
        for name, choices in CHOICES:
            if name in v:
                facts[name] = base.choice(v, name, choices)
        if "city" in v:
            facts["city"] = base.text(v, "city", 60)
        if "estimated_annual_potential" in v:
            facts["estimated_annual_potential"] = base.amount(v, "estimated_annual_potential", maximum=MAX_POTENTIAL)
        if "currency" in v:
            facts["currency"] = v["currency"].upper()
        if facts["province"] and facts["country"] != Country.CN:
            raise RowError(_("A province is only given for customers in China."), "province")
        if not CURRENCY_RE.match(facts["currency"]):
            raise RowError(_("Enter a three-letter currency code such as CNY."), "currency")
        key = name_key(facts["name"])
        if not key:
            raise RowError(_("The name has no letters or digits."), "name")
        return Prepared(
            row=row,
            facts=facts,
            key=key,
            contact_name=base.text(v, "contact_name", 100) if "contact_name" in v else "",
            contact_title=base.text(v, "contact_title", 100) if "contact_title" in v else "",
            email=base.email_value(v, "email") if "email" in v else "",
            wechat=base.text(v, "wechat", 64) if "wechat" in v else "",
            phones=base.phone_list(v, "phone") if "phone" in v else [],
            given={f for f in FACTS if f in v},
        )

    def process(self, ctx: Context, rows: Sequence[Row], ready: Any = None) -> BatchResult:
        result = BatchResult()
        by_column = ctx.maps("owner")  # else every row gets the default owner, and no row's cells are read here
        users = base.users_by_text(ctx, base.column_values(rows, "owner")) if by_column else {}
        refs = base.external_refs(self.code, (r.external_id for r in rows))
        prepared: list[Prepared] = []
        for row, item in zip(rows, ready if ready is not None else self.prepare(rows), strict=True):
            if isinstance(item, RowError):
                result.fail(row, item)  # not raised here: a traceback would tie this frame to ``ready``
                continue
            try:
                owner = base.owner_for(ctx, row, users) if by_column else ctx.default_owner
                item.owner_id, item.team_id = owner.pk, owner.team_id
                if ctx.custom_fields:
                    item.facts["custom"] = base.custom_values(ctx, row.values, current=None, creating=True)
                else:
                    item.facts["custom"] = {}
            except RowError as exc:
                result.fail(row, exc)
                continue
            prepared.append(item)

        # The exact keys of the whole batch, across every customer, as the duplicate settings say
        # (customers.dedup); a key held by several customers points at the oldest.
        ctx.cache["dedup_spaces"] = kinds = dedup.exact_key_kinds()
        found = dedup.customers_by_keys(
            name_keys={p.key for p in prepared},
            phones={ph.e164 for p in prepared for ph in p.phones},
            emails={p.email for p in prepared if p.email},
            kinds=kinds,
        )
        by_name, by_phone, by_email = ({key: min(ids) for key, ids in kind.items()} for kind in found)
        pending_by_key: dict[tuple[str, str], Prepared] = {}
        to_create: list[Prepared] = []
        to_update: dict[int, list[Prepared]] = {}
        links: dict[str, int] = {}  # external id → existing customer, for rows matched to one
        batch_ext: set[str] = set()
        for p in prepared:
            ext = p.row.external_id
            if ext and (ext in batch_ext or ext in ctx.seen.get("ext", {})):
                result.skipped += 1  # the same external id twice in the file: the first row wins
                continue
            if ext:
                batch_ext.add(ext)
                ctx.remember("ext", ext, p.row.number)
            if ext and ext in refs:
                if ctx.on_duplicate == OnDuplicate.UPDATE:
                    to_update.setdefault(refs[ext], []).append(p)
                else:
                    result.skipped += 1
                continue
            match = self._match(p, by_name, by_phone, by_email)
            earlier = self._earlier(ctx, p, pending_by_key)
            if match is not None or earlier is not None:
                column, value, existing = match or earlier  # type: ignore[misc]
                result.findings.append(
                    {
                        "row": p.row.number,
                        "column": column,
                        "value": value,
                        "existing": existing,
                        "name": p.facts["name"],
                    }
                )
                if ctx.on_duplicate == OnDuplicate.SKIP:
                    result.skipped += 1
                    if ext and match is not None:
                        links[ext] = match[2]
                    continue
                if ctx.on_duplicate == OnDuplicate.UPDATE:
                    if match is not None:
                        to_update.setdefault(match[2], []).append(p)
                        if ext:
                            links[ext] = match[2]
                    else:
                        result.merged += 1  # a later row of the file updates the record an earlier one creates
                        self._merge_into_pending(ctx, pending_by_key, p)
                    continue
            to_create.append(p)
            for space_key in self._keys(ctx, p):
                pending_by_key.setdefault(space_key, p)
                ctx.remember(space_key[0], space_key[1], p.row.number)

        self._apply_updates(ctx, to_update, result)
        if ctx.dry_run:
            result.created = [0] * len(to_create)
            return result
        self._create(ctx, to_create, result)
        if links:
            ExternalRef.objects.bulk_create(
                [ExternalRef(kind=self.code, external_id=e, object_id=pk, job=ctx.job) for e, pk in links.items()],
                ignore_conflicts=True,
            )
        return result

    @staticmethod
    def _keys(ctx: Context, p: Prepared) -> list[tuple[str, str]]:
        """The row's exact keys of the kinds the duplicate settings switch on."""
        keys = [("name", p.key), *(("phone", ph.e164) for ph in p.phones), *([("email", p.email)] if p.email else [])]
        spaces: frozenset[str] = ctx.cache["dedup_spaces"]
        return [k for k in keys if k[0] in spaces]

    @staticmethod
    def _match(
        p: Prepared, by_name: dict[str, int], by_phone: dict[str, int], by_email: dict[str, int]
    ) -> tuple[str, str, int] | None:
        if p.key in by_name:
            return ("name", p.facts["name"], by_name[p.key])
        for ph in p.phones:
            if ph.e164 in by_phone:
                return ("phone", ph.e164, by_phone[ph.e164])
        if p.email and p.email in by_email:
            return ("email", p.email, by_email[p.email])
        return None

    def _earlier(
        self, ctx: Context, p: Prepared, pending: dict[tuple[str, str], Prepared]
    ) -> tuple[str, str, int] | None:
        """A row earlier in the file with the same key: in this batch, or (dry run) in an earlier one."""
        for space, key in self._keys(ctx, p):
            other = pending.get((space, key))
            if other is not None:
                return (space, key, 0)
            if ctx.dry_run and key in ctx.seen.get(space, {}):
                return (space, key, 0)
        return None

    def _merge_into_pending(self, ctx: Context, pending: dict[tuple[str, str], Prepared], p: Prepared) -> None:
        for space_key in self._keys(ctx, p):
            other = pending.get(space_key)
            if other is not None:
                other.facts.update({f: p.facts[f] for f in p.given})
                other.facts["custom"] = {**other.facts["custom"], **p.facts["custom"]}
                return

    def _apply_updates(self, ctx: Context, to_update: dict[int, list[Prepared]], result: BatchResult) -> None:
        if not to_update:
            return
        from bridgecrm.customers import policies as customer_policies

        visible = set(Customer.objects.visible_to(ctx.actor).filter(pk__in=to_update).values_list("pk", flat=True))
        existing = {c.pk: c for c in Customer.objects.filter(pk__in=visible).select_related("owner__team")}
        changed: list[Customer] = []
        fields: set[str] = set()
        now = timezone.now()
        for pk, items in to_update.items():
            customer = existing.get(pk)
            if customer is None:
                for p in items:
                    result.fail(p.row, RowError(_("A duplicate exists that you may not change.")))
                continue
            new: dict[str, Any] = {}
            for p in items:
                new.update({f: p.facts[f] for f in base.fields_to_update(ctx, p.row, FACTS, CLEARABLE)})
                custom_raw = base.custom_cells(ctx, p.row)
                if custom_raw:
                    try:
                        new["custom"] = base.custom_values(
                            ctx, custom_raw, current=new.get("custom", customer.custom), creating=False
                        )
                    except RowError as exc:
                        result.fail(p.row, exc)
                        continue
                if (
                    "owner" in p.row.values
                    and p.owner_id != customer.owner_id
                    and customer_policies.may_reassign(ctx.actor, customer)
                ):
                    new["owner_id"] = p.owner_id
                    new["team_id"] = p.team_id
            if "name" in new:
                new["name_key"] = name_key(new["name"])
            diff = base.changes_of(customer, new)
            if not diff:
                result.skipped += len(items)
                continue
            result.updated[pk] = diff
            if ctx.dry_run:
                continue
            for name in diff:
                setattr(customer, name, new[name])
            if "owner_id" in diff:
                customer.owner_since, customer.pooled_at = now, None
                fields.update({"owner_since", "pooled_at"})
            customer.version += 1
            customer.updated_at = now
            fields.update(diff)
            changed.append(customer)
        if changed:
            Customer.objects.bulk_update(changed, sorted(fields | {"version", "updated_at"}), batch_size=500)

    def _create(self, ctx: Context, items: list[Prepared], result: BatchResult) -> None:
        if not items:
            return
        now = fastsql.adapt_datetime(timezone.now())
        customer_columns = (
            *FACTS,
            "owner_id",
            "team_id",
            "created_at",
            "updated_at",
            "owner_since",
            "name_key",
            "custom",
        )
        customer_ids = fastsql.insert_rows(
            Customer,
            customer_columns,
            [
                (
                    *(p.facts[f] for f in FACTS[:9]),
                    fastsql.adapt_decimal(p.facts["estimated_annual_potential"], 14, 2),
                    p.facts["currency"],
                    p.owner_id,
                    p.team_id,
                    now,
                    now,
                    now,
                    p.key,
                    fastsql.adapt_json(p.facts["custom"]),
                )
                for p in items
            ],
        )
        with_contact = [
            (p, pk)
            for p, pk in zip(items, customer_ids, strict=True)
            if p.contact_name or p.email or p.phones or p.wechat
        ]
        contact_ids = fastsql.insert_rows(
            Contact,
            ("customer_id", "name", "title", "email", "wechat", "is_primary", "created_at", "updated_at"),
            [
                (pk, p.contact_name or p.facts["name"][:100], p.contact_title, p.email, p.wechat, True, now, now)
                for p, pk in with_contact
            ],
        )
        fastsql.insert_rows(
            ContactPhone,
            ("contact_id", "raw", "e164", "kind"),
            [
                (contact_id, ph.raw, ph.e164, ph.kind)
                for (p, _pk), contact_id in zip(with_contact, contact_ids, strict=True)
                for ph in p.phones
            ],
            ids=False,
        )
        refs = [
            (self.code, p.row.external_id, pk, ctx.job.pk)
            for p, pk in zip(items, customer_ids, strict=True)
            if p.row.external_id
        ]
        fastsql.insert_rows(ExternalRef, ("kind", "external_id", "object_id", "job_id"), refs, ids=False)
        result.created = customer_ids
