"""Reads: who sees which deals, the board, the forecast and the stage metrics."""

import datetime
from decimal import Decimal

import pytest
from django.http import Http404
from django.utils import timezone

from enishi.core import testing
from enishi.customers import services as customer_services
from enishi.deals import selectors, services
from enishi.deals.models import Deal, DealStageChange

from .factories import make_deal

pytestmark = pytest.mark.django_db


def month(offset: int) -> datetime.date:
    """The 15th of the month `offset` months from now."""
    today = timezone.localdate().replace(day=15)
    index = today.year * 12 + today.month - 1 + offset
    return datetime.date(index // 12, index % 12 + 1, 15)


class TestVisibility:
    def test_a_deal_is_seen_exactly_when_its_karte_is(self, bob, carol, dave, company, stages):
        mine = make_deal(bob, company, stages["提案"])
        theirs = make_deal(carol, testing.make_company(carol, name="機密商事"), stages["提案"])
        assert set(selectors.deals_visible(bob)) == {mine}
        assert set(selectors.deals_visible(dave)) == {mine}  # same team, read-only
        assert selectors.deal_get(bob, mine.pk) == mine
        for user, pk in ((bob, theirs.pk), (bob, 10**12), (dave, theirs.pk)):
            with pytest.raises(Http404):
                selectors.deal_get(user, pk)
        with pytest.raises(Http404):
            selectors.deal_get_for_edit(dave, mine.pk)

    def test_deals_leave_with_their_karte_and_on_their_own(self, bob, company, stages):
        deal = make_deal(bob, company, stages["提案"])
        other = make_deal(bob, testing.make_company(bob, name="別会社"), stages["提案"])
        customer_services.customer_delete(actor=bob, customer=company)
        services.deal_delete(actor=bob, deal=other)
        assert not selectors.deals_visible(bob).exists()
        with pytest.raises(Http404):
            selectors.deal_get(bob, deal.pk)


class TestForecast:
    @pytest.fixture
    def deals(self, alice, bob, carol, company, stages):
        """Open deals in three months and two currencies, plus a won and a lost one."""
        carols = testing.make_company(carol, name="機密商事")
        return [
            make_deal(bob, company, stages["提案"], amount=Decimal("1000000"),
                      expected_close_on=month(0)),  # 40% → 400,000
            make_deal(bob, company, stages["交渉"], amount=Decimal("3000000"),
                      expected_close_on=month(0), owner=alice),  # 80% → 2,400,000
            make_deal(bob, company, stages["リード"], amount=Decimal("500001"),
                      expected_close_on=month(2)),  # 10% → 50,000.1 → 50,000
            make_deal(bob, company, stages["見積提出"], amount=Decimal("100.50"),
                      currency="USD", expected_close_on=month(2)),  # 60% → 60.30
            make_deal(bob, company, stages["提案"], amount=Decimal("777"),
                      expected_close_on=month(-3)),  # overdue
            make_deal(bob, company, stages["提案"], amount=Decimal("10")),  # no date
            make_deal(bob, company, stages["受注"], amount=Decimal("9000000"),
                      expected_close_on=month(0)),
            make_deal(bob, company, stages["失注"], amount=Decimal("8000000"),
                      expected_close_on=month(0), lost_reason="価格"),
            make_deal(carol, carols, stages["交渉"], amount=Decimal("5000000"),
                      expected_close_on=month(0)),
        ]  # fmt: skip

    def test_by_month_sums_open_deals_and_weights_them_per_currency(self, bob, deals):
        found = selectors.forecast(bob, by="month", months=3)
        rows = {r.key: r.money for r in found.rows}
        this_month = month(0).strftime("%Y-%m")
        assert rows[this_month].count == 2
        assert rows[this_month].value == {"JPY": Decimal("4000000")}
        assert rows[this_month].weighted == {"JPY": Decimal("2800000")}
        in_two = rows[month(2).strftime("%Y-%m")]
        assert in_two.value == {"JPY": Decimal("500001"), "USD": Decimal("100.50")}
        assert in_two.weighted == {"JPY": Decimal("50000"), "USD": Decimal("60.30")}
        assert rows[month(1).strftime("%Y-%m")].count == 0
        assert rows["earlier"].value == {"JPY": Decimal("777")}
        assert rows["none"].value == {"JPY": Decimal("10")}
        assert rows["later"].count == 0
        # The rows add up to the total; Carol's deal, won and lost deals are not in it.
        assert found.total.count == 6
        assert found.total.value == {"JPY": Decimal("4500788"), "USD": Decimal("100.50")}
        assert sum(r.money.count for r in found.rows) == found.total.count

    def test_by_owner_groups_the_same_open_deals(self, bob, alice, deals):
        found = selectors.forecast(bob, by="owner")
        rows = {r.key: r for r in found.rows}
        assert rows[str(alice.pk)].money.value == {"JPY": Decimal("3000000")}
        assert rows[str(alice.pk)].label == alice.label
        assert rows[str(bob.pk)].money.count == 5
        # Σ amount × probability / 100, rounded once: 2,400,000 + 450,314.9 → 2,850,315.
        assert found.total.weighted == {"JPY": Decimal("2850315"), "USD": Decimal("60.30")}
        month_total = selectors.forecast(bob, by="month").total
        assert month_total.weighted == found.total.weighted

    def test_filters_narrow_the_forecast(self, bob, alice, deals, stages):
        found = selectors.forecast(
            bob, filters=selectors.DealFilters(owner=alice.pk), by="month", months=1
        )
        assert found.total.value == {"JPY": Decimal("3000000")}
        found = selectors.forecast(
            bob, filters=selectors.DealFilters(pipeline=stages["提案"].pipeline_id + 999)
        )
        assert found.total.count == 0

    def test_an_admin_sees_every_team_in_the_forecast(self, alice, deals):
        assert selectors.forecast(alice, by="owner").total.count == 7


class TestBoard:
    def test_columns_hold_their_cards_counts_and_sums(self, bob, carol, company, stages):
        first = make_deal(bob, company, stages["提案"], amount=Decimal("100"),
                          expected_close_on=month(1))  # fmt: skip
        second = make_deal(bob, company, stages["提案"], amount=Decimal("200"),
                           expected_close_on=month(0))  # fmt: skip
        make_deal(bob, company, stages["受注"], amount=Decimal("5"))
        old_win = make_deal(bob, company, stages["受注"], amount=Decimal("7"))
        Deal.objects.filter(pk=old_win.pk).update(
            closed_on=timezone.localdate() - datetime.timedelta(days=90)
        )
        make_deal(carol, testing.make_company(carol), stages["提案"])
        board = selectors.board(bob, stages["提案"].pipeline)
        columns = {c.stage.name: c for c in board.columns}
        assert list(columns) == ["リード", "ヒアリング", "提案", "見積提出", "交渉", "受注", "失注"]
        assert [d.pk for d in columns["提案"].cards] == [second.pk, first.pk]
        assert columns["提案"].total.count == 2
        assert columns["提案"].total.value == {"JPY": Decimal("300")}
        # Won and lost columns: the recently closed only.
        assert columns["受注"].total.value == {"JPY": Decimal("5")}
        assert columns["提案"].cards[0].days_in_stage == 0

    def test_columns_stop_at_the_limit_but_count_everything(self, bob, company, stages):
        for i in range(5):
            make_deal(bob, company, stages["リード"], amount=Decimal(i + 1))
        column = selectors.board(bob, stages["リード"].pipeline, limit=3).columns[0]
        assert (len(column.cards), column.total.count, column.more) == (3, 5, 2)
        assert column.total.value == {"JPY": Decimal("15")}

    def test_a_retired_stage_keeps_its_column_while_it_has_deals(self, alice, bob, company, stages):
        deal = make_deal(bob, company, stages["ヒアリング"])
        services.stage_update(actor=alice, stage=stages["ヒアリング"], data={"is_active": False})
        pipeline = stages["リード"].pipeline
        assert "ヒアリング" in [c.stage.name for c in selectors.board(bob, pipeline).columns]
        services.deal_move(actor=bob, deal=deal, stage=stages["提案"], version=1)
        assert "ヒアリング" not in [c.stage.name for c in selectors.board(bob, pipeline).columns]

    def test_the_owner_filter(self, alice, bob, company, stages):
        make_deal(bob, company, stages["提案"])
        make_deal(bob, company, stages["提案"], owner=alice)
        board = selectors.board(bob, stages["提案"].pipeline, owner=alice.pk)
        assert sum(c.total.count for c in board.columns) == 1


class TestStageMetrics:
    def test_conversion_win_rate_and_time_in_stage(self, bob, company, stages):
        """Four deals through リード → ヒアリング → 提案: one won, one lost, two still open."""
        now = timezone.now()
        day = datetime.timedelta(days=1)
        paths = [
            ["リード", "ヒアリング", "提案", "受注"],
            ["リード", "ヒアリング", "失注"],
            ["リード", "提案"],  # skipped ヒアリング: still counts as having passed it
            ["リード"],
        ]
        for path in paths:
            deal = make_deal(bob, company, stages[path[0]])
            for name in path[1:]:
                deal = services.deal_move(
                    actor=bob, deal=deal, stage=stages[name], version=deal.version,
                    lost_reason="予算" if name == "失注" else "",
                )  # fmt: skip
            # Spread the recorded moves out: 2 days in each stage, the first one 10 days ago.
            changes = list(DealStageChange.objects.filter(deal=deal).order_by("id"))
            for i, change in enumerate(changes):
                DealStageChange.objects.filter(pk=change.pk).update(
                    changed_at=now - 10 * day + 2 * i * day,
                    duration=2 * day if change is not changes[-1] else None,
                )
        metrics = {m.stage.name: m for m in selectors.stage_metrics(bob, stages["提案"].pipeline)}
        lead = metrics["リード"]
        assert (lead.reached, lead.advanced, lead.won, lead.closed) == (4, 3, 1, 2)
        assert lead.conversion == 3 / 4 and lead.win_rate == 1 / 2
        hearing = metrics["ヒアリング"]
        assert (hearing.reached, hearing.advanced) == (3, 2)
        proposal = metrics["提案"]
        assert (proposal.reached, proposal.advanced, proposal.won, proposal.closed) == (2, 1, 1, 1)
        assert metrics["受注"].reached == 1
        assert metrics["交渉"].reached == 1 and metrics["交渉"].conversion == 1
        # Completed stays: リード 3 times (2 days each); ヒアリング twice; 提案 once (→ 受注).
        assert lead.stays == 3 and lead.avg_days == pytest.approx(2, abs=0.01)
        assert hearing.stays == 2 and hearing.avg_days == pytest.approx(2, abs=0.01)
        assert proposal.stays == 1
        assert metrics["見積提出"].avg_days is None

    def test_a_move_records_how_long_the_deal_stayed(self, bob, company, stages):
        deal = make_deal(bob, company, stages["リード"])
        DealStageChange.objects.filter(deal=deal).update(
            changed_at=timezone.now() - datetime.timedelta(days=3, hours=12)
        )
        services.deal_move(actor=bob, deal=deal, stage=stages["提案"], version=1)
        first, second = DealStageChange.objects.filter(deal=deal).order_by("id")
        assert first.duration.days == 3 and second.duration is None
        metric = selectors.stage_metrics(bob, stages["提案"].pipeline)[0]
        assert metric.avg_days == pytest.approx(3.5, abs=0.01) and metric.stays == 1

    def test_since_counts_recent_deals_only(self, bob, company, stages):
        old = make_deal(bob, company, stages["リード"])
        Deal.objects.filter(pk=old.pk).update(
            created_at=timezone.now() - datetime.timedelta(days=400)
        )
        make_deal(bob, company, stages["リード"])
        since = timezone.localdate() - datetime.timedelta(days=365)
        pipeline = stages["リード"].pipeline
        assert selectors.stage_metrics(bob, pipeline)[0].reached == 2
        assert selectors.stage_metrics(bob, pipeline, since=since)[0].reached == 1

    def test_deals_of_other_teams_are_not_counted(self, bob, carol, stages):
        make_deal(carol, testing.make_company(carol), stages["提案"])
        metrics = selectors.stage_metrics(bob, stages["提案"].pipeline)
        assert all(m.reached == 0 for m in metrics)
