"""Import bench: the same customer CSV through Bridge's import, django-import-export (defaults and
bulk mode) and a raw ``executemany``, on the configured database (SQLite or PostgreSQL).

    export BRIDGE_VAR_DIR=/tmp/bench-import && .venv/bin/bridgecrm migrate
    .venv/bin/python -m bench.import_bench --rows 100000 --memory-rows 250000 --xlsx

Each contender runs in its own process on an emptied customer table, so its peak memory
(``ru_maxrss``) is its own; the time is wall-clock from opening the file to the last commit,
including reading, validation and (for Bridge) the duplicate check, contacts, phones and audit.
Results: a table on stdout and ``bench/results/import-<vendor>.md``.
"""

from __future__ import annotations

import argparse
import csv
import json
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HEADERS = [
    "name",
    "kind",
    "industry",
    "province",
    "city",
    "estimated_annual_potential",
    "contact_name",
    "phone",
    "email",
]
RESULTS = Path(__file__).parent / "results"

_CITIES = [
    ("深圳", "GD", "Shenzhen"),
    ("广州", "GD", "Guangzhou"),
    ("上海", "SH", "Shanghai"),
    ("北京", "BJ", "Beijing"),
    ("杭州", "ZJ", "Hangzhou"),
    ("苏州", "JS", "Suzhou"),
    ("南京", "JS", "Nanjing"),
    ("成都", "SC", "Chengdu"),
    ("武汉", "HB", "Wuhan"),
    ("西安", "SN", "Xi'an"),
    ("天津", "TJ", "Tianjin"),
    ("重庆", "CQ", "Chongqing"),
    ("宁波", "ZJ", "Ningbo"),
    ("青岛", "SD", "Qingdao"),
    ("厦门", "FJ", "Xiamen"),
    ("长沙", "HN", "Changsha"),
]
_BRAND = list("华鑫恒达盛远宏泰金瑞博创信和嘉兴永安源德润康通联科旭晨星辰海天宇明光新锐")
_TRADE_ZH = [
    ("科技", "technology"),
    ("电子", "technology"),
    ("软件", "technology"),
    ("机械", "manufacturing"),
    ("制造", "manufacturing"),
    ("贸易", "retail"),
    ("物流", "logistics"),
    ("医疗器械", "healthcare"),
    ("教育科技", "education"),
    ("建设工程", "construction"),
    ("新能源", "energy"),
    ("投资", "finance"),
]
_SUFFIX_ZH = ["有限公司", "有限公司", "有限公司", "股份有限公司", "有限责任公司", "集团有限公司"]
_EN_WORDS = [
    "Apex",
    "Blue",
    "Harbor",
    "Summit",
    "Pioneer",
    "Golden",
    "Bright",
    "Silver",
    "Eastern",
    "Pacific",
    "Orient",
    "Lotus",
    "Jade",
    "Dragon",
    "Phoenix",
    "Crystal",
    "Delta",
    "Nova",
    "Vertex",
    "Zenith",
]
_EN_TRADE = [
    ("Technologies", "Technology"),
    ("Electronics", "technology"),
    ("Machinery", "Manufacturing"),
    ("Trading", "retail"),
    ("Logistics", "Logistics"),
    ("Medical", "healthcare"),
    ("Energy", "energy"),
]
_SUFFIX_EN = ["Co., Ltd.", "Ltd.", "Inc.", "LLC", "Limited", "Pte. Ltd."]
_SURNAMES = list("王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘")
_GIVEN = list("伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉萍红建文辉力")
_PINYIN = ["wang", "li", "zhang", "liu", "chen", "yang", "huang", "zhao", "wu", "zhou", "xu", "sun", "ma", "zhu"]
_EN_FIRST = ["James", "Mary", "John", "Linda", "David", "Susan", "Michael", "Karen", "Peter", "Grace", "Kevin", "Amy"]
_EN_LAST = ["Smith", "Lee", "Chan", "Wong", "Brown", "Taylor", "Ng", "Tan", "Lim", "Davis", "Clark", "Young"]
_MOBILE_PREFIXES = ["138", "139", "136", "135", "150", "151", "152", "158", "159", "186", "187", "188", "177", "199"]


def _phone(rng: random.Random) -> str:
    number = rng.choice(_MOBILE_PREFIXES) + f"{rng.randrange(10**8):08d}"
    style = rng.random()
    if style < 0.5:
        return number
    if style < 0.7:
        return f"{number[:3]} {number[3:7]} {number[7:]}"
    if style < 0.85:
        return f"+86 {number[:3]}-{number[3:7]}-{number[7:]}"
    if style < 0.95:
        return f"{number}"
    return f"0{rng.choice(['10', '21', '755', '571'])}-{rng.randrange(10**7, 10**8)}"


def generate(path: Path, rows: int, seed: int = 2026) -> dict[str, int]:
    """A customer CSV like a real spreadsheet: mostly Chinese companies, some English ones, mixed
    phone formats, ~2% duplicates of earlier rows (other legal suffix, spacing or case), ~1% bad rows."""
    rng = random.Random(seed)
    made: list[str] = []
    used: set[str] = set()
    counts = {"rows": rows, "duplicates": 0, "bad": 0}
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(HEADERS)
        for i in range(rows):
            city, province, city_en = rng.choice(_CITIES)
            roll = rng.random()
            if roll < 0.02 and made:
                counts["duplicates"] += 1
                base = rng.choice(made)
                name = base.replace("有限公司", "有限责任公司") if "有限公司" in base else base.upper()
            elif rng.random() < 0.8:
                while True:  # a new company: its name key (no legal suffix) not used before
                    brand = "".join(rng.sample(_BRAND, 3))
                    trade, _industry = rng.choice(_TRADE_ZH)
                    key = f"{city}市{brand}{trade}"
                    if key not in used:
                        break
                used.add(key)
                name = f"{key}{rng.choice(_SUFFIX_ZH)}"
            else:
                trade_en, _industry = rng.choice(_EN_TRADE)
                name = f"{rng.choice(_EN_WORDS)} {rng.choice(_EN_WORDS)} {trade_en} {i} {rng.choice(_SUFFIX_EN)}"
            made.append(name)
            if any("\u4e00" <= ch <= "\u9fff" for ch in name[:3]):
                industry = rng.choice(_TRADE_ZH)[1]
                contact = rng.choice(_SURNAMES) + "".join(rng.choices(_GIVEN, k=rng.choice((1, 2))))
                email = (
                    f"{rng.choice(_PINYIN)}{rng.choice(_PINYIN)}{i}@{rng.choice(['qq.com', '163.com', 'example.cn'])}"
                )
            else:
                industry = rng.choice(_EN_TRADE)[1]
                contact = f"{rng.choice(_EN_FIRST)} {rng.choice(_EN_LAST)}"
                email = f"{contact.split()[0].lower()}.{i}@example.com"
            phone = _phone(rng)
            potential = str(rng.randrange(50, 5000) * 1000) if rng.random() < 0.6 else ""
            if rng.random() < 0.01:
                counts["bad"] += 1
                fault = rng.randrange(4)
                if fault == 0:
                    name = ""
                elif fault == 1:
                    phone = "12345"
                elif fault == 2:
                    email = "nobody@"
                else:
                    potential = "lots"
            writer.writerow(
                [
                    name,
                    "company",
                    industry,
                    province,
                    city if rng.random() < 0.5 else city_en,
                    potential,
                    contact,
                    phone,
                    email,
                ]
            )
    return counts


# ---- workers (one process each) ----------------------------------------------------------------------


def _setup() -> None:
    from bench._setup import django_setup

    django_setup()


def _admin() -> Any:
    from bridgecrm.users.models import Role, User

    user = User.objects.filter(username="import-bench").first()
    if user is None:
        role = Role.objects.get(code="admin")
        user = User.objects.create_user(username="import-bench", password=None, role=role)
    return user


def _wipe() -> None:
    from django.db import connection, transaction

    tables = ("customers_contactphone", "customers_contact", "imports_externalref", "customers_customer")
    with transaction.atomic(), connection.cursor() as cursor:
        for table in tables:
            cursor.execute(f"DELETE FROM {table}")
    if connection.vendor == "postgresql":
        # Every contender starts from the same clean tables: without this the next one's scans
        # and index inserts wade through the last one's dead rows and GIN pending lists.
        with connection.cursor() as cursor:
            cursor.execute(f"VACUUM ANALYZE {', '.join(tables)}")


def _run_bridge(path: Path) -> int:
    from bridgecrm.imports import engine, services

    actor = _admin()
    job = services.import_job_create(actor=actor, kind="customers", source=path, original_name=path.name)
    services.import_job_configure(actor=actor, job=job, mapping={h: h for h in HEADERS})
    job = engine.run_job(job, dry_run=False)
    assert job.status == "done", job.message
    return int(job.created_count)


def _die_resource(bulk: bool) -> Any:
    from import_export import resources

    from bridgecrm.customers.models import Customer

    class CustomerResource(resources.ModelResource):  # type: ignore[misc]
        class Meta:
            model = Customer
            fields = ("name", "kind", "industry", "province", "city", "estimated_annual_potential")
            import_id_fields = ("name",)
            if bulk:
                use_bulk = True
                batch_size = 2000
                skip_diff = True
                force_init_instance = True

    return CustomerResource()


def _run_die(path: Path, bulk: bool) -> int:
    import tablib

    dataset = tablib.Dataset().load(path.read_text(encoding="utf-8"), format="csv")
    result = _die_resource(bulk).import_data(dataset, dry_run=False, raise_errors=False)
    return int(result.totals.get("new", 0))


def _run_raw(path: Path, *, bare: bool = False) -> int:
    """``executemany`` of the customer columns into the customer table (its indexes and search
    trigger), or ``bare``: into a copy of its columns with no index, key or trigger, the floor the
    issue's "about 187,000 rows/s" describes."""
    from django.db import connection, transaction
    from django.utils import timezone

    now = timezone.now()
    columns = (
        "kind, name, lifecycle_stage, source, industry, country, province, city, size, "
        "estimated_annual_potential, currency, created_at, updated_at, version, name_key, tier, "
        "is_protected, custom"
    )
    table = "customers_customer"
    if bare:
        table = "bench_bare_customer"
        with connection.cursor() as cursor:
            cursor.execute(f"DROP TABLE IF EXISTS {table}")
            cursor.execute(f"CREATE TABLE {table} AS SELECT * FROM customers_customer WHERE 1 = 0")
    sql = f"INSERT INTO {table} ({columns}) VALUES ({', '.join(['%s'] * 18)})"
    count = 0
    with path.open(encoding="utf-8", newline="") as handle:
        reader = csv.reader(handle)
        next(reader)
        batch: list[tuple[Any, ...]] = []
        for r in reader:
            batch.append(
                (
                    "company",
                    r[0],
                    "lead",
                    "",
                    r[2],
                    "CN",
                    r[3],
                    r[4],
                    "",
                    r[5] if r[5].isdigit() else None,
                    "CNY",
                    now,
                    now,
                    1,
                    "",
                    "",
                    False,
                    "{}",
                )
            )
            if len(batch) == 2000:
                with transaction.atomic(), connection.cursor() as cursor:
                    cursor.executemany(sql, batch)
                count += len(batch)
                batch = []
        if batch:
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.executemany(sql, batch)
            count += len(batch)
    if bare:
        with connection.cursor() as cursor:
            cursor.execute(f"DROP TABLE {table}")
    return count


def worker(contender: str, path: Path) -> dict[str, Any]:
    _setup()
    if contender == "wipe":
        # Its own process: deleting 250,000 customers through the search index's delete triggers
        # takes hundreds of MB, which must not count as the next contender's peak.
        _wipe()
        return {"contender": "wipe"}
    traced = contender == "bridge-traced"
    if traced:
        import tracemalloc

        tracemalloc.start()
    started = time.perf_counter()
    if contender in ("bridge", "bridge-traced"):
        created = _run_bridge(path)
    elif contender == "die-default":
        created = _run_die(path, bulk=False)
    elif contender == "die-bulk":
        created = _run_die(path, bulk=True)
    elif contender == "raw-executemany":
        created = _run_raw(path)
    elif contender == "raw-bare":
        created = _run_raw(path, bare=True)
    else:
        raise SystemExit(f"unknown contender {contender}")
    seconds = time.perf_counter() - started
    maxrss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    # The reading process Bridge forks (imports/ahead.py) is a child: its own peak, reported apart.
    child_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    result = {
        "contender": contender,
        "seconds": seconds,
        "created": created,
        "peak_mb": maxrss_mb,
        "reader_peak_mb": child_mb,
    }
    if traced:
        result["python_peak_mb"] = tracemalloc.get_traced_memory()[1] / 1024 / 1024
    return result


def _spawn(contender: str, path: Path) -> dict[str, Any]:
    if contender != "wipe":
        _spawn("wipe", path)
    out = subprocess.run(  # noqa: S603 - our own interpreter and module
        [sys.executable, "-m", "bench.import_bench", "--worker", contender, "--file", str(path)],
        check=True,
        capture_output=True,
        text=True,
    )
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


XLSX_KINDS = {
    "shared": "xlsxwriter, shared strings (as Excel and WPS write them)",
    "inline": "xlsxwriter `constant_memory`, inline strings",
    "openpyxl": "openpyxl `write_only`, inline strings and no declared dimension",
}


def write_xlsx(source: Path, target: Path, how: str) -> Path:
    """The CSV's rows as a workbook written the way ``how`` says (a key of ``XLSX_KINDS``)."""
    with source.open(encoding="utf-8-sig", newline="") as handle:
        rows = csv.reader(handle)
        if how == "openpyxl":
            from openpyxl import Workbook

            workbook = Workbook(write_only=True)
            sheet = workbook.create_sheet()
            for row in rows:
                sheet.append(row)
            workbook.save(target)
            return target
        import xlsxwriter

        book = xlsxwriter.Workbook(str(target), {"constant_memory": how == "inline"})
        page = book.add_worksheet()
        for number, row in enumerate(rows):
            for column, value in enumerate(row):
                page.write_string(number, column, value)
        book.close()
    return target


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--memory-rows", type=int, default=250_000, help="rows of the file for Bridge's peak memory")
    parser.add_argument("--contenders", default="bridge,die-default,die-bulk,raw-executemany,raw-bare")
    parser.add_argument("--dir", type=Path, default=Path(tempfile.gettempdir()))
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument("--xlsx", action="store_true", help="also the same rows from XLSX workbooks, Bridge only")
    parser.add_argument(
        "--only-xlsx", action="store_true", help="only the XLSX runs, replacing that section of the results file"
    )
    parser.add_argument("--write-xlsx", default="", help=argparse.SUPPRESS)  # a worker: one workbook
    parser.add_argument("--to", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--worker", default="")
    parser.add_argument("--file", type=Path)
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(worker(args.worker, args.file)))
        return
    if args.write_xlsx:
        write_xlsx(args.file, args.to, args.write_xlsx)
        return

    _setup()
    from django.db import connection

    vendor = connection.vendor
    path = args.dir / f"import-bench-{args.rows}.csv"
    made = generate(path, args.rows)
    print(f"{path}: {made}", flush=True)
    if args.only_xlsx:
        workbooks = _run_workbooks(args, path)
        _spawn("wipe", path)
        report_path = args.out / f"import-{vendor}.md"
        kept = report_path.read_text(encoding="utf-8").split("\n## XLSX\n")[0].rstrip("\n") + "\n\n"
        report_path.write_text(kept + _xlsx_section(workbooks), encoding="utf-8")
        print(_xlsx_section(workbooks))
        return
    results = []
    for contender in args.contenders.split(","):
        result = _spawn(contender, path)
        result["rows_per_s"] = args.rows / result["seconds"]
        results.append(result)
        print(json.dumps(result), flush=True)
    memory = None
    if args.memory_rows:
        big = args.dir / f"import-bench-{args.memory_rows}.csv"
        generate(big, args.memory_rows, seed=7)
        memory = _spawn("bridge", big)
        memory["rows_per_s"] = args.memory_rows / memory["seconds"]
        print(json.dumps(memory), flush=True)
    workbooks = _run_workbooks(args, path) if args.xlsx else []
    _spawn("wipe", path)
    report = _report(vendor, args.rows, made, results, memory, args.memory_rows, workbooks)
    print(report)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / f"import-{vendor}.md").write_text(report, encoding="utf-8")


def _run_workbooks(args: argparse.Namespace, path: Path) -> list[dict[str, Any]]:
    """Bridge on the rows saved as each kind of workbook, and the big file as shared strings. Each
    workbook is written by a process of its own: writing one holds it in memory (xlsxwriter), and
    a bench process that large would lend its peak to the workers it starts (``ru_maxrss``
    survives the fork before the exec), which is how a first run reported 450 MB for one."""
    sources = [(path, args.rows, how) for how in XLSX_KINDS]
    if args.memory_rows:
        big = args.dir / f"import-bench-{args.memory_rows}.csv"
        generate(big, args.memory_rows, seed=7)
        sources.append((big, args.memory_rows, "shared"))
    workbooks = []
    for source, count, how in sources:
        book = args.dir / f"import-bench-{count}-{how}.xlsx"
        subprocess.run(  # noqa: S603 - our own interpreter and module
            [sys.executable, "-m", "bench.import_bench", "--write-xlsx", how, "--file", str(source), "--to", str(book)],
            check=True,
        )
        result = _spawn("bridge", book)
        result.update(workbook=how, rows=count, rows_per_s=count / result["seconds"])
        workbooks.append(result)
        print(json.dumps(result), flush=True)
    return workbooks


def _xlsx_section(workbooks: list[dict[str, Any]]) -> str:
    lines = [
        "## XLSX",
        "",
        "The same rows saved as workbooks (`--xlsx`, or `--only-xlsx` for this section alone), imported by Bridge",
        f"alone, each in a process of its own ({time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}):",
        "",
        "| workbook | rows | seconds | rows/s | worker peak MB | reader peak MB |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for r in workbooks:
        lines.append(
            f"| {XLSX_KINDS[r['workbook']]} | {r['rows']:,} | {r['seconds']:.2f} | {r['rows_per_s']:,.0f} "
            f"| {r['peak_mb']:.0f} | {r.get('reader_peak_mb', 0):.0f} |"
        )
    return "\n".join(lines) + "\n"


def _report(
    vendor: str,
    rows: int,
    made: dict[str, int],
    results: list[dict[str, Any]],
    memory: dict[str, Any] | None,
    memory_rows: int,
    workbooks: list[dict[str, Any]] | None = None,
) -> str:
    import platform

    by = {r["contender"]: r for r in results}
    bridge = by.get("bridge")
    lines = [
        f"# Import bench — {vendor}",
        "",
        f"{rows:,} customer rows ({made['duplicates']:,} duplicates of earlier rows, {made['bad']:,} bad rows), "
        f"generated by `bench/import_bench.py`; {platform.python_version()}, {platform.machine()}, "
        f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}.",
        "",
        "| contender | seconds | rows/s | Bridge ÷ it | records created | peak memory (MB) |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        ratio = f"{bridge['rows_per_s'] / r['rows_per_s']:.2f}×" if bridge else "–"
        lines.append(
            f"| {r['contender']} | {r['seconds']:.2f} | {r['rows_per_s']:,.0f} | {ratio} "
            f"| {r['created']:,} | {r['peak_mb']:.0f} |"
        )
    if memory is not None:
        lines += [
            "",
            f"Bridge on {memory_rows:,} rows: {memory['seconds']:.1f} s ({memory['rows_per_s']:,.0f} rows/s), "
            f"peak memory {memory['peak_mb']:.0f} MB (ru_maxrss of the worker process, which only imports: "
            + (
                "Django, Python's objects, the driver's compiled statements, and SQLite's page cache and "
                "memory-mapped file as configured, 64 + 128 MB at most); its reading process "
                if vendor == "sqlite"
                else "Django, Python's objects and the driver's buffers); its reading process "
            )
            + "(imports/ahead.py, forked, so its pages start shared with the worker's) peaked at "
            + f"{memory.get('reader_peak_mb', 0):.0f} MB.",
        ]
    lines += [
        "",
        "Command: `BRIDGE_VAR_DIR=… [DATABASE_URL=postgres://…] python -m bench.import_bench --rows "
        f"{rows} --memory-rows {memory_rows}` (each contender in a process of its own, tables emptied "
        "between them; on PostgreSQL also vacuumed).",
        "",
        "Bridge: `services.import_job_create` + `engine.run_job` as an admin: every row validated (choices by code or",
        "label, amounts, e-mail, phone to E.164), duplicate check by name key, phone and e-mail against all",
        "customers in bulk per batch of 2,000, customer + primary contact + phone rows, one audit event per batch,",
        "resume point committed with each batch. django-import-export 4.4 with a ModelResource of the",
        "customer's own columns (`import_id_fields = ('name',)`, so it looks each name up: its duplicate check),",
        "defaults, then bulk mode (`use_bulk`, `batch_size=2000`, `skip_diff`, `force_init_instance` as its",
        "docs advise). Raw: `cursor.executemany` of the customer columns, 2,000 rows per transaction, no checks,",
        "into the customer table with its indexes (and on SQLite its search trigger); raw-bare: the same into a",
        "table of the same columns with no index, key or trigger. Bridge forks a reading process that checks",
        "the next batch while the worker writes (imports/ahead.py); the reader's peak memory is in the JSON.",
        "",
    ]
    if workbooks:
        lines.append(_xlsx_section(workbooks))
    return "\n".join(lines)


if __name__ == "__main__":
    main()
