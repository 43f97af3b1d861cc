"""Sign-in throttling: an atomic counter per account and per IP, a lock that expires by itself."""

from __future__ import annotations

import datetime as dt
import threading

import pytest
import time_machine
from django.db import connection
from django.test import Client
from django.utils import timezone

from bridgecrm.core.models import AuditEntry
from bridgecrm.users import throttle
from bridgecrm.users.models import LoginThrottle
from bridgecrm.users.tests.factories import PASSWORD, UserFactory


def _post(client: Client, username: str, password: str, ip: str = "10.0.0.1"):
    return client.post("/accounts/login/", {"username": username, "password": password}, REMOTE_ADDR=ip)


@pytest.mark.django_db
def test_ten_failures_lock_the_account_even_for_the_right_password():
    user = UserFactory(username="mei")
    client = Client()
    for _ in range(10):
        response = _post(client, "mei", "wrong password 123")
        assert response.status_code == 200
        assert "not correct" in response.content.decode()
    locked = _post(client, "mei", PASSWORD)
    assert locked.status_code == 429
    assert "_auth_user_id" not in client.session
    assert AuditEntry.objects.filter(event="sign_in_failed", object_id=str(user.pk)).count() == 10
    assert AuditEntry.objects.filter(event="sign_in_throttled").count() == 1


@pytest.mark.django_db
def test_lock_message_is_the_same_for_unknown_accounts():
    UserFactory(username="mei")
    known, unknown = Client(), Client()
    for _ in range(11):
        last_known = _post(known, "mei", "wrong password 123", ip="10.0.0.2")
        last_unknown = _post(unknown, "nobody-here", "wrong password 123", ip="10.0.0.3")
    assert last_known.status_code == last_unknown.status_code == 429
    first_known = _post(Client(), "mei", "wrong", ip="10.0.0.4").content.decode()
    assert "not correct" not in first_known  # still locked, whatever the IP


@pytest.mark.django_db
def test_the_lock_expires_by_itself_and_success_clears_the_counter():
    UserFactory(username="mei")
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        for _ in range(10):
            _post(Client(), "mei", "wrong password 123")
        assert _post(Client(), "mei", PASSWORD).status_code == 429
    with time_machine.travel(start + dt.timedelta(minutes=15, seconds=1), tick=False):
        assert _post(Client(), "mei", PASSWORD).status_code == 302
        assert not LoginThrottle.objects.filter(key=throttle.account_key("mei")).exists()


@pytest.mark.django_db
def test_per_ip_limit_spans_accounts(settings):
    settings.BRIDGE_LOGIN_FAILURES_PER_IP = 5
    for i in range(5):
        assert _post(Client(), f"someone{i}", "wrong password 123", ip="10.9.9.9").status_code == 200
    assert _post(Client(), "someone-else", "wrong password 123", ip="10.9.9.9").status_code == 429
    assert _post(Client(), "someone-else", "wrong password 123", ip="10.9.9.10").status_code == 200


@pytest.mark.django_db(transaction=True)
def test_twenty_concurrent_clients_never_get_more_than_ten_attempts():
    user = UserFactory(username="target")
    barrier = threading.Barrier(20)
    results: list[int] = []
    lock = threading.Lock()

    def attack(n: int) -> None:
        try:
            client = Client()
            barrier.wait()
            for _ in range(3):
                status = _post(client, "target", f"wrong password {n}", ip=f"10.1.0.{n}").status_code
                with lock:
                    results.append(status)
        finally:
            connection.close()

    threads = [threading.Thread(target=attack, args=(n,)) for n in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    checked = AuditEntry.objects.filter(event="sign_in_failed", object_id=str(user.pk)).count()
    assert len(results) == 60
    assert checked == 10  # exactly the limit of password checks got through
    assert results.count(200) == 10
    assert results.count(429) == 50
    assert LoginThrottle.objects.get(key=throttle.account_key("target")).failures == 10
