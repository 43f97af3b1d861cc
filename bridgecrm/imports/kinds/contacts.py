"""Contacts of customers the importer sees, with their phones and e-mail.

The customer column resolves by a customer import's external id or by name (its key). Duplicates:
a contact with the same e-mail or one of the same phone numbers (E.164), anywhere; on "update" the
existing contact (when the importer sees its customer) takes the row's values.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from bridgecrm.customers.models import Contact, ContactPhone, Customer, DecisionRole
from bridgecrm.customers.phones import Phone
from bridgecrm.customization.models import Entity
from bridgecrm.imports import fastsql
from bridgecrm.imports.kinds import base
from bridgecrm.imports.kinds.base import BatchResult, Context, Row, RowError, Target
from bridgecrm.imports.models import ExternalRef, ImportKind, OnDuplicate

FIELDS = ("name", "title", "decision_role", "email", "wechat", "notes")
FIELD_SET = frozenset(FIELDS)
CLEARABLE = frozenset({"title", "decision_role", "email", "wechat", "notes"})  # what an update may empty


@dataclass
class Prepared:
    row: Row
    customer_id: int  # set by ``process``: resolving the customer needs the database
    facts: dict[str, Any]
    phones: list[Phone]
    is_primary: bool

    def __reduce__(self) -> tuple[Any, ...]:
        """Pickled as plain tuples (imports/ahead.py sends prepared batches through a pipe)."""
        facts = tuple(self.facts[f] for f in FIELDS) if self.facts.keys() == FIELD_SET else dict(self.facts)
        phones = tuple((ph.raw, ph.e164, ph.kind) for ph in self.phones)
        return (_restore, (self.row, self.customer_id, facts, phones, self.is_primary))


def _restore(
    row: Row,
    customer_id: int,
    facts: tuple[Any, ...] | dict[str, Any],
    phones: tuple[tuple[str, str, str], ...],
    is_primary: bool,
) -> Prepared:
    return Prepared(
        row,
        customer_id,
        dict(zip(FIELDS, facts, strict=True)) if isinstance(facts, tuple) else facts,
        list(map(Phone._make, phones)),
        is_primary,
    )


class ContactsKind(base.Kind):
    code = ImportKind.CONTACTS
    label = _("Contacts")
    entity = Entity.CONTACT
    targets = (
        Target("customer", _("Customer"), required=True),
        Target("name", _("Name"), required=True),
        Target("title", _("Title")),
        Target("decision_role", _("Role in the decision")),
        Target("email", _("E-mail")),
        Target("phone", _("Phone")),
        Target("wechat", _("WeChat ID")),
        Target("is_primary", _("Primary contact")),
        Target("notes", _("Notes")),
    )

    prepares = True

    def prepare(self, rows: Sequence[Row]) -> list[Prepared | RowError]:
        """Each row's name, title, role, e-mail, WeChat, notes, phones in E.164 and primary flag,
        or its error: pure, so a big file's batches are prepared ahead in a second process
        (imports/ahead.py)."""
        return base.cleaned(rows, self.clean)

    def clean(self, row: Row) -> Prepared:
        v = row.values
        facts: dict[str, Any] = {
            "name": base.text(v, "name", 100, required=True),
            "title": base.text(v, "title", 100),
            "decision_role": base.choice(v, "decision_role", DecisionRole),
            "email": base.email_value(v, "email"),
            "wechat": base.text(v, "wechat", 64),
            "notes": base.long_text(v, "notes", 2000),
        }
        phones = base.phone_list(v, "phone")
        primary = v.get("is_primary", "").strip().casefold() in base.TRUE_WORDS
        return Prepared(row, 0, facts, phones, primary)

    def process(self, ctx: Context, rows: Sequence[Row], ready: Any = None) -> BatchResult:
        result = BatchResult()
        customers = base.customers_by_reference(ctx, base.column_values(rows, "customer"))
        refs = base.external_refs(self.code, (r.external_id for r in rows))
        prepared: list[Prepared] = []
        for row, item in zip(rows, ready if ready is not None else self.prepare(rows), strict=True):
            # In the order of the rules: the customer, then the cells, then the custom fields.
            try:
                customer_id = base.resolve_one(customers, row, "customer", required=True, what=_("customer"))
                assert customer_id is not None
                if isinstance(item, RowError):
                    result.fail(row, item)  # not raised here: a traceback would tie this frame to ``ready``
                    continue
                item.facts["custom"] = base.custom_values(ctx, row.values, current=None, creating=True)
            except RowError as exc:
                result.fail(row, exc)
                continue
            item.customer_id = customer_id
            prepared.append(item)

        emails = {p.facts["email"] for p in prepared if p.facts["email"]}
        numbers = {ph.e164 for p in prepared for ph in p.phones}
        by_email: dict[str, int] = {}
        by_phone: dict[str, int] = {}
        if emails:
            for email, pk in Contact.objects.filter(email__in=emails).order_by("id").values_list("email", "pk"):
                by_email.setdefault(email, pk)
        if numbers:
            for e164, pk in (
                ContactPhone.objects.filter(e164__in=numbers).order_by("id").values_list("e164", "contact_id")
            ):
                by_phone.setdefault(e164, pk)
        has_primary = set(
            Contact.objects.filter(customer_id__in={p.customer_id for p in prepared}, is_primary=True).values_list(
                "customer_id", flat=True
            )
        )
        to_create: list[Prepared] = []
        to_update: dict[int, Prepared] = {}
        links: dict[str, int] = {}
        batch_keys: set[str] = set()
        for p in prepared:
            ext = p.row.external_id
            if ext and ext in refs:
                if ctx.on_duplicate == OnDuplicate.UPDATE:
                    to_update[refs[ext]] = p
                else:
                    result.skipped += 1
                continue
            keys = ([p.facts["email"]] if p.facts["email"] else []) + [ph.e164 for ph in p.phones]
            existing = next(
                (by_email.get(k) or by_phone.get(k) for k in keys if by_email.get(k) or by_phone.get(k)), None
            )
            earlier = next((k for k in keys if k in batch_keys or k in ctx.seen.get("contact", {})), None)
            if existing is not None or earlier is not None:
                result.findings.append(
                    {
                        "row": p.row.number,
                        "column": "email/phone",
                        "value": earlier or keys[0],
                        "existing": existing or 0,
                    }
                )
                if ctx.on_duplicate == OnDuplicate.SKIP or (
                    existing is None and ctx.on_duplicate == OnDuplicate.UPDATE
                ):
                    result.skipped += 1
                    if ext and existing is not None:
                        links[ext] = existing
                    continue
                if ctx.on_duplicate == OnDuplicate.UPDATE and existing is not None:
                    to_update[existing] = p
                    if ext:
                        links[ext] = existing
                    continue
            for k in keys:
                batch_keys.add(k)
                ctx.remember("contact", k, p.row.number)
            if p.is_primary and p.customer_id in has_primary:
                p.is_primary = False  # the customer keeps its primary contact
            elif p.is_primary:
                has_primary.add(p.customer_id)
            to_create.append(p)

        self._update(ctx, to_update, result)
        if ctx.dry_run:
            result.created = [0] * len(to_create)
            return result
        now = fastsql.adapt_datetime(timezone.now())
        ids = fastsql.insert_rows(
            Contact,
            ("customer_id", *FIELDS, "is_primary", "created_at", "updated_at", "custom"),
            [
                (
                    p.customer_id,
                    *(p.facts[f] for f in FIELDS),
                    p.is_primary,
                    now,
                    now,
                    fastsql.adapt_json(p.facts["custom"]),
                )
                for p in to_create
            ],
        )
        fastsql.insert_rows(
            ContactPhone,
            ("contact_id", "raw", "e164", "kind"),
            [(pk, ph.raw, ph.e164, ph.kind) for p, pk in zip(to_create, ids, strict=True) for ph in p.phones],
            ids=False,
        )
        new_refs = [
            (self.code, p.row.external_id, pk, ctx.job.pk)
            for p, pk in zip(to_create, ids, strict=True)
            if p.row.external_id
        ]
        fastsql.insert_rows(ExternalRef, ("kind", "external_id", "object_id", "job_id"), new_refs, ids=False)
        if links:
            ExternalRef.objects.bulk_create(
                [ExternalRef(kind=self.code, external_id=e, object_id=pk, job=ctx.job) for e, pk in links.items()],
                ignore_conflicts=True,
            )
        result.created = ids
        return result

    def _update(self, ctx: Context, to_update: dict[int, Prepared], result: BatchResult) -> None:
        if not to_update:
            return
        visible = Q(customer__in=Customer.objects.visible_to(ctx.actor))
        existing = {c.pk: c for c in Contact.objects.filter(visible, pk__in=to_update)}
        changed: list[Contact] = []
        fields: set[str] = set()
        now = timezone.now()
        for pk, p in to_update.items():
            contact = existing.get(pk)
            if contact is None:
                result.fail(p.row, RowError(_("A duplicate exists that you may not change.")))
                continue
            new = {f: p.facts[f] for f in base.fields_to_update(ctx, p.row, FIELDS, CLEARABLE)}
            custom_raw = base.custom_cells(ctx, p.row)
            if custom_raw:
                try:
                    new["custom"] = base.custom_values(ctx, custom_raw, current=contact.custom, creating=False)
                except RowError as exc:
                    result.fail(p.row, exc)
                    continue
            diff = base.changes_of(contact, new)
            if not diff:
                result.skipped += 1
                continue
            result.updated[pk] = diff
            for name in diff:
                setattr(contact, name, new[name])
            contact.updated_at = now
            fields.update(diff)
            changed.append(contact)
        if changed and not ctx.dry_run:
            Contact.objects.bulk_update(changed, sorted(fields | {"updated_at"}), batch_size=500)
