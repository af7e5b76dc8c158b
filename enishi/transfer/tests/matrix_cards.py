"""This app's part of the permission matrices (enishi/customers/tests/test_permissions.py and
enishi/api/tests/test_permissions_api.py): every URL and every API operation on one record
must be listed here, with a record of Carol's (another team) to try it on."""

# URL name -> {url parameter: key in the dict that secret_objects returns}
NEEDS: dict[str, dict[str, str]] = {
    "cards:vcard": {"pk": "carol"},
    "cards:pdf": {"pk": "carol"},
    "cards:qr": {"pk": "carol"},
    # The list's selection: everyone gets their own list's kartes (read-only users too).
    "cards:selection": {},
    # Members may import (read-only users get 404); a preview lives in its user's session.
    "cards:import": {},
    "cards:import_preview": {"batch": "cards_batch"},
    "cards:import_done": {"batch": "cards_batch"},
}
# Pages every signed-in user may open (their contents are still checked for leaks).
OPEN_TO_ALL: set[str] = {"cards:selection", "cards:import"}
# Texts of Carol's records that must never appear in an answer to someone else (her karte's
# name is checked by the matrix itself; her vCard imports are tested in test_card_views.py).
SECRETS: tuple[str, ...] = ()


def secret_objects(carol, customer) -> dict:
    """Records of Carol's karte `customer` (containing SECRETS); keys as used in NEEDS.

    An import preview lives in its user's session and its result is found by its history
    batch, so any batch id another user tries is unknown to them. No karte is created here:
    the API matrix counts Carol's kartes."""
    return {"cards_batch": "0123456789ab"}


def api_requests(ids: dict) -> list[tuple[str, str, dict | None]]:
    """Every API operation on one record: (method, path under /api/v1, body)."""
    customer = ids["customer"]
    return [
        ("GET", f"/customers/{customer}/vcard", None),
        ("GET", f"/customers/{customer}/vcard?version=4.0&contacts=true", None),
        ("GET", f"/customers/{customer}/pdf", None),
    ]
