"""Messages translated when they are read, not when they are made.

A message that is stored (an import row's problem, an export's error, a merge's remark, a value
in the history) is kept as its English msgid and its parameters, and rendered with gettext in
the language of whoever reads it: the preview, a download, the API. Someone working in Japanese
and a colleague reading in English each see it in their own language.

Stored forms (JSON-safe, compact: most stored messages are a msgid alone):

- ``"text"``: shown as it is. Rows stored before messages were kept for later, names, headers,
  and messages that came as plain text (a ValidationError raised with formatted text).
- ``{"m": msgid, "p": {name: value}, "c": context, "cap": 1}``: ``gettext(msgid)`` (``pgettext``
  with a context) ``% params``, with a capital first letter when "cap" is set (field labels are
  ``capfirst(verbose_name)``). "p", "c" and "cap" only when needed. A parameter is a number (kept
  as is, for ``%(count)d``) or any stored form.
- ``{"m": singular, "pl": plural, "n": 3, "p": {...}}``: ``ngettext(singular, plural, 3)``
  (``npgettext`` with "c") ``% params``: a message with plural forms, the number kept with it.
  Made from an ``ngettext_lazy`` (``npgettext_lazy``) proxy given a number:
  ``later(ngettext_lazy("%(count)s deal", "%(count)s deals", n), count=n)``.
- ``[a, b]``: the parts joined with "、"; ``{"j": [a, b], "s": " / "}``: joined with "s".
- ``{"t": "2026-04-01T09:30:00+00:00"}`` (a moment), ``{"d": "2026-04-01"}`` (a day): written
  in the house date style when read, as ``|moment`` and ``|day`` write them (its Japanese
  styles for a Japanese reader only, ISO for another), in the server's time zone. Made with
  `dated`; a date given as a plain parameter is kept as its text (ISO).

Making one: ``later(gettext_lazy("Too long: at most %(limit)s characters."), limit=40)`` (a
gettext_lazy or pgettext_lazy proxy, so makemessages finds the msgid; ``capfirst`` of one
too), or ``stored(value)`` for anything: a lazy proxy, a `Message`, text. A ValidationError keeps
its message and params (`error_messages`, `field_messages`): raise them as
``ValidationError(gettext_lazy("…%(limit)s…"), params={...})``, not with eagerly formatted
text, and they are stored for later too. Text columns hold one as JSON (`as_text`,
`translated_text`).

A msgid reworded later leaves the rows stored with the old one in English for every reader:
keep the old msgid in the catalogue (gettext_noop) when rewording a message that is stored.
"""

from __future__ import annotations

import datetime
import json
from collections.abc import Iterable
from typing import Any

from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.utils import translation
from django.utils.functional import Promise
from django.utils.text import capfirst

_STORED_KEYS = frozenset({"m", "j", "t", "d"})
_CAPFIRST = getattr(capfirst, "__wrapped__", capfirst)
_SCALARS = (int, float, bool, type(None))
_JOIN = "、"


class Message:
    """A message kept for later: `stored` is its JSON form; ``str()`` renders it in the active
    language (so a template or a form shows it as any text)."""

    __slots__ = ("stored",)

    def __init__(self, stored: dict[str, Any]) -> None:
        self.stored = stored

    def __str__(self) -> str:
        return translated(self.stored)

    def __repr__(self) -> str:
        return f"Message({self.stored!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Message) and other.stored == self.stored

    def __hash__(self) -> int:
        return hash(json.dumps(self.stored, sort_keys=True, ensure_ascii=False))


def later(message: Any, /, **params: Any) -> Message:
    """`message` (a gettext_lazy or pgettext_lazy proxy, capfirst of one, or an English msgid
    marked with gettext_noop) with its parameters, to be translated when read."""
    node = message.stored if isinstance(message, Message) else _from_lazy(message)
    if node is None:
        if not isinstance(message, str):
            raise TypeError(f"not a message to translate later: {message!r}")
        node = {"m": message}
    if params:
        node = {**node, "p": {name: stored(value) for name, value in params.items()}}
    return Message(node)


def reads_japanese() -> bool:
    """Whether the active language (the reader's) is Japanese; Japanese when none is active."""
    return (translation.get_language() or "ja").split("-")[0] == "ja"


def list_separator() -> str:
    """Between the items of a list in running text: 「、」 in Japanese, ", " in English."""
    return _JOIN if reads_japanese() else ", "


def join_list(items: Iterable[Any]) -> str:
    return list_separator().join(str(item) for item in items)


def dated(value: datetime.date | datetime.datetime) -> Message:
    """A day or a moment as a parameter, written in the reader's house date style when read
    (``later(gettext_lazy("… %(when)s …"), when=dated(entry.at))``)."""
    if isinstance(value, datetime.datetime):
        return Message({"t": value.isoformat()})
    return Message({"d": value.isoformat()})


def join(parts: Iterable[Any], separator: str = _JOIN) -> Message:
    """Parts (any stored forms) shown one after the other, `separator` between them."""
    items = [stored(part) for part in parts]
    return Message({"j": items} if separator == _JOIN else {"j": items, "s": separator})


def stored(value: Any) -> Any:
    """The JSON-safe stored form of a message, a parameter or a part: a lazy proxy keeps its
    msgid; one this module cannot take apart (another function made lazy) is rendered now."""
    if isinstance(value, str) or type(value) in _SCALARS:
        return str(value) if isinstance(value, str) and type(value) is not str else value
    if isinstance(value, Message):
        return value.stored
    if isinstance(value, Promise):
        node = _from_lazy(value)
        return node if node is not None else str(value)
    if isinstance(value, list | tuple):
        return [stored(item) for item in value]
    if isinstance(value, dict) and _STORED_KEYS & value.keys():
        return value
    return str(value)


def _from_lazy(value: Any) -> dict[str, Any] | None:
    if not isinstance(value, Promise):
        return None
    # A lazy proxy pickles as (function, arguments): the public way to see what it will call.
    try:
        func, args, kwargs = value.__reduce__()[1][:3]
    except (AttributeError, IndexError, TypeError, ValueError):
        return None
    if kwargs:
        return _plural_from_lazy(func, args, kwargs)
    if func is translation.gettext and len(args) == 1 and isinstance(args[0], str):
        return {"m": args[0]}
    if func is translation.pgettext and len(args) == 2 and all(isinstance(a, str) for a in args):
        return {"m": args[1], "c": args[0]}
    if func is _CAPFIRST and len(args) == 1:
        inner = _from_lazy(args[0])
        if inner is not None and "m" in inner:
            return {**inner, "cap": 1}
    return None


def _plural_from_lazy(func: Any, args: tuple, kwargs: dict[str, Any]) -> dict[str, Any] | None:
    """An ngettext_lazy or npgettext_lazy proxy made with a number (one without a number is
    resolved only when formatted with it: not something to store)."""
    if args or func not in (translation.ngettext, translation.npgettext):
        return None
    singular, plural, number = kwargs.get("singular"), kwargs.get("plural"), kwargs.get("number")
    if not (isinstance(singular, str) and isinstance(plural, str) and type(number) is int):
        return None
    node: dict[str, Any] = {"m": singular, "pl": plural, "n": number}
    if func is translation.npgettext:
        if set(kwargs) != {"context", "singular", "plural", "number"}:
            return None
        if not isinstance(kwargs["context"], str):
            return None
        node["c"] = kwargs["context"]
    elif set(kwargs) != {"singular", "plural", "number"}:
        return None
    return node


def is_message(value: Any) -> bool:
    """Whether a JSON value is a message kept for later (not plain text or other data)."""
    return isinstance(value, dict) and isinstance(value.get("m", value.get("j")), str | list)


def translated(value: Any) -> str:
    """A stored message (or a `Message`, a lazy proxy, plain text) in the active language."""
    if isinstance(value, str):
        return value
    if isinstance(value, Message):
        value = value.stored
    if isinstance(value, dict):
        if "m" in value:
            return _render_message(value)
        if "j" in value:
            separator = str(value["s"]) if "s" in value else list_separator()
            return separator.join(translated(part) for part in value["j"])
        if "t" in value or "d" in value:
            return _render_date(value)
    if isinstance(value, list | tuple):
        return list_separator().join(translated(part) for part in value)
    if value is None:
        return ""
    return str(value)


def _render_message(node: dict[str, Any]) -> str:
    msgid = str(node["m"])
    context = node.get("c")
    if "pl" in node:
        plural, number = str(node["pl"]), node.get("n")
        number = number if type(number) is int else 0
        if context:
            text = translation.npgettext(context, msgid, plural, number)
        else:
            text = translation.ngettext(msgid, plural, number)
        msgid = msgid if number == 1 else plural  # the English, should the translation not fit
    else:
        text = translation.pgettext(context, msgid) if context else translation.gettext(msgid)
    params = node.get("p")
    if params:
        values = {
            name: value if type(value) in _SCALARS else translated(value)
            for name, value in params.items()
        }
        try:
            text = text % values
        except (KeyError, TypeError, ValueError):
            # A translation that does not fit the parameters stored: the English still does.
            try:
                text = msgid % values
            except (KeyError, TypeError, ValueError):
                text = msgid
    return capfirst(text) if node.get("cap") else text


def _render_date(node: dict[str, Any]) -> str:
    from enishi.quality import house_style  # it reads the language from here

    style = house_style.current().dates
    try:
        if "t" in node:
            return house_style.datetime_styled(datetime.datetime.fromisoformat(node["t"]), style)
        return house_style.date_styled(datetime.date.fromisoformat(node["d"]), style)
    except (TypeError, ValueError):
        return str(node.get("t") or node.get("d") or "")


# --- text columns ---------------------------------------------------------------------------------

_TEXT_MARKS = ('{"m":', '{"j":')


def as_text(value: Any) -> str:
    """A message for a text column: JSON when it is kept for later, else the text itself."""
    node = stored(value)
    if isinstance(node, dict):
        return json.dumps(node, ensure_ascii=False, separators=(",", ":"))
    return translated(node)


def translated_text(text: str) -> str:
    """What `as_text` wrote, in the active language; older plain text is shown as it is."""
    if text.startswith(_TEXT_MARKS):
        try:
            return translated(json.loads(text))
        except ValueError:
            return text
    return text


# --- ValidationError ------------------------------------------------------------------------------


def _of(error: ValidationError) -> Any:
    message = error.message
    node = stored(message)
    if not error.params:
        return node
    if isinstance(node, dict) and "m" in node:
        return {**node, "p": {name: stored(value) for name, value in error.params.items()}}
    return str(message) % error.params


def error_messages(error: ValidationError) -> list[Any]:
    """The stored forms of every message of `error` (of every field, for one with fields)."""
    if hasattr(error, "error_dict"):
        return [_of(e) for errors in error.error_dict.values() for e in errors]
    return [_of(e) for e in error.error_list]


def field_messages(error: ValidationError) -> dict[str, list[Any]]:
    """As `ValidationError.message_dict`, with stored forms instead of text."""
    if hasattr(error, "error_dict"):
        return {name: [_of(e) for e in errors] for name, errors in error.error_dict.items()}
    return {NON_FIELD_ERRORS: [_of(e) for e in error.error_list]}


def error_message(error: ValidationError, separator: str = " ") -> Any:
    """All the messages of `error` as one stored message (as ``" ".join(error.messages)``)."""
    found = error_messages(error)
    if len(found) == 1:
        return found[0]
    return join(found, separator).stored
