"""Shared test set-up: compiled catalogues, factories' fixtures and a small company."""

from __future__ import annotations

import os

os.environ.setdefault("BRIDGE_TESTING", "1")


def pytest_configure(config):  # noqa: ARG001
    from bridgecrm.core.i18n import compile_catalogues

    compile_catalogues()
