"""Batches prepared ahead in a forked child: the same results as in line, errors carried across,
a child that dies or a parent that stops early leaves nothing behind."""

from __future__ import annotations

import os
import pickle
import signal
import time
from collections.abc import Iterator
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bridgecrm.core.errors import ApplicationError
from bridgecrm.customers.models import Contact, ContactPhone, Customer
from bridgecrm.imports import ahead, engine, services
from bridgecrm.imports.kinds.base import Row, RowError, email_value
from bridgecrm.imports.kinds.customers import CustomersKind, Prepared
from bridgecrm.imports.tests.support import error_rows, write_csv

# The forking tests fork a test runner that has a helper thread; Python warns of that.
pytestmark = pytest.mark.filterwarnings("ignore:This process .* is multi-threaded:DeprecationWarning")


@pytest.fixture
def forking(monkeypatch):
    """Fork even though the test runner has a helper thread (the child runs pure code and leaves
    by os._exit, so a lock that thread holds cannot matter)."""
    monkeypatch.setattr(ahead, "may_fork", lambda: True)


@pytest.fixture
def var(settings, tmp_path):
    settings.VAR_DIR = tmp_path / "var"
    return tmp_path


def numbers(count: int) -> Iterator[list[int]]:
    for start in range(0, count, 10):
        yield list(range(start, min(start + 10, count)))


def test_in_line_and_forked_give_the_same_batches_in_order(forking):
    inline = list(ahead.prepared(numbers(95), sum, parallel=False))
    forked = list(ahead.prepared(numbers(95), sum, parallel=True))
    assert forked == inline
    assert [total for _batch, total in forked] == [sum(range(s, min(s + 10, 95))) for s in range(0, 95, 10)]


def refused() -> Iterator[list[int]]:
    yield [1]
    raise ApplicationError("bad_file", "Row 12 is not valid UTF-8.", details={"line": 12})


def test_a_file_refused_while_reading_fails_the_parent_with_its_code_and_message(forking):
    batches = ahead.prepared(refused(), len, parallel=True)
    assert next(batches) == ([1], 1)
    with pytest.raises(ApplicationError) as raised:
        next(batches)
    assert (raised.value.code, str(raised.value.message), raised.value.details) == (
        "bad_file",
        "Row 12 is not valid UTF-8.",
        {"line": 12},
    )


def broken(batch: list[int]) -> int:
    raise KeyError("a bug")


def test_a_bug_in_the_child_is_raised_in_the_parent_with_its_traceback(forking):
    with pytest.raises(RuntimeError, match="KeyError: 'a bug'"):
        list(ahead.prepared(numbers(30), broken, parallel=True))


def dies(batch: list[int]) -> int:
    if batch[0] == 20:
        os.kill(os.getpid(), signal.SIGKILL)
    return len(batch)


def test_a_killed_child_fails_the_import_cleanly_after_the_batches_it_sent(forking):
    batches = ahead.prepared(numbers(50), dies, parallel=True)
    assert [next(batches)[0][0], next(batches)[0][0]] == [0, 10]
    with pytest.raises(ApplicationError) as raised:
        next(batches)
    assert raised.value.code == "import_reader_lost"


def test_a_parent_that_stops_early_ends_the_child(forking, monkeypatch):
    started = []
    real = ahead.multiprocessing.get_context

    def context(method):
        ctx = real(method)
        original = ctx.Process

        def process(*args, **kwargs):
            proc = original(*args, **kwargs)
            started.append(proc)
            return proc

        monkeypatch.setattr(ctx, "Process", process)
        return ctx

    monkeypatch.setattr(ahead.multiprocessing, "get_context", context)
    batches = ahead.prepared(numbers(10_000), len, parallel=True)
    assert next(batches)[1] == 10
    batches.close()  # the import failed or was overtaken after its first batch
    assert len(started) == 1
    assert not started[0].is_alive()


def test_the_child_ends_on_terminate_even_when_the_parent_handles_sigterm(forking):
    """The worker handles SIGTERM (it finishes its tick); a forked reader must not inherit that."""
    previous = signal.signal(signal.SIGTERM, lambda *_: None)
    try:
        started = time.monotonic()
        batches = ahead.prepared(numbers(10_000), slow_len, parallel=True)
        assert next(batches)[1] == 10
        batches.close()
        assert time.monotonic() - started < 5  # not the 10 s join timeout
    finally:
        signal.signal(signal.SIGTERM, previous)


def slow_len(batch: list[int]) -> int:
    if batch[0] == 10:  # the child is busy with the second batch when the parent gives up
        time.sleep(30)
    return len(batch)


def test_a_row_crosses_without_its_values_and_makes_them_again():
    row = Row(7, [" Acme ", "", "x"], None, "ext-7", ((0, "name"), (1, "city"), (2, "email")))
    copy = pickle.loads(pickle.dumps(row))
    assert copy._values is None
    assert (copy.number, copy.cells, copy.external_id, copy.values) == (7, row.cells, "ext-7", row.values)
    assert copy.values == {"name": "Acme", "email": "x"}
    given_values = Row(3, ["a"], {"name": "a"})
    assert pickle.loads(pickle.dumps(given_values)).values == {"name": "a"}


def test_a_prepared_row_crosses_as_tuples_and_comes_back_equal():
    row = Row(1, ["深圳市华鑫科技有限公司", "13800138000; 010-12345678", "A@Example.com", "120,000"])
    row._values = {
        "name": row.cells[0],
        "phone": row.cells[1],
        "email": row.cells[2],
        "estimated_annual_potential": row.cells[3],
    }
    [item] = CustomersKind().prepare([row])
    assert isinstance(item, Prepared)
    copy = pickle.loads(pickle.dumps(item))
    assert copy == item
    assert copy.facts["estimated_annual_potential"] == Decimal("120000.00")
    assert [p.e164 for p in copy.phones] == ["+8613800138000", "+861012345678"]
    assert all(type(p.kind) is str for p in copy.phones)  # plain codes: no enum class on the way back
    item.facts["custom"] = {"k": 1}  # a fact outside the usual set still crosses
    assert pickle.loads(pickle.dumps(item)).facts == item.facts


def test_a_row_error_crosses_with_its_column():
    error = pickle.loads(pickle.dumps(RowError("Enter an amount.", "estimated_annual_potential")))
    assert error.text() == "estimated_annual_potential: Enter an amount."


@settings(max_examples=300, deadline=None)
@given(
    st.text(alphabet="abcXYZ09._%+-'!#@[]:\"\\ üé", min_size=0, max_size=30)
    | st.emails().map(str)
    | st.from_regex(r"[a-z0-9.]{1,10}@[a-z0-9-]{1,10}(\.[a-z0-9-]{1,6}){0,3}", fullmatch=True)
)
def test_the_fast_email_check_accepts_exactly_what_djangos_validator_accepts(value):
    from django.core.exceptions import ValidationError
    from django.core.validators import validate_email

    lowered = value.strip().lower()
    try:
        validate_email(lowered)
        expected = len(lowered) <= 254
    except ValidationError:
        expected = False
    try:
        email_value({"email": value}, "email")
        ours = True
    except RowError:
        ours = False
    assert ours is (expected or not lowered)


def big_file(tmp_path, count: int):
    rows = []
    for i in range(count):
        name = f"客户{i:05d}有限公司" if i % 97 else ""  # every 97th row has no name
        phone = f"139{i:08d}" if i % 89 else "12345"  # every 89th phone is not a number
        if i % 50 == 49:
            name = f"客户{i - 1:05d}有限责任公司"  # a duplicate of the row before
        rows.append([name, phone, f"c{i}@example.com", "" if i % 3 else str(i * 10)])
    return write_csv(tmp_path / "big.csv", ["name", "phone", "email", "estimated_annual_potential"], rows)


def outcome(job):
    return (
        job.status,
        job.rows_read,
        job.created_count,
        job.skipped_count,
        job.failed_count,
        error_rows(job),
        sorted(Customer.objects.values_list("name", "name_key", "estimated_annual_potential")),
        sorted(Contact.objects.values_list("email", flat=True)),
        sorted(ContactPhone.objects.values_list("e164", flat=True)),
    )


def import_in_batches(actor, path):
    job = services.import_job_create(actor=actor, kind="customers", source=path, original_name=path.name)
    services.import_job_configure(actor=actor, job=job, mapping={h: h for h in job.headers})
    return engine.run_job(job, batch_size=500)


@pytest.mark.django_db
def test_an_import_prepared_ahead_ends_exactly_as_one_prepared_in_line(company, var, tmp_path, monkeypatch):
    path = big_file(tmp_path, 3_000)
    monkeypatch.setattr(ahead, "may_fork", lambda: False)
    expected = outcome(import_in_batches(company.admin, path))
    Customer.objects.all().delete()

    forks = []
    real = ahead._forked

    def counted(*args):
        forks.append(1)
        return real(*args)

    monkeypatch.setattr(ahead, "may_fork", lambda: True)
    monkeypatch.setattr(ahead, "_forked", counted)
    assert outcome(import_in_batches(company.admin, path)) == expected
    assert forks, "the file was big enough to be prepared ahead"
    assert expected[2] > 2_800 and expected[4] > 60  # created, and failed rows with their errors
