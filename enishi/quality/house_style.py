"""House style (表記ルール): how this business writes company names, street addresses and dates.

Pure functions that take the rule as an argument, so the customer service (on save), the
one-time clean-up and the template filters share them. The rules themselves are stored in
`core.models.HouseStyle` and read through `current()` (cached briefly: read on every request).

Each styler returns its input unchanged when the rule does not apply, so applying a style twice
changes nothing the second time, and text the rule does not understand is never touched.
"""

from __future__ import annotations

import contextlib
import contextvars
import datetime
import re
import time
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass

from django.utils import timezone

from enishi.core.later import reads_japanese
from enishi.quality import normalize
from enishi.quality.match import kanji_numeral_value

# --- Company names -----------------------------------------------------------------------

KEEP = "keep"
SPELL_OUT = "spell_out"
FRONT = "front"
BACK = "back"


def company_name_styled(name: str, rule: str) -> str:
    """ "(株)山田商事" → "株式会社山田商事" (spell out, same position), or the legal form moved to
    the front / back. English forms ("Yamada Co., Ltd.") and names without a Japanese legal
    form are left as they are. A branch after the company ("(株)山田商事 大阪営業所") stays
    after it: the rule styles the company's own name ("山田商事株式会社 大阪営業所")."""
    if rule == KEEP or not name:
        return name
    company, branch = _company_and_branch(name)
    if branch:
        styled = _styled(company, rule)
        if styled != company:
            return styled + branch
    return _styled(name, rule)


# What follows a company's name when it names a part of it: 大阪営業所, 営業部, 東京支店 …
_BRANCH_RE = re.compile(
    r"(?:支店|支社|本店|本社|営業所|出張所|事業所|事業部|本部|工場|研究所|事務所|センター|"
    r"店|部|課|室|係|グループ|チーム)$"
)
_SEPARATORS = " \u3000/／"


def _company_and_branch(name: str) -> tuple[str, str]:
    """ "(株)山田商事 大阪営業所" → ("(株)山田商事", " 大阪営業所"); ("…", "") when the name ends
    in no branch or department after a space or slash, or no legal form comes before it."""
    text = name.strip()
    for i, ch in enumerate(text):
        if ch not in _SEPARATORS or i == 0:
            continue
        company, branch = text[:i], text[i:]
        rest = normalize.nfkc(branch).strip(" /")
        if not _BRANCH_RE.search(rest) or _has_legal_form(rest):
            continue
        if normalize.detect_legal_form(company).form:
            return company, branch
    return text, ""


def _styled(name: str, rule: str) -> str:
    found = normalize.detect_legal_form(name)
    if not found.form or found.form.isascii() or _has_legal_form(found.bare):
        return name  # no Japanese legal form, or two of them: nothing safe to rewrite
    position = {FRONT: "before", BACK: "after"}.get(rule, found.position)
    if found.form not in MOVABLE_FORMS or _BRANCH_SEPARATOR.search(found.bare):
        # 一般社団法人, 医療法人 … are written in front whatever the house does with 株式会社;
        # "山田商事 大阪営業所", "山田商事／営業部": the form belongs to the company's name,
        # not after the branch.
        position = found.position
    # Only the legal form is the rule's business: the name keeps its widths as typed, except
    # half-width katakana (bank-style ﾔﾏﾀﾞｼｮｳｼﾞ), which no one writes beside 株式会社.
    bare = _full_width_kana(_bare_as_typed(name, found.bare, found.position))
    styled = found.form + bare if position == "before" else bare + found.form
    return name if styled == name else styled


_BRANCH_SEPARATOR = re.compile(r"[\s/]")
_HALF_WIDTH_KANA = re.compile("[\uff66-\uff9f]+")


def _full_width_kana(text: str) -> str:
    """ﾔﾏﾀﾞｼｮｳｼﾞ → ヤマダショウジ (sound marks joined); everything else as it is."""
    return _HALF_WIDTH_KANA.sub(lambda m: unicodedata.normalize("NFKC", m[0]), text)


# The forms of the Companies Act, which businesses write before or after the name as they
# please; every other kind of corporation puts its form in front.
MOVABLE_FORMS = frozenset({"株式会社", "有限会社", "合同会社", "合名会社", "合資会社"})


def _bare_as_typed(name: str, bare: str, position: str) -> str:
    """The part of `name` that `bare` (found in its NFKC form) is, as it was typed:
    "(株)ＡＢＣ" → "ＡＢＣ", not "ABC"."""
    typed = name.strip()
    cuts = range(len(typed)) if position == "before" else range(len(typed), 0, -1)
    for cut in cuts:
        part = typed[cut:] if position == "before" else typed[:cut]
        if normalize.collapse_spaces(normalize.nfkc(part)).strip() == bare:
            return part.strip()
    return bare


def _has_legal_form(text: str) -> bool:
    # detect_legal_form never strips a form that is the whole name ("株式会社"), so it is asked
    # about the text with a stand-in name before and after it.
    return any(normalize.detect_legal_form(t).form for t in (f"仮{text}", f"{text}仮"))


# --- Street addresses ----------------------------------------------------------------------

HYPHEN = "hyphen"
HYPHEN_FULL_WIDTH = "hyphen_full"

_DIGITS_TO_ASCII = str.maketrans("０１２３４５６７８９", "0123456789")
_DIGITS_TO_FULL = str.maketrans("0123456789-", "０１２３４５６７８９－")
_DASH_CLASS = "".join(sorted(normalize._DASHES))
_KANJI_NUMBER = r"[〇一二三四五六七八九十百千]+"
_KANJI_BEFORE_MARKER = re.compile(rf"({_KANJI_NUMBER})(?=\s*(?:丁目|番地|番|号(?!室)))")
_DASH_BETWEEN_DIGITS = re.compile(rf"(?<=\d)\s*[{re.escape(_DASH_CLASS)}]\s*(?=\d)")
# The block number at the start of the street part: 1丁目2番3号, 1丁目2番地の3, 2番3号, 1丁目2-3.
# Anything after it (building, room) is kept as typed.
_BLOCK = re.compile(r"^\d+(?:\s*(?:丁目|番地の|番地|番|の|-)\s*\d+)*\s*(?:号(?!室)|番地|番)?")


def street_styled(street: str, rule: str) -> str:
    """ "一丁目２番地の３ 山田ビル5F" → "1-2-3 山田ビル5F" (half-width) or "１－２－３ 山田ビル5F"
    (full-width). Only the block number is rewritten; a street that does not start with one
    is returned unchanged."""
    if rule not in (HYPHEN, HYPHEN_FULL_WIDTH) or not street:
        return street
    text = street.strip().translate(_DIGITS_TO_ASCII)
    text = _KANJI_BEFORE_MARKER.sub(
        lambda m: str(kanji_numeral_value(m[1]) if kanji_numeral_value(m[1]) is not None else m[1]),
        text,
    )
    text = _DASH_BETWEEN_DIGITS.sub("-", text)
    match = _BLOCK.match(text)
    if not match:
        return street
    numbers = re.findall(r"\d+", match[0])
    rest = text[match.end() :].strip()
    if len(numbers) < 2 or rest.startswith(("号", "室")):
        return street  # "3丁目" or "12番地" alone: a hyphen form would lose what it is
    block = "-".join(numbers)
    if rule == HYPHEN_FULL_WIDTH:
        block = block.translate(_DIGITS_TO_FULL)
    styled = f"{block} {rest}" if rest else block
    return street if styled == street else styled


# --- Dates ---------------------------------------------------------------------------------

ISO = "iso"
SLASH = "slash"
KANJI = "kanji"
ERA = "era"


def date_styled(value: datetime.date | None, rule: str, *, for_reader: bool = True) -> str:
    """`value` as the house style writes it. The two Japanese styles (2026年4月1日, 令和8年4月1日)
    are for Japanese readers: someone reading in another language gets the ISO form, which
    they can read (`for_reader=False` shows the style itself, as the settings page does)."""
    if value is None:
        return ""
    if for_reader and rule in (KANJI, ERA) and not reads_japanese():
        rule = ISO
    if rule == SLASH:
        return f"{value.year}/{value.month:02d}/{value.day:02d}"
    if rule == KANJI:
        return f"{value.year}年{value.month}月{value.day}日"
    if rule == ERA:
        return normalize.format_era_date(value)
    return value.isoformat()


def datetime_styled(value: datetime.datetime | None, rule: str) -> str:
    if value is None:
        return ""
    if timezone.is_aware(value):
        value = timezone.localtime(value)
    return f"{date_styled(value.date(), rule)} {value:%H:%M}"


# --- The stored rules ----------------------------------------------------------------------

_suspended: contextvars.ContextVar[bool] = contextvars.ContextVar("house_style_off", default=False)


@contextlib.contextmanager
def suspended() -> Iterator[None]:
    """Save kartes as given, without the house style (undoing a clean-up puts back what was
    typed). Per thread and task: other people's saves meanwhile keep the style."""
    token = _suspended.set(True)
    try:
        yield
    finally:
        _suspended.reset(token)


def is_suspended() -> bool:
    return _suspended.get()


@dataclass(frozen=True)
class Style:
    company_name: str = KEEP
    street: str = KEEP
    dates: str = ISO


# Read on every save and every date shown: kept in this process for a short while (other server
# processes see a change within CACHE_SECONDS), never unpickled from a cache backend per call.
CACHE_SECONDS = 30
_memo: tuple[Style, float] | None = None


def current() -> Style:
    global _memo
    if _memo is not None and _memo[1] > time.monotonic():
        return _memo[0]
    from enishi.core.models import HouseStyle

    row = HouseStyle.objects.filter(pk=1).first()
    style = (
        Style(company_name=row.company_name, street=row.street, dates=row.dates) if row else Style()
    )
    remember(style)
    return style


def remember(style: Style, *, seconds: float | None = CACHE_SECONDS) -> None:
    """Use `style` in this process for `seconds` (None: until the process ends)."""
    global _memo
    _memo = (style, float("inf") if seconds is None else time.monotonic() + seconds)


def forget() -> None:
    global _memo
    _memo = None
