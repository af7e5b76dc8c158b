"""The karte's "merged from …" note: `{% load merge_tags %}{% merged_from customer %}`."""

from django import template

from enishi.quality.selectors import merges_into

register = template.Library()


@register.inclusion_tag("quality/_karte_merged.html")
def merged_from(customer) -> dict:
    """The merges into this karte that stand (not undone), with links to the merged kartes'
    history. The caller has already checked that the user may see the karte."""
    return {"merges": [m for m in merges_into(customer) if not m.is_undone]}
