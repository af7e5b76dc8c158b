"""The house-style clean-up's preview shows every change before anyone starts it: paged by
karte id (`?after=<id>`), "Show more changes" adds the next page with htmx and is a plain link
without JavaScript; a page looks for its changes for a limited time, so a big database with
few changes is paged through in steps instead of being read whole. Alice is an admin."""

import re

import pytest
from django.urls import reverse

from enishi.core import testing
from enishi.quality import upkeep

pytestmark = pytest.mark.django_db

URL = reverse("upkeep:cleanup")
HTMX = {"HX-Request": "true"}


@pytest.fixture
def messy(alice):
    """12 companies the style changes, between kartes it leaves alone."""
    made = []
    for n in range(12):
        made.append(testing.make_company(alice, name=f"(株)山田商事{n}"))
        testing.make_company(alice, name=f"株式会社佐藤{n}")
    upkeep.house_style_update(
        actor=alice, data={"company_name": "front"}, version=upkeep.house_style_get().version
    )
    return made


@pytest.fixture
def small_pages(monkeypatch):
    monkeypatch.setattr(upkeep, "PREVIEW_SIZE", 5)
    return 5


STYLE = upkeep.house_style.Style("front")


def shown(body: str) -> list[int]:
    return [int(pk) for pk in re.findall(r'<tr data-customer="(\d+)"', body)]


def next_after(body: str) -> int | None:
    found = re.search(r'id="cleanup-more" data-after="(\d+)"', body)
    return int(found[1]) if found else None


def test_pages_go_through_every_change_in_karte_order(messy):
    pages, after = [], 0
    while True:
        page = upkeep.cleanup_preview_page(STYLE, after=after, size=5)
        pages.append([p.customer_id for p in page.proposals])
        if page.next_after is None:
            break
        after = page.next_after
    assert pages[:3] == [
        [k.pk for k in messy[0:5]],
        [k.pk for k in messy[5:10]],
        [k.pk for k in messy[10:12]],
    ]
    assert sum(pages, []) == [k.pk for k in messy]


def test_a_page_out_of_time_says_how_far_it_looked(messy, monkeypatch):
    monkeypatch.setattr(upkeep, "CHUNK", 4)  # two changes among each four kartes
    page = upkeep.cleanup_preview_page(STYLE, size=5, seconds=-1)
    assert page.cut and [p.customer_id for p in page.proposals] == [k.pk for k in messy[:2]]
    # The next page goes on after the last karte looked at, not after the last change.
    assert page.next_after == messy[1].pk + 1
    following = upkeep.cleanup_preview_page(STYLE, after=page.next_after, size=5, seconds=-1)
    assert [p.customer_id for p in following.proposals] == [k.pk for k in messy[2:4]]


def test_the_preview_page_offers_the_rest_and_counts_once(client, alice, messy, small_pages):
    client.force_login(alice)
    body = client.get(URL).content.decode()
    assert shown(body) == [k.pk for k in messy[:5]]
    assert "全 24 件のうち 12 件のカルテが変わります。" in body
    after = next_after(body)
    assert after == messy[4].pk
    # Without JavaScript, "Show more changes" is a link to the next page …
    assert f'href="?after={after}"' in body and "さらに変更を表示" in body
    assert "下に最初の 5 件を表示しています。" in body

    page2 = client.get(URL, {"after": after}).content.decode()
    assert shown(page2) == [k.pk for k in messy[5:10]]
    assert "件のカルテが変わります" not in page2  # counted on the first page only
    assert f"カルテ #{after} より後の変更です。" in page2
    assert f'href="{URL}">最初の変更に戻る' in page2
    assert 'name="csrfmiddlewaretoken"' in page2  # the clean-up can be started from here too

    page3 = client.get(URL, {"after": next_after(page2)}).content.decode()
    assert shown(page3) == [k.pk for k in messy[10:12]]
    assert next_after(page3) is None and 'id="cleanup-end"' in page3
    assert "変更は以上です。" in page3


def test_show_more_adds_the_rows_alone_with_htmx(client, alice, messy, small_pages):
    client.force_login(alice)
    body = client.get(URL).content.decode()
    after = next_after(body)
    assert f'hx-get="?after={after}&amp;part=rows"' in body
    rows = client.get(URL, {"after": after, "part": "rows"}, headers=HTMX).content.decode()
    assert "<html" not in rows and "<table" not in rows
    assert shown(rows) == [k.pk for k in messy[5:10]]
    assert next_after(rows) == messy[9].pk
    last = client.get(
        URL, {"after": next_after(rows), "part": "rows"}, headers=HTMX
    ).content.decode()
    assert shown(last) == [k.pk for k in messy[10:]] and 'id="cleanup-end"' in last


def test_a_bad_after_starts_from_the_beginning(client, alice, messy, small_pages):
    client.force_login(alice)
    for bad in ("-3", "abc", "9" * 30):
        assert shown(client.get(URL, {"after": bad}).content.decode()) == [k.pk for k in messy[:5]]


def test_nothing_to_change_is_said_so(client, alice):
    testing.make_company(alice, name="株式会社佐藤")
    client.force_login(alice)
    body = client.get(URL).content.decode()
    assert "すべてのカルテが表記ルールどおりです。" in body
    assert "cleanup-preview" not in body


def test_the_preview_is_for_admins_only(client, bob, erin, messy):
    for user in (bob, erin):
        client.force_login(user)
        assert client.get(URL, {"after": messy[3].pk}).status_code == 404
        response = client.get(URL, {"after": messy[3].pk, "part": "rows"}, headers=HTMX)
        assert response.status_code == 404


def test_a_page_costs_the_same_far_into_the_kartes(
    client, alice, messy, small_pages, django_assert_max_num_queries
):
    client.force_login(alice)
    # The session, the user and their second factor, the house style; then the kartes after
    # the id by primary key, one range read per CHUNK kartes (here: the rest, then none).
    with django_assert_max_num_queries(6):
        rows = client.get(URL, {"after": messy[9].pk, "part": "rows"}, headers=HTMX)
    assert shown(rows.content.decode()) == [k.pk for k in messy[10:]]
