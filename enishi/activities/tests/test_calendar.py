"""The private calendar subscription: one secret URL per user, read by calendar apps without a
session, showing only what the user may see now. Feeds are parsed with a real iCalendar parser."""

import datetime
import hashlib

import icalendar
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from enishi.activities import calendar, services
from enishi.activities.models import CalendarFeed, Task
from enishi.activities.views import CALENDAR_SESSION_KEY
from enishi.core import testing
from enishi.customers import services as customer_services
from enishi.deals.models import Deal, Pipeline, Stage
from enishi.sales.models import Contract

pytestmark = pytest.mark.django_db

DAY = datetime.timedelta(days=1)
HOSTILE = "会議, 電話; \n<script>"


@pytest.fixture
def carol(db):
    return testing.make_user("carol", team="営業2課", name="キャロル")


@pytest.fixture
def today():
    return timezone.localdate()


def feed_path(secret: str) -> str:
    return reverse("activities:calendar_feed", args=[secret])


def fetch(client, secret: str):
    """The feed as a calendar app sees it: no session."""
    client.logout()
    return client.get(feed_path(secret))


def parse(response) -> icalendar.Calendar:
    assert response.status_code == 200
    return icalendar.Calendar.from_ical(response.content)


def events(cal: icalendar.Calendar) -> dict[str, icalendar.Event]:
    return {str(e["uid"]): e for e in cal.walk("VEVENT")}


def contract(customer, *, owner, renews_on, **extra) -> Contract:
    return Contract.objects.create(
        customer=customer,
        plan=extra.pop("plan", "年間保守プラン"),
        starts_on=renews_on - datetime.timedelta(days=365),
        renews_on=renews_on,
        amount=extra.pop("amount", 120000),
        owner=owner,
        **extra,
    )


# --- making, showing once, resetting, turning off -----------------------------------------


def test_it_shows_a_new_url_once_and_keeps_only_its_hash(bob_client, bob):
    response = bob_client.post(reverse("activities:calendar_reset"))
    assert response.status_code == 302 and response["Location"] == reverse("activities:calendar")
    assert CALENDAR_SESSION_KEY in bob_client.session

    page = bob_client.get(reverse("activities:calendar")).content.decode()
    feed = CalendarFeed.objects.get(user=bob)
    start = page.index('id="calendar-url" type="text" value="') + len(
        'id="calendar-url" type="text" value="'
    )
    url = page[start : page.index('"', start)]
    assert url.startswith("http://testserver/calendar/") and url.endswith(".ics")
    secret = url.removeprefix("http://testserver/calendar/").removesuffix(".ics")
    assert len(secret) >= 40
    assert feed.token_hash == hashlib.sha256(secret.encode()).hexdigest()
    assert secret not in feed.token_hash
    assert f'href="webcal://testserver/calendar/{secret}.ics"' in page
    assert CALENDAR_SESSION_KEY not in bob_client.session

    again = bob_client.get(reverse("activities:calendar")).content.decode()
    assert secret not in again and 'id="calendar-url"' not in again
    assert 'data-feed-state="active"' in again
    assert CalendarFeed.objects.filter(user=bob).count() == 1


def test_reloading_the_page_after_making_a_url_makes_no_second_one(bob_client, bob):
    bob_client.post(reverse("activities:calendar_reset"), follow=True)
    for _ in range(3):
        assert bob_client.get(reverse("activities:calendar")).status_code == 200
    assert CalendarFeed.objects.filter(user=bob).count() == 1


def test_a_new_url_ends_the_old_one(client, bob, today):
    customer = testing.make_customer(bob)
    services.task_create(actor=bob, customer=customer, title="電話する", due_on=today)
    old = calendar.calendar_feed_create(user=bob).secret
    assert fetch(client, old).status_code == 200
    new = calendar.calendar_feed_create(user=bob).secret
    assert fetch(client, old).status_code == 404
    assert len(events(parse(fetch(client, new)))) == 1
    assert CalendarFeed.objects.filter(user=bob, revoked_at__isnull=True).count() == 1


def test_turning_it_off_answers_404(bob_client, client, bob):
    secret = calendar.calendar_feed_create(user=bob).secret
    assert bob_client.post(reverse("activities:calendar_revoke")).status_code == 302
    assert (
        'data-feed-state="none"' in bob_client.get(reverse("activities:calendar")).content.decode()
    )
    assert fetch(client, secret).status_code == 404


def test_a_url_shown_once_is_not_shown_after_it_was_turned_off(bob_client, bob):
    bob_client.post(reverse("activities:calendar_reset"))
    calendar.calendar_feed_revoke(user=bob)
    page = bob_client.get(reverse("activities:calendar")).content.decode()
    assert 'id="calendar-url"' not in page and 'data-feed-state="none"' in page


def test_the_page_says_when_a_calendar_app_last_fetched_it(bob_client, client, bob, settings):
    settings.LANGUAGE_CODE = "en"
    bob.language = "en"
    bob.save()
    secret = calendar.calendar_feed_create(user=bob).secret
    assert CalendarFeed.objects.get(user=bob).last_used_at is None
    fetch(client, secret)
    used = CalendarFeed.objects.get(user=bob).last_used_at
    assert used is not None and timezone.now() - used < datetime.timedelta(minutes=1)
    fetch(client, secret)  # within the precision: no second write
    assert CalendarFeed.objects.get(user=bob).last_used_at == used
    client.force_login(bob)
    page = client.get(reverse("activities:calendar")).content.decode()
    assert timezone.localtime(used).strftime("%Y-%m-%d %H:%M") in page
    assert "Add Subscribed Calendar" in page and "From URL" in page


def test_the_buttons_take_only_posts(bob_client):
    assert bob_client.get(reverse("activities:calendar_reset")).status_code == 405
    assert bob_client.get(reverse("activities:calendar_revoke")).status_code == 405


# --- the feed -----------------------------------------------------------------------------


def test_it_needs_no_login_and_answers_a_calendar(client, bob, today):
    secret = calendar.calendar_feed_create(user=bob).secret
    response = fetch(client, secret)
    assert response.status_code == 200
    assert response["Content-Type"] == "text/calendar; charset=utf-8"
    assert "private" in response["Cache-Control"]
    assert "noindex" in response["X-Robots-Tag"]
    cal = parse(response)
    assert str(cal["version"]) == "2.0" and str(cal["prodid"]).startswith("-//Enishi//")
    assert str(cal["x-wr-calname"]) == f"Enishi — {bob.label}"
    assert str(cal["x-wr-timezone"]) == "Asia/Tokyo"
    assert cal["refresh-interval"].dt == datetime.timedelta(hours=1)
    assert b"X-PUBLISHED-TTL:PT1H" in response.content
    assert b"REFRESH-INTERVAL;VALUE=DURATION:PT1H" in response.content


def test_it_refuses_anything_but_reading(client, bob):
    secret = calendar.calendar_feed_create(user=bob).secret
    assert client.post(feed_path(secret)).status_code == 405
    assert client.put(feed_path(secret)).status_code == 405
    assert client.head(feed_path(secret)).status_code == 200


def test_an_unknown_secret_answers_404_to_everyone(client, alice_client, bob):
    calendar.calendar_feed_create(user=bob)
    assert client.get(feed_path("A" * 43)).status_code == 404
    assert alice_client.get(feed_path("A" * 43)).status_code == 404
    assert client.get("/calendar/not%20a%20secret.ics").status_code == 404


def test_it_shows_open_dated_tasks_and_renewals_as_all_day_events(client, bob, alice, today):
    company = testing.make_company(bob, name="株式会社テスト商事")
    activity = testing.log_call(
        bob, company, subject="見積", next_action="再見積を送る", next_action_due=today + 3 * DAY
    )
    overdue = services.task_create(
        actor=bob, customer=company, title="請求書を確認", due_on=today - 5 * DAY
    )
    done = services.task_create(actor=bob, customer=company, title="済んだ件", due_on=today)
    services.task_complete(actor=bob, task=done)
    services.task_create(actor=bob, customer=company, title="日付なし")
    services.task_create(actor=bob, customer=company, title="昔の件", due_on=today - 200 * DAY)
    services.task_create(actor=bob, customer=company, title="再来年", due_on=today + 400 * DAY)
    trashed = services.task_create(actor=bob, customer=company, title="削除", due_on=today)
    services.task_delete(actor=bob, task=trashed)
    services.task_create(
        actor=alice, customer=company, title="アリスの件", due_on=today, assignee=alice
    )
    mine = contract(company, owner=bob, renews_on=today + 40 * DAY, auto_renew=True)
    by_karte = contract(company, owner=None, renews_on=today + 10 * DAY, plan="月額サポート")
    contract(company, owner=alice, renews_on=today + 20 * DAY, plan="アリスの契約")
    contract(
        company, owner=bob, renews_on=today + 30 * DAY, cancelled_on=today, plan="解約済みプラン"
    )
    contract(company, owner=bob, renews_on=today + 500 * DAY, plan="遠い更新")

    cal = parse(fetch(client, calendar.calendar_feed_create(user=bob).secret))
    found = events(cal)
    task = Task.objects.get(activity=activity)
    assert set(found) == {
        f"task-{task.pk}@enishi",
        f"task-{overdue.pk}@enishi",
        f"contract-{mine.pk}-{mine.renews_on.isoformat()}@enishi",
        f"contract-{by_karte.pk}-{by_karte.renews_on.isoformat()}@enishi",
    }
    event = found[f"task-{task.pk}@enishi"]
    assert event["dtstart"].dt == today + 3 * DAY and event["dtstart"].params["VALUE"] == "DATE"
    assert event["dtend"].dt == today + 4 * DAY
    assert str(event["summary"]) == "再見積を送る — 株式会社テスト商事"
    karte = f"http://testserver{company.get_absolute_url()}"
    assert str(event["url"]) == karte
    assert "株式会社テスト商事" in str(event["description"]) and karte in str(event["description"])
    assert event["dtstamp"].dt.tzinfo is not None
    assert found[f"task-{overdue.pk}@enishi"]["dtstart"].dt == today - 5 * DAY
    renewal = found[f"contract-{mine.pk}-{mine.renews_on.isoformat()}@enishi"]
    assert renewal["dtstart"].dt == today + 40 * DAY
    assert "年間保守プラン" in str(renewal["summary"]) and str(renewal["url"]) == karte
    assert "120,000" in str(renewal["description"])


def test_texts_with_separators_and_markup_survive(client, bob, today):
    customer = testing.make_customer(bob, name="テスト; 顧客, 様 🎉")
    task = services.task_create(actor=bob, customer=customer, title=HOSTILE, due_on=today)
    response = fetch(client, calendar.calendar_feed_create(user=bob).secret)
    assert "会議\\, 電話\\; \\n<script>".encode() in response.content
    event = events(parse(response))[f"task-{task.pk}@enishi"]
    assert str(event["summary"]) == f"{HOSTILE} — テスト; 顧客, 様 🎉"
    assert str(event["description"]).startswith("テスト; 顧客, 様 🎉\n")


def test_it_labels_events_in_the_users_language(client, bob, today):
    bob.language = "en"
    bob.save()
    customer = testing.make_customer(bob)
    pipeline = Pipeline.objects.create(name="テスト用パイプライン")
    stage = Stage.objects.create(pipeline=pipeline, name="提案", probability=40)
    deal = Deal.objects.create(customer=customer, pipeline=pipeline, stage=stage, title="空調更新")
    task = services.task_create(actor=bob, customer=customer, title="提案書", due_on=today)
    Task.objects.filter(pk=task.pk).update(deal=deal)
    renewal = contract(customer, owner=bob, renews_on=today + DAY, plan="保守")

    found = events(parse(fetch(client, calendar.calendar_feed_create(user=bob).secret)))
    event = found[f"task-{task.pk}@enishi"]
    assert [str(c) for c in event["categories"].cats] == ["Task", "Deal"]
    assert "Deal: 空調更新" in str(event["description"])
    renewal_event = found[f"contract-{renewal.pk}-{renewal.renews_on.isoformat()}@enishi"]
    assert str(renewal_event["summary"]).startswith("Renewal: 保守")
    assert [str(c) for c in renewal_event["categories"].cats] == ["Renewal"]


def test_a_deactivated_users_feed_answers_404(client, bob, today):
    services.task_create(
        actor=bob, customer=testing.make_customer(bob), title="電話する", due_on=today
    )
    secret = calendar.calendar_feed_create(user=bob).secret
    bob.is_active = False
    bob.save()
    assert fetch(client, secret).status_code == 404


def test_each_secret_shows_only_its_users_items(client, bob, carol, today):
    bobs = services.task_create(
        actor=bob, customer=testing.make_customer(bob), title="ボブの予定", due_on=today
    )
    carols = services.task_create(
        actor=carol, customer=testing.make_customer(carol), title="キャロルの予定", due_on=today
    )
    bob_secret = calendar.calendar_feed_create(user=bob).secret
    carol_secret = calendar.calendar_feed_create(user=carol).secret
    assert set(events(parse(fetch(client, bob_secret)))) == {f"task-{bobs.pk}@enishi"}
    response = fetch(client, carol_secret)
    assert set(events(parse(response))) == {f"task-{carols.pk}@enishi"}
    assert "ボブの予定".encode() not in response.content


def test_items_on_a_karte_the_user_can_no_longer_see_are_gone(client, bob, carol, today):
    moved = testing.make_customer(bob, name="移管先 顧客")
    kept = testing.make_customer(bob, name="残る 顧客")
    trashed = testing.make_customer(bob, name="削除 顧客")
    for customer in (moved, kept, trashed):
        services.task_create(actor=bob, customer=customer, title="フォロー", due_on=today)
        contract(customer, owner=bob, renews_on=today + 5 * DAY)
    secret = calendar.calendar_feed_create(user=bob).secret
    assert len(events(parse(fetch(client, secret)))) == 6

    moved.owner, moved.team = carol, carol.team
    moved.save(update_fields=["owner", "team"])
    customer_services.customer_delete(actor=bob, customer=trashed)
    response = fetch(client, secret)
    found = events(parse(response))
    assert len(found) == 2
    assert (
        "移管先".encode() not in response.content and "削除 顧客".encode() not in response.content
    )


def test_its_query_count_does_not_grow_with_the_items(client, bob, today):
    def queries(n: int) -> int:
        Task.objects.all().delete()
        Contract.objects.all().delete()
        for i in range(n):
            customer = testing.make_customer(bob)
            services.task_create(actor=bob, customer=customer, title=f"件{i}", due_on=today)
            contract(customer, owner=bob, renews_on=today + DAY)
        calendar.calendar_feed_revoke(user=bob)
        secret = calendar.calendar_feed_create(user=bob).secret
        client.logout()
        with CaptureQueriesContext(connection) as captured:
            response = client.get(feed_path(secret))
        assert len(events(parse(response))) == 2 * n
        return len(captured)

    assert queries(2) == queries(15) <= 6
