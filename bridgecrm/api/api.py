"""The REST API at /api/v1/: typed, token-authenticated, calling the same services as the UI."""

from __future__ import annotations

from typing import Any

from django.http import Http404, HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, AuthorizationError, HttpError
from ninja.errors import ValidationError as NinjaValidationError

from bridgecrm.api import (
    activities,
    audit,
    collab,
    contracts,
    customers,
    customization,
    deals,
    imports,
    incentives,
    pipeline,
    pool,
    quotes,
    scorecards,
    tiers,
    training,
    users,
)
from bridgecrm.api import dedup as dedup_api
from bridgecrm.api import targets as targets_api
from bridgecrm.api.auth import TokenAuth
from bridgecrm.core.errors import ApplicationError


class BridgeAPI(NinjaAPI):
    def get_openapi_schema(self, *, path_prefix: str | None = None, path_params: dict[str, Any] | None = None) -> Any:
        """The document with the ``custom`` objects listing the current custom fields and their types."""
        document = super().get_openapi_schema(path_prefix=path_prefix, path_params=path_params)
        return customization.describe_custom(document)


api = BridgeAPI(
    title="Bridge API",
    version="1.0.0",
    description="Bridge sales management. Authenticate with a personal access token: "
    "`Authorization: Bearer <token>` (make one under Settings → API tokens).",
    auth=TokenAuth(),
    docs_url="/docs",
    openapi_url="/openapi.json",
)


def _error(
    request: HttpRequest, status: int, code: str, message: str, details: dict[str, Any] | None = None
) -> HttpResponse:
    return api.create_response(request, {"code": code, "message": message, "details": details or {}}, status=status)


@api.exception_handler(ApplicationError)
def on_application_error(request: HttpRequest, exc: ApplicationError) -> HttpResponse:
    return _error(request, exc.status, exc.code, str(exc.message), exc.details)


@api.exception_handler(NinjaValidationError)
def on_validation_error(request: HttpRequest, exc: NinjaValidationError) -> HttpResponse:
    details: dict[str, list[str]] = {}
    for err in exc.errors:
        loc = ".".join(str(part) for part in err.get("loc", ()) if part not in ("body", "query", "path", "payload"))
        details.setdefault(loc or "request", []).append(str(err.get("msg", "")))
    return _error(request, 422, "invalid", _("The request is not valid."), details)


@api.exception_handler(AuthenticationError)
def on_unauthenticated(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
    response = _error(request, 401, "unauthenticated", _("A valid API token is required."))
    response["WWW-Authenticate"] = "Bearer"
    return response


@api.exception_handler(AuthorizationError)
def on_forbidden(request: HttpRequest, exc: AuthorizationError) -> HttpResponse:
    return _error(request, 403, "forbidden", _("You do not have permission to do this."))


@api.exception_handler(Http404)
def on_not_found(request: HttpRequest, exc: Http404) -> HttpResponse:
    return _error(request, 404, "not_found", _("Not found."))


@api.exception_handler(HttpError)
def on_http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
    return _error(request, exc.status_code, "http_error", str(exc))


api.add_router("/", users.router)
api.add_router("/audit", audit.router)
api.add_router("/", dedup_api.router)  # before customers: POST /customers/merge
api.add_router("/", customers.router)
api.add_router("/", pipeline.router)
api.add_router("/", deals.router)
api.add_router("/", activities.router)
api.add_router("/", quotes.router)
api.add_router("/", contracts.router)
api.add_router("/", tiers.router)
api.add_router("/", collab.router)
api.add_router("/", customization.router)
api.add_router("/", pool.router)
api.add_router("/", imports.router)
api.add_router("/", training.router)
api.add_router("/", scorecards.router)
api.add_router("/", targets_api.router)
api.add_router("/", incentives.router)
