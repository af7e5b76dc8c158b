"""The vCard format itself: escaping, folding at 75 octets, parameters, encodings, and the
round trip of any text through writing and reading (property tests)."""

import vobject
from hypothesis import given, settings
from hypothesis import strategies as st

from enishi.transfer.vcard import (
    CardWriter,
    escape,
    fold,
    parse_vcards,
    split_escaped,
    unescape,
)

# Any text a person could type, paste or receive: every plane, control characters, emoji.
TEXT = st.text(st.characters(blacklist_categories=("Cs",)), max_size=300)


def _read(text: str):
    return parse_vcards(text.encode("utf-8"), max_cards=5).cards[0]


def test_it_escapes_the_characters_that_structure_a_line():
    assert escape("a,b;c\\d\ne\r\nf") == "a\\,b\\;c\\\\d\\ne\\nf"
    assert unescape("a\\,b\\;c\\\\d\\ne\\Nf") == "a,b;c\\d\ne\nf"


def test_a_backslash_before_an_unknown_character_is_kept():
    assert unescape("C:\\Users\\t") == "C:\\Users\\t"
    # 2.1 escapes only ";": "\n" there is a backslash and an n.
    assert unescape("a\\nb\\;c", "2.1") == "a\\nb;c"


def test_it_splits_structured_values_at_unescaped_separators_only():
    assert split_escaped("山田\\;本店;太郎;;", ";") == ["山田\\;本店", "太郎", "", ""]


def test_it_folds_at_75_octets_without_splitting_a_character():
    line = "NOTE:" + "あ" * 60 + "𠮷" * 10
    folded = fold(line)
    physical = folded.split("\r\n")
    assert all(len(p.encode("utf-8")) <= 75 for p in physical)
    assert all(p.startswith(" ") for p in physical[1:])
    assert "".join([physical[0], *(p[1:] for p in physical[1:])]) == line


def test_it_writes_parameters_that_need_it_in_quotes_and_4_0_caret_escapes():
    w = CardWriter("4.0")
    w.add("N", "渡辺;健;;;", [("SORT-AS", ['ワタナベ,"ケン"'])])
    w.add("NOTE", "x", [("X-LABEL", ["a\nb^c"])])
    text = w.text()
    assert "N;SORT-AS=\"ワタナベ,^'ケン^'\":渡辺;健;;;" in text
    assert "NOTE;X-LABEL=a^nb^^c:x" in text
    card = _read(text)
    assert card.first("N").params["SORT-AS"] == ['ワタナベ,"ケン"']
    assert card.first("NOTE").params["X-LABEL"] == ["a\nb^c"]


def test_a_3_0_card_names_utf_8_on_non_ascii_values_for_outlook():
    w = CardWriter("3.0", charset_param=True)
    w.add("FN", "山田 太郎")
    w.add("EMAIL", "taro@example.jp", [("TYPE", ["INTERNET"])])
    lines = w.text().split("\r\n")
    assert "FN;CHARSET=UTF-8:山田 太郎" in lines
    assert "EMAIL;TYPE=INTERNET:taro@example.jp" in lines


def test_vobject_reads_what_we_write():
    w = CardWriter("3.0", charset_param=True)
    w.add("N", ";".join([escape("山田"), escape("太郎"), "", "", ""]))
    w.add("FN", escape("山田 太郎"))
    w.add("NOTE", escape("長い" * 50 + "\n二行目, と; 記号\\"))
    card = vobject.readOne(w.text())
    assert card.n.value.family == "山田"
    assert card.note.value == "長い" * 50 + "\n二行目, と; 記号\\"


def test_it_reads_bare_2_1_parameters_as_types_and_encodings():
    card = _read(
        "BEGIN:VCARD\r\nVERSION:2.1\r\nTEL;CELL;VOICE:090-1234-5678\r\n"
        "NOTE;QUOTED-PRINTABLE:a=3Db\r\nEND:VCARD\r\n"
    )
    assert card.first("TEL").types == {"cell", "voice"}
    assert card.first("NOTE").text == "a=b"


def test_it_reads_4_0_types_in_quotes_and_pref_as_a_type():
    card = _read(
        'BEGIN:VCARD\r\nVERSION:4.0\r\nTEL;VALUE=uri;TYPE="cell,voice";PREF=1:tel:+81-90-1\r\n'
        "END:VCARD\r\n"
    )
    assert card.first("TEL").types == {"cell", "voice", "pref"}


def test_a_colon_inside_a_quoted_parameter_does_not_end_the_name():
    card = _read('BEGIN:VCARD\r\nVERSION:4.0\r\nADR;LABEL="a:b":;;栄3-1-1;;;;\r\nEND:VCARD\r\n')
    assert card.first("ADR").components(7)[2] == "栄3-1-1"


def test_a_card_inside_a_card_is_skipped():
    card = _read(
        "BEGIN:VCARD\r\nVERSION:2.1\r\nN:山田;太郎\r\nAGENT:\r\nBEGIN:VCARD\r\nN:秘書;花子\r\n"
        "END:VCARD\r\nTEL:03-3581-0101\r\nEND:VCARD\r\n"
    )
    assert [p.name for p in card.properties] == ["N", "AGENT", "TEL"]


def test_photos_are_not_decoded():
    card = _read("BEGIN:VCARD\r\nVERSION:3.0\r\nPHOTO;ENCODING=b:AAAA\r\nEND:VCARD\r\n")
    assert card.first("PHOTO").binary and card.first("PHOTO").value == ""


@settings(max_examples=100, deadline=None)
@given(note=TEXT, family=TEXT, given_name=TEXT, version=st.sampled_from(["3.0", "4.0"]))
def test_any_text_survives_writing_and_reading(note, family, given_name, version):
    w = CardWriter(version, charset_param=True)
    w.add("N", ";".join([escape(family), escape(given_name), "", "", ""]))
    w.add("NOTE", escape(note))
    text = w.text()
    for physical in text.encode("utf-8").split(b"\r\n"):
        assert len(physical) <= 75
        physical.decode("utf-8")  # every physical line is whole UTF-8
    card = _read(text)

    def expected(value: str) -> str:
        return value.replace("\r\n", "\n").replace("\r", "\n").replace("\x00", "")

    assert card.first("NOTE").text == expected(note)
    assert card.first("N").components(2)[:2] == [expected(family), expected(given_name)]


@settings(max_examples=100, deadline=None)
@given(value=TEXT.map(str.strip).filter(lambda v: v and "\x00" not in v))
def test_any_4_0_parameter_value_survives_writing_and_reading(value):
    w = CardWriter("4.0")
    w.add("N", ";;;;", [("SORT-AS", [value])])
    card = _read(w.text())
    written = value.replace("\r\n", "\n").replace("\r", "\n")
    # A value with , ; or : is written in quotes, which keep its spaces; others are trimmed.
    quoted = any(ch in written for ch in ",;:")
    assert ",".join(card.first("N").params["SORT-AS"]) == (written if quoted else written.strip())
