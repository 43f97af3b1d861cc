"""The payroll export: an XLSX workbook (openpyxl, write-only) with one row per rep and a sheet of
every line. Rates and bands are left out unless the reader may see them."""

from __future__ import annotations

import io
from collections.abc import Sequence
from typing import Any

from django.utils.translation import gettext as _

from bridgecrm.core.exports import ILLEGAL_CHARACTERS_RE, neutralise
from bridgecrm.incentives.models import LineKind, Statement, StatementLine
from bridgecrm.incentives.selectors import unpaid_reason


def _cell(value: Any) -> Any:
    value = neutralise(value)
    if isinstance(value, str):
        return ILLEGAL_CHARACTERS_RE.sub("", value)
    return value


def payroll_workbook(statements: Sequence[Statement], lines: Sequence[StatementLine], *, show_rates: bool) -> bytes:
    from openpyxl import Workbook

    book = Workbook(write_only=True)
    reps = book.create_sheet(_("Payroll")[:31])
    kinds = [k for k, _label in LineKind.choices]
    reps.append(
        [
            _("Rep"),
            _("Username"),
            _("Period"),
            _("Status"),
            _("Currency"),
            _("Basis"),
            _("Target"),
            _("Attainment %"),
            *[str(label) for _k, label in LineKind.choices],
            _("Total"),
        ]
    )
    sums: dict[int, dict[str, Any]] = {}
    for line in lines:
        per = sums.setdefault(line.statement_id, dict.fromkeys(kinds, 0))
        per[line.kind] += line.amount
    for s in statements:
        per = sums.get(s.pk, dict.fromkeys(kinds, 0))
        reps.append(
            [
                _cell(str(s.user)),
                _cell(s.user.username),
                s.period.code,
                s.get_status_display(),
                s.currency,
                s.basis_total,
                s.target,
                s.attainment,
                *[per[k] for k in kinds],
                s.total,
            ]
        )
    detail = book.create_sheet(_("Lines")[:31])
    header = [_("Rep"), _("Period"), _("Line"), _("Kind"), _("Source"), _("Reference"), _("Date"), _("Amount counted")]
    if show_rates:
        header += [_("Rate %"), _("Band")]
    detail.append([*header, _("Amount")])
    for line in lines:
        s = line.statement
        row = [
            _cell(str(s.user)),
            s.period.code,
            line.position,
            line.get_kind_display(),
            _cell(
                line.source_label
                if line.kind != LineKind.NOT_PAID
                else f"{line.source_label} — {unpaid_reason(line.band)}"
            ),
            line.source_ref,
            line.source_date,
            line.base_amount,
        ]
        if show_rates:
            row += [line.rate, _cell(line.band if line.kind != LineKind.NOT_PAID else "")]
        detail.append([*row, line.amount])
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()
