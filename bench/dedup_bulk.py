"""The duplicate check's bulk form (customers/dedup.find_duplicates_bulk), as an import uses it.

Run on a scratch database (it adds 100,000 customers with a contact and a phone each)::

    BRIDGE_VAR_DIR=/tmp/var-dedup-bench bridgecrm migrate
    PYTHONPATH=. BRIDGE_VAR_DIR=/tmp/var-dedup-bench bridgecrm shell -c "import bench.dedup_bulk as b; b.run()"

Prints rows per second and queries per 1,000 rows for a file with 1 % duplicates and one where
every row is a duplicate (a re-import).
"""

from __future__ import annotations

import time

from django.db import connection
from django.test.utils import CaptureQueriesContext

from bridgecrm.customers import dedup, normalise
from bridgecrm.customers.models import Contact, ContactPhone, Customer

N = 100_000
CHUNK = 1_000


def _seed() -> None:
    if Customer.objects.count() >= N:
        return
    names = [f"上海华丰机械{i}有限公司" for i in range(N)]
    Customer.objects.bulk_create([Customer(name=n, name_key=normalise.name_key(n)) for n in names], batch_size=5000)
    ids = list(Customer.objects.order_by("pk").values_list("pk", flat=True)[:N])
    Contact.objects.bulk_create(
        [Contact(customer_id=pk, name="x", email=f"a{i}@x.com") for i, pk in enumerate(ids)], batch_size=5000
    )
    contacts = list(Contact.objects.order_by("pk").values_list("pk", flat=True))
    ContactPhone.objects.bulk_create(
        [ContactPhone(contact_id=c, raw="", e164=f"+86138{i:08d}") for i, c in enumerate(contacts)], batch_size=5000
    )


def _measure(label: str, rows: list[dedup.BulkRow]) -> None:
    started, cpu = time.perf_counter(), time.process_time()
    matched = 0
    with CaptureQueriesContext(connection) as queries:
        for start in range(0, len(rows), CHUNK):
            matched += len(dedup.find_duplicates_bulk(rows[start : start + CHUNK]))
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
    print(
        f"{label}: {len(rows):,} rows in {elapsed:.2f} s = {len(rows) / elapsed:,.0f} rows/s "
        f"({len(rows) / cpu:,.0f} rows per CPU second, what an idle machine gives), "
        f"{len(queries) / (len(rows) / CHUNK):.1f} queries per 1,000 rows, {matched:,} rows with matches"
    )


def run() -> None:
    _seed()
    fresh = [
        dedup.BulkRow(name=f"新客户{i}科技", phones=[f"139 {i // 10000:04d} {i % 10000:04d}"], emails=[f"n{i}@y.com"])
        for i in range(N)
    ]
    for i in range(0, N, 100):
        fresh[i] = dedup.BulkRow(name=f"上海华丰机械{i}有限公司")
    _measure("1 % duplicates", fresh)
    again = [
        dedup.BulkRow(name=f"上海华丰机械{i}有限公司", phones=[f"+86138{i:08d}"], emails=[f"a{i}@x.com"])
        for i in range(N)
    ]
    _measure("every row a duplicate", again)
