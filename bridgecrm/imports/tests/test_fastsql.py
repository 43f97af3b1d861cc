"""The multi-row INSERT helper: ids in order, and few distinct statements whatever the batch."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bridgecrm.customers.models import Tag
from bridgecrm.imports import fastsql


@given(total=st.integers(0, 20_000), per=st.integers(1, 3_000))
def test_chunks_cover_every_row_once_in_order_and_never_exceed_the_limit(total, per):
    bounds = fastsql.chunk_bounds(total, per)
    assert sum(end - start for start, end in bounds) == total
    assert all(0 < end - start <= per for start, end in bounds)
    assert all(a[1] == b[0] for a, b in itertools.pairwise(bounds))
    assert not bounds or bounds[0][0] == 0


def test_chunk_sizes_come_from_a_small_set_whatever_the_remainder():
    """The driver caches each distinct statement compiled; sizes other than ``per`` and powers of two
    would leave a new multi-megabyte statement in that cache with every batch."""
    per = 1_666
    sizes = {end - start for total in range(1, 4_000) for start, end in fastsql.chunk_bounds(total, per)}
    assert sizes <= {per} | {1 << n for n in range(11)}


@pytest.mark.django_db
def test_insert_rows_returns_the_new_ids_in_the_order_of_the_rows():
    ids = fastsql.insert_rows(Tag, ("name",), [(f"tag {n}",) for n in range(37)])
    assert [Tag.objects.get(pk=pk).name for pk in ids] == [f"tag {n}" for n in range(37)]


@pytest.mark.django_db
def test_insert_rows_outside_a_transaction_returns_the_ids_too(monkeypatch):
    """Autocommit: another connection could insert between the statements, so the ids are read
    back (RETURNING) rather than counted from the last one (the test's own transaction is hidden
    from the helper to take that path)."""
    monkeypatch.setattr(fastsql, "_ids_are_consecutive", lambda: False)
    ids = fastsql.insert_rows(Tag, ("name",), [(f"auto {n}",) for n in range(5)])
    assert [Tag.objects.get(pk=pk).name for pk in ids] == [f"auto {n}" for n in range(5)]


@pytest.mark.django_db
def test_insert_rows_without_ids_inserts_every_row():
    fastsql.insert_rows(Tag, ("name",), [(f"plain {n}",) for n in range(7)], ids=False)
    assert sorted(Tag.objects.filter(name__startswith="plain").values_list("name", flat=True)) == [
        f"plain {n}" for n in range(7)
    ]
