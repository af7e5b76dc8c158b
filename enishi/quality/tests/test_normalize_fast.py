"""The fast implementations in enishi.quality.normalize give exactly what the plain ones gave.

`fold_dashes`, `fold_variant_kanji`, `search_fold`, `kana_key`, `to_katakana`,
`is_kana_reading` and `company_name_key` moved from per-character Python loops to `str.translate`
tables and regular expressions; `parse_phone` reads the common writings of Japanese numbers
without phonenumbers' parser; `phone_search_forms` formats +81 numbers without it. The
character-by-character implementations they replaced are kept here as the reference, and
property tests compare the two on random text and random Japanese-looking phone numbers.
"""

from __future__ import annotations

import unicodedata

import jaconv
import phonenumbers
import pytest
from hypothesis import example, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from enishi.quality import normalize as n
from enishi.quality.variant_kanji import VARIANT_KANJI

PROPERTY = hsettings(max_examples=400, deadline=None)


# --- The reference: the implementations before the fast ones --------------------------------


def _is_kana(ch: str) -> bool:
    cp = ord(ch)
    return (
        0x3041 <= cp <= 0x3096
        or 0x3099 <= cp <= 0x309F
        or 0x30A1 <= cp <= 0x30FA
        or 0x30FD <= cp <= 0x30FF
        or 0x31F0 <= cp <= 0x31FF
        or 0xFF66 <= cp <= 0xFF6F
        or 0xFF71 <= cp <= 0xFF9F
    )


def _is_katakana_letter(ch: str) -> bool:
    cp = ord(ch)
    return 0x30A1 <= cp <= 0x30FA or 0x30FD <= cp <= 0x30FE or 0x31F0 <= cp <= 0x31FF


def _is_cjk_ideograph(ch: str) -> bool:
    cp = ord(ch)
    return (
        0x3400 <= cp <= 0x4DBF
        or 0x4E00 <= cp <= 0x9FFF
        or 0xF900 <= cp <= 0xFAFF
        or 0x20000 <= cp <= 0x3FFFF
        or cp == 0x3005
    )


def _is_variation_selector(ch: str) -> bool:
    cp = ord(ch)
    return 0xFE00 <= cp <= 0xFE0F or 0xE0100 <= cp <= 0xE01EF


def ref_fold_dashes(text: str | None) -> str:
    if not text:
        return ""
    out: list[str] = []
    after_kana = False
    for ch in text:
        if ch in n._DASHES:
            out.append(n._CHOONPU if after_kana else "-")
        else:
            out.append(ch)
            after_kana = _is_kana(ch)
    return "".join(out)


def ref_fold_variant_kanji(text: str | None) -> str:
    if not text:
        return ""
    out: list[str] = []
    for ch in text:
        if _is_variation_selector(ch) and out and _is_cjk_ideograph(out[-1]):
            continue
        if 0xF900 <= ord(ch) <= 0xFAFF or 0x2F800 <= ord(ch) <= 0x2FA1F:
            ch = unicodedata.normalize("NFKC", ch)
        out.append(VARIANT_KANJI.get(ch, ch))
    return "".join(out)


def _ref_lower(text: str) -> str:
    return unicodedata.normalize("NFKC", text.lower())


def ref_search_fold(text: str | None) -> str:
    text = _ref_lower(n.nfkc(text))
    text = unicodedata.normalize("NFKC", n._SPACES_RE.sub("", text))
    text = unicodedata.normalize("NFKC", jaconv.hira2kata(text))
    return ref_fold_variant_kanji(ref_fold_dashes(text))


def ref_bigrams(text: str | None) -> list[str]:
    folded = ref_search_fold(text)
    seen: dict[str, None] = {}
    for first, second in zip(folded, folded[1:], strict=False):
        if first.isalnum() and second.isalnum():
            seen.setdefault(first + second, None)
    return list(seen)


def ref_to_katakana(text: str | None) -> str:
    text = unicodedata.normalize("NFKC", jaconv.hira2kata(n.nfkc(text)))
    return n.collapse_spaces(ref_fold_dashes(text))


def ref_is_kana_reading(text: str | None) -> bool:
    kana = ref_to_katakana(text)
    if not any(_is_katakana_letter(ch) for ch in kana):
        return False
    return all(_is_katakana_letter(ch) or ch in "ー・ " for ch in kana)


def ref_kana_key(text: str | None) -> str:
    text = jaconv.hira2kata(n.nfkc(text))
    text = n._SPACES_RE.sub("", text).replace("・", "")
    text = ref_fold_dashes(text).replace(n._CHOONPU, "")
    text = jaconv.hira2kata(unicodedata.normalize("NFKC", text))
    text = text.replace("\u3099", "").replace("\u309a", "")
    return text.translate(n._SMALL_TO_LARGE_KANA)


def ref_person_name_key(name: str | None) -> str:
    return _ref_lower(ref_fold_variant_kanji(n._SPACES_RE.sub("", n.nfkc(name))))


def _ref_strip_legal_forms(text: str) -> str:
    for _attempt in range(8):
        detected = n.detect_legal_form(text)
        if not detected.form:
            break
        text = detected.bare
    return text


def _ref_company_key_once(name: str) -> str:
    text = _ref_strip_legal_forms(n.nfkc(name))
    text = jaconv.hira2kata(_ref_lower(ref_fold_variant_kanji(text)))
    text = n._COMPANY_PUNCTUATION_RE.sub("", ref_fold_dashes(text))
    text = unicodedata.normalize("NFKC", text)
    text = _ref_strip_legal_forms(text)
    if text and all(_is_katakana_letter(ch) or ch == n._CHOONPU for ch in text):
        return ref_kana_key(text)
    return text


def ref_company_name_key(name: str | None) -> str:
    key = name or ""
    for _attempt in range(8):
        folded = _ref_company_key_once(key)
        if folded == key:
            break
        key = folded
    return key


def ref_parse_phone(text: str | None) -> n.Phone | str:
    """The phone, or the error code, always through phonenumbers' parser."""
    cleaned = n.collapse_spaces(ref_fold_dashes(n.nfkc(text)))
    digits = n._digits(cleaned)
    if not digits or not n._PHONE_CHARS_RE.fullmatch(cleaned):
        return "not_a_phone"
    if not cleaned.startswith("+") and not digits.startswith("0") and 5 <= len(digits) <= 8:
        return "phone_without_area_code"
    try:
        number = phonenumbers.parse(cleaned, "JP")
    except phonenumbers.NumberParseException:
        number = None
    if number is None or not phonenumbers.is_valid_number(number):
        return "invalid_phone"
    e164 = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    if number.country_code == 81:
        display = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.NATIONAL)
    else:
        display = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)
    return n.Phone(e164=e164, display=display)


def ref_phone_search_forms(e164: str | None) -> list[str]:
    try:
        number = phonenumbers.parse(n.nfkc(e164), None)
    except phonenumbers.NumberParseException:
        return []
    national = n._digits(
        phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.NATIONAL)
    )
    international = f"{number.country_code}{phonenumbers.national_significant_number(number)}"
    return list(dict.fromkeys(form for form in (national, international) if form))


def fast_parse_phone(text: str | None) -> n.Phone | str:
    try:
        return n.parse_phone(text)
    except n.ValidationError as exc:
        return exc.code


# --- Strategies ----------------------------------------------------------------------------

_CHARS = (
    "あいうかがきゃっーゔゐをぁアイウカガキャッヴヰヲヵヶヷヽヾｱｲｶﾞｷｬｯｰﾞﾟㇰㇱ"
    "-‐‑‒–—―−﹣－ｰー⁃─━➖⸺˗⁻₋"
    " \u3000\t\n\u200b\u2060\ufeff・･.,、()（）[]【】"
    "髙高﨑崎齋斉邊澤濱隆々辻山田株有合同資名社財医𠮷𥔎"
    "\uf9dc\ufa11\ufa0e\U0002f800\U0002f8a6\U0002fa1d"
    "0123456789０１２３４５６７８９+＋"
    "abcABCａｂｃÀßİΣ"
    "\u3099\u309a\u309b\u309c\ufe00\ufe0f\U000e0100\U000e01ef\u0301"
)
_WORDS = [
    "株式会社",
    "(株)",
    "㈱",
    "（有）",
    "カ)",
    "ｶ)",
    "カブシキガイシャ",
    " Co., Ltd.",
    "ヤマダ",
    "ｻｰﾋﾞｽ",
    "スーパー",
    "1-2-3",
    "辻\U000e0100",
    "葛\U000e0101",
    "髙橋",
]
texts = st.one_of(
    st.none(),
    st.text(),
    st.text(alphabet=_CHARS),
    st.lists(
        st.one_of(st.sampled_from(_WORDS), st.text(alphabet=_CHARS, max_size=3)), max_size=6
    ).map("".join),
)


# --- Folds ---------------------------------------------------------------------------------


@PROPERTY
@given(text=texts)
@example(text="辻\U000e0100\ufe00a\ufe00")
@example(text="ア-ー―1-2")
@example(text="\uf9dc\U000e0100")
def test_the_folds_give_what_the_character_loops_gave(text):
    assert n.fold_dashes(text) == ref_fold_dashes(text)
    assert n.fold_variant_kanji(text) == ref_fold_variant_kanji(text)
    assert n.search_fold(text) == ref_search_fold(text)
    assert n.bigrams(text) == ref_bigrams(text)
    assert n.to_katakana(text) == ref_to_katakana(text)
    assert n.is_kana_reading(text) == ref_is_kana_reading(text)
    assert n.kana_key(text) == ref_kana_key(text)
    assert n.person_name_key(text) == ref_person_name_key(text)
    assert n.company_name_key(text) == ref_company_name_key(text)


def test_every_compatibility_ideograph_folds_as_before():
    for cp in [*range(0xF900, 0xFB00), *range(0x2F800, 0x2FA20)]:
        text = f"{chr(cp)}\U000e0100{chr(cp)}"
        assert n.fold_variant_kanji(text) == ref_fold_variant_kanji(text), hex(cp)


def test_every_variant_kanji_folds_as_before():
    text = "".join(f"{variant}\ufe00" for variant in VARIANT_KANJI)
    assert n.fold_variant_kanji(text) == ref_fold_variant_kanji(text)


# --- Phones --------------------------------------------------------------------------------

_SEPARATORS = ["-", "", " ", "ー", "－", "‐", "−", "(", ")", ".", "  "]


@st.composite
def japanese_looking_phones(draw) -> str:
    """Digits the way people write Japanese numbers: a 0 (or not), 1–5 digits of area code,
    then 1–4 and 3–5 digits, with separators, brackets and widths of every kind."""
    prefix = draw(
        st.sampled_from(
            ["0", "0", "0", "", "00", "010", "+81 ", "+81", "+81-", "+81 (0)", "+81 0", "81", "+1 "]
        )
    )
    first = draw(st.sampled_from("123456789" if prefix.endswith("0") else "0123456789"))
    area = first + draw(st.text(alphabet="0123456789", min_size=0, max_size=4))
    middle = draw(st.text(alphabet="0123456789", min_size=0, max_size=5))
    last = draw(st.text(alphabet="0123456789", min_size=1, max_size=5))
    head = f"({prefix}{area})" if draw(st.booleans()) else prefix + area
    text = head + draw(st.sampled_from(_SEPARATORS)) + middle
    text += draw(st.sampled_from(_SEPARATORS)) + last
    if draw(st.booleans()):
        text = text.translate(str.maketrans("0123456789", "０１２３４５６７８９"))
    return text


@st.composite
def common_shapes(draw) -> str:
    """The writings the fast path reads: 0X-XXXX-XXXX, 0XXXXXXXXXX, (0X)XXXX-XXXX."""
    area = "0" + draw(st.sampled_from("123456789")) + draw(st.text("0123456789", max_size=3))
    middle = draw(st.text("0123456789", min_size=1, max_size=4))
    last = draw(st.text("0123456789", min_size=3, max_size=4))
    shape = draw(st.sampled_from(["dashes", "plain", "brackets", "brackets space"]))
    if shape == "dashes":
        return f"{area}-{middle}-{last}"
    if shape == "plain":
        return area + draw(st.text("0123456789", min_size=7, max_size=9))
    return f"({area}){' ' if shape == 'brackets space' else ''}{middle}-{last}"


@st.composite
def full_length_numbers(draw) -> str:
    """10-digit fixed lines and 11-digit 0X0 numbers, split anywhere: mostly valid ones."""
    if draw(st.booleans()):
        digits = (
            "0"
            + draw(st.sampled_from("123456789"))
            + draw(st.text("0123456789", min_size=8, max_size=8))
        )
    else:
        digits = (
            "0"
            + draw(st.sampled_from("56789"))
            + "0"
            + draw(st.text("0123456789", min_size=8, max_size=8))
        )
    cut1 = draw(st.integers(2, 5))
    cut2 = draw(st.integers(cut1 + 1, len(digits) - 3))
    separator = draw(st.sampled_from(["-", "", "ー", " "]))
    return separator.join([digits[:cut1], digits[cut1:cut2], digits[cut2:]])


@hsettings(max_examples=3000, deadline=None)
@given(text=st.one_of(japanese_looking_phones(), common_shapes(), full_length_numbers()))
@example(text="03-1234-5678")
@example(text="090-1234-5678")
@example(text="0120-123-456")
@example(text="0570-01-2345")
@example(text="(03)3581-0101")
@example(text="0101234567")
@example(text="050-1234-5678")
@example(text="0800-123-4567")
@example(text="0312345678")
@example(text="09012345678")
@example(text="0X-XXXX-XXXX")
def test_the_fast_phone_path_agrees_with_phonenumbers(text):
    expected = ref_parse_phone(text)
    n._parse_phone.cache_clear()
    assert fast_parse_phone(text) == expected
    assert fast_parse_phone(text) == expected  # and from the cache
    if isinstance(expected, n.Phone):
        assert n.phone_search_forms(expected.e164) == ref_phone_search_forms(expected.e164)


@hsettings(max_examples=2000, deadline=None)
@given(nsn=st.text("0123456789", min_size=1, max_size=12))
def test_search_forms_of_any_plus81_number_agree_with_phonenumbers(nsn):
    e164 = "+81" + nsn
    assert n.phone_search_forms(e164) == ref_phone_search_forms(e164)


def test_the_fast_path_reads_the_common_writings():
    # Not a fallback in disguise: the usual shapes never reach the parser.
    for text in (
        "03-1234-5678",
        "090-1234-5678",
        "0312345678",
        "(03)1234-5678",
        "0120-123-456",
        "090(1234)5678",
        "03 1234 5678",
        "+81-90-1234-5678",
        "+81 3 1234 5678",
        "+819012345678",
    ):
        cleaned = n.collapse_spaces(n.fold_dashes(n.nfkc(text)))
        assert n._japanese_phone(cleaned, n._digits(cleaned)) is not None, text


@pytest.mark.parametrize(
    "text",
    [
        "010-1-212-555-0100",
        "+1 212-555-0100",
        "+81 (0)90 1234 5678",
        "03-12-34",
        "0-0",
        "81-90-1234",
    ],
)
def test_other_numbers_take_the_parser(text):
    n._parse_phone.cache_clear()
    assert fast_parse_phone(text) == ref_parse_phone(text)
