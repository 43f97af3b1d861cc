"""Personal access tokens: hashed at rest, header only, refused once revoked or expired, read-only honoured."""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json

import pytest
import time_machine
from django.core.management import CommandError, call_command
from django.utils import timezone

from bridgecrm.api.auth import QUERY_TOKEN_PARAMS
from bridgecrm.api.tests.conftest import ApiClient, assert_error_shape, issue_token
from bridgecrm.core.models import AuditEntry
from bridgecrm.users import services
from bridgecrm.users.capabilities import USE_API
from bridgecrm.users.models import ApiToken, RolePermission, User

pytestmark = pytest.mark.django_db


# ---- storage ----------------------------------------------------------------------------------


def test_token_is_stored_only_as_its_sha256_hash(company):
    issued = services.token_create(actor=company.owner, name="script")
    secret = issued.secret
    assert secret.startswith("brg_")
    assert len(secret) > 40

    row = ApiToken.objects.get(pk=issued.token.pk)
    assert row.token_hash == hashlib.sha256(secret.encode()).hexdigest()
    assert row.prefix == secret[:10]
    # No column holds the secret, nor any long part of it beyond the displayed prefix.
    for value in ApiToken.objects.filter(pk=row.pk).values().get().values():
        assert secret not in str(value)
        assert secret[10:30] not in str(value)
    # Nor does the audit trail of its creation.
    for entry in AuditEntry.objects.filter(event="token_created"):
        dumped = json.dumps([entry.old_value, entry.new_value, entry.object_repr, entry.field])
        assert secret[10:30] not in dumped

    # The hash is not a credential: presenting it does not authenticate.
    assert services.token_authenticate(secret) is not None
    assert services.token_authenticate(row.token_hash) is None
    assert services.token_authenticate("brg_" + row.token_hash) is None


def test_token_authenticates_and_records_last_use(company):
    secret = issue_token(company.owner)
    response = ApiClient(secret).get("/me")
    assert response.status_code == 200, response.content
    assert response.json()["username"] == "owner"
    assert ApiToken.objects.get(user=company.owner).last_used_at is not None


# ---- refused -----------------------------------------------------------------------------------


def test_missing_or_malformed_token_is_401(company):
    for headers in (
        {},
        {"Authorization": "Bearer "},
        {"Authorization": "Bearer brg_nope"},
        {"Authorization": "Basic x"},
    ):
        response = ApiClient().get("/me", headers=headers)
        body = assert_error_shape(response, 401, "unauthenticated")
        assert response["WWW-Authenticate"] == "Bearer"
        assert body["details"] == {}


@pytest.mark.parametrize("param", QUERY_TOKEN_PARAMS)
def test_token_in_query_string_is_refused(company, param):
    secret = issue_token(company.owner)
    # Alone in the URL: refused, even though it is a valid token.
    response = ApiClient().get("/me", {param: secret})
    assert_error_shape(response, 401, "token_in_query")
    # In the URL as well as in the header: still refused (the URL has leaked it into logs).
    response = ApiClient(secret).get("/me", {param: secret})
    assert_error_shape(response, 401, "token_in_query")
    # The same request without the query parameter works.
    assert ApiClient(secret).get("/me").status_code == 200


def test_token_in_query_string_is_refused_on_writes_too(company):
    secret = issue_token(company.owner)
    client = ApiClient(secret)
    response = client.client.patch(
        "/api/v1/me?access_token=" + secret,
        json.dumps({"phone": "123"}),
        content_type="application/json",
        headers={"Authorization": f"Bearer {secret}"},
    )
    assert_error_shape(response, 401, "token_in_query")
    company.owner.refresh_from_db()
    assert company.owner.phone == ""


def test_revoked_token_is_401(company):
    issued = services.token_create(actor=company.owner, name="script")
    client = ApiClient(issued.secret)
    assert client.get("/me").status_code == 200
    services.token_revoke(actor=company.owner, token=issued.token)
    assert_error_shape(client.get("/me"), 401, "unauthenticated")
    assert_error_shape(client.get("/users"), 401, "unauthenticated")
    # An admin revoking someone else's token works the same way.
    other = services.token_create(actor=company.other_rep, name="script")
    services.token_revoke(actor=company.admin, token=other.token)
    assert_error_shape(ApiClient(other.secret).get("/me"), 401, "unauthenticated")


def test_expired_token_is_401(company):
    secret = issue_token(company.owner, expires_in_days=7)
    token = ApiToken.objects.get(user=company.owner)
    assert abs(token.expires_at - (timezone.now() + dt.timedelta(days=7))) < dt.timedelta(minutes=1)
    client = ApiClient(secret)
    with time_machine.travel(timezone.now() + dt.timedelta(days=6, hours=23), tick=False):
        assert client.get("/me").status_code == 200
    with time_machine.travel(timezone.now() + dt.timedelta(days=7, seconds=1), tick=False):
        assert_error_shape(client.get("/me"), 401, "unauthenticated")
    # And when the expiry is simply in the past.
    ApiToken.objects.filter(pk=token.pk).update(expires_at=timezone.now() - dt.timedelta(seconds=1))
    assert_error_shape(client.get("/me"), 401, "unauthenticated")


def test_deactivated_users_token_is_401(company):
    secret = issue_token(company.owner)
    services.user_deactivate(actor=company.admin, user=company.owner)
    assert_error_shape(ApiClient(secret).get("/me"), 401, "unauthenticated")
    # Deactivation revoked the token for good: reactivating does not bring it back.
    services.user_reactivate(actor=company.admin, user=User.objects.get(pk=company.owner.pk))
    assert_error_shape(ApiClient(secret).get("/me"), 401, "unauthenticated")


def test_user_whose_role_lost_api_access_is_403(company):
    secret = issue_token(company.owner)
    RolePermission.objects.filter(role=company.owner.role, capability=USE_API).delete()
    assert_error_shape(ApiClient(secret).get("/me"), 403, "forbidden")


# ---- read-only ---------------------------------------------------------------------------------


def test_read_only_token_reads_but_may_not_write(company):
    secret = issue_token(company.owner, read_only=True)
    client = ApiClient(secret)
    assert client.get("/me").status_code == 200
    assert client.get("/users").status_code == 200
    assert client.get(f"/audit/users.user/{company.owner.pk}").status_code == 200

    before = AuditEntry.objects.count()
    response = client.patch("/me", {"full_name": "Changed by a read-only token"})
    assert_error_shape(response, 403, "read_only_token")
    company.owner.refresh_from_db()
    assert company.owner.full_name != "Changed by a read-only token"
    assert AuditEntry.objects.count() == before

    # A read-write token of the same user may.
    response = ApiClient(issue_token(company.owner)).patch("/me", {"full_name": "Changed"})
    assert response.status_code == 200, response.content
    assert response.json()["full_name"] == "Changed"


# ---- the command line --------------------------------------------------------------------------


def _token_command(*args: str) -> str:
    out = io.StringIO()
    call_command("token", "create", *args, stdout=out)
    return out.getvalue().strip()


def test_token_create_command_prints_a_working_token(company):
    secret = _token_command("owner")
    assert secret.startswith("brg_")
    assert "\n" not in secret
    token = ApiToken.objects.get(user=company.owner)
    assert token.token_hash == hashlib.sha256(secret.encode()).hexdigest()
    assert token.read_only is False
    assert token.expires_at is None
    client = ApiClient(secret)
    assert client.get("/me").json()["username"] == "owner"
    assert client.patch("/me", {"phone": "+86 10 1234 5678"}).status_code == 200


def test_token_create_command_read_only_and_expiry(company):
    secret = _token_command("owner", "--read-only", "--expires", "30")
    token = ApiToken.objects.get(user=company.owner)
    assert token.read_only is True
    assert abs(token.expires_at - (timezone.now() + dt.timedelta(days=30))) < dt.timedelta(minutes=1)
    client = ApiClient(secret)
    assert client.get("/me").status_code == 200
    assert_error_shape(client.patch("/me", {"phone": "1"}), 403, "read_only_token")
    with time_machine.travel(timezone.now() + dt.timedelta(days=31), tick=False):
        assert_error_shape(client.get("/me"), 401, "unauthenticated")


def test_token_create_command_refuses_bad_input(company):
    with pytest.raises(CommandError):
        _token_command("nobody")
    with pytest.raises(CommandError):
        _token_command("owner", "--expires", "0")
    services.user_deactivate(actor=company.admin, user=company.teammate)
    with pytest.raises(CommandError):
        _token_command("teammate")
    assert not ApiToken.objects.exists()
