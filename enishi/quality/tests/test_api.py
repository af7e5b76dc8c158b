"""The API of the duplicates queue and merges: same permission layer as the screens, history
written with via "api", versions checked, undo refused with reasons."""

import pytest
from django.utils import timezone

from enishi.activities.models import Activity
from enishi.api.models import ApiToken
from enishi.api.tests.conftest import ApiClient, issue_token
from enishi.core import testing
from enishi.customers import services as customer_services
from enishi.customers.models import Customer
from enishi.history.models import HistoryEntry
from enishi.quality.merge import KarteGoneError, customer_merge
from enishi.quality.models import DuplicatePair, Merge, ScanRun

pytestmark = pytest.mark.django_db


@pytest.fixture
def pair(world):
    return DuplicatePair.objects.create(
        a=world.survivor,
        b=world.other,
        score=0.93,
        reasons=["same_name", "same_kana", "bogus_code"],
        found_at=timezone.now(),
    )


def merge_body(world, **extra) -> dict:
    survivor = Customer.objects.get(pk=world.survivor.pk)
    other = Customer.objects.get(pk=world.other.pk)
    return {
        "survivor_id": survivor.pk,
        "other_ids": [other.pk],
        "versions": {str(survivor.pk): survivor.version, str(other.pk): other.version},
        **extra,
    }


class TestQueue:
    def test_it_lists_pairs_with_reason_codes_and_labels(self, bob_api, pair):
        body = bob_api.get("/duplicates").json()
        assert [p["id"] for p in body["results"]] == [pair.pk]
        first = body["results"][0]
        assert first["a"]["name"] == "山田 太郎" and first["score"] == 0.93
        assert [r["code"] for r in first["reasons"]] == ["same_name", "same_kana"]
        assert all(r["label"] for r in first["reasons"])

    def test_reasons_follow_a_karte_changed_after_the_scan(self, bob_api, bob):
        first = testing.make_company(bob, name="株式会社リプロ", phone="03-7777-0001")
        second = testing.make_company(bob, name="(株)リプロ", phone="03-7777-0001")
        found = DuplicatePair.objects.create(
            a=first,
            b=second,
            score=0.82,
            reasons=["company_variant", "same_phone"],
            found_at=timezone.now(),
        )
        before = bob_api.get(f"/duplicates/{found.pk}").json()
        assert [r["code"] for r in before["reasons"]] == ["company_variant", "same_phone"]
        assert before["rechecked"] is False
        customer_services.customer_update(
            actor=bob, customer=second, data={"name": "株式会社リプロ"}, version=second.version
        )
        after = bob_api.get(f"/duplicates/{found.pk}").json()
        assert [r["code"] for r in after["reasons"]] == ["same_company", "same_phone"]
        assert after["rechecked"] is True and after["score"] == 0.8176
        found.refresh_from_db()
        assert (found.score, found.reasons) == (0.8176, ["same_company", "same_phone"])

    def test_it_hides_pairs_with_a_karte_the_user_cannot_see(self, client, carol, pair):
        api = ApiClient(client, issue_token(carol))
        assert api.get("/duplicates").json()["results"] == []
        assert api.get(f"/duplicates/{pair.pk}").status_code == 404

    def test_it_pages_and_filters(self, bob_api, bob, pair):
        for i in range(3):
            DuplicatePair.objects.create(
                a=testing.make_company(bob, name=f"株式会社{i}"),
                b=testing.make_company(bob, name=f"(株){i}"),
                score=0.6,
                found_at=timezone.now(),
            )
        first = bob_api.get("/duplicates", {"limit": 2}).json()
        second = bob_api.get("/duplicates", {"limit": 2, "cursor": first["next_cursor"]}).json()
        assert len(first["results"]) == 2 and len(second["results"]) == 2
        assert second["next_cursor"] is None
        listed = first["results"] + second["results"]
        assert listed[0]["id"] == pair.pk  # strongest first, across pages
        assert len({p["id"] for p in listed}) == 4
        assert [p["score"] for p in listed] == sorted((p["score"] for p in listed), reverse=True)
        assert bob_api.get("/duplicates", {"cursor": "bad"}).status_code == 422
        assert len(bob_api.get("/duplicates", {"kind": "company"}).json()["results"]) == 3
        assert [
            p["id"] for p in bob_api.get("/duplicates", {"band": "high"}).json()["results"]
        ] == [pair.pk]
        assert bob_api.get("/duplicates", {"band": "nonsense"}).status_code == 422

    def test_one_pair_side_by_side_with_the_keys_to_choose_by(self, bob_api, pair):
        body = bob_api.get(f"/duplicates/{pair.pk}").json()
        phone = next(f for f in body["fields"] if f["key"] == "phone")
        assert phone["values"] == ["03-1234-5678", "06-6543-2100"] and phone["differs"]
        assert any(r["counts"] == [1, 1] for r in body["related"])

    def test_dismiss_and_reopen(self, bob_api, pair):
        assert bob_api.post(f"/duplicates/{pair.pk}/dismiss").json()["status"] == "dismissed"
        assert bob_api.get("/duplicates").json()["results"] == []
        assert bob_api.post(f"/duplicates/{pair.pk}/reopen").json()["status"] == "open"

    def test_read_only_users_cannot_decide(self, client, dave, pair):
        api = ApiClient(client, issue_token(dave, scopes=ApiToken.Scopes.READ))
        assert api.get(f"/duplicates/{pair.pk}").status_code == 200
        assert api.post(f"/duplicates/{pair.pk}/dismiss").status_code == 403


class TestScans:
    def test_an_admin_starts_a_scan_and_follows_it(self, alice_api, world):
        response = alice_api.post("/duplicate-scans")
        assert response.status_code == 202
        scan = response.json()
        assert ScanRun.objects.get().via == "api"
        follow = alice_api.get(f"/duplicate-scans/{scan['id']}").json()
        assert follow["status"] == "done" and follow["percent"] == 100

    def test_a_second_start_returns_the_running_scan(self, alice_api, alice):
        from enishi.quality.services import scan_create

        running, _created = scan_create(actor=alice)
        response = alice_api.post("/duplicate-scans")
        assert response.status_code == 200 and response.json()["id"] == running.pk

    def test_members_may_not_start_or_see_scans(self, bob_api, alice):
        from enishi.quality.services import scan_create

        scan, _created = scan_create(actor=alice)
        response = bob_api.post("/duplicate-scans")
        assert response.status_code == 403 and response.json()["detail"]
        assert bob_api.get(f"/duplicate-scans/{scan.pk}").status_code == 404


class TestMerge:
    def test_callers_who_may_not_merge_get_403_whatever_the_body(self, client, bob, dave, world):
        body = merge_body(world)
        for caller in (
            ApiClient(client, issue_token(bob, scopes="read")),
            ApiClient(client, issue_token(dave, scopes="read")),
        ):
            for sent in ({}, {"survivor_id": "x"}, body):
                response = caller.post("/merges", sent)
                assert response.status_code == 403, (sent, response.content)
        assert not Merge.objects.exists()
        writer = ApiClient(client, issue_token(bob))
        assert writer.post("/merges", {}).status_code == 422

    def test_it_merges_with_choices_and_records_the_api(self, bob_api, world):
        response = bob_api.post(
            "/merges",
            merge_body(world, choices={"phone": world.other.pk}, keep_phones=True),
        )
        assert response.status_code == 201, response.json()
        body = response.json()
        assert body["survivor_id"] == world.survivor.pk
        assert body["merged"][0]["id"] == world.other.pk
        assert {"field": "phone", "before": "03-1234-5678", "after": "06-6543-2100"} in body[
            "changes"
        ]
        assert body["moved"]["activities.activity.customer"] == 1
        assert Activity.objects.filter(customer_id=world.survivor.pk).count() == 2
        entries = HistoryEntry.objects.filter(batch=f"merge:{body['id']}")
        assert entries.exists() and set(entries.values_list("via", flat=True)) == {"api"}
        assert bob_api.get(f"/customers/{world.other.pk}").status_code == 404
        found = bob_api.get("/merges", {"customer_id": world.other.pk}).json()["results"]
        assert [m["id"] for m in found] == [body["id"]]

    def test_a_stale_version_is_409_with_the_current_karte(self, bob_api, bob, world):
        body = merge_body(world)
        customer_services.customer_update(
            actor=bob, customer=world.other, data={"notes": "別の人が保存"}, version=None
        )
        response = bob_api.post("/merges", body)
        assert response.status_code == 409
        assert response.json()["current"]["id"] == world.other.pk
        assert Merge.objects.count() == 0

    def test_a_karte_merged_meanwhile_is_a_409_that_says_so(self, bob_api, bob, world):
        third = testing.make_customer(bob, name="丙 三郎")
        body = merge_body(world)
        customer_merge(actor=bob, survivor=third, others=[Customer.objects.get(pk=world.other.pk)])
        response = bob_api.post("/merges", body)
        assert response.status_code == 409
        assert "丙 三郎" in response.json()["detail"] and not response.json().get("current")

    def test_a_karte_merged_into_one_the_user_cannot_see_is_not_named(
        self, bob_api, bob, alice, carol, world
    ):
        secret = testing.make_customer(carol, name="極秘 第二課")
        body = merge_body(world)
        other = Customer.objects.get(pk=world.other.pk)
        customer_merge(actor=alice, survivor=secret, others=[other])
        response = bob_api.post("/merges", body)
        assert response.status_code == 409
        assert "極秘" not in response.content.decode()

    def test_the_loser_of_two_merges_at_once_is_told_why(self, bob, world):
        """Both read the kartes; the first merge wins, the second finds one merged (not a
        permission error)."""
        third = testing.make_customer(bob, name="丙 三郎")
        other = Customer.objects.get(pk=world.other.pk)
        customer_merge(actor=bob, survivor=third, others=[other])
        with pytest.raises(KarteGoneError, match="丙 三郎"):
            customer_merge(actor=bob, survivor=world.survivor, others=[other])

    def test_records_deleted_since_are_named_before_the_undo_and_come_back_in_the_trash(
        self, bob_api, bob, world
    ):
        from enishi.activities.services import activity_delete

        created = bob_api.post("/merges", merge_body(world)).json()
        activity = world.other_records["activity"]
        activity.refresh_from_db()
        activity_delete(actor=bob, activity=activity)
        shown = bob_api.get(f"/merges/{created['id']}").json()
        assert shown["undo_blocked_by"] == [] and len(shown["undo_notes"]) == 1
        assert "trash" in shown["undo_notes"][0] or "ゴミ箱" in shown["undo_notes"][0]
        assert bob_api.post(f"/merges/{created['id']}/undo").status_code == 200
        activity.refresh_from_db()
        assert activity.customer_id == world.other.pk and activity.deleted_at is not None

    def test_every_version_is_required(self, bob_api, world):
        body = merge_body(world)
        del body["versions"][str(world.other.pk)]
        response = bob_api.post("/merges", body)
        assert response.status_code == 422
        assert response.json()["errors"][0]["field"] == "versions"
        assert (
            bob_api.post("/merges", {**merge_body(world), "versions": {"x": 1}}).status_code == 422
        )

    def test_bad_choices_and_lists_are_422(self, bob_api, world):
        for extra in (
            {"choices": {"phone": 987654}},
            {"choices": {"nope": world.other.pk}},
            {"choices": {"phone": "both"}},
            {"other_ids": [world.survivor.pk]},
            {"other_ids": []},
            {"unknown": 1},
        ):
            response = bob_api.post("/merges", merge_body(world, **extra))
            assert response.status_code in (404, 422), extra
            assert response.status_code != 404 or extra == {"choices": {"phone": 987654}}
        assert Merge.objects.count() == 0
        empty = bob_api.post("/merges", merge_body(world, other_ids=[]), HTTP_ACCEPT_LANGUAGE="en")
        assert empty.json()["errors"][0]["message"] == "Give at least 1 item."

    def test_kartes_the_user_cannot_change_are_404(self, client, carol, dave, world):
        carol_api = ApiClient(client, issue_token(carol))
        assert carol_api.post("/merges", merge_body(world)).status_code == 404
        dave_api = ApiClient(client, issue_token(dave, scopes=ApiToken.Scopes.READ))
        assert dave_api.post("/merges", merge_body(world)).status_code == 403

    def test_undo_puts_everything_back_or_says_why_not(self, bob_api, bob, world):
        done = bob_api.post("/merges", merge_body(world)).json()
        survivor = Customer.objects.get(pk=world.survivor.pk)
        customer_services.customer_update(
            actor=bob, customer=survivor, data={"mobile": "080-9999-0000"}, version=None
        )
        blocked = bob_api.get(f"/merges/{done['id']}").json()["undo_blocked_by"]
        assert blocked and "080-9999-0000" in blocked[0]
        refused = bob_api.post(f"/merges/{done['id']}/undo")
        assert refused.status_code == 409
        assert refused.json()["errors"][0]["code"] == "undo_refused"
        customer_services.customer_update(
            actor=bob,
            customer=survivor,
            data={"mobile": "090-1111-2222"},
            version=None,
        )
        undone = bob_api.post(f"/merges/{done['id']}/undo")
        assert undone.status_code == 200 and undone.json()["undone_at"]
        assert bob_api.get(f"/customers/{world.other.pk}").status_code == 200
        assert set(
            HistoryEntry.objects.filter(batch=f"unmerge:{done['id']}").values_list("via", flat=True)
        ) == {"api"}
