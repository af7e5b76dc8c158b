"""Printed kartes: A4 PDFs made on the server with WeasyPrint.

The page is an HTML template (`transfer/cards/karte_pdf.html`) with a print stylesheet of its
own (`static/enishi/print_pdf.css`): A4, margins, the karte's name at the top of every page, page
numbers, print date and who printed in the footer, one karte per page (`break-before: page`).
The Japanese font is named explicitly (Noto Sans CJK JP, Debian's fonts-noto-cjk, installed by
`scripts/ensure-browser.sh`), so 髙, 﨑 and 𠮷 print as typed and the text stays searchable.

WeasyPrint fetches nothing: the stylesheet is handed over as text and the URL fetcher only
accepts data: URLs, so nothing a user typed can make the server load a file or a web page.
Links in the PDF (deals, orders on the timeline) point at this server (`base_url`).
"""

from __future__ import annotations

import datetime
import functools
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
    printed_at: datetime.datetime | None,
    fonts,
    extra_css: str = "",
):
    """The laid-out WeasyPrint document of these kartes (pages not yet written)."""
    html = render_to_string(
        "transfer/cards/karte_pdf.html",
        {
            "prints": prints,
            "printed_by": printed_by,
            "printed_at": timezone.localtime(printed_at or timezone.now()),
            "title": title,
        },
    )
    weasyprint, _FontConfiguration, URLFetcher = _weasyprint()
    stylesheets = [weasyprint.CSS(string=_stylesheet_text(), font_config=fonts)]
    if extra_css:
        stylesheets.append(weasyprint.CSS(string=extra_css, font_config=fonts))
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
    """One PDF with each karte starting on a new page."""
    _weasyprint_module, FontConfiguration, _URLFetcher = _weasyprint()
    fonts = FontConfiguration()
    document = _render(
        prints,
        printed_by=printed_by,
        base_url=base_url,
        title=title,
        printed_at=printed_at,
        fonts=fonts,
    )
    return document.write_pdf()


class KarteBook:
    """A PDF of many kartes, laid out a batch at a time and written once at the end.

    Only one batch's HTML and box tree exist at a time; what stays are the laid-out pages
    (about 0.25 MB each), which WeasyPrint writes together into one PDF with one copy of each
    font subset. Page numbers continue from batch to batch; the total ("n / N") is left out,
    because it is only known once the last batch is laid out.
    """

    def __init__(
        self,
        *,
        printed_by: str,
        base_url: str,
        title: str,
        printed_at: datetime.datetime | None = None,
    ) -> None:
        _weasyprint_module, FontConfiguration, _URLFetcher = _weasyprint()
        self.fonts = FontConfiguration()
        self.printed_by = printed_by
        self.base_url = base_url
        self.title = title
        self.printed_at = printed_at or timezone.now()
        self.pages: list = []
        self._last = None

    def add(self, prints: Sequence[KartePrint]) -> int:
        """Lay out these kartes after the pages so far; returns the number of pages added."""
        # A page counter reset on a batch's first page replaces that page's own increment.
        numbering = (
            f"@page :first {{ counter-reset: page {len(self.pages) + 1}; }}\n"
            "@page { @bottom-right { content: counter(page); } }"
        )
        document = _render(
            prints,
            printed_by=self.printed_by,
            base_url=self.base_url,
            title=self.title,
            printed_at=self.printed_at,
            fonts=self.fonts,
            extra_css=numbering,
        )
        self.pages.extend(document.pages)
        self._last = document
        return len(document.pages)

    def write(self, target: IO[bytes]) -> None:
        if self._last is None:
            raise ValueError("no kartes were added")
        self._last.copy(self.pages).write_pdf(target)
