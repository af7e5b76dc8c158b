"""Two-factor log-in with TOTP (django-otp): set up, log in, turn off, admin recovery."""

import pytest
from django.test import Client
from django_otp.plugins.otp_totp.models import TOTPDevice

from enishi.accounts import services
from enishi.history.models import HistoryEntry

from .conftest import code_for, log_in

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _no_wait_between_codes(settings):
    # django-otp makes a wrong code wait 1, 2, 4… s before the next try; tests type fast.
    settings.OTP_TOTP_THROTTLE_FACTOR = 0


def test_it_sets_up_two_factor_with_a_qr_code_and_a_confirming_code(bob_client, bob):
    assert "two_factor_confirm" not in bob_client.get("/accounts/2fa/").content.decode()
    assert bob_client.post("/accounts/2fa/").status_code == 302
    page = bob_client.get("/accounts/2fa/").content.decode()
    assert "<svg" in page and "data-secret" in page
    device = TOTPDevice.objects.get(user=bob)
    assert not device.confirmed

    wrong = bob_client.post("/accounts/2fa/confirm/", {"code": "000000"})
    assert wrong.status_code == 200 and wrong.context["form"].errors
    device.refresh_from_db()
    assert not device.confirmed

    # Full-width digits, as a Japanese keyboard may type them, are fine.
    typed = code_for(device).translate(str.maketrans("0123456789", "０１２３４５６７８９"))
    assert bob_client.post("/accounts/2fa/confirm/", {"code": typed}).status_code == 302
    device.refresh_from_db()
    assert device.confirmed
    # This session showed a code: it goes on without being asked again.
    assert bob_client.get("/").status_code == 200
    assert HistoryEntry.objects.filter(object_id=bob.pk, changes__two_factor=[False, True]).exists()


def test_a_password_alone_does_not_finish_the_log_in(client, bob, bobs_phone):
    assert log_in(client, "bob").status_code == 302
    response = client.get("/customers/")
    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/verify/?next=%2Fcustomers%2F"
    # Nothing else opens either, not even the settings that could turn it off.
    for url in ("/", "/accounts/profile/", "/accounts/2fa/", "/accounts/password/"):
        assert client.get(url)["Location"].startswith("/accounts/login/verify/")
    assert client.post("/accounts/2fa/disable/", {"code": "123456"}).status_code == 302
    assert TOTPDevice.objects.filter(user=bob, confirmed=True).exists()


def test_it_logs_in_with_the_code_from_the_app(client, bob, bobs_phone):
    log_in(client, "bob")
    page = client.get("/accounts/login/verify/?next=/customers/")
    assert page.status_code == 200
    assert 'class="topbar"' not in page.content.decode()
    response = client.post(
        "/accounts/login/verify/", {"code": code_for(bobs_phone), "next": "/customers/"}
    )
    assert response.status_code == 302 and response["Location"] == "/customers/"
    assert client.get("/customers/").status_code == 200


def test_it_refuses_a_wrong_code_and_a_used_one(client, bob, bobs_phone):
    log_in(client, "bob")
    wrong = client.post("/accounts/login/verify/", {"code": "12345"})
    assert wrong.status_code == 200 and wrong.context["form"].errors
    code = code_for(bobs_phone)
    assert client.post("/accounts/login/verify/", {"code": code}).status_code == 302

    other = Client()
    log_in(other, "bob")
    replay = other.post("/accounts/login/verify/", {"code": code})
    assert replay.status_code == 200
    assert other.get("/").status_code == 302


def test_it_slows_down_guessing_codes(client, bob, bobs_phone, settings):
    settings.OTP_TOTP_THROTTLE_FACTOR = 60
    log_in(client, "bob")
    client.post("/accounts/login/verify/", {"code": "000000"})
    response = client.post("/accounts/login/verify/", {"code": code_for(bobs_phone)})
    assert response.status_code == 200
    assert response.context["form"].non_field_errors().as_data()[0].code == "throttled"


def test_it_never_follows_a_next_to_another_site(client, bob, bobs_phone):
    log_in(client, "bob")
    response = client.post(
        "/accounts/login/verify/", {"code": code_for(bobs_phone), "next": "https://evil.example/"}
    )
    assert response["Location"] == "/"


def test_turning_it_off_takes_a_current_code(bob_client, bob, bobs_phone):
    from django_otp import DEVICE_ID_SESSION_KEY

    session = bob_client.session
    session[DEVICE_ID_SESSION_KEY] = bobs_phone.persistent_id
    session.save()
    refused = bob_client.post("/accounts/2fa/disable/", {"code": "000000"})
    assert refused.status_code == 200
    assert TOTPDevice.objects.filter(user=bob).exists()
    assert (
        bob_client.post("/accounts/2fa/disable/", {"code": code_for(bobs_phone)}).status_code == 302
    )
    assert not TOTPDevice.objects.filter(user=bob).exists()


def test_admins_must_set_it_up_when_the_setting_says_so(alice_client, bob, settings):
    settings.ENISHI_REQUIRE_2FA_FOR_ADMINS = True
    response = alice_client.get("/customers/")
    assert response.status_code == 302 and response["Location"] == "/accounts/2fa/"
    assert alice_client.get("/accounts/users/")["Location"] == "/accounts/2fa/"
    assert alice_client.get("/accounts/2fa/").status_code == 200
    member = Client()
    member.force_login(bob)
    assert member.get("/customers/").status_code == 200  # members are not forced

    alice_client.post("/accounts/2fa/")
    device = TOTPDevice.objects.get(user__username="alice")
    alice_client.post("/accounts/2fa/confirm/", {"code": code_for(device)})
    assert alice_client.get("/customers/").status_code == 200
    # …and cannot turn it off again while the rule holds.
    refused = alice_client.post("/accounts/2fa/disable/", {"code": code_for(device, 1)})
    assert refused.status_code == 200
    assert TOTPDevice.objects.filter(user__username="alice", confirmed=True).exists()


def test_without_the_setting_admins_choose(alice_client):
    assert alice_client.get("/customers/").status_code == 200


def test_an_admin_resets_a_lost_phone_and_it_is_recorded(alice_client, alice, bob, bobs_phone):
    edit = alice_client.get(f"/accounts/users/{bob.pk}/").content.decode()
    assert "reset-2fa" in edit
    response = alice_client.post(f"/accounts/users/{bob.pk}/reset-2fa/")
    assert response.status_code == 302
    assert not TOTPDevice.objects.filter(user=bob).exists()
    entry = HistoryEntry.objects.get(object_id=bob.pk, model="accounts.user")
    assert entry.actor == alice and entry.changes == {"two_factor": [True, False]}
    assert log_in(Client(), "bob").status_code == 302


def test_a_second_set_up_replaces_an_unfinished_one(bob):
    first = services.two_factor_start(user=bob)
    second = services.two_factor_start(user=bob)
    assert list(TOTPDevice.objects.filter(user=bob)) == [second]
    assert first.key != second.key
