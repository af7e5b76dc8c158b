"""The screens: the queue and its scan, the comparison, the merge with its preview, merge
records with undo, the merged karte's old URL, and who may do what."""

import datetime
import re

import pytest
from django.urls import reverse
from django.utils import timezone

from enishi.activities.models import Activity
from enishi.core import testing
from enishi.customers import services as customer_services
from enishi.customers.models import Customer
from enishi.quality import services
from enishi.quality.merge import customer_merge
from enishi.quality.models import DuplicatePair, Merge, MergedCustomer, ScanRun

pytestmark = pytest.mark.django_db


def make_pair(a, b, score=0.95, reasons=("same_mobile", "same_name")) -> DuplicatePair:
    first, second = sorted((a, b), key=lambda c: c.pk)
    return DuplicatePair.objects.create(
        a=first, b=second, score=score, reasons=list(reasons), found_at=timezone.now()
    )


@pytest.fixture
def pair(world):
    return make_pair(world.survivor, world.other)


def body(response) -> str:
    return response.content.decode()


class TestQueue:
    def test_it_lists_candidates_by_score_with_readable_reasons(self, bob_client, bob, pair):
        weaker = make_pair(
            testing.make_customer(bob, name="鈴木 一郎"),
            testing.make_customer(bob, name="鈴木 一郎"),
            score=0.71,
            reasons=("same_name",),
        )
        page = body(bob_client.get(reverse("quality:duplicates")))
        assert page.index(f'data-pair="{pair.pk}"') < page.index(f'data-pair="{weaker.pk}"')
        assert "同じ携帯電話番号" in page or "Same mobile number" in page
        assert "same_mobile" not in page
        assert "95%" in page

    def test_reasons_are_worked_out_again_once_a_karte_changed_after_the_scan(
        self, bob_client, bob
    ):
        first = testing.make_company(bob, name="株式会社リプロ", phone="03-7777-0001")
        second = testing.make_company(bob, name="(株)リプロ", phone="03-7777-0001")
        found = make_pair(first, second, score=0.82, reasons=("company_variant", "same_phone"))
        page = body(bob_client.get(reverse("quality:duplicates")))
        assert "会社名が表記揺れ" in page and "rechecked" not in page
        # The house style writes both the same way: no longer "written differently".
        second.refresh_from_db()
        customer_services.customer_update(
            actor=bob, customer=second, data={"name": "株式会社リプロ"}, version=second.version
        )
        page = body(bob_client.get(reverse("quality:duplicates")))
        assert "会社名が表記揺れ" not in page and "同じ会社" in page and "rechecked" in page
        compare = body(bob_client.get(reverse("quality:compare", args=[found.pk])))
        assert "会社名が表記揺れ" not in compare and "同じ会社" in compare
        assert "スキャンの後に変更" in compare
        # What people saw is kept, so the queue's order and score bands follow it.
        found.refresh_from_db()
        assert found.reasons == ["same_company", "same_phone"]

    def test_a_pair_whose_kartes_no_longer_share_anything_drops_in_score_and_order(
        self, bob_client, bob
    ):
        first = testing.make_customer(bob, name="山田 太郎", mobile="090-1111-2222")
        second = testing.make_customer(bob, name="山田 太郎", mobile="090-1111-2222")
        found = make_pair(first, second, score=0.99, reasons=("same_mobile", "same_name"))
        other = make_pair(
            testing.make_customer(bob, name="鈴木 一郎"),
            testing.make_customer(bob, name="鈴木 一郎"),
            score=0.71,
            reasons=("same_name",),
        )
        second.refresh_from_db()
        customer_services.customer_update(
            actor=bob,
            customer=second,
            data={"name": "田中 花子", "mobile": "080-9999-0000"},
            version=second.version,
        )
        page = body(bob_client.get(reverse("quality:duplicates")))
        assert "99%" not in page
        found.refresh_from_db()
        assert found.score < 0.5 and "same_mobile" not in found.reasons
        page = body(bob_client.get(reverse("quality:duplicates")))
        assert page.index(f'data-pair="{other.pk}"') < page.index(f'data-pair="{found.pk}"')
        high = body(bob_client.get(reverse("quality:duplicates"), {"band": "high"}))
        assert f'data-pair="{found.pk}"' not in high

    def test_it_hides_pairs_with_a_karte_the_user_cannot_see(self, client, bob, carol, pair):
        carols = testing.make_customer(carol, name="キャロルの 顧客")
        hidden = make_pair(pair.a, carols)
        client.force_login(bob)
        page = body(client.get(reverse("quality:duplicates")))
        assert f'data-pair="{pair.pk}"' in page
        assert f'data-pair="{hidden.pk}"' not in page and "キャロルの 顧客" not in page
        assert client.get(reverse("quality:compare", args=[hidden.pk])).status_code == 404

    def test_it_filters_by_kind_score_band_and_owner(self, bob_client, bob, alice, pair):
        companies = make_pair(
            testing.make_company(bob, name="株式会社A"),
            testing.make_company(bob, name="(株)A"),
            score=0.6,
        )
        alices = make_pair(
            testing.make_customer(alice, name="有栖の 顧客", owner=alice),
            testing.make_customer(alice, name="有栖の 顧客", owner=alice),
        )
        url = reverse("quality:duplicates")

        def listed(**params):
            page = body(bob_client.get(url, params))
            return {int(x) for x in re.findall(r'data-pair="(\d+)"', page)}

        assert listed(kind="company") == {companies.pk}
        assert listed(band="high") == {pair.pk}
        assert listed(band="low") == {companies.pk}
        assert listed(owner="me") == {pair.pk, companies.pk}
        assert alices.pk not in listed()  # Bob cannot see Alice's kartes
        assert listed(kind="nonsense", band="x", owner="abc") == {pair.pk, companies.pk}

    def test_the_queue_page_costs_the_same_few_queries_for_many_pairs(
        self, bob_client, bob, django_assert_max_num_queries
    ):
        for i in range(30):
            make_pair(
                testing.make_customer(bob, name=f"重複 {i}"),
                testing.make_customer(bob, name=f"重複 {i}"),
            )
        with django_assert_max_num_queries(12):
            assert bob_client.get(reverse("quality:duplicates")).status_code == 200
        # Reasons worked out again for changed kartes read nothing more.
        Customer.objects.update(updated_at=timezone.now() + datetime.timedelta(minutes=1))
        with django_assert_max_num_queries(12):
            page = body(bob_client.get(reverse("quality:duplicates")))
        assert page.count("rechecked") >= 30


class TestScan:
    def test_an_admin_starts_a_scan_and_the_queue_fills(self, alice_client, bob):
        for _ in range(2):
            testing.make_customer(bob, name="山田 太郎", mobile="090-1234-5678")
        response = alice_client.post(reverse("quality:scan_start"))
        assert response.status_code == 302
        scan = ScanRun.objects.get()
        assert scan.status == "done" and scan.started_by.username == "alice"
        page = body(alice_client.get(reverse("quality:duplicates")))
        assert "山田 太郎" in page and 'data-pair="' in page

    def test_a_running_scan_polls_its_progress_and_stops_when_done(self, alice_client, alice):
        scan, _created = services.scan_create(actor=alice)
        ScanRun.objects.filter(pk=scan.pk).update(status="running", done=40, total=100)
        page = body(alice_client.get(reverse("quality:duplicates")))
        status_url = reverse("quality:scan_status", args=[scan.pk])
        assert f'hx-get="{status_url}"' in page and 'hx-trigger="every 1s"' in page
        assert '<progress max="100" value="40"' in page
        ScanRun.objects.filter(pk=scan.pk).update(status="done", finished_at=timezone.now())
        fragment = body(alice_client.get(status_url, headers={"HX-Request": "true"}))
        assert "hx-trigger" not in fragment and "<html" not in fragment
        assert reverse("quality:duplicates") in fragment

    def test_an_htmx_start_answers_with_the_progress_fragment(self, alice_client, world):
        response = alice_client.post(reverse("quality:scan_start"), headers={"HX-Request": "true"})
        assert response.status_code == 200
        assert 'id="scan-status"' in body(response) and "<html" not in body(response)

    def test_members_neither_start_nor_follow_scans(self, bob_client, alice):
        scan, _created = services.scan_create(actor=alice)
        assert bob_client.post(reverse("quality:scan_start")).status_code == 404
        status = bob_client.get(reverse("quality:scan_status", args=[scan.pk]))
        assert status.status_code == 404
        page = body(bob_client.get(reverse("quality:duplicates")))
        assert "hx-trigger" not in page.split('id="scan-status"')[1].split("</section>")[0]
        assert "Scan all kartes now" not in page and "今すぐ全カルテを" not in page


class TestCompare:
    def test_it_shows_every_field_side_by_side_with_the_differences_and_counts(
        self, bob_client, pair
    ):
        page = body(bob_client.get(reverse("quality:compare", args=[pair.pk])))
        assert "03-1234-5678" in page and "06-6543-2100" in page
        assert re.search(r'<tr class="differs"><th scope="row">[^<]*電話', page)
        assert re.search(r'<tr class="same"><th scope="row">[^<]*(フリガナ|読み|kana)', page)
        assert "対応記録" in page  # the related counts
        assert reverse("quality:merge") in page and reverse("quality:dismiss", args=[pair.pk])

    def test_each_value_is_named_by_its_kartes_number_and_codes_stay_whole(self, bob_client, pair):
        # A phone shows the comparison as a card per field, a line per karte: "#12 value".
        page = body(bob_client.get(reverse("quality:compare", args=[pair.pk])))
        for karte in (pair.a, pair.b):
            assert f'<td class="prewrap" data-label="#{karte.pk}">' in page
            assert f'<td class="num" data-label="#{karte.pk}">' in page  # the counts
        assert '<span class="muted small nowrap">C-100</span>' in page

    def test_the_comparison_and_the_merge_page_cost_a_bounded_number_of_queries(
        self, bob_client, bob, world, pair, django_assert_max_num_queries
    ):
        for i in range(50):
            testing.log_call(bob, world.other, subject=f"電話 {i}")
        with django_assert_max_num_queries(30):
            assert bob_client.get(reverse("quality:compare", args=[pair.pk])).status_code == 200
        url = f"{reverse('quality:merge')}?ids={world.survivor.pk}&ids={world.other.pk}"
        with django_assert_max_num_queries(45):
            assert bob_client.get(url).status_code == 200

    def test_not_a_duplicate_is_remembered_and_moves_on(self, bob_client, bob, pair):
        other = make_pair(
            testing.make_customer(bob, name="鈴木 一郎"),
            testing.make_customer(bob, name="鈴木 一郎"),
            score=0.8,
        )
        response = bob_client.post(reverse("quality:dismiss", args=[pair.pk]), {"query": ""})
        assert response.status_code == 302 and response.url == other.get_absolute_url()
        pair.refresh_from_db()
        assert pair.status == "dismissed" and pair.decided_by.username == "bob"
        assert f'data-pair="{pair.pk}"' not in body(bob_client.get(reverse("quality:duplicates")))
        dismissed = body(bob_client.get(reverse("quality:duplicates"), {"status": "dismissed"}))
        assert f'data-pair="{pair.pk}"' in dismissed
        bob_client.post(reverse("quality:reopen", args=[pair.pk]))
        pair.refresh_from_db()
        assert pair.status == "open"

    def test_skip_goes_to_the_next_pair(self, bob_client, bob, pair):
        other = make_pair(
            testing.make_customer(bob, name="鈴木 一郎"),
            testing.make_customer(bob, name="鈴木 一郎"),
            score=0.8,
        )
        page = body(bob_client.get(reverse("quality:compare", args=[pair.pk])))
        assert reverse("quality:compare", args=[other.pk]) in page

    def test_a_read_only_user_may_look_but_not_decide(self, client, dave, bob, pair):
        client.force_login(dave)
        page = body(client.get(reverse("quality:compare", args=[pair.pk])))
        assert reverse("quality:dismiss", args=[pair.pk]) not in page
        assert client.post(reverse("quality:dismiss", args=[pair.pk])).status_code == 404
        merge_url = f"{reverse('quality:merge')}?ids={pair.a_id}&ids={pair.b_id}"
        assert client.get(merge_url).status_code == 404


class TestMerge:
    def url(self, *kartes, survivor=None) -> str:
        query = "&".join(f"ids={c.pk}" for c in kartes)
        if survivor is not None:
            query += f"&survivor={survivor.pk}"
        return f"{reverse('quality:merge')}?{query}"

    def form_data(self, world, **extra) -> dict:
        return {
            "ids": [world.survivor.pk, world.other.pk],
            "survivor": world.survivor.pk,
            f"version_{world.survivor.pk}": world.survivor.version,
            f"version_{world.other.pk}": world.other.version,
            "keep_phones": "on",
            "keep_emails": "on",
            **extra,
        }

    def test_the_page_offers_a_choice_where_values_differ_and_shows_the_result(
        self, bob_client, world
    ):
        page = body(bob_client.get(self.url(world.survivor, world.other)))
        assert 'name="pick_phone"' in page and 'name="pick_name_kana"' not in page
        assert 'name="pick_notes"' in page and 'value="both"' in page
        assert 'hx-trigger="change"' in page
        assert "After the merge" in page or "統合後" in page
        assert "06-6543-2100" in page.split('class="remarks')[1]  # no free slot: said so

    def test_the_preview_follows_the_choices(self, bob_client, world):
        data = self.form_data(world, pick_phone=str(world.other.pk))
        del data["keep_phones"]
        response = bob_client.post(reverse("quality:merge"), data, headers={"HX-Request": "true"})
        fragment = body(response)
        assert response.status_code == 200 and fragment.startswith('<div id="merge-table">')
        result_phone = re.search(
            r"電話番号</th>.*?<td class=\"prewrap result\"[^>]*>([^<]*)<", fragment, re.S
        )
        assert result_phone and "06-6543-2100" in result_phone.group(1)
        assert Merge.objects.count() == 0

    def test_merging_moves_everything_and_leads_to_the_survivor(self, bob_client, world):
        response = bob_client.post(
            reverse("quality:merge"),
            self.form_data(world, confirm="1", pick_phone=str(world.other.pk)),
        )
        assert response.status_code == 302
        assert response.url == world.survivor.get_absolute_url()
        survivor = Customer.objects.get(pk=world.survivor.pk)
        assert (
            survivor.phone == "06-6543-2100" and "03-1234-5678" in survivor.mobile + survivor.notes
        )
        assert Activity.objects.filter(customer=survivor).count() == 2
        page = body(bob_client.get(survivor.get_absolute_url()))
        assert "重複の電話" in page and "本体の電話" in page
        done = Merge.objects.get()
        assert done.get_absolute_url() in page  # the message links to the undo
        old = bob_client.get(world.other.get_absolute_url())
        assert old.status_code == 302 and old.url == survivor.get_absolute_url()
        assert "統合" in body(bob_client.get(old.url)) or "merged" in body(bob_client.get(old.url))

    def test_a_stale_version_merges_nothing_and_shows_the_current_values(
        self, bob_client, bob, world
    ):
        data = self.form_data(world, confirm="1")
        customer_services.customer_update(
            actor=bob, customer=world.other, data={"mobile": "080-7777-6666"}, version=None
        )
        response = bob_client.post(reverse("quality:merge"), data)
        assert response.status_code == 409
        page = body(response)
        assert "080-7777-6666" in page
        current = Customer.objects.get(pk=world.other.pk).version
        assert f'name="version_{world.other.pk}" value="{current}"' in page
        assert Merge.objects.count() == 0

    def test_kartes_of_different_kinds_get_a_clear_message(self, bob_client, bob):
        company = testing.make_company(bob, name="株式会社A")
        person = testing.make_customer(bob, name="A")
        response = bob_client.post(
            reverse("quality:merge"),
            {
                "ids": [company.pk, person.pk],
                "survivor": company.pk,
                f"version_{company.pk}": 1,
                f"version_{person.pk}": 1,
                "confirm": "1",
            },
        )
        assert response.status_code == 400
        assert "同じ区分のカルテだけ" in body(response)

    def test_nothing_to_merge_without_two_kartes_the_user_may_change(
        self, client, bob, carol, world
    ):
        carols = testing.make_customer(carol, name="キャロルの 顧客")
        client.force_login(bob)
        assert client.get(reverse("quality:merge")).status_code == 404
        assert client.get(self.url(world.survivor)).status_code == 404
        assert client.get(self.url(world.survivor, carols)).status_code == 404
        assert client.get(f"{reverse('quality:merge')}?ids=x&ids=1").status_code == 404

    def test_the_survivor_can_be_switched(self, bob_client, world):
        page = body(bob_client.get(self.url(world.survivor, world.other, survivor=world.other)))
        assert f'name="survivor" value="{world.other.pk}"' in page


class TestMergeRecord:
    def test_the_record_shows_what_changed_and_undo_puts_it_back(self, bob_client, bob, world):
        done = customer_merge(actor=bob, survivor=world.survivor, others=[world.other])
        page = body(bob_client.get(done.get_absolute_url()))
        assert "090-1111-2222" in page  # the mobile taken from the other
        assert reverse("quality:merge_undo", args=[done.pk]) in page
        response = bob_client.post(reverse("quality:merge_undo", args=[done.pk]))
        assert response.status_code == 302
        assert Customer.objects.get(pk=world.other.pk).deleted_at is None
        assert not MergedCustomer.objects.filter(active=True).exists()
        assert bob_client.get(world.other.get_absolute_url()).status_code == 200

    def test_a_code_given_up_stays_whole_before_and_after_the_merge(self, bob_client, bob, world):
        survivor = customer_services.customer_update(
            actor=bob, customer=world.survivor, data={"code": "C-099"}, version=None
        )
        url = f"{reverse('quality:merge')}?ids={survivor.pk}&ids={world.other.pk}"
        remarks = body(bob_client.get(url)).split('class="remarks card"', 1)[1]
        assert '<span class="nowrap">C-100</span>' in remarks.split("</ul>", 1)[0]
        done = customer_merge(actor=bob, survivor=survivor, others=[world.other])
        page = body(bob_client.get(done.get_absolute_url()))
        notes = page.split('class="remarks-list"', 1)[1].split("</ul>", 1)[0]
        assert '<span class="nowrap">C-100</span>' in notes
        assert '· <span class="nowrap">C-100</span>' in page  # the code it had

    def test_a_refused_undo_says_why(self, bob_client, bob, world):
        done = customer_merge(actor=bob, survivor=world.survivor, others=[world.other])
        survivor = Customer.objects.get(pk=world.survivor.pk)
        customer_services.customer_update(
            actor=bob,
            customer=survivor,
            data={"birthday": datetime.date(1981, 1, 1)},
            version=None,
        )
        page = body(bob_client.get(done.get_absolute_url()))
        assert "1981-01-01" in page
        response = bob_client.post(reverse("quality:merge_undo", args=[done.pk]), follow=True)
        assert "1981-01-01" in body(response)
        assert MergedCustomer.objects.get().active

    def test_a_merged_pair_stays_in_the_queues_merged_list_and_opens(self, bob_client, bob, pair):
        customer_merge(actor=bob, survivor=pair.a, others=[pair.b])
        pair.refresh_from_db()
        assert pair.status == "merged"
        page = body(bob_client.get(reverse("quality:duplicates"), {"status": "merged"}))
        assert f'data-pair="{pair.pk}"' in page
        assert f'data-pair="{pair.pk}"' not in body(bob_client.get(reverse("quality:duplicates")))
        page = body(bob_client.get(reverse("quality:compare", args=[pair.pk])))
        assert pair.merge.get_absolute_url() in page

    def test_a_refusal_names_a_choice_by_its_label(self, bob, world):
        from django.utils import translation

        from enishi.quality.merge_undo import merge_undo_problems

        Customer.objects.filter(pk=world.other.pk).update(status="dormant")
        other = Customer.objects.get(pk=world.other.pk)
        done = customer_merge(
            actor=bob, survivor=world.survivor, others=[other], choices={"status": other.pk}
        )
        survivor = Customer.objects.get(pk=world.survivor.pk)
        customer_services.customer_update(
            actor=bob, customer=survivor, data={"status": "customer"}, version=None
        )
        with translation.override("en"):
            [problem] = [p for p in merge_undo_problems(done) if "Status" in p]
        assert "dormant" not in problem and "“Customer”" in problem

    def test_the_merged_kartes_history_stays_readable(self, bob_client, bob, world):
        done = customer_merge(actor=bob, survivor=world.survivor, others=[world.other])
        page = body(bob_client.get(done.get_absolute_url()))
        assert "merged-history" in page and "C-100" in page

    def test_merges_are_listed_for_those_who_see_the_survivor(self, client, bob, carol, world):
        done = customer_merge(actor=bob, survivor=world.survivor, others=[world.other])
        client.force_login(carol)
        assert done.get_absolute_url() not in body(client.get(reverse("quality:merge_list")))
        assert client.get(done.get_absolute_url()).status_code == 404
        client.force_login(bob)
        assert done.get_absolute_url() in body(client.get(reverse("quality:merge_list")))

    def test_merged_kartes_are_not_in_the_trash(self, client, alice, bob, world):
        customer_merge(actor=bob, survivor=world.survivor, others=[world.other])
        client.force_login(alice)
        page = body(client.get(reverse("customers:trash")))
        assert f"/{world.other.pk}/" not in page
        restore = reverse("customers:trash_restore", args=[world.other.pk])
        assert client.post(restore).status_code == 404
        purge = reverse("customers:trash_purge", args=[world.other.pk])
        assert client.post(purge).status_code == 404
        assert Customer.objects.filter(pk=world.other.pk).exists()

    def test_the_old_url_of_a_merged_karte_is_a_404_for_who_could_not_see_it(
        self, client, bob, carol, world
    ):
        customer_merge(actor=bob, survivor=world.survivor, others=[world.other])
        client.force_login(carol)
        assert client.get(world.other.get_absolute_url()).status_code == 404

    def test_the_karte_notes_what_was_merged_into_it(self, rf, bob, world):
        from django.template import Context, Template

        done = customer_merge(actor=bob, survivor=world.survivor, others=[world.other])
        html = Template("{% load merge_tags %}{% merged_from customer %}").render(
            Context({"customer": world.survivor})
        )
        assert done.get_absolute_url() in html and "C-100" not in html
        assert "山田 太郎" in html


def test_an_absurd_karte_number_is_still_a_plain_404(alice_client):
    assert alice_client.get("/customers/99999999999999999999999/").status_code == 404


def test_a_merge_into_a_karte_merged_again_later_stays_on_record(client, bob, world):
    third = testing.make_customer(bob, name="丙 三郎")
    first = customer_merge(actor=bob, survivor=world.survivor, others=[world.other])
    survivor = Customer.objects.get(pk=world.survivor.pk)
    customer_merge(actor=bob, survivor=third, others=[survivor])
    client.force_login(bob)
    assert client.get(first.get_absolute_url()).status_code == 200
    assert first.get_absolute_url() in body(client.get(reverse("quality:merge_list")))


class TestMergedWhileOpen:
    """A form opened on a karte that is merged before it is sent: nothing typed is lost."""

    def test_an_edit_sent_after_the_merge_shows_what_was_changed(self, bob_client, bob, world):
        page = bob_client.get(reverse("customers:edit", args=[world.other.pk]))
        assert page.status_code == 200
        customer_merge(actor=bob, survivor=world.survivor, others=[world.other])
        data = {
            "kind": "person", "name": "山田 太郎", "name_kana": "ヤマダ タロウ",
            "phone": "06-6543-2100", "mobile": "090-1111-2222", "email": "yamada.t@example.com",
            "code": "C-100", "notes": "<b>大事な</b>メモ", "version": world.other.version,
        }  # fmt: skip
        response = bob_client.post(reverse("customers:edit", args=[world.other.pk]), data)
        html = body(response)
        assert response.status_code == 409
        assert "&lt;b&gt;大事な&lt;/b&gt;メモ" in html  # what was typed, escaped
        assert reverse("customers:edit", args=[world.survivor.pk]) in html
        assert not Customer.objects.filter(notes__contains="大事な").exists()
        again = bob_client.get(reverse("customers:edit", args=[world.other.pk]))
        assert again.status_code == 302 and again.url.endswith(
            reverse("customers:edit", args=[world.survivor.pk])
        )

    def test_an_activity_sent_after_the_merge_is_logged_on_the_survivor(
        self, bob_client, bob, world
    ):
        customer_merge(actor=bob, survivor=world.survivor, others=[world.other])
        response = bob_client.post(
            reverse("activities:create", args=[world.other.pk]),
            {"type": "call", "subject": "合併後の電話"},
        )
        assert response.status_code == 302, body(response)[:500]
        assert Activity.objects.get(subject="合併後の電話").customer_id == world.survivor.pk

    def test_a_reader_of_another_team_still_gets_a_404(self, client, carol, bob, world):
        customer_merge(actor=bob, survivor=world.survivor, others=[world.other])
        client.force_login(carol)
        assert client.post(reverse("customers:edit", args=[world.other.pk]), {}).status_code == 404


def test_more_kartes_than_one_merge_takes_is_said_so(bob_client, bob):
    ids = [testing.make_customer(bob, name=f"山田 {i}").pk for i in range(11)]
    response = bob_client.get(reverse("quality:merge"), {"ids": ids})
    assert response.status_code == 302
    assert "10" in body(bob_client.get(response.url))
