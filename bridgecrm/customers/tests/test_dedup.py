"""The duplicate check: keys, exact and fuzzy matches, what the actor is told, the settings, the
bulk form for imports (queries per 1,000 rows), the report, and the checks on create and edit."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from bridgecrm.core.errors import ApplicationError, Conflict, PermissionDenied
from bridgecrm.core.models import AuditEntry
from bridgecrm.customers import dedup, normalise, services
from bridgecrm.customers.models import Customer, DuplicateSettings
from bridgecrm.customers.tests.factories import make_contact, make_customer

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("深圳市腾讯计算机系统有限公司", "深圳市腾讯计算机系统 有限责任公司"),
        ("华为技术股份有限公司", "华为技术"),
        ("ＡＢＣ（中国）有限公司", "abc(中国)"),
        ("ACME Co., Ltd.", "acme"),
        ("The Acme Company Limited", "ACME"),
        ("Smith & Sons Inc.", "smith and sons"),
        ("Globex LLC", "GLOBEX, INC."),
        ("阿里巴巴（集团）有限公司", "阿里巴巴"),
    ],
)
def test_name_keys_agree(a: str, b: str) -> None:
    assert normalise.name_key(a) == normalise.name_key(b)


def test_name_keys_keep_places_in_brackets_and_phones_and_emails_normalise() -> None:
    assert normalise.name_key("腾讯科技（深圳）有限公司") != normalise.name_key("腾讯科技（北京）有限公司")
    assert normalise.phone_key("+86 138-0013-8000") == normalise.phone_key("13800138000") == "+8613800138000"
    assert normalise.phone_key("021 6234 5678") == "+862162345678"
    assert normalise.phone_key("not a phone") is None
    assert normalise.email_key("  Buyer@Example.COM ") == "buyer@example.com"


def test_similarity_rules() -> None:
    assert dedup.similarity("深圳市腾讯计算机系统", "腾讯计算机系统") >= 85
    assert dedup.similarity("北京华为技术", "上海华为技术") < 85
    assert dedup.similarity("华为", "华夏") < 85
    assert dedup.name_similarity("Zenith Bank", "Zenith Tank") < 85
    assert dedup.name_similarity("Northwind Traders Ltd", "Nortwind Traders Ltd") >= 85


def test_exact_and_fuzzy_matches_with_reasons(company) -> None:
    same = make_customer(company.owner, name="深圳华强电子有限公司")
    by_phone = make_customer(company.owner, name="华强北门店")
    make_contact(by_phone, name="王伟", phones=["13800138000"])
    by_email = make_customer(company.owner, name="Huaqiang Trading")
    make_contact(by_email, name="Li", email="buyer@huaqiang.com")
    similar = make_customer(company.owner, name="深圳华强电子科技有限公司")
    make_customer(company.owner, name="北京华夏银行")  # unrelated
    matches = dedup.find_duplicates(
        actor=company.owner,
        name="深圳 华强电子 有限责任公司",
        phones=["+86 138 0013 8000"],
        emails=["BUYER@huaqiang.com"],
    )
    by_id = {m.customer_id: m for m in matches}
    assert set(by_id) == {same.pk, by_phone.pk, by_email.pk, similar.pk}
    assert by_id[same.pk].reasons == ("name",) and by_id[same.pk].score == 100
    assert by_id[by_phone.pk].reasons == ("phone",)
    assert by_id[by_email.pk].reasons == ("email",)
    assert by_id[similar.pk].reasons == ("similar_name",) and 85 <= by_id[similar.pk].score < 100
    assert matches[-1].customer_id == similar.pk  # exact ones first
    # The customer being edited is not its own duplicate.
    again = dedup.find_duplicates(actor=company.owner, name="深圳华强电子", exclude_id=same.pk)
    assert same.pk not in {m.customer_id for m in again}


def test_a_hidden_match_says_only_that_it_exists_and_who_owns_it(company) -> None:
    theirs = make_customer(company.other_rep, name="Globex Industrial Co., Ltd.")
    pooled = make_customer(company.other_rep, name="Initech Software")
    Customer.objects.filter(pk=pooled.pk).update(owner=None)
    [hidden] = dedup.find_duplicates(actor=company.owner, name="GLOBEX INDUSTRIAL")
    assert (hidden.visible, hidden.customer_id, hidden.name) == (False, None, "")
    assert hidden.owner_label == company.other_rep.display_name
    assert hidden.as_dict()["customer_id"] is None and "Globex" not in str(hidden.as_dict())
    [pool] = dedup.find_duplicates(actor=company.owner, name="initech software inc")
    assert pool.in_pool and pool.owner_label == "public pool" and pool.customer_id is None
    # Their manager and the admin see it.
    [seen] = dedup.find_duplicates(actor=company.manager_b, name="Globex Industrial")
    assert (seen.visible, seen.customer_id, seen.name) == (True, theirs.pk, "Globex Industrial Co., Ltd.")


def test_deleted_customers_are_no_duplicates(company) -> None:
    gone = make_customer(company.owner, name="Soylent Foods")
    services.customer_delete(actor=company.owner, customer=gone)
    assert dedup.find_duplicates(actor=company.owner, name="Soylent Foods") == []


def test_the_check_costs_a_few_queries(company, django_assert_max_num_queries) -> None:
    for i in range(30):
        make_customer(company.owner, name=f"Acme Trading {i} Co., Ltd.")
    with django_assert_max_num_queries(6):
        dedup.find_duplicates(actor=company.owner, name="Acme Trading 7", phones=["13800138000"], emails=["a@b.cn"])


def test_settings_switch_checks_and_threshold(company) -> None:
    make_customer(company.owner, name="Massive Dynamic Research")
    c = make_customer(company.owner, name="Other name")
    make_contact(c, name="X", phones=["13911112222"])
    assert dedup.find_duplicates(actor=company.owner, name="Massive Dynamics Research")
    settings = dedup.settings_update(actor=company.admin, version=1, match_similar_name=False, match_phone=False)
    assert settings.version == 2
    assert dedup.find_duplicates(actor=company.owner, name="Massive Dynamics Research") == []
    assert dedup.find_duplicates(actor=company.owner, name="Y", phones=["139 1111 2222"]) == []
    dedup.settings_update(actor=company.manager_a, version=2, match_similar_name=True, similarity_threshold=99)
    assert dedup.find_duplicates(actor=company.owner, name="Massive Dynamics Research") == []
    assert AuditEntry.objects.for_object(DuplicateSettings.objects.get()).filter(field="similarity_threshold").exists()


def test_settings_failures_change_nothing(company) -> None:
    with pytest.raises(PermissionDenied):
        dedup.settings_update(actor=company.owner, version=1, match_name=False)
    with pytest.raises(ApplicationError):
        dedup.settings_update(actor=company.admin, version=1, similarity_threshold=10)
    with pytest.raises(ApplicationError):
        dedup.settings_update(actor=company.admin, version=1, colour="red")
    dedup.settings_update(actor=company.admin, version=1, match_name=False)
    with pytest.raises(Conflict):
        dedup.settings_update(actor=company.admin, version=1, match_name=True)
    assert DuplicateSettings.objects.get().match_name is False


def test_bulk_check_for_imports_costs_a_few_queries_per_thousand_rows(company) -> None:
    owner = make_customer(company.owner, name="Wayne Logistics Ltd")
    make_contact(owner, name="Bruce", phones=["13700003333"], email="bruce@wayne.com")
    hidden = make_customer(company.other_rep, name="Tyrell Biotech")
    rows = [dedup.BulkRow(name=f"Row company {i}") for i in range(1000)]
    rows[10] = dedup.BulkRow(name="WAYNE LOGISTICS")
    rows[20] = dedup.BulkRow(name="nobody", phones=["+86 137 0000 3333"])
    rows[30] = dedup.BulkRow(name="nobody 2", emails=["Bruce@Wayne.com"])
    rows[40] = dedup.BulkRow(name="Tyrell Biotech Inc.")
    with CaptureQueriesContext(connection) as queries:
        found = dedup.find_duplicates_bulk(rows, actor=company.owner)
    # On PostgreSQL two more: bitmap scans off and back on around the key lookups (dedup.customers_by_keys).
    assert len(queries) <= 8 + 2 * (connection.vendor == "postgresql"), [q["sql"][:80] for q in queries]
    assert sorted(found) == [10, 20, 30, 40]
    assert found[10][0].customer_id == owner.pk and found[10][0].reasons == ("name",)
    assert found[20][0].reasons == ("phone",) and found[30][0].reasons == ("email",)
    assert found[40][0].visible is False and found[40][0].customer_id is None
    assert found[40][0].owner_label == company.other_rep.display_name
    assert hidden.pk not in {m.customer_id for ms in found.values() for m in ms}


def test_create_and_edit_refuse_duplicates_unless_allowed(company) -> None:
    existing = make_customer(company.other_rep, name="Hooli Cloud Services")
    before = Customer.objects.count()
    with pytest.raises(services.DuplicateFound) as refused:
        services.customer_create(actor=company.owner, name="HOOLI CLOUD SERVICES INC", allow_duplicate=False)
    assert refused.value.status == 409 and refused.value.code == "duplicate"
    assert refused.value.details["matches"][0]["customer_id"] is None
    assert Customer.objects.count() == before
    mine = services.customer_create(actor=company.owner, name="Hooli Cloud Services Inc", allow_duplicate=True)
    other = make_customer(company.owner, name="Pied Piper")
    with pytest.raises(services.DuplicateFound):
        services.customer_update(
            actor=company.owner, customer=other, version=1, allow_duplicate=False, name="Hooli Cloud Services"
        )
    assert Customer.objects.get(pk=other.pk).name == "Pied Piper"
    # Editing another field of a known duplicate does not ask again.
    services.customer_update(actor=company.owner, customer=mine, version=1, allow_duplicate=False, city="深圳")
    assert existing.pk


def test_report_groups_exact_keys_phones_emails_and_similar_names(company) -> None:
    a = make_customer(company.owner, name="Vandelay Imports Ltd")
    b = make_customer(company.teammate, name="VANDELAY IMPORTS")
    c = make_customer(company.owner, name="Kramerica Industries")
    d = make_customer(company.owner, name="Kramerica Industry Group")
    make_contact(c, name="K", phones=["13600002222"], email="k@kramerica.com")
    make_contact(d, name="K2", phones=["136 0000 2222"], email="K@kramerica.com")
    groups, more = dedup.report(actor=company.admin, reason="name")
    assert not more and [sorted(x.pk for x in g.customers) for g in groups] == [sorted([a.pk, b.pk])]
    groups, _more = dedup.report(actor=company.admin, reason="phone")
    assert [sorted(x.pk for x in g.customers) for g in groups] == [sorted([c.pk, d.pk])]
    groups, _more = dedup.report(actor=company.admin, reason="email")
    assert [g.key for g in groups] == ["k@kramerica.com"]
    groups, _more = dedup.report(actor=company.admin, reason="similar_name")
    assert any({x.pk for x in g.customers} == {c.pk, d.pk} for g in groups)
    # Managers see the groups within their teams only; reps may not see the report.
    groups, _more = dedup.report(actor=company.manager_b, reason="name")
    assert groups == []
    with pytest.raises(PermissionDenied):
        dedup.report(actor=company.owner)
    with pytest.raises(ApplicationError):
        dedup.report(actor=company.admin, reason="colour")


def test_report_pages_cost_the_same_queries(company, django_assert_max_num_queries) -> None:
    for i in range(12):
        make_customer(company.owner, name=f"Twin {i}")
        make_customer(company.owner, name=f"twin {i} ltd")
    for size in (5, 10):
        with django_assert_max_num_queries(6):
            groups, more = dedup.report(actor=company.admin, reason="name", size=size)
        assert len(groups) == size and more
