"""Generate benchmark data at a named scale: the demo company, more reps, and a long audit trail.

    python -m bench.generate --scale audit-1m [--seed 2026]

The audit rows look like the ones Bridge writes (``bridgecrm.core.audit``): field changes of users
and teams by admins, managers and the people themselves, creations, and security events (sign-ins,
failed sign-ins, tokens, passwords…), over ``scale.days`` days with more traffic on weekdays and
in office hours, from several sources. Who is touched follows a Zipf law, so a few people have a
very long history (the timeline case benchmarks the longest one).

Rows are inserted in bulk, outside the ORM: ``executemany`` in batches on SQLite, ``COPY`` on
PostgreSQL. Audit rows are append-only, so running again only tops the trail up to the scale.
Same seed, same day: same rows on every database.
"""

from __future__ import annotations

import argparse
import bisect
import datetime as dt
import itertools
import json
import random
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from bench.scales import SCALES, Scale, get_scale

AUDIT_COLUMNS = (
    "at",
    "actor_id",
    "actor_label",
    "source",
    "request_id",
    "ip",
    "action",
    "event",
    "content_type_id",
    "object_id",
    "object_repr",
    "field",
    "old_value",
    "new_value",
)
BENCH_PREFIX = "bench."
SQLITE_BATCH = 10_000
POSTGRES_BATCH = 50_000


class Table:
    """A weighted choice, its cumulative weights computed once."""

    def __init__(self, table: list[tuple[str, float]]) -> None:
        self.keys = [k for k, _ in table]
        self.cum = list(itertools.accumulate(w for _, w in table))
        self.total = self.cum[-1]

    def pick(self, rng: random.Random) -> str:
        return self.keys[bisect.bisect(self.cum, rng.random() * self.total)]


# (operation, weight). One operation writes one row, or a few rows in the same request.
OPERATIONS = [
    ("user_update", 34.0),
    ("team_update", 6.0),
    ("user_create", 0.6),
    ("team_create", 0.1),
    ("sign_in", 30.0),
    ("sign_out", 9.0),
    ("sign_in_failed", 5.0),
    ("sign_in_throttled", 0.4),
    ("password_changed", 1.2),
    ("password_reset_sent", 0.5),
    ("token_created", 0.8),
    ("token_revoked", 0.4),
    ("sessions_ended", 1.5),
]
PROFILE_FIELD_WEIGHTS: list[tuple[str, float]] = [
    ("phone", 5),
    ("time_zone", 2),
    ("language", 3),
    ("full_name", 2),
    ("email", 2),
]
ADMIN_FIELD_WEIGHTS: list[tuple[str, float]] = [
    ("team", 4),
    ("role", 2),
    ("is_active", 1),
    ("deactivate_at", 1),
    ("username", 0.3),
    ("email", 1),
]
PROFILE_FIELDS = Table(PROFILE_FIELD_WEIGHTS)
USER_FIELDS = Table(ADMIN_FIELD_WEIGHTS + PROFILE_FIELD_WEIGHTS)
TEAM_FIELDS = Table([("name", 2), ("manager", 4), ("parent", 1), ("is_active", 0.5), ("kind", 0.1)])
TIME_ZONES = ["Asia/Shanghai", "Asia/Singapore", "Europe/Berlin", "Asia/Hong_Kong"]
SOURCES_CHANGE = Table([("web", 75), ("api", 12), ("import", 8), ("automation", 5)])
SOURCES_SIGN_IN = Table([("web", 92), ("api", 8)])


@dataclass
class Person:
    id: int
    username: str
    repr: str
    team_id: int | None
    role_id: int | None
    can_administer: bool
    ip: str


@dataclass
class Population:
    people: list[Person]
    hot_weights: list[float]  # cumulative Zipf weights over ``people`` (shuffled by seed)
    admins: list[Person]
    teams: list[tuple[int, str]]  # (id, name)
    team_ids: list[int]
    role_ids: list[int]
    ct_user: int
    ct_team: int


def log_to_stdout(message: str) -> None:
    print(message, flush=True)


# ---- the company -----------------------------------------------------------------------------------


def ensure_company(scale: Scale, seed: int, log: Callable[[str], None]) -> None:
    """The demo company (through the services, so it is audited), then extra reps in bulk."""
    from django.db import transaction

    from bridgecrm.users.demo import ENGLISH_FIRST, ENGLISH_LAST, GIVEN, SURNAMES, create_demo_company, demo_exists
    from bridgecrm.users.models import Role, Team, TeamKind, User

    if not demo_exists():
        accounts = create_demo_company(seed=seed)
        log(f"demo company created: {len(accounts)} people")
    existing = User.objects.filter(username__startswith=BENCH_PREFIX).count()
    missing = scale.extra_people - existing
    if missing <= 0:
        return
    rng = random.Random(seed + 1)
    rep = Role.objects.get(code="rep")
    teams = list(Team.objects.filter(kind=TeamKind.TEAM).order_by("id"))
    users = []
    for n in range(existing + 1, scale.extra_people + 1):
        team = teams[n % len(teams)]
        international = team.name.startswith(("Singapore", "Europe"))
        if international:
            full_name = f"{rng.choice(ENGLISH_FIRST)} {rng.choice(ENGLISH_LAST)}"
        else:
            full_name = rng.choice(SURNAMES) + rng.choice(GIVEN)
        username = f"{BENCH_PREFIX}rep.{n:04d}"
        user = User(
            username=username,
            full_name=full_name,
            email=f"{username}@bridge-demo.example",
            team=team,
            role=rep,
            language="en" if international else "zh-hans",
            time_zone="Asia/Singapore" if international else "Asia/Shanghai",
        )
        user.set_unusable_password()
        users.append(user)
    with transaction.atomic():
        User.objects.bulk_create(users, batch_size=500)
    log(f"extra reps created: {len(users)}")


def load_population(seed: int) -> Population:
    from django.contrib.contenttypes.models import ContentType

    from bridgecrm.users.models import Role, RolePermission, Team, User

    administering = set(
        RolePermission.objects.filter(capability__in=["users.manage", "records.view_team"]).values_list(
            "role_id", flat=True
        )
    )
    rng = random.Random(seed + 2)
    people = []
    for user in User.objects.order_by("id"):
        third = 1 + user.pk % 250
        people.append(
            Person(
                id=user.pk,
                username=user.get_username(),
                repr=str(user)[:200],
                team_id=user.team_id,
                role_id=user.role_id,
                can_administer=user.role_id in administering,
                ip=f"10.{user.pk % 200}.{third}.{1 + user.pk % 240}",
            )
        )
    if not people:
        raise SystemExit("no users: run migrate, then this command creates the demo company")
    hot = people[:]
    rng.shuffle(hot)
    weights = list(itertools.accumulate(1.0 / (rank + 1) ** 1.1 for rank in range(len(hot))))
    teams = list(Team.objects.order_by("id").values_list("id", "name"))
    return Population(
        people=hot,
        hot_weights=weights,
        admins=[p for p in people if p.can_administer] or people[:1],
        teams=teams,
        team_ids=[t[0] for t in teams],
        role_ids=list(Role.objects.order_by("id").values_list("id", flat=True)),
        ct_user=ContentType.objects.get_for_model(User).pk,
        ct_team=ContentType.objects.get_for_model(Team).pk,
    )


# ---- the trail -------------------------------------------------------------------------------------


def timestamps(n: int, days: int, end: dt.datetime, rng: random.Random) -> list[float]:
    """``n`` sorted POSIX times over ``days`` days before ``end``: busier on weekdays, in office
    hours (Asia/Shanghai), and more recently (the company grew)."""
    start = end - dt.timedelta(days=days)
    day_weights = []
    for d in range(days):
        day = start + dt.timedelta(days=d)
        growth = 0.5 + d / days
        day_weights.append(growth * (0.15 if day.weekday() >= 5 else 1.0))
    cum = list(itertools.accumulate(day_weights))
    base = start.timestamp() - 8 * 3600  # local midnight in UTC+8
    total = cum[-1]
    out = []
    for _ in range(n):
        d = bisect.bisect(cum, rng.random() * total)
        second = min(max(rng.gauss(14.5 * 3600, 3.2 * 3600), 0.0), 86399.0)
        out.append(base + d * 86400 + second + rng.random())
    out.sort()
    end_ts = end.timestamp()
    return [min(t, end_ts - 1) for t in out]


class TrailWriter:
    """Yields audit rows (tuples in ``AUDIT_COLUMNS`` order), oldest first."""

    def __init__(self, pop: Population, rng: random.Random, fmt_at: Callable[[dt.datetime], Any]) -> None:
        self.pop = pop
        self.rng = rng
        self.fmt_at = fmt_at
        self.state: dict[tuple[str, int, str], Any] = {}
        self.op_names = [k for k, _ in OPERATIONS]
        self.op_cum = list(itertools.accumulate(w for _, w in OPERATIONS))
        self.team_names = dict(pop.teams)

    def hot_person(self) -> Person:
        pop = self.pop
        return pop.people[bisect.bisect(pop.hot_weights, self.rng.random() * pop.hot_weights[-1])]

    def any_person(self) -> Person:
        return self.rng.choice(self.pop.people)

    def request_id(self) -> str:
        return f"{self.rng.getrandbits(128):032x}"

    def new_value(self, kind: str, field: str, obj_id: int, old: Any) -> Any:
        """A value different from ``old`` (when the field has more than one possible value)."""
        for _ in range(30):
            new = self.value(kind, field, obj_id)
            if new != old:
                return new
        if field == "is_active":
            return not old
        if field == "deactivate_at":
            return None if old else "2026-06-30T16:00:00+00:00"
        return new

    def value(self, kind: str, field: str, obj_id: int) -> Any:
        rng = self.rng
        match (kind, field):
            case (_, "phone"):
                return f"+86 1{rng.randint(30, 99)} {rng.randint(1000, 9999)} {rng.randint(1000, 9999)}"
            case (_, "time_zone"):
                return rng.choice(TIME_ZONES)
            case (_, "language"):
                return rng.choice(["zh-hans", "en"])
            case ("user", "full_name"):
                return rng.choice(["王", "李", "张", "刘", "陈"]) + rng.choice(["伟", "芳", "娜", "敏", "静", "子涵"])
            case ("user", "email"):
                return f"user{obj_id}.{rng.randint(1, 99)}@bridge-demo.example"
            case ("user", "username"):
                return f"user{obj_id}.{rng.randint(1, 9)}"
            case ("user", "team") | ("team", "parent"):
                return rng.choice(self.pop.team_ids)
            case ("user", "role"):
                return rng.choice(self.pop.role_ids)
            case (_, "is_active"):
                return rng.random() < 0.8
            case ("user", "deactivate_at"):
                if rng.random() < 0.5:
                    return None
                return (dt.datetime(2026, 1, 1, tzinfo=dt.UTC) + dt.timedelta(days=rng.randint(0, 700))).isoformat()
            case ("team", "name"):
                return f"{self.team_names.get(obj_id, 'Team')} {rng.randint(2, 9)}"
            case ("team", "manager"):
                return self.any_person().id
            case ("team", "kind"):
                return rng.choice(["team", "region"])
        return None

    def rows(self, times: list[float]) -> Iterator[tuple[Any, ...]]:
        rng = self.rng
        i = 0
        n = len(times)
        while i < n:
            at = dt.datetime.fromtimestamp(times[i], tz=dt.UTC)
            op = self.op_names[bisect.bisect(self.op_cum, rng.random() * self.op_cum[-1])]
            batch = list(self.operation(op, at))
            # An operation with k rows uses k time slots (keeps the spread) but one time.
            yield from batch[: n - i]
            i += len(batch)

    def operation(self, op: str, at: dt.datetime) -> Iterator[tuple[Any, ...]]:
        rng, pop = self.rng, self.pop
        rid = self.request_id()
        fmt = self.fmt_at

        def row(
            actor: Person | None,
            source: str,
            action: str,
            *,
            event: str = "",
            ct: int | None = None,
            obj_id: int | None = None,
            obj_repr: str = "",
            field: str = "",
            old: Any = None,
            new: Any = None,
            offset_us: int = 0,
        ) -> tuple[Any, ...]:
            return (
                fmt(at + dt.timedelta(microseconds=offset_us)),
                actor.id if actor else None,
                actor.username if actor else "",
                source,
                rid,
                (actor.ip if actor else f"203.0.113.{rng.randint(1, 254)}") if source in ("web", "api") else "",
                action,
                event,
                ct,
                "" if obj_id is None else str(obj_id),
                obj_repr,
                field,
                None if old is None else json.dumps(old),
                None if new is None else json.dumps(new),
            )

        if op == "user_update":
            person = self.hot_person()
            self_service = rng.random() < 0.45
            actor = person if self_service else rng.choice(pop.admins)
            table = PROFILE_FIELDS if self_service else USER_FIELDS
            fields = {table.pick(rng) for _ in range(1 if rng.random() < 0.7 else rng.randint(2, 3))}
            source = SOURCES_CHANGE.pick(rng)
            for k, field in enumerate(sorted(fields)):
                key = ("user", person.id, field)
                old = self.state.get(key)
                new = self.new_value("user", field, person.id, old)
                self.state[key] = new
                kw = {"ct": pop.ct_user, "obj_id": person.id, "obj_repr": person.repr}
                yield row(actor, source, "update", field=field, old=old, new=new, offset_us=k, **kw)
                if field == "role":
                    yield row(actor, source, "security", event="role_changed", field="role", old=old, new=new, **kw)
        elif op == "team_update":
            team_id, name = rng.choice(pop.teams)
            actor = rng.choice(pop.admins)
            field = TEAM_FIELDS.pick(rng)
            key = ("team", team_id, field)
            old = self.state.get(key)
            new = self.new_value("team", field, team_id, old)
            self.state[key] = new
            yield row(
                actor,
                SOURCES_CHANGE.pick(rng),
                "update",
                ct=pop.ct_team,
                obj_id=team_id,
                obj_repr=name,
                field=field,
                old=old,
                new=new,
            )
        elif op == "user_create":
            person = self.any_person()
            actor = rng.choice(pop.admins) if rng.random() < 0.8 else None
            values = {
                "username": person.username,
                "email": f"{person.username}@bridge-demo.example",
                "full_name": person.repr,
                "team": person.team_id,
                "role": person.role_id,
                "is_active": True,
                "language": "zh-hans",
                "time_zone": "Asia/Shanghai",
                "phone": "",
                "deactivate_at": None,
            }
            source = "system" if actor is None else SOURCES_CHANGE.pick(rng)
            yield row(actor, source, "create", ct=pop.ct_user, obj_id=person.id, obj_repr=person.repr, new=values)
        elif op == "team_create":
            team_id, name = rng.choice(pop.teams)
            values = {"name": name, "kind": "team", "parent": rng.choice(pop.team_ids), "manager": None}
            values["is_active"] = True
            yield row(
                rng.choice(pop.admins), "web", "create", ct=pop.ct_team, obj_id=team_id, obj_repr=name, new=values
            )
        else:  # security events
            person = self.hot_person()
            kw = {"ct": pop.ct_user, "obj_id": person.id, "obj_repr": person.repr}
            if op in ("sign_in", "sign_out"):
                yield row(person, SOURCES_SIGN_IN.pick(rng), "security", event=op, **kw)
            elif op == "sign_in_failed":
                if rng.random() < 0.2:
                    kw = {}
                yield row(None, "web", "security", event=op, new={"username": person.username}, **kw)
            elif op == "sign_in_throttled":
                yield row(None, "web", "security", event=op, new={"username": person.username})
            elif op == "password_changed":
                actor = person if rng.random() < 0.9 else rng.choice(pop.admins)
                yield row(actor, "web", "security", event=op, **kw)
            elif op == "password_reset_sent":
                yield row(rng.choice(pop.admins), "web", "security", event=op, **kw)
            elif op in ("token_created", "token_revoked"):
                prefix = f"brg_{rng.getrandbits(24):06x}"
                details = {"token": prefix}
                if op == "token_created":
                    details |= {
                        "name": rng.choice(["ERP sync", "BI export", "script"]),
                        "read_only": rng.random() < 0.5,
                    }
                    details["expires_at"] = None
                yield row(person, "web", "security", event=op, new=details, **kw)
            elif op == "sessions_ended":
                yield row(person, "web", "security", event=op, new={"count": rng.randint(1, 4)}, **kw)


# ---- inserting -------------------------------------------------------------------------------------


def _insert_sqlite(rows: Iterator[tuple[Any, ...]], log: Callable[[str], None], total: int) -> None:
    from django.db import connection, transaction

    sql = f"INSERT INTO core_auditentry ({', '.join(AUDIT_COLUMNS)}) VALUES ({', '.join(['%s'] * len(AUDIT_COLUMNS))})"
    done = 0
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA cache_size=-512000")  # this connection only: index pages stay in memory
    while batch := list(itertools.islice(rows, SQLITE_BATCH)):
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.executemany(sql, batch)
        done += len(batch)
        if done % 100_000 < SQLITE_BATCH:
            log(f"  {done:,} / {total:,}")
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA cache_size=-64000")


def _insert_postgres(rows: Iterator[tuple[Any, ...]], log: Callable[[str], None], total: int) -> None:
    from django.db import connection, transaction

    copy_sql = f"COPY core_auditentry ({', '.join(AUDIT_COLUMNS)}) FROM STDIN"
    done = 0
    while batch := list(itertools.islice(rows, POSTGRES_BATCH)):
        with transaction.atomic(), connection.cursor() as cursor, cursor.cursor.copy(copy_sql) as copy:
            for row in batch:
                copy.write_row(row)
        done += len(batch)
        if done % 100_000 < POSTGRES_BATCH:
            log(f"  {done:,} / {total:,}")


def _analyze(vendor: str, log: Callable[[str], None]) -> None:
    """PostgreSQL's autovacuum would vacuum and analyze after such a load; do it now so the run
    sees the database as it would be a minute later. SQLite gets nothing: Bridge never runs
    ANALYZE there, so the plans must be good without statistics."""
    from django.db import connection

    if vendor == "postgresql" and not connection.in_atomic_block:
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE core_auditentry")
        log("VACUUM ANALYZE core_auditentry done")


@dataclass(frozen=True)
class GenerateReport:
    scale: str
    vendor: str
    audit_rows: int
    inserted: int
    seconds: float
    crm_rows: dict[str, int] | None = None


def generate(
    scale: Scale, *, seed: int = 2026, end: dt.datetime | None = None, log: Callable[[str], None] = log_to_stdout
) -> GenerateReport:
    """Bring the database up to ``scale``. Django must be set up and the schema migrated."""
    from django.db import connection

    from bridgecrm.core.models import AuditEntry

    started = time.perf_counter()
    vendor = connection.vendor
    ensure_company(scale, seed, log)
    if end is None:
        end = dt.datetime.now(dt.UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    crm_rows = None
    if scale.customers:
        from bench.crm import analyze, generate_crm

        crm_started = time.perf_counter()
        crm_rows = generate_crm(scale, seed=seed, end=end, log=log)
        analyze(log)
        log(f"CRM rows: {crm_rows} in {time.perf_counter() - crm_started:.1f} s")
    existing = AuditEntry.objects.count()
    need = scale.audit_rows - existing
    if need <= 0:
        log(f"{existing:,} audit rows already: nothing to add for scale {scale.name}")
        return GenerateReport(scale.name, vendor, existing, 0, time.perf_counter() - started, crm_rows)
    pop = load_population(seed)
    rng = random.Random(seed)
    times = timestamps(need, scale.days, end, rng)
    if vendor == "sqlite":

        def fmt_at(value: dt.datetime) -> Any:
            return str(value.replace(tzinfo=None))  # what Django stores: naive UTC text

        insert = _insert_sqlite
    elif vendor == "postgresql":

        def fmt_at(value: dt.datetime) -> Any:
            return value

        insert = _insert_postgres
    else:
        raise SystemExit(f"bench.generate supports SQLite and PostgreSQL, not {vendor}")
    log(f"inserting {need:,} audit rows on {vendor} (scale {scale.name}, seed {seed})")
    insert(TrailWriter(pop, rng, fmt_at).rows(times), log, need)
    _analyze(vendor, log)
    total = AuditEntry.objects.count()
    seconds = time.perf_counter() - started
    log(f"done: {total:,} audit rows, {need:,} inserted in {seconds:.1f} s")
    return GenerateReport(scale.name, vendor, total, need, seconds, crm_rows)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.generate", description=__doc__.splitlines()[0])
    parser.add_argument("--scale", required=True, choices=sorted(SCALES))
    parser.add_argument("--seed", type=int, default=2026)
    args = parser.parse_args(argv)
    from bench._setup import django_setup, ensure_static

    django_setup()
    ensure_static()
    generate(get_scale(args.scale), seed=args.seed)


if __name__ == "__main__":
    main()
