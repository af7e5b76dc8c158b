"""Contracts: date rules, cancellation; renewal reminders: the window's edges, one task per
renewal date, a changed date, cancelled and automatic contracts, the command and the lazy check."""

import datetime
from decimal import Decimal
from io import StringIO

import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.utils import timezone, translation

from enishi.activities.models import Task
from enishi.core import testing
from enishi.history.models import HistoryEntry
from enishi.sales import services
from enishi.sales.models import Contract

pytestmark = pytest.mark.django_db
DAY = datetime.timedelta(days=1)
TODAY = datetime.date(2026, 6, 1)


@pytest.fixture
def customer(alice, bob):
    return testing.make_customer(alice, name="株式会社更新", owner=bob)


def contract(actor, customer, **data):
    data.setdefault("plan", "保守プラン")
    data.setdefault("starts_on", datetime.date(2025, 1, 1))
    return services.contract_create(actor=actor, customer=customer, data=data)


def errors_of(call) -> dict[str, list[str]]:
    with translation.override("en"):
        with pytest.raises(ValidationError) as exc:
            call()
        # The messages are kept for later: read in the language active when they are read.
        return exc.value.message_dict


def renewal_tasks(c: Contract):
    return Task.objects.filter(contract=c, deleted_at__isnull=True)


class TestContractRules:
    @pytest.mark.parametrize(
        ("data", "field"),
        [
            ({"ends_on": datetime.date(2024, 12, 31)}, "ends_on"),
            ({"renews_on": datetime.date(2024, 12, 31)}, "renews_on"),
            (
                {"ends_on": datetime.date(2025, 12, 31), "renews_on": datetime.date(2026, 1, 1)},
                "renews_on",
            ),
            (
                {"cancelled_on": datetime.date(2024, 12, 31), "cancellation_reason": "x"},
                "cancelled_on",
            ),
            ({"cancelled_on": datetime.date(2025, 6, 1)}, "cancellation_reason"),
            ({"cancellation_reason": "高い"}, "cancelled_on"),
            ({"amount": -1}, "amount"),
            ({"amount": "1.5"}, "amount"),
            ({"amount": 10**12}, "amount"),
            ({"plan": ""}, "plan"),
            ({"plan": "x" * 201}, "plan"),
            ({"note": "\x00"}, "note"),
            ({"starts_on": None}, "starts_on"),
        ],
    )
    def test_it_refuses_dates_in_the_wrong_order_and_bad_values(self, alice, customer, data, field):
        errors = errors_of(lambda: contract(alice, customer, **data))
        assert list(errors) == [field]
        assert not Contract.objects.exists()

    def test_a_renewal_after_the_end_is_fine_when_it_renews_automatically(self, alice, customer):
        made = contract(
            alice,
            customer,
            ends_on=datetime.date(2025, 12, 31),
            renews_on=datetime.date(2026, 1, 1),
            auto_renew=True,
        )
        assert made.pk

    def test_a_product_gives_the_plan_and_the_amount(self, alice, customer):
        product = services.product_create(
            actor=alice, data={"code": "SV-1", "name": "年間保守", "unit_price": "59999.5"}
        )
        made = services.contract_create(
            actor=alice,
            customer=customer,
            data={"product": product, "plan": "", "starts_on": datetime.date(2026, 1, 1)},
        )
        assert (made.plan, made.amount) == ("年間保守", Decimal("60000"))

    def test_updates_are_versioned_and_recorded(self, alice, bob, customer):
        made = contract(alice, customer, amount=10000)
        saved = services.contract_update(
            actor=bob, contract=made, data={"amount": Decimal("12000")}, version=1
        )
        assert saved.version == 2 and saved.updated_by == bob
        with pytest.raises(services.StaleVersionError):
            services.contract_update(actor=alice, contract=made, data={"plan": "x"}, version=1)
        entry = HistoryEntry.objects.get(model="sales.contract", action="update")
        assert entry.changes == {"amount": ["10000", "12000"]} and entry.customer_id == customer.pk

    def test_the_update_checks_the_whole_contract(self, alice, customer):
        made = contract(alice, customer, ends_on=datetime.date(2025, 12, 31))
        errors = errors_of(
            lambda: services.contract_update(
                actor=alice, contract=made, data={"starts_on": datetime.date(2026, 1, 1)}, version=1
            )
        )
        assert list(errors) == ["ends_on"]

    def test_cancelling_keeps_the_contract_and_the_customer(self, alice, customer):
        made = contract(alice, customer)
        errors = errors_of(
            lambda: services.contract_cancel(
                actor=alice, contract=made, cancelled_on=TODAY, reason="", version=1
            )
        )
        assert list(errors) == ["cancellation_reason"]
        saved = services.contract_cancel(
            actor=alice, contract=made, cancelled_on=TODAY, reason="予算削減", version=1
        )
        assert saved.is_cancelled and saved.cancellation_reason == "予算削減"
        assert saved.deleted_at is None
        customer.refresh_from_db()
        assert customer.deleted_at is None
        with pytest.raises(services.StaleVersionError):
            services.contract_cancel(
                actor=alice, contract=made, cancelled_on=TODAY, reason="x", version=1
            )

    def test_deleting_moves_to_the_trash(self, alice, customer):
        made = contract(alice, customer)
        services.contract_delete(actor=alice, contract=made)
        made.refresh_from_db()
        assert made.deleted_at is not None


class TestRenewalReminders:
    @pytest.fixture(autouse=True)
    def _today(self, monkeypatch, settings):
        settings.ENISHI_RENEWAL_NOTICE_DAYS = 60
        monkeypatch.setattr(timezone, "localdate", lambda *a, **k: TODAY)

    def test_a_contract_saved_inside_the_window_gets_its_task_at_once(self, alice, bob, customer):
        made = contract(alice, customer, renews_on=TODAY + 45 * DAY, owner=None)
        task = renewal_tasks(made).get()
        assert task.title == "更新：保守プラン（2026-07-16）"  # in the assignee's language
        # Due a month before the renewal; assigned to the customer's owner (no contract owner).
        assert (task.due_on, task.assignee, task.customer) == (TODAY + 15 * DAY, bob, customer)
        assert task.created_by is None
        entry = HistoryEntry.objects.get(model="activities.task")
        assert (entry.actor, entry.via) == (None, HistoryEntry.Via.SYSTEM)
        made.refresh_from_db()
        assert made.renewal_task_for == made.renews_on

    def test_the_contract_owner_gets_it_in_their_language(self, alice, customer):
        carol = testing.make_user("carol", team="営業2課")
        carol.language = "en"
        carol.save()
        made = contract(alice, customer, renews_on=TODAY + 10 * DAY, owner=carol)
        task = renewal_tasks(made).get()
        assert task.assignee == carol and task.due_on == TODAY  # less than a month: due today

    @pytest.mark.parametrize(
        ("offset", "made"),
        [(60, True), (61, False), (0, True), (-30, True), (-31, False)],
    )
    def test_the_windows_edges(self, alice, customer, offset, made):
        item = contract(alice, customer, renews_on=TODAY + offset * DAY)
        assert renewal_tasks(item).exists() is made

    def test_the_check_is_idempotent(self, alice, customer):
        item = contract(alice, customer, renews_on=TODAY + 90 * DAY)
        assert not renewal_tasks(item).exists()
        later = TODAY + 31 * DAY
        assert services.renewal_tasks_create(later) == 1
        assert services.renewal_tasks_create(later) == 0
        assert services.renewal_tasks_create(later + DAY) == 0
        assert renewal_tasks(item).get().due_on == item.renews_on - 30 * DAY

    def test_a_changed_renewal_date_gets_a_new_task_and_the_old_one_goes(self, alice, customer):
        item = contract(alice, customer, renews_on=TODAY + 20 * DAY)
        first = renewal_tasks(item).get()
        saved = services.contract_update(
            actor=alice, contract=item, data={"renews_on": TODAY + 40 * DAY}, version=1
        )
        second = renewal_tasks(saved).get()
        assert second.pk != first.pk and "2026-07-11" in second.title
        first.refresh_from_db()
        assert first.deleted_at is not None
        # Back to the first date: a reminder again (the trashed one does not count).
        services.contract_update(
            actor=alice, contract=item, data={"renews_on": TODAY + 20 * DAY}, version=2
        )
        assert "2026-06-21" in renewal_tasks(item).get().title

    def test_a_done_reminder_stays_done_and_the_next_renewal_gets_its_own(self, alice, customer):
        item = contract(alice, customer, renews_on=TODAY + 20 * DAY)
        task = renewal_tasks(item).get()
        Task.objects.filter(pk=task.pk).update(done_at=timezone.now())
        services.contract_update(
            actor=alice, contract=item, data={"renews_on": TODAY + 50 * DAY}, version=1
        )
        assert renewal_tasks(item).count() == 2
        assert renewal_tasks(item).filter(done_at__isnull=True).count() == 1

    def test_cancelled_deleted_and_trashed_customers_contracts_get_none(self, alice, customer):
        cancelled = contract(
            alice,
            customer,
            renews_on=TODAY + 5 * DAY,
            cancelled_on=TODAY - DAY,
            cancellation_reason="移転",
        )
        assert not renewal_tasks(cancelled).exists()
        live = contract(alice, customer, renews_on=TODAY + 5 * DAY)
        services.contract_cancel(
            actor=alice, contract=live, cancelled_on=TODAY, reason="他社へ", version=1
        )
        assert not renewal_tasks(live).exists()  # the open reminder went to the trash
        deleted = contract(alice, customer, renews_on=TODAY + 90 * DAY)
        services.contract_delete(actor=alice, contract=deleted)
        other = testing.make_customer(alice, name="削除済み")
        hidden = contract(alice, other, renews_on=TODAY + 90 * DAY)
        from enishi.customers import services as customer_services

        customer_services.customer_delete(actor=alice, customer=other)
        assert services.renewal_tasks_create(TODAY + 40 * DAY) == 0
        assert not renewal_tasks(deleted).exists() and not renewal_tasks(hidden).exists()

    def test_an_automatic_renewal_gets_a_check_reminder(self, alice, customer):
        item = contract(alice, customer, renews_on=TODAY + 30 * DAY, auto_renew=True)
        assert renewal_tasks(item).get().title.startswith("自動更新前の確認")

    def test_the_command_reports_how_many_it_made(self, alice, customer):
        contract(alice, customer, renews_on=TODAY + 90 * DAY)
        out = StringIO()
        call_command("renewals", "--today", "2026-07-15", stdout=out)
        assert "Made 1 renewal tasks." in out.getvalue()
        out = StringIO()
        call_command("renewals", "--today", "2026-07-15", stdout=out)
        assert "Made 0 renewal tasks." in out.getvalue()

    def test_the_lazy_check_runs_at_most_once_an_hour(self, alice, customer, settings):
        item = contract(alice, customer, renews_on=TODAY + 90 * DAY)
        settings.ENISHI_RENEWAL_NOTICE_DAYS = 120
        assert services.renewal_tasks_ensure() == 1
        other = contract(alice, customer, renews_on=TODAY + 100 * DAY, owner=alice)
        Task.objects.filter(contract=other).delete()
        Contract.objects.filter(pk=other.pk).update(renewal_task_for=None)
        assert services.renewal_tasks_ensure() == 0  # checked a moment ago
        assert renewal_tasks(item).count() == 1 and not renewal_tasks(other).exists()


def test_an_emptied_plan_takes_the_products_name_on_update(alice, customer):
    product = services.product_create(
        actor=alice, data={"code": "SV-2", "name": "月額サポート", "unit_price": "5000"}
    )
    made = services.contract_create(
        actor=alice,
        customer=customer,
        data={"plan": "旧名", "product": product, "starts_on": datetime.date(2026, 1, 1)},
    )
    assert made.amount == Decimal("5000")
    saved = services.contract_update(
        actor=alice, contract=made, data={"plan": "", "amount": None}, version=1
    )
    assert (saved.plan, saved.amount) == ("月額サポート", Decimal("5000"))
    saved = services.contract_update(actor=alice, contract=made, data={"note": "x"}, version=2)
    assert (saved.plan, saved.amount) == ("月額サポート", Decimal("5000"))
