#!/usr/bin/env python
"""Time the customer search end to end on a generated database.

    .venv/bin/python bench/search_bench.py --database sqlite:////work/main/bench/out/search_1m.sqlite3 \
        [--queries 200] [--seed 7] [--rounds 1] [--compare-like] [--json out.json]

Builds a mixed set of queries from the data itself (family names, full names, readings in
hiragana / katakana / half-width kana, company names without legal form, phone fragments in
several formats, e-mail and address fragments, customer codes, the common 2-character names,
a few single characters and some misses), runs them all once to warm up, then times
`selectors.search_customers(user, q)` (candidate ids, ranking, the page of 20 and the capped
count) with time.perf_counter. Prints p50 / p95 / max overall and per query class.

--compare-like also times, for a few queries, a plain `search_text LIKE '%term%'` scan over the
same documents (capped like the search, and uncapped), for reference.

--long-vowels N (default 20) adds N readings typed with ー for their long vowels (サトー, おーの,
ゆーこ: the data writes them サトウ, オオノ, ユウコ), class `long_vowel`, after the set above (which
stays the same queries); the summary is printed with and without them.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import time
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import benchlib  # noqa: E402

# (class, share of the query set)
CLASSES = [
    ("family", 20),
    ("full_name", 20),
    ("kana_hira", 15),
    ("kana_kata", 15),
    ("kana_half", 10),
    ("company", 20),
    ("phone", 25),
    ("email", 15),
    ("address", 15),
    ("code", 10),
    ("two_char", 20),
    ("one_char", 8),
    ("miss", 7),
]
TWO_CHAR = [
    "佐藤",
    "鈴木",
    "高橋",
    "田中",
    "山田",
    "伊藤",
    "渡辺",
    "中村",
    "小林",
    "加藤",
    "吉田",
    "山本",
    "やま",
    "タナ",
    "東京",
    "商事",
    "工業",
    "横浜",
    "大阪",
    "運輸",
]
ONE_CHAR = ["林", "森", "東", "原", "関", "辻", "鷹", "ゑ"]
MISSES = [
    "存在しない会社",
    "ザザザザ",
    "xyzzy-nothing",
    "09900000000",
    "ンンン",
    "鬱々商店",
    "zz@qq",
]


def _hira(text: str) -> str:
    import jaconv

    return jaconv.kata2hira(text)


def _half(text: str) -> str:
    import jaconv

    return jaconv.z2h(text, kana=True, ascii=False, digit=False)


def _national(e164: str) -> str:
    return "0" + e164[3:] if e164.startswith("+81") else e164


def _phone_query(rng: random.Random, e164: str) -> str:
    d = _national(e164)  # 09012345678 / 0312345678 / 0521234567
    if d.startswith(("090", "080", "070")) or len(d) == 11:
        a, b, c = d[:3], d[3:7], d[7:]
    elif d.startswith(("03", "06")):
        a, b, c = d[:2], d[2:6], d[6:]
    else:
        a, b, c = d[:3], d[3:6], d[6:]
    return rng.choice(
        [
            f"{a}-{b}-{c}",  # 090-1234-5678
            d,  # 09012345678
            f"+81 {a[1:]}-{b}-{c}",  # +81 90-1234-5678
            f"+81{d[1:]}",  # +819012345678
            c,  # the last 4 digits someone remembers
            f"{b}-{c}",  # without the area code
            f"{a}-{b}",  # the start of a number
            f"０{a[1:]}－{b}－{c}".translate({ch: ch + 0xFEE0 for ch in range(0x30, 0x3A)}),
        ]
    )


def build_queries(n: int, seed: int) -> list[tuple[str, str]]:
    """[(class, query)] derived from random live customers."""
    from enishi.customers.models import Customer
    from enishi.quality import normalize

    rng = random.Random(seed)
    total = sum(share for _c, share in CLASSES)
    wanted = {c: max(1, round(n * share / total)) for c, share in CLASSES}
    max_id = Customer.objects.order_by("-id").values_list("id", flat=True).first() or 0
    ids = rng.sample(range(1, max_id + 1), min(max_id, 6000))
    fields = [
        "id",
        "kind",
        "name",
        "family_name",
        "name_kana",
        "code",
        "phone_e164",
        "mobile_e164",
        "email",
        "postal_code",
        "prefecture",
        "city",
        "town",
    ]
    people, companies = [], []
    for row in Customer.objects.filter(pk__in=ids, deleted_at__isnull=True).values(*fields):
        (companies if row["kind"] == "company" else people).append(row)
    rng.shuffle(people)
    rng.shuffle(companies)
    queries: list[tuple[str, str]] = []

    def take(cls: str, source: list[dict], make) -> None:
        got = 0
        for row in source:
            if got >= wanted[cls]:
                break
            q = make(row)
            if q:
                queries.append((cls, q))
                got += 1

    take(
        "family",
        people,
        lambda r: r["name"].split(" ")[0] if " " in r["name"] else r["family_name"],
    )
    take(
        "full_name",
        people[200:],
        lambda r: rng.choice([r["name"], r["name"].replace(" ", ""), r["name"].replace(" ", "　")]),
    )
    take(
        "kana_hira",
        people[400:],
        lambda r: (
            r["name_kana"] and _hira(rng.choice([r["name_kana"], r["name_kana"].split(" ")[0]]))
        ),
    )
    take(
        "kana_kata",
        people[600:],
        lambda r: (
            r["name_kana"]
            and rng.choice(
                [r["name_kana"], r["name_kana"].replace(" ", ""), r["name_kana"].split(" ")[0]]
            )
        ),
    )
    take(
        "kana_half",
        people[800:],
        lambda r: (
            r["name_kana"] and _half(rng.choice([r["name_kana"], r["name_kana"].split(" ")[0]]))
        ),
    )
    take(
        "company",
        companies,
        lambda r: rng.choice(
            [
                normalize.detect_legal_form(r["name"]).bare,
                normalize.detect_legal_form(r["name"]).bare,
                normalize.detect_legal_form(r["name"]).bare[:3],
            ]
        ),
    )
    phones = [r for r in people[1000:] + companies[200:] if r["mobile_e164"] or r["phone_e164"]]
    take("phone", phones, lambda r: _phone_query(rng, r["mobile_e164"] or r["phone_e164"]))
    take(
        "email",
        [r for r in people[1500:] if r["email"]],
        lambda r: rng.choice(
            [
                r["email"],
                r["email"].split("@")[0],
                "@" + r["email"].split("@")[1].split(".")[0],
                r["email"].upper(),
                r["email"].split("@")[0][:5],
            ]
        ),
    )
    take(
        "address",
        [r for r in people[2000:] + companies[400:] if r["city"]],
        lambda r: rng.choice(
            [
                r["city"],
                r["city"] + r["town"],
                r["town"] or r["city"],
                r["postal_code"] or r["city"],
                r["postal_code"].replace("-", "") or r["city"],
            ]
        ),
    )
    take(
        "code",
        [r for r in people[2500:] if r["code"]],
        lambda r: rng.choice([r["code"], r["code"].lower(), r["code"][-5:]]),
    )
    for cls, pool in (("two_char", TWO_CHAR), ("one_char", ONE_CHAR), ("miss", MISSES)):
        for i in range(wanted[cls]):
            queries.append((cls, pool[i % len(pool)]))
    return queries


def _long_vowels_as_marks(kana: str) -> str:
    """A reading with each long vowel written ー, as a user may type it (サトウ → サトー)."""
    from enishi.quality import normalize

    out, vowel = [], ""
    for ch in kana:
        if vowel and ch in normalize._LENGTHENING.get(vowel, ""):
            out.append("ー")
            vowel = ""
            continue
        out.append(ch)
        vowel = normalize._VOWEL_OF.get(ch.translate(normalize._SMALL_TO_LARGE_KANA), "")
    return "".join(out)


def build_long_vowel_queries(n: int, seed: int) -> list[tuple[str, str]]:
    """[("long_vowel", query)]: readings of random live people whose long vowels the user
    types as ー (whole reading, family or given name; katakana or hiragana)."""
    from enishi.customers.models import Customer

    rng = random.Random(seed * 1000 + 17)  # its own sequence: the main set does not move
    max_id = Customer.objects.order_by("-id").values_list("id", flat=True).first() or 0
    ids = rng.sample(range(1, max_id + 1), min(max_id, 3000))
    queries: list[tuple[str, str]] = []
    rows = Customer.objects.filter(pk__in=ids, deleted_at__isnull=True, kind="person").exclude(
        name_kana=""
    )
    for kana in rows.order_by("pk").values_list("name_kana", flat=True):
        if len(queries) >= n:
            break
        part = rng.choice([kana, *kana.split(" ")])
        typed = _long_vowels_as_marks(part)
        if typed == part:
            continue
        queries.append(("long_vowel", rng.choice([typed, _hira(typed)])))
    return queries


def time_queries(user, queries, rounds: int):
    from enishi.customers.search import SearchQuery
    from enishi.customers.selectors import search_customers

    results = []
    for _ in range(rounds):
        for i, (cls, q) in enumerate(queries):
            t = time.perf_counter()
            res = search_customers(user, q)
            dt = time.perf_counter() - t
            results.append(
                {
                    "i": i,
                    "class": cls,
                    "q": q,
                    "seconds": dt,
                    "count": res.count,
                    "capped": res.capped,
                    "method": SearchQuery(q).method,
                    "page": len(res.customers),
                }
            )
    return results


def compare_like(queries: list[tuple[str, str]]) -> list[dict]:
    """The index against a plain LIKE scan of the same documents, for a handful of queries."""
    from django.conf import settings
    from django.db import connection

    from enishi.customers.search import SearchQuery, _like_escape, candidate_ids

    cap = settings.ENISHI_COUNT_CAP + 1
    picked: dict[str, str] = {}
    for cls, q in queries:
        if cls in (
            "family",
            "full_name",
            "company",
            "phone",
            "email",
            "two_char",
            "one_char",
            "miss",
        ):
            picked.setdefault(cls, q)
    out = []
    esc = " ESCAPE '\\'" if connection.vendor == "sqlite" else ""

    def fetch(sql: str, params: list) -> list:
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            return cursor.fetchall()

    for cls, q in picked.items():
        sq = SearchQuery(q)
        like = "%" + _like_escape(sq.term) + "%"
        runs = {
            "index": lambda sq=sq: candidate_ids(sq, cap=cap),
            "like_capped": lambda like=like: fetch(
                f"SELECT id FROM customers_customer WHERE search_text LIKE %s{esc} "
                "ORDER BY id DESC LIMIT %s",
                [like, cap],
            ),
            "like_all": lambda like=like: fetch(
                f"SELECT id FROM customers_customer WHERE search_text LIKE %s{esc}", [like]
            ),
        }
        row = {"class": cls, "q": q, "method": sq.method}
        for label, fn in runs.items():
            fn()  # warm
            samples = []
            for _ in range(3):
                t = time.perf_counter()
                found = fn()
                samples.append(time.perf_counter() - t)
            row[label] = {"ms": round(statistics.median(samples) * 1000, 2), "rows": len(found)}
        out.append(row)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--database", required=True, help="a DATABASE_URL")
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--rounds", type=int, default=1, help="timed passes over the query set")
    parser.add_argument("--compare-like", action="store_true")
    parser.add_argument("--json", help="write the raw timings here")
    parser.add_argument("--slowest", type=int, default=10)
    parser.add_argument(
        "--long-vowels",
        type=int,
        default=20,
        help="readings typed with ー for their long vowels, added to the set (class long_vowel)",
    )
    parser.add_argument(
        "--user",
        default=benchlib.BENCH_USERNAME,
        help="search as this user (default: the admin `bench`, who sees every karte; "
        "`owner01` is a member who sees the ~1/9 of kartes they own)",
    )
    args = parser.parse_args()

    benchlib.setup_django(args.database, migrate=True)
    from enishi.accounts.models import User
    from enishi.customers.models import Customer
    from enishi.customers.selectors import customer_visible

    user = User.objects.get(username=args.user)
    n_customers = Customer.objects.count()
    print(f"database: {benchlib.database_label()}, {n_customers:,} customers")
    visible = customer_visible(user).count()
    print(
        f"searching as {user.username} (role {getattr(user, 'role', '?')}, "
        f"superuser {user.is_superuser}): sees {visible:,} kartes"
    )
    print(f"machine: {benchlib.machine()}")
    load_start = benchlib.loadavg()
    print(f"load average at start: {load_start}")

    t = time.perf_counter()
    queries = build_queries(args.queries, args.seed)
    if args.long_vowels:
        queries += build_long_vowel_queries(args.long_vowels, args.seed)
    print(f"{len(queries)} queries built in {time.perf_counter() - t:.1f} s")
    time_queries(user, queries, 1)  # warm-up pass (page cache, statement cache, lru caches)
    raw = time_queries(user, queries, args.rounds)
    # With several rounds each query counts once, with its median time: a query that is slow
    # every time stays slow, a hiccup of the (shared) machine does not.
    results = []
    for i in range(len(queries)):
        runs = [r for r in raw if r["i"] == i]
        results.append({**runs[0], "seconds": statistics.median(r["seconds"] for r in runs)})

    if args.rounds > 1:
        print(
            f"\nall samples ({args.rounds} rounds):",
            benchlib.fmt_summary(benchlib.summary_ms([r["seconds"] for r in raw])),
        )
        print("per-query medians:  ", end="")
    else:
        print("\nall queries:", end=" ")
    print(benchlib.fmt_summary(benchlib.summary_ms([r["seconds"] for r in results])))
    if args.long_vowels:
        print(
            "without long_vowel: ",
            benchlib.fmt_summary(
                benchlib.summary_ms([r["seconds"] for r in results if r["class"] != "long_vowel"])
            ),
        )
    by_class: dict[str, list[dict]] = defaultdict(list)
    for r in results:
        by_class[r["class"]].append(r)
    print(
        f"\n{'class':<10} {'methods':<22} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8}  "
        f"{'results (median / max, capped)':<30}"
    )
    table = {}
    for cls, _share in [*CLASSES, ("long_vowel", 0)]:
        rs = by_class.get(cls)
        if not rs:
            continue
        s = benchlib.summary_ms([r["seconds"] for r in rs])
        methods = ",".join(sorted({r["method"] for r in rs}))
        counts = [r["count"] for r in rs]
        capped = sum(r["capped"] for r in rs)
        table[cls] = {
            **s,
            "methods": methods,
            "median_count": statistics.median(counts),
            "max_count": max(counts),
            "capped": capped,
        }
        flag = "  <-- p95 over 30 ms" if s["p95"] > 30 else ""
        print(
            f"{cls:<10} {methods:<22} {s['p50']:8.2f} {s['p95']:8.2f} {s['max']:8.2f}  "
            f"{statistics.median(counts):>7,.0f} / {max(counts):>5,} ({capped} capped){flag}"
        )
    by_method: dict[str, list[float]] = defaultdict(list)
    for r in results:
        by_method[r["method"]].append(r["seconds"])
    print()
    for method, secs in sorted(by_method.items()):
        print(f"method {method:<8}", benchlib.fmt_summary(benchlib.summary_ms(secs)))
    print(f"\nslowest {args.slowest}:")
    for r in sorted(results, key=lambda r: -r["seconds"])[: args.slowest]:
        print(
            f"  {r['seconds'] * 1000:8.2f} ms  {r['class']:<10} {r['method']:<8} "
            f"count={r['count']:>5}{'+' if r['capped'] else ' '} q={r['q']!r}"
        )

    load_end = benchlib.loadavg()
    print(f"\nload average after the timed rounds: {load_end}")
    like = None
    if args.compare_like:
        like = compare_like(queries)
        print("\nindex vs plain LIKE scan (median of 3, ms / rows):")
        for row in like:
            print(
                f"  {row['class']:<10} {row['method']:<8} q={row['q']!r:<22} "
                f"index {row['index']['ms']:8.2f} / {row['index']['rows']:>5}   "
                f"LIKE capped {row['like_capped']['ms']:8.2f} / {row['like_capped']['rows']:>5}   "
                f"LIKE all {row['like_all']['ms']:8.2f} / {row['like_all']['rows']:>6}"
            )
    if args.json:
        Path(args.json).write_text(
            json.dumps(
                {
                    "database": benchlib.database_label(),
                    "customers": n_customers,
                    "machine": benchlib.machine(),
                    "user": user.username,
                    "load_average": {"start": load_start, "end": load_end},
                    "classes": table,
                    "results": results,
                    "raw": raw,
                    "like": like,
                },
                ensure_ascii=False,
                indent=1,
            )
        )


if __name__ == "__main__":
    main()
