"""House style settings, applied on save and by the one-time clean-up; the freshness report.
Through the services, the screens and the API."""

import datetime
import re

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone

from enishi.api.tests.conftest import ApiClient, issue_token
from enishi.core import testing
from enishi.core.models import StyleCleanup
from enishi.customers.models import Customer
from enishi.customers.services import customer_update
from enishi.history.models import HistoryEntry
from enishi.quality import upkeep

pytestmark = pytest.mark.django_db

FRONT_AND_HYPHENS = {"company_name": "front", "street": "hyphen", "dates": "era"}


def _set_style(actor, **data):
    return upkeep.house_style_update(
        actor=actor, data=data, version=upkeep.house_style_get().version
    )


def _age(customer, days):
    moment = timezone.now() - datetime.timedelta(days=days)
    Customer.objects.filter(pk=customer.pk).update(updated_at=moment)


# --- on save -------------------------------------------------------------------------------


def test_a_saved_karte_follows_the_house_style(alice, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        _set_style(alice, **FRONT_AND_HYPHENS)
    company = testing.make_company(alice, name="山田商事㈱", street="一丁目２番地の３ 山田ビル")
    person = testing.make_customer(alice, name="(株)田中", street="4丁目20番20号")

    assert company.name == "株式会社山田商事"
    assert company.street == "1-2-3 山田ビル"
    assert person.name == "(株)田中"  # a person's name is not a company name
    assert person.street == "4-20-20"


def test_by_default_names_and_streets_stay_as_typed(alice):
    company = testing.make_company(alice, name="山田商事㈱", street="一丁目２番地の３")
    assert (company.name, company.street) == ("山田商事㈱", "一丁目２番地の３")


def test_changing_the_style_is_recorded_and_checks_the_version(alice):
    style = _set_style(alice, company_name="back")
    entry = HistoryEntry.objects.get(model="core.housestyle")
    assert entry.actor == alice
    assert entry.changes["company_name"][1].startswith("Legal form at the back") or "後" in str(
        entry.changes["company_name"][1]
    )
    with pytest.raises(upkeep.StaleVersionError):
        upkeep.house_style_update(actor=alice, data={"street": "hyphen"}, version=style.version - 1)


def test_an_unknown_rule_is_refused(alice):
    with pytest.raises(upkeep.ValidationError) as caught:
        upkeep.house_style_update(actor=alice, data={"street": "zigzag"}, version=None)
    assert "street" in caught.value.message_dict
    assert upkeep.house_style_get().street == "keep"


# --- clean-up ------------------------------------------------------------------------------


def test_the_clean_up_previews_then_applies_the_style_with_history(alice, bob):
    messy = testing.make_company(alice, name="(株)山田商事", street="1丁目2番3号")
    tidy = testing.make_company(alice, name="株式会社佐藤", street="1-2-3")
    untouched = testing.make_customer(bob, name="山田 花子", street="三田ビル")
    _age(messy, 400)
    _set_style(alice, company_name="front", street="hyphen")

    preview = upkeep.cleanup_preview(upkeep.house_style.Style("front", "hyphen"))
    assert [p.customer_id for p in preview] == [messy.pk]
    assert preview[0].changes == {
        "name": ("(株)山田商事", "株式会社山田商事"),
        "street": ("1丁目2番3号", "1-2-3"),
    }

    run = upkeep.cleanup_start(actor=alice)
    upkeep.cleanup_run.call(run.pk)
    run.refresh_from_db()

    assert (run.status, run.changed, run.skipped, run.done) == ("done", 1, 0, run.total)
    messy.refresh_from_db()
    assert (messy.name, messy.street, messy.version) == ("株式会社山田商事", "1-2-3", 2)
    # The clean-up is nobody's work on the karte: it stays stale in the freshness report.
    assert list(upkeep.stale_customers(alice, months=12)) == [messy]
    entry = HistoryEntry.objects.get(
        model="customers.customer", object_id=messy.pk, action="update"
    )
    assert (entry.batch, entry.via, entry.actor) == (f"cleanup:{run.pk}", "system", alice)
    assert entry.changes["name"] == ["(株)山田商事", "株式会社山田商事"]
    for other in (tidy, untouched):
        other.refresh_from_db()
        assert other.version == 1


def test_a_clean_up_can_be_undone_and_what_was_changed_since_is_kept(client, alice, bob):
    first = testing.make_company(alice, name="(株)山田商事", street="1丁目2番3号")
    second = testing.make_company(alice, name="佐藤工業(株)")
    third = testing.make_company(alice, name="(有)鈴木")
    _set_style(alice, company_name="back", street="hyphen")
    run = upkeep.cleanup_start(actor=alice)
    upkeep.cleanup_run.call(run.pk)
    second.refresh_from_db()
    assert second.name == "佐藤工業株式会社"
    # Someone renames the second afterwards; the third is merged away.
    customer_update(actor=bob, customer=second, data={"name": "佐藤工業HD"}, version=None)
    Customer.objects.filter(pk=third.pk).update(deleted_at=timezone.now())

    client.force_login(alice)
    page = client.get(reverse("upkeep:cleanup_run", args=[run.pk])).content.decode()
    assert reverse("upkeep:cleanup_undo", args=[run.pk]) in page
    response = client.post(reverse("upkeep:cleanup_undo", args=[run.pk]))
    assert response.status_code == 302
    upkeep.cleanup_undo.call(run.pk)  # the task (queued after the commit)
    run.refresh_from_db()
    assert (run.restored, run.kept, run.undone_by) == (1, 2, alice) and run.undone_at
    first.refresh_from_db()
    second.refresh_from_db()
    # Put back as typed, although the house style still says "back" and "hyphen".
    assert (first.name, first.street) == ("(株)山田商事", "1丁目2番3号")
    assert second.name == "佐藤工業HD"
    entry = HistoryEntry.objects.get(batch=f"cleanup-undo:{run.pk}")
    assert entry.object_id == first.pk and entry.changes["name"] == [
        "山田商事株式会社",
        "(株)山田商事",
    ]
    page = client.get(reverse("upkeep:cleanup_run", args=[run.pk])).content.decode()
    assert reverse("upkeep:cleanup_undo", args=[run.pk]) not in page
    with pytest.raises(ValidationError):  # once only
        upkeep.cleanup_undo_start(actor=alice, run=run)
    # Saving normally afterwards applies the house style again.
    customer_update(actor=alice, customer=first, data={"notes": "x"}, version=None)


def test_a_karte_edited_during_the_clean_up_is_skipped(alice, monkeypatch):
    messy = testing.make_company(alice, name="(株)山田商事")
    _set_style(alice, company_name="spell_out")
    run = upkeep.cleanup_start(actor=alice)
    real = upkeep._proposals

    def edited_meanwhile(style, **kwargs):
        for proposal in real(style, **kwargs):
            customer_update(
                actor=alice, customer=messy, data={"notes": "電話で確認"}, version=messy.version
            )
            yield proposal

    monkeypatch.setattr(upkeep, "_proposals", edited_meanwhile)
    upkeep.cleanup_run.call(run.pk)
    run.refresh_from_db()
    messy.refresh_from_db()
    assert (run.changed, run.skipped) == (0, 1)
    assert messy.name == "(株)山田商事"


def test_the_clean_up_says_how_many_kartes_will_change_before_it_starts(client, alice):
    for n in range(3):
        testing.make_company(alice, name=f"(株)山田商事{n}")
    testing.make_company(alice, name="株式会社佐藤")
    _set_style(alice, company_name="front")
    style = upkeep.house_style.Style("front")
    assert upkeep.cleanup_count(style) == upkeep.CleanupCount(3, 4, complete=True)
    # Past its time limit the count is a lower bound, and says so.
    assert upkeep.cleanup_count(style, seconds=-1) == upkeep.CleanupCount(3, 4, complete=False)
    client.force_login(alice)
    page = client.get(reverse("upkeep:cleanup")).content.decode()
    assert "全 4 件のうち 3 件のカルテが変わります。" in page


def test_the_clean_up_screens_are_for_admins(
    client, alice, bob, django_capture_on_commit_callbacks
):
    testing.make_company(alice, name="(株)山田商事")
    _set_style(alice, company_name="spell_out")
    client.force_login(bob)
    assert client.get(reverse("upkeep:style")).status_code == 404
    assert client.post(reverse("upkeep:cleanup")).status_code == 404
    assert not StyleCleanup.objects.exists()

    client.force_login(alice)
    page = client.get(reverse("upkeep:cleanup")).content.decode()
    assert "株式会社山田商事" in page and "(株)山田商事" in page
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("upkeep:cleanup"))
    run = StyleCleanup.objects.get()
    assert response.url == reverse("upkeep:cleanup_run", args=[run.pk])
    # Tests run tasks at once: the run is finished when the page is first shown.
    status = client.get(response.url, headers={"HX-Request": "true"}).content.decode()
    assert "hx-trigger" not in status
    assert Customer.objects.get().name == "株式会社山田商事"


def test_the_style_page_saves_and_refuses_bad_input(client, alice):
    client.force_login(alice)
    url = reverse("upkeep:style")
    page = client.get(url)
    assert page.status_code == 200
    version = upkeep.house_style_get().version
    response = client.post(
        url,
        {"company_name": "front", "street": "hyphen_full", "dates": "kanji", "version": version},
    )
    assert response.status_code == 302
    assert upkeep.house_style_get().dates == "kanji"
    bad = client.post(
        url, {"company_name": "<script>", "street": "keep", "dates": "iso", "version": version + 1}
    )
    assert bad.status_code == 400
    assert "<script>" not in bad.content.decode()
    assert upkeep.house_style_get().company_name == "front"
    stale = client.post(
        url, {"company_name": "back", "street": "keep", "dates": "iso", "version": version}
    )
    assert stale.status_code == 302
    assert upkeep.house_style_get().company_name == "front"


def test_dates_are_shown_in_the_house_style(client, alice, django_capture_on_commit_callbacks):
    customer = testing.make_customer(alice, name="山田 花子", birthday=datetime.date(1990, 4, 1))
    with django_capture_on_commit_callbacks(execute=True):
        _set_style(alice, dates="era")
    client.force_login(alice)
    page = client.get(customer.get_absolute_url()).content.decode()
    assert "平成2年4月1日" in page


# --- freshness -----------------------------------------------------------------------------


def test_the_freshness_report_lists_stale_kartes_by_owner(client, alice, bob):
    old = testing.make_customer(bob, name="古い 顧客")
    confirmed = testing.make_customer(bob, name="確認済み 顧客")
    testing.make_customer(bob, name="新しい 顧客")
    alices = testing.make_customer(alice, name="アリスの 古い顧客")
    for customer in (old, confirmed, alices):
        _age(customer, 400)
    Customer.objects.filter(pk=confirmed.pk).update(
        last_confirmed_at=timezone.now() - datetime.timedelta(days=30)
    )

    assert list(upkeep.stale_customers(bob, months=12)) == [old]
    assert {(r.owner, r.stale) for r in upkeep.stale_by_owner(alice, months=12)} == {
        (alice, 1),
        (bob, 1),
    }
    assert upkeep.stale_customers(alice, months=24).count() == 0

    client.force_login(bob)
    page = client.get(reverse("upkeep:freshness"), {"months": 12}).content.decode()
    assert "古い 顧客" in page
    assert "新しい 顧客" not in page and "確認済み 顧客" not in page and "アリス" not in page

    client.force_login(alice)  # one owner's list; "everyone" still counts everyone's
    page = client.get(reverse("upkeep:freshness"), {"months": 12, "owner": bob.pk}).content
    assert re.search(r'months=12">[^<]*</a></td><td class="num">2<', page.decode())
    client.force_login(bob)

    answer = client.post(reverse("upkeep:confirm", args=[old.pk]), headers={"HX-Request": "true"})
    assert answer.status_code == 200
    fragment = answer.content.decode()
    assert "本日確認済み<" in fragment or "Confirmed today<" in fragment
    assert f'id="confirmed-at-{old.pk}"' in fragment and 'hx-swap-oob="true"' in fragment
    assert timezone.localdate().strftime("%Y") in fragment.split("confirmed-at")[1]
    assert upkeep.stale_customers(bob, months=12).count() == 0
    assert HistoryEntry.objects.filter(object_id=old.pk, changes__has_key="last_confirmed_at")


def test_a_confirmed_karte_and_the_audit_log_show_when_it_was_confirmed(client, alice):
    customer = testing.make_customer(alice, name="確認 顧客")
    # An entry as confirmations were written before 2026-11-24: local time, no offset.
    HistoryEntry.objects.create(
        actor=alice,
        action=HistoryEntry.Action.UPDATE,
        model="customers.customer",
        object_id=customer.pk,
        customer_id=customer.pk,
        object_repr=str(customer),
        changes={"last_confirmed_at": [None, "2026-11-20 09:15"]},
    )
    client.force_login(alice)
    assert client.post(reverse("upkeep:confirm", args=[customer.pk])).status_code in (200, 302)
    confirmed_at = timezone.localtime(Customer.objects.get(pk=customer.pk).last_confirmed_at)

    for url in (reverse("customers:detail", args=[customer.pk]), reverse("history:log")):
        page = client.get(url)
        assert page.status_code == 200, url
        text = page.content.decode()
        assert confirmed_at.strftime("%Y-%m-%d %H:%M") in text, url
        assert "2026-11-20 09:15" in text, url


def test_the_freshness_report_takes_a_fixed_number_of_queries(
    client, bob, django_assert_max_num_queries
):
    for i in range(30):
        _age(testing.make_customer(bob, name=f"古い 顧客{i}"), 400)
    client.force_login(bob)
    with django_assert_max_num_queries(12):
        response = client.get(reverse("upkeep:freshness"), {"months": 6, "owner": bob.pk})
    assert response.content.decode().count('data-customer="') == 30


def test_a_read_only_user_sees_the_report_but_cannot_confirm(client, bob):
    dave = testing.make_user("dave", team="営業1課")
    dave.role = dave.Role.READONLY
    dave.save()
    old = testing.make_customer(bob, name="古い 顧客")
    _age(old, 400)
    client.force_login(dave)
    page = client.get(reverse("upkeep:freshness")).content.decode()
    assert "古い 顧客" in page and "Confirmed today" not in page and "確認済みにする" not in page
    assert client.post(reverse("upkeep:confirm", args=[old.pk])).status_code == 404


# --- API -----------------------------------------------------------------------------------


def test_the_api_reads_and_changes_the_house_style(client, alice, bob):
    api = ApiClient(client, issue_token(alice))
    style = api.get("/house-style")
    assert style.status_code == 200 and style.json()["company_name"] == "keep"
    changed = api.patch("/house-style", {"street": "hyphen", "version": style.json()["version"]})
    assert changed.status_code == 200 and changed.json()["street"] == "hyphen"
    stale = api.patch("/house-style", {"street": "keep", "version": style.json()["version"]})
    assert stale.status_code == 409
    assert api.patch("/house-style", {"street": "zigzag", "version": 2}).status_code == 422
    member = ApiClient(client, issue_token(bob))
    assert member.patch("/house-style", {"street": "keep", "version": 2}).status_code == 403


def test_the_api_refuses_a_house_style_change_before_reading_the_body(client, alice, bob, dave):
    # Callers who may not change the house style get 403 whatever the body: it is not read.
    bodies = [{"street": "zigzag", "version": 2}, {"version": "x"}, {"nonsense": 1}, []]
    for caller in (
        ApiClient(client, issue_token(bob)),
        ApiClient(client, issue_token(dave, scopes="read")),
        ApiClient(client, issue_token(alice, scopes="read")),
    ):
        for body in bodies:
            response = caller.patch("/house-style", body)
            assert response.status_code == 403, (caller, body, response.content)
    admin = ApiClient(client, issue_token(alice))
    assert admin.patch("/house-style", {"street": "zigzag", "version": 2}).status_code == 422


def test_the_api_lists_stale_kartes_and_confirms_them(client, bob):
    old = testing.make_customer(bob, name="古い 顧客")
    _age(old, 400)
    api = ApiClient(client, issue_token(bob))
    page = api.get("/freshness", {"months": 12})
    assert page.status_code == 200, page.json()
    assert [c["id"] for c in page.json()["results"]] == [old.pk]
    confirmed = api.post(f"/customers/{old.pk}/confirm")
    assert confirmed.status_code == 200
    assert api.get("/freshness", {"months": 12}).json()["results"] == []
    assert api.get("/freshness", {"months": 0}).status_code == 422
    entry = HistoryEntry.objects.filter(object_id=old.pk).first()
    assert entry.via == "api"


def test_history_values_show_dates_the_house_way(alice):
    from enishi.history.selectors import value_label
    from enishi.quality import house_style

    _set_style(alice, dates="kanji")
    house_style.forget()
    assert value_label("customers.customer", "birthday", "2019-05-01") == "2019年5月1日"
    shown = value_label("customers.customer", "last_confirmed_at", "2026-11-24T09:15:00+09:00")
    assert shown == "2026年11月24日 09:15"
    house_style.forget()


def test_several_kartes_are_confirmed_at_once_only_those_the_user_may_change(client, bob, carol):
    mine = [testing.make_customer(bob, name=f"古い {i}") for i in range(3)]
    carols = testing.make_customer(carol, name="キャロルの 顧客")
    for customer in (*mine, carols):
        _age(customer, 400)
    client.force_login(bob)
    page = client.get(reverse("upkeep:freshness"), {"months": 12}).content.decode()
    assert 'form="confirm-many"' in page
    url = reverse("upkeep:confirm_many")
    response = client.post(url, {"ids": [mine[0].pk, mine[1].pk, carols.pk]}, follow=True)
    assert response.status_code == 200
    assert list(upkeep.stale_customers(bob, months=12)) == [mine[2]]
    carols.refresh_from_db()
    assert carols.last_confirmed_at is None  # not Bob's to confirm, and not told so
    client.post(url, {"all": "1", "page_ids": [mine[2].pk]})
    assert upkeep.stale_customers(bob, months=12).count() == 0
    assert HistoryEntry.objects.filter(changes__has_key="last_confirmed_at").count() == 3


def test_one_clean_up_at_a_time_is_held_by_the_database(alice):
    # Two requests at once each insert a queued row; the database refuses the second one.
    StyleCleanup.objects.create(created_by=alice, company_name="keep", street="keep")
    with pytest.raises(IntegrityError), transaction.atomic():
        StyleCleanup.objects.create(created_by=alice, company_name="keep", street="keep")
    StyleCleanup.objects.update(status=StyleCleanup.Status.RUNNING)
    with pytest.raises(IntegrityError), transaction.atomic():
        StyleCleanup.objects.create(
            created_by=alice, company_name="keep", street="keep", status="running"
        )
    # Finished runs do not count.
    StyleCleanup.objects.create(created_by=alice, company_name="keep", street="keep", status="done")
    StyleCleanup.objects.create(created_by=alice, company_name="keep", street="keep", status="done")
    assert StyleCleanup.objects.count() == 3


def test_starting_a_clean_up_twice_leads_to_the_running_one(client, alice):
    running = StyleCleanup.objects.create(
        created_by=alice, company_name="keep", street="keep", status="running"
    )
    with pytest.raises(upkeep.CleanupActive) as raised:
        upkeep.cleanup_start(actor=alice)
    assert raised.value.run == running

    client.force_login(alice)
    response = client.post(reverse("upkeep:cleanup"), follow=True)
    assert response.redirect_chain[-1][0] == reverse("upkeep:cleanup_run", args=[running.pk])
    assert "すでに実行中" in response.content.decode()
    assert StyleCleanup.objects.count() == 1

    # Once it is over, a new one starts.
    StyleCleanup.objects.filter(pk=running.pk).update(status=StyleCleanup.Status.DONE)
    assert upkeep.cleanup_start(actor=alice).pk != running.pk


def test_a_clean_up_that_stopped_moving_does_not_block_the_next_for_ever(alice):
    stuck = StyleCleanup.objects.create(
        created_by=alice, company_name="keep", street="keep", status="running"
    )
    # Moving: it holds the rule.
    StyleCleanup.objects.filter(pk=stuck.pk).update(heartbeat_at=timezone.now())
    with pytest.raises(upkeep.CleanupActive):
        upkeep.cleanup_start(actor=alice)
    # Its worker stopped: after a while without progress it is marked failed, and a new
    # clean-up starts (and finishes what is left).
    StyleCleanup.objects.filter(pk=stuck.pk).update(
        heartbeat_at=timezone.now() - upkeep.CLEANUP_STALE - datetime.timedelta(seconds=1)
    )
    fresh = upkeep.cleanup_start(actor=alice)
    stuck.refresh_from_db()
    assert stuck.status == StyleCleanup.Status.FAILED and "interrupted" in stuck.error
    assert fresh.pk != stuck.pk and fresh.status == StyleCleanup.Status.QUEUED


def test_a_running_clean_up_keeps_its_heartbeat(alice):
    testing.make_company(alice, name="(株)山田商事")
    run = upkeep.cleanup_start(actor=alice)
    upkeep.cleanup_run.call(run.pk)
    run.refresh_from_db()
    assert run.status == StyleCleanup.Status.DONE and run.heartbeat_at is not None
