"""Printed kartes: A4 PDFs made on the server with WeasyPrint.

The page is an HTML template (`transfer/cards/karte_pdf.html`) with a print stylesheet of its
own (`static/enishi/print_pdf.css`): A4, margins, the karte's name at the top of every page, page
numbers within the karte ("2 / 3"), print date and who printed in the footer, each karte from a
new page.
The Japanese font is named explicitly (Noto Sans CJK JP, Debian's fonts-noto-cjk, installed by
`scripts/ensure-browser.sh`), so 髙, 﨑 and 𠮷 print as typed and the text stays searchable.

WeasyPrint fetches nothing: the stylesheet is handed over as text and the URL fetcher only
accepts data: URLs, so nothing a user typed can make the server load a file or a web page.
Links in the PDF (deals, orders on the timeline) point at this server (`base_url`).
"""

from __future__ import annotations

import datetime
import functools
import io
import logging
from collections.abc import Sequence
from pathlib import Path
from typing import IO

from django.contrib.staticfiles import finders
from django.template.loader import render_to_string
from django.utils import timezone

from enishi.transfer.card_selectors import KartePrint

STYLESHEET = "enishi/print_pdf.css"

# WeasyPrint reports every rendering step at INFO; a server log needs none of them.
logging.getLogger("weasyprint.progress").setLevel(logging.WARNING)


@functools.cache
def _weasyprint():
    """WeasyPrint, imported on first use: loading it (Pango, fonts) takes half a second that
    every other command and request would otherwise pay."""
    import weasyprint
    from weasyprint.text.fonts import FontConfiguration
    from weasyprint.urls import URLFetcher

    return weasyprint, FontConfiguration, URLFetcher


@functools.cache
def _stylesheet_text() -> str:
    path = finders.find(STYLESHEET)
    if not path:
        raise FileNotFoundError(STYLESHEET)
    return Path(path).read_text(encoding="utf-8")


def _render(
    prints: Sequence[KartePrint],
    *,
    printed_by: str,
    base_url: str,
    title: str,
    printed_at: datetime.datetime,
    fonts,
    stylesheets: list,
):
    """The laid-out WeasyPrint document of these kartes (pages not yet written)."""
    html = render_to_string(
        "transfer/cards/karte_pdf.html",
        {
            "prints": prints,
            "printed_by": printed_by,
            "printed_at": timezone.localtime(printed_at),
            "title": title,
        },
    )
    weasyprint, _FontConfiguration, URLFetcher = _weasyprint()
    document = weasyprint.HTML(
        string=html,
        base_url=base_url,
        url_fetcher=URLFetcher(allowed_protocols=("data",)),
    )
    return document.render(stylesheets=stylesheets, font_config=fonts)


def karte_pdf(
    prints: Sequence[KartePrint],
    *,
    printed_by: str,
    base_url: str,
    title: str,
    printed_at: datetime.datetime | None = None,
) -> bytes:
    """One PDF with each karte starting on a new page, its pages numbered within it."""
    book = KarteBook(printed_by=printed_by, base_url=base_url, title=title, printed_at=printed_at)
    book.add(prints)
    out = io.BytesIO()
    book.write(out)
    return out.getvalue()


class KarteBook:
    """A PDF of kartes, each laid out as a document of its own, written once at the end.

    The kartes of a printed selection are handed out one by one (each to whoever visits or
    calls that customer), so a page's footer says where it is within its karte: "2 / 3" is
    the second of that karte's three pages. WeasyPrint's counter(pages) counts the pages of a
    whole document and has no total per part, so each karte is its own document, whose
    counter(page) / counter(pages) are the karte's; the laid-out pages are then joined into one
    PDF with one copy of each font subset. Only one karte's HTML and box tree exist at a time;
    what stays are the laid-out pages (about 0.25 MB each). The stylesheet is parsed once.
    """

    def __init__(
        self,
        *,
        printed_by: str,
        base_url: str,
        title: str,
        printed_at: datetime.datetime | None = None,
    ) -> None:
        weasyprint, FontConfiguration, _URLFetcher = _weasyprint()
        self.fonts = FontConfiguration()
        self.stylesheets = [weasyprint.CSS(string=_stylesheet_text(), font_config=self.fonts)]
        self.printed_by = printed_by
        self.base_url = base_url
        self.title = title
        self.printed_at = printed_at or timezone.now()
        self.pages: list = []
        self._last = None

    def add(self, prints: Sequence[KartePrint]) -> int:
        """Lay out these kartes after the pages so far; returns the number of pages added."""
        added = 0
        for shown in prints:
            document = _render(
                [shown],
                printed_by=self.printed_by,
                base_url=self.base_url,
                title=self.title,
                printed_at=self.printed_at,
                fonts=self.fonts,
                stylesheets=self.stylesheets,
            )
            self.pages.extend(document.pages)
            self._last = document
            added += len(document.pages)
        return added

    def write(self, target: IO[bytes]) -> None:
        if self._last is None:
            raise ValueError("no kartes were added")
        self._last.copy(self.pages).write_pdf(target)
