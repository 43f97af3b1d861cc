"""Small helpers every app's views share: the signed-in actor, error mapping, query parameters."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from functools import wraps
from typing import Any

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import FileResponse, Http404, HttpRequest, StreamingHttpResponse
from django.http.response import HttpResponseBase
from django.utils import timezone

from bridgecrm.core.errors import ApplicationError, NotFound, PermissionDenied
from bridgecrm.core.exports import csv_chunks, xlsx_file
from bridgecrm.users.models import User


def actor_of(request: HttpRequest) -> User:
    """The signed-in user (views using it are behind ``guarded``)."""
    assert isinstance(request.user, User)
    return request.user


def form_errors(form: Any, exc: ApplicationError) -> None:
    """Show a service error on the form: on its fields where named, else on the form."""
    placed = False
    for name in exc.details:
        if name in form.fields:
            form.add_error(name, str(exc.message))
            placed = True
    if not placed:
        form.add_error(None, str(exc.message))


def guarded[R: HttpResponseBase](view: Callable[..., R]) -> Callable[..., R]:
    """Sign-in required; service errors become 404/403 pages (objects one may not see are 404)."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> R:
        try:
            return view(request, *args, **kwargs)
        except NotFound as exc:
            raise Http404 from exc
        except PermissionDenied as exc:
            raise DjangoPermissionDenied from exc

    return login_required(wrapper)


def require(allowed: bool) -> None:
    """A function the actor may not use: 403."""
    if not allowed:
        raise DjangoPermissionDenied


def int_param(raw: str | None, default: int, *, low: int = 1, high: int = 10_000) -> int:
    """An integer query parameter clamped to [low, high]; the default when it is not a number."""
    try:
        return max(low, min(high, int(raw or default)))
    except ValueError:
        return default


def save_form[T](form: Any, action: Callable[[], T]) -> T | None:
    """Validate ``form`` and run ``action`` (one service call); return its result, or None.

    A rule the service refuses (an ``ApplicationError``) is shown on the form. Refusals about
    permission or visibility are not form errors: they propagate, and ``guarded`` answers 403/404.
    """
    if not form.is_valid():
        return None
    try:
        return action()
    except (PermissionDenied, NotFound):
        raise
    except ApplicationError as exc:
        form_errors(form, exc)
        return None


def export_response(
    request: HttpRequest,
    *,
    name: str,
    header: Sequence[str],
    rows: Iterable[Sequence[Any]],  # cells: str, numbers, Decimal, dates, bool or None (core.exports.Cell)
) -> HttpResponseBase:
    """A list's export in the format the request asks for (``?format=csv`` (default) or ``xlsx``):
    CSV streamed in chunks, XLSX written in write-only mode to a spooled file and streamed from it.
    ``rows`` should come from a queryset's ``.iterator()``, so memory stays flat whatever the count."""
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
    if request.GET.get("format") == "xlsx":
        handle = xlsx_file(header, rows, sheet_title=name)
        return FileResponse(
            handle,
            as_attachment=True,
            filename=f"{name}-{stamp}.xlsx",
            content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        )
    streaming = StreamingHttpResponse(csv_chunks(header, rows), content_type="text/csv; charset=utf-8")
    streaming["Content-Disposition"] = f'attachment; filename="{name}-{stamp}.csv"'
    return streaming
