"""The matching engine, case by case: what makes two records one customer, and what does not.

No database: records are plain dicts, as the import preview and the scan hand them over.
"""

from __future__ import annotations

import datetime

import pytest
from hypothesis import given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from enishi.quality import match as m
from enishi.quality import normalize
from enishi.quality.match import DEFAULT_THRESHOLD, SIMILAR_THRESHOLD

PROPERTY = hsettings(max_examples=150, deadline=None)


def score(a: dict, b: dict) -> m.Match:
    return m.score_pair(m.record_keys(a), m.record_keys(b))


def assert_same(a: dict, b: dict, *reasons: str) -> m.Match:
    result = score(a, b)
    assert result.score >= DEFAULT_THRESHOLD, result
    for reason in reasons:
        assert reason in result.reasons, result
    return result


def assert_apart(a: dict, b: dict, *reasons: str) -> m.Match:
    result = score(a, b)
    assert result.score < DEFAULT_THRESHOLD, result
    for reason in reasons:
        assert reason in result.reasons, result
    return result


# --- Normalisation-driven matches -------------------------------------------------------------


def test_it_matches_names_written_with_different_spaces_and_widths():
    assert_same(
        {"name": "山田　太郎", "phone": "090-1234-5678"},
        {"name": "山田太郎", "phone": "09012345678"},
        "same_name",
        "same_mobile",
    )


@pytest.mark.parametrize("kana", ["やまだ たろう", "ﾔﾏﾀﾞ ﾀﾛｳ", "ヤマダタロウ", "ヤマダ　タロウ"])
def test_it_reads_kana_in_any_script_and_width(kana):
    assert_same(
        {"name": "山田太郎", "name_kana": "ヤマダ タロウ", "email": "taro@example.jp"},
        {"name": "山田 太郎", "name_kana": kana, "email": "taro@example.jp"},
        "same_kana",
    )


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ("オオノ ヨウコ", "オーノ ヨーコ"),
        ("サイトウ キョウヘイ", "サイトー キョーヘイ"),
        ("ユウコ", "ユーコ"),
    ],
)
def test_a_long_vowel_written_as_a_mark_is_the_same_reading(first, second):
    assert_same(
        {"name": "大野 陽子", "name_kana": first, "email": "y@example.jp"},
        {"name": "大野陽子", "name_kana": second, "email": "y@example.jp"},
        "same_kana",
    )


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ("タロウ", "タロー"),
        ("サトウ ユウコ", "サトー ユーコ"),
        ("きょうへい", "キョーヘイ"),
        ("ｼｭｳｲﾁ", "シューイチ"),
    ],
)
def test_a_long_vowel_written_u_or_as_a_mark_gives_one_reading_key(first, second):
    assert m.record_keys({"name_kana": first}).kana == m.record_keys({"name_kana": second}).kana


@pytest.mark.parametrize("kana", ["ウエダ", "カウ", "ケイコ", "アオイ"])
def test_a_u_that_is_not_a_long_vowel_stays(kana):
    assert m.record_keys({"name_kana": kana}).kana == normalize.kana_key(kana)


def test_a_mis_converted_name_with_a_long_vowel_mark_is_one_name():
    # 恭平 / 恭兵 read キョウヘイ / キョーヘイ: one person, not two given names.
    result = assert_same(
        {"name": "斎藤 恭平", "name_kana": "さいとう きょーへい", "mobile": "080-2777-1802"},
        {"name": "斎藤 恭兵", "name_kana": "サイトウキョウヘイ", "mobile": "08027771802"},
        "name_variant",
    )
    assert "different_given_name" not in result.reasons


@pytest.mark.parametrize(
    ("written", "common"),
    [
        ("髙橋 一郎", "高橋 一郎"),
        ("山﨑 花子", "山崎 花子"),
        ("齋藤 誠", "斎藤 誠"),
        ("渡邊 健", "渡辺 健"),
    ],
)
def test_it_folds_old_and_variant_kanji(written, common):
    assert_same(
        {"name": written, "birth_date": "1980-05-05"},
        {"name": common, "birth_date": "1980/5/5"},
        "same_name",
        "same_birth_date",
    )


@pytest.mark.parametrize(
    "phone",
    ["+81 90-1234-5678", "+81(0)90 1234 5678", "090(1234)5678", "０９０－１２３４－５６７８"],
)
def test_it_reads_phone_numbers_in_any_format(phone):
    assert_same(
        {"name": "佐藤 花子", "phone": "090-1234-5678"},
        {"name": "佐藤花子", "mobile": phone},
        "same_mobile",
    )


def test_it_matches_a_landline_written_without_its_area_code():
    result = assert_same(
        {"name": "中村 彩", "name_kana": "ナカムラ アヤ", "phone": "03-3581-0101"},
        {"name": "中村彩", "name_kana": "なかむらあや", "phone": "3581-0101"},
    )
    assert "same_phone_local" in result.reasons


@pytest.mark.parametrize(
    "email",
    [
        "Taro.Yamada@Example.JP",
        "ｔａｒｏ．ｙａｍａｄａ＠ｅｘａｍｐｌｅ．ｊｐ",
        " taro.yamada@example.jp ",
    ],
)
def test_it_compares_e_mail_addresses_without_case_width_or_spaces(email):
    assert_same(
        {"name": "山田 太郎", "email": "taro.yamada@example.jp"},
        {"name": "山田太郎", "email": email},
        "same_email",
    )


def test_it_sees_a_one_letter_e_mail_typo():
    assert_same(
        {"name": "木村 陽子", "email": "youko5197@gmail.com", "postal_code": "1000001"},
        {"name": "木村陽子", "email": "youk5197@gmail.com", "postal_code": "100-0001"},
        "similar_email",
    )


def test_a_different_digit_in_an_e_mail_address_is_another_address():
    keys_a = m.record_keys({"name": "x", "email": "hanako81@example.jp"})
    keys_b = m.record_keys({"name": "x", "email": "hanako83@example.jp"})
    reasons: list[str] = []
    m._email_evidence(keys_a, keys_b, reasons)
    assert reasons == []


@pytest.mark.parametrize("postal", ["〒100-0001", "1000001", "１００－０００１", "〒 100ー0001"])
def test_it_reads_postal_codes_in_any_format(postal):
    assert_same(
        {"name": "小林 健一", "name_kana": "コバヤシ ケンイチ", "postal_code": "100-0001"},
        {"name": "小林健一", "name_kana": "コバヤシケンイチ", "postal_code": postal},
        "same_postal_code",
    )


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ("東京都千代田区千代田1丁目1番1号", "千代田区千代田1-1-1"),
        ("東京都千代田区千代田一丁目1番1号", "東京都千代田区千代田１－１－１"),
        ("東京都板橋区幸町222番地12", "板橋区幸町２２２－１２"),
        ("東京都板橋区幸町222番地の12", "東京都板橋区幸町222の12"),
        ("福井県吉田郡永平寺町吉峰11番地2", "永平寺町吉峰11-2"),
        ("大阪府大阪市北区梅田3-1-1 梅田ビル 12F", "大阪市北区梅田三丁目1番1号梅田ビル12階"),
        ("北海道札幌市中央区北一条西2丁目1", "札幌市中央区北1条西2-1"),
    ],
)
def test_it_reads_addresses_in_block_or_hyphen_form(first, second):
    assert m.address_key(first).locality == m.address_key(second).locality
    assert m.address_key(first).numbers == m.address_key(second).numbers
    assert_same(
        {"name": "伊藤 直樹", "address": first},
        {"name": "伊藤直樹", "address": second},
        "same_address",
    )


def test_an_address_one_digit_off_is_only_similar():
    result = score(
        {"name": "伊藤 直樹", "address": "千代田区千代田1-1-1"},
        {"name": "伊藤直樹", "address": "千代田区千代田1-1-7"},
    )
    assert "similar_address" in result.reasons
    assert "same_address" not in result.reasons


def test_kanji_numerals_in_town_names_are_kept():
    assert m.address_key("三重県四日市市三田町5").locality == "四日市市三田町"
    assert m.kanji_numeral_value("二十一") == 21
    assert m.kanji_numeral_value("百三") == 103
    assert m.kanji_numeral_value("一〇五") == 105
    assert m.kanji_numeral_value("四日") is None


@pytest.mark.parametrize(
    "birth", ["昭和59年7月19日", "S59.7.19", "1984/7/19", "19840719", "１９８４－０７－１９"]
)
def test_it_reads_birth_dates_in_western_and_era_forms(birth):
    assert m.birth_date_key(birth) == datetime.date(1984, 7, 19)
    assert_same(
        {"name": "中村 彩香", "birth_date": "1984-07-19", "postal_code": "173-0034"},
        {"name": "中村彩香", "birth_date": birth, "postal_code": "1730034"},
        "same_birth_date",
    )


@pytest.mark.parametrize(
    "company",
    ["(株)山田商事", "山田商事株式会社", "㈱山田商事", "株式会社　山田商事", "山田商事（株）"],
)
def test_it_sees_one_company_in_every_legal_form_spelling(company):
    result = assert_same(
        {"name": "田中 一郎", "company": "株式会社山田商事", "email": "t@yamada.co.jp"},
        {"name": "田中一郎", "company": company, "email": "t@yamada.co.jp"},
    )
    assert "company_variant" in result.reasons or "same_company" in result.reasons


def test_company_kartes_match_across_kanji_kana_and_bank_style_names():
    kanji = {"kind": "company", "name": "株式会社山田商事", "name_kana": "ヤマダショウジ"}
    bank = {"kind": "company", "name": "ｶ)ﾔﾏﾀﾞｼｮｳｼﾞ", "phone": "03-1234-5678"}
    spelled = {"kind": "company", "name": "ｶﾌﾞｼｷｶﾞｲｼｬ ﾔﾏﾀﾞｼｮｳｼﾞ", "phone": "0312345678"}
    assert_same({**kanji, "phone": "(03)1234-5678"}, bank, "company_variant", "same_phone")
    assert_same(bank, spelled, "same_phone")


def test_a_legal_form_written_differently_is_reported_as_a_variant():
    result = score(
        {"kind": "company", "name": "株式会社山田商事"},
        {"kind": "company", "name": "(株)山田商事"},
    )
    assert "company_variant" in result.reasons
    result = score(
        {"kind": "company", "name": "株式会社山田商事"},
        {"kind": "company", "name": "株式会社　山田商事"},
    )
    assert "same_company" in result.reasons


def test_a_company_never_matches_a_person():
    result = score(
        {"kind": "company", "name": "山田商事", "phone": "03-1234-5678"},
        {"kind": "person", "name": "山田商事", "phone": "03-1234-5678"},
    )
    assert result.score == 0.0


def test_corporate_numbers_decide_between_companies():
    same = {"kind": "company", "name": "山田商事株式会社", "corporate_number": "8700110005901"}
    assert_same(same, {**same, "name": "(株)山田商事"}, "same_corporate_number")
    other = {**same, "corporate_number": "1010001000006"}
    assert_apart(same, other, "different_corporate_number")


def test_a_latin_letter_name_matches_its_reading():
    assert_same(
        {"name": "Daisuke Kawasaki", "email": "dk@example.jp"},
        {"name": "川崎 大輔", "name_kana": "カワサキ ダイスケ", "email": "dk@example.jp"},
        "name_romaji",
    )


def test_a_mis_converted_given_name_with_the_same_reading_matches():
    assert_same(
        {"name": "三浦 剛", "name_kana": "ミウラ ツヨシ", "phone": "090-7484-3250"},
        {"name": "三浦 毅", "name_kana": "ﾐｳﾗ ﾂﾖｼ", "phone": "+81 90 7484 3250"},
        "name_variant",
        "same_mobile",
    )


def test_a_new_family_name_needs_something_personal():
    moved = {"name": "田中 麻里", "address": "北九州市小倉南区西貫4-10-10"}
    married = {"name": "工藤 麻里", "address": "北九州市小倉南区西貫4-10-10"}
    assert_apart(moved, married, "family_name_changed")
    assert_same(
        {**moved, "email": "mari.tanaka141@gmail.com"},
        {**married, "email": "mari.tanaka141@gmail.com"},
        "family_name_changed",
        "same_email",
    )


# --- Hard negatives --------------------------------------------------------------------------

HOME = {"address": "東京都世田谷区桜1-2-3", "postal_code": "156-0053", "phone": "03-3421-0000"}


def test_household_members_are_not_merged():
    result = assert_apart(
        {"name": "山田 太郎", "name_kana": "ヤマダ タロウ", **HOME},
        {"name": "山田 花子", "name_kana": "ヤマダ ハナコ", **HOME},
        "different_given_name",
        "household",
    )
    assert result.score < SIMILAR_THRESHOLD


def test_household_members_sharing_a_family_e_mail_are_not_merged():
    shared = {**HOME, "email": "yamada-family@example.jp"}
    assert_apart(
        {"name": "山田 太郎", "birth_date": "1960-01-01", **shared},
        {"name": "山田 翔", "birth_date": "1992-03-03", **shared},
        "different_given_name",
    )


def test_colleagues_at_one_office_are_not_merged():
    office = {
        "company": "株式会社山田商事",
        "address": "大阪市北区梅田3-1-1 梅田ビル 12F",
        "phone": "06-6345-0000",
    }
    result = assert_apart(
        {"name": "佐藤 一郎", "name_kana": "サトウ イチロウ", **office},
        {"name": "鈴木 次郎", "name_kana": "スズキ ジロウ", **office},
        "different_name",
        "colleague",
    )
    assert result.score < SIMILAR_THRESHOLD


def test_namesakes_born_on_different_days_are_not_merged():
    assert_apart(
        {"name": "佐藤 翔", "name_kana": "サトウ ショウ", "birth_date": "1990-04-01"},
        {"name": "佐藤翔", "name_kana": "さとう しょう", "birth_date": "1975-11-20"},
        "different_birth_date",
    )


def test_namesakes_living_elsewhere_are_not_merged():
    assert_apart(
        {"name": "鈴木 翔", "name_kana": "スズキ ショウ", "address": "札幌市中央区北1条西2-1"},
        {"name": "鈴木 翔", "name_kana": "スズキ ショウ", "address": "福岡市博多区博多駅前2-1-1"},
        "different_address",
    )


def test_a_shared_landline_alone_does_not_make_one_customer():
    assert_apart(
        {"name": "伊藤 誠", "phone": "03-3421-0000"},
        {"name": "加藤 恵", "phone": "0334210000"},
    )


def test_namesakes_at_two_firms_nearby_with_their_own_contacts_are_not_merged():
    base = {"name": "中村 美咲", "name_kana": "ナカムラ ミサキ", "postal_code": "100-0001"}
    aozora = {
        **base,
        "company": "株式会社青空",
        "phones": ["03-4100-0002"],
        "emails": ["misaki@aozora.example"],
        "address": "東京都千代田区千代田3-1",
    }
    yuyake = {
        **base,
        "company": "株式会社夕焼",
        "phones": ["03-4100-0005"],
        "emails": ["nakamura@yuyake.example"],
        "address": "東京都千代田区千代田6-1",
    }
    assert_apart(aozora, yuyake, "different_contacts")
    # Still worth a look, and the same firm makes it the same person again.
    assert score(aozora, yuyake).score >= SIMILAR_THRESHOLD
    same_firm = {**yuyake, "company": "株式会社青空"}
    assert "different_contacts" not in score(aozora, same_firm).reasons
    assert score(aozora, same_firm).score >= DEFAULT_THRESHOLD


def test_the_same_name_alone_is_only_a_hint():
    result = score({"name": "田中 美紀"}, {"name": "田中美紀"})
    assert result.score < DEFAULT_THRESHOLD


# --- Readings learned from the data -----------------------------------------------------------


def test_a_reading_learned_from_other_records_links_a_mis_conversion():
    records = [
        {"id": 1, "name": "石井 翔太", "name_kana": "イシイ ショウタ", "mobile": "090-1111-2222"},
        {"id": 2, "name": "石井翔大", "mobile": "09011112222"},
        # Someone else who wrote 翔大 and read it ショウタ: the engine learns the reading.
        {"id": 3, "name": "木村 翔大", "name_kana": "キムラ ショウタ"},
        {"id": 4, "name": "石井 花子", "name_kana": "イシイ ハナコ"},
    ]
    keys = [m.record_keys(r) for r in records]
    m.prepare_keys(keys)
    assert m.record_keys({"name_kana": "イシイショウタ"}).kana in keys[1].kana_guesses
    result = m.score_pair(keys[0], keys[1])
    assert "name_variant_guess" in result.reasons
    assert result.score >= DEFAULT_THRESHOLD
    groups = m.find_duplicates(records)
    assert [sorted(g.members) for g in groups] == [[1, 2]]


def test_a_guessed_reading_with_only_a_shared_address_is_not_enough():
    records = [
        {"id": 1, "name": "佐藤 陽翔", "name_kana": "サトウ ハルト", **HOME},
        {"id": 2, "name": "佐藤悠斗", **HOME},
        {"id": 3, "name": "小野 悠斗", "name_kana": "オノ ハルト"},
    ]
    keys = [m.record_keys(r) for r in records]
    m.prepare_keys(keys)
    home_only = {k: v for k, v in HOME.items() if k != "phone"}
    a = m.record_keys({**records[0], **home_only, "phone": ""})
    b = m.record_keys({**records[1], **home_only, "phone": ""})
    b.kana_guesses = keys[1].kana_guesses
    assert m.score_pair(a, b).score < DEFAULT_THRESHOLD


# --- Grouping ---------------------------------------------------------------------------------


def test_groups_are_transitive_and_strongest_first():
    records = [
        {"id": "a", "name": "山田 太郎", "phone": "090-1234-5678"},
        {"id": "b", "name": "山田太郎", "mobile": "09012345678", "email": "taro@example.jp"},
        {"id": "c", "name": "ヤマダ タロウ", "email": "TARO@example.jp"},
        {"id": "d", "name": "鈴木 一郎", "email": "ichiro@example.jp", "birth_date": "1970-01-01"},
        {"id": "e", "name": "鈴木一郎", "email": "ichiro@example.jp", "birth_date": "S45.1.1"},
    ]
    groups = m.find_duplicates(records)
    assert sorted(sorted(g.members) for g in groups) == [["a", "b", "c"], ["d", "e"]]
    assert groups[0].score >= groups[1].score
    assert all(pair[2].score >= DEFAULT_THRESHOLD for g in groups for pair in g.pairs)
    assert "same_email" in groups[0].reasons or "same_email" in groups[1].reasons


def test_a_group_never_swallows_a_household_member():
    records = [
        {
            "id": 1,
            "name": "山田 太郎",
            "birth_date": "1960-01-01",
            "mobile": "090-1111-1111",
            **HOME,
        },
        {"id": 2, "name": "山田太郎", "mobile": "090-1111-1111", "email": "f@example.jp"},
        # 太郎's wife uses the family address, which 2 also gave once.
        {"id": 3, "name": "山田 花子", "birth_date": "1962-02-02", "email": "f@example.jp", **HOME},
    ]
    groups = m.find_duplicates(records)
    assert [sorted(g.members) for g in groups] == [[1, 2]]


def test_records_without_ids_are_grouped_by_position():
    records = [
        {"name": "山田 太郎", "phone": "090-1234-5678"},
        {"name": "山田太郎", "phone": "09012345678"},
    ]
    assert [sorted(g.members) for g in m.find_duplicates(records)] == [[0, 1]]


def test_candidate_pairs_skip_keys_shared_by_too_many_records():
    records = [{"name": f"顧客{i}", "phone": "03-1111-2222"} for i in range(10)]
    keys = [m.record_keys(r) for r in records]
    assert len(m.candidate_pairs(keys)) == 45
    assert m.candidate_pairs(keys, max_block=5) == []


def test_similar_to_returns_candidates_best_first():
    mine = {"name": "山田 太郎", "phone": "090-1234-5678", "email": "taro@example.jp"}
    candidates = [
        {"id": 1, "name": "山田 太郎", "name_kana": "ヤマダ タロウ"},
        {"id": 2, "name": "山田太郎", "phone": "09012345678", "email": "taro@example.jp"},
        {"id": 3, "name": "鈴木 花子"},
    ]
    found = m.similar_to(mine, candidates)
    assert [f.candidate["id"] for f in found] == [2]
    assert found[0].labels and all(str(label) for label in found[0].labels)


def test_customer_record_reads_a_karte():
    class Company:
        name = "株式会社山田商事"
        name_kana = "ヤマダショウジ"

    class Karte:
        pk = 7
        kind = "person"
        name = "山田 太郎"
        name_kana = "ヤマダ タロウ"
        company = Company()
        postal_code = "100-0001"
        address = "東京都千代田区千代田1-1"
        phone = "03-1234-5678"
        mobile = ""
        email = "taro@example.jp"
        email_alt = ""
        birthday = datetime.date(1980, 1, 2)
        corporate_number = ""

    record = m.customer_record(Karte())
    keys = m.record_keys(record)
    assert keys.id == 7
    assert keys.phones == ("0312345678",)
    assert keys.company == "山田商事"
    assert keys.birth == datetime.date(1980, 1, 2)


def test_every_reason_has_a_label():
    assert all(str(label) for label in m.REASONS.values())
    assert set(m.WEIGHTS) - {"prior", "name_conflict_overruled", "company_name"} <= set(m.REASONS)


# --- Properties -------------------------------------------------------------------------------

_names = st.sampled_from(
    ["山田 太郎", "山田太郎", "髙橋 一郎", "高橋一郎", "山田 花子", "Taro Yamada", ""]
)
_kana = st.sampled_from(["ヤマダ タロウ", "やまだたろう", "ﾀｶﾊｼ ｲﾁﾛｳ", "ヤマダ ハナコ", ""])
_phones = st.sampled_from(["090-1234-5678", "+81 90 1234 5678", "03-1234-5678", "1234-5678", ""])
_emails = st.sampled_from(["taro@example.jp", "TARO@example.jp", "taro@exampl.jp", "", "x"])
_births = st.sampled_from(["1980-01-02", "S55.1.2", "1980-01-03", "1990-12-31", "", "not a date"])
_addresses = st.sampled_from(
    [
        "千代田区千代田1-1-1",
        "東京都千代田区千代田一丁目1番1号",
        "千代田区千代田1-1-2",
        "札幌市北区1-1",
        "",
    ]
)
_companies = st.sampled_from(["株式会社山田商事", "(株)山田商事", "ｶ)ﾔﾏﾀﾞｼｮｳｼﾞ", "鈴木工業", ""])
_records = st.fixed_dictionaries(
    {
        "kind": st.sampled_from(["person", "person", "company"]),
        "name": _names,
        "name_kana": _kana,
        "phone": _phones,
        "email": _emails,
        "birth_date": _births,
        "address": _addresses,
        "postal_code": st.sampled_from(["100-0001", "1000001", "060-0001", "", "12"]),
        "company": _companies,
        "corporate_number": st.sampled_from(["", "8700110005901", "1010001000006", "123"]),
    }
)


@PROPERTY
@given(_records, _records)
def test_scores_are_symmetric_bounded_and_explained(a, b):
    ka, kb = m.record_keys(a), m.record_keys(b)
    ab, ba = m.score_pair(ka, kb), m.score_pair(kb, ka)
    assert 0.0 <= ab.score <= 1.0
    assert ab.score == ba.score
    assert set(ab.reasons) == set(ba.reasons)
    assert set(ab.reasons) <= set(m.REASONS)


@PROPERTY
@given(_records, _records)
def test_scores_are_stable(a, b):
    first = m.score_pair(m.record_keys(a), m.record_keys(b))
    again = m.score_pair(m.record_keys(dict(a)), m.record_keys(dict(b)))
    assert first == again


@PROPERTY
@given(_records)
def test_a_record_with_a_name_matches_itself(a):
    keys = m.record_keys(a)
    named = keys.company if keys.kind == "company" else (keys.name or keys.latin or keys.kana)
    if not named:
        return
    if not (keys.phones or keys.emails or keys.birth or keys.address or keys.postal):
        return
    assert m.score_pair(keys, keys).score >= SIMILAR_THRESHOLD


@PROPERTY
@given(st.lists(_records, max_size=8))
def test_groups_never_overlap(records):
    records = [{**r, "id": i} for i, r in enumerate(records)]
    groups = m.find_duplicates(records)
    seen: set[int] = set()
    for group in groups:
        assert len(group.members) >= 2
        assert seen.isdisjoint(group.members)
        seen.update(group.members)


def test_unspaced_names_are_split_by_the_family_names_the_data_knows():
    records = [
        {
            "id": 1,
            "name": "菊池美幸",
            "birth_date": "1942/8/16",
            "address": "五所川原市金木町蒔田2482番8号",
        },
        {
            "id": 2,
            "name": "大田 美幸",
            "birth_date": "1942-08-16",
            "address": "五所川原市金木町蒔田2482-8",
        },
        {"id": 3, "name": "菊池 一郎", "name_kana": "キクチ イチロウ"},
        {"id": 4, "name": "菊池 花子", "name_kana": "キクチ ハナコ"},
    ]
    keys = [m.record_keys(r) for r in records]
    assert (keys[0].family, keys[0].given) == ("", "")
    m.prepare_keys(keys)
    assert (keys[0].family, keys[0].given) == ("菊池", "美幸")
    # Married (a new family name), same date of birth and home: found and linked.
    result = m.score_pair(keys[0], keys[1])
    assert {"family_name_changed", "same_birth_date", "same_address"} <= set(result.reasons)
    assert [sorted(g.members) for g in m.find_duplicates(records)] == [[1, 2]]
