"""Orders and products through their services: the rules, the totals stored, the history."""

import datetime
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.utils import translation

from enishi.core import testing
from enishi.history.models import HistoryEntry
from enishi.sales import services
from enishi.sales.models import Order, OrderLine, Product

pytestmark = pytest.mark.django_db
D = Decimal


@pytest.fixture
def customer(alice):
    return testing.make_customer(alice, name="山田 太郎")


@pytest.fixture
def cleaning(alice):
    return services.product_create(
        actor=alice,
        data={"code": "AC-01", "name": "エアコン清掃", "unit_price": "12000", "tax_rate": 10},
    )


def errors_of(call) -> dict[str, list[str]]:
    with translation.override("en"):
        with pytest.raises(ValidationError) as exc:
            call()
        # The messages are kept for later: read in the language active when they are read.
        return exc.value.message_dict


def make_order(actor, customer, lines, **data):
    return services.order_create(actor=actor, customer=customer, data=data, lines=lines)


class TestOrderCreate:
    def test_it_stores_lines_and_totals_and_numbers_the_order(self, alice, customer, cleaning):
        order = make_order(
            alice,
            customer,
            [
                {"product": cleaning, "quantity": 2, "discount": 1000},
                {"description": "お弁当", "unit_price": "1080", "quantity": 3, "tax_rate": 8},
            ],
            ordered_on=datetime.date(2026, 4, 1),
        )
        lines = list(order.lines.all())
        assert [(ln.description, ln.unit_price, ln.tax_rate, ln.amount) for ln in lines] == [
            ("エアコン清掃", D("12000.00"), 10, D("23000")),
            ("お弁当", D("1080.00"), 8, D("3240")),
        ]
        assert [ln.position for ln in lines] == [1, 2]
        # 10%: 23,000 → 2,300; 8%: 3,240 → 259.2 → 259 (floor)
        assert (order.subtotal, order.tax, order.total) == (D("26240"), D("2559"), D("28799"))
        assert order.number == f"O-2026-{order.pk:06d}"
        assert order.owner == alice and order.created_by == alice
        entry = HistoryEntry.objects.get(model="sales.order", action="create")
        assert entry.customer_id == customer.pk
        assert entry.changes["lines_summary"][1].splitlines() == [
            "1. [AC-01] エアコン清掃 12,000 × 2 − 1,000 (10%) = 23,000",
            "2. お弁当 1,080 × 3 (8%) = 3,240",
        ]
        assert entry.changes["total"] == [None, "28799"]

    def test_a_typed_line_overrides_the_products_defaults(self, alice, customer, cleaning):
        order = make_order(
            alice,
            customer,
            [
                {
                    "product": cleaning,
                    "description": "特別清掃",
                    "unit_price": "9999.5",
                    "tax_rate": 8,
                }
            ],
        )
        line = order.lines.get()
        assert (line.description, line.unit_price, line.tax_rate, line.amount) == (
            "特別清掃",
            D("9999.50"),
            8,
            D("10000"),
        )

    def test_numbers_stay_unique_when_a_typed_number_looks_automatic(self, alice, customer):
        line = [{"description": "x", "unit_price": 1}]
        first = make_order(alice, customer, line, ordered_on=datetime.date(2026, 1, 5))
        typed = f"O-2026-{first.pk + 1:06d}"
        second = make_order(alice, customer, line, number=typed)
        third = make_order(alice, customer, line, ordered_on=datetime.date(2026, 1, 6))
        assert third.pk == second.pk + 1 and second.number == typed
        assert third.number == f"O-2026-{third.pk:06d}"
        assert len({first.number, second.number, third.number}) == 3
        assert errors_of(lambda: make_order(alice, customer, line, number=typed)) == {
            "number": [f"Another order already has the number {typed}."]
        }

    @pytest.mark.parametrize(
        ("line", "field", "message"),
        [
            ({"description": "x", "unit_price": 100, "quantity": -1}, "quantity", "more than 0"),
            ({"description": "x", "unit_price": 100, "quantity": 0}, "quantity", "more than 0"),
            ({"description": "x", "unit_price": 100, "quantity": 1_000_001}, "quantity", "at most"),
            ({"description": "x", "unit_price": 100, "quantity": "0.001"}, "quantity", "decimal"),
            ({"description": "x", "unit_price": -1}, "unit_price", "from 0"),
            ({"description": "x", "unit_price": "100000000000"}, "unit_price", "from 0"),
            ({"description": "x", "unit_price": "1.234"}, "unit_price", "decimal places"),
            ({"description": "x", "unit_price": "abc"}, "unit_price", "unit price"),
            ({"description": "x", "unit_price": "NaN"}, "unit_price", "unit price"),
            ({"description": "x", "unit_price": 100, "discount": 101}, "discount", "more than"),
            ({"description": "x", "unit_price": 100, "discount": -5}, "discount", "0 or more"),
            ({"description": "x", "unit_price": 100, "discount": "1.5"}, "discount", "whole yen"),
            ({"description": "x", "unit_price": 100, "tax_rate": 5}, "tax_rate", "10%"),
            ({"unit_price": 100}, "description", "what was sold"),
            ({"description": "x"}, "unit_price", "unit price"),
            ({"description": "x" * 201, "unit_price": 1}, "description", "too long"),
            ({"description": "a\x00b", "unit_price": 1}, "description", "control character"),
            (
                {"description": "x", "unit_price": "99999999999.99", "quantity": 1000},
                "quantity",
                "more than one line can hold",
            ),
        ],
    )
    def test_it_refuses_a_bad_line_naming_its_number_and_saves_nothing(
        self, alice, customer, line, field, message
    ):
        good = {"description": "ok", "unit_price": 100}
        errors = errors_of(lambda: make_order(alice, customer, [good, line]))
        assert list(errors) == [f"lines.1.{field}"]
        assert errors[f"lines.1.{field}"][0].startswith("Line 2: ")
        assert message in errors[f"lines.1.{field}"][0]
        assert not Order.objects.exists() and not OrderLine.objects.exists()

    def test_it_reports_every_problem_at_once(self, alice, customer):
        errors = errors_of(
            lambda: make_order(
                alice,
                customer,
                [{"description": "", "unit_price": 1, "quantity": -2}],
                ordered_on=datetime.date(2026, 5, 1),
                delivered_on=datetime.date(2026, 4, 30),
            )
        )
        assert set(errors) == {"delivered_on", "lines.0.description", "lines.0.quantity"}
        assert errors["delivered_on"] == ["The delivery date cannot be before the order date."]

    def test_an_order_needs_a_line_and_at_most_a_hundred(self, alice, customer):
        assert "lines" in errors_of(lambda: make_order(alice, customer, []))
        many = [{"description": "x", "unit_price": 1}] * 101
        assert "lines" in errors_of(lambda: make_order(alice, customer, many))

    def test_a_total_beyond_what_an_order_holds_is_refused(self, alice, customer):
        big = {"description": "x", "unit_price": "999999999.99", "quantity": 1000}
        assert "lines" in errors_of(lambda: make_order(alice, customer, [big] * 100))

    def test_it_refuses_nul_and_an_overlong_note(self, alice, customer):
        line = [{"description": "x", "unit_price": 1}]
        assert "note" in errors_of(lambda: make_order(alice, customer, line, note="a\x00"))
        assert "note" in errors_of(lambda: make_order(alice, customer, line, note="x" * 10_001))


class TestOrderUpdate:
    @pytest.fixture
    def order(self, alice, customer, cleaning):
        return make_order(
            alice, customer, [{"product": cleaning}], ordered_on=datetime.date(2026, 4, 1)
        )

    def test_new_lines_replace_the_old_and_the_history_shows_both(self, alice, order, cleaning):
        saved = services.order_update(
            actor=alice,
            order=order,
            data={"status": Order.Status.DELIVERED, "delivered_on": datetime.date(2026, 4, 3)},
            lines=[
                {"product": cleaning, "quantity": 2},
                {"description": "出張費", "unit_price": 3000},
            ],
            version=1,
        )
        assert saved.version == 2 and saved.total == D("29700")
        assert [ln.description for ln in saved.lines.all()] == ["エアコン清掃", "出張費"]
        assert OrderLine.objects.count() == 2
        entry = HistoryEntry.objects.filter(model="sales.order", action="update").get()
        before, after = entry.changes["lines_summary"]
        assert before == "1. [AC-01] エアコン清掃 12,000 × 1 (10%) = 12,000"
        assert after.splitlines()[1] == "2. 出張費 3,000 × 1 (10%) = 3,000"
        assert entry.changes["total"] == ["13200", "29700"]
        assert entry.changes["status"] == ["received", "delivered"]

    def test_without_lines_the_lines_stay(self, alice, order):
        saved = services.order_update(actor=alice, order=order, data={"note": "至急"}, version=1)
        assert saved.lines.count() == 1 and saved.total == D("13200") and saved.version == 2

    def test_the_same_lines_again_change_nothing(self, alice, order, cleaning):
        saved = services.order_update(
            actor=alice, order=order, data={}, lines=[{"product": cleaning}], version=1
        )
        assert saved.version == 1
        assert not HistoryEntry.objects.filter(model="sales.order", action="update").exists()

    def test_a_stale_version_writes_nothing_even_with_bad_input(self, alice, bob, order):
        services.order_update(actor=bob, order=order, data={"note": "先に保存"}, version=1)
        with pytest.raises(services.StaleVersionError) as exc:
            services.order_update(
                actor=alice, order=order, data={"note": "後"}, lines=[], version=1
            )
        assert exc.value.current.note == "先に保存"
        order.refresh_from_db()
        assert (order.note, order.version, order.lines.count()) == ("先に保存", 2, 1)

    def test_the_delivery_date_is_checked_against_the_stored_order_date(self, alice, order):
        errors = errors_of(
            lambda: services.order_update(
                actor=alice,
                order=order,
                data={"delivered_on": datetime.date(2026, 3, 31)},
                version=1,
            )
        )
        assert list(errors) == ["delivered_on"]

    def test_an_emptied_number_keeps_the_old_one(self, alice, order):
        saved = services.order_update(actor=alice, order=order, data={"number": ""}, version=1)
        assert saved.number == order.number

    def test_deleting_moves_to_the_trash_with_history(self, alice, order):
        services.order_delete(actor=alice, order=order)
        order.refresh_from_db()
        assert order.deleted_at is not None
        assert HistoryEntry.objects.filter(model="sales.order", action="delete").exists()


class TestProducts:
    def test_a_code_is_unique_with_a_clear_message(self, alice, cleaning):
        errors = errors_of(
            lambda: services.product_create(
                actor=alice, data={"code": "AC-01", "name": "別", "unit_price": 1}
            )
        )
        assert errors == {"code": ["Another product already has the code AC-01."]}

    @pytest.mark.parametrize(
        ("data", "field"),
        [
            ({"unit_price": "-1"}, "unit_price"),
            ({"unit_price": "100000000000"}, "unit_price"),
            ({"unit_price": "1.001"}, "unit_price"),
            ({"tax_rate": 5}, "tax_rate"),
            ({"name": " "}, "name"),
            ({"code": ""}, "code"),
            ({"name": "x" * 201}, "name"),
        ],
    )
    def test_it_refuses_bad_values(self, alice, data, field):
        base = {"code": "X-1", "name": "商品", "unit_price": 100}
        errors = errors_of(lambda: services.product_create(actor=alice, data={**base, **data}))
        assert list(errors) == [field]
        assert not Product.objects.exists()

    def test_updates_are_versioned_and_recorded(self, alice, cleaning):
        saved = services.product_update(
            actor=alice, product=cleaning, data={"unit_price": D("13000")}, version=1
        )
        assert saved.version == 2 and saved.unit_price == D("13000")
        with pytest.raises(services.StaleVersionError):
            services.product_update(actor=alice, product=cleaning, data={"name": "x"}, version=1)
        entry = HistoryEntry.objects.get(model="sales.product", action="update")
        assert (
            entry.changes == {"unit_price": ["12000.00", "13000.00"]} and entry.customer_id is None
        )

    def test_a_product_may_not_take_another_products_code(self, alice, cleaning):
        other = services.product_create(
            actor=alice, data={"code": "AC-02", "name": "室外機", "unit_price": 5000}
        )
        errors = errors_of(
            lambda: services.product_update(
                actor=alice, product=other, data={"code": "AC-01"}, version=1
            )
        )
        assert list(errors) == ["code"]


class TestMessagesKeptForLater:
    """The rules' messages are gettext_lazy with their parameters, never formatted text: a form
    or the API shows them in the active language, and an import stores them (`core.later`) to
    be read in each reader's language."""

    def test_a_lines_problem_keeps_its_msgid_and_parameters(self):
        from enishi.core.later import field_messages, translated

        lines = [{"description": "x", "unit_price": "1000", "quantity": "1", "discount": "5000"}]
        with translation.override("ja"), pytest.raises(ValidationError) as exc:
            services.order_lines_price(lines)
        stored = field_messages(exc.value)["lines.0.discount"][0]
        assert stored == {
            "m": "Line %(line)s: the discount cannot be more than the line's %(gross)s yen.",
            "p": {"line": 1, "gross": "1,000"},
        }
        with translation.override("en"):
            assert translated(stored) == exc.value.message_dict["lines.0.discount"][0]
            assert translated(stored) == (
                "Line 1: the discount cannot be more than the line's 1,000 yen."
            )
        with translation.override("ja"):
            assert translated(stored) == "明細1：値引きは明細の金額（1,000円）を超えられません。"

    def test_every_field_problem_is_kept_for_later(self, alice, customer):
        from enishi.core.later import field_messages

        bad_lines = [{"description": "", "unit_price": "x", "quantity": "0", "tax_rate": 5}]
        bad_order = {"number": "N" * 31, "status": "lost", "ordered_on": None}
        for call in (
            lambda: services.order_lines_price(bad_lines),
            lambda: make_order(
                alice, customer, [{"description": "x", "unit_price": 1}], **bad_order
            ),
        ):
            with pytest.raises(ValidationError) as exc:
                call()
            found = field_messages(exc.value)
            assert len(found) >= 3, found
            assert all(isinstance(m, dict) and "m" in m for ms in found.values() for m in ms), found
