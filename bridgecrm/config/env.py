"""The only module that reads the process environment.

Every setting that may differ between machines comes from here. The embedded mode (no
``DATABASE_URL``) keeps its SQLite database and a generated secret key under ``var/``.
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent.parent


def _bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _list(name: str, default: list[str]) -> list[str]:
    value = os.environ.get(name)
    if not value:
        return default
    return [item.strip() for item in value.split(",") if item.strip()]


def _var_dir() -> Path:
    path = Path(os.environ.get("BRIDGE_VAR_DIR") or BASE_DIR / "var")
    (path / "static").mkdir(parents=True, exist_ok=True)
    return path


def _secret_key(var_dir: Path) -> str:
    """Take SECRET_KEY from the environment, or generate one into var/ on first run."""
    from_env = os.environ.get("SECRET_KEY")
    if from_env:
        return from_env
    key_file = var_dir / "secret_key"
    if not key_file.exists():
        fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_urlsafe(64))
    return key_file.read_text().strip()


@dataclass(frozen=True)
class Env:
    debug: bool
    testing: bool
    secret_key: str
    var_dir: Path
    database_url: str | None
    allowed_hosts: list[str]
    csrf_trusted_origins: list[str]
    https: bool
    email_url: str | None
    default_from_email: str
    site_url: str
    task_backend: str
    log_level: str
    pdf_font: str  # a CJK font file for PDFs ("path" or "path#face index"); empty: look in the usual places


def read_env() -> Env:
    var_dir = _var_dir()
    testing = _bool("BRIDGE_TESTING", "PYTEST_VERSION" in os.environ)
    return Env(
        debug=_bool("DEBUG", False),
        testing=testing,
        secret_key=_secret_key(var_dir),
        var_dir=var_dir,
        database_url=os.environ.get("DATABASE_URL") or None,
        allowed_hosts=_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]"]),
        csrf_trusted_origins=_list("CSRF_TRUSTED_ORIGINS", []),
        https=_bool("BRIDGE_HTTPS", False),
        email_url=os.environ.get("EMAIL_URL") or None,
        default_from_email=os.environ.get("DEFAULT_FROM_EMAIL", "Bridge <bridge@localhost>"),
        site_url=os.environ.get("SITE_URL", "http://127.0.0.1:8000").rstrip("/"),
        task_backend=os.environ.get("BRIDGE_TASK_BACKEND", "immediate" if testing else "database"),
        log_level=os.environ.get("LOG_LEVEL", "INFO"),
        pdf_font=os.environ.get("BRIDGE_PDF_FONT", ""),
    )


ENV = read_env()
