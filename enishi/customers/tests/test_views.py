import pytest
from django.urls import reverse

from enishi.core import testing
from enishi.customers.models import Customer, FieldDefinition

pytestmark = pytest.mark.django_db


def test_it_sends_anonymous_visitors_to_the_login(client):
    response = client.get(reverse("customers:list"))
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_it_logs_in_with_username_and_password(client, alice):
    response = client.post(
        reverse("accounts:login"), {"username": "alice", "password": testing.PASSWORD}
    )
    assert response.status_code == 302
    assert client.get(reverse("core:home")).status_code == 200


def test_it_creates_a_customer_from_the_form(alice_client, alice):
    response = alice_client.post(
        reverse("customers:create"),
        {
            "kind": "person",
            "name": "山田 太郎",
            "name_kana": "やまだ たろう",
            "mobile": "090-1234-5678",
            "status": "lead",
            "owner": alice.pk,
            "tag_names": "VIP、紹介",
        },
    )
    customer = Customer.objects.get()
    assert response.status_code == 302 and response["Location"] == customer.get_absolute_url()
    assert customer.name_kana == "ヤマダ タロウ"
    assert sorted(customer.tags.values_list("name", flat=True)) == ["VIP", "紹介"]


def test_it_shows_errors_next_to_the_field_in_japanese_and_keeps_the_input(alice_client, alice):
    response = alice_client.post(
        reverse("customers:create"),
        {
            "kind": "person",
            "name": "山田 太郎",
            "phone": "1234-5678",
            "email": "taro@@x",
            "status": "lead",
        },
    )
    assert response.status_code == 400
    body = response.content.decode()
    assert 'data-field="phone"' in body and "field-errors" in body
    assert "市外局番" in body  # the phone message, in Japanese
    assert 'value="1234-5678"' in body and 'value="山田 太郎"' in body
    assert Customer.objects.count() == 0


def test_it_answers_in_english_for_an_english_user(client, bob):
    bob.language = "en"
    bob.save()
    client.force_login(bob)
    response = client.post(
        reverse("customers:create"), {"kind": "person", "name": "", "status": "lead"}
    )
    assert "Please check the highlighted fields" in response.content.decode()


def test_it_refuses_over_long_input_with_a_message_not_an_error_page(alice_client):
    response = alice_client.post(
        reverse("customers:create"), {"kind": "person", "name": "あ" * 5000, "status": "lead"}
    )
    assert response.status_code == 400
    assert Customer.objects.count() == 0


def test_a_line_break_sent_in_a_one_line_field_is_refused_next_to_the_field(alice_client):
    # An input cannot hold one, but a hand-made request can: the form says why, as the API does.
    response = alice_client.post(
        reverse("customers:create"),
        {
            "kind": "person",
            "name": "山田 太郎",
            "title": "課長\r\nEND:VCARD",
            "notes": "一行目\r\n二行目",
            "status": "lead",
        },
    )
    assert response.status_code == 400
    body = response.content.decode()
    assert 'data-field="title"' in body and "改行は入れられません" in body
    assert Customer.objects.count() == 0


def test_it_renders_html_in_user_text_as_text(alice_client, alice):
    customer = testing.make_customer(
        alice, name="<script>alert(1)</script>", notes="<img src=x onerror=alert(2)>"
    )
    body = alice_client.get(customer.get_absolute_url()).content.decode()
    assert "<script>alert(1)</script>" not in body
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in body
    assert "<img src=x" not in body
    search = alice_client.get(
        reverse("customers:search"), {"q": "script"}, HTTP_HX_REQUEST="true"
    ).content.decode()
    assert "<script>alert" not in search


def test_it_answers_404_for_an_unknown_karte(alice_client):
    assert alice_client.get("/customers/99999999/").status_code == 404
    assert alice_client.get("/customers/99999999999999999999999/").status_code == 404


def test_it_sends_a_content_security_policy_without_inline_script(alice_client):
    response = alice_client.get(reverse("core:home"))
    assert "script-src 'self'" in response["Content-Security-Policy"]
    assert response["X-Frame-Options"] == "DENY"


def test_it_shows_the_karte_with_everything_on_one_page(alice_client, alice):
    company = testing.make_company(alice, name="株式会社山田商事", phone="03-3581-0101")
    taro = testing.make_customer(
        alice,
        name="山田 太郎",
        company=company,
        mobile="090-1234-5678",
        email="taro@example.com",
        postal_code="100-0001",
        is_key_person=True,
        needs="新しいエアコンを検討中",
    )
    testing.log_call(
        alice, taro, subject="見積の件", next_action="再見積を送る", next_action_due="2030-01-10"
    )
    body = alice_client.get(taro.get_absolute_url()).content.decode()
    assert 'href="tel:+819012345678"' in body
    assert 'href="mailto:taro@example.com"' in body
    assert "〒100-0001" in body and "東京都千代田区千代田" in body
    assert "見積の件" in body and "再見積を送る" in body
    assert "新しいエアコンを検討中" in body
    assert company.name in body
    company_page = alice_client.get(company.get_absolute_url()).content.decode()
    assert "山田 太郎" in company_page  # contacts


def test_the_karte_says_unknown_for_a_contact_permission_never_asked(client, alice, bob):
    karte = testing.make_customer(
        alice, owner=bob, name="山田 太郎", contact_permissions={"email": True, "phone": False}
    )
    alice.language = "ja"
    alice.save()
    client.force_login(alice)
    body = client.get(karte.get_absolute_url()).content.decode()
    perms = body.split('class="perms">', 1)[1].split("</dd>", 1)[0]
    assert "メール ○" in perms and "電話 ×" in perms
    assert "郵送（DM） 不明" in perms and "SNS 不明" in perms  # the word of the edit form
    assert "?" not in perms
    bob.language = "en"
    bob.save()
    client.force_login(bob)
    body = client.get(karte.get_absolute_url()).content.decode()
    perms = body.split('class="perms">', 1)[1].split("</dd>", 1)[0]
    assert "SNS Unknown" in perms and "?" not in perms


def test_it_pages_the_timeline(alice_client, alice, settings):
    settings.ENISHI_TIMELINE_PAGE_SIZE = 5
    customer = testing.make_customer(alice)
    for i in range(12):
        testing.log_call(alice, customer, subject=f"通話{i:02d}")
    page = alice_client.get(customer.get_absolute_url()).content.decode()
    timeline = page.split('id="timeline"')[1].split("</ol>")[0]
    assert "通話11" in timeline and "通話06" not in timeline and "before_id=" in timeline
    more = alice_client.get(
        customer.get_absolute_url()
        + "?part=timeline&"
        + timeline.split('hx-get="?part=timeline&amp;')[1].split('"')[0].replace("&amp;", "&"),
        HTTP_HX_REQUEST="true",
    ).content.decode()
    assert "通話06" in more and "通話11" not in more


def test_it_warns_about_a_concurrent_edit_and_keeps_both_versions(alice_client, alice, bob):
    from enishi.customers import services

    customer = testing.make_customer(alice, name="山田 太郎")
    services.customer_update(actor=bob, customer=customer, data={"notes": "ボブのメモ"}, version=1)
    response = alice_client.post(
        reverse("customers:edit", args=[customer.pk]),
        {
            "kind": "person",
            "name": "山田 太郎",
            "status": "lead",
            "notes": "アリスのメモ",
            "version": "1",
        },
    )
    assert response.status_code == 409
    body = response.content.decode()
    assert "アリスのメモ" in body and "ボブのメモ" in body
    customer.refresh_from_db()
    assert customer.notes == "ボブのメモ"


def test_it_fills_the_address_from_a_postal_code(alice_client):
    response = alice_client.get(reverse("customers:postal_code"), {"code": "１００－０００１"})
    assert response.json() == {
        "ok": True,
        "code": "100-0001",
        "prefecture": "東京都",
        "city": "千代田区",
        "town": "千代田",
    }
    assert alice_client.get(reverse("customers:postal_code"), {"code": "12"}).status_code == 400


def test_it_lists_and_filters_customers(alice_client, alice):
    testing.make_company(alice, name="株式会社A", status="customer")
    testing.make_customer(alice, name="山田 太郎", status="lead", postal_code="100-0001")
    response = alice_client.get(reverse("customers:list"), {"kind": "company"})
    assert "株式会社A" in response.content.decode() and "山田 太郎" not in response.content.decode()
    response = alice_client.get(reverse("customers:list"), {"prefecture": "東京都"})
    assert "山田 太郎" in response.content.decode() and "株式会社A" not in response.content.decode()
    response = alice_client.get(
        reverse("customers:list"), {"q": "山田", "sort": "kana", "owner": "x", "page": "999"}
    )
    assert response.status_code == 200 and "山田 太郎" in response.content.decode()


class TestQueryCounts:
    """Guards against N+1 queries: the count must not grow with the data."""

    def test_the_list_uses_a_constant_number_of_queries(
        self, alice_client, alice, django_assert_max_num_queries
    ):
        for i in range(30):
            testing.make_customer(
                alice, name=f"顧客{i}", company=testing.make_company(alice, name=f"会社{i}株式会社")
            )
        with django_assert_max_num_queries(12):
            alice_client.get(reverse("customers:list"))

    def test_the_karte_uses_a_constant_number_of_queries(
        self, alice_client, alice, django_assert_max_num_queries
    ):
        company = testing.make_company(alice, name="株式会社A")
        customer = testing.make_customer(alice, company=company)
        for i in range(40):
            testing.log_call(alice, customer, subject=f"通話{i}", next_action=f"対応{i}")
            testing.make_customer(alice, company=company)
        with django_assert_max_num_queries(22):
            alice_client.get(customer.get_absolute_url())
        with django_assert_max_num_queries(22):
            alice_client.get(company.get_absolute_url())

    def test_search_uses_a_constant_number_of_queries(
        self, alice_client, alice, django_assert_max_num_queries
    ):
        for i in range(30):
            testing.make_customer(
                alice,
                name=f"山田 {i}",
                company=testing.make_company(alice, name=f"山田{i}株式会社"),
            )
        with django_assert_max_num_queries(8):
            alice_client.get(reverse("customers:search"), {"q": "山田"}, HTTP_HX_REQUEST="true")


class TestFieldDefinitions:
    def test_it_hides_the_settings_from_staff_who_are_not_admins(self, bob_client):
        assert bob_client.get(reverse("customers:field_list")).status_code == 404
        assert (
            bob_client.post(reverse("customers:field_preset"), {"preset": "b2b_sales"}).status_code
            == 404
        )

    def test_an_admin_defines_a_choice_field_and_it_appears_on_the_form(self, alice_client):
        response = alice_client.post(
            reverse("customers:field_create"),
            {
                "key": "plan",
                "label_ja": "プラン",
                "label_en": "Plan",
                "definition": "契約中のプラン",
                "type": "choice",
                "choices_text": "松\n竹\n梅\n竹",
                "applies_to": "all",
                "position": 1,
                "is_active": "on",
            },
        )
        assert response.status_code == 302
        assert FieldDefinition.objects.get(key="plan").choices == ["松", "竹", "梅"]
        form = alice_client.get(reverse("customers:create")).content.decode()
        assert 'name="cf_plan"' in form and "契約中のプラン" in form

    def test_a_choice_field_needs_choices(self, alice_client):
        response = alice_client.post(
            reverse("customers:field_create"),
            {
                "key": "plan",
                "label_ja": "プラン",
                "type": "choice",
                "choices_text": "",
                "applies_to": "all",
                "position": 1,
            },
        )
        assert response.status_code == 400 and not FieldDefinition.objects.exists()

    def test_custom_values_are_validated_on_the_form(self, alice_client, alice):
        FieldDefinition.objects.create(
            key="since", label_ja="取引開始日", type="date", required=True
        )
        data = {"kind": "person", "name": "山田 太郎", "status": "lead", "cf_since": "2023-02-30"}
        response = alice_client.post(reverse("customers:create"), data)
        assert response.status_code == 400 and 'data-field="cf_since"' in response.content.decode()
        response = alice_client.post(reverse("customers:create"), {**data, "cf_since": "R5.4.1"})
        assert response.status_code == 302
        assert Customer.objects.get().custom_fields == {"since": "2023-04-01"}


def test_it_shows_every_problem_at_once_even_with_a_mistyped_date(alice_client):
    response = alice_client.post(
        reverse("customers:create"),
        {
            "kind": "person",
            "name": "山田 太郎",
            "status": "lead",
            "birthday": "2023-13-45",
            "phone": "1234",
            "postal_code": "12",
            "tag_names": "あ" * 60,
        },
    )
    body = response.content.decode()
    for field in ("birthday", "phone", "postal_code", "tag_names"):
        section = body.split(f'data-field="{field}"')[1].split("data-field=")[0]
        assert "field-errors" in section, field
    assert Customer.objects.count() == 0
    from enishi.customers.models import Tag

    assert not Tag.objects.exists()


def test_the_list_search_counts_every_match_beyond_the_search_cap(alice_client, alice, settings):
    settings.ENISHI_COUNT_CAP = 2
    for i in range(7):
        testing.make_customer(alice, name=f"山田 {i}")
    testing.make_customer(alice, name="佐藤 一")
    body = alice_client.get(reverse("customers:list"), {"q": "山田"}).content.decode()
    assert '<span class="count">7</span>' in body


def test_a_read_only_user_is_offered_no_way_to_add_or_import(client, dave, alice):
    from enishi.core import testing as t

    t.make_customer(alice, name="山田 太郎")
    client.force_login(dave)
    create = reverse("customers:create")
    for url in (reverse("customers:list"), reverse("core:home")):
        page = client.get(url).content.decode()
        assert create not in page and reverse("imports:start") not in page, url
