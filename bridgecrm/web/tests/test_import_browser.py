"""Issue 4's import acceptance in a real browser, in both languages: a manager uploads a GBK CSV as
Excel in China saves it, checks the suggested column mapping, runs the dry run (errors and a
duplicate shown, nothing saved), runs the import with its progress bar, reads the result counts,
downloads the error file, and finds the new customers in the customer list.

Screenshots: test-artifacts/screenshots/import-<step>-<language>-<width>.png.
"""

from __future__ import annotations

import csv
import importlib
import io
import urllib.request
from pathlib import Path

import pytest
from django.apps import apps

from bridgecrm.customers import services as customer_services
from bridgecrm.customers.models import Customer
from bridgecrm.imports.models import ImportJob, ImportStatus
from bridgecrm.web.tests.test_browser import assert_fits, shot, sign_in, switch_language, zh

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

DESKTOP = {"width": 1440, "height": 900}
PHONE = {"width": 390, "height": 844}

HEADERS = ["客户名称", "行业", "手机", "邮箱", "负责人", "省份", "客户编号"]
ROWS = [
    ["杭州西湖软件股份有限公司", "Technology", "13800138001", "info@xihu.example", "owner", "", "BR-1"],
    ["深圳华南电子有限公司", "Manufacturing", "13800138002", "sales@huanan.example", "", "", "BR-2"],
    ["上海星辰科技有限公司", "Technology", "021-68888888", "", "", "", "BR-3"],  # already in Bridge
    ["", "Technology", "13800138004", "", "", "", "BR-4"],  # no name: an error
]


@pytest.fixture(autouse=True)
def default_roles(transactional_db) -> None:
    """The roles and grants data migrations made: an earlier transactional test may have flushed them."""
    importlib.import_module("bridgecrm.users.migrations.0002_default_roles").create(apps, None)
    importlib.import_module("bridgecrm.users.migrations.0005_grant_customer_operations").grant(apps, None)


def t(language: str, text: str) -> str:
    return zh(text) if language == "zh-hans" else text


def gbk_file(tmp_path) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(HEADERS)
    writer.writerows(ROWS)
    path = tmp_path / "客户导入.csv"
    path.write_bytes(buffer.getvalue().encode("gbk"))
    return str(path)


def phone_check(page, screenshots, name: str, language: str) -> None:
    page.set_viewport_size(PHONE)
    assert_fits(page, f"{name} {language} {PHONE['width']}")
    shot(page, screenshots, f"import-{name}", language)
    page.set_viewport_size(DESKTOP)


@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_import_wizard_with_a_gbk_csv(
    browser_page, company, live_server, screenshots, settings, tmp_path, language
) -> None:
    settings.VAR_DIR = tmp_path / "var"
    page = browser_page
    customer_services.customer_create(actor=company.manager_a, name="上海星辰科技有限公司")

    # Warm the live server up (first request loads URL conf and templates) before the browser's
    # 10-second timeouts start counting: on a busy machine that first load can take longer.
    urllib.request.urlopen(f"{live_server.url}/accounts/login/", timeout=120).read()
    page.set_viewport_size(DESKTOP)
    sign_in(page, company.manager_a.username)
    page.wait_for_url(f"{live_server.url}/")
    if language != "en":
        switch_language(page, language)

    # The imports page is in the navigation for importers.
    with page.expect_navigation():
        page.click(f'nav.sidebar a:text-is("{t(language, "Imports")}")')
    shot(page, screenshots, "import-list-empty", language)
    with page.expect_navigation():
        page.click('[data-testid="new-import"]')

    # 1. Upload.
    page.select_option("#id_kind", "customers")
    page.set_input_files("#id_file", gbk_file(tmp_path))
    shot(page, screenshots, "import-upload", language)
    phone_check(page, screenshots, "upload", language)
    with page.expect_navigation():
        page.click('[data-testid="upload-form"] button[type="submit"]')

    # 2. Mapping: suggested from the Chinese headers; the id column is the external id.
    job = ImportJob.objects.get()
    assert job.encoding == "gb18030"
    assert page.input_value("#id_col_0") == "name"
    assert page.input_value("#id_col_1") == "industry"
    assert page.input_value("#id_col_2") == "phone"
    assert page.input_value("#id_col_3") == "email"
    assert page.input_value("#id_col_4") == "owner"
    assert page.input_value("#id_col_5") == "province"
    assert page.input_value("#id_external_id_column") == "客户编号"
    assert "杭州西湖软件股份有限公司" in page.locator(".mapping-table").inner_text()  # samples, decoded
    page.select_option("#id_col_5", "")  # the province column is empty: leave it out
    shot(page, screenshots, "import-mapping", language)
    phone_check(page, screenshots, "mapping", language)
    with page.expect_navigation():
        page.click('[data-testid="dry-run"]')

    # 3. Check: counts, the bad row with its error, the duplicate; nothing saved yet.
    counts = page.locator('[data-testid="counts"]')
    assert counts.locator('[data-count="read"]').inner_text() == "4"
    assert counts.locator('[data-count="created"]').inner_text() == "2"
    assert counts.locator('[data-count="skipped"]').inner_text() == "1"
    assert counts.locator('[data-count="failed"]').inner_text() == "1"
    assert "上海星辰科技有限公司" in page.locator(".import-findings").inner_text()
    assert page.locator(".import-errors tbody tr").count() == 1
    assert Customer.objects.count() == 1
    shot(page, screenshots, "import-check", language)
    phone_check(page, screenshots, "check", language)

    # 4. Run: the task runs, the progress bar ends full, the result counts are shown.
    with page.expect_navigation():
        page.click('[data-testid="run-import"]')
    page.wait_for_selector('[data-testid="progress"][data-status="done"]')
    assert page.get_attribute('[data-testid="progress"] progress', "value") == "100"
    counts = page.locator('[data-testid="counts"]')
    assert counts.locator('[data-count="created"]').inner_text() == "2"
    assert counts.locator('[data-count="failed"]').inner_text() == "1"
    job.refresh_from_db()
    assert job.status == ImportStatus.DONE
    shot(page, screenshots, "import-result", language)
    phone_check(page, screenshots, "result", language)

    # The error file: each bad row with its error, the original cells after it.
    with page.expect_download() as download:
        page.click('[data-testid="error-file"]')
    content = Path(download.value.path()).read_text(encoding="utf-8-sig")
    lines = list(csv.reader(io.StringIO(content)))
    assert len(lines) == 2 and lines[1][0] == "4" and lines[1][2:] == ROWS[3]

    # The customers are in the list.
    with page.expect_navigation():
        page.click('[data-testid="see-records"]')
    listing = page.locator("main").inner_text()
    assert "杭州西湖软件股份有限公司" in listing and "深圳华南电子有限公司" in listing
    assert Customer.objects.filter(name="杭州西湖软件股份有限公司", owner=company.owner).exists()
    shot(page, screenshots, "import-customers", language)

    # Past imports list the run.
    page.goto("/imports/")
    assert "客户导入.csv" in page.locator("main").inner_text()
    phone_check(page, screenshots, "list", language)
    assert not page.problems, page.problems
