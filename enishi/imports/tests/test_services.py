"""Imports on the real database: check, decide, write in bulk, undo — and what nobody may do."""

import io

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from enishi.activities.models import Activity, Task
from enishi.core import testing
from enishi.core.later import translated
from enishi.customers import services as customer_services
from enishi.customers.models import Customer, FieldDefinition
from enishi.history.models import HistoryEntry
from enishi.imports import services, writing
from enishi.imports.models import ImportRow, ImportRun, ImportTemplate
from enishi.imports.records import SNAPSHOT_FIELDS, from_json

from .conftest import as_read, check, csv_bytes, run_import, upload

pytestmark = pytest.mark.django_db

PEOPLE = """顧客一覧（2024年4月）
顧客コード,会社名,氏名,フリガナ,電話番号,メール,〒,住所,生年月日,タグ
C001,株式会社山田商事,山田 太郎,やまだ たろう,03-1234-5678,taro@example.jp,〒100-0001,東京都千代田区千代田1-1,S59.7.19,VIP、紹介
C002,山田商事(株),佐藤 花子,サトウ ハナコ,TEL:03-1234-9999,hanako@example.jp,530-0001,大阪府大阪市北区梅田1-2-3,令和2年1月5日,
C003,,鈴木 一郎,スズキ イチロウ,0312,bad@,1234,,令和5年13月1日,
"""


def rows_of(run):
    return {r.number: as_read(r) for r in run.rows.order_by("number")}


class TestCheckingRows:
    def test_it_says_what_would_happen_to_each_row_and_writes_nothing(self, bob):
        run = check(bob, upload(bob, csv_bytes(PEOPLE, "cp932")))
        assert run.status == ImportRun.Status.PREVIEW
        assert (run.encoding, run.header_row, run.row_count) == ("cp932", 2, 3)
        rows = rows_of(run)
        assert rows[1].category == rows[2].category == "new"
        assert rows[1].line == 3
        assert rows[1].company["new"] == rows[2].company["new"] == "山田商事"
        assert not rows[1].notes  # the preview says what the company will be (`company_link`)
        problems = dict(rows[3].problems)
        assert rows[3].category == "invalid"
        assert set(problems) == {"phone", "email", "postal_code", "birthday"}
        assert run.summary["new_companies"] == 1
        assert not Customer.objects.exists()
        assert not HistoryEntry.objects.exists()

    def test_required_fields_and_choices_are_checked_as_on_the_form(self, bob):
        FieldDefinition.objects.create(
            key="plan", label_ja="プラン", type="choice", choices=["松", "竹"], required=True
        )
        text = "氏名,プラン,ランク\n山田,梅,Z\n佐藤,,A\n鈴木,松,B\n"
        run = check(bob, upload(bob, text.encode()))
        rows = rows_of(run)
        assert dict(rows[1].problems).keys() == {"cf:plan", "rank"}
        assert dict(rows[2].problems) == {"cf:plan": "This field is required."}
        assert rows[3].category == "new" and rows[3].data["custom_fields"] == {"plan": "松"}

    def test_a_karte_with_the_same_code_is_matched_and_a_look_alike_is_a_probable_duplicate(
        self, bob
    ):
        coded = testing.make_customer(bob, name="山田 太郎", code="C001")
        twin = testing.make_customer(bob, name="佐藤 花子", email="hanako@example.jp")
        run = check(bob, upload(bob, csv_bytes(PEOPLE, "cp932")))
        rows = rows_of(run)
        assert (rows[1].category, rows[1].match_id, rows[1].match_reasons) == (
            "matched",
            coded.pk,
            ["same_code"],
        )
        assert (rows[2].category, rows[2].match_id) == ("duplicate", twin.pk)
        assert "same_email" in rows[2].match_reasons

    def test_a_row_with_a_kartes_second_e_mail_is_a_probable_duplicate(self, bob):
        karte = testing.make_customer(bob, name="山田 太郎", email_alt="taro@home.example.jp")
        # The name in kana only: no name key in common, so only the second address finds it.
        text = "氏名,メール\nやまだ たろう,Taro@Home.Example.jp\n"
        rows = rows_of(check(bob, upload(bob, text.encode())))
        assert (rows[1].category, rows[1].match_id) == ("duplicate", karte.pk)
        assert "same_email" in rows[1].match_reasons

    def test_rows_repeated_in_the_file_are_found(self, bob):
        text = "氏名,携帯,メール\n山田 太郎,090-1111-2222,t@example.jp\n山田 太郎,09011112222,T@Example.jp\n山田 次郎,090-3333-4444,\n"
        rows = rows_of(check(bob, upload(bob, text.encode())))
        assert rows[1].category == "new"
        assert (rows[2].category, rows[2].duplicate_of) == ("file_duplicate", 1)
        assert rows[3].category == "new"

    def test_the_same_code_twice_in_the_file_is_a_problem(self, bob):
        rows = rows_of(check(bob, upload(bob, "コード,氏名\nA1,山田\nA1,佐藤\n".encode())))
        assert rows[2].category == "invalid"
        assert "row 2 " in rows[2].problems[0][1]  # the line in the file, as the preview shows

    def test_a_repeat_names_the_row_it_repeats_by_its_line_and_that_pairs_reasons(self, bob):
        text = (
            "顧客一覧\n\n氏名,フリガナ,会社名,電話番号,メール\n"
            "中村 美咲,ナカムラ ミサキ,株式会社青空,03-4100-0002,misaki@aozora.example\n"
            "中村 美咲,ナカムラ ミサキ,株式会社夕焼,090-4100-0005,nakamura@yuyake.example\n"
            "中村 美咲,ナカムラ ミサキ,株式会社夕焼,090-4100-0005,nakamura@yuyake.example\n"
        )
        rows = rows_of(check(bob, upload(bob, text.encode())))
        assert rows[3].category == "file_duplicate"
        assert rows[3].duplicate_of == 2  # the exact copy, not the first row
        assert "different_company" not in rows[3].match_reasons
        assert "same_company" in rows[3].match_reasons

    def test_a_member_is_never_matched_with_a_karte_they_cannot_see(self, bob, carol):
        testing.make_customer(carol, name="山田 太郎", code="C001", phone="03-1234-5678")
        testing.make_customer(carol, name="佐藤 花子", email="hanako@example.jp")
        rows = rows_of(check(bob, upload(bob, csv_bytes(PEOPLE, "cp932"))))
        # Carol's code is taken, so the row cannot be created either; Carol's look-alike is
        # neither shown nor updated: the row is a new karte.
        assert rows[1].category == "invalid"
        assert rows[1].problems == [["code", "Another customer already has this code."]]
        assert (rows[2].category, rows[2].match_id) == ("new", None)

    def test_persons_are_linked_to_an_existing_company_they_name(self, bob):
        company = testing.make_company(bob, name="株式会社山田商事")
        rows = rows_of(check(bob, upload(bob, csv_bytes(PEOPLE, "cp932"))))
        # 山田商事(株) agrees with 株式会社山田商事 only without the legal form, but it is the one.
        assert rows[1].company == {"id": company.pk, "name": "株式会社山田商事", "how": "exact"}
        assert rows[2].company == {
            "id": company.pk,
            "name": "株式会社山田商事",
            "how": "similar",
            "written": "山田商事(株)",
        }

    def test_the_checks_ask_the_database_once_per_chunk_not_per_row(
        self, bob, django_assert_max_num_queries
    ):
        for i in range(5):
            testing.make_customer(bob, name=f"既存 {i}", phone=f"03-1234-000{i}")
        lines = ["氏名,電話番号,会社名"] + [
            f"名前{i},03-1234-{i:04d},会社{i % 7}" for i in range(300)
        ]
        run = upload(bob, "\n".join(lines).encode())
        with django_assert_max_num_queries(40):
            services.import_check(actor=bob, run=run)
        run.refresh_from_db()
        assert run.row_count == 300

    def test_checking_in_worker_processes_gives_the_same_rows(self, bob, settings):
        lines = ["氏名,電話番号,メール"] + [
            f"山田 {i},03-1234-{i:04d},u{i}@example.jp" for i in range(40)
        ]
        data = "\n".join(lines).encode("cp932")
        inline = check(bob, upload(bob, data))
        settings.ENISHI_IMPORT_PARALLEL_MIN_ROWS = 10
        settings.ENISHI_IMPORT_WORKERS = 2
        parallel = check(bob, upload(bob, data))
        fields = ("number", "line", "category", "data", "problems", "notes")
        assert list(parallel.rows.values_list(*fields)) == list(inline.rows.values_list(*fields))


class TestWriting:
    def test_it_creates_kartes_companies_tags_and_history_as_the_service_would(self, bob):
        run = run_import(bob, check(bob, upload(bob, csv_bytes(PEOPLE, "cp932"))))
        assert run.status == ImportRun.Status.DONE
        assert (run.counts["created"], run.counts["rejected"], run.counts["companies_created"]) == (
            2,
            1,
            1,
        )
        taro = Customer.objects.get(code="C001")
        company = Customer.objects.get(kind="company")
        assert (company.name, company.owner, company.name_key) == (
            "株式会社山田商事",
            bob,
            "山田商事",
        )
        assert taro.company == company and taro.owner == bob
        assert (taro.postal_code, taro.prefecture, taro.city, taro.street) == (
            "100-0001",
            "東京都",
            "千代田区",
            "千代田1-1",
        )
        assert str(taro.birthday) == "1984-07-19" and taro.name_kana == "ヤマダ タロウ"
        assert sorted(taro.tags.values_list("name", flat=True)) == ["VIP", "紹介"]
        assert Customer.objects.get(code="C002").phone == "03-1234-9999"
        entries = HistoryEntry.objects.filter(batch=run.batch)
        assert entries.filter(action="create", model="customers.customer").count() == 3
        assert set(entries.values_list("via", flat=True)) == {"import"}
        assert entries.filter(action="import", model="imports.importrun").count() == 1
        assert HistoryEntry.objects.get(object_id=taro.pk, action="create").changes["tags"] == [
            None,
            "VIP, 紹介",
        ]

    def test_the_bulk_path_stores_exactly_what_the_karte_service_stores(self, bob):
        text = (
            "区分,氏名,フリガナ,会社名,電話番号,携帯,FAX,メール,郵便番号,住所,生年月日,性別,ステータス,ランク,メモ\n"
            "個人,髙橋　花子,ﾀｶﾊｼ ﾊﾅｺ,,０３－１２３４－５６７８,080-1111-2222,03-9999-0000,ＨＡＮＡＫＯ@Example.JP,5300001,大阪府大阪市北区梅田１－２－３ 梅田ビル,1990/1/2,女性,既存顧客,A,メモです\n"
            "会社,ｶ)ﾔﾏﾀﾞｼｮｳｼﾞ,,,,,,,,,,,,,\n"
        )
        run = check(bob, upload(bob, text.encode()))
        checked = dict(run.rows.values_list("number", "data"))
        run = run_import(bob, run)
        assert run.counts["created"] == 2
        assert not run.rows.exclude(data={}).exists()  # only needed until written
        for imported in Customer.objects.all():
            row = run.rows.get(result_id=imported.pk)
            data = {
                k: from_json(k, v)
                for k, v in checked[row.number].items()
                if k in SNAPSHOT_FIELDS and not k.startswith("_")
            }
            data.pop("owner_id", None)
            data["kind"] = imported.kind
            reference = customer_services.customer_create(actor=bob, data=data)
            for field in (*SNAPSHOT_FIELDS, *writing.DERIVED_FIELDS):
                if field in ("code",):
                    continue
                assert getattr(imported, field) == getattr(reference, field), field
            reference.delete()

    def test_updates_change_only_what_the_file_says_and_keep_the_rest(self, bob):
        karte = testing.make_customer(
            bob, name="山田 太郎", code="C001", notes="大事なメモ", phone="03-1111-2222"
        )
        run = run_import(bob, check(bob, upload(bob, csv_bytes(PEOPLE, "cp932"))))
        karte.refresh_from_db()
        assert run.counts["updated"] == 1
        assert (karte.phone, karte.notes, karte.version) == ("03-1234-5678", "大事なメモ", 2)
        assert karte.phone_e164 == "+81312345678"
        entry = HistoryEntry.objects.get(object_id=karte.pk, action="update")
        assert entry.changes["phone"] == ["03-1111-2222", "03-1234-5678"]
        assert (entry.via, entry.batch) == ("import", run.batch)

    def test_empty_cells_clear_values_when_the_rule_says_so(self, bob):
        karte = testing.make_customer(bob, name="山田", code="K1", notes="消える")
        run = check(bob, upload(bob, "コード,氏名,備考\nK1,山田,\n".encode()))
        run_import(bob, run, empty="clear")
        karte.refresh_from_db()
        assert karte.notes == ""

    def test_a_whole_address_replaces_every_part_of_the_old_one(self, bob):
        karte = testing.make_company(
            bob,
            name="株式会社山田商事",
            code="K1",
            postal_code="103-0027",
            prefecture="東京都",
            city="中央区",
            town="日本橋",
            street="2-7-1",
            building="日本橋中央ビル 5F",
        )
        text = "コード,会社名,〒,住所\nK1,株式会社山田商事,103-0027,東京都中央区日本橋1-1-1\n"
        run_import(bob, check(bob, upload(bob, text.encode())))  # empty cells: keep
        karte.refresh_from_db()
        assert karte.address == "東京都中央区日本橋1-1-1"
        assert (karte.town, karte.building) == ("", "")
        # Separate address columns still change only the parts the file has.
        text = "コード,会社名,建物名\nK1,株式会社山田商事,山田ビル\n"
        run_import(bob, check(bob, upload(bob, text.encode())))
        karte.refresh_from_db()
        assert karte.address == "東京都中央区日本橋1-1-1 山田ビル"

    def test_a_karte_edited_after_the_check_is_not_overwritten(self, bob, erin):
        karte = testing.make_customer(bob, name="山田 太郎", code="K1", phone="03-1111-2222")
        run = check(bob, upload(bob, "コード,氏名,電話番号\nK1,山田 太郎,03-3333-4444\n".encode()))
        customer_services.customer_update(
            actor=erin, customer=karte, data={"phone": "03-9999-0000"}, version=karte.version
        )
        run = run_import(bob, run)
        karte.refresh_from_db()
        assert karte.phone == "03-9999-0000"  # the colleague's edit stands
        row = run.rows.get(number=1)
        assert row.result == "skipped"
        assert "エリン" in row.result_message
        assert run.counts["updated"] == 0 and run.counts["skipped"] == 1

    def test_probable_duplicates_follow_the_rule_and_the_rows_decision(self, bob):
        twin = testing.make_customer(bob, name="佐藤 花子", email="hanako@example.jp")
        run = check(bob, upload(bob, csv_bytes(PEOPLE, "cp932")))
        services.import_decide_row(actor=bob, run=run, number=1, decision="skip")
        run = run_import(bob, run, duplicates="update")
        twin.refresh_from_db()
        assert twin.phone == "03-1234-9999" and twin.version == 2
        assert run.counts["skipped"] == 1 and run.counts["updated"] == 1
        assert not Customer.objects.filter(code="C001").exists()

    def test_a_decision_must_fit_the_row(self, bob):
        run = check(bob, upload(bob, csv_bytes(PEOPLE, "cp932")))
        with pytest.raises(ValidationError):
            services.import_decide_row(actor=bob, run=run, number=1, decision="update")
        with pytest.raises(ValidationError):
            services.import_decide_row(actor=bob, run=run, number=3, decision="create")

    def test_the_owner_column_names_the_owner(self, bob, alice):
        text = "氏名,担当者\n山田,alice\n佐藤,有栖 アリス\n鈴木,\n田中,誰か\n"
        run = run_import(bob, check(bob, upload(bob, text.encode())))
        owners = dict(Customer.objects.values_list("name", "owner__username"))
        assert owners == {"山田": "alice", "佐藤": "alice", "鈴木": "bob"}
        assert "誰か" in as_read(run.rows.get(number=4)).problems[0][1]

    def test_read_only_users_cannot_import(self, dave):
        with pytest.raises(PermissionDenied):
            upload(dave, "氏名\n山田\n".encode())

    def test_a_karte_that_became_invisible_before_the_run_is_not_updated(self, bob, carol):
        karte = testing.make_customer(bob, name="山田 太郎", code="C001")
        run = check(bob, upload(bob, csv_bytes(PEOPLE, "cp932")))
        Customer.objects.filter(pk=karte.pk).update(owner=carol)
        run = run_import(bob, run)
        karte.refresh_from_db()
        assert karte.version == 1
        assert run.rows.get(number=1).result == "skipped"

    def test_a_failure_half_way_takes_back_what_was_written(self, bob, settings, monkeypatch):
        settings.ENISHI_IMPORT_CHUNK_ROWS = 2
        lines = ["氏名,電話番号"] + [f"山田 {i},03-1234-{i:04d}" for i in range(7)]
        run = check(bob, upload(bob, "\n".join(lines).encode()))
        real = writing.CustomerWriter.create
        calls = []

        def fail_on_third(self, rows, companies):
            calls.append(1)
            if len(calls) == 3:
                raise RuntimeError("disk full")
            return real(self, rows, companies)

        monkeypatch.setattr(writing.CustomerWriter, "create", fail_on_third)
        run = run_import(bob, run)
        assert run.status == ImportRun.Status.FAILED
        assert "nothing was imported" in run.error_text
        assert not Customer.objects.exists()
        assert (
            HistoryEntry.objects.filter(action="import_undo", model="customers.customer").count()
            == 4
        )

    def test_an_interrupted_run_continues_where_it_stopped(self, bob, settings, monkeypatch):
        settings.ENISHI_IMPORT_CHUNK_ROWS = 2
        lines = ["氏名,電話番号"] + [f"山田 {i},03-1234-{i:04d}" for i in range(5)]
        run = check(bob, upload(bob, "\n".join(lines).encode()))
        real = writing.CustomerWriter.create

        def crash_after_first(self, rows, companies):
            real(self, rows, companies)
            if Customer.objects.count() >= 3 and not getattr(crash_after_first, "done", False):
                crash_after_first.done = True
                raise KeyboardInterrupt  # the process stops: no clean-up runs

        monkeypatch.setattr(writing.CustomerWriter, "create", crash_after_first)
        with pytest.raises(KeyboardInterrupt):
            run_import(bob, run)
        run.refresh_from_db()
        assert run.status == ImportRun.Status.RUNNING and Customer.objects.count() == 2
        assert not services.is_interrupted(run)
        ImportRun.objects.filter(pk=run.pk).update(heartbeat_at=run.heartbeat_at.replace(year=2000))
        run.refresh_from_db()
        assert services.is_interrupted(run) and services.can_undo(run)
        monkeypatch.setattr(writing.CustomerWriter, "create", real)
        services.import_resume(actor=bob, run=run)
        run.refresh_from_db()
        assert run.status == ImportRun.Status.DONE
        assert Customer.objects.count() == 5 and run.counts["created"] == 5


class TestUndo:
    def test_undo_removes_what_was_created_and_restores_what_was_updated(self, bob):
        karte = testing.make_customer(bob, name="山田 太郎", code="C001", phone="03-1111-2222")
        run = run_import(bob, check(bob, upload(bob, csv_bytes(PEOPLE, "cp932"))))
        assert Customer.objects.count() == 3
        services.import_undo_start(actor=bob, run=run)
        run.refresh_from_db()
        karte.refresh_from_db()
        assert run.status == ImportRun.Status.UNDONE
        assert list(Customer.objects.values_list("pk", flat=True)) == [karte.pk]
        assert (karte.phone, karte.phone_e164, karte.version) == ("03-1111-2222", "+81311112222", 3)
        assert run.undo_report["removed"] == 2 and run.undo_report["restored"] == 1
        assert HistoryEntry.objects.filter(batch=run.batch, action="import_undo").count() == 4

    def test_records_changed_since_are_left_and_reported(self, bob):
        karte = testing.make_customer(bob, name="山田 太郎", code="C001", phone="03-1111-2222")
        run = run_import(bob, check(bob, upload(bob, csv_bytes(PEOPLE, "cp932"))))
        hanako = Customer.objects.get(code="C002")
        customer_services.customer_update(
            actor=bob, customer=karte, data={"notes": "後から"}, version=2
        )
        testing.log_call(bob, Customer.objects.get(kind="company"), subject="電話した")
        services.import_undo_start(actor=bob, run=run)
        run.refresh_from_db()
        report = run.undo_report
        assert report["kept_count"] == 2
        kept = {k["id"]: translated(k["reason"]) for k in report["kept"]}
        assert "Changed since the import" in kept[karte.pk]
        assert "Records were added" in kept[Customer.objects.get(kind="company").pk]
        assert not Customer.objects.filter(pk=hanako.pk).exists()
        karte.refresh_from_db()
        assert (karte.phone, karte.notes) == ("03-1234-5678", "後から")

    @staticmethod
    def plan_then_undo(bob, run):
        plan = services.import_undo_plan(actor=bob, run=run)
        assert ImportRun.objects.get(pk=run.pk).status == ImportRun.Status.DONE  # nothing done
        services.import_undo_start(actor=bob, run=run)
        run.refresh_from_db()
        report = run.undo_report
        assert (plan.remove, plan.restore, plan.keep) == (
            report["removed"],
            report["restored"],
            report["kept_count"],
        )
        assert plan.kept == report["kept"]
        return plan

    def test_the_plan_says_beforehand_what_the_undo_does(self, bob):
        """佐藤 goes, 山田 gets his values back (and leaves the company the import made), so the
        company goes too."""
        testing.make_customer(bob, name="山田 太郎", code="C001", phone="03-1111-2222")
        run = run_import(bob, check(bob, upload(bob, csv_bytes(PEOPLE, "cp932"))))
        plan = self.plan_then_undo(bob, run)
        assert (plan.remove, plan.restore, plan.keep) == (2, 1, 0)
        assert plan.sentences() == [
            "2 kartes this import created will be deleted.",
            "1 karte this import updated will get its previous values back.",
        ]

    def test_the_plan_counts_what_was_changed_or_worked_on_since(self, bob):
        karte = testing.make_customer(bob, name="山田 太郎", code="C001", phone="03-1111-2222")
        run = run_import(bob, check(bob, upload(bob, csv_bytes(PEOPLE, "cp932"))))
        customer_services.customer_update(
            actor=bob, customer=karte, data={"notes": "後から"}, version=2
        )
        testing.log_call(bob, Customer.objects.get(kind="company"), subject="電話した")
        plan = self.plan_then_undo(bob, run)
        assert (plan.remove, plan.restore, plan.keep) == (1, 0, 2)
        assert plan.sentences()[-1] == (
            "2 records were changed or worked on since the import and will be kept as they are."
        )

    def test_a_contact_kept_by_the_plan_keeps_the_company_the_import_made(self, bob):
        testing.make_customer(bob, name="山田 太郎", code="C001", phone="03-1111-2222")
        run = run_import(bob, check(bob, upload(bob, csv_bytes(PEOPLE, "cp932"))))
        hanako = Customer.objects.get(code="C002")
        customer_services.customer_update(
            actor=bob, customer=hanako, data={"notes": "後から"}, version=hanako.version
        )
        plan = self.plan_then_undo(bob, run)
        assert (plan.remove, plan.restore, plan.keep) == (0, 1, 2)
        assert Customer.objects.filter(kind="company", name__contains="山田商事").exists()

    def test_the_plan_of_an_interrupted_undo_counts_only_what_is_left(self, bob, settings):
        settings.ENISHI_IMPORT_CHUNK_ROWS = 2
        lines = ["氏名,電話番号"] + [f"山田 {i},03-1234-{i:04d}" for i in range(5)]
        run = run_import(bob, check(bob, upload(bob, "\n".join(lines).encode())))
        assert services.import_undo_plan(actor=bob, run=run).remove == 5
        # The first chunk was undone before the process stopped.
        first = list(run.rows.order_by("-number")[:2])
        Customer.objects.filter(pk__in=[r.result_id for r in first]).delete()
        run.rows.filter(pk__in=[r.pk for r in first]).update(result="undone")
        ImportRun.objects.filter(pk=run.pk).update(status="undoing", heartbeat_at=None)
        run.refresh_from_db()
        plan = services.import_undo_plan(actor=bob, run=run)
        assert (plan.remove, plan.restore, plan.keep) == (3, 0, 0)

    def test_only_a_finished_import_can_be_undone(self, bob):
        run = check(bob, upload(bob, csv_bytes(PEOPLE, "cp932")))
        with pytest.raises(ValidationError):
            services.import_undo_start(actor=bob, run=run)
        with pytest.raises(ValidationError):
            services.import_undo_plan(actor=bob, run=run)


class TestBadInput:
    def test_a_file_over_the_size_limit_is_refused_with_the_limit(self, bob, settings):
        settings.ENISHI_IMPORT_MAX_BYTES = 1024
        with pytest.raises(ValidationError) as caught:
            upload(bob, b"a,b\n" * 1000)
        assert "1 KB" in caught.value.messages[0]
        assert not ImportRun.objects.exists()

    def test_too_many_rows_is_a_message_and_nothing_half_checked(self, bob, settings):
        settings.ENISHI_IMPORT_MAX_ROWS = 5
        run = check(bob, upload(bob, ("氏名\n" + "山田\n" * 8).encode()))
        assert run.status == ImportRun.Status.MAPPING
        assert "more than 5 rows" in run.error_text
        assert not run.rows.exists()

    def test_a_million_rows_is_a_clear_message_before_any_row_is_checked(self, bob):
        data = "氏名,電話番号\n".encode() + "山田,03\n".encode() * 1_000_000
        run = check(bob, upload(bob, data))
        assert run.status == ImportRun.Status.MAPPING
        assert "more than 200,000 rows" in run.error_text
        assert not run.rows.exists()

    @pytest.mark.parametrize(
        ("content", "words"),
        [
            (b"", "empty"),
            (b"%PDF-1.4 xxx", "PDF"),
            (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(100), ".xls"),
        ],
    )
    def test_files_that_are_not_what_they_claim_are_refused_with_a_reason(
        self, bob, content, words
    ):
        with pytest.raises(ValidationError) as caught:
            upload(bob, content, "customers.csv")
        assert words in caught.value.messages[0]
        assert not ImportRun.objects.exists()

    def test_a_header_without_rows_is_a_message(self, bob):
        run = check(bob, upload(bob, "氏名,電話番号\n".encode()))
        assert run.status == ImportRun.Status.MAPPING and "no data rows" in run.error_text

    def test_a_mapping_without_a_name_or_code_is_refused(self, bob):
        run = upload(bob, "氏名,電話番号\n山田,03-1234-5678\n".encode())
        with pytest.raises(ValidationError):
            services.import_set_mapping(actor=bob, run=run, mapping=["", "phone"])
        with pytest.raises(ValidationError):
            services.import_set_mapping(actor=bob, run=run, mapping=["name", "name"])

    def test_formulas_and_ragged_rows(self, bob):
        text = '氏名,備考\n山田,=HYPERLINK("http://evil.example")\n佐藤,ok,余計な値\n'
        rows = rows_of(check(bob, upload(bob, text.encode())))
        assert rows[1].category == "new" and rows[1].data["notes"].startswith("=HYPERLINK")
        assert "formula" in rows[1].notes[0][1]
        assert rows[2].category == "invalid" and "more cells" in rows[2].problems[0][1]

    def test_a_cell_with_line_breaks_in_a_one_line_field_is_joined_with_a_note(self, bob):
        # Alt+Enter in an Excel cell: the lines are joined with a space (the API refuses them).
        text = (
            "氏名,会社名,役職,番地,住所,備考\n"
            '山田 太郎,"株式会社\n山田商事","営業部\n課長","丸の内1-1\n2F",'
            '"東京都千代田区\n丸の内2-2","一行目\n二行目"\n'
        )
        rows = rows_of(check(bob, upload(bob, csv_bytes(text))))
        row = rows[1]
        assert row.category == "new" and not row.problems
        assert (row.data["title"], row.data["street"]) == ("営業部 課長", "丸の内1-1 2F")
        assert row.data["notes"] == "一行目\r\n二行目"  # long texts keep their lines
        notes = dict(row.notes)
        assert {"company_name", "title", "street"} <= set(notes)
        assert "line breaks were replaced" in notes["title"] or "改行を空白" in notes["title"]
        run_import(bob, check(bob, upload(bob, csv_bytes(text))))
        karte = Customer.objects.get(kind="person")
        assert (karte.title, karte.street, karte.company.name) == (
            "営業部 課長",
            "丸の内1-1 2F",
            "株式会社 山田商事",
        )


def test_uploaded_files_are_forgotten_after_the_keeping_time(bob, settings):
    run = upload(bob, "氏名\n山田\n".encode())
    folder = services.run_path(run).parent
    ImportRun.objects.filter(pk=run.pk).update(created_at=run.created_at.replace(year=2000))
    assert services.imports_forget_old_files() == 1
    run.refresh_from_db()
    assert not folder.exists() and run.stored_name == ""
    with pytest.raises(ValidationError) as caught:
        services.import_set_layout(actor=bob, run=run, header_row=1)
    assert "no longer on the server" in caught.value.messages[0]


class TestTemplates:
    def test_a_saved_mapping_is_offered_for_the_same_headers(self, bob, alice):
        text = "名前,TEL\n山田,03-1234-5678\n"
        run = upload(bob, text.encode())
        services.import_set_mapping(
            actor=bob, run=run, mapping=["name", "mobile"], template_name="いつもの"
        )
        template = ImportTemplate.objects.get()
        assert template.mapping == {"名前": "name", "tel": "mobile"}
        again = upload(alice, "TEL,名前\n03-0000-0000,佐藤\n".encode())
        assert again.template == template
        assert again.mapping == ["mobile", "name"]


class TestActivities:
    TEXT = "顧客コード,日時,種別,件名,内容,次回アクション,次回予定日\nC001,2024/4/1 10:00,電話,見積の件,詳細,見積送付,2024/4/5\nC001,2024/4/2,訪問,訪問,,,\nC999,2024/4/3,電話,誰?,,,\nC001,2024/4/1 10:00,電話,見積の件,,,\n"

    def test_activities_land_on_the_karte_with_their_tasks_and_can_be_undone(self, bob):
        karte = testing.make_customer(bob, name="山田 太郎", code="C001")
        run = upload(bob, self.TEXT.encode(), target="activities")
        rows = rows_of(check(bob, run))
        assert rows[1].match_id == karte.pk and rows[1].category == "new"
        assert rows[3].category == "invalid"
        assert rows[4].category == "file_duplicate"
        run = run_import(bob, run)
        assert run.counts["created"] == 2
        call = Activity.objects.get(subject="見積の件")
        assert (call.type, call.customer, call.staff) == ("call", karte, bob)
        task = Task.objects.get()
        assert (task.title, str(task.due_on), task.activity) == ("見積送付", "2024-04-05", call)
        assert HistoryEntry.objects.filter(batch=run.batch, action="create").count() == 3
        again = rows_of(check(bob, upload(bob, self.TEXT.encode(), target="activities")))
        assert again[1].category == "duplicate"  # already on the karte
        plan = services.import_undo_plan(actor=bob, run=run)
        assert (plan.remove, plan.keep) == (2, 0)
        assert plan.sentences() == [
            "2 activities this import created will be deleted, with their follow-up tasks."
        ]
        services.import_undo_start(actor=bob, run=run)
        assert not Activity.objects.exists() and not Task.objects.exists()

    def test_an_activity_finds_its_karte_by_the_second_e_mail(self, bob):
        karte = testing.make_customer(bob, name="山田 太郎", email_alt="taro@home.example.jp")
        text = "メール,日時,種別,件名\ntaro@home.example.jp,2024/4/1 10:00,電話,見積の件\n"
        rows = rows_of(check(bob, upload(bob, text.encode(), target="activities")))
        assert (rows[1].category, rows[1].match_id) == ("new", karte.pk)

    def test_a_member_cannot_log_activities_on_a_karte_they_cannot_see(self, bob, carol):
        testing.make_customer(carol, name="山田", code="C001")
        rows = rows_of(check(bob, upload(bob, self.TEXT.encode(), target="activities")))
        assert all(r.category == "invalid" for r in rows.values())


def test_imports_of_others_cannot_be_read(bob, carol, client):
    from enishi.imports import selectors

    run = upload(carol, io.BytesIO(b"x").read() or "氏名\n山田\n".encode())
    with pytest.raises(Exception):  # noqa: B017 - Http404
        selectors.import_run_get(bob, run.pk)
    assert ImportRow.objects.count() == 0


class TestContracts:
    TEXT = (
        "顧客コード,プラン,開始日,終了日,更新日,自動更新,金額,期間\n"
        'C001,保守プラン,2024/4/1,2025/3/31,2025/3/1,,"¥120,000",年額\n'
        "C001,点検プラン,R6.4.1,2024/3/31,,,5000,月額\n"
        "C999,保守プラン,2024/4/1,,,,1000,月\n"
        "C001,保守プラン,2024-04-01,,,,120000,年\n"
    )

    def test_contracts_are_made_by_the_sales_rules_and_can_be_undone(self, bob):
        karte = testing.make_customer(bob, name="山田 太郎", code="C001")
        run = upload(bob, self.TEXT.encode(), target="contracts")
        rows = rows_of(check(bob, run))
        assert rows[1].category == "new" and rows[1].match_id == karte.pk
        assert rows[2].category == "invalid"  # ends before it starts: the contract rules say so
        assert "ends_on" in dict(rows[2].problems)
        assert rows[3].category == "invalid"  # no such karte
        assert rows[4].category == "file_duplicate"
        run = run_import(bob, run)
        from enishi.sales.models import Contract

        contract = Contract.objects.get()
        assert (contract.plan, contract.amount, contract.period, contract.customer) == (
            "保守プラン", 120000, "year", karte,
        )  # fmt: skip
        assert HistoryEntry.objects.filter(batch=run.batch, model="sales.contract").exists()
        again = rows_of(check(bob, upload(bob, self.TEXT.encode(), target="contracts")))
        assert again[1].category == "duplicate"
        plan = services.import_undo_plan(actor=bob, run=run)
        assert (plan.remove, plan.keep) == (1, 0)
        services.import_undo_start(actor=bob, run=run)
        assert not Contract.objects.exists()


def test_two_run_requests_at_once_start_the_import_once(bob):
    """Both read the import at the preview; only the first moves it on and runs it."""
    run = check(bob, upload(bob, csv_bytes("氏名\n山田 太郎\n")))
    stale = ImportRun.objects.get(pk=run.pk)
    services.import_start(actor=bob, run=run)
    with pytest.raises(ValidationError, match="already been started"):
        services.import_start(actor=bob, run=stale)
    assert Customer.objects.filter(name="山田 太郎").count() == 1
    assert HistoryEntry.objects.filter(batch=run.batch, action="import").count() == 1


def test_a_company_updated_by_code_without_a_name_column_gets_its_company_facts(bob):
    company = testing.make_company(bob, name="株式会社山田商事", code="C-000653")
    text = "顧客コード,従業員数,業種,電話番号\nC-000653,120,製造業,03-4980-7777\n"
    run = run_import(bob, check(bob, upload(bob, text.encode())))
    row = run.rows.get()
    assert row.notes == [] and row.problems == []
    company.refresh_from_db()
    assert (company.employees, company.industry, company.phone) == (120, "製造業", "03-4980-7777")


def test_a_code_given_to_another_karte_after_the_check_skips_that_row_only(bob):
    text = "顧客コード,会社名,電話番号\nD3-0001,株式会社一号,03-1111-0001\nD3-0002,株式会社二号,03-1111-0002\n"
    run = check(bob, upload(bob, text.encode()))
    testing.make_company(bob, name="先に登録した会社", code="D3-0001")
    run = run_import(bob, run)
    assert run.status == ImportRun.Status.DONE
    first, second = run.rows.order_by("number")
    assert first.result == "skipped" and "D3-0001" in first.result_message
    assert second.result == "created"
    assert Customer.objects.get(code="D3-0002").name == "株式会社二号"


def test_a_row_from_another_systems_numbering_is_still_a_probable_duplicate(bob):
    karte = testing.make_customer(
        bob, name="田中 一郎", name_kana="タナカ イチロウ", code="C-001885",
        phone="03-3271-4502", email="ichiro.tanaka@example.co.jp",
    )  # fmt: skip
    text = (
        "顧客コード,氏名,フリガナ,電話番号,メール\n"
        "OLD-0002,田中 一郎,タナカ イチロウ,03-3271-4502,ichiro.tanaka@example.co.jp\n"
    )
    row = check(bob, upload(bob, text.encode())).rows.get()
    assert (row.category, row.match_id) == ("duplicate", karte.pk)


def test_a_whole_address_elsewhere_without_a_postal_code_clears_the_old_one(bob):
    moved = testing.make_customer(
        bob, name="山田 太郎", code="C-1", postal_code="498-0047", prefecture="愛知県",
        city="弥富市", town="稲狐町", street="1-1",
    )  # fmt: skip
    same = testing.make_customer(
        bob, name="佐藤 花子", code="C-2", postal_code="100-0014", prefecture="東京都",
        city="千代田区", town="永田町", street="1-7-1",
    )  # fmt: skip
    text = "顧客コード,住所\nC-1,北海道札幌市中央区北1条西2丁目1\nC-2,東京都千代田区永田町1-7-1\n"
    run_import(bob, check(bob, upload(bob, text.encode())))
    moved.refresh_from_db()
    same.refresh_from_db()
    assert (moved.postal_code, moved.prefecture, moved.city) == ("", "北海道", "札幌市中央区")
    assert same.postal_code == "100-0014"  # the same place: the code still fits


def test_a_company_of_the_same_name_is_hinted_in_the_preview(bob):
    company = testing.make_company(bob, name="株式会社山田商事", phone="03-3271-4501")
    row = check(bob, upload(bob, "会社名\n株式会社山田商事\n".encode())).rows.get()
    assert (row.category, row.match_id) == ("new", company.pk)  # shown, still created
