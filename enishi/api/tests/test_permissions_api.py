"""The API's permission layer is the screens': Bob (member, 営業1課) cannot reach a karte of
Carol's (営業2課) through any endpoint; he gets the same 404 as for an id that never existed, and
nothing in the answer names the karte. Dave is read-only."""

from collections import defaultdict

import pytest

from enishi.activities.services import task_create
from enishi.activities.tests import matrix as activities_matrix
from enishi.api.models import ApiToken
from enishi.core import testing
from enishi.customers.models import Customer, FieldDefinition
from enishi.deals.tests import matrix as deals_matrix
from enishi.history.models import HistoryEntry
from enishi.imports.tests import matrix as imports_matrix
from enishi.inquiries.tests import matrix as inquiries_matrix
from enishi.quality.tests import matrix as quality_matrix
from enishi.quality.tests import matrix_upkeep as upkeep_matrix
from enishi.sales.tests import matrix as sales_matrix
from enishi.transfer.tests import matrix as transfer_matrix
from enishi.transfer.tests import matrix_cards as cards_matrix

from .conftest import ApiClient, issue_token

pytestmark = pytest.mark.django_db

SECRET_NAME = "機密 顧客花子"
NEVER = 987654321
# Administrators-only operations on one record: a member is refused (403) before the record is
# loaded, so the answer is the same for a record that never existed (test_write_refusals.py).
ADMINS_ONLY = {("PATCH", "/products/")}


@pytest.fixture
def secret(carol):
    customer = testing.make_customer(carol, name=SECRET_NAME, name_kana="キミツ ハナコ")
    activity = testing.log_call(carol, customer, subject="極秘の電話")
    task = task_create(actor=carol, customer=customer, title="極秘のタスク")
    return customer, activity, task


APP_MATRICES = [
    deals_matrix,
    inquiries_matrix,
    sales_matrix,
    activities_matrix,
    transfer_matrix,
    imports_matrix,
    quality_matrix,
    cards_matrix,
    upkeep_matrix,
]


def _ids(carol, secret) -> dict:
    """Ids of Carol's records, by the keys the app matrices use."""
    customer, activity, task = secret
    ids = {"customer": customer.pk, "activity": activity.pk, "task": task.pk}
    for matrix in APP_MATRICES:
        ids.update(matrix.secret_objects(carol, customer))
    return ids


def _requests(ids):
    customer_id, activity_id, task_id = ids["customer"], ids["activity"], ids["task"]
    return [
        ("GET", f"/customers/{customer_id}", None),
        ("PATCH", f"/customers/{customer_id}", {"version": 1, "notes": "見たぞ"}),
        ("DELETE", f"/customers/{customer_id}", None),
        ("GET", f"/customers/{customer_id}/activities", None),
        ("GET", f"/customers/{customer_id}/figures", None),
        ("GET", f"/customers/{customer_id}/timeline", None),
        ("POST", f"/customers/{customer_id}/activities", {"type": "call", "subject": "x"}),
        ("POST", f"/customers/{customer_id}/tasks", {"title": "x"}),
        ("GET", f"/activities/{activity_id}", None),
        ("PATCH", f"/activities/{activity_id}", {"version": 1, "subject": "x"}),
        ("DELETE", f"/activities/{activity_id}", None),
        ("GET", f"/tasks/{task_id}", None),
        ("PATCH", f"/tasks/{task_id}", {"version": 1, "done": True}),
        ("DELETE", f"/tasks/{task_id}", None),
        *(request for matrix in APP_MATRICES for request in matrix.api_requests(ids)),
    ]


def test_it_answers_404_never_403_to_a_member_reaching_another_teams_karte(bob_api, carol, secret):
    customer, activity, task = secret
    ids = _ids(carol, secret)
    real = _requests(ids)
    for (method, path, body), (_, unknown_path, _) in zip(
        real, _requests(dict.fromkeys(ids, NEVER)), strict=True
    ):
        response = bob_api.send(method, path, body)
        twin = bob_api.send(method, unknown_path, body)
        expected = 403 if (method, path.rstrip("0123456789")) in ADMINS_ONLY else 404
        assert response.status_code == twin.status_code == expected, (method, path)
        assert response.json() == twin.json()
        body_text = response.content.decode()
        leaked = [s for m in APP_MATRICES for s in (SECRET_NAME, *m.SECRETS) if s in body_text]
        assert leaked == [], (method, path, leaked)
    customer.refresh_from_db()
    assert (customer.notes, customer.deleted_at, customer.version) == ("", None, 1)
    assert customer.activities.count() == 1
    assert customer.tasks.count() == 1


def test_it_leaves_another_teams_karte_out_of_lists_and_search(bob_api, bob, secret):
    customer, _activity, task = secret
    own = testing.make_customer(bob, name="機密 ではない")
    listed = bob_api.get("/customers").json()["results"]
    assert [c["id"] for c in listed] == [own.pk]
    found = bob_api.get("/search", {"q": "機密"}).json()
    assert [c["id"] for c in found["results"]] == [own.pk]
    assert found["count"] == 1
    assert bob_api.get("/search", {"q": "キミツハナコ"}).json()["results"] == []
    tasks = bob_api.get("/tasks").json()["results"]
    assert task.pk not in [t["id"] for t in tasks]
    assert bob_api.get("/tasks", {"customer_id": customer.pk}).json()["results"] == []


def test_it_hides_a_link_to_a_company_the_user_may_not_see(bob_api, bob, carol):
    company = testing.make_company(carol, name="株式会社 見えない")
    person = testing.make_customer(bob, name="見える 人", company=company)
    body = bob_api.get(f"/customers/{person.pk}").json()
    assert body["company_id"] is None


def test_it_lets_a_team_mate_reach_the_karte(bob_api, carol):
    teammate = testing.make_user("ken", team="営業1課")
    customer = testing.make_customer(teammate, name="同じ課の顧客")
    assert bob_api.get(f"/customers/{customer.pk}").status_code == 200
    response = bob_api.patch(f"/customers/{customer.pk}", {"version": 1, "rank": "B"})
    assert response.status_code == 200


def test_it_refuses_writes_with_a_read_only_token(client, alice, carol, secret):
    customer, activity, task = secret
    api = ApiClient(client, issue_token(alice, scopes=ApiToken.Scopes.READ))
    assert api.get(f"/customers/{customer.pk}").status_code == 200
    writes = [r for r in _requests(_ids(carol, secret)) if r[0] != "GET"]
    customers_before = Customer.objects.count()
    writes.append(("POST", "/customers", {"name": "新規"}))
    for method, path, body in writes:
        response = api.send(method, path, body)
        assert response.status_code == 403, (method, path)
        assert "読み取り専用" in response.json()["detail"]
    assert Customer.objects.count() == customers_before


def test_it_refuses_writes_to_a_read_only_role_even_with_a_write_token(client, bob, dave):
    customer = testing.make_customer(bob, name="同じ課")
    token = issue_token(dave, scopes=ApiToken.Scopes.READ)
    dave_api = ApiClient(client, token)
    assert dave_api.get(f"/customers/{customer.pk}").status_code == 200
    # A token made while Dave could still write keeps its scope, but his role now decides.
    ApiToken.objects.filter(user=dave).update(scopes=ApiToken.Scopes.WRITE)
    response = dave_api.patch(f"/customers/{customer.pk}", {"version": 1, "rank": "A"})
    assert response.status_code == 403
    assert dave_api.post("/customers", {"name": "x"}).status_code == 403


def test_it_omits_sensitive_fields_for_roles_that_may_not_see_them(client, alice, bob):
    FieldDefinition.objects.create(key="health", label_ja="健康状態", type="text", sensitive=True)
    FieldDefinition.objects.create(key="hobby", label_ja="趣味", type="text")
    # Entered by an admin; Bob owns the karte but may not see its sensitive field.
    customer = testing.make_customer(
        alice, name="配慮 太郎", owner=bob, custom_fields={"health": "持病あり", "hobby": "釣り"}
    )
    bob_api = ApiClient(client, issue_token(bob))
    body = bob_api.get(f"/customers/{customer.pk}").json()
    assert body["custom_fields"] == {"hobby": "釣り"}
    assert [d["key"] for d in bob_api.get("/field-definitions").json()] == ["hobby"]
    response = bob_api.patch(
        f"/customers/{customer.pk}", {"version": 1, "custom_fields": {"health": "なし"}}
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "custom_fields.health"
    response = bob_api.patch(
        f"/customers/{customer.pk}", {"version": 1, "custom_fields": {"hobby": "囲碁"}}
    )
    assert response.status_code == 200
    customer.refresh_from_db()
    assert customer.custom_fields == {"health": "持病あり", "hobby": "囲碁"}

    alice_api = ApiClient(client, issue_token(alice))
    listed = alice_api.get("/customers").json()["results"][0]
    assert "health" not in listed["custom_fields"]
    assert not HistoryEntry.objects.filter(action=HistoryEntry.Action.VIEW_SENSITIVE).exists()
    body = alice_api.get(f"/customers/{customer.pk}").json()
    assert body["custom_fields"]["health"] == "持病あり"
    entry = HistoryEntry.objects.get(action=HistoryEntry.Action.VIEW_SENSITIVE)
    assert (entry.actor, entry.via, entry.customer_id) == (alice, HistoryEntry.Via.API, customer.pk)


def test_it_shows_staff_emails_to_admins_only(client, alice, bob):
    alice.email = "alice@example.com"
    alice.save()
    bob_view = ApiClient(client, issue_token(bob)).get("/users").json()["results"]
    assert {u["username"] for u in bob_view} == {"alice", "bob"}
    assert all(u["email"] is None for u in bob_view)
    alice_view = ApiClient(client, issue_token(alice)).get("/users").json()["results"]
    by_name = {u["username"]: u for u in alice_view}
    assert by_name["alice"]["email"] == "alice@example.com"
    assert by_name["alice"]["role"] == "admin"
    assert by_name["bob"]["team"]["name"] == "営業1課"


def test_every_api_operation_on_one_record_is_in_the_matrix(client):
    """A new endpoint that takes a record id must be added to `_requests` above."""
    schema = client.get("/api/openapi.json").json()
    listed = {
        (method, path.split("/")[1] + "/" + "/".join(path.split("/")[3:]))
        for method, path, _ in _requests(defaultdict(lambda: 1))
    }
    missing = []
    for path, operations in schema["paths"].items():
        if "{" not in path:
            continue
        parts = path.removeprefix("/api/v1").split("/")
        key_path = parts[1] + "/" + "/".join(parts[3:])
        for method in operations:
            if (method.upper(), key_path) not in listed:
                missing.append(f"{method.upper()} {path}")
    assert missing == [], f"add these operations to the API permission matrix: {missing}"
