"""Import bench of the contacts, deals and follow-ups kinds: a realistic CSV of each through
``services.import_job_create`` + ``engine.run_job``, with the kind's batches prepared ahead in a
second process (imports/ahead.py, when the kind ``prepares``) and with that forced off, on the
configured database.

    export BRIDGE_VAR_DIR=/tmp/bench-kinds && .venv/bin/bridgecrm migrate
    .venv/bin/python -m bench.import_kinds_bench --rows 20000

The files refer to customers made first, once per database, by a customers import (``KB-…``
external ids, each with a primary contact), to five reps and to the default pipeline; deals in US
dollars need the monthly USD rates the setup adds. Each file has about 2% duplicates of its own
earlier rows and 2% bad rows of several sorts. Every run is a process of its own (so its peak
memory is its own) on the kind's records emptied first; the outcome's digest (counts, error file,
the records' values) shows whether both ways of preparing gave the same result. Results: a table
on stdout and ``bench/results/import-kinds-<vendor>.md``.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import hashlib
import json
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).parent / "results"
KINDS = ("contacts", "deals", "follow_ups")
MODES = ("ahead", "inline")
REPS = [
    ("kb-rep-1", "周晓明"),
    ("kb-rep-2", "林芳"),
    ("kb-rep-3", "Kevin Tan"),
    ("kb-rep-4", "陈静"),
    ("kb-rep-5", "马超"),
]
REFERENCE_DAY = dt.date(2025, 12, 31)  # follow-ups happen in the year before it, so never "in the future"

# The files' headers (a Chinese spreadsheet's) and the field each is mapped to.
COLUMNS: dict[str, list[tuple[str, str]]] = {
    "contacts": [
        ("客户", "customer"),
        ("姓名", "name"),
        ("职位", "title"),
        ("决策角色", "decision_role"),
        ("手机", "phone"),
        ("邮箱", "email"),
        ("微信", "wechat"),
        ("主要联系人", "is_primary"),
        ("备注", "notes"),
    ],
    "deals": [
        ("商机编号", ""),  # the external id column
        ("客户", "customer"),
        ("商机名称", "name"),
        ("阶段", "stage"),
        ("阶段日期", "stage_dates"),
        ("金额", "amount"),
        ("币种", "currency"),
        ("预计成交日期", "expected_close_date"),
        ("联系人", "contact"),
        ("负责人", "owner"),
        ("来源", "source"),
        ("下一步", "next_step"),
    ],
    "follow_ups": [
        ("客户", "customer"),
        ("跟进方式", "kind"),
        ("跟进时间", "occurred_at"),
        ("跟进内容", "summary"),
        ("结果", "outcome"),
        ("下次跟进", "next_follow_up_on"),
        ("联系人", "contact"),
        ("跟进人", "owner"),
    ],
}
EXTERNAL_ID = {"deals": "商机编号"}

_CITIES = [
    "深圳",
    "广州",
    "上海",
    "北京",
    "杭州",
    "苏州",
    "南京",
    "成都",
    "武汉",
    "西安",
    "天津",
    "宁波",
    "厦门",
    "长沙",
]
_BRAND = list("华鑫恒达盛远宏泰金瑞博创信和嘉兴永安源德润康通联科旭晨星辰海天宇明光新锐")
_TRADE = ["科技", "电子", "软件", "机械", "制造", "贸易", "物流", "医疗器械", "教育科技", "建设工程", "新能源", "投资"]
_SUFFIX = ["有限公司", "有限公司", "有限公司", "股份有限公司", "有限责任公司", "集团有限公司"]
_EN_WORDS = ["Apex", "Blue", "Harbor", "Summit", "Pioneer", "Golden", "Bright", "Silver", "Eastern", "Pacific", "Lotus"]
_EN_TRADE = ["Technologies", "Electronics", "Machinery", "Trading", "Logistics", "Medical", "Energy"]
_EN_SUFFIX = ["Co., Ltd.", "Ltd.", "Inc.", "Limited", "Pte. Ltd."]
_SURNAMES = list("王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘")
_GIVEN = list("伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉萍红建文辉力")
_PINYIN = ["wang", "li", "zhang", "liu", "chen", "yang", "huang", "zhao", "wu", "zhou", "xu", "sun", "ma", "zhu"]
_EN_FIRST = ["James", "Mary", "John", "Linda", "David", "Susan", "Michael", "Karen", "Peter", "Grace", "Kevin", "Amy"]
_EN_LAST = ["Smith", "Lee", "Chan", "Wong", "Brown", "Taylor", "Ng", "Tan", "Lim", "Davis", "Clark", "Young"]
_MOBILE = ["138", "139", "136", "135", "150", "151", "152", "158", "159", "186", "187", "188", "177", "199"]
_TITLES = ["总经理", "采购经理", "技术总监", "IT经理", "财务主管", "销售总监", "Procurement Manager", "CTO", "行政", ""]
_ROLES = ["决策者", "影响者", "内部支持者", "Decision maker", "influencer", "user", "把关人", "", "", ""]
_NOTES = ["上次展会认识", "负责年度采购预算", "喜欢电话沟通，不要发邮件", "Prefers WeChat", "新上任，需要重新介绍产品"]
_PRODUCTS = ["CRM 系统", "ERP 升级", "年度维保", "数据平台", "私有化部署", "培训服务", "License renewal", "硬件采购"]
_DEAL_WORDS = ["项目", "采购", "二期", "扩容", "续约", "Pilot", "试点"]
_SOURCES = ["展会", "转介绍", "官网", "referral", "Partner", "陌生拜访/电话", "", "", ""]
_NEXT_STEPS = ["发送报价单", "安排技术交流", "约客户高层拜访", "Send the proposal", "等待预算审批", ""]
_FOLLOW_KINDS = ["电话", "拜访", "微信", "邮箱", "会议", "call", "Visit", "meeting", "备注"]
_OUTCOMES = ["积极", "一般", "消极", "未接通", "positive", "No answer", "", ""]
_SUMMARIES = [
    "电话沟通了下季度的采购计划，客户对报价有疑问",
    "上门拜访，演示了新版本，对方技术负责人参加",
    "微信确认了合同条款，法务还在审核",
    "Called about the renewal; they want a discount for three years",
    "会议讨论实施方案，客户希望月底前给出排期",
    "发邮件跟进报价，暂无回复",
]


# ---- the files ---------------------------------------------------------------------------------------------


def base_customers(count: int, seed: int = 11) -> list[dict[str, str]]:
    """The customers the files refer to (made by a customers import): a name, an external id and a
    primary contact with a name, a mobile number and an e-mail."""
    rng = random.Random(seed)
    used: set[str] = set()
    out: list[dict[str, str]] = []
    for i in range(count):
        if rng.random() < 0.85:
            while True:
                key = f"{rng.choice(_CITIES)}市{''.join(rng.sample(_BRAND, 3))}{rng.choice(_TRADE)}"
                if key not in used:
                    break
            name = key + rng.choice(_SUFFIX)
            contact = rng.choice(_SURNAMES) + "".join(rng.choices(_GIVEN, k=rng.choice((1, 2))))
        else:
            key = f"{rng.choice(_EN_WORDS)} {rng.choice(_EN_WORDS)} {rng.choice(_EN_TRADE)} {i}"
            name = f"{key} {rng.choice(_EN_SUFFIX)}"
            contact = f"{rng.choice(_EN_FIRST)} {rng.choice(_EN_LAST)}"
        used.add(key)
        out.append(
            {
                "ext": f"KB-{i:05d}",
                "name": name,
                "short": key,
                "contact": contact,
                "phone": rng.choice(_MOBILE) + f"{rng.randrange(10**8):08d}",
                "email": f"{rng.choice(_PINYIN)}.{i}@kb-{i % 97}.example.cn",
            }
        )
    return out


def write_customers(path: Path, customers: list[dict[str, str]]) -> Path:
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["编号", "name", "contact_name", "phone", "email"])
        for c in customers:
            writer.writerow([c["ext"], c["name"], c["contact"], c["phone"], c["email"]])
    return path


def _reference(rng: random.Random, customer: dict[str, str]) -> str:
    """How a file names a customer: its full name mostly, else without the legal suffix, its old
    system's id, or in other case."""
    roll = rng.random()
    if roll < 0.6:
        return customer["name"]
    if roll < 0.75:
        return customer["short"]
    if roll < 0.95:
        return customer["ext"]
    return customer["name"].upper() if customer["name"].isascii() else f" {customer['name']} "


def _phone(rng: random.Random) -> str:
    number = rng.choice(_MOBILE) + f"{rng.randrange(10**8):08d}"
    style = rng.random()
    if style < 0.45:
        return number
    if style < 0.65:
        return f"{number[:3]} {number[3:7]} {number[7:]}"
    if style < 0.8:
        return f"+86 {number[:3]}-{number[3:7]}-{number[7:]}"
    if style < 0.9:
        return f"{number}; 0{rng.choice(['10', '21', '755', '571'])}-{rng.randrange(10**7, 10**8)}"
    return f"(0{rng.choice(['10', '21', '755', '571'])}) {rng.randrange(10**7, 10**8)}"


def _day_text(rng: random.Random, day: dt.date) -> str:
    style = rng.random()
    if style < 0.6:
        return day.isoformat()
    if style < 0.8:
        return f"{day.year}/{day.month}/{day.day}"
    if style < 0.9:
        return f"{day.year}年{day.month}月{day.day}日"
    return day.strftime("%Y.%m.%d")


def _moment_text(rng: random.Random, moment: dt.datetime) -> str:
    style = rng.random()
    if style < 0.5:
        return moment.strftime("%Y-%m-%d %H:%M")
    if style < 0.7:
        return f"{moment.year}/{moment.month}/{moment.day} {moment:%H:%M}"
    if style < 0.85:
        return moment.date().isoformat()
    return moment.strftime("%Y-%m-%dT%H:%M:%S+08:00")


def _write(path: Path, kind: str, rows: list[list[str]]) -> None:
    with path.open("w", encoding="utf-8-sig", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow([header for header, _field in COLUMNS[kind]])
        writer.writerows(rows)


def generate(
    kind: str, path: Path, customers: list[dict[str, str]], stages: list[str], rows: int, seed: int = 2026
) -> dict[str, int]:
    """``rows`` rows of ``kind`` on ``customers``; about 2% repeat an earlier row (a duplicate the
    import skips) and 2% are bad in one of several ways."""
    rng = random.Random(f"{seed}-{kind}")
    make = {"contacts": _contact_row, "deals": _deal_row, "follow_ups": _follow_up_row}[kind]
    lines: list[list[str]] = []
    counts = {"rows": rows, "duplicates": 0, "bad": 0}
    for i in range(rows):
        if lines and rng.random() < 0.02:
            counts["duplicates"] += 1
            lines.append(_again(kind, rng, rng.choice(lines), i))
            continue
        bad = rng.random() < 0.02
        counts["bad"] += bad
        lines.append(make(rng, i, rng.choice(customers), stages, bad))
    _write(path, kind, lines)
    return counts


def _again(kind: str, rng: random.Random, earlier: list[str], i: int) -> list[str]:
    """An earlier row again, as a second export of the same record would have it."""
    row = list(earlier)
    if kind == "contacts":
        row[1] = row[1] + " "  # the same phones and e-mail
    elif kind == "deals":
        row[0] = f"OPP-{i:06d}"  # a new id, the same customer and deal name
        row[2] = row[2].upper()
    else:
        row[3] = row[3] + "（补录）"  # the same customer, kind and time
    return row


def _contact_row(rng: random.Random, i: int, customer: dict[str, str], stages: list[str], bad: bool) -> list[str]:
    chinese = not customer["name"].isascii()
    if chinese:
        name = rng.choice(_SURNAMES) + "".join(rng.choices(_GIVEN, k=rng.choice((1, 2))))
        email = f"{rng.choice(_PINYIN)}{rng.choice(_PINYIN)}{i}@{rng.choice(['qq.com', '163.com', 'example.cn'])}"
    else:
        first, last = rng.choice(_EN_FIRST), rng.choice(_EN_LAST)
        name, email = f"{first} {last}", f"{first.lower()}.{last.lower()}.{i}@example.com"
    row = [
        _reference(rng, customer),
        name,
        rng.choice(_TITLES),
        rng.choice(_ROLES),
        _phone(rng) if rng.random() < 0.9 else "",
        email if rng.random() < 0.8 else "",
        f"wx_{rng.choice(_PINYIN)}{i}" if rng.random() < 0.3 else "",
        "是" if rng.random() < 0.05 else "",
        rng.choice(_NOTES) if rng.random() < 0.3 else "",
    ]
    if bad:
        fault = rng.randrange(5)
        if fault == 0:
            row[0] = f"不存在的客户{i}有限公司"
        elif fault == 1:
            row[4] = "12345"
        elif fault == 2:
            row[5] = "nobody@"
        elif fault == 3:
            row[3] = "老板"
        else:
            row[1] = ""
    return row


def _deal_row(rng: random.Random, i: int, customer: dict[str, str], stages: list[str], bad: bool) -> list[str]:
    open_stages = stages[:4]
    start = REFERENCE_DAY - dt.timedelta(days=rng.randrange(30, 400))
    stage = stage_dates = ""
    roll = rng.random()
    if roll < 0.5:
        stage = rng.choice(stages)
    elif roll < 0.8:
        path = open_stages[: rng.randrange(1, 5)]
        if rng.random() < 0.4:
            path = [*path, rng.choice(stages[4:])]  # won or lost
        days, parts = start, []
        for name in path:
            parts.append(f"{name}: {days.isoformat()}")
            days += dt.timedelta(days=rng.randrange(3, 40))
        stage_dates = "; ".join(parts)
    amount = ""
    if rng.random() < 0.9:
        value = rng.randrange(5, 2000) * 1000 + rng.choice((0, 0, 0, 500, 88))
        amount = rng.choice([str(value), f"{value:,}", f"¥{value:,}", f"{value:,}.00", f"￥ {value}"])
    currency = rng.choice(["", "", "CNY", "CNY", "cny"]) if rng.random() < 0.93 else rng.choice(["USD", "usd"])
    close = start + dt.timedelta(days=rng.randrange(30, 300))
    contact = ""
    if rng.random() < 0.3:
        contact = customer["contact"] if rng.random() < 0.7 else customer["email"]
    owner = ""
    if rng.random() < 0.6:
        username, full_name = rng.choice(REPS)
        owner = username if rng.random() < 0.5 else full_name
    row = [
        f"OPP-{i:06d}",
        _reference(rng, customer),
        f"{rng.choice(_PRODUCTS)}{rng.choice(_DEAL_WORDS)} {i:05d}",
        stage,
        stage_dates,
        amount,
        currency,
        _day_text(rng, close) if rng.random() < 0.9 else "",
        contact,
        owner,
        rng.choice(_SOURCES),
        rng.choice(_NEXT_STEPS) if rng.random() < 0.4 else "",
    ]
    if bad:
        fault = rng.randrange(6)
        if fault == 0:
            row[1] = f"不存在的客户{i}"
        elif fault == 1:
            row[5] = "十二万"
        elif fault == 2:
            row[3] = "已报价"  # no such stage
        elif fault == 3:
            row[7] = "2025-13-45"
        elif fault == 4:
            row[4] = f"{stages[2]}: 2025-03-01; {stages[0]}: 2025-01-01"  # out of order
        else:
            row[6] = "RMB"
            row[5] = row[5] or "1000"
    return row


def _follow_up_row(rng: random.Random, i: int, customer: dict[str, str], stages: list[str], bad: bool) -> list[str]:
    moment = dt.datetime.combine(REFERENCE_DAY, dt.time(9)) - dt.timedelta(
        days=rng.randrange(0, 365), minutes=rng.randrange(0, 10 * 60)
    )
    upcoming = ""
    if rng.random() < 0.3:
        upcoming = _day_text(rng, moment.date() + dt.timedelta(days=rng.randrange(1, 60)))
    contact = ""
    if rng.random() < 0.3:
        contact = customer["contact"] if rng.random() < 0.7 else customer["email"]
    owner = ""
    if rng.random() < 0.7:
        username, full_name = rng.choice(REPS)
        owner = username if rng.random() < 0.5 else full_name
    row = [
        _reference(rng, customer),
        rng.choice(_FOLLOW_KINDS),
        _moment_text(rng, moment),
        rng.choice(_SUMMARIES),
        rng.choice(_OUTCOMES),
        upcoming,
        contact,
        owner,
    ]
    if bad:
        fault = rng.randrange(6)
        if fault == 0:
            row[2] = "2999-01-01 10:00"  # in the future
        elif fault == 1:
            row[1] = "飞鸽传书"
        elif fault == 2:
            row[2] = "上周三"
        elif fault == 3:
            row[5] = (moment.date() - dt.timedelta(days=3)).isoformat()
        elif fault == 4:
            row[3] = ""
        else:
            row[6] = "不认识的人"
    return row


# ---- the database side (each in a worker process, or in a test) -------------------------------------------------


def _setup() -> None:
    from bench._setup import django_setup

    django_setup()


def _actor() -> Any:
    from bridgecrm.users.models import Role, User

    user = User.objects.filter(username="kinds-bench").first()
    if user is None:
        user = User.objects.create_user(username="kinds-bench", password=None, role=Role.objects.get(code="admin"))
    return user


def prepare_database(actor: Any, customers: list[dict[str, str]], folder: Path) -> list[str]:
    """The reps, the default pipeline, monthly USD rates and the customers (by a customers import),
    each made once per database. Returns the default pipeline's stage names in order."""
    from bridgecrm.core.models import ExchangeRate
    from bridgecrm.imports import engine, services
    from bridgecrm.imports.models import ExternalRef
    from bridgecrm.pipeline import services as pipeline_services
    from bridgecrm.pipeline.models import Pipeline, Stage
    from bridgecrm.users.models import Role, User

    rep_role = Role.objects.get(code="rep")
    for username, full_name in REPS:
        if not User.objects.filter(username=username).exists():
            User.objects.create_user(username=username, password=None, role=rep_role, full_name=full_name)
    pipeline = Pipeline.objects.filter(is_default=True).first()
    if pipeline is None:
        pipeline = pipeline_services.pipeline_create(actor=actor, name="基准销售流程", is_default=True)
    months = [dt.date(2024, 1, 1) + dt.timedelta(days=31 * n) for n in range(30)]
    ExchangeRate.objects.bulk_create(
        [
            ExchangeRate(currency="USD", valid_from=day.replace(day=1), rate=f"7.{10 + n % 20:02d}")
            for n, day in enumerate(months)
        ],
        ignore_conflicts=True,
    )
    have = ExternalRef.objects.filter(kind="customers", external_id__in=[c["ext"] for c in customers]).count()
    if have < len(customers):
        path = write_customers(folder / f"kinds-bench-customers-{len(customers)}.csv", customers)
        job = services.import_job_create(actor=actor, kind="customers", source=path, original_name=path.name)
        services.import_job_configure(
            actor=actor,
            job=job,
            mapping={"name": "name", "contact_name": "contact_name", "phone": "phone", "email": "email"},
            external_id_column="编号",
        )
        job = engine.run_job(job, dry_run=False)
        assert job.status == "done", job.message
    return list(Stage.objects.filter(pipeline=pipeline).order_by("order").values_list("name", flat=True))


def wipe(kind: str) -> None:
    """The records an earlier run of ``kind`` made, so that every run starts from the same data."""
    from django.db import connection, transaction

    from bridgecrm.activities.models import FollowUp
    from bridgecrm.customers.models import Contact, Customer
    from bridgecrm.imports.models import ExternalRef, ImportJob
    from bridgecrm.pipeline.models import Deal, DealStageChange

    bench = Customer.objects.filter(pk__in=ExternalRef.objects.filter(kind="customers").values("object_id"))
    with transaction.atomic():
        if kind == "contacts":
            Contact.objects.filter(customer__in=bench, is_primary=False).delete()  # the customers' own are primary
        elif kind == "deals":
            deals = Deal.objects.filter(customer__in=bench)
            DealStageChange.objects.filter(deal__in=deals).delete()
            deals.delete()
        else:
            FollowUp.objects.filter(customer__in=bench).delete()
            bench.update(last_follow_up_at=None, next_follow_up_on=None)
        ExternalRef.objects.filter(kind=kind).delete()
        ImportJob.objects.filter(kind=kind).delete()
    if connection.vendor == "postgresql" and not connection.in_atomic_block:  # (a test's transaction)
        tables = {
            "contacts": "customers_contact, customers_contactphone",
            "deals": "pipeline_deal, pipeline_dealstagechange",
            "follow_ups": "activities_followup, customers_customer",
        }[kind]
        with connection.cursor() as cursor:
            cursor.execute(f"VACUUM ANALYZE {tables}, imports_externalref")


class _Counter:
    def __init__(self) -> None:
        self.queries = 0

    def __call__(self, execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        self.queries += 1
        return execute(sql, params, many, context)


def run_import(actor: Any, kind: str, path: Path, *, prepares: bool | None = None) -> dict[str, Any]:
    """Import the file, timed from storing it to the last commit; ``prepares=False`` prepares
    every batch in line even where the kind would prepare them ahead."""
    from django.db import connection

    from bridgecrm.imports import engine, kinds, services

    the_kind = kinds.get_kind(kind)
    had = the_kind.__dict__.get("prepares")
    if prepares is not None:
        the_kind.prepares = prepares  # type: ignore[misc]  # this instance only, for this run
    counter = _Counter()
    try:
        started = time.perf_counter()
        with connection.execute_wrapper(counter):
            job = services.import_job_create(actor=actor, kind=kind, source=path, original_name=path.name)
            services.import_job_configure(
                actor=actor,
                job=job,
                mapping={header: target for header, target in COLUMNS[kind] if target},
                external_id_column=EXTERNAL_ID.get(kind, ""),
            )
            job = engine.run_job(job, dry_run=False)
        seconds = time.perf_counter() - started
    finally:
        if had is None:
            the_kind.__dict__.pop("prepares", None)
        else:
            the_kind.prepares = had  # type: ignore[misc]
    assert job.status == "done", job.message
    return {
        "kind": kind,
        "prepares": bool(the_kind.prepares if prepares is None else prepares),
        "seconds": seconds,
        "queries": counter.queries,
        "created": job.created_count,
        "updated": job.updated_count,
        "skipped": job.skipped_count,
        "failed": job.failed_count,
        "digest": outcome_digest(kind, job),
    }


def outcome_digest(kind: str, job: Any) -> str:
    """A digest of what the import left: its counts, its error file and the values of the records
    it made (without their ids and the times taken from the clock), to compare two runs."""
    from bridgecrm.activities.models import FollowUp
    from bridgecrm.customers.models import Contact, ContactPhone, Customer
    from bridgecrm.imports.models import ExternalRef
    from bridgecrm.pipeline.models import Deal, DealStageChange

    bench = ExternalRef.objects.filter(kind="customers").values("object_id")
    parts: list[Any] = [job.created_count, job.updated_count, job.skipped_count, job.failed_count]
    if job.error_file_path:
        parts.append(Path(job.error_file_path).read_text(encoding="utf-8-sig"))
    if kind == "contacts":
        contacts = Contact.objects.filter(customer__in=bench, is_primary=False)
        parts.append(
            sorted(
                contacts.values_list(
                    "customer_id", "name", "title", "decision_role", "email", "wechat", "notes", "custom"
                )
            )
        )
        parts.append(
            sorted(
                ContactPhone.objects.filter(contact__in=contacts).values_list("contact__name", "raw", "e164", "kind")
            )
        )
    elif kind == "deals":
        deals = Deal.objects.filter(customer__in=bench)
        parts.append(
            sorted(
                deals.values_list(
                    "customer_id",
                    "name",
                    "pipeline_id",
                    "stage_id",
                    "status",
                    "amount",
                    "currency",
                    "amount_base",
                    "expected_close_date",
                    "probability",
                    "forecast_category",
                    "owner_id",
                    "team_id",
                    "contact_id",
                    "source",
                    "next_step",
                    "closed_on",
                    "custom",
                )
            )
        )
        parts.append(
            sorted(
                DealStageChange.objects.filter(deal__in=deals).values_list(
                    "deal__name", "from_stage_id", "to_stage_id", "seconds_in_from_stage"
                ),
                key=repr,
            )
        )
        names = dict(deals.values_list("pk", "name"))
        parts.append(
            sorted(
                (e, names.get(pk))
                for e, pk in ExternalRef.objects.filter(kind="deals").values_list("external_id", "object_id")
            )
        )
    else:
        parts.append(
            sorted(
                FollowUp.objects.filter(customer__in=bench).values_list(
                    "customer_id",
                    "kind",
                    "occurred_at",
                    "summary",
                    "outcome",
                    "next_follow_up_on",
                    "contact_id",
                    "owner_id",
                ),
                key=repr,
            )
        )
        parts.append(
            sorted(
                Customer.objects.filter(pk__in=bench).values_list("pk", "last_follow_up_at", "next_follow_up_on"),
                key=repr,
            )
        )
    return hashlib.sha256(repr(parts).encode()).hexdigest()[:12]


def worker(args: argparse.Namespace) -> dict[str, Any]:
    _setup()
    from django.db import connection

    actor = _actor()
    if args.worker == "setup":
        stages = prepare_database(actor, base_customers(args.customers), args.dir)
        return {"vendor": connection.vendor, "stages": stages}
    if args.worker == "wipe":
        wipe(args.kind)
        return {"wiped": args.kind}
    result = run_import(actor, args.kind, args.file, prepares=None if args.worker == "ahead" else False)
    result["peak_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    # The process that prepares batches ahead (imports/ahead.py) is a child: its own peak, apart.
    result["reader_peak_mb"] = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return result


def _spawn(*options: str) -> dict[str, Any]:
    out = subprocess.run(  # noqa: S603 - our own interpreter and module
        [sys.executable, "-m", "bench.import_kinds_bench", *options], check=True, capture_output=True, text=True
    )
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=20_000)
    parser.add_argument("--customers", type=int, default=2_000)
    parser.add_argument("--kinds", default=",".join(KINDS))
    parser.add_argument("--modes", default=",".join(MODES), help="ahead (as the kind says), inline (forced off)")
    parser.add_argument("--dir", type=Path, default=Path(tempfile.gettempdir()))
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument("--worker", default="", help=argparse.SUPPRESS)
    parser.add_argument("--kind", default="", help=argparse.SUPPRESS)
    parser.add_argument("--file", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(worker(args), default=str))
        return

    # This process never starts Django: a peak of its own would show in its workers' (ru_maxrss
    # survives the exec), so the setup, the wipes and the runs are each a process of their own.
    common = ["--customers", str(args.customers), "--dir", str(args.dir)]
    setup = _spawn("--worker", "setup", *common)
    vendor, stages = setup["vendor"], setup["stages"]
    customers = base_customers(args.customers)
    results: list[dict[str, Any]] = []
    made: dict[str, dict[str, int]] = {}
    for kind in args.kinds.split(","):
        path = args.dir / f"kinds-bench-{kind}-{args.rows}.csv"
        made[kind] = generate(kind, path, customers, stages, args.rows)
        print(f"{path}: {made[kind]}", flush=True)
        for mode in args.modes.split(","):
            _spawn("--worker", "wipe", "--kind", kind, *common)
            result = _spawn("--worker", mode, "--kind", kind, "--file", str(path), *common)
            result.update(mode=mode, rows=args.rows, rows_per_s=args.rows / result["seconds"])
            results.append(result)
            print(json.dumps(result), flush=True)
        _spawn("--worker", "wipe", "--kind", kind, *common)
    report = _report(vendor, args, made, results)
    print(report)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / f"import-kinds-{vendor}.md").write_text(report, encoding="utf-8")


KIND_NOTES = {
    "contacts": "customer by name, short name or old id; name, title, role, one or two phones in mixed formats, "
    "e-mail, WeChat, primary flag, notes",
    "deals": "old id, customer, name, stage or stage dates, amount in mixed formats, CNY or USD, close date in "
    "mixed formats, contact, owner, source, next step",
    "follow_ups": "customer, kind, time in mixed formats, summary, outcome, next follow-up day, contact, rep",
}


def _report(
    vendor: str, args: argparse.Namespace, made: dict[str, dict[str, int]], results: list[dict[str, Any]]
) -> str:
    import platform

    lines = [
        f"# Import bench of contacts, deals and follow-ups — {vendor}",
        "",
        f"{args.rows:,} rows per kind on {args.customers:,} customers, generated by `bench/import_kinds_bench.py`; "
        f"{platform.python_version()}, {platform.machine()}, {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}.",
        "",
        f"`BRIDGE_VAR_DIR=… [DATABASE_URL=postgres://…] python -m bench.import_kinds_bench --rows {args.rows} "
        f"--customers {args.customers}` (each run in a process of its own, the kind's records emptied before it).",
        "",
        "| kind | prepared | s | rows/s | queries | created | skipped | failed | peak MB | reader peak MB | outcome |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for r in results:
        how = "ahead (forked)" if r["mode"] == "ahead" and r["prepares"] else "in line"
        if r["mode"] == "inline" and r.get("prepares") is False:
            how = "in line (forced)"
        lines.append(
            f"| {r['kind']} | {how} | {r['seconds']:.2f} | {r['rows_per_s']:,.0f} | {r['queries']:,} | "
            f"{r['created']:,} | {r['skipped']:,} | {r['failed']:,} | {r.get('peak_mb', 0):.0f} | "
            f"{r.get('reader_peak_mb', 0):.0f} | `{r['digest']}` |"
        )
    lines += ["", "The files (about 2% repeats of an earlier row, 2% bad rows):", ""]
    for kind, counts in made.items():
        lines.append(
            f"- {kind}: {counts['duplicates']:,} repeats, {counts['bad']:,} bad rows; {KIND_NOTES.get(kind, '')}."
        )
    lines += [
        "",
        "Prepared: `ahead (forked)` is the import as it runs (a kind that `prepares` checks each next batch's",
        "cells in a forked process while this one writes, imports/ahead.py); `in line` is the same file with",
        "`prepares` forced off. Time: wall clock of `services.import_job_create` + `engine.run_job`; queries:",
        "every statement of both (`connection.execute_wrapper`); peak MB: `ru_maxrss` of the importing process,",
        "and of the forked reader apart. Outcome: a digest of the counts, the error file and the records' values;",
        "the same digest for both ways means the same result.",
        "",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
