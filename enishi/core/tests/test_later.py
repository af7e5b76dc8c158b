"""Messages stored for later: kept as msgid and params, translated in the reader's language."""

import datetime
import json
from decimal import Decimal

import pytest
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.utils import translation
from django.utils.text import capfirst
from django.utils.translation import gettext_lazy, pgettext_lazy

from enishi.core.later import (
    Message,
    as_text,
    error_message,
    field_messages,
    join,
    later,
    stored,
    translated,
    translated_text,
)
from enishi.customers.models import Customer

TOO_LONG = "Too long: at most %(limit)s characters (you entered %(count)s)."


def in_each(value) -> dict[str, str]:
    found = {}
    for language in ("ja", "en"):
        with translation.override(language):
            found[language] = translated(value)
    return found


def test_it_keeps_the_msgid_and_params_and_translates_when_read():
    message = later(gettext_lazy(TOO_LONG), limit=40, count=41)
    assert message.stored == {"m": TOO_LONG, "p": {"limit": 40, "count": 41}}
    assert json.loads(json.dumps(message.stored)) == message.stored
    assert in_each(message.stored) == {
        "ja": "長すぎます。40文字以内で入力してください（現在41文字）。",
        "en": "Too long: at most 40 characters (you entered 41).",
    }
    with translation.override("en"):
        assert str(message) == "Too long: at most 40 characters (you entered 41)."


def test_a_msgid_alone_is_stored_without_params():
    assert stored(gettext_lazy("Enter the name.")) == {"m": "Enter the name."}
    assert in_each({"m": "Enter the name."}) == {
        "ja": "名前を入力してください。",
        "en": "Enter the name.",
    }


def test_a_context_and_a_capitalised_field_name_are_kept():
    order = stored(pgettext_lazy("purchase", "Order"))
    assert order == {"m": "Order", "c": "purchase"}
    assert in_each(order) == {"ja": "受注", "en": "Order"}
    phone = stored(capfirst(Customer._meta.get_field("phone").verbose_name))
    assert phone == {"m": "phone", "cap": 1}
    assert in_each(phone) == {"ja": "電話番号", "en": "Phone"}


def test_params_may_be_messages_lists_and_values_of_any_kind():
    message = later(
        gettext_lazy("“%(value)s” is not one of the choices: %(choices)s"),
        value="宇宙人",
        choices=[label for _value, label in Customer.Kind.choices],
    )
    assert in_each(message) == {
        "ja": "「宇宙人」は選択肢にありません（選択肢：法人、個人）",
        "en": "“宇宙人” is not one of the choices: Company, Person",
    }
    odd = later(gettext_lazy("Line %(line)s of %(count)s of order %(number)s."), line=Decimal("1.50"),
                count=2, number=datetime.date(2024, 5, 1))  # fmt: skip
    assert odd.stored["p"] == {"line": "1.50", "count": 2, "number": "2024-05-01"}


def test_plain_text_is_shown_as_it_is():
    # Rows stored before messages were kept for later, names, headers.
    assert in_each("電話番号の形式が違います。") == {
        "ja": "電話番号の形式が違います。",
        "en": "電話番号の形式が違います。",
    }
    assert stored("Enter the name.") == "Enter the name."  # text, not a msgid: never translated
    assert translated(None) == ""


def test_parts_are_joined():
    parts = join([stored(gettext_lazy("Enter the name.")), "山田"], ": ")
    assert in_each(join([parts, gettext_lazy("Enter the start date.")], " / ")) == {
        "ja": "名前を入力してください。: 山田 / 開始日を入力してください。",
        "en": "Enter the name.: 山田 / Enter the start date.",
    }
    assert in_each(["a", "b"]) == {"ja": "a、b", "en": "a, b"}
    assert in_each(join(["a", "b"])) == {"ja": "a、b", "en": "a, b"}


def test_a_list_in_running_text_is_separated_as_the_reader_writes():
    from django.utils import translation

    from enishi.core.later import join_list

    with translation.override("ja"):
        assert join_list(["同じ氏名", "同じ電話番号"]) == "同じ氏名、同じ電話番号"
    with translation.override("en"):
        assert join_list(["Same name", "Same phone number"]) == "Same name, Same phone number"


def test_a_text_column_holds_one_as_json_and_old_text_as_it_is():
    text = as_text(later(gettext_lazy(TOO_LONG), limit=40, count=41))
    assert text.startswith('{"m":')
    with translation.override("en"):
        assert translated_text(text) == "Too long: at most 40 characters (you entered 41)."
        assert translated_text("取り込めませんでした。") == "取り込めませんでした。"
        assert translated_text('{"m": broken') == '{"m": broken'
    assert as_text("plain") == "plain"


def test_a_validation_error_keeps_its_message_and_params():
    error = ValidationError(
        {
            "name": [
                ValidationError(gettext_lazy(TOO_LONG), params={"limit": 200, "count": 201}),
                gettext_lazy("Enter the name."),
                "すでに訳された文",
            ],
            "code": [ValidationError("%(code)s is taken", params={"code": "A1"})],
        }
    )
    found = field_messages(error)
    assert found["name"] == [
        {"m": TOO_LONG, "p": {"limit": 200, "count": 201}},
        {"m": "Enter the name."},
        "すでに訳された文",
    ]
    assert found["code"] == ["A1 is taken"]  # formatted text stays text
    single = ValidationError(gettext_lazy("Enter the start date."))
    assert field_messages(single) == {NON_FIELD_ERRORS: [{"m": "Enter the start date."}]}
    assert error_message(single) == {"m": "Enter the start date."}
    both = ValidationError([gettext_lazy("Enter the name."), gettext_lazy("Enter the start date.")])
    with translation.override("en"):
        assert translated(error_message(both)) == "Enter the name. Enter the start date."


def test_a_message_in_a_validation_error_reads_as_text():
    message = later(gettext_lazy(TOO_LONG), limit=5, count=6)
    with translation.override("en"):
        assert ValidationError(message).messages == [
            "Too long: at most 5 characters (you entered 6)."
        ]
    assert Message(message.stored) == message


def test_something_else_is_not_a_message_to_translate_later():
    with pytest.raises(TypeError):
        later(42)


def test_a_moment_or_a_day_is_written_in_the_readers_date_style_when_read():
    from django.utils import timezone

    from enishi.core.later import dated
    from enishi.quality import house_style

    at = datetime.datetime(2026, 4, 1, 0, 30, tzinfo=datetime.UTC)
    message = later(gettext_lazy("Changed since the import (by %(who)s, %(when)s)."),
                    who="坊 ボブ", when=dated(at))  # fmt: skip
    assert message.stored["p"]["when"] == {"t": "2026-04-01T00:30:00+00:00"}
    assert stored(message.stored["p"]["when"]) == {"t": "2026-04-01T00:30:00+00:00"}
    local = timezone.localtime(at)
    house_style.remember(house_style.Style(dates=house_style.KANJI), seconds=None)
    try:
        assert in_each(message) == {
            "ja": f"インポート後に変更されています（坊 ボブ、{local.year}年{local.month}月"
            f"{local.day}日 {local:%H:%M}）。",
            "en": f"Changed since the import (by 坊 ボブ, {local:%Y-%m-%d %H:%M}).",
        }
        assert in_each(dated(datetime.date(2026, 4, 1))) == {
            "ja": "2026年4月1日",
            "en": "2026-04-01",
        }
        house_style.remember(house_style.Style(dates=house_style.SLASH), seconds=None)
        assert in_each(dated(datetime.date(2026, 4, 1)))["en"] == "2026/04/01"
    finally:
        house_style.forget()


def test_a_message_with_plural_forms_keeps_its_number_and_reads_in_each_language():
    from django.utils.translation import npgettext_lazy

    two = later(
        npgettext_lazy("added since", "%(count)s activity", "%(count)s activities", 2), count=2
    )
    assert two.stored == {
        "m": "%(count)s activity",
        "pl": "%(count)s activities",
        "n": 2,
        "c": "added since",
        "p": {"count": 2},
    }
    assert json.loads(json.dumps(two.stored)) == two.stored
    assert in_each(two) == {"ja": "対応記録2件", "en": "2 activities"}
    one = later(
        npgettext_lazy("added since", "%(count)s activity", "%(count)s activities", 1), count=1
    )
    assert in_each(one)["en"] == "1 activity"
    # Joined with others, as an undo says what was added to a karte.
    assert in_each(join([two, one]))["en"] == "2 activities, 1 activity"
    # Without a catalogue entry: the English form that fits the number.
    from django.utils.translation import ngettext_lazy

    forms = ("%(count)s zebra", "%(count)s zebras")  # not in the catalogue: not marked
    unknown = later(ngettext_lazy(*forms, 3), count=3)
    assert unknown.stored["pl"] == "%(count)s zebras" and in_each(unknown)["ja"] == "3 zebras"
