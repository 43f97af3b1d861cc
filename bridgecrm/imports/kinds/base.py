"""What every import kind shares: the batch it gets, what it gives back, value cleaners and the
bulk reference lookups (one query per batch per reference type)."""

from __future__ import annotations

import datetime as dt
import decimal
import re
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from functools import cache
from typing import Any, ClassVar

from django.core.exceptions import ValidationError
from django.core.validators import EmailValidator, validate_email
from django.db.models import Q, TextChoices
from django.utils import timezone, translation
from django.utils.dateparse import parse_date, parse_datetime
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from bridgecrm.core import dates
from bridgecrm.core.errors import ApplicationError
from bridgecrm.customers import phones
from bridgecrm.customers.models import Customer
from bridgecrm.customers.normalise import name_key
from bridgecrm.customization.models import FieldDefinition
from bridgecrm.customization.values import clean_values
from bridgecrm.imports.models import ExternalRef, ImportJob, OnDuplicate
from bridgecrm.users.models import User

CUSTOM_PREFIX = "custom."
TRUE_WORDS = {"1", "true", "yes", "y", "x", "是", "√", "✓"}


class RowError(Exception):
    """A row that cannot be imported; ``message`` goes into the error file."""

    def __init__(self, message: str | Promise, column: str = "") -> None:
        super().__init__(str(message))
        self.message = message
        self.column = column

    def text(self) -> str:
        return f"{self.column}: {self.message}" if self.column else str(self.message)


def detached(error: RowError) -> RowError:
    """The error without its traceback and the exception it replaced (``raise … from None`` keeps
    that as ``__context__``, with its own traceback). Kept in a list of a batch's results, those
    reference the frame that holds the list: a cycle per bad row that kept whole batches alive
    until a full collection, 60 MB at 100,000 rows."""
    error.__traceback__ = error.__context__ = error.__cause__ = None
    return error


def cleaned[T](rows: Sequence[Row], clean: Callable[[Row], T]) -> list[T | RowError]:
    """``clean(row)`` for each row, or the ``RowError`` it raised (detached): a kind's ``prepare``
    when each row is checked on its own."""
    out: list[T | RowError] = []
    for row in rows:
        try:
            out.append(clean(row))
        except RowError as exc:
            out.append(detached(exc))
    return out


@dataclass(frozen=True)
class Target:
    """A field a column may be mapped to."""

    name: str
    label: str | Promise
    required: bool = False


class Row:
    """One data row: its number (1-based; the header is row 0), its cells as read (for the error
    file), its external id, and ``values``, target field → stripped cell text of the mapped columns.

    ``values`` is made from the cells when first read, and a row crossing to the writing process
    (imports/ahead.py) is pickled without it: the writer reads it only for the few targets it
    resolves itself (owner, custom fields), and a dict per row was a third of the transfer."""

    __slots__ = ("_columns", "_values", "cells", "external_id", "number")

    def __init__(
        self,
        number: int,
        cells: list[str],
        values: dict[str, str] | None = None,
        external_id: str = "",
        columns: Sequence[tuple[int, str]] = (),
    ) -> None:
        self.number = number
        self.cells = cells
        self.external_id = external_id
        self._columns = columns  # (cell index, target) pairs, shared by the rows of a file
        self._values = values

    @property
    def values(self) -> dict[str, str]:
        if self._values is None:
            cells = self.cells
            self._values = {target: text for i, target in self._columns if (text := cells[i].strip())}
        return self._values

    def __reduce__(self) -> tuple[Any, ...]:
        values = None if self._columns else self._values
        return (Row, (self.number, self.cells, values, self.external_id, self._columns))

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Row):
            return NotImplemented
        return (self.number, self.cells, self.external_id, self.values) == (
            other.number,
            other.cells,
            other.external_id,
            other.values,
        )

    __hash__ = None  # type: ignore[assignment]  # mutable, like the dataclass it replaced

    def __repr__(self) -> str:
        return f"Row({self.number}, {self.cells!r})"


@dataclass
class BatchResult:
    created: list[int] = field(default_factory=list)
    updated: dict[int, dict[str, Any]] = field(default_factory=dict)  # id → {field: [old, new]}
    skipped: int = 0
    merged: int = 0  # rows that updated a record an earlier row of the same batch creates
    errors: list[tuple[Row, str]] = field(default_factory=list)
    findings: list[dict[str, Any]] = field(default_factory=list)

    def fail(self, row: Row, error: RowError | ApplicationError) -> None:
        if isinstance(error, RowError):
            self.errors.append((row, error.text()))
        else:
            where = error.details.get("field") or next(iter(error.details), "")
            self.errors.append((row, f"{where}: {error.message}" if where else str(error.message)))


@dataclass
class Context:
    """One run of one job: the options, and caches kept across batches."""

    job: ImportJob
    actor: User
    default_owner: User
    dry_run: bool
    custom_fields: list[FieldDefinition]
    # Dry run only: the keys of the rows that would have been created, so that a later row of the
    # same file is reported as a duplicate of it (a real run finds those in the database).
    seen: dict[str, dict[str, int]] = field(default_factory=dict)
    users: dict[str, User | None] = field(default_factory=dict)
    assignable: dict[int, bool] = field(default_factory=dict)
    cache: dict[str, Any] = field(default_factory=dict)
    mapped: frozenset[str] | None = None  # the targets the file's columns are mapped to; None: not known

    def maps(self, target: str) -> bool:
        """Whether a column may give ``target`` (True when the mapping is not known)."""
        return self.mapped is None or target in self.mapped

    @property
    def blank_clears(self) -> bool:
        return bool(self.job.blank_clears)

    @property
    def on_duplicate(self) -> str:
        return self.job.on_duplicate

    @property
    def skip_duplicates(self) -> bool:
        return self.job.on_duplicate == OnDuplicate.SKIP

    def remember(self, space: str, key: str, row_number: int) -> None:
        if self.dry_run and key:
            self.seen.setdefault(space, {}).setdefault(key, row_number)


class Kind:
    """An import kind: its targets and how a batch of rows is checked and written."""

    code: ClassVar[str]
    label: ClassVar[str | Promise]
    entity: ClassVar[str | None] = None  # the custom fields' entity, or None
    targets: ClassVar[tuple[Target, ...]]

    def check_actor(self, actor: User) -> None:
        """Raise ApplicationError when the importer may not import this kind at all."""

    def target_names(self) -> list[str]:
        return [t.name for t in self.targets]

    def check_target(self, actor: User, name: str) -> None:
        """Raise ApplicationError when ``actor`` may not map a column to the field ``name``
        (a field only some importers may write, such as a product's cost)."""

    def offers(self, actor: User, name: str) -> bool:
        """Whether the mapping form offers (and suggests) the field ``name`` to ``actor``."""
        try:
            self.check_target(actor, name)
        except ApplicationError:
            return False
        return True

    # Whether ``prepare`` does enough work that a big file's batches are worth preparing in a second
    # process (imports/ahead.py) while this one writes.
    prepares: ClassVar[bool] = False

    def prepare(self, rows: Sequence[Row]) -> Any:
        """The checks of a batch's cells that need neither the database nor the importer (pure, run
        ahead in a forked child for big files); what it returns goes to ``process`` as ``ready``."""
        return None

    def process(self, ctx: Context, rows: Sequence[Row], ready: Any = None) -> BatchResult:
        """Check the batch against the database and write it (nothing on a dry run); ``ready`` is
        what ``prepare`` returned for these rows, or None to prepare them here."""
        raise NotImplementedError


# ---- cleaners: text in, value out, RowError when the cell is wrong ----------------------------------------


def text(values: dict[str, str], name: str, limit: int, *, required: bool = False) -> str:
    value = " ".join(values.get(name, "").split())
    if required and not value:
        raise RowError(_("A value is required."), name)
    if len(value) > limit:
        raise RowError(_("At most %(limit)d characters.") % {"limit": limit}, name)
    return value


def long_text(values: dict[str, str], name: str, limit: int, *, required: bool = False) -> str:
    value = values.get(name, "").strip()
    if required and not value:
        raise RowError(_("A value is required."), name)
    if len(value) > limit:
        raise RowError(_("At most %(limit)d characters.") % {"limit": limit}, name)
    return value


@cache
def _choice_table(choices: type[TextChoices]) -> dict[str, str]:
    """Code, English label and Chinese label (case-folded, width-folded) → code."""
    table: dict[str, str] = {}
    for code, label in choices.choices:
        table[fold(str(code))] = str(code)
        for language in ("en", "zh-hans"):
            with translation.override(language):
                table.setdefault(fold(str(label)), str(code))
    return table


def fold(value: str) -> str:
    return unicodedata.normalize("NFKC", value).casefold().strip()


def choice(values: dict[str, str], name: str, choices: type[TextChoices], default: str = "") -> str:
    raw = values.get(name, "")
    if not raw:
        return default
    table = _choice_table(choices)
    found = table.get(raw)  # most cells repeat a few spellings: remember each one as seen
    if found is None:
        found = table.get(fold(raw))
        if found is None:
            raise RowError(_("“%(value)s” is not one of the choices.") % {"value": raw[:50]}, name)
        if len(table) < 10_000:
            table[raw] = found
    return found


_AMOUNT_JUNK = str.maketrans("", "", ",，¥￥ ")


def amount(
    values: dict[str, str], name: str, *, maximum: decimal.Decimal, positive: bool = False, required: bool = False
) -> decimal.Decimal | None:
    raw = values.get(name, "").strip()
    if not raw:
        if required:
            raise RowError(_("A value is required."), name)
        return None
    try:
        value = decimal.Decimal(raw.translate(_AMOUNT_JUNK)).quantize(decimal.Decimal("0.01"))
    except (decimal.InvalidOperation, ValueError):
        raise RowError(_("Enter an amount."), name) from None
    if not value.is_finite() or value < 0 or value > maximum or (positive and value == 0):
        raise RowError(_("Enter an amount between 0 and %(max)s.") % {"max": f"{maximum:,}"}, name)
    return value


_DATE_ZH = re.compile(r"^(\d{4})年(\d{1,2})月(\d{1,2})日?")
_DATE = re.compile(r"^(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})")


def date_value(values: dict[str, str], name: str, *, required: bool = False) -> dt.date | None:
    raw = values.get(name, "").strip()
    if not raw:
        if required:
            raise RowError(_("A value is required."), name)
        return None
    match = _DATE_ZH.match(raw) or _DATE.match(raw)
    try:
        parsed = dt.date(int(match[1]), int(match[2]), int(match[3])) if match else parse_date(raw)
    except ValueError:
        parsed = None
    if parsed is None:
        raise RowError(_("Enter a valid date (YYYY-MM-DD)."), name)
    return parsed


def moment_value(values: dict[str, str], name: str, *, required: bool = False) -> dt.datetime | None:
    """A date and time; a plain date is midnight, both in the company's time zone unless the cell
    names its offset."""
    raw = values.get(name, "").strip()
    if not raw:
        if required:
            raise RowError(_("A value is required."), name)
        return None
    try:
        moment = parse_datetime(raw.replace("/", "-"))
    except ValueError:
        moment = None
    if moment is None:
        day = date_value(values, name)
        assert day is not None
        moment = dt.datetime.combine(day, dt.time.min)
    if timezone.is_naive(moment):
        moment = moment.replace(tzinfo=dates.company_zone())
    return moment.astimezone(dt.UTC)


# Django's own e-mail patterns, compiled here once: a value both match is one its validator accepts
# (anything else, such as an address at an IP literal, goes through the validator itself).
_email_user = re.compile(EmailValidator.user_regex.pattern, re.IGNORECASE).match
_email_domain = re.compile(EmailValidator.domain_regex.pattern, re.IGNORECASE).match


def email_value(values: dict[str, str], name: str) -> str:
    raw = values.get(name, "").strip().lower()
    if not raw:
        return ""
    if len(raw) > 254:
        raise RowError(_("Enter a valid e-mail address."), name)
    user, _at, domain = raw.rpartition("@")
    if _at and _email_user(user) and _email_domain(domain):
        return raw  # what Django's validator would accept, without its lazy regexes' overhead per call
    try:
        validate_email(raw)
    except ValidationError:
        raise RowError(_("Enter a valid e-mail address."), name) from None
    return raw


_PHONE_JUNK = str.maketrans("", "", " -()（）.")
_CN_MOBILE = re.compile(r"^(?:\+?86|0086)?(1\d{10})$")
_PHONE_SPLIT = re.compile(r"[;,，；/、|]")


@cache
def _mobile_kind(prefix: str) -> str | None:
    """libphonenumber's verdict (the kind, or None when invalid) for an 11-digit Chinese number
    starting with these 5 digits: its CN patterns for such numbers are decided by at most the first
    five digits (``1740[0-5]``), so each range is parsed once (tests compare both paths)."""
    found = phones.normalise(prefix + "000000")
    return found.kind if found is not None else None


def phone_value(raw: str, column: str) -> phones.Phone:
    """E.164 of one number: the common Chinese mobile forms on a fast path, everything else through
    libphonenumber (customers/phones.py); the result is the same."""
    text_value = raw.strip()
    match = _CN_MOBILE.match(text_value.translate(_PHONE_JUNK))
    if match and len(text_value) <= phones.MAX_RAW:
        kind = _mobile_kind(match[1][:5])
        if kind is not None:
            return phones.Phone(raw=text_value, e164="+86" + match[1], kind=kind)
    found = phones.normalise(text_value)
    if found is None:
        raise RowError(_("“%(phone)s” is not a valid phone number.") % {"phone": text_value[:40]}, column)
    return found


def phone_list(values: dict[str, str], name: str, limit: int = 5) -> list[phones.Phone]:
    raw = values.get(name, "")
    if not raw.strip():
        return []
    found: dict[str, phones.Phone] = {}
    for part in _PHONE_SPLIT.split(raw):
        if part.strip():
            phone = phone_value(part, name)
            found.setdefault(phone.e164, phone)
    if len(found) > limit:
        raise RowError(_("At most %(limit)d phone numbers.") % {"limit": limit}, name)
    return list(found.values())


def fields_to_update(ctx: Context, row: Row, fields: Iterable[str], clearable: frozenset[str]) -> list[str]:
    """The fields an update of an existing record writes: those the row gives a value, and, when
    the job says empty cells clear fields, the ``clearable`` ones whose column is mapped but empty
    (a field that cannot be empty, or has a default, is never cleared)."""
    values = row.values
    clearing = ctx.blank_clears
    return [f for f in fields if f in values or (clearing and f in clearable and ctx.maps(f))]


def custom_cells(ctx: Context, row: Row) -> dict[str, str]:
    """The row's ``custom.<key>`` cells; when empty cells clear fields, the mapped custom columns
    whose cell is empty too (as "", which clears the value)."""
    cells = {k: v for k, v in row.values.items() if k.startswith(CUSTOM_PREFIX)}
    if ctx.blank_clears and ctx.mapped:
        cells = {k: "" for k in ctx.mapped if k.startswith(CUSTOM_PREFIX)} | cells
    return cells


def custom_values(
    ctx: Context, values: dict[str, str], *, current: dict[str, Any] | None, creating: bool
) -> dict[str, Any]:
    """The record's ``custom`` dict from the ``custom.<key>`` columns, validated by type."""
    if not ctx.custom_fields:
        return dict(current or {})
    raw = {k[len(CUSTOM_PREFIX) :]: v for k, v in values.items() if k.startswith(CUSTOM_PREFIX)}
    if not raw and not creating:
        return dict(current or {})
    try:
        return clean_values(ctx.custom_fields, raw, current=current, creating=creating)
    except ApplicationError as exc:
        raise RowError(exc.message, str(exc.details.get("field", ""))) from None


# ---- references, resolved in bulk ------------------------------------------------------------------------


def users_by_text(ctx: Context, texts: Iterable[str]) -> dict[str, User | None]:
    """Active users by user name, e-mail or full name (case-insensitive), cached for the run."""
    wanted = {t for t in texts if t and t not in ctx.users}
    if wanted:
        folded = {t.casefold(): t for t in wanted}
        query = Q(username__in=wanted) | Q(email__in=wanted) | Q(full_name__in=wanted)
        lowered = list(folded)
        query |= Q(username__in=lowered) | Q(email__in=lowered)
        found: dict[str, list[User]] = {}
        for user in User.objects.filter(query, is_active=True).select_related("team"):
            for key in {user.username.casefold(), user.email.casefold(), user.full_name.casefold()}:
                if key in folded:
                    found.setdefault(folded[key], []).append(user)
        for t in wanted:
            matches = found.get(t, [])
            ctx.users[t] = matches[0] if len(matches) == 1 else None
    return {t: ctx.users.get(t) for t in texts if t}


def owner_for(ctx: Context, row: Row, users: dict[str, User | None], column: str = "owner") -> User:
    """The row's owner: the named user (whom the actor may assign to), else the default owner."""
    from bridgecrm.customers import policies as customer_policies

    name = row.values.get(column, "").strip()
    if not name:
        return ctx.default_owner
    user = users.get(name)
    if user is None:
        raise RowError(_("No active user “%(value)s”.") % {"value": name[:50]}, column)
    allowed = ctx.assignable.get(user.pk)
    if allowed is None:
        allowed = ctx.assignable[user.pk] = customer_policies.may_assign_to(ctx.actor, user)
    if not allowed:
        raise RowError(_("You may not give records to %(name)s.") % {"name": user.display_name}, column)
    return user


def external_refs(kind: str, ids: Iterable[str]) -> dict[str, int]:
    wanted = sorted({i for i in ids if i})
    if not wanted:
        return {}
    return dict(ExternalRef.objects.filter(kind=kind, external_id__in=wanted).values_list("external_id", "object_id"))


@dataclass
class Resolved:
    ids: dict[str, int]  # cell text → id
    ambiguous: set[str]


def customers_by_reference(ctx: Context, texts: Iterable[str]) -> Resolved:
    """Customers the actor sees, by external id (of an earlier customer import) or by name (its
    normalised key). A name two visible customers share is ambiguous."""
    wanted = {t for t in texts if t}
    ids: dict[str, int] = {}
    ambiguous: set[str] = set()
    if not wanted:
        return Resolved(ids, ambiguous)
    visible = Customer.objects.visible_to(ctx.actor)
    by_ref = external_refs("customers", wanted)
    if by_ref:
        seen = set(visible.filter(pk__in=set(by_ref.values())).values_list("pk", flat=True))
        ids.update({t: pk for t, pk in by_ref.items() if pk in seen})
    keys = {t: name_key(t) for t in wanted if t not in ids}
    hits: dict[str, list[int]] = {}
    for key, pk in visible.filter(name_key__in={k for k in keys.values() if k}).values_list("name_key", "pk"):
        hits.setdefault(key, []).append(pk)
    for t, key in keys.items():
        found = hits.get(key, [])
        if len(found) == 1:
            ids[t] = found[0]
        elif len(found) > 1:
            ambiguous.add(t)
    return Resolved(ids, ambiguous)


def resolve_one(resolved: Resolved, row: Row, column: str, *, required: bool, what: str | Promise) -> int | None:
    value = row.values.get(column, "").strip()
    if not value:
        if required:
            raise RowError(_("A value is required."), column)
        return None
    if value in resolved.ambiguous:
        raise RowError(_("More than one %(what)s matches “%(value)s”.") % {"what": what, "value": value[:80]}, column)
    found = resolved.ids.get(value)
    if found is None:
        raise RowError(_("No %(what)s “%(value)s” that you can see.") % {"what": what, "value": value[:80]}, column)
    return found


def column_values(rows: Sequence[Row], column: str) -> set[str]:
    return {v for r in rows if (v := r.values.get(column, "").strip())}


def changes_of(obj: Any, new: dict[str, Any]) -> dict[str, list[Any]]:
    """{field: [old, new]} for the fields whose value differs (JSON-ready)."""
    from bridgecrm.core.audit import to_json

    out: dict[str, list[Any]] = {}
    for name, value in new.items():
        old = getattr(obj, name)
        if old != value:
            out[name] = [to_json(old), to_json(value)]
    return out


Cleaner = Callable[[dict[str, str]], Any]


def contacts_of_customers(customer_ids: Iterable[int]) -> dict[tuple[int, str], int]:
    """(customer id, e-mail or case-folded name) → contact id, for the contact columns of deals and
    follow-ups (a contact is named within its customer)."""
    from bridgecrm.customers.models import Contact

    found: dict[tuple[int, str], int] = {}
    ids = set(customer_ids)
    if ids:
        for pk, customer_id, name, email in Contact.objects.filter(customer_id__in=ids).values_list(
            "pk", "customer_id", "name", "email"
        ):
            found.setdefault((customer_id, name.casefold()), pk)
            if email:
                found.setdefault((customer_id, email), pk)
    return found


def contact_for(contacts: dict[tuple[int, str], int], row: Row, customer_id: int) -> int | None:
    value = row.values.get("contact", "").strip()
    if not value:
        return None
    found = contacts.get((customer_id, value.casefold())) or contacts.get((customer_id, value.lower()))
    if found is None:
        raise RowError(_("The customer has no contact “%(value)s”.") % {"value": value[:80]}, "contact")
    return found
