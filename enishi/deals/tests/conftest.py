"""Personas and a pipeline for the deal tests. Alice is an admin; Bob a member of 営業1課;
Carol a member of 営業2課; Dave is read-only in 営業1課."""

import pytest

from enishi.core import testing
from enishi.deals.services import default_pipeline_ensure


@pytest.fixture
def pipeline(db):
    return default_pipeline_ensure()


@pytest.fixture
def stages(pipeline):
    """The standard stages by name: リード, ヒアリング, 提案, 見積提出, 交渉, 受注, 失注."""
    return {s.name: s for s in pipeline.stages.all()}


@pytest.fixture
def company(bob):
    return testing.make_company(bob, name="株式会社山田商事")


@pytest.fixture
def taro(bob, company):
    return testing.make_customer(bob, name="山田 太郎", company=company, is_key_person=True)
