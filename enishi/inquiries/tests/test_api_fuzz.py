"""Schemathesis on the inquiry operations only, with inquiries that exist (the API-wide fuzz
test seeds kartes, activities and tasks): no 5xx, every answer within the OpenAPI document."""

import pytest
from hypothesis import HealthCheck, settings

from enishi.api.schemas import MAX_ID
from enishi.api.tests.conftest import issue_token
from enishi.api.tests.test_fuzz_openapi import CHECKS, SeededToken, keep_db_connection, schema
from enishi.core import testing
from enishi.inquiries import services

__all__ = ["keep_db_connection"]  # a fixture the test below uses

inquiry_schema = schema.include(tag="inquiries")


@pytest.fixture
def seeded_inquiries(db, alice, bob):
    customer = testing.make_customer(bob, name="山田 太郎")
    open_ = services.inquiry_create(actor=bob, customer=customer, subject="異音がする")
    services.inquiry_answer(actor=bob, inquiry=open_, body="伺います")
    closed = services.inquiry_create(actor=alice, customer=customer, subject="解約したい")
    services.inquiry_update(actor=alice, inquiry=closed, data={"status": "closed"}, version=1)
    SeededToken.secret = issue_token(alice)
    return [open_.pk, closed.pk]


@inquiry_schema.parametrize()
@settings(max_examples=20, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
def test_the_inquiry_operations_answer_within_their_schema(
    case, seeded_inquiries, keep_db_connection
):
    value = (case.path_parameters or {}).get("id")
    if type(value) is int and 1 <= value <= MAX_ID and value % 2 == 0:
        case.path_parameters["id"] = seeded_inquiries[(value // 2) % len(seeded_inquiries)]
    case.call_and_validate(checks=CHECKS)
