"""The calendar feed and other activities pages: their part of the permission matrices (enishi/customers/tests/test_permissions.py and
enishi/api/tests/test_permissions_api.py): every URL and every API operation on one record
must be listed here, with a record of Carol's (another team) to try it on."""

# URL name -> {url parameter: key in the dict that secret_objects returns}
NEEDS: dict[str, dict[str, str]] = {}
# Pages every signed-in user may open (their contents are still checked for leaks).
OPEN_TO_ALL: set[str] = set()
# Texts of Carol's records that must never appear in an answer to someone else.
SECRETS: tuple[str, ...] = ()


def secret_objects(carol, customer) -> dict:
    """Records of Carol's karte `customer` (containing SECRETS); keys as used in NEEDS."""
    return {}


def api_requests(ids: dict) -> list[tuple[str, str, dict | None]]:
    """Every API operation on one record: (method, path under /api/v1, body)."""
    return []
