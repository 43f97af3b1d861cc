"""API authentication: personal access tokens as ``Authorization: Bearer …`` only."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _
from ninja.security import HttpBearer

from bridgecrm.core import context
from bridgecrm.core.context import Source
from bridgecrm.core.errors import ApplicationError, PermissionDenied, Unprocessable
from bridgecrm.users import policies, services

QUERY_TOKEN_PARAMS = ("token", "access_token", "api_key", "apikey", "key", "bearer")
SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}


class Unauthenticated(ApplicationError):
    status = 401


class TokenAuth(HttpBearer):
    def __call__(self, request: HttpRequest) -> Any:
        if any(name in request.GET for name in QUERY_TOKEN_PARAMS):
            raise Unauthenticated("token_in_query", _("Send the token in the Authorization header, never in the URL."))
        return super().__call__(request)

    def authenticate(self, request: HttpRequest, token: str) -> Any:
        found = services.token_authenticate(token)
        if found is None:
            return None
        user, api_token = found
        if not policies.may_use_api(user):
            raise PermissionDenied("forbidden", _("You do not have permission to do this."))
        if api_token.read_only and request.method not in SAFE_METHODS:
            raise PermissionDenied("read_only_token", _("This token is read-only."))
        repeated = sorted(name for name, values in request.GET.lists() if len(values) > 1)
        if repeated:
            # No query parameter of this API is a list: a repeated one is ambiguous, not "the last wins".
            raise Unprocessable(
                "invalid",
                _("The request is not valid."),
                details={name: [_("Give this parameter once.")] for name in repeated},
            )
        request.user = user
        request.api_token = api_token  # type: ignore[attr-defined]
        context.set_source(Source.API)
        return user
