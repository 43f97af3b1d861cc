"""Authorization-matrix rows for the customer and contact exports and the contact list.

An export holds exactly the rows the actor sees: the probes read the streamed file and look for the
owner's customer (or its contact), which only the owner, team A's manager and the admin see.
"""

from __future__ import annotations

import io
from typing import Any

from bridgecrm.web.tests.matrix_support import (
    LOGIN,
    NOT_FOUND,
    OK,
    SEES_CUSTOMER,
    Case,
    World,
    row,
    signed_in,
    url,
)


def _body(response: Any) -> bytes:
    return b"".join(response.streaming_content) if response.streaming else response.content


def _csv_has(text: str) -> Any:
    return lambda w, r: text in _body(r).decode("utf-8-sig")


def _xlsx_has(w: World, response: Any) -> bool:
    from openpyxl import load_workbook

    workbook = load_workbook(io.BytesIO(_body(response)), read_only=True)
    values = {cell for sheet in workbook.worksheets for r in sheet.iter_rows(values_only=True) for cell in r}
    return w.customer.name in values


def _lists_contact(w: World, response: Any) -> bool:
    assert response.context is not None
    return w.contact.pk in {c.pk for c in response.context["contacts"]}


def _customer_in_csv(w: World, response: Any) -> bool:
    return bool(_csv_has(w.customer.name)(w, response))


def _contact_in_csv(w: World, response: Any) -> bool:
    return bool(_csv_has(w.contact.name)(w, response))


# The owner's saved view ("stage=lead", shared with team A) is for team A's people only.
SEES_VIEW = frozenset({"owner", "teammate", "manager_a"})

ROWS: list[Case] = [
    Case(
        "customers:export",
        "GET",
        url("customers:export"),
        signed_in(OK),
        data=lambda w: {"format": "csv"},
        variant="csv",
        probe=_customer_in_csv,
        probe_seen_by=SEES_CUSTOMER,
    ),
    Case(
        "customers:export",
        "GET",
        url("customers:export"),
        signed_in(OK),
        data=lambda w: {"format": "xlsx", "q": "13800138000"},
        variant="xlsx q=contact phone",
        probe=_xlsx_has,
        probe_seen_by=SEES_CUSTOMER,
    ),
    Case(
        "customers:export",
        "GET",
        url("customers:export"),
        row(
            anonymous=LOGIN,
            owner=OK,
            teammate=OK,
            manager_a=OK,
            other_rep=NOT_FOUND,
            manager_b=NOT_FOUND,
            admin=NOT_FOUND,
        ),
        data=lambda w: {"format": "csv", "view": w.saved_view.pk},
        variant="saved view",
        probe=_customer_in_csv,
        probe_seen_by=frozenset({"owner", "manager_a"}),
    ),
    Case(
        "customers:contacts",
        "GET",
        url("customers:contacts"),
        signed_in(OK),
        probe=_lists_contact,
        probe_seen_by=SEES_CUSTOMER,
    ),
    Case(
        "customers:contacts",
        "GET",
        url("customers:contacts"),
        signed_in(OK),
        data=lambda w: {"q": "138 0013 8000"},
        variant="q=phone",
        probe=_lists_contact,
        probe_seen_by=SEES_CUSTOMER,
    ),
    Case(
        "customers:contacts_export",
        "GET",
        url("customers:contacts_export"),
        signed_in(OK),
        data=lambda w: {"format": "csv"},
        variant="csv",
        probe=_contact_in_csv,
        probe_seen_by=SEES_CUSTOMER,
    ),
    Case(
        "customers:contacts_export",
        "GET",
        url("customers:contacts_export"),
        signed_in(OK),
        data=lambda w: {"format": "xlsx"},
        variant="xlsx",
    ),
]
