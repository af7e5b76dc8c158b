"""The karte beyond the customer's facts: one timeline of every kind, the sections and the key
figures of the header, and handover of the records that follow a customer."""

import datetime
from decimal import Decimal

import pytest
from django.utils import timezone

from enishi.activities.models import Activity
from enishi.core import testing
from enishi.core.timeline import Cursor, cursor_from, midnight
from enishi.customers.handover import customers_hand_over, handover_plan
from enishi.customers.karte import karte_sections, karte_timeline
from enishi.deals.models import Deal, DealStageChange, Pipeline, Stage
from enishi.history.models import HistoryEntry
from enishi.inquiries.models import Inquiry
from enishi.sales.models import Contract, Order

pytestmark = pytest.mark.django_db
TZ = timezone.get_current_timezone()


def at(day: int, hour: int = 12) -> datetime.datetime:
    return datetime.datetime(2026, 4, day, hour, tzinfo=TZ)


@pytest.fixture
def pipeline():
    pipeline = Pipeline.objects.create(name="テスト営業")
    stages = {
        name: Stage.objects.create(
            pipeline=pipeline, name=name, position=i, probability=p, outcome=outcome
        )
        for i, (name, p, outcome) in enumerate(
            [("提案", 40, "open"), ("受注", 100, "won"), ("失注", 0, "lost")]
        )
    }
    return pipeline, stages


def make_deal(customer, pipeline, stage, **data):
    return Deal.objects.create(
        customer=customer, pipeline=pipeline, stage=stage, title=data.pop("title", "商談"), **data
    )


def make_order(customer, day, total, **data):
    return Order.objects.create(
        customer=customer, ordered_on=day, subtotal=total, total=total, **data
    )


def page_through(customer, *, kind="", size=3):
    seen, before = [], None
    while True:
        items, before = karte_timeline(customer, kind=kind, before=before, size=size)
        seen.extend(items)
        if before is None:
            return seen
        # The cursor survives a round trip through the page's links.
        before = cursor_from(before.at.isoformat(), str(before.rank), str(before.id))


class TestTimeline:
    def test_it_merges_every_kind_newest_first_and_pages_without_gaps(self, alice, pipeline):
        customer = testing.make_customer(alice, name="時系列 太郎")
        line, stages = pipeline
        for day in (1, 3, 5, 7):
            testing.log_call(alice, customer, occurred_at=at(day), subject=f"電話{day}")
        deal = make_deal(customer, line, stages["提案"], owner=alice)
        Deal.objects.filter(pk=deal.pk).update(created_at=at(2))
        DealStageChange.objects.create(
            deal=deal, from_stage=stages["提案"], to_stage=stages["受注"], changed_at=at(6)
        )
        Inquiry.objects.create(customer=customer, subject="問い合わせ", received_at=at(4))
        # Orders are dated: they sit at midnight, before the activities of the same day.
        make_order(customer, datetime.date(2026, 4, 5), Decimal(1100))
        make_order(customer, datetime.date(2026, 4, 5), Decimal(2200))
        Contract.objects.create(customer=customer, plan="保守", starts_on=datetime.date(2026, 4, 3))

        items = page_through(customer, size=3)
        keys = [(i.kind, i.at) for i in items]
        assert len(items) == 10 and len({(i.kind, i.id) for i in items}) == 10
        assert [i.key for i in items] == sorted((i.key for i in items), reverse=True)
        assert keys[:3] == [
            ("activity", at(7)),
            ("deal_stage", at(6)),
            ("activity", at(5)),
        ]
        assert {k for k, _ in keys[3:5]} == {"order"}
        assert keys[3][1] == midnight(datetime.date(2026, 4, 5))
        assert [i.key for i in page_through(customer, size=100)] == [i.key for i in items]

    def test_it_filters_by_kind(self, alice, pipeline):
        customer = testing.make_customer(alice)
        testing.log_call(alice, customer)
        make_order(customer, datetime.date(2026, 1, 1), Decimal(100))
        make_deal(customer, *pipeline[:1], pipeline[1]["提案"])
        assert {i.kind for i in page_through(customer, kind="order")} == {"order"}
        assert {i.kind for i in page_through(customer, kind="activity")} == {"activity"}
        assert {i.kind for i in page_through(customer)} == {"activity", "order", "deal"}

    def test_it_leaves_out_records_in_the_trash(self, alice):
        customer = testing.make_customer(alice)
        testing.log_call(alice, customer)
        make_order(customer, datetime.date(2026, 1, 1), Decimal(100), deleted_at=timezone.now())
        assert [i.kind for i in page_through(customer)] == ["activity"]

    def test_a_malformed_cursor_starts_from_the_top(self):
        assert cursor_from("yesterday", "1", "2") is None
        assert cursor_from("2026-04-01T00:00:00", "10", "2") is None  # no time zone
        assert cursor_from("2026-04-01T00:00:00+09:00", "10", "x") is None
        assert cursor_from("2026-04-01T00:00:00+09:00", "10", "2") == Cursor(
            datetime.datetime(2026, 4, 1, tzinfo=datetime.timezone(datetime.timedelta(hours=9))),
            10,
            2,
        )

    def test_the_karte_pages_the_timeline_through_its_links(self, alice_client, alice, settings):
        settings.ENISHI_TIMELINE_PAGE_SIZE = 2
        customer = testing.make_customer(alice)
        for day in range(1, 6):
            make_order(
                customer, datetime.date(2026, 4, day), Decimal(day * 1000), number=f"注文-{day}番"
            )
        body = alice_client.get(customer.get_absolute_url()).content.decode()
        body = body[body.index('id="timeline"') :]
        assert "注文-5番" in body and "注文-4番" in body and "注文-3番" not in body
        start = body.index('hx-get="?part=timeline&amp;before_at=') + len('hx-get="')
        link = body[start : body.index('"', start)].replace("&amp;", "&")
        part = alice_client.get(customer.get_absolute_url() + link, HTTP_HX_REQUEST="true")
        text = part.content.decode()
        assert "注文-3番" in text and "注文-2番" in text and "注文-5番" not in text
        only_activities = alice_client.get(customer.get_absolute_url(), {"kind": "activity"})
        text = only_activities.content.decode()
        assert "注文-5番" not in text[text.index('id="timeline"') :]


class TestFigures:
    def test_the_header_shows_revenue_last_purchase_open_deals_inquiries_and_renewal(
        self, alice_client, alice, pipeline
    ):
        line, stages = pipeline
        customer = testing.make_customer(alice)
        make_order(customer, datetime.date(2025, 5, 1), Decimal(11000))
        make_order(customer, datetime.date(2026, 2, 1), Decimal(5500))
        make_order(customer, datetime.date(2026, 3, 1), Decimal(99999), status="cancelled")
        make_deal(customer, line, stages["提案"], amount=Decimal(300000))
        make_deal(customer, line, stages["受注"], amount=Decimal(500000))
        Inquiry.objects.create(customer=customer, subject="a", status="new")
        Inquiry.objects.create(customer=customer, subject="b", status="closed")
        soon = timezone.localdate() + datetime.timedelta(days=20)
        Contract.objects.create(
            customer=customer, plan="保守", starts_on=datetime.date(2025, 1, 1), renews_on=soon
        )
        Contract.objects.create(
            customer=customer,
            plan="旧保守",
            starts_on=datetime.date(2024, 1, 1),
            renews_on=timezone.localdate() + datetime.timedelta(days=5),
            cancelled_on=datetime.date(2025, 1, 1),
        )
        figures = karte_sections(customer).figures
        assert figures["lifetime_revenue"] == Decimal(16500)
        assert figures["last_purchase"] == datetime.date(2026, 2, 1)
        assert (figures["open_deals"], figures["open_deal_amount"]) == (1, Decimal(300000))
        assert figures["open_inquiries"] == 1
        assert figures["next_renewal"] == soon
        body = alice_client.get(customer.get_absolute_url()).content.decode()
        assert 'data-figure="lifetime_revenue">¥16,500<' in body
        assert f'data-figure="next_renewal">{soon:%Y-%m-%d}<' in body

    def test_a_karte_with_everything_uses_a_constant_number_of_queries(
        self, alice_client, alice, pipeline, django_assert_max_num_queries
    ):
        line, stages = pipeline
        customer = testing.make_customer(alice)
        for i in range(30):
            testing.log_call(alice, customer, subject=f"通話{i}")
            make_order(customer, datetime.date(2026, 1, 1 + i % 28), Decimal(1000), owner=alice)
            deal = make_deal(customer, line, stages["提案"], owner=alice, title=f"商談{i}")
            DealStageChange.objects.create(
                deal=deal, from_stage=stages["提案"], to_stage=stages["受注"], changed_by=alice
            )
            Inquiry.objects.create(customer=customer, subject=f"質問{i}", assignee=alice)
            Contract.objects.create(
                customer=customer, plan=f"契約{i}", starts_on=datetime.date(2025, 1, 1), owner=alice
            )
        with django_assert_max_num_queries(32):
            response = alice_client.get(customer.get_absolute_url())
        assert response.status_code == 200


class TestHandover:
    def test_open_deals_inquiries_and_running_contracts_follow_their_customer(
        self, alice, pipeline
    ):
        line, stages = pipeline
        leaving = testing.make_user("leaving", team="営業1課")
        taking = testing.make_user("taking", team="営業1課")
        customer = testing.make_customer(alice, owner=leaving)
        open_deal = make_deal(customer, line, stages["提案"], owner=leaving)
        won_deal = make_deal(customer, line, stages["受注"], owner=leaving)
        inquiry = Inquiry.objects.create(customer=customer, subject="q", assignee=leaving)
        closed = Inquiry.objects.create(
            customer=customer, subject="c", assignee=leaving, status="closed"
        )
        contract = Contract.objects.create(
            customer=customer, plan="p", starts_on=datetime.date(2025, 1, 1), owner=leaving
        )
        plan = handover_plan(actor=alice, from_user=leaving, to_users=[taking])
        assert plan.counts() == [(taking, 1, 0, 1, 1, 1)]
        customers_hand_over(actor=alice, from_user=leaving, to_users=[taking], note="退職のため")
        open_deal.refresh_from_db()
        assert (open_deal.owner, open_deal.version) == (taking, 2)
        assert Deal.objects.get(pk=won_deal.pk).owner == leaving  # history stays as it was
        assert Inquiry.objects.get(pk=inquiry.pk).assignee == taking
        assert Inquiry.objects.get(pk=closed.pk).assignee == leaving
        assert Contract.objects.get(pk=contract.pk).owner == taking
        moved = set(
            HistoryEntry.objects.filter(action=HistoryEntry.Action.HANDOVER).values_list(
                "model", "object_id"
            )
        )
        assert {("deals.deal", open_deal.pk), ("inquiries.inquiry", inquiry.pk)} <= moved
        assert ("sales.contract", contract.pk) in moved
        assert Activity.objects.filter(customer=customer, type="handover").count() == 1


class TestApi:
    def test_the_api_gives_the_figures_and_pages_the_whole_timeline(self, client, alice, pipeline):
        from enishi.api.tests.conftest import ApiClient, issue_token

        api = ApiClient(client, issue_token(alice))
        customer = testing.make_customer(alice)
        for day in range(1, 5):
            testing.log_call(alice, customer, occurred_at=at(day, 9), subject=f"電話{day}")
            make_order(customer, datetime.date(2026, 4, day), Decimal(1000), number=f"O{day}")
        make_deal(customer, pipeline[0], pipeline[1]["提案"], amount=Decimal(5000))
        figures = api.get(f"/customers/{customer.pk}/figures").json()
        assert figures["lifetime_revenue"] == "4000"
        assert figures["last_purchase"] == "2026-04-04"
        assert (figures["open_deals"], figures["open_deal_amount"]) == (1, "5000")
        seen, cursor = [], None
        while True:
            page = api.get(
                f"/customers/{customer.pk}/timeline",
                {"limit": 3, **({"cursor": cursor} if cursor else {})},
            ).json()
            seen += [(e["kind"], e["title"]) for e in page["results"]]
            cursor = page["next_cursor"]
            if cursor is None:
                break
        assert seen[0][0] == "deal" and len(seen) == 9
        assert seen[1:3] == [("activity", "電話4"), ("order", "O4")]
        orders = api.get(f"/customers/{customer.pk}/timeline", {"kind": "order"}).json()
        assert [e["title"] for e in orders["results"]] == ["O4", "O3", "O2", "O1"]
        bad = api.get(f"/customers/{customer.pk}/timeline", {"cursor": "eyJhdCI6MX0"})
        assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "cursor"


class TestActivityAbout:
    def test_an_activity_logged_on_the_karte_can_be_about_a_deal_of_that_customer_only(
        self, alice_client, alice, pipeline
    ):
        from django.urls import reverse

        customer = testing.make_customer(alice)
        other = testing.make_customer(alice)
        deal = make_deal(customer, pipeline[0], pipeline[1]["提案"], title="大型案件")
        foreign = make_deal(other, pipeline[0], pipeline[1]["提案"], title="他社案件")
        body = alice_client.get(customer.get_absolute_url()).content.decode()
        assert f'value="deal:{deal.pk}"' in body and f"deal:{foreign.pk}" not in body
        url = reverse("activities:create", args=[customer.pk])
        ok = alice_client.post(url, {"type": "call", "subject": "見積", "about": f"deal:{deal.pk}"})
        assert ok.status_code == 302
        assert Activity.objects.get(subject="見積").deal == deal
        refused = alice_client.post(
            url, {"type": "call", "subject": "越境", "about": f"deal:{foreign.pk}"}
        )
        assert refused.status_code == 400 and not Activity.objects.filter(subject="越境").exists()
        garbage = alice_client.post(url, {"type": "call", "subject": "x", "about": "deal:abc"})
        assert garbage.status_code == 400

    def test_the_api_links_an_activity_to_an_order_of_the_same_customer(self, client, alice):
        from enishi.api.tests.conftest import ApiClient, issue_token

        api = ApiClient(client, issue_token(alice))
        customer = testing.make_customer(alice)
        order = make_order(customer, datetime.date(2026, 1, 5), Decimal(100))
        other_order = make_order(testing.make_customer(alice), datetime.date(2026, 1, 5), 1)
        made = api.post(
            f"/customers/{customer.pk}/activities",
            {"type": "call", "subject": "納品確認", "order_id": order.pk},
        )
        assert made.status_code == 201 and made.json()["order_id"] == order.pk
        refused = api.post(
            f"/customers/{customer.pk}/activities",
            {"type": "call", "subject": "x", "order_id": other_order.pk},
        )
        assert refused.status_code == 422
        assert refused.json()["errors"][0]["field"] == "order_id"
