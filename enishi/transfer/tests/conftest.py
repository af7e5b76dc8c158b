"""Personas for the export tests. Alice is an admin; Bob a member of 営業1課; Carol a member of
営業2課; Dave is read-only in 営業1課; Erin manages 営業1課. Messages and headers are asserted
in English (the Japanese catalogue is filled in later)."""

import pytest

from enishi.accounts.models import User
from enishi.core import testing
from enishi.customers.models import FieldDefinition


def in_english(user):
    user.language = "en"
    user.save(update_fields=["language"])
    return user


@pytest.fixture
def alice(alice):
    return in_english(alice)


@pytest.fixture
def bob(bob):
    return in_english(bob)


@pytest.fixture
def carol(db):
    return in_english(testing.make_user("carol", team="営業2課", name="キャロル"))


@pytest.fixture
def dave(db):
    dave = testing.make_user("dave", team="営業1課", name="デイブ")
    dave.role = User.Role.READONLY
    dave.save(update_fields=["role"])
    return in_english(dave)


@pytest.fixture
def erin(db):
    erin = testing.make_user("erin", team="営業1課", name="エリン")
    erin.role = User.Role.MANAGER
    erin.save(update_fields=["role"])
    return in_english(erin)


@pytest.fixture
def allergy(db):
    return FieldDefinition.objects.create(
        key="allergies", label_ja="アレルギー", label_en="Allergies", type="text", sensitive=True
    )


@pytest.fixture
def visits(db):
    return FieldDefinition.objects.create(
        key="last_visit", label_ja="最終来店日", label_en="Last visit", type="date"
    )


@pytest.fixture(autouse=True)
def data_dir(settings, tmp_path):
    """Kept export files go into a folder of the test's own, never the real data folder."""
    settings.DATA_DIR = tmp_path
    return tmp_path


@pytest.fixture
def small_threshold(settings):
    """Exports of more than 2 kartes go to the background."""
    settings.ENISHI_EXPORT_BACKGROUND_ROWS = 2
    return 2


@pytest.fixture(autouse=True)
def _fresh_rate_limits():
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()
