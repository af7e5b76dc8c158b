"""Printed kartes: A4 PDFs with Japanese text that stays text (searchable, copyable), the
right honorific, one karte per page in a selection, and the sensitive-field rule.

pypdf is not a dependency, so the PDF is read here with a small reader: WeasyPrint compresses
pages into object streams and writes text as glyph ids of font subsets, each subset with a
ToUnicode map; the reader follows those maps, font by font, to get the text back."""

import re
import zlib

import pytest
from django.urls import reverse

from enishi.activities.services import task_create
from enishi.core import testing
from enishi.history.models import HistoryEntry
from enishi.transfer import card_services

pytestmark = pytest.mark.django_db

_OBJECT = re.compile(rb"(\d+)\s+0\s+obj\b")
_PAGE = re.compile(rb"/Type\s*/Page(?![a-zA-Z])")


def pdf_objects(pdf: bytes) -> dict[int, tuple[bytes, bytes | None]]:
    """Object number → (dictionary text, decompressed stream or None), object streams opened."""
    objects: dict[int, tuple[bytes, bytes | None]] = {}
    position = 0
    while match := _OBJECT.search(pdf, position):
        number, start = int(match[1]), match.end()
        stream_at, end_at = pdf.find(b"stream", start), pdf.find(b"endobj", start)
        if stream_at == -1 or stream_at > end_at:
            objects[number] = (pdf[start:end_at], None)
            position = end_at + 6
            continue
        head = pdf[start:stream_at]
        length = int(re.search(rb"/Length\s+(\d+)", head)[1])
        data_start = stream_at + 6 + (2 if pdf[stream_at + 6 : stream_at + 8] == b"\r\n" else 1)
        data = pdf[data_start : data_start + length]
        if b"/FlateDecode" in head:
            data = zlib.decompress(data)
        objects[number] = (head, data)
        position = pdf.find(b"endobj", data_start + length) + 6
    for head, data in list(objects.values()):
        if data is not None and re.search(rb"/Type\s*/ObjStm", head):
            first = int(re.search(rb"/First\s+(\d+)", head)[1])
            numbers = list(map(int, data[:first].split()))
            pairs = list(zip(numbers[0::2], numbers[1::2], strict=True))
            for i, (inner, offset) in enumerate(pairs):
                end = pairs[i + 1][1] if i + 1 < len(pairs) else len(data) - first
                objects[inner] = (data[first + offset : first + end], None)
    return objects


def page_count(pdf: bytes) -> int:
    return sum(1 for head, _ in pdf_objects(pdf).values() if _PAGE.search(head))


def _to_unicode(data: bytes) -> dict[int, str]:
    table: dict[int, str] = {}
    for block in re.findall(rb"beginbfchar(.*?)endbfchar", data, re.S):
        for source, target in re.findall(rb"<([0-9A-Fa-f]+)>\s*<([0-9A-Fa-f]+)>", block):
            table[int(source, 16)] = bytes.fromhex(target.decode()).decode("utf-16-be")
    for block in re.findall(rb"beginbfrange(.*?)endbfrange", data, re.S):
        ranges = re.findall(rb"<([0-9A-Fa-f]+)>\s*<([0-9A-Fa-f]+)>\s*<([0-9A-Fa-f]+)>", block)
        for low, high, target in ranges:
            base = bytes.fromhex(target.decode()).decode("utf-16-be")
            for i, code in enumerate(range(int(low, 16), int(high, 16) + 1)):
                table[code] = base[:-1] + chr(ord(base[-1]) + i)
    return table


def pdf_pages_text(pdf: bytes) -> list[str]:
    """The text of each page, in page order, as a PDF reader would extract it."""
    objects = pdf_objects(pdf)
    fonts = {}
    for head, _ in objects.values():
        base = re.search(rb"/BaseFont\s*/([A-Z]{6})\+", head)
        to_unicode = re.search(rb"/ToUnicode\s+(\d+)\s+0\s+R", head)
        if base and to_unicode:
            fonts[base[1].decode()] = _to_unicode(objects[int(to_unicode[1])][1])
    tree = next(h for h, _ in objects.values() if re.search(rb"/Type\s*/Pages", h))
    kids = re.findall(rb"(\d+)\s+0\s+R", re.search(rb"/Kids\s*\[(.*?)\]", tree, re.S)[1])
    operators = re.compile(
        rb"/([A-Za-z0-9]+)\s+[\d.]+\s+Tf|\[((?:[^\]\\]|\\.)*)\]\s*TJ|<([0-9A-Fa-f]*)>\s*Tj"
        rb"|\b(Tm|Td|TD|T\*)\b"
    )
    pages = []
    for kid in kids:
        head = objects[int(kid)][0]
        contents = re.search(rb"/Contents\s*(\[.*?\]|\d+\s+0\s+R)", head, re.S)[1]
        out: list[str] = []
        for ref in re.findall(rb"(\d+)\s+0\s+R", contents):
            font: dict[int, str] = {}
            for m in operators.finditer(objects[int(ref)][1] or b""):
                if m[1]:
                    font = fonts.get(m[1].decode(), {})
                elif m[2] is not None or m[3] is not None:
                    strings = re.findall(rb"<([0-9A-Fa-f]*)>", m[2] or b"<" + m[3] + b">")
                    for hexes in (s.decode() for s in strings):
                        out.extend(
                            font.get(int(hexes[i : i + 4], 16), "") for i in range(0, len(hexes), 4)
                        )
                else:
                    out.append("\n")
        pages.append("".join(out))
    return pages


@pytest.fixture
def hanako(alice):
    company = testing.make_company(alice, name="株式会社髙橋商事", name_kana="タカハシショウジ")
    person = testing.make_customer(
        alice,
        name="髙橋 𠮷子",
        family_name="髙橋",
        given_name="𠮷子",
        name_kana="タカハシ ヨシコ",
        company=company,
        department="営業部",
        title="部長",
        phone="03-3581-0101",
        email="yoshiko@takahashi.example.jp",
        postal_code="100-0014",
        street="1-7-1",
        notes="紹介は佐藤様から",
    )
    testing.log_call(alice, person, subject="見積の電話", next_action="見積書を送る")
    task_create(actor=alice, customer=person, title="訪問日程を決める")
    return person


def test_one_karte_is_one_a4_page_with_japanese_text_and_the_honorific(alice_client, hanako):
    response = alice_client.get(reverse("cards:pdf", args=[hanako.pk]))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert "attachment" in response["Content-Disposition"]
    pdf = response.content
    assert pdf.startswith(b"%PDF-")
    assert re.search(
        rb"/MediaBox\s*\[0 0 595\.\d+ 841\.\d+\]", b"".join(h for h, _ in pdf_objects(pdf).values())
    )  # A4 in points
    assert page_count(pdf) == 1
    text = pdf_pages_text(pdf)[0]
    for expected in (
        "髙橋 𠮷子",
        "様",
        "タカハシ ヨシコ",
        "株式会社髙橋商事",
        "03-3581-0101",
        "東京都千代田区永田町1-7-1",
        "紹介は佐藤様から",
        "訪問日程を決める",
        "見積の電話",
        "有栖 アリス",  # who printed, in the footer
        "1 / 1",
    ):
        assert expected in text, expected


def test_a_contact_permission_never_asked_is_printed_as_on_the_screen(alice_client, alice):
    karte = testing.make_customer(
        alice, name="連絡 花子", contact_permissions={"email": True, "phone": False}
    )
    url = reverse("cards:pdf", args=[karte.pk])
    text = pdf_pages_text(alice_client.get(url).content)[0]
    assert "E-mail ○" in text and "Phone ×" in text
    assert "Post (DM) Unknown" in text and "SNS Unknown" in text
    assert "?" not in text
    alice.language = "ja"
    alice.save()
    text = pdf_pages_text(alice_client.get(url).content)[0]
    assert "メール ○" in text and "電話 ×" in text
    assert "郵送（DM） 不明" in text and "SNS 不明" in text  # the word of the edit form
    assert "?" not in text


def test_emoji_in_a_name_print_with_an_emoji_font_not_as_empty_boxes(alice_client, alice):
    karte = testing.make_customer(alice, name="寿司 太郎🍣", notes="☎ は夜に")
    pdf = alice_client.get(reverse("cards:pdf", args=[karte.pk])).content
    fonts = {
        match[1]
        for head, _ in pdf_objects(pdf).values()
        if (match := re.search(rb"/BaseFont\s*/[A-Z]{6}\+([A-Za-z-]+)", head))
    }
    assert b"Noto-Color-Emoji" in fonts, fonts
    assert "寿司 太郎🍣" in pdf_pages_text(pdf)[0]


def test_a_company_is_addressed_with_onchu(alice_client, hanako):
    response = alice_client.get(reverse("cards:pdf", args=[hanako.company_id]))
    text = pdf_pages_text(response.content)[0]
    assert "株式会社髙橋商事" in text and "御中" in text
    assert "髙橋 𠮷子 様" in text  # its contact persons


def test_a_selection_prints_one_karte_per_page(alice_client, alice, hanako):
    testing.make_customer(alice, name="佐藤 一郎", name_kana="サトウ イチロウ")
    response = alice_client.post(reverse("cards:selection") + "?kind=person", {"format": "pdf"})
    assert response.status_code == 200
    pages = pdf_pages_text(response.content)
    assert len(pages) == 2
    assert "佐藤 一郎" in pages[0] and "髙橋 𠮷子" not in pages[0]  # most recently updated first
    assert "髙橋 𠮷子" in pages[1]
    # Each karte is handed out on its own: its pages are numbered within it.
    assert "1 / 1" in pages[0] and "1 / 1" in pages[1]
    assert not any("/ 2" in page for page in pages)


def test_a_selection_of_three_is_three_pages(alice_client, alice):
    for i in range(3):
        testing.make_customer(alice, name=f"印刷 太郎{i}", tags=["印刷"])
    tag = alice.owned_customers.first().tags.get().pk
    response = alice_client.post(reverse("cards:selection") + f"?tag={tag}", {"format": "pdf"})
    assert page_count(response.content) == 3
    printed = HistoryEntry.objects.filter(action="export", model="customers.customer")
    assert printed.filter(changes__format=[None, "pdf"]).count() == 3


@pytest.fixture
def allergy_karte(alice, allergy, bob):
    return testing.make_customer(
        alice, owner=bob, name="来店 花子", custom_fields={"allergies": "そば"}
    )


def test_a_member_never_sees_a_sensitive_field_on_paper(client, bob, allergy_karte):
    client.force_login(bob)
    text = pdf_pages_text(client.get(reverse("cards:pdf", args=[allergy_karte.pk])).content)[0]
    assert "来店 花子" in text
    assert "そば" not in text and "Allergies" not in text and "アレルギー" not in text
    assert not HistoryEntry.objects.filter(action="view_sensitive").exists()


def test_an_admin_sees_it_and_the_view_is_recorded(alice_client, alice, allergy_karte):
    text = pdf_pages_text(alice_client.get(reverse("cards:pdf", args=[allergy_karte.pk])).content)[
        0
    ]
    assert "そば" in text
    entry = HistoryEntry.objects.get(action="view_sensitive")
    assert (entry.actor, entry.customer_id) == (alice, allergy_karte.pk)


def test_printing_is_recorded_in_the_kartes_history(alice_client, alice, hanako):
    alice_client.get(reverse("cards:pdf", args=[hanako.pk]))
    entry = HistoryEntry.objects.get(action="export")
    assert (entry.actor, entry.customer_id, entry.via) == (alice, hanako.pk, "ui")
    assert entry.changes == {"format": [None, "pdf"]}


def test_a_long_karte_continues_on_a_second_page(alice, alice_client):
    long = testing.make_customer(alice, name="長文 太郎", notes="長い記録です。\n" * 120)
    pdf = alice_client.get(reverse("cards:pdf", args=[long.pk])).content
    pages = pdf_pages_text(pdf)
    assert len(pages) >= 2
    assert "長文 太郎" in pages[1]  # the name at the top of every page
    assert f"2 / {len(pages)}" in pages[1]


def test_each_karte_of_a_selection_counts_its_own_pages(alice, alice_client):
    testing.make_customer(alice, name="短文 花子", tags=["印刷"])
    testing.make_customer(alice, name="長文 太郎", notes="長い記録です。\n" * 120, tags=["印刷"])
    tag = alice.owned_customers.first().tags.get().pk
    response = alice_client.post(reverse("cards:selection") + f"?tag={tag}", {"format": "pdf"})
    pages = pdf_pages_text(response.content)
    long = len(pages) - 1  # the most recently updated first: 長文 太郎, then 短文 花子
    assert long >= 2 and ["長文 太郎" in page for page in pages] == [True] * long + [False]
    assert [footer(page) for page in pages] == [f"{n} / {long}" for n in range(1, long + 1)] + [
        "1 / 1"
    ]


def footer(page_text: str) -> str:
    """The page number, the last line of a page's text."""
    return page_text.rstrip().rsplit("\n", 1)[-1].strip()


def test_the_pdf_service_refuses_an_empty_selection(alice):
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError):
        card_services.card_pdf_export(actor=alice, customers=[], base_url="http://testserver/")


def test_each_printed_karte_costs_a_bounded_number_of_queries(alice, django_assert_max_num_queries):
    kartes = []
    for i in range(6):
        karte = testing.make_customer(alice, name=f"印刷 太郎{i}", tags=["印刷"])
        testing.log_call(alice, karte, subject="電話", next_action="折り返す")
        kartes.append(karte)
    # Per karte: its figures, timeline sources, tasks, custom fields and tags; plus the
    # companies, the history entries and the savepoint once.
    with django_assert_max_num_queries(6 * 15 + 6):
        card_services.card_pdf_export(actor=alice, customers=kartes, base_url="http://t/")


def test_long_unbroken_text_wraps_inside_the_page(alice):
    from weasyprint.formatting_structure import boxes

    from enishi.transfer import card_selectors, printing

    url = "https://drive.example.co.jp/share/" + "abcdef0123456789" * 8
    karte = testing.make_customer(alice, name="長い 備考", notes=url, needs="A" * 3000)
    book = printing.KarteBook(printed_by="alice", base_url="/", title="t")
    book.add([card_selectors.card_print_data(alice, karte, None)])
    widest, text = 0.0, []
    for page in book.pages:
        for box in page._page_box.descendants():
            if isinstance(box, boxes.TextBox):
                widest = max(widest, box.position_x + box.width - page.width)
                text.append(box.text)
    assert widest <= 0.5  # nothing runs off the right edge of the sheet
    joined = "".join(text)
    assert joined.count("A") >= 3000 and "abcdef0123456789" * 8 in joined


def test_a_very_long_name_keeps_the_running_header_to_one_line_and_phones_whole(alice):
    from weasyprint.formatting_structure import boxes

    from enishi.transfer import card_selectors, printing

    company = testing.make_company(alice, name="株式会社" + "長" * 190)
    testing.make_customer(
        alice, name="", family_name="長" * 99, given_name="名" * 100, company=company,
        phone="0428-29-9468",
    )  # fmt: skip
    testing.make_customer(alice, name="普通 花子", company=company, phone="0428-29-9469")
    book = printing.KarteBook(printed_by="alice", base_url="/", title="t")
    book.add([card_selectors.card_print_data(alice, company, None)])
    page = book.pages[0]._page_box
    header = [
        b for b in page.children if type(b).__name__ == "MarginBox" and b.at_keyword == "@top-left"
    ]
    lines = [b for b in header[0].descendants() if isinstance(b, boxes.LineBox)]
    assert len(lines) == 1 and header[0].position_y + header[0].height <= page.margin_top + 1
    texts = [b.text for b in page.descendants() if isinstance(b, boxes.TextBox)]
    assert "0428-29-9468" in texts and "0428-29-9469" in texts  # never broken
