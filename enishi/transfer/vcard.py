"""vCard files: reading 2.1 / 3.0 / 4.0 as phones and address books write them, writing 3.0 and 4.0.

This module knows the format only (lines, parameters, escaping, folding, encodings); which
property holds which fact of a karte is in `vcard_map`.

Why not vobject (installed): it is a good 3.0 library, but it fails on what Japanese users'
files actually contain. A 2.1 card from Android or an old feature phone breaks its parser at
the first QUOTED-PRINTABLE soft line break (`=` at the end of a line); it reads text, not bytes,
so `CHARSET=SHIFT_JIS` values (and Shift_JIS files without any CHARSET) cannot be decoded per
property; and it has no 4.0 rules (RFC 6868 caret escapes, VALUE=uri phones). Its parse errors
are line numbers without a reason people could act on. The format is small: the reader and
writer here are ~300 lines, tested against real-world samples and by property tests of the
escape and fold round trip (tests/test_vcard_format.py).

Reading works on bytes: lines are unfolded (RFC 6350 §3.2) and QUOTED-PRINTABLE soft breaks
joined before any decoding, then each value is decoded with its own CHARSET, else the file's
encoding (UTF-8, else Shift_JIS (cp932) or EUC-JP, detected), so a file that mixes Shift_JIS
and UTF-8 cards still reads. Writing folds at 75 octets without splitting a UTF-8 sequence.
"""

from __future__ import annotations

import codecs
import quopri
import re
from dataclasses import dataclass, field

import charset_normalizer
from django.utils.translation import gettext as _

LINE_OCTETS = 75
VERSIONS = ("3.0", "4.0")

# CHARSET parameter values seen in the wild → Python codecs. Feature phones write SHIFT_JIS
# but use Microsoft's extensions (①, ㈱, 髙), which only cp932 decodes.
_CHARSETS = {
    "SHIFT_JIS": "cp932",
    "SHIFT-JIS": "cp932",
    "SJIS": "cp932",
    "X-SJIS": "cp932",
    "MS_KANJI": "cp932",
    "CP932": "cp932",
    "WINDOWS-31J": "cp932",
    "MS932": "cp932",
}
_ENCODING_NAMES = {
    "utf-8": "UTF-8",
    "cp932": "Shift_JIS (cp932)",
    "euc_jp": "EUC-JP",
    "iso2022_jp": "ISO-2022-JP",
    "utf-16": "UTF-16",
}
_BARE_ENCODINGS = {"QUOTED-PRINTABLE", "BASE64", "B", "8BIT", "7BIT"}
_NAME_RE = re.compile(r"[A-Za-z0-9-]+")


class VCardFileError(ValueError):
    """The file as a whole cannot be read; the message says why, for people."""


@dataclass
class Property:
    """One content line: `group.NAME;PARAM=value:value`. `value` is decoded text, still
    escaped as written (components are split before unescaping)."""

    name: str
    value: str
    params: dict[str, list[str]] = field(default_factory=dict)
    group: str = ""
    line: int = 0
    version: str = ""
    binary: bool = False

    def param(self, name: str) -> str:
        values = self.params.get(name.upper())
        return values[0] if values else ""

    @property
    def types(self) -> set[str]:
        """TYPE values in lower case (`TYPE=WORK,VOICE`, `type=work;type=voice`, 2.1's bare
        `TEL;CELL`); a PREF parameter (4.0) counts as the type "pref"."""
        found = {
            part.strip().lower()
            for value in self.params.get("TYPE", [])
            for part in value.split(",")
            if part.strip()
        }
        if self.params.get("PREF"):
            found.add("pref")
        return found

    @property
    def text(self) -> str:
        return unescape(self.value, self.version)

    def components(self, size: int = 0) -> list[str]:
        """The `;`-separated parts of a structured value (N, ADR, ORG), unescaped, padded."""
        parts = [unescape(part, self.version) for part in split_escaped(self.value, ";")]
        return parts + [""] * (size - len(parts))


@dataclass
class Card:
    number: int  # 1-based position in the file
    line: int  # line of its BEGIN:VCARD
    version: str = ""
    properties: list[Property] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)  # the card cannot be used
    warnings: list[str] = field(default_factory=list)  # it can, but something was left out

    def all(self, name: str) -> list[Property]:
        name = name.upper()
        return [p for p in self.properties if p.name == name]

    def first(self, name: str) -> Property | None:
        found = self.all(name)
        return found[0] if found else None


@dataclass
class ParsedFile:
    cards: list[Card]
    encoding: str  # how the file's text was read, for people ("UTF-8", "Shift_JIS (cp932)")


# --- Escaping and folding ------------------------------------------------------------------


def escape(text: str) -> str:
    """A text value or one component of a structured value, escaped for 3.0 and 4.0."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return text.replace("\\", "\\\\").replace("\n", "\\n").replace(",", "\\,").replace(";", "\\;")


def unescape(text: str, version: str = "") -> str:
    """Undo `escape`. 2.1 only escapes `;` (and some writers `,` and `\\`); elsewhere a
    backslash before any other character is kept as written rather than lost."""
    if "\\" not in text:
        return text
    known = ";,\\" if version == "2.1" else ";,\\:nN"
    out: list[str] = []
    i = 0
    while i < len(text):
        ch = text[i]
        if ch == "\\" and i + 1 < len(text) and text[i + 1] in known:
            following = text[i + 1]
            out.append("\n" if following in "nN" else following)
            i += 2
            continue
        out.append(ch)
        i += 1
    return "".join(out)


def split_escaped(text: str, separator: str) -> list[str]:
    """Split at separators that are not escaped with a backslash; parts stay escaped."""
    if "\\" not in text:
        return text.split(separator)
    parts: list[str] = []
    current: list[str] = []
    i = 0
    while i < len(text):
        ch = text[i]
        if ch == "\\" and i + 1 < len(text):
            current.append(text[i : i + 2])
            i += 2
            continue
        if ch == separator:
            parts.append("".join(current))
            current = []
        else:
            current.append(ch)
        i += 1
    parts.append("".join(current))
    return parts


def fold(line: str, limit: int = LINE_OCTETS) -> str:
    """Fold a content line into physical lines of at most `limit` octets (continuations start
    with a space, which counts), never splitting the UTF-8 bytes of one character."""
    if len(line.encode("utf-8")) <= limit:
        return line
    lines: list[str] = []
    current: list[str] = []
    size = 0
    for ch in line:
        octets = len(ch.encode("utf-8", "surrogatepass"))
        if size + octets > limit:
            lines.append("".join(current))
            current, size = [" "], 1
        current.append(ch)
        size += octets
    lines.append("".join(current))
    return "\r\n".join(lines)


def _param_value(value: str, version: str) -> str:
    value = value.replace("\r\n", "\n").replace("\r", "\n")
    if version == "4.0":
        # RFC 6868: the only way to put a quote or a line break into a 4.0 parameter.
        value = value.replace("^", "^^").replace("\n", "^n").replace('"', "^'")
    else:
        value = value.replace('"', "").replace("\r", " ").replace("\n", " ")
    if any(ch in value for ch in ",;:"):
        return f'"{value}"'
    return value


class CardWriter:
    """Content lines of one card, in order: `add` takes a value already escaped."""

    def __init__(self, version: str, *, charset_param: bool = False) -> None:
        if version not in VERSIONS:
            raise ValueError(f"vCard version {version!r} is not written")
        self.version = version
        # 3.0 says nothing of charsets (MIME decides), but Outlook reads a .vcf without
        # CHARSET in the Windows code page; iPhone, Android and Google read the parameter.
        self.charset_param = charset_param and version == "3.0"
        self.lines = ["BEGIN:VCARD", f"VERSION:{version}"]

    def add(self, name: str, value: str, params: list[tuple[str, list[str]]] | None = None) -> None:
        params = list(params or [])
        if self.charset_param and not value.isascii():
            params.append(("CHARSET", ["UTF-8"]))
        head = name + "".join(
            f";{key}=" + ",".join(_param_value(v, self.version) for v in values)
            for key, values in params
        )
        self.lines.append(f"{head}:{value}")

    def text(self) -> str:
        return "".join(fold(line) + "\r\n" for line in [*self.lines, "END:VCARD"])


# --- Reading -----------------------------------------------------------------------------


def _to_utf8(data: bytes) -> tuple[bytes, str | None]:
    """UTF-16 files (Windows Notepad's "Unicode") become UTF-8; BOMs go."""
    if data.startswith(codecs.BOM_UTF8):
        return data[len(codecs.BOM_UTF8) :], "utf-8"
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            return data.decode("utf-16").encode("utf-8"), "utf-16"
        except UnicodeDecodeError:
            raise VCardFileError(
                _("The file is damaged: its UTF-16 text cannot be read.")
            ) from None
    head = data[:400]
    if head.count(b"\x00") > len(head) // 4:
        codec = "utf-16-le" if head[1:2] == b"\x00" else "utf-16-be"
        try:
            return data.decode(codec).encode("utf-8"), "utf-16"
        except UnicodeDecodeError:
            pass
    return data, None


def _file_encoding(data: bytes) -> str:
    """The encoding of values that name no CHARSET: UTF-8 when the whole file is valid UTF-8,
    else the Japanese encoding it is valid in; "" when none fits (then value by value)."""
    if b"\x1b$B" in data or b"\x1b$@" in data:
        return "iso2022_jp"
    candidates = []
    for codec in ("utf-8", "cp932", "euc_jp"):
        try:
            data.decode(codec)
        except UnicodeDecodeError:
            continue
        if codec == "utf-8":
            return codec
        candidates.append(codec)
    if len(candidates) == 1:
        return candidates[0]
    if candidates:
        best = charset_normalizer.from_bytes(data, cp_isolation=candidates).best()
        if best is not None and best.encoding in candidates:
            return best.encoding
        return candidates[0]
    return ""


def _codec(charset: str) -> str | None:
    name = charset.strip().upper()
    if not name:
        return None
    if name in _CHARSETS:
        return _CHARSETS[name]
    try:
        return codecs.lookup(name).name
    except LookupError:
        return None


def _split_colon(raw: bytes) -> tuple[bytes, bytes] | None:
    """Name-and-parameters and value of a content line: the first colon outside quotes."""
    colon = raw.find(b":")
    if colon < 0:
        return None
    if b'"' not in raw[:colon]:
        return raw[:colon], raw[colon + 1 :]
    quoted = False
    for i, byte in enumerate(raw):
        if byte == 0x22:
            quoted = not quoted
        elif byte == 0x3A and not quoted:
            return raw[:i], raw[i + 1 :]
    return None


def _split_outside_quotes(text: str, separator: str) -> list[str]:
    if '"' not in text:
        return text.split(separator)
    parts, current, quoted = [], [], False
    for ch in text:
        if ch == '"':
            quoted = not quoted
            current.append(ch)
        elif ch == separator and not quoted:
            parts.append("".join(current))
            current = []
        else:
            current.append(ch)
    parts.append("".join(current))
    return parts


def _caret_decode(value: str) -> str:
    if "^" not in value:
        return value
    return re.sub(r"\^(.)", lambda m: {"n": "\n", "'": '"', "^": "^"}.get(m[1], m[0]), value)


def _is_qp(head: bytes) -> bool:
    return b"QUOTED-PRINTABLE" in head.upper()


def _logical_lines(data: bytes) -> list[tuple[int, bytes]]:
    """Unfold: a line starting with a space or tab continues the previous one (3.0, 4.0 and,
    in practice, 2.1); a QUOTED-PRINTABLE value ending in `=` continues on the next line."""
    logical: list[tuple[int, bytearray]] = []
    qp_open = False
    for number, raw in enumerate(data.splitlines(), 1):
        if logical and qp_open:
            current = logical[-1][1]
            del current[len(current.rstrip(b" \t")) - 1 :]  # the soft break's "="
            current += raw.lstrip(b" \t")
        elif logical and raw[:1] in (b" ", b"\t"):
            logical[-1][1].extend(raw[1:])
        else:
            logical.append((number, bytearray(raw)))
        line = logical[-1][1]
        if line.rstrip(b" \t").endswith(b"="):
            split = _split_colon(bytes(line))
            qp_open = split is not None and _is_qp(split[0])
        else:
            qp_open = False
    return [(number, bytes(line)) for number, line in logical]


class _Decoder:
    """Decodes values: their CHARSET, else the file's encoding, else UTF-8 / cp932 in turn."""

    def __init__(self, file_encoding: str) -> None:
        self.file_encoding = file_encoding

    def __call__(self, raw: bytes, charset: str, card: Card, line: int) -> str:
        if raw.isascii():
            return raw.decode("ascii")
        codec = _codec(charset) if charset else None
        if charset and codec is None:
            card.warnings.append(
                _("Line %(line)s names an unknown character set (%(charset)s).")
                % {"line": line, "charset": charset[:30]}
            )
        # UTF-8 first: Shift_JIS text is almost never valid UTF-8 by chance, while UTF-8
        # text often decodes as (wrong) cp932, e.g. in a file that mixes both.
        for candidate in (codec, "utf-8", self.file_encoding, "cp932"):
            if not candidate:
                continue
            try:
                return raw.decode(candidate)
            except (UnicodeDecodeError, LookupError):
                continue
        card.warnings.append(
            _("Line %(line)s has characters that could not be read; they show as �.")
            % {"line": line}
        )
        return raw.decode(codec or self.file_encoding or "utf-8", errors="replace")


def _property(number: int, raw: bytes, card: Card, decode: _Decoder) -> Property | None:
    split = _split_colon(raw)
    if split is None:
        card.warnings.append(
            _("Line %(line)s is not a vCard line and was left out.") % {"line": number}
        )
        return None
    head_raw, value_raw = split
    head = decode(head_raw, "", card, number).replace("\x00", "")
    parts = _split_outside_quotes(head, ";")
    group, _dot, name = parts[0].strip().rpartition(".")
    if not _NAME_RE.fullmatch(name):
        card.warnings.append(
            _("Line %(line)s is not a vCard line and was left out.") % {"line": number}
        )
        return None
    params: dict[str, list[str]] = {}
    for part in parts[1:]:
        key, equals, value = part.partition("=")
        key = key.strip().upper()
        if not equals:
            # 2.1: bare parameters are types (TEL;CELL) or encodings (;QUOTED-PRINTABLE).
            key, value = ("ENCODING", key) if key in _BARE_ENCODINGS else ("TYPE", key)
        values = [v.strip().strip('"') for v in _split_outside_quotes(value, ",")]
        if card.version == "4.0":
            values = [_caret_decode(v) for v in values]
        params.setdefault(key, []).extend(v for v in values if v)
    prop = Property(
        name=name.upper(), value="", params=params, group=group, line=number, version=card.version
    )
    encoding = prop.param("ENCODING").upper()
    if encoding in ("B", "BASE64"):
        prop.binary = True  # photos, logos, sounds: not kept
        return prop
    if encoding in ("QUOTED-PRINTABLE", "QP"):
        value_raw = quopri.decodestring(value_raw)
    text = decode(value_raw, prop.param("CHARSET"), card, number)
    prop.value = text.replace("\r\n", "\n").replace("\r", "\n").replace("\x00", "")
    return prop


def _agent_open(card: Card) -> bool:
    """2.1 writes an assistant's card inside the card, right after an empty AGENT value."""
    last = card.properties[-1] if card.properties else None
    return last is not None and last.name == "AGENT" and not last.value.strip()


def _cut_off(card: Card) -> None:
    card.problems.append(
        _("The card is cut off: END:VCARD is missing (line %(line)s onwards).")
        % {"line": card.line}
    )


def parse_vcards(data: bytes, *, max_cards: int) -> ParsedFile:
    """Every card of a .vcf file. Raises VCardFileError when the file as a whole is unusable;
    a card with a problem is returned with it in `problems`."""
    if not data.strip():
        raise VCardFileError(_("The file is empty."))
    data, declared = _to_utf8(data)
    if not re.search(rb"BEGIN\s*:\s*VCARD", data, re.IGNORECASE):
        raise VCardFileError(
            _(
                "This is not a vCard file: it has no BEGIN:VCARD line. Export the contacts "
                "from the address book as vCard (.vcf)."
            )
        )
    file_encoding = declared or _file_encoding(data)
    decode = _Decoder("utf-8" if declared else file_encoding)
    cards: list[Card] = []
    card: Card | None = None
    depth = 0
    for number, raw in _logical_lines(data):
        if not raw.strip():
            continue
        bare = raw.strip().upper().replace(b" ", b"")
        if bare == b"BEGIN:VCARD":
            if card is not None and (depth or _agent_open(card)):
                depth += 1  # a card inside a card (2.1 AGENT): not ours to read
                continue
            if card is not None:  # the card before never ended: it is cut off, not this one
                _cut_off(card)
                card, depth = None, 0
            if len(cards) >= max_cards:
                raise VCardFileError(
                    _(
                        "The file has more than %(max)s cards. Split it into smaller files "
                        "and import them one after the other."
                    )
                    % {"max": f"{max_cards:,}"}
                )
            card = Card(number=len(cards) + 1, line=number)
            cards.append(card)
            continue
        if card is None:
            continue  # text between cards
        if bare == b"END:VCARD":
            if depth:
                depth -= 1
            else:
                card = None
            continue
        if depth:
            continue
        prop = _property(number, raw, card, decode)
        if prop is None:
            continue
        if prop.name == "VERSION":
            card.version = prop.value.strip()
            continue
        card.properties.append(prop)
    if card is not None:
        _cut_off(card)
    if not cards:
        raise VCardFileError(_("The file has no complete vCard."))
    label = (
        _ENCODING_NAMES.get(file_encoding, file_encoding)
        if file_encoding
        else _("several encodings")
    )
    return ParsedFile(cards=cards, encoding=label)
