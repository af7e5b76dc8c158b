"""Personas beyond Alice (admin) and Bob (member, 営業1課): Carol is a member of 営業2課, Dave is
read-only in 営業1課, Erin manages 営業1課. `world` is a person karte with one of every kind of
record on it, and its duplicate with records of its own."""

import datetime
from dataclasses import dataclass
from decimal import Decimal

import pytest
from django.core.cache import cache
from django.utils import timezone

from enishi.activities.services import task_create
from enishi.core import testing
from enishi.customers.models import Customer


@pytest.fixture(autouse=True)
def _fresh_cache():
    cache.clear()
    yield
    cache.clear()


def add_records(actor, customer: Customer, label: str) -> dict:
    """One activity, task, deal, inquiry, order and contract on `customer`."""
    from enishi.deals import services as deals
    from enishi.inquiries.services import inquiry_create
    from enishi.sales import services as sales

    pipeline = deals.default_pipeline_ensure()
    stage = pipeline.stages.filter(outcome="open").order_by("position").first()
    today = timezone.localdate()
    return {
        "activity": testing.log_call(actor, customer, subject=f"{label}の電話"),
        "task": task_create(actor=actor, customer=customer, title=f"{label}のタスク"),
        "deal": deals.deal_create(
            actor=actor, customer=customer, title=f"{label}の商談", stage=stage
        ),
        "inquiry": inquiry_create(actor=actor, customer=customer, subject=f"{label}の問い合わせ"),
        "order": sales.order_create(
            actor=actor,
            customer=customer,
            data={"note": f"{label}の受注"},
            lines=[{"description": "点検", "unit_price": Decimal("5000"), "quantity": 1}],
        ),
        "contract": sales.contract_create(
            actor=actor,
            customer=customer,
            data={
                "plan": f"{label}の保守",
                "starts_on": today - datetime.timedelta(days=30),
                "amount": 3000,
            },
        ),
    }


@dataclass
class World:
    survivor: Customer
    other: Customer
    survivor_records: dict
    other_records: dict


@pytest.fixture
def world(bob) -> World:
    survivor = testing.make_customer(
        bob,
        name="山田 太郎",
        name_kana="ヤマダ タロウ",
        phone="03-1234-5678",
        email="taro@example.jp",
        tags=["VIP"],
        notes="元の備考",
    )
    other = testing.make_customer(
        bob,
        name="山田 太郎",
        name_kana="ヤマダ タロウ",
        phone="06-6543-2100",
        mobile="090-1111-2222",
        email="yamada.t@example.com",
        birthday=datetime.date(1980, 4, 1),
        tags=["展示会"],
        code="C-100",
    )
    return World(
        survivor=survivor,
        other=other,
        survivor_records=add_records(bob, survivor, "本体"),
        other_records=add_records(bob, other, "重複"),
    )
