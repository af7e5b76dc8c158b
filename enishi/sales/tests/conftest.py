"""Personas beyond Alice (admin) and Bob (member, 営業1課): Carol is a member of 営業2課, Dave is
read-only in 営業1課. The renewal check remembers in the cache that it ran: each test starts
with a fresh cache."""

import pytest
from django.core.cache import cache

from enishi.accounts.models import User
from enishi.core import testing


@pytest.fixture(autouse=True)
def _fresh_cache():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def carol(db):
    return testing.make_user("carol", team="営業2課", name="キャロル")


@pytest.fixture
def dave(db):
    dave = testing.make_user("dave", team="営業1課", name="デイブ")
    dave.role = User.Role.READONLY
    dave.save()
    return dave


@pytest.fixture
def alice_api(client, alice):
    from enishi.api.tests.conftest import ApiClient, issue_token

    return ApiClient(client, issue_token(alice))


@pytest.fixture
def bob_api(client, bob):
    from enishi.api.tests.conftest import ApiClient, issue_token

    return ApiClient(client, issue_token(bob))
