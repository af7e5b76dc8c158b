"""customer_merge and customer_merge_undo against the real database: what moves, which values
survive, the history of everyone involved, an exact undo, and the refusals."""

import datetime

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Q

from enishi.activities.models import Activity, Task
from enishi.core import testing
from enishi.core.later import translated
from enishi.core.records import StaleVersionError
from enishi.customers import services as customer_services
from enishi.customers.models import Customer, FieldDefinition
from enishi.customers.selectors import customer_visible
from enishi.deals.models import Deal
from enishi.history.models import HistoryEntry
from enishi.inquiries.models import Inquiry
from enishi.quality.merge import (
    FIELD_GROUPS,
    MERGED_FIELDS,
    customer_merge,
    customer_relations,
    merge_plan,
    merged_into,
    related_counts,
)
from enishi.quality.merge_undo import customer_merge_undo, merge_undo_problems
from enishi.quality.models import DuplicatePair, Merge, MergedCustomer
from enishi.sales.models import Contract, Order

pytestmark = pytest.mark.django_db

# Bookkeeping that a merge and its undo legitimately move on.
BOOKKEEPING = {"version", "updated_at", "updated_by_id", "search_text", "search_bigrams"}


def state(customer: Customer) -> dict:
    row = Customer.objects.filter(pk=customer.pk).values().get()
    row = {k: v for k, v in row.items() if k not in BOOKKEEPING}
    row["tags"] = sorted(Customer.objects.get(pk=customer.pk).tags.values_list("name", flat=True))
    return row


def pointing_at(pk: int) -> dict[str, int]:
    """Rows of every model that still point at karte `pk` (kartes in the trash included)."""
    found = {}
    for relation in customer_relations():
        if relation.many:
            through, _own, target = relation.through_names()
            n = through.objects.filter(**{target: pk}).count()
        else:
            n = relation.model._base_manager.filter(**{relation.field.attname: pk}).count()
        if n:
            found[relation.key] = n
    return found


def merge(actor, survivor, others, **kwargs):
    return customer_merge(actor=actor, survivor=survivor, others=others, **kwargs)


class TestWhatMoves:
    def test_it_finds_every_link_to_a_karte_in_every_app(self):
        keys = {r.key for r in customer_relations()}
        assert {
            "activities.activity.customer",
            "activities.task.customer",
            "deals.deal.customer",
            "deals.deal.contacts",
            "inquiries.inquiry.customer",
            "sales.order.customer",
            "sales.contract.customer",
            "customers.customer.company",
            "customers.customer.parent",
        } <= keys
        assert not any(k.startswith("quality.") for k in keys)

    def test_it_moves_every_related_record_to_the_survivor(self, bob, world):
        done = merge(bob, world.survivor, [world.other])
        for kind, record in world.other_records.items():
            record.refresh_from_db()
            assert record.customer_id == world.survivor.pk, kind
        assert pointing_at(world.other.pk) == {}
        assert Activity.objects.filter(customer=world.survivor).count() == 2
        assert Task.objects.filter(customer=world.survivor).count() == 2
        assert done.counts["deals.deal.customer"] == 1
        assert "対応記録 1件" in done.moved_summary

    def test_the_history_names_what_moved_in_the_readers_language(self, bob, world):
        from django.utils import translation

        from enishi.history.selectors import value_label

        done = merge(bob, world.survivor, [world.other])
        entry = HistoryEntry.objects.get(
            action="merge", customer_id=world.survivor.pk, model="quality.merge"
        )
        counts = entry.changes["moved_counts"][1]
        assert counts == done.counts
        with translation.override("ja"):
            assert "対応記録" in value_label(entry.model, "moved_counts", counts)
        with translation.override("en"):
            shown = value_label(entry.model, "moved_counts", counts)
            assert "対応記録" not in shown and "1" in shown

    def test_it_moves_records_in_the_trash_too(self, bob, world):
        from enishi.activities.services import activity_delete

        activity = world.other_records["activity"]
        activity_delete(actor=bob, activity=activity)
        merge(bob, world.survivor, [world.other])
        activity.refresh_from_db()
        assert activity.customer_id == world.survivor.pk and activity.deleted_at is not None

    def test_it_moves_contact_persons_and_subsidiaries_of_a_merged_company(self, bob):
        survivor = testing.make_company(bob, name="株式会社山田商事")
        other = testing.make_company(bob, name="(株)山田商事")
        person = testing.make_customer(bob, name="佐藤 花子", company=other)
        subsidiary = testing.make_company(bob, name="山田物流株式会社", parent=other)
        merge(bob, survivor, [other])
        person.refresh_from_db()
        subsidiary.refresh_from_db()
        assert person.company_id == survivor.pk and person.version == 2
        assert subsidiary.parent_id == survivor.pk
        assert "株式会社山田商事" in person.search_text
        assert HistoryEntry.objects.filter(
            customer_id=person.pk, action="merge", model="customers.customer"
        ).exists()

    def test_a_merged_person_on_a_deal_becomes_the_survivor_once(self, bob):
        from enishi.deals import services as deals

        company = testing.make_company(bob, name="株式会社取引先")
        survivor = testing.make_customer(bob, name="鈴木 一郎", company=company)
        other = testing.make_customer(bob, name="鈴木 一郎", company=company)
        stage = deals.default_pipeline_ensure().stages.order_by("position").first()
        both = deals.deal_create(
            actor=bob, customer=company, title="両方", stage=stage, contacts=[survivor, other]
        )
        only_other = deals.deal_create(
            actor=bob, customer=company, title="片方", stage=stage, contacts=[other]
        )
        done = merge(bob, survivor, [other])
        assert list(both.contacts.values_list("pk", flat=True)) == [survivor.pk]
        assert list(only_other.contacts.values_list("pk", flat=True)) == [survivor.pk]
        assert pointing_at(other.pk) == {}
        customer_merge_undo(actor=bob, merge=done)
        assert set(both.contacts.values_list("pk", flat=True)) == {survivor.pk, other.pk}
        assert list(only_other.contacts.values_list("pk", flat=True)) == [other.pk]

    def test_it_counts_related_records_per_karte(self, bob, world):
        counts = related_counts([world.survivor.pk, world.other.pk])
        assert set(counts[world.other.pk].values()) == {1}
        assert len(counts[world.other.pk]) >= 6


class TestValues:
    def test_every_editable_field_but_kind_and_custom_fields_is_offered(self):
        assert set(MERGED_FIELDS) == set(customer_services.EDITABLE_FIELDS) - {
            "kind",
            "custom_fields",
        }
        assert len({g.key for g in FIELD_GROUPS}) == len(FIELD_GROUPS)

    def test_by_default_the_survivor_keeps_its_values_and_fills_gaps_from_the_other(
        self, bob, world
    ):
        merge(bob, world.survivor, [world.other])
        world.survivor.refresh_from_db()
        assert world.survivor.phone == "03-1234-5678"
        assert world.survivor.mobile == "090-1111-2222"  # empty on the survivor
        assert world.survivor.birthday == datetime.date(1980, 4, 1)
        assert world.survivor.email == "taro@example.jp"
        assert world.survivor.code == "C-100"  # the survivor had none: takes the other's

    def test_a_chosen_value_wins(self, bob, world):
        merge(bob, world.survivor, [world.other], choices={"phone": world.other.pk})
        world.survivor.refresh_from_db()
        assert world.survivor.phone == "06-6543-2100"
        assert world.survivor.phone_e164 == "+81665432100"

    def test_keeping_both_phones_uses_the_free_slot_and_says_when_there_is_none(self, bob, world):
        plan = merge_plan(
            actor=bob,
            survivor=world.survivor,
            others=[world.other],
            choices={"keep_phones": True},
        )
        # 03 stays, the mobile fills the empty mobile slot, 06 has no free slot left.
        assert plan.values["phone"] == "03-1234-5678"
        assert plan.values["mobile"] == "090-1111-2222"
        assert "06-6543-2100" in plan.values["notes"]
        assert any("06-6543-2100" in str(r) for r in plan.remarks)
        done = merge(bob, world.survivor, [world.other], choices={"keep_phones": True})
        world.survivor.refresh_from_db()
        assert world.survivor.notes.startswith("元の備考\n")
        assert "06-6543-2100" in world.survivor.notes
        assert any("06-6543-2100" in translated(r) for r in done.notes)

    def test_a_name_in_one_piece_keeps_the_family_and_given_names_it_spells(self, bob):
        split = testing.make_customer(bob, kind="person", family_name="田中", given_name="一郎")
        whole = testing.make_customer(bob, kind="person", name="田中一郎")
        done = merge(bob, split, [whole], choices={"name": whole.pk})
        split.refresh_from_db()
        assert (split.name, split.family_name, split.given_name) == ("田中一郎", "田中", "一郎")
        assert done.survivor_name == "田中一郎"  # the name after the merge, not before

    def test_a_name_spelt_otherwise_does_not_keep_parts_that_no_longer_fit(self, bob):
        split = testing.make_customer(bob, kind="person", family_name="齋藤", given_name="美穂")
        whole = testing.make_customer(bob, kind="person", name="斉藤美穂")
        plan = merge_plan(actor=bob, survivor=split, others=[whole], choices={"name": whole.pk})
        assert (plan.values["name"], plan.values["family_name"], plan.values["given_name"]) == (
            "斉藤美穂",
            "",
            "",
        )

    def test_a_second_landline_goes_to_the_notes_not_into_the_mobile_field(self, bob):
        first = testing.make_company(bob, name="株式会社山田商事", phone="03-3271-0000")
        second = testing.make_company(bob, name="山田商事(株)", phone="03-3271-9999")
        plan = merge_plan(actor=bob, survivor=first, others=[second], choices={"keep_phones": True})
        assert (plan.values["phone"], plan.values["mobile"]) == ("03-3271-0000", "")
        assert "03-3271-9999" in plan.values["notes"]

    def test_keeping_both_emails_puts_the_second_in_the_second_slot(self, bob, world):
        merge(bob, world.survivor, [world.other], choices={"keep_emails": True})
        world.survivor.refresh_from_db()
        assert (world.survivor.email, world.survivor.email_alt) == (
            "taro@example.jp",
            "yamada.t@example.com",
        )

    def test_long_texts_can_keep_both(self, bob, world):
        customer_services.customer_update(
            actor=bob, customer=world.other, data={"notes": "重複側の備考"}, version=None
        )
        merge(bob, world.survivor, [world.other], choices={"notes": "both"})
        world.survivor.refresh_from_db()
        assert world.survivor.notes.startswith("元の備考")
        assert "重複側の備考" in world.survivor.notes and "山田 太郎" in world.survivor.notes

    def test_tags_are_united_and_custom_values_are_chosen_per_field(self, bob, world):
        FieldDefinition.objects.create(key="hobby", label_ja="趣味")
        FieldDefinition.objects.create(key="size", label_ja="サイズ")
        for customer, values in (
            (world.survivor, {"hobby": "釣り"}),
            (world.other, {"hobby": "囲碁", "size": "L"}),
        ):
            customer_services.customer_update(
                actor=bob, customer=customer, data={"custom_fields": values}, version=None
            )
        merge(bob, world.survivor, [world.other], choices={"cf:hobby": world.other.pk})
        world.survivor.refresh_from_db()
        assert world.survivor.custom_fields == {"hobby": "囲碁", "size": "L"}
        assert sorted(world.survivor.tags.values_list("name", flat=True)) == ["VIP", "展示会"]

    def test_unknown_choices_are_refused_with_a_message(self, bob, world):
        for choices in ({"nonsense": world.other.pk}, {"phone": 987654}, {"phone": "both"}):
            with pytest.raises(ValidationError) as exc:
                merge(bob, world.survivor, [world.other], choices=choices)
            assert "choices" in exc.value.message_dict
        assert Merge.objects.count() == 0

    def test_a_company_and_a_person_cannot_be_merged(self, bob):
        company = testing.make_company(bob, name="株式会社A")
        person = testing.make_customer(bob, name="A")
        with pytest.raises(ValidationError, match="同じ区分"):
            merge(bob, company, [person])

    def test_a_sensitive_field_stays_out_of_reach_of_roles_that_may_not_see_it(
        self, bob, alice, world
    ):
        FieldDefinition.objects.create(key="health", label_ja="健康", sensitive=True)
        customer_services.customer_update(
            actor=alice,
            customer=world.other,
            data={"custom_fields": {"health": "持病あり"}},
            version=None,
        )
        with pytest.raises(ValidationError):
            merge(bob, world.survivor, [world.other], choices={"cf:health": world.other.pk})
        merge(bob, world.survivor, [world.other])
        world.survivor.refresh_from_db()
        assert world.survivor.custom_fields == {"health": "持病あり"}


class TestState:
    def test_merged_kartes_are_hidden_kept_and_point_at_the_survivor(self, bob, erin, world):
        merge(bob, world.survivor, [world.other])
        other = Customer.objects.get(pk=world.other.pk)
        assert other.deleted_at is not None and other.code == ""
        assert not customer_visible(bob).filter(pk=other.pk).exists()
        assert not customer_visible(erin, trash=True).filter(pk=other.pk).exists()
        survivor, member = merged_into(other.pk)
        assert survivor.pk == world.survivor.pk and member.code_before == "C-100"

    def test_a_chain_of_merges_leads_to_the_last_survivor(self, bob, world):
        third = testing.make_customer(bob, name="山田 太郎")
        merge(bob, world.survivor, [world.other])
        merge(bob, third, [world.survivor])
        assert merged_into(world.other.pk)[0].pk == third.pk

    def test_the_candidate_pair_is_marked_merged(self, bob, world):
        from django.utils import timezone

        pair = DuplicatePair.objects.create(
            a=world.survivor, b=world.other, score=0.9, found_at=timezone.now()
        )
        done = merge(bob, world.survivor, [world.other])
        pair.refresh_from_db()
        assert (pair.status, pair.merge_id, pair.decided_by) == ("merged", done.pk, bob)
        customer_merge_undo(actor=bob, merge=done)
        pair.refresh_from_db()
        assert (pair.status, pair.merge_id) == ("open", None)


class TestHistory:
    def test_the_merge_is_in_the_history_of_everyone_involved(self, bob, world):
        done = merge(bob, world.survivor, [world.other])
        batch = HistoryEntry.objects.filter(batch=f"merge:{done.pk}")
        assert set(batch.values_list("action", flat=True)) == {"merge"}
        survivor_entries = batch.filter(customer_id=world.survivor.pk)
        assert survivor_entries.filter(model="quality.merge").get().changes["merged_names"][1]
        assert "mobile" in survivor_entries.get(model="customers.customer").changes
        assert batch.filter(customer_id=world.other.pk, model="quality.merge").exists()
        for kind, record in world.other_records.items():
            entry = batch.get(model=record._meta.label_lower, object_id=record.pk)
            assert entry.customer_id == world.survivor.pk, kind
            assert entry.changes["customer"] == ["山田 太郎", "山田 太郎"]
        assert set(batch.values_list("via", flat=True)) == {"ui"}

    def test_an_api_merge_says_so(self, bob, world):
        done = merge(bob, world.survivor, [world.other], via="api")
        assert set(
            HistoryEntry.objects.filter(batch=f"merge:{done.pk}").values_list("via", flat=True)
        ) == {"api"}


class TestUndo:
    def test_undo_restores_everything_exactly(self, bob, world):
        FieldDefinition.objects.create(key="hobby", label_ja="趣味")
        customer_services.customer_update(
            actor=bob,
            customer=world.other,
            data={"custom_fields": {"hobby": "囲碁"}},
            version=None,
        )
        company = testing.make_company(bob, name="株式会社X")
        before_survivor, before_other = state(world.survivor), state(world.other)
        done = merge(
            bob,
            world.survivor,
            [world.other],
            choices={"keep_phones": True, "keep_emails": True, "name_kana": world.other.pk},
        )
        assert state(world.survivor) != before_survivor
        customer_merge_undo(actor=bob, merge=done)
        assert state(world.survivor) == before_survivor
        assert state(world.other) == before_other
        for kind, record in world.other_records.items():
            record.refresh_from_db()
            assert record.customer_id == world.other.pk, kind
        for kind, record in world.survivor_records.items():
            record.refresh_from_db()
            assert record.customer_id == world.survivor.pk, kind
        assert not MergedCustomer.objects.filter(active=True).exists()
        assert customer_visible(bob).filter(pk=world.other.pk).exists()
        done.refresh_from_db()
        assert done.undone_at is not None and done.undone_by == bob
        undo_batch = HistoryEntry.objects.filter(batch=f"unmerge:{done.pk}")
        assert set(undo_batch.values_list("action", flat=True)) == {"unmerge"}
        assert undo_batch.filter(customer_id=world.other.pk).exists()
        assert company.pk  # untouched bystander

    def test_records_added_after_the_merge_stay_with_the_survivor(self, bob, world):
        done = merge(bob, world.survivor, [world.other])
        later = testing.log_call(bob, world.survivor, subject="統合後の電話")
        customer_merge_undo(actor=bob, merge=done)
        later.refresh_from_db()
        assert later.customer_id == world.survivor.pk

    def test_undo_is_refused_when_the_survivor_was_changed_since(self, bob, world):
        done = merge(bob, world.survivor, [world.other])
        survivor = Customer.objects.get(pk=world.survivor.pk)
        customer_services.customer_update(
            actor=bob, customer=survivor, data={"mobile": "080-9999-0000"}, version=None
        )
        with pytest.raises(ValidationError) as exc:
            customer_merge_undo(actor=bob, merge=done)
        assert any("080-9999-0000" in m for m in exc.value.messages)
        assert MergedCustomer.objects.get().active

    def test_undo_is_refused_when_a_moved_record_belongs_to_another_karte_now(self, bob, world):
        done = merge(bob, world.survivor, [world.other])
        stranger = testing.make_customer(bob, name="別人")
        Inquiry.objects.filter(pk=world.other_records["inquiry"].pk).update(customer=stranger)
        problems = merge_undo_problems(done)
        assert any("重複の問い合わせ" in p for p in problems)
        with pytest.raises(ValidationError):
            customer_merge_undo(actor=bob, merge=done)

    def test_undo_is_refused_while_the_survivor_is_merged_into_another(self, bob, world):
        first = merge(bob, world.survivor, [world.other])
        third = testing.make_customer(bob, name="山田 太郎")
        second = merge(bob, third, [world.survivor])
        with pytest.raises(ValidationError, match="先にそちらの統合を取り消して"):
            customer_merge_undo(actor=bob, merge=first)
        customer_merge_undo(actor=bob, merge=second)
        customer_merge_undo(actor=bob, merge=first)
        assert pointing_at(world.other.pk) != {}

    def test_undo_twice_is_refused(self, bob, world):
        done = merge(bob, world.survivor, [world.other])
        customer_merge_undo(actor=bob, merge=done)
        with pytest.raises(ValidationError, match="すでに取り消されています"):
            customer_merge_undo(actor=bob, merge=done)

    def test_undo_gives_the_code_back_unless_someone_else_took_it(self, bob, world):
        done = merge(bob, world.survivor, [world.other], choices={"code": world.survivor.pk})
        testing.make_customer(bob, name="新顧客", code="C-100")
        with pytest.raises(ValidationError, match="C-100"):
            customer_merge_undo(actor=bob, merge=done)


class TestRefusals:
    def test_a_stale_version_of_any_karte_writes_nothing(self, bob, world):
        versions = {world.survivor.pk: world.survivor.version, world.other.pk: 1}
        customer_services.customer_update(
            actor=bob, customer=world.other, data={"notes": "別の人が保存"}, version=None
        )
        with pytest.raises(StaleVersionError) as exc:
            merge(bob, world.survivor, [world.other], versions=versions)
        assert exc.value.current.pk == world.other.pk
        assert Merge.objects.count() == 0
        assert Activity.objects.filter(customer=world.other).count() == 1

    def test_every_version_must_be_sent_when_versions_are_checked(self, bob, world):
        with pytest.raises(ValidationError):
            merge(bob, world.survivor, [world.other], versions={world.survivor.pk: 1})

    def test_a_user_must_be_able_to_change_every_karte(self, bob, carol, dave, world):
        carols = testing.make_customer(carol, name="山田 太郎")
        with pytest.raises(PermissionDenied):
            merge(bob, world.survivor, [carols])
        with pytest.raises(PermissionDenied):
            merge(carol, carols, [world.other])
        with pytest.raises(PermissionDenied):
            merge(dave, world.survivor, [world.other])
        assert Merge.objects.count() == 0
        done = merge(bob, world.survivor, [world.other])
        with pytest.raises(PermissionDenied):
            customer_merge_undo(actor=carol, merge=done)
        with pytest.raises(PermissionDenied):
            customer_merge_undo(actor=dave, merge=done)

    def test_a_karte_cannot_be_merged_with_itself_or_alone(self, bob, world):
        with pytest.raises(ValidationError):
            merge(bob, world.survivor, [world.survivor])
        with pytest.raises(ValidationError):
            merge(bob, world.survivor, [])


def test_three_kartes_merge_into_one_and_come_back(bob, world):
    third = testing.make_customer(bob, name="山田 太郎", email="t.yamada@example.net")
    testing.log_call(bob, third, subject="三人目の電話")
    done = merge(bob, world.survivor, [world.other, third], choices={"keep_emails": True})
    assert set(done.members.values_list("customer_id", flat=True)) == {world.other.pk, third.pk}
    assert Activity.objects.filter(customer=world.survivor).count() == 3
    survivor = Customer.objects.get(pk=world.survivor.pk)
    assert survivor.email_alt == "yamada.t@example.com"
    assert "t.yamada@example.net" in survivor.notes
    customer_merge_undo(actor=bob, merge=done)
    assert Activity.objects.filter(customer=third).count() == 1
    assert not Customer.objects.filter(
        Q(pk__in=[world.other.pk, third.pk]) & Q(deleted_at__isnull=False)
    ).exists()


def test_related_kinds_keep_their_own_kind(bob, world):
    merge(bob, world.survivor, [world.other])
    assert Deal.objects.filter(customer=world.survivor).count() == 2
    assert Order.objects.filter(customer=world.survivor).count() == 2
    assert Contract.objects.filter(customer=world.survivor).count() == 2


def test_a_karte_with_many_records_merges_in_a_bounded_number_of_queries(
    bob, world, django_assert_max_num_queries
):
    """Records move with one UPDATE per kind and their history is written in bulk: the number
    of queries does not grow with the number of records."""
    from enishi.activities.models import Activity as ActivityModel

    ActivityModel.objects.bulk_create(
        [ActivityModel(customer=world.other, type="call", subject=f"電話 {i}") for i in range(300)]
    )
    with django_assert_max_num_queries(75) as captured:
        done = merge(bob, world.survivor, [world.other])
    assert Activity.objects.filter(customer=world.survivor).count() == 302
    assert (
        HistoryEntry.objects.filter(batch=f"merge:{done.pk}", model="activities.activity").count()
        == 301
    )
    with django_assert_max_num_queries(len(captured) + 10):
        customer_merge_undo(actor=bob, merge=done)
    assert Activity.objects.filter(customer=world.other).count() == 301


def test_purging_the_survivor_leaves_the_merged_kartes_as_plain_trash(alice, bob, world):
    """The merge record goes with the survivor; what was merged into it is then in the trash
    like any deleted karte, for an admin to restore or purge."""
    merge(bob, world.survivor, [world.other])
    survivor = Customer.objects.get(pk=world.survivor.pk)
    customer_services.customer_delete(actor=alice, customer=survivor)
    customer_services.customer_purge(actor=alice, customer=survivor)
    assert not Merge.objects.exists() and not MergedCustomer.objects.exists()
    assert customer_visible(alice, trash=True).filter(pk=world.other.pk).exists()
