"""Duplicate detection (名寄せ): normalised keys, blocking, explainable pair scores, grouping.

The engine works on plain records (dicts or objects with the attributes below), so the
import preview, the "似たお客様がいます" hint and the background scan all share it:

    name, name_kana, company, company_kana, postal_code, address, phone / phones,
    mobile, email / email_alt, birth_date (or birthday), corporate_number, kind, id

Flow: ``record_keys`` normalises each record once (the foundation's ``normalize`` plus the
matching-only folds here: address keys, bank-style kana, romaji names, era dates) →
``prepare_keys`` learns from the whole set how its names are read, so a record without
furigana gets likely readings → ``candidate_pairs`` proposes pairs that share a blocking key
(never all pairs) → ``score_pair`` weighs the evidence and returns a score in 0–1 with reason
codes the UI shows translated → ``group_pairs`` links pairs at or above the threshold,
strongest first, refusing to join two groups when any two of their members clearly differ
(households, colleagues, namesakes). ``find_duplicates`` runs it all; ``build_keys``,
``keys_pool`` and ``score_pairs`` spread the work over processes for a million records.

The scores are log-odds sums of hand-set weights, one per reason, squashed to 0–1. The
weights encode what a person at the front desk would say: a shared mobile or e-mail is
personal, a shared landline or address is only household- or office-level evidence, a
shared name is common, and a different given name or birth date means another person.
"""

from __future__ import annotations

import collections
import contextlib
import datetime
import functools
import gc
import itertools
import math
import multiprocessing
import os
import re
from array import array
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, fields
from typing import Any

import jaconv
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _
from rapidfuzz.distance import Levenshtein

from . import normalize
from .prefectures import PREFECTURES
from .variant_kanji import VARIANT_KANJI

__all__ = [
    "DEFAULT_THRESHOLD",
    "REASONS",
    "SIMILAR_THRESHOLD",
    "AddressKey",
    "Group",
    "Keys",
    "Match",
    "Readings",
    "address_key",
    "birth_date_key",
    "blocking_keys",
    "build_keys",
    "candidate_pairs",
    "customer_record",
    "default_workers",
    "find_duplicates",
    "group_pairs",
    "guess_readings",
    "kanji_numeral_value",
    "keys_pool",
    "learn_readings",
    "phone_key",
    "prepare_keys",
    "record_keys",
    "romaji_key",
    "score_pair",
    "score_pairs",
    "similar_to",
]

# Names, readings and company names repeat (colleagues, common names): cache their keys.
_person_name_key = functools.lru_cache(maxsize=1 << 18)(normalize.person_name_key)
# A long vowel after an o-row or u-row kana is written ウ or ー (サトウ / サトー, タロウ / タロー,
# ユウコ / ユーコ), and normalize.kana_key already drops ー: the matching key drops that ウ
# too. (Small kana are already large in the key: キョウ → キヨウ → キヨ, as キョー → キヨ.)
_LONG_U_RE = re.compile("(?<=[オコゴソゾトドノホボポモヨロヲウクグスズツヅヌフブプムユル])ウ")


@functools.lru_cache(maxsize=1 << 18)
def _kana_key(text: str) -> str:
    return _LONG_U_RE.sub("", normalize.kana_key(text))


_company_name_key_cached = functools.lru_cache(maxsize=1 << 18)(normalize.company_name_key)


# The most common legal-form spellings, stripped before the full (slower) key so that the
# spellings of one company share one cache entry; company_name_key strips every other form.
_COMMON_FORMS = r"株式会社|有限会社|合同会社|\((?:株|有|同|カ)\)|カブシキガイシャ|カ\)|\(カ"
_COMMON_FORM_RE = re.compile(rf"^(?:{_COMMON_FORMS})\s*|\s*(?:{_COMMON_FORMS})$")


def _company_name_key(name: str) -> str:
    # Spellings of one company differ mostly in width, spaces and the legal form
    # ("株式会社　ＡＢＣ" / "ABC(株)"), which the key ignores: fold those first.
    folded = normalize.collapse_spaces(normalize.nfkc(name))
    bare = _COMMON_FORM_RE.sub("", folded)
    return _company_name_key_cached(bare or folded)


DEFAULT_THRESHOLD = 0.5
"""Pairs at or above this score are grouped as duplicates by ``find_duplicates``."""

SIMILAR_THRESHOLD = 0.2
"""``similar_to`` shows weaker candidates too: a person decides, nothing is merged."""


# --- Reason codes -------------------------------------------------------------------------

REASONS: dict[str, Any] = {
    # Name
    "same_name": _("Same name"),
    "name_variant": _("Name written differently (same reading)"),
    "name_variant_guess": _("Name written differently (probably the same reading)"),
    "name_typo": _("Name differs by one character"),
    "name_romaji": _("Name in Latin letters matches the reading"),
    "same_kana": _("Same reading (furigana)"),
    "kana_similar": _("Reading differs by one character"),
    "family_name_changed": _("Same given name, different family name"),
    "different_given_name": _("Different given name"),
    "different_name": _("Different name"),
    "different_kana": _("Different reading (furigana)"),
    # Contact
    "same_mobile": _("Same mobile number"),
    "same_phone": _("Same phone number"),
    "same_phone_local": _("Same phone number (area code missing on one)"),
    "same_email": _("Same e-mail address"),
    "similar_email": _("E-mail address differs by a typo"),
    "different_contacts": _("Different phone numbers and e-mail addresses"),
    # Person
    "same_birth_date": _("Same date of birth"),
    "close_birth_date": _("Date of birth almost the same (typo?)"),
    "different_birth_date": _("Different date of birth"),
    # Place
    "same_address": _("Same address"),
    "similar_address": _("Address differs by one digit (typo?)"),
    "same_building": _("Same building and room"),
    "same_town": _("Same town, different block number"),
    "same_postal_code": _("Same postal code"),
    "different_address": _("Different address"),
    # Company
    "same_company": _("Same company"),
    "company_variant": _("Company name written differently"),
    "different_company": _("Different company"),
    "same_corporate_number": _("Same corporate number"),
    "different_corporate_number": _("Different corporate number"),
    # Look-alikes the engine recognised and did not merge
    "household": _("Looks like a member of the same household"),
    "colleague": _("Looks like a colleague at the same company"),
}


# --- Matching-only normalisation -----------------------------------------------------------

_KANJI_DIGITS = {"〇": 0, "零": 0, "一": 1, "二": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7}
_KANJI_DIGITS |= {"八": 8, "九": 9, "壱": 1, "弐": 2, "参": 3}
_KANJI_UNITS = {"十": 10, "百": 100, "千": 1000}
_KANJI_NUMERAL_CHARS = "".join(_KANJI_DIGITS) + "".join(_KANJI_UNITS)


def kanji_numeral_value(text: str) -> int | None:
    """ "二十一" → 21, "百三" → 103, "一〇五" → 105 (digit by digit); None if not a numeral."""
    if not text or any(ch not in _KANJI_DIGITS and ch not in _KANJI_UNITS for ch in text):
        return None
    if not any(ch in _KANJI_UNITS for ch in text):
        return int("".join(str(_KANJI_DIGITS[ch]) for ch in text))
    total = 0
    digit: int | None = None
    for ch in text:
        if ch in _KANJI_DIGITS:
            if digit is not None:  # "二三十" is not a numeral
                return None
            digit = _KANJI_DIGITS[ch]
        else:
            total += (1 if digit is None else digit) * _KANJI_UNITS[ch]
            digit = None
    return total + (digit or 0)


# A kanji numeral is an address number only before these markers: town names such as
# 四日市 or 三田 keep their kanji.
_KANJI_NUMBER_RE = re.compile(rf"([{_KANJI_NUMERAL_CHARS}]+)(?=丁目|丁(?!目)|番|号|条|線|地割)")

_PREFECTURE_RE = re.compile(
    "^(?:"
    + "|".join(sorted(PREFECTURES, key=len, reverse=True))
    # Written without 都/府/県 ("大阪北区…"), but never the start of a city (大阪市, 福岡市).
    + "|(?:"
    + "|".join(p[:-1] for p in PREFECTURES if p != "北海道")
    + ")(?!市)"
    + ")"
)
# 郡 (county) is often left out: "吉田郡永平寺町" and "永平寺町" are one place. Not 小郡市.
_COUNTY_RE = re.compile(r"^[^\d\-市区町村]{1,5}郡(?!市)")
# Numbers that belong to the place name, not to the block: 北二十一条, 十二線, 第3地割.
_PLACE_NUMBER_RE = re.compile(r"\d+(?:条|線|地割)")
_BLOCK_RE = re.compile(r"\d+(?:-\d+)*")
_LOCALITY_FOLD = str.maketrans({"ヶ": "ケ", "ヵ": "ケ", "が": "ケ", "ガ": "ケ", "ノ": "の"})
# normalize.fold_dashes and fold_variant_kanji decide character by character (a dash after
# kana is a long vowel); an address key only needs every dash to be one, so one translate
# table does both, several times faster on a million addresses.
_ADDRESS_FOLD = str.maketrans({**dict.fromkeys(normalize._DASHES, "-"), **VARIANT_KANJI})
_VARIATION_SELECTORS_RE = re.compile("[\ufe00-\ufe0f\U000e0100-\U000e01ef]")
_UNIT_RE = re.compile(r"(?:号室|号|階|f|室)")


@dataclass(frozen=True, slots=True)
class AddressKey:
    """An address reduced to what identifies the place.

    ``locality`` is the place name without prefecture and county (市区町村 + 町域),
    ``numbers`` the block number in hyphen form ("4-20-20"), ``building`` the rest
    (spaces dropped, room numbers kept), all width- and variant-folded.
    """

    locality: str = ""
    numbers: str = ""
    building: str = ""

    def __bool__(self) -> bool:
        return bool(self.locality or self.numbers)

    def __reduce__(self) -> tuple[Any, tuple[str, str, str]]:
        return (AddressKey, (self.locality, self.numbers, self.building))


# Lookarounds keep the replacements constant strings (a template such as r"\1-" is expanded
# in Python for every match; address keys went from 29 to 18 µs); the order matters: a number
# written 番地 before a digit becomes a hyphen, one left at the end is dropped.
_HYPHEN_STEPS = tuple(
    (re.compile(pattern), replacement)
    for pattern, replacement in (
        (r"(?<=\d)(?:丁目\s*|番地の?\s*(?=\d)|番\s*(?=\d)|の(?=\d))", "-"),
        (r"(?<=\d)(?:番地|番|号(?!室))", ""),
        (r"(?<=\d)\s*-+\s*(?=\d)", "-"),
        (r"(?<=\d)-(?!\d)", ""),
    )
)
_DIGITS_RE = re.compile(r"\d+")
_NON_DIGITS_RE = re.compile(r"[^0-9]")


def _numbers_to_hyphens(text: str) -> str:
    """丁目/番地/番/号/の between digits → hyphens: "4丁目20番20号" → "4-20-20"."""
    for pattern, replacement in _HYPHEN_STEPS:
        text = pattern.sub(replacement, text)
    return text


@functools.lru_cache(maxsize=65536)
def address_key(text: str | None) -> AddressKey:
    """ "東京都板橋区幸町222番地12" and "板橋区幸町２２２－１２" give one key."""
    if not text:
        return AddressKey()
    cleaned = normalize.nfkc(text).translate(_ADDRESS_FOLD)
    cleaned = _VARIATION_SELECTORS_RE.sub("", normalize.collapse_spaces(cleaned).lower())
    cleaned = _KANJI_NUMBER_RE.sub(
        lambda m: str(kanji_numeral_value(m[1]) if kanji_numeral_value(m[1]) is not None else m[1]),
        cleaned,
    )
    cleaned = _numbers_to_hyphens(cleaned)
    # The block starts at the first number that is not part of the place name.
    start = len(cleaned)
    for number in _DIGITS_RE.finditer(cleaned):
        if not _PLACE_NUMBER_RE.match(cleaned, number.start()):
            start = number.start()
            break
    locality = cleaned[:start].replace(" ", "")
    rest = cleaned[start:]
    block = _BLOCK_RE.match(rest)
    numbers = block[0] if block else ""
    building = rest[len(numbers) :].replace(" ", "")
    locality = _PREFECTURE_RE.sub("", locality, count=1)
    locality = _COUNTY_RE.sub("", locality, count=1).translate(_LOCALITY_FOLD)
    building = _UNIT_RE.sub("", building.translate(_LOCALITY_FOLD))
    return AddressKey(locality=locality, numbers=numbers, building=building)


_MOBILE_PREFIXES = ("070", "080", "090", "060")


@functools.lru_cache(maxsize=65536)
def phone_key(text: str | None) -> tuple[str, bool]:
    """A phone as national digits ("0312345678", True for a full number) or, when the area code
    is missing, its local digits ("35810101", False). ("", False) when it is not a phone.

    Same folds as ``normalize.parse_phone`` (widths, dashes, brackets, +81 (0)), without its
    validation: an old number that no longer validates still identifies a customer.
    """
    cleaned = normalize.fold_dashes(normalize.nfkc(text))
    digits = _NON_DIGITS_RE.sub("", cleaned)
    if len(digits) < 5:
        return "", False
    plus = "+" in cleaned
    if plus and not digits.startswith("81"):
        try:
            return normalize.parse_phone(cleaned).e164, True
        except ValidationError:
            return "+" + digits, True
    if digits.startswith("81") and (plus or len(digits) >= 11):
        rest = digits[2:]
        return (rest if rest.startswith("0") else "0" + rest), True
    if digits.startswith("0") and len(digits) >= 9:
        return digits, True
    return digits, False


def is_mobile(national: str) -> bool:
    return national.startswith(_MOBILE_PREFIXES) and len(national) == 11


@functools.lru_cache(maxsize=65536)
def birth_date_key(text: str | None) -> datetime.date | None:
    """Western or Japanese-era date ("S59.7.19", "昭和59年7月19日", "1984/07/19") or None."""
    if not text:
        return None
    try:
        return normalize.parse_date(text)
    except ValidationError:
        return None


def _is_latin_name(text: str) -> bool:
    letters = [ch for ch in text if not ch.isspace() and ch not in ".-'"]
    return bool(letters) and all(ch.isascii() and ch.isalpha() for ch in letters)


@functools.lru_cache(maxsize=65536)
def romaji_key(kana: str) -> str:
    """Hepburn-ish romaji of a katakana reading, long vowels spelled out: "カトウ" → "katou"."""
    text = jaconv.kata2hira(kana.replace(" ", ""))
    # ー repeats the vowel before it, as people write it in names (オオノ / Oono).
    out = jaconv.kana2alphabet(text)
    return re.sub(r"[^a-z]", "", out.lower())


def _latin_name_parts(name: str) -> tuple[str, str]:
    """ "Daisuke Kawasaki" → ("kawasaki", "daisuke"): Latin names come given name first."""
    tokens = normalize.collapse_spaces(normalize.nfkc(name)).lower().split(" ")
    tokens = [re.sub(r"[^a-z]", "", t) for t in tokens]
    if len(tokens) == 2:
        return tokens[1], tokens[0]
    return "", "".join(tokens)


_EMAIL_TRIM = str.maketrans("", "", " \t\u3000<>\"'")


def _email_keys(text: str) -> str:
    key = normalize.email_key(text).translate(_EMAIL_TRIM).removeprefix("mailto:")
    return key if "@" in key[1:-1] else ""


# --- Keys ---------------------------------------------------------------------------------


@dataclass(slots=True)
class Keys:
    """The normalised keys of one record, built once by ``record_keys``."""

    id: Any = None
    kind: str = "person"
    name: str = ""  # person_name_key; "" for a Latin-letter name
    family: str = ""  # from a spaced name ("田中 麻里"), else ""
    given: str = ""
    latin: str = ""  # "kawasakidaisuke" for "Daisuke Kawasaki"
    latin_family: str = ""
    latin_given: str = ""
    kana: str = ""  # kana_key of the reading
    kana_family: str = ""
    kana_given: str = ""
    kana_raw: str = ""  # the reading as typed, romanised on demand for Latin names
    kana_guesses: tuple[str, ...] = ()  # readings other records give this name (no kana here)
    name_is_kana: bool = False  # the name itself was typed in kana ("ヤマダ タロウ")
    company: str = ""  # company_name_key
    company_text: str = ""  # the company as written (width and spaces folded), for reasons
    company_kana: str = ""  # company_name_key of the company's reading
    corporate_number: str = ""
    phones: tuple[str, ...] = ()  # national digits / E.164 for foreign numbers
    local_phones: tuple[str, ...] = ()  # numbers written without their area code
    emails: tuple[str, ...] = ()
    birth: datetime.date | None = None
    postal: str = ""  # 7 digits
    address: AddressKey = field(default_factory=AddressKey)

    @property
    def mobiles(self) -> tuple[str, ...]:
        return tuple(p for p in self.phones if is_mobile(p))

    def __reduce__(self) -> tuple[Any, tuple[Any, ...]]:
        # Keys travel between worker processes by the million: positional fields pickle
        # faster than the dataclass's per-field state (about 1.5×).
        return (Keys, tuple([getattr(self, name) for name in _KEYS_FIELDS]))


_KEYS_FIELDS = tuple(f.name for f in fields(Keys))


def _get(record: Any, *names: str) -> Any:
    """The first of ``names`` the record has a value for (record_keys hands in plain dicts
    or objects)."""
    if type(record) is dict:
        for name in names:
            value = record.get(name)
            if value is not None and value != "":
                return value
        return None
    for name in names:
        value = getattr(record, name, None)
        if value is not None and value != "":
            return value
    return None


def _as_list(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    return [str(v) for v in value if v]


_HAS_KANJI_RE = re.compile("[\u3400-\u9fff\uf900-\ufaff\U00020000-\U0003ffff]")


def _split_name(raw: str, key: Callable[[str], str]) -> tuple[str, str]:
    parts = normalize.collapse_spaces(normalize.nfkc(raw)).split(" ")
    if len(parts) == 2:
        return key(parts[0]), key(parts[1])
    return "", ""


@functools.lru_cache(maxsize=1 << 17)
def _name_keys(name: str) -> tuple[str, str, str, str, str, str, bool]:
    """(name, family, given, latin family, latin given, reading typed as the name, is kana)
    of a person's name as typed; names repeat, so this is cached."""
    if _is_latin_name(name):
        latin_family, latin_given = _latin_name_parts(name)
        return "", "", "", latin_family, latin_given, "", False
    family, given = _split_name(name, _person_name_key)
    is_kana = not _HAS_KANJI_RE.search(name) and normalize.is_kana_reading(name)
    return _person_name_key(name), family, given, "", "", name if is_kana else "", is_kana


@functools.lru_cache(maxsize=1 << 17)
def _kana_keys(kana: str) -> tuple[str, str, str]:
    return (_kana_key(kana), *_split_name(kana, _kana_key))


def record_keys(record: Any) -> Keys:
    """Normalise one record (a dict or an object with the documented attributes)."""
    if type(record) is not dict and isinstance(record, Mapping):
        record = dict(record)
    keys = Keys(id=_get(record, "id", "record_id", "pk"))
    kind = _get(record, "kind")
    keys.kind = "company" if kind == "company" else "person"

    name = str(_get(record, "name") or "")
    kana = str(_get(record, "name_kana") or "")
    company = str(_get(record, "company") or "")
    company_kana = str(_get(record, "company_kana") or "")
    if keys.kind == "company":
        # A company karte: its own name is the company; persons never match it.
        company, company_kana, name, kana = name or company, kana or company_kana, "", ""

    if name:
        (
            keys.name,
            keys.family,
            keys.given,
            keys.latin_family,
            keys.latin_given,
            typed_kana,
            keys.name_is_kana,
        ) = _name_keys(name)
        keys.latin = keys.latin_family + keys.latin_given
        kana = kana or typed_kana  # a name typed only in kana is its own reading
    if kana:
        keys.kana, keys.kana_family, keys.kana_given = _kana_keys(kana)
        keys.kana_raw = kana
    if company:
        keys.company = _company_name_key(company)
        keys.company_text = normalize.nfkc(company).replace(" ", "").replace("\u3000", "")
    if company_kana:
        keys.company_kana = _company_name_key(company_kana)
    corporate = _get(record, "corporate_number")
    if corporate:
        try:
            keys.corporate_number = normalize.normalize_corporate_number(str(corporate))
        except ValidationError:
            keys.corporate_number = ""

    phones: list[str] = []
    local: list[str] = []
    for raw in (
        _as_list(_get(record, "phones"))
        + _as_list(_get(record, "phone"))
        + _as_list(_get(record, "mobile"))
    ):
        number, full = phone_key(raw)
        if number:
            (phones if full else local).append(number)
    keys.phones = tuple(dict.fromkeys(phones))
    keys.local_phones = tuple(dict.fromkeys(local))
    emails = [
        _email_keys(e)
        for e in _as_list(_get(record, "emails"))
        + _as_list(_get(record, "email"))
        + _as_list(_get(record, "email_alt"))
    ]
    keys.emails = tuple(dict.fromkeys(e for e in emails if e))

    birth = _get(record, "birth_date", "birthday")
    if isinstance(birth, datetime.date):
        keys.birth = birth
    elif birth:
        keys.birth = birth_date_key(str(birth))
    postal = _get(record, "postal_code")
    if postal:
        digits = re.sub(r"[^0-9]", "", normalize.nfkc(str(postal)))
        keys.postal = digits if len(digits) == 7 else ""
    address = _get(record, "address")
    if address:
        keys.address = address_key(str(address))
    return keys


# --- Readings learned from the records ----------------------------------------------------


@dataclass
class Readings:
    """How the names in a data set are read, learned from the records that carry both.

    A record without furigana still has a likely reading: other customers called 翔大 or
    菊池 wrote theirs. With it, "石井翔大" (no kana) and "石井翔太 / イシイショウタ" are seen
    as one name written two ways (an IME's wrong pick), not as two people. The dictionary
    comes from the data being matched, so it follows each business's own customers.
    """

    family: dict[str, tuple[str, ...]]
    given: dict[str, tuple[str, ...]]
    full: dict[str, tuple[str, ...]]

    MAX_READINGS = 4
    MIN_FAMILY_COUNT = 2  # a family name must be seen this often to split unspaced names


def learn_readings(keys_list: Iterable[Keys]) -> Readings:
    """Count name → reading pairs over every record that has both (persons only)."""
    family: dict[str, dict[str, int]] = defaultdict(dict)
    given: dict[str, dict[str, int]] = defaultdict(dict)
    full: dict[str, dict[str, int]] = defaultdict(dict)
    for keys in keys_list:
        if not (keys.name and keys.kana) or keys.kind != "person":
            continue
        counts = full[keys.name]
        counts[keys.kana] = counts.get(keys.kana, 0) + 1
        if keys.family and keys.given and keys.kana_family and keys.kana_given:
            counts = family[keys.family]
            counts[keys.kana_family] = counts.get(keys.kana_family, 0) + 1
            counts = given[keys.given]
            counts[keys.kana_given] = counts.get(keys.kana_given, 0) + 1

    def best(table: dict[str, dict[str, int]], minimum: int = 1) -> dict[str, tuple[str, ...]]:
        out = {}
        for name, counts in table.items():
            if sum(counts.values()) < minimum:
                continue
            ranked = sorted(counts, key=lambda k: (-counts[k], k))
            out[name] = tuple(ranked[: Readings.MAX_READINGS])
        return out

    return Readings(
        family=best(family, Readings.MIN_FAMILY_COUNT), given=best(given), full=best(full)
    )


def _split_by_family(name: str, families: Mapping[str, Any]) -> tuple[str, str]:
    """ "中村彩香" → ("中村", "彩香") by the longest known family name it starts with."""
    for length in range(min(len(name) - 1, 4), 0, -1):
        if name[:length] in families:
            return name[:length], name[length:]
    return "", ""


def guess_readings(keys_list: Iterable[Keys], readings: Readings) -> None:
    """Split unspaced names by the family names the data knows ("中村彩香" → 中村 / 彩香), and
    fill ``kana_guesses`` of the person records that have a written name but no reading."""
    for keys in keys_list:
        if not keys.name or keys.kind != "person" or keys.name_is_kana:
            continue
        if not keys.family:
            keys.family, keys.given = _split_by_family(keys.name, readings.family)
        if keys.kana:
            continue
        guesses = list(readings.full.get(keys.name, ()))
        family, given = keys.family, keys.given
        if family and given:
            for fam in readings.family.get(family, ()):
                for giv in readings.given.get(given, ()):
                    guesses.append(fam + giv)
        keys.kana_guesses = tuple(dict.fromkeys(guesses))[: 2 * Readings.MAX_READINGS]


def _readings_meet(a: Keys, b: Keys) -> bool:
    """Some reading of one name is the reading (or a likely reading) of the other."""
    ra = (a.kana,) if a.kana else a.kana_guesses
    rb = (b.kana,) if b.kana else b.kana_guesses
    return bool(ra and rb) and not set(ra).isdisjoint(rb)


# --- Pair scoring -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Match:
    """A scored pair: ``score`` in 0–1 and the reason codes (keys of ``REASONS``)."""

    score: float
    reasons: tuple[str, ...] = ()
    candidate: Any = None  # the other record (``similar_to``) or its id

    @property
    def labels(self) -> list[Any]:
        return [REASONS[r] for r in self.reasons]

    def __reduce__(self) -> tuple[Any, tuple[Any, ...]]:
        return (Match, (self.score, self.reasons, self.candidate))


# Log-odds weights, one per reason. PRIOR is what a pair that shares nothing starts with.
WEIGHTS: dict[str, float] = {
    "prior": -7.0,
    "same_name": 5.0,
    "name_variant": 4.0,
    "name_variant_guess": 4.0,
    "name_romaji": 4.5,
    "name_typo": 4.0,
    "same_kana": 1.0,
    "kana_similar": 0.5,
    "family_name_changed": 1.0,
    "different_given_name": -9.0,
    "different_name": -12.0,
    "different_kana": -3.0,
    "name_conflict_overruled": -3.0,
    "same_mobile": 7.0,
    "same_phone": 3.5,
    "same_phone_local": 2.5,
    "same_email": 7.5,
    "similar_email": 5.0,
    "same_birth_date": 5.0,
    "close_birth_date": 1.0,
    "different_birth_date": -7.0,
    "same_address": 3.0,
    "similar_address": 2.0,
    "same_building": 0.5,
    "same_town": 0.5,
    "same_postal_code": 2.5,
    "different_address": -0.5,
    "company_name": 5.0,
    "same_company": 3.0,
    "company_variant": 3.0,
    "different_company": -0.5,
    "different_contacts": -1.5,
    "same_corporate_number": 9.0,
    "different_corporate_number": -9.0,
}

# Evidence a household or an office shares: it supports a match only when the names agree.
_SHARED_PLACE = frozenset(
    {"same_phone", "same_phone_local", "same_address", "similar_address", "same_building"}
    | {"same_town"}
    | {"same_postal_code", "same_company", "company_variant"}
)
# Reasons that compare the written names (same_kana alone means one side has only a reading).
_NAME_REASONS = frozenset({"same_name", "name_variant", "name_variant_guess", "name_typo"})
_NAME_REASONS |= {"name_romaji"}
# Independent kinds of place evidence (a building is part of its address).
_PLACE_GROUPS = (
    frozenset({"same_address", "similar_address"}),
    frozenset({"same_phone", "same_phone_local"}),
    frozenset({"same_company", "company_variant"}),
)
# Evidence that belongs to one person.
_PERSONAL = frozenset({"same_mobile", "same_email", "similar_email", "same_birth_date"})


# Two readings are the same when their keys agree with long vowels left out (see
# normalize.fold_long_vowels: the karte's stored `reading_key` folds them the same way).
_long_vowels_folded = functools.lru_cache(maxsize=1 << 16)(normalize.fold_long_vowels)


def _one_edit(a: str, b: str) -> bool:
    return Levenshtein.distance(a, b, score_cutoff=1) <= 1


def _name_typo(a: str, b: str) -> bool:
    """One character left out or added ("中野翔" / "中野陽翔"); not a substitution, which is
    as often another person (律子 / 尚子) as a typo, unless the readings agree."""
    return len(a) != len(b) and min(len(a), len(b)) >= 2 and _one_edit(a, b)


@functools.lru_cache(maxsize=65536)
def _romaji_parts(kana_raw: str) -> tuple[str, str, str]:
    """(family, given, whole) romaji of a reading as typed ("ヤマダ タロウ")."""
    katakana = normalize.to_katakana(kana_raw)
    parts = katakana.split(" ")
    whole = romaji_key(katakana)
    if len(parts) == 2:
        return romaji_key(parts[0]), romaji_key(parts[1]), whole
    return "", "", whole


def _name_evidence(a: Keys, b: Keys, reasons: list[str]) -> str:
    """Append the name reasons and return the name level.

    same | similar (a typo) | changed (new family name) | unknown (nothing comparable) |
    different_given (same family, another given name) | different
    """
    kana_known = bool(a.kana and b.kana)
    kana_same = kana_known and (
        a.kana == b.kana or _long_vowels_folded(a.kana) == _long_vowels_folded(b.kana)
    )
    kana_close = kana_known and not kana_same and _one_edit(a.kana, b.kana)
    if kana_same:
        reasons.append("same_kana")
    elif kana_close:
        reasons.append("kana_similar")

    if a.name and b.name:
        if a.name == b.name:
            reasons.append("same_name")
            if kana_known and not kana_same and not kana_close:
                reasons.append("different_kana")
            return "same"
        if kana_same:
            reasons.append("name_variant")
            return "same"
        if (not kana_known or kana_close) and _name_typo(a.name, b.name):
            reasons.append("name_typo")
            return "similar"
        if not kana_known and _readings_meet(a, b):
            # Same reading as far as other records tell: likely one name written two ways,
            # but a guess, so something personal must agree too (see _combine).
            reasons.append("name_variant_guess")
            return "guessed"
    elif a.latin or b.latin:
        if a.latin and b.latin:
            if a.latin == b.latin:
                reasons.append("name_romaji")
                return "same"
        else:
            latin, other = (a, b) if a.latin else (b, a)
            if other.kana_raw:
                romaji = _romaji_parts(other.kana_raw)[2]
                if Levenshtein.normalized_distance(latin.latin, romaji) <= 0.15:
                    reasons.append("name_romaji")
                    return "same"
        if kana_same:
            return "same"
    elif kana_same:
        return "same"

    parts = _compare_parts(a, b)
    if parts is None:
        return "unknown"
    family_same, given_same = parts
    if given_same and not family_same:
        reasons.append("family_name_changed")
        return "changed"
    if family_same and not given_same:
        reasons.append("different_given_name")
        return "different_given"
    reasons.append("different_name")
    return "different"


def _split_against(
    family: str, given: str, other_family: str, other_given: str, other_whole: str
) -> tuple[bool, bool] | None:
    """Compare a spaced name with another one, spaced or not."""
    if not (family and given and other_whole):
        return None
    if other_family:
        return family == other_family, given == other_given
    if other_whole.startswith(family):
        return True, other_whole[len(family) :] == given
    if other_whole.endswith(given):
        return False, True
    return False, False


def _compare_parts(a: Keys, b: Keys) -> tuple[bool, bool] | None:
    """(same family name, same given name), or None when nothing can be compared.

    Readings first (they are what a typo or a mis-conversion leaves alone), then the written
    names, then a Latin-letter name against the other's reading; a name part is known from
    a space in either record, or from a shared start or end of 2+ characters.
    """
    candidates: list[tuple[str, str, str, str, str, str]] = []
    if a.kana and b.kana:
        candidates.append(
            (a.kana_family, a.kana_given, a.kana, b.kana_family, b.kana_given, b.kana)
        )
    if a.name and b.name and a.name_is_kana == b.name_is_kana:
        # A name typed in kana says nothing about a kanji name's parts (ヤマダ / 山田).
        candidates.append((a.family, a.given, a.name, b.family, b.given, b.name))
    for latin, other in ((a, b), (b, a)):
        if latin.latin and other.kana_raw and not other.latin:
            fam, giv, whole = _romaji_parts(other.kana_raw)
            candidates.append((latin.latin_family, latin.latin_given, latin.latin, fam, giv, whole))
    if not candidates:
        return None
    for fam_a, giv_a, whole_a, fam_b, giv_b, whole_b in candidates:
        result = _split_against(fam_a, giv_a, fam_b, giv_b, whole_b)
        if result is None:
            result = _split_against(fam_b, giv_b, fam_a, giv_a, whole_a)
        if result is not None:
            return result
    for _fa, _ga, whole_a, _fb, _gb, whole_b in candidates:
        prefix = _common_prefix(whole_a, whole_b)
        suffix = _common_suffix(whole_a, whole_b)
        if prefix >= 2 and suffix == 0:
            return True, False
        if suffix >= 2 and prefix == 0:
            return False, True
    return False, False


def _common_prefix(x: str, y: str) -> int:
    n = 0
    for cx, cy in zip(x, y, strict=False):
        if cx != cy:
            break
        n += 1
    return n


def _common_suffix(x: str, y: str) -> int:
    return _common_prefix(x[::-1], y[::-1])


def _phone_evidence(a: Keys, b: Keys, reasons: list[str]) -> None:
    shared = set(a.phones) & set(b.phones)
    if shared:
        reasons.append("same_mobile" if any(is_mobile(p) for p in shared) else "same_phone")
        return
    for local_side, full_side in ((a, b), (b, a)):
        for local in local_side.local_phones:
            if len(local) >= 6 and any(p.endswith(local) for p in full_side.phones):
                reasons.append("same_phone_local")
                return
            if local in full_side.local_phones:
                reasons.append("same_phone_local")
                return


def _email_evidence(a: Keys, b: Keys, reasons: list[str]) -> None:
    if not (a.emails and b.emails):
        return
    if set(a.emails) & set(b.emails):
        reasons.append("same_email")
        return
    for x in a.emails:
        for y in b.emails:
            if min(len(x), len(y)) >= 8 and _email_typo(x, y):
                reasons.append("similar_email")
                return


_CONTACT_REASONS = frozenset(
    {"same_mobile", "same_phone", "same_phone_local", "same_email", "similar_email"}
)


def _contacts_differ(a: Keys, b: Keys, reasons: list[str]) -> None:
    """Another company, and phones and e-mails that all differ: two people who share a name
    (中村 美咲 at two firms in one district) rather than one who moved job, whose home address
    would differ too. Counted only with a different company: alone, changed contacts cost
    more true pairs than they saved false ones (bench/match_bench.py, generated sets)."""
    if (
        "different_company" in reasons
        and a.phones
        and b.phones
        and a.emails
        and b.emails
        and _CONTACT_REASONS.isdisjoint(reasons)
    ):
        reasons.append("different_contacts")


def _email_typo(x: str, y: str) -> bool:
    """One letter dropped, added or mistyped: "youk5197@" / "youko5197@", "yaho.co.jp".

    A different digit or separator is not a typo but another address: taro.yamada@ and
    taro_yamada@, or hanako81@ and hanako83@, belong to different people.
    """
    ops = Levenshtein.editops(x, y)
    if len(ops) != 1:
        return False
    op = ops[0]
    changed = [x[op.src_pos]] if op.tag in ("replace", "delete") else []
    if op.tag in ("replace", "insert"):
        changed.append(y[op.dest_pos])
    return all(ch.isalpha() for ch in changed)


def _birth_evidence(a: Keys, b: Keys, reasons: list[str]) -> None:
    if a.birth is None or b.birth is None:
        return
    if a.birth == b.birth:
        reasons.append("same_birth_date")
        return
    x, y = a.birth, b.birth
    # One field off by one (a typo or a slip converting 和暦): 1954-06-22 / 1954-07-23 too.
    diffs = (abs(x.year - y.year), abs(x.month - y.month), abs(x.day - y.day))
    if max(diffs) <= 1 and sum(1 for d in diffs if d) <= 2:
        reasons.append("close_birth_date")
    else:
        reasons.append("different_birth_date")


def _address_evidence(a: Keys, b: Keys, reasons: list[str]) -> None:
    x, y = a.address, b.address
    if x and y:
        same_place = bool(x.locality and y.locality) and (
            x.locality == y.locality
            or (
                min(len(x.locality), len(y.locality)) >= 3
                and (x.locality.endswith(y.locality) or y.locality.endswith(x.locality))
            )
        )
        if same_place and x.numbers and x.numbers == y.numbers:
            reasons.append("same_address")
            if x.building and x.building == y.building:
                reasons.append("same_building")
            return
        if same_place:
            if x.numbers and y.numbers and _one_edit(x.numbers, y.numbers):
                reasons.append("similar_address")
                return
            reasons.append("same_town")
            return
    if a.postal and b.postal:
        if a.postal == b.postal:
            reasons.append("same_postal_code")
            return
        reasons.append("different_address")
    elif x and y and x.locality and y.locality:
        reasons.append("different_address")


def _company_evidence(a: Keys, b: Keys, reasons: list[str]) -> None:
    if a.corporate_number and b.corporate_number:
        reasons.append(
            "same_corporate_number"
            if a.corporate_number == b.corporate_number
            else "different_corporate_number"
        )
    if not ((a.company or a.company_kana) and (b.company or b.company_kana)):
        return
    if a.company and a.company == b.company:
        # 株式会社山田商事 / (株)山田商事: one company, written two ways.
        reasons.append("same_company" if a.company_text == b.company_text else "company_variant")
        return
    # Kana against kanji: ﾔﾏﾀﾞｼｮｳｼﾞ (a reading typed as the name) against 山田商事's reading.
    readings_a = {k for k in (a.company, a.company_kana) if k}
    readings_b = {k for k in (b.company, b.company_kana) if k}
    if readings_a & readings_b:
        reasons.append("company_variant")
        return
    if a.company and b.company and _one_edit(a.company, b.company) and len(a.company) >= 4:
        reasons.append("company_variant")
        return
    reasons.append("different_company")


def _logistic(x: float) -> float:
    if x < -30:
        return 0.0
    return 1.0 / (1.0 + math.exp(-x))


def score_pair(a: Keys, b: Keys) -> Match:
    """Score two records' keys: 0–1 and the reasons, in the order the UI lists them."""
    if a.kind != b.kind:
        return Match(0.0, ())
    reasons: list[str] = []
    if a.kind == "company":
        level = _company_name_level(a, b, reasons)
    else:
        level = _name_evidence(a, b, reasons)
    _phone_evidence(a, b, reasons)
    _email_evidence(a, b, reasons)
    _birth_evidence(a, b, reasons)
    _address_evidence(a, b, reasons)
    if a.kind == "person":
        _company_evidence(a, b, reasons)
        _contacts_differ(a, b, reasons)
    elif a.corporate_number and b.corporate_number:
        reasons.append(
            "same_corporate_number"
            if a.corporate_number == b.corporate_number
            else "different_corporate_number"
        )
    return Match(_combine(level, reasons, a.kind), tuple(reasons))


def _company_name_level(a: Keys, b: Keys, reasons: list[str]) -> str:
    readings_a = {k for k in (a.company, a.company_kana) if k}
    readings_b = {k for k in (b.company, b.company_kana) if k}
    if not readings_a or not readings_b:
        return "unknown"  # a name not typed yet (the karte form's hint) says nothing
    if a.company and a.company == b.company:
        reasons.append("same_company" if a.company_text == b.company_text else "company_variant")
        return "same"
    if readings_a & readings_b:
        reasons.append("company_variant")
        return "same"
    reasons.append("different_company")
    return "different"


# How much household- or office-level evidence counts, by how well the names agree.
_SHARED_FACTOR = {"same": 1.0, "similar": 0.5, "guessed": 0.75, "changed": 0.5, "unknown": 0.5}


def _combine(level: str, reasons: list[str], kind: str = "person") -> float:
    personal = {"same_email" if r == "similar_email" else r for r in reasons if r in _PERSONAL}
    shared_factor = _SHARED_FACTOR.get(level, 0.0)
    total = WEIGHTS["prior"]
    reading_only = "same_kana" in reasons and _NAME_REASONS.isdisjoint(reasons)
    for reason in reasons:
        weight = WEIGHTS.get(reason, 0.0)
        if reason == "same_kana" and reading_only:
            # One side has only the reading: the reading is all there is to compare.
            weight = WEIGHTS["name_variant"]
        elif kind == "company" and reason in ("same_company", "company_variant"):
            # A company karte's own name is its name, not a workplace colleagues share; its
            # phone and address are its own too.
            weight = WEIGHTS["company_name"]
        elif kind == "company" and reason in _SHARED_PLACE:
            pass
        elif reason in _SHARED_PLACE and weight > 0:
            # A shared landline, address or company is what households and colleagues
            # have in common: it counts fully only when the names agree.
            weight *= shared_factor
        elif reason in ("different_given_name", "different_name") and len(personal) >= 2:
            # Two things only one person has (mobile, e-mail, date of birth): the name was
            # mis-converted (美紀 / 幹) or changed, not another person.
            weight = WEIGHTS["name_conflict_overruled"]
        total += weight
    if level in ("changed", "unknown") and not personal:
        # A new family name, or names that cannot be compared, need something personal.
        total = min(total, -1.0)
    if level == "guessed" and not personal:
        # A reading guessed from other records is trusted with something personal, or with
        # two independent places (home and landline, office and main line), never one:
        # a household shares an address, and two of its members may share a reading.
        present = set(reasons)
        if sum(1 for group in _PLACE_GROUPS if group & present) < 2:
            total = min(total, -1.0)
    if level in ("different_given", "different"):
        if len(personal) < 2:
            total = min(total, -2.0)
        shared = set(reasons)
        if level == "different_given" and shared & {"same_phone", "same_address"}:
            reasons.append("household")
        elif shared & {"same_company", "company_variant"}:
            reasons.append("colleague")
    return round(_logistic(total), 4)


# --- Blocking -----------------------------------------------------------------------------

MAX_BLOCK = 60
"""Blocks larger than this are skipped: a key shared by that many records (a head-office
line, a free-mail typo, 佐藤+1980-01-01 in a huge file) says nothing about any one pair.
Its pairs are still found through the other keys."""


def blocking_keys(keys: Keys) -> list[tuple[str, ...]]:
    """The blocking keys of one record; two records are compared when they share one."""
    out: list[tuple[str, ...]] = []
    for phone in keys.phones:
        out.append(("p", phone))
    for email in keys.emails:
        out.append(("e", email))
        local, _at, domain = email.partition("@")
        if len(local) >= 4:
            out.append(("el", local))  # a typo in the domain (yaho.co.jp, gmail.co)
        names = (keys.name, keys.kana, keys.latin)
        for name in names:
            if name:
                out.append(("ed", name, domain))  # a typo in the local part
    names = [n for n in (keys.name, keys.kana, keys.latin, *keys.kana_guesses[:2]) if n]
    for name in names:
        if keys.birth:
            out.append(("nb", name, keys.birth.isoformat()))
        if keys.postal:
            out.append(("nz", name, keys.postal))
        if keys.address.numbers:
            out.append(("na", name, keys.address.locality[-3:], keys.address.numbers))
        if keys.company:
            out.append(("nc", name, keys.company))
        for local in keys.local_phones:
            out.append(("nl", name, local[-4:]))
        for phone in keys.phones:
            out.append(("nl", name, phone[-4:]))
    if keys.birth:
        # Marriage or a new reading: same date of birth at the same place or phone.
        for given in (keys.given, keys.kana_given):
            if given:
                out.append(("gb", given, keys.birth.isoformat()))
        if keys.postal:
            out.append(("bz", keys.birth.isoformat(), keys.postal))
    if keys.kind == "company" and keys.company:
        out.append(("c", keys.company))
        if keys.company_kana:
            out.append(("c", keys.company_kana))
    if keys.corporate_number:
        out.append(("cn", keys.corporate_number))
    return out


def _block_codes(keys_list: Sequence[Keys], start: int, stop: int, index_bits: int) -> array:
    """Blocking keys of records start..stop-1 as sortable ints: key hash above, index below."""
    hash_mask = (1 << (63 - index_bits)) - 1
    codes = array("q")
    append = codes.append
    for index in range(start, stop):
        for key in blocking_keys(keys_list[index]):
            append(((hash(key) & hash_mask) << index_bits) | index)
    return codes


def _shared_block_codes(task: tuple[int, int, int]) -> array:
    return _block_codes(_SHARED_KEYS, *task)


def candidate_pairs(
    keys_list: Sequence[Keys], *, max_block: int = MAX_BLOCK, pool: Any = None
) -> list[tuple[int, int]]:
    """Index pairs (i < j) of records that share at least one blocking key, each once.

    Keys are hashed into one 63-bit int per (key, record) and sorted, instead of a dict of
    tuples: a million records have ~10 million keys, which as Python tuples in a dict take
    gigabytes. Two different keys sharing a hash only add a pair for scoring to reject.
    """
    n = len(keys_list)
    index_bits = max(20, n.bit_length())
    if pool is not None and n > _PARALLEL_MIN:
        step = -(-n // 8)
        tasks = [(start, min(start + step, n), index_bits) for start in range(0, n, step)]
        parts = pool.map(_shared_block_codes, tasks)
    else:
        parts = [_block_codes(keys_list, 0, n, index_bits)]
    codes = sorted(itertools.chain.from_iterable(parts))
    del parts
    index_mask = (1 << index_bits) - 1
    seen: set[int] = set()
    pairs: list[tuple[int, int]] = []

    def emit(run: list[int]) -> None:
        if len(run) > max_block:
            return
        members = sorted(set(run))
        for x, i in enumerate(members):
            for j in members[x + 1 :]:
                code = i * n + j
                if code not in seen:
                    seen.add(code)
                    pairs.append((i, j))

    # Most keys belong to one record: a run list is only made for a key seen twice.
    run: list[int] | None = None
    previous, current = 0, -1
    for code in codes:
        block = code >> index_bits
        if block == current:
            if run is None:
                run = [previous & index_mask]
            run.append(code & index_mask)
        else:
            if run is not None:
                emit(run)
                run = None
            current = block
        previous = code
    if run is not None:
        emit(run)
    return pairs


# --- Grouping -----------------------------------------------------------------------------


@dataclass
class Group:
    """Records the engine takes for one customer, with the links that joined them."""

    members: list[Any]  # record ids (or indexes when records have none)
    score: float  # the weakest link that joined the group
    pairs: list[tuple[Any, Any, Match]]

    @property
    def reasons(self) -> list[str]:
        seen: dict[str, None] = {}
        for _a, _b, match in self.pairs:
            for reason in match.reasons:
                seen.setdefault(reason, None)
        return list(seen)


_CANNOT_LINK_REASONS = frozenset(
    {"different_birth_date", "different_given_name", "different_name", "different_corporate_number"}
)


def _cannot_link(match: Match) -> bool:
    return match.score < SIMILAR_THRESHOLD and bool(_CANNOT_LINK_REASONS & set(match.reasons))


def group_pairs(
    keys_list: Sequence[Keys], scored: list[tuple[float, int, int, Match]], threshold: float
) -> list[Group]:
    """Join pairs strongest first; never join two groups that contain a clear non-match."""
    parent = list(range(len(keys_list)))
    members: dict[int, list[int]] = {}

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    n = len(keys_list)
    # Pairs scored at or above SIMILAR_THRESHOLD can never forbid a link: only the others
    # (never compared, or scored low) are scored again when two groups meet.
    compatible = {i * n + j if i < j else j * n + i for _s, i, j, _m in scored}

    def conflict(x: int, y: int) -> bool:
        if (x * n + y if x < y else y * n + x) in compatible:
            return False
        return _cannot_link(score_pair(keys_list[x], keys_list[y]))

    links: dict[int, list[tuple[int, int, Match]]] = {}
    scored.sort(key=lambda item: (-item[0], item[1], item[2]))
    for score, i, j, match in scored:
        if score < threshold:
            break
        ri, rj = find(i), find(j)
        if ri == rj:
            links[ri].append((i, j, match))
            continue
        group_i = members.get(ri, [i])
        group_j = members.get(rj, [j])
        if any(conflict(x, y) for x in group_i for y in group_j):
            continue
        parent[rj] = ri
        members[ri] = group_i + group_j
        members.pop(rj, None)
        joined = links.pop(ri, [])
        joined.extend(links.pop(rj, []))
        joined.append((i, j, match))
        links[ri] = joined

    groups: list[Group] = []
    for root, indexes in members.items():
        pairs = links.get(root, [])
        ids = [keys_list[i].id if keys_list[i].id is not None else i for i in indexes]
        groups.append(
            Group(
                members=ids,
                score=min(m.score for _i, _j, m in pairs),
                pairs=[
                    (
                        keys_list[i].id if keys_list[i].id is not None else i,
                        keys_list[j].id if keys_list[j].id is not None else j,
                        m,
                    )
                    for i, j, m in pairs
                ],
            )
        )
    groups.sort(key=lambda g: -g.score)
    return groups


# --- Running it ---------------------------------------------------------------------------

_PARALLEL_MIN = 20_000
"""Below this many records (or pairs) worker processes cost more than they save."""

# Worker state for forked processes: the keys list is inherited, only indexes travel.
_SHARED_KEYS: Sequence[Keys] = ()

Progress = Callable[[int, int], None]


@contextlib.contextmanager
def keys_pool(keys_list: Sequence[Keys], workers: int) -> Iterator[Any]:
    """Forked worker processes that share ``keys_list`` (inherited, never pickled); None
    when one process is enough. Use it for ``candidate_pairs`` and ``score_pairs``."""
    global _SHARED_KEYS
    if workers <= 1 or len(keys_list) < _PARALLEL_MIN:
        yield None
        return
    _SHARED_KEYS = keys_list
    # Frozen objects are left alone by the collector, so the children's collections do not
    # touch (and copy) the parent's million objects.
    gc.freeze()
    try:
        with multiprocessing.get_context("fork").Pool(workers) as pool:
            yield pool
    finally:
        _SHARED_KEYS = ()
        gc.unfreeze()


@contextlib.contextmanager
def _collector_paused() -> Iterator[None]:
    """Building a million small objects triggers the cyclic collector over and over, each
    pass over everything built so far; nothing built here is cyclic."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _score_chunk(pairs: Sequence[tuple[int, int]]) -> list[tuple[float, int, int, Match]]:
    return _score_with(_SHARED_KEYS, pairs)


def _score_with(
    keys_list: Sequence[Keys], pairs: Iterable[tuple[int, int]]
) -> list[tuple[float, int, int, Match]]:
    out = []
    for i, j in pairs:
        match = score_pair(keys_list[i], keys_list[j])
        if match.score >= SIMILAR_THRESHOLD:
            out.append((match.score, i, j, match))
    return out


def _keys_chunk(task: tuple[Callable[[Any], Any] | None, list[Any]]) -> list[Keys]:
    convert, records = task
    if convert is None:
        return [record_keys(r) for r in records]
    return [record_keys(convert(r)) for r in records]


def _chunks(items: Iterable[Any], size: int) -> Iterator[list[Any]]:
    chunk: list[Any] = []
    for item in items:
        chunk.append(item)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def build_keys(
    records: Iterable[Any],
    *,
    workers: int = 1,
    convert: Callable[[Any], Any] | None = None,
    progress: Progress | None = None,
    total: int = 0,
    chunk_size: int = 5000,
) -> list[Keys]:
    """``record_keys`` for every record, in order, in worker processes when ``workers`` > 1.

    ``records`` may be a lazy iterator (e.g. database rows): it is read here, in the calling
    thread, a chunk at a time, with a bounded number of chunks in flight. ``convert`` (a
    module-level function) turns each item into a record inside the workers.
    """
    if isinstance(records, Sequence):
        total = total or len(records)
        if workers <= 1 or len(records) < _PARALLEL_MIN:
            workers = 1
    keys_list: list[Keys] = []
    with _collector_paused():
        if workers <= 1:
            for chunk in _chunks(records, chunk_size):
                keys_list.extend(_keys_chunk((convert, chunk)))
                if progress:
                    progress(len(keys_list), max(total, len(keys_list)))
            return keys_list
        with multiprocessing.get_context("fork").Pool(workers) as pool:
            pending: collections.deque[Any] = collections.deque()
            for chunk in _chunks(records, chunk_size):
                pending.append(pool.apply_async(_keys_chunk, ((convert, chunk),)))
                while len(pending) > 2 * workers:
                    keys_list.extend(pending.popleft().get())
                    if progress:
                        progress(len(keys_list), max(total, len(keys_list)))
            while pending:
                keys_list.extend(pending.popleft().get())
                if progress:
                    progress(len(keys_list), max(total, len(keys_list)))
    return keys_list


def score_pairs(
    keys_list: Sequence[Keys],
    pairs: Sequence[tuple[int, int]],
    *,
    pool: Any = None,
    progress: Progress | None = None,
    chunk_size: int = 20_000,
) -> list[tuple[float, int, int, Match]]:
    """Score candidate pairs, keeping those at or above ``SIMILAR_THRESHOLD``."""
    scored: list[tuple[float, int, int, Match]] = []
    done = 0
    with _collector_paused():
        if pool is None or len(pairs) < _PARALLEL_MIN:
            for chunk in _chunks(pairs, chunk_size):
                scored.extend(_score_with(keys_list, chunk))
                done += len(chunk)
                if progress:
                    progress(done, len(pairs))
            return scored
        chunks = [pairs[i : i + chunk_size] for i in range(0, len(pairs), chunk_size)]
        for chunk, part in zip(chunks, pool.imap(_score_chunk, chunks), strict=True):
            scored.extend(part)
            done += len(chunk)
            if progress:
                progress(done, len(pairs))
    return scored


def prepare_keys(keys_list: Sequence[Keys]) -> None:
    """What needs every record at once: readings learned from the whole set."""
    guess_readings(keys_list, learn_readings(keys_list))


def find_duplicates(
    records: Sequence[Any],
    threshold: float = DEFAULT_THRESHOLD,
    *,
    workers: int | None = None,
    keys: Sequence[Keys] | None = None,
) -> list[Group]:
    """Groups of records that look like one customer, strongest first.

    ``workers`` processes share the work (default: 1; the scan passes the core count).
    Pass precomputed ``keys`` to skip ``record_keys``.
    """
    workers = workers or 1
    keys_list = list(keys) if keys is not None else build_keys(records, workers=workers)
    prepare_keys(keys_list)
    with keys_pool(keys_list, workers) as pool:
        pairs = candidate_pairs(keys_list, pool=pool)
        scored = score_pairs(keys_list, pairs, pool=pool)
    return group_pairs(keys_list, scored, threshold)


def similar_to(
    record: Any,
    candidates: Iterable[Any],
    *,
    threshold: float = SIMILAR_THRESHOLD,
    limit: int = 10,
) -> list[Match]:
    """Candidates that look like ``record``, best first ("似たお客様がいます").

    ``candidates`` are records (or ``Keys``) already narrowed by the caller, e.g. customers
    sharing a phone, e-mail or name key. Each Match carries its candidate.
    """
    mine = record if isinstance(record, Keys) else record_keys(record)
    found = []
    for candidate in candidates:
        theirs = candidate if isinstance(candidate, Keys) else record_keys(candidate)
        match = score_pair(mine, theirs)
        if match.score >= threshold:
            found.append(Match(match.score, match.reasons, candidate))
    found.sort(key=lambda m: -m.score)
    return found[:limit]


def customer_record(customer: Any) -> dict[str, Any]:
    """The matching record of an ``enishi.customers.models.Customer``."""
    company = getattr(customer, "company", None)
    return {
        "id": customer.pk,
        "kind": customer.kind,
        "name": customer.name,
        "name_kana": customer.name_kana,
        "company": company.name if company is not None else "",
        "company_kana": company.name_kana if company is not None else "",
        "postal_code": customer.postal_code,
        "address": customer.address,
        "phones": [p for p in (customer.phone, customer.mobile) if p],
        "emails": [e for e in (customer.email, customer.email_alt) if e],
        "birth_date": customer.birthday,
        "corporate_number": customer.corporate_number,
    }


def _cpu_count() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def default_workers() -> int:
    """Worker processes for a background scan: every core this process may use."""
    return max(1, _cpu_count())
