"""Shared fixtures: personas that make tests read like prose.

Alice is an administrator; Bob is a member of staff on the sales team.
"""

import os

import pytest
from hypothesis import HealthCheck, settings

from enishi.core import testing

# Playwright's sync API runs an event loop in the test thread; the ORM calls the tests make
# beside it (setting up data) are still synchronous.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

settings.register_profile(
    "ci", max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


@pytest.fixture
def alice(db):
    return testing.make_user("alice", admin=True, name="有栖 アリス")


@pytest.fixture
def bob(db):
    return testing.make_user("bob", team="営業1課", name="坊 ボブ")


@pytest.fixture
def alice_client(client, alice):
    client.force_login(alice)
    return client


@pytest.fixture
def bob_client(client, bob):
    client.force_login(bob)
    return client
