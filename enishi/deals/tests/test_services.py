"""The rules of deals, stage moves and pipelines, against the real database."""

import datetime
import importlib
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from enishi.activities.models import Task
from enishi.core import testing
from enishi.deals import services
from enishi.deals.models import Deal, DealStageChange, Pipeline, Stage
from enishi.history.models import HistoryEntry

from .factories import make_deal

pytestmark = pytest.mark.django_db


def errors_of(call) -> dict:
    with pytest.raises(ValidationError) as exc:
        call()
    return exc.value.message_dict


class TestCreate:
    def test_it_starts_a_deal_with_the_stages_probability_and_a_first_stage_entry(
        self, bob, company, taro, stages
    ):
        deal = make_deal(bob, company, stages["提案"], contacts=[taro], title="基幹システム更改")
        assert (deal.pipeline, deal.probability, deal.owner, deal.currency) == (
            stages["提案"].pipeline,
            40,
            bob,
            "JPY",
        )
        assert list(deal.contacts.all()) == [taro]
        change = DealStageChange.objects.get(deal=deal)
        assert (change.from_stage, change.to_stage, change.changed_by) == (
            None,
            stages["提案"],
            bob,
        )
        entry = HistoryEntry.objects.get(model="deals.deal", object_id=deal.pk)
        assert entry.action == "create" and entry.customer_id == company.pk
        assert entry.changes["contacts"] == [None, "山田 太郎"]

    def test_its_next_action_becomes_a_task_linked_to_the_deal(self, bob, company, stages):
        due = timezone.localdate() + datetime.timedelta(days=3)
        deal = make_deal(
            bob, company, stages["リード"], next_action="初回訪問", next_action_due=due
        )
        task = Task.objects.get()
        assert (task.title, task.due_on, task.deal, task.customer, task.assignee) == (
            "初回訪問",
            due,
            deal,
            company,
            bob,
        )

    @pytest.mark.parametrize(
        ("data", "field"),
        [
            ({"amount": Decimal("-1")}, "amount"),
            ({"amount": Decimal("1000000000000")}, "amount"),
            ({"amount": Decimal("1000.5")}, "amount"),  # yen are whole
            ({"currency": "XYZ"}, "currency"),
            ({"probability": 101}, "probability"),
            ({"probability": -1}, "probability"),
            ({"expected_close_on": datetime.date(1899, 12, 31)}, "expected_close_on"),
            ({"expected_close_on": datetime.date(3000, 1, 1)}, "expected_close_on"),
            ({"title": "  "}, "title"),
            ({"title": "案件\x00"}, "title"),
            ({"decision_process": "部長\x00"}, "decision_process"),
            ({"title": "長" * 201}, "title"),
            ({"next_action_due": datetime.date(2030, 1, 1)}, "next_action"),
        ],
    )
    def test_it_refuses_bad_input_with_a_message_and_saves_nothing(
        self, bob, company, stages, data, field
    ):
        errors = errors_of(lambda: make_deal(bob, company, stages["リード"], **data))
        assert field in errors and errors[field][0]
        assert (
            not Deal.objects.exists()
            and not HistoryEntry.objects.filter(model="deals.deal").exists()
        )

    def test_it_takes_cents_in_dollars_but_not_a_tenth_of_a_cent(self, bob, company, stages):
        deal = make_deal(bob, company, stages["リード"], amount=Decimal("1234.56"), currency="USD")
        assert deal.amount == Decimal("1234.56")
        errors = errors_of(
            lambda: make_deal(
                bob, company, stages["リード"], amount=Decimal("1.234"), currency="USD"
            )
        )
        assert "amount" in errors

    def test_it_accepts_the_largest_amount(self, bob, company, stages):
        deal = make_deal(bob, company, stages["リード"], amount=Decimal("999999999999"))
        deal.refresh_from_db()
        assert deal.amount == Decimal("999999999999")

    def test_it_refuses_a_stage_of_another_pipeline(self, alice, bob, company, stages):
        other = services.pipeline_create(actor=alice, name="保守契約")
        errors = errors_of(
            lambda: make_deal(bob, company, other.stages.first(), pipeline=stages["提案"].pipeline)
        )
        assert "stage" in errors and not Deal.objects.exists()

    def test_it_refuses_contacts_who_are_not_at_the_customer(self, bob, company, stages):
        stranger = testing.make_customer(bob, name="無関係 花子")
        elsewhere = testing.make_customer(
            bob, name="他社 次郎", company=testing.make_company(bob, name="他社株式会社")
        )
        for contacts in ([stranger], [elsewhere], [company]):
            errors = errors_of(
                lambda contacts=contacts: make_deal(
                    bob, company, stages["リード"], contacts=contacts
                )
            )
            assert "contacts" in errors
        person = testing.make_customer(bob, name="個人 客")
        errors = errors_of(lambda: make_deal(bob, person, stages["リード"], contacts=[stranger]))
        assert "contacts" in errors
        assert not Deal.objects.exists()

    def test_a_lost_deal_needs_a_reason_and_a_retired_stage_takes_no_deals(
        self, alice, bob, company, stages
    ):
        assert "lost_reason" in errors_of(lambda: make_deal(bob, company, stages["失注"]))
        services.stage_update(actor=alice, stage=stages["ヒアリング"], data={"is_active": False})
        assert "stage" in errors_of(lambda: make_deal(bob, company, stages["ヒアリング"]))


class TestMove:
    def test_a_move_records_the_change_sets_the_probability_and_restarts_the_clock(
        self, bob, company, stages
    ):
        deal = make_deal(bob, company, stages["リード"])
        Deal.objects.filter(pk=deal.pk).update(
            stage_entered_at=timezone.now() - datetime.timedelta(days=9)
        )
        moved = services.deal_move(actor=bob, deal=deal, stage=stages["見積提出"], version=1)
        assert (moved.stage, moved.probability, moved.version, moved.closed_on) == (
            stages["見積提出"],
            60,
            2,
            None,
        )
        assert timezone.now() - moved.stage_entered_at < datetime.timedelta(minutes=1)
        change = DealStageChange.objects.filter(deal=deal).latest("changed_at")
        assert (change.from_stage, change.to_stage, change.changed_by) == (
            stages["リード"],
            stages["見積提出"],
            bob,
        )
        entry = HistoryEntry.objects.filter(model="deals.deal", action="update").get()
        assert entry.changes["stage"] == ["リード", "見積提出"]
        assert entry.changes["probability"] == [10, 60]

    def test_winning_sets_the_closing_date_and_reopening_clears_it(self, bob, company, stages):
        deal = make_deal(bob, company, stages["交渉"])
        won = services.deal_move(actor=bob, deal=deal, stage=stages["受注"], version=1)
        assert (won.closed_on, won.probability) == (timezone.localdate(), 100)
        reopened = services.deal_move(actor=bob, deal=won, stage=stages["交渉"], version=2)
        assert (reopened.closed_on, reopened.probability) == (None, 80)

    def test_losing_needs_a_reason_which_is_cleared_when_reopened(self, bob, company, stages):
        deal = make_deal(bob, company, stages["交渉"])
        errors = errors_of(
            lambda: services.deal_move(actor=bob, deal=deal, stage=stages["失注"], version=1)
        )
        assert "lost_reason" in errors
        deal.refresh_from_db()
        assert deal.stage == stages["交渉"] and deal.version == 1
        lost = services.deal_move(
            actor=bob, deal=deal, stage=stages["失注"], version=1, lost_reason=" 価格で他社 "
        )
        assert (lost.lost_reason, lost.closed_on, lost.probability) == (
            "価格で他社",
            timezone.localdate(),
            0,
        )
        again = services.deal_move(actor=bob, deal=lost, stage=stages["提案"], version=2)
        assert again.lost_reason == "" and again.closed_on is None

    def test_a_stale_move_changes_nothing(self, bob, company, stages):
        deal = make_deal(bob, company, stages["リード"])
        services.deal_move(actor=bob, deal=deal, stage=stages["提案"], version=1)
        with pytest.raises(services.StaleVersionError) as exc:
            services.deal_move(actor=bob, deal=deal, stage=stages["交渉"], version=1)
        assert exc.value.current.stage == stages["提案"]
        assert DealStageChange.objects.filter(deal=deal).count() == 2

    def test_a_stage_of_another_pipeline_is_refused(self, alice, bob, company, stages):
        other = services.pipeline_create(actor=alice, name="保守契約")
        deal = make_deal(bob, company, stages["リード"])
        errors = errors_of(
            lambda: services.deal_move(actor=bob, deal=deal, stage=other.stages.first(), version=1)
        )
        assert "stage" in errors
        assert DealStageChange.objects.filter(deal=deal).count() == 1

    def test_moving_to_the_same_stage_records_nothing(self, bob, company, stages):
        deal = make_deal(bob, company, stages["リード"])
        same = services.deal_move(actor=bob, deal=deal, stage=stages["リード"], version=1)
        assert same.version == 1
        assert DealStageChange.objects.filter(deal=deal).count() == 1


class TestUpdate:
    def test_it_changes_facts_on_the_version_read_and_records_them(
        self, bob, company, taro, stages
    ):
        deal = make_deal(bob, company, stages["提案"])
        updated = services.deal_update(
            actor=bob,
            deal=deal,
            data={"amount": Decimal("2500000"), "contacts": [taro], "competitors": "A社"},
            version=1,
        )
        assert (updated.amount, updated.version, list(updated.contacts.all())) == (
            Decimal("2500000"),
            2,
            [taro],
        )
        entry = HistoryEntry.objects.get(model="deals.deal", action="update")
        assert entry.changes["contacts"] == ["", "山田 太郎"]
        assert entry.changes["competitors"] == ["", "A社"]
        with pytest.raises(services.StaleVersionError):
            services.deal_update(actor=bob, deal=deal, data={"title": "古い"}, version=1)

    def test_bad_input_saves_nothing(self, bob, company, stages):
        deal = make_deal(bob, company, stages["提案"])
        for data in (
            {"amount": Decimal("-5")},
            {"probability": 150},
            {"currency": "BTC"},
            {"lost_reason": "まだ負けていない"},
            {"next_action_due": datetime.date(3001, 1, 1), "next_action": "x"},
        ):
            with pytest.raises(ValidationError):
                services.deal_update(actor=bob, deal=deal, data=data, version=1)
        deal.refresh_from_db()
        assert (deal.version, deal.amount, deal.probability) == (1, Decimal("1000000"), 40)

    def test_changing_only_the_contacts_is_a_recorded_change(self, bob, company, taro, stages):
        deal = make_deal(bob, company, stages["提案"], contacts=[taro])
        updated = services.deal_update(actor=bob, deal=deal, data={"contacts": []}, version=1)
        assert updated.version == 2 and not updated.contacts.exists()

    def test_a_changed_next_action_updates_its_open_task_or_makes_a_new_one(
        self, bob, company, stages
    ):
        deal = make_deal(bob, company, stages["提案"], next_action="見積送付")
        deal = services.deal_update(
            actor=bob,
            deal=deal,
            data={"next_action": "見積再送", "next_action_due": datetime.date(2030, 5, 1)},
            version=1,
        )
        task = Task.objects.get()
        assert (task.title, task.due_on, task.deal) == ("見積再送", datetime.date(2030, 5, 1), deal)
        Task.objects.update(done_at=timezone.now())
        services.deal_update(actor=bob, deal=deal, data={"next_action": "契約書送付"}, version=2)
        assert list(Task.objects.order_by("id").values_list("title", flat=True)) == [
            "見積再送",
            "契約書送付",
        ]
        assert Task.objects.filter(deal=deal).count() == 2


def test_a_deleted_deal_goes_to_the_trash_with_history(bob, company, stages):
    deal = make_deal(bob, company, stages["提案"])
    services.deal_delete(actor=bob, deal=deal)
    deal.refresh_from_db()
    assert deal.deleted_at is not None
    assert HistoryEntry.objects.filter(model="deals.deal", action="delete").exists()


class TestPipelines:
    def test_the_data_migration_makes_the_standard_pipeline_only_when_there_is_none(self, db):
        from django.apps import apps

        migration = importlib.import_module("enishi.deals.migrations.0002_default_pipeline")
        Pipeline.objects.all().delete()
        migration.create_default_pipeline(apps, None)
        migration.create_default_pipeline(apps, None)
        pipeline = Pipeline.objects.get()
        assert pipeline.name == "新規営業"
        assert [(s.name, s.probability, s.outcome) for s in pipeline.stages.all()] == [
            ("リード", 10, "open"),
            ("ヒアリング", 20, "open"),
            ("提案", 40, "open"),
            ("見積提出", 60, "open"),
            ("交渉", 80, "open"),
            ("受注", 100, "won"),
            ("失注", 0, "lost"),
        ]

    def test_only_admins_configure_pipelines(self, bob, pipeline):
        with pytest.raises(PermissionDenied):
            services.pipeline_create(actor=bob, name="勝手な")
        with pytest.raises(PermissionDenied):
            services.stage_create(actor=bob, pipeline=pipeline, name="x")

    def test_a_pipeline_keeps_a_won_and_a_lost_stage_in_use(self, alice, stages):
        for stage, data in (
            (stages["受注"], {"outcome": "open"}),
            (stages["失注"], {"is_active": False}),
        ):
            with pytest.raises(ValidationError):
                services.stage_update(actor=alice, stage=stage, data=data)
        stage = Stage.objects.get(pk=stages["失注"].pk)
        assert (stage.outcome, stage.is_active) == ("lost", True)

    def test_a_stage_with_deals_is_retired_not_deleted(self, alice, bob, company, stages):
        make_deal(bob, company, stages["ヒアリング"])
        with pytest.raises(ValidationError):
            services.stage_delete(actor=alice, stage=stages["ヒアリング"])
        services.stage_update(actor=alice, stage=stages["ヒアリング"], data={"is_active": False})
        services.stage_delete(actor=alice, stage=stages["提案"])
        assert set(Stage.objects.values_list("name", flat=True)) == {
            "リード",
            "ヒアリング",
            "見積提出",
            "交渉",
            "受注",
            "失注",
        }

    def test_probability_must_be_a_percentage_and_names_unique(self, alice, pipeline):
        for data in ({"name": "x", "probability": 101}, {"name": "リード", "probability": 5}):
            with pytest.raises(ValidationError):
                services.stage_create(actor=alice, pipeline=pipeline, **data)

    def test_one_save_may_swap_names_and_move_the_won_outcome(self, alice, pipeline, stages):
        rows = [
            {"id": s.pk, "name": s.name, "probability": s.probability, "outcome": s.outcome}
            for s in pipeline.stages.all()
        ]
        rows[0]["name"], rows[1]["name"] = "ヒアリング", "リード"
        rows[5]["outcome"], rows[4]["outcome"] = "open", "won"
        rows.append({"id": None, "name": "検収", "probability": 90, "outcome": "open"})
        services.pipeline_stages_save(actor=alice, pipeline=pipeline, rows=rows)
        names = list(pipeline.stages.order_by("position").values_list("name", "outcome"))
        assert names[:2] == [("ヒアリング", "open"), ("リード", "open")]
        assert names[4:] == [("交渉", "won"), ("受注", "open"), ("失注", "lost"), ("検収", "open")]

    def test_stages_are_reordered_as_listed_and_every_stage_must_be_listed(self, alice, pipeline):
        ids = list(pipeline.stages.order_by("position").values_list("pk", flat=True))
        services.stages_reorder(actor=alice, pipeline=pipeline, stage_ids=ids[::-1])
        assert list(pipeline.stages.order_by("position").values_list("pk", flat=True)) == ids[::-1]
        with pytest.raises(ValidationError):
            services.stages_reorder(actor=alice, pipeline=pipeline, stage_ids=ids[:-1])
        entries = HistoryEntry.objects.filter(model="deals.stage", action="update")
        assert entries.count() == 6  # the middle stage kept its place

    def test_a_failed_save_changes_nothing(self, alice, pipeline):
        before = list(pipeline.stages.values_list("name", "outcome", "position"))
        rows = [
            {"id": s.pk, "name": s.name, "probability": 0, "outcome": "open"}
            for s in pipeline.stages.all()
        ]
        with pytest.raises(ValidationError):
            services.pipeline_stages_save(actor=alice, pipeline=pipeline, rows=rows)
        assert list(pipeline.stages.values_list("name", "outcome", "position")) == before

    def test_a_new_pipeline_starts_with_the_standard_stages(self, alice, pipeline):
        created = services.pipeline_create(actor=alice, name="保守契約")
        assert created.stages.count() == 7 and created.position > pipeline.position
        with pytest.raises(ValidationError):
            services.pipeline_create(actor=alice, name="保守契約")
        with pytest.raises(ValidationError):
            services.pipeline_update(actor=alice, pipeline=pipeline, data={"name": "保守契約"})

    def test_the_last_pipeline_in_use_cannot_be_retired(self, alice, pipeline):
        with pytest.raises(ValidationError):
            services.pipeline_update(actor=alice, pipeline=pipeline, data={"is_active": False})
        assert Pipeline.objects.get(pk=pipeline.pk).is_active
