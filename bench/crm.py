"""CRM data for the ``crm-*`` scales: customers, contacts with phones, follow-ups, deals with their
stage histories, contracts with payment plans and payments.

Rows are inserted outside the ORM (``executemany`` in batches on SQLite, ``COPY`` on PostgreSQL),
in an order that lets every child find its parent's id without reading anything back but the new
ids. The denormalised columns the services keep are computed here the same way:

- ``Customer.last_follow_up_at`` / ``next_follow_up_on``: the newest follow-up's time and its
  "next follow-up" date;
- ``Deal.status`` / ``probability`` / ``forecast_category``: the stage's; ``amount_base``: the
  amount (every deal is in CNY, the base currency); ``stage_entered_at``: the last stage change;
- ``Contract.received_amount``: the sum of its payments; ``PaymentPlanLine.paid_amount``: the sum of
  its allocations, ``paid_on``: the day the last allocation made it whole.

Customers are generated once (the generator refuses to add a second batch on top of a complete one;
``--scale`` bigger than what is there tops up nothing and says so).
"""

from __future__ import annotations

import datetime as dt
import itertools
import random
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from bench.scales import Scale

SQLITE_BATCH = 20_000
POSTGRES_BATCH = 50_000
CENT = Decimal("0.01")
TEN = dt.time(10)

CUSTOMER_COLUMNS = (
    "kind",
    "name",
    "lifecycle_stage",
    "source",
    "industry",
    "country",
    "province",
    "city",
    "size",
    "estimated_annual_potential",
    "currency",
    "owner_id",
    "team_id",
    "created_at",
    "updated_at",
    "deleted_at",
    "version",
    "last_follow_up_at",
    "next_follow_up_on",
    "name_key",
    "tier",
    "is_protected",
    "custom",
    "owner_since",
)
CONTACT_COLUMNS = (
    "customer_id",
    "name",
    "title",
    "decision_role",
    "email",
    "wechat",
    "is_primary",
    "notes",
    "created_at",
    "updated_at",
    "custom",
)
PHONE_COLUMNS = ("contact_id", "raw", "e164", "kind")
FOLLOW_UP_COLUMNS = (
    "customer_id",
    "contact_id",
    "deal_id",
    "kind",
    "occurred_at",
    "summary",
    "outcome",
    "next_follow_up_on",
    "checkin_address",
    "owner_id",
    "created_at",
    "updated_at",
    "version",
)
DEAL_COLUMNS = (
    "name",
    "customer_id",
    "contact_id",
    "pipeline_id",
    "stage_id",
    "status",
    "amount",
    "currency",
    "amount_base",
    "expected_close_date",
    "probability",
    "probability_overridden",
    "forecast_category",
    "forecast_overridden",
    "owner_id",
    "team_id",
    "source",
    "next_step",
    "lost_reason_id",
    "lost_note",
    "closed_on",
    "stage_entered_at",
    "created_at",
    "updated_at",
    "version",
    "custom",
)
STAGE_CHANGE_COLUMNS = (
    "deal_id",
    "from_stage_id",
    "to_stage_id",
    "changed_at",
    "changed_by_id",
    "seconds_in_from_stage",
)
CONTRACT_COLUMNS = (
    "number",
    "title",
    "customer_id",
    "deal_id",
    "amount",
    "currency",
    "signed_on",
    "starts_on",
    "ends_on",
    "status",
    "owner_id",
    "received_amount",
    "notes",
    "created_at",
    "updated_at",
    "lock_version",
)
PLAN_LINE_COLUMNS = ("contract_id", "due_on", "amount", "paid_amount", "paid_on", "note")
PAYMENT_COLUMNS = (
    "contract_id",
    "received_on",
    "amount",
    "currency",
    "method",
    "reference",
    "note",
    "recorded_by_id",
    "created_at",
)
ALLOCATION_COLUMNS = ("payment_id", "plan_line_id", "amount")

FOLLOW_UP_KINDS = ["call", "call", "call", "wechat", "wechat", "visit", "meeting", "email", "note"]
OUTCOMES = ["positive", "neutral", "neutral", "negative", "no_answer", ""]
SUMMARIES = [
    "电话沟通需求，客户关注价格和交付周期",
    "上门拜访，演示了系统，对报表功能感兴趣",
    "微信跟进报价，客户需内部讨论",
    "Sent the proposal and the reference list",
    "客户反馈预算已批，约下周再谈",
    "Call: no decision yet, call back after the trade fair",
    "技术交流会，确认对接 ERP 的方案",
]
NEXT_STEPS = ["安排演示", "发送报价单", "确认预算", "商务谈判", "Send contract draft", ""]
ROLES = ["decision_maker", "influencer", "champion", "user", "gatekeeper", "", ""]


@dataclass
class CrmWorld:
    owners: list[tuple[int, int | None]]  # (user id, team id) of the people who own customers
    run_owner: int  # a rep with many customers (the "by owner" cases)
    pipelines: list[tuple[int, list[tuple[int, int, str, int, str]]]]  # (pipeline id, stages)
    lost_reasons: list[int]
    director: int


def log_to_stdout(message: str) -> None:
    print(message, flush=True)


# ---- inserting ---------------------------------------------------------------------------------------


def _sqlite_value(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return str(value.astimezone(dt.UTC).replace(tzinfo=None))
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return value


def insert_rows(table: str, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> int:
    """Insert ``rows`` (Python values: aware datetimes, dates, Decimals, bools) in batches; each
    batch in its own transaction. Returns the number of rows."""
    from django.db import connection, transaction

    done = 0
    it = iter(rows)
    if connection.vendor == "sqlite":
        sql = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join(['%s'] * len(columns))})"
        while batch := list(itertools.islice(it, SQLITE_BATCH)):
            converted = [tuple(_sqlite_value(v) for v in row) for row in batch]
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.executemany(sql, converted)
            done += len(batch)
    else:
        copy_sql = f"COPY {table} ({', '.join(columns)}) FROM STDIN"
        while batch := list(itertools.islice(it, POSTGRES_BATCH)):
            with transaction.atomic(), connection.cursor() as cursor, cursor.cursor.copy(copy_sql) as copy:
                for row in batch:
                    copy.write_row(row)
            done += len(batch)
    return done


def new_ids(table: str, after: int) -> list[int]:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(f"SELECT id FROM {table} WHERE id > %s ORDER BY id", [after])
        return [r[0] for r in cursor.fetchall()]


def max_id(table: str) -> int:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(f"SELECT COALESCE(MAX(id), 0) FROM {table}")
        return int(cursor.fetchone()[0])


# ---- the world ---------------------------------------------------------------------------------------


def load_world(seed: int) -> CrmWorld:
    from bridgecrm.pipeline import services as pipeline_services
    from bridgecrm.pipeline.demo import create_demo_pipeline
    from bridgecrm.pipeline.models import LostReason, Pipeline
    from bridgecrm.users.models import User

    director = User.objects.get(username="director")
    if not Pipeline.objects.exists():
        create_demo_pipeline(admin=director)
    if Pipeline.objects.count() < 3:
        pipeline_services.pipeline_create(actor=director, name="续约与增购")
    pipelines = []
    for pipeline in Pipeline.objects.order_by("-is_default", "order", "id"):
        stages = list(
            pipeline.stages.order_by("order").values_list("id", "probability", "kind", "order", "forecast_category")
        )
        pipelines.append((pipeline.pk, [(s[0], s[1], s[2], s[3], s[4]) for s in stages]))
    owners = list(
        User.objects.filter(is_active=True, role__code__in=["rep", "manager"])
        .order_by("id")
        .values_list("id", "team_id")
    )
    reps = [
        u for u in User.objects.filter(is_active=True, role__code="rep").order_by("id").values_list("id", flat=True)
    ]
    rng = random.Random(seed + 5)
    return CrmWorld(
        owners=owners,
        run_owner=rng.choice(reps[:20]) if reps else owners[0][0],
        pipelines=pipelines,
        lost_reasons=list(LostReason.objects.order_by("id").values_list("id", flat=True)),
        director=director.pk,
    )


# ---- generators ----------------------------------------------------------------------------------------


def _mobile(rng: random.Random) -> str:
    return f"1{rng.choice('3589')}{rng.randint(0, 9)}{rng.randint(10_000_000, 99_999_999)}"


def _raw_phone(rng: random.Random, national: str) -> str:
    style = rng.random()
    if style < 0.4:
        return national
    if style < 0.7:
        return f"{national[:3]} {national[3:7]} {national[7:]}"
    if style < 0.85:
        return f"{national[:3]}-{national[3:7]}-{national[7:]}"
    return f"+86 {national}"


def _money(rng: random.Random, low: int, high: int) -> Decimal:
    return Decimal(rng.randint(low, high) * 100).quantize(CENT)


@dataclass
class CustomerPlan:
    follow_ups: int
    contacts: int
    created: dt.datetime
    last: dt.datetime | None
    next_on: dt.date | None
    owner: int
    team: int | None


def generate_crm(
    scale: Scale, *, seed: int, end: dt.datetime, log: Callable[[str], None] = log_to_stdout
) -> dict[str, int]:
    """Insert the CRM rows of ``scale`` (once: refuses when customers exist beyond the demo's)."""
    from bench.generate import BENCH_PREFIX  # noqa: F401 - one place names the bench's people
    from bridgecrm.customers.demo import (
        CITIES,
        EN_COUNTRIES,
        EN_FIRST,
        EN_FORM,
        EN_PEOPLE,
        EN_SECOND,
        GIVEN,
        SURNAMES,
        TITLES_EN,
        TITLES_ZH,
        ZH_FORM,
        ZH_SUFFIX,
        ZH_WORDS,
    )
    from bridgecrm.customers.models import Customer
    from bridgecrm.customers.normalise import name_key
    from bridgecrm.customers.search_index import rebuild

    existing = Customer.objects.count()
    if existing >= scale.customers:
        log(f"{existing:,} customers already: no CRM rows added for scale {scale.name}")
        return {}
    rng = random.Random(seed + 10)
    world = load_world(seed)
    counts: dict[str, int] = {}
    start = end - dt.timedelta(days=scale.days)
    today = end.date()
    span = (end - start).total_seconds()
    n = scale.customers

    # -- the plan per customer: how many contacts and follow-ups, when; so the customers' own
    # denormalised columns are known before their follow-ups are written.
    provinces = list(CITIES)
    weights = [1.0 / (k + 1) ** 0.9 for k in range(len(world.owners))]
    owner_index = list(range(len(world.owners)))
    rng.shuffle(owner_index)
    run_owner_slot = next(i for i, (uid, _t) in enumerate(world.owners) if uid == world.run_owner)
    owner_index.remove(run_owner_slot)
    owner_index.insert(1, run_owner_slot)  # the run's rep is among the busiest
    per_customer = scale.follow_ups / n
    plans: list[CustomerPlan] = []
    for i in range(n):
        created = start + dt.timedelta(seconds=span * (i / n) ** 0.8 * 0.95)
        k = rng.choices(owner_index, weights=weights)[0] if i % 10 else owner_index[i % len(owner_index)]
        owner, team = world.owners[k]
        follow_ups = min(int(rng.expovariate(1 / per_customer)), 200)
        contacts = 1 + min(int(rng.expovariate(1 / (scale.contacts / n - 1 + 1e-9))), 9) if scale.contacts > n else 1
        last = None
        next_on = None
        if follow_ups:
            last = created + (end - created) * (0.4 + 0.6 * rng.random())
            if rng.random() < 0.5:
                next_on = (last + dt.timedelta(days=rng.randint(1, 30))).date()
        plans.append(CustomerPlan(follow_ups, contacts, created, last, next_on, owner, team))
    # Scale the follow-up counts so their sum is exactly the scale's.
    total = sum(p.follow_ups for p in plans)
    diff = scale.follow_ups - total
    idx = 0
    while diff != 0:
        plan = plans[idx % n]
        if diff > 0 and plan.last is not None:
            plan.follow_ups += 1
            diff -= 1
        elif diff < 0 and plan.follow_ups > 1:
            plan.follow_ups -= 1
            diff += 1
        idx += 1
    total_contacts = sum(p.contacts for p in plans)
    diff = scale.contacts - total_contacts
    idx = 0
    while diff != 0:
        plan = plans[idx % n]
        if diff > 0 and plan.contacts < 10:
            plan.contacts += 1
            diff -= 1
        elif diff < 0 and plan.contacts > 1:
            plan.contacts -= 1
            diff += 1
        idx += 1

    def customers() -> Iterator[tuple[Any, ...]]:
        for i, plan in enumerate(plans):
            international = rng.random() < 0.08
            industry = rng.choice(list(ZH_SUFFIX))
            if international:
                name = f"{rng.choice(EN_FIRST)} {rng.choice(EN_SECOND)} {i} {rng.choice(EN_FORM)}"
                country, province, city = rng.choice(EN_COUNTRIES), "", ""
            else:
                province = rng.choice(provinces)
                city = rng.choice(CITIES[province])
                brand = rng.choice(ZH_WORDS) + rng.choice(ZH_WORDS)
                name = f"{city}{brand}{rng.choice(ZH_SUFFIX[industry])}{i}{rng.choice(ZH_FORM)}"
                country = "CN"
            updated = max(plan.created, plan.last or plan.created)
            yield (
                "company" if rng.random() < 0.9 else "individual",
                name,
                rng.choice(["lead", "lead", "prospect", "prospect", "customer", "customer", "churned"]),
                rng.choice(["referral", "website", "exhibition", "cold_call", "partner", "advertising", ""]),
                str(industry),
                country,
                province,
                city,
                rng.choice(["1-10", "11-50", "51-200", "201-1000", "1000+", ""]),
                _money(rng, 100, 50_000) if rng.random() < 0.7 else None,
                "CNY",
                plan.owner,
                plan.team,
                plan.created,
                updated,
                None,
                1,
                plan.last,
                plan.next_on,
                name_key(name),
                "",
                False,
                "{}",
                plan.created,
            )

    before = max_id("customers_customer")
    log(f"inserting {n:,} customers")
    counts["customers"] = insert_rows("customers_customer", CUSTOMER_COLUMNS, customers())
    customer_ids = new_ids("customers_customer", before)
    assert len(customer_ids) == n

    def contacts() -> Iterator[tuple[Any, ...]]:
        serial = 0
        for cid, plan in zip(customer_ids, plans, strict=True):
            for j in range(plan.contacts):
                serial += 1
                if rng.random() < 0.9:
                    name = rng.choice(SURNAMES) + rng.choice(GIVEN)
                    title = rng.choice(TITLES_ZH)
                else:
                    name = rng.choice(EN_PEOPLE)
                    title = rng.choice(TITLES_EN)
                email = f"contact{serial}@c{cid}.example.cn" if rng.random() < 0.8 else ""
                yield (cid, name, title, rng.choice(ROLES), email, "", j == 0, "", plan.created, plan.created)

    before = max_id("customers_contact")
    log(f"inserting {scale.contacts:,} contacts")
    counts["contacts"] = insert_rows("customers_contact", CONTACT_COLUMNS, ((*row, "{}") for row in contacts()))
    contact_ids = new_ids("customers_contact", before)
    first_contact: list[int] = []
    pos = 0
    for plan in plans:
        first_contact.append(contact_ids[pos])
        pos += plan.contacts

    def phones() -> Iterator[tuple[Any, ...]]:
        for contact_id in contact_ids:
            for _ in range(1 if rng.random() < 0.85 else 2):
                national = _mobile(rng)
                yield (contact_id, _raw_phone(rng, national), "+86" + national, "mobile")

    log("inserting phones")
    counts["phones"] = insert_rows("customers_contactphone", PHONE_COLUMNS, phones())

    def follow_ups() -> Iterator[tuple[Any, ...]]:
        for cid, plan, contact0 in zip(customer_ids, plans, first_contact, strict=True):
            if not plan.follow_ups or plan.last is None:
                continue
            window = (plan.last - plan.created).total_seconds()
            times = sorted(
                plan.created + dt.timedelta(seconds=window * rng.random()) for _ in range(plan.follow_ups - 1)
            )
            times.append(plan.last)
            for k, at in enumerate(times):
                newest = k == len(times) - 1
                next_on = plan.next_on if newest else (at + dt.timedelta(days=rng.randint(1, 20))).date()
                yield (
                    cid,
                    contact0 + rng.randrange(plan.contacts),
                    None,
                    rng.choice(FOLLOW_UP_KINDS),
                    at,
                    rng.choice(SUMMARIES),
                    rng.choice(OUTCOMES),
                    next_on,
                    "",
                    plan.owner,
                    at,
                    at,
                    1,
                )

    log(f"inserting {scale.follow_ups:,} follow-ups")
    counts["follow_ups"] = insert_rows("activities_followup", FOLLOW_UP_COLUMNS, follow_ups())

    # -- deals: ``open_deals`` open ones in the default pipeline; the rest closed over the span,
    # spread over every pipeline (a few open in the others too).
    main_pipeline, main_stages = world.pipelines[0]
    deal_rows: list[tuple[Any, ...]] = []
    histories: list[list[tuple[int | None, int, dt.datetime]]] = []
    deal_customers: list[tuple[int, CustomerPlan, int]] = []
    for d in range(scale.deals):
        ci = rng.randrange(n)
        plan = plans[ci]
        if d < scale.open_deals:
            pipeline_id, stages = main_pipeline, main_stages
            status = "open"
        else:
            pipeline_id, stages = world.pipelines[d % len(world.pipelines)] if d % 4 == 0 else world.pipelines[0]
            status = "won" if rng.random() < 0.35 else "lost"
            if pipeline_id != main_pipeline and rng.random() < 0.05:
                status = "open"
        open_stages = [s for s in stages if s[2] == "open"]
        if status == "open":
            created = end - dt.timedelta(seconds=rng.random() * 120 * 86400)
            path = open_stages[: 1 + rng.randrange(len(open_stages))]
            closed_on = None
        else:
            created = start + dt.timedelta(seconds=rng.random() * (span - 40 * 86400))
            reached = open_stages[: 1 + rng.randrange(len(open_stages))]
            final = next(s for s in stages if s[2] == status)
            path = [*reached, final]
            closed_on = None
        # Time in each stage: a few days to a few weeks; squeezed to end before ``end``, in order.
        steps = [0.0] + [rng.randint(2, 25) * 86400 * rng.random() + 3600 for _ in path[1:]]
        room = (end - created).total_seconds() - 60
        if sum(steps) > room:
            steps = [s * room / sum(steps) for s in steps]
        changes: list[tuple[int | None, int, dt.datetime]] = []
        at = created
        previous: int | None = None
        for stage, step in zip(path, steps, strict=True):
            at = at + dt.timedelta(seconds=step)
            changes.append((previous, stage[0], at))
            previous = stage[0]
        entered = changes[-1][2]
        stage = path[-1]
        if status != "open":
            closed_on = entered.date()
        amount = _money(rng, 50, 20_000)
        expected = (entered + dt.timedelta(days=rng.randint(5, 90))).date() if status == "open" else closed_on
        deal_rows.append(
            (
                f"{rng.choice(['CRM 项目', 'ERP 升级', 'BI 看板', '续约', 'WMS 实施', 'Renewal'])} {d + 1}",
                customer_ids[ci],
                first_contact[ci],
                pipeline_id,
                stage[0],
                status,
                amount,
                "CNY",
                amount,
                expected,
                stage[1],
                False,
                "closed" if status == "won" else ("omitted" if status == "lost" else stage[4]),
                False,
                plan.owner,
                plan.team,
                rng.choice(["referral", "website", "exhibition", ""]),
                rng.choice(NEXT_STEPS) if status == "open" else "",
                rng.choice(world.lost_reasons) if status == "lost" and world.lost_reasons else None,
                "",
                closed_on,
                entered,
                created,
                max(entered, created),
                1,
            )
        )
        histories.append(changes)
        deal_customers.append((customer_ids[ci], plan, d))
    before = max_id("pipeline_deal")
    log(f"inserting {scale.deals:,} deals ({scale.open_deals:,} open in pipeline {main_pipeline})")
    counts["deals"] = insert_rows("pipeline_deal", DEAL_COLUMNS, ((*row, "{}") for row in deal_rows))
    deal_ids = new_ids("pipeline_deal", before)

    def stage_changes() -> Iterator[tuple[Any, ...]]:
        for deal_id, changes, row in zip(deal_ids, histories, deal_rows, strict=True):
            owner = row[14]
            prev_at: dt.datetime | None = None
            for from_stage, to_stage, at in changes:
                seconds = None if prev_at is None else int((at - prev_at).total_seconds())
                yield (deal_id, from_stage, to_stage, at, owner, seconds)
                prev_at = at

    log("inserting stage changes")
    counts["stage_changes"] = insert_rows("pipeline_dealstagechange", STAGE_CHANGE_COLUMNS, stage_changes())

    # -- contracts on won deals, with plan lines until the scale's count is reached.
    won = [(deal_ids[k], row) for k, row in enumerate(deal_rows) if row[5] == "won"]
    rng.shuffle(won)
    contract_rows: list[tuple[Any, ...]] = []
    line_plans: list[list[tuple[dt.date, Decimal, Decimal, dt.date | None]]] = []
    lines_left = scale.plan_lines
    for serial, (deal_id, row) in enumerate(won, start=1):
        if lines_left <= 0:
            break
        k = min(lines_left, rng.choice([1, 2, 3, 3, 4, 6]))
        lines_left -= k
        amount: Decimal = row[6]
        signed = row[20]
        parts = [(amount / k).quantize(CENT)] * k
        parts[-1] = amount - sum(parts[:-1])
        lines = []
        for j, part in enumerate(parts):
            due = signed + dt.timedelta(days=30 * (j + 1))
            r = rng.random()
            if due <= today and r < 0.6:
                paid, paid_on = part, min(due + dt.timedelta(days=rng.randint(-10, 20)), today)
            elif r < 0.75:
                paid, paid_on = (part * Decimal(rng.randint(1, 9)) / 10).quantize(CENT), None
            else:
                paid, paid_on = Decimal("0.00"), None
            lines.append((due, part, paid, paid_on))
        received = sum((ln[2] for ln in lines), Decimal("0.00"))
        ends = signed + dt.timedelta(days=365)
        status = "completed" if received == amount else "active"
        contract_rows.append(
            (
                f"HT-B{serial:07d}",
                f"合同 {row[0]}",
                row[1],
                deal_id,
                amount,
                "CNY",
                signed,
                signed,
                ends,
                status,
                row[14],
                received,
                "",
                row[23],
                row[23],
                1,
            )
        )
        line_plans.append(lines)
    before = max_id("contracts_contract")
    log(f"inserting {len(contract_rows):,} contracts")
    counts["contracts"] = insert_rows("contracts_contract", CONTRACT_COLUMNS, contract_rows)
    contract_ids = new_ids("contracts_contract", before)

    def plan_lines() -> Iterator[tuple[Any, ...]]:
        for contract_id, lines in zip(contract_ids, line_plans, strict=True):
            for due, part, paid, paid_on in lines:
                yield (contract_id, due, part, paid, paid_on, "")

    before_lines = max_id("contracts_paymentplanline")
    log(f"inserting {scale.plan_lines - max(lines_left, 0):,} payment plan lines")
    counts["plan_lines"] = insert_rows("contracts_paymentplanline", PLAN_LINE_COLUMNS, plan_lines())
    line_ids = new_ids("contracts_paymentplanline", before_lines)
    paid_lines: list[tuple[int, int, dt.date, Decimal, int]] = []  # (contract, line, day, amount, owner)
    pos = 0
    for contract_id, lines, crow in zip(contract_ids, line_plans, contract_rows, strict=True):
        for due, _part, paid, paid_on in lines:
            if paid > 0:
                paid_lines.append((contract_id, line_ids[pos], paid_on or min(due, today), paid, crow[10]))
            pos += 1
    before = max_id("contracts_payment")
    log(f"inserting {len(paid_lines):,} payments and their allocations")
    counts["payments"] = insert_rows(
        "contracts_payment",
        PAYMENT_COLUMNS,
        (
            (
                c,
                day,
                amount,
                "CNY",
                "bank",
                f"BANK-{k}",
                "",
                owner,
                dt.datetime.combine(day, dt.time(10), tzinfo=dt.UTC),
            )
            for k, (c, _line, day, amount, owner) in enumerate(paid_lines)
        ),
    )
    payment_ids = new_ids("contracts_payment", before)
    counts["allocations"] = insert_rows(
        "contracts_paymentallocation",
        ALLOCATION_COLUMNS,
        ((pid, line, amount) for pid, (_c, line, _d, amount, _o) in zip(payment_ids, paid_lines, strict=True)),
    )
    rebuild()  # SQLite: the triggers kept the index; a rebuild compacts it after a bulk load
    return counts


def analyze(log: Callable[[str], None]) -> None:
    from django.db import connection

    if connection.vendor != "postgresql" or connection.in_atomic_block:
        return
    with connection.cursor() as cursor:
        for table in (
            "customers_customer",
            "customers_contact",
            "customers_contactphone",
            "activities_followup",
            "pipeline_deal",
            "pipeline_dealstagechange",
            "contracts_contract",
            "contracts_paymentplanline",
            "contracts_payment",
            "contracts_paymentallocation",
        ):
            cursor.execute(f"VACUUM ANALYZE {table}")
    log("VACUUM ANALYZE of the CRM tables done")
