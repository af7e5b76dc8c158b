import datetime
import io
import os
import stat

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
from enishi.history.models import HistoryEntry
from enishi.quality import normalize

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
    for task in Task.objects.select_related("activity"):
        assert task.activity is not None and task.activity.next_action == task.title
        assert task.customer_id == task.activity.customer_id
        assert task.done_at is None or task.done_at >= task.activity.occurred_at


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
