"""Column guesses and cell conversions: the spreadsheet side of an import."""

import datetime

import pytest
from django.utils import timezone, translation
from hypothesis import given
from hypothesis import strategies as st

from enishi.imports import targets as t

pytestmark = pytest.mark.django_db


def guess(headers, sample=None, target="customers"):
    return t.guess_mapping(headers, sample or [], t.targets_for(target, sensitive_allowed=True))


class TestMappingGuesses:
    def test_japanese_headers(self):
        headers = [
            "顧客コード",
            "会社名",
            "氏名",
            "フリガナ",
            "電話番号",
            "携帯電話",
            "メールアドレス",
            "〒",
            "住所",
            "生年月日",
            "備考",
        ]
        assert guess(headers) == [
            "code", "company_name", "name", "name_kana", "phone", "mobile", "email",
            "postal_code", "address", "birthday", "notes",
        ]  # fmt: skip

    def test_english_headers_in_any_case_and_width(self):
        headers = [
            "Customer Code",
            "Company",
            "Full Name",
            "ＴＥＬ",
            "E-mail",
            "Zip",
            "Address",
            "Date of birth",
        ]
        assert guess(headers) == [
            "code",
            "company_name",
            "name",
            "phone",
            "email",
            "postal_code",
            "address",
            "birthday",
        ]

    def test_notes_in_brackets_and_spaces_do_not_matter(self):
        assert guess(["氏名（必須）", "電話 番号", "メール※"]) == ["name", "phone", "email"]

    def test_the_contact_person_beside_the_company_is_the_name_and_the_sales_rep_the_owner(self):
        headers = ["会社名", "部署", "担当者名", "電話番号", "担当営業"]
        assert guess(headers) == ["company_name", "department", "name", "phone", "owner"]
        assert guess(["氏名", "営業担当者"]) == ["name", "owner"]

    def test_a_target_is_guessed_once_and_the_second_e_mail_is_the_second_e_mail(self):
        assert guess(["メール", "メール", "氏名", "氏名"]) == ["email", "email_alt", "name", ""]

    def test_headers_that_say_nothing_are_guessed_from_their_values(self):
        sample = [
            ["a@example.jp", "100-0001", "090-1234-5678", "x"],
            ["b@example.jp", "〒530-0001", "080-1111-2222", "y"],
        ]
        assert guess(["列1", "列2", "列3", "列4"], sample) == ["email", "postal_code", "mobile", ""]

    def test_split_names_and_readings(self):
        assert guess(["姓", "名", "セイ", "メイ"]) == [
            "family_name",
            "given_name",
            "family_kana",
            "given_kana",
        ]

    def test_custom_fields_are_targets_by_their_labels(self):
        from enishi.customers.models import FieldDefinition

        FieldDefinition.objects.create(key="allergy", label_ja="アレルギー", label_en="Allergies")
        assert guess(["氏名", "アレルギー"]) == ["name", "cf:allergy"]
        assert guess(["Name", "allergies"]) == ["name", "cf:allergy"]

    def test_sensitive_fields_are_no_target_for_roles_that_may_not_see_them(self):
        from enishi.customers.models import FieldDefinition

        FieldDefinition.objects.create(key="health", label_ja="健康状態", sensitive=True)
        keys = [x.key for x in t.targets_for("customers", sensitive_allowed=False)]
        assert "cf:health" not in keys
        assert "cf:health" in [x.key for x in t.targets_for("customers", sensitive_allowed=True)]

    def test_activity_headers(self):
        assert guess(["顧客コード", "対応日時", "種別", "件名", "内容", "次回アクション", "次回予定日"], target="activities") == [
            "customer_code", "occurred_at", "type", "subject", "body", "next_action", "next_action_due",
        ]  # fmt: skip


class TestDates:
    @pytest.mark.parametrize(
        ("value", "expected"),
        [
            ("2023-04-01", datetime.date(2023, 4, 1)),
            ("2023/4/1", datetime.date(2023, 4, 1)),
            ("２０２３年４月１日", datetime.date(2023, 4, 1)),
            ("令和5年4月1日", datetime.date(2023, 4, 1)),
            ("R5.4.1", datetime.date(2023, 4, 1)),
            ("平成31年4月30日", datetime.date(2019, 4, 30)),
            ("S59.7.19", datetime.date(1984, 7, 19)),
            ("20230401", datetime.date(2023, 4, 1)),
            ("2023-04-01 00:00:00", datetime.date(2023, 4, 1)),
            (45017, datetime.date(2023, 4, 1)),  # Excel serial
            (45017.5, datetime.date(2023, 4, 1)),
            ("45017", datetime.date(2023, 4, 1)),
            (1, datetime.date(1900, 1, 1)),
            (59, datetime.date(1900, 2, 28)),  # before Excel's phantom 29 February 1900 (60)
            (61, datetime.date(1900, 3, 1)),
            (datetime.datetime(2023, 4, 1, 12, 0), datetime.date(2023, 4, 1)),
            ("", None),
            (None, None),
        ],
    )
    def test_dates_in_every_way_spreadsheets_hold_them(self, value, expected):
        assert t.date_value(value) == expected

    @pytest.mark.parametrize(
        "value", ["令和5年13月1日", "平成32年1月1日", "昨日", "2023-02-30", -5, 3_000_000]
    )
    def test_impossible_dates_are_a_problem_with_a_reason(self, value):
        with pytest.raises(t.CellError) as caught:
            t.date_value(value)
        assert str(caught.value)

    @given(st.dates(min_value=datetime.date(1900, 3, 1), max_value=datetime.date(2099, 12, 31)))
    def test_every_western_writing_and_the_excel_serial_give_the_same_date(self, day):
        serial = (day - t.EXCEL_EPOCH).days
        writings = [
            day.isoformat(),
            f"{day.year}/{day.month}/{day.day}",
            f"{day.year}年{day.month}月{day.day}日",
            day.strftime("%Y%m%d"),
            serial,
        ]
        assert {t.date_value(w) for w in writings} == {day}

    @given(st.dates(min_value=datetime.date(1989, 1, 8), max_value=datetime.date(2040, 12, 31)))
    def test_era_dates_agree_with_western_ones(self, day):
        if day >= datetime.date(2019, 5, 1):
            era, letter, year = "令和", "R", day.year - 2018
        else:
            era, letter, year = "平成", "H", day.year - 1988
        assert t.date_value(f"{era}{year}年{day.month}月{day.day}日") == day
        assert t.date_value(f"{letter}{year}.{day.month}.{day.day}") == day

    def test_moments(self):
        moment = t.datetime_value("2024/4/1 9:30")
        assert (moment.year, moment.month, moment.day, moment.hour, moment.minute) == (
            2024,
            4,
            1,
            9,
            30,
        )
        assert moment.tzinfo is not None
        assert t.datetime_value("令和6年4月1日 14時05分").hour == 14
        assert t.datetime_value("2024-04-01").hour == 0
        with pytest.raises(t.CellError):
            t.datetime_value("2024-04-01 25:00")


class TestCells:
    @pytest.mark.parametrize(
        ("value", "expected"),
        [
            ("はい", True),
            ("○", True),
            ("可", True),
            ("NG", False),
            ("×", False),
            ("", None),
            (True, True),
        ],
    )
    def test_yes_and_no(self, value, expected):
        assert t.bool_value(value) == expected

    def test_yes_or_no_refuses_anything_else(self):
        with pytest.raises(t.CellError):
            t.bool_value("たぶん")

    @pytest.mark.parametrize(
        ("value", "expected"), [("3", 3), ("３月", 3), ("十二月", 12), (12, 12)]
    )
    def test_months(self, value, expected):
        assert t.month_value(value) == expected

    def test_numbers_of_people(self):
        assert t.int_value("1,200名") == 1200
        with pytest.raises(t.CellError):
            t.int_value("たくさん")

    def test_choices_by_value_label_or_everyday_word(self):
        status = next(x for x in t.customer_targets() if x.key == "status")
        index = t.choice_index(status)
        assert t.choice_value(status, "既存顧客", index) == "customer"
        assert t.choice_value(status, "Lead", index) == "lead"
        assert t.choice_value(status, "customer", index) == "customer"
        with pytest.raises(t.CellError) as caught:
            t.choice_value(status, "宇宙人", index)
        assert "宇宙人" in str(caught.value)

    def test_phones_lose_their_label_and_get_back_the_zero_excel_dropped(self):
        assert t.phone_text("TEL:03-1234-5678") == ("03-1234-5678", False)
        assert t.phone_text("ＴＥＬ：０９０－１２３４－５６７８") == ("090-1234-5678", False)
        assert t.phone_text(312345678) == ("0312345678", True)
        assert t.phone_text(9012345678.0) == ("09012345678", True)

    def test_postal_codes_get_back_their_leading_zero(self):
        assert t.postal_text(600001) == ("0600001", True)
        assert t.postal_text("〒100-0001") == ("〒100-0001", False)

    def test_the_csv_injection_guard_comes_off_again(self):
        assert t.text_value("'=SUM(A1)") == "=SUM(A1)"
        assert t.text_value("'quoted") == "'quoted"

    def test_tags(self):
        assert t.tags_value("VIP、紹介, 年賀状 / 展示会") == ["VIP", "紹介", "年賀状", "展示会"]

    def test_company_readings_lose_their_legal_form(self):
        assert t.reading_text("ｶ)ﾔﾏﾀﾞｼｮｳｼﾞ") == "ヤマダショウジ"
        assert t.reading_text("ﾔﾏﾀﾞｼｮｳｼﾞ(ｶ)") == "ヤマダショウジ"
        assert t.reading_text("ヤマダ") == "ヤマダ"


class TestAddresses:
    def test_a_whole_address_is_cut_at_prefecture_and_city_and_kept_as_typed(self):
        parts = t.split_address("東京都千代田区千代田１－１ 皇居ビル３Ｆ")
        assert parts == {
            "prefecture": "東京都",
            "city": "千代田区",
            "street": "千代田１－１",
            "building": "皇居ビル３Ｆ",
        }

    def test_designated_cities_keep_their_ward(self):
        assert t.split_address("神奈川県横浜市中区山下町1")["city"] == "横浜市中区"

    def test_without_the_prefecture_the_postal_code_tells_it(self):
        parts = t.split_address("千代田区千代田1-1", "100-0001")
        assert parts["prefecture"] == "東京都"
        assert parts["city"] == "千代田区"
        assert parts["town"] == "千代田"
        assert parts["street"] == "1-1"

    @given(
        st.text(
            alphabet=st.sampled_from(
                list("東京都大阪府市区町村郡中央一二三丁目番地号1234-ー ビル")
            ),
            max_size=30,
        )
    )
    def test_cutting_never_loses_a_character(self, text):
        parts = t.split_address(text)
        joined = "".join(
            parts.get(k, "") for k in ("prefecture", "city", "town", "street", "building")
        )
        assert "".join(joined.split()) == "".join(text.split())


def test_contract_headers():
    headers = [
        "顧客コード",
        "プラン",
        "開始日",
        "終了日",
        "更新日",
        "自動更新",
        "月額",
        "支払サイクル",
        "解約日",
        "解約理由",
    ]
    assert guess(headers, target="contracts") == [
        "customer_code", "plan", "starts_on", "ends_on", "renews_on", "auto_renew", "amount",
        "period", "cancelled_on", "cancellation_reason",
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("value", "expected"), [("¥120,000", 120000), ("5000円", 5000), (1200.0, 1200), ("", None)]
)
def test_yen(value, expected):
    assert t.yen_value(value) == expected


@pytest.mark.parametrize("value", ["-5", "−5,000", "▲500", "△500", "(500)", -5, -1.0])
def test_a_minus_amount_or_number_is_named_as_such(value):
    with translation.override("en"), pytest.raises(t.CellError, match="no minus amounts"):
        t.yen_value(value)
    with translation.override("en"), pytest.raises(t.CellError, match="no minus values"):
        t.int_value(value)


@pytest.mark.parametrize("value", ["12.5", "abc", 1.5])
def test_other_wrong_amounts_keep_the_plain_message(value):
    with translation.override("en"), pytest.raises(t.CellError, match="whole yen"):
        t.yen_value(value)


def test_a_date_time_serial_in_a_csv_keeps_its_time_of_day():
    moment = t.datetime_value("45400.75")
    assert timezone.localtime(moment).strftime("%Y-%m-%d %H:%M") == "2024-04-18 18:00"
    assert timezone.localtime(t.datetime_value(45400.75)) == timezone.localtime(moment)
