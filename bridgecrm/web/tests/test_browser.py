"""The shell in a real browser: sign in and out, switch language, API tokens, every page at 375 and 1440 px.

Each step leaves a screenshot in test-artifacts/screenshots/ named <page>-<language>-<width>.png.
"""

from __future__ import annotations

import importlib
import json
import urllib.error
import urllib.request

import pytest
from django.apps import apps
from django.utils import translation

from bridgecrm.users.models import ApiToken
from bridgecrm.users.tests.factories import PASSWORD

# live_server serves from another thread: the data must be committed, hence transactional tests.
pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

WIDTHS = (375, 1440)
LANGUAGES = ("en", "zh-hans")


@pytest.fixture(autouse=True)
def default_roles(transactional_db) -> None:
    """The roles a data migration made: a transactional test before this one may have flushed them."""
    migration = importlib.import_module("bridgecrm.users.migrations.0002_default_roles")
    migration.create(apps, None)


def shot(page, screenshots, name: str, language: str, width: int | None = None) -> None:
    width = width or page.viewport_size["width"]
    page.screenshot(path=str(screenshots / f"{name}-{language}-{width}.png"), full_page=True)


def sign_in(page, username: str, password: str = PASSWORD) -> None:
    page.goto("/accounts/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    page.click('[data-testid="sign-in"]')


def switch_language(page, language: str) -> None:
    with page.expect_navigation():
        page.click(f'[data-testid="lang-{language}"]')
    assert_language(page, language)


def assert_language(page, language: str) -> None:
    assert page.get_attribute("html", "lang") == language
    assert page.get_attribute(f'[data-testid="lang-{language}"]', "aria-pressed") == "true"


def assert_fits(page, label: str) -> None:
    """Nothing makes the page scroll sideways (wide tables, the deal board and the phone nav scroll inside
    their own box)."""
    overflow = page.evaluate(
        """() => {
            const width = document.documentElement.clientWidth;
            const wide = [...document.querySelectorAll('body *')]
                .filter(el => el.getBoundingClientRect().right > width + 1)
                .filter(el => !el.closest('.table-wrap, .board, .nav-main, .visually-hidden, .skip'))
                .map(el => el.tagName.toLowerCase() + (el.className ? '.' + el.className : ''));
            return {scroll: document.documentElement.scrollWidth, width, wide: wide.slice(0, 5)};
        }"""
    )
    assert overflow["scroll"] <= overflow["width"], f"{label} scrolls sideways: {overflow}"
    assert not overflow["wide"], f"{label} has elements past the right edge: {overflow}"


def zh(text: str) -> str:
    with translation.override("zh-hans"):
        return translation.gettext(text)


def api_me(live_server, secret: str) -> tuple[int, dict]:
    request = urllib.request.Request(f"{live_server.url}/api/v1/me", headers={"Authorization": f"Bearer {secret}"})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"{}")


def test_failed_sign_in_shows_the_error(browser_page, company, screenshots):
    page = browser_page
    sign_in(page, company.owner.username, "not the password")
    error = page.locator('[data-testid="login-error"]')
    error.wait_for()
    assert error.inner_text().strip()
    assert page.url.endswith("/accounts/login/")
    assert page.locator("#id_username").input_value() == company.owner.username
    assert page.locator("#id_password").input_value() == ""
    shot(page, screenshots, "login-error", "en")

    switch_language(page, "zh-hans")  # the error page itself is a POST result; the switch goes back to the form
    sign_in(page, company.owner.username, "still not the password")
    page.locator('[data-testid="login-error"]').wait_for()
    assert_language(page, "zh-hans")
    shot(page, screenshots, "login-error", "zh-hans")
    assert not page.problems, page.problems


def test_shell_in_both_languages_at_both_widths(browser_page, company, live_server, screenshots):
    page = browser_page
    admin = company.admin
    pages = [
        ("home", "/"),
        ("people", "/people/"),
        ("person", f"/people/{company.owner.pk}/"),
        ("settings-tokens", "/settings/tokens/"),
        ("manage-users", "/manage/users/"),
        ("manage-teams", "/manage/teams/"),
        ("roles", "/manage/roles/"),
        ("audit", "/manage/audit/"),
    ]

    # The sign-in page, before signing in: the switch works for anonymous visitors too (a cookie).
    page.goto("/accounts/login/")
    assert_language(page, "en")
    assert page.locator("h1").inner_text() == "Sign in to Bridge"
    for language in LANGUAGES:
        if language != "en":
            switch_language(page, language)
            assert page.locator("h1").inner_text() == zh("Sign in to Bridge")
        for width in WIDTHS:
            page.set_viewport_size({"width": width, "height": 800})
            assert_fits(page, f"sign-in {language} {width}")
            shot(page, screenshots, "signin", language)
    switch_language(page, "en")

    page.set_viewport_size({"width": 1440, "height": 900})
    sign_in(page, admin.username)
    page.wait_for_url(f"{live_server.url}/")
    assert_language(page, "en")
    nav = page.locator("nav.sidebar")
    assert nav.get_by_role("link", name="Home", exact=True).is_visible()

    for language in LANGUAGES:
        if language != "en":
            switch_language(page, language)  # from the last page visited: it comes back to it
        for name, url in pages:
            response = page.goto(url)
            assert response is not None, url
            assert response.status == 200, (url, response.status)
            assert_language(page, language)
            assert page.locator("h1").first.is_visible()
            labels = [zh(label) if language == "zh-hans" else label for label in ("Home", "People", "Users")]
            nav_text = nav.inner_text()
            for label in labels:
                assert label in nav_text, (language, url, label, nav_text)
            for width in WIDTHS:
                page.set_viewport_size({"width": width, "height": 800 if width < 900 else 900})
                assert_fits(page, f"{name} {language} {width}")
                shot(page, screenshots, name, language)

    # The choice is remembered on the account, not only in this browser.
    admin.refresh_from_db()
    assert admin.language == "zh-hans"
    # Real Chinese, not the English fallback, once zh-Hans is chosen.
    assert zh("Home") != "Home"
    assert zh("Home") in nav.inner_text()
    assert page.locator('[data-testid="lang-zh-hans"]').inner_text() == "简体中文"
    assert not page.problems, page.problems


def test_api_token_create_use_revoke(browser_page, company, live_server, screenshots):
    page = browser_page
    owner = company.owner  # a sales rep: reps may use the API
    sign_in(page, owner.username)
    page.wait_for_url("**/")

    # Settings → API tokens, through the account menu (375 px: the menu is the avatar).
    page.click("details.menu > summary")
    page.click('.menu-panel a[href="/settings/"]')
    page.wait_for_url("**/settings/")
    page.click('a[href="/settings/tokens/"]')
    page.wait_for_url("**/settings/tokens/")

    page.fill("#id_name", "browser test")
    page.click('[data-testid="create-token"]')
    secret = page.locator('[data-testid="token-secret"]').inner_text().strip()
    assert len(secret) > 20
    assert "Bearer <token>" in page.locator('[data-testid="new-token"]').inner_text()  # text, not an HTML tag
    assert page.locator('[data-testid="token-row"]').count() == 1
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 800})
        assert_fits(page, f"token created {width}")
        shot(page, screenshots, "token-created", "en")
    assert ApiToken.objects.filter(user=owner, revoked_at__isnull=True).count() == 1

    status, body = api_me(live_server, secret)
    assert status == 200, body
    assert body["username"] == owner.username

    page.set_viewport_size({"width": 375, "height": 800})
    page.click('[data-testid="revoke-token"]')
    page.wait_for_url("**/settings/tokens/")
    assert page.locator('[data-testid="revoke-token"]').count() == 0
    assert page.locator('[data-testid="token-secret"]').count() == 0  # shown once, never again
    assert page.locator(".message-success").is_visible()
    shot(page, screenshots, "token-revoked", "en")

    status, body = api_me(live_server, secret)
    assert status == 401, body
    assert not page.problems, page.problems


def test_sign_out_from_the_menu(browser_page, company, screenshots):
    page = browser_page
    sign_in(page, company.manager_a.username)
    page.wait_for_url("**/")
    switch_language(page, "zh-hans")
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 800})
        page.click("details.menu > summary")
        assert page.locator('[data-testid="sign-out"]').is_visible()
        shot(page, screenshots, "menu-open", "zh-hans")
        page.click("details.menu > summary")  # close it again
    page.click("details.menu > summary")
    page.click('[data-testid="sign-out"]')
    page.wait_for_url("**/accounts/login/")
    assert page.locator('[data-testid="sign-in"]').is_visible()
    assert page.locator("details.menu").count() == 0
    assert_language(page, "zh-hans")  # the language cookie outlives the session
    shot(page, screenshots, "signed-out", "zh-hans")

    # The session is really gone: the home page sends us back to sign in.
    page.goto("/")
    assert "/accounts/login/" in page.url
    assert page.locator('[data-testid="sign-in"]').is_visible()
    assert not page.problems, page.problems
