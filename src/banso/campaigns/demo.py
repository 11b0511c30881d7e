"""Demo affiliate offers and CRM of PLUG, the cashback browser extension (seed 000).

What is built (today = the demo's reference date):

- 38 advertisers and their 40 offers (案件) from A8.net, ValueCommerce, afb, もしもアフィリエイト and アクセストレード
  over EC, travel, restaurants, credit cards, financial accounts and services, with rate or fixed-yen rewards,
  conditions and cashback shares, walked through the offers service: 28 published (出稿中), 3 paused, 3 ended,
  3 configured with the publishing checklist half done, 3 just partnership-approved.
- Special rates (特別単価) through the rates service: periods over the past five months (the forecasts' uplift
  history), six in force now, and at the coming month turn ends, starts, a back-to-back hand-over, a start a
  day late (flagged as a gap) and an end at 23:59 instead of 24:00 (flagged as off the boundary), one cancelled;
  the past switches applied one instant after another by `rates.apply_due`, as the minute job applies them.
- 3,000 extension users with seven months of visits to the advertisers' sites and clicks on their offers
  (events through the event store; results follow the clicks, more of them while a special rate pays more), and
  the ASPs' result reports (A8.net and ValueCommerce in their own layouts and cp932, the others in Banso's
  standard columns) imported as files through the import service: the period with the decisions (確定/否認)
  made on older results, last month's and this month's as first reported (発生), then the report deciding those
  since (updated in place). About 3,000 results, tied to users by the click ids, a few untraceable. Each
  month's approved cashback is paid on the 10th of the next month; the rest is owed.
- Two forecasts with their 80 % interval (a rate and a fixed-yen offer, next month) and one backtest run.
- Web Push subscriptions for a third of the users (fake endpoints at https://push.example.jp/ with real P-256
  keys); visited-site segments; a campaign sent five days ago (its outbox batch left as the worker's pass would
  have: recipients delivered, a few answered 410 Gone and their subscription revoked; some clicked the tracked
  link and converted, results synced), one scheduled for tomorrow 10:00 Tokyo and one draft.

Everything is under its own source ("demo-plug"). A second run adds nothing (each part is skipped when its
rows exist). `ctx.shared["campaigns.scale"]` shrinks the users and their activity (tests).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import numpy.typing as npt
import polars as pl
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from django.db import transaction
from django.utils import timezone

from banso.accounts.choices import AccountKind, EndUserKind
from banso.accounts.models import Account, EndUser
from banso.activity import lake
from banso.activity.models import Event, ImportJob, ImportStatus
from banso.activity.services import import_path, upload_dir
from banso.activity.store import append_events
from banso.analytics.models import Segment
from banso.core.calendar import month_start
from banso.core.demo import DemoContext, person_name
from banso.core.models import RunStatus, User
from banso.core.text import search_key
from banso.playbooks.models import MessageStatus, OutboxMessage

from . import forecasts, offers, push, rates
from .conversions import REPORT_FORMATS, mark_cashback_paid
from .models import (
    Asp,
    BacktestRun,
    Channel,
    Conversion,
    ConversionStatus,
    Delivery,
    DeliveryStatus,
    Forecast,
    Offer,
    OfferCategory,
    OfferStatus,
    PushCampaign,
    PushSubscription,
    RewardType,
    SendRun,
    SpecialRate,
)

TOKYO = ZoneInfo("Asia/Tokyo")
DEMO_SOURCE = "demo-plug"
SCALE_KEY = "campaigns.scale"
USERS = 3_000
VISITS_PER_DAY = 550
HISTORY_MONTHS = 7  # activity from the 1st of the month seven months back
SUBSCRIBED_SHARE = 0.35
ELASTICITY = 0.7  # conversions grow with the reward ratio to this power (what the forecasts then measure)
LOST_CLICKS = 0.012  # share of results whose click the extension never recorded (untraceable)
REPORT_FOLDER = "demo-plug"  # under the uploads folder: the imported report files
PAYOUT_DAY = 10
P256_ORDER = int("FFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551", 16)
USER_AGENTS = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36 "
    "Edg/131.0",
)

# Advertisers ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class AdvertiserSpec:
    key: str
    name: str
    kana: str
    industry: str
    slug: str  # the site: https://<slug>.example.jp/
    popularity: float  # relative visits of PLUG's users to the site


ADVERTISERS: tuple[AdvertiserSpec, ...] = tuple(
    AdvertiserSpec(*row)
    for row in (
        ("midori", "ミドリ電機オンライン", "ミドリデンキオンライン", "家電通販", "midori-denki", 10.0),
        ("hanamaru", "はなまるコスメ公式通販", "ハナマルコスメコウシキツウハン", "化粧品通販",
         "hanamaru-cosme", 5.0),
        ("hidamari", "ひだまりファッション", "ヒダマリファッション", "アパレル通販", "hidamari-fashion", 6.0),
        ("chokusou", "ふるさと直送便", "フルサトチョクソウビン", "産直グルメ通販", "furusato-direct", 3.0),
        ("kurashi", "くらしの家具ストア", "クラシノカグストア", "家具・インテリア通販", "kurashi-kagu", 4.0),
        ("aozora", "ブックスあおぞら", "ブックスアオゾラ", "書籍・電子書籍", "books-aozora", 4.0),
        ("sportsdepo", "スポーツデポ・ウェブ", "スポーツデポウェブ", "スポーツ用品通販", "sportsdepo", 3.0),
        ("marche", "ベビーと暮らしのマルシェ", "ベビートクラシノマルシェ", "ベビー用品通販", "baby-marche", 2.0),
        ("shippo", "ペットのしっぽ", "ペットノシッポ", "ペット用品通販", "pet-shippo", 2.0),
        ("sunrise", "サンライズドラッグ", "サンライズドラッグ", "ドラッグストア通販", "sunrise-drug", 5.0),
        ("wine", "青空ワインセラー", "アオゾラワインセラー", "酒類通販", "aozora-wine", 1.0),
        ("megane", "メガネのひかり", "メガネノヒカリ", "眼鏡・コンタクト通販", "megane-hikari", 1.0),
        ("sakura", "さくらトラベル", "サクラトラベル", "宿泊予約", "sakura-travel", 6.0),
        ("tabi", "たびの窓口", "タビノマドグチ", "国内ツアー", "tabi-madoguchi", 3.0),
        ("sorairo", "そらいろ航空券", "ソライロコウクウケン", "航空券予約", "sorairo-air", 3.0),
        ("yukemuri", "ゆけむり温泉宿ナビ", "ユケムリオンセンヤドナビ", "温泉宿予約", "yukemuri-navi", 2.0),
        ("rentacar", "ワールドレンタカー", "ワールドレンタカー", "レンタカー予約", "world-rentacar", 2.0),
        ("bus", "高速バスのりば", "コウソクバスノリバ", "高速バス予約", "bus-noriba", 2.0),
        ("wifi", "グローバルスマイルWiFi", "グローバルスマイルワイファイ", "海外Wi-Fiレンタル",
         "globalsmile-wifi", 1.0),
        ("gourmet", "グルメの予約帳", "グルメノヨヤクチョウ", "飲食店予約", "gourmet-yoyaku", 4.0),
        ("omotenashi", "焼肉おもてなし亭", "ヤキニクオモテナシテイ", "焼肉チェーン", "omotenashi-tei", 1.0),
        ("pizza", "ピザ・ドミナス", "ピザドミナス", "宅配ピザ", "pizza-dominus", 3.0),
        ("gohan", "ごはんデリ", "ゴハンデリ", "ミールキット定期便", "gohan-deli", 2.0),
        ("chidori", "居酒屋ちどり", "イザカヤチドリ", "居酒屋チェーン", "izakaya-chidori", 1.0),
        ("mirai", "みらいカード", "ミライカード", "クレジットカード", "mirai-card", 6.0),
        ("star", "スターポイントカード", "スターポイントカード", "クレジットカード", "star-point-card", 4.0),
        ("aoba", "あおば銀行", "アオバギンコウ", "銀行", "aoba-bank", 3.0),
        ("skymile", "スカイマイルカード", "スカイマイルカード", "クレジットカード", "skymile-card", 1.0),
        ("rookie", "ルーキーカード", "ルーキーカード", "クレジットカード", "rookie-card", 1.0),
        ("himawari", "ひまわり証券", "ヒマワリショウケン", "証券", "himawari-sec", 2.0),
        ("fx", "つみたてFX", "ツミタテエフエックス", "FX", "tsumitate-fx", 1.0),
        ("hoken", "ほけんの相談ひろば", "ホケンノソウダンヒロバ", "保険相談", "hoken-hiroba", 1.0),
        ("hikarinet", "ひかり光ネット", "ヒカリヒカリネット", "光回線", "hikari-net", 2.0),
        ("cinema", "シネマパス", "シネマパス", "動画配信", "cinemapass", 4.0),
        ("music", "ミュージックウェーブ", "ミュージックウェーブ", "音楽配信", "musicwave", 3.0),
        ("kotoba", "ことばの森", "コトバノモリ", "オンライン英会話", "kotoba-mori", 1.0),
        ("hikkoshi", "らくらく引越し見積もり", "ラクラクヒッコシミツモリ", "引越し見積もり",
         "rakuraku-hikkoshi", 1.0),
        ("gift", "ふるさとギフト", "フルサトギフト", "ふるさと納税", "furusato-gift", 3.0),
    )
)  # fmt: skip

# Offers ------------------------------------------------------------------------------------------------------

EC, TRAVEL, RESTAURANT = OfferCategory.EC, OfferCategory.TRAVEL, OfferCategory.RESTAURANT
CARD, FINANCE, SERVICE = OfferCategory.CARD, OfferCategory.FINANCE, OfferCategory.SERVICE
RATE, FIXED = RewardType.RATE.value, RewardType.FIXED.value
APPROVED, CONFIGURED = OfferStatus.APPROVED.value, OfferStatus.CONFIGURED.value
PUBLISHED, PAUSED, ENDED = OfferStatus.PUBLISHED.value, OfferStatus.PAUSED.value, OfferStatus.ENDED.value


@dataclass(frozen=True)
class OfferSpec:
    key: str
    advertiser: str
    asp: str
    program: str  # the program id at the ASP
    name: str
    category: str
    reward_type: str
    base: str  # "3.00" (%) or "8000" (yen)
    share: int  # cashback share, %
    conditions: str
    status: str = PUBLISHED
    published: int = 600  # days before today it was published
    stopped: int = 0  # days before today it was paused or ended
    order: int | None = None  # median order amount in yen (None: the category's)


OFFERS: tuple[OfferSpec, ...] = (
    OfferSpec("midori", "midori", "a8", "s00000019432001", "ミドリ電機オンライン 商品購入", EC, RATE, "3.00", 50,
              "新規・既存とも対象。送料・手数料・税を除く購入金額が対象。キャンセル・返品・支払い未完了は否認。",
              published=700),
    OfferSpec("hanamaru", "hanamaru", "valuecommerce", "887104531", "はなまるコスメ公式通販 初回購入", EC, RATE,
              "8.00", 60, "初回購入のみ対象。定期便は初回分のみ。返品・受取拒否は否認。", published=420),
    OfferSpec("hidamari", "hidamari", "afb", "48213", "ひだまりファッション 商品購入", EC, RATE, "6.00", 50,
              "セール品も対象。ギフトカードの購入は対象外。返品・交換は否認。", published=610),
    OfferSpec("chokusou", "chokusou", "moshimo", "3120", "ふるさと直送便 お取り寄せ購入", EC, RATE, "5.00", 50,
              "定期便・ギフト配送も対象。キャンセルは否認。", published=380),
    OfferSpec("kurashi", "kurashi", "valuecommerce", "887209876", "くらしの家具ストア 商品購入", EC, RATE,
              "4.00", 50, "大型家具の配送料・組立料は対象外。キャンセル・返品は否認。", published=500,
              order=24_000),
    OfferSpec("aozora", "aozora", "a8", "s00000021877001", "ブックスあおぞら 書籍・電子書籍購入", EC, RATE,
              "2.50", 40, "電子書籍・紙の書籍とも対象。ポイント利用分は対象外。", published=650, order=2_600),
    OfferSpec("sportsdepo", "sportsdepo", "accesstrade", "10034512", "スポーツデポ・ウェブ 商品購入", EC, RATE,
              "4.00", 50, "返品・交換は否認。", published=300),
    OfferSpec("marche", "marche", "a8", "s00000022561001", "ベビーと暮らしのマルシェ 商品購入", EC, RATE,
              "5.00", 50, "出産準備品・定期便も対象。返品は否認。", published=250),
    OfferSpec("shippo", "shippo", "afb", "51044", "ペットのしっぽ 初回購入", EC, RATE, "7.00", 50,
              "初回購入のみ。定期購入は初回分が対象。", published=200, order=5_400),
    OfferSpec("sunrise", "sunrise", "moshimo", "3388", "サンライズドラッグ 商品購入", EC, RATE, "3.00", 50,
              "医薬品も対象。送料は対象外。キャンセルは否認。", published=560, order=4_800),
    OfferSpec("wine", "wine", "accesstrade", "10041877", "青空ワインセラー 商品購入", EC, RATE, "8.00", 50,
              "20歳以上の方の購入のみ対象。", status=ENDED, published=480, stopped=40),
    OfferSpec("megane", "megane", "a8", "s00000024410001", "メガネのひかり オンライン購入", EC, RATE, "10.00", 50,
              "度付きレンズを含む購入金額が対象。店舗受取は対象外。", status=APPROVED),
    OfferSpec("sakura", "sakura", "valuecommerce", "887311204", "さくらトラベル 国内宿泊予約", TRAVEL, RATE,
              "2.00", 50, "宿泊完了後に確定。キャンセル・不泊は否認。", published=700),
    OfferSpec("tabi", "tabi", "a8", "s00000018830001", "たびの窓口 国内ツアー予約", TRAVEL, RATE, "3.00", 50,
              "出発後に確定。キャンセルは否認。", published=450, order=58_000),
    OfferSpec("sorairo", "sorairo", "afb", "46101", "そらいろ航空券 航空券予約", TRAVEL, FIXED, "500", 50,
              "片道・往復とも1予約1件。搭乗完了で確定。", published=520),
    OfferSpec("yukemuri", "yukemuri", "moshimo", "2951", "ゆけむり温泉宿ナビ 宿泊予約", TRAVEL, RATE, "4.00", 50,
              "宿泊完了で確定。キャンセルは否認。", published=330),
    OfferSpec("rentacar", "rentacar", "accesstrade", "10038220", "ワールドレンタカー 予約", TRAVEL, FIXED, "800",
              50, "貸渡完了で確定。当日キャンセルは否認。", published=290),
    OfferSpec("bus", "bus", "valuecommerce", "887150090", "高速バスのりば 乗車券予約", TRAVEL, FIXED, "150", 50,
              "乗車完了で確定。", status=PAUSED, published=400, stopped=24),
    OfferSpec("wifi", "wifi", "a8", "s00000025003001", "グローバルスマイルWiFi 海外Wi-Fiレンタル", TRAVEL, FIXED,
              "600", 50, "返却完了で確定。", status=CONFIGURED),
    OfferSpec("gourmet", "gourmet", "valuecommerce", "887402215", "グルメの予約帳 ネット予約", RESTAURANT, FIXED,
              "200", 50, "来店確認後に確定。無断キャンセルは否認。", published=600),
    OfferSpec("omotenashi", "omotenashi", "a8", "s00000024988001", "焼肉おもてなし亭 ネット予約", RESTAURANT,
              FIXED, "300", 50, "2名以上のコース予約が対象。来店確認後に確定。", status=CONFIGURED),
    OfferSpec("pizza", "pizza", "accesstrade", "10029874", "ピザ・ドミナス デリバリー注文", RESTAURANT, RATE,
              "5.00", 50, "持ち帰り注文も対象。クーポン併用可。", published=540),
    OfferSpec("gohan", "gohan", "afb", "52230", "ごはんデリ ミールキット初回注文", RESTAURANT, FIXED, "2000",
              50, "初回お届け完了で確定。お試しセットは対象外。", published=260),
    OfferSpec("chidori", "chidori", "valuecommerce", "887099412", "居酒屋ちどり ネット予約", RESTAURANT, FIXED,
              "250", 50, "来店確認後に確定。", status=ENDED, published=500, stopped=75),
    OfferSpec("mirai", "mirai", "a8", "s00000016002001", "みらいカード 新規入会", CARD, FIXED, "8000", 40,
              "新規発行かつ発行後60日以内の利用で確定。過去6か月以内に同社カードを解約した方は否認。",
              published=720),
    OfferSpec("mirai_gold", "mirai", "valuecommerce", "887120871", "みらいカード ゴールド 新規入会", CARD, FIXED,
              "12000", 40, "新規発行で確定。審査否決・本人確認未完了は否認。", published=520),
    OfferSpec("star", "star", "moshimo", "2744", "スターポイントカード 新規発行", CARD, FIXED, "10000", 40,
              "新規発行で確定。審査否決・本人確認未完了は否認。", published=610),
    OfferSpec("aoba_card", "aoba", "accesstrade", "10022345", "あおば銀行カード 新規発行", CARD, FIXED, "6000",
              40, "新規発行で確定。", status=PAUSED, published=450, stopped=52),
    OfferSpec("skymile", "skymile", "afb", "50087", "スカイマイルカード 新規入会", CARD, FIXED, "15000", 40,
              "新規発行かつ年会費の初回支払いで確定。", status=CONFIGURED),
    OfferSpec("rookie", "rookie", "a8", "s00000025120001", "ルーキーカード 学生向け新規発行", CARD, FIXED, "4000",
              40, "18歳から25歳までの学生の新規発行が対象。", status=APPROVED),
    OfferSpec("himawari", "himawari", "a8", "s00000017715001", "ひまわり証券 口座開設", FINANCE, FIXED, "5000",
              40, "口座開設と1万円以上の入金で確定。", published=680),
    OfferSpec("aoba", "aoba", "valuecommerce", "887133302", "あおば銀行 口座開設", FINANCE, FIXED, "3000", 40,
              "口座開設と初回ログインで確定。", published=470),
    OfferSpec("fx", "fx", "afb", "47925", "つみたてFX 口座開設", FINANCE, FIXED, "8000", 40,
              "口座開設と初回取引で確定。", published=90),
    OfferSpec("hoken", "hoken", "accesstrade", "10019003", "ほけんの相談ひろば 無料相談", FINANCE, FIXED,
              "10000", 40, "面談完了で確定。", status=ENDED, published=600, stopped=130),
    OfferSpec("hikarinet", "hikarinet", "a8", "s00000020114001", "ひかり光ネット 新規申込", SERVICE, FIXED,
              "12000", 40, "開通完了で確定。転用・事業者変更も対象。", published=540),
    OfferSpec("cinema", "cinema", "valuecommerce", "887355140", "シネマパス 無料体験登録", SERVICE, FIXED,
              "1200", 50, "31日間無料体験の登録で確定。過去に登録歴のある方は否認。", published=600),
    OfferSpec("music", "music", "moshimo", "3011", "ミュージックウェーブ 無料体験登録", SERVICE, FIXED, "800", 50,
              "無料体験の登録で確定。", status=PAUSED, published=380, stopped=11),
    OfferSpec("kotoba", "kotoba", "afb", "53102", "ことばの森 オンライン英会話 無料体験", SERVICE, FIXED,
              "1500", 50, "無料体験レッスンの受講で確定。", status=APPROVED),
    OfferSpec("hikkoshi", "hikkoshi", "accesstrade", "10044019", "らくらく引越し見積もり 一括見積もり", SERVICE,
              FIXED, "2500", 50, "見積もり依頼の完了で確定。重複依頼は否認。", published=120),
    OfferSpec("gift", "gift", "a8", "s00000019980001", "ふるさとギフト ふるさと納税", SERVICE, RATE, "3.00", 50,
              "寄附金額が対象。", published=590, order=18_000),
)  # fmt: skip

# Per category: clicks per visit, results per click, approval rate, days to the ASP's decision, median order amount
# (0: the report carries none), median minutes from the click to the result.
BEHAVIOUR: dict[str, tuple[float, float, float, tuple[int, int], int, float]] = {
    EC: (0.22, 0.14, 0.90, (25, 50), 7_800, 25),
    TRAVEL: (0.20, 0.06, 0.82, (30, 75), 36_000, 40),
    RESTAURANT: (0.20, 0.11, 0.80, (10, 35), 4_200, 15),
    CARD: (0.18, 0.06, 0.58, (45, 90), 0, 12),
    FINANCE: (0.18, 0.05, 0.65, (30, 60), 0, 15),
    SERVICE: (0.20, 0.06, 0.75, (20, 45), 0, 10),
}


@dataclass(frozen=True)
class RateSpec:
    """A special rate from (months from this month, days, minutes) to (...), Tokyo."""

    offer: str
    start: tuple[int, int, int]
    end: tuple[int, int, int]
    value: str
    note: str
    cancelled: bool = False


RATES: tuple[RateSpec, ...] = (
    RateSpec("midori", (-5, 0, 0), (-4, 0, 0), "5.00", "広告主の強化月間"),
    RateSpec("midori", (-3, 0, 0), (-2, 0, 0), "6.00", "新生活家電フェアに合わせた強化"),
    RateSpec("midori", (-2, 14, 0), (-1, 0, 0), "4.50", "月後半の獲得強化"),
    RateSpec("midori", (0, 0, 0), (1, 0, 0), "6.00", "決算セールに合わせた特別単価"),
    RateSpec("hanamaru", (-4, 0, 0), (-3, 0, 0), "12.00", "新商品発売記念"),
    RateSpec("hanamaru", (-1, 14, 0), (1, 14, 0), "11.00", "限定コフレの予約期間"),
    RateSpec("hidamari", (-5, 14, 0), (-4, 14, 0), "9.00", "シーズン立ち上がりの強化"),
    RateSpec("hidamari", (-1, 0, 0), (0, 0, 0), "8.00", "新作コレクションの強化"),
    RateSpec("sunrise", (-4, 0, 0), (-3, 0, 0), "5.00", "広告主の強化月間"),
    RateSpec("pizza", (-4, 7, 0), (-4, 21, 0), "8.00", "2週間限定の強化"),
    RateSpec("sakura", (-5, 0, 0), (-3, 0, 0), "3.50", "2か月間の宿泊予約強化"),
    RateSpec("sakura", (-1, 0, 0), (0, 0, 0), "3.00", "連休前の予約強化"),
    RateSpec("sakura", (1, 0, 0), (2, 0, 0), "4.00", "広告主の強化月間（提案済み）"),
    RateSpec("tabi", (1, 0, 0), (2, 0, 0), "5.00", "ツアー予約キャンペーン"),
    RateSpec("yukemuri", (1, 0, 0), (2, 0, 0), "6.00", "広告主の予算都合で中止", cancelled=True),
    RateSpec("gourmet", (-3, 0, 0), (-2, 0, 0), "300", "宴会予約の強化"),
    RateSpec("gourmet", (1, 0, 0), (3, 0, 0), "350", "宴会シーズンの2か月強化"),
    RateSpec("chidori", (-5, 0, 0), (-4, 0, 0), "350", "宴会プランの強化"),
    RateSpec("mirai", (-4, 0, 0), (-3, 0, 0), "12000", "入会キャンペーン"),
    RateSpec("mirai", (-2, 0, 0), (-1, 0, 0), "11000", "入会キャンペーン"),
    RateSpec("mirai", (0, 0, 0), (1, 0, 0), "12000", "入会キャンペーン（当月）"),
    RateSpec("mirai", (1, 0, 0), (2, 0, 0), "13000", "入会キャンペーン（翌月・増額）"),
    RateSpec("aoba_card", (-3, 0, 0), (-2, 0, 0), "9000", "発行キャンペーン"),
    RateSpec("himawari", (-3, 0, 0), (-2, 0, 0), "8000", "口座開設キャンペーン"),
    RateSpec("himawari", (0, 0, 0), (2, 0, 0), "7000", "2か月間の口座開設キャンペーン"),
    RateSpec("cinema", (-5, 0, 0), (-4, 0, 0), "2000", "独占配信作品の公開記念"),
    RateSpec("cinema", (-2, 0, 0), (-1, 0, 0), "1800", "登録者獲得の強化"),
    RateSpec("cinema", (0, 0, 0), (1, 0, 0), "1800", "新作独占配信に合わせた強化"),
    RateSpec("cinema", (1, 1, 0), (2, 0, 0), "2000", "翌月の強化（開始日は広告主に確認中）"),
    RateSpec("hikarinet", (0, 0, 0), (1, 0, -1), "15000", "広告主指定の期間（月末まで）"),
    RateSpec("gift", (-2, 0, 0), (-1, 0, 0), "5.00", "寄附の駆け込み時期の強化"),
    RateSpec("gift", (1, 0, 0), (2, 0, 0), "6.00", "寄附の駆け込み時期の強化"),
)

# Push ----------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CampaignSpec:
    name: str
    advertiser: str  # whose site the segment's users visited; the campaign is about its offer of the same key
    days: tuple[int, int]  # visited between these many days ago
    segment: str
    title: str
    body: str


SENT = CampaignSpec(
    "ミドリ電機オンライン 還元率アップのお知らせ",
    "midori",
    (3, 7),
    "ミドリ電機オンラインを3〜7日前に訪問・未購入",
    "ミドリ電機オンラインの還元率がアップ中",
    "今月末まで還元率が通常の2倍。気になっていた家電をお得に買うなら今です。",
)
SCHEDULED = CampaignSpec(
    "はなまるコスメ 限定コフレ特別還元",
    "hanamaru",
    (1, 14),
    "はなまるコスメ公式通販を1〜14日前に訪問・未購入",
    "はなまるコスメで特別還元を実施中",
    "限定コフレの予約期間は還元率アップ。PLUG経由のご購入でキャッシュバックが増えます。",
)
DRAFT = CampaignSpec(
    "さくらトラベル 来月の特別単価のお知らせ（下書き）",
    "sakura",
    (1, 30),
    "さくらトラベルを1〜30日前に訪問・未予約",
    "さくらトラベルの宿泊予約が還元率アップ",
    "来月1日から国内宿泊の還元率がアップします。旅行の計画はPLUGからどうぞ。",
)
CAMPAIGNS = (SENT, SCHEDULED, DRAFT)
SENT_DAYS_AGO = 5
PUSH_CLICK_RATE = 0.16
PUSH_CONVERT_AFTER_CLICK = 0.3
PUSH_CONVERT_WITHOUT_CLICK = 0.02
GONE_SHARE = 0.03  # subscriptions the push service answered 410 Gone for

Ints = npt.NDArray[np.int64]
Floats = npt.NDArray[np.float64]


def _scale(ctx: DemoContext) -> float:
    return float(ctx.shared.get(SCALE_KEY, 1.0))


def _now(ctx: DemoContext) -> dt.datetime:
    """The reference date's evening is "now": the same seed and date give the same data whenever it runs."""
    return min(timezone.now(), dt.datetime.combine(ctx.today, dt.time(20), tzinfo=TOKYO))


def _month_turn(ctx: DemoContext, months: int, days: int = 0, minutes: int = 0) -> dt.datetime:
    """00:00 Tokyo on the 1st of this month moved by `months`, then by days and minutes."""
    first = dt.datetime.combine(month_start(ctx.today, months), dt.time(), tzinfo=TOKYO)
    return first + dt.timedelta(days=days, minutes=minutes)


def _staff(ctx: DemoContext) -> dict[str, User]:
    users: dict[str, User] = ctx.shared.get("users") or {
        u.username: u for u in User.objects.filter(username__in=["ops", "assistant", "admin"])
    }
    return users


def offer_id(key: str) -> str:
    return f"plug-offer-{key}"


def user_id(i: int) -> str:
    return f"plug-user-{i:05d}"


# Advertisers and offers ----------------------------------------------------------------------------------------


def _advertisers() -> dict[str, Account]:
    now = timezone.now()
    rows = [
        Account(
            source=DEMO_SOURCE,
            external_id=f"plug-adv-{a.key}",
            name=a.name,
            name_kana=a.kana,
            search_text=search_key(a.name, a.kana),
            kind=AccountKind.ADVERTISER,
            industry=a.industry,
            attributes={"site": f"https://{a.slug}.example.jp/"},
            created_at=now,
            updated_at=now,
        )
        for a in ADVERTISERS
    ]
    Account.objects.bulk_create(rows, ignore_conflicts=True)
    found = {a.external_id: a for a in Account.objects.filter(source=DEMO_SOURCE, kind=AccountKind.ADVERTISER)}
    return {a.key: found[f"plug-adv-{a.key}"] for a in ADVERTISERS}


def _asps() -> dict[str, Asp]:
    found = {a.code: a for a in Asp.objects.all()}
    for code, name in offers.SEED_ASPS:
        if code not in found:
            layout = code if code in REPORT_FORMATS else "standard"
            found[code] = offers.save_asp(None, {"code": code, "name": name, "report_format": layout}, actor=None)
    return found


def _at(day: dt.date, hour: int) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour), tzinfo=TOKYO)


def _create_offer(spec: OfferSpec, advertiser: Account, asp: Asp, owner: User | None, today: dt.date) -> Offer:
    """One offer through the offers service, walked along the status machine as the team would have."""
    adv = next(a for a in ADVERTISERS if a.key == spec.advertiser)
    data: dict[str, Any] = {
        "advertiser": advertiser,
        "asp": asp,
        "asp_offer_id": spec.program,
        "name": spec.name,
        "category": spec.category,
        "landing_url": f"https://{adv.slug}.example.jp/",
        "conditions": spec.conditions,
        "base_reward_type": spec.reward_type,
        "base_rate": spec.base if spec.reward_type == RATE else None,
        "base_amount": int(spec.base) if spec.reward_type == FIXED else None,
        "cashback_share": spec.share,
        "owner": owner,
    }
    offer = offers.save_offer(None, data, actor=owner, via="demo", source=DEMO_SOURCE, external_id=offer_id(spec.key))
    if spec.status == APPROVED:
        return offers.tick(offer, "partnership", actor=owner, via="demo", now=_at(today - dt.timedelta(days=3), 11))
    if spec.status == CONFIGURED:
        for days, key in ((9, "partnership"), (8, "conditions"), (6, "reward")):
            offer = offers.tick(offer, key, actor=owner, via="demo", now=_at(today - dt.timedelta(days=days), 15))
        return offers.set_status(offer, CONFIGURED, actor=owner, via="demo", now=_at(today - dt.timedelta(days=6), 16))
    published = today - dt.timedelta(days=spec.published)
    for days, key in enumerate(offers.CHECKLIST_KEYS):
        when = _at(published - dt.timedelta(days=len(offers.CHECKLIST_KEYS) - days), 14)
        offer = offers.tick(offer, key, actor=owner, via="demo", now=when)
    offer = offers.set_status(offer, CONFIGURED, actor=owner, via="demo", now=_at(published - dt.timedelta(days=1), 17))
    offer = offers.set_status(offer, PUBLISHED, actor=owner, via="demo", now=_at(published, 10))
    stopped = _at(today - dt.timedelta(days=spec.stopped), 18)
    if spec.status == PAUSED:
        offer = offers.set_status(offer, PAUSED, actor=owner, via="demo", now=stopped)
    elif spec.status == ENDED:
        offer = offers.set_status(offer, ENDED, actor=owner, via="demo", now=stopped)
    return offer


def _offers(ctx: DemoContext, advertisers: dict[str, Account]) -> tuple[dict[str, Offer], int]:
    staff = _staff(ctx)
    owners = [staff.get("ops"), staff.get("assistant") or staff.get("ops")]
    existing = {o.external_id: o for o in Offer.objects.filter(source=DEMO_SOURCE)}
    asps = _asps()
    created = 0
    for i, spec in enumerate(OFFERS):
        if offer_id(spec.key) in existing:
            continue
        owner = owners[1 if i % 3 == 2 else 0]
        offer = _create_offer(spec, advertisers[spec.advertiser], asps[spec.asp], owner, ctx.today)
        existing[offer.external_id] = offer
        created += 1
    return {spec.key: existing[offer_id(spec.key)] for spec in OFFERS}, created


# Special rates -------------------------------------------------------------------------------------------------


def _rate_bounds(ctx: DemoContext, spec: RateSpec) -> tuple[dt.datetime, dt.datetime]:
    return _month_turn(ctx, *spec.start), _month_turn(ctx, *spec.end)


def _special_rates(ctx: DemoContext, demo_offers: dict[str, Offer], now: dt.datetime) -> tuple[int, int]:
    """The periods through the rates service, then every switch due by `now` applied as the minute job does:
    at each instant in turn, a few seconds after it."""
    ops = _staff(ctx).get("ops")
    written = []
    for spec in RATES:
        offer = demo_offers[spec.offer]
        starts, ends = _rate_bounds(ctx, spec)
        value: dict[str, Any] = (
            {"rate": spec.value} if offer.base_reward_type == RewardType.RATE else {"amount": int(spec.value)}
        )
        rate = rates.save_rate(
            None,
            {"starts_at": starts, "ends_at": ends, "reward_type": offer.base_reward_type, "note": spec.note, **value},
            offer=offer,
            actor=ops,
            via="demo",
        )
        if spec.cancelled:
            rates.cancel_rate(rate, actor=ops, via="demo")
        written.append(rate)
    instants = sorted({moment for r in written for moment in (r.starts_at, r.ends_at) if moment <= now})
    applied = 0
    for instant in instants:
        applied += len(rates.apply_due(min(now, instant + dt.timedelta(seconds=17)), via="scheduler"))
    return len(written), applied


# Users and their activity --------------------------------------------------------------------------------------


def _users(ctx: DemoContext, n: int) -> Ints:
    rng = ctx.rng_for("campaigns.users")
    now = timezone.now()
    rows = []
    for i in range(n):
        name, _reading, romaji = person_name(rng)
        rows.append(
            EndUser(
                source=DEMO_SOURCE,
                external_id=user_id(i),
                kind=EndUserKind.SHOPPER,
                name=name,
                email=f"{romaji}.{i}@plug-demo.example",
                attributes={"extension": "chrome" if rng.random() < 0.82 else "edge"},
                created_at=now - dt.timedelta(days=int(rng.integers(250, 1100))),
                updated_at=now,
            )
        )
    before = EndUser.objects.filter(source=DEMO_SOURCE).count()
    EndUser.objects.bulk_create(rows, batch_size=2_000, ignore_conflicts=True)
    found = dict(EndUser.objects.filter(source=DEMO_SOURCE).values_list("external_id", "id"))
    ctx.count("plug users", len(found) - before)
    return np.array([found[user_id(i)] for i in range(n)], dtype=np.int64)


@dataclass
class _Offers:
    """The offers as arrays (row = position in OFFERS) for the activity model."""

    pks: Ints
    advertiser: Ints  # row in ADVERTISERS
    live_from: Floats  # epoch seconds; +inf when never published
    live_to: Floats
    p_click: Floats
    p_conv: Floats
    base: Floats  # base reward: % or yen
    is_rate: npt.NDArray[np.bool_]
    periods: list[list[tuple[float, float, float]]]  # per offer: (start, end, value) of non-cancelled periods

    def reward_at(self, rows: Ints, times: Floats) -> tuple[Floats, Floats]:
        """The reward in force (% or yen) for each (offer row, time), and its ratio to the base."""
        value = self.base[rows].copy()
        for row, periods in enumerate(self.periods):
            if not periods:
                continue
            mine = rows == row
            for start, end, amount in periods:
                value[mine & (times >= start) & (times < end)] = amount
        return value, value / self.base[rows]


def _offer_arrays(ctx: DemoContext, demo_offers: dict[str, Offer]) -> _Offers:
    keys = [s.key for s in OFFERS]
    adv_row = {a.key: i for i, a in enumerate(ADVERTISERS)}
    today = ctx.today
    live_from = np.full(len(OFFERS), np.inf)
    live_to = np.full(len(OFFERS), np.inf)
    for i, spec in enumerate(OFFERS):
        if spec.status in (PUBLISHED, PAUSED, ENDED):
            live_from[i] = _at(today - dt.timedelta(days=spec.published), 10).timestamp()
            if spec.status != PUBLISHED:
                live_to[i] = _at(today - dt.timedelta(days=spec.stopped), 18).timestamp()
    periods: list[list[tuple[float, float, float]]] = [[] for _ in OFFERS]
    for rate in RATES:
        if not rate.cancelled:
            starts, ends = _rate_bounds(ctx, rate)
            periods[keys.index(rate.offer)].append((starts.timestamp(), ends.timestamp(), float(rate.value)))
    return _Offers(
        pks=np.array([demo_offers[k].pk for k in keys], dtype=np.int64),
        advertiser=np.array([adv_row[s.advertiser] for s in OFFERS], dtype=np.int64),
        live_from=live_from,
        live_to=live_to,
        p_click=np.array([BEHAVIOUR[s.category][0] for s in OFFERS]),
        p_conv=np.array([BEHAVIOUR[s.category][1] for s in OFFERS]),
        base=np.array([float(s.base) for s in OFFERS]),
        is_rate=np.array([s.reward_type == RATE for s in OFFERS]),
        periods=periods,
    )


@dataclass
class _Results:
    """Results as the ASPs will report them (row = one result)."""

    offer: Ints  # row in OFFERS
    user: Ints  # end-user pk (the click's)
    click_id: list[str]
    occurred: Floats
    decided: Floats  # nan while pending
    approved: npt.NDArray[np.bool_]
    order: Ints
    reward: Ints

    @property
    def size(self) -> int:
        return int(self.offer.size)


def _to_utc(seconds: Floats) -> pl.Series:
    return (pl.Series(np.round(seconds * 1_000_000).astype(np.int64)).cast(pl.Datetime("us"))).dt.replace_time_zone(
        "UTC"
    )


def _event_frame(
    prefix: str, start: int, kind: str, advertisers: Ints, users: Ints, times: Floats, properties: pl.Series | None
) -> pl.DataFrame:
    n = int(times.size)
    return pl.DataFrame(
        {
            "source": [DEMO_SOURCE] * n,
            "external_id": [f"{prefix}-{start + i:07d}" for i in range(n)],
            "account_id": advertisers,
            "end_user_id": users,
            "kind": [kind] * n,
            "occurred_at": _to_utc(times),
            "value": pl.Series([None] * n, dtype=pl.String),
            "properties": properties if properties is not None else pl.Series(["{}"] * n),
        }
    )


def _click_properties(offer_pks: Ints, click_ids: list[str]) -> pl.Series:
    frame = pl.DataFrame({"offer": offer_pks, "click": click_ids})
    return frame.select(
        pl.concat_str(
            [
                pl.lit('{"offer": '),
                pl.col("offer").cast(pl.String),
                pl.lit(', "click_id": "'),
                pl.col("click"),
                pl.lit('"}'),
            ]
        )
    ).to_series()


def _results_for(
    rng: np.random.Generator,
    model: _Offers,
    rows: Ints,
    users: Ints,
    click_ids: list[str],
    clicked: Floats,
    now: float,
    lift: Floats | None = None,
) -> _Results:
    """Which clicks become results, when, for how much, and how the ASP decides them."""
    _value, ratio = model.reward_at(rows, clicked)
    chance = model.p_conv[rows] * ratio**ELASTICITY * (1.0 if lift is None else lift)
    won = rng.random(rows.size) < np.minimum(chance, 0.95)
    categories = [OFFERS[r].category for r in range(len(OFFERS))]
    minutes = np.array([BEHAVIOUR[categories[r]][5] for r in rows])
    occurred = clicked + rng.lognormal(np.log(minutes * 60.0), 0.8)
    won &= occurred < now
    idx = np.flatnonzero(won)
    rows, occurred = rows[idx], occurred[idx]
    value, _ratio = model.reward_at(rows, occurred)
    median_order = np.array(
        [
            OFFERS[r].order or BEHAVIOUR[categories[r]][4] or (20_000 if OFFERS[r].reward_type == RATE else 0)
            for r in rows
        ],
        dtype=np.float64,
    )
    order = np.where(median_order > 0, np.round(rng.lognormal(np.log(np.maximum(median_order, 1)), 0.55), -1), 0)
    order = order.astype(np.int64)
    is_rate = model.is_rate[rows]
    reward = np.where(is_rate, np.floor(order * value / 100.0), value).astype(np.int64)
    lo = np.array([BEHAVIOUR[categories[r]][3][0] for r in rows], dtype=np.float64)
    hi = np.array([BEHAVIOUR[categories[r]][3][1] for r in rows], dtype=np.float64)
    lag_days = np.floor(lo + rng.random(rows.size) * (hi - lo))
    decided_day = np.floor((occurred + 9 * 3600) / 86_400) + lag_days  # Tokyo day number
    decided = decided_day * 86_400 - 9 * 3600 + rng.uniform(10, 18, rows.size) * 3600
    decided = np.where(decided <= now, decided, np.nan)
    approval = np.array([BEHAVIOUR[categories[r]][2] for r in rows])
    approved = rng.random(rows.size) < approval
    return _Results(
        offer=rows,
        user=users[idx],
        click_id=[click_ids[i] for i in idx],
        occurred=occurred,
        decided=decided,
        approved=approved,
        order=order,
        reward=reward,
    )


def _activity(
    ctx: DemoContext, model: _Offers, advertisers: dict[str, Account], user_pks: Ints, now: dt.datetime
) -> tuple[int, _Results]:
    """Visits to the advertisers' sites, clicks on their live offers and the results they lead to; the events
    stored through the event store. Returns (events written, results)."""
    rng = ctx.rng_for("campaigns.activity")
    first = month_start(ctx.today, -HISTORY_MONTHS)
    n_days = (ctx.today - first).days + 1
    days = [first + dt.timedelta(days=i) for i in range(n_days)]
    weekday = np.array([1.0, 0.95, 0.95, 1.0, 1.1, 1.25, 1.2])
    weights = np.array([weekday[d.weekday()] * (1.15 if 25 <= d.day <= 27 else 1.0) for d in days])
    weights *= np.linspace(0.85, 1.1, n_days)  # the user base grows
    total = max(200, round(VISITS_PER_DAY * _scale(ctx) * n_days))
    hours = np.array([1, 0.5, 0.3, 0.2, 0.2, 0.4, 1, 2, 3, 3, 3, 3.5, 5, 4, 3.5, 3.5, 3.5, 4, 5, 6, 7, 7.5, 6, 3])
    day = rng.choice(n_days, size=total, p=weights / weights.sum())
    start = dt.datetime.combine(first, dt.time(), tzinfo=TOKYO).timestamp()
    visited = start + day * 86_400.0 + rng.choice(24, size=total, p=hours / hours.sum()) * 3_600.0
    visited += rng.integers(0, 3_600, total)
    popularity = np.array([a.popularity for a in ADVERTISERS])
    site = rng.choice(len(ADVERTISERS), size=total, p=popularity / popularity.sum())
    habit = rng.lognormal(0.0, 1.0, user_pks.size)
    who = rng.choice(user_pks.size, size=total, p=habit / habit.sum())
    keep = visited < now.timestamp()
    order = np.argsort(visited[keep], kind="stable")
    visited, site, who = visited[keep][order], site[keep][order], who[keep][order]

    # A visit where the advertiser has a live offer may be a click on it (the extension's cashback button).
    chosen = np.full(visited.size, -1, dtype=np.int64)
    for a in range(len(ADVERTISERS)):
        rows = np.flatnonzero(model.advertiser == a)
        mine = np.flatnonzero(site == a)
        if rows.size == 0 or mine.size == 0:
            continue
        t = visited[mine][:, None]
        live = (t >= model.live_from[rows][None, :]) & (t < model.live_to[rows][None, :])
        priority = np.where(live, rng.random((mine.size, rows.size)), -1.0)
        pick = priority.argmax(axis=1)
        ok = live.any(axis=1)
        chosen[mine[ok]] = rows[pick[ok]]
    clicks = np.flatnonzero((chosen >= 0) & (rng.random(visited.size) < model.p_click[np.maximum(chosen, 0)]))
    click_rows = chosen[clicks]
    clicked = (visited[clicks] + rng.integers(3, 180, clicks.size)).astype(np.float64)
    click_ids = [f"plg{i:07x}{int(r):06x}" for i, r in enumerate(rng.integers(0, 1 << 24, clicks.size))]
    click_users = user_pks[who[clicks]]
    results = _results_for(rng, model, click_rows, click_users, click_ids, clicked, now.timestamp())

    # A few results' clicks never reached us (the extension was off): the ASP reports them, we cannot trace them.
    lost = set(rng.choice(results.click_id, size=round(results.size * LOST_CLICKS), replace=False).tolist())
    recorded = np.array([c not in lost for c in click_ids], dtype=bool)
    adv_pks = np.array([advertisers[a.key].pk for a in ADVERTISERS], dtype=np.int64)
    visits = _event_frame("plug-visit", 0, "visit", adv_pks[site], user_pks[who], visited, None)
    kept = np.flatnonzero(recorded)
    click_frame = _event_frame(
        "plug-click",
        0,
        "offer_click",
        adv_pks[model.advertiser[click_rows[kept]]],
        click_users[kept],
        clicked[kept],
        _click_properties(model.pks[click_rows[kept]], [click_ids[i] for i in kept]),
    )
    written = 0
    for frame in (visits, click_frame):
        for offset in range(0, frame.height, 100_000):
            written += append_events(frame.slice(offset, 100_000))
    return written, results


# Reports and their import --------------------------------------------------------------------------------------

STATUS_WORDS = {
    "a8": ("未確定", "確定", "否認"),
    "valuecommerce": ("未承認", "承認済", "否認"),
    "standard": ("発生", "確定", "否認"),
}
TIME_FORMATS = {"a8": "%Y/%m/%d %H:%M:%S", "valuecommerce": "%Y/%m/%d %H:%M", "standard": "%Y-%m-%d %H:%M:%S"}
STANDARD_HEADER = (
    "asp",
    "asp_conversion_id",
    "asp_offer_id",
    "click_id",
    "occurred_at",
    "decided_at",
    "status",
    "order_amount",
    "reward",
)


def _tokyo_text(seconds: Floats, fmt: str) -> list[str]:
    stamps = pl.from_epoch(pl.Series(np.nan_to_num(seconds).astype(np.int64)), time_unit="s")
    text = stamps.dt.replace_time_zone("UTC").dt.convert_time_zone("Asia/Tokyo").dt.strftime(fmt).to_list()
    return ["" if np.isnan(s) else t for s, t in zip(seconds, text, strict=True)]


def _report_rows(
    results: _Results, ids: list[str], idx: Ints, layout: str, decided: npt.NDArray[np.bool_]
) -> list[dict[str, str]]:
    """The report lines of results `idx`, each with the ASP's decision where `decided`, else as pending."""
    pending, approved, rejected = STATUS_WORDS[layout]
    fmt = TIME_FORMATS[layout]
    occurred = _tokyo_text(results.occurred[idx], fmt)
    decided_at = _tokyo_text(np.where(decided, results.decided[idx], np.nan), fmt)
    clicked = _tokyo_text(results.occurred[idx] - 600, fmt)
    rows = []
    for j, i in enumerate(idx):
        spec = OFFERS[results.offer[i]]
        advertiser = next(a for a in ADVERTISERS if a.key == spec.advertiser)
        status = (approved if results.approved[i] else rejected) if decided[j] else pending
        rows.append(
            {
                "asp": spec.asp,
                "asp_conversion_id": ids[i],
                "asp_offer_id": spec.program,
                "click_id": results.click_id[i],
                "occurred_at": occurred[j],
                "decided_at": decided_at[j],
                "status": status,
                "order_amount": str(int(results.order[i])),
                "reward": str(int(results.reward[i])),
                "プログラム名": spec.name,
                "広告主名": advertiser.name,
                "サイト名": "PLUG",
                "クリック日時": clicked[j],
                "備考": "",
            }
        )
    return rows


def _csv(layout: str, rows: Sequence[dict[str, str]]) -> bytes:
    """A result report file: an ASP's own layout in cp932 (as their CSV downloads are), or Banso's standard
    columns in UTF-8 with a BOM."""
    columns = REPORT_FORMATS[layout].columns
    header: Sequence[str] = list(columns) if layout != "standard" else STANDARD_HEADER
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(header)
    keys = [h if layout == "standard" else (columns.get(h) or h) for h in header]  # ignored columns by their name
    for row in rows:
        writer.writerow([row.get(key, "") for key in keys])
    text = out.getvalue()
    return text.encode("cp932") if layout != "standard" else b"\xef\xbb\xbf" + text.encode("utf-8")


def _import(layout: str, source: str, name: str, rows: Sequence[dict[str, str]], actor: User | None) -> ImportJob:
    """Write the report where uploads are kept and import it as a file through the import service."""
    folder = upload_dir() / REPORT_FOLDER
    folder.mkdir(exist_ok=True)
    path = folder / name
    path.write_bytes(_csv(layout, rows))
    job = import_path("conversions", path, source, user=actor)
    if job.status != ImportStatus.SUCCEEDED:
        raise RuntimeError(f"demo report {name} was refused: {job.errors[:3]}")
    return job


def _result_ids(results: _Results, start: int = 0) -> list[str]:
    """Each ASP's own-looking result ids."""
    ids = []
    for i in range(results.size):
        code = OFFERS[results.offer[i]].asp
        n = start + i
        ids.append(
            {
                "a8": f"{240000000000 + n * 7:012d}",
                "valuecommerce": f"VC{n:010d}",
                "afb": f"afb-{n:08d}",
                "moshimo": f"M{n:09d}",
                "accesstrade": f"AT{n:010d}",
            }.get(code, f"{code}-{n:08d}")
        )
    return ids


def _import_reports(
    results: _Results,
    asps: dict[str, Asp],
    actor: User | None,
    first: dt.date,
    recent: dt.date,
    today: dt.date,
    *,
    start: int = 0,
) -> int:
    """Per ASP layout, the report of [first, today] with the decisions made on results before `recent` (older
    months were imported once decided) and results since as first reported (発生); then the report with the
    decisions made on those recent results since (確定/否認, updated in place)."""
    ids = _result_ids(results, start)
    known = ~np.isnan(results.decided)
    later = results.occurred >= dt.datetime.combine(recent, dt.time(), tzinfo=TOKYO).timestamp()
    layouts: dict[str, list[int]] = {}
    for i in range(results.size):
        asp = asps[OFFERS[results.offer[i]].asp]
        layout = asp.report_format if asp.report_format in STATUS_WORDS else "standard"
        layouts.setdefault(layout, []).append(i)
    imported = 0
    for layout, members in sorted(layouts.items()):
        idx = np.array(members, dtype=np.int64)
        source = layout if layout != "standard" else "asp-reports"
        label = {"a8": "a8net", "valuecommerce": "valuecommerce", "standard": "afb_moshimo_accesstrade"}[layout]
        name = f"{label}_成果_{first:%Y%m%d}-{today:%Y%m%d}.csv"
        job = _import(layout, source, name, _report_rows(results, ids, idx, layout, known[idx] & ~later[idx]), actor)
        imported += job.created_count
        decided = idx[known[idx] & later[idx]]
        if decided.size:
            name = f"{label}_成果確定_{recent:%Y%m%d}-{today:%Y%m%d}.csv"
            _import(layout, source, name, _report_rows(results, ids, decided, layout, known[decided]), actor)
    return imported


def _pay_cashback(ctx: DemoContext, now: dt.datetime) -> int:
    """The payout team pays each month's approved cashback on the 10th of the next month."""
    ops = _staff(ctx).get("ops")
    approved = Conversion.objects.filter(
        offer__source=DEMO_SOURCE, status=ConversionStatus.APPROVED, cashback_paid_at__isnull=True
    )
    paid = 0
    month = month_start(ctx.today, -HISTORY_MONTHS)
    while True:
        following = month_start(month, 1)
        payday = _at(following.replace(day=PAYOUT_DAY), 15)
        if payday > now:
            break
        start = dt.datetime.combine(month, dt.time(), tzinfo=TOKYO)
        end = dt.datetime.combine(following, dt.time(), tzinfo=TOKYO)
        ids = list(approved.filter(decided_at__gte=start, decided_at__lt=end).values_list("pk", flat=True))
        if ids:
            paid += mark_cashback_paid(ids, actor=ops, at=payday)
        month = following
    return paid


# Forecasts and the backtest ------------------------------------------------------------------------------------


def _forecasts(ctx: DemoContext, demo_offers: dict[str, Offer]) -> str:
    if Forecast.objects.filter(offer__source=DEMO_SOURCE).exists():
        return "forecasts already made"
    ops = _staff(ctx).get("ops")
    start = month_start(ctx.today, 1)
    end = month_start(ctx.today, 2) - dt.timedelta(days=1)
    proposals = (
        forecasts.Proposal(
            demo_offers["midori"], start, end, RATE, rate=Decimal("7.00"), promotions=("push", "top_banner")
        ),
        forecasts.Proposal(demo_offers["star"], start, end, FIXED, amount=15_000, promotions=("push", "newsletter")),
    )
    made = []
    for proposal in proposals:
        try:
            made.append(forecasts.create(proposal, ops, as_of=ctx.today, via="demo"))
        except forecasts.ForecastError as error:  # a tiny test scale may leave an offer without history
            ctx.progress(f"campaigns: no forecast for {proposal.offer.name}: {error.message}")
    ctx.count("forecasts", len(made))
    parts = [
        f"{f.offer.name} {f.result['acquisitions']['low']}–{f.result['acquisitions']['high']} results" for f in made
    ]
    return "forecasts: " + "; ".join(parts) if parts else "no forecasts"


def _backtest(ctx: DemoContext) -> str:
    if BacktestRun.objects.exists():
        return "backtest already run"
    run = BacktestRun.objects.create(as_of=ctx.today, triggered_by=_staff(ctx).get("ops"))
    forecasts.run_backtest(run)
    mape = run.summary.get("mape")
    return f"backtest of {run.periods} periods (MAPE {mape:.0%})" if mape is not None else "backtest run"


# Push ----------------------------------------------------------------------------------------------------------


def _b64url(raw: bytes) -> str:
    import base64

    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _subscriptions(ctx: DemoContext, user_pks: Ints) -> int:
    """A browser subscription for about a third of the users: fake endpoints, real P-256 keys (derived from the
    seed, so the same every run), as the extension's service worker registers them."""
    rng = ctx.rng_for("campaigns.subscriptions")
    chosen = np.flatnonzero(rng.random(user_pks.size) < SUBSCRIBED_SHARE)
    now = timezone.now()
    rows = []
    for i in chosen:
        secret = int.from_bytes(rng.bytes(32), "big") % (P256_ORDER - 1) + 1
        point = (
            ec.derive_private_key(secret, ec.SECP256R1())
            .public_key()
            .public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
        )
        rows.append(
            PushSubscription(
                end_user_id=int(user_pks[i]),
                endpoint=f"https://push.example.jp/wp/{_b64url(rng.bytes(24))}",
                p256dh=_b64url(point),
                auth=_b64url(rng.bytes(16)),
                user_agent=USER_AGENTS[int(rng.integers(len(USER_AGENTS)))],
                created_at=now - dt.timedelta(days=int(rng.integers(20, 400))),
            )
        )
    before = PushSubscription.objects.filter(end_user__source=DEMO_SOURCE).count()
    PushSubscription.objects.bulk_create(rows, batch_size=2_000, ignore_conflicts=True)
    return PushSubscription.objects.filter(end_user__source=DEMO_SOURCE).count() - before


def _segment(actor: User | None, advertiser: Account, days: tuple[int, int], name: str) -> Segment:
    found = Segment.objects.filter(name=name, subject_type="end_user").first()
    return found or push.build_visited_segment(actor, advertiser, days[0], days[1], name=name)


def _campaign_data(spec: CampaignSpec, segment: Segment, offer: Offer) -> dict[str, Any]:
    return {
        "name": spec.name,
        "segment": segment,
        "offer": offer,
        "channel": Channel.WEB_PUSH,
        "title": spec.title,
        "body": spec.body,
        "url": offer.landing_url,
        "attribution_days": 7,
    }


def _send_in_the_past(ctx: DemoContext, campaign: PushCampaign, sent_at: dt.datetime) -> dict[int, str]:
    """The send as the worker ran it five days ago, and what the outbox worker then did with its messages:
    delivered, or failed for good with 410 Gone (the subscription revoked by the web-push callback). Returns
    each delivered notification's tracked link by delivery id."""
    ops = _staff(ctx).get("ops")
    run = SendRun.objects.create(
        campaign=campaign, as_of=sent_at.date(), triggered_by=ops, status=RunStatus.RUNNING, started_at=sent_at
    )
    push.send(campaign, sent_at, run=run)
    finished = sent_at + dt.timedelta(seconds=4)
    SendRun.objects.filter(pk=run.pk).update(status=RunStatus.SUCCEEDED, percent=100, finished_at=finished)
    PushCampaign.objects.filter(pk=campaign.pk).update(
        created_at=sent_at - dt.timedelta(days=1, hours=2), finished_at=finished
    )
    # The outbox worker's pass a minute later: each batch's recipients delivered, a few answered 410 Gone (their
    # subscription revoked by the web-push callback), the outcomes written into the batch as the outbox does.
    rng = ctx.rng_for("campaigns.push.outbox")
    delivered_at = sent_at + dt.timedelta(seconds=40)
    at = delivered_at.isoformat()
    user_of = dict(Delivery.objects.filter(campaign=campaign).values_list("id", "end_user_id"))
    batches = OutboxMessage.objects.filter(
        pk__in=Delivery.objects.filter(campaign=campaign).values("outbox_message_id")
    ).order_by("id")
    gone: list[int] = []
    links: dict[int, str] = {}
    for batch in batches:
        payload = dict(batch.payload or {})
        results: dict[str, dict[str, str]] = {}
        for recipient in payload.get("recipients") or []:
            ref = str(recipient["ref"])
            if rng.random() < GONE_SHARE:
                results[ref] = {"status": "failed", "at": at, "error": "410: Push failed: 410 Gone"}
                gone.append(user_of[int(ref)])
            else:
                results[ref] = {"status": "sent", "at": at, "error": ""}
                links[int(ref)] = str((recipient.get("data") or {}).get("url") or "")
        payload["results"] = results
        accepted = any(r["status"] == "sent" for r in results.values())
        OutboxMessage.objects.filter(pk=batch.pk).update(
            payload=payload,
            status=MessageStatus.SENT if accepted else MessageStatus.FAILED,
            sent_at=delivered_at if accepted else None,
            attempts=1,
            last_error="" if accepted else "web push: no recipient accepted the notification",
        )
    PushSubscription.objects.filter(end_user_id__in=gone, revoked_at__isnull=True).update(revoked_at=delivered_at)
    return links


def _push_results(
    ctx: DemoContext,
    campaign: PushCampaign,
    model: _Offers,
    advertisers: dict[str, Account],
    asps: dict[str, Asp],
    links: dict[int, str],
    now: dt.datetime,
) -> tuple[int, int]:
    """Recipients who clicked the notification's tracked link, went on to the offer and bought; their results
    arrive in the ASP's next report. Returns (clicks, results)."""
    rng = ctx.rng_for("campaigns.push.results")
    push.sync_results(now, campaigns=[campaign])
    delivered = list(
        Delivery.objects.filter(campaign=campaign, status=DeliveryStatus.DELIVERED)
        .order_by("id")
        .values_list("id", "end_user_id", "delivered_at")
    )
    row = next(i for i, s in enumerate(OFFERS) if s.key == SENT.advertiser)
    clickers: list[tuple[int, float]] = []
    others: list[tuple[int, float]] = []
    for delivery, user, delivered_at in delivered:
        assert delivered_at is not None
        if rng.random() < PUSH_CLICK_RATE:
            at = delivered_at + dt.timedelta(minutes=float(min(rng.lognormal(np.log(25), 1.0), 2_000)))
            if at < now and push.track_click(links[delivery].rsplit("/", 1)[-1], now=at) is not None:
                clickers.append((int(user), at.timestamp()))
                continue
        others.append((int(user), delivered_at.timestamp() + float(rng.uniform(0.5, 6.0)) * 86_400))
    buyers = [c for c in clickers if rng.random() < PUSH_CONVERT_AFTER_CLICK]
    buyers += [o for o in others if rng.random() < PUSH_CONVERT_WITHOUT_CLICK and o[1] < now.timestamp()]
    if not buyers:
        return len(clickers), 0
    users = np.array([u for u, _t in buyers], dtype=np.int64)
    clicked = np.array([t for _u, t in buyers], dtype=np.float64) + 60.0
    rows = np.full(users.size, row, dtype=np.int64)
    click_ids = [f"plgp{campaign.pk:04x}{i:05x}" for i in range(users.size)]
    lift = np.full(users.size, 1.0 / model.p_conv[row])  # these buyers buy: the draw below only times them
    results = _results_for(rng, model, rows, users, click_ids, clicked, now.timestamp(), lift=lift)
    if results.size == 0:
        return len(clickers), 0
    adv_pk = advertisers[OFFERS[row].advertiser].pk
    keep = np.isin(np.array(click_ids), np.array(results.click_id))
    start = 0
    visits = _event_frame(
        "plug-push-visit", start, "visit", np.full(keep.sum(), adv_pk), users[keep], clicked[keep] - 30, None
    )
    clicks = _event_frame(
        "plug-push-click",
        start,
        "offer_click",
        np.full(keep.sum(), adv_pk),
        users[keep],
        clicked[keep],
        _click_properties(np.full(keep.sum(), model.pks[row]), [c for c, k in zip(click_ids, keep, strict=True) if k]),
    )
    append_events(visits)
    append_events(clicks)
    count = Conversion.objects.filter(offer__source=DEMO_SOURCE).count()
    imported = _import_reports(
        results, asps, _staff(ctx).get("ops"), ctx.today, ctx.today, ctx.today, start=count + 1_000_000
    )
    push.sync_results(now, campaigns=[campaign])
    return len(clickers), imported


def _push(
    ctx: DemoContext,
    demo_offers: dict[str, Offer],
    advertisers: dict[str, Account],
    model: _Offers,
    user_pks: Ints,
    now: dt.datetime,
) -> str:
    ops = _staff(ctx).get("ops")
    with transaction.atomic():
        subscribed = _subscriptions(ctx, user_pks)
    ctx.count("push subscriptions", subscribed)
    lake.sync()  # the segments read the analytics copy of the visits
    segments = {s.name: _segment(ops, advertisers[s.advertiser], s.days, s.segment) for s in CAMPAIGNS}
    existing = set(PushCampaign.objects.filter(name__in=[s.name for s in CAMPAIGNS]).values_list("name", flat=True))
    parts = []
    if SENT.name not in existing:
        with transaction.atomic():
            offer = demo_offers[SENT.advertiser]
            campaign = push.save_campaign(ops, _campaign_data(SENT, segments[SENT.name], offer))
            sent_at = _at(ctx.today - dt.timedelta(days=SENT_DAYS_AGO), 12)
            links = _send_in_the_past(ctx, campaign, sent_at)
            clicks, results = _push_results(ctx, campaign, model, advertisers, _asps(), links, now)
        figures = push.results(campaign)
        ctx.count("push deliveries", figures["delivered"] + figures["failed"])
        ctx.count("conversions", results)
        parts.append(
            f"sent {figures['delivered']} delivered, {figures['failed']} failed, {clicks} clicked, "
            f"{figures['converted']} converted"
        )
    if SCHEDULED.name not in existing:
        data = _campaign_data(SCHEDULED, segments[SCHEDULED.name], demo_offers[SCHEDULED.advertiser])
        data["scheduled_at"] = _at(ctx.today + dt.timedelta(days=1), 10)
        push.save_campaign(ops, data)
        parts.append("one scheduled for tomorrow 10:00")
    if DRAFT.name not in existing:
        push.save_campaign(ops, _campaign_data(DRAFT, segments[DRAFT.name], demo_offers[DRAFT.advertiser]))
        parts.append("one draft")
    return ", ".join(parts) or "campaigns already there"


# Build and reset -----------------------------------------------------------------------------------------------


def build(ctx: DemoContext) -> None:
    scale = _scale(ctx)
    now = _now(ctx)
    with transaction.atomic():
        advertisers = _advertisers()
        demo_offers, created = _offers(ctx, advertisers)
    ctx.count("offers", created)
    rate_note = "special rates already there"
    if not SpecialRate.objects.filter(offer__source=DEMO_SOURCE).exists():
        with transaction.atomic():
            periods, switches = _special_rates(ctx, demo_offers, now)
        ctx.count("special rates", periods)
        rate_note = f"{periods} special rates, {switches} switches applied"
    ctx.progress(f"campaigns: {len(advertisers)} advertisers, {len(demo_offers)} offers ({created} new), {rate_note}")

    user_pks = _users(ctx, max(30, round(USERS * scale)))
    model = _offer_arrays(ctx, demo_offers)
    if not Conversion.objects.filter(offer__source=DEMO_SOURCE).exists():
        with transaction.atomic():
            events, results = _activity(ctx, model, advertisers, user_pks, now)
        ctx.count("plug events", events)
        asps = _asps()
        ops = _staff(ctx).get("ops")
        with transaction.atomic():
            first, recent = month_start(ctx.today, -HISTORY_MONTHS), month_start(ctx.today, -1)
            imported = _import_reports(results, asps, ops, first, recent, ctx.today)
            paid = _pay_cashback(ctx, now)
        ctx.count("conversions", imported)
        ctx.progress(
            f"campaigns: {len(user_pks):,} users, {events:,} visit and click events, {imported:,} results imported "
            f"from the ASPs' reports, cashback of {paid:,} paid"
        )
    pushed = _push(ctx, demo_offers, advertisers, model, user_pks, now)
    ctx.progress(f"campaigns: push {pushed}")
    ctx.progress(f"campaigns: {_forecasts(ctx, demo_offers)}, {_backtest(ctx)}")


def reset(ctx: DemoContext) -> None:
    """Remove the demo's campaigns, segments, results, offers (with their special rates, switches and forecasts),
    users, events, advertisers and imported report files. Backtest runs go too: they replay the offers removed."""
    with transaction.atomic():
        demo_offers = Offer.objects.filter(source=DEMO_SOURCE)
        campaigns = PushCampaign.objects.filter(name__in=[s.name for s in CAMPAIGNS])
        messages = Delivery.objects.filter(campaign__in=campaigns, outbox_message_id__isnull=False).values_list(
            "outbox_message_id", flat=True
        )
        OutboxMessage.objects.filter(source=push.SOURCE, pk__in=list(messages)).delete()
        campaigns.delete()
        Segment.objects.filter(name__in=[s.segment for s in CAMPAIGNS], subject_type="end_user").delete()
        Conversion.objects.filter(offer__in=demo_offers).delete()
        BacktestRun.objects.all().delete()
        demo_offers.delete()
        Event.objects.filter(source=DEMO_SOURCE).delete()
        EndUser.objects.filter(source=DEMO_SOURCE).delete()
        Account.objects.filter(source=DEMO_SOURCE, kind=AccountKind.ADVERTISER).delete()
        folder = upload_dir() / REPORT_FOLDER
        jobs = ImportJob.objects.filter(entity="conversions", stored_path__startswith=f"{folder}/")
        for path in jobs.values_list("stored_path", flat=True):
            Path(path).unlink(missing_ok=True)
        jobs.delete()
