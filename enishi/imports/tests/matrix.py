"""This app's part of the permission matrices (enishi/customers/tests/test_permissions.py and
enishi/api/tests/test_permissions_api.py): every URL and every API operation on one record
must be listed here, with a record of Carol's (another team) to try it on."""

from enishi.imports.models import ImportRow, ImportRun, ImportTemplate

# URL name -> {url parameter: key in the dict that secret_objects returns}
NEEDS: dict[str, dict[str, str]] = {
    "imports:start": {},
    "imports:detail": {"pk": "import_run"},
    "imports:mapping": {"pk": "import_run"},
    "imports:progress": {"pk": "import_run"},
    "imports:status": {"pk": "import_run"},
    "imports:preview": {"pk": "import_run"},
    "imports:decide": {"pk": "import_run", "number": "import_row"},
    "imports:execute": {"pk": "import_run"},
    "imports:resume": {"pk": "import_run"},
    "imports:result": {"pk": "import_run"},
    "imports:rejected": {"pk": "import_run"},
    "imports:undo": {"pk": "import_run"},
    "imports:discard": {"pk": "import_run"},
    # Templates are shared by everyone who imports; only their maker (or an admin) deletes one.
    "imports:template_delete": {"pk": "import_template"},
}
# Pages every signed-in user may open (their contents are still checked for leaks).
# (The upload page answers 404 to read-only users, who cannot import.)
OPEN_TO_ALL: set[str] = {"imports:start"}
# Texts of Carol's records that must never appear in an answer to someone else.
SECRETS: tuple[str, ...] = ("機密の取引先一覧", "機密インポート太郎", "機密の問題メッセージ")


def secret_objects(carol, customer) -> dict:
    """Records of Carol's karte `customer` (containing SECRETS); keys as used in NEEDS.

    Carol's import is at the preview with one rejected row, so every step has something to
    show (the file itself is never reached: others are refused before that)."""
    run = ImportRun.objects.create(
        created_by=carol,
        file_name="機密の取引先一覧.csv",
        stored_name="matrix/source.csv",
        file_format="csv",
        encoding="utf-8",
        delimiter=",",
        headers=["氏名", "電話番号"],
        sample=[["機密インポート太郎", "03-0000"]],
        mapping=["name", "phone"],
        status=ImportRun.Status.PREVIEW,
        row_count=1,
    )
    ImportRow.objects.create(
        run=run,
        number=1,
        line=2,
        kind="person",
        values=["機密インポート太郎", "03-0000"],
        problems=[["phone", "機密の問題メッセージ"]],
        category=ImportRow.Category.INVALID,
        match_id=customer.pk,
    )
    template = ImportTemplate.objects.create(
        name="キャロルの型", target="customers", created_by=carol, signature="x", mapping={}
    )
    return {"import_run": run.pk, "import_row": 1, "import_template": template.pk}


def api_requests(ids: dict) -> list[tuple[str, str, dict | None]]:
    """Every API operation on one record: (method, path under /api/v1, body)."""
    run = ids["import_run"]
    return [
        ("GET", f"/imports/{run}", None),
        ("GET", f"/imports/{run}/columns", None),
        ("PUT", f"/imports/{run}/layout", {"header_row": 1}),
        ("PUT", f"/imports/{run}/mapping", {"mapping": ["name", ""]}),
        ("POST", f"/imports/{run}/check", None),
        ("GET", f"/imports/{run}/rows", None),
        ("PUT", f"/imports/{run}/rules", {"duplicates": "skip"}),
        ("PUT", f"/imports/{run}/decision", {"number": 1, "decision": "skip"}),
        ("POST", f"/imports/{run}/run", None),
        ("POST", f"/imports/{run}/resume", None),
        ("POST", f"/imports/{run}/undo", {"confirm": True}),
        ("GET", f"/imports/{run}/rejected", None),
        ("DELETE", f"/imports/{run}", None),
    ]
