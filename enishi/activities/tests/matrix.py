"""The calendar feed and other activities pages: their part of the permission matrices (enishi/customers/tests/test_permissions.py and
enishi/api/tests/test_permissions_api.py): every URL and every API operation on one record
must be listed here, with a record of Carol's (another team) to try it on.

The feed's URL is its own key (no log-in): with a secret that is not an active feed's, it
answers 404 to everyone. The calendar page and its buttons act on the signed-in user's own
subscription only."""

from enishi.activities import calendar

# URL name -> {url parameter: key in the dict that secret_objects returns}
NEEDS: dict[str, dict[str, str]] = {
    "activities:calendar": {},
    "activities:calendar_reset": {},
    "activities:calendar_revoke": {},
    "activities:calendar_feed": {"secret": "calendar_bad_secret"},
}
# Pages every signed-in user may open (their contents are still checked for leaks).
OPEN_TO_ALL: set[str] = {
    "activities:calendar",
    "activities:calendar_reset",
    "activities:calendar_revoke",
}
# Texts of Carol's records that must never appear in an answer to someone else. A calendar
# feed has no text of its own: what it shows are tasks and renewals, checked by the matrices of
# the karte (Carol's tasks) and of sales (her contracts).
SECRETS: tuple[str, ...] = ()


def secret_objects(carol, customer) -> dict:
    """Records of Carol's karte `customer` (containing SECRETS); keys as used in NEEDS.

    Carol has a live calendar feed; the URL tried is a well-formed secret that is not hers
    (nobody else can know hers). No task is added: the API matrix counts the karte's tasks."""
    calendar.calendar_feed_create(user=carol)
    return {"calendar_bad_secret": "A" * 43}


def api_requests(ids: dict) -> list[tuple[str, str, dict | None]]:
    """Every API operation on one record: (method, path under /api/v1, body)."""
    return []
