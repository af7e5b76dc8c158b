"""The timeline and task endpoints through the whole HTTP stack."""

import datetime

import pytest
from django.utils import timezone

from enishi.activities.models import Activity, Task
from enishi.activities.services import task_create
from enishi.core import testing
from enishi.history.models import HistoryEntry

pytestmark = pytest.mark.django_db


@pytest.fixture
def hanako(alice):
    return testing.make_customer(alice, name="佐藤 花子")


def test_it_pages_a_timeline_newest_first(alice_api, alice, hanako):
    start = timezone.now() - datetime.timedelta(days=10)
    made = [
        testing.log_call(alice, hanako, occurred_at=start + datetime.timedelta(days=i))
        for i in range(5)
    ]
    seen, cursor = [], None
    while True:
        params = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        body = alice_api.get(f"/customers/{hanako.pk}/activities", params).json()
        seen += [a["id"] for a in body["results"]]
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert seen == [a.pk for a in reversed(made)]
    response = alice_api.get(f"/customers/{hanako.pk}/activities", {"cursor": "e30"})
    assert response.status_code == 422


def test_it_logs_an_activity_and_its_next_action_becomes_a_task(alice_api, alice, bob, hanako):
    response = alice_api.post(
        f"/customers/{hanako.pk}/activities",
        {
            "type": "visit",
            "subject": "訪問",
            "next_action": "見積を送る",
            "next_action_due": "2030-04-01",
            "staff_id": bob.pk,
        },
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert (body["type"], body["staff_id"], body["customer_id"]) == ("visit", bob.pk, hanako.pk)
    task = Task.objects.get(activity_id=body["id"])
    assert (task.title, task.assignee, str(task.due_on)) == ("見積を送る", bob, "2030-04-01")
    entry = HistoryEntry.objects.get(model="activities.activity", object_id=body["id"])
    assert entry.via == HistoryEntry.Via.API


def test_it_refuses_a_due_date_without_a_next_action(alice_api, hanako):
    response = alice_api.post(
        f"/customers/{hanako.pk}/activities", {"type": "call", "next_action_due": "2030-04-01"}
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "next_action"


def test_it_reads_changes_and_deletes_an_activity(alice_api, alice, hanako):
    activity = testing.log_call(alice, hanako, subject="電話")
    response = alice_api.get(f"/activities/{activity.pk}")
    assert response.status_code == 200
    assert response["ETag"] == '"1"'
    response = alice_api.patch(
        f"/activities/{activity.pk}", {"subject": "折り返し"}, HTTP_IF_MATCH='"1"'
    )
    assert response.status_code == 200, response.json()
    assert (response.json()["subject"], response.json()["version"]) == ("折り返し", 2)
    response = alice_api.patch(f"/activities/{activity.pk}", {"version": 1, "subject": "古い"})
    assert response.status_code == 409
    assert response.json()["current"]["subject"] == "折り返し"
    assert alice_api.delete(f"/activities/{activity.pk}").status_code == 204
    assert alice_api.get(f"/activities/{activity.pk}").status_code == 404
    assert Activity.objects.get(pk=activity.pk).deleted_at is not None


def test_it_adds_completes_and_reopens_a_task(alice_api, alice, bob, hanako):
    response = alice_api.post(
        f"/customers/{hanako.pk}/tasks",
        {"title": "電話する", "due_on": "2030-01-10", "assignee_id": bob.pk},
    )
    assert response.status_code == 201, response.json()
    task_id = response.json()["id"]
    assert response.json()["done"] is False
    response = alice_api.patch(f"/tasks/{task_id}", {"version": 1, "done": True})
    assert response.status_code == 200, response.json()
    assert response.json()["done"] is True
    task = Task.objects.get(pk=task_id)
    assert task.done_by == alice
    version = response.json()["version"]
    response = alice_api.patch(
        f"/tasks/{task_id}", {"version": version, "done": False, "title": "再度"}
    )
    assert response.json()["done"] is False
    assert response.json()["title"] == "再度"
    response = alice_api.patch(f"/tasks/{task_id}", {"version": 1, "title": "古い"})
    assert response.status_code == 409
    assert response.json()["current"]["title"] == "再度"
    assert alice_api.delete(f"/tasks/{task_id}").status_code == 204
    assert alice_api.get(f"/tasks/{task_id}").status_code == 404


def test_it_refuses_an_empty_task_title(alice_api, hanako):
    response = alice_api.post(f"/customers/{hanako.pk}/tasks", {"title": "  "})
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "title"


def test_it_filters_tasks(alice_api, alice, bob, hanako):
    mine = task_create(actor=alice, customer=hanako, title="自分", due_on=datetime.date(2030, 1, 1))
    bobs = task_create(
        actor=alice, customer=hanako, title="ボブ", assignee=bob, due_on=datetime.date(2030, 3, 1)
    )
    done = task_create(actor=alice, customer=hanako, title="完了")
    done.done_at = timezone.now()
    done.save()

    def ids(**params):
        response = alice_api.get("/tasks", params)
        assert response.status_code == 200, response.json()
        return {t["id"] for t in response.json()["results"]}

    assert ids(assignee="me", status="open") == {mine.pk}
    assert ids(assignee=str(bob.pk)) == {bobs.pk}
    assert ids(status="done") == {done.pk}
    assert ids(due_before="2030-02-01") == {mine.pk}
    assert ids(due_after="2030-02-01") == {bobs.pk}
    assert ids(customer_id=hanako.pk) == {mine.pk, bobs.pk, done.pk}
    assert alice_api.get("/tasks", {"assignee": "someone"}).status_code == 422
    body = alice_api.get("/tasks", {"limit": 2}).json()
    assert len(body["results"]) == 2 and body["next_cursor"]
    rest = alice_api.get("/tasks", {"limit": 2, "cursor": body["next_cursor"]}).json()
    assert [t["id"] for t in rest["results"]] == [done.pk]


def test_it_refuses_to_empty_an_activitys_type(alice_api, alice, hanako):
    activity = testing.log_call(alice, hanako)
    response = alice_api.patch(f"/activities/{activity.pk}", {"version": 1, "type": None})
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "type"
    response = alice_api.post(f"/customers/{hanako.pk}/activities", {"subject": "種類なし"})
    assert response.status_code == 422
    assert response.json()["errors"][0] == {
        "field": "type",
        "code": "missing",
        "message": "この項目は必須です。",
    }
