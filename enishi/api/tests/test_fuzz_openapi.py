"""Schemathesis against the served OpenAPI document: for every operation, valid and invalid
requests (bounded: MAX_EXAMPLES per generation mode) from an admin's write token against a
small seeded dataset. No answer may be a 5xx, and every answer must match the document
(status code declared, content type, body schema, headers)."""

import pytest
import schemathesis
from django.core import signals
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from enishi.activities.services import task_create
from enishi.api.schemas import MAX_ID
from enishi.core import testing
from enishi.customers.models import FieldDefinition

from .conftest import issue_token

MAX_EXAMPLES = 20
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    response_headers_conformance,
    negative_data_rejection,
]

schema = schemathesis.openapi.from_wsgi("/api/openapi.json", get_wsgi_application())


@schema.auth()
class SeededToken:
    """The seeded admin's write token; left off when a case means to test a missing or
    malformed Authorization header."""

    secret = ""

    def get(self, case, context):
        return SeededToken.secret

    def set(self, case, data, context):
        case.headers = {**(case.headers or {}), "Authorization": f"Bearer {data}"}


@pytest.fixture
def keep_db_connection():
    """Django closes the database connection when a request finishes; in-process that would
    be the test's own connection (inside its transaction) on PostgreSQL. Django's test client
    does the same as this fixture."""
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


@pytest.fixture
def seeded(db, alice, bob):
    """A few kartes, an activity and a task; ids in the generated paths are mapped onto them
    half of the time so that the operations also run on records that exist."""
    FieldDefinition.objects.create(key="visits", label_ja="来店回数", type="number")
    FieldDefinition.objects.create(
        key="size", label_ja="サイズ", type="choice", choices=["S", "M", "L"]
    )
    company = testing.make_company(alice, name="株式会社山田商事", phone="03-3581-0101")
    people = [
        testing.make_customer(
            bob, name="山田 太郎", name_kana="ヤマダ タロウ", company=company, tags=["VIP"]
        ),
        testing.make_customer(alice, name="佐藤 花子", custom_fields={"visits": 3}),
    ]
    activity = testing.log_call(alice, people[0], next_action="見積", subject="電話")
    task = task_create(actor=alice, customer=people[1], title="訪問する")
    ids = [company.pk, *(p.pk for p in people), activity.pk, task.pk, task.pk - 1]
    SeededToken.secret = issue_token(alice)
    return ids


@schema.parametrize()
@settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    derandomize=True,
    suppress_health_check=list(HealthCheck),
)
def test_it_answers_every_operation_within_its_schema(case, seeded, keep_db_connection):
    ids = seeded
    value = (case.path_parameters or {}).get("id")
    if type(value) is int and 1 <= value <= MAX_ID and value % 2 == 0:
        case.path_parameters["id"] = ids[(value // 2) % len(ids)]
    case.call_and_validate(checks=CHECKS)
