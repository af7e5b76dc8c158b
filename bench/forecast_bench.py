#!/usr/bin/env python
"""Time the deal forecast over 100k deals and the board with 2,000 open deals.

    .venv/bin/python bench/forecast_bench.py [--database sqlite:////tmp/enishi-forecast.sqlite3]
        [--deals 100000] [--board-deals 2000] [--runs 20] [--keep]

Builds a throwaway database (deleted first unless --keep and it already holds the deals):
20 owners in 4 teams, 4,000 companies, a pipeline "新規営業" with `--deals` deals (60% open,
25% won, 15% lost; 2% in USD; expected close dates over ±12 months) and their stage histories
(every deal entered リード and walked up to its stage: ~3 stage changes a deal), and a second
pipeline "ボード計測" with `--board-deals` open deals (plus 300 closed in the last 30 days).
Rows go in with bulk_create, as an import would.

Then times, after one warm-up call: the forecast selector by month and by owner (as the admin
and as a member, whose team sees about a quarter of the kartes), the stage metrics
(conversion and time in stage), and through django.test.Client (server time, no network) the
board page of the 2,000 open deals and the list page with its forecast and metric tables.
Queries per page are counted on one extra request.
"""

from __future__ import annotations

import argparse
import datetime
import os
import random
import sys
import time
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import benchlib  # noqa: E402

DEFAULT_DB = "sqlite:////tmp/enishi-forecast-bench.sqlite3"
TEAMS = ["営業1課", "営業2課", "営業3課", "営業4課"]
TITLES = ["基幹システム更改", "保守契約更新", "新規導入", "追加ライセンス", "クラウド移行",
          "業務改善コンサル", "機器入替", "年間サポート"]  # fmt: skip


def _sqlite_path(url: str) -> Path | None:
    prefix = "sqlite:///"
    return Path(url[len(prefix) :]) if url.startswith(prefix) else None


def seed(n_deals: int, n_board: int) -> dict:
    from django.db import transaction
    from django.utils import timezone

    from enishi.accounts.models import Team, User
    from enishi.customers.models import Customer
    from enishi.deals.models import Deal, DealStageChange, Pipeline, Stage
    from enishi.deals.services import DEFAULT_STAGES, default_pipeline_ensure

    rng = random.Random(7)
    t0 = time.perf_counter()
    now = timezone.now()
    today = timezone.localdate()
    with transaction.atomic():
        admin = User.objects.create(
            username=benchlib.BENCH_USERNAME, role=User.Role.ADMIN, display_name="計測 管理者"
        )
        teams = [Team.objects.create(name=n) for n in TEAMS]
        owners = [
            User.objects.create(
                username=f"owner{i:02d}", display_name=f"担当 {i:02d}", team=teams[i % 4]
            )
            for i in range(20)
        ]
        Customer.objects.bulk_create(
            (
                Customer(
                    kind=Customer.Kind.COMPANY,
                    name=f"株式会社計測{i:05d}",
                    owner=owners[i % 20],
                    created_by=admin,
                )
                for i in range(4000)
            ),
            batch_size=2000,
        )
        companies = list(Customer.objects.values_list("pk", "owner_id"))
        pipeline = default_pipeline_ensure()
        board_pipeline = Pipeline.objects.create(name="ボード計測", position=1)
        Stage.objects.bulk_create(
            Stage(pipeline=board_pipeline, position=i, **data)
            for i, data in enumerate(DEFAULT_STAGES)
        )

        def make(pipe: Pipeline, count: int, weights: tuple[float, float, float], closed_days: int):
            stages = list(pipe.stages.order_by("position"))
            open_stages = [s for s in stages if s.outcome == "open"]
            won = next(s for s in stages if s.outcome == "won")
            lost = next(s for s in stages if s.outcome == "lost")
            deals, paths = [], []
            for _ in range(count):
                customer_id, owner_id = rng.choice(companies)
                kind = rng.choices(("open", "won", "lost"), weights)[0]
                reached = rng.randint(0, len(open_stages) - 1)
                path = open_stages[: reached + 1]
                stage = {"open": path[-1], "won": won, "lost": lost}[kind]
                if kind != "open":
                    path = [*path, stage]
                created = now - datetime.timedelta(days=rng.randint(len(path) * 3, 720))
                usd = rng.random() < 0.02
                amount = (
                    Decimal(rng.randint(1000, 200000)) / 100
                    if usd
                    else Decimal(rng.randint(10, 5000) * 10000)
                )
                closed_on = (
                    today - datetime.timedelta(days=rng.randint(0, closed_days))
                    if kind != "open"
                    else None
                )
                deals.append(
                    Deal(
                        customer_id=customer_id,
                        pipeline=pipe,
                        stage=stage,
                        title=f"{rng.choice(TITLES)} {len(deals) + 1}",
                        amount=amount,
                        currency="USD" if usd else "JPY",
                        probability=stage.probability,
                        expected_close_on=today + datetime.timedelta(days=rng.randint(-365, 365))
                        if rng.random() < 0.95
                        else None,
                        owner_id=owner_id,
                        lost_reason="価格" if kind == "lost" else "",
                        closed_on=closed_on,
                        stage_entered_at=now - datetime.timedelta(days=rng.randint(0, 60)),
                        created_by=admin,
                        updated_by=admin,
                    )
                )
                paths.append((created, path))
            Deal.objects.bulk_create(deals, batch_size=5000)
            changes = []
            for deal, (created, path) in zip(deals, paths, strict=True):
                at = created
                for i, (previous, stage) in enumerate(zip([None, *path[:-1]], path, strict=True)):
                    stay = datetime.timedelta(hours=rng.randint(24, 24 * 30))
                    changes.append(
                        DealStageChange(
                            deal_id=deal.pk,
                            from_stage=previous,
                            to_stage=stage,
                            changed_at=at,
                            changed_by_id=deal.owner_id,
                            # As deal_move records it when the deal leaves the stage.
                            duration=stay if i < len(path) - 1 else None,
                        )
                    )
                    at += stay
            DealStageChange.objects.bulk_create(changes, batch_size=5000)
            return len(deals), len(changes)

        made = make(pipeline, n_deals, (60, 25, 15), 700)
        board_made = make(board_pipeline, n_board, (1, 0, 0), 0)
        closed = make(board_pipeline, 300, (0, 2, 1), 29)
    from django.db import connection

    if connection.vendor == "sqlite":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
    return {
        "seconds": time.perf_counter() - t0,
        "deals": made[0] + board_made[0] + closed[0],
        "changes": made[1] + board_made[1] + closed[1],
    }


def timed(call, runs: int) -> dict:
    call()  # warm-up
    seconds = []
    for _ in range(runs):
        t = time.perf_counter()
        call()
        seconds.append(time.perf_counter() - t)
    return benchlib.summary_ms(seconds)


def page(client, path: str, runs: int, headers: dict | None = None) -> dict:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    def get():
        response = client.get(path, headers=headers or {})
        assert response.status_code == 200, (path, response.status_code)
        return response

    result = timed(get, runs)
    with CaptureQueriesContext(connection) as ctx:
        response = get()
    return {**result, "queries": len(ctx.captured_queries), "kib": len(response.content) / 1024}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--database", default=DEFAULT_DB, help="a DATABASE_URL (thrown away)")
    parser.add_argument("--deals", type=int, default=100_000)
    parser.add_argument("--board-deals", type=int, default=2000)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--keep", action="store_true", help="reuse the database if seeded")
    args = parser.parse_args()

    path = _sqlite_path(args.database)
    if path is not None and path.exists() and not args.keep:
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
    os.environ.setdefault("ALLOWED_HOSTS", "testserver,127.0.0.1")
    benchlib.setup_django(args.database, migrate=True)

    from django.test import Client
    from django.test.utils import setup_test_environment

    from enishi.accounts.models import User
    from enishi.deals import selectors
    from enishi.deals.models import Deal, Pipeline

    setup_test_environment()
    print(f"machine: {benchlib.machine()}")
    print(f"load average at start: {benchlib.loadavg()}")
    if not User.objects.filter(username=benchlib.BENCH_USERNAME).exists():
        made = seed(args.deals, args.board_deals)
        print(
            f"seeded {made['deals']:,} deals and {made['changes']:,} stage changes "
            f"in {made['seconds']:.1f} s"
        )
    print(f"database: {benchlib.database_label()}, {Deal.objects.count():,} deals")

    admin = benchlib.bench_user()
    member = User.objects.get(username="owner01")
    main_pipeline = Pipeline.objects.get(name="新規営業")
    board_pipeline = Pipeline.objects.get(name="ボード計測")
    open_on_board = Deal.objects.filter(pipeline=board_pipeline, stage__outcome="open").count()
    open_total = Deal.objects.filter(stage__outcome="open").count()
    print(f"open deals: {open_total:,} in all, {open_on_board:,} on the measured board")

    rows = []

    def add(label, result, extra=""):
        rows.append((label, result, extra))
        q = f"{result['queries']:>8d}" if "queries" in result else f"{'':>8}"
        kib = f"{result['kib']:>7.0f}" if "kib" in result else f"{'':>7}"
        print(
            f"{label:<52} {result['p50']:8.1f} {result['p95']:8.1f} {result['max']:8.1f}"
            f"{q}{kib}  {extra}",
            flush=True,
        )

    print(
        f"\n{'measurement':<52} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8} {'queries':>8} {'KiB':>6}"
    )
    forecast = selectors.forecast(admin, by="month")
    add(
        f"forecast by month, admin ({forecast.total.count:,} open deals)",
        timed(lambda: selectors.forecast(admin, by="month"), args.runs),
    )
    add(
        "forecast by owner, admin",
        timed(lambda: selectors.forecast(admin, by="owner"), args.runs),
    )
    seen = selectors.forecast(member, by="month").total.count
    add(
        f"forecast by month, member ({seen:,} open deals visible)",
        timed(lambda: selectors.forecast(member, by="month"), args.runs),
    )
    add(
        "forecast by owner, member",
        timed(lambda: selectors.forecast(member, by="owner"), args.runs),
    )
    year_ago = datetime.date.today() - datetime.timedelta(days=365)
    add(
        f"stage metrics, admin ({main_pipeline.name}, deals of 12 months)",
        timed(
            lambda: selectors.stage_metrics(admin, main_pipeline, since=year_ago),
            max(3, args.runs // 2),
        ),
    )
    add(
        f"stage metrics, admin ({main_pipeline.name}, all deals)",
        timed(lambda: selectors.stage_metrics(admin, main_pipeline), max(3, args.runs // 2)),
    )

    client = Client()
    client.force_login(admin)
    add(
        f"board page, {open_on_board:,} open deals, admin",
        page(client, f"/deals/pipelines/{board_pipeline.pk}/board/", args.runs),
    )
    member_client = Client()
    member_client.force_login(member)
    add(
        "board page, same pipeline, member",
        page(member_client, f"/deals/pipelines/{board_pipeline.pk}/board/", args.runs),
    )
    add(
        "deal list page with forecasts, admin",
        page(client, f"/deals/list/?pipeline={main_pipeline.pk}", max(3, args.runs // 2)),
    )
    add(
        "conversion table (htmx part), admin",
        page(
            client,
            f"/deals/list/?pipeline={main_pipeline.pk}&part=metrics",
            max(3, args.runs // 2),
            headers={"HX-Request": "true"},
        ),
    )
    print(f"load average at end: {benchlib.loadavg()}")


if __name__ == "__main__":
    main()
