"""Orders through the import: rows grouped into orders, priced by the sales rules, re-imports
recognised, undone as a whole — on the real database, through the screens and the API."""

from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import translation

from enishi.api.tests.conftest import ApiClient, issue_token
from enishi.core import testing
from enishi.history.models import HistoryEntry
from enishi.imports import decisions, services
from enishi.imports import targets as t
from enishi.imports.models import ImportRun
from enishi.sales import services as sales_services
from enishi.sales.models import Order, OrderLine, Product

from .conftest import as_read, check, csv_bytes, run_import, upload

pytestmark = pytest.mark.django_db

ORDERS = (
    "受注番号,顧客コード,受注日,納品日,商品コード,品名,単価,数量,値引,税率,金額\n"
    "A-1,C001,2024/4/1,2024/4/5,P-10,,,2,,,2000\n"
    "A-1,C001,2024/4/1,,,お弁当,540,3,,軽減,1620\n"
    'A-2,C001,R6.4.10,,,工事費,"￥50,000",1,"▲5,000",10%,45000\n'
    ",C002,2024/4/20,,,相談料,3333,1,,10,\n"
    "A-3,C001,2024/13/40,,,出張費,1000,1,,,\n"
    "A-4,C999,2024/4/1,,,謎の品,1000,1,,,\n"
)


def rows_of(run):
    return {r.number: as_read(r) for r in run.rows.order_by("number")}


def guess(headers, sample=None):
    return t.guess_mapping(headers, sample or [], t.targets_for("orders", sensitive_allowed=True))


@pytest.fixture
def kartes(bob):
    Product.objects.create(code="P-10", name="保守部品", unit_price=1000, tax_rate=10)
    return (
        testing.make_customer(bob, name="山田 太郎", code="C001"),
        testing.make_customer(bob, name="佐藤 花子", code="C002"),
    )


# --- the spreadsheet side -------------------------------------------------------------------------


def test_order_headers_in_japanese():
    headers = ["注文番号", "取引先コード", "注文日", "納品日", "状態", "担当者", "商品コード",
               "商品名", "明細", "単価", "数量", "値引", "税率", "金額", "備考"]  # fmt: skip
    assert guess(headers) == [
        "number", "customer_code", "ordered_on", "delivered_on", "order_status", "owner",
        "product_code", "product_name", "description", "unit_price", "quantity", "discount",
        "tax_rate", "amount", "note",
    ]  # fmt: skip


def test_order_headers_in_english():
    headers = ["Order number", "Customer", "Order date", "Delivery date", "Status", "Product",
               "Description", "Unit price", "Qty", "Discount", "Tax rate", "Amount"]  # fmt: skip
    assert guess(headers) == [
        "number", "customer_name", "ordered_on", "delivered_on", "order_status", "product_name",
        "description", "unit_price", "quantity", "discount", "tax_rate", "amount",
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("value", "expected"),
    [(10, 10), ("10%", 10), ("１０％", 10), (0.08, 8), ("8%", 8), ("軽減", 8), ("軽減税率", 8),
     ("0", 0), ("非課税", 0), ("", None)],
)  # fmt: skip
def test_tax_rates(value, expected):
    assert t.tax_rate_value(value) == expected


@pytest.mark.parametrize("value", ["5%", "標準じゃない", 0.05, "abc"])
def test_other_tax_rates_are_refused(value):
    with pytest.raises(t.CellError):
        t.tax_rate_value(value)


@pytest.mark.parametrize(
    ("convert", "value", "expected"),
    [
        (t.price_value, "¥1,234.50", "1234.5"),
        (t.price_value, "980円", "980"),
        (t.price_value, 1234.5, "1234.5"),
        (t.quantity_value, "2個", "2"),
        (t.quantity_value, "1.5", "1.5"),
        (t.quantity_value, "1式", "1"),
        (t.discount_value, "▲5,000", 5000),
        (t.discount_value, "-300", 300),
        (t.discount_value, 200, 200),
    ],
)
def test_line_values(convert, value, expected):
    assert convert(value) == expected


@pytest.mark.parametrize(
    ("convert", "value"),
    [(t.price_value, "1.234"), (t.price_value, "-5"), (t.quantity_value, "たくさん")],
)
def test_bad_line_values_are_refused(convert, value):
    with pytest.raises(t.CellError):
        convert(value)


# --- check, run, re-import, undo ------------------------------------------------------------------


def test_the_preview_groups_rows_into_orders_and_names_the_problems(bob, kartes):
    yamada, sato = kartes
    rows = rows_of(check(bob, upload(bob, ORDERS.encode(), target="orders")))
    assert [rows[n].category for n in range(1, 7)] == ["new"] * 4 + ["invalid"] * 2
    assert rows[1].match_id == rows[2].match_id == rows[3].match_id == yamada.pk
    assert rows[4].match_id == sato.pk
    assert rows[1].data["order_rows"] == [1, 2] and rows[2].data["order_group"] == 1
    assert "Line 2 of 2 of order A-1." in dict(rows[2].notes)["number"]
    assert "ordered_on" in dict(rows[5].problems)  # 2024/13/40
    assert "No karte you can see" in dict(rows[6].problems)["customer_code"]
    run = ImportRun.objects.get()
    assert decisions.action_counts(run)["create"] == 4 and run.summary["invalid"] == 2
    # A-1 (two lines), A-2 and the order without a number; are refused.
    assert decisions.order_counts(run) == {"create": 3, "update": 0, "skip": 0, "reject": 2}


def test_orders_are_priced_by_the_sales_rules_recorded_and_undone(bob, kartes):
    yamada, sato = kartes
    run = run_import(bob, check(bob, upload(bob, csv_bytes(ORDERS, "cp932"), target="orders")))
    assert run.encoding == "cp932"
    assert (run.counts["orders_created"], run.counts["created"], run.counts["rejected"]) == (
        3,
        4,
        2,
    )

    a1 = Order.objects.get(number="A-1")
    assert (a1.customer, str(a1.ordered_on), str(a1.delivered_on)) == (
        yamada,
        "2024-04-01",
        "2024-04-05",
    )
    lines = list(a1.lines.all())
    assert [(str(x.description), x.tax_rate, x.amount) for x in lines] == [
        ("保守部品", 10, Decimal(2000)),
        ("お弁当", 8, Decimal(1620)),
    ]
    product = Product.objects.get(code="P-10")
    expected_lines, totals = sales_services.order_lines_price(
        [
            {"product": product, "quantity": "2"},
            {"description": "お弁当", "unit_price": "540", "quantity": "3", "tax_rate": 8},
        ]
    )
    # Tax per rate, rounded down: 10% of 2,000 + 8% of 1,620 (129.6 → 129).
    assert (a1.subtotal, a1.tax, a1.total) == (totals.subtotal, totals.tax, totals.total)
    assert (a1.subtotal, a1.tax, a1.total) == (3620, 329, 3949)
    assert a1.lines_summary == sales_services.lines_summary(expected_lines)

    a2 = Order.objects.get(number="A-2")
    assert (str(a2.ordered_on), a2.subtotal, a2.tax, a2.total) == ("2024-04-10", 45000, 4500, 49500)
    assert a2.lines.get().discount == 5000
    unnumbered = Order.objects.get(customer=sato)
    assert unnumbered.number.startswith("O-2024-") and unnumbered.total == 3666

    created = HistoryEntry.objects.filter(batch=run.batch, model="sales.order", action="create")
    assert created.count() == 3 and {e.via for e in created} == {"import"}
    assert HistoryEntry.objects.filter(batch=run.batch, action="import").count() == 1

    again = check(bob, upload(bob, ORDERS.encode(), target="orders"))
    second = rows_of(again)
    assert [second[n].category for n in (1, 2, 3)] == ["duplicate"] * 3
    assert second[1].match_reasons == ["already_imported"]
    # The order without a number is recognised by its karte, date and lines.
    assert (second[4].category, second[4].match_reasons) == ("duplicate", ["same_order"])
    assert decisions.action_counts(again)["skip"] == 4
    with translation.override("ja"):
        from enishi.imports.analysis import reasons_text

        assert (
            reasons_text(second[1].match_reasons)
            == "取り込み済み：このカルテに同じ番号の受注があります"
        )

    services.import_undo_start(actor=bob, run=run)
    run.refresh_from_db()
    assert run.status == "undone" and run.undo_report["removed"] == 3
    assert not Order.objects.exists() and not OrderLine.objects.exists()
    assert (
        HistoryEntry.objects.filter(
            batch=run.batch, action="import_undo", model="sales.order"
        ).count()
        == 3
    )


def test_an_order_without_a_number_is_a_duplicate_only_with_the_same_date_and_lines(bob, kartes):
    first = "顧客コード,受注日,品名,単価,数量\nC001,2024/5/1,点検,8000,1\n"
    run_import(bob, check(bob, upload(bob, first.encode(), target="orders")))
    again = "顧客コード,受注日,品名,単価,数量\n" + (
        "C001,2024/5/1,点検,8000,1\n"  # the same order
        "C001,2024/5/1,点検,8000,2\n"  # same day, other lines
        "C001,2024/5/2,点検,8000,1\n"  # same lines, other day
        "C002,2024/5/1,点検,8000,1\n"  # another karte
    )
    rows = rows_of(check(bob, upload(bob, again.encode(), target="orders")))
    assert [rows[n].category for n in (1, 2, 3, 4)] == ["duplicate", "new", "new", "new"]
    assert rows[1].match_reasons == ["same_order"]


def test_an_order_already_imported_can_be_imported_anyway_with_a_number_of_its_own(bob, kartes):
    text = "受注番号,顧客コード,受注日,品名,単価\nB-1,C001,2024/5/1,点検,8000\n"
    run_import(bob, check(bob, upload(bob, text.encode(), target="orders")))
    again = check(bob, upload(bob, text.encode(), target="orders"))
    services.import_decide_row(actor=bob, run=again, number=1, decision="create")
    again = run_import(bob, again)
    assert Order.objects.count() == 2
    row = again.rows.get()
    assert "B-1 was taken" in row.result_text
    assert Order.objects.get(pk=row.result_id).number.startswith("O-2024-")


def test_an_order_is_imported_with_all_its_lines_or_not_at_all(bob, kartes):
    text = (
        "受注番号,顧客コード,受注日,品名,単価,数量,金額\n"
        "C-1,C001,2024/5/1,部品,100,3,300\n"
        "C-1,C001,2024/5/1,工賃,1000,1,1200\n"  # the file's amount does not add up
        "C-2,C001,2024/5/1,部品,100,2,200\n"
        "C-2,C001,2024/5/1,部品,,1,\n"  # no unit price, no product
    )
    rows = rows_of(check(bob, upload(bob, text.encode(), target="orders")))
    assert all(r.category == "invalid" for r in rows.values())
    assert "is not unit price × quantity − discount (1,000 yen)" in dict(rows[2].problems)["amount"]
    assert "Another row of this order has problems" in rows[1].problems[0][1]
    assert "enter the unit price" in dict(rows[4].problems)["unit_price"]
    assert decisions.order_counts(ImportRun.objects.get())["reject"] == 2  # C-1 and C-2


def test_products_are_found_by_exact_name_and_unknown_ones_become_descriptions(bob, kartes):
    text = "顧客コード,受注日,商品名,単価\nC001,2024/5/1,保守部品,\nC001,2024/5/1,新商品,500\nC001,2024/5/1,,500\n"
    rows = rows_of(check(bob, upload(bob, text.encode(), target="orders")))
    assert rows[1].data["product_id"] == Product.objects.get().pk and rows[1].category == "new"
    assert rows[2].category == "new" and "description only" in dict(rows[2].notes)["product_name"]
    assert rows[3].category == "invalid" and "Say what was sold" in rows[3].problems[0][1]


def test_an_order_number_of_another_customer_is_a_problem(bob, kartes):
    yamada, sato = kartes
    sales_services.order_create(
        actor=bob,
        customer=sato,
        data={"number": "D-1"},
        lines=[{"description": "x", "unit_price": 1}],
    )
    text = "受注番号,顧客コード,受注日,品名,単価\nD-1,C001,2024/5/1,点検,8000\n"
    rows = rows_of(check(bob, upload(bob, text.encode(), target="orders")))
    assert "Another order already has the number D-1." in dict(rows[1].problems)["number"]


def test_the_mapping_needs_a_date_and_what_was_sold(bob, kartes):
    run = upload(bob, "顧客コード,単価\nC001,100\n".encode(), target="orders")
    errors = services.mapping_errors(run, run.mapping, bob)
    assert any("when each order was placed" in e for e in errors)
    assert any("what was sold" in e for e in errors)


def test_a_read_only_user_cannot_import_orders(dave):
    from django.core.exceptions import PermissionDenied

    with pytest.raises(PermissionDenied):
        upload(dave, ORDERS.encode(), target="orders")


# --- the screens and the API ----------------------------------------------------------------------


def test_deciding_one_line_changes_every_line_of_its_order_on_the_page(client, bob, kartes):
    text = "受注番号,顧客コード,受注日,品名,単価\nD-1,C001,2024/5/1,点検,8000\nD-1,C001,2024/5/1,部品,500\n"
    run = check(bob, upload(bob, text.encode(), target="orders"))
    client.force_login(bob)
    response = client.post(
        reverse("imports:decide", args=[run.pk, 1]), {"decision": "skip"}, HTTP_HX_REQUEST="true"
    )
    assert response.status_code == 200
    body = response.content.decode()
    assert body.startswith("<tr") or body.lstrip().startswith("<tr")
    assert '<template><tr id="import-row-2" hx-swap-oob="true"' in body
    assert body.count('data-action="skip"') == 2
    assert set(run.rows.values_list("decision", flat=True)) == {"skip"}


def test_orders_through_the_wizard(client, bob, kartes):
    bob.language = "en"
    bob.save()
    client.force_login(bob)
    response = client.post(
        reverse("imports:start"),
        {"target": "orders", "file": SimpleUploadedFile("受注.csv", csv_bytes(ORDERS, "cp932"))},
    )
    run = ImportRun.objects.get()
    assert run.target == "orders" and response["Location"] == reverse(
        "imports:mapping", args=[run.pk]
    )
    columns = {f"col_{i}": key for i, key in enumerate(run.mapping)}
    response = client.post(
        reverse("imports:mapping", args=[run.pk]),
        {"action": "check", "default_kind": "auto", **columns},
    )
    assert response.status_code == 302
    body = client.get(response["Location"]).content.decode()
    assert 'data-count="create">4<' in body and 'data-count="reject">2<' in body
    assert 'data-count="orders-create">3<' in body and 'data-count="orders-reject">2<' in body
    assert "3 orders (4 lines) will be imported." in body
    assert "Orders already imported" in body and "Line 2 of 2 of order A-1." in body
    assert client.post(reverse("imports:execute", args=[run.pk])).status_code == 302
    body = client.get(reverse("imports:detail", args=[run.pk]), follow=True).content.decode()
    assert 'data-count="orders_created">3<' in body and 'data-count="created">4<' in body
    assert Order.objects.count() == 3
    confirm = client.get(reverse("imports:undo", args=[run.pk])).content.decode()
    assert "3 orders this import created will be deleted, with their lines." in confirm
    assert client.post(reverse("imports:undo", args=[run.pk]), {"confirm": "1"}).status_code == 302
    assert not Order.objects.exists()


def test_the_start_page_offers_orders(client, bob):
    client.force_login(bob)
    body = client.get(reverse("imports:start") + "?target=orders").content.decode()
    assert '<option value="orders" selected>' in body


def test_orders_through_the_api(client, bob, kartes):
    api = ApiClient(client, issue_token(bob), language="en")
    response = api.client.post(
        "/api/v1/imports",
        {"file": SimpleUploadedFile("orders.csv", ORDERS.encode()), "target": "orders"},
        **api.headers,
    )
    assert response.status_code == 201, response.content
    run_id = response.json()["id"]
    assert response.json()["mapping"][:3] == ["number", "customer_code", "ordered_on"]
    assert api.post(f"/imports/{run_id}/check").status_code == 202
    status = api.get(f"/imports/{run_id}").json()
    assert status["actions"] == {"create": 4, "update": 0, "skip": 0, "reject": 2}
    assert status["orders"] == {"create": 3, "update": 0, "skip": 0, "reject": 2}
    rows = api.get(f"/imports/{run_id}/rows", {"show": "problems"}).json()["results"]
    assert [r["number"] for r in rows] == [5, 6]
    assert api.post(f"/imports/{run_id}/run").status_code == 202
    done = api.get(f"/imports/{run_id}").json()
    assert done["status"] == "done" and done["counts"]["orders_created"] == 3
    asked = api.post(f"/imports/{run_id}/undo", {"confirm": False})
    assert asked.status_code == 409 and asked.json()["undo_plan"]["remove"] == 3
    assert Order.objects.count() == 3
    assert api.post(f"/imports/{run_id}/undo", {"confirm": True}).status_code == 202
    assert not Order.objects.exists()
