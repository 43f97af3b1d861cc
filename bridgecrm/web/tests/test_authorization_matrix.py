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

import json
from urllib.parse import urlsplit

from django.contrib.contenttypes.models import ContentType
from django.core import mail
from django.db import transaction
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, resolve

from bridgecrm.users.tests.factories import PASSWORD
from bridgecrm.web.tests.matrix_support import (
    ACTORS,
    CREATED,
    DELETED,
    FORBIDDEN,
    LOGIN,
    LOGIN_URL,
    NOT_FOUND,
    OK,
    OK_SAVED,
    REDIRECT,
    SAVED,
    SEES_CUSTOMER,
    SEES_OWNER,
    SEES_OWNER_SECURITY,
    SEES_TEAM_A,
    UNAUTHENTICATED,
    Any,
    Case,
    Iterator,
    Snapshot,
    UserSession,
    World,
    _reset_link,
    admin_only,
    api_lists,
    api_lists_customer,
    api_trail_has_security,
    api_user,
    change_count,
    contact_pk,
    customer_edit_data,
    customer_pk,
    everyone,
    lost_reason_pk,
    owner_pk,
    pipeline_pk,
    product_data,
    product_pk,
    pytest,
    reverse,
    role_capabilities_without_rep_api,
    row,
    row_modules,
    settings,
    signed_in,
    stage_edit_data,
    stage_pk,
    team_a_pk,
    url,
    visible_to,
    web_lists_customer,
    web_lists_owner,
    web_lists_team_a,
    web_timeline_has_security,
)

pytestmark = pytest.mark.django_db

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
    Case("pipeline:product_export", "GET", url("pipeline:product_export"), signed_in(OK)),
    Case(
        "pipeline:product_export",
        "GET",
        lambda w: reverse("pipeline:product_export") + "?format=xlsx&q=Matrix",
        signed_in(OK),
        variant="xlsx",
    ),
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


for _module in row_modules():
    MATRIX += _module.ROWS


def _cells() -> Iterator[Any]:
    for case in MATRIX:
        for actor in ACTORS:
            yield pytest.param(case, actor, id=f"{case.id}|{actor}")


@pytest.mark.parametrize(("case", "actor"), list(_cells()))
def test_matrix(case: Case, actor: str, world: World) -> None:
    expected = case.expect[actor]
    client, headers = _client_for(case, world, actor)
    # Most cells write nothing: the change counter says so without reading every table. When it
    # moved, the tables are read after the request and again after rolling back to before it.
    outbox, changes, savepoint = len(mail.outbox), change_count(), transaction.savepoint_create()

    response = _send(client, case, world, headers)

    before = after = None
    if change_count() != changes:
        after = Snapshot.take()
        transaction.savepoint_rollback(savepoint)
        before = Snapshot.take()
    changed = len(mail.outbox) != outbox or (before is not None and after is not None and not after.same_as(before))
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
        assert changed, f"{case.id} as {actor} was allowed but changed nothing: is the form data valid?"
    else:
        what = "a denied" if expected.denied else "a read-only"
        diff = (
            before.diff(after) if before is not None and after is not None else f"{len(mail.outbox) - outbox} mail(s)"
        )
        assert not changed, f"{case.id} as {actor}: {what} request changed the database:\n{diff}"
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


def test_the_change_counter_sees_every_write_and_no_read(world: World) -> None:
    """The matrix trusts ``change_count`` to skip its snapshots: it must move on an insert, an update
    (even one that changes nothing) and a delete, and not on a read."""
    from bridgecrm.customers.models import Tag

    start = change_count()
    list(Tag.objects.all())
    assert change_count() == start
    tag = Tag.objects.create(name="counter")
    assert change_count() > start
    after_insert = change_count()
    Tag.objects.filter(pk=tag.pk).update(name="counter")
    assert change_count() > after_insert
    after_update = change_count()
    tag.delete()
    assert change_count() > after_update


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
