#!/usr/bin/env python
"""Duplicate detection (名寄せ): precision / recall / F1 of the groups, time and memory.

    # the development sets (ground truth in cluster_id, never seen by the engine)
    .venv/bin/python bench/match_bench.py --csv /work/shared/data/jp_customers_dev_100k.csv.gz
    # records the rules were never tuned on (bench/gen_duplicates.py, in memory)
    .venv/bin/python bench/match_bench.py --generate 100000 --seed 7
    # the same at 1M records
    .venv/bin/python bench/match_bench.py --generate 1000000 --seed 8
    # the background scan over a database (e.g. 1M customers from bench/gen_customers.py)
    .venv/bin/python bench/match_bench.py --database sqlite:////work/main/bench/out/match_1m.sqlite3
    # the 「似たお客様がいます」 look-up on that database: 50 kartes typed again
    .venv/bin/python bench/match_bench.py --database sqlite:////work/main/bench/out/match_1m.sqlite3 \
        --similar 50

Scoring as ../shared/data/README.md says: the pairs inside each group the engine forms
(after transitive closure) against the pairs that share a cluster_id. ``--errors N`` prints
the N worst false positives and false negatives with their scores and reasons: what to read
before changing a rule. Timings are wall-clock on this machine; workers default to every core.
"""

from __future__ import annotations

import argparse
import csv
import gzip
import os
import resource
import sys
import time
from collections import Counter, defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import benchlib  # noqa: E402


def peak_rss_mb() -> tuple[float, float]:
    """Peak resident memory of this process and of its largest finished child, in MiB."""
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return own, children


def load_csv(path: str) -> list[dict]:
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rt", encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def pair_counts(groups: list[list[str]], truth: dict[str, str]) -> tuple[int, int, int]:
    """(proposed pairs, correct pairs, true pairs)."""
    proposed = correct = 0
    for members in groups:
        n = len(members)
        proposed += n * (n - 1) // 2
        by_cluster = Counter(truth[m] for m in members)
        correct += sum(k * (k - 1) // 2 for k in by_cluster.values())
    sizes = Counter(truth.values())
    true_pairs = sum(k * (k - 1) // 2 for k in sizes.values())
    return proposed, correct, true_pairs


def prf(proposed: int, correct: int, true_pairs: int) -> tuple[float, float, float]:
    p = correct / proposed if proposed else 1.0
    r = correct / true_pairs if true_pairs else 1.0
    f = 2 * p * r / (p + r) if p + r else 0.0
    return p, r, f


def _show(record: dict) -> str:
    fields = ("name", "name_kana", "company", "company_kana", "postal_code", "address")
    fields += ("phone", "email", "birth_date")
    return " | ".join(str(record.get(f, "")) for f in fields)


def print_errors(records, keys_list, groups, scored_index, truth, limit: int) -> None:
    """The worst false positives (highest scored wrong links) and false negatives (true pairs
    left apart), each with why: not blocked, scored below the threshold, or kept apart."""
    from enishi.quality import match

    index_of = {r["record_id"]: i for i, r in enumerate(records)}
    group_of: dict[str, int] = {}
    for g, members in enumerate(groups):
        for m in members:
            group_of[m] = g

    print(f"\n--- worst false positives (up to {limit}) ---")
    wrong = []
    for members in groups:
        for a_pos, a in enumerate(members):
            for b in members[a_pos + 1 :]:
                if truth[a] != truth[b]:
                    i, j = sorted((index_of[a], index_of[b]))
                    wrong.append((scored_index.get((i, j)), i, j))
    direct = sorted((w for w in wrong if w[0] is not None), key=lambda w: -w[0].score)
    print(f"{len(wrong)} wrong pairs in groups, {len(direct)} of them linked directly")
    for match_, i, j in direct[:limit]:
        print(f"{match_.score:.3f} {list(match_.reasons)}")
        print(f"   {_show(records[i])}\n   {_show(records[j])}")

    print(f"\n--- false negatives (up to {limit}) ---")
    by_cluster = defaultdict(list)
    for i, r in enumerate(records):
        by_cluster[truth[r["record_id"]]].append(i)
    missed = []
    for members in by_cluster.values():
        for x_pos, i in enumerate(members):
            for j in members[x_pos + 1 :]:
                gi = group_of.get(records[i]["record_id"])
                gj = group_of.get(records[j]["record_id"])
                if gi is None or gi != gj:
                    missed.append((min(i, j), max(i, j)))
    kinds = Counter()
    samples = defaultdict(list)
    for i, j in missed:
        found = scored_index.get((i, j))
        m = found or match.score_pair(keys_list[i], keys_list[j])
        if found is None and m.score >= match.DEFAULT_THRESHOLD:
            kind = "not blocked"
        elif m.score < match.DEFAULT_THRESHOLD:
            kind = "below threshold"
        else:
            kind = "kept apart"
        kinds[kind] += 1
        samples[kind].append((m, i, j))
    print(f"{len(missed)} true pairs apart: {dict(kinds)}")
    for kind, items in samples.items():
        items.sort(key=lambda s: -s[0].score)
        print(f"\n[{kind}]")
        step = max(1, len(items) // limit)
        for m, i, j in items[::step][:limit]:
            print(f"{m.score:.3f} {list(m.reasons)}")
            print(f"   {_show(records[i])}\n   {_show(records[j])}")


def run_records(records: list[dict], args) -> None:
    from enishi.quality import match

    truth = {r["record_id"]: r["cluster_id"] for r in records}
    # The engine never sees the truth.
    blind = [{k: v for k, v in r.items() if k != "cluster_id"} for r in records]
    workers = args.workers
    t0 = time.perf_counter()
    keys_list = match.build_keys(blind, workers=workers)
    match.prepare_keys(keys_list)
    t1 = time.perf_counter()
    with match.keys_pool(keys_list, workers) as pool:
        pairs = match.candidate_pairs(keys_list, pool=pool)
        t2 = time.perf_counter()
        scored = match.score_pairs(keys_list, pairs, pool=pool)
    t3 = time.perf_counter()
    groups = match.group_pairs(keys_list, scored, args.threshold)
    t4 = time.perf_counter()
    member_ids = [list(g.members) for g in groups]
    proposed, correct, true_pairs = pair_counts(member_ids, truth)
    p, r, f = prf(proposed, correct, true_pairs)
    largest = max((len(m) for m in member_ids), default=0)
    own, children = peak_rss_mb()
    print(f"records: {len(records):,}   workers: {workers}   threshold: {args.threshold}")
    print(f"machine: {benchlib.machine()}   load: {benchlib.loadavg()}")
    print(
        f"time: keys {t1 - t0:.1f} s, blocking {t2 - t1:.1f} s ({len(pairs):,} candidate pairs), "
        f"scoring {t3 - t2:.1f} s ({len(scored):,} kept), grouping {t4 - t3:.1f} s; "
        f"total {t4 - t0:.1f} s"
    )
    print(
        f"groups: {len(groups):,}   largest group: {largest}   grouped records: "
        f"{sum(len(m) for m in member_ids):,}"
    )
    print(f"pairs: proposed {proposed:,}, correct {correct:,}, true {true_pairs:,}")
    print(f"precision {p:.4f}   recall {r:.4f}   F1 {f:.4f}")
    print(f"peak memory: parent {own:,.0f} MiB, largest worker {children:,.0f} MiB")
    if args.errors:
        scored_index = {(i, j): m for _s, i, j, m in scored}
        print_errors(records, keys_list, member_ids, scored_index, truth, args.errors)


def run_database(args) -> None:
    import logging

    benchlib.setup_django(args.database)
    # The scan logs its phases (keys, blocking, scoring, grouping) at INFO.
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(logging.Formatter("  %(message)s"))
    scan_logger = logging.getLogger("enishi.quality.scan")
    scan_logger.addHandler(handler)
    scan_logger.setLevel(logging.INFO)
    scan_logger.propagate = False
    from enishi.quality.scan import scan_customers

    last = [0.0]

    def progress(done: int, total: int) -> None:
        now = time.perf_counter()
        if now - last[0] > 10 or done == total:
            last[0] = now
            print(f"  {done:>10,} / {total:,}  {now - t0:6.1f} s", flush=True)

    print(f"database: {benchlib.database_label()}")
    print(f"machine: {benchlib.machine()}   load: {benchlib.loadavg()}")
    t0 = time.perf_counter()
    pairs = scan_customers(threshold=args.threshold, workers=args.workers, progress=progress)
    elapsed = time.perf_counter() - t0
    groups = Counter(p.group for p in pairs)
    members: dict[int, set[int]] = defaultdict(set)
    for p in pairs:
        members[p.group].update((p.a_id, p.b_id))
    own, children = peak_rss_mb()
    print(
        f"scan: {elapsed:.1f} s   pairs: {len(pairs):,}   groups: {len(groups):,}   "
        f"largest group: {max((len(m) for m in members.values()), default=0)}"
    )
    print(f"peak memory: parent {own:,.0f} MiB, largest worker {children:,.0f} MiB")
    for p in pairs[: args.errors]:
        print(f"  {p}")


def run_similar(args) -> None:
    """「似たお客様がいます」: each sample karte's own details typed again, as the admin and as
    a member (owner01 of bench/gen_customers.py); server time and queries per look-up."""
    import statistics

    benchlib.setup_django(args.database)
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from enishi.accounts.models import User
    from enishi.customers.models import Customer
    from enishi.quality.similar import similar_customers

    print(f"database: {benchlib.database_label()}")
    print(f"machine: {benchlib.machine()}   load: {benchlib.loadavg()}")
    people = Customer.objects.filter(kind="person", deleted_at__isnull=True).exclude(mobile="")
    step = max(1, people.count() // args.similar)
    samples = list(people.order_by("pk")[: step * args.similar : step])
    fields = ("name", "name_kana", "phone", "mobile", "email", "postal_code")
    for username in (benchlib.BENCH_USERNAME, "owner01"):
        user = User.objects.get(username=username)
        times, queries, found = [], 0, 0
        for customer in samples:
            data = {f: getattr(customer, f) for f in fields}
            t = time.perf_counter()
            with CaptureQueriesContext(connection) as ctx:
                found += len(similar_customers(user, data))
            times.append(time.perf_counter() - t)
            queries = max(queries, len(ctx.captured_queries))
        print(
            f"{username}: {len(samples)} look-ups, median {statistics.median(times) * 1000:.1f} ms, "
            f"max {max(times) * 1000:.1f} ms, at most {queries} queries, {found} kartes offered"
        )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--csv", help="a development set (.csv.gz with cluster_id)")
    source.add_argument("--generate", type=int, metavar="N", help="N generated records")
    source.add_argument("--database", help="a DATABASE_URL to scan with quality.scan")
    parser.add_argument("--seed", type=int, default=7, help="seed for --generate")
    parser.add_argument("--workers", type=int, default=len(os.sched_getaffinity(0)))
    parser.add_argument("--threshold", type=float, default=None)
    parser.add_argument("--errors", type=int, default=0, help="print N worst errors")
    parser.add_argument(
        "--similar", type=int, default=0, metavar="N", help="with --database: time N look-ups"
    )
    args = parser.parse_args()
    if args.database and args.similar:
        run_similar(args)
        return
    if args.database:
        if args.threshold is None:
            args.threshold = 0.0
            from importlib import import_module

            benchlib.setup_django(args.database)
            args.threshold = import_module("enishi.quality.match").DEFAULT_THRESHOLD
        run_database(args)
        return
    benchlib.setup_django(None)
    from enishi.quality import match

    if args.threshold is None:
        args.threshold = match.DEFAULT_THRESHOLD
    if args.csv:
        t = time.perf_counter()
        records = load_csv(args.csv)
        print(f"loaded {args.csv} in {time.perf_counter() - t:.1f} s")
    else:
        import gen_duplicates

        t = time.perf_counter()
        records, meta = gen_duplicates.generate(args.generate, args.seed)
        print(
            f"generated {args.generate:,} records (seed {args.seed}) in "
            f"{time.perf_counter() - t:.1f} s: {meta}"
        )
    run_records(records, args)


if __name__ == "__main__":
    main()
