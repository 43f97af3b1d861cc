"""Suite "crm" (issue 3 at the crm-large scale: 100,000 customers, 300,000 contacts, 1,000,000
follow-ups, 200,000 deals of which 10,000 open in one pipeline).

Budgets (p95 server time): lists, search, the customer page, the deal list and "my day" ≤ 50 ms; the
kanban board ≤ 100 ms; an export of 50,000 rows ≤ 10 s with bounded memory (the run measures the
peak of Python's allocations during one extra request with ``tracemalloc``).

Pages built in other branches (deals, board, my day) are addressed by their fixed URL names; when a
name does not resolve in this checkout, the case is reported as skipped with the reason, and runs
once the branches are merged.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from typing import Any
from urllib.parse import urlencode

from bench.cases import Case, Context

LIST_BUDGET_MS = 50.0
BOARD_BUDGET_MS = 100.0
EXPORT_BUDGET_MS = 10_000.0
EXPORT_ROWS = 50_000
PAGE = 50  # customers.views.PAGE_SIZE

CUSTOMER_SELECT = (
    "SELECT c.id, c.kind, c.name, c.lifecycle_stage, c.source, c.industry, c.country, c.province, c.city,"
    " c.size, c.estimated_annual_potential, c.currency, c.owner_id, c.team_id, c.created_at, c.updated_at,"
    " c.deleted_at, c.version, c.last_follow_up_at, c.next_follow_up_on, u.id, u.full_name, u.username, t.id, t.name"
    " FROM customers_customer c LEFT OUTER JOIN users_user u ON u.id = c.owner_id"
    " LEFT OUTER JOIN users_team t ON t.id = c.team_id"
)
CUSTOMER_ORDER = " ORDER BY c.updated_at DESC, c.id DESC LIMIT %s"
DEAL_SELECT = (
    "SELECT d.id, d.name, d.status, d.amount, d.currency, d.expected_close_date, d.probability, d.updated_at,"
    " c.id, c.name, s.id, s.name, u.id, u.full_name"
    " FROM pipeline_deal d JOIN customers_customer c ON c.id = d.customer_id"
    " JOIN pipeline_stage s ON s.id = d.stage_id JOIN users_user u ON u.id = d.owner_id"
)


def _route(name: str, **kwargs: Any) -> str | None:
    from django.urls import NoReverseMatch, reverse

    try:
        return reverse(name, kwargs=kwargs or None)
    except NoReverseMatch:
        return None


def _missing(name: str, url_name: str, budget: float, **kw: Any) -> Case:
    return Case(
        name,
        "",
        budget_ms=budget,
        skip=f"route {url_name} does not exist in this checkout (built in another branch); runs after the merge",
        **kw,
    )


def _customer_list_sql(where: list[str], params: list[Any], size: int) -> tuple[str, list[Any]]:
    conditions = ["c.deleted_at IS NULL", *where]
    return CUSTOMER_SELECT + " WHERE " + " AND ".join(conditions) + CUSTOMER_ORDER, [*params, size + 1]


def _search_ids_sql(vendor: str, text: str, phone: str | None, email: str | None) -> tuple[str, list[Any]]:
    """The ids of customers matching ``text``, written by hand for the database at hand."""
    if vendor == "sqlite" and len(text) >= 3:
        phrase = '"' + text.replace('"', '""') + '"'
        parts = [
            "SELECT rowid FROM customers_customer_fts WHERE customers_customer_fts MATCH %s",
            "SELECT customer_id FROM customers_contact WHERE id IN"
            " (SELECT rowid FROM customers_contact_fts WHERE customers_contact_fts MATCH %s)",
        ]
        params: list[Any] = [phrase, phrase]
    elif vendor == "sqlite":
        parts = [
            "SELECT id FROM customers_customer WHERE name LIKE %s",
            "SELECT customer_id FROM customers_contact WHERE name LIKE %s",
        ]
        params = [f"%{text}%"] * 2
    else:
        parts = [
            "SELECT id FROM customers_customer WHERE UPPER(name) LIKE UPPER(%s)",
            "SELECT customer_id FROM customers_contact WHERE UPPER(name) LIKE UPPER(%s)",
        ]
        params = [f"%{text}%"] * 2
    if phone:
        parts.append(
            "SELECT ct.customer_id FROM customers_contactphone p JOIN customers_contact ct ON ct.id = p.contact_id"
            " WHERE p.e164 = %s"
        )
        params.append(phone)
    if email:
        parts.append("SELECT customer_id FROM customers_contact WHERE email = %s")
        params.append(email)
    return " UNION ".join(parts), params


def crm_cases(ctx: Context) -> list[Case]:
    from django.db.models import Count
    from django.urls import reverse

    from bridgecrm.customers.models import Contact, ContactPhone, Customer
    from bridgecrm.pipeline.models import Deal, Pipeline
    from bridgecrm.users.models import User

    total = Customer.objects.count()
    if total == 0:
        return []
    vendor = ctx.vendor
    # The rep with the most customers: the "by owner" filter, and the user of "my day".
    owner_id, owned = Customer.objects.values_list("owner_id").annotate(n=Count("id")).order_by(
        "-n", "owner_id"
    ).first() or (0, 0)
    rep = User.objects.get(pk=owner_id)
    # A customer with a long history, one of its contact's phones, a contact's e-mail.
    busiest = Customer.objects.filter(last_follow_up_at__isnull=False).order_by("-last_follow_up_at", "-id").first()
    assert busiest is not None
    phone = ContactPhone.objects.order_by("id")[total // 3 : total // 3 + 1].get()
    email_contact = Contact.objects.exclude(email="").order_by("id")[total // 2 : total // 2 + 1].get()
    name_sample = Customer.objects.order_by("id")[total // 4 : total // 4 + 1].get()
    # "上海华瑞电子123有限公司" → a few characters of its middle (the brand and the business).
    name_query = name_sample.name[2:6] if len(name_sample.name) > 6 else name_sample.name
    short_query = "王伟"  # two characters: below a trigram, the fallback path
    # The export: the 50,000 customers of highest potential (a filter of the list).
    export_threshold: Any = (
        Customer.objects.filter(estimated_annual_potential__isnull=False)
        .order_by("-estimated_annual_potential", "-id")
        .values_list("estimated_annual_potential", flat=True)[EXPORT_ROWS - 1 : EXPORT_ROWS]
        .first()
    )
    rep_contacts = Contact.objects.filter(customer__owner_id=owner_id, customer__deleted_at__isnull=True).count()
    export_filter: dict[str, Any] = {"sort": "-potential"}
    export_where, export_args = "", []
    if export_threshold is not None:
        export_filter["potential_min"] = export_threshold
        export_where, export_args = " AND c.estimated_annual_potential >= %s", [export_threshold]
    ctx.facts.update(
        customers=total,
        contacts=Contact.objects.count(),
        deals=Deal.objects.count(),
        by_owner={"user": rep.username, "id": owner_id, "customers": owned},
        customer_page={"id": busiest.pk, "follow_ups": busiest.follow_ups.count()},
        searches={"name": name_query, "short": short_query, "phone": phone.raw, "email": email_contact.email},
        export_potential_min=str(export_threshold),
    )

    def customers(name: str, params: dict[str, Any], where: list[str], args: list[Any], **kw: Any) -> Case:
        size = int(params.get("per_page", PAGE))
        sql, sql_params = _customer_list_sql(where, args, size)
        url = "/customers/" + ("?" + urlencode(params) if params else "")
        return Case(name, url, sql, sql_params, **{"budget_ms": LIST_BUDGET_MS, **kw})

    def search(name: str, q: str, phone_e164: str | None = None, email: str | None = None, **kw: Any) -> Case:
        ids_sql, ids_params = _search_ids_sql(vendor, " ".join(q.split()), phone_e164, email)
        return customers(name, {"q": q}, [f"c.id IN ({ids_sql})"], ids_params, **kw)

    cases = [
        customers("customers: list", {}, [], []),
        customers("customers: by owner", {"owner": owner_id}, ["c.owner_id = %s"], [owner_id]),
        Case(
            "customers: page 500 (offset 24,950)",
            "/customers/?page=500",
            CUSTOMER_SELECT + " WHERE c.deleted_at IS NULL" + CUSTOMER_ORDER + " OFFSET %s",
            [PAGE + 1, 499 * PAGE],
            note="pages are numbered (OFFSET): a deep page walks the index up to it",
        ),
        customers("customers: size 10", {"per_page": 10}, [], [], same_queries="customer list", budget_ms=None),
        customers("customers: size 100", {"per_page": 100}, [], [], same_queries="customer list", budget_ms=None),
        customers(
            "customers: as the rep, size 10",
            {"per_page": 10},
            ["c.owner_id = %s"],
            [owner_id],
            user=rep.username,
            budget_ms=None,
            same_queries="customer list (rep)",
        ),
        customers(
            "customers: as the rep, size 100",
            {"per_page": 100},
            ["c.owner_id = %s"],
            [owner_id],
            user=rep.username,
            budget_ms=None,
            same_queries="customer list (rep)",
        ),
        search("customers: search by name", name_query),
        search("customers: search by name (2 characters)", short_query, budget_ms=None),
        search("customers: search by phone", phone.raw, phone_e164=phone.e164),
        search("customers: search by e-mail", email_contact.email, email=email_contact.email),
        Case(
            "customer page (with its timeline)",
            f"/customers/{busiest.pk}/",
            "SELECT f.id, f.kind, f.occurred_at, f.summary, f.outcome, f.owner_id FROM activities_followup f"
            " WHERE f.customer_id = %s AND f.deleted_at IS NULL ORDER BY f.occurred_at DESC, f.id DESC LIMIT %s",
            [busiest.pk, 21],
            budget_ms=LIST_BUDGET_MS,
            note="raw SQL: the customer's 20 newest follow-ups (the timeline's biggest source)",
        ),
        Case(
            "contacts: list",
            "/customers/contacts/",
            "SELECT ct.id, ct.name, ct.email, c.id, c.name FROM customers_contact ct"
            " JOIN customers_customer c ON c.id = ct.customer_id WHERE c.deleted_at IS NULL"
            " ORDER BY ct.id DESC LIMIT %s",
            [PAGE + 1],
            budget_ms=LIST_BUDGET_MS,
        ),
        Case(
            f"customers: export {EXPORT_ROWS:,} rows (CSV)",
            "/customers/export/?" + urlencode({"format": "csv", **export_filter}),
            "SELECT c.id, c.name, c.kind, c.lifecycle_stage, c.estimated_annual_potential, u.full_name, t.name"
            " FROM customers_customer c LEFT JOIN users_user u ON u.id = c.owner_id"
            " LEFT JOIN users_team t ON t.id = c.team_id"
            f" WHERE c.deleted_at IS NULL{export_where}"
            " ORDER BY c.estimated_annual_potential DESC, c.id DESC",
            export_args,
            budget_ms=EXPORT_BUDGET_MS,
            repeat=3,
            measure_memory=True,
        ),
        Case(
            f"customers: export {EXPORT_ROWS:,} rows (XLSX)",
            "/customers/export/?" + urlencode({"format": "xlsx", **export_filter}),
            budget_ms=EXPORT_BUDGET_MS,
            repeat=2,
            measure_memory=True,
        ),
        Case(
            f"contacts: export, one rep's customers ({rep_contacts:,} rows, CSV)",
            "/customers/contacts/export/?" + urlencode({"format": "csv", "owner": owner_id}),
            budget_ms=EXPORT_BUDGET_MS,
            repeat=3,
            measure_memory=True,
            note=f"the contacts of the busiest rep's customers ({owned:,} customers)",
        ),
    ]

    # -- pages of the other branches: deals, the board, my day ------------------------------------
    pipeline = Pipeline.objects.filter(is_default=True).first()
    deals_url = _route("pipeline:deals")
    deal_sql = DEAL_SELECT + " WHERE d.deleted_at IS NULL{where} ORDER BY d.updated_at DESC, d.id DESC LIMIT %s"
    if deals_url is None:
        cases += [
            _missing("deals: list", "pipeline:deals", LIST_BUDGET_MS),
            _missing("deals: by owner", "pipeline:deals", LIST_BUDGET_MS),
        ]
    else:
        cases += [
            Case("deals: list", deals_url, deal_sql.format(where=""), [PAGE + 1], budget_ms=LIST_BUDGET_MS),
            Case(
                "deals: by owner",
                deals_url + "?" + urlencode({"owner": owner_id}),
                deal_sql.format(where=" AND d.owner_id = %s"),
                [owner_id, PAGE + 1],
                budget_ms=LIST_BUDGET_MS,
            ),
            Case(
                "deals: size 10",
                deals_url + "?per_page=10",
                deal_sql.format(where=""),
                [11],
                same_queries="deal list",
            ),
            Case(
                "deals: size 100",
                deals_url + "?per_page=100",
                deal_sql.format(where=""),
                [101],
                same_queries="deal list",
            ),
        ]
    board_url = None
    if pipeline is not None:
        board_url = _route("pipeline:board", pipeline_id=pipeline.pk)
        if board_url is None and (plain := _route("pipeline:board")) is not None:
            board_url = f"{plain}?{urlencode({'pipeline': pipeline.pk})}"
    if board_url is None or pipeline is None:
        cases.append(_missing("kanban board (10,000 open deals)", "pipeline:board", BOARD_BUDGET_MS))
    else:
        cases.append(
            Case(
                "kanban board (10,000 open deals)",
                board_url,
                "SELECT d.stage_id, COUNT(*), SUM(d.amount_base) FROM pipeline_deal d"
                " WHERE d.pipeline_id = %s AND d.status = 'open' AND d.deleted_at IS NULL GROUP BY d.stage_id",
                [pipeline.pk],
                budget_ms=BOARD_BUDGET_MS,
                note="raw SQL: the columns' counts and sums (the cards are a few per column)",
            )
        )
    # -- cost and margin: the deal page with the most lines, the product list (with cost) ------------
    # Both are read by the first admin (``products.view_cost``), so the cost columns are rendered.
    widest = (
        Deal.objects.filter(deleted_at__isnull=True, lines__isnull=False)
        .annotate(n=Count("lines"))
        .order_by("-n", "pk")
        .values_list("pk", "n")
        .first()
    )
    if widest is not None:
        cases.append(
            Case(
                f"deal page ({widest[1]} lines, cost and margin)",
                reverse("pipeline:deal_detail", args=[widest[0]]),
                "SELECT l.id, l.name, l.quantity, l.unit_price, l.discount_percent, l.subtotal, l.unit_cost"
                ' FROM pipeline_dealline l WHERE l.deal_id = %s ORDER BY l."order", l.id',
                [widest[0]],
                budget_ms=LIST_BUDGET_MS,
                note="raw SQL: the deal's lines with their costs (the page computes margins from them)",
            )
        )
    cases.append(
        Case(
            "products: list (with cost and margin %)",
            reverse("pipeline:products"),
            "SELECT p.id, p.sku, p.name, p.category, p.unit, p.list_price, p.currency, p.unit_cost"
            " FROM pipeline_product p WHERE p.is_active ORDER BY p.name, p.id LIMIT %s",
            [PAGE + 1],
            budget_ms=LIST_BUDGET_MS,
        )
    )
    my_day = _route("activities:my_day")
    tz = zoneinfo.ZoneInfo(rep.time_zone or "Asia/Shanghai")
    today = dt.datetime.now(tz).date()
    if my_day is None:
        cases.append(_missing("my day (the busiest rep)", "activities:my_day", LIST_BUDGET_MS, user=rep.username))
    else:
        cases.append(
            Case(
                "my day (the busiest rep)",
                my_day,
                "SELECT c.id, c.name, c.next_follow_up_on, c.last_follow_up_at FROM customers_customer c"
                " WHERE c.owner_id = %s AND c.deleted_at IS NULL AND c.next_follow_up_on <= %s"
                " ORDER BY c.next_follow_up_on, c.id LIMIT %s",
                [owner_id, today, PAGE + 1],
                user=rep.username,
                budget_ms=LIST_BUDGET_MS,
                note="raw SQL: the follow-ups due today or overdue",
            )
        )
    return cases
