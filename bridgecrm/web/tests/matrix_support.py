"""The authorization matrix's machinery: outcomes, the world it runs in, rows, snapshots.

The rows live in test_authorization_matrix.py and, per domain, in ``matrix_rows/<domain>.py``: each
such module has ``ROWS: list[Case]`` and may have ``build(world)``, which adds its objects to
``world.extra`` inside the module-wide transaction.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from importlib import import_module
from typing import Any

import pytest
from django.apps import apps
from django.conf import settings
from django.core import mail
from django.db import connection, transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from bridgecrm.activities.models import CalendarFeed
from bridgecrm.conftest import Company, build_company
from bridgecrm.conftest import signed_in as sign_in_through_the_page
from bridgecrm.core.models import AuditAction, AuditEntry
from bridgecrm.customers import services as customer_services
from bridgecrm.customers.models import Contact, ContactPhone, Customer, SavedView, Tag
from bridgecrm.pipeline import services as pipeline_services
from bridgecrm.pipeline.models import LostReason, Pipeline, Product, Stage
from bridgecrm.users import services
from bridgecrm.users.models import ApiToken, Role, RolePermission, Team, User, UserSession

pytestmark = pytest.mark.django_db

LOGIN_URL = "/accounts/login/"

ACTORS = ("anonymous", "owner", "teammate", "other_rep", "manager_a", "manager_b", "admin")

# Who may see the owner (a rep of team A) and team A: the owner, their team, its manager, the admin.
SEES_OWNER = frozenset({"owner", "teammate", "manager_a", "admin"})
SEES_TEAM_A = frozenset({"owner", "teammate", "manager_a", "admin"})
# Who sees the security events (sign-ins, tokens…) on the owner's record: the owner and the admin.
SEES_OWNER_SECURITY = frozenset({"owner", "admin"})
# Who sees the owner's customer (no collaborators): the owner, the manager of team A, the admin.
SEES_CUSTOMER = frozenset({"owner", "manager_a", "admin"})


# ---- outcomes ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Outcome:
    label: str
    status: int
    denied: bool = False
    writes: bool = False  # an allowed request that must change the database (else it must not)

    def __repr__(self) -> str:
        return self.label


OK = Outcome("200", 200)
OK_SAVED = Outcome("200+saved", 200, writes=True)
CREATED = Outcome("201+saved", 201, writes=True)
DELETED = Outcome("204+saved", 204, writes=True)
REDIRECT = Outcome("302", 302)
SAVED = Outcome("302+saved", 302, writes=True)
LOGIN = Outcome("302→sign-in", 302, denied=True)
UNAUTHENTICATED = Outcome("401", 401, denied=True)
FORBIDDEN = Outcome("403", 403, denied=True)
NOT_FOUND = Outcome("404", 404, denied=True)


def row(
    *,
    anonymous: Outcome,
    owner: Outcome,
    teammate: Outcome,
    other_rep: Outcome,
    manager_a: Outcome,
    manager_b: Outcome,
    admin: Outcome,
) -> dict[str, Outcome]:
    """One line of the matrix; keyword-only, so no actor can be forgotten."""
    return {
        "anonymous": anonymous,
        "owner": owner,
        "teammate": teammate,
        "other_rep": other_rep,
        "manager_a": manager_a,
        "manager_b": manager_b,
        "admin": admin,
    }


def everyone(outcome: Outcome) -> dict[str, Outcome]:
    return dict.fromkeys(ACTORS, outcome)


def signed_in(outcome: Outcome, *, anonymous: Outcome = LOGIN) -> dict[str, Outcome]:
    return {**dict.fromkeys(ACTORS, outcome), "anonymous": anonymous}


def api_user(outcome: Outcome) -> dict[str, Outcome]:
    return signed_in(outcome, anonymous=UNAUTHENTICATED)


def admin_only(outcome: Outcome, *, anonymous: Outcome = LOGIN) -> dict[str, Outcome]:
    return {**signed_in(FORBIDDEN, anonymous=anonymous), "admin": outcome}


def visible_to(
    seers: frozenset[str], outcome: Outcome, *, anonymous: Outcome = LOGIN, others: Outcome = NOT_FOUND
) -> dict[str, Outcome]:
    return {a: anonymous if a == "anonymous" else outcome if a in seers else others for a in ACTORS}


# ---- the world the matrix runs in ----------------------------------------------------------------


@dataclass
class World:
    """The ``company`` of bridgecrm/conftest.py, built once for the module (see ``world``)."""

    c: Company
    owner_token: ApiToken  # the object of ``users:token_revoke``
    rep_role: Role
    session_keys: dict[str, str]  # actor → the session made by signing in through the sign-in page
    token_secrets: dict[str, str]  # actor → a personal API token
    customer: Customer  # owned by ``owner`` (team A), shared with nobody
    contact: Contact  # the customer's contact
    saved_view: SavedView  # the owner's saved list view, shared with team A
    product: Product  # company settings (not owned): read by all, changed by admins
    pipeline: Pipeline  # the default pipeline, with the six default stages
    stage: Stage  # its second open stage (one of four: deleting it keeps the invariants)
    lost_reason: LostReason
    # Objects the per-domain row modules add (see ``ROW_MODULES``): deals, follow-ups, quotes…
    extra: dict[str, Any] = field(default_factory=dict)

    def user(self, actor: str) -> User | None:
        return None if actor == "anonymous" else getattr(self.c, actor)


@pytest.fixture(scope="module")
def world_once(django_db_setup: None, django_db_blocker: Any) -> Iterator[World]:
    """Built once, inside a transaction that is rolled back after the module; each test runs in a
    savepoint within it (as ``TestCase.setUpTestData`` does), so 300-odd cells stay fast."""
    with django_db_blocker.unblock(), transaction.atomic():
        company = build_company()
        owner_token = services.token_create(actor=company.owner, name="owner's token").token
        customer = customer_services.customer_create(actor=company.owner, name="Matrix Customer 矩阵", tags=["vip"])
        contact = customer_services.contact_create(
            actor=company.owner, customer=customer, name="Matrix Contact", phones=["13800138000"]
        )
        saved_view = customer_services.saved_view_save(
            actor=company.owner, name="Matrix view", query="stage=lead", shared_with_team=True
        )
        # token_create audits a security event on the owner's record: the probes below look for it.
        assert AuditEntry.objects.for_object(company.owner).filter(action=AuditAction.SECURITY).exists()
        users = {actor: getattr(company, actor) for actor in ACTORS if actor != "anonymous"}
        # Sign in (which writes an audit row and a session) and make tokens before any snapshot.
        session_keys = {
            a: sign_in_through_the_page(u).cookies[settings.SESSION_COOKIE_NAME].value for a, u in users.items()
        }
        token_secrets = {a: services.token_create(actor=u, name="matrix").secret for a, u in users.items()}
        rep = Role.objects.get(code="rep")
        product = pipeline_services.product_create(
            actor=company.admin, sku="MX-001", name="Matrix licence", category="software", list_price="1000.00"
        )
        pipeline = pipeline_services.pipeline_create(actor=company.admin, name="Matrix pipeline")
        stage = pipeline.stages.get(order=2)
        lost_reason = pipeline_services.lost_reason_create(actor=company.admin, name="Matrix reason")
        world = World(
            company,
            owner_token,
            rep,
            session_keys,
            token_secrets,
            customer,
            contact,
            saved_view,
            product,
            pipeline,
            stage,
            lost_reason,
        )
        for module in row_modules():
            build = getattr(module, "build", None)
            if build is not None:
                build(world)
        # A token or calendar feed records its use at most once a minute; marked as used "later" here,
        # none of them writes during the run, so a cell that writes nothing else moves no counter
        # and skips the full snapshots (see test_matrix). The column is left out of the snapshots.
        # The same for the sessions' last-seen mark, which the session policy touches once a minute.
        later = timezone.now() + dt.timedelta(days=1)
        ApiToken.objects.update(last_used_at=later)
        CalendarFeed.objects.update(last_used_at=later)
        store = import_module(settings.SESSION_ENGINE).SessionStore
        for key in session_keys.values():
            session = store(session_key=key)
            session["bridge_last_seen"] = later.timestamp()
            session.save()
        yield world
        transaction.set_rollback(True)


@pytest.fixture
def world(world_once: World, db: None) -> World:
    for user in (world_once.user(actor) for actor in ACTORS):
        if user is not None:
            user.forget_cached_permissions()  # a test may have changed a role (rolled back since)
    return world_once


# The per-domain row modules under matrix_rows/, in the order their rows join the matrix.
ROW_MODULES: tuple[str, ...] = (
    "deals",
    "activities",
    "quotes",
    "contracts",
    "settings",
    "customers_extra",
    "tiers",
    "pool",
    "dedup",
    "customization",
    "imports",
    "collab",
    "training",
    "scorecards",
    "targets",
    "incentives",
    "costs",
)


def row_modules() -> list[Any]:
    import importlib

    return [importlib.import_module(f"bridgecrm.web.tests.matrix_rows.{name}") for name in ROW_MODULES]


Probe = Callable[[World, Any], bool]


def _ctx(response: Any, key: str) -> Any:
    assert response.context is not None, "the response rendered no template"
    assert key in response.context, f"no {key!r} in the page context"
    return response.context[key]


def web_lists_owner(key: str) -> Probe:
    return lambda w, r: w.c.owner.pk in {u.pk for u in _ctx(r, key)}


def web_lists_team_a(key: str) -> Probe:
    return lambda w, r: w.c.team_a.pk in {t.pk for t in _ctx(r, key)}


def web_timeline_has_security(w: World, response: Any) -> bool:
    return any(e.action == AuditAction.SECURITY for e in _ctx(response, "timeline").entries)


def api_lists(attr: str) -> Probe:
    return lambda w, r: getattr(w.c, attr).pk in {item["id"] for item in r.json()["items"]}


def web_lists_customer(w: World, response: Any) -> bool:
    return w.customer.pk in {c.pk for c in _ctx(response, "customers")}


def api_lists_customer(w: World, response: Any) -> bool:
    return w.customer.pk in {item["id"] for item in response.json()["items"]}


def api_trail_has_security(w: World, response: Any) -> bool:
    return any(item["action"] == AuditAction.SECURITY for item in response.json()["items"])


# ---- the matrix ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    route: str  # the URL name, as the resolver knows it ("users:person_detail", "api-1.0.0:me")
    method: str
    url: Callable[[World], str]
    expect: dict[str, Outcome]
    data: Callable[[World], dict[str, Any]] | None = None
    operation: str = ""  # for the Ninja API: "GET /api/v1/users/{user_id}", as in the OpenAPI paths
    variant: str = ""
    probe: Probe | None = None  # on a 200: does the response show the probed record?
    probe_seen_by: frozenset[str] = frozenset()

    @property
    def is_api(self) -> bool:
        return self.route.startswith("api-")

    @property
    def id(self) -> str:
        name = self.operation or f"{self.route} {self.method}"
        return f"{name} {self.variant}".strip()


def url(name: str, **kwargs: Callable[[World], Any]) -> Callable[[World], str]:
    return lambda w: reverse(name, kwargs={k: f(w) for k, f in kwargs.items()})


def owner_pk(w: World) -> int:
    return w.c.owner.pk


def team_a_pk(w: World) -> int:
    return w.c.team_a.pk


def role_capabilities_without_rep_api(w: World) -> dict[str, Any]:
    """The roles page's form as shown, with ``api.use`` unticked for the rep role."""
    data: dict[str, Any] = {"action": "save"}
    for role_pk, capability in RolePermission.objects.values_list("role_id", "capability"):
        if not (role_pk == w.rep_role.pk and capability == "api.use"):
            data.setdefault(f"role-{role_pk}", []).append(capability)
    return data


def customer_pk(w: World) -> int:
    return w.customer.pk


def contact_pk(w: World) -> int:
    return w.contact.pk


def customer_edit_data(w: World) -> dict[str, Any]:
    return {
        "name": "Matrix Customer (renamed)",
        "kind": "company",
        "lifecycle_stage": "prospect",
        "country": "CN",
        "province": "GD",
        "currency": "CNY",
        "tags": "vip, matrix",
        "owner": w.c.owner.pk,
        "team": w.c.team_a.pk,
        "version": "1",
    }


def product_pk(w: World) -> int:
    return w.product.pk


def pipeline_pk(w: World) -> int:
    return w.pipeline.pk


def stage_pk(w: World) -> int:
    return w.stage.pk


def lost_reason_pk(w: World) -> int:
    return w.lost_reason.pk


def product_data(w: World) -> dict[str, Any]:
    return {"sku": "MX-002", "name": "Matrix service", "category": "service", "unit": "day"} | {
        "list_price": "2500.00",
        "currency": "CNY",
        "is_active": "on",
    }


def stage_edit_data(w: World) -> dict[str, Any]:
    prefix = f"stage-{w.stage.pk}-"
    values = {"name": "Matrix stage", "kind": "open", "probability": "35", "stale_after_days": "21"}
    values |= {"forecast_category": "best_case", "gate_fields": ["amount", "contact"]}
    return {prefix + k: v for k, v in values.items()}


def _reset_link(w: World) -> str:
    uid = urlsafe_base64_encode(force_bytes(w.c.owner.pk))
    return reverse("users:password_reset_confirm", kwargs={"uidb64": uid, "token": "cz6mnd-0123456789abcdef"})


# ---- the database snapshot -----------------------------------------------------------------------

# Columns left out: they move on every use and say nothing about who may do what.
TABLES: dict[str, tuple[type[Any], tuple[str, ...]]] = {
    "users.User": (User, ()),
    "users.Team": (Team, ()),
    "users.Role": (Role, ()),
    "users.RolePermission": (RolePermission, ()),
    "users.ApiToken": (ApiToken, ("last_used_at",)),
    "users.UserSession": (UserSession, ("session_data", "expire_date")),
    "core.AuditEntry": (AuditEntry, ()),
    "customers.Customer": (Customer, ()),
    "customers.Customer.tags": (Customer.tags.through, ()),
    "customers.Customer.collaborators": (Customer.collaborators.through, ()),
    "customers.Tag": (Tag, ()),
    "customers.Contact": (Contact, ()),
    "customers.ContactPhone": (ContactPhone, ()),
    "customers.SavedView": (SavedView, ()),
    "pipeline.Product": (Product, ()),
    "pipeline.Pipeline": (Pipeline, ()),
    "pipeline.Stage": (Stage, ()),
    "pipeline.LostReason": (LostReason, ()),
}
# Every other table of the domain apps (deals, quotes, contracts, payments, follow-ups, tasks…) and
# their many-to-many tables, so a new model cannot escape the "nothing changed" check.
SKIPPED_COLUMNS: dict[str, tuple[str, ...]] = {"activities.CalendarFeed": ("last_used_at",)}
for _app in (
    "customers",
    "customization",
    "pipeline",
    "contracts",
    "activities",
    "tiers",
    "pool",
    "collab",
    "imports",
    "training",
    "scorecards",
    "targets",
    "incentives",
):
    for _model in apps.get_app_config(_app).get_models():
        _label = _model._meta.label
        TABLES.setdefault(_label, (_model, SKIPPED_COLUMNS.get(_label, ())))
        for _m2m in _model._meta.local_many_to_many:
            TABLES.setdefault(f"{_label}.{_m2m.name}", (_m2m.remote_field.through, ()))


def _table_text(label: str, model: type[Any], skipped: tuple[str, ...]) -> tuple[str, str]:
    """A SELECT of (label, row count, every row as text in primary-key order) for one table; the rows
    are rendered by the database, so a snapshot is one round trip and no Python per row."""
    quote = connection.ops.quote_name
    columns = [quote(f.column) for f in model._meta.concrete_fields if f.attname not in skipped]
    table, pk = quote(model._meta.db_table), quote(model._meta.pk.column)
    if connection.vendor == "postgresql":
        row = f"ROW({', '.join(columns)})::text"
        return (
            f"SELECT %s, COUNT(*), COALESCE(STRING_AGG({row}, E'\\n' ORDER BY {pk}), '') FROM {table}",
            label,
        )
    row = " || ',' || ".join(f"QUOTE({c})" for c in columns)
    return (
        f"SELECT %s, COUNT(*), COALESCE(GROUP_CONCAT(r, CHAR(10)), '') "
        f"FROM (SELECT {row} AS r FROM {table} ORDER BY {pk})",
        label,
    )


_SNAPSHOT_SQL: tuple[str, list[str]] | None = None


def _snapshot_sql() -> tuple[str, list[str]]:
    global _SNAPSHOT_SQL
    if _SNAPSHOT_SQL is None:
        parts = [_table_text(label, model, skipped) for label, (model, skipped) in TABLES.items()]
        _SNAPSHOT_SQL = (
            " UNION ALL ".join(f"SELECT * FROM ({sql}) AS t{i}" for i, (sql, _l) in enumerate(parts)),
            [label for _s, label in parts],
        )
    return _SNAPSHOT_SQL


def change_count() -> int:
    """Rows this connection has inserted, updated or deleted so far (SQLite: since it opened;
    PostgreSQL: in the current transaction). Unchanged across a request means the request wrote
    nothing, so the full snapshots are only taken when it moved (a no-op UPDATE moves it too)."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SELECT COALESCE(SUM(n_tup_ins + n_tup_upd + n_tup_del), 0) FROM pg_stat_xact_user_tables")
        else:
            cursor.execute("SELECT total_changes()")
        return int(cursor.fetchone()[0])


@dataclass(frozen=True, eq=False)
class Snapshot:
    """Row counts and a SHA-256 of every row of the tables above, read in one query (7,000-odd of
    these per run: two per matrix cell)."""

    digests: dict[str, tuple[int, str]]  # table → (row count, SHA-256 of its rows)
    rows: dict[str, list[str]]  # kept to say what changed

    @classmethod
    def take(cls) -> Snapshot:
        digests: dict[str, tuple[int, str]] = {}
        rows: dict[str, list[str]] = {}
        sql, labels = _snapshot_sql()
        with connection.cursor() as cursor:
            cursor.execute(sql, labels)
            for label, count, text in cursor.fetchall():
                rows[label] = text.split("\n") if count else []
                digests[label] = (count, hashlib.sha256(text.encode()).hexdigest())
        outbox = [repr((m.subject, m.to)) for m in mail.outbox]
        rows["mail.outbox"] = outbox
        digests["mail.outbox"] = (len(outbox), hashlib.sha256("\n".join(outbox).encode()).hexdigest())
        return cls(digests=digests, rows=rows)

    def __repr__(self) -> str:
        return f"Snapshot({ {label: count for label, (count, _digest) in self.digests.items()} })"

    def same_as(self, other: Snapshot) -> bool:
        return self.digests == other.digests

    def diff(self, other: Snapshot) -> str:
        lines = []
        for label, digest in self.digests.items():
            if other.digests[label] != digest:
                before, after = set(self.rows[label]), set(other.rows[label])
                lines.append(f"{label}: -{sorted(before - after)} +{sorted(after - before)}")
        return "\n".join(lines)
