"""The "似たお客様がいます" hint of the new-customer form: asked by htmx while typing, showing only
kartes the user may see, with links that open in a new tab; nothing when nothing is similar."""

import pytest
from django.urls import reverse

from enishi.core import testing
from enishi.customers.models import Customer

pytestmark = pytest.mark.django_db

HINT = ("似たお客様がいます", "Similar customers already exist")


def hint(client, **data) -> str:
    response = client.post(reverse("quality:similar"), data, headers={"HX-Request": "true"})
    assert response.status_code == 200
    return response.content.decode()


def test_the_new_customer_form_asks_for_the_hint_while_typing(bob_client):
    page = bob_client.get(reverse("customers:create")).content.decode()
    assert 'id="similar-hint"' in page
    url = reverse("quality:similar")
    for name in ("name", "family_name", "given_name", "name_kana", "phone", "email", "mobile"):
        field = (
            page.split(f'name="{name}"')[0].rsplit("<input", 1)[1]
            + page.split(f'name="{name}"')[1].split(">")[0]
        )
        assert f'hx-post="{url}"' in field, name
        assert 'hx-trigger="input changed delay:400ms"' in field, name
        assert 'hx-include="closest form"' in field, name
    assert 'hx-trigger="change"' in page  # the company choice
    assert "<script>" not in page


def test_the_edit_form_has_no_hint(bob_client, bob):
    customer = testing.make_customer(bob, name="山田 太郎")
    page = bob_client.get(reverse("customers:edit", args=[customer.pk])).content.decode()
    assert 'id="similar-hint"' not in page and reverse("quality:similar") not in page


def test_a_similar_karte_is_shown_with_a_link_in_a_new_tab_and_the_reasons(bob_client, bob):
    existing = testing.make_customer(
        bob, name="山田 太郎", name_kana="ヤマダ タロウ", mobile="090-1234-5678"
    )
    fragment = hint(bob_client, kind="person", name="山田太郎", mobile="09012345678")
    assert any(h in fragment for h in HINT)
    assert f'href="{existing.get_absolute_url()}" target="_blank" rel="noopener"' in fragment
    assert "同じ携帯電話番号" in fragment or "Same mobile number" in fragment


def test_a_person_typed_in_family_and_given_name_fields_finds_the_karte(bob_client, bob):
    existing = testing.make_customer(bob, name="髙橋 香織", name_kana="タカハシ カオリ")
    fragment = hint(
        bob_client,
        kind="person",
        family_name="高橋",
        given_name="香織",
        name_kana="たかはし かおり",
    )
    assert f'href="{existing.get_absolute_url()}"' in fragment


def test_a_reading_typed_with_u_for_a_long_vowel_finds_the_karte_written_with_a_mark(
    bob_client, bob
):
    existing = testing.make_customer(bob, name="佐藤 雄子", name_kana="サトー ユーコ")
    fragment = hint(bob_client, kind="person", name_kana="さとう ゆうこ")
    assert any(h in fragment for h in HINT)
    assert f'href="{existing.get_absolute_url()}"' in fragment
    assert "同じフリガナ" in fragment or "Same reading (furigana)" in fragment


@pytest.mark.parametrize("typed", ["株式会社山田商事", "(株)山田商事", "山田商事㈱", "ﾔﾏﾀﾞｼｮｳｼﾞ"])
def test_a_company_name_alone_in_any_writing_finds_the_company(bob_client, bob, typed):
    existing = testing.make_company(bob, name="株式会社山田商事", name_kana="ヤマダショウジ")
    fragment = hint(bob_client, kind="company", name=typed)
    assert f'href="{existing.get_absolute_url()}"' in fragment


def test_the_phone_alone_finds_a_karte_written_differently(bob_client, bob):
    testing.make_company(bob, name="株式会社山田商事", phone="03-3581-0101")
    fragment = hint(bob_client, kind="company", name="山田商事", phone="０３（３５８１）０１０１")
    assert "株式会社山田商事" in fragment


def test_nothing_similar_means_nothing_shown(bob_client, bob):
    testing.make_customer(bob, name="山田 太郎", mobile="090-1234-5678")
    assert hint(bob_client, kind="person", name="佐藤 花子", mobile="080-9999-0000").strip() == ""
    assert hint(bob_client, kind="person").strip() == ""


def test_kartes_the_user_cannot_see_are_never_hinted(client, bob, carol):
    testing.make_customer(carol, name="機密 花子", mobile="090-5555-1234")
    client.force_login(bob)
    fragment = hint(client, kind="person", name="機密 花子", mobile="090-5555-1234")
    assert "機密" not in fragment and not any(h in fragment for h in HINT)


def test_half_typed_and_hostile_input_is_no_error(bob_client, bob):
    testing.make_customer(bob, name="山田 太郎", mobile="090-1234-5678")
    for data in (
        {"name": "山", "phone": "0"},
        {"name": "x" * 5000, "email": "@@"},
        {"name": "山田", "company": "abc", "birthday": "令和99年"},
        {"name": "\x00", "phone": "+++"},
    ):
        hint(bob_client, kind="person", **data)


def test_read_only_users_get_no_hint(client, dave):
    client.force_login(dave)
    assert client.post(reverse("quality:similar"), {"name": "山田"}).status_code == 404


def test_the_hint_stays_when_the_form_comes_back_with_an_error(bob_client, bob):
    existing = testing.make_customer(bob, name="山田 太郎", mobile="090-1234-5678")
    response = bob_client.post(
        reverse("customers:create"),
        {"kind": "person", "name": "山田太郎", "mobile": "09012345678", "email": "not-an-address"},
    )
    assert response.status_code == 400
    page = response.content.decode()
    hint_part = page.split('id="similar-hint"')[1].split("</div>\n")[0]
    assert any(h in hint_part for h in HINT)
    assert existing.get_absolute_url() in hint_part
    assert not Customer.objects.filter(email="not-an-address").exists()
