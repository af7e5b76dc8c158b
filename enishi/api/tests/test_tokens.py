"""Personal access tokens: made and revoked on the screen, shown once, stored hashed, and
refused by the API once expired, revoked, or when their user is deactivated."""

import datetime
import hashlib
import re

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from enishi.api import services
from enishi.api.models import ApiToken
from enishi.core import testing

from .conftest import ApiClient, issue_token

pytestmark = pytest.mark.django_db

TOKEN_RE = re.compile(r"enishi_[a-z0-9]{8}_[A-Za-z0-9_-]{40,}")


def test_it_shows_a_new_token_once_and_stores_only_its_hash(alice_client, alice):
    response = alice_client.post(
        reverse("tokens:list"), {"name": "会計ソフト連携", "scopes": "read write", "expiry": "90"}
    )
    assert response.status_code == 200
    secret = TOKEN_RE.search(response.content.decode()).group(0)
    token = ApiToken.objects.get()
    assert (token.user, token.name, token.scopes) == (alice, "会計ソフト連携", "read write")
    assert secret.split("_")[1] == token.prefix
    assert token.token_hash == hashlib.sha256(secret.encode()).hexdigest()
    assert secret not in str(ApiToken.objects.values().get())
    assert abs(
        token.expires_at - (timezone.now() + datetime.timedelta(days=90))
    ) < datetime.timedelta(minutes=1)
    assert response["Cache-Control"].startswith("max-age=0")
    page = alice_client.get(reverse("tokens:list")).content.decode()
    assert token.prefix in page and "会計ソフト連携" in page
    assert TOKEN_RE.search(page) is None


def test_it_takes_an_expiry_date(alice_client):
    day = timezone.localdate() + datetime.timedelta(days=10)
    response = alice_client.post(
        reverse("tokens:list"),
        {"name": "期限付き", "scopes": "read", "expiry": "date", "expires_on": day.isoformat()},
    )
    assert response.status_code == 200
    token = ApiToken.objects.get()
    assert timezone.localtime(token.expires_at).date() == day + datetime.timedelta(days=1)
    response = alice_client.post(
        reverse("tokens:list"), {"name": "日付なし", "scopes": "read", "expiry": "date"}
    )
    assert response.status_code == 400
    response = alice_client.post(
        reverse("tokens:list"),
        {"name": "過去", "scopes": "read", "expiry": "date", "expires_on": "2020-01-01"},
    )
    assert response.status_code == 400
    assert ApiToken.objects.count() == 1


def test_it_never_makes_a_token_without_an_expiry(alice):
    with pytest.raises(ValidationError):
        services.token_create(
            user=alice,
            name="永遠",
            scopes="read",
            expires_at=timezone.now() + datetime.timedelta(days=3650),
        )


def test_it_offers_read_only_tokens_to_read_only_users(client, dave):
    client.force_login(dave)
    page = client.get(reverse("tokens:list")).content.decode()
    assert 'value="read write"' not in page
    response = client.post(
        reverse("tokens:list"), {"name": "x", "scopes": "read write", "expiry": "30"}
    )
    assert response.status_code == 400
    assert not ApiToken.objects.exists()


def test_it_revokes_a_token_and_the_api_refuses_it_at_once(alice_client, client, alice):
    secret = issue_token(alice)
    api = ApiClient(client, secret)
    assert api.get("/customers").status_code == 200
    token = ApiToken.objects.get()
    response = alice_client.post(reverse("tokens:revoke", args=[token.pk]))
    assert response.status_code == 302
    token.refresh_from_db()
    assert token.revoked_at is not None
    response = api.get("/customers")
    assert response.status_code == 401
    assert response.json()["detail"] == "このトークンは無効にされています。"


def test_it_lets_people_revoke_only_their_own_tokens(bob_client, alice):
    issue_token(alice)
    token = ApiToken.objects.get()
    assert bob_client.post(reverse("tokens:revoke", args=[token.pk])).status_code == 404
    token.refresh_from_db()
    assert token.revoked_at is None


def test_it_keeps_the_token_page_private(client):
    response = client.get(reverse("tokens:list"))
    assert response.status_code == 302
    assert reverse("accounts:login") in response["Location"]


def test_it_links_the_token_page_from_my_settings(alice_client):
    page = alice_client.get(reverse("accounts:profile")).content.decode()
    assert reverse("tokens:list") in page


def test_it_refuses_an_expired_token(client, alice):
    secret = issue_token(alice)
    ApiToken.objects.update(expires_at=timezone.now() - datetime.timedelta(seconds=1))
    response = ApiClient(client, secret).get("/customers")
    assert response.status_code == 401
    assert "期限" in response.json()["detail"]
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_it_refuses_the_tokens_of_a_deactivated_user(client, bob):
    secret = issue_token(bob)
    bob.is_active = False
    bob.save()
    response = ApiClient(client, secret).get("/customers")
    assert response.status_code == 401
    assert response.json()["errors"] == []


@pytest.mark.parametrize(
    "header",
    [
        None,
        "Bearer",
        "Bearer nonsense",
        "Bearer enishi_abcdefgh_wrong-secret",
        "Basic YWxpY2U6cGFzcw==",
    ],
)
def test_it_answers_401_without_a_valid_token(client, alice, header):
    issue_token(alice)
    extra = {"HTTP_AUTHORIZATION": header} if header else {}
    response = client.get("/api/v1/customers", **extra)
    assert response.status_code == 401
    assert set(response.json()) == {"detail", "errors"}


def test_it_refuses_a_token_whose_secret_was_changed(client, alice):
    secret = issue_token(alice)
    response = ApiClient(client, secret[:-1] + ("A" if secret[-1] != "A" else "B")).get(
        "/customers"
    )
    assert response.status_code == 401


def test_it_notes_when_a_token_was_last_used(client, alice):
    secret = issue_token(alice)
    assert ApiToken.objects.get().last_used_at is None
    ApiClient(client, secret).get("/users")
    assert ApiToken.objects.get().last_used_at is not None


def test_it_ignores_the_browser_session_for_the_api(alice_client):
    response = alice_client.get("/api/v1/customers")
    assert response.status_code == 401


def test_it_answers_in_the_token_users_language_unless_accept_language_says_otherwise(client):
    english_speaker = testing.make_user("emma")
    english_speaker.language = "en"
    english_speaker.save()
    secret = issue_token(english_speaker)
    response = ApiClient(client, secret).get("/customers/999999")
    assert response.json()["detail"] == "Not found."
    response = ApiClient(client, secret, language="ja").get("/customers/999999")
    assert response.json()["detail"] == "見つかりません。"
