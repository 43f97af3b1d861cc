"""A query parameter given twice is refused (422), never silently "the last one wins"."""

from __future__ import annotations

import pytest
from django.test import Client

from bridgecrm.api.tests.conftest import issue_token

pytestmark = pytest.mark.django_db


def test_repeated_query_parameter_is_422(company) -> None:
    headers = {"Authorization": f"Bearer {issue_token(company.admin)}"}
    response = Client().get("/api/v1/users?offset=false&offset=true&offset=0.0", headers=headers)
    assert response.status_code == 422
    body = response.json()
    assert body["code"] == "invalid"
    assert "offset" in body["details"]
    assert Client().get("/api/v1/users?offset=0&limit=5", headers=headers).status_code == 200
