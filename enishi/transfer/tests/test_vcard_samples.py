"""Cards as real address books and phones write them, read into what a karte would hold.

The samples follow what each writer emits: iPhone's 3.0 export (X-PHONETIC-*, grouped items,
`type=` repeated, a photo), Android's 2.1 (CHARSET=UTF-8;ENCODING=QUOTED-PRINTABLE with soft
line breaks), a docomo-era feature phone (Shift_JIS bytes, SOUND;X-IRMC-N in half-width kana,
a trail byte 0x5C in 能), Outlook (X-MS-N-YOMI), Google Contacts (CATEGORIES:myContacts) and
an RFC 6350 4.0 card (N;SORT-AS, tel: URIs, a birthday without a year)."""

import pytest
from django.utils import translation

from enishi.transfer.vcard import VCardFileError, parse_vcards
from enishi.transfer.vcard_map import card_import_data

IPHONE = (
    "BEGIN:VCARD\r\n"
    "VERSION:3.0\r\n"
    "PRODID:-//Apple Inc.//iPhone OS 17.5.1//EN\r\n"
    "N:佐藤;花子;;;\r\n"
    "FN:佐藤 花子\r\n"
    "X-PHONETIC-FIRST-NAME:はなこ\r\n"
    "X-PHONETIC-LAST-NAME:さとう\r\n"
    "ORG:株式会社山田商事;営業部;\r\n"
    "X-PHONETIC-ORG:やまだしょうじ\r\n"
    "TITLE:課長\r\n"
    "EMAIL;type=INTERNET;type=WORK;type=pref:hanako.sato@yamada-shoji.co.jp\r\n"
    "EMAIL;type=INTERNET;type=HOME:hanako@example.ne.jp\r\n"
    "TEL;type=CELL;type=VOICE;type=pref:090-1234-5678\r\n"
    "TEL;type=WORK;type=VOICE:03-3581-0101\r\n"
    "TEL;type=WORK;type=FAX:03-3581-0102\r\n"
    "TEL;type=HOME;type=VOICE:03-5555-0000\r\n"
    "item1.ADR;type=WORK;type=pref:;;永田町1-7-1\\n永田町ビル3F;千代田区;東京都;100-0014;日本\r\n"
    "item1.X-ABADR:jp\r\n"
    "item2.URL;type=pref:https://www.yamada-shoji.co.jp\r\n"
    "item2.X-ABLabel:_$!<HomePage>!$_\r\n"
    "BDAY;value=date:1985-06-15\r\n"
    "NOTE:展示会で名刺交換\\n次回は7月\r\n"
    "PHOTO;ENCODING=b;TYPE=JPEG:/9j/4AAQSkZJRgABAQAAAQABAAD/2wBDAAgGBgcGBQgHBwcJCQgKDBQNDA\r\n"
    " sLDBkSEw8UHSEaHx4dGhwcICQuJyAiLCMcHCg3KSwwMTQ0NB8nOT04MjwuMzQy/9k=\r\n"
    "END:VCARD\r\n"
)

IPHONE_COMPANY = (
    "BEGIN:VCARD\r\nVERSION:3.0\r\nPRODID:-//Apple Inc.//iPhone OS 17.5.1//EN\r\n"
    "N:;;;;\r\nFN:株式会社山田商事\r\nORG:株式会社山田商事;\r\n"
    "X-PHONETIC-ORG:やまだしょうじ\r\nX-ABShowAs:COMPANY\r\n"
    "TEL;type=WORK;type=VOICE;type=pref:03-3581-0101\r\nEND:VCARD\r\n"
)

# Android's AOSP exporter: QUOTED-PRINTABLE lines broken with "=" at the end (soft breaks).
ANDROID_21 = (
    "BEGIN:VCARD\r\n"
    "VERSION:2.1\r\n"
    "N;CHARSET=UTF-8;ENCODING=QUOTED-PRINTABLE:=E9=88=B4=E6=9C=A8;=E4=B8=80=E9=83=8E;;;\r\n"
    "FN;CHARSET=UTF-8;ENCODING=QUOTED-PRINTABLE:=E9=88=B4=E6=9C=A8=20=E4=B8=80=E9=83=8E\r\n"
    "X-PHONETIC-FIRST-NAME;CHARSET=UTF-8;ENCODING=QUOTED-PRINTABLE:=E3=82=A4=E3=83=81=E3=83=\r\n"
    "=AD=E3=82=A6\r\n"
    "X-PHONETIC-LAST-NAME;CHARSET=UTF-8;ENCODING=QUOTED-PRINTABLE:=E3=82=B9=E3=82=BA=E3=82=AD\r\n"
    "TEL;CELL:080-1111-2222\r\n"
    "TEL;HOME:06-6123-4567\r\n"
    "EMAIL;HOME:ichiro.suzuki@example.com\r\n"
    "ADR;HOME;CHARSET=UTF-8;ENCODING=QUOTED-PRINTABLE:;;=E5=A4=A7=E9=98=AA=E5=B8=82=E5=8C=97=\r\n"
    "=E5=8C=BA=E6=A2=85=E7=94=B0=31=2D=31=2D=31;;;530-0001;\r\n"
    "NOTE;CHARSET=UTF-8;ENCODING=QUOTED-PRINTABLE:=E3=82=88=E3=82=8D=E3=81=97=E3=81=8F=E3=81=\r\n"
    "=8A=E9=A1=98=E3=81=84=E3=81=97=E3=81=BE=E3=81=99=E3=80=82=0D=0A=E4=BA=8C=E8=A1=8C=E7=\r\n"
    "=9B=AE=E3=81=AE=E3=83=A1=E3=83=A2=E3=81=A7=E3=81=99\r\n"
    "END:VCARD\r\n"
)

# A feature phone's export: Shift_JIS bytes, the reading in half-width kana in SOUND;X-IRMC-N.
# 能 is 0x94 0x5C in Shift_JIS: its second byte is a backslash, which must not escape the ";".
FEATURE_PHONE = (
    "BEGIN:VCARD\r\n"
    "VERSION:2.1\r\n"
    "N;CHARSET=SHIFT_JIS:高橋;能子;;;\r\n"
    "SOUND;X-IRMC-N;CHARSET=SHIFT_JIS:ﾀｶﾊｼ;ﾖｼｺ;;;\r\n"
    "TEL;CELL:09033334444\r\n"
    "TEL;HOME:0456811234\r\n"
    "EMAIL;INTERNET:yoshiko-t@docomo.ne.jp\r\n"
    "ADR;HOME;CHARSET=SHIFT_JIS:;;横浜市中区山下町1番地;;;231-0023;\r\n"
    "NOTE;CHARSET=SHIFT_JIS;ENCODING=QUOTED-PRINTABLE:=83=5C=83t=83g=83N=83=8A=81[=83=80=82=AA=8D=44=82=AB\r\n"
    "X-DCM-SOUND-PATH:/sound/ring01.mld\r\n"
    "END:VCARD\r\n"
).encode("cp932")

OUTLOOK = (
    "BEGIN:VCARD\r\n"
    "VERSION:2.1\r\n"
    "N;LANGUAGE=ja;CHARSET=shift_jis:中村;美咲\r\n"
    "FN;CHARSET=shift_jis:中村 美咲\r\n"
    "X-MS-N-YOMI;CHARSET=shift_jis:ナカムラ;ミサキ\r\n"
    "ORG;CHARSET=shift_jis:株式会社さくら商会;総務部\r\n"
    "TITLE;CHARSET=shift_jis:主任\r\n"
    "TEL;WORK;VOICE:(03) 3581-0101\r\n"
    "EMAIL;PREF;INTERNET:misaki@sakura.example.jp\r\n"
    "END:VCARD\r\n"
).encode("cp932")

GOOGLE = (
    "BEGIN:VCARD\r\nVERSION:3.0\r\nFN:伊藤 さくら\r\nN:伊藤;さくら;;;\r\n"
    "X-PHONETIC-FIRST-NAME:さくら\r\nX-PHONETIC-LAST-NAME:いとう\r\n"
    "EMAIL;TYPE=INTERNET;TYPE=HOME:sakura.ito@gmail.com\r\nTEL;TYPE=CELL:070-1234-5678\r\n"
    "ADR;TYPE=HOME:;;北一条西2-1;札幌市中央区;北海道;060-0001;JP\r\n"
    "CATEGORIES:myContacts,展示会2024\r\nEND:VCARD\r\n"
)

VCARD4 = (
    "BEGIN:VCARD\r\n"
    "VERSION:4.0\r\n"
    "KIND:individual\r\n"
    "FN:渡辺 健\r\n"
    'N;SORT-AS="ワタナベ,ケン":渡辺;健;;;\r\n'
    "ORG:有限会社渡辺工務店\r\n"
    'TEL;VALUE=uri;TYPE="cell,voice";PREF=1:tel:+81-90-5555-6666\r\n'
    "TEL;VALUE=uri;TYPE=work:tel:+81-52-123-4567\r\n"
    "EMAIL;TYPE=work:ken@watanabe-koumuten.jp\r\n"
    'ADR;TYPE=work;LABEL="〒460-0008^n愛知県名古屋市中区栄3-1-1":;;栄3-1-1;名古屋市中区;愛知県;460-0008;日本\r\n'
    "BDAY:--0923\r\n"
    "GENDER:M\r\n"
    "END:VCARD\r\n"
)


def read_one(data):
    if isinstance(data, str):
        data = data.encode("utf-8")
    with translation.override("en"):
        parsed = parse_vcards(data, max_cards=10)
        assert len(parsed.cards) == 1
        return card_import_data(parsed.cards[0])


def test_it_reads_an_iphone_card_with_its_readings_and_grouped_items():
    card = read_one(IPHONE)
    d = card.data
    assert (d["name"], d["family_name"], d["given_name"]) == ("佐藤 花子", "佐藤", "花子")
    assert d["name_kana"] == "サトウ ハナコ"
    assert (card.organisation, d["department"], d["title"]) == (
        "株式会社山田商事",
        "営業部",
        "課長",
    )
    assert (d["mobile"], d["phone"], d["fax"]) == ("090-1234-5678", "03-3581-0101", "03-3581-0102")
    assert d["email"] == "hanako.sato@yamada-shoji.co.jp"
    assert d["email_alt"] == "hanako@example.ne.jp"
    assert (d["postal_code"], d["prefecture"], d["city"], d["town"], d["street"]) == (
        "100-0014",
        "東京都",
        "千代田区",
        "永田町",
        "1-7-1",
    )
    assert d["building"] == "永田町ビル3F"
    assert d["website"] == "https://www.yamada-shoji.co.jp"
    assert d["birthday"] == "1985-06-15"
    assert card.notes_from_card == ["展示会で名刺交換\n次回は7月"]
    # The fourth phone has no field of its own: it is kept, and the preview says where.
    assert card.kept_in_notes == ["Phone: 03-5555-0000"]
    assert card.problems == []


def test_it_reads_an_iphone_company_card_as_a_company():
    card = read_one(IPHONE_COMPANY)
    assert card.kind == "company"
    assert card.data["name"] == "株式会社山田商事"
    assert card.data["name_kana"] == "ヤマダショウジ"
    assert card.data["phone"] == "03-3581-0101"


def test_it_joins_quoted_printable_soft_line_breaks_of_an_android_card():
    card = read_one(ANDROID_21)
    d = card.data
    assert (d["name"], d["name_kana"]) == ("鈴木 一郎", "スズキ イチロウ")
    assert (d["mobile"], d["phone"]) == ("080-1111-2222", "06-6123-4567")
    assert (d["prefecture"], d["city"], d["town"], d["street"]) == (
        "大阪府",
        "大阪市北区",
        "梅田",
        "1-1-1",
    )
    assert card.notes_from_card == ["よろしくお願いします。\n二行目のメモです"]
    assert card.warnings == []


def test_it_reads_a_shift_jis_feature_phone_card_with_a_half_width_reading():
    parsed = parse_vcards(FEATURE_PHONE, max_cards=10)
    assert parsed.encoding == "Shift_JIS (cp932)"
    card = card_import_data(parsed.cards[0])
    d = card.data
    assert (d["family_name"], d["given_name"], d["name"]) == ("高橋", "能子", "高橋 能子")
    assert d["name_kana"] == "タカハシ ヨシコ"
    assert (d["mobile"], d["phone"]) == ("090-3333-4444", "045-681-1234")
    assert d["email"] == "yoshiko-t@docomo.ne.jp"
    assert (d["prefecture"], d["city"], d["town"], d["street"]) == (
        "神奈川県",
        "横浜市中区",
        "山下町",
        "1番地",
    )
    assert card.notes_from_card == ["ソフトクリームが好き"]


def test_it_reads_a_shift_jis_file_without_any_charset_parameter():
    plain = FEATURE_PHONE.replace(b";CHARSET=SHIFT_JIS", b"")
    card = read_one(plain)
    assert card.data["name"] == "高橋 能子"
    assert card.data["name_kana"] == "タカハシ ヨシコ"


def test_it_reads_outlooks_yomi_fields():
    card = read_one(OUTLOOK)
    d = card.data
    assert (d["name"], d["name_kana"], d["department"], d["title"]) == (
        "中村 美咲",
        "ナカムラ ミサキ",
        "総務部",
        "主任",
    )
    assert card.organisation == "株式会社さくら商会"
    assert d["phone"] == "03-3581-0101"
    assert d["email"] == "misaki@sakura.example.jp"


def test_it_reads_google_contacts_and_keeps_its_own_labels_as_tags():
    card = read_one(GOOGLE)
    d = card.data
    assert (d["name"], d["name_kana"], d["mobile"]) == (
        "伊藤 さくら",
        "イトウ サクラ",
        "070-1234-5678",
    )
    assert (d["prefecture"], d["city"], d["town"], d["street"]) == (
        "北海道",
        "札幌市中央区",
        "北一条西",
        "2-1",
    )
    assert d["tags"] == ["展示会2024"]  # myContacts is Google's, not a label anyone chose


def test_it_reads_a_4_0_card_with_sort_as_and_tel_uris():
    card = read_one(VCARD4)
    d = card.data
    assert (d["name"], d["name_kana"]) == ("渡辺 健", "ワタナベ ケン")
    assert card.organisation == "有限会社渡辺工務店"
    assert (d["mobile"], d["phone"]) == ("090-5555-6666", "052-123-4567")
    assert (d["prefecture"], d["city"], d["town"], d["street"]) == (
        "愛知県",
        "名古屋市中区",
        "栄",
        "3-1-1",
    )
    assert d["gender"] == "male"
    # A birthday without a year has no field to go to: it is kept and the preview says so.
    assert "birthday" not in d
    assert any("--0923" in line for line in card.kept_in_notes)
    assert any("--0923" in w for w in card.warnings)


def test_it_reads_several_cards_of_several_kinds_in_one_file():
    data = (IPHONE + GOOGLE + VCARD4).encode() + b"\r\n" + ANDROID_21.encode()
    parsed = parse_vcards(data, max_cards=10)
    names = [card_import_data(c).data["name"] for c in parsed.cards]
    assert names == ["佐藤 花子", "伊藤 さくら", "渡辺 健", "鈴木 一郎"]
    assert [c.number for c in parsed.cards] == [1, 2, 3, 4]


def test_it_reads_a_utf16_file_from_windows_notepad():
    card = read_one(GOOGLE.encode("utf-16"))
    assert card.data["name"] == "伊藤 さくら"


def test_it_keeps_what_does_not_fit_in_the_notes_and_says_so():
    card = read_one(
        "BEGIN:VCARD\r\nVERSION:3.0\r\nN:山本;太一;;;\r\nFN:山本 太一\r\n"
        "X-PHONETIC-LAST-NAME:Yamamoto\r\nTEL:1234\r\nEMAIL:not-an-address\r\n"
        "ADR:;;1 Market St;San Francisco;CA;94105;USA\r\nEND:VCARD\r\n"
    )
    d = card.data
    assert "name_kana" not in d and "phone" not in d and "email" not in d
    assert (d["street"], d["city"]) == ("1 Market St", "San Francisco, CA")
    assert d["building"] == "USA"
    kept = "\n".join(card.kept_in_notes)
    assert "Yamamoto" in kept and "1234" in kept and "not-an-address" in kept and "94105" in kept
    assert len(card.warnings) == 4
    assert card.problems == []


def test_a_card_without_a_name_cannot_be_imported():
    card = read_one("BEGIN:VCARD\r\nVERSION:3.0\r\nTEL:03-3581-0101\r\nEND:VCARD\r\n")
    assert card.problems


def test_a_cut_off_card_is_reported_and_the_others_still_read():
    data = (GOOGLE + "BEGIN:VCARD\r\nVERSION:3.0\r\nFN:途中で切れた\r\nTEL:03-").encode()
    parsed = parse_vcards(data, max_cards=10)
    assert [bool(c.problems) for c in parsed.cards] == [False, True]


def test_a_card_without_its_end_does_not_swallow_the_cards_after_it():
    broken = "BEGIN:VCARD\r\nVERSION:3.0\r\nFN:二番目 壊れ\r\nN:二番目;壊れ;;;\r\n"
    parsed = parse_vcards((GOOGLE + broken + GOOGLE + GOOGLE).encode(), max_cards=10)
    assert [bool(c.problems) for c in parsed.cards] == [False, True, False, False]
    assert [c.number for c in parsed.cards] == [1, 2, 3, 4]
    assert parsed.cards[1].first("FN").text == "二番目 壊れ"


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"   \r\n",
        b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR",
        "氏名,電話\r\n山田,03-1234-5678\r\n".encode("cp932"),
        b"BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n",
        b"BEGIN:VCARD\r\n",
    ],
    ids=["empty", "blank", "png", "csv", "calendar", "begin-only"],
)
def test_a_file_that_is_not_a_vcard_is_refused_with_a_reason(data):
    if data == b"BEGIN:VCARD\r\n":
        parsed = parse_vcards(data, max_cards=10)
        assert parsed.cards[0].problems
        return
    with pytest.raises(VCardFileError) as exc:
        parse_vcards(data, max_cards=10)
    assert str(exc.value)


def test_a_file_with_too_many_cards_is_refused():
    with pytest.raises(VCardFileError, match="3"):
        parse_vcards((GOOGLE * 4).encode(), max_cards=3)


def test_broken_lines_are_left_out_with_a_warning():
    data = GOOGLE.replace("TEL;TYPE=CELL", "this line has no colon\r\nTEL;TYPE=CELL")
    card = read_one(data)
    assert card.data["mobile"] == "070-1234-5678"
    assert card.warnings == ["Line 8 is not a vCard line and was left out."]


def test_a_latin_name_keeps_its_order_and_a_japanese_one_is_family_first():
    from enishi.customers.models import Customer
    from enishi.transfer.vcard_map import display_name

    western = read_one(
        "BEGIN:VCARD\r\nVERSION:3.0\r\nN:Smith;John;;;\r\nFN:John Smith\r\nEND:VCARD\r\n"
    )
    assert (western.data["name"], western.data["family_name"]) == ("John Smith", "Smith")
    fields = {k: western.data[k] for k in ("name", "family_name", "given_name")}
    assert display_name(Customer(kind="person", **fields)) == "John Smith"
    assert display_name(
        Customer(kind="person", name="太郎", family_name="山田", given_name="太郎")
    ) == ("山田 太郎")
    japanese = read_one(
        "BEGIN:VCARD\r\nVERSION:3.0\r\nN:山田;太郎;;;\r\nFN:太郎 山田\r\nEND:VCARD\r\n"
    )
    assert japanese.data["name"] == "山田 太郎"


def test_what_goes_into_the_notes_is_labelled_in_the_users_language():
    card = read_one(IPHONE)
    with translation.override("ja"):
        notes = card.service_data(company=None)["notes"]
    assert "[vCard より]\n所属: 株式会社山田商事" in notes
    with translation.override("en"):
        notes = card.service_data(company=None)["notes"]
    assert "[From the vCard]\nOrganisation: 株式会社山田商事" in notes


def test_nicknames_anniversaries_and_androids_own_items_are_kept_in_the_notes():
    card = read_one(
        "BEGIN:VCARD\r\nVERSION:4.0\r\nFN:山本 太一\r\nN:山本;太一;;;\r\n"
        "NICKNAME:たいちゃん,タイ\r\nANNIVERSARY:20100601\r\n"
        "IMPP:xmpp:taichi@example.jp\r\nEND:VCARD\r\n"
    )
    assert card.kept_in_notes == [
        "Nickname: たいちゃん", "Nickname: タイ", "Anniversary: 20100601",
        "Messaging: xmpp:taichi@example.jp",
    ]  # fmt: skip
    android = read_one(
        "BEGIN:VCARD\r\nVERSION:2.1\r\nN;CHARSET=UTF-8:山本;太一;;;\r\n"
        "X-ANDROID-CUSTOM;CHARSET=UTF-8:vnd.android.cursor.item/nickname;たいちゃん;1;;;;;;;;;;;;;\r\n"
        "X-ANDROID-CUSTOM;CHARSET=UTF-8:vnd.android.cursor.item/relation;山本 花子;1;;;;;;;;;;;;;\r\n"
        "END:VCARD\r\n"
    )
    assert android.kept_in_notes == ["Nickname: たいちゃん", "Related person: 山本 花子"]
    assert any("たいちゃん" in w and "notes" in w for w in android.warnings)  # the preview says so


def test_an_address_with_the_newer_standards_extra_parts_is_read():
    card = read_one(
        "BEGIN:VCARD\r\nVERSION:3.0\r\nN:住所;八成分;;;\r\nFN:住所 八成分\r\n"
        "ADR;TYPE=HOME:;;1-2-3;新宿区;東京都;160-0022;日本;余分;;3F\r\nEND:VCARD\r\n"
    )
    assert (card.data["prefecture"], card.data["city"], card.data["postal_code"]) == (
        "東京都", "新宿区", "160-0022",
    )  # fmt: skip
    assert card.kept_in_notes == ["Address: 余分 3F"]
    assert card.problems == []


@pytest.mark.parametrize("office_first", [False, True])
def test_two_mobiles_and_an_office_number_each_find_their_field(office_first):
    lines = [
        "TEL;type=CELL:090-2000-0001",
        "TEL;type=IPHONE;type=CELL:080-2000-0002",
        "TEL;type=WORK:03-2000-0003",
    ]
    if office_first:
        lines = lines[::-1]
    card = read_one(
        "BEGIN:VCARD\r\nVERSION:3.0\r\nN:山本;太一;;;\r\nFN:山本 太一\r\n"
        + "".join(f"{line}\r\n" for line in lines)
        + "END:VCARD\r\n"
    )
    assert card.data["phone"] == "03-2000-0003"
    assert card.data["mobile"] == ("080-2000-0002" if office_first else "090-2000-0001")
    assert card.kept_in_notes == [
        "Phone: " + ("090-2000-0001" if office_first else "080-2000-0002")
    ]


def test_a_second_mobile_is_the_phone_when_there_is_no_other():
    card = read_one(
        "BEGIN:VCARD\r\nVERSION:3.0\r\nN:山本;太一;;;\r\nFN:山本 太一\r\n"
        "TEL;TYPE=CELL:090-2000-0001\r\nTEL;TYPE=CELL:080-2000-0002\r\nEND:VCARD\r\n"
    )
    assert (card.data["mobile"], card.data["phone"]) == ("090-2000-0001", "080-2000-0002")
    assert card.kept_in_notes == []


def test_a_name_too_long_refuses_the_card_and_says_why_without_a_contradicting_warning():
    card = read_one(
        f"BEGIN:VCARD\r\nVERSION:3.0\r\nN:{'長' * 100};{'名' * 100};;;\r\nEND:VCARD\r\n"
    )
    assert card.problems == ["The name is too long: at most 200 characters (the card has 201)."]
    assert card.warnings == [] and card.kept_in_notes == []
