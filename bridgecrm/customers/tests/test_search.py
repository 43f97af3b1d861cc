"""Search at scale: the index paths (FTS5 trigram on SQLite, pg_trgm on PostgreSQL), the short-query
fallback, phones in any format, e-mail, visibility, and the index kept in sync by every write."""

from __future__ import annotations

import pytest
from django.db import connection

from bridgecrm.customers import search_index, selectors, services
from bridgecrm.customers.models import Contact, ContactPhone, Customer
from bridgecrm.customers.selectors import ContactFilters, CustomerFilters
from bridgecrm.customers.tests.factories import make_contact, make_customer

pytestmark = pytest.mark.django_db


def _names(actor, q: str) -> list[str]:
    return sorted(c.name for c in selectors.customer_list(actor=actor, filters=CustomerFilters(q=q)))


@pytest.fixture
def book(company):
    acme = make_customer(company.owner, "深圳市华强电子科技有限公司")
    make_contact(acme, "欧阳娜娜", phones=["13800138000"], email="nana@huaqiang.cn")
    beta = make_customer(company.owner, "Beta Logistics Pte Ltd")
    make_contact(beta, "Lily Chen", phones=["+65 6123 4567"], email="Lily.Chen@Beta.SG")
    make_contact(beta, "王伟", phones=["010-12345678"])
    hidden = make_customer(company.other_rep, "上海华强物流有限公司")
    make_contact(hidden, "李秘密", phones=["13900139000"], email="secret@hidden.cn")
    return company


@pytest.mark.parametrize(
    ("q", "expected"),
    [
        ("华强电子", ["深圳市华强电子科技有限公司"]),  # a Chinese substring of the name (≥ 3: the index)
        ("华强", ["深圳市华强电子科技有限公司"]),  # two characters: the fallback
        ("强", ["深圳市华强电子科技有限公司"]),  # one character
        ("科技有限", ["深圳市华强电子科技有限公司"]),
        ("欧阳娜", ["深圳市华强电子科技有限公司"]),  # a contact's name
        ("王伟", ["Beta Logistics Pte Ltd"]),
        ("logist", ["Beta Logistics Pte Ltd"]),  # any case
        ("BETA  logistics", ["Beta Logistics Pte Ltd"]),  # spaces collapsed
        ("lily chen", ["Beta Logistics Pte Ltd"]),
        ("13800138000", ["深圳市华强电子科技有限公司"]),  # phones in any format
        ("138 0013 8000", ["深圳市华强电子科技有限公司"]),
        ("+86 138-0013-8000", ["深圳市华强电子科技有限公司"]),
        ("0086 13800138000", ["深圳市华强电子科技有限公司"]),
        ("(010) 1234 5678", ["Beta Logistics Pte Ltd"]),
        ("+65 61234567", ["Beta Logistics Pte Ltd"]),
        ("NANA@HUAQIANG.CN", ["深圳市华强电子科技有限公司"]),  # e-mail, any case
        ("lily.chen@beta.sg", ["Beta Logistics Pte Ltd"]),
        ("nobody", []),
        ('"华强电子"', []),  # FTS syntax is never interpreted: quotes are text
        ("华强*", []),
        ("华强 OR 物流", []),
        ("100%", []),
        ("_", []),
    ],
)
def test_search_finds_by_name_contact_phone_and_email(book, q, expected) -> None:
    assert _names(book.owner, q) == expected


@pytest.mark.parametrize("q", ["华强物流", "华强", "李秘密", "13900139000", "139 0013 9000", "secret@hidden.cn"])
def test_a_rep_never_finds_anothers_customers(book, q) -> None:
    assert "上海华强物流有限公司" not in _names(book.owner, q)
    assert "上海华强物流有限公司" not in _names(book.teammate, q)
    assert "上海华强物流有限公司" in _names(book.manager_b, q)  # team B's manager sees it
    assert "上海华强物流有限公司" in _names(book.admin, q)


def test_renames_deletions_and_bulk_inserts_keep_the_index(book) -> None:
    owner = book.owner
    acme = Customer.objects.get(name="深圳市华强电子科技有限公司")
    services.customer_update(actor=owner, customer=acme, version=acme.version, name="广州白云机场物流有限公司")
    assert _names(owner, "华强电子") == []
    assert _names(owner, "白云机场") == ["广州白云机场物流有限公司"]
    contact = Contact.objects.get(name="欧阳娜娜")
    services.contact_update(actor=owner, contact=contact, name="司马相如")
    assert _names(owner, "欧阳娜") == []
    assert _names(owner, "司马相") == ["广州白云机场物流有限公司"]
    services.contact_delete(actor=owner, contact=Contact.objects.get(name="司马相如"))
    assert _names(owner, "司马相") == []
    # A bulk insert (imports, the bench's generator) bypasses the services: the index still follows.
    Customer.objects.bulk_create([Customer(name="批量导入测试客户", owner=owner)])
    assert _names(owner, "批量导入") == ["批量导入测试客户"]


@pytest.mark.skipif(connection.vendor != "sqlite", reason="the FTS5 tables are SQLite's")
def test_sqlite_index_is_repaired_when_a_table_rebuild_dropped_its_triggers(book) -> None:
    assert search_index.sqlite_fts_ready()
    with connection.cursor() as cursor:
        cursor.execute("DROP TRIGGER customers_customer_fts_ai")
    assert not search_index.sqlite_fts_ready()
    Customer.objects.create(name="漏掉的客户有限公司", owner=book.owner)  # missed by the index
    assert _names(book.owner, "漏掉的客户") == []
    assert search_index.ensure_sqlite_fts() is True
    assert search_index.sqlite_fts_ready()
    assert _names(book.owner, "漏掉的客户") == ["漏掉的客户有限公司"]
    assert search_index.ensure_sqlite_fts() is False


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the trigram indexes are PostgreSQL's")
def test_postgresql_searches_through_the_trigram_indexes(book) -> None:
    sql, params = selectors.matching_customer_ids("华强电子")  # type: ignore[misc]
    with connection.cursor() as cursor:
        # A handful of rows: make the planner choose as it would at scale (bitmap scans only).
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("SET LOCAL enable_indexscan = off")
        cursor.execute("EXPLAIN " + sql, params)
        plan = "\n".join(r[0] for r in cursor.fetchall())
        cursor.execute("SELECT indexdef FROM pg_indexes WHERE indexname = 'customer_name_trgm'")
        (customer_index,) = cursor.fetchone()
    # Both arms are the same SQL (``_name_ids``); with a handful of rows the planner may read the
    # customers' btree instead, but the contacts' arm shows the expression matches the trigram index.
    assert "contact_name_trgm" in plan, plan
    assert "gin (upper((name)::text) gin_trgm_ops)" in customer_index


def test_contact_search_by_name_phone_and_email(book) -> None:
    def names(actor, **kw) -> list[str]:
        return sorted(c.name for c in selectors.contact_search(actor=actor, filters=ContactFilters(**kw)))

    assert names(book.owner, q="lily") == ["Lily Chen"]
    assert names(book.owner, q="王伟") == ["王伟"]
    assert names(book.owner, q="+86 10 1234 5678") == ["王伟"]
    assert names(book.owner, q="NANA@huaqiang.cn") == ["欧阳娜娜"]
    assert names(book.owner, q="李秘密") == []
    assert names(book.manager_b, q="李秘密") == ["李秘密"]
    assert names(book.owner) == sorted(["Lily Chen", "王伟", "欧阳娜娜"])
    assert names(book.admin, owner_id=book.other_rep.pk) == ["李秘密"]
    assert ContactPhone.objects.count() == 4


def test_global_search_uses_the_same_search(book) -> None:
    from bridgecrm.conftest import signed_in

    client = signed_in(book.owner)
    for q, expected in (("138 0013 8000", True), ("华强", True), ("李秘密", False), ("secret@hidden.cn", False)):
        response = client.get("/search/", {"q": q})
        names = [c.name for c in response.context["customers"]]
        assert ("深圳市华强电子科技有限公司" in names) == expected, q
        assert "上海华强物流有限公司" not in names
