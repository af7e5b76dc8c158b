"""`unbroken`: codes and numbers joined by hyphens stay on one line (a phone would break
"C-000123" after the hyphen), the rest of the text is escaped as usual."""

from django.template import Context, Template
from django.utils.safestring import mark_safe

from enishi.core.templatetags.enishi import unbroken


def render(value) -> str:
    return Template("{% load enishi %}{{ value|unbroken }}").render(Context({"value": value}))


def test_a_code_in_japanese_text_is_kept_whole():
    text = "統合により、田中一郎の顧客コードC-001249は使われません。"
    assert render(text) == (
        '統合により、田中一郎の顧客コード<span class="nowrap">C-001249</span>は使われません。'
    )


def test_phone_numbers_postal_codes_and_dates_too():
    out = render("電話 090-1234-5678、〒100-0005、2024-04-01")
    for value in ("090-1234-5678", "100-0005", "2024-04-01"):
        assert f'<span class="nowrap">{value}</span>' in out


def test_the_text_is_escaped_and_addresses_and_long_runs_are_left_to_wrap():
    out = render("<b>C-1</b> taro@yamada-shoji.example.jp https://a-b.example/x-1 " + "A-" * 20)
    assert out.startswith('&lt;b&gt;<span class="nowrap">C-1</span>&lt;/b&gt;')
    assert "yamada-shoji" in out and out.count("nowrap") == 1


def test_safe_html_is_left_as_it_is():
    html = mark_safe('齋藤 美穂に統合しました。 <a href="/quality/merges/1/">C-1</a>')
    assert unbroken(html) == html
    assert render(html) == html


def test_nothing_is_empty():
    assert render(None) == ""
