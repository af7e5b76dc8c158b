"""Which company karte a person row names: the choice rule, and how the link is told.

A person row names its company by code or by name. Names are looked up by their matching key
(`quality.normalize.company_name_key`: without the legal form, folded), so "さくら工務店" finds
"有限会社さくら工務店" as well as "さくら工務店". Among the companies found the one whose name
agrees best wins:

    0  the same name (after width, case and space folding): さくら工務店 = ｻｸﾗ工務店
    1  the same legal form, in the same place, written differently: ㈱山田商事 = 株式会社山田商事
    2  the same name only without the legal form: さくら工務店 ~ 有限会社さくら工務店

Two or more companies that agree equally well are never chosen between silently: the row
asks the person which one (or none). A company row of the same file that agrees better than
every existing company wins over them (the file says which company it means).

What the analysis stores in a person row's `company` (`ImportRow.company`):

    {"id": 12, "name": "…", "how": "code" | "exact" | "similar"}   an existing company karte
        (with "written": the name as the file writes it, when "similar")
    {"row": 7, "line": 9, "name": "…"}                              a company row of the file
    {"new": key, "name": "…", "kana": "…", "code": "…"}            a company the run creates
    {"choices": [{"id", "name", "code", "place"}, …], "name", "key", "how"}  several: the
        person chooses; with "chosen": the id chosen (and "id": the same), or 0 for no company
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from typing import Any

from django.utils.translation import gettext as _

from enishi.quality import normalize

EXACT, SAME_FORM, SIMILAR = 0, 1, 2
NO_COMPANY = 0  # "chosen": imported without a company


@functools.lru_cache(maxsize=1 << 14)
def exact_name(name: str) -> str:
    """A company name folded only for width, case and spaces: "ｻｸﾗ 工務店" → "サクラ工務店"."""
    return normalize.collapse_spaces(normalize.nfkc(name)).replace(" ", "").casefold()


def rank(wanted: str, candidate: str) -> int:
    """How well a company named `candidate` agrees with the name `wanted` of a row, both
    already of the same matching key: EXACT, SAME_FORM or SIMILAR (lower is better)."""
    if exact_name(wanted) == exact_name(candidate):
        return EXACT
    mine, theirs = normalize.detect_legal_form(wanted), normalize.detect_legal_form(candidate)
    if (mine.form, mine.position) == (theirs.form, theirs.position):
        return SAME_FORM
    return SIMILAR


def best(wanted: str, candidates: Iterable[dict[str, Any]]) -> tuple[list[dict[str, Any]], int]:
    """The candidates (dicts with a "name") that agree best with `wanted`, in their order, and
    how well; ([], SIMILAR + 1) when there are none."""
    found: list[dict[str, Any]] = []
    level = SIMILAR + 1
    for candidate in candidates:
        agrees = rank(wanted, candidate["name"])
        if agrees < level:
            found, level = [candidate], agrees
        elif agrees == level:
            found.append(candidate)
    return found, level


def how(level: int) -> str:
    return "exact" if level == EXACT else "similar"


def choice(company: dict[str, Any]) -> dict[str, Any]:
    """A company karte offered in a choice: what tells it from the others of that name."""
    place = "".join(company.get(k) or "" for k in ("prefecture", "city"))
    return {
        "id": company["pk"],
        "name": company["name"],
        "code": company.get("code") or "",
        "place": place,
    }


def undecided(company: dict[str, Any]) -> bool:
    """A row whose company is one of several the person has not chosen between yet."""
    return bool(company.get("choices")) and "chosen" not in company


def with_choice(company: dict[str, Any], chosen: int | None) -> dict[str, Any]:
    """`company` (a row's, with choices) with `chosen` (a karte id of the choices, NO_COMPANY,
    or None: undecided again)."""
    out = {k: v for k, v in company.items() if k not in ("chosen", "id")}
    if chosen is None:
        return out
    out["chosen"] = chosen
    if chosen != NO_COMPANY:
        out["id"] = chosen
    return out


def choice_label(company: dict[str, Any]) -> str:
    """A company offered in a choice as people tell it from the others of its name:
    "株式会社山田商事 (C-001・東京都千代田区・#12)"."""
    parts = [company.get("code") or "", company.get("place") or "", f"#{company['id']}"]
    return f"{company['name']} ({'・'.join(p for p in parts if p)})"


def link_of(company: dict[str, Any]) -> dict[str, Any]:
    """What a row's company will be, for the preview and the API (empty: the row names no
    company). `to`: existing (`id`; `how` it was found: code, exact, similar or chosen),
    file_row (the company row's `number`, and its `line` in the file: the row as the preview
    and `text` name it), new, choose (among `choices`) or none; `text` says it."""
    if not company:
        return {}
    link: dict[str, Any] = {
        "to": "none",
        "id": None,
        "name": company.get("name", ""),
        "written": "",
        "how": None,
        "number": None,
        "line": None,
        "choices": [{**c, "label": choice_label(c)} for c in company.get("choices") or []],
    }
    if company.get("choices"):
        chosen = company.get("chosen")
        if chosen is None:
            link.update(to="choose", how=company.get("how") or "exact")
        elif chosen != NO_COMPANY:
            link.update(to="existing", id=chosen, how="chosen")
            link["name"] = next(
                (c["name"] for c in link["choices"] if c["id"] == chosen), link["name"]
            )
    elif company.get("id"):
        link.update(to="existing", id=company["id"], how=company.get("how"))
        link["written"] = company.get("written", "")
    elif company.get("row"):
        link.update(to="file_row", number=company["row"], line=company.get("line"))
    elif company.get("new"):
        link["to"] = "new"
    link["text"] = sentence(link)
    return link


def sentence(link: dict[str, Any]) -> str:
    """The link in a sentence, in the reader's language."""
    to, name = link["to"], link["name"]
    if to == "existing":
        if link["how"] == "similar" and link["written"]:
            return _("Linked to the company karte “%(name)s” (the file says “%(written)s”).") % {
                "name": name,
                "written": link["written"],
            }
        if link["how"] == "chosen":
            return _("Linked to the company karte “%(name)s”, as chosen.") % {"name": name}
        return _("Linked to the company karte “%(name)s”.") % {"name": name}
    if to == "file_row":
        # Rows are named by their line in the file, as the preview's first column shows them.
        return _("Linked to the company in row %(n)s of this file.") % {
            "n": link["line"] or link["number"]
        }
    if to == "new":
        return _("The company “%(name)s” will be created.") % {"name": name}
    if to == "choose" and link["how"] == "similar":
        return _(
            "Several company kartes have a name like “%(name)s”: choose the one to link to, "
            "or none."
        ) % {"name": name}
    if to == "choose":
        return _(
            "Several company kartes are called “%(name)s”: choose the one to link to, or none."
        ) % {"name": name}
    return _("Not linked to a company, as chosen (the file says “%(name)s”).") % {"name": name}
