"""Shared fixtures: personas that make tests read like prose.

Alice is an administrator; Bob is a member of staff on the sales team.
"""

import os
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

from enishi.accounts.models import User
from enishi.core import testing

# Playwright's sync API runs an event loop in the test thread; the ORM calls the tests make
# beside it (setting up data) are still synchronous.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

settings.register_profile(
    "ci", max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    # argon2 takes ~0.3 s per password by design; tests create many users. What production
    # hashes with is checked in enishi/accounts/tests/test_passwords.py.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(scope="session")
def django_db_modify_db_settings(django_db_modify_db_settings_parallel_suffix):
    """SQLite tests run on a file, as in production: WAL, IMMEDIATE transactions and real
    concurrent connections behave as they do for users (an in-memory database does not)."""
    from django.conf import settings as django_settings

    database = django_settings.DATABASES["default"]
    if database["ENGINE"].endswith("sqlite3"):
        worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
        name = Path(tempfile.gettempdir()) / f"enishi-test-{os.getpid()}-{worker}.sqlite3"
        database.setdefault("TEST", {})["NAME"] = str(name)


@pytest.fixture(autouse=True)
def _private_data_dir(settings, tmp_path):
    # Exports, imports and other files the app keeps go to a folder of the test's own.
    settings.DATA_DIR = tmp_path / "data"
    settings.DATA_DIR.mkdir()


@pytest.fixture(autouse=True)
def _default_language():
    # A request by a user who reads English leaves English active in the thread (the language
    # middleware activates each user's language): every test starts in the default language.
    from django.utils import translation

    translation.deactivate()
    yield
    translation.deactivate()


@pytest.fixture(autouse=True)
def _default_house_style():
    # The house style is cached per process; a test starts from the default without a query,
    # and one that changes the style cannot leak it into the next test.
    from enishi.quality import house_style

    house_style.remember(house_style.Style())
    yield
    house_style.forget()


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


# Personas beyond Alice and Bob: Carol is a member of 営業2課, Dave is read-only in 営業1課,
# Erin manages 営業1課.
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
def erin(db):
    erin = testing.make_user("erin", team="営業1課", name="エリン")
    erin.role = User.Role.MANAGER
    erin.save()
    return erin


@pytest.fixture
def alice_api(client, alice):
    from enishi.api.tests.conftest import ApiClient, issue_token

    return ApiClient(client, issue_token(alice))


@pytest.fixture
def bob_api(client, bob):
    from enishi.api.tests.conftest import ApiClient, issue_token

    return ApiClient(client, issue_token(bob))
