"""Custom fields (項目定義シート): validating values against their definitions, and presets.

Values are stored in `Customer.custom_fields` as JSON, keyed by the definition's key, in a
canonical form per type (ISO date strings, integers for money, lists for multi-choice).
"""

import datetime
import json
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.db import transaction
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from enishi.core.later import join_list
from enishi.customers.models import FieldDefinition
from enishi.quality import normalize

FORM_PREFIX = "cf_"
MAX_TEXT = 1000
MAX_LONG_TEXT = 20000
PRESETS_DIR = Path(__file__).resolve().parent / "presets"


def active_definitions(kind: str | None = None) -> list[FieldDefinition]:
    definitions = list(FieldDefinition.objects.filter(is_active=True))
    if kind is None:
        return definitions
    return [d for d in definitions if d.applies(kind)]


def _is_empty(value: Any) -> bool:
    return (
        value is None
        or value == ""
        or value == []
        or (isinstance(value, str) and not value.strip())
    )


# Wave dashes and tildes that Japanese input methods and Excel use for "from … to" (4〜6月,
# 4～6月, 4~6月): one choice, whichever was typed (width, case and spaces aside).
_WAVES = str.maketrans(dict.fromkeys("〜～∼〰", "~"))


def _choice_key(text: str) -> str:
    return "".join(normalize.nfkc(text).translate(_WAVES).split()).casefold()


def _choice_of(definition, text: str) -> str | None:
    """The definition's own choice that `text` is, written as the definition writes it."""
    if text in definition.choices:
        return text
    key = _choice_key(text)
    return next((c for c in definition.choices if _choice_key(c) == key), None)


def clean_value(definition: FieldDefinition, value: Any) -> Any:
    """The canonical stored form of one value, or ValidationError with a message for people
    (lazy, with its params: an import stores it and shows it in each reader's language)."""
    t = FieldDefinition.Type
    if definition.type in (t.TEXT, t.LONG_TEXT):
        text = str(value).strip()
        limit = MAX_LONG_TEXT if definition.type == t.LONG_TEXT else MAX_TEXT
        if len(text) > limit:
            raise ValidationError(
                gettext_lazy("Too long: at most %(limit)s characters."), params={"limit": limit}
            )
        if "\x00" in text:
            raise ValidationError(
                gettext_lazy("The text contains a control character that cannot be stored.")
            )
        return text
    if definition.type in (t.NUMBER, t.MONEY):
        raw = normalize.nfkc(str(value)).replace(",", "").replace("¥", "").replace("円", "").strip()
        try:
            number = Decimal(raw)
        except InvalidOperation:
            raise ValidationError(gettext_lazy("Enter a number.")) from None
        if not number.is_finite() or abs(number) >= Decimal("1e15"):
            raise ValidationError(gettext_lazy("Enter a number of a sensible size."))
        if definition.type == t.MONEY:
            if number != number.to_integral_value():
                raise ValidationError(gettext_lazy("Enter an amount in whole yen."))
            return int(number)
        return int(number) if number == number.to_integral_value() else float(number)
    if definition.type == t.DATE:
        if isinstance(value, datetime.date):
            return value.isoformat()
        return normalize.parse_date(str(value)).isoformat()
    if definition.type == t.BOOLEAN:
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower()
        if text in ("1", "true", "yes", "on", "はい", "有", "あり", "○"):
            return True
        if text in ("0", "false", "no", "off", "いいえ", "無", "なし", "×"):
            return False
        raise ValidationError(gettext_lazy("Choose yes or no."))
    if definition.type == t.CHOICE:
        text = str(value).strip()
        found = _choice_of(definition, text)
        if found is None:
            raise ValidationError(
                gettext_lazy("“%(value)s” is not one of the choices: %(choices)s"),
                params={"value": text, "choices": "、".join(definition.choices)},
            )
        return found
    if definition.type == t.MULTI_CHOICE:
        items = value if isinstance(value, list | tuple) else [value]
        typed = [str(v).strip() for v in items if not _is_empty(v)]
        chosen = [_choice_of(definition, v) or v for v in typed]
        unknown = [v for v in chosen if v not in definition.choices]
        if unknown:
            raise ValidationError(
                gettext_lazy("“%(value)s” is not one of the choices: %(choices)s"),
                params={"value": "、".join(unknown), "choices": "、".join(definition.choices)},
            )
        # Keep the definition's order so the same selection always looks the same.
        return [c for c in definition.choices if c in chosen]
    if definition.type == t.EMAIL:
        return normalize.normalize_email(str(value))
    if definition.type == t.PHONE:
        return normalize.parse_phone(str(value)).display
    if definition.type == t.URL:
        text = normalize.nfkc(str(value)).strip()
        URLValidator(
            schemes=["http", "https"],
            message=gettext_lazy("Enter a web address starting with http:// or https://."),
        )(text)
        return text
    raise ValidationError(gettext_lazy("Unknown field type."))


def clean_custom_fields(
    kind: str, values: dict[str, Any], *, partial: bool = False
) -> dict[str, Any]:
    """Validate every value for a karte of `kind`; errors are keyed by the form field name.

    Keys without an active definition are refused rather than kept silently, so a typo in an
    API call or an import mapping is noticed. With `partial`, missing keys are not checked.
    """
    definitions = {d.key: d for d in active_definitions(kind)}
    errors: dict[str, list[Any]] = {}
    cleaned: dict[str, Any] = {}
    for key in values:
        if key not in definitions:
            errors.setdefault(FORM_PREFIX + key, []).append(
                ValidationError(
                    gettext_lazy("There is no field “%(key)s” for this kind of customer."),
                    params={"key": key},
                )
            )
    for key, definition in definitions.items():
        if partial and key not in values:
            continue
        value = values.get(key)
        if _is_empty(value):
            if definition.required:
                errors.setdefault(FORM_PREFIX + key, []).append(
                    gettext_lazy("This field is required.")
                )
            continue
        try:
            cleaned[key] = clean_value(definition, value)
        except ValidationError as exc:
            errors.setdefault(FORM_PREFIX + key, []).extend(exc.error_list)
    if errors:
        raise ValidationError(errors)
    return cleaned


def display_value(definition: FieldDefinition, value: Any) -> str:
    if _is_empty(value):
        return ""
    if definition.type == FieldDefinition.Type.BOOLEAN:
        return _("Yes") if value else _("No")
    if definition.type == FieldDefinition.Type.MONEY:
        return f"¥{int(value):,}"
    if definition.type == FieldDefinition.Type.MULTI_CHOICE:
        return join_list(value)
    return str(value)


def available_presets() -> list[dict[str, Any]]:
    presets = []
    for path in sorted(PRESETS_DIR.glob("*.json")):
        data = json.loads(path.read_text(encoding="utf-8"))
        presets.append({"key": path.stem, **data})
    return presets


@transaction.atomic
def field_definitions_install_preset(*, preset_key: str) -> list[FieldDefinition]:
    """Add a preset's fields; fields whose key already exists are left as the admin made them."""
    preset = next((p for p in available_presets() if p["key"] == preset_key), None)
    if preset is None:
        raise ValidationError(_("Unknown preset."))
    existing = set(FieldDefinition.objects.values_list("key", flat=True))
    start = (
        FieldDefinition.objects.order_by("-position").values_list("position", flat=True).first()
        or 0
    ) + 1
    created = []
    for offset, spec in enumerate(preset["fields"]):
        if spec["key"] in existing:
            continue
        created.append(
            FieldDefinition.objects.create(position=start + offset, preset=preset_key, **spec)
        )
    return created
