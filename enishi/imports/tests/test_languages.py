"""A check's problems and notes, and a run's results, are stored for later: whoever reads them
(the preview, the rejected-rows file, the API) reads them in their own language, whatever the
language of the person who checked the file. Rows stored before still show what they said."""

import pytest
from django.urls import reverse
from django.utils import translation

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
    for texts in (PHONE, KIND, CREATED):
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
    assert rows[1]["notes"][0]["message"] == CREATED[reader]

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
