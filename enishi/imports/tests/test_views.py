"""The wizard's screens: upload → columns → preview and decisions → run → result → undo."""

import io

import openpyxl
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from enishi.core import testing
from enishi.customers.models import Customer
from enishi.imports.models import ImportRun

from .conftest import csv_bytes, upload

pytestmark = pytest.mark.django_db

FILE = "氏名,電話番号,メール\n山田 太郎,03-1234-5678,taro@example.jp\n佐藤 花子,0312,hanako@example.jp\n鈴木 一郎,090-1111-2222,ichiro@example.jp\n"


@pytest.fixture
def english_bob(bob):
    bob.language = "en"
    bob.save()
    return bob


@pytest.fixture
def bob_web(client, english_bob):
    client.force_login(english_bob)
    return client


def start(client, content: bytes, name="顧客.csv", target="customers"):
    return client.post(
        reverse("imports:start"), {"target": target, "file": SimpleUploadedFile(name, content)}
    )


def columns(run) -> dict:
    return {f"col_{i}": key for i, key in enumerate(run.mapping)}


def test_the_whole_journey(bob_web, english_bob):
    twin = testing.make_customer(english_bob, name="鈴木 一郎", mobile="090-1111-2222")
    response = start(bob_web, csv_bytes(FILE, "cp932"))
    run = ImportRun.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse(
        "imports:mapping", args=[run.pk]
    )

    page = bob_web.get(response["Location"]).content.decode()
    assert 'id="import-encoding"' in page and "Shift_JIS" in page and "山田 太郎" in page

    response = bob_web.post(
        reverse("imports:mapping", args=[run.pk]),
        {"action": "check", "default_kind": "auto", "template_name": "名簿", **columns(run)},
    )
    assert response.status_code == 302
    preview = bob_web.get(response["Location"])
    body = preview.content.decode()
    assert preview.status_code == 200
    assert 'data-count="create">1<' in body and 'data-count="reject">1<' in body
    assert f'href="/customers/{twin.pk}/"' in body  # the probable duplicate, linked

    row = bob_web.post(
        reverse("imports:decide", args=[run.pk, 3]), {"decision": "update"}, HTTP_HX_REQUEST="true"
    )
    assert row.status_code == 200 and row["HX-Trigger"] == "import-decided"
    assert 'data-action="update"' in row.content.decode()
    counts = bob_web.get(
        reverse("imports:preview", args=[run.pk]) + "?part=counts", HTTP_HX_REQUEST="true"
    )
    assert 'data-count="update">1<' in counts.content.decode()
    go = counts.content.decode().split('id="import-go"')[1]
    assert go.startswith(' hx-swap-oob="true"') and "2 rows will be written" in go

    response = bob_web.post(reverse("imports:execute", args=[run.pk]))
    assert response.status_code == 302
    result = bob_web.get(reverse("imports:detail", args=[run.pk]), follow=True)
    body = result.content.decode()
    assert 'data-count="created">1<' in body and 'data-count="updated">1<' in body
    twin.refresh_from_db()
    assert twin.email == "ichiro@example.jp"

    download = bob_web.get(reverse("imports:rejected", args=[run.pk]))
    text = b"".join(download.streaming_content).decode("cp932")
    assert download["Content-Type"] == "text/csv; charset=Windows-31J"
    assert text.splitlines()[0] == "氏名,電話番号,メール,Row in the file,Why it was rejected"
    assert text.splitlines()[1].startswith('佐藤 花子,0312,hanako@example.jp,3,"電話番号: ')

    # Undo asks first, with the counts; only the confirmation's own button undoes.
    confirm = bob_web.get(reverse("imports:undo", args=[run.pk])).content.decode()
    assert 'data-remove="1" data-restore="1" data-keep="0"' in confirm
    assert "1 karte this import created will be deleted." in confirm
    assert "1 karte this import updated will get its previous values back." in confirm
    response = bob_web.post(reverse("imports:undo", args=[run.pk]), {"confirm": "1"})
    run.refresh_from_db()
    assert run.status == "undone"
    assert list(Customer.objects.values_list("name", flat=True)) == ["鈴木 一郎"]
    assert (
        "import-undo-report"
        in bob_web.get(reverse("imports:result", args=[run.pk])).content.decode()
    )


def test_an_upload_over_the_limit_is_refused_before_it_is_stored(bob_web, settings):
    settings.ENISHI_IMPORT_MAX_BYTES = 2048
    response = start(bob_web, b"a,b\n" * 2000)
    assert response.status_code == 400
    assert "imports accept at most 2 KB" in response.content.decode()
    assert not ImportRun.objects.exists()


def test_a_file_that_is_not_a_spreadsheet_is_refused_with_the_reason(bob_web):
    response = start(bob_web, b"%PDF-1.5 ...", name="customers.xlsx")
    assert response.status_code == 400
    assert "PDF" in response.content.decode()


def test_a_workbook_offers_its_sheets(bob_web):
    workbook = openpyxl.Workbook()
    workbook.active.title = "メモ"
    workbook.active.append(["メモ"])
    workbook.active.append(["見込み客は別シート"])
    sheet = workbook.create_sheet("顧客")
    sheet.append(["会社名", "電話番号"])
    sheet.append(["株式会社山田商事", "03-1234-5678"])
    workbook.active = 1
    out = io.BytesIO()
    workbook.save(out)
    run_url = start(bob_web, out.getvalue(), name="顧客.xlsx")["Location"]
    page = bob_web.get(run_url).content.decode()
    assert 'id="import-sheet"' in page and ">顧客 " in page
    run = ImportRun.objects.get()
    response = bob_web.post(run_url, {"action": "layout", "sheet": "メモ", "header_row": ""})
    assert response.status_code == 302
    run.refresh_from_db()
    assert (run.sheet, run.headers) == ("メモ", ["メモ"])


def test_a_wrong_encoding_is_said_on_the_columns_page_before_any_row_is_checked(bob_web):
    run_url = start(bob_web, FILE.encode("cp932"))["Location"]
    assert "import-unreadable" not in bob_web.get(run_url).content.decode()
    response = bob_web.post(run_url, {"action": "layout", "encoding": "utf-8", "header_row": "1"})
    assert response.status_code == 302
    page = bob_web.get(run_url).content.decode()
    assert 'class="errors import-unreadable" role="alert"' in page
    assert "cannot be read as UTF-8" in page and "such as Shift_JIS" in page
    # Back to what was detected: the warning goes.
    bob_web.post(run_url, {"action": "layout", "encoding": "cp932", "header_row": "1"})
    page = bob_web.get(run_url).content.decode()
    assert "import-unreadable" not in page and "山田 太郎" in page


def workbook_bytes(build) -> bytes:
    workbook = openpyxl.Workbook()
    build(workbook.active)
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def test_a_formula_whose_result_was_never_saved_rejects_its_row_with_the_reason(
    bob_web, english_bob
):
    """A workbook a program wrote and nobody opened in Excel: the formula's value is unknown,
    so the row is not imported without it; the other rows are."""

    def build(ws):
        ws.append(["氏名", "電話番号", "備考", "集計"])
        ws.append(["山田 太郎", "03-1234-5678", '=CONCAT("要","連絡")', "=1+1"])
        ws.append(["佐藤 花子", "03-1234-9999", "メモ", "=1+2"])

    response = start(bob_web, workbook_bytes(build), name="顧客.xlsx")
    run = ImportRun.objects.get()
    mapping = {"col_0": "name", "col_1": "phone", "col_2": "notes", "col_3": ""}
    response = bob_web.post(
        reverse("imports:mapping", args=[run.pk]),
        {"action": "check", "default_kind": "auto", **mapping},
    )
    assert response.status_code == 302
    run.refresh_from_db()
    rows = {r.number: r for r in run.rows.all()}
    assert rows[1].category == "invalid" and rows[2].category == "new"
    assert [field for field, _m in rows[1].problems] == ["notes"]  # not the unmapped 集計
    assert rows[1].values[2] == '=CONCAT("要","連絡")'
    body = bob_web.get(reverse("imports:preview", args=[run.pk]) + "?show=problems")
    text = body.content.decode()
    assert (
        "This cell holds a formula (=CONCAT(&quot;要&quot;,&quot;連絡&quot;)) whose result was "
        "never saved: open the file in Excel, save it, and upload it again." in text
    )
    bob_web.post(reverse("imports:execute", args=[run.pk]))
    assert list(Customer.objects.values_list("name", "notes")) == [("佐藤 花子", "メモ")]
    download = bob_web.get(reverse("imports:rejected", args=[run.pk]))
    rejected = openpyxl.load_workbook(io.BytesIO(b"".join(download.streaming_content)))
    row = [c.value for c in rejected.active[2]]
    assert row[:3] == ["山田 太郎", "03-1234-5678", '=CONCAT("要","連絡")']
    assert rejected.active["C2"].data_type == "s"  # handed back as text, never a live formula


def test_a_note_merged_across_columns_does_not_become_the_owner(bob_web, english_bob):
    def build(ws):
        ws.append(["会社名", "氏名", "備考", "担当"])
        ws.append(["株式会社山田商事", "山田 太郎", "電話は午後", None])
        ws.append([None, "山田 花子", "メールで", "bob"])
        ws.merge_cells("C2:D2")
        ws.merge_cells("A2:A3")

    start(bob_web, workbook_bytes(build), name="顧客.xlsx")
    run = ImportRun.objects.get()
    assert run.mapping[:3] == ["company_name", "name", "notes"]
    bob_web.post(
        reverse("imports:mapping", args=[run.pk]),
        {"action": "check", "default_kind": "auto", **columns(run), "col_3": "owner"},
    )
    run.refresh_from_db()
    # Copied into 担当, the note was "no active user called 電話は午後" and rejected the row.
    assert [r.category for r in run.rows.order_by("number")] == ["new", "new"]
    assert run.rows.get(number=1).values == ["株式会社山田商事", "山田 太郎", "電話は午後"]
    bob_web.post(reverse("imports:execute", args=[run.pk]))
    taro = Customer.objects.get(name="山田 太郎")
    hanako = Customer.objects.get(name="山田 花子")
    assert taro.notes == "電話は午後" and hanako.notes == "メールで"
    assert taro.company == hanako.company and taro.company.name == "株式会社山田商事"


def test_the_mapping_page_explains_a_bad_choice(bob_web):
    start(bob_web, FILE.encode())
    run = ImportRun.objects.get()
    response = bob_web.post(
        reverse("imports:mapping", args=[run.pk]),
        {
            "action": "check",
            "default_kind": "auto",
            "col_0": "",
            "col_1": "phone",
            "col_2": "phone",
        },
    )
    assert response.status_code == 400
    body = response.content.decode()
    assert "is chosen for two columns" in body and "who a row is about" in body


def test_the_progress_fragment_moves_on_when_the_step_is_over(bob_web, english_bob):
    run = upload(english_bob, FILE.encode())
    response = bob_web.get(reverse("imports:status", args=[run.pk]), HTTP_HX_REQUEST="true")
    assert response["HX-Redirect"] == reverse("imports:mapping", args=[run.pk])
    ImportRun.objects.filter(pk=run.pk).update(
        status="analysing", progress_total=10, progress_done=4
    )
    from django.utils import timezone

    ImportRun.objects.filter(pk=run.pk).update(heartbeat_at=timezone.now())
    response = bob_web.get(reverse("imports:status", args=[run.pk]), HTTP_HX_REQUEST="true")
    body = response.content.decode()
    assert (
        "HX-Redirect" not in response and 'hx-trigger="every 1s"' in body and 'value="40"' in body
    )


def test_an_interrupted_import_offers_to_continue_or_undo(bob_web, english_bob):
    run = upload(english_bob, FILE.encode())
    ImportRun.objects.filter(pk=run.pk).update(
        status="running", heartbeat_at=None, progress_total=3
    )
    body = bob_web.get(reverse("imports:detail", args=[run.pk]), follow=True).content.decode()
    assert 'id="import-interrupted"' in body
    assert (
        reverse("imports:resume", args=[run.pk]) in body
        and reverse("imports:undo", args=[run.pk]) in body
    )
    assert "<h1>Interrupted" in body  # not "Importing" long after the server stopped
    listed = bob_web.get(reverse("imports:start")).content.decode()
    assert ">Interrupted</span>" in listed


# --- undo asks first --------------------------------------------------------------------------------

UPDATES = "コード,氏名,電話番号\nK1,山田 太郎,03-9999-0000\nK2,佐藤 花子,03-2222-3333\nK3,鈴木 一郎,03-4444-5555\n"


def imported(bob):
    from .conftest import check, run_import

    testing.make_customer(bob, name="山田 太郎", code="K1", phone="03-1111-2222")
    return run_import(bob, check(bob, upload(bob, UPDATES.encode())))


def test_undo_asks_first_saying_what_it_will_do_and_a_post_without_confirming_undoes_nothing(
    bob_web, english_bob
):
    from enishi.customers import services as customer_services

    run = imported(english_bob)
    hanako = Customer.objects.get(code="K2")
    customer_services.customer_update(
        actor=english_bob, customer=hanako, data={"notes": "後から"}, version=hanako.version
    )
    undo_url = reverse("imports:undo", args=[run.pk])
    result = bob_web.get(reverse("imports:result", args=[run.pk])).content.decode()
    # The result page links to the question; no form on it undoes at once.
    assert f'href="{undo_url}"' in result and f'action="{undo_url}"' not in result

    page = bob_web.get(undo_url)
    body = page.content.decode()
    assert page.status_code == 200 and '<h2 id="import-undo-title">Undo this import?' in body
    assert 'data-remove="1" data-restore="1" data-keep="1"' in body
    assert "1 karte this import created will be deleted." in body
    assert "1 karte this import updated will get its previous values back." in body
    assert "1 record was changed or worked on since the import and will be kept as it is." in body
    assert f'href="/customers/{hanako.pk}/">佐藤 花子</a> — Changed since the import' in body
    assert 'name="csrfmiddlewaretoken"' in body and 'name="confirm" value="1"' in body

    # A POST that does not confirm (a stale page, a stray form) only asks again.
    stray = bob_web.post(undo_url)
    assert stray.status_code == 200 and 'id="import-undo-confirm"' in stray.content.decode()
    run.refresh_from_db()
    assert run.status == "done" and Customer.objects.count() == 3

    response = bob_web.post(undo_url, {"confirm": "1"})
    assert response.status_code == 302
    run.refresh_from_db()
    assert run.status == "undone"
    assert set(Customer.objects.values_list("code", flat=True)) == {"K1", "K2"}


def test_undo_asks_in_a_dialog_with_htmx(bob_web, english_bob):
    run = imported(english_bob)
    response = bob_web.get(reverse("imports:undo", args=[run.pk]), HTTP_HX_REQUEST="true")
    body = response.content.decode()
    assert body.startswith('<dialog class="import-dialog" id="import-undo-dialog"')
    assert "<html" not in body and 'data-remove="2" data-restore="1"' in body
    assert f'href="{reverse("imports:result", args=[run.pk])}" data-dialog-close' in body
    result = bob_web.get(reverse("imports:result", args=[run.pk])).content.decode()
    assert 'hx-target="#import-undo-slot"' in result and 'id="import-undo-slot"' in result


def test_an_import_that_cannot_be_undone_says_so_instead_of_asking(bob_web, english_bob):
    run = upload(english_bob, FILE.encode())
    for response in (
        bob_web.get(reverse("imports:undo", args=[run.pk]), follow=True),
        bob_web.post(reverse("imports:undo", args=[run.pk]), {"confirm": "1"}, follow=True),
    ):
        assert "Only a finished or interrupted import can be undone." in response.content.decode()
    run.refresh_from_db()
    assert run.status == "mapping"
    response = bob_web.get(reverse("imports:undo", args=[run.pk]), HTTP_HX_REQUEST="true")
    assert response["HX-Redirect"] == reverse("imports:mapping", args=[run.pk])


def test_read_only_users_and_others_get_404(client, english_bob, dave, carol):
    run = upload(english_bob, FILE.encode())
    for user in (dave, carol):
        client.force_login(user)
        assert client.get(reverse("imports:start")).status_code == 404 if user == dave else True
        assert client.get(reverse("imports:mapping", args=[run.pk])).status_code == 404
        assert client.post(reverse("imports:discard", args=[run.pk])).status_code == 404
    assert ImportRun.objects.filter(pk=run.pk).exists()


def test_an_admin_sees_everyones_imports(client, alice, english_bob):
    run = upload(english_bob, FILE.encode())
    client.force_login(alice)
    assert client.get(reverse("imports:mapping", args=[run.pk])).status_code == 200
    assert (
        reverse("imports:detail", args=[run.pk])
        in client.get(reverse("imports:start")).content.decode()
    )


def test_a_template_is_deleted_by_its_maker_only(bob_web, english_bob, client, carol):
    run = upload(english_bob, FILE.encode())
    from enishi.imports import services

    services.import_set_mapping(
        actor=english_bob, run=run, mapping=run.mapping, template_name="共有"
    )
    template = run.template
    client.force_login(carol)
    assert client.post(reverse("imports:template_delete", args=[template.pk])).status_code == 404
    client.force_login(english_bob)
    assert client.post(reverse("imports:template_delete", args=[template.pk])).status_code == 302
    assert not type(template).objects.exists()


def test_a_discarded_import_leaves_nothing(bob_web, english_bob, settings):
    run = upload(english_bob, FILE.encode())
    folder = settings.ENISHI_IMPORT_DIR / run.stored_name.split("/")[0]
    assert folder.exists()
    assert bob_web.post(reverse("imports:discard", args=[run.pk])).status_code == 302
    assert not ImportRun.objects.exists() and not folder.exists()


def test_a_repeated_row_names_the_line_it_repeats(bob_web, english_bob):
    text = (
        "Customers\n\nName,Phone,E-mail\n"
        "山田 太郎,03-1234-5678,taro@example.jp\n"
        "佐藤 花子,090-2222-3333,hanako@example.jp\n"
        "山田 太郎,03-1234-5678,taro@example.jp\n"
    )
    start(bob_web, text.encode())
    run = ImportRun.objects.get()
    response = bob_web.post(
        reverse("imports:mapping", args=[run.pk]),
        {"action": "check", "default_kind": "auto", **columns(run)},
    )
    body = bob_web.get(response["Location"]).content.decode()
    assert "Same customer as row 4 of the file" in body  # line 4, the first data row


def test_the_preview_counts_only_companies_that_rows_being_written_create(bob_web, english_bob):
    text = (
        "Name,Company,Mobile\n"
        "山田 太郎,株式会社青空,090-1234-5678\n"
        "山田 太郎,株式会社夕焼,090-1234-5678\n"  # the same person again: skipped
    )
    start(bob_web, text.encode())
    run = ImportRun.objects.get()
    response = bob_web.post(
        reverse("imports:mapping", args=[run.pk]),
        {"action": "check", "default_kind": "auto", **columns(run)},
    )
    body = bob_web.get(response["Location"]).content.decode()
    assert "1 company is created for the persons who name it." in body
    bob_web.post(reverse("imports:decide", args=[run.pk, 1]), {"decision": "skip"})
    counts = bob_web.get(
        reverse("imports:preview", args=[run.pk]) + "?part=counts", HTTP_HX_REQUEST="true"
    ).content.decode()
    assert "Companies to create" not in counts


def test_the_result_opens_on_what_happened_and_follows_an_undo(bob_web, english_bob):
    from .conftest import check, run_import

    karte = testing.make_customer(english_bob, name="山田 太郎", code="K1")
    run = run_import(
        english_bob,
        check(english_bob, upload(english_bob, "コード,氏名,備考\nK1,山田 太郎,更新\n".encode())),
    )
    body = bob_web.get(reverse("imports:result", args=[run.pk])).content.decode()
    assert 'href="?show=updated" aria-current="page"' in body  # an update-only import
    assert f'href="/customers/{karte.pk}/"' in body

    bob_web.post(reverse("imports:undo", args=[run.pk]), {"confirm": "1"})
    body = bob_web.get(reverse("imports:result", args=[run.pk])).content.decode()
    assert "?show=updated" not in body
    assert 'href="?show=undone" aria-current="page"' in body and "Undone (1)" in body


def test_the_karte_history_names_the_import_and_links_it_for_those_who_may_open_it(
    client, bob, dave
):
    from .conftest import check, run_import
    from .test_services import PEOPLE

    run = run_import(bob, check(bob, upload(bob, csv_bytes(PEOPLE, "cp932"), name="名簿<b>.csv")))
    taro = Customer.objects.get(code="C001")
    link = f'<a href="{reverse("imports:detail", args=[run.pk])}">名簿&lt;b&gt;.csv</a>'
    client.force_login(bob)
    assert link in client.get(reverse("customers:detail", args=[taro.pk])).content.decode()
    client.force_login(dave)  # sees the karte, not Bob's import: the name without the link
    page = client.get(reverse("customers:detail", args=[taro.pk])).content.decode()
    assert "名簿&lt;b&gt;.csv" in page and link not in page
