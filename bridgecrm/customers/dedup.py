# ruff: noqa: S608 - the SQL names fixed tables and columns; values go in as parameters
"""The duplicate check (查重): which existing customers a new or changed one probably duplicates.

Exact matches: the same name key (``normalise.name_key``), a contact phone with the same E.164
number, a contact with the same e-mail address. Fuzzy matches: names whose keys are similar
(``rapidfuzz``), among at most ``CANDIDATES`` candidates that an index finds first — the SQLite FTS5
trigram table of the names (``search_index``) or, on PostgreSQL, the trigram index on ``name_key``
(migration 0006). A check never reads every customer.

The check looks across the whole company (owned, pooled, other teams'), because a duplicate the
actor cannot see is still a duplicate. What the actor is told about a match depends on whether
they may see it: a visible match carries its id and name; a hidden one only says that it exists
and who owns it (the owner's name, or the public pool).

Which checks run and the similarity threshold are settings (``DuplicateSettings``), changed by
admins through ``settings_update``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.db import OperationalError, connection, transaction
from django.db.models import Count, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from rapidfuzz import fuzz

from bridgecrm.core import audit
from bridgecrm.core.errors import ApplicationError, Conflict, PermissionDenied
from bridgecrm.customers import normalise
from bridgecrm.customers.models import Contact, ContactPhone, Customer, DuplicateSettings
from bridgecrm.users import capabilities
from bridgecrm.users.models import User

CANDIDATES = 50  # fuzzy candidates read per check, best first by the index's own ranking
MAX_TRIGRAMS = 24  # trigrams of a name sent to the index when their frequencies are unknown
MIN_FUZZY_KEY = 4  # shorter keys are only compared exactly ("华为" and "华夏" are not one company)
BULK_CHUNK = 500  # keys per IN (...) in the bulk check
SETTINGS_FIELDS = ("match_name", "match_phone", "match_email", "match_similar_name", "similarity_threshold")

REASON_NAME = "name"
REASON_PHONE = "phone"
REASON_EMAIL = "email"
REASON_SIMILAR = "similar_name"
REASON_LABELS = {
    REASON_NAME: _("same name"),
    REASON_PHONE: _("same phone number"),
    REASON_EMAIL: _("same e-mail address"),
    REASON_SIMILAR: _("similar name"),
}

# A leading place name: "深圳市腾讯" and "腾讯" may be one company, "北京华为" and "上海华为" are two.
_PLACES = (
    "北京",
    "上海",
    "天津",
    "重庆",
    "广州",
    "深圳",
    "杭州",
    "南京",
    "苏州",
    "成都",
    "武汉",
    "西安",
    "长沙",
    "郑州",
    "青岛",
    "厦门",
    "宁波",
    "东莞",
    "佛山",
    "合肥",
    "福州",
    "济南",
    "沈阳",
    "大连",
    "昆明",
    "无锡",
    "珠海",
    "广东",
    "江苏",
    "浙江",
    "山东",
    "河北",
    "河南",
    "湖北",
    "湖南",
    "四川",
    "福建",
    "安徽",
    "辽宁",
    "陕西",
    "云南",
    "广西",
    "香港",
)
_PLACE_RE = re.compile("^(" + "|".join(_PLACES) + ")(省|市)?")


@dataclass(frozen=True)
class DuplicateMatch:
    """One probable duplicate. ``customer_id`` and ``name`` are only set when the actor may see it."""

    reasons: tuple[str, ...]
    score: int  # 100 for an exact match, else the name similarity in percent
    visible: bool
    owner_label: str  # the owner's display name, or "public pool"
    customer_id: int | None = None
    name: str = ""
    in_pool: bool = False

    @property
    def reason_labels(self) -> list[str]:
        return [str(REASON_LABELS[r]) for r in self.reasons]

    def as_dict(self) -> dict[str, Any]:
        return {
            "customer_id": self.customer_id,
            "name": self.name,
            "visible": self.visible,
            "owner": self.owner_label,
            "in_pool": self.in_pool,
            "reasons": list(self.reasons),
            "score": self.score,
        }


@dataclass
class _Found:
    reasons: set[str] = field(default_factory=set)
    score: int = 0


# ---- settings ------------------------------------------------------------------------------------


def current_settings() -> DuplicateSettings:
    """The saved settings, or the defaults when an admin never saved any."""
    return DuplicateSettings.objects.filter(pk=1).first() or DuplicateSettings(pk=1)


def may_configure(actor: User | None) -> bool:
    return bool(
        actor is not None
        and actor.is_authenticated
        and actor.is_active
        and (actor.can(capabilities.MERGE_CUSTOMERS) or actor.can(capabilities.MANAGE_COMPANY))
    )


def may_see_report(actor: User | None) -> bool:
    return bool(
        actor is not None and actor.is_authenticated and actor.is_active and actor.can(capabilities.MERGE_CUSTOMERS)
    )


def settings_update(*, actor: User, version: int, **values: Any) -> DuplicateSettings:
    """Change which checks run and the similarity threshold (50–100 %). A stale ``version`` is 409."""
    if not may_configure(actor):
        raise PermissionDenied("forbidden", _("You do not have permission to do this."))
    unknown = set(values) - set(SETTINGS_FIELDS)
    if unknown:
        raise ApplicationError("invalid", _("Unknown fields."), details={f: ["unknown"] for f in sorted(unknown)})
    threshold = values.get("similarity_threshold")
    if threshold is not None and not (50 <= int(threshold) <= 100):
        raise ApplicationError(
            "invalid",
            _("The similarity threshold is between 50 and 100 %."),
            details={"similarity_threshold": ["range"]},
        )
    with transaction.atomic():
        DuplicateSettings.objects.get_or_create(pk=1)
        locked = DuplicateSettings.objects.select_for_update().get(pk=1)
        if locked.version != version:
            raise Conflict(
                "stale",
                _("Someone else changed these settings in the meantime. Reload the page and try again."),
                details={"current_version": [str(locked.version)]},
            )
        before = audit.snapshot(locked, SETTINGS_FIELDS)
        for name, value in values.items():
            setattr(locked, name, int(value) if name == "similarity_threshold" else bool(value))
        after = audit.snapshot(locked, SETTINGS_FIELDS)
        if after != before:
            locked.version += 1
            locked.updated_at = timezone.now()
            locked.save()
            audit.record_changes(actor=actor, obj=locked, before=before, after=after)
    return locked


# ---- similarity ----------------------------------------------------------------------------------


def _split_place(key: str) -> tuple[str, str]:
    found = _PLACE_RE.match(key)
    if found is None:
        return "", key
    return found.group(1), key[found.end() :]


def similarity(key_a: str, key_b: str) -> int:
    """How alike two name keys are, 0–100 (normalised Indel similarity, as ``fuzz.ratio``).

    A leading place name on one side only is ignored ("深圳市腾讯计算机系统" ~ "腾讯计算机系统");
    two different places make two customers ("北京华为" vs "上海华为")."""
    if not key_a or not key_b:
        return 0
    if key_a == key_b:
        return 100
    place_a, rest_a = _split_place(key_a)
    place_b, rest_b = _split_place(key_b)
    if place_a and place_b and place_a != place_b:
        return min(int(fuzz.ratio(key_a, key_b)), 60)
    if place_a == place_b:  # both with the same place, or neither: the whole keys
        rest_a, rest_b = key_a, key_b
    if min(len(rest_a), len(rest_b)) < MIN_FUZZY_KEY:
        return 100 if rest_a == rest_b else min(int(fuzz.ratio(key_a, key_b)), 60)
    return int(fuzz.ratio(rest_a, rest_b))


SHORT_WORD = 5  # a changed Latin word this short is another word ("Bank"/"Tank", "Canon"/"Canton")


def name_similarity(name_a: str, name_b: str) -> int:
    """``similarity`` of the names' keys; for Latin names, a changed short word makes them two."""
    score = similarity(normalise.name_key(name_a), normalise.name_key(name_b))
    if score == 100 or not score:
        return score
    words_a, words_b = normalise.name_words(name_a), normalise.name_words(name_b)
    if len(words_a) == len(words_b) and all(w.isascii() for w in words_a + words_b):
        for wa, wb in zip(words_a, words_b, strict=True):
            plural = wa.removesuffix("s") == wb.removesuffix("s")
            if wa != wb and not plural and min(len(wa), len(wb)) <= SHORT_WORD:
                return min(score, 60)
    return score


# ---- candidates through an index -----------------------------------------------------------------


def _trigrams(name: str) -> list[str]:
    """The trigrams of the name's words, without legal suffixes (Chinese ones end the last word)."""
    words = normalise.name_words(name)
    if words:
        words[-1] = normalise.name_key(words[-1]) or words[-1]
    grams: list[str] = []
    for word in words:
        for i in range(len(word) - 2):
            gram = word[i : i + 3]
            if gram not in grams:
                grams.append(gram)
    return grams


FTS_VOCAB = "customers_customer_fts_vocab"  # migration 0006: document counts of the name index's trigrams
RAREST = 8  # trigrams asked of the index: the rarest ones, so common words ("上海", "科技") cost nothing
COMMON = 5_000  # a trigram in more names than this says too little to rank by (exact keys still match)


def _rarest(grams: list[str]) -> list[str]:
    """The ``RAREST`` trigrams found in fewest names; those in no name or in more than ``COMMON``
    are dropped (a name made only of common trigrams is then matched by its exact key alone)."""
    marks = ", ".join(["%s"] * len(grams))
    try:
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT term, doc FROM {FTS_VOCAB} WHERE term IN ({marks})", grams)
            counts = dict(cursor.fetchall())
    except OperationalError:  # no vocabulary table (a database made before 0006): every trigram
        return grams[:MAX_TRIGRAMS]
    present = sorted((n, g) for g, n in counts.items() if 0 < n <= COMMON)
    return [g for _n, g in present[:RAREST]]


def _fuzzy_candidate_sql(name: str, key: str) -> tuple[str, list[Any]] | None:
    """SQL selecting at most ``CANDIDATES`` customer ids with names like ``name`` (via an index)."""
    if len(key) < MIN_FUZZY_KEY:
        return None
    if connection.vendor == "postgresql":
        return (
            "SELECT id FROM (SELECT id FROM customers_customer WHERE name_key %% %s"
            " ORDER BY name_key <-> %s LIMIT " + str(CANDIDATES) + ") AS fuzzy",
            [key, key],
        )
    grams = _trigrams(name)
    if grams:
        grams = _rarest(grams)
    if not grams:
        return None
    query = " OR ".join('"' + g.replace('"', '""') + '"' for g in grams)
    return (
        "SELECT id FROM (SELECT rowid AS id FROM customers_customer_fts WHERE customers_customer_fts MATCH %s"
        " ORDER BY rank LIMIT " + str(CANDIDATES) + ")",
        [query],
    )


def _owner_label(customer: Customer) -> str:
    if customer.owner_id is None:
        return str(_("public pool"))
    assert customer.owner is not None
    return customer.owner.display_name


def _matches(actor: User, found: Mapping[int, _Found], rows: Mapping[int, Customer]) -> list[DuplicateMatch]:
    visible = set(Customer.objects.visible_to(actor).filter(pk__in=list(rows)).values_list("pk", flat=True))
    result = []
    for pk, hit in found.items():
        customer = rows.get(pk)
        if customer is None:
            continue
        seen = pk in visible
        result.append(
            DuplicateMatch(
                reasons=tuple(r for r in REASON_LABELS if r in hit.reasons),
                score=hit.score,
                visible=seen,
                owner_label=_owner_label(customer),
                customer_id=pk if seen else None,
                name=customer.name if seen else "",
                in_pool=customer.owner_id is None,
            )
        )
    result.sort(key=lambda m: (-len([r for r in m.reasons if r != REASON_SIMILAR]), -m.score, m.customer_id or 0))
    return result


def _live(ids: Iterable[int], exclude_id: int | None) -> dict[int, Customer]:
    # Unscoped on purpose: a duplicate is one whoever owns it; what is shown is scoped in _matches.
    qs = Customer.objects.filter(pk__in=list(ids), deleted_at__isnull=True).select_related("owner")
    if exclude_id is not None:
        qs = qs.exclude(pk=exclude_id)
    return {c.pk: c for c in qs.only("pk", "name", "name_key", "owner_id", "owner__full_name", "owner__username")}


_E164 = re.compile(r"^\+[1-9]\d{6,14}$")
_CN_MOBILE = re.compile(r"^(?:\+?86|0086)?(1[3-9]\d{9})$")
_PHONE_PUNCTUATION = re.compile(r"[\s\-().]")


def _phone_key(raw: str) -> str | None:
    """E.164 for matching. Fast paths (an import checks 20,000 rows a second; libphonenumber
    takes ~0.2 ms a number): E.164 as given, and Chinese mobiles in any common spelling; every
    other form goes through ``normalise.phone_key``. A key only finds stored (validated) numbers."""
    text = _PHONE_PUNCTUATION.sub("", raw)
    if _E164.match(text) and not text.startswith("+86"):
        return text
    mobile = _CN_MOBILE.match(text)
    if mobile is not None:
        return "+86" + mobile.group(1)
    return normalise.phone_key(raw)


def _clean_phones(phones: Iterable[str]) -> list[str]:
    keys = {_phone_key(str(p)) for p in phones if str(p).strip()}
    return sorted(k for k in keys if k)


def _clean_emails(emails: Iterable[str]) -> list[str]:
    return sorted({normalise.email_key(str(e)) for e in emails if str(e).strip()})


def find_duplicates(
    *,
    actor: User,
    name: str,
    phones: Sequence[str] = (),
    emails: Sequence[str] = (),
    exclude_id: int | None = None,
) -> list[DuplicateMatch]:
    """Probable duplicates of a customer called ``name`` with these contact phones and e-mails,
    across the whole company, strongest first. ``exclude_id``: the customer being edited.
    Costs at most five queries."""
    conf = current_settings()
    key = normalise.name_key(name)
    phone_keys = _clean_phones(phones) if conf.match_phone else []
    email_keys = _clean_emails(emails) if conf.match_email else []
    parts: list[str] = []
    params: list[Any] = []
    if conf.match_name and key:
        parts.append("SELECT id, 'n' FROM customers_customer WHERE name_key = %s")
        params.append(key)
    fuzzy = _fuzzy_candidate_sql(name, key) if conf.match_similar_name else None
    if fuzzy is not None:
        parts.append(f"SELECT id, 'f' FROM ({fuzzy[0]}) AS candidates")
        params.extend(fuzzy[1])
    if phone_keys:
        marks = ", ".join(["%s"] * len(phone_keys))
        parts.append(
            "SELECT c.customer_id, 'p' FROM customers_contactphone p JOIN customers_contact c ON c.id = p.contact_id"
            f" WHERE p.e164 IN ({marks})"
        )
        params.extend(phone_keys)
    if email_keys:
        marks = ", ".join(["%s"] * len(email_keys))
        parts.append(f"SELECT customer_id, 'e' FROM customers_contact WHERE email IN ({marks})")
        params.extend(email_keys)
    if not parts:
        return []
    with connection.cursor() as cursor:
        cursor.execute(" UNION ".join(parts), params)
        hits = cursor.fetchall()
    rows = _live({pk for pk, _kind in hits}, exclude_id)
    found: dict[int, _Found] = {}
    codes = {"n": REASON_NAME, "p": REASON_PHONE, "e": REASON_EMAIL}
    for pk, kind in hits:
        customer = rows.get(pk)
        if customer is None:
            continue
        if kind == "f":
            score = name_similarity(name, customer.name)
            if score < conf.similarity_threshold:
                continue
            hit = found.setdefault(pk, _Found())
            if score == 100:
                hit.reasons.add(REASON_NAME) if conf.match_name else hit.reasons.add(REASON_SIMILAR)
            else:
                hit.reasons.add(REASON_SIMILAR)
            hit.score = max(hit.score, score)
        else:
            hit = found.setdefault(pk, _Found())
            hit.reasons.add(codes[kind])
            hit.score = 100
    for hit in found.values():
        if hit.reasons - {REASON_SIMILAR}:
            hit.score = 100
    if not found:
        return []
    return _matches(actor, found, rows)


def find_duplicates_of(*, actor: User, customer: Customer) -> list[DuplicateMatch]:
    """The duplicates of an existing customer (its name, its contacts' phones and e-mails)."""
    phones = list(ContactPhone.objects.filter(contact__customer=customer).values_list("e164", flat=True))
    emails = [e for e in Contact.objects.filter(customer=customer).values_list("email", flat=True) if e]
    return find_duplicates(actor=actor, name=customer.name, phones=phones, emails=emails, exclude_id=customer.pk)


@dataclass(frozen=True)
class BulkRow:
    """A row of an import, as the bulk check reads it."""

    name: str = ""
    phones: Sequence[str] = ()
    emails: Sequence[str] = ()
    name_key: str = ""  # when the caller has computed it already (an import stores it anyway)


def _chunks[T](values: list[T]) -> Iterable[list[T]]:
    for i in range(0, len(values), BULK_CHUNK):
        yield values[i : i + BULK_CHUNK]


# Plain SQL on the indexed keys: the ORM's handling of a 500-value IN costs more than the query.
_KEY_LOOKUPS = (
    ("SELECT name_key, id FROM customers_customer WHERE deleted_at IS NULL AND name_key IN ", "name"),
    (
        "SELECT p.e164, c.customer_id FROM customers_contactphone p"
        " JOIN customers_contact c ON c.id = p.contact_id"
        " JOIN customers_customer u ON u.id = c.customer_id AND u.deleted_at IS NULL WHERE p.e164 IN ",
        "phone",
    ),
    (
        "SELECT c.email, c.customer_id FROM customers_contact c"
        " JOIN customers_customer u ON u.id = c.customer_id AND u.deleted_at IS NULL WHERE c.email IN ",
        "email",
    ),
)


def exact_key_kinds() -> frozenset[str]:
    """The kinds of exact key ("name", "phone", "email") the admin's duplicate settings switch on."""
    conf = current_settings()
    switches = (("name", conf.match_name), ("phone", conf.match_phone), ("email", conf.match_email))
    return frozenset(kind for kind, on in switches if on)


def customers_by_keys(
    *,
    name_keys: Iterable[str] = (),
    phones: Iterable[str] = (),
    emails: Iterable[str] = (),
    kinds: frozenset[str] | None = None,
) -> tuple[dict[str, set[int]], dict[str, set[int]], dict[str, set[int]]]:
    """The live customers holding each exact key (name key, E.164 phone, lower-cased e-mail), by
    key, for the ``kinds`` of key switched on (default: as the duplicate settings say). One query
    per 500 distinct keys of each kind; no visibility filter (the callers decide what the actor may
    learn of a match)."""
    on = exact_key_kinds() if kinds is None else kinds
    given = {"name": name_keys, "phone": phones, "email": emails}
    wanted = {kind: set(keys) if kind in on else set() for kind, keys in given.items()}
    found: dict[str, dict[str, set[int]]] = {"name": {}, "phone": {}, "email": {}}
    postgres = connection.vendor == "postgresql"
    with connection.cursor() as cursor:
        if postgres:
            # Exact keys are B-tree probes. PostgreSQL can also answer ``name_key = ANY(…)`` from
            # the trigram GIN index of the similar-name search (migration 0006), and sometimes
            # prefers it: while an import inserts, that index's pending list grows and every such
            # scan reads all of it, 0.4-6 s a lookup measured on 100,000 customers (71 s of a 101 s
            # import). Bitmap scans (the only kind a GIN index does) are off for these lookups.
            cursor.execute("SET enable_bitmapscan = off")
        try:
            for sql, kind in _KEY_LOOKUPS:
                keys = sorted(k for k in wanted[kind] if k)
                if postgres and keys:  # one array parameter, not one parameter a key
                    cursor.execute(sql.removesuffix(" IN ") + " = ANY(%s)", [keys])
                    rows = cursor.fetchall()
                else:
                    rows = []
                    for chunk in _chunks(keys):
                        cursor.execute(sql + "(" + ", ".join(["%s"] * len(chunk)) + ")", chunk)
                        rows.extend(cursor.fetchall())
                for key, pk in rows:
                    found[kind].setdefault(key, set()).add(pk)
        finally:
            if postgres:
                cursor.execute("RESET enable_bitmapscan")
    return found["name"], found["phone"], found["email"]


def find_duplicates_bulk(
    rows: Mapping[int, BulkRow] | Sequence[BulkRow], *, actor: User | None = None
) -> dict[int, list[DuplicateMatch]]:
    """Exact duplicates (name key, phone, e-mail, as the settings say) of many rows at once, for
    imports: ``{row_index: [match, ...]}`` for the rows that have any. One query per 500 distinct
    keys of each kind plus one for the owners, so 1,000 rows cost a handful of queries. Fuzzy
    names are not compared here (one index probe per row would be too slow for an import).

    Without ``actor`` every match counts as hidden (no id, no name)."""
    conf = current_settings()
    items = list(rows.items()) if isinstance(rows, Mapping) else list(enumerate(rows))
    name_keys: dict[int, str] = {}
    phone_keys: dict[int, list[str]] = {}
    email_keys: dict[int, list[str]] = {}
    for index, row in items:
        if conf.match_name and (row.name or row.name_key):
            key = row.name_key or normalise.name_key(row.name)
            if key:
                name_keys[index] = key
        if conf.match_phone and row.phones:
            phone_keys[index] = _clean_phones(row.phones)
        if conf.match_email and row.emails:
            email_keys[index] = _clean_emails(row.emails)
    by_name, by_phone, by_email = customers_by_keys(
        name_keys=set(name_keys.values()),
        phones={k for keys in phone_keys.values() for k in keys},
        emails={k for keys in email_keys.values() for k in keys},
    )
    live = Q(deleted_at__isnull=True)
    found: dict[int, dict[int, _Found]] = {}
    for index, key in name_keys.items():
        for pk in by_name.get(key, ()):
            found.setdefault(index, {}).setdefault(pk, _Found(score=100)).reasons.add(REASON_NAME)
    for index, keys in phone_keys.items():
        for pk in {pk for k in keys for pk in by_phone.get(k, ())}:
            found.setdefault(index, {}).setdefault(pk, _Found(score=100)).reasons.add(REASON_PHONE)
    for index, keys in email_keys.items():
        for pk in {pk for k in keys for pk in by_email.get(k, ())}:
            found.setdefault(index, {}).setdefault(pk, _Found(score=100)).reasons.add(REASON_EMAIL)
    if not found:
        return {}
    ids = sorted({pk for hits in found.values() for pk in hits})
    # Plain tuples, not model instances: a re-import matches every row.
    people: dict[int, tuple[str, int | None, str]] = {}
    pool = str(_("public pool"))
    for id_chunk in _chunks(ids):
        for pk, name, owner_id, full_name, username in (
            Customer.objects.filter(live, pk__in=id_chunk)
            .values_list("pk", "name", "owner_id", "owner__full_name", "owner__username")
            .order_by()
        ):
            people[pk] = (name, owner_id, pool if owner_id is None else (full_name or username))
    visible: set[int] = set()
    if actor is not None:
        for seen_chunk in _chunks(list(people)):
            visible.update(Customer.objects.visible_to(actor).filter(pk__in=seen_chunk).values_list("pk", flat=True))
    result: dict[int, list[DuplicateMatch]] = {}
    for index, hits in found.items():
        matches = []
        for pk, hit in sorted(hits.items()):
            person = people.get(pk)
            if person is None:
                continue
            seen = pk in visible
            matches.append(
                DuplicateMatch(
                    reasons=tuple(r for r in REASON_LABELS if r in hit.reasons),
                    score=100,
                    visible=seen,
                    owner_label=person[2],
                    customer_id=pk if seen else None,
                    name=person[0] if seen else "",
                    in_pool=person[1] is None,
                )
            )
        if matches:
            result[index] = matches
    return result


# ---- the report ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class DuplicateGroup:
    reason: str  # REASON_NAME, REASON_PHONE, REASON_EMAIL or REASON_SIMILAR
    key: str  # the shared name key, phone or e-mail; for similar names, the first name's key
    customers: list[Customer]
    score: int = 100

    @property
    def reason_label(self) -> str:
        return str(REASON_LABELS[self.reason])


REPORT_FUZZY_SCAN = 200  # customers (newest first) whose similar names the report looks up, per page


def report(
    *, actor: User, reason: str = REASON_NAME, page: int = 1, size: int = 20
) -> tuple[list[DuplicateGroup], bool]:
    """Groups of probable duplicates across the company (admins with ``customers.merge``), one
    page of ``size`` groups and whether there is a next one. Exact groups come from GROUP BY on
    the indexed keys; similar names from the index probe of the newest customers (bounded)."""
    if not may_see_report(actor):
        raise PermissionDenied("forbidden", _("You do not have permission to do this."))
    live = Customer.objects.visible_to(actor)
    offset = (page - 1) * size
    keys: list[str]
    if reason == REASON_NAME:
        keys = list(
            live.exclude(name_key="")
            .values("name_key")
            .annotate(n=Count("id"))
            .filter(n__gt=1)
            .order_by("-n", "name_key")
            .values_list("name_key", flat=True)[offset : offset + size + 1]
        )
        members: dict[str, list[Customer]] = {}
        for c in live.filter(name_key__in=keys[:size]).select_related("owner").order_by("pk"):
            members.setdefault(c.name_key, []).append(c)
        return [DuplicateGroup(reason, k, members.get(k, [])) for k in keys[:size]], len(keys) > size
    if reason == REASON_PHONE:
        phones = ContactPhone.objects.filter(contact__customer__in=live)
        keys = list(
            phones.values("e164")
            .annotate(n=Count("contact__customer_id", distinct=True))
            .filter(n__gt=1)
            .order_by("-n", "e164")
            .values_list("e164", flat=True)[offset : offset + size + 1]
        )
        pairs = phones.filter(e164__in=keys[:size]).values_list("e164", "contact__customer_id").distinct()
        return _groups(live, reason, keys[:size], list(pairs)), len(keys) > size
    if reason == REASON_EMAIL:
        contacts = Contact.objects.filter(customer__in=live).exclude(email="")
        keys = list(
            contacts.values("email")
            .annotate(n=Count("customer_id", distinct=True))
            .filter(n__gt=1)
            .order_by("-n", "email")
            .values_list("email", flat=True)[offset : offset + size + 1]
        )
        emails = contacts.filter(email__in=keys[:size]).values_list("email", "customer_id").distinct()
        return _groups(live, reason, keys[:size], list(emails)), len(keys) > size
    if reason == REASON_SIMILAR:
        return _similar_report(actor, live, page, size)
    raise ApplicationError("invalid", _("Unknown kind of duplicate."), details={"reason": ["unknown"]})


def _groups(live: Any, reason: str, keys: list[str], pairs: list[tuple[str, int]]) -> list[DuplicateGroup]:
    customers = {c.pk: c for c in live.filter(pk__in={pk for _k, pk in pairs}).select_related("owner")}
    members: dict[str, list[Customer]] = {}
    for key, pk in sorted(pairs, key=lambda p: p[1]):
        if pk in customers:
            members.setdefault(key, []).append(customers[pk])
    return [DuplicateGroup(reason, k, members.get(k, [])) for k in keys if len(members.get(k, [])) > 1]


def _similar_report(actor: User, live: Any, page: int, size: int) -> tuple[list[DuplicateGroup], bool]:
    """Similar-name pairs among the newest ``REPORT_FUZZY_SCAN`` customers of this page's window:
    one index probe each, so a page costs a bounded number of queries whatever the table's size."""
    conf = current_settings()
    window = list(
        live.select_related("owner").order_by("-created_at", "-id")[
            (page - 1) * REPORT_FUZZY_SCAN : page * REPORT_FUZZY_SCAN + 1
        ]
    )
    has_next = len(window) > REPORT_FUZZY_SCAN
    groups: list[DuplicateGroup] = []
    seen_pairs: set[tuple[int, int]] = set()
    for customer in window[:REPORT_FUZZY_SCAN]:
        sql = _fuzzy_candidate_sql(customer.name, customer.name_key)
        if sql is None:
            continue
        with connection.cursor() as cursor:
            cursor.execute(sql[0], sql[1])
            ids = [pk for (pk,) in cursor.fetchall() if pk != customer.pk]
        if not ids:
            continue
        for other in live.filter(pk__in=ids).select_related("owner"):
            pair = (min(customer.pk, other.pk), max(customer.pk, other.pk))
            score = name_similarity(customer.name, other.name)
            if pair in seen_pairs or score < conf.similarity_threshold or customer.name_key == other.name_key:
                continue
            seen_pairs.add(pair)
            groups.append(DuplicateGroup(REASON_SIMILAR, customer.name_key, [customer, other], score))
        if len(groups) >= size:
            break
    return groups[:size], has_next
