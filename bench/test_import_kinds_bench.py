"""The kinds' import bench at a tiny scale on the test database: its files, both ways of preparing
them, the wipe between runs and the report."""

from __future__ import annotations

import argparse
import csv

import pytest

from bench import import_kinds_bench as bench


@pytest.fixture(autouse=True)
def var(settings, tmp_path):
    settings.VAR_DIR = tmp_path / "var"


def test_the_files_have_their_columns_repeats_and_bad_rows(tmp_path):
    customers = bench.base_customers(30)
    assert len({c["name"] for c in customers}) == len({c["short"] for c in customers}) == 30
    stages = ["初步接洽", "需求确认", "方案报价", "商务谈判", "赢单", "输单"]
    for kind in bench.KINDS:
        path = tmp_path / f"{kind}.csv"
        made = bench.generate(kind, path, customers, stages, 400)
        with path.open(encoding="utf-8-sig", newline="") as handle:
            rows = list(csv.reader(handle))
        assert rows[0] == [header for header, _field in bench.COLUMNS[kind]]
        assert len(rows) == 401
        assert {len(r) for r in rows} == {len(rows[0])}
        assert made["duplicates"] > 0
        assert made["bad"] > 0


@pytest.mark.django_db
def test_each_kind_imports_the_same_way_prepared_ahead_or_in_line(tmp_path):
    actor = bench._actor()
    customers = bench.base_customers(20)
    stages = bench.prepare_database(actor, customers, tmp_path)
    assert bench.prepare_database(actor, customers, tmp_path) == stages  # made once
    results = []
    made = {}
    for kind in bench.KINDS:
        path = tmp_path / f"{kind}.csv"
        made[kind] = bench.generate(kind, path, customers, stages, 150)
        ahead = bench.run_import(actor, kind, path)
        bench.wipe(kind)
        inline = bench.run_import(actor, kind, path, prepares=False)
        assert inline["prepares"] is False
        assert (ahead["created"], ahead["failed"], ahead["digest"]) == (
            inline["created"],
            inline["failed"],
            inline["digest"],
        )
        assert ahead["created"] > 100
        assert ahead["failed"] > 0
        results += [{**ahead, "mode": "ahead"}, {**inline, "mode": "inline"}]
        bench.wipe(kind)
        assert bench.run_import(actor, kind, path)["digest"] == ahead["digest"]  # the wipe leaves the same start
    for r in results:
        r["rows_per_s"] = 150 / r["seconds"]
    report = bench._report("sqlite", argparse.Namespace(rows=150, customers=20), made, results)
    assert "| deals |" in report
    assert "| follow_ups | in line (forced) |" in report
