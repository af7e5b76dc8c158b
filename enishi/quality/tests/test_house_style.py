"""House style rules, case by case: company names, street block numbers, dates."""

import datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from enishi.quality import house_style as hs


@pytest.fixture(autouse=True)
def _japanese():
    # The Japanese date styles are for Japanese readers: these cases read in Japanese whatever
    # language an earlier test left active.
    from django.utils import translation

    with translation.override("ja"):
        yield


@pytest.mark.parametrize(
    ("typed", "spell_out", "front", "back"),
    [
        ("(株)山田商事", "株式会社山田商事", "株式会社山田商事", "山田商事株式会社"),
        ("山田商事㈱", "山田商事株式会社", "株式会社山田商事", "山田商事株式会社"),
        ("株式会社 山田商事", "株式会社山田商事", "株式会社山田商事", "山田商事株式会社"),
        # Only the legal form changes: the name keeps its widths as typed.
        ("ｶ)ﾔﾏﾀﾞｼｮｳｼﾞ", "株式会社ヤマダショウジ", "株式会社ヤマダショウジ", "ヤマダショウジ株式会社"),
        ("(株)ＡＢＣ", "株式会社ＡＢＣ", "株式会社ＡＢＣ", "ＡＢＣ株式会社"),
        ("(有)佐藤工務店", "有限会社佐藤工務店", "有限会社佐藤工務店", "佐藤工務店有限会社"),
        # Other corporations write their form in front, whatever the house does with 株式会社.
        ("医療法人社団 緑会", "医療法人社団緑会", "医療法人社団緑会", "医療法人社団緑会"),
        (
            "一般社団法人テスト協会",
            "一般社団法人テスト協会",
            "一般社団法人テスト協会",
            "一般社団法人テスト協会",
        ),
        # A branch or department after the name: the form moves within the company's name,
        # never after the branch.
        (
            "(株)山田商事 大阪営業所",
            "株式会社山田商事 大阪営業所",
            "株式会社山田商事 大阪営業所",
            "山田商事株式会社 大阪営業所",
        ),
        (
            "山田商事(株) 大阪営業所",
            "山田商事株式会社 大阪営業所",
            "株式会社山田商事 大阪営業所",
            "山田商事株式会社 大阪営業所",
        ),
        (
            "(株)山田商事／営業部",
            "株式会社山田商事／営業部",
            "株式会社山田商事／営業部",
            "山田商事株式会社／営業部",
        ),
        (
            "一般社団法人 山田協会 東京支部",
            "一般社団法人山田協会 東京支部",
            "一般社団法人山田協会 東京支部",
            "一般社団法人山田協会 東京支部",
        ),
        # A space inside the name itself is no branch: the form is only spelled out.
        ("株式会社 ABC Japan", "株式会社ABC Japan", "株式会社ABC Japan", "株式会社ABC Japan"),
    ],
)
def test_it_writes_legal_forms_the_house_way(typed, spell_out, front, back):
    assert hs.company_name_styled(typed, hs.SPELL_OUT) == spell_out
    assert hs.company_name_styled(typed, hs.FRONT) == front
    assert hs.company_name_styled(typed, hs.BACK) == back
    assert hs.company_name_styled(typed, hs.KEEP) == typed


@pytest.mark.parametrize(
    "name",
    ["山田商店", "Yamada Co., Ltd.", "株式会社", "株式会社ＡＢＣ", "やまだ食堂", ""],
)
def test_it_leaves_names_without_a_japanese_legal_form_or_already_in_style(name):
    assert hs.company_name_styled(name, hs.SPELL_OUT) == name
    assert hs.company_name_styled(name, hs.FRONT) == name


@pytest.mark.parametrize(
    ("typed", "half", "full"),
    [
        ("1丁目2番3号", "1-2-3", "１－２－３"),
        ("一丁目２番地の３ 山田ビル5F", "1-2-3 山田ビル5F", "１－２－３ 山田ビル5F"),
        ("4丁目20番20号 101号室", "4-20-20 101号室", "４－２０－２０ 101号室"),
        ("2番地の3", "2-3", "２－３"),
        ("十二丁目3番", "12-3", "１２－３"),
        ("1丁目2−3", "1-2-3", "１－２－３"),
        ("１－２－３", "1-2-3", "１－２－３"),
    ],
)
def test_it_writes_block_numbers_with_hyphens(typed, half, full):
    assert hs.street_styled(typed, hs.HYPHEN) == half
    assert hs.street_styled(typed, hs.HYPHEN_FULL_WIDTH) == full
    assert hs.street_styled(typed, hs.KEEP) == typed


@pytest.mark.parametrize(
    "street", ["3丁目", "12番地", "2番3号室", "三田ビル", "字大谷", "", "1-2-3 ABCビル"]
)
def test_it_leaves_streets_it_does_not_understand_or_that_are_in_style(street):
    assert hs.street_styled(street, hs.HYPHEN) == street


@pytest.mark.parametrize(
    ("rule", "expected"),
    [
        (hs.ISO, "2019-05-01"),
        (hs.SLASH, "2019/05/01"),
        (hs.KANJI, "2019年5月1日"),
        (hs.ERA, "令和元年5月1日"),
    ],
)
def test_it_shows_dates_the_house_way(rule, expected):
    assert hs.date_styled(datetime.date(2019, 5, 1), rule) == expected


@pytest.mark.parametrize("rule", [hs.KANJI, hs.ERA])
def test_japanese_date_styles_are_for_japanese_readers(rule):
    from django.utils import translation

    day = datetime.date(2026, 11, 25)
    with translation.override("en"):
        assert hs.date_styled(day, rule) == "2026-11-25"
        assert hs.datetime_styled(datetime.datetime(2026, 11, 25, 9, 10), rule) == (
            "2026-11-25 09:10"
        )
        # The settings page shows the style itself, whoever reads it.
        assert hs.date_styled(day, rule, for_reader=False) != "2026-11-25"
    with translation.override("ja"):
        assert hs.date_styled(day, rule).endswith("年11月25日")


def test_era_dates_change_on_the_day_the_era_began():
    assert hs.date_styled(datetime.date(2019, 4, 30), hs.ERA) == "平成31年4月30日"
    assert hs.date_styled(datetime.date(1989, 1, 7), hs.ERA) == "昭和64年1月7日"
    assert hs.date_styled(datetime.date(1989, 1, 8), hs.ERA) == "平成元年1月8日"
    assert hs.date_styled(datetime.date(1850, 1, 1), hs.ERA) == "1850年1月1日"


text = st.text(
    alphabet="株式会社有限(株)㈱ 山田商事ｶﾔﾏﾀﾞ一二三丁目番地号の-－0123456789０１２ビル", max_size=30
)


@given(text)
def test_styling_twice_changes_nothing_the_second_time(value):
    for rule in (hs.SPELL_OUT, hs.FRONT, hs.BACK):
        once = hs.company_name_styled(value, rule)
        assert hs.company_name_styled(once, rule) == once
    for rule in (hs.HYPHEN, hs.HYPHEN_FULL_WIDTH):
        once = hs.street_styled(value, rule)
        assert hs.street_styled(once, rule) == once


@given(st.dates(min_value=datetime.date(1869, 1, 1), max_value=datetime.date(2099, 12, 31)))
def test_era_dates_read_back_as_the_same_day(day):
    from enishi.quality.normalize import parse_date

    assert parse_date(hs.date_styled(day, hs.ERA)) == day
