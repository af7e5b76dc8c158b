"""Team journeys: two people editing one karte at once, and a handover."""

import pytest
from playwright.sync_api import expect

from enishi.core import testing
from enishi.customers.models import Customer

from .conftest import log_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def team(transactional_db):
    alice = testing.make_user("alice", admin=True, name="有栖 アリス")
    bob = testing.make_user("bob", team="営業1課", name="坊 ボブ")
    carol = testing.make_user("carol", team="営業1課", name="キャロル")
    return alice, bob, carol


def test_an_edit_conflict_between_two_people_loses_nothing(browser, live_server, team):
    alice, bob, _ = team
    karte = testing.make_customer(bob, name="山田 太郎", notes="最初のメモ")
    contexts = [browser.new_context(base_url=live_server.url, locale="ja-JP") for _ in range(2)]
    try:
        alice_page, bob_page = (c.new_page() for c in contexts)
        log_in(alice_page, "alice")
        log_in(bob_page, "bob")
        for page in (alice_page, bob_page):
            page.goto(f"/customers/{karte.pk}/edit/")
        bob_page.fill("#id_notes", "ボブが先に保存したメモ")
        bob_page.click("button:has-text('保存')")
        expect(bob_page.locator("h1")).to_contain_text("山田 太郎")

        alice_page.fill("#id_notes", "アリスの新しいメモ")
        alice_page.click("button:has-text('保存')")
        conflict = alice_page.locator(".conflict")
        expect(conflict).to_be_visible()
        expect(conflict).to_contain_text("坊 ボブ")
        expect(conflict).to_contain_text("ボブが先に保存したメモ")
        expect(alice_page.locator("#id_notes")).to_have_value("アリスの新しいメモ")
        assert Customer.objects.get(pk=karte.pk).notes == "ボブが先に保存したメモ"

        alice_page.click("button:has-text('保存')")  # having seen Bob's change, Alice keeps hers
        expect(alice_page.locator(".karte-head h1")).to_contain_text("山田 太郎")
        assert Customer.objects.get(pk=karte.pk).notes == "アリスの新しいメモ"
    finally:
        for c in contexts:
            c.close()


def test_a_handover_moves_customers_with_a_note_on_each_karte(page, team):
    alice, bob, carol = team
    kartes = [testing.make_customer(bob, name=f"引継 顧客{i}") for i in range(3)]
    log_in(page, "alice")
    page.goto("/customers/handover/")
    page.select_option("#from", str(bob.pk))
    page.select_option("#to", [str(carol.pk)])
    page.fill("#note", "ボブは大阪支店へ異動。月末の請求は要確認。")
    page.click("button:has-text('プレビュー')")
    expect(page.locator("table.list")).to_contain_text("キャロル")
    page.click("form[method=post] button.primary")
    expect(page.locator(".messages")).to_contain_text("3")
    assert set(
        Customer.objects.filter(pk__in=[k.pk for k in kartes]).values_list("owner_id", flat=True)
    ) == {carol.pk}
    page.goto(f"/customers/{kartes[0].pk}/")
    expect(page.locator(".timeline")).to_contain_text("ボブは大阪支店へ異動")
    expect(page.locator(".karte")).to_contain_text("キャロル")
