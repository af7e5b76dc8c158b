"""A caller who may not make a call gets 403 whatever the body: never a 422 that would describe
the validation of a body they were not allowed to send. The role-level checks ("may write at
all", "administrators only") run in the operation's auth (`write_auth`, `TokenAuthThen`),
before ninja reads the body; checks that need the record in the URL come after.

The operations are read from the OpenAPI document, so a new write operation is walked too; the
few that a read-only caller may use are listed below with the reason."""

import pytest

from enishi.api.api import api
from enishi.api.models import ApiToken

from .conftest import ApiClient, issue_token

PREFIX = "/api/v1"
WRITE_METHODS = ("post", "put", "patch", "delete")

# operationId → why a read-only caller may call it (they get no 403).
READ_ONLY_MAY = {
    "start_export": "an export reads kartes: read-only tokens and roles may export",
}
# operationId → why an administrator's read-scope token may call it.
ADMIN_READ_SCOPE_MAY = {
    **READ_ONLY_MAY,
    "start_full_export": "a full export is a read, for administrators",
}
# operationId → the role-level check it runs instead of `write_auth` (see test below).
NOT_WRITE_AUTH = {
    "start_export": "a read (no check beyond the token)",
    "start_full_export": "administrators only, any scope",
    "delete_export": "the write scope, any role (one's own export)",
}

BODIES = [
    pytest.param({}, id="empty"),
    pytest.param([], id="list"),
    pytest.param({"version": "x", "name": 1, "id": [], "nonsense": True}, id="junk"),
    pytest.param('{"version": 1, "na', id="broken-json"),
]


def _write_operations() -> list[tuple[str, str, str, str, bool]]:
    found = []
    for path, operations in api.get_openapi_schema()["paths"].items():
        for method, operation in operations.items():
            if method in WRITE_METHODS:
                found.append(
                    (
                        method.upper(),
                        path.removeprefix(PREFIX).replace("{id}", "1"),
                        operation["operationId"],
                        operation.get("summary", ""),
                        operation.get("security"),
                    )
                )
    return sorted(found)


WRITES = _write_operations()


def _send(caller: ApiClient, method: str, path: str, body):
    if isinstance(body, str):
        return caller.send(method, path, raw=body)
    return caller.send(method, path, body)


def test_the_walk_finds_the_write_operations():
    names = {op_id for _m, _p, op_id, _s, _sec in WRITES}
    assert len(WRITES) >= 45
    assert {"create_customer", "update_house_style", "create_merge", "create_import"} <= names
    assert set(READ_ONLY_MAY) | set(ADMIN_READ_SCOPE_MAY) | set(NOT_WRITE_AUTH) <= names


@pytest.mark.parametrize(("method", "path", "op_id", "summary", "security"), WRITES)
def test_write_operations_check_the_role_in_their_auth(method, path, op_id, summary, security):
    # TokenAuthThen runs its checks before the body is read; the API's plain TokenAuth does not.
    if op_id in READ_ONLY_MAY:
        return
    assert security == [{"TokenAuthThen": []}], (
        f"{method} {path} ({op_id}): give it auth=write_auth(…) (or TokenAuthThen), or list it "
        "in NOT_WRITE_AUTH / READ_ONLY_MAY with the reason"
    )


@pytest.fixture
def read_only_callers(client, alice, bob, dave):
    return {
        "member read-scope token": ApiClient(client, issue_token(bob, scopes=ApiToken.Scopes.READ)),
        "read-only role": ApiClient(client, issue_token(dave, scopes=ApiToken.Scopes.READ)),
        "admin read-scope token": ApiClient(
            client, issue_token(alice, scopes=ApiToken.Scopes.READ)
        ),
    }


@pytest.mark.parametrize("body", BODIES)
@pytest.mark.parametrize(("method", "path", "op_id", "summary", "security"), WRITES)
def test_read_only_callers_get_403_whatever_the_body(
    read_only_callers, method, path, op_id, summary, security, body
):
    for name, caller in read_only_callers.items():
        allowed = ADMIN_READ_SCOPE_MAY if name == "admin read-scope token" else READ_ONLY_MAY
        if op_id in allowed:
            continue
        response = _send(caller, method, path, body)
        assert response.status_code == 403, (name, method, path, response.content)


def _restricted() -> list:
    """Operations documented as for administrators (and managers): the others get 403."""
    found = []
    for method, path, op_id, summary, _security in WRITES:
        if "(admins)" in summary:
            found.append(pytest.param(method, path, ("bob", "carol", "erin"), id=op_id))
        elif "(administrators and managers)" in summary:
            found.append(pytest.param(method, path, ("bob", "carol"), id=op_id))
    return found


RESTRICTED = _restricted()


def test_the_restricted_operations_are_found():
    assert {p.id for p in RESTRICTED} >= {
        "update_house_style",
        "create_product",
        "update_product",
        "start_full_export",
        "start_scan",
    }


@pytest.mark.parametrize("body", BODIES)
@pytest.mark.parametrize(("method", "path", "refused"), RESTRICTED)
def test_restricted_operations_refuse_other_roles_whatever_the_body(
    request, client, method, path, refused, body
):
    for username in refused:
        user = request.getfixturevalue(username)
        caller = ApiClient(client, issue_token(user))
        response = _send(caller, method, path, body)
        assert response.status_code == 403, (username, method, path, response.content)


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "/customers"),
        ("POST", "/merges"),
        ("PATCH", "/house-style"),
        ("POST", "/products"),
        ("POST", "/deals"),
        ("POST", "/orders"),
        ("POST", "/inquiries"),
    ],
)
def test_callers_who_may_still_get_422_for_a_bad_body(client, alice, method, path):
    caller = ApiClient(client, issue_token(alice))
    for body in ({}, {"nonsense": 1}):
        assert _send(caller, method, path, body).status_code == 422, (method, path, body)
