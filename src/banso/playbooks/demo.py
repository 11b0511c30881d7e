"""Demo playbooks: the team's standard actions written down once, with half a year of runs behind them.

Task templates (owner by account owner, round-robin in the first CS team, and the assistant role), Japanese
mail templates with merge fields, and four playbooks: a red health band, renewal in 90 days, tech-touch
onboarding and a manual escalation. The renewal playbook has already run on about half of the accounts whose
renewal was decided in the past six months (steps logged as a finished run), so its page shows an effect
against the other half; nothing is sent for those past runs.

Templates and playbooks are found by name; a second `banso demo` adds nothing.
"""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

from django.db import transaction

from banso.core.choices import Role
from banso.core.demo import DEMO_SOURCE, DemoContext
from banso.core.models import Team, User
from banso.success.models import WON_STAGES, Renewal, RenewalStage

from . import editor
from .models import (
    EmailAudience,
    EmailTemplate,
    OwnerRule,
    Playbook,
    PlaybookRun,
    PlaybookRunStatus,
    RunStep,
    StepAction,
    StepCondition,
    StepOutcome,
    TaskTemplate,
)

TOKYO = ZoneInfo("Asia/Tokyo")
CAUSE_PREFIX = "demo:"
PAST_DAYS = 183

TASK_TEMPLATES: list[dict[str, Any]] = [
    {
        "name": "解約リスク対応",
        "title": "{{ account.name }}：解約リスクの確認と対応",
        "intent": "ヘルススコアが赤になりました。利用が落ちた理由を聞き、次の一手を決めるためです。",
        "checklist": ["直近の利用状況を確認", "担当者に電話またはメール", "原因と次のアクションを記録"],
        "owner_rule": OwnerRule.ACCOUNT_OWNER,
        "due_business_days": 2,
        "priority": "high",
    },
    {
        "name": "更新前ヒアリング",
        "title": "{{ account.name }}：更新前ヒアリング",
        "intent": "更新の90日前です。ご案内メールへの返信がないため、直接ご意向を伺います。",
        "checklist": ["契約内容と利用状況を確認", "ヒアリング日程を調整", "更新見込みをパイプラインに反映"],
        "owner_rule": OwnerRule.ACCOUNT_OWNER,
        "due_business_days": 5,
        "priority": "normal",
    },
    {
        "name": "オンボーディング初回連絡",
        "title": "{{ account.name }}：オンボーディング初回連絡",
        "intent": "案内メールから1週間、設定が進んでいない顧客に初回の連絡をします。",
        "checklist": ["初期設定の進み具合を確認", "操作説明会をご案内"],
        "owner_rule": OwnerRule.ROUND_ROBIN,
        "due_business_days": 3,
        "priority": "normal",
    },
    {
        "name": "利用状況レポート作成（アシスタント）",
        "title": "{{ account.name }}：利用状況レポートの作成",
        "intent": "担当CSMが打ち合わせで使う資料です。直近3か月の利用推移と問い合わせをまとめてください。",
        "checklist": ["利用推移のグラフを作成", "問い合わせ履歴を要約", "担当CSMに共有"],
        "owner_rule": OwnerRule.ROLE,
        "owner_role": Role.ASSISTANT,
        "due_business_days": 3,
        "priority": "normal",
    },
]

EMAIL_TEMPLATES: list[dict[str, Any]] = [
    {
        "name": "更新のご案内",
        "subject": "【{{ company.name }}】ご契約更新のご案内（{{ account.name }}様）",
        "body": (
            "{{ account.name }}\n{{ contact.name }}様\n\n"
            "いつも{{ company.name }}をご利用いただき、誠にありがとうございます。\n"
            "ご契約の更新日が近づいてまいりましたので、ご案内いたします。\n"
            "ご利用状況の振り返りや今後のご要望など、お気軽にご返信ください。\n\n{{ owner.name }}"
        ),
        "tech_touch": False,
    },
    {
        "name": "オンボーディング：はじめの一歩",
        "subject": "{{ account.name }}様：まずはこの3つの設定から",
        "body": (
            "{{ contact.name }}様\n\nご契約ありがとうございます。最初の1週間で次の3つを設定すると、"
            "効果を早く実感いただけます。\n\n1. ユーザーの招待\n2. 通知の設定\n3. データの取り込み\n\n"
            "{{ company.name }} カスタマーサクセス"
        ),
        "tech_touch": True,
    },
    {
        "name": "オンボーディング：活用事例",
        "subject": "{{ account.name }}様：同じ業種のお客様の活用事例",
        "body": (
            "{{ contact.name }}様\n\n{% if account.industry %}{{ account.industry }}の{% endif %}"
            "お客様がよく使われている機能をご紹介します。\n\n{{ company.name }} カスタマーサクセス"
        ),
        "tech_touch": True,
    },
]


def _templates(ctx: DemoContext) -> tuple[dict[str, TaskTemplate], dict[str, EmailTemplate]]:
    team = Team.objects.filter(name="カスタマーサクセス第1チーム").first()
    tasks = {}
    for spec in TASK_TEMPLATES:
        values = dict(spec)
        if values["owner_rule"] == OwnerRule.ROUND_ROBIN:
            values["owner_team"] = team
            if team is None:
                values["owner_rule"] = OwnerRule.ACCOUNT_OWNER
        tasks[spec["name"]], _ = TaskTemplate.objects.get_or_create(name=spec["name"], defaults=values)
    mails = {}
    for spec in EMAIL_TEMPLATES:
        mails[spec["name"]], _ = EmailTemplate.objects.get_or_create(name=spec["name"], defaults=spec)
    return tasks, mails


def _playbooks(
    tasks: dict[str, TaskTemplate], mails: dict[str, EmailTemplate], creator: User | None
) -> dict[str, Playbook]:
    def task(name: str, wait: int = 0, condition: str = StepCondition.ALWAYS) -> dict[str, Any]:
        return {
            "wait_days": wait,
            "condition": condition,
            "action": StepAction.TASK,
            "params": {"template_id": tasks[name].pk},
        }

    def mail(name: str, audience: str, wait: int = 0) -> dict[str, Any]:
        params = {"template_id": mails[name].pk, "audience": audience}
        return {"wait_days": wait, "action": StepAction.EMAIL, "params": params}

    specs: list[tuple[dict[str, Any], list[dict[str, Any]]]] = [
        (
            {
                "name": "ヘルススコアが赤になったら",
                "description": "利用の落ち込みを早く捉え、担当CSMが2営業日以内に理由を確かめる。",
                "trigger": "health_band",
                "trigger_params": {"to_bands": ["red"]},
                "cooldown_days": 30,
            },
            [
                task("解約リスク対応"),
                {"action": StepAction.ADD_TAG, "params": {"tag": "要フォロー"}},
                task("利用状況レポート作成（アシスタント）", 2, StepCondition.TASKS_OPEN),
            ],
        ),
        (
            {
                "name": "更新90日前フォロー",
                "description": "更新の90日前にご案内し、返信がなければ3営業日後にヒアリングを設定する。",
                "trigger": "renewal_due",
                "trigger_params": {"days": 90},
                "conditions": [{"field": "tier", "op": "in", "value": ["high", "low"]}],
                "cooldown_days": 180,
            },
            [mail("更新のご案内", EmailAudience.PRIMARY_CONTACT), task("更新前ヒアリング", 3, StepCondition.NO_REPLY)],
        ),
        (
            {
                "name": "テックタッチ・オンボーディング",
                "description": "テックタッチの新規顧客に、メールで立ち上がりを支援する。",
                "trigger": "manual",
                "conditions": [{"field": "tier", "op": "in", "value": ["tech"]}],
                "cooldown_days": 90,
            },
            [
                mail("オンボーディング：はじめの一歩", EmailAudience.ALL_CONTACTS),
                mail("オンボーディング：活用事例", EmailAudience.ALL_CONTACTS, 5),
                task("オンボーディング初回連絡", 2, StepCondition.NO_REPLY),
                {"wait_days": 10, "action": StepAction.ADD_TAG, "params": {"tag": "オンボーディング完了"}},
            ],
        ),
        (
            {
                "name": "解約相談へのエスカレーション",
                "description": "解約の相談を受けたら手動で開始。担当CSMの対応と資料作成を同時に進める。",
                "trigger": "manual",
                "cooldown_days": 30,
            },
            [task("解約リスク対応"), task("利用状況レポート作成（アシスタント）")],
        ),
    ]
    found = {}
    for values, steps in specs:
        existing = Playbook.objects.filter(name=values["name"]).first()
        found[values["name"]] = existing or editor.save_playbook(None, values, creator, steps=steps, via="demo")
    return found


def _past_runs(ctx: DemoContext, playbook: Playbook) -> int:
    """The renewal playbook on about half of the accounts whose renewal was decided in the last half year,
    started 90 days before the renewal, both steps logged; renewed a little more often than the rest."""
    rng = ctx.rng_for("playbooks")
    since = ctx.today - dt.timedelta(days=PAST_DAYS)
    decided = list(
        Renewal.objects.filter(
            account__source=DEMO_SOURCE,
            renewal_date__range=(since, ctx.today),
            stage__in=(*WON_STAGES, RenewalStage.CHURNED),
        )
        .order_by("account_id", "renewal_date")
        .values_list("account_id", "renewal_date", "stage")
    )
    runs, logs = [], []
    seen: set[int] = set()
    for account_id, renewal_date, stage in decided:
        if account_id in seen:
            continue
        seen.add(account_id)
        # The team ran it more on accounts that went on to renew: a visible (not causal) difference.
        if rng.random() >= (0.6 if stage in WON_STAGES else 0.4):
            continue
        started = dt.datetime.combine(renewal_date - dt.timedelta(days=90), dt.time(9, 30), tzinfo=TOKYO)
        runs.append(
            PlaybookRun(
                playbook=playbook,
                account_id=account_id,
                cause=f"{CAUSE_PREFIX}renewal_due:{renewal_date.isoformat()}",
                status=PlaybookRunStatus.COMPLETED,
                next_position=2,
                started_at=started,
                finished_at=started + dt.timedelta(days=5),
            )
        )
    with transaction.atomic():
        created = PlaybookRun.objects.bulk_create(runs, batch_size=1000)
        for run in created:
            replied = rng.random() < 0.45
            logs.append(
                RunStep(
                    run=run,
                    position=1,
                    action=StepAction.EMAIL,
                    outcome=StepOutcome.DONE,
                    detail="更新のご案内",
                    executed_at=run.started_at,
                )
            )
            logs.append(
                RunStep(
                    run=run,
                    position=2,
                    action=StepAction.TASK,
                    outcome=StepOutcome.SKIPPED if replied else StepOutcome.DONE,
                    detail="返信あり" if replied else "更新前ヒアリング",
                    executed_at=run.started_at + dt.timedelta(days=5),
                )
            )
        RunStep.objects.bulk_create(logs, batch_size=2000)
    return len(created)


def build(ctx: DemoContext) -> None:
    if Playbook.objects.filter(runs__cause__startswith=CAUSE_PREFIX).exists():
        ctx.progress("playbooks: demo playbooks exist, nothing added")
        return
    creator = ctx.shared.get("users", {}).get("ops") or User.objects.filter(username="ops").first()
    with transaction.atomic():
        tasks, mails = _templates(ctx)
        playbooks = _playbooks(tasks, mails, creator)
    runs = _past_runs(ctx, playbooks["更新90日前フォロー"])
    ctx.count("playbook runs", runs)
    ctx.progress(
        f"playbooks: {len(playbooks)} playbooks, {len(tasks)} task and {len(mails)} email templates, {runs:,} past runs"
    )


def reset(ctx: DemoContext) -> None:
    with transaction.atomic():
        PlaybookRun.objects.filter(cause__startswith=CAUSE_PREFIX).delete()
        Playbook.objects.filter(
            name__in=[
                "ヘルススコアが赤になったら",
                "更新90日前フォロー",
                "テックタッチ・オンボーディング",
                "解約相談へのエスカレーション",
            ]
        ).delete()
        TaskTemplate.objects.filter(name__in=[t["name"] for t in TASK_TEMPLATES]).delete()
        EmailTemplate.objects.filter(name__in=[t["name"] for t in EMAIL_TEMPLATES]).delete()
