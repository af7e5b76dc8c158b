"""What happens to a row: its category (from the analysis), the run's rules, the person's choice.

    new             → create (or skip)
    matched         → update (or skip): same customer code, or same corporate number
    duplicate       → rule "duplicates": skip, update the karte it resembles, or create anyway
    file_duplicate  → rule "file_duplicates": skip, or create anyway
    invalid         → rejected (its problems go into the download of rejected rows)

A choice made for one row wins over the rules. The same function decides for the preview, the
counts, the filters and the run, so what the preview says is what the run does.
"""

from __future__ import annotations

from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from enishi.imports.models import ImportRow

Category = ImportRow.Category
Action = ImportRow.Action

RULE_DEFAULTS: dict[str, str] = {
    "matched": Action.UPDATE,
    "duplicates": Action.SKIP,
    "file_duplicates": Action.SKIP,
    "empty": "keep",
}
RULE_CHOICES: dict[str, dict[str, tuple[str, ...]]] = {
    "customers": {
        "matched": (Action.UPDATE, Action.SKIP),
        "duplicates": (Action.SKIP, Action.UPDATE, Action.CREATE),
        "file_duplicates": (Action.SKIP, Action.CREATE),
        "empty": ("keep", "clear"),
    },
    "activities": {
        "duplicates": (Action.SKIP, Action.CREATE),
        "file_duplicates": (Action.SKIP, Action.CREATE),
    },
    "contracts": {
        "duplicates": (Action.SKIP, Action.CREATE),
        "file_duplicates": (Action.SKIP, Action.CREATE),
    },
    # Rows with the same number are the lines of one order, never repeats of each other.
    "orders": {
        "duplicates": (Action.SKIP, Action.CREATE),
    },
}
RULE_LABELS = {
    "matched": _("Rows that match a karte by customer code or corporate number"),
    "duplicates": _("Probable duplicates of a karte"),
    "file_duplicates": _("Rows repeated in the file"),
    "empty": _("Empty cells when updating"),
}
# For orders the "duplicates" are orders the karte already has (imported before).
ORDER_RULE_LABELS = {
    "duplicates": _("Orders already imported (the karte has an order with the same number)"),
}
CHOICE_LABELS = {
    Action.UPDATE: _("Update the karte"),
    Action.CREATE: _("Create a new karte anyway"),
    Action.SKIP: _("Skip"),
    "keep": _("Keep what the karte has"),
    "clear": _("Clear the karte's value"),
}
ACTIVITY_CHOICE_LABELS = {Action.CREATE: _("Import anyway"), Action.SKIP: _("Skip")}
ROW_CHOICES: dict[str, tuple[str, ...]] = {
    Category.NEW: (Action.CREATE, Action.SKIP),
    Category.MATCHED: (Action.UPDATE, Action.SKIP),
    Category.DUPLICATE: (Action.UPDATE, Action.CREATE, Action.SKIP),
    Category.FILE_DUPLICATE: (Action.CREATE, Action.SKIP),
    Category.INVALID: (),
}
ACTIVITY_ROW_CHOICES: dict[str, tuple[str, ...]] = {
    Category.NEW: (Action.CREATE, Action.SKIP),
    Category.DUPLICATE: (Action.CREATE, Action.SKIP),
    Category.FILE_DUPLICATE: (Action.CREATE, Action.SKIP),
    Category.INVALID: (),
}
_RULE_OF = {
    Category.MATCHED: "matched",
    Category.DUPLICATE: "duplicates",
    Category.FILE_DUPLICATE: "file_duplicates",
}


def rules_of(run) -> dict[str, str]:
    allowed = RULE_CHOICES.get(run.target, {})
    rules = {}
    for name, choices in allowed.items():
        value = (run.rules or {}).get(name, RULE_DEFAULTS[name])
        rules[name] = value if value in choices else choices[0]
    return rules


def row_choices(target: str, category: str) -> tuple[str, ...]:
    table = ROW_CHOICES if target == "customers" else ACTIVITY_ROW_CHOICES
    return table.get(category, ())


def effective_action(category: str, decision: str, rules: dict[str, str]) -> str:
    if category == Category.INVALID:
        return Action.REJECT
    if decision:
        return decision
    if category == Category.NEW:
        return Action.CREATE
    return rules.get(_RULE_OF.get(category, ""), Action.SKIP)


def action_q(action: str, rules: dict[str, str]) -> Q:
    """The rows whose effective action is `action`, as a filter."""
    if action == Action.REJECT:
        return Q(category=Category.INVALID)
    decided = Q(decision=action) & ~Q(category=Category.INVALID)
    by_rule = Q(decision="", category=Category.NEW) if action == Action.CREATE else Q(pk__in=[])
    for category, rule in _RULE_OF.items():
        if rules.get(rule, Action.SKIP) == action:
            by_rule |= Q(decision="", category=category)
    return decided | by_rule


def action_counts(run) -> dict[str, int]:
    from django.db.models import Count

    rules = rules_of(run)
    counts = {a: 0 for a in Action.values}
    for row in run.rows.values("category", "decision").annotate(n=Count("id")).order_by():
        counts[effective_action(row["category"], row["decision"], rules)] += row["n"]
    return counts


def order_counts(run) -> dict[str, int]:
    """Orders (not lines) per action: the lines of one order share the order's group; lines
    rejected before they were grouped count once per karte and order number."""
    rules = rules_of(run)
    orders: dict[str, set] = {a: set() for a in Action.values}
    for number, category, decision, group, order_number, karte in run.rows.values_list(
        "number", "category", "decision", "data__order_group", "data__number", "match_id"
    ):
        if group:
            key: tuple = ("group", group)
        elif order_number:
            key = ("number", karte, order_number)
        else:
            key = ("row", number)
        orders[effective_action(category, decision, rules)].add(key)
    return {action: len(keys) for action, keys in orders.items()}


def new_company_count(run) -> int:
    """Companies the run will create: those named by person rows that will be written (a
    repeated or skipped row creates none)."""
    rules = rules_of(run)
    writing = (Action.CREATE, Action.UPDATE)
    return len(
        {
            key
            for category, decision, key in run.rows.filter(company__has_key="new").values_list(
                "category", "decision", "company__new"
            )
            if key and effective_action(category, decision, rules) in writing
        }
    )


# A person row naming a company that several kartes have (`imports.companies`): the person
# chooses one, or none; until then the run does not start.
COMPANY_TO_CHOOSE = Q(company__has_key="choices") & ~Q(company__has_key="chosen")


def companies_to_choose(run) -> int:
    """Rows that will be written whose company is still to be chosen (one query)."""
    if run.target != "customers":
        return 0
    rules = rules_of(run)
    writing = action_q(Action.CREATE, rules) | action_q(Action.UPDATE, rules)
    return run.rows.filter(COMPANY_TO_CHOOSE).filter(writing).count()
