"""The pool's pages and API: masked contact details never leave through the list, the export,
the search, the pool page or the API; the limits hold through the UI and the API alike; list
pages cost a fixed number of queries."""

from __future__ import annotations

import io

import openpyxl
import pytest
from django.test import Client

from bridgecrm.api.tests.conftest import ApiClient, issue_token
from bridgecrm.conftest import Company, signed_in
from bridgecrm.customers.models import Customer
from bridgecrm.customers.tests.factories import make_contact, make_customer
from bridgecrm.pool import selectors, services
from bridgecrm.pool.models import PoolEvent, PoolEventKind, PoolRules

pytestmark = pytest.mark.django_db

PHONE, EMAIL, WECHAT = "13800138000", "alice@example.com", "wxid_secret99"
SECRETS = ("13800138000", "+8613800138000", "138 0013 8000", "alice@example.com", "wxid_secret99", "alice")


def rules(**values: int | bool) -> None:
    selectors.rules_get()
    PoolRules.objects.filter(pk=1).update(**values)


def pooled(company: Company, name: str = "Pooled Co", *, contact: bool = True) -> Customer:
    customer = make_customer(company.admin, name=name, industry="technology", province="GD")
    if contact:
        make_contact(customer, name="Alice 王", phones=[PHONE], email=EMAIL, wechat=WECHAT, is_primary=True)
    services.pool_release(actor=company.admin, customer=customer, reason="No budget")
    return Customer.objects.get(pk=customer.pk)


def assert_masked(text: str) -> None:
    for secret in SECRETS:
        assert secret not in text, secret
    assert "138****8000" in text
    assert "a***@example.com" in text


def test_masks() -> None:
    assert selectors.mask_phone("+8613800138000") == "138****8000"
    assert selectors.mask_phone("+14155550123") == "141****0123"
    assert selectors.mask_email("alice@x.com") == "a***@x.com"
    assert selectors.mask_text("wxid_1") == "w***"


# ---- masking on every path -------------------------------------------------------------------------


def test_list_detail_and_exports_are_masked_for_reps_and_managers(company: Company) -> None:
    customer = pooled(company)
    for user in (company.owner, company.manager_a):
        client = signed_in(user)
        page = client.get("/pool/")
        assert page.status_code == 200
        assert_masked(page.content.decode())
        detail = client.get(f"/pool/{customer.pk}/")
        assert detail.status_code == 200
        assert_masked(detail.content.decode())
        assert "w***" in detail.content.decode()
        csv_text = b"".join(client.get("/pool/export/?format=csv").streaming_content).decode("utf-8-sig")
        assert "Pooled Co" in csv_text
        assert_masked(csv_text)
        xlsx = client.get("/pool/export/?format=xlsx")
        sheet = openpyxl.load_workbook(io.BytesIO(b"".join(xlsx.streaming_content)), read_only=True).active
        cells = " ".join(str(c) for r in sheet.iter_rows(values_only=True) for c in r if c is not None)
        assert "Pooled Co" in cells
        assert_masked(cells)


def test_admin_with_pool_manage_sees_details(company: Company) -> None:
    customer = pooled(company)
    client = signed_in(company.admin)
    text = client.get(f"/pool/{customer.pk}/").content.decode()
    assert "+8613800138000" in text and EMAIL in text and WECHAT in text


def test_no_masking_when_the_rule_is_off(company: Company) -> None:
    customer = pooled(company)
    rules(mask_contacts=False)
    assert EMAIL in signed_in(company.owner).get(f"/pool/{customer.pk}/").content.decode()


def test_search_by_phone_or_email_does_not_reveal_pool_customers(company: Company) -> None:
    pooled(company)
    client = signed_in(company.owner)
    for probe in (PHONE, "+86 138 0013 8000", EMAIL):
        page = client.get("/pool/", {"q": probe})
        assert [r.customer.name for r in page.context["rows"]] == [], probe
        body = ApiClient(issue_token(company.owner)).get("/pool/customers", {"q": probe}).json()
        assert body["count"] == 0, probe
    assert [r.customer.name for r in client.get("/pool/", {"q": "pooled"}).context["rows"]] == ["Pooled Co"]
    assert [r.customer.name for r in client.get("/pool/", {"q": "alice"}).context["rows"]] == ["Pooled Co"]
    # The admin (pool.manage) finds it by phone, as in the customer list.
    admin_page = signed_in(company.admin).get("/pool/", {"q": PHONE})
    assert [r.customer.name for r in admin_page.context["rows"]] == ["Pooled Co"]


def test_api_list_and_detail_are_masked(company: Company) -> None:
    customer = pooled(company)
    api = ApiClient(issue_token(company.manager_a))
    listed = api.get("/pool/customers")
    assert listed.status_code == 200
    assert listed.json()["count"] == 1
    item = listed.json()["items"][0]
    assert item["contact"]["phones"] == ["138****8000"]
    assert item["contact"]["email"] == "a***@example.com"
    assert item["reason"] == "released"
    assert_masked(listed.content.decode())
    detail = api.get(f"/pool/customers/{customer.pk}")
    assert detail.status_code == 200
    assert_masked(detail.content.decode())
    # The ordinary customer endpoints do not show pool customers to anyone but admins.
    assert api.get(f"/customers/{customer.pk}").status_code == 404
    assert api.get(f"/customers/{customer.pk}/contacts").status_code == 404
    assert customer.pk not in [c["id"] for c in api.get("/customers").json()["items"]]


def test_filters(company: Company) -> None:
    pooled(company, "Tech GD")
    other = make_customer(company.admin, name="Retail", industry="retail")
    services.pool_release(actor=company.admin, customer=other, reason="x")
    client = signed_in(company.owner)
    names = lambda q: [r.customer.name for r in client.get("/pool/", q).context["rows"]]  # noqa: E731
    assert names({"industry": "technology"}) == ["Tech GD"]
    assert names({"province": "GD"}) == ["Tech GD"]
    assert names({"reason": "released"}) == ["Retail", "Tech GD"]
    assert names({"reason": "no_follow_up"}) == []
    assert names({"pooled_since": "2099-01-01"}) == []
    assert names({"sort": "name"}) == ["Retail", "Tech GD"]


# ---- limits through the UI and the API -------------------------------------------------------------


def test_daily_limit_holds_through_ui_and_api(company: Company) -> None:
    rules(daily_claim_limit=2, holding_limit=0)
    a, b, c = (
        pooled(company, "A", contact=False),
        pooled(company, "B", contact=False),
        pooled(company, "C", contact=False),
    )
    client = signed_in(company.owner)
    response = client.post(f"/pool/{a.pk}/claim/")
    assert response.status_code == 302 and response["Location"] == f"/customers/{a.pk}/"
    api = ApiClient(issue_token(company.owner))
    claimed = api.post(f"/pool/customers/{b.pk}/claim", {})
    assert claimed.status_code == 200 and claimed.json()["owner_id"] == company.owner.pk
    refused = api.post(f"/pool/customers/{c.pk}/claim", {})
    assert refused.status_code == 400 and refused.json()["code"] == "daily_limit"
    page = client.post(f"/pool/{c.pk}/claim/", follow=True)
    assert "the most per day" in page.content.decode()
    assert Customer.objects.get(pk=c.pk).owner_id is None
    assert signed_in(company.owner).get("/pool/").context["status"].claims_left == 0


def test_holding_limit_holds_through_ui_and_api(company: Company) -> None:
    rules(holding_limit=1, daily_claim_limit=0)
    make_customer(company.owner, name="Held")
    a = pooled(company, "A", contact=False)
    page = signed_in(company.owner).post(f"/pool/{a.pk}/claim/", follow=True)
    assert "the most a rep may hold" in page.content.decode()
    refused = ApiClient(issue_token(company.owner)).post(f"/pool/customers/{a.pk}/claim", {})
    assert refused.status_code == 400 and refused.json()["code"] == "holding_limit"
    # A manager cannot push the rep over the limit either.
    api = ApiClient(issue_token(company.manager_a))
    assigned = api.post(f"/pool/customers/{a.pk}/assign", {"user_id": company.owner.pk})
    assert assigned.status_code == 400 and assigned.json()["code"] == "holding_limit"
    assert Customer.objects.get(pk=a.pk).owner_id is None


def test_cooldown_holds_through_api(company: Company) -> None:
    rules(cooldown_days=7)
    customer = make_customer(company.owner, name="Mine")
    api = ApiClient(issue_token(company.owner))
    released = api.post(f"/customers/{customer.pk}/release", {"reason": "Wrong contact"})
    assert released.status_code == 200 and released.json()["owner_id"] is None
    refused = api.post(f"/pool/customers/{customer.pk}/claim", {})
    assert refused.status_code == 400 and refused.json()["code"] == "cooldown"


def test_claimed_customer_is_gone_from_the_pool(company: Company) -> None:
    customer = pooled(company, contact=False)
    assert ApiClient(issue_token(company.owner)).post(f"/pool/customers/{customer.pk}/claim", {}).status_code == 200
    again = ApiClient(issue_token(company.teammate)).post(f"/pool/customers/{customer.pk}/claim", {})
    assert again.status_code == 404
    page = signed_in(company.teammate).post(f"/pool/{customer.pk}/claim/", follow=True)
    assert "no longer in the public pool" in page.content.decode()


def test_release_and_protect_pages(company: Company) -> None:
    rules(protected_cap=1)
    customer = make_customer(company.owner, name="Mine")
    client = signed_in(company.owner)
    assert client.get(f"/customers/{customer.pk}/").content.decode().count("release-link") == 1
    assert client.post(f"/customers/{customer.pk}/protect/", {"protected": "1"}).status_code == 302
    assert Customer.objects.get(pk=customer.pk).is_protected
    second = make_customer(company.owner, name="Second")
    page = client.post(f"/customers/{second.pk}/protect/", {"protected": "1"}, follow=True)
    assert "at most 1 customers" in page.content.decode()
    empty = client.post(f"/customers/{customer.pk}/release/", {"reason": ""})
    assert empty.status_code == 400
    done = client.post(f"/customers/{customer.pk}/release/", {"reason": "Went bankrupt"})
    assert done.status_code == 302
    assert Customer.objects.get(pk=customer.pk).pooled_at is not None
    assert signed_in(company.other_rep).get(f"/customers/{second.pk}/release/").status_code == 404


def test_distribute_page(company: Company) -> None:
    rules(holding_limit=0)
    customers = [pooled(company, f"C{i}", contact=False) for i in range(3)]
    client = signed_in(company.manager_a)
    page = client.get("/pool/")
    assert page.context["may_assign"]
    response = client.post(
        "/pool/distribute/",
        {
            "customers": [c.pk for c in customers],
            "users": [company.owner.pk, company.teammate.pk],
            "mode": "round_robin",
        },
    )
    assert response.status_code == 302
    owners = [Customer.objects.get(pk=c.pk).owner_id for c in customers]
    assert owners == [company.owner.pk, company.teammate.pk, company.owner.pk]
    assert PoolEvent.objects.filter(kind=PoolEventKind.ASSIGNED).count() == 3


def test_rules_page_and_api(company: Company) -> None:
    client = signed_in(company.admin)
    assert client.get("/pool/rules/").status_code == 200
    data = {
        "recycle_no_follow_up_days": "20",
        "recycle_no_progress_days": "60",
        "warning_days": "2",
        "holding_limit": "50",
        "daily_claim_limit": "5",
        "cooldown_days": "3",
        "protected_cap": "4",
        "mask_contacts": "on",
        "version": "1",
    }
    assert client.post("/pool/rules/", data).status_code == 302
    assert selectors.rules_get().recycle_no_follow_up_days == 20
    stale = client.post("/pool/rules/", data)
    assert stale.status_code == 400
    assert signed_in(company.manager_a).get("/pool/rules/").status_code == 403
    api = ApiClient(issue_token(company.admin))
    assert api.get("/pool/rules").json()["version"] == 2
    patched = api.patch("/pool/rules", {"holding_limit": 7, "version": 2})
    assert patched.status_code == 200 and patched.json()["holding_limit"] == 7
    denied = ApiClient(issue_token(company.manager_a)).patch("/pool/rules", {"holding_limit": 1, "version": 3})
    assert denied.status_code == 403
    assert selectors.rules_get().holding_limit == 7


# ---- query budgets ---------------------------------------------------------------------------------


@pytest.mark.parametrize("count", [3, 30])
def test_list_costs_a_fixed_number_of_queries(company: Company, count: int, django_assert_max_num_queries) -> None:  # type: ignore[no-untyped-def]
    for i in range(count):
        pooled(company, f"Q{i}")
    client = signed_in(company.manager_a)
    client.get("/pool/")  # warm the session
    with django_assert_max_num_queries(16):
        page = client.get("/pool/")
    assert len(page.context["rows"]) == count
    api = ApiClient(issue_token(company.owner))
    with django_assert_max_num_queries(12):
        body = api.get("/pool/customers").json()
    assert body["count"] == count


def test_anonymous_is_sent_to_sign_in() -> None:
    assert Client().get("/pool/").status_code == 302
