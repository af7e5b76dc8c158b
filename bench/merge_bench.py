"""Merging and the duplicates queue at size: a merge (and its undo) of a karte with thousands
of activities, saving a scan's candidate pairs, and the queue's first page.

    python bench/merge_bench.py [--activities 5000] [--pairs 100000] \
        [--database sqlite:////tmp/merge_bench.sqlite3]

The database is migrated and filled by the script (a throwaway file is best). The matching
itself (the scan's comparing) is measured by bench/match_bench.py.
"""

from __future__ import annotations

import argparse
import statistics
import time

from benchlib import database_label, machine, setup_django


def _kartes(actor, count: int, label: str) -> list[int]:
    from enishi.customers.models import Customer
    from enishi.customers.services import apply_derived_fields

    rows = []
    for i in range(count):
        customer = Customer(kind="person", name=f"{label} {i}", owner=actor, created_by=actor)
        apply_derived_fields(customer)
        rows.append(customer)
    created = Customer.objects.bulk_create(rows, batch_size=5000)
    _analyze()
    return [c.pk for c in created]


def _analyze() -> None:
    """Fresh planner statistics after a bulk load, as autovacuum would make them a little
    later: without them PostgreSQL checks each foreign key by walking a whole index (2 ms a
    row instead of 6 µs)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")


def bench_merge(actor, activities: int, rounds: int) -> dict[str, list[float]]:
    from enishi.activities.models import Activity, Task
    from enishi.core import testing
    from enishi.customers.models import Customer
    from enishi.quality.merge import customer_merge
    from enishi.quality.merge_undo import customer_merge_undo

    times: dict[str, list[float]] = {"merge": [], "undo": []}
    for r in range(rounds):
        survivor = testing.make_customer(actor, name=f"統合 太郎{r}", mobile="090-1234-5678")
        other = testing.make_customer(actor, name=f"統合 太郎{r}", phone="03-1234-5678")
        Activity.objects.bulk_create(
            [Activity(customer=other, type="call", subject=f"電話 {i}") for i in range(activities)],
            batch_size=5000,
        )
        Task.objects.bulk_create(
            [Task(customer=other, title=f"タスク {i}") for i in range(activities // 10)]
        )
        _analyze()
        start = time.perf_counter()
        done = customer_merge(
            actor=actor,
            survivor=Customer.objects.get(pk=survivor.pk),
            others=[Customer.objects.get(pk=other.pk)],
            choices={"keep_phones": True},
        )
        times["merge"].append(time.perf_counter() - start)
        start = time.perf_counter()
        customer_merge_undo(actor=actor, merge=done)
        times["undo"].append(time.perf_counter() - start)
    return times


def bench_queue(actor, pairs: int) -> dict[str, float]:
    from enishi.quality import selectors, services
    from enishi.quality.scan import ScanPair

    ids = _kartes(actor, pairs * 2, "候補")
    found = [
        ScanPair(ids[2 * i], ids[2 * i + 1], 0.5 + (i % 50) / 100, ("same_name",), i + 1)
        for i in range(pairs)
    ]
    scan, _created = services.scan_create(actor=actor)
    out = {}
    start = time.perf_counter()
    services.candidates_replace(scan=scan, pairs=found)
    out["save (first)"] = time.perf_counter() - start
    start = time.perf_counter()
    services.candidates_replace(scan=scan, pairs=found)
    out["save (replacing)"] = time.perf_counter() - start
    from django.conf import settings

    from enishi.customers.selectors import capped_count

    filters = selectors.QueueFilters()
    start = time.perf_counter()
    qs = selectors.duplicate_queue(actor, filters)
    count, _capped = capped_count(qs, cap=settings.ENISHI_COUNT_CAP * 10)
    page = list(qs[:50])
    out["queue page (capped count + 50 rows)"] = time.perf_counter() - start
    assert count == min(pairs, settings.ENISHI_COUNT_CAP * 10) and len(page) == 50
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--database", default="sqlite:////tmp/merge_bench.sqlite3")
    parser.add_argument("--activities", type=int, default=5000)
    parser.add_argument("--pairs", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    setup_django(args.database, migrate=True)
    from enishi.core import testing

    actor = testing.make_user(f"merge{time.time_ns()}", admin=True)
    print(machine())
    print(database_label())
    merge = bench_merge(actor, args.activities, args.rounds)
    for name, values in merge.items():
        print(
            f"{name:<30} {args.activities:,} activities + {args.activities // 10:,} tasks: "
            f"median {statistics.median(values):.2f} s (runs: "
            + ", ".join(f"{v:.2f}" for v in values)
            + ")"
        )
    for name, seconds in bench_queue(actor, args.pairs).items():
        print(f"{name:<30} {args.pairs:,} pairs: {seconds:.2f} s")


if __name__ == "__main__":
    main()
