"""Demo accounts: Japanese companies with contacts and three years of annual contracts.

Every account has a hidden risk factor. It sets the odds of churn at each renewal, and the activity
demo builder (`banso.activity.demo`) uses the same factor for usage, inquiries and survey scores, so
churn is learnable from what the workspace records: usage declines in the months before a churn,
inquiries pile up unresolved, NPS drops, and a champion who left without a strong successor raises
the odds. The per-account facts the activity builder needs travel in `ctx.shared["demo_accounts"]`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import numpy as np
from django.db import transaction

from banso.core.calendar import add_months
from banso.core.demo import DEMO_SOURCE, DemoContext, person_name
from banso.core.text import search_key

from .choices import AccountKind, ContactRole, ContractStatus, LifecycleStage, TouchTier
from .models import Account, Contact, Contract
from .services import refresh_rollups

TOKYO = ZoneInfo("Asia/Tokyo")
BATCH = 2000
HISTORY_MONTHS = 36

# (kanji, reading) pieces of company names.
WORDS = [
    ("日本", "ニホン"),
    ("東京", "トウキョウ"),
    ("大阪", "オオサカ"),
    ("名古屋", "ナゴヤ"),
    ("北海道", "ホッカイドウ"),
    ("九州", "キュウシュウ"),
    ("東洋", "トウヨウ"),
    ("大和", "ヤマト"),
    ("富士", "フジ"),
    ("桜", "サクラ"),
    ("青葉", "アオバ"),
    ("中央", "チュウオウ"),
    ("東亜", "トウア"),
    ("太平洋", "タイヘイヨウ"),
    ("三友", "サンユウ"),
    ("昭和", "ショウワ"),
    ("光", "ヒカリ"),
    ("未来", "ミライ"),
    ("明治", "メイジ"),
    ("旭", "アサヒ"),
    ("北斗", "ホクト"),
    ("山陽", "サンヨウ"),
    ("関東", "カントウ"),
    ("関西", "カンサイ"),
    ("瀬戸内", "セトウチ"),
    ("湘南", "ショウナン"),
    ("千代田", "チヨダ"),
    ("日の出", "ヒノデ"),
    ("若葉", "ワカバ"),
    ("双葉", "フタバ"),
    ("緑", "ミドリ"),
    ("協和", "キョウワ"),
    ("共栄", "キョウエイ"),
    ("大同", "ダイドウ"),
    ("東邦", "トウホウ"),
    ("日東", "ニットウ"),
    ("第一", "ダイイチ"),
    ("国際", "コクサイ"),
    ("三和", "サンワ"),
    ("中部", "チュウブ"),
    ("白山", "ハクサン"),
    ("北陸", "ホクリク"),
    ("四国", "シコク"),
    ("信濃", "シナノ"),
    ("武蔵", "ムサシ"),
    ("相模", "サガミ"),
    ("丸の内", "マルノウチ"),
    ("銀座", "ギンザ"),
    ("天竜", "テンリュウ"),
    ("大成", "タイセイ"),
    ("栄光", "エイコウ"),
    ("新星", "シンセイ"),
    ("飛鳥", "アスカ"),
    ("葵", "アオイ"),
    ("朝日", "アサヒ"),
    ("京都", "キョウト"),
    ("横浜", "ヨコハマ"),
    ("神戸", "コウベ"),
    ("仙台", "センダイ"),
    ("広島", "ヒロシマ"),
]
SYLLABLES = [
    "ア",
    "イ",
    "エ",
    "オ",
    "カ",
    "キ",
    "ク",
    "コ",
    "サ",
    "シ",
    "ス",
    "セ",
    "タ",
    "テ",
    "ト",
    "ナ",
    "ノ",
    "ハ",
    "フ",
    "マ",
    "ミ",
    "ム",
    "ラ",
    "リ",
    "ル",
    "レ",
    "ロ",
    "ヴァ",
    "ジ",
    "ゼ",
    "バ",
    "ビ",
    "ベ",
    "パ",
]
BRAND_SUFFIXES = [
    "テック",
    "ソリューションズ",
    "システムズ",
    "ホールディングス",
    "ネットワークス",
    "ラボ",
    "パートナーズ",
    "デジタル",
    "データ",
    "クラウド",
    "ワークス",
    "リンク",
    "グループ",
    "ジャパン",
    "",
]
# industry → (kanji, reading) name endings typical of it
INDUSTRIES: dict[str, list[tuple[str, str]]] = {
    "製造業": [
        ("製作所", "セイサクショ"),
        ("工業", "コウギョウ"),
        ("電機", "デンキ"),
        ("精機", "セイキ"),
        ("化学", "カガク"),
    ],
    "金融・保険": [
        ("銀行", "ギンコウ"),
        ("証券", "ショウケン"),
        ("信用金庫", "シンヨウキンコ"),
        ("リース", "リース"),
        ("キャピタル", "キャピタル"),
    ],
    "商社・卸売": [("商事", "ショウジ"), ("物産", "ブッサン"), ("通商", "ツウショウ"), ("交易", "コウエキ")],
    "IT・ソフトウェア": [
        ("情報システム", "ジョウホウシステム"),
        ("ソフト", "ソフト"),
        ("テクノロジーズ", "テクノロジーズ"),
        ("データサービス", "データサービス"),
    ],
    "コンサルティング": [
        ("総研", "ソウケン"),
        ("コンサルティング", "コンサルティング"),
        ("経営研究所", "ケイエイケンキュウジョ"),
    ],
    "不動産・建設": [("建設", "ケンセツ"), ("地所", "ジショ"), ("不動産", "フドウサン"), ("工務店", "コウムテン")],
    "小売・流通": [("百貨店", "ヒャッカテン"), ("ストア", "ストア"), ("リテイリング", "リテイリング")],
    "医療・製薬": [("製薬", "セイヤク"), ("薬品", "ヤクヒン"), ("メディカル", "メディカル")],
    "広告・メディア": [
        ("広告", "コウコク"),
        ("出版", "シュッパン"),
        ("放送", "ホウソウ"),
        ("エージェンシー", "エージェンシー"),
    ],
    "運輸・物流": [("運輸", "ウンユ"), ("物流", "ブツリュウ"), ("倉庫", "ソウコ"), ("海運", "カイウン")],
    "食品": [("食品", "ショクヒン"), ("製菓", "セイカ"), ("フーズ", "フーズ"), ("酒造", "シュゾウ")],
    "エネルギー": [("電力", "デンリョク"), ("ガス", "ガス"), ("石油", "セキユ"), ("エナジー", "エナジー")],
    "教育・人材": [("学院", "ガクイン"), ("キャリア", "キャリア"), ("人材センター", "ジンザイセンター")],
}
INDUSTRY_NAMES = list(INDUSTRIES)
INDUSTRY_WEIGHTS = np.array([18, 12, 10, 14, 8, 8, 6, 6, 5, 5, 4, 2, 2], dtype=float)
REGIONS = ["関東", "関西", "中部", "九州", "東北", "北海道", "中国・四国", "北陸"]
REGION_WEIGHTS = np.array([45, 20, 12, 7, 5, 4, 4, 3], dtype=float)

CHURN_REASONS = {
    "usage": "利用頻度の低下（社内で活用が定着しなかった）",
    "champion": "推進担当者の退職・異動により社内の推進者が不在になった",
    "support": "問い合わせへの対応・サポート品質への不満",
    "budget": "予算削減のため",
    "competitor": "競合サービスへの乗り換え",
    "policy": "事業方針の変更・組織再編",
    "feature": "必要な機能が不足していた",
    "price": "価格に見合う価値を感じられなかった",
}
TITLES_PRIMARY = ["経営企画部 部長", "事業開発部 部長", "取締役", "マーケティング部 部長", "調査部 部長"]
TITLES_CHAMPION = ["経営企画部 課長", "リサーチ担当 マネージャー", "事業開発部 主任", "調査部 課長代理"]
TITLES_OTHER = ["経営企画部", "総務部", "経理部", "営業企画部", "情報システム部"]
PLANS = [(60_000, "ライト"), (150_000, "スタンダード"), (400_000, "プロフェッショナル"), (10**12, "エンタープライズ")]


def aware(d: date, hour: int = 9) -> datetime:
    return datetime.combine(d, time(hour), tzinfo=TOKYO)


def plan_for(mrr: int) -> str:
    return next(name for limit, name in PLANS if mrr < limit)


def tier_for(mrr: int) -> str:
    if mrr >= 300_000:
        return TouchTier.HIGH
    if mrr < 80_000:
        return TouchTier.TECH
    return TouchTier.LOW


def sigmoid(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x))


def company_name(rng: np.random.Generator, industry: str) -> tuple[str, str]:
    """(name, reading); the reading leaves out the legal form (株式会社 …), as Japanese lists sort by it."""
    pattern = rng.random()
    if pattern < 0.45:
        word = WORDS[int(rng.integers(len(WORDS)))]
        end = INDUSTRIES[industry][int(rng.integers(len(INDUSTRIES[industry])))]
        core, reading = word[0] + end[0], word[1] + end[1]
    elif pattern < 0.65:
        w1, w2 = (WORDS[int(i)] for i in rng.choice(len(WORDS), 2, replace=False))
        end = INDUSTRIES[industry][int(rng.integers(len(INDUSTRIES[industry])))]
        core, reading = w1[0] + w2[0] + end[0], w1[1] + w2[1] + end[1]
    else:
        brand = "".join(SYLLABLES[int(i)] for i in rng.integers(len(SYLLABLES), size=int(rng.integers(2, 5))))
        brand = brand.replace("ンン", "ン")
        suffix = BRAND_SUFFIXES[int(rng.integers(len(BRAND_SUFFIXES)))]
        core = reading = brand + suffix
    form = rng.random()
    if form < 0.6:
        return "株式会社" + core, reading
    if form < 0.95:
        return core + "株式会社", reading
    return "合同会社" + core, reading


@dataclass
class DemoAccount:
    """One generated account and the hidden facts the activity builder needs."""

    index: int
    external_id: str
    name: str
    name_kana: str
    industry: str
    region: str
    seats: int
    risk: float  # the latent churn factor (never stored)
    start: date
    mrr: int
    tier: str = TouchTier.LOW
    stage: str = LifecycleStage.ADOPTION
    churned_on: date | None = None
    churn_reason: str = ""
    # The usage decline runs up to this date (a churn, or an upcoming renewal that would churn).
    decline_until: date | None = None
    decline_strength: float = 0.0
    champion_left_on: date | None = None
    contracts: list[dict[str, object]] = field(default_factory=list)
    contacts: list[dict[str, object]] = field(default_factory=list)
    id: int = 0  # set once written

    @property
    def end(self) -> date | None:
        return self.churned_on


def generate(ctx: DemoContext) -> list[DemoAccount]:
    """The accounts, their contracts and contacts, all decided in memory from the seed."""
    rng = ctx.rng_for("accounts")
    n, today = ctx.accounts, ctx.today
    first_month = add_months(today.replace(day=1), -(HISTORY_MONTHS - 1))
    # More customers signed recently: the business grows about 30 % a year.
    month_weights = np.power(1.3, np.arange(HISTORY_MONTHS) / 12.0)
    start_months = rng.choice(HISTORY_MONTHS, size=n, p=month_weights / month_weights.sum())
    start_days = rng.integers(1, 29, size=n)
    risks = rng.normal(0.0, 1.0, size=n)
    mrrs = np.clip(np.exp(rng.normal(math.log(130_000), 0.75, size=n)), 30_000, 3_000_000)
    industries = rng.choice(len(INDUSTRY_NAMES), size=n, p=INDUSTRY_WEIGHTS / INDUSTRY_WEIGHTS.sum())
    regions = rng.choice(len(REGIONS), size=n, p=REGION_WEIGHTS / REGION_WEIGHTS.sum())
    names_seen: set[str] = set()
    width = max(6, len(str(n)))
    out: list[DemoAccount] = []
    for i in range(n):
        industry = INDUSTRY_NAMES[int(industries[i])]
        name, kana = company_name(rng, industry)
        tries = 0
        while name in names_seen and tries < 5:
            name, kana = company_name(rng, industry)
            tries += 1
        if name in names_seen:
            region = REGIONS[int(regions[i])]
            name, kana = f"{name}（{region}）", kana
            k = 2
            while name in names_seen:
                name = f"{name.rsplit('（', 1)[0]}（{region}{k}）"
                k += 1
        names_seen.add(name)
        start = add_months(first_month, int(start_months[i])).replace(day=int(start_days[i]))
        if start > today:
            start = today
        mrr = int(round(float(mrrs[i]), -3))
        acct = DemoAccount(
            index=i,
            external_id=f"acct-{i + 1:0{width}d}",
            name=name,
            name_kana=kana,
            industry=industry,
            region=REGIONS[int(regions[i])],
            seats=max(1, int(mrr // 20_000 + rng.integers(0, 4))),
            risk=float(risks[i]),
            start=start,
            mrr=mrr,
        )
        _contacts_and_champion(acct, rng, today)
        _contracts(acct, rng, today)
        _stage(acct, today)
        out.append(acct)
    return out


def _contacts_and_champion(acct: DemoAccount, rng: np.random.Generator, today: date) -> None:
    domain = f"{acct.external_id}.example.jp"
    count = int(rng.integers(2, 5))
    for j in range(count):
        name, kana, romaji = person_name(rng)
        if j == 0:
            role, title = ContactRole.DECISION_MAKER, TITLES_PRIMARY[int(rng.integers(len(TITLES_PRIMARY)))]
        elif j == 1:
            role, title = ContactRole.CHAMPION, TITLES_CHAMPION[int(rng.integers(len(TITLES_CHAMPION)))]
        else:
            role = ContactRole.BILLING if j == 3 else ContactRole.USER
            title = TITLES_OTHER[int(rng.integers(len(TITLES_OTHER)))]
        acct.contacts.append(
            {
                "external_id": f"{acct.external_id}-p{j + 1}",
                "name": name,
                "name_kana": kana,
                "email": f"{romaji}@{domain}",
                "phone": f"03-{int(rng.integers(1000, 10000))}-{int(rng.integers(1000, 10000))}",
                "title": title,
                "role": role,
                "is_primary": j == 0,
                "left_on": None,
                "successor": None,
            }
        )
    # A champion leaves in about a quarter of the accounts older than half a year (more often where
    # the account is already in trouble); a successor takes over.
    life = (today - acct.start).days
    if life > 180 and rng.random() < 0.18 + 0.12 * sigmoid(acct.risk):
        left = acct.start + timedelta(days=int(rng.integers(90, life)))
        champion = acct.contacts[1]
        champion["left_on"] = left
        name, kana, romaji = person_name(rng)
        successor_id = f"{acct.external_id}-s2"
        champion["successor"] = successor_id
        acct.contacts.append(
            {
                "external_id": successor_id,
                "name": name,
                "name_kana": kana,
                "email": f"{romaji}@{domain}",
                "phone": champion["phone"],
                "title": champion["title"],
                "role": ContactRole.CHAMPION,
                "is_primary": False,
                "left_on": None,
                "successor": None,
            }
        )
        acct.champion_left_on = left


def _renewal_risk(acct: DemoAccount, renewal: date, rng: np.random.Generator) -> float:
    logit = -2.4 + 1.35 * acct.risk + rng.normal(0.0, 0.35)
    if acct.champion_left_on and timedelta(0) <= renewal - acct.champion_left_on <= timedelta(days=270):
        logit += 1.4
    return sigmoid(logit)


def _contracts(acct: DemoAccount, rng: np.random.Generator, today: date) -> None:
    term_start, mrr, k = acct.start, acct.mrr, 0
    while True:
        renewal = add_months(acct.start, 12 * (k + 1))
        churn = rng.random() < _renewal_risk(acct, renewal, rng)
        contract: dict[str, object] = {
            "external_id": f"{acct.external_id}-c{k + 1}",
            "plan": plan_for(mrr),
            "mrr": mrr,
            "start_date": term_start,
            "renewal_date": renewal,
            "auto_renew": bool(rng.random() < 0.3),
            "churn_reason": "",
            "churned_on": None,
            "end_date": None,
        }
        acct.contracts.append(contract)
        if renewal > today:
            contract["status"] = ContractStatus.ACTIVE
            # The fate of the coming renewal is decided now: an account heading for churn already
            # shows it in its usage during the months before.
            if churn:
                acct.decline_until = renewal
                acct.decline_strength = float(rng.uniform(0.5, 0.85))
            break
        contract["end_date"] = renewal
        if churn:
            contract["status"] = ContractStatus.CHURNED
            contract["churned_on"] = renewal
            contract["churn_reason"] = _churn_reason(acct, renewal, rng)
            acct.churned_on = renewal
            acct.churn_reason = str(contract["churn_reason"])
            acct.decline_until = renewal
            acct.decline_strength = float(rng.uniform(0.5, 0.85))
            break
        contract["status"] = ContractStatus.RENEWED
        # Healthy accounts expand at renewal now and then.
        if rng.random() < 0.35 * (1 - sigmoid(acct.risk)):
            mrr = int(round(mrr * float(rng.uniform(1.1, 1.5)), -3))
        term_start, k = renewal, k + 1
    acct.mrr = mrr
    acct.tier = tier_for(mrr)
    if acct.churned_on and acct.champion_left_on and acct.champion_left_on >= acct.churned_on:
        # The account was gone before the champion would have left: nobody left.
        acct.contacts.pop()
        acct.contacts[1]["left_on"] = acct.contacts[1]["successor"] = None
        acct.champion_left_on = None


def _churn_reason(acct: DemoAccount, renewal: date, rng: np.random.Generator) -> str:
    weights = {
        "usage": 2.0 + 2.0 * max(acct.risk, 0.0),
        "champion": 6.0 if acct.champion_left_on and acct.champion_left_on <= renewal else 0.0,
        "support": 1.0 + 1.5 * max(acct.risk, 0.0),
        "budget": 1.5,
        "competitor": 1.2,
        "policy": 0.8,
        "feature": 1.0,
        "price": 1.2 if acct.mrr >= 150_000 else 0.6,
    }
    keys = list(weights)
    p = np.array([weights[k] for k in keys])
    return CHURN_REASONS[keys[int(rng.choice(len(keys), p=p / p.sum()))]]


def _stage(acct: DemoAccount, today: date) -> None:
    if acct.churned_on:
        acct.stage = LifecycleStage.CHURNED
    elif (today - acct.start).days < 90:
        acct.stage = LifecycleStage.ONBOARDING
    elif (acct.decline_until and (acct.decline_until - today).days < 90) or acct.risk > 1.6:
        acct.stage = LifecycleStage.AT_RISK
    elif (add_months(acct.start, 12 * len(acct.contracts)) - today).days < 60:
        acct.stage = LifecycleStage.RENEWAL
    elif len(acct.contracts) > 1 and acct.mrr > int(acct.contracts[0]["mrr"]):  # type: ignore[call-overload]
        acct.stage = LifecycleStage.EXPANSION
    else:
        acct.stage = LifecycleStage.ADOPTION


def _ids(model: type[Account] | type[Contact], external_ids: list[str]) -> dict[str, int]:
    out: dict[str, int] = {}
    for start in range(0, len(external_ids), 5000):
        part = external_ids[start : start + 5000]
        out.update(model.objects.filter(source=DEMO_SOURCE, external_id__in=part).values_list("external_id", "id"))
    return out


def build(ctx: DemoContext) -> None:
    accounts = generate(ctx)
    ctx.progress(f"accounts generated: {len(accounts):,}")
    csms = ctx.shared.get("csms") or []
    owner_order = ctx.rng_for("accounts.owners").permutation(len(accounts))
    now = datetime.now(tz=TOKYO)

    with transaction.atomic():
        rows = []
        for acct in accounts:
            owner = csms[int(owner_order[acct.index]) % len(csms)] if csms else None
            account = Account(
                source=DEMO_SOURCE,
                external_id=acct.external_id,
                name=acct.name,
                name_kana=acct.name_kana,
                kind=AccountKind.CUSTOMER,
                owner=owner,
                tier=acct.tier,
                lifecycle_stage=acct.stage,
                industry=acct.industry,
                attributes={"region": acct.region, "seats": acct.seats},
                created_at=aware(acct.start),
                updated_at=now,
            )
            account.search_text = search_text(acct)
            rows.append(account)
        before = Account.objects.filter(source=DEMO_SOURCE).count()
        Account.objects.bulk_create(rows, batch_size=BATCH, ignore_conflicts=True)
        ids = _ids(Account, [a.external_id for a in accounts])
        for acct in accounts:
            acct.id = ids[acct.external_id]
        ctx.count("accounts", len(ids) - before)
        ctx.progress(f"accounts written: {len(ids) - before:,} new")

        contacts, successors = [], []
        for acct in accounts:
            for c in acct.contacts:
                fields = {k: v for k, v in c.items() if k != "successor"}
                contacts.append(
                    Contact(
                        source=DEMO_SOURCE, account_id=acct.id, created_at=aware(acct.start), updated_at=now, **fields
                    )
                )
                if c["successor"]:
                    successors.append((str(c["external_id"]), str(c["successor"])))
        before = Contact.objects.filter(source=DEMO_SOURCE).count()
        Contact.objects.bulk_create(contacts, batch_size=BATCH, ignore_conflicts=True)
        contact_ids = _ids(Contact, [e for pair in successors for e in pair])
        links = [Contact(id=contact_ids[left], successor_id=contact_ids[succ]) for left, succ in successors]
        Contact.objects.bulk_update(links, ["successor"], batch_size=BATCH)
        ctx.count("contacts", Contact.objects.filter(source=DEMO_SOURCE).count() - before)

        contracts = [
            Contract(
                source=DEMO_SOURCE,
                account_id=acct.id,
                created_at=aware(c["start_date"]),  # type: ignore[arg-type]
                updated_at=now,
                **c,
            )
            for acct in accounts
            for c in acct.contracts
        ]
        before = Contract.objects.filter(source=DEMO_SOURCE).count()
        Contract.objects.bulk_create(contracts, batch_size=BATCH, ignore_conflicts=True)
        ctx.count("contracts", Contract.objects.filter(source=DEMO_SOURCE).count() - before)

        refresh_rollups(today=ctx.today)
    churned = sum(1 for a in accounts if a.churned_on)
    ctx.progress(
        f"contacts {len(contacts):,}, contracts {len(contracts):,}, churned accounts {churned:,} "
        f"({churned / max(1, len(accounts)):.0%})"
    )
    ctx.shared["demo_accounts"] = accounts


def search_text(acct: DemoAccount) -> str:
    return search_key(acct.name, acct.name_kana)


def reset(ctx: DemoContext) -> None:
    """Remove the demo accounts with everything hanging off them."""
    with transaction.atomic():
        Contact.objects.filter(source=DEMO_SOURCE).update(successor=None)
        Contract.objects.filter(source=DEMO_SOURCE).delete()
        Contact.objects.filter(source=DEMO_SOURCE).delete()
        Account.objects.filter(source=DEMO_SOURCE).delete()
