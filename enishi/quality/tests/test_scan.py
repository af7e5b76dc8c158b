"""The duplicate scan over the database: what it finds, how it reports, what it leaves alone."""

from __future__ import annotations

import datetime

import pytest

from enishi.core.testing import make_company, make_customer
from enishi.customers.models import Customer
from enishi.customers.selectors import customer_visible
from enishi.quality import match
from enishi.quality.match import REASONS
from enishi.quality.scan import SCAN_FIELDS, ScanPair, scan_customers, scan_record

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(alice, bob):
    """Alice's kartes with two duplicates, a household and colleagues; one of Bob's."""
    yamada = make_company(
        alice, name="株式会社山田商事", name_kana="ヤマダショウジ", phone="03-1234-5678"
    )
    people = {
        "yamada_co": yamada,
        "yamada_co_2": make_company(alice, name="(株)山田商事", phone="0312345678"),
        "taro": make_customer(
            alice,
            name="山田 太郎",
            name_kana="ヤマダ タロウ",
            mobile="090-1234-5678",
            postal_code="156-0053",
            prefecture="東京都",
            city="世田谷区",
            town="桜",
            street="1-2-3",
            phone="03-3421-0000",
        ),
        "taro_2": make_customer(
            alice,
            name="髙田 太郎",
            name_kana="タカダ タロウ",
            email="t.takada@example.jp",
        ),
        "taro_3": make_customer(
            alice,
            name="山田太郎",
            name_kana="やまだ たろう",
            mobile="+81 90 1234 5678",
            birthday=datetime.date(1980, 1, 2),
        ),
        "hanako": make_customer(
            alice,
            name="山田 花子",
            name_kana="ヤマダ ハナコ",
            postal_code="1560053",
            prefecture="東京都",
            city="世田谷区",
            town="桜",
            street="１丁目２番３号",
            phone="0334210000",
        ),
        "sato": make_customer(
            alice, name="佐藤 一郎", company=yamada, phone="03-1234-5678", email="sato@yamada.jp"
        ),
        "suzuki": make_customer(
            alice, name="鈴木 次郎", company=yamada, phone="03-1234-5678", email="suzuki@yamada.jp"
        ),
        "takada": make_customer(
            alice, name="高田 太郎", name_kana="タカダ タロウ", email="T.Takada@example.jp"
        ),
        "bobs": make_customer(bob, name="坂本 龍馬", email="ryoma@example.jp"),
        "bobs_2": make_customer(bob, name="坂本龍馬", email="RYOMA@example.jp"),
    }
    return people


def pairs_by_ids(pairs: list[ScanPair]) -> dict[tuple[int, int], ScanPair]:
    return {(p.a_id, p.b_id): p for p in pairs}


def key(a: Customer, b: Customer) -> tuple[int, int]:
    return (min(a.pk, b.pk), max(a.pk, b.pk))


def test_it_finds_the_duplicates_and_leaves_look_alikes_apart(world):
    found = pairs_by_ids(scan_customers(workers=1))
    expected = {
        key(world["taro"], world["taro_3"]),
        key(world["taro_2"], world["takada"]),
        key(world["yamada_co"], world["yamada_co_2"]),
        key(world["bobs"], world["bobs_2"]),
    }
    assert set(found) == expected
    assert "same_mobile" in found[key(world["taro"], world["taro_3"])].reasons
    assert "same_email" in found[key(world["taro_2"], world["takada"])].reasons
    company = found[key(world["yamada_co"], world["yamada_co_2"])]
    assert {"company_variant", "same_phone"} <= set(company.reasons)


def test_pairs_are_ordered_grouped_and_explained(world):
    pairs = scan_customers(workers=1)
    assert all(p.a_id < p.b_id for p in pairs)
    assert all(0 < p.score <= 1 for p in pairs)
    assert all(set(p.reasons) <= set(REASONS) for p in pairs)
    groups = [p.group for p in pairs]
    assert groups == sorted(groups)
    assert set(groups) == set(range(1, len(set(groups)) + 1))
    # Groups come strongest first: each group's weakest link is no stronger than the last's.
    weakest = {g: min(p.score for p in pairs if p.group == g) for g in set(groups)}
    assert [weakest[g] for g in sorted(weakest)] == sorted(weakest.values(), reverse=True)


def test_it_scans_only_the_queryset_it_is_given(world, bob):
    found = pairs_by_ids(scan_customers(customer_visible(bob), workers=1))
    assert set(found) == {key(world["bobs"], world["bobs_2"])}


def test_customers_in_the_trash_are_left_out(world):
    Customer.objects.filter(pk=world["taro_3"].pk).update(
        deleted_at=datetime.datetime.now(tz=datetime.UTC)
    )
    found = pairs_by_ids(scan_customers(workers=1))
    assert key(world["taro"], world["taro_3"]) not in found


def test_progress_is_monotone_and_ends_at_the_total(world):
    calls: list[tuple[int, int]] = []
    scan_customers(workers=1, progress=lambda done, total: calls.append((done, total)))
    assert calls
    done = [d for d, _t in calls]
    assert done == sorted(done)
    assert len({t for _d, t in calls}) == 1
    assert calls[-1][0] == calls[-1][1]


def test_an_empty_database_gives_no_pairs(db):
    calls: list[tuple[int, int]] = []
    assert scan_customers(progress=lambda d, t: calls.append((d, t))) == []
    assert calls[-1][0] == calls[-1][1]


def test_worker_processes_give_the_same_answer(world, monkeypatch):
    single = scan_customers(workers=1)
    # Small sets run in one process; lower the bar so the forked path runs here too.
    monkeypatch.setattr(match, "_PARALLEL_MIN", 0)
    assert scan_customers(workers=2) == single


def test_a_threshold_can_be_raised(world):
    strict = scan_customers(workers=1, threshold=0.999)
    assert all(p.score >= 0.999 for p in strict)
    assert len(strict) < len(scan_customers(workers=1))


def test_a_row_becomes_the_matching_record(world):
    row = Customer.objects.filter(pk=world["sato"].pk).values_list(*SCAN_FIELDS).get()
    record = scan_record(row)
    assert record["id"] == world["sato"].pk
    assert record["company"] == "株式会社山田商事"
    assert record["phones"] == ["03-1234-5678"]
    keys = match.record_keys(record)
    assert keys.company == "山田商事"


def test_the_scan_reads_only_a_few_queries(world, django_assert_max_num_queries):
    with django_assert_max_num_queries(4):
        scan_customers(workers=1)
