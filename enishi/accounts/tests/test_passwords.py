import pytest
from django.contrib.auth.hashers import make_password
from django.core.exceptions import ValidationError
from django.utils import translation

from enishi import settings as production
from enishi.accounts.models import User
from enishi.accounts.services import user_create
from enishi.core import testing

from .conftest import log_in

pytestmark = pytest.mark.django_db


def test_it_hashes_new_passwords_with_argon2_in_production(settings):
    settings.PASSWORD_HASHERS = production.PASSWORD_HASHERS
    user = user_create(username="hana", password=testing.PASSWORD)
    assert user.password.startswith("argon2$")
    assert user.check_password(testing.PASSWORD)


def test_it_still_accepts_an_older_hash_and_upgrades_it_to_argon2(settings):
    settings.PASSWORD_HASHERS = production.PASSWORD_HASHERS
    user = testing.make_user("old")
    User.objects.filter(pk=user.pk).update(
        password=make_password(testing.PASSWORD, hasher="pbkdf2_sha256")
    )
    user.refresh_from_db()
    assert user.check_password(testing.PASSWORD)
    user.refresh_from_db()
    assert user.password.startswith("argon2$")


@pytest.mark.parametrize(
    "password",
    ["kuma-9shi", "1234567890123", "qwertyuiop", "hanako-yamada"],
    ids=["shorter-than-10", "only-digits", "common", "like-the-user-name"],
)
def test_it_refuses_weak_passwords(password):
    with pytest.raises(ValidationError) as exc:
        user_create(username="hanako-yamada", password=password)
    assert exc.value.message_dict["password"]
    assert not User.objects.filter(username="hanako-yamada").exists()


def test_it_explains_the_minimum_length_in_japanese(settings):
    settings.AUTH_PASSWORD_VALIDATORS = [
        {
            "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
            "OPTIONS": {"min_length": 12},
        }
    ]
    with translation.override("ja"), pytest.raises(ValidationError) as exc:
        user_create(username="hana", password="abcdefghijk")
    assert "12" in exc.value.message_dict["password"][0]
    assert "短すぎ" in exc.value.message_dict["password"][0]


def test_the_production_rule_is_ten_characters():
    minimum = next(
        v
        for v in production.AUTH_PASSWORD_VALIDATORS
        if v["NAME"].endswith("MinimumLengthValidator")
    )
    assert minimum["OPTIONS"]["min_length"] == 10


def test_it_changes_a_password_on_the_password_page(client, bob):
    client.force_login(bob)
    response = client.post(
        "/accounts/password/",
        {
            "old_password": testing.PASSWORD,
            "new_password1": "aozora-no-shita-77",
            "new_password2": "aozora-no-shita-77",
        },
    )
    assert response.status_code == 302
    bob.refresh_from_db()
    assert bob.check_password("aozora-no-shita-77")
    assert client.get("/").status_code == 200  # this session stays signed in


def test_the_password_page_refuses_a_short_password(client, bob):
    client.force_login(bob)
    response = client.post(
        "/accounts/password/",
        {"old_password": testing.PASSWORD, "new_password1": "abc", "new_password2": "abc"},
    )
    assert response.status_code == 200
    assert response.context["form"].errors["new_password2"]


def test_the_test_clients_login_still_works_beside_the_throttle(client, bob):
    assert client.login(username="bob", password=testing.PASSWORD)
    assert not client.login(username="bob", password="wrong")


def test_a_deactivated_user_cannot_log_in(client, bob):
    bob.is_active = False
    bob.save()
    response = log_in(client, "bob")
    assert response.status_code == 200
    assert "_auth_user_id" not in client.session
