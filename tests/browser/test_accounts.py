"""Accounts as people use them: an admin invites a colleague, who sets a password and logs in."""

import pytest
from playwright.sync_api import expect

from enishi.accounts.models import User
from enishi.core import testing

from .conftest import log_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def alice(transactional_db):
    return testing.make_user("alice", admin=True, name="有栖 アリス")


def test_an_admin_invites_a_colleague_who_sets_a_password_and_logs_in(
    page, browser, live_server, alice
):
    log_in(page)
    page.click("nav.mainnav a[href='/accounts/users/']")
    expect(page.locator("h1")).to_have_text("ユーザー")
    page.click("a[href='/accounts/users/new/']")
    page.fill("#id_username", "hanako")
    page.fill("#id_display_name", "佐藤 花子")
    page.select_option("#id_role", "member")
    expect(page.locator("#id_access_0")).to_be_checked()  # a one-time link is the default
    page.click("main form button.primary")

    link = page.locator("#set-password-link")
    expect(link).to_be_visible()
    url = link.input_value()
    assert "/accounts/welcome/" in url
    assert not User.objects.get(username="hanako").has_usable_password()

    # Hanako opens the link on her own PC: another browser, nobody logged in.
    context = browser.new_context(base_url=live_server.url, locale="ja-JP")
    context.set_default_timeout(10_000)
    hanako = context.new_page()
    hanako.goto(url)
    expect(hanako.locator(".login-box")).to_contain_text("hanako")
    hanako.fill("#id_new_password1", "momiji-aki-2026")
    hanako.fill("#id_new_password2", "momiji-aki-2026")
    hanako.click("button[type=submit]")
    hanako.wait_for_url("**/accounts/login/")
    hanako.fill("#id_username", "hanako")
    hanako.fill("#id_password", "momiji-aki-2026")
    hanako.click("button[type=submit]")
    hanako.wait_for_url(f"{live_server.url}/")
    expect(hanako.locator("nav.mainnav .me")).to_have_text("佐藤 花子")
    # A member sees no user administration.
    expect(hanako.locator("nav.mainnav a[href='/accounts/users/']")).to_have_count(0)

    # The link was for once only.
    hanako.goto(url)
    expect(hanako.locator(".login-box h2")).to_have_text("このリンクは使用できません")
    context.close()
