"""Who sees and changes which karte. Alice is an admin; Bob is a member of 営業1課; Carol is a
member of 営業2課; Dave is read-only in 営業1課; Erin manages 営業1課."""

import datetime

import pytest
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils import timezone
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from enishi.accounts.models import User
from enishi.activities.models import Task
from enishi.activities.tests import matrix as activities_matrix
from enishi.api.services import token_create
from enishi.core import testing
from enishi.customers import services
from enishi.customers.models import Customer
from enishi.customers.selectors import customer_visible, search_customers
from enishi.deals.tests import matrix as deals_matrix
from enishi.history.models import HistoryEntry
from enishi.imports.tests import matrix as imports_matrix
from enishi.inquiries.tests import matrix as inquiries_matrix
from enishi.quality.tests import matrix as quality_matrix
from enishi.quality.tests import matrix_upkeep as upkeep_matrix
from enishi.sales.tests import matrix as sales_matrix
from enishi.transfer.tests import matrix as transfer_matrix
from enishi.transfer.tests import matrix_cards as cards_matrix

pytestmark = pytest.mark.django_db

DAY = datetime.timedelta(days=1)
SECRET_NAME = "機密 顧客花子"


@pytest.fixture
def people(db):
    alice = testing.make_user("alice", admin=True)
    bob = testing.make_user("bob", team="営業1課")
    carol = testing.make_user("carol", team="営業2課")
    dave = testing.make_user("dave", team="営業1課")
    dave.role = User.Role.READONLY
    dave.save()
    erin = testing.make_user("erin", team="営業1課")
    erin.role = User.Role.MANAGER
    erin.save()
    return {"alice": alice, "bob": bob, "carol": carol, "dave": dave, "erin": erin}


@pytest.fixture
def kartes(people):
    bobs = testing.make_customer(people["bob"], name="ボブの 顧客")
    carols = testing.make_customer(
        people["carol"], name=SECRET_NAME, name_kana="キミツ ハナコ", phone="03-5555-1234"
    )
    testing.log_call(people["carol"], carols, subject="機密の商談メモ", next_action="機密のタスク")
    pool = testing.make_customer(None, name="未割当 顧客")
    return {"bob": bobs, "carol": carols, "pool": pool}


def visible_names(user):
    return set(customer_visible(user).values_list("name", flat=True))


class TestVisibilityRules:
    def test_a_member_sees_their_own_and_their_teams_kartes(self, people, kartes):
        erins = testing.make_customer(people["erin"], name="エリンの 顧客")
        assert visible_names(people["bob"]) == {"ボブの 顧客", "エリンの 顧客"}
        assert erins.name in visible_names(people["dave"])

    def test_a_member_sees_only_their_own_when_the_setting_says_so(self, people, kartes, settings):
        settings.ENISHI_MEMBER_SCOPE = "own"
        testing.make_customer(people["erin"], name="エリンの 顧客")
        assert visible_names(people["bob"]) == {"ボブの 顧客"}

    def test_a_manager_sees_their_team_and_the_unassigned_pool(self, people, kartes):
        assert visible_names(people["erin"]) == {"ボブの 顧客", "未割当 顧客"}

    def test_an_admin_sees_everything(self, people, kartes):
        assert visible_names(people["alice"]) == {"ボブの 顧客", SECRET_NAME, "未割当 顧客"}

    def test_a_karte_assigned_to_a_team_is_seen_by_that_team(self, people, kartes):
        from enishi.accounts.models import Team

        shared = testing.make_customer(
            people["carol"], name="共有 顧客", team=Team.objects.get(name="営業1課")
        )
        assert shared.name in visible_names(people["bob"])

    def test_deactivated_users_see_nothing(self, people, kartes):
        people["bob"].is_active = False
        people["bob"].save()
        assert visible_names(people["bob"]) == set()

    def test_search_never_shows_another_teams_karte(self, people, kartes):
        for query in ("機密", "キミツ", "03-5555-1234", "花子", "機"):
            assert search_customers(people["bob"], query).customers == []
            assert search_customers(people["bob"], query).count == 0
        assert search_customers(people["alice"], "キミツ").customers[0].name == SECRET_NAME

    def test_search_finds_visible_matches_beyond_invisible_ones(self, people, settings):
        settings.ENISHI_COUNT_CAP = 5
        mine = testing.make_customer(people["bob"], name="田中 一郎")
        for i in range(12):
            testing.make_customer(people["carol"], name=f"田中 {i}")
        assert [c.pk for c in search_customers(people["bob"], "田中").customers] == [mine.pk]


def _patterns(resolver=None, namespace=""):
    resolver = resolver or get_resolver()
    for entry in resolver.url_patterns:
        if isinstance(entry, URLResolver):
            ns = f"{namespace}{entry.namespace}:" if entry.namespace else namespace
            yield from _patterns(entry, ns)
        elif isinstance(entry, URLPattern) and entry.name:
            yield f"{namespace}{entry.name}", entry


# Every named URL, and the objects to fill its parameters with. A new view without an entry
# here fails the matrix, so nobody can add a page and forget its permission check.
NEEDS = {
    "core:home": {},
    "core:healthz": {},
    "accounts:login": {},
    "accounts:logout": {},
    "accounts:profile": {},
    "accounts:login_verify": {},
    "accounts:set_password": {"uidb64": "alice_uid", "token": "bad_token"},
    "accounts:logout_everywhere": {},
    "accounts:password_change": {},
    "accounts:two_factor": {},
    "accounts:two_factor_confirm": {},
    "accounts:two_factor_disable": {},
    "accounts:user_list": {},
    "accounts:user_create": {},
    "accounts:user_edit": {"pk": "alice"},
    "accounts:user_deactivate": {"pk": "alice"},
    "accounts:user_reactivate": {"pk": "alice"},
    "accounts:user_link": {"pk": "alice"},
    "accounts:user_reset_2fa": {"pk": "alice"},
    "accounts:team_list": {},
    "accounts:team_edit": {"pk": "team"},
    "customers:list": {},
    "customers:search": {},
    "customers:create": {},
    "customers:postal_code": {},
    "customers:detail": {"pk": "carol"},
    "customers:edit": {"pk": "carol"},
    "customers:confirm": {"pk": "carol"},
    "customers:delete": {"pk": "carol"},
    "customers:trash": {},
    "customers:trash_restore": {"pk": "carol_trashed"},
    "customers:trash_purge": {"pk": "carol_trashed"},
    "customers:handover": {},
    "customers:field_list": {},
    "customers:field_create": {},
    "customers:field_edit": {"pk": "field"},
    "customers:field_preset": {},
    "activities:new": {"customer_pk": "carol"},
    "activities:create": {"customer_pk": "carol"},
    "activities:my_tasks": {},
    "activities:task_complete": {"pk": "carol_task"},
    "history:log": {},
    "tokens:list": {},
    "tokens:revoke": {"pk": "alice_token"},
}
# Pages that exist for every signed-in user (their contents are checked for leaks instead).
OPEN_TO_ALL = {
    "core:home",
    "core:healthz",
    "accounts:login",
    "accounts:logout",
    "accounts:profile",
    "accounts:login_verify",
    "accounts:set_password",
    "accounts:logout_everywhere",
    "accounts:password_change",
    "accounts:two_factor",
    "accounts:two_factor_confirm",
    "accounts:two_factor_disable",
    "customers:list",
    "customers:search",
    "customers:create",
    "customers:postal_code",
    "activities:my_tasks",
    "tokens:list",
}
API_PREFIX = "api"  # covered operation by operation in enishi/api/tests
# Apps that keep their part of the matrix beside their own tests.
APP_MATRICES = [
    deals_matrix,
    inquiries_matrix,
    sales_matrix,
    activities_matrix,
    transfer_matrix,
    imports_matrix,
    quality_matrix,
    cards_matrix,
    upkeep_matrix,
]
for _matrix in APP_MATRICES:
    NEEDS.update(_matrix.NEEDS)
    OPEN_TO_ALL.update(_matrix.OPEN_TO_ALL)
SECRETS = ("機密の商談メモ", "機密のタスク") + tuple(s for m in APP_MATRICES for s in m.SECRETS)


def url_names():
    return sorted(
        name
        for name, _ in _patterns()
        if not name.startswith(API_PREFIX) and not name.startswith("admin")
    )


def test_every_url_is_in_the_matrix():
    unknown = [
        name for name, _ in _patterns() if not name.startswith(API_PREFIX) and name not in NEEDS
    ]
    assert unknown == [], f"add these URLs to the permission matrix: {unknown}"


@pytest.mark.parametrize("role", ["member", "readonly", "manager_of_another_team"])
def test_the_permission_matrix_leaks_nothing(client, people, kartes, role):
    from enishi.customers.models import FieldDefinition

    trashed = testing.make_customer(people["carol"], name=SECRET_NAME + "（削除済）")
    services.customer_delete(actor=people["carol"], customer=trashed)
    objects = {
        "carol": kartes["carol"].pk,
        "carol_trashed": trashed.pk,
        "carol_task": Task.objects.get(customer=kartes["carol"]).pk,
        "field": FieldDefinition.objects.create(key="secret", label_ja="機密項目").pk,
        "alice": people["alice"].pk,
        "alice_uid": urlsafe_base64_encode(force_bytes(people["alice"].pk)),
        "bad_token": "x-y",
        "team": people["bob"].team_id,
        "alice_token": token_create(
            user=people["alice"], name="連携", scopes="read", expires_at=timezone.now() + DAY
        ).token.pk,
    }
    for matrix in APP_MATRICES:
        objects.update(matrix.secret_objects(people["carol"], kartes["carol"]))
    user = {"member": people["bob"], "readonly": people["dave"]}.get(role)
    if role == "manager_of_another_team":
        user = testing.make_user("frank", team="営業3課")
        user.role = User.Role.MANAGER
        user.save()
    client.force_login(user)
    before = Customer.objects.filter(pk=kartes["carol"].pk).values().get()
    checked = 0
    for name in url_names():
        kwargs = {param: objects[key] for param, key in NEEDS[name].items()}
        url = reverse(name, kwargs=kwargs)
        for method in ("get", "post"):
            if name == "accounts:logout":
                continue
            response = getattr(client, method)(
                url, {"q": "機密", "name": "x", "kind": "person", "status": "lead"}
            )
            body = response.content.decode(errors="replace")
            assert SECRET_NAME not in body, (
                f"{method.upper()} {url} shows another team's karte to a {role}"
            )
            leaked = [secret for secret in SECRETS if secret in body]
            assert leaked == [], f"{method.upper()} {url} shows {leaked} to a {role}"
            open_pages = OPEN_TO_ALL | (
                {"customers:trash", "customers:handover"} if role.startswith("manager") else set()
            )
            if name not in open_pages:
                assert response.status_code in (404, 405), (
                    f"{method.upper()} {url} answered {response.status_code} to a {role}"
                )
            checked += 1
        user.refresh_from_db()  # "log out everywhere" ends sessions of the stale user object
        client.force_login(user)  # a POST to some pages may change the session (never log out)
    assert checked >= 2 * (len(url_names()) - 1)
    after = Customer.objects.filter(pk=kartes["carol"].pk).values().get()
    assert before == after
    assert not HistoryEntry.objects.filter(
        actor=user, customer_id__in=[kartes["carol"].pk, trashed.pk]
    ).exists()


def test_a_read_only_user_cannot_change_their_teams_kartes(client, people, kartes):
    client.force_login(people["dave"])
    bobs = kartes["bob"]
    assert client.get(bobs.get_absolute_url()).status_code == 200
    for url in (
        reverse("customers:edit", args=[bobs.pk]),
        reverse("customers:confirm", args=[bobs.pk]),
        reverse("customers:delete", args=[bobs.pk]),
        reverse("activities:create", args=[bobs.pk]),
        reverse("customers:create"),
    ):
        assert (
            client.post(
                url, {"name": "改ざん", "kind": "person", "status": "lead", "subject": "x"}
            ).status_code
            == 404
        )
    assert Customer.objects.get(pk=bobs.pk).name == "ボブの 顧客"
    assert "対応を記録" not in client.get(bobs.get_absolute_url()).content.decode()


def test_a_member_cannot_see_a_link_to_a_company_outside_their_view(client, people):
    secret_company = testing.make_company(people["carol"], name="株式会社機密")
    person = testing.make_customer(people["bob"], name="ボブの 担当者", company=secret_company)
    client.force_login(people["bob"])
    body = client.get(person.get_absolute_url()).content.decode()
    assert secret_company.get_absolute_url() not in body
    assert "株式会社機密" not in body.split('class="karte-body"')[0]  # header and facts


class TestTrash:
    def test_deleting_moves_the_karte_with_its_timeline_and_restoring_brings_all_back(
        self, client, people, kartes
    ):
        carols = kartes["carol"]
        client.force_login(people["carol"])
        assert client.post(reverse("customers:delete", args=[carols.pk])).status_code == 302
        assert client.get(carols.get_absolute_url()).status_code == 404
        assert search_customers(people["alice"], "キミツ").customers == []
        assert Task.objects.get(customer=carols).deleted_at is not None
        # A member cannot restore; an admin can.
        assert client.post(reverse("customers:trash_restore", args=[carols.pk])).status_code == 404
        client.force_login(people["alice"])
        assert SECRET_NAME in client.get(reverse("customers:trash")).content.decode()
        client.post(reverse("customers:trash_restore", args=[carols.pk]))
        carols.refresh_from_db()
        assert carols.deleted_at is None
        assert Task.objects.get(customer=carols).deleted_at is None
        assert search_customers(people["alice"], "キミツ").customers[0].pk == carols.pk
        actions = list(
            HistoryEntry.objects.filter(customer_id=carols.pk).values_list("action", flat=True)
        )
        assert "delete" in actions and "restore" in actions

    def test_purging_is_an_admin_action_that_is_recorded(self, client, people, kartes):
        carols = kartes["carol"]
        services.customer_delete(actor=people["carol"], customer=carols)
        client.force_login(people["erin"])
        assert client.post(reverse("customers:trash_purge", args=[carols.pk])).status_code == 404
        client.force_login(people["alice"])
        client.post(reverse("customers:trash_purge", args=[carols.pk]))
        assert not Customer.objects.filter(pk=carols.pk).exists()
        entry = HistoryEntry.objects.get(action="purge")
        assert entry.actor == people["alice"] and entry.changes["name"][0] == SECRET_NAME

    def test_a_karte_outside_the_trash_cannot_be_purged(self, client, people, kartes):
        client.force_login(people["alice"])
        assert (
            client.post(reverse("customers:trash_purge", args=[kartes["bob"].pk])).status_code
            == 404
        )


class TestHandover:
    def test_a_manager_previews_and_hands_over_customers_and_tasks(self, client, people):
        bob, carol, alice = people["bob"], people["carol"], people["alice"]
        company = testing.make_company(bob, name="株式会社引継")
        contacts = [testing.make_customer(bob, name=f"引継 {i}", company=company) for i in range(3)]
        singles = [testing.make_customer(bob, name=f"個人 {i}") for i in range(4)]
        testing.log_call(
            bob, singles[0], next_action="電話する", next_action_due=timezone.localdate()
        )
        client.force_login(alice)
        preview = client.get(
            reverse("customers:handover"),
            {"from": bob.pk, "to": [carol.pk, alice.pk], "note": "退職のため"},
        )
        body = preview.content.decode()
        assert preview.status_code == 200 and 'name="confirm"' in body and "<td>4</td>" in body
        response = client.post(
            reverse("customers:handover"),
            {"from": bob.pk, "to": [carol.pk, alice.pk], "note": "退職のため", "confirm": "1"},
        )
        assert response.status_code == 302
        assert not Customer.objects.filter(owner=bob).exists()
        owners = {
            c.owner_id
            for c in Customer.objects.filter(pk__in=[company.pk] + [c.pk for c in contacts])
        }
        assert len(owners) == 1  # a company and its contacts stay together
        counts = {u: Customer.objects.filter(owner=u).count() for u in (carol, alice)}
        assert sorted(counts.values()) == [4, 4]
        assert Task.objects.get().assignee == Customer.objects.get(pk=singles[0].pk).owner
        timeline = singles[1].activities.get(type="handover")
        assert "退職のため" in timeline.body and bob.label in timeline.subject
        assert (
            HistoryEntry.objects.filter(action="handover", model="customers.customer").count() == 8
        )

    def test_members_cannot_hand_over(self, client, people):
        client.force_login(people["bob"])
        assert client.get(reverse("customers:handover")).status_code == 404

    def test_a_handover_to_oneself_is_refused(self, people):
        from django.core.exceptions import ValidationError

        from enishi.customers.handover import customers_hand_over

        with pytest.raises(ValidationError):
            customers_hand_over(
                actor=people["alice"], from_user=people["bob"], to_users=[people["bob"]], note=""
            )


class TestSensitiveFields:
    @pytest.fixture
    def allergy(self, db):
        from enishi.customers.models import FieldDefinition

        return FieldDefinition.objects.create(
            key="allergies", label_ja="アレルギー", type="text", sensitive=True
        )

    def test_members_do_not_see_sensitive_values_and_cannot_erase_them(
        self, client, people, allergy
    ):
        karte = testing.make_customer(
            people["alice"],
            name="感度 テスト",
            custom_fields={"allergies": "そば"},
            owner=people["bob"],
        )
        client.force_login(people["bob"])
        page = client.get(karte.get_absolute_url()).content.decode()
        assert "そば" not in page
        form = client.get(reverse("customers:edit", args=[karte.pk])).content.decode()
        assert "cf_allergies" not in form
        client.post(
            reverse("customers:edit", args=[karte.pk]),
            {
                "kind": "person",
                "name": "感度 テスト",
                "status": "customer",
                "version": karte.version,
                "owner": people["bob"].pk,
            },
        )
        karte.refresh_from_db()
        assert karte.custom_fields == {"allergies": "そば"} and karte.status == "customer"
        assert "そば" not in client.get(karte.get_absolute_url()).content.decode()

    def test_viewing_sensitive_values_is_logged(self, client, people, allergy):
        karte = testing.make_customer(
            people["alice"], name="感度 テスト", custom_fields={"allergies": "そば"}
        )
        client.force_login(people["alice"])
        assert "そば" in client.get(karte.get_absolute_url()).content.decode()
        entry = HistoryEntry.objects.get(action="view_sensitive")
        assert entry.actor == people["alice"] and entry.customer_id == karte.pk


def test_an_admin_searches_the_audit_log(client, people, kartes):
    client.force_login(people["alice"])
    page = client.get(
        reverse("history:log"), {"actor": people["carol"].pk, "action": "create"}
    ).content.decode()
    assert SECRET_NAME in page and "ボブの 顧客" not in page
    client.force_login(people["bob"])
    assert client.get(reverse("history:log")).status_code == 404


def test_a_role_that_may_not_see_a_sensitive_field_may_not_enter_it(people):
    from django.core.exceptions import ValidationError

    from enishi.customers.models import FieldDefinition

    FieldDefinition.objects.create(
        key="allergies", label_ja="アレルギー", type="text", sensitive=True
    )
    with pytest.raises(ValidationError) as exc:
        testing.make_customer(people["bob"], custom_fields={"allergies": "そば"})
    assert "cf_allergies" in exc.value.message_dict


def test_the_history_never_names_a_company_the_viewer_cannot_see(client, alice, bob, carol):
    from enishi.customers.services import customer_update

    hidden = testing.make_company(carol, name="株式会社見えない商事")
    shown = testing.make_company(bob, name="株式会社見える商事")
    person = testing.make_customer(bob, name="山田 太郎", company=shown)
    customer_update(actor=alice, customer=person, data={"company": hidden}, version=person.version)
    client.force_login(bob)
    page = client.get(reverse("customers:detail", args=[person.pk])).content.decode()
    assert "見えない商事" not in page
    assert "株式会社見える商事" in page  # the company it was linked to before, which bob sees
    assert "見えない法人" in page or "a company you cannot see" in page
    client.force_login(alice)
    page = client.get(reverse("customers:detail", args=[person.pk])).content.decode()
    assert "株式会社見えない商事" in page
