"""Helpers for the REST API tests: real tokens through the real service, a JSON client."""

from __future__ import annotations

import json
from typing import Any

from django.test import Client

from bridgecrm.users import services
from bridgecrm.users.models import User

API = "/api/v1"


def issue_token(user: User, *, read_only: bool = False, expires_in_days: int | None = None) -> str:
    """A fresh personal access token for ``user`` (the secret, as the user would copy it)."""
    return services.token_create(actor=user, name="tests", read_only=read_only, expires_in_days=expires_in_days).secret


class ApiClient:
    """A thin wrapper over Django's test client that sends the bearer token and JSON bodies."""

    def __init__(self, secret: str | None = None, *, language: str | None = None) -> None:
        self.client = Client(raise_request_exception=False)
        self.secret = secret
        self.language = language

    def _headers(self, extra: dict[str, str] | None) -> dict[str, str]:
        headers: dict[str, str] = {}
        if self.secret:
            headers["Authorization"] = f"Bearer {self.secret}"
        if self.language:
            headers["Accept-Language"] = self.language
        headers.update(extra or {})
        return headers

    def get(self, path: str, data: dict[str, Any] | None = None, headers: dict[str, str] | None = None) -> Any:
        return self.client.get(API + path, data or {}, headers=self._headers(headers))

    def patch(self, path: str, body: dict[str, Any], headers: dict[str, str] | None = None) -> Any:
        return self.client.patch(
            API + path, json.dumps(body), content_type="application/json", headers=self._headers(headers)
        )

    def post(self, path: str, body: dict[str, Any], headers: dict[str, str] | None = None) -> Any:
        return self.client.post(
            API + path, json.dumps(body), content_type="application/json", headers=self._headers(headers)
        )


def assert_error_shape(response: Any, status: int, code: str | None = None) -> dict[str, Any]:
    assert response.status_code == status, (response.status_code, response.content[:500])
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"code", "message", "details"}, body
    assert isinstance(body["code"], str)
    assert body["code"]
    assert isinstance(body["message"], str)
    assert body["message"]
    assert isinstance(body["details"], dict)
    if code is not None:
        assert body["code"] == code, body
    return body
