"""Run ``bridgecrm import`` in a child process against the test database (SQLite file or PostgreSQL)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from django.db import connection

ROOT = Path(__file__).resolve().parents[3]


def database_url() -> str:
    s = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{Path(s['NAME']).resolve()}"
    host, port = s.get("HOST") or "127.0.0.1", s.get("PORT") or 5432
    return f"postgres://{s['USER']}@{host}:{port}/{s['NAME']}"


def cli_env(var_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTEST_XDIST_WORKER", "PYTEST_VERSION")}
    env.update(DATABASE_URL=database_url(), BRIDGE_VAR_DIR=str(var_dir), BRIDGE_TESTING="1")
    return env


def cli(args: list[str], var_dir: Path) -> list[str]:
    return [sys.executable, "-m", "bridgecrm", "import", *args]


def run_cli(args: list[str], var_dir: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        cli(args, var_dir), env=cli_env(var_dir), capture_output=True, text=True, cwd=ROOT, check=False, timeout=600
    )


def start_cli(args: list[str], var_dir: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        cli(args, var_dir), env=cli_env(var_dir), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT
    )


def restore_default_roles() -> None:
    """The roles and grants data migrations made: an earlier transactional test may have flushed them."""
    import importlib

    from django.apps import apps

    importlib.import_module("bridgecrm.users.migrations.0002_default_roles").create(apps, None)
    for name in ("0003_grant_company_management", "0004_grant_pipeline_management", "0005_grant_customer_operations"):
        importlib.import_module(f"bridgecrm.users.migrations.{name}").grant(apps, None)
