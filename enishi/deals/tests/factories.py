"""Deals for tests, made through the real service."""

import itertools
from decimal import Decimal

from enishi.deals import services

_seq = itertools.count(1)


def make_deal(actor, customer, stage, **data):
    data.setdefault("title", f"テスト商談{next(_seq)}")
    data.setdefault("amount", Decimal("1000000"))
    return services.deal_create(actor=actor, customer=customer, stage=stage, **data)
