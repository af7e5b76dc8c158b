"""Someone connects another program: makes an API token on the screen, uses it over real HTTP,
then revokes it."""

import json
import urllib.error
import urllib.request

import pytest
from playwright.sync_api import expect

from enishi.core import testing
from enishi.customers.models import Customer

from .conftest import log_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def alice(transactional_db):
    return testing.make_user("alice", admin=True, name="有栖 アリス")


def call(url: str, token: str, *, method: str = "GET", body=None, headers=None):
    request = urllib.request.Request(  # noqa: S310 - http to the test server
        url,
        method=method,
        data=None if body is None else json.dumps(body).encode(),
        headers={
            "Authorization": f"Bearer {token}",
            "Content-Type": "application/json",
            **(headers or {}),
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 - test server
            return response.status, dict(response.headers), json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers), json.loads(exc.read())


def test_make_a_token_use_it_from_a_program_and_revoke_it(page, live_server, alice):
    taro = testing.make_customer(alice, name="山田 太郎", phone="03-1234-5678")
    log_in(page)
    page.goto("/accounts/profile/")
    page.click("text=API トークンを管理")
    page.fill("#id_name", "会計ソフト連携")
    page.check("input[name=scopes][value='read write']")
    page.check("input[name=expiry][value='30']")
    page.click("button:has-text('トークンを作成')")
    token = page.input_value("#new-token")
    assert token.startswith("enishi_")
    expect(page.locator("#new-token-card")).to_contain_text("二度と表示されません")
    expect(page.locator("#token-list")).to_contain_text("会計ソフト連携")

    api = f"{live_server.url}/api/v1"
    status, headers, body = call(f"{api}/customers", token)
    assert status == 200
    assert [c["name"] for c in body["results"]] == ["山田 太郎"]
    status, headers, body = call(f"{api}/customers/{taro.pk}", token)
    assert headers["ETag"] == '"1"'
    status, headers, body = call(
        f"{api}/customers/{taro.pk}",
        token,
        method="PATCH",
        body={"rank": "A", "notes": "API から更新"},
        headers={"If-Match": headers["ETag"]},
    )
    assert status == 200, body
    assert (body["rank"], body["version"]) == ("A", 2)
    assert Customer.objects.get(pk=taro.pk).notes == "API から更新"

    page.goto("/accounts/tokens/")
    expect(page.locator("#new-token")).to_have_count(0)
    page.once("dialog", lambda dialog: dialog.accept())
    page.click("#token-list button:has-text('無効にする')")
    expect(page.locator("#token-list .token-status")).to_have_text("無効")
    status, headers, body = call(f"{api}/customers", token)
    assert status == 401
    assert body["detail"] == "このトークンは無効にされています。"
