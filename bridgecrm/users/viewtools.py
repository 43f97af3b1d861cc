"""Small helpers every app's views share: the signed-in actor, error mapping, query parameters."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from functools import wraps
from typing import Any

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import FileResponse, Http404, HttpRequest, HttpResponseBadRequest, StreamingHttpResponse
from django.http.response import HttpResponseBase
from django.utils import timezone
from django.utils.http import content_disposition_header
from django.utils.translation import gettext as _

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


EXPORT_FORMATS = ("csv", "xlsx")
XLSX_CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def export_response(
    request: HttpRequest,
    *,
    name: str,
    header: Sequence[str],
    rows: Iterable[Sequence[Any]],  # cells: str, numbers, Decimal, dates, bool or None (core.exports.Cell)
    sheet_title: str = "",
) -> HttpResponseBase:
    """A list's export in the format the request asks for (``?format=csv`` (default) or ``xlsx``; anything
    else is a 400): CSV streamed in chunks, XLSX written in write-only mode to a spooled file and streamed
    from it. ``rows`` should come from a queryset's ``.iterator()``, so memory stays flat whatever the count.
    """
    fmt = request.GET.get("format") or "csv"
    if fmt not in EXPORT_FORMATS:
        return HttpResponseBadRequest(_("Choose CSV or XLSX."))
    filename = f"{name}-{timezone.localtime():%Y%m%d-%H%M}.{fmt}"
    if fmt == "xlsx":
        handle = xlsx_file(header, rows, sheet_title=sheet_title or name)
        return FileResponse(handle, as_attachment=True, filename=filename, content_type=XLSX_CONTENT_TYPE)
    streaming = StreamingHttpResponse(csv_chunks(header, rows), content_type="text/csv; charset=utf-8")
    streaming["Content-Disposition"] = content_disposition_header(as_attachment=True, filename=filename) or ""
    return streaming
