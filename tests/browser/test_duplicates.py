"""名寄せ as a back-office clerk does it: typing a new customer who is already there, scanning
for duplicates, comparing a candidate, merging it (the activities end up on one karte) and
undoing the merge."""

import re

import pytest
from playwright.sync_api import expect

from enishi.activities.models import Activity
from enishi.core import testing
from enishi.customers.models import Customer
from enishi.quality.models import Merge

from .conftest import log_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def alice(transactional_db):
    return testing.make_user("alice", admin=True, name="有栖 アリス")


@pytest.fixture
def twins(alice):
    first = testing.make_customer(
        alice,
        name="山田 太郎",
        name_kana="ヤマダ タロウ",
        mobile="090-1234-5678",
        phone="03-1234-5678",
    )
    second = testing.make_customer(
        alice,
        name="山田 太郎",
        name_kana="ﾔﾏﾀﾞ ﾀﾛｳ",
        mobile="09012345678",
        email="taro@example.jp",
        phone="06-6543-2100",
    )
    testing.log_call(alice, first, subject="本体の電話")
    testing.log_call(alice, second, subject="重複側の電話")
    return first, second


def test_a_duplicate_is_hinted_found_compared_merged_and_unmerged(page, alice, twins):
    first, second = twins
    log_in(page)

    # Typing a customer who is already there: the hint appears before saving, with a link
    # that opens in a new tab (the typed input stays).
    page.goto("/customers/new/")
    page.fill("#id_name", "山田太郎")
    page.fill("#id_mobile", "090-1234-5678")
    hint = page.locator("#similar-hint .similar-hint")
    expect(hint).to_be_visible()
    link = hint.locator(f"a[href='/customers/{first.pk}/']")
    expect(link).to_have_attribute("target", "_blank")
    expect(hint).to_contain_text(re.compile("似たお客様がいます|Similar customers"))
    page.fill("#id_mobile", "080-0000-0000")
    page.fill("#id_name", "別人 花子")
    expect(page.locator("#similar-hint .similar-hint")).to_have_count(0)
    assert Customer.objects.count() == 2  # nothing saved

    # A scan from the queue page, with its progress in place.
    page.goto("/quality/duplicates/")
    page.locator("#scan-status button[type=submit]").click()
    page.locator("#scan-status a.button").click()
    row = page.locator("table.duplicates tbody tr[data-pair]")
    expect(row).to_have_count(1)
    expect(row).to_contain_text("山田 太郎")

    # Compare side by side, then merge.
    row.locator("a.pair-names").click()
    expect(page.locator("table.compare")).to_be_visible()
    expect(page.locator("table.compare tr.differs").first).to_be_visible()
    page.locator(".decide a.primary").click()
    expect(page.locator("#merge-table")).to_be_visible()

    # Choosing the other karte's phone updates the result column in place.
    phone_row = page.locator("#merge-table tr", has=page.locator("input[name=pick_phone]"))
    phone_row.locator(f"input[name=pick_phone][value='{second.pk}']").check()
    expect(
        page.locator("#merge-table tr", has=page.locator("input[name=pick_phone]")).locator(
            "td.result"
        )
    ).to_contain_text("06-6543-2100")
    page.locator("button[name=confirm]").click()

    # The survivor's karte has both kartes' activities and says what happened.
    expect(page).to_have_url(re.compile(rf"/customers/({first.pk}|{second.pk})/$"))
    survivor = Merge.objects.get().survivor
    expect(page.locator(".timeline")).to_contain_text("本体の電話")
    expect(page.locator(".timeline")).to_contain_text("重複側の電話")
    assert Activity.objects.filter(customer=survivor).count() == 2
    survivor.refresh_from_db()
    assert survivor.phone == "06-6543-2100"

    # The merged karte's old address leads to the survivor.
    merged = second if survivor.pk == first.pk else first
    page.goto(f"/customers/{merged.pk}/")
    expect(page).to_have_url(re.compile(rf"/customers/{survivor.pk}/$"))

    # Undo from the merge record: everything back.
    page.goto(Merge.objects.get().get_absolute_url())
    page.once("dialog", lambda dialog: dialog.accept())
    page.locator(".undo-card button[type=submit]").click()
    expect(page.locator(".messages")).to_be_visible()
    page.goto(f"/customers/{merged.pk}/")
    expect(page.locator("h1")).to_contain_text("山田 太郎")
    expect(page.locator(".timeline")).to_contain_text(
        "重複側の電話" if merged.pk == second.pk else "本体の電話"
    )
    assert Activity.objects.filter(customer=merged).count() == 1
