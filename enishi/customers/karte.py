"""Everything the karte page shows beside the customer's own facts, gathered from the apps'
`karte` modules: the sections (deals, inquiries, orders, contracts), the key figures of the
header and the one timeline of all kinds, filterable by kind.

The caller has already checked that the user may see the customer; everything here belongs to
that customer, so no further permission filter applies.
"""

from dataclasses import dataclass, field
from typing import Any

from django.utils.translation import gettext_lazy as _

from enishi.activities import karte as activities_karte
from enishi.core.timeline import Cursor, TimelineItem, merge
from enishi.deals import karte as deals_karte
from enishi.inquiries import karte as inquiries_karte
from enishi.sales import karte as sales_karte

# Filter name -> label; the order is that of the filter buttons.
TIMELINE_KINDS = {
    "activity": _("Activities"),
    "deal": _("Deals"),
    "inquiry": _("Inquiries"),
    "order": _("Orders"),
    "contract": _("Contracts"),
}


def _sources(customer, kind: str) -> list:
    by_kind = {
        "activity": lambda: [activities_karte.timeline_source(customer)],
        "deal": lambda: deals_karte.timeline_sources(customer),
        "inquiry": lambda: inquiries_karte.timeline_sources(customer),
        "order": lambda: sales_karte.timeline_sources(customer)[:1],
        "contract": lambda: sales_karte.timeline_sources(customer)[1:],
    }
    kinds = [kind] if kind in by_kind else list(by_kind)
    return [source for k in kinds for source in by_kind[k]()]


def karte_timeline(
    customer, *, kind: str = "", before: Cursor | None, size: int
) -> tuple[list[TimelineItem], Cursor | None]:
    """One page of the karte's timeline, newest first, all kinds or only `kind`."""
    return merge(_sources(customer, kind), before=before, size=size)


@dataclass
class KarteSections:
    deals: list = field(default_factory=list)
    inquiries: list = field(default_factory=list)
    orders: list = field(default_factory=list)
    contracts: list = field(default_factory=list)
    figures: dict[str, Any] = field(default_factory=dict)


def karte_sections(customer) -> KarteSections:
    figures = {
        **sales_karte.sales_figures(customer),
        **deals_karte.deal_figures(customer),
        **inquiries_karte.inquiry_figures(customer),
    }
    return KarteSections(
        deals=deals_karte.deals_section(customer) if figures["deal_count"] else [],
        inquiries=inquiries_karte.inquiries_section(customer) if figures["inquiry_count"] else [],
        orders=sales_karte.orders_section(customer) if figures["order_count"] else [],
        contracts=sales_karte.contracts_section(customer),
        figures=figures,
    )


def about_choices(sections: KarteSections) -> list[tuple[str, str]]:
    """What an activity logged on this karte may be about: open deals, open inquiries and the
    latest orders, as choices for the log form ("deal:12" → "Deal: …")."""
    choices = [
        (f"deal:{d.pk}", _("Deal: %(title)s") % {"title": d.title})
        for d in sections.deals
        if not d.stage.is_closed
    ]
    choices += [
        (f"inquiry:{i.pk}", _("Inquiry: %(subject)s") % {"subject": i.subject})
        for i in sections.inquiries
        if i.is_open
    ]
    choices += [
        (f"order:{o.pk}", _("Order %(number)s (%(date)s)") % {"number": o, "date": o.ordered_on})
        for o in sections.orders[:5]
    ]
    return choices
