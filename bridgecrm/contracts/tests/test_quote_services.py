from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone
from hypothesis import given, settings
from hypothesis import strategies as st

from bridgecrm.contracts.models import Contract, DocumentSettings, Quote, QuoteLine, QuoteStatus
from bridgecrm.contracts.services import quotes as services
from bridgecrm.contracts.tests.quote_helpers import LINES, make_deal, make_quote
from bridgecrm.core.errors import ApplicationError, Conflict, NotFound, PermissionDenied
from bridgecrm.core.models import AuditEntry
from bridgecrm.core.money import quantize
from bridgecrm.core.timeline import customer_timeline
from bridgecrm.customers.tests.factories import make_contact, make_customer
from bridgecrm.pipeline.tests.factories import make_product

pytestmark = pytest.mark.django_db


# ---- totals: exact, property-tested ------------------------------------------------------------------

quantities = st.decimals(min_value="0.001", max_value="100000", places=3, allow_nan=False, allow_infinity=False)
prices = st.decimals(min_value="0", max_value="10000000", places=2, allow_nan=False, allow_infinity=False)
discounts = st.decimals(min_value="0", max_value="100", places=2, allow_nan=False, allow_infinity=False)
rates = st.decimals(min_value="0", max_value="100", places=2, allow_nan=False, allow_infinity=False)


@given(
    lines=st.lists(st.tuples(quantities, prices, discounts), min_size=1, max_size=12),
    rate=rates,
    currency=st.sampled_from(["CNY", "USD", "JPY"]),
)
@settings(max_examples=300, deadline=None)
def test_totals_never_lose_or_invent_a_cent(
    lines: list[tuple[Decimal, Decimal, Decimal]], rate: Decimal, currency: str
) -> None:
    totals = services.compute_totals(lines, rate, currency)
    exact_nets = [q * p * (100 - d) / 100 for q, p, d in lines]
    for (q, p, _d), amounts, exact in zip(lines, totals.lines, exact_nets, strict=True):
        assert amounts.net == quantize(exact, currency)  # rounded once, half up
        assert amounts.gross == quantize(q * p, currency)
    assert totals.subtotal == sum((a.net for a in totals.lines), Decimal(0))
    assert totals.discount_total == sum((a.gross for a in totals.lines), Decimal(0)) - totals.subtotal
    assert totals.tax_amount == quantize(totals.subtotal * rate / 100, currency)
    assert totals.total == totals.subtotal + totals.tax_amount
    assert totals.discount_total >= 0


def test_totals_known_values() -> None:
    totals = services.compute_totals(
        [(Decimal("3"), Decimal("1000.00"), Decimal("10")), (Decimal("2.5"), Decimal("1999.99"), Decimal("0"))],
        Decimal("13"),
        "CNY",
    )
    assert [a.net for a in totals.lines] == [Decimal("2700.00"), Decimal("4999.98")]  # 4999.975 → .98
    assert totals.subtotal == Decimal("7699.98")
    assert totals.discount_total == Decimal("300.00")
    assert totals.tax_amount == Decimal("1001.00")  # 1000.9974
    assert totals.total == Decimal("8700.98")


# ---- create -------------------------------------------------------------------------------------------


def test_create_numbers_totals_lines_and_audit(company) -> None:
    customer = make_customer(company.owner, name="上海华丰机械有限公司")
    contact = make_contact(customer)
    quote = make_quote(company.owner, customer, contact=contact, terms="款到发货")
    year = timezone.localdate().year
    assert quote.number == f"Q{year}-00001"
    assert (quote.version, quote.status, quote.owner, quote.currency) == (1, "draft", company.owner, "CNY")
    assert (quote.subtotal, quote.discount_total, quote.tax_amount, quote.total) == (
        Decimal("7699.98"),
        Decimal("300.00"),
        Decimal("1001.00"),
        Decimal("8700.98"),
    )
    assert list(quote.lines.values_list("line_total", flat=True)) == [Decimal("2700.00"), Decimal("4999.98")]
    assert quote.valid_until == timezone.localdate() + dt.timedelta(days=30)
    assert make_quote(company.owner, customer).number == f"Q{year}-00002"
    entry = AuditEntry.objects.for_object(quote).get()
    assert entry.new_value["total"] == "8700.98"
    assert entry.new_value["lines"][0][0] == "CRM 标准版许可"


def test_create_uses_document_settings(company) -> None:
    services.document_settings_update(
        actor=company.admin, quote_prefix="BJ-Q", contract_prefix="BJ-HT", default_tax_rate="6", quote_validity_days=10
    )
    customer = make_customer(company.owner)
    quote = services.quote_create(actor=company.owner, customer=customer, lines=LINES[:1])
    assert quote.number.startswith("BJ-Q")
    assert quote.tax_rate == Decimal("6.00")
    assert quote.valid_until == timezone.localdate() + dt.timedelta(days=10)
    assert quote.total == Decimal("2862.00")


def test_create_from_deal_copies_its_lines(company) -> None:
    customer = make_customer(company.owner)
    product = make_product(company.admin)
    deal = make_deal(company.owner, customer, admin=company.admin, product=product)
    quote = services.quote_create(actor=company.owner, customer=customer, deal=deal, from_deal=True)
    lines = list(quote.lines.order_by("order"))
    assert [(line.name, line.quantity, line.discount_percent) for line in lines] == [
        ("CRM 标准版许可", Decimal("5.000"), Decimal("12.50")),
        ("培训", Decimal("1.000"), Decimal("0.00")),
    ]
    assert lines[0].product == product
    assert quote.subtotal == Decimal("5175.00")
    assert quote.title == deal.name


def test_create_from_product_takes_name_unit_and_list_price(company) -> None:
    product = make_product(company.admin, list_price="1234.50", unit="licence")
    customer = make_customer(company.owner)
    quote = services.quote_create(
        actor=company.owner, customer=customer, lines=[{"product": product.pk, "quantity": "2"}], tax_rate="0"
    )
    line = quote.lines.get()
    assert (line.name, line.unit, line.unit_price, line.line_total) == (
        "CRM 标准版许可",
        "licence",
        Decimal("1234.50"),
        Decimal("2469.00"),
    )


@pytest.mark.parametrize(
    ("lines", "field"),
    [
        ([], "lines"),
        ([{"name": "x", "quantity": "0", "unit_price": "1"}], "lines"),
        ([{"name": "x", "quantity": "1", "unit_price": "-1"}], "lines"),
        ([{"name": "x", "quantity": "1", "unit_price": "1", "discount_percent": "101"}], "lines"),
        ([{"name": "x", "quantity": "1", "unit_price": "1.001"}], "lines"),
        ([{"name": "", "quantity": "1", "unit_price": "1"}], "lines"),
        ([{"name": "x", "quantity": "abc", "unit_price": "1"}], "lines"),
        ([{"product": 999999, "quantity": "1"}], "lines"),
    ],
)
def test_create_refuses_bad_lines_and_writes_nothing(company, lines, field) -> None:
    customer = make_customer(company.owner)
    with pytest.raises(ApplicationError) as caught:
        services.quote_create(actor=company.owner, customer=customer, lines=lines)
    assert field in caught.value.details
    assert not Quote.objects.exists()
    assert not QuoteLine.objects.exists()


def test_create_for_a_customer_or_deal_one_may_not_see(company) -> None:
    customer = make_customer(company.owner)
    with pytest.raises(NotFound):
        make_quote(company.other_rep, customer)
    own = make_customer(company.other_rep, name="别人的客户")
    deal = make_deal(company.owner, customer, admin=company.admin)
    with pytest.raises(ApplicationError) as caught:
        services.quote_create(actor=company.other_rep, customer=own, deal=deal, from_deal=True)
    assert "deal" in caught.value.details
    other_contact = make_contact(own)
    with pytest.raises(ApplicationError):
        make_quote(company.owner, customer, contact=other_contact)
    assert not Quote.objects.exists()


# ---- update, lock_version ----------------------------------------------------------------------------


def test_update_draft_recomputes_and_bumps_lock_version(company) -> None:
    quote = make_quote(company.owner, make_customer(company.owner))
    updated = services.quote_update(
        actor=company.owner,
        quote=quote,
        lock_version=1,
        tax_rate="6",
        lines=[{"name": "年度订阅", "quantity": "1", "unit_price": "100.00"}],
    )
    assert (updated.subtotal, updated.tax_amount, updated.total, updated.lock_version) == (
        Decimal("100.00"),
        Decimal("6.00"),
        Decimal("106.00"),
        2,
    )
    assert updated.lines.count() == 1
    fields = set(AuditEntry.objects.for_object(quote).exclude(field="").values_list("field", flat=True))
    assert {"tax_rate", "total", "lines"} <= fields


def test_stale_lock_version_is_a_conflict_and_writes_nothing(company) -> None:
    quote = make_quote(company.owner, make_customer(company.owner))
    services.quote_update(actor=company.owner, quote=quote, lock_version=1, title="第一次")
    with pytest.raises(Conflict):
        services.quote_update(actor=company.manager_a, quote=quote, lock_version=1, title="第二次")
    quote.refresh_from_db()
    assert (quote.title, quote.lock_version) == ("第一次", 2)


def test_only_drafts_are_edited(company) -> None:
    quote = make_quote(company.owner, make_customer(company.owner))
    services.quote_set_status(actor=company.owner, quote=quote, action="send")
    with pytest.raises(ApplicationError) as caught:
        services.quote_update(actor=company.owner, quote=quote, lock_version=2, title="x")
    assert caught.value.code == "not_draft"


def test_who_may_change_a_quote(company) -> None:
    customer = make_customer(company.owner)
    quote = make_quote(company.owner, customer)
    for actor in (company.other_rep, company.manager_b, company.teammate):
        with pytest.raises(NotFound):
            services.quote_update(actor=actor, quote=quote, lock_version=1, title="x")
    # A collaborator on the customer sees the quote but may not change it.
    from bridgecrm.customers.models import Customer

    Customer.collaborators.through.objects.create(customer=customer, user=company.teammate)
    with pytest.raises(PermissionDenied):
        services.quote_set_status(actor=company.teammate, quote=quote, action="send")
    services.quote_update(actor=company.manager_a, quote=quote, lock_version=1, title="经理改")
    services.quote_update(actor=company.admin, quote=quote, lock_version=2, title="管理员改")


# ---- status ------------------------------------------------------------------------------------------


def test_send_then_accept_makes_a_draft_contract(company) -> None:
    customer = make_customer(company.owner)
    deal = make_deal(company.owner, customer, admin=company.admin)
    quote = services.quote_create(actor=company.owner, customer=customer, deal=deal, from_deal=True, tax_rate="13")
    sent = services.quote_set_status(actor=company.owner, quote=quote, action="send", lock_version=1)
    assert sent.status == QuoteStatus.SENT
    assert sent.sent_at is not None
    accepted = services.quote_set_status(actor=company.manager_a, quote=quote, action="accept")
    assert accepted.status == QuoteStatus.ACCEPTED
    contract = Contract.objects.get()
    assert (contract.quote, contract.customer, contract.deal, contract.owner) == (quote, customer, deal, company.owner)
    assert (contract.amount, contract.currency, contract.status) == (quote.total, "CNY", "draft")
    assert contract.amount == Decimal("5847.75")
    assert contract.number == f"HT{timezone.localdate().year}-00001"
    assert AuditEntry.objects.for_object(contract).count() == 1


@pytest.mark.parametrize(
    ("path", "action"),
    [
        ([], "accept"),
        ([], "reject"),
        (["send"], "send"),
        (["send", "accept"], "reject"),
        (["send", "accept"], "expire"),
        (["send", "reject"], "accept"),
        (["expire"], "send"),
        (["send"], "fly"),
    ],
)
def test_illegal_transitions_are_refused(company, path, action) -> None:
    quote = make_quote(company.owner, make_customer(company.owner))
    for step in path:
        services.quote_set_status(actor=company.owner, quote=quote, action=step)
    quote.refresh_from_db()
    before = (quote.status, quote.lock_version, Contract.objects.count())
    with pytest.raises(ApplicationError) as caught:
        services.quote_set_status(actor=company.owner, quote=quote, action=action)
    assert caught.value.code in ("invalid_transition", "invalid")
    quote.refresh_from_db()
    assert (quote.status, quote.lock_version, Contract.objects.count()) == before


def test_accepting_after_validity_is_refused(company) -> None:
    quote = make_quote(company.owner, make_customer(company.owner))
    services.quote_set_status(actor=company.owner, quote=quote, action="send")
    Quote.objects.filter(pk=quote.pk).update(valid_until=timezone.localdate() - dt.timedelta(days=1))
    with pytest.raises(ApplicationError) as caught:
        services.quote_set_status(actor=company.owner, quote=quote, action="accept")
    assert caught.value.code == "quote_expired"
    assert not Contract.objects.exists()


def test_daily_job_expires_sent_quotes_past_validity(company) -> None:
    customer = make_customer(company.owner)
    old, fresh, draft = (make_quote(company.owner, customer) for _ in range(3))
    for q in (old, fresh):
        services.quote_set_status(actor=company.owner, quote=q, action="send")
    yesterday = timezone.localdate() - dt.timedelta(days=1)
    Quote.objects.filter(pk__in=[old.pk, draft.pk]).update(valid_until=yesterday)
    from bridgecrm.contracts.tasks_quotes import expire_due_quotes

    expire_due_quotes.call()
    assert services.quotes_expire_due() == 0  # idempotent
    statuses = dict(Quote.objects.values_list("pk", "status"))
    assert statuses == {old.pk: "expired", fresh.pk: "sent", draft.pk: "draft"}
    from bridgecrm.core.scheduler import registered_entries

    assert "contracts.expire_quotes" in {e.name for e in registered_entries()}


# ---- revise ------------------------------------------------------------------------------------------


def test_revise_makes_a_new_version_and_supersedes_the_old(company) -> None:
    quote = make_quote(company.owner, make_customer(company.owner))
    services.quote_set_status(actor=company.owner, quote=quote, action="send")
    new = services.quote_revise(actor=company.owner, quote=quote)
    quote.refresh_from_db()
    assert quote.status == QuoteStatus.SUPERSEDED
    assert (new.number, new.version, new.status, new.total) == (quote.number, 2, "draft", quote.total)
    assert list(new.lines.values_list("name", "line_total")) == list(quote.lines.values_list("name", "line_total"))
    with pytest.raises(ApplicationError):
        services.quote_revise(actor=company.owner, quote=quote)  # superseded
    with pytest.raises(ApplicationError):
        services.quote_revise(actor=company.owner, quote=new)  # a draft is edited, not revised
    services.quote_set_status(actor=company.owner, quote=new, action="send")
    third = services.quote_revise(actor=company.owner, quote=new)
    assert third.version == 3


# ---- settings ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "values",
    [
        {"quote_prefix": "Q 1"},
        {"quote_prefix": "ABCDEFGHIJKLM"},
        {"contract_prefix": ""},
        {"default_tax_rate": "101"},
        {"quote_validity_days": 0},
    ],
)
def test_document_settings_validation(company, values) -> None:
    base = {"quote_prefix": "Q", "contract_prefix": "HT", "default_tax_rate": "13", "quote_validity_days": 30}
    with pytest.raises(ApplicationError):
        services.document_settings_update(actor=company.admin, **(base | values))
    assert not AuditEntry.objects.filter(content_type__model="documentsettings").exists()


def test_document_settings_are_for_admins(company) -> None:
    with pytest.raises(PermissionDenied):
        services.document_settings_update(
            actor=company.manager_a, quote_prefix="X", contract_prefix="Y", default_tax_rate="1", quote_validity_days=1
        )
    row = services.document_settings_update(
        actor=company.admin, quote_prefix="SH-Q", contract_prefix="SH-C", default_tax_rate="9", quote_validity_days=15
    )
    assert DocumentSettings.objects.get().quote_prefix == "SH-Q"
    assert AuditEntry.objects.for_object(row).filter(field="quote_prefix").exists()


# ---- timeline ----------------------------------------------------------------------------------------


def test_customer_timeline_lists_quotes(company) -> None:
    customer = make_customer(company.owner)
    quote = make_quote(company.owner, customer)
    items = [i for i in customer_timeline(actor=company.owner, customer=customer) if i.kind == "quote"]
    assert [i.url for i in items] == [f"/quotes/{quote.pk}/"]
    assert quote.number in items[0].title
    assert not [i for i in customer_timeline(actor=company.other_rep, customer=customer) if i.kind == "quote"]
