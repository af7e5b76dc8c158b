"""The deal screens through Django's test client: board, list, deal page, forms, moves,
settings, and who may do what."""

import datetime
import json
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from enishi.activities.models import Task
from enishi.core import testing
from enishi.deals import services
from enishi.deals.models import Deal, DealStageChange, Pipeline, Stage
from enishi.history.models import HistoryEntry

from .factories import make_deal

pytestmark = pytest.mark.django_db


def _in_english(user):
    # Messages are asserted in English (the Japanese catalogue is filled in later).
    user.language = "en"
    user.save(update_fields=["language"])
    return user


@pytest.fixture
def alice(alice):
    return _in_english(alice)


@pytest.fixture
def bob(bob):
    return _in_english(bob)


@pytest.fixture
def carol(carol):
    return _in_english(carol)


@pytest.fixture
def dave(dave):
    return _in_english(dave)


@pytest.fixture
def deal(bob, company, taro, stages):
    return make_deal(
        bob,
        company,
        stages["提案"],
        title="基幹システム更改",
        amount=Decimal("1200000"),
        contacts=[taro],
        expected_close_on=datetime.date(2030, 4, 30),
    )


def move_url(deal):
    return reverse("deals:move", args=[deal.pk])


class TestBoard:
    def test_it_shows_columns_with_cards_and_totals(self, bob_client, deal, stages):
        response = bob_client.get(reverse("deals:board"))
        body = response.content.decode()
        assert response.status_code == 200
        assert body.count('class="board-column') == 7
        assert f'id="deal-{deal.pk}"' in body and "基幹システム更改" in body
        assert "株式会社山田商事" in body and "¥1,200,000" in body
        assert f'data-stage="{stages["提案"].pk}"' in body
        # The keyboard and no-JavaScript controls: ← / → and a "move to" select on the card.
        assert f'name="to" value="{stages["ヒアリング"].pk}"' in body
        assert f'name="to" value="{stages["見積提出"].pk}"' in body
        assert 'src="/static/enishi/deals.js"' in body

    def test_it_renders_many_cards_in_a_constant_number_of_queries(
        self, bob_client, bob, company, stages, django_assert_max_num_queries
    ):
        def add(n):
            open_stages = [s for s in stages.values() if s.outcome == "open"]
            Deal.objects.bulk_create(
                Deal(
                    customer=company,
                    pipeline=open_stages[0].pipeline,
                    stage=open_stages[i % len(open_stages)],
                    title=f"商談{i}",
                    amount=Decimal(1000 * i),
                    owner=bob,
                )
                for i in range(n)
            )

        url = reverse("deals:board")
        add(10)
        with django_assert_max_num_queries(12) as few:
            assert bob_client.get(url).status_code == 200
        add(300)
        with django_assert_max_num_queries(len(few.captured_queries)):
            response = bob_client.get(url)
        # 310 deals over 5 open stages: 62 each, of which the board shows 50 per column.
        assert response.content.decode().count('class="deal-card') == 5 * 50

    def test_a_member_sees_only_deals_of_kartes_they_may_see(self, client, carol, deal):
        client.force_login(carol)
        body = client.get(reverse("deals:board")).content.decode()
        assert "基幹システム更改" not in body and "¥1,200,000" not in body

    def test_a_read_only_user_sees_the_board_without_move_controls(self, client, dave, deal):
        client.force_login(dave)
        body = client.get(reverse("deals:board")).content.decode()
        assert "基幹システム更改" in body
        assert 'class="move-form"' not in body and 'draggable="true"' not in body


class TestMoves:
    def test_a_plain_form_post_moves_the_card_and_returns_to_the_board(
        self, bob_client, deal, stages
    ):
        board = reverse("deals:board")
        response = bob_client.post(
            move_url(deal), {"to": stages["見積提出"].pk, "version": 1, "next": board}
        )
        assert response.status_code == 302 and response.url == board
        deal.refresh_from_db()
        assert (deal.stage, deal.version, deal.probability) == (stages["見積提出"], 2, 60)

    def test_javascript_gets_the_new_card_as_json(self, bob_client, deal, stages):
        response = bob_client.post(
            move_url(deal),
            {"stage": stages["交渉"].pk, "version": 1},
            headers={"Accept": "application/json"},
        )
        body = response.json()
        assert response.status_code == 200 and body["ok"] is True
        assert body["stage"] == stages["交渉"].pk and body["version"] == 2
        assert f'data-stage="{stages["交渉"].pk}"' in body["card"]
        assert 'data-version="2"' in body["card"]

    def test_a_stale_move_answers_409_with_the_current_card(self, bob_client, bob, deal, stages):
        services.deal_move(actor=bob, deal=deal, stage=stages["交渉"], version=1)
        response = bob_client.post(
            move_url(deal),
            {"stage": stages["見積提出"].pk, "version": 1},
            headers={"Accept": "application/json"},
        )
        body = response.json()
        assert response.status_code == 409 and body["ok"] is False
        assert body["stage"] == stages["交渉"].pk and "交渉" in body["message"]
        assert Deal.objects.get(pk=deal.pk).stage == stages["交渉"]
        page = bob_client.post(move_url(deal), {"stage": stages["見積提出"].pk, "version": 1})
        assert page.status_code == 409 and 'id="move-message"' in page.content.decode()

    def test_a_lost_stage_asks_for_the_reason_first(self, bob_client, deal, stages):
        lost = stages["失注"].pk
        page = bob_client.post(move_url(deal), {"to": lost, "version": 1})
        assert page.status_code == 200 and 'name="lost_reason"' in page.content.decode()
        assert Deal.objects.get(pk=deal.pk).stage == stages["提案"]
        blank = bob_client.post(move_url(deal), {"stage": lost, "version": 1, "lost_reason": " "})
        assert blank.status_code == 400
        assert "Say why the deal was lost." in blank.content.decode()
        as_json = bob_client.post(
            move_url(deal), {"stage": lost, "version": 1}, headers={"Accept": "application/json"}
        )
        assert as_json.status_code == 422 and as_json.json()["needs_reason"] is True
        done = bob_client.post(
            move_url(deal), {"stage": lost, "version": 1, "lost_reason": "予算凍結"}
        )
        assert done.status_code == 302
        deal.refresh_from_db()
        assert (deal.stage, deal.lost_reason) == (stages["失注"], "予算凍結")

    def test_a_stage_of_another_pipeline_is_refused(self, alice, bob_client, deal):
        other = services.pipeline_create(actor=alice, name="保守契約").stages.first()
        response = bob_client.post(
            move_url(deal),
            {"stage": other.pk, "version": 1},
            headers={"Accept": "application/json"},
        )
        assert response.status_code == 422 and "stage" in response.json()["errors"]
        assert DealStageChange.objects.filter(deal=deal).count() == 1


class TestDealPage:
    def test_it_shows_facts_stage_history_contacts_tasks_and_history(
        self, bob_client, bob, deal, stages
    ):
        deal = services.deal_update(
            actor=bob, deal=deal, data={"next_action": "役員プレゼン"}, version=1
        )
        services.deal_move(actor=bob, deal=deal, stage=stages["交渉"], version=2)
        body = bob_client.get(deal.get_absolute_url()).content.decode()
        history = body.split('id="stage-history"')[1].split("</ol>")[0]
        assert history.index("提案") < history.index("交渉")
        assert "so far" in history
        assert "山田 太郎" in body and "役員プレゼン" in body
        assert body.count('class="h-meta"') == 3  # created, next action, move

    def test_another_teams_deal_is_a_404(self, client, carol, deal):
        client.force_login(carol)
        for url in (
            deal.get_absolute_url(),
            reverse("deals:edit", args=[deal.pk]),
            move_url(deal),
        ):
            assert client.get(url).status_code == 404


class TestCreateAndEdit:
    def test_a_deal_is_created_from_a_karte(self, bob_client, bob, company, taro, stages):
        url = reverse("deals:create") + f"?customer={company.pk}"
        form = bob_client.get(url)
        assert form.status_code == 200 and f'value="{taro.pk}"' in form.content.decode()
        response = bob_client.post(
            url,
            {
                "title": "新規導入",
                "stage": stages["ヒアリング"].pk,
                "amount": "１,５００,０００円",
                "currency": "JPY",
                "owner": bob.pk,
                "contacts": [taro.pk],
                "expected_close_on": "令和12年3月31日",
                "next_action": "ヒアリング訪問",
                "next_action_due": "2030-01-15",
            },
        )
        deal = Deal.objects.get()
        assert response.status_code == 302 and response.url == deal.get_absolute_url()
        assert (deal.amount, deal.probability, deal.expected_close_on, deal.customer) == (
            Decimal("1500000"),
            20,
            datetime.date(2030, 3, 31),
            company,
        )
        assert list(deal.contacts.all()) == [taro]
        assert Task.objects.get(deal=deal).title == "ヒアリング訪問"

    def test_bad_input_keeps_what_was_typed_and_saves_nothing(
        self, bob_client, bob, company, stages
    ):
        url = reverse("deals:create") + f"?customer={company.pk}"
        response = bob_client.post(
            url,
            {
                "title": "大型案件",
                "stage": stages["提案"].pk,
                "amount": "-100",
                "currency": "JPY",
                "owner": bob.pk,
                "probability": "120",
                "expected_close_on": "3100-01-01",
            },
        )
        body = response.content.decode()
        assert response.status_code == 400 and not Deal.objects.exists()
        assert 'value="大型案件"' in body and 'value="-100"' in body
        assert "The amount cannot be negative." in body
        assert "percentage from 0 to 100" in body
        assert "between 1900 and 2999" in body

    def test_a_customer_you_may_not_change_cannot_get_a_deal(
        self, client, carol, dave, company, stages
    ):
        url = reverse("deals:create") + f"?customer={company.pk}"
        for user in (carol, dave):
            client.force_login(user)
            assert client.get(url).status_code == 404
            assert client.post(url, {"title": "x", "stage": stages["提案"].pk}).status_code == 404
        assert client.get(reverse("deals:create")).status_code == 404
        assert not Deal.objects.exists()

    def test_a_stale_edit_shows_a_conflict_and_keeps_the_input(self, bob_client, bob, deal):
        services.deal_update(actor=bob, deal=deal, data={"amount": Decimal("1300000")}, version=1)
        url = reverse("deals:edit", args=[deal.pk])
        data = {
            "title": "基幹システム更改（改）",
            "amount": "2000000",
            "currency": "JPY",
            "owner": bob.pk,
            "version": 1,
        }
        response = bob_client.post(url, data)
        body = response.content.decode()
        assert response.status_code == 409 and 'id="conflict"' in body
        assert 'value="基幹システム更改（改）"' in body and 'name="version" value="2"' in body
        deal.refresh_from_db()
        assert (deal.title, deal.amount) == ("基幹システム更改", Decimal("1300000"))
        again = bob_client.post(url, {**data, "version": 2})
        assert again.status_code == 302, again.content.decode()
        deal.refresh_from_db()
        assert (deal.title, deal.amount, deal.version) == (
            "基幹システム更改（改）",
            Decimal("2000000"),
            3,
        )

    def test_an_edit_keeps_contacts_the_editor_may_not_see(
        self, client, alice, bob, carol, company, stages
    ):
        hidden = testing.make_customer(carol, name="見えない 担当", company=company)
        deal = make_deal(alice, company, stages["提案"], contacts=[hidden], owner=bob)
        client.force_login(bob)
        response = client.post(
            reverse("deals:edit", args=[deal.pk]),
            {"title": "改名", "amount": "1", "currency": "JPY", "owner": bob.pk, "version": 1},
        )
        assert response.status_code == 302
        assert list(Deal.objects.get(pk=deal.pk).contacts.all()) == [hidden]

    def test_delete_moves_the_deal_to_the_trash(self, bob_client, client, dave, deal, company):
        client.force_login(dave)
        assert client.post(reverse("deals:delete", args=[deal.pk])).status_code == 404
        bob_client.force_login(deal.owner)
        response = bob_client.post(reverse("deals:delete", args=[deal.pk]))
        assert response.status_code == 302 and response.url == company.get_absolute_url()
        assert Deal.objects.get(pk=deal.pk).deleted_at is not None


class TestList:
    def test_it_filters_and_totals_the_open_deals(self, bob_client, bob, alice, company, stages):
        this_month = timezone.localdate().replace(day=1)
        make_deal(bob, company, stages["提案"], title="案件A", amount=Decimal("1000000"),
                  expected_close_on=this_month)  # fmt: skip
        make_deal(bob, company, stages["交渉"], title="案件B", amount=Decimal("3000000"),
                  owner=alice, expected_close_on=this_month)  # fmt: skip
        make_deal(bob, company, stages["受注"], title="案件C", amount=Decimal("5000000"))
        body = bob_client.get(reverse("deals:list")).content.decode()
        assert all(t in body for t in ("案件A", "案件B", "案件C"))
        month_table = body.split('id="forecast-month"')[1].split("</section>")[0]
        assert "¥4,000,000" in month_table and "¥2,800,000" in month_table
        owner_table = body.split('id="forecast-owner"')[1].split("</section>")[0]
        assert alice.label in owner_table and "¥2,400,000" in owner_table
        assert 'id="stage-metrics"' in body and 'hx-trigger="revealed"' in body
        metrics = bob_client.get(reverse("deals:list"), {"part": "metrics"}, HTTP_HX_REQUEST="true")
        assert metrics.content.decode().count("<tr data-stage=") == len(stages) - 1  # not lost
        assert (
            "<tr data-stage="
            in bob_client.get(reverse("deals:list"), {"metrics": "1"}).content.decode()
        )
        filtered = bob_client.get(reverse("deals:list"), {"owner": alice.pk}).content.decode()
        assert "案件B" in filtered and "案件A" not in filtered
        won = bob_client.get(reverse("deals:list"), {"status": "won", "q": "案件"}).content.decode()
        assert "案件C" in won and "案件A" not in won
        cheap = bob_client.get(reverse("deals:list"), {"amount_min": "2000000"}).content.decode()
        assert "案件A" not in cheap and "案件B" in cheap

    def test_junk_filters_are_ignored(self, bob_client, deal):
        response = bob_client.get(
            reverse("deals:list"),
            {"pipeline": "x", "close_from": "2024-13-01", "amount_min": "abc", "from": "9999-99"},
        )
        assert response.status_code == 200 and "基幹システム更改" in response.content.decode()

    def test_the_list_costs_a_bounded_number_of_queries(
        self, bob_client, bob, company, stages, django_assert_max_num_queries
    ):
        for i in range(30):
            make_deal(bob, company, stages["提案"], title=f"案件{i}")
        with django_assert_max_num_queries(20):
            assert bob_client.get(reverse("deals:list")).status_code == 200


class TestPipelineSettings:
    def test_only_admins_reach_the_settings(self, bob_client, pipeline):
        for url in (
            reverse("deals:pipeline_list"),
            reverse("deals:pipeline_create"),
            reverse("deals:pipeline_edit", args=[pipeline.pk]),
        ):
            assert bob_client.get(url).status_code == 404

    def test_an_admin_creates_a_pipeline_and_edits_its_stages(self, alice_client, pipeline):
        response = alice_client.post(reverse("deals:pipeline_create"), {"name": "保守契約"})
        created = Pipeline.objects.get(name="保守契約")
        url = reverse("deals:pipeline_edit", args=[created.pk])
        assert response.status_code == 302 and response.url == url
        stages = list(created.stages.order_by("position"))
        data = {
            "name": "保守契約",
            "is_active": "on",
            "stages-TOTAL_FORMS": str(len(stages) + 1),
            "stages-INITIAL_FORMS": str(len(stages)),
        }
        for i, s in enumerate(stages):
            data.update(
                {
                    f"stages-{i}-id": s.pk,
                    f"stages-{i}-name": s.name,
                    f"stages-{i}-probability": s.probability,
                    f"stages-{i}-outcome": s.outcome,
                    f"stages-{i}-is_active": "on",
                    f"stages-{i}-position": i + 1,
                }
            )
        data["stages-1-delete"] = "on"  # ヒアリング
        data["stages-0-position"], data["stages-2-position"] = "3", "2"  # 提案, then リード
        n = len(stages)
        data.update(
            {
                f"stages-{n}-name": "更新提案",
                f"stages-{n}-probability": "50",
                f"stages-{n}-outcome": "open",
                f"stages-{n}-is_active": "on",
                f"stages-{n}-position": "4",
            }
        )
        response = alice_client.post(url, data)
        assert response.status_code == 302, response.content.decode()[:2000]
        names = list(created.stages.order_by("position").values_list("name", flat=True))
        assert names == ["提案", "リード", "見積提出", "更新提案", "交渉", "受注", "失注"]

    def test_a_pipeline_without_a_won_stage_is_refused(self, alice_client, pipeline):
        stages = list(pipeline.stages.order_by("position"))
        data = {
            "name": pipeline.name,
            "is_active": "on",
            "stages-TOTAL_FORMS": str(len(stages)),
            "stages-INITIAL_FORMS": str(len(stages)),
        }
        for i, s in enumerate(stages):
            data.update(
                {
                    f"stages-{i}-id": s.pk,
                    f"stages-{i}-name": s.name,
                    f"stages-{i}-probability": s.probability,
                    f"stages-{i}-outcome": "open" if s.outcome == "won" else s.outcome,
                    f"stages-{i}-is_active": "on",
                    f"stages-{i}-position": i + 1,
                }
            )
        response = alice_client.post(reverse("deals:pipeline_edit", args=[pipeline.pk]), data)
        assert response.status_code == 400
        assert "won stage" in response.content.decode()
        assert Stage.objects.filter(pipeline=pipeline, outcome="won").count() == 1

    def test_settings_changes_are_in_the_audit_log(self, alice, pipeline):
        services.stage_update(
            actor=alice, stage=pipeline.stages.get(name="提案"), data={"probability": 45}
        )
        entry = HistoryEntry.objects.get(model="deals.stage", action="update")
        assert entry.changes == {"probability": [40, 45]} and entry.customer_id is None


def test_the_json_of_a_move_is_valid_for_a_missing_stage(bob_client, deal):
    response = bob_client.post(
        move_url(deal), {"version": 1}, headers={"Accept": "application/json"}
    )
    assert response.status_code == 422
    assert json.loads(response.content)["errors"]["stage"]
