"""A karte's history names the company (and parent company) it was linked to as it was called
then, and decides whether the reader may see it by the company's id, not by a name that may
have changed since (a rename, the house-style clean-up). Entries from before ids were kept
fall back on the names the company had."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from enishi.api.tests.conftest import ApiClient, issue_token
from enishi.core import testing
from enishi.customers.services import customer_update
from enishi.history.models import HistoryEntry, Ref
from enishi.history.selectors import KarteLinks
from enishi.history.services import snapshot

pytestmark = pytest.mark.django_db

HIDDEN_JA = "見えない法人（閲覧権限がありません）"
HIDDEN_EN = "a company you cannot see"


def _history(client, karte) -> str:
    page = client.get(reverse("customers:detail", args=[karte.pk])).content.decode()
    return page.split('class="history-list"')[1].split("</ol>")[0]


def _rename(actor, company, name):
    company.refresh_from_db()
    customer_update(actor=actor, customer=company, data={"name": name}, version=company.version)


def _forget_ids():
    """As entries written before `refs` existed."""
    HistoryEntry.objects.update(refs={})


# --- Ref and the stored ids --------------------------------------------------------------


def test_a_ref_is_its_name_and_its_id():
    ref = Ref("株式会社リプロ", 7)
    assert ref == "株式会社リプロ" and ref.pk == 7
    assert "株式会社リプロ" == ref  # noqa: SIM300 — a plain string on the left
    assert ref == Ref("株式会社リプロ", 7)
    assert ref != Ref("株式会社リプロ", 8)  # another company of the same name
    assert (ref == Ref("株式会社リプロ", 8)) is False
    assert ref != "別の会社" and ref != None  # noqa: E711
    assert ref in {"株式会社リプロ"} and ref in ("株式会社リプロ",)
    assert ref not in (None, "", [], {}, False)


def test_a_snapshot_names_a_related_record_and_the_entry_keeps_its_id(alice):
    company = testing.make_company(alice, name="(株)リプロ")
    person = testing.make_customer(alice, name="山田 太郎", company=company)
    values = snapshot(person, ["company", "owner", "name"])
    assert values["company"] == "(株)リプロ" and values["company"].pk == company.pk
    assert values["owner"].pk == alice.pk and type(values["name"]) is str

    created = HistoryEntry.objects.get(model="customers.customer", object_id=person.pk)
    assert created.changes["company"] == [None, "(株)リプロ"]
    assert type(created.changes["company"][1]) is str
    assert created.refs["company"] == [None, company.pk]
    assert created.refs["owner"] == [None, alice.pk]
    assert created.ref("company", 1) == company.pk and created.ref("company", 0) is None


def test_entries_written_in_bulk_keep_the_ids_too(alice):
    company = testing.make_company(alice, name="一括商事")
    HistoryEntry.objects.bulk_create(
        [
            HistoryEntry(
                action="update",
                model="customers.customer",
                object_id=987654,
                changes={"company": [None, Ref("一括商事", company.pk)], "notes": ["a", "b"]},
            )
        ]
    )
    entry = HistoryEntry.objects.get(object_id=987654)
    assert entry.changes == {"company": [None, "一括商事"], "notes": ["a", "b"]}
    assert entry.refs == {"company": [None, company.pk]}


def test_moving_to_another_company_of_the_same_name_is_a_change(alice):
    first = testing.make_company(alice, name="同名商事")
    second = testing.make_company(alice, name="同名商事")
    person = testing.make_customer(alice, company=first)
    customer_update(actor=alice, customer=person, data={"company": second}, version=1)
    entry = HistoryEntry.objects.filter(object_id=person.pk, action="update").get()
    assert entry.changes["company"] == ["同名商事", "同名商事"]
    assert entry.refs["company"] == [first.pk, second.pk]


# --- the reported case, through the API and the karte ------------------------------------


def test_renaming_a_company_through_the_api_keeps_its_contacts_history(client, alice):
    api = ApiClient(client, issue_token(alice))
    company = api.post("/customers", {"kind": "company", "name": "(株)リプロ"}).json()
    person = api.post(
        "/customers", {"kind": "person", "name": "山田 太郎", "company_id": company["id"]}
    ).json()
    response = api.patch(
        f"/customers/{company['id']}",
        {"version": company["version"], "name": "株式会社リプロ新社名"},
    )
    assert response.status_code == 200, response.json()

    client.force_login(alice)
    page = client.get(reverse("customers:detail", args=[person["id"]])).content.decode()
    history = page.split('class="history-list"')[1].split("</ol>")[0]
    assert "見えない法人" not in history
    # The name it had then, linked to the company's karte.
    url = reverse("customers:detail", args=[company["id"]])
    assert f'<a href="{url}">(株)リプロ</a>' in history
    assert "株式会社リプロ新社名" in page  # the karte header names it as it is now


def test_after_a_rename_a_member_sees_the_old_name_and_never_a_hidden_one(
    client, alice, bob, carol
):
    mine = testing.make_company(bob, name="(株)ボブ商事")
    theirs = testing.make_company(carol, name="(株)キャロル商事")
    person = testing.make_customer(bob, name="山田 太郎", company=mine)
    customer_update(actor=alice, customer=person, data={"company": theirs}, version=1)
    _rename(bob, mine, "株式会社ボブ商事")
    _rename(carol, theirs, "株式会社キャロル商事")

    client.force_login(bob)
    history = _history(client, person)
    assert "(株)ボブ商事" in history and HIDDEN_JA in history
    assert "キャロル" not in history
    client.force_login(alice)
    history = _history(client, person)
    assert "(株)ボブ商事" in history and "(株)キャロル商事" in history
    assert "見えない法人" not in history


def test_a_renamed_parent_company_keeps_its_subsidiaries_history(client, bob):
    parent = testing.make_company(bob, name="親会社(株)")
    child = testing.make_company(bob, name="子会社(株)", parent=parent)
    _rename(bob, parent, "親会社ホールディングス")
    client.force_login(bob)
    history = _history(client, child)
    assert f'<a href="{parent.get_absolute_url()}">親会社(株)</a>' in history


def test_the_house_style_clean_up_renaming_a_company_hides_nothing(client, alice, bob):
    from enishi.quality import upkeep

    company = testing.make_company(bob, name="(株)山田商事")
    person = testing.make_customer(bob, name="山田 花子", company=company)
    upkeep.house_style_update(
        actor=alice, data={"company_name": "front"}, version=upkeep.house_style_get().version
    )
    run = upkeep.cleanup_start(actor=alice)
    upkeep.cleanup_run.call(run.pk)
    company.refresh_from_db()
    assert company.name == "株式会社山田商事"

    for reader in (alice, bob):
        client.force_login(reader)
        history = _history(client, person)
        assert "(株)山田商事" in history and "見えない法人" not in history


def test_a_company_in_the_trash_is_named_but_not_linked(client, bob):
    from enishi.customers.services import customer_delete

    company = testing.make_company(bob, name="(株)ゴミ箱")
    person = testing.make_customer(bob, company=company)
    customer_delete(actor=bob, customer=company)
    client.force_login(bob)
    history = _history(client, person)
    assert "(株)ゴミ箱" in history and company.get_absolute_url() not in history


def test_in_english_a_hidden_company_reads_so_and_a_renamed_one_by_its_old_name(
    client, alice, bob, carol
):
    bob.language = "en"
    bob.save()
    mine = testing.make_company(bob, name="Bob Trading")
    theirs = testing.make_company(carol, name="Carol Trading")
    person = testing.make_customer(bob, name="Taro Yamada", company=mine)
    customer_update(actor=alice, customer=person, data={"company": theirs}, version=1)
    _rename(bob, mine, "Bob Trading Ltd.")
    client.force_login(bob)
    history = _history(client, person)
    assert "Bob Trading</a>" in history and HIDDEN_EN in history
    assert "Carol" not in history and "見えない法人" not in history


# --- entries written before the ids were kept ----------------------------------------------


def test_an_old_entry_is_shown_when_the_karte_is_still_with_the_renamed_company(client, bob, erin):
    company = testing.make_company(bob, name="(株)旧社名")
    person = testing.make_customer(bob, name="山田 太郎", company=company)
    _rename(bob, company, "株式会社新社名")
    _rename(bob, company, "株式会社新新社名")
    _forget_ids()
    for reader in (bob, erin):
        client.force_login(reader)
        history = _history(client, person)
        assert "見えない法人" not in history
        # One company explains the name: linked to it.
        assert f'<a href="{company.get_absolute_url()}">(株)旧社名</a>' in history


def test_an_old_entry_never_names_a_company_the_reader_cannot_see(client, alice, bob, carol):
    theirs = testing.make_company(carol, name="(株)秘密商事")
    person = testing.make_customer(bob, name="山田 太郎", company=theirs)
    _rename(carol, theirs, "株式会社秘密商事")
    _forget_ids()
    client.force_login(bob)
    history = _history(client, person)
    assert "秘密" not in history and HIDDEN_JA in history
    client.force_login(alice)  # an administrator may see every karte
    assert "(株)秘密商事" in _history(client, person)


def test_an_old_entry_naming_a_visible_company_by_its_current_name_is_shown(client, bob):
    first = testing.make_company(bob, name="(株)最初")
    second = testing.make_company(bob, name="(株)次")
    person = testing.make_customer(bob, company=first)
    customer_update(actor=bob, customer=person, data={"company": second}, version=1)
    _forget_ids()
    client.force_login(bob)
    history = _history(client, person)
    assert "(株)最初" in history and "(株)次" in history and "見えない法人" not in history


def test_links_are_decided_for_a_page_of_entries_at_once(alice, bob, carol):
    companies = [testing.make_company(bob, name=f"会社{i}") for i in range(4)]
    hidden = testing.make_company(carol, name="隠れ会社")
    person = testing.make_customer(bob, company=companies[0])
    for version, company in enumerate([*companies[1:], hidden], start=1):
        customer_update(actor=alice, customer=person, data={"company": company}, version=version)
    entries = list(HistoryEntry.objects.filter(object_id=person.pk))
    links = KarteLinks(bob)
    with CaptureQueriesContext(connection) as queries:
        links.add(entries)
        shown = {
            (str(value), links.shown(entry, "company", side, value))
            for entry in entries
            for side, value in enumerate(entry.changes.get("company", []))
            if value
        }
    assert len(queries) == 1
    assert ("隠れ会社", None) in shown
    assert ("会社2", companies[2].get_absolute_url()) in shown


def test_the_karte_asks_about_its_companies_in_a_constant_number_of_queries(client, alice, bob):
    def karte_with(changes: int, *, forget: bool):
        companies = [
            testing.make_company(bob, name=f"会社{forget}{changes}-{i}") for i in range(changes)
        ]
        person = testing.make_customer(bob, company=companies[0])
        for version, company in enumerate(companies[1:], start=1):
            customer_update(actor=bob, customer=person, data={"company": company}, version=version)
            _rename(bob, company, f"{company.name}改")
        if forget:
            _forget_ids()
        return person

    client.force_login(bob)
    for forget in (False, True):
        counts = []
        for changes in (2, 12):
            person = karte_with(changes, forget=forget)
            with CaptureQueriesContext(connection) as queries:
                assert client.get(person.get_absolute_url()).status_code == 200
            counts.append(len(queries))
        assert counts[0] == counts[1], (forget, counts)


def test_the_audit_log_names_a_renamed_company_as_it_was(client, alice, bob):
    company = testing.make_company(bob, name="(株)ログ")
    testing.make_customer(bob, company=company)
    _rename(bob, company, "株式会社ログ")
    _forget_ids()
    client.force_login(alice)
    page = client.get(reverse("history:log")).content.decode()
    assert f'<a href="{company.get_absolute_url()}">(株)ログ</a>' in page
    assert "見えない法人" not in page


def test_a_merge_and_its_undo_keep_the_ids_of_the_companies_a_contact_moves_between(client, bob):
    from enishi.quality.merge import customer_merge
    from enishi.quality.merge_undo import customer_merge_undo

    survivor = testing.make_company(bob, name="株式会社山田商事")
    other = testing.make_company(bob, name="(株)山田商事")
    person = testing.make_customer(bob, name="佐藤 花子", company=other)
    merge = customer_merge(actor=bob, survivor=survivor, others=[other])
    moved = HistoryEntry.objects.get(object_id=person.pk, action="merge")
    assert moved.changes["company"] == ["(株)山田商事", "株式会社山田商事"]
    assert moved.refs["company"] == [other.pk, survivor.pk]
    customer_merge_undo(actor=bob, merge=merge)
    back = HistoryEntry.objects.get(object_id=person.pk, action="unmerge")
    assert back.refs["company"] == [survivor.pk, other.pk]
    client.force_login(bob)
    history = _history(client, person)
    assert "見えない法人" not in history and f'<a href="{other.get_absolute_url()}">' in history
