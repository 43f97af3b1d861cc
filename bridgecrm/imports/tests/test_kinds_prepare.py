"""Contacts, deals and follow-ups prepared ahead (imports/ahead.py): a file imports the same with its
batches prepared in a forked child as in line, and a bad row keeps its error, the first rule it
breaks in the rules' order, though the checks of its cells now run apart from those that need the
database (the customer, the pipeline's stages, the owner, the exchange rate, the custom fields)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import pickle
from decimal import Decimal
from typing import Any

import pytest
from django.utils import timezone

from bridgecrm.activities.models import FollowUp
from bridgecrm.core.models import ExchangeRate
from bridgecrm.customers.models import Contact, ContactPhone, Customer
from bridgecrm.customers.tests.factories import make_contact, make_customer
from bridgecrm.customization.models import FieldDefinition
from bridgecrm.imports import ahead, engine, kinds, services
from bridgecrm.imports.kinds.base import Row, RowError
from bridgecrm.imports.tests.support import error_rows, write_csv
from bridgecrm.pipeline.models import Deal, DealStageChange, Stage
from bridgecrm.pipeline.tests.factories import make_pipeline

pytestmark = [
    pytest.mark.django_db,
    # The forking tests fork a test runner that has a helper thread; Python warns of that.
    pytest.mark.filterwarnings("ignore:This process .* is multi-threaded:DeprecationWarning"),
]

CONTACT_HEADERS = ["customer", "name", "title", "decision_role", "email", "phone", "wechat", "is_primary", "notes"]
DEAL_HEADERS = [
    "customer",
    "name",
    "pipeline",
    "stage",
    "stage_dates",
    "amount",
    "currency",
    "expected_close_date",
    "created_at",
    "contact",
    "owner",
    "source",
    "next_step",
]
FOLLOW_UP_HEADERS = ["customer", "kind", "occurred_at", "summary", "outcome", "next_follow_up_on", "contact", "owner"]


@pytest.fixture(autouse=True)
def var(settings, tmp_path):
    settings.VAR_DIR = tmp_path / "var"
    return tmp_path


@pytest.fixture
def world(company):
    """What the files refer to: customers of team A (which manager A sees) with a contact each,
    one of team B, two that share a name, the default pipeline, a USD rate, custom fields."""
    acme = make_customer(company.owner, name="Acme 上海有限公司")
    beta = make_customer(company.teammate, name="Beta Ltd")
    make_customer(company.other_rep, name="Hidden Co")  # team B: manager A does not see it
    make_customer(company.owner, name="Twin Co")
    make_customer(company.teammate, name="Twin Co., Ltd.")  # the same name key
    make_contact(acme, name="王伟", email="wang@example.com")
    make_contact(beta, name="Li Na", email="li@example.com")
    pipeline = make_pipeline(company.admin, name="Sales", is_default=True)
    stages = list(Stage.objects.filter(pipeline=pipeline).order_by("order").values_list("name", flat=True))
    ExchangeRate.objects.create(currency="USD", valid_from=dt.date(2025, 1, 1), rate=Decimal("7.1"))
    ExchangeRate.objects.create(currency="USD", valid_from=dt.date(2025, 7, 1), rate=Decimal("7.25"))
    for entity in ("contact", "deal"):
        FieldDefinition.objects.create(entity=entity, key="erp", type="number", label_en="ERP", label_zh="ERP")
    return {"actor": company.manager_a, "stages": stages, "other_rep": company.other_rep}


def import_file(actor, path, kind: str, *, batch_size: int = engine.BATCH_SIZE):
    job = services.import_job_create(actor=actor, kind=kind, source=path, original_name=path.name)
    mapping = {h: ("custom.erp" if h == "erp" else h) for h in job.headers}
    services.import_job_configure(actor=actor, job=job, mapping=mapping)
    return engine.run_job(job, batch_size=batch_size)


def errors_of(job) -> dict[int, str]:
    return {int(r[0]): r[1] for r in error_rows(job)}


# ---- a bad row's error: the first rule it breaks, as before ---------------------------------------------------


CONTACT_CASES: list[tuple[dict[str, str], str | None]] = [
    ({"customer": "Acme 上海", "name": "Zhang", "phone": "13800138000; 010-12345678", "erp": "12"}, None),
    ({"customer": "Nowhere", "name": "A", "phone": "12345"}, "customer: No customer “Nowhere” that you can see."),
    ({"customer": "Hidden Co", "name": "A"}, "customer: No customer “Hidden Co” that you can see."),
    ({"customer": "twin co", "name": "A", "email": "x@"}, "customer: More than one customer matches “twin co”."),
    ({"customer": "Acme 上海", "name": "", "email": "x@"}, "name: A value is required."),
    ({"customer": "Acme 上海", "name": "A", "title": "t" * 101, "email": "x@"}, "title: At most 100 characters."),
    (
        {"customer": "Acme 上海", "name": "A", "decision_role": "boss", "email": "x@"},
        "decision_role: “boss” is not one of the choices.",
    ),
    ({"customer": "Acme 上海", "name": "A", "email": "x@", "phone": "12345"}, "email: Enter a valid e-mail address."),
    ({"customer": "Acme 上海", "name": "A", "wechat": "w" * 65, "phone": "1"}, "wechat: At most 64 characters."),
    ({"customer": "Acme 上海", "name": "A", "notes": "n" * 2001, "phone": "1"}, "notes: At most 2000 characters."),
    (
        {"customer": "Acme 上海", "name": "A", "phone": "12345", "erp": "abc"},
        "phone: “12345” is not a valid phone number.",
    ),
    (
        {"customer": "Acme 上海", "name": "A", "phone": ";".join(f"1390000000{i}" for i in range(6))},
        "phone: At most 5 phone numbers.",
    ),
    ({"customer": "Beta Ltd", "name": "B", "erp": "abc"}, "erp: Enter a number."),
]


def deal_cases(stages: list[str], other_rep: str) -> list[tuple[dict[str, str], str | None]]:
    first, second, third, won = stages[0], stages[1], stages[2], stages[4]
    ok = {"customer": "Acme 上海", "created_at": "2025-01-02 09:30"}
    return [
        (
            {
                **ok,
                "name": "Won one",
                "stage_dates": f"{first}: 2025-01-05; {second}: 2025/2/1; {won}：2025年3月10日",
                "amount": "¥120,000",
                "contact": "王伟",
                "owner": "owner",
                "source": "展会",
                "erp": "7",
            },
            None,
        ),
        ({**ok, "name": "Dollars", "amount": "1,000", "currency": "usd", "expected_close_date": "2025-08-01"}, None),
        ({**ok, "name": "No amount, odd currency", "currency": "XYZ"}, None),
        (
            {**ok, "name": "X", "customer": "Nowhere", "pipeline": "Nope"},
            "customer: No customer “Nowhere” that you can see.",
        ),
        ({**ok, "name": "X", "pipeline": "Nope", "amount": "lots"}, "pipeline: No active pipeline “Nope”."),
        (
            {**ok, "name": "X", "stage_dates": f"{first} 2025-01-05", "currency": "RMBX"},
            "stage_dates: Write stage dates as “Stage: YYYY-MM-DD; …”.",
        ),
        (
            {**ok, "name": "X", "stage_dates": f"{first}: 2025-13-05; Nope: 2025-02-01"},
            "d: Enter a valid date (YYYY-MM-DD).",
        ),
        (
            {**ok, "name": "X", "stage_dates": f"{first}: 2025-01-05; Nope: 2025-02-01; written badly"},
            "stage_dates: No stage “Nope” in this pipeline.",
        ),
        (
            {**ok, "name": "X", "stage_dates": f"{second}: 2025-02-01; {first}: 2025-01-01", "created_at": "soon"},
            "stage_dates: List the stages in the order the deal went through them.",
        ),
        ({**ok, "name": "X", "created_at": "soon", "stage": "Nope"}, "created_at: Enter a valid date (YYYY-MM-DD)."),
        ({**ok, "name": "X", "stage": "Nope", "currency": "RMBX"}, "stage: No stage “Nope” in this pipeline."),
        (
            {**ok, "name": "X", "stage": third, "currency": "RMBX", "amount": "lots"},
            "currency: Enter a three-letter currency code such as CNY.",
        ),
        ({**ok, "name": "X", "amount": "lots", "expected_close_date": "2025-02-30"}, "amount: Enter an amount."),
        (
            {**ok, "name": "X", "amount": "-5"},
            "amount: Enter an amount between 0 and 999,999,999,999.99.",
        ),
        (
            {**ok, "name": "X", "expected_close_date": "2025-02-30", "owner": "nobody"},
            "expected_close_date: Enter a valid date (YYYY-MM-DD).",
        ),
        ({**ok, "name": "", "owner": "nobody"}, "owner: No active user “nobody”."),
        ({**ok, "name": "X", "owner": other_rep}, f"owner: You may not give records to {other_rep}."),
        ({**ok, "name": "", "amount": "5", "currency": "EUR"}, "name: A value is required."),
        (
            {**ok, "name": "X", "amount": "5", "currency": "EUR", "expected_close_date": "2026-03-31", "source": "?"},
            "currency: No exchange rate for EUR on or before 2026-03-31.",
        ),
        (
            {**ok, "name": "X", "amount": "5", "currency": "USD", "expected_close_date": "2024-12-31"},
            "currency: No exchange rate for USD on or before 2024-12-31.",
        ),
        ({**ok, "name": "X", "amount": "5", "currency": "XYZ", "source": "?"}, "currency: Unknown currency."),
        ({**ok, "name": "X", "source": "boss", "next_step": "s" * 201}, "source: “boss” is not one of the choices."),
        ({**ok, "name": "X", "next_step": "s" * 201, "erp": "abc"}, "next_step: At most 200 characters."),
        ({**ok, "name": "X", "erp": "abc", "contact": "Nobody"}, "erp: Enter a number."),
        ({**ok, "name": "X", "contact": "Nobody"}, "contact: The customer has no contact “Nobody”."),
    ]


def follow_up_cases(other_rep: str) -> list[tuple[dict[str, str], str | None]]:
    ok = {"customer": "Acme 上海", "kind": "电话", "occurred_at": "2025-05-01 10:00", "summary": "Called"}
    future = (timezone.now() + dt.timedelta(days=2)).date().isoformat()
    return [
        ({**ok, "contact": "wang@example.com", "next_follow_up_on": "2025/5/20", "outcome": "积极"}, None),
        ({**ok, "customer": "Nowhere", "kind": "fax"}, "customer: No customer “Nowhere” that you can see."),
        ({**ok, "kind": "fax", "occurred_at": "then"}, "kind: “fax” is not one of the choices."),
        ({**ok, "kind": "", "occurred_at": "then"}, "kind: A value is required."),
        ({**ok, "occurred_at": "then", "summary": ""}, "occurred_at: Enter a valid date (YYYY-MM-DD)."),
        ({**ok, "occurred_at": "", "summary": ""}, "occurred_at: A value is required."),
        (
            {**ok, "occurred_at": future, "next_follow_up_on": "later"},
            "occurred_at: A follow-up cannot be logged for the future.",
        ),
        ({**ok, "next_follow_up_on": "later", "summary": ""}, "next_follow_up_on: Enter a valid date (YYYY-MM-DD)."),
        (
            {**ok, "next_follow_up_on": "2025-04-30", "summary": ""},
            "next_follow_up_on: The next follow-up cannot be before this one.",
        ),
        ({**ok, "summary": "", "outcome": "great"}, "summary: A value is required."),
        ({**ok, "outcome": "great", "contact": "Nobody"}, "outcome: “great” is not one of the choices."),
        ({**ok, "contact": "Nobody", "owner": "nobody"}, "contact: The customer has no contact “Nobody”."),
        ({**ok, "owner": "nobody"}, "owner: No active user “nobody”."),
        ({**ok, "owner": other_rep}, f"owner: You may not give records to {other_rep}."),
    ]


def cases_file(path, headers, cases):
    headers = [*headers, "erp"] if any("erp" in cells for cells, _e in cases) else headers
    return write_csv(path, headers, [[cells.get(h, "") for h in headers] for cells, _e in cases])


@pytest.mark.parametrize("kind", ["contacts", "deals", "follow_ups"])
def test_each_bad_row_reports_the_first_rule_it_breaks(world, var, kind):
    other = world["other_rep"].display_name
    headers, cases = {
        "contacts": (CONTACT_HEADERS, CONTACT_CASES),
        "deals": (DEAL_HEADERS, deal_cases(world["stages"], other)),
        "follow_ups": (FOLLOW_UP_HEADERS, follow_up_cases(other)),
    }[kind]
    job = import_file(world["actor"], cases_file(var / f"{kind}.csv", headers, cases), kind)
    expected = {number: error for number, (_cells, error) in enumerate(cases, 1) if error is not None}
    assert errors_of(job) == expected
    assert job.created_count == len(cases) - len(expected)


def test_the_accepted_deals_have_their_stages_amounts_and_dates(world, var):
    job = import_file(
        world["actor"],
        cases_file(var / "d.csv", DEAL_HEADERS, deal_cases(world["stages"], world["other_rep"].display_name)),
        "deals",
    )
    assert job.created_count == 3
    won = Deal.objects.get(name="Won one")
    assert (won.status, won.amount, won.amount_base, won.closed_on, won.custom) == (
        "won",
        Decimal("120000.00"),
        Decimal("120000.00"),
        dt.date(2025, 3, 10),
        {"erp": 7},
    )
    assert won.created_at == dt.datetime(2025, 1, 2, 1, 30, tzinfo=dt.UTC)  # 09:30 in Shanghai
    assert DealStageChange.objects.filter(deal=won).count() == 3
    dollars = Deal.objects.get(name="Dollars")
    assert (dollars.currency, dollars.amount_base) == ("USD", Decimal("7250.00"))  # the July rate
    assert Deal.objects.get(name="No amount, odd currency").currency == "XYZ"


# ---- the same file, prepared in a forked child or in line --------------------------------------------------------


def many_rows(kind: str, stages: list[str], other_rep: str, count: int) -> tuple[list[str], list[list[str]]]:
    """``count`` rows: every other one an accepted case made unique by its number, the others
    cycling through all the cases, and now and then a repeat of an earlier row (a duplicate)."""
    headers, cases = {
        "contacts": (CONTACT_HEADERS, CONTACT_CASES),
        "deals": (DEAL_HEADERS, deal_cases(stages, other_rep)),
        "follow_ups": (FOLLOW_UP_HEADERS, follow_up_cases(other_rep)),
    }[kind]
    headers = [*headers, "erp"] if any("erp" in cells for cells, _e in cases) else headers
    good = [cells for cells, error in cases if error is None]
    rows: list[list[str]] = []
    for i in range(count):
        if i % 7 == 3:
            rows.append(list(rows[-3]))  # a repeat: a duplicate, or the same error again
            continue
        cells, error = (good[i // 2 % len(good)], None) if i % 2 == 0 else cases[i // 2 % len(cases)]
        cells = dict(cells)
        if error is None:
            if kind == "contacts":
                cells.update(name=f"{cells['name']} {i}", email=f"c{i}@example.com", phone=f"139{i:08d}")
            elif kind == "deals":
                cells.update(name=f"{cells['name']} {i}", created_at=f"2025-01-{1 + i % 28:02d} {i % 24:02d}:00")
            else:
                cells.update(occurred_at=(dt.datetime(2025, 1, 1, 8) + dt.timedelta(minutes=17 * i)).isoformat(" "))
        rows.append([cells.get(h, "") for h in headers])
    return headers, rows


def outcome(kind: str, job) -> tuple[Any, ...]:
    counts = (job.status, job.rows_read, job.created_count, job.updated_count, job.skipped_count, job.failed_count)
    if kind == "contacts":
        records: list[Any] = sorted(
            Contact.objects.values_list(
                "customer_id", "name", "title", "decision_role", "email", "wechat", "is_primary", "notes", "custom"
            ),
            key=repr,
        )
        records += sorted(ContactPhone.objects.values_list("contact__email", "raw", "e164", "kind"), key=repr)
    elif kind == "deals":
        records = sorted(
            Deal.objects.values_list(
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
                "stage_entered_at",
                "created_at",
                "custom",
                "version",
                "deleted_at",
            ),
            key=repr,
        )
        records += sorted(
            DealStageChange.objects.values_list(
                "deal__name", "from_stage_id", "to_stage_id", "changed_at", "changed_by_id", "seconds_in_from_stage"
            ),
            key=repr,
        )
    else:
        records = sorted(
            FollowUp.objects.values_list(
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
        records += sorted(Customer.objects.values_list("pk", "last_follow_up_at", "next_follow_up_on"), key=repr)
    return counts, error_rows(job), records


def wipe(kind: str) -> None:
    if kind == "contacts":
        Contact.objects.exclude(email__in=["wang@example.com", "li@example.com"]).delete()
    elif kind == "deals":
        Deal.objects.all().delete()
    else:
        FollowUp.objects.all().delete()
        Customer.objects.update(last_follow_up_at=None, next_follow_up_on=None)


@pytest.mark.parametrize("kind", ["contacts", "deals", "follow_ups"])
def test_a_file_prepared_ahead_ends_exactly_as_one_prepared_in_line(world, var, monkeypatch, kind):
    assert kinds.get_kind(kind).prepares
    headers, rows = many_rows(kind, world["stages"], world["other_rep"].display_name, 2_000)
    path = write_csv(var / f"{kind}-many.csv", headers, rows)
    monkeypatch.setattr(ahead, "may_fork", lambda: False)
    expected = outcome(kind, import_file(world["actor"], path, kind, batch_size=300))
    wipe(kind)

    forks = []
    real = ahead._forked

    def counted(*args):
        forks.append(1)
        return real(*args)

    monkeypatch.setattr(ahead, "may_fork", lambda: True)
    monkeypatch.setattr(ahead, "_forked", counted)
    assert outcome(kind, import_file(world["actor"], path, kind, batch_size=300)) == expected
    assert forks, "the file was big enough to be prepared ahead"
    counts, errors, _records = expected
    assert counts[2] > 700  # created
    assert counts[4] > 50  # skipped as duplicates
    assert len(errors) == counts[5] > 300  # failed, each with its error


# ---- prepared rows cross the pipe as plain tuples ----------------------------------------------------------------


def plain(value: Any) -> Any:
    """A prepared row's fields as plain values, an error as its text, to compare two of them."""
    if isinstance(value, RowError):
        return ("error", value.text())
    if isinstance(value, Row):
        return ("row", value.number, value.cells, value.values)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return tuple(plain(getattr(value, f.name)) for f in dataclasses.fields(value))
    if isinstance(value, (list, tuple)):
        return tuple(plain(v) for v in value)
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    return value


def test_prepared_rows_cross_as_tuples_and_come_back_equal(world):
    stages = world["stages"]
    samples = {
        "contacts": {"name": " Zhang ", "phone": "13800138000; 010-12345678", "email": "Z@Example.com", "title": "CTO"},
        "deals": {
            "name": "Deal",
            "stage_dates": f"{stages[0]}: 2025-01-05; {stages[1]}: bad",
            "amount": "1,000",
            "expected_close_date": "2025-02-30",
            "source": "展会",
        },
        "follow_ups": {"kind": "call", "occurred_at": "2025-05-01 10:00", "summary": "s", "next_follow_up_on": "x"},
    }
    for code, values in samples.items():
        row = Row(4, list(values.values()), None, "", tuple(enumerate(values)))
        [item] = kinds.get_kind(code).prepare([row])
        data = pickle.dumps(item)
        assert b"__dict__" not in data and b"_reconstructor" not in data, code  # a call with a tuple
        copy = pickle.loads(data)
        assert type(copy) is type(item)
        assert plain(copy) == plain(item), code
    assert plain(item)[3] is not None  # the follow-up's later error crossed with its column
