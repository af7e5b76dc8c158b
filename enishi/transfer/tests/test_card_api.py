"""The API for vCards and printed kartes, through the whole HTTP stack with tokens."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from enishi.accounts.models import User
from enishi.api.models import ApiToken
from enishi.api.tests.conftest import ApiClient, issue_token
from enishi.core import testing
from enishi.customers.models import Customer
from enishi.history.models import HistoryEntry
from enishi.transfer import card_services
from enishi.transfer.vcard import parse_vcards

from .test_print_pdf import page_count, pdf_pages_text
from .test_vcard_samples import ANDROID_21, FEATURE_PHONE, IPHONE

pytestmark = pytest.mark.django_db

URL = "/api/v1/vcards/import"


@pytest.fixture
def bob_api(client, bob):
    return ApiClient(client, issue_token(bob))


@pytest.fixture
def hanako(bob):
    return testing.make_customer(
        bob, name="佐藤 花子", name_kana="サトウ ハナコ", mobile="090-1234-5678"
    )


def import_file(client, token, data: bytes, **fields):
    return client.post(
        URL,
        {"file": SimpleUploadedFile("contacts.vcf", data, "text/vcard"), **fields},
        HTTP_AUTHORIZATION=f"Bearer {token}",
    )


def test_it_answers_a_vcard(bob_api, hanako):
    response = bob_api.get(f"/customers/{hanako.pk}/vcard")
    assert response.status_code == 200
    assert response["Content-Type"] == "text/vcard; charset=utf-8"
    card = parse_vcards(response.content, max_cards=1).cards[0]
    assert card.first("X-PHONETIC-FIRST-NAME").text == "ハナコ"
    assert HistoryEntry.objects.get(action="export").via == "api"


def test_it_answers_a_4_0_vcard(bob_api, hanako):
    response = bob_api.get(f"/customers/{hanako.pk}/vcard", {"version": "4.0"})
    assert b"VERSION:4.0" in response.content
    assert bob_api.get(f"/customers/{hanako.pk}/vcard", {"version": "2.1"}).status_code == 422


def test_a_company_without_visible_contacts_is_a_422(bob_api, bob):
    company = testing.make_company(bob, name="株式会社ボブ")
    response = bob_api.get(f"/customers/{company.pk}/vcard", {"contacts": "true"})
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "contacts"


def test_it_answers_a_pdf(bob_api, hanako):
    response = bob_api.get(f"/customers/{hanako.pk}/pdf")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert page_count(response.content) == 1
    assert "佐藤 花子" in pdf_pages_text(response.content)[0]


def test_another_teams_karte_is_a_404(bob_api, carol):
    secret = testing.make_customer(carol, name="機密 花子")
    for path in (f"/customers/{secret.pk}/vcard", f"/customers/{secret.pk}/pdf"):
        response = bob_api.get(path)
        assert response.status_code == 404
        assert "機密" not in response.content.decode()


def test_a_preview_reads_every_card_and_saves_nothing(client, bob, hanako):
    response = import_file(client, issue_token(bob), IPHONE.encode() + FEATURE_PHONE)
    assert response.status_code == 200
    body = response.json()
    assert (body["committed"], body["created"], body["batch"]) == (False, 0, None)
    first, second = body["cards"]
    assert (first["name"], first["name_kana"], first["organisation"]) == (
        "佐藤 花子",
        "サトウ ハナコ",
        "株式会社山田商事",
    )
    assert [s["id"] for s in first["similar"]] == [hanako.pk]  # the same mobile phone
    assert first["suggested"] == "skip"
    assert (second["name"], second["suggested"]) == ("高橋 能子", "create")
    assert Customer.objects.count() == 1


def test_a_card_with_only_a_known_name_is_flagged_and_skipped_unless_chosen(client, bob):
    known = testing.make_customer(bob, name="西田 敏行")
    card = "BEGIN:VCARD\r\nVERSION:3.0\r\nN:西田;敏行;;;\r\nFN:西田 敏行\r\nEND:VCARD\r\n"
    body = import_file(client, issue_token(bob), (card * 2).encode()).json()
    first, second = body["cards"]
    assert [s["id"] for s in first["similar"]] == [known.pk]
    assert first["suggested"] == "skip"  # the person decides; nothing doubled by default
    assert second["alike"] == [1] and second["suggested"] == "skip"  # the same card twice
    committed = import_file(client, issue_token(bob), card.encode(), commit="true")
    assert committed.status_code == 422, committed.content  # nothing to create: said so
    assert Customer.objects.filter(name="西田 敏行").count() == 1


def test_a_commit_creates_the_new_cards_and_says_which(client, bob, hanako):
    response = import_file(
        client,
        issue_token(bob),
        IPHONE.encode() + FEATURE_PHONE + ANDROID_21.encode(),
        commit="true",
    )
    assert response.status_code == 201
    body = response.json()
    assert body["committed"] and body["created"] == 2
    assert [c["customer_id"] is not None for c in body["cards"]] == [False, True, True]
    created = Customer.objects.get(pk=body["cards"][1]["customer_id"])
    assert (created.name, created.owner) == ("高橋 能子", bob)
    assert HistoryEntry.objects.filter(batch=body["batch"], action="create").count() == 2
    assert HistoryEntry.objects.filter(batch=body["batch"]).first().via == "import"


def test_a_commit_of_chosen_numbers(client, bob):
    data = IPHONE.encode() + FEATURE_PHONE + ANDROID_21.encode()
    response = import_file(client, issue_token(bob), data, commit="true", create="1,3")
    assert sorted(Customer.objects.values_list("name", flat=True)) == ["佐藤 花子", "鈴木 一郎"]
    assert response.json()["created"] == 2


@pytest.mark.parametrize(
    "create, field",
    [("x", "create"), ("9", "create"), ("", "create")],
)
def test_a_bad_choice_is_a_422_and_nothing_is_saved(client, bob, create, field):
    response = import_file(client, issue_token(bob), IPHONE.encode(), commit="true", create=create)
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == field
    assert not Customer.objects.exists()


def test_a_file_that_is_not_a_vcard_is_a_422(client, bob):
    response = import_file(client, issue_token(bob), b"name,phone\r\n", commit="true")
    assert response.status_code == 422
    error = response.json()["errors"][0]
    assert (error["field"], error["code"]) == ("file", "not_a_vcard")


def test_a_missing_file_is_a_422(client, bob):
    response = client.post(URL, {"commit": "true"}, HTTP_AUTHORIZATION=f"Bearer {issue_token(bob)}")
    assert response.status_code == 422
    # ninja names an uploaded file's parameter after its place and its name.
    assert response.json()["errors"][0]["field"] in ("file", "file.file")


def test_importing_needs_a_write_token_and_a_role_that_writes(client, bob):
    read_only_token = issue_token(bob, scopes=ApiToken.Scopes.READ)
    assert import_file(client, read_only_token, IPHONE.encode()).status_code == 403
    ken = testing.make_user("ken", team="営業1課")
    token = issue_token(ken)  # made while Ken could write; his role now decides
    ken.role = User.Role.READONLY
    ken.save(update_fields=["role"])
    assert import_file(client, token, IPHONE.encode()).status_code == 403
    assert not Customer.objects.exists()


def test_a_file_over_the_limit_is_413_as_for_imports(client, bob, monkeypatch):
    monkeypatch.setattr(card_services, "IMPORT_MAX_BYTES", 100)
    response = import_file(client, issue_token(bob), IPHONE.encode())
    assert response.status_code == 413
    assert response.json()["errors"][0]["field"] == "file"
