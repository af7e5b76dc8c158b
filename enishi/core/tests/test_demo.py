import datetime
import io
import os
import stat
from collections import Counter
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db.models import Count, Max, Min
from django.utils import timezone

from enishi.accounts.models import User
from enishi.activities.models import Activity, Task
from enishi.customers.fields import clean_custom_fields
from enishi.customers.models import Customer, FieldDefinition
from enishi.customers.selectors import search_customers
from enishi.deals.models import Deal, Pipeline, Stage
from enishi.history.models import HistoryEntry
from enishi.inquiries.models import Inquiry, InquiryAnswer, InquiryCategory
from enishi.quality import normalize
from enishi.sales import pricing
from enishi.sales.models import Contract, Order, OrderLine, Product
from enishi.sales.services import lines_summary

pytestmark = pytest.mark.django_db


@pytest.fixture
def demo(settings, tmp_path):
    """A small demo (120 kartes) in a scratch data folder, with a fast password hasher."""
    from enishi.core.demo import demo_create

    settings.DATA_DIR = tmp_path
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    return demo_create(customers=120, seed=7)


def test_it_creates_the_users_in_teams_with_one_shared_password(demo, tmp_path):
    admin = User.objects.get(username="admin")
    assert admin.is_superuser and admin.is_staff and admin.display_name == "管理者"
    staff = User.objects.exclude(username="admin")
    assert 5 <= staff.count() <= 6
    assert sorted(demo.staff_usernames) == sorted(staff.values_list("username", flat=True))
    assert set(staff.values_list("team__name", flat=True)) == {"営業1課", "営業2課", "サービス課"}
    assert staff.filter(language="en").count() == 1
    assert all(" " in u.display_name for u in staff)
    assert all(u.check_password(demo.password) for u in User.objects.all())

    saved = tmp_path / "demo_login.txt"
    assert stat.S_IMODE(os.stat(saved).st_mode) == 0o600
    assert demo.password in saved.read_text(encoding="utf-8")


def test_it_creates_companies_with_contacts_and_persons(demo):
    assert Customer.objects.count() == 120
    companies = Customer.objects.filter(kind="company")
    persons = Customer.objects.filter(kind="person", company__isnull=True)
    contacts = Customer.objects.filter(kind="person", company__isnull=False)
    assert companies.count() >= 15 and persons.count() >= 30 and contacts.count() >= 30
    with_several = companies.annotate(n=Count("contacts")).filter(n__gte=3)
    assert with_several.count() >= 3
    assert contacts.filter(is_decision_maker=True).exists()
    assert contacts.exclude(department="").exists() and contacts.exclude(title="").exists()
    assert persons.filter(birthday__isnull=False).exists()
    assert persons.exclude(gender="").exists() and persons.exclude(mobile="").exists()
    # Every company has a legal form except the near-duplicate "さくら工務店" (typed without one).
    assert list(companies.filter(legal_form="").values_list("name", flat=True)) == ["さくら工務店"]
    assert {"before", "after"} <= set(companies.values_list("legal_form_position", flat=True))
    assert set(Customer.objects.values_list("status", flat=True)) >= {
        "lead",
        "prospect",
        "customer",
    }
    assert Customer.objects.exclude(code="").count() > 100
    # Owners are spread over the staff, and the team is the owner's.
    assert Customer.objects.values("owner").distinct().count() >= 5
    for customer in Customer.objects.select_related("owner")[:50]:
        assert customer.team_id == customer.owner.team_id


def test_it_writes_values_that_pass_the_same_checks_as_a_form(demo):
    customers = list(Customer.objects.all())
    for c in customers:
        if c.postal_code:
            found = normalize.lookup_postal_code(c.postal_code)
            assert (found.prefecture, found.city, found.town) == (c.prefecture, c.city, c.town)
        for name in ("phone", "mobile", "fax"):
            if getattr(c, name):
                assert getattr(c, f"{name}_e164").startswith("+81")
        if c.corporate_number:
            assert normalize.normalize_corporate_number(c.corporate_number) == c.corporate_number
        if c.name_kana:
            assert normalize.is_kana_reading(c.name_kana)
            assert normalize.to_katakana(c.name_kana) == c.name_kana
        if c.email:
            assert c.email.isascii() and normalize.normalize_email(c.email) == c.email
        assert all(isinstance(v, bool) for v in c.contact_permissions.values())
        assert c.search_text
    assert any(c.mobile.startswith(("090", "080", "070")) for c in customers)
    assert any(any(ch.isupper() for ch in c.email) for c in customers)


def test_it_fills_valid_custom_fields_from_both_presets(demo):
    assert set(FieldDefinition.objects.values_list("preset", flat=True)) == {
        "field_service",
        "b2b_sales",
    }
    filled = [c for c in Customer.objects.all() if c.custom_fields]
    assert len(filled) >= 30
    for c in filled:
        assert clean_custom_fields(c.kind, c.custom_fields) == c.custom_fields
    keys = {key for c in filled for key in c.custom_fields}
    assert {"equipment", "installed_on", "budget_period", "annual_budget", "influence"} <= keys


def test_it_tags_customers(demo):
    tagged = Customer.objects.filter(tags__isnull=False).distinct()
    assert tagged.count() >= 20
    names = set(Customer.objects.values_list("tags__name", flat=True))
    assert {"メルマガ", "保守契約"} <= names


def test_it_includes_near_duplicates_and_markup_to_escape(demo):
    yamada = Customer.objects.filter(name_key=normalize.company_name_key("株式会社山田商事"))
    assert yamada.count() == 2
    assert len(set(yamada.values_list("phone", flat=True))) == 2
    assert len(set(yamada.values_list("phone_e164", flat=True))) == 1
    assert Customer.objects.filter(mobile_e164="+819031245678").count() == 2
    assert Customer.objects.filter(notes__contains="<script>alert(1)</script>").count() == 1


def test_it_logs_two_years_of_activities_and_tasks_for_everyone(demo):
    span = Activity.objects.aggregate(first=Min("occurred_at"), last=Max("occurred_at"))
    assert span["last"] - span["first"] > datetime.timedelta(days=365)
    assert span["last"] <= timezone.now()
    per_customer = Customer.objects.annotate(n=Count("activities"))
    assert per_customer.filter(n=0).count() == 0
    assert per_customer.aggregate(m=Max("n"))["m"] >= 40
    assert len(set(Activity.objects.values_list("type", flat=True))) >= 6
    assert Activity.objects.exclude(body="").count() == Activity.objects.count()

    today = timezone.localdate()
    for user in User.objects.all():
        tasks = Task.objects.filter(assignee=user)
        open_ = tasks.filter(done_at__isnull=True)
        assert open_.filter(due_on__lt=today).count() >= 3, user
        assert open_.filter(due_on=today).exists(), user
        assert open_.filter(due_on__gt=today).count() >= 3, user
        assert tasks.filter(done_at__gte=timezone.now() - datetime.timedelta(days=7)).exists(), user
    for task in Task.objects.filter(activity__isnull=False).select_related("activity"):
        assert task.activity.next_action == task.title
        assert task.customer_id == task.activity.customer_id
        assert task.done_at is None or task.done_at >= task.activity.occurred_at
    # The other tasks are what a deal, an inquiry or a renewal asks for.
    assert not Task.objects.filter(
        activity__isnull=True, deal__isnull=True, inquiry__isnull=True, contract__isnull=True
    ).exists()


def test_it_backdates_kartes_before_their_first_activity(demo):
    now = timezone.now()
    first = dict(Activity.objects.values_list("customer").annotate(Min("occurred_at")))
    for c in Customer.objects.all():
        assert c.created_at <= first[c.pk] and c.created_at <= c.updated_at <= now
    assert Customer.objects.filter(created_at__lt=now - datetime.timedelta(days=365)).exists()


def test_it_records_one_history_entry_per_customer(demo):
    entries = HistoryEntry.objects.filter(model="customers.customer")
    assert entries.count() == 120
    assert set(entries.values_list("via", "action", "actor__username")) == {
        ("system", "create", "admin")
    }


def test_it_makes_demo_customers_findable_by_kana(demo):
    admin = User.objects.get(username="admin")
    person = Customer.objects.filter(kind="person").exclude(name_kana="").order_by("pk").first()
    result = search_customers(admin, person.name_kana, limit=100)
    assert person in result.customers
    company = Customer.objects.filter(kind="company").order_by("pk")[5]
    hiragana = "".join(
        chr(ord(ch) - 0x60) if "ァ" <= ch <= "ヶ" else ch for ch in company.name_kana
    )
    assert company in search_customers(admin, hiragana, limit=100).customers


def test_it_is_the_same_for_the_same_seed(settings, tmp_path):
    from enishi.core.demo import DemoBuilder

    users = {
        u: User(username=u, pk=i)
        for i, u in enumerate(
            ["admin", "sato", "suzuki", "takahashi", "watanabe", "ito", "kobayashi"], start=1
        )
    }
    definitions = {}
    for preset in ("field_service", "b2b_sales"):
        from enishi.customers.fields import available_presets

        spec = next(p for p in available_presets() if p["key"] == preset)
        definitions.update({f["key"]: FieldDefinition(preset=preset, **f) for f in spec["fields"]})

    def names(seed):
        builder = DemoBuilder(seed=seed, users=users, definitions=definitions)
        builder.build(60)
        return [(p.customer.name, p.customer.postal_code, p.customer.mobile) for p in builder.plans]

    assert names(3) == names(3)
    assert names(3) != names(4)


def test_it_does_nothing_the_second_time_with_if_empty(demo):
    counts = (
        Customer.objects.count(),
        Activity.objects.count(),
        Task.objects.count(),
        User.objects.count(),
    )
    out = io.StringIO()
    call_command("demo", "--if-empty", stdout=out)
    assert (
        Customer.objects.count(),
        Activity.objects.count(),
        Task.objects.count(),
        User.objects.count(),
    ) == counts
    text = out.getvalue()
    assert demo.password in text and "admin" in text and "http://127.0.0.1:" in text

    with pytest.raises(CommandError):
        call_command("demo", "--customers", "40", stdout=io.StringIO())
    assert Customer.objects.count() == counts[0]


def test_it_creates_through_the_command_and_prints_the_login(settings, tmp_path):
    settings.DATA_DIR = tmp_path
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    out = io.StringIO()
    call_command("demo", "--customers", "40", "--if-empty", stdout=out)
    assert Customer.objects.count() == 40
    password = (
        (tmp_path / "demo_login.txt").read_text(encoding="utf-8").split("password: ")[1].split()[0]
    )
    text = out.getvalue()
    assert password in text and "パスワード" in text and "Password" in text
    for username in ("sato", "suzuki", "ito"):
        assert username in text


# --- deals, inquiries, products, orders and contracts ---------------------------------------


def test_it_creates_deals_in_every_stage_of_two_pipelines(demo):
    today = timezone.localdate()
    pipelines = list(Pipeline.objects.all())
    assert {p.name for p in pipelines} >= {"新規営業", "保守・更新"}
    for stage in Stage.objects.filter(is_active=True):
        assert Deal.objects.filter(stage=stage, pipeline=stage.pipeline_id).exists(), stage.name
    staff = set(User.objects.values_list("pk", flat=True))
    deals = list(
        Deal.objects.select_related("stage", "customer").prefetch_related(
            "contacts", "stage_changes"
        )
    )
    assert len(deals) >= 40
    open_ = [d for d in deals if d.stage.outcome == "open"]
    assert any(d.expected_close_on < today for d in open_)  # overdue
    assert any(d.expected_close_on > today + datetime.timedelta(days=60) for d in open_)
    assert all(d.expected_close_on <= today + datetime.timedelta(days=183) for d in open_)
    assert all(d.closed_on is None for d in open_)
    assert sum(d.customer.kind == "company" for d in deals) > len(deals) * 0.6
    for deal in deals:
        assert isinstance(deal.amount, Decimal)
        assert Decimal(50_000) <= deal.amount <= Decimal(20_000_000)
        assert deal.owner_id in staff
        assert deal.created_at >= deal.customer.created_at
        for contact in deal.contacts.all():
            assert contact.company_id == deal.customer_id
        trail = sorted(deal.stage_changes.all(), key=lambda c: (c.changed_at, c.pk))
        assert trail[0].from_stage_id is None
        assert all(a.to_stage_id == b.from_stage_id for a, b in zip(trail, trail[1:], strict=False))
        assert trail[-1].to_stage_id == deal.stage_id
        assert trail[-1].changed_at == deal.stage_entered_at
        if deal.stage.outcome != "open":
            assert timezone.localtime(deal.stage_entered_at).date() == deal.closed_on
            assert today - datetime.timedelta(days=731) <= deal.closed_on <= today
        if deal.stage.outcome == "lost":
            assert deal.lost_reason
    assert any(d.competitors for d in deals if d.stage.outcome == "lost")
    assert Deal.objects.filter(contacts__isnull=False).exists()


def test_the_next_action_of_an_open_deal_is_its_owners_task(demo):
    deals = Deal.objects.exclude(next_action="")
    assert deals.exists()
    for deal in deals:
        task = Task.objects.get(deal=deal)
        assert (task.title, task.due_on, task.assignee_id, task.customer_id) == (
            deal.next_action,
            deal.next_action_due,
            deal.owner_id,
            deal.customer_id,
        )


def test_it_creates_inquiries_in_every_status_with_answer_threads(demo):
    now = timezone.now()
    assert set(Inquiry.objects.values_list("status", flat=True)) == set(Inquiry.Status.values)
    assert set(Inquiry.objects.values_list("category__name", flat=True)) <= set(
        InquiryCategory.objects.values_list("name", flat=True)
    )
    unanswered = Inquiry.objects.filter(
        status__in=Inquiry.OPEN_STATUSES, first_response_at__isnull=True
    )
    assert unanswered.filter(received_at__lt=now - datetime.timedelta(hours=24)).exists()
    assert unanswered.filter(received_at__gte=now - datetime.timedelta(hours=24)).exists()
    delays = []
    for inquiry in Inquiry.objects.prefetch_related("answers").select_related("customer"):
        assert inquiry.customer.created_at <= inquiry.received_at <= now
        answers = [a for a in inquiry.answers.all() if not a.is_internal]
        if answers:
            assert inquiry.first_response_at == min(a.created_at for a in answers)
            delays.append(inquiry.first_response_time)
        else:
            assert inquiry.first_response_at is None
        if inquiry.status in ("resolved", "closed"):
            assert inquiry.resolved_at >= (inquiry.first_response_at or inquiry.received_at)
        else:
            assert inquiry.resolved_at is None and inquiry.satisfaction is None
        if inquiry.status == "closed":
            assert inquiry.closed_at >= inquiry.resolved_at
    assert min(delays) < datetime.timedelta(hours=2) and max(delays) > datetime.timedelta(hours=8)
    assert Inquiry.objects.filter(satisfaction__isnull=False).exists()
    assert InquiryAnswer.objects.filter(is_internal=True).exists()


def test_it_creates_products_at_both_tax_rates(demo):
    products = Product.objects.all()
    assert products.count() >= 30
    assert set(products.values_list("tax_rate", flat=True)) == {10, 8}
    assert products.filter(is_active=False).exists()
    assert any(p.unit_price != p.unit_price.to_integral_value() for p in products)  # sen


def test_order_totals_are_what_the_pricing_rules_give(demo):
    orders = list(Order.objects.prefetch_related("lines"))
    assert len(orders) >= 250
    for order in orders:
        lines = list(order.lines.all())
        assert 1 <= len(lines) <= 5
        for line in lines:
            assert line.amount == pricing.line_amount(line.unit_price, line.quantity, line.discount)
        totals = pricing.order_totals((line.amount, line.tax_rate) for line in lines)
        assert (order.subtotal, order.tax, order.total) == (
            totals.subtotal,
            totals.tax,
            totals.total,
        )
        assert order.lines_summary == lines_summary(lines)
    assert any(len({line.tax_rate for line in o.lines.all()}) == 1 for o in orders)
    assert OrderLine.objects.filter(tax_rate=8).exists()
    assert OrderLine.objects.filter(discount__gt=0).exists()


def test_orders_span_two_years_with_statuses_that_fit_their_dates(demo):
    today = timezone.localdate()
    orders = list(Order.objects.select_related("customer"))
    assert {o.status for o in orders} == set(Order.Status.values)
    days = [o.ordered_on for o in orders]
    assert today - min(days) > datetime.timedelta(days=600) and max(days) <= today
    numbers = [o.number for o in orders]
    assert len(set(numbers)) == len(numbers)
    for order in orders:
        assert order.number == f"O-{order.ordered_on.year}-{order.pk:06d}"
        assert order.customer.company_id is None  # companies and households buy, not contacts
        assert timezone.localtime(order.customer.created_at).date() <= order.ordered_on
        if order.delivered_on is not None:
            assert order.ordered_on <= order.delivered_on <= today
        if order.status in ("received", "cancelled"):
            assert order.delivered_on is None
        else:
            assert order.delivered_on is not None
        if (today - order.ordered_on).days > 120:
            assert order.status in ("paid", "cancelled")
        if (today - order.ordered_on).days <= 3:
            assert order.status in ("received", "cancelled")


def test_orders_follow_the_seasons_and_a_long_tail_of_customers(demo):
    # The seasons are in the weights each order's day is drawn by. Counting a 120-karte demo's
    # orders by month depends on which months its buyers' windows cover on the day it runs.
    from enishi.core.demo import MONTH_WEIGHTS

    assert MONTH_WEIGHTS[3] + MONTH_WEIGHTS[12] > 1.5 * (MONTH_WEIGHTS[1] + MONTH_WEIGHTS[8])
    months = Counter(d.month for d in Order.objects.values_list("ordered_on", flat=True))
    assert len(months) >= 6  # spread over the year, not bunched
    per_customer = sorted(
        Order.objects.values("customer").annotate(n=Count("id")).values_list("n", flat=True),
        reverse=True,
    )
    top = per_customer[: max(1, len(per_customer) // 5)]
    assert sum(top) >= 0.6 * sum(per_customer)
    assert per_customer.count(1) >= len(per_customer) * 0.2


def test_it_creates_contracts_with_renewals_coming_up_and_their_reminders(demo):
    today = timezone.localdate()
    contracts = Contract.objects.select_related("customer")
    assert {c.period for c in contracts} >= {"month", "year"}
    assert {c.auto_renew for c in contracts} == {True, False}
    cancelled = contracts.filter(cancelled_on__isnull=False)
    assert cancelled.exists()
    for contract in cancelled:
        assert contract.cancellation_reason and contract.cancelled_on < today
    for contract in contracts:
        assert contract.starts_on <= today
        if contract.renews_on:
            assert contract.renews_on >= contract.starts_on
        if contract.ends_on and contract.renews_on and not contract.auto_renew:
            assert contract.renews_on <= contract.ends_on
    soon = contracts.filter(
        cancelled_on__isnull=True,
        renews_on__gt=today,
        renews_on__lte=today + datetime.timedelta(days=60),
    )
    assert soon.count() >= 3
    pending = contracts.filter(
        cancelled_on__isnull=True,
        renews_on__gte=today - datetime.timedelta(days=30),
        renews_on__lte=today + datetime.timedelta(days=60),
    )
    for contract in pending:
        task = Task.objects.get(contract=contract)
        assert contract.renewal_task_for == contract.renews_on
        assert task.assignee_id == (contract.owner_id or contract.customer.owner_id)
        assert task.done_at is None and task.due_on >= today
    assert Task.objects.filter(contract__isnull=False).count() == pending.count()


def test_some_activities_belong_to_deals_inquiries_and_orders(demo):
    for name in ("deal", "inquiry", "order"):
        linked = Activity.objects.filter(**{f"{name}__isnull": False}).select_related(name)
        assert linked.exists(), name
        for activity in linked:
            record = getattr(activity, name)
            assert activity.customer_id == record.customer_id
            assert activity.occurred_at >= activity.customer.created_at


def test_it_counts_each_kind(demo):
    for key in ("deals", "inquiries", "products", "orders", "order_lines", "contracts"):
        assert demo.counts[key] > 0, key
    assert demo.counts["orders"] == Order.objects.count()
    assert demo.counts["renewal_tasks"] == Task.objects.filter(contract__isnull=False).count()


def test_the_duplicates_queue_shows_the_deliberate_near_duplicates(demo):
    from enishi.quality.models import DuplicatePair, ScanRun

    scan = ScanRun.objects.get()
    assert scan.status == ScanRun.Status.DONE and scan.pairs >= 2
    yamada = set(
        Customer.objects.filter(
            name_key=normalize.company_name_key("株式会社山田商事")
        ).values_list("pk", flat=True)
    )
    assert DuplicatePair.objects.filter(a_id__in=yamada, b_id__in=yamada).exists()
