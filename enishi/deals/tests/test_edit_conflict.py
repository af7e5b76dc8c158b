"""Two people edit the same deal: the second to save is told what the first changed after their
form was opened, and only that (as for a karte: enishi/customers/tests/test_edit_conflict.py)."""

import re
from decimal import Decimal

import pytest
from django.urls import reverse

from enishi.deals import services
from enishi.deals.tests.factories import make_deal

pytestmark = pytest.mark.django_db


@pytest.fixture
def deal(bob, company, stages):
    return make_deal(bob, company, stages["提案"], title="基幹システム更改")


def _opened(page: str) -> tuple[str, str]:
    version = re.search(r'name="version" value="(\d+)"', page).group(1)
    return version, re.search(r'name="opened_at" value="([^"]+)"', page).group(1)


def _panel(response) -> str:
    return response.content.decode().split('class="conflict card"')[1].split("</ol>")[0]


@pytest.mark.parametrize(
    ("language", "updated", "heading"),
    [
        ("ja", "更新", "編集中に、他のユーザーがこの商談を保存しました"),
        ("en", "Updated", "Someone else saved this deal while you were editing"),
    ],
)
def test_the_conflict_lists_only_the_changes_saved_after_the_form_was_opened(
    client, alice, bob, deal, stages, language, updated, heading
):
    alice.language = language
    alice.save()
    services.deal_update(actor=bob, deal=deal, data={"next_action": "前の連絡"}, version=1)
    client.force_login(alice)
    url = reverse("deals:edit", args=[deal.pk])
    version, opened_at = _opened(client.get(url).content.decode())
    assert version == "2"

    services.deal_update(actor=bob, deal=deal, data={"next_action": "ボブの連絡"}, version=2)
    services.deal_move(actor=bob, deal=deal, stage=stages["交渉"], version=3)
    data = {
        "title": "基幹システム更改",
        "amount": "1000000",
        "currency": "JPY",
        "owner": bob.pk,
        "next_action": "アリスの連絡",
        "version": version,
        "opened_at": opened_at,
    }
    response = client.post(url, data)
    assert response.status_code == 409
    body = response.content.decode()
    assert heading in body
    panel = _panel(response)
    assert panel.count('class="h-meta"') == 2 and updated in panel  # the move, then the edit
    assert "<del>前の連絡</del> → <ins>ボブの連絡</ins>" in panel
    assert "交渉" in panel
    assert "<ins>前の連絡</ins>" not in panel  # saved before the form was opened
    # Saving again on top of what was shown works, and the next conflict starts from there.
    again = _opened(body)
    assert again[0] == "4" and again[1] != opened_at
    response = client.post(url, {**data, "version": again[0], "opened_at": again[1]})
    assert response.status_code == 302
    deal.refresh_from_db()
    assert deal.next_action == "アリスの連絡" and deal.amount == Decimal("1000000")


def test_a_form_sent_back_with_errors_keeps_the_time_it_was_opened(client, bob, deal):
    client.force_login(bob)
    url = reverse("deals:edit", args=[deal.pk])
    version, opened_at = _opened(client.get(url).content.decode())
    response = client.post(
        url, {"title": "", "currency": "JPY", "version": version, "opened_at": opened_at}
    )
    assert response.status_code == 400
    assert f'name="opened_at" value="{opened_at}"' in response.content.decode()


def test_without_the_time_the_changes_since_the_version_are_listed(client, bob, deal):
    for version, note in enumerate(["一", "二", "三"], start=1):
        services.deal_update(actor=bob, deal=deal, data={"next_action": note}, version=version)
    client.force_login(bob)
    response = client.post(
        reverse("deals:edit", args=[deal.pk]),
        {"title": "x", "currency": "JPY", "owner": bob.pk, "version": "2"},
    )
    assert response.status_code == 409
    panel = _panel(response)
    assert panel.count('class="h-meta"') == 2  # versions 3 and 4, newest first
    assert panel.index("<ins>三</ins>") < panel.index("<ins>二</ins>")
    assert "<ins>一</ins>" not in panel


def test_the_create_form_has_no_opened_at(client, bob, company):
    client.force_login(bob)
    page = client.get(reverse("deals:create") + f"?customer={company.pk}").content.decode()
    assert 'name="title"' in page and 'name="opened_at"' not in page
