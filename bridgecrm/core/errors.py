"""Errors that carry a stable code and a translatable message.

The API returns ``{"code", "message", "details"}``; the UI shows ``message`` in the user's language.
"""

from __future__ import annotations

from typing import Any

from django.utils.functional import Promise


class ApplicationError(Exception):
    status = 400

    def __init__(self, code: str, message: str | Promise, *, details: dict[str, Any] | None = None) -> None:
        super().__init__(str(message))
        self.code = code
        self.message = message
        self.details = details or {}


class PermissionDenied(ApplicationError):
    status = 403


class NotFound(ApplicationError):
    status = 404


class Conflict(ApplicationError):
    status = 409


class Unprocessable(ApplicationError):
    """The request's shape is wrong (the API's 422, like its schema validation errors)."""

    status = 422


class Throttled(ApplicationError):
    status = 429
