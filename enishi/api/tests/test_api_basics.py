"""What holds for the whole API: the OpenAPI document, the docs page, rate limits."""

import pytest
from django.test import override_settings

from .conftest import ApiClient, issue_token

pytestmark = pytest.mark.django_db


def test_it_serves_the_openapi_document_and_the_docs(client):
    response = client.get("/api/openapi.json")
    assert response.status_code == 200
    document = response.json()
    assert document["info"]["title"] == "Enishi API"
    assert document["info"]["version"] == "1"
    assert "/api/v1/customers" in document["paths"]
    assert client.get("/api/docs").status_code == 200


# POSTs that change no customer data: a read-only user may export what they can see.
READS_BY_POST = {("post", "/api/v1/exports")}


def test_it_declares_the_error_responses_of_every_operation(client):
    document = client.get("/api/openapi.json").json()
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            codes = set(operation["responses"])
            assert {"401", "429"} <= codes, (method, path)
            if operation.get("parameters") or operation.get("requestBody"):
                assert "422" in codes, (method, path)
            if "{id}" in path:
                assert "404" in codes, (method, path)
            if method in ("post", "patch", "delete") and (method, path) not in READS_BY_POST:
                assert "403" in codes, (method, path)
            if method == "patch":
                assert "409" in codes, (method, path)
            if operation.get("requestBody"):
                assert "400" in codes, (method, path)


@override_settings(ENISHI_API_RATE="3/min")
def test_it_limits_the_rate_per_token(client, alice, bob, monkeypatch):
    # Half way through a one-minute window, so that no window ends during the test.
    monkeypatch.setattr("enishi.api.auth.time.time", lambda: 60 * 28_000_000 + 30.0)
    alice_api = ApiClient(client, issue_token(alice))
    for _ in range(3):
        assert alice_api.get("/users").status_code == 200
    response = alice_api.get("/users")
    assert response.status_code == 429
    assert response["Retry-After"] == "30"
    assert response.json()["errors"] == []
    assert response.json()["detail"]
    # Another token has its own budget.
    assert ApiClient(client, issue_token(bob)).get("/users").status_code == 200


def test_unknown_paths_methods_and_broken_uploads_answer_in_the_apis_json(client, bob):
    from .conftest import ApiClient, issue_token

    api = ApiClient(client, issue_token(bob), language="en")
    for response in (
        api.send("PATCH", "/imports/1"),
        api.get("/exports/1/file/"),
        api.get("/no-such-thing"),
        ApiClient(client, None).get("/no-such-thing"),
    ):
        assert response["Content-Type"].startswith("application/json"), response.status_code
        assert response.status_code in (404, 405) and response.json()["detail"]
    assert "GET" in api.send("PATCH", "/imports/1")["Allow"]
    broken = client.post(
        "/api/v1/imports",
        b"--x\r\n",
        content_type="multipart/form-data",  # no boundary
        HTTP_AUTHORIZATION=api.headers["HTTP_AUTHORIZATION"],
    )
    assert broken.status_code == 400 and "multipart" in broken.json()["detail"]
