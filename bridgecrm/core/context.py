"""Who is acting, from where, in which request: carried through a context variable.

The web middleware, the API authentication, the task wrapper and the importers set it; services
read it when they write audit rows, so a service call never needs a ``request`` argument.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from enum import StrEnum


class Source(StrEnum):
    WEB = "web"
    API = "api"
    IMPORT = "import"
    AUTOMATION = "automation"
    SYSTEM = "system"


@dataclass(frozen=True)
class ChangeContext:
    source: Source
    request_id: str
    ip: str | None = None


_current: ContextVar[ChangeContext | None] = ContextVar("bridge_change_context", default=None)


def new_request_id() -> str:
    return uuid.uuid4().hex


def current() -> ChangeContext:
    """The context in force, or a fresh ``system`` one (management commands, shells)."""
    ctx = _current.get()
    if ctx is None:
        return ChangeContext(source=Source.SYSTEM, request_id=new_request_id())
    return ctx


@contextmanager
def acting(source: Source, *, request_id: str | None = None, ip: str | None = None) -> Iterator[ChangeContext]:
    ctx = ChangeContext(source=source, request_id=request_id or new_request_id(), ip=ip)
    token = _current.set(ctx)
    try:
        yield ctx
    finally:
        _current.reset(token)


def set_source(source: Source) -> None:
    """Switch the source inside the current request (the API router does this after auth)."""
    ctx = current()
    _current.set(ChangeContext(source=source, request_id=ctx.request_id, ip=ctx.ip))
