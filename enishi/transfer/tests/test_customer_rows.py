"""What a row holds: columns per role, values as people read them, links only to visible
kartes, and a number of queries that does not grow with the number of kartes."""

import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import translation

from enishi.core import testing
from enishi.customers.models import Customer, FieldDefinition, Tag
from enishi.customers.selectors import CustomerFilters, customer_list
from enishi.transfer.export import DEFAULT_COLUMNS, customer_rows, export_columns

pytestmark = pytest.mark.django_db


def keys(user):
    return [c.key for c in export_columns(user)]


def values(user, customer_filters=None, wanted=None):
    with translation.override("en"):
        columns = export_columns(user)
        if wanted:
            columns = [c for c in columns if c.key in wanted]
        qs = customer_list(user, customer_filters or CustomerFilters())
        return [
            dict(zip([c.key for c in columns], r.values, strict=True))
            for r in customer_rows(user, qs, columns)
        ]


class TestColumns:
    def test_it_offers_every_field_people_care_about(self, bob):
        offered = keys(bob)
        for key in (
            "code",
            "kind",
            "name",
            "name_kana",
            "company",
            "department",
            "title",
            "postal_code",
            "prefecture",
            "city",
            "town",
            "street",
            "building",
            "phone",
            "mobile",
            "fax",
            "email",
            "email_alt",
            "website",
            "owner",
            "team",
            "status",
            "rank",
            "acquisition_channel",
            "contact_email",
            "contact_phone",
            "contact_post",
            "contact_sns",
            "tags",
            "birthday",
            "corporate_number",
            "industry",
            "employees",
            "notes",
            "created_at",
            "updated_at",
        ):
            assert key in offered
        assert set(DEFAULT_COLUMNS) <= set(offered)

    def test_headers_are_in_the_users_language(self, bob):
        with translation.override("ja"):
            labels = {c.key: c.label for c in export_columns(bob)}
        assert labels["phone"] == "電話番号" and labels["name_kana"] == "フリガナ"

    def test_sensitive_fields_are_offered_only_to_roles_that_may_see_them(
        self, bob, dave, erin, alice, allergy, visits
    ):
        assert "cf:last_visit" in keys(bob)
        assert "cf:allergies" not in keys(bob)
        assert "cf:allergies" not in keys(dave)
        assert "cf:allergies" in keys(erin) and "cf:allergies" in keys(alice)

    def test_inactive_fields_are_not_offered(self, alice, visits):
        FieldDefinition.objects.filter(pk=visits.pk).update(is_active=False)
        assert "cf:last_visit" not in keys(alice)


class TestValues:
    def test_values_read_as_on_the_karte(self, alice, bob, visits):
        vip = Tag.objects.create(name="VIP")
        customer = testing.make_customer(
            bob,
            name="山田 太郎",
            phone="0312345678",
            postal_code="100-0001",
            prefecture="東京都",
            city="千代田区",
            town="千代田",
            street="1-1",
            building="皇居ビル 3F",
            status="customer",
            acquisition_channel="web",
            birthday=datetime.date(1980, 4, 1),
            contact_permissions={"email": True, "phone": False},
            team=bob.team,
            custom_fields={"last_visit": "2026-10-01"},
        )
        customer.tags.add(vip, Tag.objects.create(name="お得意様"))
        row = values(alice)[0]
        assert row["name"] == "山田 太郎"
        assert row["phone"] == Customer.objects.get().phone
        assert row["postal_code"].startswith("100")
        assert row["address"] == "東京都千代田区千代田1-1 皇居ビル 3F"
        assert (row["status"], row["acquisition_channel"]) == ("Customer", "Website")
        assert (row["contact_email"], row["contact_phone"], row["contact_post"]) == (
            "Yes",
            "No",
            "",
        )
        assert row["birthday"] == datetime.date(1980, 4, 1)
        assert row["cf:last_visit"] == datetime.date(2026, 10, 1)
        assert row["tags"] == "VIP、お得意様"
        assert row["owner"] == bob.label and row["team"] == "営業1課"
        assert isinstance(row["updated_at"], datetime.datetime)

    def test_a_company_the_user_may_not_see_is_left_blank(self, bob, carol, alice):
        secret = testing.make_company(carol, name="株式会社機密")
        testing.make_customer(bob, name="ボブの担当者", company=secret)
        assert values(bob, wanted={"name", "company"}) == [{"name": "ボブの担当者", "company": ""}]
        assert values(alice, wanted={"name", "company"})[0]["company"] == "株式会社機密"

    def test_sensitive_values_are_read_for_roles_that_may_see_them(self, erin, bob, allergy):
        testing.make_customer(erin, name="配慮 花子", owner=bob, custom_fields={"allergies": "卵"})
        assert values(erin, wanted={"cf:allergies"}) == [{"cf:allergies": "卵"}]


def _make(count, owner, tag):
    Customer.objects.bulk_create(
        Customer(name=f"顧客{i}", owner=owner, phone="03-1234-5678", custom_fields={"x": i})
        for i in range(count)
    )
    through = Customer.tags.through
    through.objects.bulk_create(
        through(customer_id=pk, tag_id=tag.pk)
        for pk in Customer.objects.filter(tags=None).values_list("pk", flat=True)
    )


def _queries(user):
    qs = customer_list(user, CustomerFilters())
    with CaptureQueriesContext(connection) as ctx:
        columns = export_columns(user)  # every column: owners, teams, tags, company links
        n = sum(1 for _ in customer_rows(user, qs, columns))
    return n, len(ctx.captured_queries)


def test_it_uses_the_same_number_of_queries_for_5_or_500_kartes(bob, carol):
    tag = Tag.objects.create(name="対象")
    _make(5, bob, tag)
    small = _queries(bob)
    _make(495, bob, tag)
    _make(50, carol, tag)  # not Bob's to see
    big = _queries(bob)
    assert small[0] == 5 and big[0] == 500
    # Field definitions, the ids in order, the rows, their tags, owners and teams.
    assert small[1] == big[1] <= 6
