import datetime
import re

from django import template
from django.utils import timezone
from django.utils.html import conditional_escape, format_html
from django.utils.safestring import SafeData, mark_safe
from django.utils.translation import gettext, ngettext

from enishi.core.later import join_list as later_join_list
from enishi.core.later import translated as later_translated
from enishi.core.permissions import can_view_sensitive
from enishi.history.selectors import (
    KARTE_LINKS,
    custom_fields_label,
    field_label,
    karte_links,
    value_label,
)

register = template.Library()


@register.filter
def translated(value) -> str:
    """A message kept for later (`core.later`: a remark, a problem) in the reader's language;
    plain text as it is."""
    return later_translated(value)


# A code or a number in parts joined by hyphens (C-000123, 090-1234-5678, 100-0005), standing on
# its own (not inside an address, a URL or a longer word); longer runs are left to wrap.
_HYPHENATED = re.compile(r"(?<![\w.@/:-])\w+(?:-\w+)+(?![\w.@/:-])", re.ASCII)
_HYPHENATED_MAX = 24


@register.filter(needs_autoescape=True)
def unbroken(value, autoescape=True) -> str:
    """Text with its codes and numbers kept whole on one line: a narrow screen would otherwise
    break "C-000123" after the hyphen. Safe HTML (a message with a link) is left as it is."""
    text = str(value) if value is not None else ""
    if isinstance(value, SafeData) or isinstance(text, SafeData):
        return text
    if autoescape:
        text = conditional_escape(text)

    def keep(match: re.Match) -> str:
        found = match.group(0)
        if len(found) > _HYPHENATED_MAX:
            return found
        return f'<span class="nowrap">{found}</span>'

    return mark_safe(_HYPHENATED.sub(keep, text))  # noqa: S308 — escaped above; spans only


@register.filter
def join_list(items) -> str:
    """A list in running text: 「、」 between items in Japanese, ", " in English."""
    return later_join_list(items or [])


@register.simple_tag
def history_field(entry, name: str) -> str:
    return field_label(entry.model, name)


@register.simple_tag(takes_context=True)
def history_value(context, entry, name: str, value, side: int = 1) -> str:
    """A value of a change (`side` 0 before, 1 after) as the reader may read it. A company or
    parent company keeps the name it had then, linked to its karte; one the reader may not see
    is not named (`history.selectors.KarteLinks`, asked once per karte and request)."""
    request = context["request"]
    if name == "custom_fields" and isinstance(value, dict):
        return custom_fields_label(value, show_sensitive=can_view_sensitive(request.user))
    if entry.model == "customers.customer" and name in KARTE_LINKS and value:
        url = karte_links(request).shown(entry, name, side, value)
        if url is None:
            return gettext("a company you cannot see")
        if url:
            return format_html('<a href="{}">{}</a>', url, value_label(entry.model, name, value))
    return value_label(entry.model, name, value)


@register.simple_tag(takes_context=True)
def history_batch(context, entry):
    """The import, merge or export an entry belongs to, as `(label, url)`: the file's name for
    an import or an export, linked when the user may open that import, merge or export (asked
    once per batch and request); None for an entry outside a batch."""
    kind, _sep, pk = entry.batch.partition(":")
    if kind not in ("import", "merge", "export") or not pk.isdigit():
        return None
    request = context["request"]
    known = request.__dict__.setdefault("_history_batches", {})
    if entry.batch not in known:
        known[entry.batch] = _batch_link(request.user, kind, int(pk))
    return known[entry.batch]


def _batch_link(user, kind: str, pk: int) -> tuple[str, str]:
    from django.urls import reverse

    if kind == "import":
        from enishi.imports.models import ImportRun
        from enishi.imports.selectors import import_runs

        run = ImportRun.objects.filter(pk=pk).only("file_name", "created_by").first()
        if run is None:  # the import's details were cleared: the entry still says it was one
            return gettext("an import"), ""
        url = (
            reverse("imports:detail", args=[pk]) if import_runs(user).filter(pk=pk).exists() else ""
        )
        return run.file_name, url
    if kind == "export":
        from enishi.transfer.models import Export
        from enishi.transfer.selectors import exports_visible

        name = Export.objects.filter(pk=pk).values_list("file_name", flat=True).first()
        if name is None:
            return gettext("an export"), ""
        url = (
            reverse("transfer:export_detail", args=[pk])
            if exports_visible(user).filter(pk=pk).exists()
            else ""
        )
        return name, url
    from enishi.quality.selectors import merges_visible

    url = (
        reverse("quality:merge_detail", args=[pk])
        if merges_visible(user).filter(pk=pk).exists()
        else ""
    )
    return gettext("merge #%(number)s") % {"number": pk}, url


@register.simple_tag
def contact_permissions(customer) -> list[tuple[str, str]]:
    """(label, "yes" | "no" | "unknown") per channel, for the karte header."""
    from enishi.customers.forms import PERMISSION_LABELS

    states = []
    for channel, label in PERMISSION_LABELS.items():
        allowed = customer.allows(channel)
        states.append((str(label), "unknown" if allowed is None else ("yes" if allowed else "no")))
    return states


@register.filter
def age(birthday: datetime.date | None) -> str:
    if not birthday:
        return ""
    today = timezone.localdate()
    years = today.year - birthday.year - ((today.month, today.day) < (birthday.month, birthday.day))
    return ngettext("%(years)s year", "%(years)s years", years) % {"years": years}


@register.filter
def getfield(form, name: str):
    return form[name]
