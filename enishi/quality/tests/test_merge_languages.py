"""A merge's remarks are kept for later: the merge page and the API show them in the reader's
language, whoever merged and in whichever language. Remarks stored before show what they said."""

import pytest
from django.urls import reverse
from django.utils import translation

from enishi.api.tests.conftest import ApiClient, issue_token
from enishi.core import testing
from enishi.core.later import translated
from enishi.core.templatetags.enishi import unbroken
from enishi.quality.merge import customer_merge
from enishi.quality.models import Merge

pytestmark = pytest.mark.django_db


def speaking(user, language: str):
    user.language = language
    user.save(update_fields=["language"])
    return user


def merged_in(language: str, actor) -> Merge:
    """Two kartes with codes: the one merged gives its code up, and the merge says so."""
    survivor = testing.make_customer(actor, name="佐藤 花子", code="C-001")
    other = testing.make_customer(actor, name="佐藤 花子", code="C-002")
    with translation.override(language):
        return customer_merge(actor=actor, survivor=survivor, others=[other])


def merge_page(client, reader, done: Merge) -> str:
    client.force_login(reader)
    response = client.get(reverse("quality:merge_detail", args=[done.pk]))
    assert response.status_code == 200
    return response.content.decode()


def api_remarks(client, reader, done: Merge, language: str) -> list[str]:
    client.logout()
    answer = ApiClient(client, issue_token(reader), language=language).get(f"/merges/{done.pk}")
    assert answer.status_code == 200, answer.content
    return answer.json()["remarks"]


@pytest.mark.parametrize(("merger", "reader"), [("ja", "en"), ("en", "ja")])
def test_a_merges_remarks_read_in_the_readers_language(client, alice, merger, reader):
    done = merged_in(merger, speaking(alice, merger))
    [stored] = done.notes
    assert stored["p"] == {"code": "C-002", "name": "佐藤 花子"}  # the msgid and its params
    remark = {}
    for language in ("ja", "en"):
        with translation.override(language):
            remark[language] = translated(stored)
    assert "C-002" in remark["en"] and "C-002" in remark["ja"]
    assert remark["en"] != remark["ja"] and remark["en"].startswith("The ")

    page = merge_page(client, speaking(alice, reader), done)
    # On the page the code is kept on one line: <span class="nowrap">C-002</span>.
    assert unbroken(remark[reader]) in page and unbroken(remark[merger]) not in page
    assert api_remarks(client, alice, done, reader) == [remark[reader]]


def test_remarks_stored_before_show_what_they_said(client, alice):
    done = merged_in("ja", speaking(alice, "ja"))
    old = "統合により、佐藤 花子の顧客コード C-002 は使われません。"
    Merge.objects.filter(pk=done.pk).update(notes=[old])
    assert unbroken(old) in merge_page(client, speaking(alice, "en"), done)
    assert api_remarks(client, alice, done, "en") == [old]
