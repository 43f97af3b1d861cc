"""The authorization matrix: every route and every API operation, tried by every kind of actor.

One declarative row per (route, method[, variant]) says what each actor must get:

    anonymous · owner (a rep in team A) · teammate (another rep in team A) · other_rep (a rep in team B)
    manager_a (manages the owner's team) · manager_b (manages another team) · admin

The "object" of a person/user route is the ``owner``; of a team route, ``team_a``; of the audit-trail
API, ``users.user/<owner.pk>``.  Objects one may not see answer 404, functions one may not use 403,
anonymous visitors are sent to the sign-in page (web) or get 401 (API, bearer tokens only).

Every request is made after signing in (which writes an audit row and a session), between two
snapshots of the main tables: a denied request must leave them exactly as they were, an allowed
read must leave them too, and an allowed write must change them (so the form data is known to be
valid and the denial above is not a validation error in disguise).

Two more tests walk the URL resolver and the Ninja API and fail when a route or an operation has
no row here: a new view cannot ship without deciding who may use it.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import pytest
from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.core import mail
from django.db import connection, transaction
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, resolve, reverse
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from bridgecrm.conftest import Company, build_company
from bridgecrm.conftest import signed_in as sign_in_through_the_page
from bridgecrm.core.models import AuditAction, AuditEntry
from bridgecrm.customers import services as customer_services
from bridgecrm.customers.models import Contact, ContactPhone, Customer, SavedView, Tag
from bridgecrm.pipeline import services as pipeline_services
from bridgecrm.pipeline.models import LostReason, Pipeline, Product, Stage
from bridgecrm.users import services
from bridgecrm.users.models import ApiToken, Role, RolePermission, Team, User, UserSession
from bridgecrm.users.tests.factories import PASSWORD

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
        yield World(
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
        transaction.set_rollback(True)


@pytest.fixture
def world(world_once: World, db: None) -> World:
    for user in (world_once.user(actor) for actor in ACTORS):
        if user is not None:
            user.forget_cached_permissions()  # a test may have changed a role (rolled back since)
    return world_once


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


MATRIX: list[Case] = [
    # -- signing in and out, language, password reset: public functions, no object ---------------
    # Signed-in users are sent home.
    Case("users:login", "GET", url("users:login"), signed_in(REDIRECT, anonymous=OK)),
    # Audits sign_out and ends the session; anonymous visitors are just sent to the sign-in page.
    Case("users:logout", "POST", url("users:logout"), signed_in(SAVED, anonymous=REDIRECT)),
    Case(
        "users:set_language",
        "POST",
        url("users:set_language"),
        signed_in(SAVED, anonymous=REDIRECT),  # anonymous: a cookie only
        data=lambda w: {"language": "zh-hans", "next": "/"},
    ),
    Case("users:password_reset", "GET", url("users:password_reset"), everyone(OK)),
    Case("users:password_reset_done", "GET", url("users:password_reset_done"), everyone(OK)),
    Case(
        "users:password_reset_confirm",
        "POST",
        _reset_link,
        everyone(OK),  # "this link is not valid": nobody sets the owner's password without the e-mailed token
        data=lambda w: {"new_password1": "Matrix-takeover-9137", "new_password2": "Matrix-takeover-9137"},
        variant="bad token",
    ),
    Case("users:password_reset_complete", "GET", url("users:password_reset_complete"), everyone(OK)),
    # -- personal settings: always one's own ---------------------------------------------------
    Case("users:settings_profile", "GET", url("users:settings_profile"), signed_in(OK)),
    Case(
        "users:settings_profile",
        "POST",
        url("users:settings_profile"),
        signed_in(SAVED),
        data=lambda w: {
            "full_name": "Matrix Name",
            "email": "matrix@example.com",
            "phone": "+86 10 5555 0100",
            "language": "en",
            "time_zone": "Europe/Paris",
        },
    ),
    Case("users:settings_password", "GET", url("users:settings_password"), signed_in(OK)),
    Case(
        "users:settings_password",
        "POST",
        url("users:settings_password"),
        signed_in(SAVED),
        data=lambda w: {"current_password": PASSWORD, "new_password": "Matrix-new-passphrase-4711"},
    ),
    Case("users:settings_tokens", "GET", url("users:settings_tokens"), signed_in(OK)),
    Case(
        "users:settings_tokens",
        "POST",
        url("users:settings_tokens"),
        signed_in(OK_SAVED),  # the page shows the new secret once
        data=lambda w: {"name": "matrix token", "expires_in_days": "30"},
    ),
    Case(
        "users:token_revoke",
        "POST",
        url("users:token_revoke", token_id=lambda w: w.owner_token.pk),
        # A token is personal: even the admin does not see another user's token on this page.
        row(
            anonymous=LOGIN,
            owner=SAVED,
            teammate=NOT_FOUND,
            other_rep=NOT_FOUND,
            manager_a=NOT_FOUND,
            manager_b=NOT_FOUND,
            admin=NOT_FOUND,
        ),
        variant="owner's token",
    ),
    Case("users:settings_sessions", "GET", url("users:settings_sessions"), signed_in(OK)),
    Case("users:sessions_end_others", "POST", url("users:sessions_end_others"), signed_in(SAVED)),
    # -- home, search, people and teams (as visible) --------------------------------------------
    Case("web:home", "GET", url("web:home"), signed_in(OK)),
    Case(
        "web:search",
        "GET",
        url("web:search"),
        signed_in(OK),
        data=lambda w: {"q": w.c.owner.username},
        variant="q=owner",
        probe=web_lists_owner("users"),
        probe_seen_by=SEES_OWNER,
    ),
    Case(
        "web:search",
        "GET",
        url("web:search"),
        signed_in(OK),
        data=lambda w: {"q": w.c.team_a.name},
        variant="q=team A",
        probe=web_lists_team_a("teams"),
        probe_seen_by=SEES_TEAM_A,
    ),
    Case(
        "users:people",
        "GET",
        url("users:people"),
        signed_in(OK),
        probe=web_lists_owner("users"),
        probe_seen_by=SEES_OWNER,
    ),
    Case(
        "users:person_detail",
        "GET",
        url("users:person_detail", user_id=owner_pk),
        visible_to(SEES_OWNER, OK),
        probe=web_timeline_has_security,
        probe_seen_by=SEES_OWNER_SECURITY,
    ),
    Case("users:team_detail", "GET", url("users:team_detail", team_id=team_a_pk), visible_to(SEES_TEAM_A, OK)),
    Case(
        "users:team_detail",
        "POST",
        url("users:team_detail", team_id=team_a_pk),
        # Those who see the team may not change it (403); the others do not see it (404).
        row(
            anonymous=LOGIN,
            owner=FORBIDDEN,
            teammate=FORBIDDEN,
            other_rep=NOT_FOUND,
            manager_a=FORBIDDEN,
            manager_b=NOT_FOUND,
            admin=SAVED,
        ),
        data=lambda w: {
            "name": "Team A (renamed)",
            "kind": "team",
            "parent": w.c.region.pk,
            "manager": w.c.manager_a.pk,
            "is_active": "on",
        },
    ),
    # -- customers and contacts (as visible) --------------------------------------------------------
    Case(
        "customers:list",
        "GET",
        url("customers:list"),
        signed_in(OK),
        probe=web_lists_customer,
        probe_seen_by=SEES_CUSTOMER,
    ),
    Case(
        "customers:list",
        "GET",
        url("customers:list"),
        signed_in(OK),
        data=lambda w: {"q": "13800138000"},
        variant="q=contact phone",
        probe=web_lists_customer,
        probe_seen_by=SEES_CUSTOMER,
    ),
    Case("customers:create", "GET", url("customers:create"), signed_in(OK)),
    Case(
        "customers:create",
        "POST",
        url("customers:create"),
        signed_in(SAVED),
        data=lambda w: (
            {"name": "Matrix new customer", "kind": "company", "lifecycle_stage": "lead", "country": "CN"}
            | {"currency": "CNY"}
        ),
    ),
    Case("customers:detail", "GET", url("customers:detail", customer_id=customer_pk), visible_to(SEES_CUSTOMER, OK)),
    Case("customers:edit", "GET", url("customers:edit", customer_id=customer_pk), visible_to(SEES_CUSTOMER, OK)),
    Case(
        "customers:edit",
        "POST",
        url("customers:edit", customer_id=customer_pk),
        visible_to(SEES_CUSTOMER, SAVED),
        data=customer_edit_data,
    ),
    Case(
        "customers:delete",
        "POST",
        url("customers:delete", customer_id=customer_pk),
        visible_to(SEES_CUSTOMER, SAVED),  # the owner, the manager over them, the admin
    ),
    Case(
        "customers:contact_create",
        "GET",
        url("customers:contact_create", customer_id=customer_pk),
        visible_to(SEES_CUSTOMER, OK),
    ),
    Case(
        "customers:contact_create",
        "POST",
        url("customers:contact_create", customer_id=customer_pk),
        # Attaching a contact to a customer one does not see: 404, nothing written.
        visible_to(SEES_CUSTOMER, SAVED),
        data=lambda w: {"name": "Matrix new contact", "phones": "010-12345678\n0755 1234 5678", "email": "a@b.cn"},
    ),
    Case(
        "customers:contact_edit",
        "GET",
        url("customers:contact_edit", customer_id=customer_pk, contact_id=contact_pk),
        visible_to(SEES_CUSTOMER, OK),
    ),
    Case(
        "customers:contact_edit",
        "POST",
        url("customers:contact_edit", customer_id=customer_pk, contact_id=contact_pk),
        visible_to(SEES_CUSTOMER, SAVED),
        data=lambda w: {"name": "Matrix Contact", "title": "CTO", "phones": "+86 138-0013-8000", "is_primary": "on"},
    ),
    Case(
        "customers:contact_delete",
        "POST",
        url("customers:contact_delete", customer_id=customer_pk, contact_id=contact_pk),
        visible_to(SEES_CUSTOMER, SAVED),
    ),
    Case(
        "customers:view_save",
        "POST",
        url("customers:view_save"),
        signed_in(SAVED),
        data=lambda w: {"name": "My leads", "query": "stage=lead&sort=name", "shared_with_team": "on"},
    ),
    Case(
        "customers:view_delete",
        "POST",
        url("customers:view_delete", view_id=lambda w: w.saved_view.pk),
        # A saved view is deleted by its owner only; the team it is shared with does not see a delete.
        visible_to(frozenset({"owner"}), SAVED),
    ),
    # -- admin area ------------------------------------------------------------------------------
    Case("users:manage_users", "GET", url("users:manage_users"), admin_only(OK)),
    Case("users:user_invite", "GET", url("users:user_invite"), admin_only(OK)),
    Case(
        "users:user_invite",
        "POST",
        url("users:user_invite"),
        admin_only(SAVED),
        data=lambda w: {
            "username": "matrix_invitee",
            "full_name": "Matrix Invitee",
            "email": "invitee@example.com",
            "team": w.c.team_a.pk,
            "role": w.rep_role.pk,
        },
    ),
    Case(
        "users:user_edit",
        "POST",
        url("users:user_edit", user_id=owner_pk),
        # The capability is checked before the lookup: 403 for every non-admin, visible or not
        # (no leak: the answer does not depend on whether the user exists).
        admin_only(SAVED),
        data=lambda w: {"team": w.c.team_a.pk, "role": w.rep_role.pk, "deactivate_at": "2031-01-02 09:00"},
    ),
    Case(
        "users:user_deactivate",
        "POST",
        url("users:user_deactivate", user_id=owner_pk),
        row(
            anonymous=LOGIN,
            owner=FORBIDDEN,  # not even on oneself
            teammate=FORBIDDEN,
            other_rep=NOT_FOUND,
            manager_a=FORBIDDEN,  # managing a team is not managing users
            manager_b=NOT_FOUND,
            admin=SAVED,
        ),
    ),
    Case(
        "users:user_reactivate",
        "POST",
        url("users:user_reactivate", user_id=owner_pk),
        row(
            anonymous=LOGIN,
            owner=FORBIDDEN,  # not even on oneself
            teammate=FORBIDDEN,
            other_rep=NOT_FOUND,
            manager_a=FORBIDDEN,  # managing a team is not managing users
            manager_b=NOT_FOUND,
            admin=REDIRECT,  # the owner is active: nothing to change
        ),
    ),
    Case(
        "users:user_reset",
        "POST",
        url("users:user_reset", user_id=owner_pk),
        row(
            anonymous=LOGIN,
            owner=FORBIDDEN,  # not even on oneself
            teammate=FORBIDDEN,
            other_rep=NOT_FOUND,
            manager_a=FORBIDDEN,  # managing a team is not managing users
            manager_b=NOT_FOUND,
            admin=SAVED,  # audits password_reset_sent
        ),
    ),
    Case("users:manage_teams", "GET", url("users:manage_teams"), admin_only(OK)),
    Case(
        "users:manage_teams",
        "POST",
        url("users:manage_teams"),
        admin_only(SAVED),
        data=lambda w: {"name": "Matrix team", "kind": "team", "parent": w.c.region.pk, "is_active": "on"},
    ),
    Case("users:manage_roles", "GET", url("users:manage_roles"), admin_only(OK)),
    Case(
        "users:manage_roles",
        "POST",
        url("users:manage_roles"),
        admin_only(SAVED),
        data=lambda w: {"action": "create", "code": "matrix-role", "name_en": "Matrix", "name_zh": "矩阵"},
        variant="create",
    ),
    Case(
        "users:manage_roles",
        "POST",
        url("users:manage_roles"),
        admin_only(SAVED),
        data=role_capabilities_without_rep_api,
        variant="capabilities",
    ),
    Case(
        "users:audit_search",
        "GET",
        url("users:audit_search"),
        admin_only(OK),
        data=lambda w: {"user": w.c.owner.pk},
    ),
    # -- products (read by every signed-in user), pipelines, stages, lost reasons (admins) ---------
    Case("pipeline:products", "GET", url("pipeline:products"), signed_in(OK)),
    Case("pipeline:product_create", "GET", url("pipeline:product_create"), admin_only(OK)),
    Case("pipeline:product_create", "POST", url("pipeline:product_create"), admin_only(SAVED), data=product_data),
    Case("pipeline:product_edit", "GET", url("pipeline:product_edit", product_id=product_pk), admin_only(OK)),
    Case(
        "pipeline:product_edit",
        "GET",
        url("pipeline:product_edit", product_id=lambda w: w.product.pk + 1000),
        admin_only(NOT_FOUND),  # the capability is checked first: 403 for the others, missing or not
        variant="missing",
    ),
    Case(
        "pipeline:product_edit",
        "POST",
        url("pipeline:product_edit", product_id=product_pk),
        admin_only(SAVED),
        data=product_data,
    ),
    Case(
        "pipeline:product_deactivate",
        "POST",
        url("pipeline:product_deactivate", product_id=product_pk),
        admin_only(SAVED),
    ),
    Case("pipeline:pipelines", "GET", url("pipeline:pipelines"), admin_only(OK)),
    Case(
        "pipeline:pipelines",
        "POST",
        url("pipeline:pipelines"),
        admin_only(SAVED),
        data=lambda w: {"name": "Matrix new pipeline", "is_active": "on"},
    ),
    Case(
        "pipeline:pipeline_detail",
        "GET",
        url("pipeline:pipeline_detail", pipeline_id=pipeline_pk),
        admin_only(OK),
    ),
    Case(
        "pipeline:pipeline_detail",
        "POST",
        url("pipeline:pipeline_detail", pipeline_id=pipeline_pk),
        admin_only(SAVED),
        data=lambda w: {"name": "Matrix pipeline (renamed)", "is_default": "on", "is_active": "on"},
    ),
    Case(
        "pipeline:stage_add",
        "POST",
        url("pipeline:stage_add", pipeline_id=pipeline_pk),
        admin_only(SAVED),
        data=lambda w: (
            {"name": "Matrix new stage", "kind": "open", "probability": "50"}
            | {"forecast_category": "pipeline", "gate_fields": ["amount"]}
        ),
    ),
    Case(
        "pipeline:stage_edit",
        "POST",
        url("pipeline:stage_edit", pipeline_id=pipeline_pk, stage_id=stage_pk),
        admin_only(SAVED),
        data=stage_edit_data,
    ),
    Case(
        "pipeline:stage_move",
        "POST",
        url("pipeline:stage_move", pipeline_id=pipeline_pk, stage_id=stage_pk),
        admin_only(SAVED),
        data=lambda w: {"direction": "down"},
    ),
    Case(
        "pipeline:stage_delete",
        "POST",
        url("pipeline:stage_delete", pipeline_id=pipeline_pk, stage_id=stage_pk),
        admin_only(SAVED),
    ),
    Case("pipeline:lost_reasons", "GET", url("pipeline:lost_reasons"), admin_only(OK)),
    Case(
        "pipeline:lost_reasons",
        "POST",
        url("pipeline:lost_reasons"),
        admin_only(SAVED),
        data=lambda w: {"name": "Matrix new reason", "is_active": "on"},
    ),
    Case(
        "pipeline:lost_reason_edit",
        "POST",
        url("pipeline:lost_reason_edit", reason_id=lost_reason_pk),
        admin_only(SAVED),
        data=lambda w: {f"r{w.lost_reason.pk}-name": "Matrix reason (renamed)"},
    ),
    # -- the REST API: bearer tokens only -----------------------------------------------------------
    # The schema and its viewer are public documentation (Ninja's default): no data, no object.
    Case("api-1.0.0:openapi-json", "GET", url("api-1.0.0:openapi-json"), everyone(OK)),
    Case("api-1.0.0:openapi-view", "GET", url("api-1.0.0:openapi-view"), everyone(OK)),
    Case("api-1.0.0:me", "GET", url("api-1.0.0:me"), api_user(OK), operation="GET /api/v1/me"),
    Case(
        "api-1.0.0:me_update",
        "PATCH",
        url("api-1.0.0:me_update"),
        api_user(OK_SAVED),
        data=lambda w: {"full_name": "Matrix Name", "time_zone": "Europe/Paris"},
        operation="PATCH /api/v1/me",
    ),
    Case(
        "api-1.0.0:users_list",
        "GET",
        url("api-1.0.0:users_list"),
        api_user(OK),
        operation="GET /api/v1/users",
        probe=api_lists("owner"),
        probe_seen_by=SEES_OWNER,
    ),
    Case(
        "api-1.0.0:user_detail",
        "GET",
        url("api-1.0.0:user_detail", user_id=owner_pk),
        visible_to(SEES_OWNER, OK, anonymous=UNAUTHENTICATED),
        operation="GET /api/v1/users/{user_id}",
    ),
    Case(
        "api-1.0.0:teams_list",
        "GET",
        url("api-1.0.0:teams_list"),
        api_user(OK),
        operation="GET /api/v1/teams",
        probe=api_lists("team_a"),
        probe_seen_by=SEES_TEAM_A,
    ),
    Case(
        "api-1.0.0:team_detail",
        "GET",
        url("api-1.0.0:team_detail", team_id=team_a_pk),
        visible_to(SEES_TEAM_A, OK, anonymous=UNAUTHENTICATED),
        operation="GET /api/v1/teams/{team_id}",
    ),
    Case(
        "api-1.0.0:record_trail",
        "GET",
        url("api-1.0.0:record_trail", object_type=lambda w: "users.user", object_id=owner_pk),
        visible_to(SEES_OWNER, OK, anonymous=UNAUTHENTICATED),
        operation="GET /api/v1/audit/{object_type}/{object_id}",
        variant="users.user/owner",
        probe=api_trail_has_security,
        probe_seen_by=SEES_OWNER_SECURITY,
    ),
    Case(
        "api-1.0.0:record_trail",
        "GET",
        url("api-1.0.0:record_trail", object_type=lambda w: "users.team", object_id=team_a_pk),
        visible_to(SEES_TEAM_A, OK, anonymous=UNAUTHENTICATED),
        operation="GET /api/v1/audit/{object_type}/{object_id}",
        variant="users.team/team_a",
    ),
    Case(
        "api-1.0.0:record_trail",
        "GET",
        url("api-1.0.0:record_trail", object_type=lambda w: "users.role", object_id=lambda w: w.rep_role.pk),
        # Roles have no row visibility of their own: their history is for auditors only.
        visible_to(frozenset({"admin"}), OK, anonymous=UNAUTHENTICATED),
        operation="GET /api/v1/audit/{object_type}/{object_id}",
        variant="users.role/rep",
    ),
    # -- customers over the API: the same visibility as the pages --------------------------------
    Case(
        "api-1.0.0:customers_list",
        "GET",
        url("api-1.0.0:customers_list"),
        api_user(OK),
        operation="GET /api/v1/customers",
        probe=api_lists_customer,
        probe_seen_by=SEES_CUSTOMER,
    ),
    Case(
        "api-1.0.0:customer_create",
        "POST",
        url("api-1.0.0:customer_create"),
        api_user(CREATED),
        data=lambda w: {"name": "Matrix API customer", "lifecycle_stage": "prospect", "tags": ["api"]},
        operation="POST /api/v1/customers",
    ),
    Case(
        "api-1.0.0:customer_detail",
        "GET",
        url("api-1.0.0:customer_detail", customer_id=customer_pk),
        visible_to(SEES_CUSTOMER, OK, anonymous=UNAUTHENTICATED),
        operation="GET /api/v1/customers/{customer_id}",
    ),
    Case(
        "api-1.0.0:customer_update",
        "PATCH",
        url("api-1.0.0:customer_update", customer_id=customer_pk),
        visible_to(SEES_CUSTOMER, OK_SAVED, anonymous=UNAUTHENTICATED),
        data=lambda w: {"lifecycle_stage": "customer", "version": 1},
        operation="PATCH /api/v1/customers/{customer_id}",
    ),
    Case(
        "api-1.0.0:customer_delete",
        "DELETE",
        url("api-1.0.0:customer_delete", customer_id=customer_pk),
        visible_to(SEES_CUSTOMER, DELETED, anonymous=UNAUTHENTICATED),
        operation="DELETE /api/v1/customers/{customer_id}",
    ),
    Case(
        "api-1.0.0:contacts_list",
        "GET",
        url("api-1.0.0:contacts_list", customer_id=customer_pk),
        visible_to(SEES_CUSTOMER, OK, anonymous=UNAUTHENTICATED),
        operation="GET /api/v1/customers/{customer_id}/contacts",
    ),
    Case(
        "api-1.0.0:contact_create",
        "POST",
        url("api-1.0.0:contact_create", customer_id=customer_pk),
        # Attaching a contact to a customer one does not see: 404, nothing written.
        visible_to(SEES_CUSTOMER, CREATED, anonymous=UNAUTHENTICATED),
        data=lambda w: {"name": "Matrix API contact", "phones": ["+86 138-0013-8000"], "email": "C@Example.com"},
        operation="POST /api/v1/customers/{customer_id}/contacts",
    ),
    Case(
        "api-1.0.0:contact_update",
        "PATCH",
        url("api-1.0.0:contact_update", customer_id=customer_pk, contact_id=contact_pk),
        visible_to(SEES_CUSTOMER, OK_SAVED, anonymous=UNAUTHENTICATED),
        data=lambda w: {"title": "CEO", "phones": ["010-12345678"]},
        operation="PATCH /api/v1/customers/{customer_id}/contacts/{contact_id}",
    ),
    Case(
        "api-1.0.0:contact_delete",
        "DELETE",
        url("api-1.0.0:contact_delete", customer_id=customer_pk, contact_id=contact_pk),
        visible_to(SEES_CUSTOMER, DELETED, anonymous=UNAUTHENTICATED),
        operation="DELETE /api/v1/customers/{customer_id}/contacts/{contact_id}",
    ),
    # -- products, pipelines, stages and lost reasons over the API ---------------------------------
    Case(
        "api-1.0.0:products_list",
        "GET",
        url("api-1.0.0:products_list"),
        api_user(OK),
        operation="GET /api/v1/products",
    ),
    Case(
        "api-1.0.0:product_create",
        "POST",
        url("api-1.0.0:product_create"),
        admin_only(CREATED, anonymous=UNAUTHENTICATED),
        data=lambda w: (
            {"sku": "MX-API", "name": "Matrix API product", "category": "hardware", "list_price": "99.5"}
            | {"currency": "USD"}
        ),
        operation="POST /api/v1/products",
    ),
    Case(
        "api-1.0.0:product_detail",
        "GET",
        url("api-1.0.0:product_detail", product_id=product_pk),
        api_user(OK),
        operation="GET /api/v1/products/{product_id}",
    ),
    Case(
        "api-1.0.0:product_detail",
        "GET",
        url("api-1.0.0:product_detail", product_id=lambda w: w.product.pk + 1000),
        api_user(NOT_FOUND),
        operation="GET /api/v1/products/{product_id}",
        variant="missing",
    ),
    Case(
        "api-1.0.0:product_update",
        "PATCH",
        url("api-1.0.0:product_update", product_id=product_pk),
        admin_only(OK_SAVED, anonymous=UNAUTHENTICATED),
        data=lambda w: {"list_price": "1200.00", "unit": "licence"},
        operation="PATCH /api/v1/products/{product_id}",
    ),
    Case(
        "api-1.0.0:product_delete",
        "DELETE",
        url("api-1.0.0:product_delete", product_id=product_pk),
        admin_only(DELETED, anonymous=UNAUTHENTICATED),
        operation="DELETE /api/v1/products/{product_id}",
    ),
    Case(
        "api-1.0.0:pipelines_list",
        "GET",
        url("api-1.0.0:pipelines_list"),
        api_user(OK),
        operation="GET /api/v1/pipelines",
    ),
    Case(
        "api-1.0.0:pipeline_detail",
        "GET",
        url("api-1.0.0:pipeline_detail", pipeline_id=pipeline_pk),
        api_user(OK),
        operation="GET /api/v1/pipelines/{pipeline_id}",
    ),
    Case(
        "api-1.0.0:stage_create",
        "POST",
        url("api-1.0.0:stage_create", pipeline_id=pipeline_pk),
        admin_only(CREATED, anonymous=UNAUTHENTICATED),
        data=lambda w: {"name": "Matrix API stage", "probability": 40, "gate_fields": ["next_step"]},
        operation="POST /api/v1/pipelines/{pipeline_id}/stages",
    ),
    Case(
        "api-1.0.0:stage_update",
        "PATCH",
        url("api-1.0.0:stage_update", pipeline_id=pipeline_pk, stage_id=stage_pk),
        admin_only(OK_SAVED, anonymous=UNAUTHENTICATED),
        data=lambda w: {"probability": 45, "stale_after_days": 14},
        operation="PATCH /api/v1/pipelines/{pipeline_id}/stages/{stage_id}",
    ),
    Case(
        "api-1.0.0:stage_delete",
        "DELETE",
        url("api-1.0.0:stage_delete", pipeline_id=pipeline_pk, stage_id=stage_pk),
        admin_only(DELETED, anonymous=UNAUTHENTICATED),
        operation="DELETE /api/v1/pipelines/{pipeline_id}/stages/{stage_id}",
    ),
    Case(
        "api-1.0.0:lost_reasons_list",
        "GET",
        url("api-1.0.0:lost_reasons_list"),
        api_user(OK),
        operation="GET /api/v1/lost-reasons",
    ),
]

# Named routes that deliberately have no row, each with the reason.
ALLOWLIST: dict[str, str] = {
    "api-1.0.0:api-root": "Ninja's marker for the API's base URL; answers 404 to everyone and has no data.",
}


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


def _select(model: type[Any], skipped: tuple[str, ...]) -> str:
    quote = connection.ops.quote_name
    columns = ", ".join(quote(f.column) for f in model._meta.concrete_fields if f.attname not in skipped)
    return f"SELECT {columns} FROM {quote(model._meta.db_table)} ORDER BY {quote(model._meta.pk.column)}"


@dataclass(frozen=True, eq=False)
class Snapshot:
    """Row counts and a SHA-256 of every row of the tables above (plain SQL: 700 of these per run)."""

    digests: dict[str, tuple[int, str]]  # table → (row count, SHA-256 of its rows)
    rows: dict[str, list[str]]  # kept to say what changed

    @classmethod
    def take(cls) -> Snapshot:
        digests: dict[str, tuple[int, str]] = {}
        rows: dict[str, list[str]] = {}
        with connection.cursor() as cursor:
            for label, (model, skipped) in TABLES.items():
                cursor.execute(_select(model, skipped))
                rows[label] = [repr(r) for r in cursor.fetchall()]
        rows["mail.outbox"] = [repr((m.subject, m.to)) for m in mail.outbox]
        for label, lines in rows.items():
            digests[label] = (len(lines), hashlib.sha256("\n".join(lines).encode()).hexdigest())
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


# ---- running one cell ----------------------------------------------------------------------------


def _client_for(case: Case, world: World, actor: str) -> tuple[Client, dict[str, str]]:
    """A fresh client: for the web, holding the actor's session; for the API, sending their token."""
    client = Client()
    if actor == "anonymous":
        return client, {}
    if case.is_api:
        return client, {"Authorization": f"Bearer {world.token_secrets[actor]}"}
    client.cookies[settings.SESSION_COOKIE_NAME] = world.session_keys[actor]
    return client, {}


def _send(client: Client, case: Case, world: World, headers: dict[str, str]) -> Any:
    address = case.url(world)
    data = case.data(world) if case.data else {}
    if case.method == "GET":
        return client.get(address, data, headers=headers)
    if case.is_api:
        body = json.dumps(data)
        return client.generic(case.method, address, body, content_type="application/json", headers=headers)
    assert case.method == "POST", case.method
    return client.post(address, data, headers=headers)


def _cells() -> Iterator[Any]:
    for case in MATRIX:
        for actor in ACTORS:
            yield pytest.param(case, actor, id=f"{case.id}|{actor}")


@pytest.mark.parametrize(("case", "actor"), list(_cells()))
def test_matrix(case: Case, actor: str, world: World) -> None:
    expected = case.expect[actor]
    client, headers = _client_for(case, world, actor)
    before = Snapshot.take()

    response = _send(client, case, world, headers)

    after = Snapshot.take()
    got = response.status_code
    location = response.get("Location", "")
    assert got == expected.status, f"{case.id} as {actor}: expected {expected!r}, got {got} {location}"
    if got == 302:
        to_login = urlsplit(location).path == LOGIN_URL and "next=" in location
        assert to_login == (expected is LOGIN), f"{case.id} as {actor}: redirected to {location}"
    if case.is_api and expected.denied:
        body = response.json()
        code = {401: "unauthenticated", 403: "forbidden", 404: "not_found"}[got]
        assert (body["code"], body["details"]) == (code, {}), body
        if got == 401:
            assert response["WWW-Authenticate"] == "Bearer"
    if not case.is_api and got == 404:
        # The same page as for an address that never existed: nothing says the object is there.
        assert response.content == client.get("/no-such-page/").content
    if expected.writes:
        assert not after.same_as(before), (
            f"{case.id} as {actor} was allowed but changed nothing: is the form data valid?"
        )
    else:
        what = "a denied" if expected.denied else "a read-only"
        assert after.same_as(before), (
            f"{case.id} as {actor}: {what} request changed the database:\n{before.diff(after)}"
        )
    if case.probe is not None and got == 200:
        shown = case.probe(world, response)
        assert shown == (actor in case.probe_seen_by), f"{case.id} as {actor}: probed record shown={shown}"


# ---- the matrix is complete and well-formed ------------------------------------------------------


def _named_routes(patterns: list[Any], namespace: str = "", prefix: str = "") -> Iterator[tuple[str, str]]:
    """(name, pattern) of every route, namespaced as ``reverse`` wants it; unnamed ones as ("", pattern)."""
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            inner = f"{namespace}{pattern.namespace}:" if pattern.namespace else namespace
            yield from _named_routes(pattern.url_patterns, inner, prefix + str(pattern.pattern))
        elif isinstance(pattern, URLPattern):
            yield (f"{namespace}{pattern.name}" if pattern.name else ""), prefix + str(pattern.pattern)


def test_every_route_has_a_row() -> None:
    routes = dict(_named_routes(get_resolver().url_patterns))
    unnamed = routes.pop("", None)
    assert unnamed is None, f"route {unnamed!r} has no name, so the matrix cannot refer to it"
    assert any(name.startswith("api-1.0.0:") for name in routes), "the walk did not reach the API's URLs"
    covered = {case.route for case in MATRIX}
    missing = sorted(set(routes) - covered - set(ALLOWLIST))
    assert not missing, f"routes without a row in the authorization matrix: {missing}"
    assert not covered - set(routes), f"rows for routes that no longer exist: {sorted(covered - set(routes))}"
    assert not set(ALLOWLIST) - set(routes), f"stale allowlist entries: {sorted(set(ALLOWLIST) - set(routes))}"
    assert not set(ALLOWLIST) & covered, "a route is both allowlisted and in the matrix"
    assert all(reason.strip() for reason in ALLOWLIST.values())


def _api_operations() -> set[str]:
    """Every method + path of the Ninja API: from its OpenAPI schema and, for operations hidden
    from the schema, from its routers."""
    import re

    from ninja.utils import normalize_path

    from bridgecrm.api.api import api

    found = {
        f"{method.upper()} {path}"
        for path, operations in api.get_openapi_schema()["paths"].items()
        for method in operations
    }
    root = reverse("api-1.0.0:api-root")
    for bound in api._get_bound_routers():
        for path, path_view in bound.path_operations.items():
            full = normalize_path("/".join(p for p in (root, bound.prefix, path) if p))
            full = re.sub(r"{[^}:]+:", "{", full)
            found |= {f"{method.upper()} {full}" for op in path_view.operations for method in op.methods}
    return found


def test_every_api_operation_has_a_row() -> None:
    operations = _api_operations()
    assert operations, "found no API operation"
    covered = {case.operation for case in MATRIX if case.operation}
    assert not operations - covered, f"API operations without a row: {sorted(operations - covered)}"
    assert not covered - operations, f"rows for API operations that no longer exist: {sorted(covered - operations)}"


def test_rows_are_well_formed(world: World) -> None:
    ids = [case.id for case in MATRIX]
    assert len(ids) == len(set(ids)), "two rows share an id: give one a variant"
    for case in MATRIX:
        assert set(case.expect) == set(ACTORS), case.id
        anonymous = case.expect["anonymous"]
        if case.is_api and case.operation:
            assert anonymous is UNAUTHENTICATED, f"{case.id}: the API answers 401 to anonymous callers"
            method, _path = case.operation.split(" ", 1)
            assert method == case.method, case.id
        elif not case.is_api:
            assert anonymous is not UNAUTHENTICATED, f"{case.id}: web pages send anonymous visitors to sign in"
            assert resolve(urlsplit(case.url(world)).path).view_name == case.route, case.id
        if case.probe is not None:
            assert case.probe_seen_by, case.id


@pytest.mark.parametrize(
    "case",
    [pytest.param(c, id=c.id) for c in MATRIX if c.method == "POST" and not c.is_api and c.expect["admin"].writes],
)
def test_web_writes_need_the_csrf_token(case: Case, world: World) -> None:
    """The matrix client skips CSRF checks (Django's test default); a real browser does not."""
    client = Client(enforce_csrf_checks=True)
    client.cookies[settings.SESSION_COOKIE_NAME] = world.session_keys["admin"]
    before = Snapshot.take()
    response = _send(client, case, world, {})
    assert response.status_code == 403, f"{case.id}: a POST without the CSRF token answered {response.status_code}"
    assert Snapshot.take().same_as(before)


def test_session_cookie_does_not_open_the_api(world: World) -> None:
    """The API takes bearer tokens only: a signed-in browser is anonymous there (no CSRF-able API)."""
    client = Client()
    client.cookies[settings.SESSION_COOKIE_NAME] = world.session_keys["admin"]
    assert client.get(reverse("users:people")).status_code == 200
    for case in MATRIX:
        if case.operation:
            response = _send(client, case, world, {})
            assert response.status_code == 401, f"{case.id} answered {response.status_code} to a session cookie"


def test_bearer_token_does_not_open_web_pages(world: World) -> None:
    secret = world.token_secrets["admin"]
    response = Client().get(reverse("users:manage_users"), headers={"Authorization": f"Bearer {secret}"})
    assert response.status_code == 302
    assert urlsplit(response["Location"]).path == LOGIN_URL


def test_record_trail_of_an_unknown_or_unaudited_type_is_not_found(world: World) -> None:
    secret = world.token_secrets["admin"]
    ct = ContentType.objects.get_for_model(UserSession)
    for object_type in (f"{ct.app_label}.{ct.model}", "users.apitoken", "nope.nothing"):
        response = Client().get(
            reverse("api-1.0.0:record_trail", kwargs={"object_type": object_type, "object_id": 1}),
            headers={"Authorization": f"Bearer {secret}"},
        )
        assert response.status_code == 404, (object_type, response.status_code)
