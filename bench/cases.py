"""What the runner measures: pages (URLs) and, for each, the raw SQL that answers the same question.

A suite is a function from a ``Context`` to a list of ``Case``. Later issues add their pages by
writing a suite function here (or in their own module) and registering it in ``SUITES``.
The raw SQL is written by hand, the way one would ask the database directly: the page is judged
against it (page ÷ raw SQL), so it should return the same rows with the same LIMIT.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

AUDIT_BUDGET_MS = 50.0
DEFAULT_PAGE = 50  # the audit pages' default size (bridgecrm.users.views.PAGE_SIZE)


@dataclass(frozen=True)
class Case:
    name: str
    url: str
    raw_sql: str = ""
    raw_params: Sequence[Any] = ()
    user: str | None = None  # username; None: the run's user
    budget_ms: float | None = None  # p95 server time budget, if the issue sets one
    same_queries: str = ""  # cases sharing this key must run the same number of queries
    note: str = ""
    skip: str = ""  # why the case cannot run here (e.g. its page is built in another branch)
    repeat: int | None = None  # timed requests for this case (default: the run's ``--repeat``)
    measure_memory: bool = False  # one more request under tracemalloc: peak Python allocations


@dataclass
class Context:
    """What suites may use to build their cases."""

    user: Any  # the run's user (bridgecrm.users.models.User)
    vendor: str
    facts: dict[str, Any] = field(default_factory=dict)  # what the suites looked up, for the report

    def db_datetime(self, value: dt.datetime) -> Any:
        from django.db import connection

        return connection.ops.adapt_datetimefield_value(value)


# ---- the audit trail (issue: 1,000,000 rows, p95 ≤ 50 ms) -------------------------------------------

AUDIT_SELECT = (
    "SELECT a.id, a.at, a.actor_id, a.actor_label, a.source, a.request_id, a.ip, a.action, a.event,"
    " a.content_type_id, a.object_id, a.object_repr, a.field, a.old_value, a.new_value,"
    " ct.id, ct.app_label, ct.model"
    " FROM core_auditentry a LEFT OUTER JOIN django_content_type ct ON ct.id = a.content_type_id"
)
AUDIT_ORDER = " ORDER BY a.at DESC, a.id DESC LIMIT %s"


def audit_sql(where: list[str], params: list[Any], limit: int) -> tuple[str, list[Any]]:
    sql = AUDIT_SELECT + (" WHERE " + " AND ".join(where) if where else "") + AUDIT_ORDER
    return sql, [*params, limit + 1]  # pages fetch one more row to know whether there is a next page


def audit_field_or_event_sql(value: str, limit: int) -> tuple[str, list[Any]]:
    """ "field = x OR event = x", written as one ordered index range per column, merged."""
    arm = "SELECT * FROM (SELECT * FROM core_auditentry WHERE {col} = %s ORDER BY at DESC, id DESC LIMIT %s) {alias}"
    sql = (
        "SELECT a.id, a.at, a.actor_id, a.actor_label, a.source, a.request_id, a.ip, a.action, a.event,"
        " a.content_type_id, a.object_id, a.object_repr, a.field, a.old_value, a.new_value,"
        " ct.id, ct.app_label, ct.model"
        f" FROM ({arm.format(col='field', alias='f')} UNION {arm.format(col='event', alias='e')}) a"
        " LEFT OUTER JOIN django_content_type ct ON ct.id = a.content_type_id" + AUDIT_ORDER
    )
    return sql, [value, limit + 1, value, limit + 1, limit + 1]


def _keyset(ctx: Context, at: dt.datetime, pk: int) -> tuple[str, list[Any]]:
    """Rows strictly older than (at, id), written so that the index range starts at ``at``."""
    when = ctx.db_datetime(at)
    return "a.at <= %s AND (a.at < %s OR a.id < %s)", [when, when, pk]


def audit_cases(ctx: Context) -> list[Case]:
    from django.contrib.contenttypes.models import ContentType
    from django.db.models import Count

    from bridgecrm.core.models import AuditAction, AuditEntry
    from bridgecrm.core.selectors import Cursor
    from bridgecrm.users.models import Team, User

    total = AuditEntry.objects.count()
    if total == 0:
        return []
    ct_user = ContentType.objects.get_for_model(User).pk
    ct_team = ContentType.objects.get_for_model(Team).pk
    busiest_actor = (
        AuditEntry.objects.filter(actor__isnull=False)
        .values_list("actor_id")
        .annotate(n=Count("id"))
        .order_by("-n")
        .first()
    )
    hot = (
        AuditEntry.objects.filter(content_type_id=ct_user)
        .values_list("object_id")
        .annotate(n=Count("id"))
        .order_by("-n")
        .first()
    )
    assert busiest_actor is not None
    assert hot is not None
    actor_id, actor_rows = busiest_actor
    actor_username = User.objects.values_list("username", flat=True).get(pk=actor_id)
    hot_id = hot[0]
    newest = AuditEntry.objects.order_by("-at", "-id").values_list("at", flat=True).first()
    assert newest is not None
    deep_at, deep_id = AuditEntry.objects.order_by("-at", "-id").values_list("at", "id")[total // 2]
    timeline = AuditEntry.objects.filter(content_type_id=ct_user, object_id=hot_id)
    include_security = ctx.user.pk == int(hot_id) or ctx.user.can("audit.view_all")
    if not include_security:
        timeline = timeline.exclude(action=AuditAction.SECURITY)
    timeline_rows = timeline.count()
    t_at, t_id = timeline.order_by("-at", "-id").values_list("at", "id")[timeline_rows // 2]

    # The date filter is in the user's time zone, "to" inclusive (the view adds a day).
    tz = zoneinfo.ZoneInfo(ctx.user.time_zone or "Asia/Shanghai")
    day_from = (newest.astimezone(tz) - dt.timedelta(days=365)).date().replace(day=1)
    day_to = (day_from + dt.timedelta(days=31)).replace(day=1) - dt.timedelta(days=1)
    from_at = dt.datetime.combine(day_from, dt.time(), tzinfo=tz)
    to_at = dt.datetime.combine(day_to + dt.timedelta(days=1), dt.time(), tzinfo=tz)
    field_name, event_name = "team", "password_changed"

    ctx.facts.update(
        audit_rows=total,
        busiest_actor={"id": actor_id, "rows": actor_rows},
        timeline_object={"model": "users.user", "id": int(hot_id), "rows": timeline_rows},
        date_range=[day_from.isoformat(), day_to.isoformat()],
        deep_cursor_row=total // 2,
    )

    def search(name: str, params: dict[str, Any], where: list[str], args: list[Any], **kw: Any) -> Case:
        size = int(params.get("size", DEFAULT_PAGE))
        sql, sql_params = audit_sql(where, args, size)
        url = "/manage/audit/" + ("?" + urlencode(params) if params else "")
        return Case(name, url, sql, sql_params, **{"budget_ms": AUDIT_BUDGET_MS, **kw})

    deep_where, deep_args = _keyset(ctx, deep_at, deep_id)
    t_where, t_args = _keyset(ctx, t_at, t_id)
    timeline_where = ["a.content_type_id = %s", "a.object_id = %s"]
    timeline_args: list[Any] = [ct_user, str(hot_id)]
    if not include_security:
        timeline_where.append("NOT (a.action = %s)")
        timeline_args.append(AuditAction.SECURITY.value)
    deep_cursor = Cursor(at=deep_at, id=deep_id).encode()
    timeline_cursor = Cursor(at=t_at, id=t_id).encode()

    def person(name: str, params: dict[str, Any], where: list[str], args: list[Any], **kw: Any) -> Case:
        size = int(params.get("size", DEFAULT_PAGE))
        sql, sql_params = audit_sql(timeline_where + where, timeline_args + args, size)
        url = f"/people/{hot_id}/" + ("?" + urlencode(params) if params else "")
        return Case(name, url, sql, sql_params, **{"budget_ms": AUDIT_BUDGET_MS, **kw})

    return [
        search("audit search: no filter", {}, [], []),
        search("audit search: by user", {"user": actor_username}, ["a.actor_id = %s"], [actor_id]),
        Case(
            "audit search: by field",
            "/manage/audit/?" + urlencode({"field": field_name}),
            *audit_field_or_event_sql(field_name, DEFAULT_PAGE),
            budget_ms=AUDIT_BUDGET_MS,
        ),
        Case(
            "audit search: by event",
            "/manage/audit/?" + urlencode({"field": event_name}),
            *audit_field_or_event_sql(event_name, DEFAULT_PAGE),
            budget_ms=AUDIT_BUDGET_MS,
        ),
        search(
            "audit search: by object",
            {"object_type": ct_user, "object_id": hot_id},
            ["a.content_type_id = %s", "a.object_id = %s"],
            [ct_user, str(hot_id)],
        ),
        search("audit search: by object type", {"object_type": ct_team}, ["a.content_type_id = %s"], [ct_team]),
        search(
            "audit search: by date range",
            {"date_from": day_from.isoformat(), "date_to": day_to.isoformat()},
            ["a.at >= %s", "a.at < %s"],
            [ctx.db_datetime(from_at), ctx.db_datetime(to_at)],
        ),
        search(
            "audit search: user + date range",
            {"user": actor_username, "date_from": day_from.isoformat(), "date_to": day_to.isoformat()},
            ["a.actor_id = %s", "a.at >= %s", "a.at < %s"],
            [actor_id, ctx.db_datetime(from_at), ctx.db_datetime(to_at)],
        ),
        search("audit search: deep page (cursor)", {"after": deep_cursor}, [deep_where], deep_args),
        # Page-size variants: they check that the query count does not grow with the page; the
        # budget is for the page as served (50 rows).
        search("audit search: size 10", {"size": 10}, [], [], same_queries="audit search", budget_ms=None),
        search("audit search: size 100", {"size": 100}, [], [], same_queries="audit search", budget_ms=None),
        person("timeline: busiest person", {}, [], []),
        person("timeline: deep page (cursor)", {"after": timeline_cursor}, [t_where], t_args),
        person("timeline: size 10", {"size": 10}, [], [], same_queries="timeline", budget_ms=None),
        person("timeline: size 100", {"size": 100}, [], [], same_queries="timeline", budget_ms=None),
    ]


def _crm_cases(ctx: Context) -> list[Case]:
    from bench.crm_cases import crm_cases

    return crm_cases(ctx)


def _targets_cases(ctx: Context) -> list[Case]:
    from bench.targets_cases import targets_cases

    return targets_cases(ctx)


SUITES: dict[str, Callable[[Context], list[Case]]] = {
    "audit": audit_cases,
    "crm": _crm_cases,
    "targets": _targets_cases,
}
