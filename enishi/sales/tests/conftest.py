"""The renewal check remembers in the cache that it ran: each test starts with a fresh cache.
(The personas Carol, Dave and Erin live in the root conftest.py.)"""

import pytest
from django.core.cache import cache


@pytest.fixture(autouse=True)
def _fresh_cache():
    cache.clear()
    yield
    cache.clear()
