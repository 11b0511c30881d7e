"""Demo client funnels: the recruiting agency of seed 002 with 60 client companies (industries and job
types), eight months of applicants going 応募 → 面接実施 → 内定, and a first contact after each application.

Each client has its own base rates around the industry's; a few have an obvious bottleneck (interviews
rarely held, or offers rarely made) so the clients list opens on them. The first contact comes after a
delay drawn per client (some answer within minutes, some take a day), and a slow answer lowers the
chance of an interview, as the seed says. Events are appended through `activity.store` (the Parquet copy
picks them up), then one funnel computation runs so the pages show results at once.
"""

from __future__ import annotations

import datetime as dt
import json
from zoneinfo import ZoneInfo

import numpy as np
import polars as pl
from django.db import transaction

from banso.accounts.choices import AccountKind, EndUserKind, TouchTier
from banso.accounts.models import Account, EndUser
from banso.activity import lake
from banso.activity.store import append_events, bulk_loading
from banso.core.demo import DemoContext
from banso.core.models import User

from .models import Funnel, FunnelStage

TOKYO = ZoneInfo("Asia/Tokyo")
FUNNEL_NAME = "採用ファネル"
STAGES = [("応募", "", "application"), ("面接実施", "面接実施率", "interview_held"), ("内定", "内定率", "offer_made")]
CONTACTED = "applicant_contacted"
# Its own source: the recruiting clients are a second demo workspace beside the `--accounts N` customers,
# which the core demo (and the benchmarks built on it) count by the core demo source.
DEMO_SOURCE = "demo-funnels"
CLIENTS = 60
MONTHS = 8
# industry: (interview rate, offer rate) typical of it
INDUSTRIES = {
    "IT・通信": (0.42, 0.30),
    "小売": (0.50, 0.38),
    "飲食": (0.55, 0.45),
    "介護・医療": (0.48, 0.42),
    "製造": (0.40, 0.33),
}
JOB_TYPES = ["営業職", "販売スタッフ", "エンジニア", "介護職", "製造スタッフ", "事務職"]
NAMES = ["あおば", "さくら", "みなと", "ひかり", "つばさ", "やまと", "いずみ", "かえで", "のぞみ", "すばる"]
SUFFIXES = ["商事", "ホールディングス", "テック", "フーズ", "ケア", "工業"]


def _client_id(i: int) -> str:
    return f"funnel-client-{i:03d}"


def _funnel() -> Funnel:
    funnel = Funnel.objects.filter(name=FUNNEL_NAME).first()
    if funnel is not None:
        return funnel
    funnel = Funnel.objects.create(
        name=FUNNEL_NAME,
        description="応募から内定までのクライアント別ファネル",
        is_default=not Funnel.objects.filter(is_default=True).exists(),
        peer_attribute="industry",
        project_property="project",
        response_event_kind=CONTACTED,
        response_target_minutes=15,
        business_hours=[["09:00", "12:00"], ["13:00", "18:00"]],
    )
    FunnelStage.objects.bulk_create(
        FunnelStage(funnel=funnel, position=i, label=label, rate_label=rate, event_kind=kind)
        for i, (label, rate, kind) in enumerate(STAGES, start=1)
    )
    return funnel


def _clients(ctx: DemoContext, rng: np.random.Generator) -> list[Account]:
    owners = list(ctx.shared.get("csms") or User.objects.filter(is_active=True).order_by("pk")[:15])
    industries = list(INDUSTRIES)
    accounts = []
    for i in range(CLIENTS):
        industry = industries[i % len(industries)]
        accounts.append(
            Account(
                source=DEMO_SOURCE,
                external_id=_client_id(i),
                name=f"株式会社{NAMES[i % len(NAMES)]}{SUFFIXES[(i // len(NAMES)) % len(SUFFIXES)]}{i + 1}",
                kind=AccountKind.CLIENT,
                industry=industry,
                attributes={"job_type": JOB_TYPES[int(rng.integers(len(JOB_TYPES)))]},
                tier=[TouchTier.HIGH, TouchTier.LOW, TouchTier.TECH][int(rng.choice(3, p=[0.3, 0.5, 0.2]))],
                owner=owners[i % len(owners)] if owners else None,
            )
        )
    Account.objects.bulk_create(accounts, batch_size=500, ignore_conflicts=True)
    return list(Account.objects.filter(source=DEMO_SOURCE, external_id__startswith="funnel-client-").order_by("pk"))


def _events(ctx: DemoContext, rng: np.random.Generator, clients: list[Account]) -> pl.DataFrame:
    start = ctx.today - dt.timedelta(days=30 * MONTHS)
    days = (ctx.today - start).days
    users: list[EndUser] = []
    rows: dict[str, list[object]] = {k: [] for k in ("external_id", "account", "user", "kind", "at", "project")}
    plans = []
    for index, client in enumerate(clients):
        interview, offer = INDUSTRIES.get(client.industry, (0.45, 0.35))
        interview *= float(rng.normal(1.0, 0.08))
        offer *= float(rng.normal(1.0, 0.08))
        if index % 12 == 3:  # applicants wait, few interviews are held
            interview *= 0.35
        elif index % 12 == 8:  # interviews held, offers rarely made
            offer *= 0.3
        delay_median = float(rng.choice([8, 20, 60, 240, 1200], p=[0.3, 0.3, 0.2, 0.15, 0.05]))
        monthly = int(rng.integers(15, 70))
        job = str(client.attributes.get("job_type", "営業職"))
        projects = [f"{job} {ctx.today.year}春", f"{job} 中途", f"{job} アルバイト"][: int(rng.integers(1, 4))]
        n = int(monthly * MONTHS)
        plans.append((client, n, interview, offer, delay_median, projects))
        users += [
            EndUser(
                source=DEMO_SOURCE,
                external_id=f"{_client_id(index)}-ap-{k}",
                name=f"応募者{index + 1}-{k + 1}",
                kind=EndUserKind.APPLICANT,
                account=client,
            )
            for k in range(n)
        ]
    EndUser.objects.bulk_create(users, batch_size=2000, ignore_conflicts=True)
    ids = dict(
        EndUser.objects.filter(source=DEMO_SOURCE, external_id__startswith="funnel-client-").values_list(
            "external_id", "pk"
        )
    )
    for index, (client, n, interview, offer, delay_median, projects) in enumerate(plans):
        offsets = rng.uniform(0, days * 24 * 60, n)  # minutes since start
        delays = rng.lognormal(np.log(delay_median), 0.9, n)
        # the longer the wait, the fewer interviews: halved after a day
        p_interview = np.clip(interview * (1.15 - 0.35 * np.minimum(delays / 1440, 1.0)), 0, 1)
        interviewed = rng.random(n) < p_interview
        offered = interviewed & (rng.random(n) < min(offer, 1.0))
        for k in range(n):
            user = ids[f"{_client_id(index)}-ap-{k}"]
            applied = dt.datetime.combine(start, dt.time(9), TOKYO) + dt.timedelta(minutes=float(offsets[k]))
            project = projects[k % len(projects)]
            steps = [("application", applied), (CONTACTED, applied + dt.timedelta(minutes=float(delays[k])))]
            if interviewed[k]:
                held = applied + dt.timedelta(days=float(rng.uniform(3, 12)))
                steps.append(("interview_held", held))
                if offered[k]:
                    steps.append(("offer_made", held + dt.timedelta(days=float(rng.uniform(2, 10)))))
            for kind, when in steps:
                if when.date() > ctx.today:
                    continue
                rows["external_id"].append(f"{_client_id(index)}-ap-{k}-{kind}")
                rows["account"].append(client.pk)
                rows["user"].append(user)
                rows["kind"].append(kind)
                rows["at"].append(when.astimezone(dt.UTC))
                rows["project"].append(json.dumps({"project": project}, ensure_ascii=False))
    total = len(rows["kind"])
    return pl.DataFrame(
        {
            "source": [DEMO_SOURCE] * total,
            "external_id": rows["external_id"],
            "account_id": rows["account"],
            "end_user_id": rows["user"],
            "kind": rows["kind"],
            "occurred_at": rows["at"],
            "value": [None] * total,
            "properties": rows["project"],
        },
        schema_overrides={"end_user_id": pl.Int64, "value": pl.String, "occurred_at": pl.Datetime("us", "UTC")},
    )


def build(ctx: DemoContext) -> None:
    from . import computing

    if Account.objects.filter(source=DEMO_SOURCE, external_id=_client_id(0)).exists():
        ctx.progress("funnels: demo clients exist, nothing added")
        return
    rng = ctx.rng_for("funnels")
    with transaction.atomic():
        funnel = _funnel()
        clients = _clients(ctx, rng)
    frame = _events(ctx, rng, clients)
    with bulk_loading(), transaction.atomic():
        stored = append_events(frame)
    lake.sync()
    ctx.count("funnel events", stored)
    run = computing.compute_now(funnel, ctx.today - dt.timedelta(days=1))
    ctx.progress(f"funnels: {len(clients)} clients, {stored:,} funnel events, computation {run.status}")


def reset(ctx: DemoContext) -> None:
    with transaction.atomic():
        Account.objects.filter(source=DEMO_SOURCE, external_id__startswith="funnel-client-").delete()
        EndUser.objects.filter(source=DEMO_SOURCE, external_id__startswith="funnel-client-").delete()
        Funnel.objects.filter(name=FUNNEL_NAME).delete()
