"""Passwords: validators, long passphrases never truncated, change needs the current one,
reset links single-use and expiring."""

from __future__ import annotations

import datetime as dt
import re

import pytest
import time_machine
from django.contrib.auth.hashers import check_password, make_password
from django.core import mail
from django.test import Client
from django.utils import timezone

from bridgecrm.core.errors import ApplicationError
from bridgecrm.users import services
from bridgecrm.users.tests.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db


def test_production_hasher_is_argon2_and_does_not_truncate(settings):
    from bridgecrm.config.settings import security

    assert next(h for h in security.PASSWORD_HASHERS if "MD5" not in h).endswith("Argon2PasswordHasher")
    passphrase = "我们的销售团队在上海 " * 20  # 220 characters, 660+ bytes
    encoded = make_password(passphrase, hasher="argon2")
    assert check_password(passphrase, encoded)
    assert not check_password(passphrase[:-1] + "X", encoded)
    assert not check_password(passphrase[:72], encoded)


@pytest.mark.parametrize(
    ("password", "code"),
    [
        ("short1234", "password_too_short"),
        ("password1234", "password_too_common"),
        ("1234567890123", "password_entirely_numeric"),
    ],
)
def test_validators_refuse_weak_passwords(password, code):
    user = UserFactory()
    with pytest.raises(ApplicationError) as raised:
        services.user_set_password(actor=user, user=user, password=password)
    assert raised.value.code == "invalid"
    user.refresh_from_db()
    assert user.check_password(PASSWORD)


def test_long_passphrase_is_accepted():
    user = UserFactory()
    phrase = "the quick brown fox jumps over the lazy dog " * 10
    services.user_set_password(actor=user, user=user, password=phrase)
    user.refresh_from_db()
    assert user.check_password(phrase)
    assert not user.check_password(phrase[:-2])


def test_change_password_needs_the_current_one():
    user = UserFactory()
    client = Client()
    client.post("/accounts/login/", {"username": user.username, "password": PASSWORD})
    response = client.post(
        "/settings/password/", {"current_password": "not it at all", "new_password": "a new long passphrase"}
    )
    assert response.status_code == 200
    user.refresh_from_db()
    assert user.check_password(PASSWORD)
    response = client.post(
        "/settings/password/", {"current_password": PASSWORD, "new_password": "a new long passphrase"}
    )
    assert response.status_code == 302
    user.refresh_from_db()
    assert user.check_password("a new long passphrase")
    assert client.get("/").status_code == 200  # this session survives the change


def _reset_link() -> str:
    body = mail.outbox[-1].body
    return re.search(r"https?://[^/]+(/accounts/reset/\S+)", body).group(1)


def test_reset_link_is_single_use():
    user = UserFactory(email="mei@example.com")
    Client().post("/accounts/password/reset/", {"email": "mei@example.com"})
    assert len(mail.outbox) == 1
    link = _reset_link()
    client = Client()
    form_page = client.get(link, follow=True)
    assert form_page.status_code == 200
    set_url = form_page.redirect_chain[-1][0] if form_page.redirect_chain else link
    response = client.post(set_url, {"new_password1": "brand new passphrase", "new_password2": "brand new passphrase"})
    assert response.status_code == 302
    user.refresh_from_db()
    assert user.check_password("brand new passphrase")
    again = Client().get(link, follow=True)
    assert "no longer works" in again.content.decode()


def test_reset_link_expires_after_a_day():
    UserFactory(email="mei@example.com")
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        Client().post("/accounts/password/reset/", {"email": "mei@example.com"})
    link = _reset_link()
    with time_machine.travel(start + dt.timedelta(days=1, minutes=1), tick=False):
        page = Client().get(link, follow=True)
        assert "no longer works" in page.content.decode()


def test_reset_for_unknown_address_looks_the_same():
    response = Client().post("/accounts/password/reset/", {"email": "nobody@example.com"})
    assert response.status_code == 302
    assert len(mail.outbox) == 0
