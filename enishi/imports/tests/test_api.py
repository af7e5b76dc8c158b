"""The import wizard through the API: upload, columns, check, rows, decisions, run, rejected rows,
undo — with the same permissions as the screens."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from enishi.api.tests.conftest import ApiClient, issue_token
from enishi.core import testing
from enishi.customers.models import Customer
from enishi.imports.models import ImportRun

from .conftest import csv_bytes

pytestmark = pytest.mark.django_db

FILE = "顧客コード,氏名,電話番号,メール\nA1,山田 太郎,03-1234-5678,taro@example.jp\nA2,佐藤 花子,0312,hanako@example.jp\nA3,鈴木 一郎,090-1111-2222,ichiro@example.jp\n"


@pytest.fixture
def bob_api(client, bob):
    return ApiClient(client, issue_token(bob), language="en")


def upload(api, content: bytes, name="顧客.csv", target="customers"):
    return api.client.post(
        "/api/v1/imports",
        {"file": SimpleUploadedFile(name, content), "target": target},
        **api.headers,
    )


def test_the_whole_wizard(bob_api, bob):
    twin = testing.make_customer(bob, name="鈴木 一郎", mobile="090-1111-2222")
    response = upload(bob_api, csv_bytes(FILE, "cp932"))
    assert response.status_code == 201, response.content
    created = response.json()
    run_id = created["id"]
    assert (created["status"], created["encoding"], created["delimiter"]) == (
        "mapping",
        "cp932",
        ",",
    )
    assert created["mapping"] == ["code", "name", "phone", "email"]

    columns = bob_api.get(f"/imports/{run_id}/columns").json()
    assert columns["columns"][1]["samples"][0] == "山田 太郎"
    assert any(t["key"] == "name_kana" for t in columns["targets"])

    mapped = bob_api.send(
        "PUT", f"/imports/{run_id}/mapping", {"mapping": created["mapping"], "template_name": "API"}
    )
    assert mapped.status_code == 200 and mapped.json()["template_id"]

    checked = bob_api.post(f"/imports/{run_id}/check")
    assert checked.status_code == 202
    status = bob_api.get(f"/imports/{run_id}").json()
    assert status["status"] == "preview"
    assert status["actions"] == {"create": 1, "update": 0, "skip": 1, "reject": 1}

    rows = bob_api.get(f"/imports/{run_id}/rows", {"show": "all", "limit": 2}).json()
    assert [r["number"] for r in rows["results"]] == [1, 2] and rows["next_cursor"]
    bad = rows["results"][1]
    assert bad["action"] == "reject" and bad["problems"][0]["field"] == "phone"
    assert bad["problems"][0]["column"] == "電話番号"
    rest = bob_api.get(f"/imports/{run_id}/rows", {"cursor": rows["next_cursor"]}).json()
    third = rest["results"][0]
    assert (third["category"], third["match_id"]) == ("duplicate", twin.pk)
    assert "Same mobile number" in third["match_reason_labels"]

    decided = bob_api.send(
        "PUT", f"/imports/{run_id}/decision", {"number": 3, "decision": "update"}
    )
    assert decided.status_code == 200 and decided.json()["action"] == "update"
    rules = bob_api.send("PUT", f"/imports/{run_id}/rules", {"empty": "clear"})
    assert rules.json()["rules"]["empty"] == "clear"

    started = bob_api.post(f"/imports/{run_id}/run")
    assert started.status_code == 202
    done = bob_api.get(f"/imports/{run_id}").json()
    assert (
        done["status"] == "done"
        and done["counts"]["created"] == 1
        and done["counts"]["updated"] == 1
    )
    twin.refresh_from_db()
    assert twin.code == "A3"

    rejected = bob_api.get(f"/imports/{run_id}/rejected")
    assert rejected.status_code == 200
    assert "0312" in b"".join(rejected.streaming_content).decode("cp932")

    # Undo asks first: without confirming, nothing is undone and the answer says what would be.
    asked = bob_api.post(f"/imports/{run_id}/undo")
    assert asked.status_code == 409
    assert asked.json()["errors"][0]["code"] == "confirm_required"
    plan = asked.json()["undo_plan"]
    assert (plan["remove"], plan["restore"], plan["keep"]) == (1, 1, 0)
    assert "1 karte this import created will be deleted." in asked.json()["detail"]
    assert Customer.objects.count() == 2
    undone = bob_api.post(f"/imports/{run_id}/undo", {"confirm": True})
    assert undone.status_code == 202
    shown = bob_api.get(f"/imports/{run_id}").json()
    assert shown["status"] == "undone"
    assert shown["counts"]["undone"] == shown["counts"]["created"] + shown["counts"]["updated"]
    assert shown["counts"]["undone"] > 0
    assert list(Customer.objects.values_list("code", flat=True)) == [""]


def test_a_file_over_the_limit_is_413(bob_api, settings):
    settings.ENISHI_IMPORT_MAX_BYTES = 100
    response = upload(bob_api, b"a,b\n" * 100)
    assert response.status_code == 413
    assert "imports accept at most" in response.json()["detail"]


def test_a_file_that_is_not_a_spreadsheet_is_422_with_the_reason(bob_api):
    response = upload(bob_api, b"%PDF-1.4 xxx", name="a.xlsx")
    assert response.status_code == 422
    assert "PDF" in response.json()["detail"]


def test_an_encoding_the_file_is_not_in_is_422_with_the_reason(bob_api):
    run_id = upload(bob_api, FILE.encode("cp932")).json()["id"]
    response = bob_api.send("PUT", f"/imports/{run_id}/layout", {"encoding": "utf-16"})
    assert response.status_code == 422
    assert "UTF-16" in str(response.json()["detail"])
    # The import stays as it was, ready for another choice.
    assert (
        bob_api.send("PUT", f"/imports/{run_id}/layout", {"encoding": "cp932"}).status_code == 200
    )


def test_the_columns_say_when_the_chosen_encoding_cannot_read_the_sample(bob_api):
    run_id = upload(bob_api, FILE.encode("cp932")).json()["id"]
    assert bob_api.get(f"/imports/{run_id}/columns").json()["unreadable"] is False
    assert (
        bob_api.send("PUT", f"/imports/{run_id}/layout", {"encoding": "utf-8"}).status_code == 200
    )
    columns = bob_api.get(f"/imports/{run_id}/columns").json()
    assert columns["unreadable"] is True
    assert "\ufffd" in columns["columns"][1]["samples"][0]


def test_mapping_errors_are_422_and_steps_out_of_order_too(bob_api):
    run_id = upload(bob_api, FILE.encode()).json()["id"]
    response = bob_api.send(
        "PUT", f"/imports/{run_id}/mapping", {"mapping": ["phone", "phone", "", ""]}
    )
    assert response.status_code == 422
    assert bob_api.post(f"/imports/{run_id}/run").status_code == 422
    assert (
        bob_api.send(
            "PUT", f"/imports/{run_id}/mapping", {"mapping": ["x"], "extra": 1}
        ).status_code
        == 422
    )


def test_a_read_only_token_reads_but_does_not_import(client, bob):
    run_id = upload(ApiClient(client, issue_token(bob)), FILE.encode()).json()["id"]
    reader = ApiClient(client, issue_token(bob, scopes="read"))
    assert reader.get(f"/imports/{run_id}").status_code == 200
    assert reader.post(f"/imports/{run_id}/check").status_code == 403
    assert upload(reader, FILE.encode()).status_code == 403


def test_others_cannot_see_an_import(client, bob, carol):
    run_id = upload(ApiClient(client, issue_token(bob)), FILE.encode()).json()["id"]
    carol_api = ApiClient(client, issue_token(carol))
    assert carol_api.get(f"/imports/{run_id}").status_code == 404
    assert carol_api.get("/imports").json()["results"] == []
    assert carol_api.delete(f"/imports/{run_id}").status_code == 404
    assert ImportRun.objects.filter(pk=run_id).exists()


def test_an_import_that_wrote_nothing_can_be_discarded(bob_api):
    run_id = upload(bob_api, FILE.encode()).json()["id"]
    assert bob_api.delete(f"/imports/{run_id}").status_code == 204
    assert not ImportRun.objects.exists()


def test_each_rows_values_line_up_with_the_headers(bob_api, bob):
    run_id = upload(
        bob_api, "氏名,電話番号,メール,メモ\n山田 太郎,03-1234-5678,,\n".encode()
    ).json()["id"]
    bob_api.post(f"/imports/{run_id}/check")
    shown = bob_api.get(f"/imports/{run_id}").json()
    [row] = bob_api.get(f"/imports/{run_id}/rows").json()["results"]
    assert len(row["values"]) == len(shown["headers"]) == 4
    assert row["values"][2:] == ["", ""]


def test_undo_needs_confirming_and_says_first_what_it_would_do(bob_api, bob):
    from enishi.customers import services as customer_services

    response = upload(bob_api, FILE.encode())
    run_id = response.json()["id"]
    bob_api.post(f"/imports/{run_id}/check")
    bob_api.post(f"/imports/{run_id}/run")
    ichiro = Customer.objects.get(code="A3")
    customer_services.customer_update(
        actor=bob, customer=ichiro, data={"notes": "後から"}, version=ichiro.version
    )
    for body in (None, {"confirm": False}):
        asked = bob_api.post(f"/imports/{run_id}/undo", body)
        assert asked.status_code == 409
        answer = asked.json()
        assert answer["undo_plan"] | {"kept": None} == {
            "remove": 1,
            "restore": 0,
            "keep": 1,
            "kept": None,
            "sentences": [
                "1 karte this import created will be deleted.",
                "1 record was changed or worked on since the import and will be kept as it is.",
            ],
        }
        assert answer["undo_plan"]["kept"][0] | {"reason": ""} == {
            "number": 3,
            "line": 4,
            "id": ichiro.pk,
            "name": "鈴木 一郎",
            "reason": "",
        }
        assert answer["errors"] == [
            {
                "field": "confirm",
                "code": "confirm_required",
                "message": 'Nothing was undone: send {"confirm": true} to undo this import.',
            }
        ]
    assert bob_api.get(f"/imports/{run_id}").json()["status"] == "done"
    assert Customer.objects.count() == 2
    assert bob_api.post(f"/imports/{run_id}/undo", {"confirm": "yes"}).status_code == 422
    assert bob_api.post(f"/imports/{run_id}/undo", {"sure": True}).status_code == 422
    assert bob_api.post(f"/imports/{run_id}/undo", {"confirm": True}).status_code == 202
    assert bob_api.get(f"/imports/{run_id}").json()["status"] == "undone"
    assert list(Customer.objects.values_list("code", flat=True)) == ["A3"]


def test_an_import_that_cannot_be_undone_is_422_confirmed_or_not(bob_api):
    run_id = upload(bob_api, FILE.encode()).json()["id"]
    for body in (None, {"confirm": True}):
        response = bob_api.post(f"/imports/{run_id}/undo", body)
        assert response.status_code == 422
        assert "Only a finished or interrupted import can be undone." in response.json()["detail"]


def test_the_undo_operation_documents_its_confirmation(client):
    document = client.get("/api/openapi.json").json()
    operation = document["paths"]["/api/v1/imports/{id}/undo"]["post"]
    assert {"202", "409", "422"} <= set(operation["responses"])
    assert '{"confirm": true}' in operation["description"]
    assert operation["requestBody"]["required"] is False


def test_a_formula_never_calculated_is_a_problem_on_its_column_in_the_readers_language(
    bob_api, client, bob
):
    import io

    import openpyxl

    workbook = openpyxl.Workbook()
    workbook.active.append(["氏名", "電話番号", "備考"])
    workbook.active.append(["山田 太郎", "03-1234-5678", '=B2&"まで"'])
    out = io.BytesIO()
    workbook.save(out)
    run_id = upload(bob_api, out.getvalue(), name="顧客.xlsx").json()["id"]
    bob_api.post(f"/imports/{run_id}/check")
    row = bob_api.get(f"/imports/{run_id}/rows").json()["results"][0]
    assert row["action"] == "reject" and row["values"][2] == '=B2&"まで"'
    assert row["problems"] == [
        {
            "field": "notes",
            "column": "備考",
            "message": 'This cell holds a formula (=B2&"まで") whose result was never saved: '
            "open the file in Excel, save it, and upload it again.",
        }
    ]
    japanese = ApiClient(client, issue_token(bob), language="ja")
    message = japanese.get(f"/imports/{run_id}/rows").json()["results"][0]["problems"][0]
    assert "数式" in message["message"] and '=B2&"まで"' in message["message"]


def test_merged_cells_are_read_as_excel_shows_them(bob_api):
    """Down the rows: the company of each contact; across columns: the first one only; a
    heading merged across columns names each of them."""
    import io

    import openpyxl

    workbook = openpyxl.Workbook()
    ws = workbook.active
    ws.append(["会社名", "氏名", "連絡先", None, "担当"])
    ws.append(["株式会社山田商事", "山田 太郎", "03-1234-5678", "taro@example.jp", "電話は午後"])
    ws.append([None, "山田 花子", "03-1234-9999", None, None])
    ws.merge_cells("C1:D1")
    ws.merge_cells("A2:A3")
    ws.merge_cells("E2:F2")
    out = io.BytesIO()
    workbook.save(out)
    created = upload(bob_api, out.getvalue(), name="顧客.xlsx").json()
    assert created["headers"] == ["会社名", "氏名", "連絡先", "連絡先 (2)", "担当"]
    bob_api.send(
        "PUT",
        f"/imports/{created['id']}/mapping",
        {"mapping": ["company_name", "name", "phone", "email", "notes"]},
    )
    bob_api.post(f"/imports/{created['id']}/check")
    rows = bob_api.get(f"/imports/{created['id']}/rows").json()["results"]
    assert [r["values"] for r in rows] == [
        ["株式会社山田商事", "山田 太郎", "03-1234-5678", "taro@example.jp", "電話は午後"],
        ["株式会社山田商事", "山田 花子", "03-1234-9999", "", ""],
    ]
    assert [r["action"] for r in rows] == ["create", "create"]


def test_a_target_the_user_may_not_use_is_named_in_the_errors(bob_api):
    from enishi.customers.models import FieldDefinition

    FieldDefinition.objects.create(key="service_notes", label_ja="対応メモ", sensitive=True)
    run_id = upload(bob_api, FILE.encode()).json()["id"]
    response = bob_api.send(
        "PUT", f"/imports/{run_id}/mapping", {"mapping": ["code", "cf:service_notes", "", ""]}
    )
    assert response.status_code == 422
    errors = response.json()["errors"]
    assert [e["field"] for e in errors] == ["mapping.1"]
    assert "cf:service_notes" in errors[0]["message"]

    twice = bob_api.send(
        "PUT", f"/imports/{run_id}/mapping", {"mapping": ["phone", "phone", "", ""]}
    )
    assert {e["field"] for e in twice.json()["errors"]} == {"mapping.1", "mapping"}
    short = bob_api.send("PUT", f"/imports/{run_id}/mapping", {"mapping": ["code"]})
    assert [e["field"] for e in short.json()["errors"]] == ["mapping"]
    kind = bob_api.send(
        "PUT", f"/imports/{run_id}/mapping", {"mapping": ["code", "", "", ""], "default_kind": "x"}
    )
    assert "default_kind" in [e["field"] for e in kind.json()["errors"]]


@pytest.mark.parametrize("cursor", [{"id": -1}, {"id": 10**30}, {"id": 1e30}, {"id": "1"}, {}])
def test_a_bad_cursor_is_422_as_on_the_other_lists(bob_api, cursor):
    import base64
    import json

    upload(bob_api, FILE.encode())
    token = base64.urlsafe_b64encode(json.dumps(cursor).encode()).decode().rstrip("=")
    response = bob_api.get("/imports", {"cursor": token})
    assert response.status_code == 422, response.content
    assert response.json()["errors"][0]["field"] == "cursor"
    assert bob_api.get("/exports", {"cursor": token}).status_code == 422


def test_a_bad_rows_cursor_is_422(bob_api):
    import base64
    import json

    run_id = upload(bob_api, FILE.encode()).json()["id"]
    for cursor in ({"number": -1}, {"number": 10**30}):
        token = base64.urlsafe_b64encode(json.dumps(cursor).encode()).decode().rstrip("=")
        response = bob_api.get(f"/imports/{run_id}/rows", {"show": "all", "cursor": token})
        assert response.status_code == 422, response.content
