"""The upkeep pages' part of the permission matrices (enishi/customers/tests/test_permissions.py
and enishi/api/tests/test_permissions_api.py): house style and clean-up (admins only),
freshness report (everyone, their own kartes) and its "confirmed today" action."""

from enishi.core.models import StyleCleanup

# URL name -> {url parameter: key in the dict that secret_objects returns}
NEEDS: dict[str, dict[str, str]] = {
    "upkeep:data": {},
    "upkeep:style": {},
    "upkeep:cleanup": {},
    "upkeep:cleanup_run": {"pk": "cleanup"},
    "upkeep:cleanup_undo": {"pk": "cleanup"},
    "upkeep:freshness": {},
    "upkeep:confirm": {"pk": "carol"},
    "upkeep:confirm_many": {},
}
# Pages every signed-in user may open (their contents are still checked for leaks).
OPEN_TO_ALL: set[str] = {"upkeep:freshness", "upkeep:data", "upkeep:confirm_many"}
# Texts of Carol's records that must never appear in an answer to someone else.
SECRETS: tuple[str, ...] = ()


def secret_objects(carol, customer) -> dict:
    """A clean-up run started by an admin (Carol is not one, but the page is admin-only)."""
    return {
        "cleanup": StyleCleanup.objects.create(
            created_by=carol, company_name="keep", street="keep"
        ).pk
    }


def api_requests(ids: dict) -> list[tuple[str, str, dict | None]]:
    """Every API operation on one record: (method, path under /api/v1, body)."""
    return [("POST", f"/customers/{ids['customer']}/confirm", None)]
