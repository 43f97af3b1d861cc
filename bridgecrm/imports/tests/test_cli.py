"""``bridgecrm import`` as operators run it: a JSON summary, a non-zero exit when a row failed."""

from __future__ import annotations

import csv
import json

import pytest

from bridgecrm.customers.models import Customer
from bridgecrm.imports.models import ImportJob
from bridgecrm.imports.tests.cli_support import restore_default_roles, run_cli
from bridgecrm.imports.tests.support import write_csv

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def default_roles(transactional_db) -> None:
    restore_default_roles()


def test_cli_imports_with_a_mapping_and_prints_a_json_summary(company, tmp_path):
    path = write_csv(
        tmp_path / "客户.csv",
        ["公司名称", "行业", "手机", "Id"],
        [["甲公司", "制造业", "13800138000", "A1"], ["乙公司", "", "12", "A2"], ["丙公司", "", "", "A3"]],
        encoding="gb18030",
    )
    args = ["customers", str(path), "--map", "公司名称=name", "--map", "手机=phone", "--map", "行业=industry"]
    args += ["--external-id", "Id", "--default-owner", "owner", "--as", "manager_a"]
    result = run_cli(args, tmp_path / "var")
    assert result.returncode == 1, result.stderr  # one row failed
    summary = json.loads(result.stdout)
    assert {k: summary[k] for k in ("rows_read", "created", "updated", "skipped", "failed")} == {
        "rows_read": 3,
        "created": 2,
        "updated": 0,
        "skipped": 0,
        "failed": 1,
    }
    with open(summary["error_file"], encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.reader(handle))
    assert rows[0] == ["row", "error", "公司名称", "行业", "手机", "Id"] and rows[1][:3] == ["2", rows[1][1], "乙公司"]
    assert set(Customer.objects.values_list("name", "owner__username", "industry")) == {
        ("甲公司", "owner", "manufacturing"),
        ("丙公司", "owner", ""),
    }
    assert ImportJob.objects.get().encoding in ("gb18030", "GB18030", "gbk", "GBK")

    again = run_cli(args, tmp_path / "var")  # a re-run with the external ids changes nothing
    summary = json.loads(again.stdout)
    assert (summary["created"], summary["skipped"], summary["failed"]) == (0, 2, 1)
    assert Customer.objects.count() == 2


def test_cli_dry_run_writes_nothing_and_exits_zero_when_all_rows_are_good(company, tmp_path):
    path = write_csv(tmp_path / "c.csv", ["name", "city"], [["Alpha", "Shanghai"], ["Beta", ""]])
    result = run_cli(["customers", str(path), "--dry-run"], tmp_path / "var")
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    assert (summary["dry_run"], summary["created"], summary["failed"], summary["error_file"]) == (True, 2, 0, None)
    assert not Customer.objects.exists()


def test_cli_refuses_a_bad_mapping_and_a_missing_file(company, tmp_path):
    path = write_csv(tmp_path / "c.csv", ["name"], [["Alpha"]])
    bad = run_cli(["customers", str(path), "--map", "name=nonsense"], tmp_path / "var")
    assert bad.returncode != 0 and "nonsense" in bad.stderr
    missing = run_cli(["customers", str(tmp_path / "none.csv")], tmp_path / "var")
    assert missing.returncode != 0 and "No file" in missing.stderr
    assert not Customer.objects.exists()
