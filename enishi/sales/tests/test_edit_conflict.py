"""Two people edit the same order or contract: the second to save is told what the first changed
after their form was opened, and only that (as for a karte:
enishi/customers/tests/test_edit_conflict.py)."""

import datetime
import re

import pytest
from django.urls import reverse

from enishi.core import testing
from enishi.sales import services
from enishi.sales.tests.test_views import order_post

pytestmark = pytest.mark.django_db


@pytest.fixture
def customer(alice, bob):
    return testing.make_customer(alice, name="山田 太郎", owner=bob)


@pytest.fixture
def order(bob, customer):
    return services.order_create(
        actor=bob,
        customer=customer,
        data={},
        lines=[{"description": "点検", "unit_price": "3000", "tax_rate": 10}],
    )


@pytest.fixture
def contract(bob, customer):
    return services.contract_create(
        actor=bob, customer=customer, data={"plan": "月額", "starts_on": datetime.date(2026, 1, 1)}
    )


def _opened(page: str) -> tuple[str, str]:
    version = re.search(r'name="version" value="(\d+)"', page).group(1)
    return version, re.search(r'name="opened_at" value="([^"]+)"', page).group(1)


def _panel(response) -> str:
    return response.content.decode().split('class="conflict card"')[1].split("</ol>")[0]


def _order_data(note: str) -> dict:
    return order_post([{"description": "点検", "unit_price": "3000", "tax_rate": "10"}], note=note)


def _contract_data(note: str) -> dict:
    return {"plan": "月額", "starts_on": "2026-01-01", "period": "month", "note": note}


KINDS = {
    "order": ("sales:order_edit", services.order_update, _order_data, "受注", "order"),
    "contract": (
        "sales:contract_edit",
        services.contract_update,
        _contract_data,
        "契約",
        "contract",
    ),
}


def _update(kind, actor, record, note, version):
    update = KINDS[kind][1]
    return update(actor=actor, **{kind: record}, data={"note": note}, version=version)


@pytest.mark.parametrize("kind", list(KINDS))
@pytest.mark.parametrize(("language", "updated"), [("ja", "更新"), ("en", "Updated")])
def test_the_conflict_lists_only_the_changes_saved_after_the_form_was_opened(
    client, request, alice, bob, kind, language, updated
):
    record = request.getfixturevalue(kind)
    name, _, data, ja, en = KINDS[kind]
    heading = {
        "ja": f"編集中に、他のユーザーがこの{ja}を保存しました",
        "en": f"Someone else saved this {en} while you were editing",
    }[language]
    alice.language = language
    alice.save()
    _update(kind, bob, record, "前のメモ", 1)
    client.force_login(alice)
    url = reverse(name, args=[record.pk])
    version, opened_at = _opened(client.get(url).content.decode())
    assert version == "2"

    _update(kind, bob, record, "ボブのメモ", 2)
    response = client.post(
        url, {**data("アリスのメモ"), "version": version, "opened_at": opened_at}
    )
    assert response.status_code == 409
    body = response.content.decode()
    assert heading in body
    panel = _panel(response)
    assert panel.count('class="h-meta"') == 1 and updated in panel
    assert "<del>前のメモ</del> → <ins>ボブのメモ</ins>" in panel
    # Saving again on top of what was shown works, and the next conflict starts from there.
    again = _opened(body)
    assert again[0] == "3" and again[1] != opened_at
    response = client.post(
        url, {**data("アリスのメモ"), "version": again[0], "opened_at": again[1]}
    )
    assert response.status_code == 302
    record.refresh_from_db()
    assert record.note == "アリスのメモ"


@pytest.mark.parametrize("kind", list(KINDS))
def test_without_the_time_the_changes_since_the_version_are_listed(client, request, bob, kind):
    record = request.getfixturevalue(kind)
    for version, note in enumerate(["一", "二", "三"], start=1):
        _update(kind, bob, record, note, version)
    client.force_login(bob)
    name, _, data, *_ = KINDS[kind]
    response = client.post(reverse(name, args=[record.pk]), {**data("x"), "version": "2"})
    assert response.status_code == 409
    panel = _panel(response)
    assert panel.count('class="h-meta"') == 2  # versions 3 and 4, newest first
    assert panel.index("<ins>三</ins>") < panel.index("<ins>二</ins>")
    assert "<ins>一</ins>" not in panel


def test_the_order_keeps_the_time_it_was_opened_through_more_lines_and_previews(client, bob, order):
    client.force_login(bob)
    url = reverse("sales:order_edit", args=[order.pk])
    version, opened_at = _opened(client.get(url).content.decode())
    for action in ("add_line", "preview"):
        response = client.post(
            url, {**_order_data("x"), "action": action, "version": version, "opened_at": opened_at}
        )
        assert response.status_code == 200
        assert f'name="opened_at" value="{opened_at}"' in response.content.decode()


def test_a_contract_sent_back_with_errors_keeps_the_time_it_was_opened(client, bob, contract):
    client.force_login(bob)
    url = reverse("sales:contract_edit", args=[contract.pk])
    version, opened_at = _opened(client.get(url).content.decode())
    response = client.post(
        url, {**_contract_data("x"), "plan": "", "version": version, "opened_at": opened_at}
    )
    assert response.status_code == 400
    assert f'name="opened_at" value="{opened_at}"' in response.content.decode()


def test_the_create_forms_have_no_opened_at(client, bob, customer):
    client.force_login(bob)
    for name in ("sales:order_create", "sales:contract_create"):
        page = client.get(f"{reverse(name)}?customer={customer.pk}").content.decode()
        assert 'name="version"' in page and 'name="opened_at"' not in page
