"""What a column can be imported into, how headers are recognised, and how a cell becomes a value.

Headers are compared folded (NFKC, lower case, no spaces or punctuation), so "電話番号",
"ＴＥＬ", "Tel." and "phone number" all find the phone field. Values are converted here only as
far as the spreadsheet needs it (Excel serial dates, lost leading zeros, choice labels, yes/no,
user names); every rule about what a valid value is stays in the customer services.
"""

from __future__ import annotations

import datetime
import re
import unicodedata
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import ValidationError
from django.utils import timezone, translation
from django.utils.text import capfirst
from django.utils.translation import gettext_lazy, pgettext_lazy
from django.utils.translation import gettext_lazy as _

from enishi.core.later import error_message, later, stored, translated
from enishi.quality import normalize
from enishi.quality.prefectures import PREFECTURES

IGNORE = ""
CUSTOM_PREFIX = "cf:"


@dataclass(frozen=True)
class Target:
    key: str
    label: Any
    type: str = "text"  # text, date, datetime, int, month, bool, choice, user, tags, phone, postal,
    # and for order lines: price, quantity, discount, tax_rate
    group: Any = ""
    aliases: tuple[str, ...] = ()
    choices: tuple[tuple[str, Any], ...] = ()  # for choice: (value, label)
    required: bool = False
    sensitive: bool = False


NAMES = gettext_lazy("Name")
CONTACT = gettext_lazy("Contact")
ADDRESS = gettext_lazy("Address")
COMPANY = gettext_lazy("Company")
RELATIONSHIP = gettext_lazy("Relationship")
NOTES = gettext_lazy("Notes")
CUSTOM = gettext_lazy("Custom fields")
CUSTOMER = gettext_lazy("Which karte")
ACTIVITY = gettext_lazy("Activity")
CONTRACT = gettext_lazy("Contract")
ORDER = pgettext_lazy("purchase", "Order")
ORDER_LINE = gettext_lazy("Order line")


def _field_label(name: str):
    """The karte field's own name, as the form shows it."""
    from enishi.customers.models import Customer

    return capfirst(Customer._meta.get_field(name).verbose_name)


def _activity_label(name: str):
    from enishi.activities.models import Activity

    return capfirst(Activity._meta.get_field(name).verbose_name)


def _choices(model_choices) -> tuple[tuple[str, Any], ...]:
    return tuple((value, label) for value, label in model_choices)


def customer_targets() -> list[Target]:
    from enishi.customers.models import Customer

    return [
        Target(
            "kind",
            _field_label("kind"),
            "choice",
            NAMES,
            (
                "区分",
                "種別",
                "顧客区分",
                "法人個人",
                "法人個人区分",
                "kind",
                "type",
                "customertype",
            ),
            _choices(Customer.Kind.choices),
        ),
        Target(
            "code",
            _field_label("code"),
            "text",
            NAMES,
            (
                "顧客コード",
                "取引先コード",
                "得意先コード",
                "顧客番号",
                "顧客no",
                "顧客id",
                "会員番号",
                "会員no",
                "お客様番号",
                "コード",
                "code",
                "customercode",
                "customerid",
                "customerno",
            ),
        ),
        Target(
            "name",
            _field_label("name"),
            "text",
            NAMES,
            (
                "氏名",
                "名前",
                "お名前",
                "顧客名",
                "お客様名",
                "取引先名",
                "得意先名",
                "氏名漢字",
                # In a customer list the 担当者 named beside the company is the customer's
                # contact person; one's own staff are 担当営業 / 営業担当 (the owner).
                "担当者名",
                "ご担当者",
                "ご担当者名",
                "name",
                "fullname",
                "customername",
                "contactname",
            ),
        ),
        Target(
            "family_name",
            _field_label("family_name"),
            "text",
            NAMES,
            ("姓", "名字", "苗字", "氏", "lastname", "familyname", "surname"),
        ),
        Target(
            "given_name",
            _field_label("given_name"),
            "text",
            NAMES,
            ("名", "下の名前", "firstname", "givenname"),
        ),
        Target(
            "name_kana",
            _field_label("name_kana"),
            "text",
            NAMES,
            (
                "フリガナ",
                "ふりがな",
                "カナ",
                "かな",
                "氏名カナ",
                "氏名フリガナ",
                "名前カナ",
                "読み",
                "よみ",
                "よみがな",
                "読み仮名",
                "カナ氏名",
                "kana",
                "reading",
                "furigana",
                "namekana",
            ),
        ),
        Target(
            "family_kana",
            gettext_lazy("Family name reading"),
            "text",
            NAMES,
            ("セイ", "せい", "姓カナ", "姓フリガナ", "lastnamekana"),
        ),
        Target(
            "given_kana",
            gettext_lazy("Given name reading"),
            "text",
            NAMES,
            ("メイ", "めい", "名カナ", "名フリガナ", "firstnamekana"),
        ),
        Target(
            "legal_name",
            _field_label("legal_name"),
            "text",
            NAMES,
            ("正式名称", "正式名", "登記名", "legalname"),
        ),
        Target(
            "company_name",
            gettext_lazy("Company (of a person)"),
            "text",
            COMPANY,
            (
                "会社名",
                "会社",
                "企業名",
                "法人名",
                "社名",
                "勤務先",
                "勤務先名",
                "所属会社",
                "company",
                "companyname",
                "organization",
                "organisation",
                "employer",
            ),
        ),
        Target(
            "company_code",
            gettext_lazy("Company's customer code"),
            "text",
            COMPANY,
            ("会社コード", "企業コード", "法人コード", "companycode"),
        ),
        Target(
            "company_kana",
            gettext_lazy("Company reading"),
            "text",
            COMPANY,
            (
                "会社名カナ",
                "会社名フリガナ",
                "会社カナ",
                "会社フリガナ",
                "企業名カナ",
                "companykana",
            ),
        ),
        Target(
            "corporate_number",
            _field_label("corporate_number"),
            "text",
            COMPANY,
            ("法人番号", "corporatenumber"),
        ),
        Target(
            "department",
            _field_label("department"),
            "text",
            COMPANY,
            ("部署", "部署名", "所属", "所属部署", "部門", "department", "division"),
        ),
        Target(
            "title",
            _field_label("title"),
            "text",
            COMPANY,
            ("役職", "役職名", "肩書", "肩書き", "title", "jobtitle", "position"),
        ),
        Target(
            "is_key_person",
            _field_label("is_key_person"),
            "bool",
            COMPANY,
            ("キーパーソン", "keyperson"),
        ),
        Target(
            "is_decision_maker",
            _field_label("is_decision_maker"),
            "bool",
            COMPANY,
            ("決裁者", "decisionmaker"),
        ),
        Target("industry", _field_label("industry"), "text", COMPANY, ("業種", "業界", "industry")),
        Target(
            "employees",
            _field_label("employees"),
            "int",
            COMPANY,
            ("従業員数", "社員数", "従業員", "employees"),
        ),
        Target(
            "founded_on",
            _field_label("founded_on"),
            "date",
            COMPANY,
            ("設立", "設立日", "設立年月日", "創業", "創業日", "founded", "foundedon"),
        ),
        Target(
            "fiscal_month",
            _field_label("fiscal_month"),
            "month",
            COMPANY,
            ("決算月", "決算期", "fiscalmonth"),
        ),
        Target(
            "website",
            _field_label("website"),
            "text",
            COMPANY,
            (
                "url",
                "ホームページ",
                "hp",
                "webサイト",
                "ウェブサイト",
                "サイト",
                "website",
                "homepage",
                "web",
            ),
        ),
        Target("sns", _field_label("sns"), "text", CONTACT, ("sns", "twitter", "x", "instagram")),
        Target(
            "postal_code",
            _field_label("postal_code"),
            "postal",
            ADDRESS,
            ("〒", "郵便番号", "郵便", "postalcode", "zip", "zipcode", "postcode"),
        ),
        Target(
            "address",
            gettext_lazy("Address (whole)"),
            "text",
            ADDRESS,
            ("住所", "所在地", "住所1", "address", "fulladdress"),
        ),
        Target(
            "prefecture",
            _field_label("prefecture"),
            "text",
            ADDRESS,
            ("都道府県", "県", "prefecture", "state"),
        ),
        Target(
            "city", _field_label("city"), "text", ADDRESS, ("市区町村", "市区郡", "市町村", "city")
        ),
        Target("town", _field_label("town"), "text", ADDRESS, ("町域", "町名", "town")),
        Target(
            "street",
            _field_label("street"),
            "text",
            ADDRESS,
            ("番地", "丁目番地", "住所2", "street", "streetaddress", "address1"),
        ),
        Target(
            "building",
            _field_label("building"),
            "text",
            ADDRESS,
            ("建物", "建物名", "ビル名", "マンション名", "住所3", "building", "address2"),
        ),
        Target(
            "phone",
            _field_label("phone"),
            "phone",
            CONTACT,
            (
                "電話番号",
                "電話",
                "tel",
                "telephone",
                "phone",
                "phonenumber",
                "代表電話",
                "代表番号",
                "固定電話",
            ),
        ),
        Target(
            "mobile",
            _field_label("mobile"),
            "phone",
            CONTACT,
            (
                "携帯",
                "携帯電話",
                "携帯番号",
                "携帯電話番号",
                "mobile",
                "cell",
                "cellphone",
                "mobilephone",
            ),
        ),
        Target(
            "fax",
            _field_label("fax"),
            "phone",
            CONTACT,
            ("fax", "ファックス", "ファクス", "fax番号"),
        ),
        Target(
            "email",
            _field_label("email"),
            "text",
            CONTACT,
            (
                "メール",
                "メールアドレス",
                "eメール",
                "e-mail",
                "email",
                "mail",
                "mailaddress",
                "emailaddress",
            ),
        ),
        Target(
            "email_alt",
            _field_label("email_alt"),
            "text",
            CONTACT,
            ("メール2", "メールアドレス2", "サブメール", "携帯メール", "email2"),
        ),
        Target(
            "birthday",
            _field_label("birthday"),
            "date",
            NAMES,
            ("生年月日", "誕生日", "birthday", "dateofbirth", "birthdate", "dob"),
        ),
        Target(
            "gender",
            _field_label("gender"),
            "choice",
            NAMES,
            ("性別", "gender", "sex"),
            _choices(Customer.Gender.choices),
        ),
        Target(
            "owner",
            gettext_lazy("Owner (staff user name)"),
            "user",
            RELATIONSHIP,
            (
                "担当者",
                "担当",
                "営業担当",
                "担当営業",
                "営業担当者",
                "担当営業者",
                "自社担当",
                "社内担当",
                "owner",
                "salesrep",
            ),
        ),
        Target(
            "status",
            _field_label("status"),
            "choice",
            RELATIONSHIP,
            ("ステータス", "状態", "取引状況", "status"),
            _choices(Customer.Status.choices),
        ),
        Target(
            "rank",
            _field_label("rank"),
            "choice",
            RELATIONSHIP,
            ("ランク", "顧客ランク", "rank"),
            _choices(Customer.Rank.choices),
        ),
        Target(
            "acquisition_channel",
            _field_label("acquisition_channel"),
            "choice",
            RELATIONSHIP,
            (
                "流入経路",
                "獲得経路",
                "きっかけ",
                "経路",
                "チャネル",
                "channel",
                "source",
                "leadsource",
            ),
            _choices(Customer.Channel.choices),
        ),
        Target(
            "contact_email",
            gettext_lazy("May contact by e-mail"),
            "bool",
            RELATIONSHIP,
            ("メール可否", "メール配信", "メルマガ", "メール配信可否"),
        ),
        Target(
            "contact_phone",
            gettext_lazy("May contact by phone"),
            "bool",
            RELATIONSHIP,
            ("電話可否",),
        ),
        Target(
            "contact_post",
            gettext_lazy("May contact by post"),
            "bool",
            RELATIONSHIP,
            ("dm可否", "郵送可否", "dm"),
        ),
        Target(
            "contact_sns", gettext_lazy("May contact by SNS"), "bool", RELATIONSHIP, ("sns可否",)
        ),
        Target(
            "payment_terms",
            _field_label("payment_terms"),
            "text",
            RELATIONSHIP,
            ("支払条件", "支払い条件", "支払サイト", "paymentterms"),
        ),
        Target("tags", _field_label("tags"), "tags", NOTES, ("タグ", "tags", "tag", "ラベル")),
        Target(
            "needs", _field_label("needs"), "text", NOTES, ("ニーズ", "課題", "ニーズ課題", "needs")
        ),
        Target(
            "preferences",
            _field_label("preferences"),
            "text",
            NOTES,
            ("好み", "嗜好", "要望", "preferences"),
        ),
        Target(
            "notes",
            _field_label("notes"),
            "text",
            NOTES,
            ("備考", "メモ", "特記事項", "コメント", "notes", "note", "memo", "remarks", "comment"),
        ),
    ]


def activity_targets() -> list[Target]:
    from enishi.activities.models import Activity

    types = tuple((v, label) for v, label in Activity.Type.choices if v != "handover")
    return [
        Target(
            "customer_code",
            gettext_lazy("Customer code"),
            "text",
            CUSTOMER,
            ("顧客コード", "取引先コード", "顧客番号", "顧客id", "会員番号", "customercode"),
        ),
        Target(
            "customer_name",
            gettext_lazy("Customer name"),
            "text",
            CUSTOMER,
            (
                "顧客名",
                "氏名",
                "お客様名",
                "取引先名",
                "会社名",
                "名前",
                "customer",
                "customername",
                "name",
            ),
        ),
        Target(
            "customer_phone",
            gettext_lazy("Customer phone"),
            "phone",
            CUSTOMER,
            ("電話番号", "電話", "tel", "phone"),
        ),
        Target(
            "customer_email",
            gettext_lazy("Customer e-mail"),
            "text",
            CUSTOMER,
            ("メール", "メールアドレス", "email", "e-mail"),
        ),
        Target(
            "occurred_at",
            _activity_label("occurred_at"),
            "datetime",
            ACTIVITY,
            ("日時", "日付", "対応日", "対応日時", "実施日", "訪問日", "date", "datetime", "when"),
            required=True,
        ),
        Target(
            "type",
            _activity_label("type"),
            "choice",
            ACTIVITY,
            ("種別", "種類", "区分", "対応種別", "手段", "type", "kind"),
            types,
        ),
        Target(
            "direction",
            _activity_label("direction"),
            "choice",
            ACTIVITY,
            ("方向", "受発信", "発着信", "direction"),
            _choices(Activity.Direction.choices),
        ),
        Target(
            "staff",
            gettext_lazy("Staff (user name)"),
            "user",
            ACTIVITY,
            ("担当者", "担当", "対応者", "staff"),
        ),
        Target(
            "subject",
            _activity_label("subject"),
            "text",
            ACTIVITY,
            ("件名", "タイトル", "表題", "subject", "title"),
        ),
        Target(
            "body",
            _activity_label("body"),
            "text",
            ACTIVITY,
            ("内容", "対応内容", "本文", "詳細", "メモ", "body", "content", "details", "notes"),
        ),
        Target(
            "outcome", _activity_label("outcome"), "text", ACTIVITY, ("結果", "成果", "outcome")
        ),
        Target(
            "attendees",
            _activity_label("attendees"),
            "text",
            ACTIVITY,
            ("参加者", "同席者", "出席者", "attendees"),
        ),
        Target(
            "next_action",
            _activity_label("next_action"),
            "text",
            ACTIVITY,
            ("次回アクション", "次回対応", "次のアクション", "nextaction"),
        ),
        Target(
            "next_action_due",
            _activity_label("next_action_due"),
            "date",
            ACTIVITY,
            ("次回予定日", "次回日", "期日", "nextactiondue", "due"),
        ),
    ]


def _contract_label(name: str):
    from enishi.sales.models import Contract

    return capfirst(Contract._meta.get_field(name).verbose_name)


def contract_targets() -> list[Target]:
    from enishi.sales.models import Contract

    return [
        *activity_targets()[:4],
        Target("product_code", gettext_lazy("Product code"), "text", CONTRACT,
               ("商品コード", "製品コード", "プランコード", "productcode", "sku")),
        Target("plan", _contract_label("plan"), "text", CONTRACT,
               ("プラン", "プラン名", "契約内容", "契約名", "商品名", "サービス", "サービス名", "plan", "product")),
        Target("starts_on", _contract_label("starts_on"), "date", CONTRACT,
               ("開始日", "契約開始日", "契約日", "利用開始日", "start", "startdate", "startson"),
               required=True),
        Target("ends_on", _contract_label("ends_on"), "date", CONTRACT,
               ("終了日", "契約終了日", "満了日", "end", "enddate", "endson")),
        Target("renews_on", _contract_label("renews_on"), "date", CONTRACT,
               ("更新日", "契約更新日", "次回更新日", "renewal", "renewson", "renewaldate")),
        Target("auto_renew", _contract_label("auto_renew"), "bool", CONTRACT,
               ("自動更新", "autorenew")),
        Target("amount", _contract_label("amount"), "yen", CONTRACT,
               ("金額", "契約金額", "料金", "月額", "年額", "単価", "amount", "price", "fee")),
        Target("period", _contract_label("period"), "choice", CONTRACT,
               ("期間", "支払サイクル", "課金単位", "課金周期", "周期", "period", "billing"),
               _choices(Contract.Period.choices)),
        Target("cancelled_on", _contract_label("cancelled_on"), "date", CONTRACT,
               ("解約日", "cancelledon", "cancellationdate")),
        Target("cancellation_reason", _contract_label("cancellation_reason"), "text", CONTRACT,
               ("解約理由", "cancellationreason")),
        Target("owner", gettext_lazy("Owner (staff user name)"), "user", CONTRACT,
               ("担当者", "担当", "営業担当", "owner")),
        Target("note", _contract_label("note"), "text", CONTRACT,
               ("備考", "メモ", "note", "notes", "memo")),
    ]  # fmt: skip


def _order_label(name: str):
    from enishi.sales.models import Order

    return capfirst(Order._meta.get_field(name).verbose_name)


def _line_label(name: str):
    from enishi.sales.models import OrderLine

    return capfirst(OrderLine._meta.get_field(name).verbose_name)


def order_targets() -> list[Target]:
    """An order per row, or one row per line: rows with the same order number for the same
    karte are the lines of one order."""
    from enishi.sales.models import Order

    return [
        *activity_targets()[:4],
        Target("number", _order_label("number"), "text", ORDER,
               ("受注番号", "注文番号", "受注no", "注文no", "伝票番号", "受注id", "ordernumber",
                "orderno", "orderid", "order")),
        Target("ordered_on", _order_label("ordered_on"), "date", ORDER,
               ("受注日", "注文日", "受注日付", "注文日付", "orderdate", "orderedon", "date"),
               required=True),
        Target("delivered_on", _order_label("delivered_on"), "date", ORDER,
               ("納品日", "納入日", "出荷日", "deliverydate", "deliveredon", "delivery")),
        Target("order_status", _order_label("status"), "choice", ORDER,
               ("状態", "ステータス", "受注状態", "進捗", "status", "orderstatus"),
               _choices(Order.Status.choices)),
        Target("owner", gettext_lazy("Owner (staff user name)"), "user", ORDER,
               ("担当者", "担当", "営業担当", "owner")),
        Target("note", _order_label("note"), "text", ORDER,
               ("備考", "メモ", "note", "notes", "memo")),
        Target("product_code", gettext_lazy("Product code"), "text", ORDER_LINE,
               ("商品コード", "製品コード", "品番", "商品番号", "productcode", "sku", "itemcode")),
        Target("product_name", gettext_lazy("Product name"), "text", ORDER_LINE,
               ("商品名", "商品", "製品名", "product", "productname")),
        Target("description", _line_label("description"), "text", ORDER_LINE,
               ("品名", "明細", "摘要", "内容", "品目", "description", "item", "details")),
        Target("unit_price", _line_label("unit_price"), "price", ORDER_LINE,
               ("単価", "販売単価", "税抜単価", "unitprice", "price")),
        Target("quantity", _line_label("quantity"), "quantity", ORDER_LINE,
               ("数量", "個数", "数", "qty", "quantity")),
        Target("discount", _line_label("discount"), "discount", ORDER_LINE,
               ("値引", "値引き", "値引額", "値引金額", "割引", "discount")),
        Target("tax_rate", _line_label("tax_rate"), "tax_rate", ORDER_LINE,
               ("税率", "消費税率", "税区分", "taxrate", "tax", "vat")),
        Target("amount", gettext_lazy("Amount (checked, not imported)"), "yen", ORDER_LINE,
               ("金額", "明細金額", "税抜金額", "小計", "amount", "lineamount", "subtotal")),
    ]  # fmt: skip


def custom_targets(kind: str | None, *, sensitive_allowed: bool) -> list[Target]:
    from enishi.customers import fields as custom_fields

    targets = []
    for definition in custom_fields.active_definitions(kind):
        if definition.sensitive and not sensitive_allowed:
            continue
        targets.append(
            Target(
                CUSTOM_PREFIX + definition.key,
                definition.label,
                "custom",
                CUSTOM,
                tuple(a for a in (definition.label_ja, definition.label_en, definition.key) if a),
                required=definition.required,
                sensitive=definition.sensitive,
            )
        )
    return targets


def targets_for(target: str, *, sensitive_allowed: bool) -> list[Target]:
    if target == "activities":
        return activity_targets()
    if target == "contracts":
        return contract_targets()
    if target == "orders":
        return order_targets()
    return customer_targets() + custom_targets(None, sensitive_allowed=sensitive_allowed)


# --- recognising headers ----------------------------------------------------------------------

_HEADER_NOISE = re.compile(r"[\s\u3000・_\-‐－/／\\.．:：()（）\[\]【】「」『』*＊※#＃'\"?？!！]")
_ANNOTATION = re.compile(r"[(（【\[][^)）】\]]*[)）】\]]")


def header_key(text: str) -> str:
    """A header folded for comparison: "電話 番号（必須）" and "電話番号" differ only by the note."""
    folded = unicodedata.normalize("NFKC", text or "").lower()
    return _HEADER_NOISE.sub("", folded)


def header_keys(text: str) -> list[str]:
    keys = [header_key(text)]
    bare = header_key(_ANNOTATION.sub("", unicodedata.normalize("NFKC", text or "")))
    if bare and bare != keys[0]:
        keys.append(bare)
    return [k for k in keys if k]


def alias_index(targets: list[Target]) -> dict[str, str]:
    index: dict[str, str] = {}
    for target in targets:
        for alias in (*target.aliases, str(target.label)):
            index.setdefault(header_key(alias), target.key)
        with translation.override("en"):
            index.setdefault(header_key(str(target.label)), target.key)
        with translation.override("ja"):
            index.setdefault(header_key(str(target.label)), target.key)
    return index


# Looser rules when no alias matches exactly: (words the header contains, target), first wins.
_CONTAINS: tuple[tuple[tuple[str, ...], str], ...] = (
    (("携帯", "mobile", "cell"), "mobile"),
    (("fax", "ファクス", "ファックス"), "fax"),
    (("会社", "企業", "法人", "社名", "company"), "company_name"),
    (("フリガナ", "ふりがな", "カナ", "かな", "kana", "読み"), "name_kana"),
    (("メール", "mail"), "email"),
    (("電話", "tel", "phone"), "phone"),
    (("郵便", "〒", "zip", "postal"), "postal_code"),
    (("住所", "所在地", "address"), "address"),
    (("生年月日", "誕生", "birth"), "birthday"),
    (("コード", "code", "番号"), "code"),
    (("氏名", "名前", "name"), "name"),
    (("備考", "メモ", "note", "memo"), "notes"),
)

_EMAIL_RE = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
_POSTAL_RE = re.compile(r"〒?\s*\d{3}-?\d{4}")
_PHONE_RE = re.compile(r"\+?[\d\-() ]{10,16}")


def _value_guess(values: list[str]) -> str:
    filled = [normalize.fold_dashes(normalize.nfkc(v)).strip() for v in values if v and v.strip()]
    if not filled:
        return IGNORE
    for pattern, key in ((_EMAIL_RE, "email"), (_POSTAL_RE, "postal_code"), (_PHONE_RE, "phone")):
        if all(pattern.fullmatch(v) for v in filled):
            if key == "phone" and all(
                re.sub(r"\D", "", v).startswith(("070", "080", "090")) for v in filled
            ):
                return "mobile"
            return key
    return IGNORE


def guess_mapping(headers: list[str], sample: list[list[str]], targets: list[Target]) -> list[str]:
    """A target for each column, guessed from its header (and its values when the header says
    nothing). Each target is used at most once; a second e-mail column becomes the second
    e-mail, a second phone the mobile."""
    index = alias_index(targets)
    known = {t.key for t in targets}
    mapping = [IGNORE] * len(headers)
    used: set[str] = set()

    def take(column: int, key: str) -> bool:
        if key == "email" and key in used and "email_alt" in known:
            key = "email_alt"
        elif key == "phone" and key in used and "mobile" in known and "mobile" not in used:
            key = "mobile"
        if key in known and key not in used:
            mapping[column] = key
            used.add(key)
            return True
        return False

    for column, header in enumerate(headers):
        for key in header_keys(header):
            if key in index and take(column, index[key]):
                break
    for column, header in enumerate(headers):
        if mapping[column]:
            continue
        folded = header_key(header)
        for words, key in _CONTAINS:
            if any(word in folded for word in words) and take(column, key):
                break
    for column in range(len(headers)):
        if mapping[column]:
            continue
        guess = _value_guess([row[column] for row in sample if column < len(row)])
        if guess:
            take(column, guess)
    return mapping


def known_header_keys(targets: list[Target]) -> set[str]:
    return set(alias_index(targets))


# --- converting cells -------------------------------------------------------------------------

EXCEL_EPOCH = datetime.date(1899, 12, 30)
_FORMULA_START = ("=", "+", "-", "@")


class CellError(Exception):
    """A cell that cannot become a value of its target; the message is for people, kept for
    later (`core.later`: translated when the row's problems are read)."""

    def __init__(self, message: Any) -> None:
        super().__init__(message)
        self.message = stored(message)

    def __str__(self) -> str:
        return translated(self.message)


def text_value(value: Any) -> str:
    """A cell as text for a text field: the CSV-injection guard's apostrophe comes off again."""
    from enishi.imports.files import cell_text

    text = cell_text(value).strip()
    if text.startswith("'") and text[1:2] in _FORMULA_START:
        return text[1:]
    return text


def looks_like_formula(text: str) -> bool:
    return text.startswith("=") and len(text) > 1


def excel_serial_date(number: float) -> datetime.date:
    if not 1 <= number < 2958466:
        raise CellError(_("This number is not a date."))
    days = int(number)
    if days < 61:  # Excel counts a 29 February 1900 that never was
        days += 1
    return EXCEL_EPOCH + datetime.timedelta(days=days)


def date_value(value: Any) -> datetime.date | None:
    """A date from a workbook date, an Excel serial number, or text (western or 和暦)."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime.datetime):
        return value.date()
    if isinstance(value, datetime.date):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return excel_serial_date(float(value))
    text = text_value(value)
    if not text:
        return None
    if re.fullmatch(r"\d{5}(\.\d+)?", text):
        return excel_serial_date(float(text))
    cut = re.sub(r"[T\s]+\d{1,2}:\d{2}(:\d{2}(\.\d+)?)?$", "", text)  # "2024-04-01 00:00:00"
    try:
        return normalize.parse_date(cut)
    except ValidationError as exc:
        raise CellError(error_message(exc)) from None


_TIME_RE = re.compile(
    r"^(?P<date>.*?)[\sT]*(?P<h>\d{1,2})(?:[:時])(?P<m>\d{1,2})(?:(?:[:分])(?P<s>\d{1,2})秒?|分)?$"
)


def _serial_moment(number: float) -> datetime.datetime:
    day = excel_serial_date(number)
    seconds = round((number % 1) * 86400)
    return datetime.datetime.combine(day, datetime.time(0)) + datetime.timedelta(seconds=seconds)


def datetime_value(value: Any) -> datetime.datetime | None:
    """A moment (local time unless the workbook says otherwise); a date alone is midnight."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime.datetime):
        moment = value
    elif isinstance(value, datetime.date):
        moment = datetime.datetime.combine(value, datetime.time(0))
    elif isinstance(value, int | float) and not isinstance(value, bool):
        moment = _serial_moment(float(value))
    else:
        text = normalize.nfkc(text_value(value)).strip()
        if not text:
            return None
        match = _TIME_RE.match(text)
        if not match and re.fullmatch(r"\d{4,5}\.\d+", text):
            # An Excel date-time serial saved as text in a CSV (45400.75 = 2024-04-18 18:00).
            moment = _serial_moment(float(text))
            return timezone.make_aware(moment) if timezone.is_naive(moment) else moment
        if match and match["date"].strip():
            day = date_value(match["date"].strip())
            hour, minute, second = int(match["h"]), int(match["m"]), int(match["s"] or 0)
            if hour > 23 or minute > 59 or second > 59:
                raise CellError(_("This time does not exist."))
            moment = datetime.datetime.combine(day, datetime.time(hour, minute, second))
        else:
            day = date_value(text)
            moment = datetime.datetime.combine(day, datetime.time(0))
    if timezone.is_naive(moment):
        moment = timezone.make_aware(moment)
    return moment


# A minus written the ways people write it: "-500", "−500", "▲500", "△500", "(500)".
_NEGATIVE = re.compile(r"[-−▲△]\s*[\d.]+|\([\d.]+\)")
_NEGATIVE_NUMBER = gettext_lazy("Enter a number of 0 or more: this column takes no minus values.")
_NEGATIVE_AMOUNT = gettext_lazy(
    "Enter an amount of 0 yen or more: this column takes no minus amounts."
)


def int_value(value: Any) -> int | None:
    if value is None or value == "":
        return None
    if isinstance(value, int | float) and not isinstance(value, bool):
        if float(value).is_integer() and value >= 0:
            return int(value)
        raise CellError(_NEGATIVE_NUMBER if value < 0 else _("Enter a whole number."))
    text = normalize.nfkc(text_value(value)).replace(",", "")
    text = re.sub(r"(名|人|社)$", "", text).strip()
    if not text:
        return None
    if not re.fullmatch(r"\d{1,9}", text):
        raise CellError(
            _NEGATIVE_NUMBER if _NEGATIVE.fullmatch(text) else _("Enter a whole number.")
        )
    return int(text)


def yen_value(value: Any) -> int | None:
    """Whole yen: "¥12,000", "12000円", 12000.0."""
    if value is None or value == "":
        return None
    if isinstance(value, int | float) and not isinstance(value, bool):
        if float(value).is_integer() and value >= 0:
            return int(value)
        raise CellError(_NEGATIVE_AMOUNT if value < 0 else _("Enter an amount in whole yen."))
    text = normalize.nfkc(text_value(value)).replace(",", "").replace("¥", "").replace("\\", "")
    text = text.removesuffix("円").strip()
    if not text:
        return None
    if not re.fullmatch(r"\d{1,12}", text):
        if _NEGATIVE.fullmatch(text):
            raise CellError(_NEGATIVE_AMOUNT)
        raise CellError(_("Enter an amount in whole yen."))
    return int(text)


def _number_text(value: Any) -> str:
    text = normalize.nfkc(text_value(value)).replace(",", "").replace("¥", "").replace("\\", "")
    return text.strip()


def price_value(value: Any) -> str | None:
    """A unit price in yen, sen allowed ("¥1,234.5", "980円", 1234.5), as a decimal text."""
    if value is None or value == "":
        return None
    if isinstance(value, int | float) and not isinstance(value, bool):
        text = f"{value:.2f}" if isinstance(value, float) else str(value)
    else:
        text = _number_text(value).removesuffix("円").strip()
    if not text:
        return None
    if not re.fullmatch(r"\d{1,12}(\.\d{1,2}0*)?", text):
        raise CellError(_("Enter a price in yen, 0 or more, with at most 2 decimal places."))
    return _decimal_text(text)


def _decimal_text(text: str) -> str:
    whole, _dot, fraction = text.partition(".")
    fraction = fraction.rstrip("0")
    return f"{int(whole)}.{fraction}" if fraction else str(int(whole))


_QUANTITY_UNITS = re.compile(
    r"(個|本|台|式|点|枚|件|箱|冊|名|人|回|時間|ヶ月|か月|セット|set|pcs|pc)$"
)


def quantity_value(value: Any) -> str | None:
    """A quantity ("3", "1.5", "2個", "1式"), as a decimal text."""
    if value is None or value == "":
        return None
    if isinstance(value, int | float) and not isinstance(value, bool):
        text = f"{value:.2f}" if isinstance(value, float) else str(value)
    else:
        text = _QUANTITY_UNITS.sub("", _number_text(value).lower()).strip()
    if not text:
        return None
    if not re.fullmatch(r"\d{1,9}(\.\d{1,2}0*)?", text):
        raise CellError(_("Enter a quantity: a number with at most 2 decimal places."))
    return _decimal_text(text)


def discount_value(value: Any) -> int | None:
    """A discount in whole yen; written as a minus amount too ("-500", "▲500", "△500")."""
    if value is None or value == "":
        return None
    if isinstance(value, int | float) and not isinstance(value, bool):
        return yen_value(abs(value))
    text = _number_text(value)
    text = re.sub(r"^[-−‐–▲△]\s*", "", text)
    return yen_value(text)


_TAX_RATE_WORDS = {
    "10": 10,
    "標準": 10,
    "標準税率": 10,
    "課税": 10,
    "8": 8,
    "軽減": 8,
    "軽減税率": 8,
    "8軽": 8,
    "0": 0,
    "非課税": 0,
    "不課税": 0,
    "免税": 0,
    "対象外": 0,
    "なし": 0,
}


def tax_rate_value(value: Any) -> int | None:
    """A tax rate in percent: 10, "10%", 0.1 (a percent cell), "軽減" (8), "非課税" (0)."""
    if value is None or value == "":
        return None
    if isinstance(value, int | float) and not isinstance(value, bool):
        percent = value * 100 if 0 < value < 1 else value
        if float(percent).is_integer() and int(percent) in (10, 8, 0):
            return int(percent)
    else:
        text = _number_text(value).lower().replace("%", "").replace("※", "").strip()
        text = text.removesuffix("税率").strip() if text not in _TAX_RATE_WORDS else text
        if text in _TAX_RATE_WORDS:
            return _TAX_RATE_WORDS[text]
        if text in ("0.1", "0.10"):
            return 10
        if text == "0.08":
            return 8
    raise CellError(_("Choose a tax rate of 10%, 8% (reduced) or 0%."))


_KANJI_MONTHS = {k: i for i, k in enumerate("一二三四五六七八九十", start=1)}
_KANJI_MONTHS.update({"十一": 11, "十二": 12})


def month_value(value: Any) -> int | None:
    if value is None or value == "":
        return None
    text = normalize.nfkc(text_value(value)).strip()
    text = re.sub(r"(月|月末|月決算|決算)$", "", text).strip()
    number = _KANJI_MONTHS.get(text)
    if number is None and re.fullmatch(r"\d{1,2}", text):
        number = int(text)
    if number is None or not 1 <= number <= 12:
        raise CellError(_("Enter a month from 1 to 12."))
    return number


_TRUE = {
    "1",
    "true",
    "yes",
    "on",
    "はい",
    "有",
    "あり",
    "○",
    "〇",
    "◯",
    "可",
    "ok",
    "y",
    "済",
    "許可",
}
_FALSE = {"0", "false", "no", "off", "いいえ", "無", "なし", "×", "不可", "ng", "n", "拒否", "-"}


def bool_value(value: Any) -> bool | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        return value
    text = normalize.nfkc(text_value(value)).strip().lower()
    if not text:
        return None
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise CellError(_("Choose yes or no."))


def choice_index(target: Target) -> dict[str, str]:
    """Every way of writing each choice (value, Japanese and English label, a few synonyms)."""
    index: dict[str, str] = {}

    def add(word: str, value: str) -> None:
        index.setdefault(header_key(normalize.nfkc(word)), value)

    for value, label in target.choices:
        add(value, value)
        for language in ("ja", "en"):
            with translation.override(language):
                add(str(label), value)
    for word, value in _CHOICE_SYNONYMS.get(target.key, {}).items():
        add(word, value)
    return index


_CHOICE_SYNONYMS: dict[str, dict[str, str]] = {
    "kind": {
        "会社": "company",
        "法人": "company",
        "企業": "company",
        "団体": "company",
        "corporate": "company",
        "b2b": "company",
        "個人": "person",
        "人": "person",
        "担当者": "person",
        "individual": "person",
        "b2c": "person",
        "consumer": "person",
    },
    "gender": {
        "男": "male",
        "男性": "male",
        "m": "male",
        "女": "female",
        "女性": "female",
        "f": "female",
        "その他": "other",
        "回答しない": "other",
    },
    "status": {
        "見込": "prospect",
        "見込客": "prospect",
        "見込み客": "prospect",
        "既存": "customer",
        "既存顧客": "customer",
        "取引中": "customer",
        "顧客": "customer",
        "休眠顧客": "dormant",
        "取引停止": "lost",
        "失注": "lost",
        "リード": "lead",
        "新規": "lead",
    },
    "acquisition_channel": {
        "web": "web",
        "ホームページ": "web",
        "hp": "web",
        "問い合わせフォーム": "web",
        "紹介": "referral",
        "展示会": "event",
        "セミナー": "event",
        "広告": "ad",
        "電話": "phone",
        "来店": "walk_in",
        "飛び込み": "sales",
        "dm": "dm",
        "sns": "sns",
        "営業": "sales",
        "その他": "other",
    },
    "type": {
        "電話": "call",
        "tel": "call",
        "架電": "call",
        "メール": "email",
        "mail": "email",
        "訪問": "visit",
        "来訪": "meeting",
        "打ち合わせ": "meeting",
        "打合せ": "meeting",
        "会議": "meeting",
        "商談": "meeting",
        "フォーム": "web_form",
        "問い合わせ": "web_form",
        "メルマガ": "newsletter",
        "イベント": "event",
        "セミナー": "event",
        "作業": "service_visit",
        "点検": "service_visit",
        "修理": "service_visit",
        "メモ": "note",
    },
    "period": {
        "月": "month",
        "月額": "month",
        "毎月": "month",
        "月払い": "month",
        "monthly": "month",
        "四半期": "quarter",
        "quarterly": "quarter",
        "年": "year",
        "年額": "year",
        "毎年": "year",
        "年払い": "year",
        "yearly": "year",
        "annual": "year",
        "一括": "once",
        "一回": "once",
        "都度": "once",
        "onetime": "once",
    },  # fmt: skip
    "order_status": {
        "受注": "received",
        "受注済": "received",
        "受付": "received",
        "未納品": "received",
        "納品済": "delivered",
        "納品済み": "delivered",
        "出荷済": "delivered",
        "出荷済み": "delivered",
        "請求済": "invoiced",
        "請求済み": "invoiced",
        "入金済": "paid",
        "入金済み": "paid",
        "支払済": "paid",
        "完了": "paid",
        "キャンセル": "cancelled",
        "取消": "cancelled",
        "取り消し": "cancelled",
        "canceled": "cancelled",
    },
    "direction": {
        "受信": "in",
        "着信": "in",
        "入電": "in",
        "inbound": "in",
        "発信": "out",
        "架電": "out",
        "outbound": "out",
    },
}


def choice_value(target: Target, value: Any, index: dict[str, str]) -> str:
    text = normalize.nfkc(text_value(value)).strip()
    if not text:
        return ""
    found = index.get(header_key(text))
    if found is None and target.key == "rank":
        found = index.get(header_key(text.upper()))
    if found is None:
        raise CellError(
            later(
                _("“%(value)s” is not one of the choices: %(choices)s"),
                value=text,
                choices=[label for _v, label in target.choices],
            )
        )
    return found


# "TEL:", "ＴＥＬ：", "携帯 ", "Fax." … written before the number in many spreadsheets.
_PHONE_LABEL = re.compile(
    r"^\s*(?:tel|phone|fax|mobile|携帯電話|携帯|電話番号|電話|代表|直通|ファックス)\s*(?:[.:：]\s*)?",
    re.IGNORECASE,
)


def phone_text(value: Any) -> tuple[str, bool]:
    """(phone as text, whether a leading zero lost by Excel was put back)."""
    if isinstance(value, int | float) and not isinstance(value, bool) and float(value).is_integer():
        digits = str(int(value))
        if 9 <= len(digits) <= 10 and not digits.startswith("0"):
            return "0" + digits, True
        return digits, False
    text = text_value(value)
    folded = normalize.nfkc(text)
    label = _PHONE_LABEL.match(folded)
    if label and label.end() < len(folded):
        return folded[label.end() :].strip(), False
    return text, False


def reading_text(text: str) -> str:
    """A company's reading without its legal form, as readings are kept: ｶ)ﾔﾏﾀﾞｼｮｳｼﾞ and
    ﾔﾏﾀﾞｼｮｳｼﾞ(ｶ) are read ヤマダショウジ (bank-style forms are common in old systems)."""
    if not text or normalize.is_kana_reading(text):
        return text
    legal = normalize.detect_legal_form(text)
    if legal.form and normalize.is_kana_reading(legal.bare):
        return legal.bare
    return text


def postal_text(value: Any) -> tuple[str, bool]:
    if isinstance(value, int | float) and not isinstance(value, bool) and float(value).is_integer():
        digits = str(int(value))
        if 5 <= len(digits) <= 6:
            return digits.zfill(7), True
        return digits, False
    return text_value(value), False


_TAG_SPLIT = re.compile(r"[,、;；|｜/／\n]+")


def tags_value(value: Any) -> list[str]:
    return [t.strip() for t in _TAG_SPLIT.split(text_value(value)) if t.strip()]


# --- addresses --------------------------------------------------------------------------------

_CITY_RE = re.compile(
    r"^(?P<city>(?:.{1,6}?郡.{1,6}?[町村])|(?:.{1,5}?市.{1,5}?区)|(?:.{1,6}?[市区町村]))"
)


@dataclass
class AddressParts:
    prefecture: str = ""
    city: str = ""
    town: str = ""
    street: str = ""
    building: str = ""
    parts: dict[str, str] = field(default_factory=dict)


def split_address(text: str, postal_code: str = "") -> dict[str, str]:
    """A whole address in one cell → prefecture, city, town, street and building.

    The text is kept as typed; only where to cut is decided (prefecture by name; city by
    市区町村, or by the postal code's offline address when the prefecture is left out). Joined
    again they give back what was typed, so nothing is lost when a cut is not where a person
    would cut.
    """
    rest = normalize.collapse_spaces(text)
    if not rest:
        return {}
    parts: dict[str, str] = {}
    folded = normalize.nfkc(rest)
    prefecture = next((p for p in PREFECTURES if folded.startswith(p)), "")
    found = None
    if prefecture:
        parts["prefecture"] = prefecture
        rest = rest[len(prefecture) :].lstrip()
    elif postal_code:
        # Only without a prefecture is the (slower) postal lookup worth it.
        found = normalize.lookup_postal_code(postal_code)
        if found is not None:
            parts["prefecture"] = found.prefecture
    if found is not None and found.city and normalize.nfkc(rest).startswith(found.city):
        parts["city"] = rest[: len(found.city)]
        rest = rest[len(found.city) :].lstrip()
        if found.town and normalize.nfkc(rest).startswith(found.town):
            parts["town"] = rest[: len(found.town)]
            rest = rest[len(found.town) :].lstrip()
    else:
        match = _CITY_RE.match(rest)
        if match and not re.search(r"\d", match["city"]):
            parts["city"] = match["city"]
            rest = rest[len(match["city"]) :].lstrip()
    street, _space, building = rest.partition(" ")
    if street:
        parts["street"] = street
    if building:
        parts["building"] = building
    return parts
