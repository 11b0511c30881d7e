"""Demo support desk of a services marketplace (seed 004): four agents in the サポートデスク team, the default
statuses and SLA policies, 20 inquiry types, a service-category tree of about 60 categories, the FAQ articles
of data/faq_ja.json published through kb.py, reply macros, six months of about 3,000 inquiries by chat,
email, web form and phone with Japanese subjects and messages per type, agent replies, SLA measurements
computed with the business-hours clock, confirmed types, chatbot sessions with their outcomes, improvement
requests (one shipped that cut 認証コードが届かない; 出店者と連絡が取れない growing), and a trained classifier.

Deterministic (its own random stream); history is written with bulk inserts. A second run adds nothing.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
from django.contrib.auth.hashers import make_password
from django.db import transaction

from banso.core.business_hours import BusinessHours
from banso.core.calendar import closed_days
from banso.core.choices import Role
from banso.core.demo import DEMO_PASSWORD, DemoContext, person_name
from banso.core.models import Team, User

from . import categories, classify, desk, improvements, sla
from .models import (
    Article,
    ArticleStatus,
    AuthorKind,
    Category,
    ChatOutcome,
    ChatSession,
    ClassifierRun,
    ClassifierTraining,
    ImprovementRequest,
    Inquiry,
    InquiryType,
    Macro,
    Message,
    SlaMeasurement,
    SlaMetric,
    SupportSettings,
    Synonym,
    TeamSettings,
)

TOKYO = ZoneInfo("Asia/Tokyo")
DOMAIN = "demo-support.example"
TEAM = "サポートデスク"
DAYS = 182
INQUIRIES = 3_000
AGENTS = [("support", "支援 健一"), ("support2", "窓口 さくら"), ("support3", "対応 大輔"), ("support4", "相談 美咲")]
GROWING = "出店者と連絡が取れない"
FIXED = "認証コードが届かない"
FIX_WEEKS_AGO = 10

# (type, group, weight, [(subject, first message)]); {service} is a service category's name.
TYPES: list[tuple[str, str, float, list[tuple[str, str]]]] = [
    (
        "予約の変更",
        "予約",
        9,
        [
            ("予約日時を変更したい", "{service}の予約日時を変更したいです。来週の土曜日午前に変更できますか。"),
            ("日程変更のお願い", "先日予約した{service}の日程を変更したいのですが、手続き方法を教えてください。"),
            ("訪問時間の変更", "{service}の訪問時間を午後に変更してもらうことは可能でしょうか。"),
        ],
    ),
    (
        "予約のキャンセル",
        "予約",
        8,
        [
            ("予約をキャンセルしたい", "急用のため{service}の予約をキャンセルしたいです。キャンセル料はかかりますか。"),
            ("キャンセル方法", "{service}の予約の取り消し方法がわかりません。"),
            ("キャンセル料について", "前日のキャンセルだとキャンセル料は何％になりますか。{service}を予約しています。"),
        ],
    ),
    (
        "予約が確定しない",
        "予約",
        5,
        [
            ("予約が確定しません", "{service}を申し込んで3日経ちますが、まだ予約が確定になりません。"),
            ("承認待ちのまま", "予約が承認待ちのままです。{service}の出店者さんは見てくれているのでしょうか。"),
        ],
    ),
    (
        "料金・見積もり",
        "料金",
        7,
        [
            ("見積もり金額について", "{service}の見積もりが掲載価格より高いのですが、理由を教えてください。"),
            ("追加料金が発生した", "当日{service}で追加料金を請求されました。事前の説明はありませんでした。"),
            ("出張費はかかりますか", "{service}をお願いしたいのですが、出張費は別途必要ですか。"),
        ],
    ),
    (
        "支払い方法",
        "料金",
        5,
        [
            ("支払い方法を変更したい", "クレジットカードから後払いに支払い方法を変更できますか。"),
            ("使えるカード", "{service}の支払いにデビットカードは使えますか。"),
            ("請求書払い", "法人で{service}を利用したいので請求書払いは可能でしょうか。"),
        ],
    ),
    (
        "返金",
        "料金",
        6,
        [
            ("返金はいつになりますか", "キャンセルした{service}の返金がまだ確認できません。いつ頃返金されますか。"),
            ("二重決済の返金", "{service}の代金が二重に引き落とされています。返金をお願いします。"),
            ("返金申請", "作業が途中で終わったので{service}の一部返金を希望します。"),
        ],
    ),
    (
        "領収書",
        "料金",
        3,
        [
            ("領収書の発行", "{service}の領収書を宛名入りで発行してほしいです。"),
            ("インボイス対応の領収書", "適格請求書の要件を満たした領収書はもらえますか。"),
        ],
    ),
    (
        "クーポン・ポイント",
        "料金",
        4,
        [
            ("クーポンが使えない", "初回クーポンを入力しても{service}の料金に適用されません。"),
            ("ポイントが付与されない", "{service}の利用から1週間経ちますがポイントが付いていません。"),
        ],
    ),
    (
        "ログインできない",
        "アカウント",
        5,
        [
            ("ログインできません", "パスワードを入力してもログインできません。アカウントがロックされていますか。"),
            ("パスワードを忘れた", "パスワードを忘れてしまい、再設定メールも届きません。"),
        ],
    ),
    (
        FIXED,
        "アカウント",
        5,
        [
            ("認証コードが届きません", "ログイン時のSMS認証コードが届きません。何度送っても来ないです。"),
            ("二段階認証のコード", "二段階認証のコードが来ないのでログインできません。"),
            ("SMSが来ない", "電話番号を変えていないのに認証用のSMSが届かなくなりました。"),
        ],
    ),
    (
        "登録情報の変更",
        "アカウント",
        4,
        [
            ("メールアドレスの変更", "登録しているメールアドレスを変更したいです。"),
            ("住所変更", "引っ越したので登録住所を変更したい。{service}の予約にも反映されますか。"),
        ],
    ),
    (
        "退会",
        "アカウント",
        2,
        [
            ("退会したい", "退会の手続き方法を教えてください。残っているポイントはどうなりますか。"),
            ("アカウント削除", "アカウントと個人情報を削除してほしいです。"),
        ],
    ),
    (
        GROWING,
        "出店者",
        4,
        [
            ("出店者から連絡がない", "{service}を予約しましたが、出店者さんからメッセージの返信がありません。"),
            ("プロと連絡が取れない", "予約日が近いのに{service}の担当の方と連絡が取れず不安です。"),
            ("当日来ない", "{service}の予約時間を過ぎても出店者さんが来ません。連絡もつきません。"),
        ],
    ),
    (
        "作業内容への不満",
        "出店者",
        5,
        [
            ("作業の仕上がりに不満", "{service}をお願いしましたが、汚れが落ちていない箇所が多くて不満です。"),
            ("やり直してほしい", "{service}の作業が雑でした。やり直しか返金をお願いしたいです。"),
            ("対応が悪かった", "{service}のスタッフの言葉遣いが悪く、不快な思いをしました。"),
        ],
    ),
    (
        "破損・事故",
        "出店者",
        2,
        [
            ("家具が破損した", "{service}の作業中に家具に傷がつきました。補償はありますか。"),
            ("物が壊れた", "{service}の後、エアコンが動かなくなりました。どうすればいいですか。"),
        ],
    ),
    (
        "口コミ・評価",
        "出店者",
        2,
        [
            ("口コミの修正", "投稿した{service}の口コミを修正したいです。"),
            ("不当な口コミ", "事実と異なる口コミが掲載されています。削除してもらえますか。"),
        ],
    ),
    (
        "サービス内容の質問",
        "サービス",
        7,
        [
            ("サービス内容について", "{service}にはどこまでの作業が含まれていますか。"),
            ("所要時間", "{service}の所要時間はどのくらいですか。立ち会いは必要ですか。"),
            ("対応エリア", "{service}は市外でもお願いできますか。対応エリアを知りたいです。"),
        ],
    ),
    (
        "出店したい",
        "出店者",
        2,
        [
            ("出店の方法", "{service}の事業者として出店したいです。手数料や審査について教えてください。"),
            ("出店審査", "出店申請を出しましたが審査の状況を知りたいです。"),
        ],
    ),
    (
        "アプリの不具合",
        "システム",
        3,
        [
            ("アプリが落ちる", "アプリで{service}の予約画面を開くと落ちてしまいます。"),
            ("画面が表示されない", "予約履歴の画面が真っ白で何も表示されません。"),
        ],
    ),
    (
        "その他",
        "その他",
        2,
        [
            ("問い合わせ", "{service}について相談したいことがあります。電話で話せますか。"),
            ("要望", "{service}の予約で土日の選択肢をもっと増やしてほしいです。"),
        ],
    ),
]

# Service categories: (code, name, parent code), three levels under eight roots.
TREE: dict[str, dict[str, list[str]]] = {
    "ハウスクリーニング": {
        "エアコンクリーニング": ["壁掛けエアコン", "お掃除機能付きエアコン", "業務用エアコン"],
        "水回りクリーニング": ["浴室クリーニング", "キッチンクリーニング", "トイレクリーニング"],
        "レンジフードクリーニング": [],
        "窓・サッシクリーニング": [],
        "床・ワックスがけ": [],
    },
    "家事代行": {"定期家事代行": [], "作り置き料理": [], "整理収納": [], "ベビーシッター": []},
    "修理・リフォーム": {
        "水漏れ・つまり修理": ["トイレつまり", "蛇口交換"],
        "内装リフォーム": ["クロス張替え", "畳・襖"],
        "電気工事": [],
        "鍵の交換": [],
    },
    "引越し・不用品回収": {"単身引越し": [], "家族引越し": [], "不用品回収": [], "家具の組み立て": []},
    "暮らしのサポート": {"庭木の剪定": [], "草刈り": [], "害虫駆除": [], "家電の設置": []},
    "レッスン": {"料理教室": [], "ピアノレッスン": [], "英会話": [], "パーソナルトレーニング": []},
    "撮影": {"出張撮影": ["七五三撮影", "家族写真", "ウェディングフォト"], "商品撮影": []},
    "ペット": {"ペットシッター": [], "トリミング": [], "ドッグトレーニング": []},
}

MACROS = [
    (
        "受付のご連絡",
        "{{ requester_name }}様\n\nお問い合わせいただきありがとうございます。サポートデスクの{{ agent_name }}です。"
        "内容を確認のうえ、改めてご連絡いたします。",
    ),
    (
        "予約変更の手順",
        "{{ requester_name }}様\n\n予約の変更は、マイページの「予約履歴」から該当の予約を開き、"
        "「日時を変更する」を押してください。出店者の承認後に確定します。",
    ),
    (
        "キャンセル料のご案内",
        "{{ requester_name }}様\n\nキャンセル料は前日が50％、当日が100％です。2日前までのキャンセルは無料です。",
    ),
    (
        "返金時期のご案内",
        "{{ requester_name }}様\n\n返金はキャンセル確定から5〜10営業日でカード会社経由で行われます。"
        "反映時期はカード会社により異なります。",
    ),
    (
        "出店者へ確認中",
        "{{ requester_name }}様\n\n出店者に事実関係を確認しております。"
        "恐れ入りますが、回答まで今しばらくお待ちください。",
    ),
    (
        "認証コードが届かない場合",
        "{{ requester_name }}様\n\nSMSが届かない場合は、ログイン画面の「音声通話で受け取る」をお試しください。",
    ),
    ("解決のご確認", "{{ requester_name }}様\n\nその後いかがでしょうか。ご不明な点があれば本メールにご返信ください。"),
]

REPLIES = [
    "{name}様\n\nお問い合わせありがとうございます。確認いたしました。ご案内の手順でお手続きいただけます。",
    "{name}様\n\nご不便をおかけして申し訳ございません。出店者に確認し、対応いたしました。",
    "{name}様\n\nお待たせいたしました。ご依頼の件、こちらで処理が完了しております。",
    "{name}様\n\nご連絡ありがとうございます。詳細をお知らせいただけますでしょうか。",
]
THANKS = ["ありがとうございました。解決しました。", "承知しました。助かりました。", "確認できました。"]
CHANNELS = (["chat", "email", "form", "phone"], [0.45, 0.33, 0.16, 0.06])
PRIORITIES = (["low", "normal", "high", "urgent"], [0.1, 0.75, 0.12, 0.03])

IMPROVEMENTS = [
    (
        "認証コードをSMS以外（音声通話）でも受け取れるようにする",
        "SMSが届かないという問い合わせが毎週多数。音声通話での受け取りを追加する。",
        "product",
        [FIXED],
        "shipped",
    ),
    (
        "出店者の返信遅れを自動で検知して督促する",
        "出店者と連絡が取れないという問い合わせが増加中。",
        "product",
        [GROWING],
        "in_progress",
    ),
    (
        "キャンセル料の表示を予約画面の上部に移す",
        "キャンセル料の問い合わせを減らす。",
        "rules",
        ["予約のキャンセル"],
        "accepted",
    ),
    ("FAQ: 出張費の有無をサービスごとに記載", "", "content", ["料金・見積もり"], "proposed"),
]


def _tree_csv() -> bytes:
    lines = ["code,name,parent_code"]
    for i, (root, children) in enumerate(TREE.items()):
        lines.append(f"svc-{i},{root},")
        for j, (child, leaves) in enumerate(children.items()):
            lines.append(f"svc-{i}-{j},{child},svc-{i}")
            for k, leaf in enumerate(leaves):
                lines.append(f"svc-{i}-{j}-{k},{leaf},svc-{i}-{j}")
    return ("\n".join(lines) + "\n").encode("utf-8-sig")


def _agents(ctx: DemoContext) -> tuple[Team, list[User]]:
    password = make_password(DEMO_PASSWORD)
    agents = []
    for username, name in AGENTS:
        user, _made = User.objects.get_or_create(
            username=username, defaults={"role": Role.SUPPORT_AGENT, "display_name": name, "password": password}
        )
        agents.append(user)
    team, _made = Team.objects.get_or_create(name=TEAM, defaults={"lead": agents[0]})
    team.members.add(*agents)
    TeamSettings.objects.get_or_create(team=team)
    settings_row, _made = SupportSettings.objects.get_or_create(pk=1)
    if not settings_row.reply_address:
        settings_row.reply_address = f"support@{DOMAIN}"
        settings_row.default_team = team
        settings_row.save()
    return team, agents


def _knowledge(ctx: DemoContext) -> list[Article]:
    from . import kb

    path = Path(__file__).parent / "data" / "faq_ja.json"
    if path.exists() and not Article.objects.exists():
        kb.import_articles(kb.read_import(path.read_bytes(), path.name), None)
    return list(Article.objects.filter(status=ArticleStatus.PUBLISHED).order_by("pk"))


def _business_delay(rng: np.random.Generator, median: float) -> int:
    return max(1, int(rng.lognormal(np.log(median), 0.9)))


def build(ctx: DemoContext) -> None:
    if Inquiry.objects.filter(requester_email__endswith=f"@{DOMAIN}").exists():
        ctx.progress("support: demo desk already there")
        return
    rng = ctx.rng_for("support")
    with transaction.atomic():
        team, agents = _agents(ctx)
        desk.ensure_default_statuses()
        sla.ensure_default_policies()
        types = {t.name: t for t in categories.ensure_types([(name, group) for name, group, _w, _x in TYPES])}
        categories.import_categories(_tree_csv(), "demo.csv")
        leaves = list(Category.objects.filter(code__startswith="svc-", children__isnull=True).order_by("code"))
        for name, body in MACROS:
            Macro.objects.get_or_create(name=name, defaults={"body": body, "team": team, "created_by": agents[0]})
    articles = _knowledge(ctx)
    ctx.progress(f"support: team of {len(agents)}, {len(types)} types, {Category.objects.count()} categories")
    with transaction.atomic():
        inquiries = _history(ctx, rng, team, agents, types, leaves)
        sessions = _chat_sessions(rng, inquiries, articles, ctx.today)
        requests = _improvements(rng, types, agents, ctx.today)
    ctx.count("inquiries", len(inquiries))
    ctx.count("chat sessions", sessions)
    ctx.count("improvement requests", requests)
    ctx.progress(f"support: {len(inquiries):,} inquiries, {sessions:,} chat sessions")
    run = classify.train()
    _suggest_recent(ctx.today)
    ctx.progress(f"support: classifier trained on {run.samples:,} inquiries (accuracy {run.accuracy:.2f})")


def _weight(name: str, base: float, day: dt.date, today: dt.date) -> float:
    t = 1 - (today - day).days / DAYS  # 0 six months ago, 1 today
    if name == GROWING:
        return base * (0.5 + 2.5 * t)
    if name == FIXED and day >= today - dt.timedelta(weeks=FIX_WEEKS_AGO):
        return base * 0.3
    return base


def _history(
    ctx: DemoContext,
    rng: np.random.Generator,
    team: Team,
    agents: list[User],
    types: dict[str, InquiryType],
    leaves: list[Category],
) -> list[Inquiry]:
    today = ctx.today
    first_day = today - dt.timedelta(days=DAYS - 1)
    days = [first_day + dt.timedelta(days=i) for i in range(DAYS)]
    # More inquiries on weekdays and a little more each month (the marketplace grows).
    day_weight = np.array([(1.0 if d.weekday() < 5 else 0.6) * (0.8 + 0.4 * i / DAYS) for i, d in enumerate(days)])
    per_day = rng.multinomial(INQUIRIES, day_weight / day_weight.sum())
    closed = closed_days(first_day - dt.timedelta(days=1), today + dt.timedelta(days=90))
    hours = BusinessHours()
    statuses = {key: desk.status(key) for key in ("new", "open", "waiting_customer", "solved", "closed")}
    policies: dict[tuple[str, str], Any] = {}
    number = desk.next_number()
    inquiries: list[Inquiry] = []
    messages: list[Message] = []
    measurements: list[tuple[int, list[SlaMeasurement]]] = []
    now = dt.datetime.combine(today, dt.time(17, 0), tzinfo=TOKYO)
    type_rows = TYPES
    for day, count in zip(days, per_day, strict=True):
        weights = np.array([_weight(name, w, day, today) for name, _g, w, _x in type_rows])
        picks = rng.choice(len(type_rows), size=int(count), p=weights / weights.sum())
        for pick in picks:
            name, _group, _w, texts = type_rows[int(pick)]
            subject, body = texts[int(rng.integers(len(texts)))]
            leaf = leaves[int(rng.integers(len(leaves)))]
            channel = str(rng.choice(CHANNELS[0], p=CHANNELS[1]))
            priority = str(rng.choice(PRIORITIES[0], p=PRIORITIES[1]))
            hour = int(rng.choice(24, p=_HOUR_P))
            created = dt.datetime.combine(day, dt.time(hour, int(rng.integers(60))), tzinfo=TOKYO)
            if created > now:
                created = now - dt.timedelta(minutes=int(rng.integers(30, 300)))
            person, _reading, romaji = person_name(rng)
            age_days = (today - day).days
            agent = agents[int(rng.integers(len(agents)))]
            first_at = hours.add_minutes(created, _business_delay(rng, 70 if channel == "chat" else 150), closed)
            solved_at = hours.add_minutes(first_at, _business_delay(rng, 420), closed)
            if age_days > 6 or solved_at < now - dt.timedelta(days=1):
                status = statuses["closed"] if age_days > 14 and rng.random() < 0.6 else statuses["solved"]
            else:
                roll = rng.random()
                status = (
                    statuses["new"]
                    if roll < 0.2
                    else statuses["open"]
                    if roll < 0.55
                    else statuses["waiting_customer"]
                    if roll < 0.75
                    else statuses["solved"]
                )
            done = status.key in ("solved", "closed")
            responded = status.key != "new" and first_at < now
            if not responded:
                first_at = None  # type: ignore[assignment]
            confirmed = done and rng.random() < 0.93
            inquiry = Inquiry(
                number=number,
                subject=subject,
                channel=channel,
                status=status,
                priority=priority,
                team=team,
                assignee=agent if status.key != "new" else None,
                requester_name=person.replace(" ", ""),
                requester_email=f"{romaji}{number}@{DOMAIN}",
                category=leaf,
                inquiry_type=types[name] if confirmed else None,
                type_confirmed_by=agent if confirmed else None,
                created_at=created,
                updated_at=solved_at if done else (first_at or created),
                last_customer_message_at=created,
                last_agent_message_at=first_at,
                first_responded_at=first_at,
                solved_at=solved_at if done else None,
            )
            number += 1
            inquiries.append(inquiry)
            text = body.format(service=leaf.name)
            messages.append(_message(inquiry, AuthorKind.CUSTOMER, person, text, created))
            if first_at:
                reply = REPLIES[int(rng.integers(len(REPLIES)))].format(name=inquiry.requester_name)
                messages.append(_message(inquiry, AuthorKind.AGENT, str(agent), reply, first_at, agent))
                if done and rng.random() < 0.4:
                    thanks = THANKS[int(rng.integers(len(THANKS)))]
                    at = min(solved_at, first_at + dt.timedelta(hours=2))
                    messages.append(_message(inquiry, AuthorKind.CUSTOMER, person, thanks, at))
            key = (priority, channel)
            if key not in policies:
                policies[key] = sla.policy_for(priority, channel)
            measurements.append((len(inquiries) - 1, _measure(inquiry, policies[key], hours, closed, now)))
    Inquiry.objects.bulk_create(inquiries, batch_size=1000)
    for message in messages:
        message.inquiry_id = message.inquiry.pk
    Message.objects.bulk_create(messages, batch_size=2000)
    rows = []
    for index, items in measurements:
        for m in items:
            m.inquiry_id = inquiries[index].pk
            rows.append(m)
    SlaMeasurement.objects.bulk_create(rows, batch_size=2000)
    return inquiries


# Arrivals by hour of day (Japan): chat and forms run into the evening.
_HOUR_P = np.array([0.2, 0.1, 0.1, 0.1, 0.1, 0.2, 0.5, 1.5, 3, 6, 8, 8, 6, 7, 7.5, 7, 6.5, 6, 5, 4.5, 4, 3, 2, 1])
_HOUR_P = _HOUR_P / _HOUR_P.sum()


def _message(inquiry: Inquiry, kind: str, name: str, body: str, at: dt.datetime, author: User | None = None) -> Message:
    return Message(
        inquiry=inquiry,
        author_kind=kind,
        author=author,
        author_name=name,
        body=body,
        channel=inquiry.channel,
        created_at=at,
    )


def _measure(
    inquiry: Inquiry, policy: Any, hours: BusinessHours, closed: set[dt.date], now: dt.datetime
) -> list[SlaMeasurement]:
    """The first-response and resolution targets as the SLA clock would have recorded them (no pauses)."""
    out: list[SlaMeasurement] = []
    if policy is None:
        return out
    targets = (
        (SlaMetric.FIRST_RESPONSE, policy.first_response_minutes, inquiry.first_responded_at, "first_response_due_at"),
        (SlaMetric.RESOLUTION, policy.resolution_minutes, inquiry.solved_at, "resolution_due_at"),
    )
    open_dues = []
    for metric, target, achieved, due_field in targets:
        if not target:
            continue
        due = hours.add_minutes(inquiry.created_at, target, closed)
        taken = hours.minutes_between(inquiry.created_at, achieved, closed) if achieved else None
        breached = taken > target if taken is not None else now > due
        out.append(
            SlaMeasurement(
                metric=metric,
                policy=policy,
                target_minutes=target,
                started_at=inquiry.created_at,
                due_at=due,
                achieved_at=achieved,
                business_minutes=taken,
                breached=breached,
                assignee=inquiry.assignee,
                team=inquiry.team,
            )
        )
        if achieved is None:
            setattr(inquiry, due_field, due)
            open_dues.append(due)
    if inquiry.status.pauses_sla and open_dues:
        inquiry.sla_paused_at = inquiry.updated_at
    elif open_dues:
        inquiry.sla_next_due_at = min(open_dues)
    return out


def _chat_sessions(rng: np.random.Generator, inquiries: list[Inquiry], articles: list[Article], today: dt.date) -> int:
    """A handed-off session behind every chat inquiry, and the sessions the bot resolved or the visitor left;
    the bot resolves more as the FAQ grows (self-resolution from about 40 % to 55 %)."""
    sessions: list[ChatSession] = []
    popularity = 1 / np.arange(1, len(articles) + 1) if articles else np.array([])
    popularity = popularity / popularity.sum() if articles else popularity
    for inquiry in inquiries:
        if inquiry.channel != "chat":
            continue
        started = inquiry.created_at - dt.timedelta(minutes=3)
        sessions.append(
            ChatSession(
                visitor_name=inquiry.requester_name,
                visitor_email=inquiry.requester_email,
                inquiry=inquiry,
                outcome=ChatOutcome.HANDED_OFF,
                started_at=started,
                last_activity_at=inquiry.created_at,
                handed_off_at=inquiry.created_at,
                ended_at=inquiry.created_at,
                transcript=[{"role": "visitor", "text": inquiry.subject, "at": started.isoformat()}],
            )
        )
        t = 1 - (today - timezone_date(inquiry.created_at)).days / DAYS
        resolved = rng.poisson(0.8 + 0.6 * t)
        for _ in range(int(resolved) + int(rng.random() < 0.25)):
            self_resolved = _ < resolved
            article = articles[int(rng.choice(len(articles), p=popularity))] if articles and self_resolved else None
            at = started + dt.timedelta(minutes=int(rng.integers(-600, 600)))
            sessions.append(
                ChatSession(
                    outcome=ChatOutcome.SELF_RESOLVED if self_resolved else ChatOutcome.ABANDONED,
                    resolved_by_article=article,
                    started_at=at,
                    last_activity_at=at + dt.timedelta(minutes=2),
                    ended_at=at + dt.timedelta(minutes=5),
                    transcript=[
                        {"role": "visitor", "text": inquiry.subject, "at": at.isoformat()},
                        {
                            "role": "bot",
                            "text": article.title if article else "",
                            "article": article.pk if article else None,
                        },
                    ],
                )
            )
    ChatSession.objects.bulk_create(sessions, batch_size=2000)
    return len(sessions)


def timezone_date(value: dt.datetime) -> dt.date:
    return value.astimezone(TOKYO).date()


def _improvements(rng: np.random.Generator, types: dict[str, InquiryType], agents: list[User], today: dt.date) -> int:
    shipped_at = dt.datetime.combine(
        today - dt.timedelta(weeks=FIX_WEEKS_AGO, days=today.weekday()), dt.time(10), tzinfo=TOKYO
    )
    raised_at = shipped_at - dt.timedelta(weeks=6)
    for title, description, target, type_names, status in IMPROVEMENTS:
        request = improvements.create_request(
            title=title,
            description=description,
            target=target,
            types=[types[n] for n in type_names],
            actor=agents[0],
            at=raised_at,
            via="demo",
        )
        sample = Inquiry.objects.filter(
            inquiry_type__name__in=type_names, created_at__lt=raised_at + dt.timedelta(weeks=2)
        )
        improvements.link_inquiries(request, list(sample.order_by("-created_at")[:15]), actor=agents[0], via="demo")
        path = {"accepted": ["accepted"], "in_progress": ["accepted", "in_progress"]}.get(
            status, ["accepted", "in_progress", "shipped"] if status == "shipped" else []
        )
        for step in path:
            improvements.set_status(request, step, actor=agents[0], at=shipped_at, via="demo")
    return len(IMPROVEMENTS)


def _suggest_recent(today: dt.date) -> None:
    """What the classifier would have suggested for the last four weeks' inquiries (the acceptance figures)."""
    since = dt.datetime.combine(today - dt.timedelta(weeks=4), dt.time(), tzinfo=TOKYO)
    model = classify._active_model()
    if model is None:
        return
    rows = list(
        Inquiry.objects.filter(created_at__gte=since)
        .annotate(first_body=classify._first_customer_message())
        .values_list("pk", "subject", "first_body")
    )
    if not rows:
        return
    probabilities = model.predict_proba([classify.text_of(s, b or "") for _pk, s, b in rows])
    best = probabilities.argmax(axis=1)
    updates = [
        Inquiry(pk=pk, suggested_type_id=int(model.classes_[b]), suggested_confidence=float(p[b]))
        for (pk, _s, _b), b, p in zip(rows, best, probabilities, strict=True)
    ]
    Inquiry.objects.bulk_update(updates, ["suggested_type", "suggested_confidence"], batch_size=1000)


def reset(ctx: DemoContext) -> None:
    """Remove the demo desk's inquiries, sessions, requests, trainings, articles, categories and types."""
    with transaction.atomic():
        ImprovementRequest.objects.all().delete()
        ChatSession.objects.all().delete()
        Inquiry.objects.filter(requester_email__endswith=f"@{DOMAIN}").delete()
        ClassifierTraining.objects.all().delete()
        ClassifierRun.objects.all().delete()
        Macro.objects.filter(name__in=[name for name, _b in MACROS]).delete()
        Article.objects.all().delete()
        Synonym.objects.all().delete()
        Category.objects.update(parent=None)
        Category.objects.filter(inquiries__isnull=True).delete()
        InquiryType.objects.filter(name__in=[t[0] for t in TYPES], inquiries__isnull=True).delete()
