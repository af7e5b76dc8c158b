"""API test helpers: tokens for the personas and a client that speaks JSON with a token.

Carol is a member of 営業2課 (another team than Bob's); Dave is read-only in 営業1課.
"""

import datetime
import json

import pytest
from django.core.cache import cache
from django.utils import timezone

from enishi.api import services
from enishi.api.models import ApiToken


def issue_token(user, *, scopes: str = ApiToken.Scopes.WRITE, days: int = 30) -> str:
    return services.token_create(
        user=user,
        name=f"{user.username} test",
        scopes=scopes,
        expires_at=timezone.now() + datetime.timedelta(days=days),
    ).secret


class ApiClient:
    """Django's test client, through the whole middleware stack, with a Bearer token."""

    def __init__(self, client, token: str | None, language: str | None = None):
        self.client = client
        self.headers = {}
        if token is not None:
            self.headers["HTTP_AUTHORIZATION"] = f"Bearer {token}"
        if language is not None:
            self.headers["HTTP_ACCEPT_LANGUAGE"] = language

    def get(self, path: str, params: dict | None = None, **headers):
        return self.client.get("/api/v1" + path, params or {}, **self.headers, **headers)

    def send(self, method: str, path: str, body=None, *, raw: str | None = None, **headers):
        data = raw if raw is not None else ("" if body is None else json.dumps(body))
        return self.client.generic(
            method,
            "/api/v1" + path,
            data.encode("utf-8", "surrogatepass"),
            content_type="application/json",
            **self.headers,
            **headers,
        )

    def post(self, path: str, body=None, **headers):
        return self.send("POST", path, body, **headers)

    def patch(self, path: str, body=None, **headers):
        return self.send("PATCH", path, body, **headers)

    def delete(self, path: str, **headers):
        return self.send("DELETE", path, **headers)


@pytest.fixture(autouse=True)
def _fresh_rate_limits():
    cache.clear()
    yield
    cache.clear()
