"""A check's problems and notes, and a run's results, are stored for later: whoever reads them
(the preview, the rejected-rows file, the API) reads them in their own language, whatever the
language of the person who checked the file. Rows stored before still show what they said."""

import pytest
from django.urls import reverse
from django.utils import translation
from django.utils.html import escape

from enishi.api.tests.conftest import ApiClient, issue_token
from enishi.imports.models import ImportRow

from .conftest import check, run_import, upload

pytestmark = pytest.mark.django_db

FILE = "氏名,会社名,電話番号,種別\n山田 太郎,株式会社青空,0312,宇宙人\n佐藤 花子,株式会社青空,03-1234-5678,個人\n"

PHONE = {
    "en": "Enter a valid phone number with area code, e.g. 03-1234-5678.",
    "ja": "市外局番を含む正しい電話番号を入力してください（例：03-1234-5678）。",
}
KIND = {
    "en": "“宇宙人” is not one of the choices: Company, Person",
    "ja": "「宇宙人」は選択肢にありません（選択肢：法人、個人）",
}
CREATED = {
    "en": "The company “株式会社青空” will be created.",
    "ja": "法人「株式会社青空」を新しく作成します。",
}
# The preview's line for the company a person row names.
NEW_COMPANY = {
    "en": '株式会社青空 <span class="muted">(new: this import creates it)</span>',
    "ja": '株式会社青空 <span class="muted">（新規：この取り込みで作成します）</span>',
}
REASON = {"en": "Why it was rejected", "ja": "エラー内容"}


def speaking(user, language: str):
    user.language = language
    user.save(update_fields=["language"])
    return user


def checked_in(language: str, actor):
    with translation.override(language):
        return check(actor, upload(actor, FILE.encode()))


def preview(client, reader, run) -> str:
    client.force_login(reader)
    response = client.get(reverse("imports:preview", args=[run.pk]), {"show": "all"})
    assert response.status_code == 200
    return response.content.decode()


def rejected(client, reader, run) -> str:
    client.force_login(reader)
    response = client.get(reverse("imports:rejected", args=[run.pk]))
    return b"".join(response.streaming_content).decode("utf-8-sig")


def api_rows(client, reader, run, language: str) -> list[dict]:
    api = ApiClient(client, issue_token(reader), language=language)
    response = api.get(f"/imports/{run.pk}/rows", {"show": "all"})
    assert response.status_code == 200, response.content
    return response.json()["results"]


@pytest.mark.parametrize(("checker", "reader"), [("ja", "en"), ("en", "ja")])
def test_a_check_in_one_language_reads_in_the_readers(client, alice, bob, checker, reader):
    run = checked_in(checker, speaking(bob, checker))
    speaking(alice, reader)  # an administrator reads everyone's imports

    body = preview(client, alice, run)
    for texts in (PHONE, KIND, NEW_COMPANY):
        assert texts[reader] in body
        assert texts[checker] not in body

    download = rejected(client, alice, run)
    header, first = download.splitlines()[:2]
    assert header.endswith(REASON[reader])
    assert PHONE[reader] in first and KIND[reader] in first
    assert PHONE[checker] not in download

    rows = api_rows(client, alice, run, reader)
    messages = {p["field"]: p["message"] for p in rows[0]["problems"]}
    assert messages == {"phone": PHONE[reader], "kind": KIND[reader]}
    assert rows[1]["company_link"]["text"] == CREATED[reader]

    # After the run the reasons are the run's results: still in the reader's language.
    with translation.override(checker):
        run_import(bob, run)
    assert run.rows.get(number=1).result == ImportRow.Result.REJECTED
    download = rejected(client, alice, run)
    assert PHONE[reader] in download and PHONE[checker] not in download
    result = api_rows(client, alice, run, reader)[0]["result_message"]
    assert PHONE[reader] in result and KIND[reader] in result


def test_rows_stored_before_show_what_they_said(client, alice, bob):
    run = checked_in("ja", speaking(bob, "ja"))
    speaking(alice, "en")
    run.rows.filter(number=1).update(
        problems=[["phone", "電話番号の形式が違います（古い行）。"]],
        notes=[["company_name", "古いメモ。"]],
    )
    body = preview(client, alice, run)
    assert "電話番号の形式が違います（古い行）。" in body and "古いメモ。" in body
    assert "電話番号の形式が違います（古い行）。" in rejected(client, alice, run)
    rows = api_rows(client, alice, run, "en")
    assert rows[0]["problems"][0]["message"] == "電話番号の形式が違います（古い行）。"

    run.rows.filter(number=1).update(result=ImportRow.Result.REJECTED, result_message="古い理由。")
    assert "古い理由。" in rejected(client, alice, run)
    assert api_rows(client, alice, run, "en")[0]["result_message"] == "古い理由。"


# --- orders and contracts: the sales rules' problems are stored for later too ---------------------

ORDERS = "受注番号,顧客コード,受注日,品名,単価,数量,値引\nA-1,C001,2024/4/1,工事費,1000,1,5000\n"
CONTRACTS = "顧客コード,プラン,開始日,終了日,金額\nC001,点検プラン,2024/4/1,2024/3/31,5000\n"
DISCOUNT = {
    "en": "Line 1: the discount cannot be more than the line's 1,000 yen.",
    "ja": "明細1：値引きは明細の金額（1,000円）を超えられません。",
}
ENDS = {
    "en": "The end cannot be before the start.",
    "ja": "終了日を開始日より前にすることはできません。",
}


@pytest.mark.parametrize(("checker", "reader"), [("ja", "en"), ("en", "ja")])
@pytest.mark.parametrize(
    ("target", "text", "field", "message"),
    [("orders", ORDERS, "discount", DISCOUNT), ("contracts", CONTRACTS, "ends_on", ENDS)],
)
def test_the_sales_rules_problems_read_in_the_readers_language(
    client, alice, bob, checker, reader, target, text, field, message
):
    from enishi.core import testing

    testing.make_customer(bob, name="山田 太郎", code="C001")
    speaking(bob, checker)
    with translation.override(checker):
        run = check(bob, upload(bob, text.encode(), target=target))
    assert run.rows.get().category == ImportRow.Category.INVALID
    speaking(alice, reader)

    body = preview(client, alice, run)
    assert escape(message[reader]) in body and escape(message[checker]) not in body
    download = rejected(client, alice, run)
    assert message[reader] in download.splitlines()[1] and message[checker] not in download
    problems = api_rows(client, alice, run, reader)[0]["problems"]
    assert {"field": field, "message": message[reader]} in [
        {"field": p["field"], "message": p["message"]} for p in problems
    ]


# --- the run's own messages: why the file could not be checked, notes about the file ------------

NO_ROWS = {
    "en": "The file has no data rows below the header row.",
    "ja": "見出し行の下にデータの行がありません。",
}
AS_CSV = {
    "en": "The file is named like a workbook but contains text: it is read as CSV.",
    "ja": "ファイル名はExcelブックですが中身はテキストのため、CSVとして読み込みました。",
}
TAKEN_BACK = {
    "en": "Everything it had written was taken back",
    "ja": "書き込み済みの分はすべて元に戻したため",
}


def mapping_page(client, reader, run) -> str:
    client.force_login(reader)
    response = client.get(reverse("imports:mapping", args=[run.pk]))
    assert response.status_code == 200
    return response.content.decode()


@pytest.mark.parametrize(("checker", "reader"), [("ja", "en"), ("en", "ja")])
def test_a_runs_error_and_notes_read_in_the_readers_language(client, alice, bob, checker, reader):
    speaking(bob, checker)
    with translation.override(checker):
        run = check(bob, upload(bob, "氏名,電話番号\n".encode(), name="顧客.xlsx"))
    assert run.error.startswith('{"m":') and run.notes == [{"m": AS_CSV["en"]}]
    speaking(alice, reader)

    body = mapping_page(client, alice, run)
    for texts in (NO_ROWS, AS_CSV):
        assert texts[reader] in body and texts[checker] not in body
    api = ApiClient(client, issue_token(alice), language=reader)
    assert api.get(f"/imports/{run.pk}").json()["error"] == NO_ROWS[reader]
    with translation.override(reader):
        assert run.error_text == NO_ROWS[reader] and run.notes_text == [AS_CSV[reader]]


@pytest.mark.parametrize(("checker", "reader"), [("ja", "en"), ("en", "ja")])
def test_why_an_import_stopped_reads_in_the_readers_language(
    client, alice, bob, checker, reader, monkeypatch
):
    from enishi.imports import writing

    def fail(self, rows, companies):
        raise RuntimeError("disk full")

    speaking(bob, checker)
    with translation.override(checker):
        run = check(bob, upload(bob, "氏名\n山田 太郎\n".encode()))
        monkeypatch.setattr(writing.CustomerWriter, "create", fail)
        run = run_import(bob, run)
    assert run.status == run.Status.FAILED
    speaking(alice, reader)
    client.force_login(alice)
    body = client.get(reverse("imports:result", args=[run.pk])).content.decode()
    assert TAKEN_BACK[reader] in body and TAKEN_BACK[checker] not in body
    api = ApiClient(client, issue_token(alice), language=reader)
    assert TAKEN_BACK[reader] in api.get(f"/imports/{run.pk}").json()["error"]


def test_a_runs_error_and_notes_stored_before_show_what_they_said(client, alice, bob):
    run = checked_in("ja", speaking(bob, "ja"))
    run.status = run.Status.MAPPING
    run.error, run.notes = "古いエラー。", ["古いメモ。"]
    run.save(update_fields=["status", "error", "notes"])
    run.rows.all().delete()
    body = mapping_page(client, speaking(alice, "en"), run)
    assert "古いエラー。" in body and "古いメモ。" in body
    api = ApiClient(client, issue_token(alice), language="en")
    assert api.get(f"/imports/{run.pk}").json()["error"] == "古いエラー。"
