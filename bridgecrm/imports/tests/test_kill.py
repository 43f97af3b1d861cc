"""``kill -9`` in the middle of an import, then a resume: only whole batches, no duplicates, no loss."""

from __future__ import annotations

import json
import os
import signal
import time
from pathlib import Path

import pytest
from django.db.models import Count

from bridgecrm.customers.models import Contact, Customer
from bridgecrm.imports.models import ImportJob, ImportStatus
from bridgecrm.imports.tests.cli_support import restore_default_roles, run_cli, start_cli
from bridgecrm.imports.tests.support import write_csv

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def default_roles(transactional_db) -> None:
    restore_default_roles()


def readers_left(needle: str, *, within: float) -> list[int]:
    """Live processes whose command line names ``needle``, after waiting up to ``within`` seconds."""
    deadline = time.monotonic() + within
    while True:
        alive = []
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                if needle in (entry / "cmdline").read_bytes().decode(errors="replace") and not (
                    (entry / "stat").read_text().split(") ", 1)[1].startswith("Z")
                ):
                    alive.append(int(entry.name))
            except OSError:
                continue
        if not alive or time.monotonic() > deadline:
            return alive
        time.sleep(0.2)


ROWS = 12_000
BATCH = 500


def test_killed_import_leaves_whole_batches_and_resumes_without_duplicates_or_loss(company, tmp_path):
    path = write_csv(
        tmp_path / "big.csv",
        ["name", "phone", "email"],
        ([f"客户{i:05d}有限公司", f"139{i:08d}", f"c{i}@example.com"] for i in range(ROWS)),
    )
    args = ["customers", str(path), "--batch-size", str(BATCH), "--as", "admin"]
    child = start_cli(args, tmp_path / "var")
    deadline = time.monotonic() + 300
    committed = 0
    while time.monotonic() < deadline and child.poll() is None:
        job = ImportJob.objects.first()
        committed = job.rows_committed if job else 0
        if committed >= 2 * BATCH:
            break
        time.sleep(0.05)
    assert child.poll() is None, "the import ended before it could be killed; make the file bigger"
    os.kill(child.pid, signal.SIGKILL)
    child.wait()
    # The reading process it forked (imports/ahead.py) finds its pipe broken and ends too.
    assert readers_left(str(path), within=15) == []

    job = ImportJob.objects.get()
    assert job.status == ImportStatus.RUNNING and 0 < job.rows_committed < ROWS
    assert job.rows_committed % BATCH == 0  # only whole batches
    assert Customer.objects.count() == job.rows_committed == job.created_count
    assert Contact.objects.count() == job.rows_committed

    resumed = run_cli(args, tmp_path / "var")  # the same file again: continues the unfinished job
    assert resumed.returncode == 0, resumed.stderr
    assert f"Resuming import {job.pk}" in resumed.stderr
    summary = json.loads(resumed.stdout)
    assert (summary["job"], summary["rows_read"], summary["created"], summary["failed"]) == (job.pk, ROWS, ROWS, 0)
    assert Customer.objects.count() == ROWS
    assert not Customer.objects.values("name").annotate(n=Count("id")).filter(n__gt=1).exists()
    assert Contact.objects.count() == ROWS
    assert ImportJob.objects.count() == 1
