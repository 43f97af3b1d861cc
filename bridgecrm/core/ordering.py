"""Sorting a list by one column with the id breaking ties (a total order, so pages never overlap)."""

from __future__ import annotations

from django.db import models
from django.db.models import F
from django.db.models.expressions import OrderBy


def total_order(model: type[models.Model], field_name: str, *, descending: bool) -> list[OrderBy]:
    """``field_name`` then ``id``, in the same direction. Empty values sort last, but NULLS LAST is
    only written for a nullable column: on a NOT NULL one it would stop PostgreSQL from reading the
    ``(field, id)`` index in order (its DESC puts NULLs first), and a 200,000-row list sorted in full."""
    nullable = "__" in field_name or model._meta.get_field(field_name).null
    nulls = {"nulls_last": True} if nullable else {}
    if descending:
        return [F(field_name).desc(**nulls), F("id").desc()]
    return [F(field_name).asc(**nulls), F("id").asc()]
