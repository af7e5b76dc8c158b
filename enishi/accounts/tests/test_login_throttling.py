"""A login brute force is throttled (django-axes): 5 failures for one user name from one
address lock that pair for 15 minutes, even for the right password."""

import datetime

import pytest
from axes.models import AccessAttempt
from axes.utils import reset
from django.test import Client
from django.utils import timezone

from .conftest import log_in

pytestmark = pytest.mark.django_db


def _fail(client: Client, times: int, username: str = "bob", **extra):
    return [log_in(client, username, "not-the-password", **extra) for _ in range(times)]


def test_it_locks_the_user_name_after_five_failures_with_a_message(client, bob):
    responses = _fail(client, 5, HTTP_ACCEPT_LANGUAGE="en")
    assert [r.status_code for r in responses] == [200, 200, 200, 200, 429]
    body = responses[-1].content.decode()
    assert "data-locked" in body and "Too many failed log-ins" in body and "15" in body
    assert 'value="bob"' in body  # still the login page, ready for later


def test_it_refuses_even_the_right_password_during_the_cool_off(client, bob):
    _fail(client, 5)
    response = log_in(client, "bob")
    assert response.status_code == 429
    assert "_auth_user_id" not in client.session
    assert client.get("/").status_code == 302


def test_it_shows_the_lockout_in_japanese(client, bob):
    response = _fail(client, 5)[-1]
    assert "ログイン" in response.content.decode().split("data-locked>")[1].split("<")[0]


def test_it_lets_the_user_in_again_after_the_cool_off(client, bob):
    _fail(client, 5)
    AccessAttempt.objects.update(attempt_time=timezone.now() - datetime.timedelta(minutes=16))
    response = log_in(client, "bob")
    assert response.status_code == 302
    assert client.session["_auth_user_id"] == str(bob.pk)


def test_it_lets_the_user_in_again_after_an_admin_reset(client, bob):
    _fail(client, 5)
    reset(username="bob")
    assert log_in(client, "bob").status_code == 302


def test_the_lock_is_for_that_user_name_from_that_address_only(client, bob, alice):
    _fail(client, 5)
    assert log_in(client, "alice").status_code == 302
    elsewhere = Client(REMOTE_ADDR="203.0.113.9")
    assert log_in(elsewhere, "bob").status_code == 302


def test_a_success_forgets_earlier_failures(client, bob):
    _fail(client, 4)
    assert log_in(client, "bob").status_code == 302
    client.logout()
    assert [r.status_code for r in _fail(client, 4)] == [200] * 4


def test_behind_the_proxy_it_counts_the_address_the_proxy_saw(client, bob, settings):
    settings.BEHIND_PROXY = True
    forged = [
        log_in(client, "bob", "x", HTTP_X_FORWARDED_FOR=f"10.0.0.{i}, 198.51.100.7")
        for i in range(5)
    ]
    assert forged[-1].status_code == 429
    assert set(AccessAttempt.objects.values_list("ip_address", flat=True)) == {"198.51.100.7"}
