"""vCard downloads, the QR code, the list's selection and the vCard import on the screens.
Alice is an admin; Bob a member of 営業1課; Carol a member of 営業2課; Dave read-only."""

import datetime
import re

import pytest
import segno
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from enishi.core import testing
from enishi.customers.models import Customer
from enishi.history.models import HistoryEntry
from enishi.transfer import card_services, card_views
from enishi.transfer.vcard import parse_vcards
from enishi.transfer.vcard_map import customer_vcard

from .test_vcard_samples import ANDROID_21, FEATURE_PHONE, IPHONE

pytestmark = pytest.mark.django_db


@pytest.fixture
def company(alice):
    return testing.make_company(
        alice, name="株式会社山田商事", name_kana="ヤマダショウジ", phone="03-3581-0100"
    )


@pytest.fixture
def taro(alice, company):
    return testing.make_customer(
        alice,
        name="山田 太郎",
        family_name="山田",
        given_name="太郎",
        name_kana="ヤマダ タロウ",
        company=company,
        department="営業部",
        title="部長",
        phone="03-3581-0101",
        mobile="090-1234-5678",
        fax="03-3581-0102",
        email="taro@yamada-shoji.co.jp",
        email_alt="taro.yamada@example.jp",
        postal_code="100-0014",
        town="永田町",
        street="1-7-1",
        building="永田町ビル3F",
        website="https://www.yamada-shoji.co.jp",
        birthday=datetime.date(1980, 4, 1),
        notes="社外秘のメモ",
    )


class SessionRequest:
    """Enough of a request for the view's own reading of the stored preview."""

    def __init__(self, client) -> None:
        self.session = client.session


def upload(client, data: bytes, name="contacts.vcf"):
    return client.post(
        reverse("cards:import"), {"file": SimpleUploadedFile(name, data, "text/vcard")}
    )


def preview_batch(response) -> str:
    assert response.status_code == 302, response.content.decode()[:500]
    return re.search(r"/cards/import/([0-9a-f]+)/", response["Location"])[1]


# --- Export ----------------------------------------------------------------------------------


def test_it_downloads_a_persons_vcard_with_readings_for_phones(alice_client, alice, taro):
    response = alice_client.get(reverse("cards:vcard", args=[taro.pk]))
    assert response.status_code == 200
    assert response["Content-Type"] == "text/vcard; charset=utf-8"
    assert (
        "filename*=utf-8''%E5%B1%B1%E7%94%B0%20%E5%A4%AA%E9%83%8E.vcf"
        in (response["Content-Disposition"])
    )
    text = response.content.decode()
    assert text.startswith("BEGIN:VCARD\r\nVERSION:3.0\r\n")
    for line in (
        "N;CHARSET=UTF-8:山田;太郎;;;",
        "X-PHONETIC-LAST-NAME;CHARSET=UTF-8:ヤマダ",
        "X-PHONETIC-FIRST-NAME;CHARSET=UTF-8:タロウ",
        "ORG;CHARSET=UTF-8:株式会社山田商事;営業部",
        "X-PHONETIC-ORG;CHARSET=UTF-8:ヤマダショウジ",
        "X-MS-N-YOMI;CHARSET=UTF-8:ヤマダ;タロウ",  # Outlook's reading
        "TEL;TYPE=CELL,VOICE:090-1234-5678",
        "TEL;TYPE=WORK,FAX:03-3581-0102",
        "BDAY:1980-04-01",
    ):
        assert line in text.split("\r\n"), line
    assert "社外秘" not in text  # internal notes never leave in a vCard
    entry = HistoryEntry.objects.get(action="export")
    assert (entry.customer_id, entry.changes) == (taro.pk, {"format": [None, "vcard 3.0"]})


def test_it_downloads_a_4_0_vcard_with_sort_as(alice_client, taro):
    text = alice_client.get(reverse("cards:vcard", args=[taro.pk]), {"version": "4.0"}).content
    lines = text.decode().split("\r\n")
    assert 'N;SORT-AS="ヤマダ,タロウ":山田;太郎;;;' in lines
    assert 'TEL;VALUE=uri;TYPE="cell,voice":tel:+81-90-1234-5678' in lines


@pytest.mark.parametrize("version", ["3.0", "4.0"])
def test_a_person_without_a_company_is_neither_home_nor_work(alice, version):
    """The karte does not say whose address it is: a round trip keeps a work address work."""
    person = testing.make_customer(
        alice, name="佐藤 花", phone="03-3581-0101", email="hana@example.jp",
        postal_code="100-0014", town="永田町", street="1-7-1",
    )  # fmt: skip
    text = customer_vcard(person, version=version, company=None)
    for line in text.split("\r\n"):
        if line.startswith(("TEL", "EMAIL", "ADR")):
            assert "HOME" not in line.upper() and "WORK" not in line.upper(), line
    assert "ADR" in text and "hana@example.jp" in text


def test_a_company_is_its_own_card_and_its_contacts_can_be_had_together(
    alice_client, company, taro, alice
):
    testing.make_customer(alice, name="山田 花子", company=company)
    own = alice_client.get(reverse("cards:vcard", args=[company.pk])).content.decode()
    assert "X-ABShowAs:COMPANY" in own and "ORG;CHARSET=UTF-8:株式会社山田商事" in own
    contacts = alice_client.get(reverse("cards:vcard", args=[company.pk]), {"contacts": "1"})
    cards = parse_vcards(contacts.content, max_cards=10).cards
    assert sorted(c.first("FN").text for c in cards) == ["山田 太郎", "山田 花子"]
    assert "kartes-" in contacts["Content-Disposition"]


def test_a_company_without_contacts_the_user_sees_is_said_so(alice_client, company):
    response = alice_client.get(reverse("cards:vcard", args=[company.pk]), {"contacts": "1"})
    assert response.status_code == 302
    assert not HistoryEntry.objects.filter(action="export").exists()


def test_a_company_the_user_may_not_see_is_not_named_on_the_card(client, bob, carol):
    secret = testing.make_company(carol, name="株式会社機密")
    mine = testing.make_customer(bob, name="ボブの 顧客", company=secret)
    client.force_login(bob)
    text = client.get(reverse("cards:vcard", args=[mine.pk])).content.decode()
    assert "機密" not in text and "ORG" not in text


def test_another_teams_karte_has_no_vcard_pdf_or_qr(client, bob, carol):
    secret = testing.make_customer(carol, name="機密 花子")
    client.force_login(bob)
    for name in ("cards:vcard", "cards:pdf", "cards:qr"):
        assert client.get(reverse(name, args=[secret.pk])).status_code == 404
    assert not HistoryEntry.objects.filter(action="export").exists()


def test_a_read_only_user_may_download_what_they_see(client, dave, bob):
    mine = testing.make_customer(bob, name="見える 顧客")
    client.force_login(dave)
    assert client.get(reverse("cards:vcard", args=[mine.pk])).status_code == 200
    assert client.get(reverse("cards:import")).status_code == 404
    listing = client.get(reverse("customers:list")).content.decode()
    assert reverse("cards:selection") in listing and reverse("cards:import") not in listing


def test_the_karte_offers_the_downloads(alice_client, taro):
    body = alice_client.get(taro.get_absolute_url()).content.decode()
    for name in ("cards:pdf", "cards:vcard", "cards:qr"):
        assert reverse(name, args=[taro.pk]) in body


# --- QR code -----------------------------------------------------------------------------


def test_the_qr_page_shows_an_inline_svg_of_a_compact_vcard(alice_client, taro, company):
    response = alice_client.get(reverse("cards:qr", args=[taro.pk]))
    body = response.content.decode()
    assert response.status_code == 200
    qr = body.split('class="qr"', 1)[1].split("</div>", 1)[0]
    assert '<svg width="' in qr and "<script" not in qr and "style=" not in qr
    payload = customer_vcard(taro, version="3.0", company=company, compact=True)
    assert payload.startswith("BEGIN:VCARD\r\nVERSION:3.0\r\n") and payload.endswith(
        "END:VCARD\r\n"
    )
    for line in ("N:山田;太郎;;;", "X-PHONETIC-LAST-NAME:ヤマダ", "TEL;TYPE=CELL:090-1234-5678"):
        assert line in payload.split("\r\n")
    assert "PRODID" not in payload and "CHARSET" not in payload and "BDAY" not in payload
    assert "FAX" not in payload and "taro.yamada@example.jp" not in payload
    code = segno.make(payload, encoding="utf-8", error="l", micro=False)
    assert code.mode == "byte" and code.version <= 15  # scannable by any phone camera
    assert f'data-bytes="{len(payload.encode())}"' in body
    # What the phone reads is a card we read back as the same person.
    card = parse_vcards(payload.encode(), max_cards=1).cards[0]
    assert card.first("FN").text == "山田 太郎"


# --- The list's selection ---------------------------------------------------------------------


def test_the_selection_page_says_how_many_and_offers_pdf_and_vcard(client, bob, carol):
    for i in range(3):
        testing.make_customer(bob, name=f"ボブ 顧客{i}", status="customer")
    testing.make_customer(carol, name="機密 顧客", status="customer")
    client.force_login(bob)
    body = client.get(reverse("cards:selection"), {"status": "customer"}).content.decode()
    assert 'id="selection-count">3<' in body
    assert 'id="selection-pdf"' in body and 'id="selection-vcard3"' in body
    response = client.post(reverse("cards:selection") + "?status=customer", {"format": "vcard3"})
    cards = parse_vcards(response.content, max_cards=10).cards
    assert sorted(c.first("FN").text for c in cards) == [f"ボブ 顧客{i}" for i in range(3)]
    per_karte = HistoryEntry.objects.filter(action="export", actor=bob, model="customers.customer")
    assert per_karte.count() == 3


def test_a_selection_above_the_limit_is_refused_with_a_message(client, bob, settings):
    settings.ENISHI_PRINT_BACKGROUND_KARTES = 1
    settings.ENISHI_PRINT_MAX_KARTES = 2
    for i in range(3):
        testing.make_customer(bob, name=f"ボブ 顧客{i}")
    client.force_login(bob)
    body = client.get(reverse("cards:selection")).content.decode()
    assert 'id="selection-pdf-too-many"' in body and 'id="selection-pdf"' not in body
    response = client.post(reverse("cards:selection"), {"format": "pdf"})
    assert response.status_code == 400
    assert "more than 2" in response.content.decode()
    assert not HistoryEntry.objects.filter(action="export").exists()


def test_an_empty_selection_downloads_nothing(client, bob):
    client.force_login(bob)
    response = client.post(reverse("cards:selection") + "?q=誰もいない", {"format": "vcard3"})
    assert response.status_code == 400
    assert "No customers match" in response.content.decode()


def test_a_vcard_selection_costs_a_fixed_number_of_queries(
    client, bob, django_assert_max_num_queries
):
    company = testing.make_company(bob, name="株式会社ボブ")
    for i in range(30):
        testing.make_customer(bob, name=f"社員 {i}", company=company)
    client.force_login(bob)
    with django_assert_max_num_queries(12):
        response = client.post(reverse("cards:selection"), {"format": "vcard4"})
    assert response.content.decode().count("BEGIN:VCARD") == 31


def test_the_list_links_to_the_selection_with_its_filters(client, bob):
    client.force_login(bob)
    body = client.get(reverse("customers:list"), {"status": "lead"}).content.decode()
    assert reverse("cards:selection") + "?status=lead" in body
    assert reverse("cards:import") in body


# --- Import ------------------------------------------------------------------------------


def test_export_then_import_gives_the_same_person(alice_client, alice, taro, company):
    exported = alice_client.get(reverse("cards:vcard", args=[taro.pk])).content
    batch = preview_batch(upload(alice_client, exported))
    preview = alice_client.get(reverse("cards:import_preview", args=[batch])).content.decode()
    assert "山田 太郎" in preview and "株式会社山田商事" in preview
    # The same person is already here: the card is offered, set to skip.
    assert "Similar customers exist" in preview
    response = alice_client.post(
        reverse("cards:import_preview", args=[batch]), {"card-1": "create"}
    )
    assert response.status_code == 302
    copy = Customer.objects.exclude(pk=taro.pk).get(name="山田 太郎")
    fields = [
        "kind", "name", "family_name", "given_name", "name_kana", "company_id", "department",
        "title", "phone", "mobile", "fax", "email", "email_alt", "postal_code", "prefecture",
        "city", "town", "street", "building", "website", "birthday",
    ]  # fmt: skip
    assert {f: getattr(copy, f) for f in fields} == {f: getattr(taro, f) for f in fields}
    assert copy.notes == "" and copy.owner == alice


def test_the_preview_shows_each_card_and_saves_nothing(client, bob):
    client.force_login(bob)
    before = Customer.objects.count()
    batch = preview_batch(upload(client, IPHONE.encode() + ANDROID_21.encode() + FEATURE_PHONE))
    body = client.get(reverse("cards:import_preview", args=[batch])).content.decode()
    for text in (
        "佐藤 花子",
        "サトウ ハナコ",
        "鈴木 一郎",
        "スズキ イチロウ",
        "高橋 能子",
        "タカハシ ヨシコ",
    ):
        assert text in body
    assert "090-1234-5678" in body and "hanako.sato@yamada-shoji.co.jp" in body
    assert "(no karte: kept in the notes)" in body  # 株式会社山田商事 has no karte here
    assert Customer.objects.count() == before
    assert not HistoryEntry.objects.exists()


def test_importing_creates_the_chosen_cards_in_one_batch(client, bob):
    client.force_login(bob)
    batch = preview_batch(upload(client, IPHONE.encode() + ANDROID_21.encode() + FEATURE_PHONE))
    response = client.post(
        reverse("cards:import_preview", args=[batch]),
        {"card-1": "create", "card-2": "skip", "card-3": "create"},
    )
    assert response["Location"] == reverse("cards:import_done", args=[batch])
    created = Customer.objects.filter(owner=bob).order_by("pk")
    assert [c.name for c in created] == ["佐藤 花子", "高橋 能子"]
    hanako = created[0]
    assert "株式会社山田商事" in hanako.notes and "展示会で名刺交換" in hanako.notes
    entries = HistoryEntry.objects.filter(batch=f"vcard:{batch}")
    assert {(e.action, e.via) for e in entries} == {("create", "import")}
    assert entries.count() == 2
    done = client.get(response["Location"]).content.decode()
    assert "佐藤 花子" in done and "高橋 能子" in done and "鈴木 一郎" not in done
    # The preview is spent: sending it again creates nothing more.
    # The preview is spent: sending it again (a double click, the back button) creates nothing
    # more and shows what the import created.
    again = client.post(reverse("cards:import_preview", args=[batch]), {"card-2": "create"})
    assert again.status_code == 302
    assert again["Location"] == reverse("cards:import_done", args=[batch])
    shown = client.get(again["Location"]).content.decode()
    assert "already been imported" in shown and "佐藤 花子" in shown
    assert Customer.objects.filter(owner=bob).count() == 2


def test_a_preview_no_longer_kept_says_so_and_offers_the_upload(client, bob, carol):
    client.force_login(bob)
    response = client.get(reverse("cards:import_preview", args=["nosuchbatch"]))
    assert response.status_code == 404
    body = response.content.decode()
    assert "no longer available" in body and reverse("cards:import") in body
    # Someone else's import is not shown as this person's.
    preview = card_services.card_import_read(actor=carol, data=IPHONE.encode())
    card_services.card_import_commit(actor=carol, preview=preview, create=[1])
    other = client.post(reverse("cards:import_preview", args=[preview.batch]), {"card-1": "create"})
    assert other.status_code == 404
    assert Customer.objects.filter(owner=bob).count() == 0


def test_a_person_is_linked_to_the_company_karte_of_the_same_name(client, bob):
    company = testing.make_company(bob, name="(株)山田商事")
    client.force_login(bob)
    batch = preview_batch(upload(client, IPHONE.encode()))
    body = client.get(reverse("cards:import_preview", args=[batch])).content.decode()
    assert "(linked)" in body
    client.post(reverse("cards:import_preview", args=[batch]), {"card-1": "create"})
    hanako = Customer.objects.get(name="佐藤 花子")
    assert (hanako.company, hanako.department) == (company, "営業部")
    assert "株式会社山田商事" not in hanako.notes


def test_a_company_another_team_keeps_is_neither_linked_nor_shown(client, bob, carol):
    testing.make_company(carol, name="株式会社山田商事")
    client.force_login(bob)
    batch = preview_batch(upload(client, IPHONE.encode()))
    client.post(reverse("cards:import_preview", args=[batch]), {"card-1": "create"})
    assert Customer.objects.get(name="佐藤 花子").company is None


def test_possible_duplicates_are_shown_and_set_to_skip(client, bob, carol):
    mine = testing.make_customer(bob, name="佐藤 花子", mobile="090-1234-5678")
    testing.make_customer(carol, name="佐藤 花子", mobile="090-1234-5678", notes="機密")
    client.force_login(bob)
    batch = preview_batch(upload(client, IPHONE.encode()))
    body = client.get(reverse("cards:import_preview", args=[batch])).content.decode()
    assert reverse("customers:detail", args=[mine.pk]) in body
    assert 'name="card-1" value="skip" checked' in body
    preview = card_views._load(SessionRequest(client), batch)
    assert [s["id"] for s in preview.cards[0].similar] == [mine.pk]  # never Carol's


def test_a_karte_whose_reading_writes_long_vowels_with_a_mark_is_shown(client, bob):
    # The card reads さとう はなこ; the karte サトー ハナコ, its name in other kanji.
    mine = testing.make_customer(bob, name="佐藤 華子", name_kana="サトー ハナコ")
    client.force_login(bob)
    batch = preview_batch(upload(client, IPHONE.encode()))
    preview = card_views._load(SessionRequest(client), batch)
    assert [s["id"] for s in preview.cards[0].similar] == [mine.pk]


def test_cards_alike_within_the_file_are_pointed_out(client, bob):
    client.force_login(bob)
    batch = preview_batch(upload(client, (IPHONE + IPHONE).encode()))
    preview = card_views._load(SessionRequest(client), batch)
    assert [c.alike for c in preview.cards] == [[], [1]]
    assert [c.suggested for c in preview.cards] == ["create", "skip"]


@pytest.mark.parametrize(
    "data, message",
    [
        (b"", "The file is empty."),
        (b"name,phone\r\nYamada,03-1234-5678\r\n", "This is not a vCard file"),
        (b"\xff\xd8\xff\xe0\x00\x10JFIF", "This is not a vCard file"),
    ],
)
def test_a_file_that_is_not_a_vcard_gets_a_message_and_nothing_is_saved(client, bob, data, message):
    client.force_login(bob)
    response = upload(client, data)
    assert response.status_code == 400
    assert message in response.content.decode()
    assert not Customer.objects.exists()


def test_a_file_too_big_is_refused(client, bob, monkeypatch):
    monkeypatch.setattr(card_services, "IMPORT_MAX_BYTES", 100)
    client.force_login(bob)
    response = upload(client, IPHONE.encode())
    assert response.status_code == 400
    assert "larger than" in response.content.decode()


def test_a_card_with_a_problem_cannot_be_chosen(client, bob):
    client.force_login(bob)
    nameless = b"BEGIN:VCARD\r\nVERSION:3.0\r\nTEL:03-3581-0101\r\nEND:VCARD\r\n"
    batch = preview_batch(upload(client, nameless + IPHONE.encode()))
    body = client.get(reverse("cards:import_preview", args=[batch])).content.decode()
    assert 'name="card-1"' not in body and 'name="card-2"' in body
    response = client.post(reverse("cards:import_preview", args=[batch]), {"card-1": "create"})
    assert response.status_code == 400
    assert not Customer.objects.exists()


def test_a_rule_broken_at_creation_saves_nothing(client, bob, monkeypatch):
    client.force_login(bob)
    batch = preview_batch(upload(client, IPHONE.encode() + ANDROID_21.encode()))
    real_create = card_services.customer_create

    def create(*, actor, data, via):
        # The second card breaks a rule that appeared after the preview (e.g. a new setting).
        if data["name"] == "鈴木 一郎":
            raise ValidationError({"name": ["この名前は使えません。"]})
        return real_create(actor=actor, data=data, via=via)

    monkeypatch.setattr(card_services, "customer_create", create)
    response = client.post(
        reverse("cards:import_preview", args=[batch]), {"card-1": "create", "card-2": "create"}
    )
    assert response.status_code == 400
    body = response.content.decode()
    assert "nothing was imported" in body and "この名前は使えません。" in body
    assert not Customer.objects.exists()  # the first card, created before, was rolled back
    assert not HistoryEntry.objects.exists()


def test_nothing_chosen_is_said_so(client, bob):
    client.force_login(bob)
    batch = preview_batch(upload(client, IPHONE.encode()))
    response = client.post(reverse("cards:import_preview", args=[batch]), {"card-1": "skip"})
    assert response.status_code == 400
    assert "Choose at least one card" in response.content.decode()


def test_another_users_import_cannot_be_seen(client, bob, carol):
    preview = card_services.card_import_read(actor=carol, data=IPHONE.encode())
    card_services.card_import_commit(actor=carol, preview=preview, create=[1])
    client.force_login(bob)
    assert client.get(reverse("cards:import_done", args=[preview.batch])).status_code == 404
    assert client.get(reverse("cards:import_preview", args=[preview.batch])).status_code == 404


def test_the_same_preview_cannot_be_imported_twice(bob):
    preview = card_services.card_import_read(actor=bob, data=IPHONE.encode())
    card_services.card_import_commit(actor=bob, preview=preview, create=[1])
    with pytest.raises(ValidationError, match="すでに取り込み済み"):
        card_services.card_import_commit(actor=bob, preview=preview, create=[1])
    assert Customer.objects.count() == 1
