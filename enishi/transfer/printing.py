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


def karte_pdf(
    prints: Sequence[KartePrint],
    *,
    printed_by: str,
    base_url: str,
    title: str,
    printed_at: datetime.datetime | None = None,
) -> bytes:
    """One PDF with each karte starting on a new page."""
    html = render_to_string(
        "transfer/cards/karte_pdf.html",
        {
            "prints": prints,
            "printed_by": printed_by,
            "printed_at": timezone.localtime(printed_at or timezone.now()),
            "title": title,
        },
    )
    weasyprint, FontConfiguration, URLFetcher = _weasyprint()
    fonts = FontConfiguration()
    stylesheet = weasyprint.CSS(string=_stylesheet_text(), font_config=fonts)
    document = weasyprint.HTML(
        string=html,
        base_url=base_url,
        url_fetcher=URLFetcher(allowed_protocols=("data",)),
    )
    return document.write_pdf(stylesheets=[stylesheet], font_config=fonts)
