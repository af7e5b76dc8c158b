"""Personas beyond the root conftest's Alice (admin) and Bob (member, 営業1課): Carol is a member
of 営業2課, Dave is read-only in 営業1課. Plus a karte of Bob's and API clients."""

import pytest
from django.core.cache import cache

from enishi.core import testing


@pytest.fixture(autouse=True)
def _default_categories(db):
    """The data migration's categories; a browser test (transactional) may have flushed them."""
    from importlib import import_module

    from django.apps import apps

    migration = import_module("enishi.inquiries.migrations.0002_default_categories")
    migration.create_default_categories(apps, None)


@pytest.fixture(autouse=True)
def _fresh_rate_limits():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def hanako(bob):
    """A karte of Bob's (営業1課): Bob, Dave and Alice see it; Carol does not."""
    return testing.make_customer(bob, name="佐藤 花子")
