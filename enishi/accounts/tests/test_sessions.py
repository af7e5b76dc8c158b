"""Sessions end: log out everywhere, a password change, a deactivation."""

import pytest
from django.test import Client

from enishi.core import testing

pytestmark = pytest.mark.django_db


def _signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    assert client.get("/").status_code == 200
    return client


def test_log_out_everywhere_ends_the_other_sessions_and_keeps_this_one(bob):
    office, phone = _signed_in(bob), _signed_in(bob)
    response = office.post("/accounts/profile/logout-everywhere/")
    assert response.status_code == 302
    assert office.get("/").status_code == 200
    assert phone.get("/").status_code == 302


def test_log_out_everywhere_leaves_other_users_alone(bob, alice):
    bobs, alices = _signed_in(bob), _signed_in(alice)
    bobs.post("/accounts/profile/logout-everywhere/")
    assert alices.get("/").status_code == 200


def test_changing_the_password_ends_the_other_sessions(bob):
    office, phone = _signed_in(bob), _signed_in(bob)
    office.post(
        "/accounts/password/",
        {
            "old_password": testing.PASSWORD,
            "new_password1": "sakura-saku-2026",
            "new_password2": "sakura-saku-2026",
        },
    )
    assert office.get("/").status_code == 200
    assert phone.get("/").status_code == 302


def test_deactivating_ends_the_users_sessions(alice, bob):
    bobs = _signed_in(bob)
    _signed_in(alice).post(f"/accounts/users/{bob.pk}/deactivate/")
    assert bobs.get("/").status_code == 302


def test_sessions_expire_at_browser_close_when_configured(client, bob, settings):
    settings.SESSION_EXPIRE_AT_BROWSER_CLOSE = True
    client.post("/accounts/login/", {"username": "bob", "password": testing.PASSWORD})
    cookie = client.cookies["sessionid"]
    assert cookie["max-age"] == "" and cookie["expires"] == ""


def test_sessions_last_twelve_hours_by_default(client, bob):
    client.post("/accounts/login/", {"username": "bob", "password": testing.PASSWORD})
    assert client.cookies["sessionid"]["max-age"] == 12 * 60 * 60
