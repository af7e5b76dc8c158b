"""The inquiry rules, service by service, against the real database with fixed times."""

import datetime

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.utils import timezone

from enishi.core import testing
from enishi.history.models import HistoryEntry
from enishi.inquiries import selectors, services
from enishi.inquiries.models import Inquiry, InquiryAnswer, InquiryCategory
from enishi.inquiries.templatetags.inquiry_tags import duration

pytestmark = pytest.mark.django_db

H = datetime.timedelta(hours=1)
M = datetime.timedelta(minutes=1)
# A fixed receipt time well in the past, so that answers "later" are still not in the future.
T0 = datetime.datetime(2026, 4, 1, 9, 0, tzinfo=datetime.UTC)


def received(actor, customer, **data) -> Inquiry:
    data.setdefault("subject", "エアコンの異音")
    data.setdefault("received_at", T0)
    return services.inquiry_create(actor=actor, customer=customer, **data)


def fresh(inquiry: Inquiry) -> Inquiry:
    return Inquiry.objects.get(pk=inquiry.pk)


# --- the default categories ---------------------------------------------------------------------


def test_it_ships_the_default_categories():
    names = list(InquiryCategory.objects.values_list("name", flat=True))
    assert names == ["製品について", "料金・請求", "不具合・故障", "要望", "解約・変更", "その他"]


# --- creating -----------------------------------------------------------------------------------


def test_it_records_a_new_inquiry_with_history(alice, hanako):
    category = InquiryCategory.objects.get(name="不具合・故障")
    inquiry = received(alice, hanako, channel="email", category=category, assignee=alice)
    assert (inquiry.status, inquiry.version, inquiry.created_by) == ("new", 1, alice)
    entry = HistoryEntry.objects.get(model="inquiries.inquiry", object_id=inquiry.pk)
    assert entry.action == "create" and entry.customer_id == hanako.pk
    assert entry.changes["subject"] == [None, "エアコンの異音"]
    assert entry.changes["category"] == [None, "不具合・故障"]


def test_it_defaults_the_receipt_time_to_now(alice, hanako):
    before = timezone.now()
    inquiry = services.inquiry_create(actor=alice, customer=hanako, subject="電話")
    assert before <= inquiry.received_at <= timezone.now()


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"subject": "   "}, "subject"),
        ({"subject": "x" * 201}, "subject"),
        ({"content": "x" * 20001}, "content"),
        ({"subject": "NUL\x00"}, "subject"),
        ({"content": "本文\x00"}, "content"),
        ({"channel": "fax"}, "channel"),
        ({"received_at": timezone.now() + datetime.timedelta(hours=2)}, "received_at"),
        ({"received_at": datetime.datetime(1800, 1, 1, tzinfo=datetime.UTC)}, "received_at"),
    ],
)
def test_it_refuses_bad_input_and_saves_nothing(alice, hanako, data, field):
    with pytest.raises(ValidationError) as exc:
        received(alice, hanako, **data)
    assert field in exc.value.message_dict
    assert not Inquiry.objects.exists()
    assert not HistoryEntry.objects.filter(model="inquiries.inquiry").exists()


def test_it_takes_a_receipt_time_a_little_ahead_of_the_clock_as_now(alice, hanako):
    inquiry = received(alice, hanako, received_at=timezone.now() + 2 * M)
    assert inquiry.received_at <= timezone.now()


def test_it_refuses_a_retired_category_and_an_inactive_assignee(alice, hanako):
    retired = InquiryCategory.objects.create(name="旧分類", is_active=False)
    gone = testing.make_user("gone")
    gone.is_active = False
    gone.save()
    with pytest.raises(ValidationError) as exc:
        received(alice, hanako, category=retired, assignee=gone)
    assert set(exc.value.message_dict) == {"category", "assignee"}


# --- status rules -------------------------------------------------------------------------------


def test_open_statuses_change_into_each_other_without_times(alice, hanako):
    inquiry = received(alice, hanako)
    for status in ("in_progress", "waiting", "new", "waiting", "in_progress"):
        inquiry = services.inquiry_update(
            actor=alice, inquiry=inquiry, data={"status": status}, version=inquiry.version
        )
        assert inquiry.status == status
        assert (inquiry.resolved_at, inquiry.closed_at) == (None, None)


def test_resolving_then_closing_stamps_the_times_once(alice, hanako):
    inquiry = received(alice, hanako)
    inquiry = services.inquiry_update(
        actor=alice, inquiry=inquiry, data={"status": "resolved"}, version=1, at=T0 + 5 * H
    )
    assert inquiry.resolved_at == T0 + 5 * H and inquiry.closed_at is None
    inquiry = services.inquiry_update(
        actor=alice, inquiry=inquiry, data={"status": "closed"}, version=2, at=T0 + 30 * H
    )
    assert (inquiry.resolved_at, inquiry.closed_at) == (T0 + 5 * H, T0 + 30 * H)
    assert inquiry.resolution_time == 5 * H


def test_closing_an_unresolved_inquiry_also_resolves_it(alice, hanako):
    inquiry = received(alice, hanako)
    inquiry = services.inquiry_update(
        actor=alice, inquiry=inquiry, data={"status": "closed"}, version=1, at=T0 + 2 * H
    )
    assert inquiry.resolved_at == inquiry.closed_at == T0 + 2 * H


def test_reopening_clears_the_times_and_the_satisfaction(alice, hanako):
    inquiry = received(alice, hanako)
    inquiry = services.inquiry_update(
        actor=alice,
        inquiry=inquiry,
        data={"status": "closed", "satisfaction": 4},
        version=1,
        at=T0 + H,
    )
    assert inquiry.satisfaction == 4
    inquiry = services.inquiry_update(
        actor=alice, inquiry=inquiry, data={"status": "in_progress"}, version=2
    )
    assert (inquiry.resolved_at, inquiry.closed_at, inquiry.satisfaction) == (None, None, None)
    entry = HistoryEntry.objects.filter(model="inquiries.inquiry", action="update").first()
    assert entry.changes["status"] == ["closed", "in_progress"]
    assert entry.changes["satisfaction"] == [4, None]


def test_closed_back_to_resolved_keeps_the_resolution_time(alice, hanako):
    inquiry = received(alice, hanako)
    services.inquiry_update(
        actor=alice, inquiry=inquiry, data={"status": "resolved"}, version=1, at=T0 + H
    )
    services.inquiry_update(
        actor=alice, inquiry=inquiry, data={"status": "closed"}, version=2, at=T0 + 2 * H
    )
    inquiry = services.inquiry_update(
        actor=alice, inquiry=inquiry, data={"status": "resolved"}, version=3, at=T0 + 3 * H
    )
    assert (inquiry.resolved_at, inquiry.closed_at) == (T0 + H, None)


@pytest.mark.parametrize("satisfaction", [0, 6])
def test_satisfaction_is_one_to_five(alice, hanako, satisfaction):
    inquiry = received(alice, hanako)
    with pytest.raises(ValidationError) as exc:
        services.inquiry_update(
            actor=alice,
            inquiry=inquiry,
            data={"status": "resolved", "satisfaction": satisfaction},
            version=1,
        )
    assert "satisfaction" in exc.value.message_dict
    assert fresh(inquiry).status == "new"


def test_satisfaction_waits_for_the_resolution(alice, hanako):
    inquiry = received(alice, hanako)
    with pytest.raises(ValidationError) as exc:
        services.inquiry_update(actor=alice, inquiry=inquiry, data={"satisfaction": 5}, version=1)
    assert "satisfaction" in exc.value.message_dict
    inquiry = services.inquiry_update(
        actor=alice, inquiry=inquiry, data={"status": "resolved"}, version=1
    )
    inquiry = services.inquiry_update(
        actor=alice, inquiry=inquiry, data={"satisfaction": 5}, version=2
    )
    assert inquiry.satisfaction == 5


def test_a_stale_version_writes_nothing(alice, bob, hanako):
    inquiry = received(alice, hanako)
    services.inquiry_update(actor=bob, inquiry=inquiry, data={"subject": "変更A"}, version=1)
    with pytest.raises(services.StaleVersionError) as exc:
        services.inquiry_update(actor=alice, inquiry=inquiry, data={"subject": "変更B"}, version=1)
    assert exc.value.current.subject == "変更A" and exc.value.current.version == 2
    assert fresh(inquiry).subject == "変更A"


def test_assigning_is_a_versioned_change(alice, bob, hanako):
    inquiry = received(alice, hanako)
    inquiry = services.inquiry_assign(actor=bob, inquiry=inquiry, assignee=bob, version=1)
    assert (inquiry.assignee, inquiry.version, inquiry.updated_by) == (bob, 2, bob)
    with pytest.raises(services.StaleVersionError):
        services.inquiry_assign(actor=alice, inquiry=inquiry, assignee=alice, version=1)


def test_the_receipt_cannot_move_after_the_first_answer(alice, hanako):
    inquiry = received(alice, hanako)
    services.inquiry_answer(actor=alice, inquiry=inquiry, body="回答", at=T0 + H)
    with pytest.raises(ValidationError) as exc:
        services.inquiry_update(
            actor=alice, inquiry=inquiry, data={"received_at": T0 + 2 * H}, version=2
        )
    assert "received_at" in exc.value.message_dict


# --- answers ------------------------------------------------------------------------------------


def test_the_first_answer_sets_the_first_response_and_starts_the_work(alice, bob, hanako):
    inquiry = received(alice, hanako)
    first = services.inquiry_answer(
        actor=bob, inquiry=inquiry, body="確認します", at=T0 + 2 * H + 15 * M
    )
    services.inquiry_answer(actor=alice, inquiry=inquiry, body="追記", at=T0 + 5 * H)
    inquiry = fresh(inquiry)
    assert first.author == bob and first.created_at == T0 + 2 * H + 15 * M
    assert inquiry.first_response_at == T0 + 2 * H + 15 * M
    assert inquiry.first_response_time == 2 * H + 15 * M
    assert inquiry.status == "in_progress"
    assert inquiry.version == 3  # one per answer


def test_an_internal_note_is_not_a_response(alice, hanako):
    inquiry = received(alice, hanako)
    note = services.inquiry_answer(
        actor=alice, inquiry=inquiry, body="社内メモ", is_internal=True, at=T0 + H
    )
    inquiry = fresh(inquiry)
    assert note.is_internal
    assert (inquiry.first_response_at, inquiry.status, inquiry.version) == (None, "new", 2)
    services.inquiry_answer(actor=alice, inquiry=inquiry, body="お答え", at=T0 + 3 * H)
    assert fresh(inquiry).first_response_at == T0 + 3 * H


def test_an_answer_can_set_the_status(alice, hanako):
    inquiry = received(alice, hanako)
    services.inquiry_answer(
        actor=alice, inquiry=inquiry, body="解決しました", status="resolved", at=T0 + 4 * H
    )
    inquiry = fresh(inquiry)
    assert inquiry.status == "resolved"
    assert inquiry.resolved_at == inquiry.first_response_at == T0 + 4 * H
    answer = services.inquiry_answer(
        actor=alice, inquiry=inquiry, body="ご確認ください", status="waiting", at=T0 + 5 * H
    )
    assert answer.inquiry.status == "waiting" and answer.inquiry.resolved_at is None


def test_an_answer_is_recorded_in_the_history(alice, hanako):
    inquiry = received(alice, hanako)
    answer = services.inquiry_answer(actor=alice, inquiry=inquiry, body="回答です", at=T0 + H)
    created = HistoryEntry.objects.get(model="inquiries.inquiryanswer", object_id=answer.pk)
    assert created.action == "create" and created.customer_id == hanako.pk
    assert created.changes["body"] == [None, "回答です"]
    update = HistoryEntry.objects.get(model="inquiries.inquiry", action="update")
    assert update.changes["status"] == ["new", "in_progress"]
    assert "first_response_at" in update.changes


def test_a_closed_inquiry_takes_no_answer_until_reopened(alice, hanako):
    inquiry = received(alice, hanako)
    inquiry = services.inquiry_update(
        actor=alice, inquiry=inquiry, data={"status": "closed"}, version=1
    )
    with pytest.raises(ValidationError) as exc:
        services.inquiry_answer(actor=alice, inquiry=inquiry, body="追加の回答")
    assert exc.value.code == "closed"
    assert not InquiryAnswer.objects.exists()
    assert fresh(inquiry).version == 2
    services.inquiry_update(actor=alice, inquiry=inquiry, data={"status": "in_progress"}, version=2)
    services.inquiry_answer(actor=alice, inquiry=inquiry, body="追加の回答")
    assert InquiryAnswer.objects.count() == 1


@pytest.mark.parametrize("body", ["", "   ", "x" * 20001, "NUL\x00"])
def test_it_refuses_an_empty_long_or_nul_answer(alice, hanako, body):
    inquiry = received(alice, hanako)
    with pytest.raises(ValidationError) as exc:
        services.inquiry_answer(actor=alice, inquiry=inquiry, body=body)
    assert "body" in exc.value.message_dict
    assert not InquiryAnswer.objects.exists() and fresh(inquiry).version == 1


def test_deleting_goes_to_the_trash(alice, hanako):
    inquiry = received(alice, hanako)
    services.inquiry_delete(actor=alice, inquiry=inquiry)
    assert fresh(inquiry).deleted_at is not None
    assert not selectors.inquiries_visible(alice).exists()
    assert HistoryEntry.objects.filter(model="inquiries.inquiry", action="delete").exists()


# --- overdue, queues and figures ----------------------------------------------------------------


def test_overdue_is_open_unanswered_and_past_the_target(alice, hanako, settings):
    settings.ENISHI_INQUIRY_RESPONSE_HOURS = 4
    late = received(alice, hanako, subject="遅れ")
    answered = received(alice, hanako, subject="回答済み")
    services.inquiry_answer(actor=alice, inquiry=answered, body="回答", at=T0 + 6 * H)
    resolved = received(alice, hanako, subject="解決")
    services.inquiry_update(
        actor=alice, inquiry=resolved, data={"status": "resolved"}, version=1, at=T0 + H
    )
    recent = received(alice, hanako, subject="新しい", received_at=T0 + 3 * H)
    now = T0 + 5 * H
    overdue = selectors.inquiry_queue(alice, "overdue", now=now)
    assert [i.subject for i in overdue] == ["遅れ"]
    assert selectors.is_overdue(late, now) and not selectors.is_overdue(recent, now)
    flags = {i.subject: i.is_overdue for i in selectors.inquiry_queue(alice, "all", now=now)}
    assert flags == {"遅れ": True, "回答済み": False, "解決": False, "新しい": False}
    # The target is exclusive of the exact moment: received 4 h ago is not yet overdue.
    assert not selectors.is_overdue(late, T0 + 4 * H)


def test_the_queues_and_their_counts(alice, bob, hanako, settings):
    settings.ENISHI_INQUIRY_RESPONSE_HOURS = 24
    mine = received(alice, hanako, subject="私の", assignee=bob)
    received(alice, hanako, subject="誰も", received_at=timezone.now() - H)
    done = received(alice, hanako, subject="完了", assignee=bob)
    services.inquiry_update(actor=bob, inquiry=done, data={"status": "closed"}, version=1)
    names = {
        queue: sorted(i.subject for i in selectors.inquiry_queue(bob, queue))
        for queue in selectors.QUEUES
    }
    assert names == {
        "mine": ["私の"],
        "unassigned": ["誰も"],
        "overdue": ["私の"],
        "open": ["私の", "誰も"],
        "all": ["完了", "私の", "誰も"],
    }
    assert selectors.queue_counts(bob) == {k: len(v) for k, v in names.items()}
    assert mine in selectors.inquiry_queue(bob, "mine")


def test_the_queue_filters_and_sorts(alice, bob, hanako):
    billing = InquiryCategory.objects.get(name="料金・請求")
    received(alice, hanako, subject="請求書の再発行", category=billing, channel="email")
    received(alice, hanako, subject="故障", received_at=T0 + H, assignee=bob)
    f = selectors.InquiryFilters
    subjects = lambda flt: [i.subject for i in selectors.inquiry_queue(bob, "all", flt)]  # noqa: E731
    assert subjects(f(category=billing.pk)) == ["請求書の再発行"]
    assert subjects(f(channel="email")) == ["請求書の再発行"]
    assert subjects(f(assignee=bob.pk)) == ["故障"]
    assert subjects(f(unassigned=True)) == ["請求書の再発行"]
    assert subjects(f(q="再発行")) == ["請求書の再発行"]
    assert subjects(f(q="佐藤")) == ["故障", "請求書の再発行"]
    assert subjects(f(sort="oldest")) == ["請求書の再発行", "故障"]


def test_the_response_figures(alice, hanako, settings):
    settings.ENISHI_INQUIRY_RESPONSE_HOURS = 4
    support = InquiryCategory.objects.get(name="不具合・故障")
    # First responses after 1 h, 3 h and 8 h; one unanswered past the target; one too recent.
    for hours in (1, 3, 8):
        inquiry = received(alice, hanako, category=support, channel="email")
        services.inquiry_answer(actor=alice, inquiry=inquiry, body="回答", at=T0 + hours * H)
    resolved = Inquiry.objects.order_by("pk").first()
    services.inquiry_update(
        actor=alice, inquiry=resolved, data={"status": "resolved"}, version=2, at=T0 + 10 * H
    )
    received(alice, hanako)  # unanswered, received at T0
    received(alice, hanako, received_at=T0 + 10 * H)  # unanswered, not yet due
    received(alice, hanako, received_at=T0 - 30 * 24 * H)  # before the period
    stats = selectors.response_stats(alice, T0 - H, now=T0 + 12 * H)
    assert stats.received == 5
    assert stats.first_response_median == 3 * H
    assert stats.first_response_average == 4 * H
    assert stats.resolution_median == stats.resolution_average == 10 * H
    assert (stats.within_target, stats.measured) == (2, 4)
    assert stats.share_within_target == 0.5
    assert [(v, n) for v, _, n in stats.by_status] == [
        ("new", 2),
        ("in_progress", 2),
        ("resolved", 1),
    ]
    assert dict(stats.by_category) == {"不具合・故障": 3, "": 2}
    assert [(v, n) for v, _, n in stats.by_channel] == [("phone", 2), ("email", 3)]


def test_response_figures_of_nothing_are_empty(alice):
    stats = selectors.response_stats(alice, T0)
    assert stats.received == 0 and stats.first_response_median is None
    assert stats.share_within_target is None


def test_only_inquiries_on_visible_kartes_exist(alice, bob, carol, hanako):
    carols = testing.make_customer(carol, name="別の課")
    theirs = received(carol, carols, subject="別の課の件")
    ours = received(bob, hanako, subject="うちの件")
    assert list(selectors.inquiries_visible(bob)) == [ours]
    assert selectors.queue_counts(bob)["all"] == 1
    assert selectors.response_stats(bob, T0 - H).received == 1
    with pytest.raises(Http404):
        selectors.inquiry_get(bob, theirs.pk)
    assert selectors.inquiry_get(alice, theirs.pk) == theirs


# --- categories ---------------------------------------------------------------------------------


def test_admins_keep_the_categories(alice, bob, hanako):
    category = services.category_create(actor=alice, name=" 返品 ", position=70)
    assert category.name == "返品"
    with pytest.raises(ValidationError) as exc:
        services.category_create(actor=alice, name="返品")
    assert "name" in exc.value.message_dict
    with pytest.raises(PermissionDenied):
        services.category_create(actor=bob, name="勝手な分類")
    received(alice, hanako, category=category)
    with pytest.raises(ValidationError):
        services.category_delete(actor=alice, category=category)
    category = services.category_update(
        actor=alice, category=category, name="返品・交換", position=70, is_active=False
    )
    assert not category.is_active
    assert list(selectors.categories_active().filter(pk=category.pk)) == []
    unused = services.category_create(actor=alice, name="一時的")
    services.category_delete(actor=alice, category=unused)
    assert not InquiryCategory.objects.filter(pk=unused.pk).exists()
    assert HistoryEntry.objects.filter(model="inquiries.inquirycategory").count() == 4


def test_an_inquiry_keeps_a_category_retired_after_it_was_filed(alice, hanako):
    category = services.category_create(actor=alice, name="旧分類")
    inquiry = received(alice, hanako, category=category)
    services.category_update(
        actor=alice, category=category, name="旧分類", position=0, is_active=False
    )
    inquiry = services.inquiry_update(
        actor=alice, inquiry=inquiry, data={"category": category, "subject": "件名変更"}, version=1
    )
    assert inquiry.category == category and inquiry.subject == "件名変更"


# --- durations as people read them --------------------------------------------------------------


def test_durations_read_humanly(settings):
    from django.utils import translation

    with translation.override("en"):
        assert duration(2 * H + 15 * M) == "2 hours 15 minutes"
        assert duration(H) == "1 hour"
        assert duration(M) == "1 minute"
        assert duration(datetime.timedelta(days=3, hours=1, minutes=59)) == "3 days 1 hour"
        assert duration(datetime.timedelta(seconds=20)) == "under a minute"
        assert duration(None) == "—"
