"""The import benches at a tiny scale on the test database: their files, contenders and checks."""

from __future__ import annotations

import argparse
import csv

import pytest

from bench import import_bench, import_payments_bench
from bridgecrm.imports.readers import open_table


@pytest.fixture(autouse=True)
def var(settings, tmp_path):
    settings.VAR_DIR = tmp_path / "var"


@pytest.mark.parametrize("how", list(import_bench.XLSX_KINDS))
def test_the_xlsx_workbooks_hold_the_csv_rows(tmp_path, how):
    source = tmp_path / "rows.csv"
    import_bench.generate(source, 30)
    with source.open(encoding="utf-8-sig", newline="") as handle:
        expected = list(csv.reader(handle))
    book = import_bench.write_xlsx(source, tmp_path / f"rows-{how}.xlsx", how)
    with open_table(book, filename=book.name) as table:
        assert [table.headers, *table.rows] == expected


def test_the_payments_bench_imports_and_records_the_same_payments(db, tmp_path):
    actor = import_payments_bench._actor()
    numbers = import_payments_bench._contracts(actor, 12)
    assert import_payments_bench._contracts(actor, 12) == numbers  # made once
    path = tmp_path / "payments.csv"
    import_payments_bench.generate(path, numbers, 120)
    imported = import_payments_bench._run_import(actor, path)
    assert import_payments_bench._check_totals(numbers)
    import_payments_bench._wipe(numbers)
    one_by_one = import_payments_bench._run_one_by_one(actor, path)
    assert import_payments_bench._check_totals(numbers)
    assert imported == one_by_one
    assert imported["created"] > 100
    assert imported["failed"] > 0
    report = import_payments_bench._report(
        "sqlite",
        argparse.Namespace(rows=120, contracts=12),
        [
            {**imported, "contender": "import", "seconds": 1.0, "rows_per_s": 120, "queries": 9, "totals_exact": True},
        ],
    )
    assert "| Bridge import" in report
    assert "| 120 |" in report
