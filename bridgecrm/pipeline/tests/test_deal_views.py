"""Deal pages: list (filters, query budget), create, edit conflicts, moves with gates, close, export, board."""

from __future__ import annotations

import csv
import datetime as dt
import io
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from bridgecrm.conftest import signed_in
from bridgecrm.core import timeline
from bridgecrm.core.models import AuditEntry
from bridgecrm.core.timeline import customer_timeline
from bridgecrm.customers.tests.factories import make_contact, make_customer
from bridgecrm.pipeline import deal_selectors, deals, services
from bridgecrm.pipeline.models import Deal, DealStageChange
from bridgecrm.pipeline.tests.deal_factories import make_deal, stage
from bridgecrm.pipeline.tests.factories import make_pipeline

pytestmark = pytest.mark.django_db


@pytest.fixture
def setup(company):
    pipeline = make_pipeline(company.admin, "新客户销售", is_default=True)
    customer = make_customer(company.owner, "华东电气")
    contact = make_contact(customer, "王伟")
    reason = services.lost_reason_create(actor=company.admin, name="价格太高")
    return company, pipeline, customer, contact, reason


def _count(client, url: str, data: dict, key: str = "deals") -> tuple[int, list]:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url, data)
    assert response.status_code == 200
    return len(ctx.captured_queries), list(response.context[key])


def test_list_query_count_does_not_grow_with_the_page_size(setup) -> None:
    company, _p, customer, _c, _r = setup
    for i in range(30):
        make_deal(company.owner, customer, f"D{i:02d}", amount=str(1000 + i), competitors=["用友"])
    client = signed_in(company.owner)
    url = reverse("pipeline:deals")
    small, rows_small = _count(client, url, {"per_page": "10"})
    large, rows_large = _count(client, url, {"per_page": "30"})
    assert (len(rows_small), len(rows_large)) == (10, 30)
    assert small == large
    assert large <= 16


def test_list_filters_and_visibility(setup) -> None:
    company, pipeline, customer, _c, _r = setup
    other_customer = make_customer(company.other_rep, "西南机电")
    a = make_deal(company.owner, customer, "Alpha", amount="500", expected_close_date="2026-03-15", source="referral")
    b = make_deal(company.owner, customer, "Beta", amount="5000", expected_close_date="2026-04-02")
    deals.deal_move_to_stage(actor=company.owner, deal=b, stage=stage(pipeline, 2), version=1)
    hidden = make_deal(company.other_rep, other_customer, "Gamma", amount="700")
    client = signed_in(company.owner)
    url = reverse("pipeline:deals")

    def names(**query: str) -> list[str]:
        return [d.name for d in client.get(url, query).context["deals"]]

    assert sorted(names()) == ["Alpha", "Beta"]
    assert names(q="alp") == ["Alpha"]
    assert sorted(names(q="华东")) == ["Alpha", "Beta"]
    assert names(stage=str(stage(pipeline, 2).pk)) == ["Beta"]
    assert names(close_month="2026-03") == ["Alpha"]
    assert names(close_from="2026-04-01", close_to="2026-04-30") == ["Beta"]
    assert names(amount_min="1000") == ["Beta"]
    assert names(amount_max="1000") == ["Alpha"]
    assert names(source="referral") == ["Alpha"]
    assert names(sort="-amount") == ["Beta", "Alpha"]
    assert names(status="won") == []
    assert names(owner=str(company.other_rep.pk)) == []
    assert names(customer=str(customer.pk), sort="name") == ["Alpha", "Beta"]
    admin = signed_in(company.admin)
    assert {d.name for d in admin.get(url).context["deals"]} == {"Alpha", "Beta", "Gamma"}
    assert client.get(reverse("pipeline:deal_detail", args=[hidden.pk])).status_code == 404
    assert client.get(reverse("pipeline:deal_detail", args=[a.pk])).status_code == 200


def test_create_page_and_invisible_customer(setup) -> None:
    company, pipeline, customer, contact, _r = setup
    client = signed_in(company.owner)
    url = reverse("pipeline:deal_create")
    assert client.get(url, {"customer": customer.pk}).status_code == 200
    response = client.post(
        url + f"?customer={customer.pk}",
        {
            "name": "新商机",
            "customer": customer.pk,
            "contact": contact.pk,
            "stage": stage(pipeline, 2).pk,
            "amount": "88000",
            "currency": "CNY",
            "competitors": "用友，金蝶",
        },
    )
    assert response.status_code == 302, response.context["form"].errors if response.context else ""
    deal = Deal.objects.get(name="新商机")
    assert (deal.stage, deal.contact, deal.amount) == (stage(pipeline, 2), contact, Decimal("88000.00"))
    assert sorted(c.name for c in deal.competitors.all()) == ["用友", "金蝶"]
    count = Deal.objects.count()
    intruder = signed_in(company.other_rep)
    assert intruder.get(url, {"customer": customer.pk}).status_code == 404
    response = intruder.post(url, {"name": "x", "customer": customer.pk, "currency": "CNY"})
    assert response.status_code == 404
    assert Deal.objects.count() == count


def test_edit_conflict_is_told_and_nothing_is_overwritten(setup) -> None:
    company, _p, customer, _c, _r = setup
    deal = make_deal(company.owner, customer, amount="100")
    first, second = signed_in(company.owner), signed_in(company.manager_a)
    url = reverse("pipeline:deal_edit", args=[deal.pk])
    form = first.get(url).context["form"]
    data = {k: v for k, v in form.initial.items() if v is not None and k != "collaborators"}
    assert second.get(url).status_code == 200
    response = first.post(url, data | {"amount": "200"})
    assert response.status_code == 302
    response = second.post(url, data | {"amount": "300"})
    assert response.status_code == 200
    assert "Someone else changed this deal" in response.content.decode()
    deal.refresh_from_db()
    assert deal.amount == Decimal("200.00")


def test_move_without_gate_values_shows_the_missing_fields_then_moves(setup) -> None:
    company, pipeline, customer, contact, _r = setup
    target = stage(pipeline, 3)
    services.stage_update(actor=company.admin, stage=target, gate_fields=["amount", "contact"])
    deal = make_deal(company.owner, customer)
    client = signed_in(company.owner)
    url = reverse("pipeline:deal_move", args=[deal.pk])
    response = client.post(url, {"stage": target.pk, "version": 1})
    assert response.status_code == 400
    assert set(response.context["form"].value_fields()[i].name for i in range(2)) == {"amount", "contact"}
    assert Deal.objects.get(pk=deal.pk).stage == stage(pipeline, 1)
    # the board's script asks for JSON: a 400 with the missing codes and the small form
    response = client.post(url, {"stage": target.pk, "version": 1}, headers={"Accept": "application/json"})
    assert response.status_code == 400
    body = response.json()
    assert (body["code"], body["details"]["missing"]) == ("gate", ["amount", "contact"])
    assert 'name="amount"' in body["form"] and 'name="contact"' in body["form"]
    assert 'name="expected_close_date"' not in body["form"]
    response = client.post(
        url,
        {"stage": target.pk, "version": 1, "amount": "9000", "contact": contact.pk},
        headers={"Accept": "application/json"},
    )
    assert response.status_code == 200
    assert response.json()["version"] == 2
    # a stale version: a conflict, said in words
    response = client.post(url, {"stage": stage(pipeline, 2).pk, "version": 1}, headers={"Accept": "application/json"})
    assert response.status_code == 409
    assert response.json()["code"] == "stale"
    assert Deal.objects.get(pk=deal.pk).stage == target


def test_close_forms(setup) -> None:
    company, _p, customer, _c, reason = setup
    deal = make_deal(company.owner, customer)
    client = signed_in(company.owner)
    url = reverse("pipeline:deal_close", args=[deal.pk])
    response = client.post(url, {"outcome": "lost", "version": 1}, follow=True)
    assert Deal.objects.get(pk=deal.pk).status == "open"
    assert "Choose why the deal was lost" in response.content.decode()
    client.post(url, {"outcome": "lost", "version": 1, "lost_reason": reason.pk, "note": "贵"})
    deal.refresh_from_db()
    assert (deal.status, deal.lost_reason) == ("lost", reason)
    client.post(url, {"outcome": "reopen", "version": deal.version})
    deal.refresh_from_db()
    client.post(url, {"outcome": "won", "version": deal.version})
    deal.refresh_from_db()
    assert deal.status == "won"
    page = client.get(reverse("pipeline:deal_detail", args=[deal.pk]))
    assert [s.change.to_stage.kind for s in page.context["history"]] == ["open", "lost", "open", "won"]


def test_lines_form(setup) -> None:
    company, _p, customer, _c, _r = setup
    deal = make_deal(company.owner, customer)
    client = signed_in(company.owner)
    client.post(
        reverse("pipeline:deal_lines", args=[deal.pk]),
        {
            "version": 1,
            "line-0-name": "许可",
            "line-0-quantity": "10",
            "line-0-unit_price": "999.99",
            "line-0-discount_percent": "15",
            "line-1-name": "",
            "line-1-quantity": "1",
            "line-1-unit_price": "",
        },
    )
    deal.refresh_from_db()
    assert deal.amount == Decimal("8499.92")  # 9999.90 × 0.85 = 8499.915 → half up
    assert deal.lines.count() == 1


def test_export_csv_and_xlsx(setup) -> None:
    company, _p, customer, _c, _r = setup
    make_deal(company.owner, customer, "=HYPERLINK(evil)", amount="10")
    make_deal(company.owner, customer, "普通商机", amount="20")
    other = make_customer(company.other_rep, "别人的客户")
    make_deal(company.other_rep, other, "Hidden deal")
    client = signed_in(company.owner)
    response = client.get(reverse("pipeline:deals_export"), {"format": "csv"})
    assert response.status_code == 200
    raw = b"".join(response.streaming_content)
    assert raw.startswith("\ufeff".encode())
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))
    names = {r[1] for r in rows[1:]}
    assert names == {"'=HYPERLINK(evil)", "普通商机"}
    filtered = client.get(reverse("pipeline:deals_export"), {"format": "csv", "q": "普通"})
    rows = list(csv.reader(io.StringIO(b"".join(filtered.streaming_content).decode("utf-8-sig"))))
    assert [r[1] for r in rows[1:]] == ["普通商机"]
    response = client.get(reverse("pipeline:deals_export"), {"format": "xlsx"})
    from openpyxl import load_workbook

    book = load_workbook(io.BytesIO(b"".join(response.streaming_content)), read_only=True)
    values = [row[1] for row in book.active.iter_rows(min_row=2, values_only=True)]
    assert sorted(values) == sorted(["'=HYPERLINK(evil)", "普通商机"])


def test_board_totals_equal_a_hand_computation(setup) -> None:
    company, pipeline, customer, _c, _r = setup
    amounts = ["1000.01", "2000.02", "333.33", None, "0.01"]
    made = [make_deal(company.owner, customer, f"D{i}", amount=a) for i, a in enumerate(amounts)]
    deals.deal_move_to_stage(actor=company.owner, deal=made[2], stage=stage(pipeline, 3), version=1)
    deals.deal_move_to_stage(
        actor=company.owner, deal=made[4], stage=stage(pipeline, 2), version=1, values={"probability": 33}
    )
    other = make_customer(company.other_rep, "别人")
    make_deal(company.other_rep, other, "hidden", amount="99999")
    client = signed_in(company.owner)
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(reverse("pipeline:board"), {"pipeline": pipeline.pk})
    assert response.status_code == 200
    board = response.context["board"]
    by_order = {c.stage.order: c for c in board.columns}
    assert (by_order[1].count, by_order[1].amount) == (3, Decimal("3000.03"))  # one without an amount
    assert by_order[1].weighted == Decimal("300.00")  # 3000.03 × 10% = 300.003
    assert (by_order[2].count, by_order[2].amount, by_order[2].weighted) == (1, Decimal("0.01"), Decimal("0.00"))
    assert (by_order[3].count, by_order[3].amount, by_order[3].weighted) == (1, Decimal("333.33"), Decimal("200.00"))
    assert board.count == 5  # the hidden one is not counted
    assert len(ctx.captured_queries) <= 15
    manager = signed_in(company.manager_b)
    assert manager.get(reverse("pipeline:board"), {"pipeline": pipeline.pk}).context["board"].count == 1


def test_board_query_count_does_not_grow_with_deals(setup) -> None:
    company, pipeline, customer, _c, _r = setup
    client = signed_in(company.owner)
    url = reverse("pipeline:board")
    make_deal(company.owner, customer, "one", amount="1")
    few = len(_queries(client, url, {"pipeline": pipeline.pk}))
    for i in range(25):
        make_deal(company.owner, customer, f"d{i}", amount="1")
    assert len(_queries(client, url, {"pipeline": pipeline.pk})) == few


def _queries(client, url: str, data: dict) -> list:
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(url, data).status_code == 200
    return ctx.captured_queries


def test_board_column_loads_lazily_in_keyset_pages(setup) -> None:
    company, pipeline, customer, _c, _r = setup
    first = stage(pipeline, 1)
    made = [make_deal(company.owner, customer, f"D{i:02d}", amount="1") for i in range(45)]
    same = timezone.now() - dt.timedelta(days=1)
    Deal.objects.filter(pk__in=[d.pk for d in made[:10]]).update(updated_at=same)  # ties break by id
    client = signed_in(company.owner)
    url = reverse("pipeline:board_column", args=[pipeline.pk, first.pk])
    seen: list[int] = []
    cursor = ""
    pages = 0
    counts = []
    while True:
        with CaptureQueriesContext(connection) as ctx:
            response = client.get(url, {"cursor": cursor} if cursor else {})
        counts.append(len(ctx.captured_queries))
        page = response.context["page"]
        seen += [d.pk for d in page.cards]
        pages += 1
        cursor = page.next_cursor
        if not cursor:
            break
    assert pages == 3
    assert len(seen) == len(set(seen)) == 45
    expected = list(Deal.objects.order_by("-updated_at", "-id").values_list("pk", flat=True))
    assert seen == expected
    assert len(set(counts)) == 1
    # the board page itself renders no card: the columns load them
    board = client.get(reverse("pipeline:board"), {"pipeline": pipeline.pk}).content.decode()
    assert 'data-testid="deal-card"' not in board
    assert board.count('hx-trigger="load"') == 6
    other_stage = stage(make_pipeline(company.admin, "其他"), 1)
    assert client.get(reverse("pipeline:board_column", args=[pipeline.pk, other_stage.pk])).status_code == 404


def test_board_marks_stale_cards(setup) -> None:
    company, pipeline, customer, _c, _r = setup
    first = services.stage_update(actor=company.admin, stage=stage(pipeline, 1), stale_after_days=7)
    old = make_deal(company.owner, customer, "old")
    make_deal(company.owner, customer, "fresh")
    Deal.objects.filter(pk=old.pk).update(stage_entered_at=timezone.now() - dt.timedelta(days=8))
    page = deal_selectors.board_column(actor=company.owner, pipeline=pipeline, stage=first)
    assert {d.name: d.is_stale for d in page.cards} == {"old": True, "fresh": False}


def test_customer_timeline_lists_deal_events(setup) -> None:
    company, _p, customer, _c, reason = setup
    deal = make_deal(company.owner, customer, "时间线商机")
    deals.deal_close_lost(actor=company.owner, deal=deal, version=1, lost_reason=reason)
    with CaptureQueriesContext(connection) as ctx:
        items = [i for i in customer_timeline(actor=company.owner, customer=customer, limit=5) if i.kind == "deal"]
    assert [i.title for i in items] == ["Deal lost: 时间线商机", "Deal created: 时间线商机"]
    # At most one query per registered source (deals, follow-ups, quotes, payments, refunds…) plus
    # the customer's and the actor's reads: a fixed number, whatever the customer's history.
    assert len(ctx.captured_queries) <= len(timeline._SOURCES) + 2
    assert [i for i in customer_timeline(actor=company.teammate, customer=customer) if i.kind == "deal"] == []
    assert DealStageChange.objects.filter(deal=deal).count() == 2
    assert AuditEntry.objects.for_object(deal).exists()


def test_lines_form_with_a_product_at_its_list_price(setup) -> None:
    company, _p, customer, _c, _r = setup
    product = services.product_create(
        actor=company.admin, sku="LIC-9", name="CRM 许可", category="software", list_price="1999.00"
    )
    deal = make_deal(company.owner, customer)
    client = signed_in(company.owner)
    assert product.name in client.get(reverse("pipeline:deal_detail", args=[deal.pk])).content.decode()
    client.post(
        reverse("pipeline:deal_lines", args=[deal.pk]),
        {"version": 1, "line-0-product": product.pk, "line-0-name": "", "line-0-quantity": "3"}
        | {"line-0-unit_price": ""},
    )
    line = deal.lines.get()
    assert (line.product, line.name, line.unit_price, line.subtotal) == (
        product,
        "CRM 许可",
        Decimal("1999.00"),
        Decimal("5997.00"),
    )


def test_board_closed_columns_show_the_last_30_days(setup) -> None:
    company, pipeline, customer, _c, reason = setup
    recent = make_deal(company.owner, customer, "最近输单", amount="100")
    old = make_deal(company.owner, customer, "早已输单", amount="200")
    for deal in (recent, old):
        deals.deal_close_lost(actor=company.owner, deal=deal, version=1, lost_reason=reason)
    Deal.objects.filter(pk=old.pk).update(closed_on=timezone.localdate() - dt.timedelta(days=31))
    client = signed_in(company.owner)
    board = client.get(reverse("pipeline:board"), {"pipeline": pipeline.pk}).context["board"]
    lost = next(c for c in board.columns if c.stage.kind == "lost")
    assert (lost.count, lost.amount) == (1, Decimal("100.00"))
    column = client.get(reverse("pipeline:board_column", args=[pipeline.pk, lost.stage.pk]))
    assert "最近输单" in column.content.decode()
    assert "早已输单" not in column.content.decode()
