"""Every field of every JSON request body takes only the JSON type its schema gives, and every
schema of the document describes one class.

pydantic's lax mode takes ``true`` for the integer 1 and ``1`` for ``true``; the OpenAPI document
says "integer" and "boolean", and Schemathesis (test_schemathesis.py) fails a run whenever its
generated wrong-typed data is accepted. It found ``"team_id": true`` once; this test asks every
integer, number and boolean field of every body the wrong-typed value at once, deterministically.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from importlib import import_module
from typing import Any

import pytest
from pydantic import BaseModel

from bridgecrm.api.tests.conftest import ApiClient, issue_token

WRONG = {"integer": True, "number": True, "boolean": 1}


def _resolve(document: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        target: Any = document
        for part in schema["$ref"].removeprefix("#/").split("/"):
            target = target[part]
        schema = target
    return schema


def _json_types(document: dict[str, Any], schema: dict[str, Any]) -> set[str]:
    """The JSON types a property's schema admits (through ``anyOf`` and ``$ref``)."""
    schema = _resolve(document, schema)
    if "anyOf" in schema:
        return set().union(*(_json_types(document, s) for s in schema["anyOf"]))
    kind = schema.get("type")
    if kind == "array":
        return {f"array of {t}" for t in _json_types(document, schema.get("items", {}))}
    return {kind} if isinstance(kind, str) else set()


def _wrong_value(types: set[str]) -> Any:
    """A value of a JSON type the property does not admit but lax pydantic would take, or None."""
    for kind, value in WRONG.items():
        if kind in types and not (types - {kind, "null"}):
            return value
        if f"array of {kind}" in types and not (types - {f"array of {kind}", "null"}):
            return [value]
    return None


def _bodies(document: dict[str, Any]) -> list[tuple[str, str, str, Any]]:
    found = []
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            content = operation.get("requestBody", {}).get("content", {}).get("application/json")
            if content is None:
                continue
            body = _resolve(document, content["schema"])
            for name, prop in body.get("properties", {}).items():
                value = _wrong_value(_json_types(document, prop))
                if value is not None:
                    found.append((method, re.sub(r"\{[^}]+\}", "1", path), name, value))
    return found


@pytest.fixture
def document(client) -> dict[str, Any]:
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    return dict(response.json())


def test_every_integer_number_and_boolean_body_field_refuses_the_wrong_json_type(company, document):
    api = ApiClient(issue_token(company.admin))
    cases = _bodies(document)
    assert len(cases) > 50  # the walk found the bodies (there are many more than this)
    accepted = []
    for method, path, name, value in cases:
        response = api.client.generic(
            method.upper(),
            "/api/v1" + path.removeprefix("/api/v1"),
            json.dumps({name: value}),
            content_type="application/json",
            headers=api._headers(None),
        )
        details = response.json().get("details", {}) if response.status_code == 422 else {}
        if not any(key == name or key.startswith(name + ".") for key in details):  # "ids.0" for a list
            accepted.append(f"{method.upper()} {path} {name}={json.dumps(value)} → {response.status_code}")
    assert not accepted, "\n".join(accepted)


def _models(cls: type[BaseModel]) -> Iterator[type[BaseModel]]:
    for sub in cls.__subclasses__():
        yield sub
        yield from _models(sub)


def test_no_two_schema_classes_share_a_name():
    """django-ninja names a document's schemas by class name alone, and a second class of the same
    name silently takes the first one's place: PUT /contracts/{id}/plan was documented with the
    sales plan's body (name, period, scope) instead of the payment plan's (lines, lock_version)."""
    import_module("bridgecrm.api.api")
    names: dict[str, set[str]] = {}
    for model in _models(BaseModel):
        if model.__module__.startswith("bridgecrm.") and ".tests" not in model.__module__ and "[" not in model.__name__:
            names.setdefault(model.__name__, set()).add(model.__module__)
    shared = {name: sorted(modules) for name, modules in names.items() if len(modules) > 1}
    assert not shared
