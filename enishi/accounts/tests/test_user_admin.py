"""The admin screens for users and teams. Alice is the administrator; Bob is a member."""

import re

import pytest
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import reverse

from enishi.accounts import services
from enishi.accounts.models import Team, User
from enishi.core import testing
from enishi.history.models import HistoryEntry

from .conftest import log_in

pytestmark = pytest.mark.django_db

ADMIN_SCREENS = [
    ("accounts:user_list", False),
    ("accounts:user_create", False),
    ("accounts:user_edit", True),
    ("accounts:user_deactivate", True),
    ("accounts:user_reactivate", True),
    ("accounts:user_link", True),
    ("accounts:user_reset_2fa", True),
    ("accounts:team_list", False),
    ("accounts:team_edit", "team"),
]


def _new_user_form(**overrides):
    data = {
        "username": "hanako",
        "display_name": "佐藤 花子",
        "email": "hanako@example.jp",
        "role": "member",
        "team": "",
        "language": "ja",
        "access": "link",
        "password1": "",
        "password2": "",
    }
    return {**data, **overrides}


@pytest.mark.parametrize("role", ["member", "manager", "readonly"])
def test_every_user_screen_is_a_404_for_anyone_but_an_admin(client, alice, bob, role):
    User.objects.filter(pk=bob.pk).update(role=role)
    team = Team.objects.get(name="営業1課")
    client.force_login(bob)
    for name, needs in ADMIN_SCREENS:
        args = [team.pk] if needs == "team" else [alice.pk] if needs else []
        url = reverse(name, args=args)
        for method in (client.get, client.post):
            assert method(url, _new_user_form()).status_code == 404, url
    alice.refresh_from_db()
    assert alice.is_active and not User.objects.filter(username="hanako").exists()


def test_only_admins_see_the_users_link(alice_client, client, bob):
    assert 'href="/accounts/users/"' in alice_client.get("/").content.decode()
    client.force_login(bob)
    assert 'href="/accounts/users/"' not in client.get("/").content.decode()


def test_the_list_shows_role_team_two_factor_and_last_log_in(alice_client, alice, bob):
    page = alice_client.get("/accounts/users/")
    assert page.status_code == 200
    body = page.content.decode()
    assert "坊 ボブ" in body and "営業1課" in body and "メンバー" in body and "管理者" in body


def test_the_list_filters_active_and_deactivated(alice_client, alice, bob):
    services.user_deactivate(actor=alice, user=bob)
    assert 'data-user="bob"' not in alice_client.get("/accounts/users/").content.decode()
    inactive = alice_client.get("/accounts/users/?show=inactive").content.decode()
    assert 'data-user="bob"' in inactive and 'data-user="alice"' not in inactive
    everyone = alice_client.get("/accounts/users/?show=all").content.decode()
    assert 'data-user="bob"' in everyone and 'data-user="alice"' in everyone


def test_it_creates_a_user_with_a_first_password(alice_client, alice):
    team = Team.objects.create(name="営業2課")
    response = alice_client.post(
        "/accounts/users/new/",
        _new_user_form(
            access="password",
            password1="hanabi-natsu-2026",
            password2="hanabi-natsu-2026",
            team=team.pk,
            role="manager",
        ),
    )
    hanako = User.objects.get(username="hanako")
    assert response["Location"] == f"/accounts/users/{hanako.pk}/"
    assert (hanako.display_name, hanako.role, hanako.team, hanako.is_superuser) == (
        "佐藤 花子",
        "manager",
        team,
        False,
    )
    assert log_in(Client(), "hanako", "hanabi-natsu-2026").status_code == 302
    entry = HistoryEntry.objects.get(model="accounts.user", object_id=hanako.pk)
    assert entry.actor == alice and entry.action == "create" and entry.customer_id is None


def test_it_refuses_a_weak_first_password_and_keeps_the_form(alice_client):
    response = alice_client.post(
        "/accounts/users/new/", _new_user_form(access="password", password1="abc", password2="abc")
    )
    assert response.status_code == 200
    assert response.context["form"].errors["password1"]
    assert not User.objects.filter(username="hanako").exists()


def test_it_refuses_a_user_name_already_taken(alice_client, bob):
    response = alice_client.post("/accounts/users/new/", _new_user_form(username="bob"))
    assert response.context["form"].errors["username"]


def test_it_invites_with_a_one_time_link_the_new_user_opens(alice_client):
    response = alice_client.post("/accounts/users/new/", _new_user_form(), follow=True)
    hanako = User.objects.get(username="hanako")
    assert not hanako.has_usable_password()
    link = response.context["link"]
    assert link.startswith("http://testserver/accounts/welcome/")
    assert link in response.content.decode()
    # Shown once: the next visit no longer carries it.
    assert alice_client.get(f"/accounts/users/{hanako.pk}/").context["link"] == ""

    visitor = Client()
    opened = visitor.get(link, follow=True)
    assert "hanako" in opened.content.decode()
    form_url = opened.redirect_chain[-1][0]
    assert "set-password" in form_url  # the token left the address bar
    done = visitor.post(
        form_url, {"new_password1": "momiji-aki-2026", "new_password2": "momiji-aki-2026"}
    )
    assert done.status_code == 302 and done["Location"] == "/accounts/login/"
    assert log_in(visitor, "hanako", "momiji-aki-2026").status_code == 302
    # The link is spent.
    spent = Client().get(link)
    assert spent.status_code == 200 and spent.context["validlink"] is False


def test_a_new_link_for_someone_who_forgot_their_password(alice_client, bob):
    response = alice_client.post(f"/accounts/users/{bob.pk}/link/", follow=True)
    link = response.context["link"]
    assert re.match(r"http://testserver/accounts/welcome/[^/]+/[^/]+/$", link)
    assert HistoryEntry.objects.filter(
        object_id=bob.pk, changes__has_key="set_password_link"
    ).exists()


def test_a_link_stops_working_when_the_user_is_deactivated(alice_client, alice, bob):
    link = alice_client.post(f"/accounts/users/{bob.pk}/link/", follow=True).context["link"]
    services.user_deactivate(actor=alice, user=bob)
    assert Client().get(link).context["validlink"] is False


def test_it_edits_role_team_name_email_and_language(alice_client, alice, bob):
    team = Team.objects.create(name="サポート")
    response = alice_client.post(
        f"/accounts/users/{bob.pk}/",
        {
            "display_name": "坊 ボブ（サポート）",
            "email": "bob@example.jp",
            "role": "manager",
            "team": team.pk,
            "language": "en",
        },
    )
    assert response.status_code == 302
    bob.refresh_from_db()
    assert (bob.display_name, bob.email, bob.role, bob.team, bob.language) == (
        "坊 ボブ（サポート）",
        "bob@example.jp",
        "manager",
        team,
        "en",
    )
    entry = HistoryEntry.objects.get(model="accounts.user", object_id=bob.pk)
    assert entry.changes["role"] == ["member", "manager"]
    assert entry.changes["team"] == ["営業1課", "サポート"]
    history = alice_client.get(f"/accounts/users/{bob.pk}/").content.decode()
    assert "権限" in history or "role" in history


def test_making_someone_admin_and_back_moves_djangos_flags_too(alice, bob):
    fields = dict(display_name="", email="", team=None, language="ja")
    services.user_update(actor=alice, user=bob, role="admin", **fields)
    assert bob.is_admin and bob.is_superuser
    services.user_update(actor=alice, user=bob, role="member", **fields)
    bob.refresh_from_db()
    assert not bob.is_admin and not bob.is_superuser


def test_it_deactivates_offers_the_handover_and_reactivates(alice_client, alice, bob):
    response = alice_client.post(f"/accounts/users/{bob.pk}/deactivate/", follow=True)
    bob.refresh_from_db()
    assert not bob.is_active
    body = response.content.decode()
    assert f"/customers/handover/?from={bob.pk}" in body
    assert log_in(Client(), "bob").status_code == 200  # cannot log in
    assert User.objects.filter(pk=bob.pk).exists()  # never deleted

    alice_client.post(f"/accounts/users/{bob.pk}/reactivate/")
    bob.refresh_from_db()
    assert bob.is_active
    assert log_in(Client(), "bob").status_code == 302
    changes = list(
        HistoryEntry.objects.filter(object_id=bob.pk, model="accounts.user")
        .order_by("id")
        .values_list("changes", flat=True)
    )
    assert changes == [{"is_active": [True, False]}, {"is_active": [False, True]}]


def test_an_admin_cannot_deactivate_themselves(alice_client, alice):
    response = alice_client.post(f"/accounts/users/{alice.pk}/deactivate/", follow=True)
    alice.refresh_from_db()
    assert alice.is_active
    assert "自分" in response.content.decode() or "your own" in response.content.decode()


def test_the_last_active_admin_cannot_be_deactivated_or_demoted(alice, bob):
    with pytest.raises(ValidationError):
        services.user_deactivate(actor=None, user=alice)
    with pytest.raises(ValidationError) as exc:
        services.user_update(
            actor=alice,
            user=alice,
            role="member",
            display_name="",
            email="",
            team=None,
            language="ja",
        )
    assert "role" in exc.value.message_dict
    alice.refresh_from_db()
    assert alice.is_active and alice.is_admin


def test_the_demotion_refusal_shows_on_the_form(alice_client, alice):
    response = alice_client.post(
        f"/accounts/users/{alice.pk}/",
        {"display_name": "有栖", "email": "", "role": "member", "team": "", "language": "ja"},
    )
    assert response.status_code == 200 and response.context["form"].errors["role"]


def test_with_a_second_admin_one_may_be_deactivated(alice):
    carol = testing.make_user("carol", admin=True)
    services.user_deactivate(actor=alice, user=carol)
    carol.refresh_from_db()
    assert not carol.is_active


def test_an_unknown_user_is_a_404(alice_client):
    assert alice_client.get("/accounts/users/999999/").status_code == 404


def test_it_creates_and_renames_teams(alice_client, alice):
    assert alice_client.post("/accounts/teams/", {"name": " 営業 3課 "}).status_code == 302
    team = Team.objects.get(name="営業 3課")
    duplicate = alice_client.post("/accounts/teams/", {"name": "営業 3課"})
    assert duplicate.status_code == 200 and duplicate.context["form"].errors
    assert alice_client.post(f"/accounts/teams/{team.pk}/", {"name": "法人営業"}).status_code == 302
    team.refresh_from_db()
    assert team.name == "法人営業"
    assert "法人営業" in alice_client.get("/accounts/teams/").content.decode()
    assert HistoryEntry.objects.filter(model="accounts.team", object_id=team.pk).count() == 2


def test_renaming_to_a_taken_name_keeps_the_old_one(alice):
    first, second = (services.team_create(actor=alice, name=n) for n in ("A課", "B課"))
    with pytest.raises(ValidationError):
        services.team_rename(actor=alice, team=second, name="A課")
    assert second.name == "B課"
    assert Team.objects.get(pk=second.pk).name == "B課"
