"""This app's part of the permission matrices (enishi/customers/tests/test_permissions.py and
enishi/api/tests/test_permissions_api.py): every URL and every API operation on one record
must be listed here, with a record of Carol's (another team) to try it on."""

from enishi.transfer.models import Export

# URL name -> {url parameter: key in the dict that secret_objects returns}
NEEDS: dict[str, dict[str, str]] = {
    "transfer:customer_export": {},
    "transfer:export_list": {},
    # Administrators only: a 404 for everyone else.
    "transfer:full_export": {},
    "transfer:export_detail": {"pk": "export"},
    "transfer:export_status": {"pk": "export"},
    "transfer:export_download": {"pk": "export"},
    "transfer:export_discard": {"pk": "export"},
}
# Pages every signed-in user may open (their contents are still checked for leaks): everyone
# exports what they see, and sees the history of their own exports.
OPEN_TO_ALL: set[str] = {"transfer:customer_export", "transfer:export_list"}
# Texts of Carol's records that must never appear in an answer to someone else.
SECRETS: tuple[str, ...] = ("機密の書き出し", "機密の絞り込み語")


def secret_objects(carol, customer) -> dict:
    """Records of Carol's karte `customer` (containing SECRETS); keys as used in NEEDS.

    Carol's kept export of her list, searched for a secret word. The row is made directly
    (no file is written into the data folder by the matrix): for anyone but Carol and the
    administrators it must not exist."""
    export = Export.objects.create(
        created_by=carol,
        via="ui",
        kind=Export.Kind.CUSTOMERS,
        format=Export.Format.CSV_UTF8,
        status=Export.Status.DONE,
        background=True,
        row_count=1,
        done=1,
        total=1,
        columns=["name", "phone"],
        filters={"q": "機密の絞り込み語", "sort": "updated"},
        file_name="機密の書き出し.csv",
        path="0-matrix-never-written.csv",
    )
    return {"export": export.pk}


def api_requests(ids: dict) -> list[tuple[str, str, dict | None]]:
    """Every API operation on one record: (method, path under /api/v1, body)."""
    export = ids["export"]
    return [
        ("GET", f"/exports/{export}", None),
        ("GET", f"/exports/{export}/file", None),
        ("DELETE", f"/exports/{export}", None),
    ]
