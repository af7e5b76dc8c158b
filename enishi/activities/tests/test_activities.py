import datetime

import pytest
from django.urls import reverse
from django.utils import timezone

from enishi.activities.models import Activity, Task
from enishi.activities.selectors import my_tasks
from enishi.core import testing
from enishi.history.models import HistoryEntry

pytestmark = pytest.mark.django_db


def test_it_logs_a_call_whose_next_action_becomes_a_task(alice_client, alice):
    customer = testing.make_customer(alice)
    due = timezone.localdate() + datetime.timedelta(days=3)
    response = alice_client.post(
        reverse("activities:create", args=[customer.pk]),
        {
            "type": "call",
            "subject": "見積の件",
            "body": "来週までに再見積",
            "next_action": "再見積を送る",
            "next_action_due": due.isoformat(),
        },
    )
    assert response.status_code == 302
    activity = Activity.objects.get()
    assert activity.staff == alice and activity.customer == customer
    task = Task.objects.get()
    assert (task.title, task.due_on, task.assignee, task.activity) == (
        "再見積を送る",
        due,
        alice,
        activity,
    )
    assert HistoryEntry.objects.filter(
        customer_id=customer.pk, model="activities.activity"
    ).exists()


def test_it_refuses_an_empty_log_and_a_due_date_without_an_action(alice_client, alice):
    customer = testing.make_customer(alice)
    url = reverse("activities:create", args=[customer.pk])
    assert alice_client.post(url, {"type": "call"}).status_code == 400
    response = alice_client.post(
        url, {"type": "call", "subject": "x", "next_action_due": "2030-01-01"}
    )
    assert response.status_code == 400 and not Activity.objects.exists()


def test_it_groups_my_tasks_into_overdue_today_and_upcoming(alice):
    customer = testing.make_customer(alice)
    today = timezone.localdate()
    for title, days in [("遅れ", -2), ("今日", 0), ("来週", 7)]:
        testing.log_call(
            alice,
            customer,
            next_action=title,
            next_action_due=today + datetime.timedelta(days=days),
        )
    tasks = my_tasks(alice)
    assert [t.title for t in tasks.overdue] == ["遅れ"]
    assert [t.title for t in tasks.today] == ["今日"]
    assert [t.title for t in tasks.upcoming] == ["来週"]


def test_it_completes_a_task_once_and_records_it(alice_client, alice):
    customer = testing.make_customer(alice)
    testing.log_call(alice, customer, next_action="電話する")
    task = Task.objects.get()
    url = reverse("activities:task_complete", args=[task.pk])
    response = alice_client.post(url, {"done": "1"}, HTTP_HX_REQUEST="true")
    assert response.status_code == 200 and "☑" in response.content.decode()
    alice_client.post(url, {"done": "1"})
    task.refresh_from_db()
    assert task.done_at is not None and task.done_by == alice
    assert HistoryEntry.objects.filter(model="activities.task", action="update").count() == 1


def test_it_does_not_redirect_off_site_after_completing(alice_client, alice):
    customer = testing.make_customer(alice)
    testing.log_call(alice, customer, next_action="電話する")
    task = Task.objects.get()
    response = alice_client.post(
        reverse("activities:task_complete", args=[task.pk]), {"next": "https://evil.example/"}
    )
    assert response["Location"] == reverse("activities:my_tasks")


def test_the_my_tasks_page_lists_tasks(alice_client, alice):
    customer = testing.make_customer(alice, name="山田 太郎")
    testing.log_call(alice, customer, next_action="資料送付", next_action_due=timezone.localdate())
    body = alice_client.get(reverse("activities:my_tasks")).content.decode()
    assert "資料送付" in body and "山田 太郎" in body
