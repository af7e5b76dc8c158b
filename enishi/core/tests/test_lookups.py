"""`field__among=values`: IN with one parameter, on SQLite and PostgreSQL alike."""

import pytest
from django.db import connection
from django.db.models import Q
from django.test.utils import CaptureQueriesContext

from enishi.customers.models import Customer
from enishi.customers.services import apply_derived_fields


def _karte(name: str, code: str = "", phone: str = "") -> Customer:
    customer = Customer(kind=Customer.Kind.PERSON, name=name, code=code, phone=phone)
    apply_derived_fields(customer)
    customer.save()
    return customer


@pytest.mark.django_db
def test_among_finds_the_same_rows_as_in_with_one_parameter():
    a = _karte("山田 太郎", "C1", "090-1234-5678")
    b = _karte("佐藤 花子", "C2")
    _karte("田中 一郎", "C3")
    codes = {"C1", "C2", "C9", *(f"X{n}" for n in range(2000))}
    with CaptureQueriesContext(connection) as queries:
        found = set(Customer.objects.filter(code__among=codes).values_list("pk", flat=True))
    assert found == {a.pk, b.pk}
    assert found == set(Customer.objects.filter(code__in=codes).values_list("pk", flat=True))
    assert queries[0]["sql"].count("X1999") <= 1  # the values travel as one parameter
    # Integers, OR-ed lookups and the empty set.
    assert set(Customer.objects.filter(pk__among=[b.pk, 10**9]).values_list("pk", flat=True)) == {
        b.pk
    }
    either = Q(code__among={"C2"}) | Q(phone_e164__among={"+819012345678"})
    assert set(Customer.objects.filter(either).values_list("pk", flat=True)) == {a.pk, b.pk}
    assert not Customer.objects.filter(code__among=set()).exists()


@pytest.mark.django_db
def test_among_keeps_hostile_values_as_values():
    _karte("山田 太郎", "C1")
    hostile = {"C1') OR 1=1 --", '"]', "\\", "'", "C1 "}
    assert not Customer.objects.filter(code__among=hostile).exists()


@pytest.mark.django_db
def test_among_filters_by_a_foreign_key_with_one_parameter():
    company = _karte("株式会社山田商事")
    person = _karte("山田 太郎")
    Customer.objects.filter(pk=person.pk).update(company=company)
    ids = {company.pk, *range(10**6, 10**6 + 2000)}
    with CaptureQueriesContext(connection) as queries:
        found = list(Customer.objects.filter(company__among=ids).values_list("pk", flat=True))
    assert found == [person.pk]
    assert queries[0]["sql"].count(str(10**6 + 1999)) <= 1
    assert list(
        Customer.objects.filter(company_id__among=[company.pk]).values_list("pk", flat=True)
    ) == [person.pk]
