"""Which company karte a person row is linked to: the very name wins over a name that agrees
only without its legal form; several companies of one name are never chosen between silently
(the person chooses, the run waits); the preview and the API say what each row gets."""

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from enishi.api.tests.conftest import ApiClient, issue_token
from enishi.core import testing
from enishi.customers.models import Customer
from enishi.customers.services import customer_delete
from enishi.imports import companies, services
from enishi.imports.models import ImportRow, ImportRun

from .conftest import check, run_import, upload

pytestmark = pytest.mark.django_db

# The reviewer's file: one company named exactly once and as a similar name, one named twice.
FILE = (
    "氏名,会社名\n紐付 三郎,さくら工務店\n紐付 一郎,株式会社山田商事\n紐付 次郎,株式会社山田商事\n"
)


@pytest.fixture
def kartes(bob):
    """#1 and #2 share a name; #3 is さくら工務店 with its legal form, #4 the very name."""
    return {
        "yamada_1": testing.make_company(bob, name="株式会社山田商事", code="Y-1"),
        "yamada_2": testing.make_company(bob, name="株式会社山田商事", prefecture="大阪府"),
        "sakura_ltd": testing.make_company(bob, name="有限会社さくら工務店"),
        "sakura": testing.make_company(bob, name="さくら工務店"),
    }


def rows_by_name(run) -> dict:
    return {r.values[0]: r for r in run.rows.order_by("number")}


# --- the rule ------------------------------------------------------------------------------------


class TestTheChoiceRule:
    def test_the_very_name_wins_over_a_name_that_agrees_only_without_its_legal_form(self):
        found, level = companies.best(
            "さくら工務店",
            [{"pk": 3, "name": "有限会社さくら工務店"}, {"pk": 4, "name": "さくら工務店"}],
        )
        assert ([c["pk"] for c in found], level) == ([4], companies.EXACT)

    def test_width_case_and_spaces_do_not_make_a_name_different(self):
        assert companies.rank("ｻｸﾗ 工務店", "サクラ工務店") == companies.EXACT
        assert companies.rank("ＡＢＣ商事", "abc 商事") == companies.EXACT

    def test_the_same_legal_form_written_differently_beats_another_form(self):
        found, level = companies.best(
            "㈱山田商事",
            [
                {"pk": 1, "name": "山田商事株式会社"},  # 後株: another company as likely as not
                {"pk": 2, "name": "有限会社山田商事"},
                {"pk": 3, "name": "株式会社 山田商事"},
            ],
        )
        assert ([c["pk"] for c in found], level) == ([3], companies.SAME_FORM)

    def test_equally_good_companies_are_all_returned_in_their_order(self):
        found, level = companies.best(
            "さくら工務店",
            [{"pk": 5, "name": "株式会社さくら工務店"}, {"pk": 3, "name": "有限会社さくら工務店"}],
        )
        assert ([c["pk"] for c in found], level) == ([5, 3], companies.SIMILAR)
        assert companies.best("さくら工務店", []) == ([], companies.SIMILAR + 1)

    def test_a_choice_is_kept_and_undone(self):
        company = {"choices": [{"id": 1}, {"id": 2}], "name": "株式会社山田商事", "key": "山田商事"}
        assert companies.undecided(company)
        chosen = companies.with_choice(company, 2)
        assert (chosen["chosen"], chosen["id"], companies.undecided(chosen)) == (2, 2, False)
        none = companies.with_choice(chosen, companies.NO_COMPANY)
        assert none["chosen"] == 0 and "id" not in none
        assert companies.with_choice(none, None) == company


# --- the check -----------------------------------------------------------------------------------


class TestTheCheck:
    def test_the_reviewers_file(self, bob, kartes):
        run = check(bob, upload(bob, FILE.encode()))
        rows = rows_by_name(run)
        assert rows["紐付 三郎"].company == {
            "id": kartes["sakura"].pk,
            "name": "さくら工務店",
            "how": "exact",
        }
        ichiro = rows["紐付 一郎"].company
        assert [c["id"] for c in ichiro["choices"]] == [
            kartes["yamada_1"].pk,
            kartes["yamada_2"].pk,
        ]
        assert ichiro["choices"][0]["code"] == "Y-1"
        assert ichiro["choices"][1]["place"] == "大阪府"
        assert "id" not in ichiro and companies.undecided(ichiro)
        assert run.summary["company_choices"] == 2
        assert run.summary["new_companies"] == 0

    def test_a_name_that_agrees_only_without_its_legal_form_still_links_and_says_so(self, bob):
        ltd = testing.make_company(bob, name="有限会社さくら工務店")
        run = check(bob, upload(bob, "氏名,会社名\n紐付 三郎,さくら工務店\n".encode()))
        company = run.rows.get().company
        assert company == {
            "id": ltd.pk,
            "name": "有限会社さくら工務店",
            "how": "similar",
            "written": "さくら工務店",
        }

    def test_several_similar_names_are_a_choice_too_and_say_so(self, bob, kartes):
        run = check(bob, upload(bob, "氏名,会社名\n紐付 六郎,有限会社山田商事\n".encode()))
        link = companies.link_of(run.rows.get().company)
        assert (link["to"], link["how"]) == ("choose", "similar")
        assert [c["id"] for c in link["choices"]] == [kartes["yamada_1"].pk, kartes["yamada_2"].pk]
        assert link["text"] == (
            "Several company kartes have a name like “有限会社山田商事”: choose the one to link "
            "to, or none."
        )

    def test_a_company_row_of_the_file_with_the_very_name_wins_over_a_similar_karte(self, bob):
        testing.make_company(bob, name="有限会社さくら工務店")
        text = "区分,氏名,会社名\n個人,紐付 三郎,さくら工務店\n法人,さくら工務店,\n"
        rows = {r.number: r for r in check(bob, upload(bob, text.encode())).rows.all()}
        assert rows[1].company == {"row": 2, "line": 3, "name": "さくら工務店"}

    def test_a_company_code_wins_over_any_name(self, bob, kartes):
        text = "氏名,会社名,会社コード\n紐付 一郎,株式会社山田商事,Y-1\n"
        company = check(bob, upload(bob, text.encode())).rows.get().company
        assert (company["id"], company["how"]) == (kartes["yamada_1"].pk, "code")

    def test_companies_others_cannot_see_are_not_offered(self, bob, carol):
        mine = testing.make_company(bob, name="株式会社山田商事")
        testing.make_company(carol, name="株式会社山田商事")
        run = check(bob, upload(bob, "氏名,会社名\n紐付 一郎,株式会社山田商事\n".encode()))
        assert run.rows.get().company["id"] == mine.pk

    def test_checking_asks_for_companies_once_per_chunk(self, bob):
        for i in range(4):
            testing.make_company(bob, name=f"株式会社会社{i}")
            testing.make_company(bob, name=f"株式会社会社{i}")
            testing.make_company(bob, name=f"有限会社会社{i}")

        def queries(count: int) -> int:
            lines = ["氏名,会社名"] + [
                f"名前{i},{('株式会社', '有限会社', '')[i % 3]}会社{i % 7}" for i in range(count)
            ]
            run = upload(bob, "\n".join(lines).encode())
            with CaptureQueriesContext(connection) as captured:
                services.import_check(actor=bob, run=run)
            run.refresh_from_db()
            assert run.summary["company_choices"] > 0 and run.summary["new_companies"] == 3
            return len(captured)

        assert queries(30) == queries(300)


# --- choosing and writing ------------------------------------------------------------------------


class TestChoosingAndWriting:
    def test_the_run_waits_for_the_choice_and_links_the_chosen_company(self, bob, kartes):
        run = check(bob, upload(bob, FILE.encode()))
        with pytest.raises(ValidationError) as refused:
            services.import_start(actor=bob, run=run)
        assert refused.value.code == "company_to_choose"
        assert "2 rows name a company" in refused.value.messages[0]

        ichiro = rows_by_name(run)["紐付 一郎"]
        row, others = services.import_choose_company(
            actor=bob, run=run, number=ichiro.number, company=str(kartes["yamada_2"].pk)
        )
        assert row.company["id"] == kartes["yamada_2"].pk
        assert others == [
            rows_by_name(run)["紐付 次郎"].number
        ]  # the same company, the same answer
        with pytest.raises(ValidationError):
            services.import_choose_company(
                actor=bob, run=run, number=ichiro.number, company=str(kartes["sakura"].pk)
            )

        run = run_import(bob, run)
        assert run.status == ImportRun.Status.DONE and run.counts["companies_created"] == 0
        people = {c.name: c.company for c in Customer.objects.filter(kind="person")}
        assert people == {
            "紐付 三郎": kartes["sakura"],
            "紐付 一郎": kartes["yamada_2"],
            "紐付 次郎": kartes["yamada_2"],
        }

    def test_no_company_can_be_chosen(self, bob, kartes):
        run = check(bob, upload(bob, FILE.encode()))
        ichiro = rows_by_name(run)["紐付 一郎"]
        services.import_choose_company(actor=bob, run=run, number=ichiro.number, company="none")
        run_import(bob, run)
        assert Customer.objects.get(name="紐付 一郎").company is None
        assert Customer.objects.get(name="紐付 次郎").company is None
        assert Customer.objects.filter(kind="company").count() == 4

    def test_a_skipped_row_does_not_hold_the_run_up(self, bob, kartes):
        run = check(bob, upload(bob, FILE.encode()))
        for name in ("紐付 一郎", "紐付 次郎"):
            services.import_decide_row(
                actor=bob, run=run, number=rows_by_name(run)[name].number, decision="skip"
            )
        run = run_import(bob, run)
        assert run.status == ImportRun.Status.DONE
        assert Customer.objects.get(name="紐付 三郎").company == kartes["sakura"]

    def test_importing_the_same_file_again_creates_no_company_twice(self, bob):
        testing.make_company(bob, name="有限会社さくら工務店")
        text = (
            "氏名,会社名\n紐付 三郎,さくら工務店\n紐付 四郎,株式会社青空\n紐付 五郎,株式会社 青空\n"
        )
        first = run_import(bob, check(bob, upload(bob, text.encode())))
        assert first.counts["companies_created"] == 1
        again = check(bob, upload(bob, text.encode()))
        sora = Customer.objects.get(kind="company", name="株式会社青空")
        links = {r.values[0]: r.company for r in again.rows.all()}
        assert links["紐付 四郎"] == {"id": sora.pk, "name": "株式会社青空", "how": "exact"}
        assert links["紐付 五郎"]["id"] == sora.pk
        assert links["紐付 三郎"]["how"] == "similar"
        run_import(bob, again, file_duplicates="create", duplicates="create")
        assert Customer.objects.filter(kind="company").count() == 2
        assert again.companies.count() == 0


# --- a company gone before the run ----------------------------------------------------------------


class TestACompanyGoneBeforeTheRun:
    """A person is never written without the company karte the check linked it to (or the
    person chose) because that karte went to the trash since: the row is skipped and says why,
    as a row whose customer code was taken since."""

    def test_a_chosen_company_in_the_trash_skips_the_rows_that_chose_it(self, bob, kartes):
        run = check(bob, upload(bob, FILE.encode()))
        ichiro = rows_by_name(run)["紐付 一郎"]
        yamada = kartes["yamada_2"]
        services.import_choose_company(
            actor=bob, run=run, number=ichiro.number, company=str(yamada.pk)
        )
        customer_delete(actor=bob, customer=yamada)
        run = run_import(bob, run)
        assert run.status == ImportRun.Status.DONE
        rows = rows_by_name(run)
        for name in ("紐付 一郎", "紐付 次郎"):
            assert rows[name].result == ImportRow.Result.SKIPPED
            assert rows[name].result_text == (
                f"Not imported: the company chosen for this row, 株式会社山田商事 (#{yamada.pk}), "
                "is no longer there or you can no longer see it. Check the file again."
            )
        assert not Customer.objects.filter(name__in=["紐付 一郎", "紐付 次郎"]).exists()
        assert Customer.objects.get(name="紐付 三郎").company == kartes["sakura"]
        assert (run.counts["skipped"], run.counts["created"]) == (2, 1)
        assert run.counts["companies_created"] == 0

    def test_a_found_company_in_the_trash_skips_the_row_and_makes_no_new_one(self, bob, kartes):
        run = check(bob, upload(bob, FILE.encode()))
        for name in ("紐付 一郎", "紐付 次郎"):
            services.import_decide_row(
                actor=bob, run=run, number=rows_by_name(run)[name].number, decision="skip"
            )
        sakura = kartes["sakura"]
        customer_delete(actor=bob, customer=sakura)
        run = run_import(bob, run)
        saburo = rows_by_name(run)["紐付 三郎"]
        assert saburo.result == ImportRow.Result.SKIPPED
        assert saburo.result_text == (
            f"Not imported: the company karte this row is linked to, さくら工務店 (#{sakura.pk}), "
            "is no longer there or you can no longer see it. Check the file again."
        )
        assert not Customer.objects.filter(kind="person").exists()
        assert Customer.objects.filter(name="さくら工務店").count() == 1  # no second one
        assert run.counts["companies_created"] == 0

    def test_a_karte_to_update_keeps_its_company_when_the_new_one_is_gone(self, bob, kartes):
        person = testing.make_customer(bob, name="紐付 三郎", code="P-1")
        run = check(
            bob, upload(bob, "顧客コード,氏名,会社名\nP-1,紐付 三郎,さくら工務店\n".encode())
        )
        assert run.rows.get().category == ImportRow.Category.MATCHED
        customer_delete(actor=bob, customer=kartes["sakura"])
        run = run_import(bob, run)
        row = run.rows.get()
        assert row.result == ImportRow.Result.SKIPPED and "さくら工務店" in row.result_text
        person.refresh_from_db()
        assert person.company is None and person.version == 1


# --- the wizard ----------------------------------------------------------------------------------


@pytest.fixture
def bob_web(client, bob):
    bob.language = "en"
    bob.save()
    client.force_login(bob)
    return client


def test_the_preview_says_which_karte_each_person_is_linked_to(bob_web, bob, kartes):
    evil = testing.make_company(bob, name="<b>悪</b>商事")
    text = FILE + "紐付 四郎,<b>悪</b>商事\n紐付 五郎,株式会社青空\n"
    run = check(bob, upload(bob, text.encode()))
    page = bob_web.get(reverse("imports:preview", args=[run.pk])).content.decode()
    sakura = reverse("customers:detail", args=[kartes["sakura"].pk])
    assert f'<a href="{sakura}" target="_blank" rel="noopener">さくら工務店</a>' in page
    assert reverse("customers:detail", args=[kartes["sakura_ltd"].pk]) not in page
    assert "several company kartes are called “株式会社山田商事”: choose one, or none" in page
    assert f"株式会社山田商事 (Y-1・#{kartes['yamada_1'].pk})" in page
    assert f"株式会社山田商事 (大阪府・#{kartes['yamada_2'].pk})" in page
    assert "&lt;b&gt;悪&lt;/b&gt;商事</a>" in page and "<b>悪</b>" not in page
    assert reverse("customers:detail", args=[evil.pk]) in page
    assert '株式会社青空 <span class="muted">(new: this import creates it)</span>' in page
    assert 'name="company"' in page and "?show=companies" in page
    assert "import-to-choose" in page and 'class="primary" disabled' in page

    only = bob_web.get(reverse("imports:preview", args=[run.pk]), {"show": "companies"})
    assert only.content.decode().count('class="import-row ') == 2


def test_choosing_in_the_preview_changes_every_row_naming_the_company(bob_web, bob, kartes):
    run = check(bob, upload(bob, FILE.encode()))
    numbers = {r.values[0]: r.number for r in run.rows.all()}
    url = reverse("imports:decide", args=[run.pk, numbers["紐付 一郎"]])
    response = bob_web.post(url, {"company": kartes["yamada_1"].pk}, HTTP_HX_REQUEST="true")
    assert response.status_code == 200 and response["HX-Trigger"] == "import-decided"
    body = response.content.decode()
    assert f'id="import-row-{numbers["紐付 次郎"]}" hx-swap-oob="true"' in body
    assert "(as chosen)" in body
    assert bob_web.post(url, {"company": "12345678"}, HTTP_HX_REQUEST="true").status_code == 422

    counts = bob_web.get(
        reverse("imports:preview", args=[run.pk]), {"part": "counts"}, HTTP_HX_REQUEST="true"
    ).content.decode()
    assert "import-to-choose" not in counts and 'class="primary" disabled' not in counts

    bob_web.post(reverse("imports:execute", args=[run.pk]))
    assert Customer.objects.get(name="紐付 次郎").company == kartes["yamada_1"]
    assert Customer.objects.get(name="紐付 三郎").company == kartes["sakura"]


def test_starting_before_choosing_says_what_is_missing(bob_web, bob, kartes):
    run = check(bob, upload(bob, FILE.encode()))
    response = bob_web.post(reverse("imports:execute", args=[run.pk]), follow=True)
    assert "2 rows name a company whose name several company kartes have" in (
        response.content.decode()
    )
    run.refresh_from_db()
    assert run.status == ImportRun.Status.PREVIEW and not Customer.objects.filter(kind="person")


# --- the API -------------------------------------------------------------------------------------


def test_the_api_rows_carry_the_link_and_take_the_choice(client, bob, kartes):
    api = ApiClient(client, issue_token(bob), language="en")
    run = check(bob, upload(bob, (FILE + "紐付 五郎,株式会社青空\n").encode()))
    assert api.get(f"/imports/{run.pk}").json()["companies_to_choose"] == 2
    rows = {r["values"][0]: r for r in api.get(f"/imports/{run.pk}/rows").json()["results"]}

    saburo = rows["紐付 三郎"]["company_link"]
    assert (saburo["to"], saburo["id"], saburo["how"]) == ("existing", kartes["sakura"].pk, "exact")
    assert saburo["text"] == "Linked to the company karte “さくら工務店”."
    assert rows["紐付 五郎"]["company_link"]["to"] == "new"
    assert (
        rows["紐付 五郎"]["company_link"]["text"] == "The company “株式会社青空” will be created."
    )
    ichiro = rows["紐付 一郎"]["company_link"]
    assert ichiro["to"] == "choose"
    assert [c["id"] for c in ichiro["choices"]] == [kartes["yamada_1"].pk, kartes["yamada_2"].pk]
    assert ichiro["text"].startswith("Several company kartes are called “株式会社山田商事”")

    refused = api.post(f"/imports/{run.pk}/run")
    assert refused.status_code == 422
    assert "choose which one each is linked to" in refused.json()["detail"]

    number = rows["紐付 一郎"]["number"]
    wrong = api.send(
        "PUT",
        f"/imports/{run.pk}/decision",
        {"number": number, "company": kartes["sakura"].pk},  # not one of the choices
    )
    assert wrong.status_code == 422
    assert [e["field"] for e in wrong.json()["errors"]] == ["company"]  # as the request names it
    empty = api.send("PUT", f"/imports/{run.pk}/decision", {"number": number})
    assert empty.status_code == 422
    chosen = api.send(
        "PUT",
        f"/imports/{run.pk}/decision",
        {"number": number, "company": kartes["yamada_2"].pk},
    )
    assert chosen.status_code == 200, chosen.content
    link = chosen.json()["company_link"]
    assert (link["to"], link["id"], link["how"]) == ("existing", kartes["yamada_2"].pk, "chosen")
    assert api.get(f"/imports/{run.pk}").json()["companies_to_choose"] == 0
    listed = api.get(f"/imports/{run.pk}/rows", {"show": "companies"}).json()["results"]
    assert {r["company_link"]["id"] for r in listed} == {kartes["yamada_2"].pk}

    assert api.post(f"/imports/{run.pk}/run").status_code == 202
    assert Customer.objects.get(name="紐付 一郎").company == kartes["yamada_2"]


def test_a_link_to_a_company_row_names_it_by_its_line_as_the_preview_does(client, bob_web, bob):
    text = "区分,氏名,会社名\n個人,紐付 三郎,さくら工務店\n\n法人,さくら工務店,\n"
    run = check(bob, upload(bob, text.encode()))
    company_row = run.rows.get(kind="company")
    assert (company_row.number, company_row.line) == (2, 4)  # a blank line before it

    api = ApiClient(client, issue_token(bob), language="en")
    rows = api.get(f"/imports/{run.pk}/rows").json()["results"]
    link = next(r for r in rows if r["kind"] == "person")["company_link"]
    assert (link["to"], link["number"], link["line"]) == ("file_row", 2, 4)
    assert "row" not in link
    assert link["text"] == "Linked to the company in row 4 of this file."
    assert next(r for r in rows if r["number"] == link["number"])["line"] == 4

    page = bob_web.get(reverse("imports:preview", args=[run.pk])).content.decode()
    assert "the company in row 4 of this file" in page
    assert 'data-label="Row">4</td>' in page
