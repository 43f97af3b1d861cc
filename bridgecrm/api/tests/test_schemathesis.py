"""Property-based tests of the whole REST API against its own OpenAPI document (Schemathesis).

Every operation is called in-process through the WSGI application with generated valid and invalid
inputs, authenticated with a real token of an admin and of a rep. No response may be a server error,
and every response must match the document (status codes, content type, body schema).
"""

from __future__ import annotations

import pytest
import schemathesis
from django.core import signals
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from schemathesis.specs.openapi.checks import positive_data_acceptance

from bridgecrm.api.tests.conftest import issue_token
from bridgecrm.users.tests.factories import UserFactory, role

schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", get_wsgi_application())
# Unknown query parameters and body fields are ignored, as REST APIs usually do: not a defect.
schema.config.generation.update(allow_extra_parameters=False)


@pytest.fixture
def wsgi_db(db):
    """The test database, kept open across raw WSGI calls.

    Django's own test client unhooks ``close_old_connections`` around each request; a raw WSGI call
    does not, and inside the test's transaction that would close the connection after every request.
    """
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    try:
        yield
    finally:
        signals.request_started.connect(close_old_connections)
        signals.request_finished.connect(close_old_connections)


def _bearer(user) -> dict[str, str]:
    return {"Authorization": f"Bearer {issue_token(user)}"}


def _more_people(company) -> None:
    """A few more people so that lists, filters and offsets have something to page through."""
    for i in range(3):
        UserFactory(username=f"fuzz{i}", role=role("rep"), team=company.team_b)


@pytest.fixture
def admin_bearer(company, wsgi_db) -> dict[str, str]:
    """The Authorization header of a real token of an admin (sees all)."""
    _more_people(company)
    return _bearer(company.admin)


@pytest.fixture
def rep_bearer(company, wsgi_db) -> dict[str, str]:
    """The Authorization header of a real token of a rep (own team)."""
    _more_people(company)
    return _bearer(company.owner)


def _conforms(case, bearer: dict[str, str]) -> None:
    response = case.call(headers=bearer)
    assert response.status_code < 500, (case.method, case.formatted_path, response.status_code, response.text[:500])
    # Every check but "schema-valid data is accepted": PATCH /me validates meaning as well as shape
    # (a time zone that exists, a known language, a real e-mail address) and answers 400 otherwise,
    # which its document declares.
    case.validate_response(response, headers=bearer, excluded_checks=[positive_data_acceptance])


SLOW_OK = [HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.filter_too_much]


# 20 generated calls per operation as an admin and 10 as a rep (the same shapes, seen through a
# narrower scope): about 10,000 calls per run, new ones each run; 343 operations × 60 took 40 % of
# the suite's time on PostgreSQL.
@schema.parametrize()
@settings(max_examples=20, deadline=None, suppress_health_check=SLOW_OK)
def test_api_conforms_to_its_schema_as_an_admin(case, admin_bearer):
    _conforms(case, admin_bearer)


@schema.parametrize()
@settings(max_examples=10, deadline=None, suppress_health_check=SLOW_OK)
def test_api_conforms_to_its_schema_as_a_rep(case, rep_bearer):
    _conforms(case, rep_bearer)


@schema.parametrize()
@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_api_without_a_token_is_401_never_500(case, wsgi_db):
    response = case.call()
    assert response.status_code < 500, (case.method, case.formatted_path, response.status_code, response.text[:500])
    if case.path != "/api/v1/openapi.json":
        assert response.status_code in (401, 404, 405, 422), (case.formatted_path, response.status_code)
