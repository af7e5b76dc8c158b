"""Which vCard property holds which fact of a karte, both ways (the format itself: `vcard`).

Kana readings have no standard property; the address books each write their own, and this
module reads all of them and writes the ones the others read:

| writer | reading of a person | reading of a company |
| --- | --- | --- |
| iPhone / macOS Contacts (3.0) | X-PHONETIC-LAST-NAME, X-PHONETIC-FIRST-NAME | X-PHONETIC-ORG |
| Google Contacts (3.0) | X-PHONETIC-LAST-NAME, X-PHONETIC-FIRST-NAME | — |
| Android (AOSP vCard, 2.1 / 3.0) | X-PHONETIC-*; 3.0 adds SORT-STRING | — |
| Japanese feature phones (2.1, Shift_JIS) | SOUND;X-IRMC-N (often half-width kana) | SOUND;X-IRMC-ORG |
| Outlook | X-MS-N-YOMI (family;given) | X-MS-ORG-YOMI |
| RFC 6350 (4.0) | N;SORT-AS="family,given" | ORG;SORT-AS |

Export writes X-PHONETIC-* in both versions (what iPhone, Google and Android read), Outlook's
X-MS-*-YOMI, and, in 4.0, SORT-AS as the RFC says (each reader ignores what it does not know).
Android has no X-ANDROID-* property for readings (X-ANDROID-CUSTOM carries nicknames and
relations). A company karte is written as Apple does (N empty, ORG, X-ABShowAs:COMPANY) and,
in 4.0, KIND:org. The karte's SNS is Apple's X-SOCIALPROFILE (import takes the first profile,
or 4.0's SOCIALPROFILE, back into it); its gender is 4.0's GENDER and, as 3.0 has none, the
X-GENDER the writers that keep one use. Internal notes, tags and custom fields never leave in
a vCard; nor do the facts a vCard has no property for (a company's legal name, corporate
number, founding date …). Export → import of the same karte gives back every other field.

Import keeps what it cannot place instead of dropping it: a third phone, an address that does not
fit, an unreadable birthday, nicknames, anniversaries, messaging and further social profiles
(also Android's X-ANDROID-CUSTOM items) go into the notes under "From the vCard", and the
preview says so. A person without a company karte is written without HOME or WORK: the karte
does not know.

A nickname has no field: DESIGN.md's karte has none, and a custom field would be one
business's choice, not the card's. The notes are where a fact without a field is kept (people
read it on the karte and the printed karte); they never leave in a vCard, because they are
internal and a line of them may have been edited since, so a nickname does not come back out
through export. That is the price of not inventing a field for it.
"""

from __future__ import annotations

import datetime
import re
from dataclasses import asdict, dataclass, field
from typing import Any

import phonenumbers
from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import pgettext

from enishi.customers.models import Customer
from enishi.quality import normalize
from enishi.quality.prefectures import PREFECTURES
from enishi.transfer.vcard import Card, CardWriter, Property, escape, split_escaped, unescape

PRODID = "-//Enishi//Enishi customer records//JA"
MOBILE_TYPES = {"cell", "iphone", "mobile"}
# Google's system groups, not labels anyone chose.
IGNORED_CATEGORIES = {"mycontacts", "my contacts", "starred"}
JAPAN = {"", "日本", "日本国", "japan", "jp", "jpn", "にほん", "にっぽん", "ニホン", "ニッポン"}
FIELD_LIMITS = {
    f.name: f.max_length
    for f in Customer._meta.get_fields()
    if getattr(f, "max_length", None) and not f.is_relation
}
NOTES_LIMIT = 20000


# --- Export --------------------------------------------------------------------------------


def _halves(text: str) -> tuple[str, str]:
    parts = normalize.collapse_spaces(text).split(" ", 1)
    return parts[0], (parts[1] if len(parts) > 1 else "")


def person_name_parts(customer: Customer) -> tuple[str, str]:
    """(family, given): the fields when filled, else the name split at its first space."""
    if customer.family_name or customer.given_name:
        return customer.family_name, customer.given_name
    return _halves(customer.name)


def display_name(customer: Customer) -> str:
    """Family name first, as on a Japanese card (a name in Latin letters stays as written:
    "John Smith")."""
    family, given = customer.family_name, customer.given_name
    if customer.kind == Customer.Kind.PERSON and family and given and not _is_latin(family + given):
        return f"{family} {given}"
    return customer.name


def _tel_uri(e164: str) -> str:
    try:
        number = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        return ""
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.RFC3966)


def _uri(value: str) -> str:
    return re.sub(r"[\r\n]", "", value)


def customer_vcard(
    customer: Customer,
    *,
    version: str = "3.0",
    company: Customer | None = None,
    compact: bool = False,
) -> str:
    """One karte as a vCard. `company` is the person's company when the reader may see it
    (else the card names none). `compact` is the subset for a QR code: names, readings,
    organisation, phones, e-mails, address and website, no parameters phones do not need."""
    w = CardWriter(version, charset_param=not compact)
    v4 = version == "4.0"
    if not compact:
        w.add("PRODID", PRODID)
    kana_family, kana_given = _halves(customer.name_kana)
    if customer.is_company:
        kana = normalize.collapse_spaces(customer.name_kana)
        if v4:
            w.add("KIND", "org")
        w.add("FN", escape(customer.name))
        if not v4:
            w.add("N", ";;;;")  # required in 3.0; empty marks a company for Apple
        w.add("ORG", escape(customer.name), [("SORT-AS", [kana])] if v4 and kana else None)
        if kana:
            w.add("X-PHONETIC-ORG", escape(kana))
            if not compact:
                w.add("X-MS-ORG-YOMI", escape(kana))
        if not v4 and not compact:
            w.add("X-ABShowAs", "COMPANY")
    else:
        family, given = person_name_parts(customer)
        w.add("FN", escape(display_name(customer)))
        sort_as = [f"{kana_family},{kana_given}".rstrip(",")] if v4 and kana_family else None
        w.add(
            "N",
            ";".join([escape(family), escape(given), "", "", ""]),
            [("SORT-AS", sort_as)] if sort_as else None,
        )
        if kana_family:
            w.add("X-PHONETIC-LAST-NAME", escape(kana_family))
        if kana_given:
            w.add("X-PHONETIC-FIRST-NAME", escape(kana_given))
        if kana_family and not compact:
            w.add("X-MS-N-YOMI", f"{escape(kana_family)};{escape(kana_given)}")
        if company is not None:
            parts = [escape(company.name)] + (
                [escape(customer.department)] if customer.department else []
            )
            company_kana = normalize.collapse_spaces(company.name_kana)
            w.add(
                "ORG",
                ";".join(parts),
                [("SORT-AS", [company_kana])] if v4 and company_kana else None,
            )
            if company_kana:
                w.add("X-PHONETIC-ORG", escape(company_kana))
                if not compact:
                    w.add("X-MS-ORG-YOMI", escape(company_kana))
        if customer.title:
            w.add("TITLE", escape(customer.title))
    # A company's numbers and a colleague's are the workplace's. A person without a company
    # may have given home or work details: the karte does not say, so neither does the card
    # (a round trip must not turn a work address into a home one).
    places = ["work"] if customer.is_company or company is not None else []
    phones = [
        (customer.phone, customer.phone_e164, [*places, "voice"]),
        (customer.mobile, customer.mobile_e164, ["cell", "voice"]),
        (customer.fax, customer.fax_e164, [*places, "fax"]),
    ]
    if compact:  # every byte makes the code denser: no fax, no default "voice"
        phones = [(d, e, k[:1] if k[0] != "voice" else []) for d, e, k in phones[:2]]
    for display, e164, kinds in phones:
        if not display:
            continue
        uri = _tel_uri(e164) if v4 and e164 else ""
        if uri:
            w.add(
                "TEL", uri, [("VALUE", ["uri"])] + ([("TYPE", [",".join(kinds)])] if kinds else [])
            )
        else:
            w.add(
                "TEL",
                escape(display),
                [("TYPE", [k if v4 else k.upper() for k in kinds])] if kinds else None,
            )
    emails = [e for e in (customer.email, customer.email_alt) if e]
    for index, email in enumerate(emails[:1] if compact else emails):
        if compact:
            params = [("TYPE", [p.upper() for p in places])] if places else None
        elif v4:
            params = ([("TYPE", places)] if places else []) + (
                [("PREF", ["1"])] if index == 0 else []
            )
        else:
            params = [
                (
                    "TYPE",
                    ["INTERNET", *(p.upper() for p in places)] + (["PREF"] if index == 0 else []),
                )
            ]
        w.add("EMAIL", escape(email), params or None)
    street = customer.town + customer.street
    if customer.building:
        street = f"{street}\n{customer.building}" if street else customer.building
    if street or customer.city or customer.prefecture or customer.postal_code:
        parts = ["", "", street, customer.city, customer.prefecture, customer.postal_code, ""]
        w.add(
            "ADR",
            ";".join(escape(p) for p in parts),
            [("TYPE", [p if v4 else p.upper() for p in places])] if places else None,
        )
    if customer.website:
        w.add("URL", _uri(customer.website))
    if customer.sns and not compact:
        # Apple's property, which Google and Android read too (4.0 readers as well).
        w.add("X-SOCIALPROFILE", escape(customer.sns))
    if not compact and customer.birthday and not customer.is_company:
        w.add("BDAY", customer.birthday.strftime("%Y%m%d" if v4 else "%Y-%m-%d"))
    if not compact and customer.gender:
        if v4:
            w.add("GENDER", {"female": "F", "male": "M"}.get(customer.gender, "O"))
        else:
            # 3.0 has no gender: X-GENDER is what the writers that keep one use (and we read).
            w.add("X-GENDER", {"female": "Female", "male": "Male"}.get(customer.gender, "Other"))
    return w.text()


# --- Import --------------------------------------------------------------------------------


def _labelled(label: str, value: Any) -> str:
    """ "Label: value", a line of the notes. (The label is translated by the caller: gettext
    calls inside f-strings are invisible to makemessages.)"""
    return f"{label}: {value}"


def _kept(result: CardImport, label: str, value: str) -> None:
    """A fact with no field of its own (or none free): into the notes, and the preview says so."""
    result.kept_in_notes.append(_labelled(label, value))
    result.warnings.append(
        _("%(field)s %(value)s has no field of its own: kept in the notes.")
        % {"field": label, "value": value}
    )


@dataclass
class CardImport:
    """One card as it would become a karte: service data plus what the preview shows."""

    number: int
    kind: str = Customer.Kind.PERSON.value
    data: dict[str, Any] = field(default_factory=dict)  # for customer_create (JSON-safe)
    organisation: str = ""  # ORG as written
    phones: list[str] = field(default_factory=list)
    emails: list[str] = field(default_factory=list)
    address: str = ""
    notes_from_card: list[str] = field(default_factory=list)  # NOTE text
    kept_in_notes: list[str] = field(default_factory=list)  # what had no field of its own
    warnings: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    @property
    def name(self) -> str:
        return self.data.get("name", "")

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    def service_data(self, company: Customer | None) -> dict[str, Any]:
        """Data for `customer_create`; the organisation goes into the notes when no karte of
        that company is linked (a person has no other place for it)."""
        data = dict(self.data)
        kept = list(self.kept_in_notes)
        if company is not None:
            data["company"] = company
        elif self.organisation and self.kind == Customer.Kind.PERSON:
            kept.insert(0, _labelled(_("Organisation"), self.organisation))
        if data.get("birthday"):
            data["birthday"] = datetime.date.fromisoformat(data["birthday"])
        notes = "\n".join(self.notes_from_card)
        if kept:
            heading = _("From the vCard")
            block = "\n".join([f"[{heading}]", *kept])
            notes = f"{notes}\n\n{block}" if notes else block
        if notes:
            data["notes"] = notes[:NOTES_LIMIT]
        return data

    def record(self) -> dict[str, Any]:
        """The card as `quality.match` compares records."""
        d = self.data
        return {
            "kind": self.kind,
            "name": d.get("name", ""),
            "name_kana": d.get("name_kana", ""),
            "company": self.organisation if self.kind == Customer.Kind.PERSON else "",
            "postal_code": d.get("postal_code", ""),
            "address": self.address,
            "phones": [p for p in (d.get("phone"), d.get("mobile")) if p],
            "emails": [e for e in (d.get("email"), d.get("email_alt")) if e],
            "birth_date": d.get("birthday") or None,
            "corporate_number": "",
        }


def _clean(text: str) -> str:
    """One-line text as typed: control characters out, spaces collapsed."""
    text = "".join(ch if ch.isprintable() or ch in "\n\t" else " " for ch in text)
    return normalize.collapse_spaces(text.replace("\n", " "))


def _texts(card: Card, name: str) -> list[str]:
    return [t for t in (_clean(p.text) for p in card.all(name) if not p.binary) if t]


def _ordered(props: list[Property]) -> list[Property]:
    """Preferred values first (TYPE=pref or PREF=1), otherwise in file order."""
    return sorted(props, key=lambda p: 0 if "pref" in p.types else 1)


def _is_latin(text: str) -> bool:
    return all(ch.isascii() for ch in text)


def _reading(card: Card, *, company: bool) -> list[str]:
    """The kana reading's parts from whichever property the writer used (see the table)."""
    if company:
        found = _texts(card, "X-PHONETIC-ORG") or _texts(card, "X-MS-ORG-YOMI")
        if found:
            return [found[0]]
        org = card.first("ORG")
        if org is not None and org.param("SORT-AS"):
            return [",".join(org.params["SORT-AS"]).split(",")[0]]
        for sound in card.all("SOUND"):
            if "x-irmc-org" in sound.types:
                return [_clean(sound.components()[0])]
        return _texts(card, "SORT-STRING")[:1]
    last, first = _texts(card, "X-PHONETIC-LAST-NAME"), _texts(card, "X-PHONETIC-FIRST-NAME")
    middle = _texts(card, "X-PHONETIC-MIDDLE-NAME")
    if last or first:
        return [*last[:1], *middle[:1], *first[:1]]
    n = card.first("N")
    if n is not None and n.params.get("SORT-AS"):
        return [_clean(p) for p in ",".join(n.params["SORT-AS"]).split(",")[:2]]
    yomi = card.first("X-MS-N-YOMI")
    if yomi is not None:
        return [_clean(p) for p in yomi.components()[:2]]
    for sound in card.all("SOUND"):
        if "x-irmc-n" in sound.types:
            return [_clean(p) for p in sound.components()[:2]]
    return _texts(card, "SORT-STRING")[:1]


def _is_company_card(card: Card, family: str, given: str, fn: str, organisation: str) -> bool:
    kind = _clean(card.first("KIND").text).lower() if card.first("KIND") else ""
    if kind in ("org", "organization", "group"):
        return bool(organisation or fn)
    shown_as = card.first("X-ABSHOWAS")
    if shown_as is not None and _clean(shown_as.text).upper() == "COMPANY":
        return bool(organisation or fn)
    return bool(organisation) and not (family or given) and fn in ("", organisation)


def _phone_number(prop: Property) -> str:
    raw = prop.text.strip()
    if raw.lower().startswith("tel:"):
        raw = raw[4:].split(";", 1)[0]
    return raw


def _birthday(text: str) -> datetime.date | None:
    value = text.strip().split("T", 1)[0]
    if re.fullmatch(r"\d{8}", value):
        value = f"{value[:4]}-{value[4:6]}-{value[6:]}"
    try:
        return normalize.parse_date(value)
    except ValidationError:
        return None


def _limit(card: CardImport, name: str, value: str, label: str) -> str:
    """A value too long for its field goes into the notes rather than failing the card."""
    limit = FIELD_LIMITS.get(name)
    if limit and len(value) > limit:
        card.kept_in_notes.append(f"{label}: {value}")
        card.warnings.append(
            _("%(field)s is longer than %(limit)s characters: kept in the notes.")
            % {"field": label, "limit": limit}
        )
        return ""
    return value


def _split_japanese_address(
    region: str, locality: str, street: str, postal_code: str
) -> dict[str, str]:
    """Prefecture / city / town / street from ADR parts written big to small, whichever
    parts the writer filled (feature phones put everything into the street)."""
    rest = normalize.collapse_spaces(region + locality + street)
    found = normalize.lookup_postal_code(postal_code) if postal_code else None
    parts = {"prefecture": "", "city": "", "town": "", "street": ""}
    for prefecture in PREFECTURES:
        if rest.startswith(prefecture):
            parts["prefecture"], rest = prefecture, rest[len(prefecture) :]
            break
    if not parts["prefecture"] and found is not None:
        parts["prefecture"] = found.prefecture
    for city in (found.city if found is not None else "", locality.strip()):
        if city and rest.startswith(city):
            parts["city"], rest = city, rest[len(city) :]
            break
    if found is not None and found.town and rest.startswith(found.town):
        parts["town"], rest = found.town, rest[len(found.town) :]
    parts["street"] = rest.strip()
    return parts


def _address(card: Card, result: CardImport) -> None:
    addresses = _ordered([p for p in card.all("ADR") if not p.binary])
    for extra in addresses[1:]:
        text = " ".join(p for p in (_clean(c) for c in extra.components(7)) if p)
        if text:
            _kept(result, _("Address"), text)
    if not addresses:
        return
    components = addresses[0].components(7)
    pobox, extended, street, locality, region, code, country = components[:7]
    # RFC 9554 adds parts after the seven (room, floor, block, …) that writers should repeat in
    # the seven; whatever they did not repeat is kept.
    written = "".join(components[:7])
    more = [c for c in (_clean(c) for c in components[7:]) if c and c not in written]
    if more:
        result.kept_in_notes.append(_labelled(_("Address"), " ".join(more)))
    lines = [normalize.collapse_spaces(line) for line in street.split("\n")]
    lines = [line for line in lines if line]
    street_first, street_more = (lines[0] if lines else ""), lines[1:]
    locality, region, code = _clean(locality), _clean(region), _clean(code)
    data = result.data
    postal = ""
    if code:
        try:
            postal = normalize.normalize_postal_code(code)
        except ValidationError:
            result.kept_in_notes.append(_labelled(_("Postal code"), code))
            result.warnings.append(
                _("The postal code %(code)s is not a Japanese one: kept in the notes.")
                % {"code": code}
            )
    building = " ".join(p for p in [*street_more, _clean(extended), _clean(pobox)] if p)
    if normalize.nfkc(_clean(country)).lower() in JAPAN:
        parts = _split_japanese_address(region, locality, street_first, postal)
    else:
        parts = {
            "prefecture": "",
            "city": ", ".join(p for p in (locality, region) if p),
            "town": "",
            "street": street_first,
        }
        building = " ".join(p for p in (building, _clean(country)) if p)
    labels = {
        "prefecture": _("Prefecture"),
        "city": _("City"),
        "town": _("Town"),
        "street": _("Street address"),
        "building": _("Building"),
    }
    for name, value in [*parts.items(), ("building", building)]:
        value = _limit(result, name, value, labels[name])
        if value:
            data[name] = value
    if postal:
        data["postal_code"] = postal
    result.address = " ".join(
        p
        for p in (
            f"〒{postal}" if postal else "",
            "".join(data.get(k, "") for k in ("prefecture", "city", "town", "street")),
            data.get("building", ""),
        )
        if p
    )


def _phones(card: Card, result: CardImport) -> None:
    slots: dict[str, str] = {}
    overflow: list[str] = []
    numbers: list[tuple[str, str]] = []  # (fax / mobile / phone, as shown), preferred first
    for prop in _ordered([p for p in card.all("TEL") if not p.binary]):
        raw = _clean(_phone_number(prop))
        if not raw:
            continue
        try:
            phone = normalize.parse_phone(raw)
        except ValidationError:
            result.kept_in_notes.append(_labelled(_("Phone"), raw))
            result.warnings.append(
                _("The phone number %(number)s could not be read: kept in the notes.")
                % {"number": raw}
            )
            continue
        shown = phone.display
        types = prop.types
        kind = "fax" if "fax" in types else "mobile" if types & MOBILE_TYPES else "phone"
        numbers.append((kind, shown))
    # Each number to the field of its kind, the first of each kind first; a second mobile
    # becomes the phone only when the card has no other phone for it.
    for kind, shown in numbers:
        if kind not in slots and len(shown) <= FIELD_LIMITS["phone"]:
            slots[kind] = shown
            result.phones.append(shown)
    for kind, shown in numbers:
        if shown in slots.values():
            continue
        if kind == "mobile" and "phone" not in slots and len(shown) <= FIELD_LIMITS["phone"]:
            slots["phone"] = shown
            result.phones.append(shown)
        else:
            overflow.append(shown)
    for number in overflow:
        _kept(result, _("Phone"), number)
        result.phones.append(number)
    result.data.update(slots)


def _emails(card: Card, result: CardImport) -> None:
    found: list[str] = []
    for prop in _ordered([p for p in card.all("EMAIL") if not p.binary]):
        raw = _clean(prop.text)
        if not raw:
            continue
        try:
            email = normalize.normalize_email(raw)
        except ValidationError:
            result.kept_in_notes.append(_labelled(_("E-mail"), raw))
            result.warnings.append(
                _("The e-mail address %(email)s is not valid: kept in the notes.") % {"email": raw}
            )
            continue
        if email.lower() not in (e.lower() for e in found):
            found.append(email)
    result.emails = found
    for name, email in zip(("email", "email_alt"), found, strict=False):
        result.data[name] = email
    for email in found[2:]:
        result.kept_in_notes.append(_labelled(_("E-mail"), email))


def _website(card: Card, result: CardImport) -> None:
    for index, raw in enumerate(_texts(card, "URL")):
        url = normalize.nfkc(raw)
        if "://" not in url:
            url = "https://" + url
        try:
            URLValidator(schemes=["http", "https"])(url)
        except ValidationError:
            url = ""
        if index == 0 and url and len(url) <= FIELD_LIMITS["website"]:
            result.data["website"] = url
        else:
            result.kept_in_notes.append(_labelled(_("Website"), raw))


def _social_profile(card: Card, result: CardImport) -> None:
    """The first social profile is the karte's SNS (what export writes there); others are
    kept in the notes."""
    profiles = list(dict.fromkeys(_texts(card, "X-SOCIALPROFILE") + _texts(card, "SOCIALPROFILE")))
    if profiles and len(profiles[0]) <= FIELD_LIMITS["sns"]:
        result.data["sns"] = profiles.pop(0)
    for profile in profiles:
        _kept(result, _("Profile"), profile)


def _person_extras(card: Card, result: CardImport) -> None:
    for raw in _texts(card, "BDAY")[:1]:
        day = _birthday(raw)
        if day is None or day > timezone.localdate() or day.year < 1900:
            result.kept_in_notes.append(_labelled(_("Birthday"), raw))
            result.warnings.append(
                _("The birthday %(value)s has no year or is not a date: kept in the notes.")
                % {"value": raw}
            )
        else:
            result.data["birthday"] = day.isoformat()
    gender = card.first("GENDER") or card.first("X-GENDER")
    if gender is not None:
        value = _clean(gender.components()[0]).lower()[:1]
        mapped = {"f": "female", "m": "male", "o": "other"}.get(value)
        if mapped:
            result.data["gender"] = mapped


# X-ANDROID-CUSTOM:vnd.android.cursor.item/<kind>;<value>;… (Android's own export)
ANDROID_CUSTOM_VALUE = re.compile(r"vnd\.android\.cursor\.item/([a-z_]+);([^;]*)")


def _kept_extras(card: Card, result: CardImport) -> None:
    """Facts with no field of their own, kept in the notes under their label."""
    labelled: list[tuple[str, list[str]]] = [
        (_("Nickname"), _list_texts(card, "NICKNAME")),
        (pgettext("a person's part in an organisation", "Role"), _texts(card, "ROLE")),
        (_("Anniversary"), _texts(card, "ANNIVERSARY") + _texts(card, "X-ANNIVERSARY")),
        (_("Messaging"), _texts(card, "IMPP")),
        (_("Related person"), _texts(card, "RELATED")),
    ]
    android = {
        "nickname": _("Nickname"),
        "relation": _("Related person"),
        "contact_event": _("Anniversary"),
    }
    for prop in card.all("X-ANDROID-CUSTOM"):
        found = ANDROID_CUSTOM_VALUE.match(prop.value)
        value = _clean(unescape(found.group(2), card.version)) if found else ""
        if value and found.group(1) in android:
            labelled.append((android[found.group(1)], [value]))
    for label, values in labelled:
        for value in values:
            _kept(result, label, value)


def _list_texts(card: Card, name: str) -> list[str]:
    """The values of a property whose value is a comma-separated list (NICKNAME)."""
    return [
        value
        for prop in card.all(name)
        if not prop.binary
        for value in (_clean(unescape(v, card.version)) for v in split_escaped(prop.value, ","))
        if value
    ]


def card_import_data(card: Card) -> CardImport:
    """What a card would become (no database access: company links come later)."""
    result = CardImport(
        number=card.number, warnings=list(card.warnings), problems=list(card.problems)
    )
    n = card.first("N")
    family, given = ("", "")
    if n is not None:
        parts = n.components(3)
        family, given = _clean(parts[0]), _clean(" ".join(p for p in parts[1:3] if p.strip()))
    fn = (_texts(card, "FN") or [""])[0]
    org = card.first("ORG")
    org_parts = [_clean(p) for p in org.components()] if org is not None else []
    organisation = org_parts[0] if org_parts else ""
    units = " ".join(p for p in org_parts[1:] if p)
    data = result.data
    if _is_company_card(card, family, given, fn, organisation):
        result.kind = Customer.Kind.COMPANY.value
        data["name"] = organisation or fn
        if units:
            result.kept_in_notes.append(_labelled(_("Department"), units))
    else:
        if family and given:
            data["family_name"], data["given_name"] = family, given
            latin = _is_latin(family + given)
            data["name"] = fn if latin and fn else f"{family} {given}"
        else:
            data["name"] = fn or family or given
        result.organisation = organisation
        if units:
            data["department"] = units
        titles = _texts(card, "TITLE")
        if titles:
            data["title"] = titles[0]
    data["kind"] = result.kind
    if not data["name"]:
        result.problems.append(_("The card has no name (neither N, FN nor ORG)."))
    for name, label in (
        ("name", _("Name")),
        ("family_name", _("Family name")),
        ("given_name", _("Given name")),
        ("department", _("Department")),
        ("title", _("Title")),
    ):
        if name == "name" and len(data.get(name, "")) > FIELD_LIMITS["name"]:
            # No karte without its name: the card is refused (not kept in the notes).
            result.problems.append(
                _("The name is too long: at most %(limit)s characters (the card has %(count)s).")
                % {"limit": FIELD_LIMITS["name"], "count": len(data[name])}
            )
        elif data.get(name) and not _limit(result, name, data[name], label):
            data.pop(name)
    reading = normalize.collapse_spaces(
        " ".join(p for p in _reading(card, company=result.kind == Customer.Kind.COMPANY) if p)
    )
    if reading:
        if normalize.is_kana_reading(reading):
            kana = normalize.to_katakana(reading)
            if len(kana) <= FIELD_LIMITS["name_kana"]:
                data["name_kana"] = kana
        else:
            result.kept_in_notes.append(_labelled(_("Reading"), reading))
            result.warnings.append(
                _("The reading %(reading)s is not in kana: kept in the notes.")
                % {"reading": reading}
            )
    _phones(card, result)
    _emails(card, result)
    _address(card, result)
    _website(card, result)
    _social_profile(card, result)
    if result.kind == Customer.Kind.PERSON:
        _person_extras(card, result)
    _kept_extras(card, result)
    result.notes_from_card = [
        p.text.strip() for p in card.all("NOTE") if not p.binary and p.text.strip()
    ]
    tags = [
        tag
        for prop in card.all("CATEGORIES")
        for tag in (_clean(unescape(t, card.version)) for t in split_escaped(prop.value, ","))
        if tag and tag.lower() not in IGNORED_CATEGORIES and len(tag) <= 50
    ]
    if tags:
        data["tags"] = list(dict.fromkeys(tags))[:20]
    return result
