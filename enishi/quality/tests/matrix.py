"""This app's part of the permission matrices (enishi/customers/tests/test_permissions.py and
enishi/api/tests/test_permissions_api.py): every URL and every API operation on one record
must be listed here, with a record of Carol's (another team) to try it on."""

from django.utils import timezone

# URL name -> {url parameter: key in the dict that secret_objects returns}
NEEDS: dict[str, dict[str, str]] = {
    "quality:duplicates": {},
    "quality:scan_start": {},
    "quality:scan_status": {"pk": "quality_scan"},
    "quality:compare": {"pk": "quality_pair"},
    "quality:dismiss": {"pk": "quality_pair"},
    "quality:reopen": {"pk": "quality_dismissed_pair"},
    # Without ?ids= of kartes the user may change, there is nothing to merge (404).
    "quality:merge": {},
    "quality:merge_list": {},
    "quality:merge_detail": {"pk": "quality_merge"},
    "quality:merge_undo": {"pk": "quality_merge"},
    "quality:similar": {},
}
# Pages every signed-in user may open (their contents are still checked for leaks). Scans are
# for managers and admins (a manager of another team may start one and follow it: a scan
# shows no karte); the hint answers writers with kartes they may see.
OPEN_TO_ALL: set[str] = {
    "quality:duplicates",
    "quality:scan_start",
    "quality:scan_status",
    "quality:merge_list",
    "quality:similar",
}
# Texts of Carol's records that must never appear in an answer to someone else.
SECRETS: tuple[str, ...] = ("機密重複 一郎", "機密統合 次郎", "機密別人 三郎")


def secret_objects(carol, customer) -> dict:
    """Records of Carol's (containing SECRETS); keys as used in NEEDS: an open candidate pair
    with her karte `customer`, one marked "not a duplicate", a merge of two kartes of hers (not
    of `customer`, which the matrix checks is left unchanged), and a scan."""
    from enishi.core import testing
    from enishi.quality.merge import customer_merge
    from enishi.quality.models import DuplicatePair, ScanRun

    twin = testing.make_customer(carol, name="機密重複 一郎", phone="03-5555-9876")
    stranger = testing.make_customer(carol, name="機密別人 三郎", phone="03-5555-9876")
    merged = testing.make_customer(carol, name="機密統合 次郎", notes="機密統合 次郎のメモ")
    now = timezone.now()
    scan = ScanRun.objects.create(
        started_by=carol, threshold=0.5, status=ScanRun.Status.DONE, finished_at=now
    )
    a, b = sorted((customer.pk, twin.pk))
    pair = DuplicatePair.objects.create(
        a_id=a, b_id=b, score=0.93, reasons=["same_phone"], found_at=now, scan=scan
    )
    a, b = sorted((twin.pk, stranger.pk))
    dismissed = DuplicatePair.objects.create(
        a_id=a,
        b_id=b,
        score=0.55,
        reasons=["same_phone"],
        found_at=now,
        status=DuplicatePair.Status.DISMISSED,
        decided_by=carol,
        decided_at=now,
    )
    merge = customer_merge(actor=carol, survivor=twin, others=[merged])
    return {
        "quality_pair": pair.pk,
        "quality_dismissed_pair": dismissed.pk,
        "quality_merge": merge.pk,
        "quality_scan": scan.pk,
        "quality_twin": twin.pk,
        "quality_stranger": stranger.pk,
    }


def api_requests(ids: dict) -> list[tuple[str, str, dict | None]]:
    """Every API operation on one record: (method, path under /api/v1, body)."""
    pair, merge = ids["quality_pair"], ids["quality_merge"]
    survivor, other = ids["quality_twin"], ids["quality_stranger"]
    return [
        ("GET", f"/duplicates/{pair}", None),
        ("GET", f"/duplicate-scans/{ids['quality_scan']}", None),
        ("POST", f"/duplicates/{pair}/dismiss", None),
        ("POST", f"/duplicates/{pair}/reopen", None),
        (
            "POST",
            "/merges",
            {
                "survivor_id": survivor,
                "other_ids": [other],
                "versions": {str(survivor): 1, str(other): 1},
            },
        ),
        ("GET", f"/merges/{merge}", None),
        ("POST", f"/merges/{merge}/undo", None),
    ]
