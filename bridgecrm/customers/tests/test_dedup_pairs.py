"""Precision and recall of the duplicate check's default settings on a labelled set of pairs.

``data/duplicate_pairs.json``: Chinese and English company names (legal suffixes, width, case,
spaces, a place on one side, one-letter typos), phones in other formats, e-mails in other cases,
and true non-duplicates that look alike. For each pair, ``a`` is saved (with a contact carrying its
phones and e-mails) and ``b`` is checked with ``find_duplicates``; the pair counts as found when
``a`` is among the matches.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from django.db import transaction

from bridgecrm.customers import dedup
from bridgecrm.customers.tests.factories import make_contact, make_customer

pytestmark = pytest.mark.django_db

PAIRS = json.loads((Path(__file__).parent / "data" / "duplicate_pairs.json").read_text(encoding="utf-8"))["pairs"]


class _Rollback(Exception):
    pass


def _found(company, pair) -> bool:
    a, b = pair["a"], pair["b"]
    try:
        with transaction.atomic():
            saved = make_customer(company.other_rep, name=a["name"])
            if a["phones"] or a["emails"]:
                make_contact(saved, name="联系人", phones=a["phones"], email=(a["emails"] or [""])[0])
            matches = dedup.find_duplicates(actor=company.admin, name=b["name"], phones=b["phones"], emails=b["emails"])
            result = any(m.customer_id == saved.pk for m in matches)
            raise _Rollback(result)
    except _Rollback as done:
        return bool(done.args[0])


def test_the_labelled_set_is_large_and_mixed() -> None:
    assert len(PAIRS) >= 200
    assert sum(p["duplicate"] for p in PAIRS) >= 100
    assert sum(not p["duplicate"] for p in PAIRS) >= 80
    assert any(p["a"]["phones"] for p in PAIRS) and any(p["a"]["emails"] for p in PAIRS)


def test_precision_and_recall_of_the_default_settings(company) -> None:
    tp = fp = fn = tn = 0
    misses: list[str] = []
    for pair in PAIRS:
        found = _found(company, pair)
        if pair["duplicate"]:
            tp, fn = (tp + 1, fn) if found else (tp, fn + 1)
        else:
            fp, tn = (fp + 1, tn) if found else (fp, tn + 1)
        if found != pair["duplicate"]:
            misses.append(f"{'FP' if found else 'FN'} {pair['a']['name']} ~ {pair['b']['name']} ({pair['why']})")
    precision = tp / (tp + fp)
    recall = tp / (tp + fn)
    print(
        f"\nduplicate check on {len(PAIRS)} labelled pairs: precision {precision:.3f}, recall {recall:.3f} "
        f"(tp {tp}, fp {fp}, fn {fn}, tn {tn})\n" + "\n".join(misses)
    )
    assert precision >= 0.95
    assert recall >= 0.9
