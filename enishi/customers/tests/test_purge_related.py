import datetime
from decimal import Decimal

import pytest

from enishi.core import testing
from enishi.customers import services
from enishi.customers.models import Customer
from enishi.deals.models import Deal
from enishi.inquiries.models import Inquiry
from enishi.sales.models import Contract, Order

pytestmark = pytest.mark.django_db


def test_purging_a_karte_removes_its_deals_inquiries_orders_and_contracts(alice):
    from enishi.deals.services import default_pipeline_ensure

    pipeline = default_pipeline_ensure()
    company = testing.make_company(alice, name="消える株式会社")
    person = testing.make_customer(alice, name="所属 太郎", company=company)
    deal = Deal.objects.create(
        customer=company, pipeline=pipeline, stage=pipeline.stages.first(), title="x"
    )
    deal.contacts.add(person)
    Inquiry.objects.create(customer=company, subject="q")
    Order.objects.create(customer=company, ordered_on=datetime.date(2026, 1, 1), total=Decimal(1))
    Contract.objects.create(customer=company, plan="p", starts_on=datetime.date(2026, 1, 1))
    services.customer_delete(actor=alice, customer=person)
    services.customer_purge(actor=alice, customer=person)
    assert list(Deal.objects.get(pk=deal.pk).contacts.all()) == []
    services.customer_delete(actor=alice, customer=company)
    services.customer_purge(actor=alice, customer=company)
    assert not Customer.objects.filter(pk=company.pk).exists()
    assert (
        Deal.objects.count(),
        Inquiry.objects.count(),
        Order.objects.count(),
        Contract.objects.count(),
    ) == (0, 0, 0, 0)
