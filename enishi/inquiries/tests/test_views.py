"""The inquiry screens through Django's test client: queue, detail, forms, conflicts, rights."""

import datetime
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from enishi.core import testing
from enishi.history.models import HistoryEntry
from enishi.inquiries import services
from enishi.inquiries.models import Inquiry, InquiryAnswer, InquiryCategory

pytestmark = pytest.mark.django_db

H = datetime.timedelta(hours=1)


@pytest.fixture
def english(bob):
    bob.language = "en"
    bob.save()
    return bob


def make_inquiry(actor, customer, **data) -> Inquiry:
    data.setdefault("subject", "エアコンの異音")
    return services.inquiry_create(actor=actor, customer=customer, **data)


def body_of(response) -> str:
    return response.content.decode()


# --- the queue ----------------------------------------------------------------------------------


def test_the_queue_shows_tabs_counts_rows_and_overdue_marks(bob_client, bob, hanako, settings):
    settings.ENISHI_INQUIRY_RESPONSE_HOURS = 24
    late = make_inquiry(
        bob, hanako, subject="古い件", received_at=timezone.now() - 30 * H, assignee=bob
    )
    make_inquiry(bob, hanako, subject="新しい件")
    response = bob_client.get(reverse("inquiries:queue"))
    page = body_of(response)
    assert response.status_code == 200
    # Bob has one of his own, so "mine" is the default tab.
    assert 'data-queue="mine" aria-current="page"' in page
    counts = dict(re.findall(r'data-count="(\w+)">(\d+)<', page))
    assert counts == {"mine": "1", "unassigned": "1", "overdue": "1", "open": "2", "all": "2"}
    assert f'data-inquiry="{late.pk}"' in page and 'data-overdue="1"' in page
    assert hanako.get_absolute_url() in page
    all_page = body_of(bob_client.get(reverse("inquiries:queue"), {"queue": "all"}))
    assert "古い件" in all_page and "新しい件" in all_page
    filtered = body_of(
        bob_client.get(
            reverse("inquiries:queue"), {"queue": "all", "q": "新しい", "sort": "oldest"}
        )
    )
    assert "新しい件" in filtered and "古い件" not in filtered


def test_the_queue_shows_the_response_figures(bob_client, bob, hanako, english):
    inquiry = make_inquiry(bob, hanako, received_at=timezone.now() - 3 * H)
    services.inquiry_answer(actor=bob, inquiry=inquiry, body="回答", at=inquiry.received_at + 2 * H)
    page = body_of(bob_client.get(reverse("inquiries:queue"), {"days": "7"}))
    assert re.search(r'data-figure="first_response_median">2 hours<', page)
    assert re.search(r'data-figure="within_target">100%<', page)
    assert re.search(r'data-figure="received">1<', page)


def test_the_queue_costs_the_same_number_of_queries_for_many_rows(
    bob_client, bob, hanako, django_assert_max_num_queries
):
    url = reverse("inquiries:queue") + "?queue=all"
    make_inquiry(bob, hanako, assignee=bob)
    bob_client.get(url)  # warm the session

    with CaptureQueriesContext(connection) as few:
        bob_client.get(url)
    # session, user, 2FA device; counts, page count, figures (2), categories, users, rows
    assert len(few.captured_queries) <= 10
    others = [testing.make_customer(bob, name=f"顧客{i}") for i in range(10)]
    category = InquiryCategory.objects.first()
    for i in range(40):
        make_inquiry(bob, others[i % 10], category=category, assignee=bob if i % 2 else None)
    with django_assert_max_num_queries(len(few.captured_queries)):
        response = bob_client.get(url)
    assert response.status_code == 200 and body_of(response).count('class="inq-row') == 41


# --- creating -----------------------------------------------------------------------------------


def test_it_records_an_inquiry_from_the_karte(bob_client, bob, hanako):
    url = reverse("inquiries:create") + f"?customer={hanako.pk}"
    assert bob_client.get(url).status_code == 200
    category = InquiryCategory.objects.get(name="要望")
    response = bob_client.post(
        url,
        {
            "customer": hanako.pk,
            "received_at": "2026-04-01T10:30",
            "channel": "web_form",
            "category": category.pk,
            "subject": "カタログ送付のお願い",
            "content": "最新のカタログを送ってほしい",
            "assignee": bob.pk,
        },
    )
    inquiry = Inquiry.objects.get()
    assert response.status_code == 302 and response["Location"] == inquiry.get_absolute_url()
    assert (inquiry.customer, inquiry.channel, inquiry.category, inquiry.assignee) == (
        hanako,
        "web_form",
        category,
        bob,
    )
    local = timezone.localtime(inquiry.received_at)
    assert (local.date().isoformat(), local.hour, local.minute) == ("2026-04-01", 10, 30)
    assert HistoryEntry.objects.get(model="inquiries.inquiry").via == HistoryEntry.Via.UI


def test_bad_input_keeps_what_was_typed_and_saves_nothing(bob_client, hanako, english):
    url = reverse("inquiries:create") + f"?customer={hanako.pk}"
    future = (timezone.localtime() + datetime.timedelta(days=2)).strftime("%Y-%m-%dT%H:%M")
    response = bob_client.post(url, {"subject": "", "content": "入力した本文", "channel": "phone"})
    page = body_of(response)
    assert response.status_code == 400 and "入力した本文" in page
    assert 'data-field="subject"' in page and "This field is required." in page
    response = bob_client.post(url, {"subject": "件名", "channel": "phone", "received_at": future})
    assert response.status_code == 400
    assert "The time received cannot be in the future." in body_of(response)
    response = bob_client.post(url, {"subject": "NUL\x00", "channel": "phone"})
    assert response.status_code == 400
    response = bob_client.post(url, {"subject": "x" * 201, "channel": "phone"})
    assert response.status_code == 400
    assert not Inquiry.objects.exists()


def test_without_a_customer_the_form_first_finds_one(bob_client, bob, carol, hanako):
    testing.make_customer(carol, name="佐藤 別課")
    page = body_of(bob_client.get(reverse("inquiries:create"), {"q": "佐藤"}))
    assert f'href="?customer={hanako.pk}"' in page and "佐藤 別課" not in page
    assert bob_client.post(reverse("inquiries:create"), {"subject": "x"}).status_code == 404


def test_an_inquiry_for_an_unseen_karte_cannot_be_created(bob_client, carol):
    theirs = testing.make_customer(carol, name="別の課")
    url = reverse("inquiries:create") + f"?customer={theirs.pk}"
    assert bob_client.get(url).status_code == 404
    assert bob_client.post(url, {"subject": "x", "channel": "phone"}).status_code == 404
    assert not Inquiry.objects.exists()


# --- the detail page, answers and status --------------------------------------------------------


def test_the_thread_shows_answers_with_author_and_internal_notes_apart(
    bob_client, bob, alice, hanako, english
):
    inquiry = make_inquiry(bob, hanako, received_at=timezone.now() - 3 * H)
    services.inquiry_answer(actor=alice, inquiry=inquiry, body="社内メモです", is_internal=True)
    response = bob_client.post(
        reverse("inquiries:answer", args=[inquiry.pk]), {"body": "お待たせしました", "status": ""}
    )
    answer = InquiryAnswer.objects.get(is_internal=False)
    assert response.status_code == 302
    assert response["Location"] == f"{inquiry.get_absolute_url()}#answer-{answer.pk}"
    page = body_of(bob_client.get(inquiry.get_absolute_url()))
    thread = page.split('id="thread"')[1].split("</ol>")[0]
    assert thread.index("社内メモです") < thread.index("お待たせしました")
    assert 'data-author="alice" data-internal="1"' in thread
    assert 'data-author="bob" data-internal="0"' in thread
    assert 'class="inq-answer internal"' in thread
    inquiry.refresh_from_db()
    assert inquiry.status == "in_progress" and inquiry.first_response_at == answer.created_at
    assert re.search(r"data-first-response=\"[\d.]+\">3 hours", page)
    assert "history-list" in page and "お待たせしました" in page.split("history-list")[1]


def test_an_answer_can_resolve_and_the_change_form_closes_with_satisfaction(
    bob_client, bob, hanako
):
    inquiry = make_inquiry(bob, hanako)
    bob_client.post(
        reverse("inquiries:answer", args=[inquiry.pk]), {"body": "直りました", "status": "resolved"}
    )
    inquiry.refresh_from_db()
    assert inquiry.status == "resolved" and inquiry.resolved_at is not None
    response = bob_client.post(
        reverse("inquiries:change", args=[inquiry.pk]),
        {"status": "closed", "assignee": bob.pk, "satisfaction": "5", "version": inquiry.version},
    )
    assert response.status_code == 302
    inquiry.refresh_from_db()
    assert (inquiry.status, inquiry.satisfaction, inquiry.assignee) == ("closed", 5, bob)
    assert inquiry.closed_at is not None
    page = body_of(bob_client.get(inquiry.get_absolute_url()))
    assert 'data-satisfaction="5"' in page and 'data-closed="1"' in page
    assert 'id="answer-form"' not in page


def test_answering_a_closed_inquiry_is_refused(bob_client, bob, hanako, english):
    inquiry = make_inquiry(bob, hanako)
    services.inquiry_update(actor=bob, inquiry=inquiry, data={"status": "closed"}, version=1)
    response = bob_client.post(
        reverse("inquiries:answer", args=[inquiry.pk]), {"body": "閉じた後の回答"}
    )
    assert response.status_code == 400
    assert "reopen it first" in body_of(response)
    assert not InquiryAnswer.objects.exists()
    assert Inquiry.objects.get().version == 2


def test_an_empty_answer_is_refused_next_to_the_field(bob_client, bob, hanako):
    inquiry = make_inquiry(bob, hanako)
    response = bob_client.post(reverse("inquiries:answer", args=[inquiry.pk]), {"body": "  "})
    assert response.status_code == 400 and 'data-field="body"' in body_of(response)
    assert not InquiryAnswer.objects.exists()


def test_satisfaction_on_an_open_inquiry_is_refused(bob_client, bob, hanako):
    inquiry = make_inquiry(bob, hanako)
    response = bob_client.post(
        reverse("inquiries:change", args=[inquiry.pk]),
        {"status": "in_progress", "satisfaction": "3", "version": 1},
    )
    assert response.status_code == 400
    assert Inquiry.objects.get().status == "new"


def test_a_stale_status_change_answers_409_and_keeps_the_choice(bob_client, bob, alice, hanako):
    inquiry = make_inquiry(bob, hanako)
    services.inquiry_update(actor=alice, inquiry=inquiry, data={"subject": "先に変更"}, version=1)
    response = bob_client.post(
        reverse("inquiries:change", args=[inquiry.pk]),
        {"status": "waiting", "assignee": bob.pk, "version": 1},
    )
    page = body_of(response)
    assert response.status_code == 409 and 'data-conflict="1"' in page
    assert '<option value="waiting" selected>' in page
    assert 'name="version" value="2"' in page
    assert Inquiry.objects.get().status == "new"


def test_take_it_assigns_to_me_and_refuses_a_stale_page(bob_client, bob, alice, hanako):
    inquiry = make_inquiry(bob, hanako)
    url = reverse("inquiries:assign", args=[inquiry.pk])
    assert bob_client.post(url, {"version": 1}).status_code == 302
    inquiry.refresh_from_db()
    assert (inquiry.assignee, inquiry.version) == (bob, 2)
    services.inquiry_assign(actor=alice, inquiry=inquiry, assignee=alice, version=2)
    assert bob_client.post(url, {"version": 2}).status_code == 409
    assert Inquiry.objects.get().assignee == alice


def test_the_edit_form_saves_and_handles_a_conflict(bob_client, bob, alice, hanako):
    inquiry = make_inquiry(bob, hanako, received_at=timezone.now() - H)
    url = reverse("inquiries:edit", args=[inquiry.pk])
    assert bob_client.get(url).status_code == 200
    form = {
        "received_at": timezone.localtime(inquiry.received_at).strftime("%Y-%m-%dT%H:%M"),
        "channel": "email",
        "subject": "件名を直した",
        "content": "",
        "status": "waiting",
        "version": 1,
    }
    response = bob_client.post(url, form)
    assert response.status_code == 302
    inquiry.refresh_from_db()
    assert (inquiry.subject, inquiry.channel, inquiry.status) == (
        "件名を直した",
        "email",
        "waiting",
    )
    change = HistoryEntry.objects.get(model="inquiries.inquiry", action="update")
    assert set(change.changes) == {"subject", "channel", "status"}  # the minute shown is kept
    services.inquiry_update(actor=alice, inquiry=inquiry, data={"content": "他の人"}, version=2)
    response = bob_client.post(url, {**form, "subject": "私の変更", "version": 2})
    page = body_of(response)
    assert response.status_code == 409 and "私の変更" in page and 'name="version" value="3"' in page
    assert Inquiry.objects.get().subject == "件名を直した"
    response = bob_client.post(url, {**form, "subject": "私の変更", "version": 3})
    assert response.status_code == 302 and Inquiry.objects.get().subject == "私の変更"


def test_deleting_moves_the_inquiry_to_the_trash(bob_client, bob, hanako):
    inquiry = make_inquiry(bob, hanako)
    response = bob_client.post(reverse("inquiries:delete", args=[inquiry.pk]))
    assert response.status_code == 302 and response["Location"] == reverse("inquiries:queue")
    assert bob_client.get(inquiry.get_absolute_url()).status_code == 404
    assert Inquiry.objects.get().deleted_at is not None


# --- rights -------------------------------------------------------------------------------------


def test_a_read_only_user_reads_but_cannot_change(client, bob, dave, hanako):
    inquiry = make_inquiry(bob, hanako)
    client.force_login(dave)
    page = body_of(client.get(inquiry.get_absolute_url()))
    assert "エアコンの異音" in page and 'id="answer-form"' not in page
    assert 'data-action="take"' not in page
    for name in ("answer", "change", "assign", "delete", "edit"):
        response = client.post(
            reverse(f"inquiries:{name}", args=[inquiry.pk]),
            {"body": "x", "status": "closed", "version": 1, "subject": "x", "channel": "phone"},
        )
        assert response.status_code == 404, name
    assert client.get(reverse("inquiries:create") + f"?customer={hanako.pk}").status_code == 404
    assert Inquiry.objects.get().version == 1 and not InquiryAnswer.objects.exists()


def test_another_team_does_not_see_the_inquiry(client, bob, carol, hanako):
    inquiry = make_inquiry(bob, hanako, subject="営業1課の件")
    client.force_login(carol)
    assert client.get(inquiry.get_absolute_url()).status_code == 404
    page = body_of(client.get(reverse("inquiries:queue"), {"queue": "all"}))
    assert "営業1課の件" not in page
    assert dict(re.findall(r'data-count="(\w+)">(\d+)<', page))["all"] == "0"


def test_categories_are_an_admin_setting(client, alice, bob, hanako):
    client.force_login(bob)
    assert client.get(reverse("inquiries:category_list")).status_code == 404
    assert client.post(reverse("inquiries:category_create"), {"name": "x"}).status_code == 404
    client.force_login(alice)
    assert client.get(reverse("inquiries:category_list")).status_code == 200
    response = client.post(
        reverse("inquiries:category_create"), {"name": "返品", "position": 70, "is_active": "on"}
    )
    assert response.status_code == 302
    category = InquiryCategory.objects.get(name="返品")
    assert client.post(reverse("inquiries:category_create"), {"name": "返品"}).status_code == 400
    make_inquiry(alice, hanako, category=category)
    client.post(reverse("inquiries:category_delete", args=[category.pk]))
    assert InquiryCategory.objects.filter(pk=category.pk).exists()
    client.post(
        reverse("inquiries:category_edit", args=[category.pk]),
        {"name": "返品", "position": 70},
    )
    category.refresh_from_db()
    assert not category.is_active
    unused = InquiryCategory.objects.get(name="その他")
    client.post(reverse("inquiries:category_delete", args=[unused.pk]))
    assert not InquiryCategory.objects.filter(pk=unused.pk).exists()
