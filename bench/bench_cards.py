"""Timing of vCard import (1,000 cards), PDF selections and vCard export.

rm -f /tmp/cardsbench/db.sqlite3 && ENISHI_DATA_DIR=/tmp/cardsbench \
  DATABASE_URL=sqlite:////tmp/cardsbench/db.sqlite3 .venv/bin/python bench/bench_cards.py
"""

# ruff: noqa: E402 - Django is set up before the app is imported

import io
import json
import os
import random
import time
import zlib

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "enishi.settings")
import django

django.setup()
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext

from enishi.core import testing
from enishi.customers.models import Customer
from enishi.transfer import card_services
from enishi.transfer.vcard_map import customer_vcard

call_command("migrate", verbosity=0)
alice = testing.make_user("bench", admin=True, name="ベンチ")
rng = random.Random(5)
fam = ["佐藤", "鈴木", "高橋", "田中", "伊藤", "渡辺", "山本", "中村", "小林", "加藤"]
giv = ["太郎", "花子", "一郎", "美咲", "健", "さくら", "翔太", "陽菜", "大輔", "結衣"]
kf = [
    "サトウ",
    "スズキ",
    "タカハシ",
    "タナカ",
    "イトウ",
    "ワタナベ",
    "ヤマモト",
    "ナカムラ",
    "コバヤシ",
    "カトウ",
]
kg = [
    "タロウ",
    "ハナコ",
    "イチロウ",
    "ミサキ",
    "ケン",
    "サクラ",
    "ショウタ",
    "ヒナ",
    "ダイスケ",
    "ユイ",
]
# existing customers so that the duplicate check has something to compare with
for _ in range(2000):
    a, b = rng.randrange(10), rng.randrange(10)
    testing.make_customer(
        alice,
        name=f"{fam[a]} {giv[b]}",
        name_kana=f"{kf[a]} {kg[b]}",
        mobile=f"090-{rng.randrange(1000, 9999)}-{rng.randrange(1000, 9999)}",
    )
cards = []
for i in range(1000):
    a, b = rng.randrange(10), rng.randrange(10)
    c = Customer(
        kind="person",
        name=f"{fam[a]} {giv[b]}",
        family_name=fam[a],
        given_name=giv[b],
        name_kana=f"{kf[a]} {kg[b]}",
        mobile=f"080-{rng.randrange(1000, 9999)}-{rng.randrange(1000, 9999)}",
        email=f"user{i}@example.jp",
        postal_code="100-0014",
        prefecture="東京都",
        city="千代田区",
        town="永田町",
        street=f"1-{i}-1",
        title="課長",
    )
    cards.append(customer_vcard(c, version="3.0"))
data = "".join(cards).encode()
t = time.perf_counter()
with CaptureQueriesContext(connection) as q:
    preview = card_services.card_import_read(actor=alice, data=data)
t_read = time.perf_counter() - t
blob = json.dumps(preview.as_dict(), ensure_ascii=False).encode()
print(
    f"file {len(data) / 1024:.0f} KiB, 1000 cards: read+check {t_read:.2f} s, {len(q)} queries; preview JSON {len(blob) / 1024:.0f} KiB, zlib {len(zlib.compress(blob)) / 1024:.0f} KiB"
)
t = time.perf_counter()
created = card_services.card_import_commit(
    actor=alice, preview=preview, create=[c.number for c in preview.cards if c.can_create]
)
print(f"commit {len(created)} kartes: {time.perf_counter() - t:.2f} s")
people = list(Customer.objects.filter(owner=alice).select_related("company", "owner", "team")[:100])
for p in people[:100]:
    testing.log_call(
        alice, p, subject="電話しました", body="長めの本文です。" * 5, next_action="見積"
    )
t = time.perf_counter()
with CaptureQueriesContext(connection) as q:
    result = card_services.card_pdf_export(
        actor=alice, customers=people, base_url="http://localhost/"
    )
print(
    f"PDF of 100 kartes: {time.perf_counter() - t:.2f} s, {len(result.content) / 1024:.0f} KiB, {len(q)} queries"
)
t = time.perf_counter()
result = card_services.card_pdf_export(
    actor=alice, customers=people[:1], base_url="http://localhost/"
)
print(f"PDF of 1 karte: {time.perf_counter() - t:.2f} s")
# The same 100 kartes as a background print: laid out PRINT_BATCH at a time, each karte a
# document of its own (its pages numbered "n / N" within it), joined into one file.
t, cpu = time.perf_counter(), time.process_time()
out = io.BytesIO()
printed = card_services.card_pdf_write(
    actor=alice,
    customer_ids=[p.pk for p in people],
    base_url="http://localhost/",
    out=out,
    progress=lambda rows: None,
)
print(
    f"PDF of 100 kartes in the background: {time.perf_counter() - t:.2f} s "
    f"(CPU {time.process_time() - cpu:.2f} s), {printed.pages} pages, "
    f"{len(out.getvalue()) / 1024:.0f} KiB"
)
everyone = list(Customer.objects.select_related("company", "owner", "team")[:3000])
t = time.perf_counter()
result = card_services.card_vcard_export(actor=alice, customers=everyone)
print(
    f"vCard of {len(everyone)} kartes: {time.perf_counter() - t:.2f} s, {len(result.content) / 1024:.0f} KiB"
)
