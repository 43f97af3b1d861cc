"""The app shell: deploy checks, database pragmas, security headers, error pages, translations."""

from __future__ import annotations

import os
import re
import secrets
import subprocess
import sys
from pathlib import Path

import polib
import pytest
from django.conf import settings
from django.db import connection
from django.test import Client

from bridgecrm.users.tests.factories import PASSWORD, UserFactory

ROOT = Path(__file__).resolve().parents[3]


def test_check_deploy_is_clean_with_production_settings(tmp_path):
    env = {
        "PATH": os.environ["PATH"],
        "HOME": str(tmp_path),
        "BRIDGE_VAR_DIR": str(tmp_path / "var"),
        "BRIDGE_HTTPS": "1",
        "SECRET_KEY": secrets.token_urlsafe(60),
        "ALLOWED_HOSTS": "bridge.example.com",
        "EMAIL_URL": "smtp://bridge:secret@mail.example.com:587?tls=1",
    }
    result = subprocess.run(
        [sys.executable, "-m", "bridgecrm", "check", "--deploy", "--fail-level", "WARNING"],
        env=env,
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_embedded_mode_generates_its_secret_key_into_var(tmp_path):
    env = {"PATH": os.environ["PATH"], "HOME": str(tmp_path), "BRIDGE_VAR_DIR": str(tmp_path / "var")}
    code = "from django.conf import settings; print(len(settings.SECRET_KEY))"
    run = [
        sys.executable,
        "-c",
        f"import django, os; os.environ['DJANGO_SETTINGS_MODULE']='bridgecrm.config.settings'; django.setup(); {code}",
    ]
    first = subprocess.run(run, env=env, capture_output=True, text=True, cwd=ROOT, check=True)
    key_file = tmp_path / "var" / "secret_key"
    assert key_file.exists() and oct(key_file.stat().st_mode & 0o777) == "0o600"
    saved = key_file.read_text()
    subprocess.run(run, env=env, capture_output=True, text=True, cwd=ROOT, check=True)
    assert key_file.read_text() == saved and int(first.stdout) >= 50


@pytest.mark.django_db
@pytest.mark.skipif(connection.vendor != "sqlite", reason="SQLite pragmas")
def test_sqlite_runs_in_wal_with_foreign_keys_and_a_busy_timeout():
    with connection.cursor() as cursor:
        assert cursor.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert cursor.execute("PRAGMA foreign_keys").fetchone()[0] == 1
        assert cursor.execute("PRAGMA busy_timeout").fetchone()[0] >= 5000
    assert settings.DATABASES["default"]["OPTIONS"]["transaction_mode"] == "IMMEDIATE"


@pytest.mark.django_db
def test_pages_carry_a_nonce_csp_and_load_nothing_from_outside():
    user = UserFactory()
    client = Client()
    client.post("/accounts/login/", {"username": user.username, "password": PASSWORD})
    response = client.get("/")
    csp = response["Content-Security-Policy"]
    nonce = re.search(r"'nonce-([^']+)'", csp).group(1)
    assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp
    html = response.content.decode()
    assert f'nonce="{nonce}"' in html
    for url in re.findall(r'(?:src|href)="([^"]+)"', html):
        assert not re.match(r"^(https?:)?//", url), url
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"


@pytest.mark.django_db
def test_error_pages_use_the_shell_style():
    response = Client().get("/no-such-page/")
    assert response.status_code == 404
    html = response.content.decode()
    assert "error-page" in html and "bridge.css" in html


@pytest.mark.django_db
def test_language_defaults_from_the_browser_and_is_remembered_per_user():
    user = UserFactory(language="")
    client = Client(headers={"Accept-Language": "zh-CN,zh;q=0.9"})
    page = client.get("/accounts/login/").content.decode()
    assert 'lang="zh-hans"' in page and "登录" in page
    client.post("/accounts/login/", {"username": user.username, "password": PASSWORD})
    client.post("/accounts/language/", {"language": "en", "next": "/"})
    user.refresh_from_db()
    assert user.language == "en"
    other_browser = Client(headers={"Accept-Language": "zh-CN"})
    other_browser.post("/accounts/login/", {"username": user.username, "password": PASSWORD})
    assert 'lang="en"' in other_browser.get("/").content.decode()


@pytest.mark.django_db
def test_time_zone_per_user_defaults_to_shanghai():
    user = UserFactory(time_zone="Asia/Shanghai")
    client = Client()
    client.post("/accounts/login/", {"username": user.username, "password": PASSWORD})
    assert client.get("/").context["TIME_ZONE"] == "Asia/Shanghai"
    user.time_zone = "Europe/Berlin"
    user.save()
    assert client.get("/").context["TIME_ZONE"] == "Europe/Berlin"


def test_zh_hans_catalogue_is_complete():
    po = polib.pofile(str(ROOT / "bridgecrm/locale/zh_Hans/LC_MESSAGES/django.po"))
    assert po.untranslated_entries() == []
    assert po.fuzzy_entries() == []
    assert len(po.translated_entries()) > 200
    for entry in po.translated_entries():
        # A plural entry's translations are in msgstr_plural (its msgstr stays empty).
        translations = list(entry.msgstr_plural.values()) if entry.msgid_plural else [entry.msgstr]
        for placeholder in re.findall(r"%\(\w+\)[sd]", entry.msgid):
            assert all(placeholder in text for text in translations), entry.msgid


@pytest.mark.django_db
def test_global_search_finds_visible_customers_people_and_teams(company, login):
    from bridgecrm.customers.tests.factories import make_contact, make_customer

    mine = make_customer(company.owner, name="桥联上海贸易有限公司")
    make_contact(mine, name="王伟", phones=["13800138000"])
    make_customer(company.other_rep, name="桥联深圳贸易有限公司")
    client = login(company.owner)
    page = client.get("/search/", {"q": "桥联"})
    html = page.content.decode()
    assert "桥联上海贸易有限公司" in html
    assert "桥联深圳贸易有限公司" not in html  # another team's customer stays invisible
    by_phone = client.get("/search/", {"q": "+86 138-0013-8000"}).content.decode()
    assert "桥联上海贸易有限公司" in by_phone
    assert "Team A" in client.get("/search/", {"q": "Team"}).content.decode()
