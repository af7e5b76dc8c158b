#!/usr/bin/env python
"""Time the karte page with a long timeline, and the list and search pages, on a generated database.

    ALLOWED_HOSTS=testserver,127.0.0.1 .venv/bin/python bench/karte_bench.py \
        --database sqlite:////work/main/bench/out/search_1m.sqlite3 [--activities 5000] [--runs 30]

Gives one company karte (and one of its contacts) 5,000 activities, ~20 tasks, 60 history
entries, 3 tags, 200 orders (1–4 lines), 50 deals (with stage moves), 100 inquiries (with
answers) and 10 contracts (once; re-runs reuse them), then requests the pages through
django.test.Client (force_login, setup_test_environment) and reports the server time
(p50 / p95 / max over --runs requests after one warm-up request) and the number of SQL queries
per request (one extra request under CaptureQueriesContext, which is not timed).
"""

from __future__ import annotations

import argparse
import datetime
import random
import re
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import benchlib  # noqa: E402

SUBJECTS = [
    "定例打ち合わせ",
    "見積もりの件",
    "新商品のご案内",
    "お問い合わせ対応",
    "契約更新について",
    "納期確認",
    "請求書の件",
    "訪問のお礼",
    "展示会のご案内",
    "サポート依頼",
]
BODIES = [
    "先日ご依頼いただいた件について、担当部署と確認のうえ回答しました。来月の導入に向けて、"
    "仕様の詳細を詰める必要があります。",
    "電話にてご連絡。先方の担当者様は不在のため、折り返しをお願いしました。",
    "訪問して現状のヒアリングを行った。在庫管理の手作業が多く、月末に残業が集中しているとのこと。"
    "次回はデモを用意して具体的な改善案を提示する。",
    "メールで見積書を送付。価格について社内で検討いただく。回答は今月末の予定。",
    "オンライン会議。決裁者の部長も参加。導入スケジュールと予算感を共有いただいた。",
]
OUTCOMES = ["", "", "前向きに検討", "見積もり提出", "保留", "次回訪問", "受注"]


def pick_karte(user):
    """The benchmark's company karte (marked by its code), visible to `user`."""
    from enishi.customers.models import Customer
    from enishi.customers.selectors import customer_visible

    code = (
        "BENCH-KARTE"
        if user.username == benchlib.BENCH_USERNAME
        else f"BENCH-KARTE-{user.username}"
    )
    marked = Customer.objects.filter(code=code).first()
    if marked is not None:
        return marked
    company = (
        customer_visible(user).filter(kind="company", contacts__isnull=False).order_by("id").first()
    )
    Customer.objects.filter(pk=company.pk).update(code=code)
    company.refresh_from_db()
    return company


def seed_karte(customer, n_activities: int, staff_ids: list[int]) -> dict:
    """Bring the karte up to n_activities, 20 tasks, 60 history entries and 3 tags."""
    from django.db import transaction
    from django.utils import timezone

    from enishi.activities.models import Activity, Task
    from enishi.customers.models import Tag
    from enishi.history.models import HistoryEntry

    rng = random.Random(5)
    now = timezone.now()
    have = Activity.objects.filter(customer=customer).count()
    t = time.perf_counter()
    with transaction.atomic():
        batch = []
        for _ in range(have, n_activities):
            kind = rng.choice(
                ["call", "call", "email", "email", "visit", "meeting", "note", "web_form"]
            )
            batch.append(
                Activity(
                    customer=customer,
                    type=kind,
                    direction=rng.choice(["", "in", "out"]),
                    occurred_at=now - datetime.timedelta(minutes=rng.randint(0, 5 * 365 * 24 * 60)),
                    staff_id=rng.choice(staff_ids),
                    subject=rng.choice(SUBJECTS),
                    body=rng.choice(BODIES) * rng.randint(1, 3),
                    outcome=rng.choice(OUTCOMES),
                    next_action=rng.choice(["", "", "見積もり再送", "デモ日程調整"]),
                    next_action_due=(now + datetime.timedelta(days=rng.randint(1, 30))).date()
                    if rng.random() < 0.2
                    else None,
                    created_by_id=staff_ids[0],
                )
            )
            if len(batch) >= 1000:
                Activity.objects.bulk_create(batch)
                batch = []
        Activity.objects.bulk_create(batch)
        for i in range(Task.objects.filter(customer=customer).count(), 20):
            Task.objects.create(
                customer=customer,
                title=f"フォローアップ {i + 1}: {rng.choice(SUBJECTS)}",
                due_on=(now + datetime.timedelta(days=rng.randint(-10, 30))).date()
                if i % 4
                else None,
                assignee_id=rng.choice(staff_ids),
                created_by_id=staff_ids[0],
                done_at=now if i >= 15 else None,
                done_by_id=staff_ids[0] if i >= 15 else None,
            )
        for i in range(HistoryEntry.objects.filter(customer_id=customer.pk).count(), 60):
            HistoryEntry.objects.create(
                actor_id=rng.choice(staff_ids),
                via="ui",
                action="update",
                model="customers.customer",
                object_id=customer.pk,
                customer_id=customer.pk,
                object_repr=customer.name,
                changes={
                    "status": ["lead", "customer"],
                    "rank": ["C", "B"],
                    "phone": ["03-0000-0000", customer.phone],
                    "notes": ["", f"メモ {i}"],
                },
            )
        if customer.tags.count() < 3:
            customer.tags.set(
                [Tag.objects.get_or_create(name=n)[0] for n in ("重要", "展示会2026", "紹介")]
            )
    return {
        "seeded_seconds": time.perf_counter() - t,
        "activities_added": max(0, n_activities - have),
    }


def seed_records(customer, staff_ids: list[int], *, orders: int, deals: int, inquiries: int):
    """Bring the karte up to the given numbers of orders, deals and inquiries (+10 contracts)."""
    from decimal import Decimal

    from django.db import transaction
    from django.utils import timezone

    from enishi.deals.models import Deal, DealStageChange, Pipeline, Stage
    from enishi.inquiries.models import Inquiry, InquiryAnswer
    from enishi.sales.models import Contract, Order, OrderLine
    from enishi.sales.pricing import line_amount, order_totals

    rng = random.Random(7)
    now = timezone.now()
    today = timezone.localdate()
    with transaction.atomic():
        for i in range(Order.objects.filter(customer=customer).count(), orders):
            day = today - datetime.timedelta(days=rng.randint(0, 730))
            lines = [
                (
                    Decimal(rng.choice([980, 1980, 4800, 12000, 35000])),
                    rng.randint(1, 12),
                    rng.choice([10, 10, 10, 8]),
                )
                for _ in range(rng.randint(1, 4))
            ]
            amounts = [(line_amount(p, q), r) for p, q, r in lines]
            totals = order_totals(amounts)
            order = Order.objects.create(
                customer=customer,
                number=f"B-{customer.pk}-{i:05d}",
                ordered_on=day,
                status="paid",
                owner_id=rng.choice(staff_ids),
                subtotal=totals.subtotal,
                tax=totals.tax,
                total=totals.total,
            )
            OrderLine.objects.bulk_create(
                OrderLine(
                    order=order,
                    position=n,
                    description=f"商品{n}",
                    unit_price=p,
                    quantity=q,
                    tax_rate=r,
                    amount=a,
                )
                for n, ((p, q, r), (a, _r)) in enumerate(zip(lines, amounts, strict=True))
            )
        pipeline = Pipeline.objects.order_by("id").first() or Pipeline.objects.create(
            name="新規営業"
        )
        if not pipeline.stages.exists():
            for n, (name, prob, outcome) in enumerate(
                [
                    ("提案", 40, "open"),
                    ("交渉", 80, "open"),
                    ("受注", 100, "won"),
                    ("失注", 0, "lost"),
                ]
            ):
                Stage.objects.create(
                    pipeline=pipeline, name=name, position=n, probability=prob, outcome=outcome
                )
        stages = list(pipeline.stages.order_by("position"))
        for i in range(Deal.objects.filter(customer=customer).count(), deals):
            stage = rng.choice(stages)
            deal = Deal.objects.create(
                customer=customer,
                pipeline=pipeline,
                stage=stage,
                title=f"商談 {i + 1}",
                amount=Decimal(rng.randint(1, 200) * 10000),
                probability=stage.probability,
                expected_close_on=today + datetime.timedelta(days=rng.randint(-30, 180)),
                owner_id=rng.choice(staff_ids),
            )
            DealStageChange.objects.create(
                deal=deal,
                from_stage=None,
                to_stage=stages[0],
                changed_at=now - datetime.timedelta(days=60),
            )
            if stage != stages[0]:
                DealStageChange.objects.create(
                    deal=deal,
                    from_stage=stages[0],
                    to_stage=stage,
                    changed_at=now - datetime.timedelta(days=10),
                )
        for i in range(Inquiry.objects.filter(customer=customer).count(), inquiries):
            received = now - datetime.timedelta(hours=rng.randint(1, 2 * 365 * 24))
            inquiry = Inquiry.objects.create(
                customer=customer,
                received_at=received,
                subject=f"{rng.choice(SUBJECTS)} ({i})",
                content=rng.choice(BODIES),
                status=rng.choice(["new", "in_progress", "closed"]),
                assignee_id=rng.choice(staff_ids),
                first_response_at=received + datetime.timedelta(hours=2),
            )
            InquiryAnswer.objects.create(
                inquiry=inquiry,
                author_id=rng.choice(staff_ids),
                body=rng.choice(BODIES),
                created_at=received + datetime.timedelta(hours=2),
            )
        for i in range(Contract.objects.filter(customer=customer).count(), 10):
            Contract.objects.create(
                customer=customer,
                plan=f"保守プラン {i + 1}",
                starts_on=today.replace(day=1) - datetime.timedelta(days=365 * (i % 3)),
                renews_on=today + datetime.timedelta(days=30 * (i + 1)),
                amount=Decimal(120000),
                auto_renew=True,
                owner_id=rng.choice(staff_ids),
            )


def measure(client, path: str, runs: int, headers: dict | None = None) -> dict:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    response = client.get(path, headers=headers or {})  # warm-up
    assert response.status_code == 200, (path, response.status_code)
    # Timed without CaptureQueriesContext: its debug cursor quotes every parameter for the log
    # (costly for long parameter lists); one more request counts the queries.
    seconds = []
    for _ in range(runs):
        t = time.perf_counter()
        response = client.get(path, headers=headers or {})
        seconds.append(time.perf_counter() - t)
        assert response.status_code == 200, (path, response.status_code)
    with CaptureQueriesContext(connection) as ctx:
        client.get(path, headers=headers or {})
    s = benchlib.summary_ms(seconds)
    # The count a list page shows in its heading ("1,234" or "10,000+").
    shown = path == "/customers/" or path.startswith("/customers/?")
    shown = shown and re.search(
        r'<span class="count">\s*([^<]*?)\s*</span>', response.content.decode()
    )
    return {
        **s,
        "shown": shown.group(1) if shown else "",
        "queries": len(ctx.captured_queries),
        "bytes": len(response.content),
        "sql": ctx.captured_queries,
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--database", required=True, help="a DATABASE_URL")
    parser.add_argument("--activities", type=int, default=5000)
    parser.add_argument("--orders", type=int, default=200)
    parser.add_argument("--deals", type=int, default=50)
    parser.add_argument("--inquiries", type=int, default=100)
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument(
        "--user",
        default=benchlib.BENCH_USERNAME,
        help="request the pages as this user (default: the admin `bench`; `owner01` is a member)",
    )
    parser.add_argument("--show-sql", action="store_true", help="print the SQL of each page")
    args = parser.parse_args()

    benchlib.setup_django(args.database, migrate=True)
    from django.test import Client
    from django.test.utils import setup_test_environment

    from enishi.accounts.models import User
    from enishi.customers.models import Customer

    setup_test_environment()
    user = User.objects.get(username=args.user)
    print(f"database: {benchlib.database_label()}, {Customer.objects.count():,} customers")
    print(f"machine: {benchlib.machine()}")
    print(f"load average at start: {benchlib.loadavg()}")

    print(
        f"requests as {user.username} (superuser {user.is_superuser}, role {getattr(user, 'role', '?')})"
    )
    company = pick_karte(user)
    staff_ids = list(User.objects.order_by("id").values_list("id", flat=True))
    seeded = seed_karte(company, args.activities, staff_ids)
    seed_records(company, staff_ids, orders=args.orders, deals=args.deals, inquiries=args.inquiries)
    from enishi.customers.selectors import customer_visible

    contact = customer_visible(user).filter(company=company).order_by("id").first() or company
    print(
        f"karte: #{company.pk} {company.name} (+{seeded['activities_added']} activities in "
        f"{seeded['seeded_seconds']:.1f} s), contact #{contact.pk} {contact.name}"
    )

    from enishi.activities.models import Activity

    oldest = Activity.objects.filter(customer=company).order_by("occurred_at", "id")[40]
    deep = f"before_at={oldest.occurred_at.isoformat().replace('+', '%2B')}&before_rank=10"
    client = Client()
    client.force_login(user)
    htmx = {"HX-Request": "true"}
    pages = [
        ("karte (company, all kinds)", f"/customers/{company.pk}/", None),
        ("karte, timeline: orders only", f"/customers/{company.pk}/?kind=order", None),
        ("karte, print view", f"/customers/{company.pk}/?print=1", None),
        (
            "karte timeline, deep page (htmx)",
            f"/customers/{company.pk}/?part=timeline&{deep}&before_id={oldest.pk}",
            htmx,
        ),
        ("karte (contact person)", f"/customers/{contact.pk}/", None),
        ("customer list", "/customers/", None),
        ("customer list, sort by reading", "/customers/?sort=kana", None),
        ("customer list, page 200", "/customers/?page=200", None),
        ("list search ?q=山田", "/customers/?q=%E5%B1%B1%E7%94%B0", None),
        ("list search ?q=ヤマダ", "/customers/?q=%E3%83%A4%E3%83%9E%E3%83%80", None),
        ("list search ?q=090", "/customers/?q=090", None),
        (
            "top-bar search ?q=やまだ (htmx)",
            "/customers/search/?q=%E3%82%84%E3%81%BE%E3%81%A0",
            htmx,
        ),
        ("top-bar search ?q=山田 (htmx)", "/customers/search/?q=%E5%B1%B1%E7%94%B0", htmx),
        (
            "search page ?q=やまだ (full page)",
            "/customers/search/?q=%E3%82%84%E3%81%BE%E3%81%A0",
            None,
        ),
    ]
    print(
        f"\n{'page':<38} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8} {'queries':>8} {'KiB':>6}  shown"
    )
    for label, path, headers in pages:
        r = measure(client, path, args.runs, headers)
        flag = "" if r["p95"] < 200 else "  <-- slow"
        print(
            f"{label:<38} {r['p50']:8.1f} {r['p95']:8.1f} {r['max']:8.1f} {r['queries']:8d} "
            f"{r['bytes'] / 1024:6.0f}  {r['shown']}{flag}",
            flush=True,
        )
        if args.show_sql:
            for q in r["sql"]:
                print(f"      {float(q['time']) * 1000:7.1f} ms  {q['sql'][:220]}")
    print(f"load average at end: {benchlib.loadavg()}")


if __name__ == "__main__":
    main()
