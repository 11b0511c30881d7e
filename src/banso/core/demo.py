"""The demo workspace: the context every app's demo builder receives, and core's own part (users, teams).

`banso demo` imports `banso.<app>.demo` for each installed Banso app, in INSTALLED_APPS order, and calls
its `build(ctx)`; with `--reset` it first calls each module's optional `reset(ctx)` in reverse order.
Everything a builder writes carries `source="demo"` and a deterministic external id, so a second run
inserts nothing new, and the same seed and reference date always produce the same workspace.
"""

from __future__ import annotations

import sys
import time
import zlib
from dataclasses import dataclass, field
from datetime import date
from typing import Any, TextIO

import numpy as np
from django.contrib.auth.hashers import make_password
from django.db import transaction

from .choices import Role
from .models import Team, User

DEMO_SOURCE = "demo"
DEMO_PASSWORD = "banso-demo-2024"  # noqa: S105 -- printed for everyone on purpose
DEFAULT_ACCOUNTS = 1400
DEFAULT_CSMS = 15
ACCOUNTS_PER_CSM = 93  # 1,400 customers for ~15 CSMs, as in the CS-Ops seed
DEFAULT_SEED = 20240401
DEFAULT_EVENTS_PER_ACCOUNT_DAY = 2.0


class Progress:
    """Progress lines on stderr, each with the seconds since the demo started."""

    def __init__(self, stream: TextIO | None = None, quiet: bool = False) -> None:
        self.stream = stream or sys.stderr
        self.quiet = quiet
        self.started = time.monotonic()

    def __call__(self, message: str) -> None:
        if not self.quiet:
            self.stream.write(f"[demo {time.monotonic() - self.started:7.1f}s] {message}\n")
            self.stream.flush()


@dataclass
class DemoContext:
    """What a demo builder needs; `shared` carries results from earlier builders to later ones."""

    seed: int = DEFAULT_SEED
    accounts: int = DEFAULT_ACCOUNTS
    csms: int = DEFAULT_CSMS
    today: date = field(default_factory=date.today)
    events_per_account_day: float = DEFAULT_EVENTS_PER_ACCOUNT_DAY
    # When set, builders of usage events aim at this many events in total (benchmarks use it).
    events_target: int | None = None
    reset: bool = False
    progress: Progress = field(default_factory=Progress)
    rng: np.random.Generator = field(init=False)
    shared: dict[str, Any] = field(default_factory=dict)
    # Counts per kind of record written, reported at the end.
    written: dict[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.rng = np.random.default_rng(self.seed)

    def rng_for(self, name: str) -> np.random.Generator:
        """An independent stream per builder, so adding a builder never changes another's data."""
        return np.random.default_rng(np.random.SeedSequence([self.seed, zlib.crc32(name.encode())]))

    def count(self, what: str, n: int) -> None:
        self.written[what] = self.written.get(what, 0) + n


# Users: (username, role, display name); CSMs are generated below.
STAFF = [
    ("admin", Role.ADMIN, "管理者 太郎"),
    ("ops", Role.OPS_MANAGER, "運用 真理子"),
    ("support", Role.SUPPORT_AGENT, "支援 健一"),
    ("assistant", Role.ASSISTANT, "補佐 由美"),
    ("viewer", Role.VIEWER, "閲覧 花子"),
    ("merchant", Role.MERCHANT_USER, "取引先 一郎"),
]

FAMILY_NAMES = [
    ("佐藤", "サトウ", "sato"),
    ("鈴木", "スズキ", "suzuki"),
    ("高橋", "タカハシ", "takahashi"),
    ("田中", "タナカ", "tanaka"),
    ("伊藤", "イトウ", "ito"),
    ("渡辺", "ワタナベ", "watanabe"),
    ("山本", "ヤマモト", "yamamoto"),
    ("中村", "ナカムラ", "nakamura"),
    ("小林", "コバヤシ", "kobayashi"),
    ("加藤", "カトウ", "kato"),
    ("吉田", "ヨシダ", "yoshida"),
    ("山田", "ヤマダ", "yamada"),
    ("佐々木", "ササキ", "sasaki"),
    ("山口", "ヤマグチ", "yamaguchi"),
    ("松本", "マツモト", "matsumoto"),
    ("井上", "イノウエ", "inoue"),
    ("木村", "キムラ", "kimura"),
    ("林", "ハヤシ", "hayashi"),
    ("斎藤", "サイトウ", "saito"),
    ("清水", "シミズ", "shimizu"),
    ("山崎", "ヤマザキ", "yamazaki"),
    ("森", "モリ", "mori"),
    ("池田", "イケダ", "ikeda"),
    ("橋本", "ハシモト", "hashimoto"),
    ("阿部", "アベ", "abe"),
    ("石川", "イシカワ", "ishikawa"),
    ("山下", "ヤマシタ", "yamashita"),
    ("中島", "ナカジマ", "nakajima"),
    ("石井", "イシイ", "ishii"),
    ("小川", "オガワ", "ogawa"),
    ("前田", "マエダ", "maeda"),
    ("岡田", "オカダ", "okada"),
    ("長谷川", "ハセガワ", "hasegawa"),
    ("藤田", "フジタ", "fujita"),
    ("後藤", "ゴトウ", "goto"),
    ("近藤", "コンドウ", "kondo"),
    ("村上", "ムラカミ", "murakami"),
    ("遠藤", "エンドウ", "endo"),
    ("青木", "アオキ", "aoki"),
    ("坂本", "サカモト", "sakamoto"),
    ("斉藤", "サイトウ", "saito"),
    ("福田", "フクダ", "fukuda"),
    ("太田", "オオタ", "ota"),
    ("西村", "ニシムラ", "nishimura"),
    ("藤井", "フジイ", "fujii"),
    ("岡本", "オカモト", "okamoto"),
    ("松田", "マツダ", "matsuda"),
    ("中川", "ナカガワ", "nakagawa"),
    ("原田", "ハラダ", "harada"),
    ("小野", "オノ", "ono"),
    ("竹内", "タケウチ", "takeuchi"),
]
GIVEN_NAMES = [
    ("翔太", "ショウタ", "shota"),
    ("大輔", "ダイスケ", "daisuke"),
    ("健太", "ケンタ", "kenta"),
    ("拓也", "タクヤ", "takuya"),
    ("直樹", "ナオキ", "naoki"),
    ("亮", "リョウ", "ryo"),
    ("誠", "マコト", "makoto"),
    ("隆", "タカシ", "takashi"),
    ("浩二", "コウジ", "koji"),
    ("和也", "カズヤ", "kazuya"),
    ("雄一", "ユウイチ", "yuichi"),
    ("剛", "ツヨシ", "tsuyoshi"),
    ("悠斗", "ユウト", "yuto"),
    ("蓮", "レン", "ren"),
    ("陽介", "ヨウスケ", "yosuke"),
    ("美咲", "ミサキ", "misaki"),
    ("陽子", "ヨウコ", "yoko"),
    ("恵", "メグミ", "megumi"),
    ("由美", "ユミ", "yumi"),
    ("真由美", "マユミ", "mayumi"),
    ("彩", "アヤ", "aya"),
    ("麻衣", "マイ", "mai"),
    ("直子", "ナオコ", "naoko"),
    ("智子", "トモコ", "tomoko"),
    ("香織", "カオリ", "kaori"),
    ("愛", "アイ", "ai"),
    ("舞", "マイ", "mai"),
    ("千尋", "チヒロ", "chihiro"),
    ("結衣", "ユイ", "yui"),
    ("葵", "アオイ", "aoi"),
    ("沙織", "サオリ", "saori"),
    ("理恵", "リエ", "rie"),
]


def person_name(rng: np.random.Generator) -> tuple[str, str, str]:
    """(name, reading, romaji) of a Japanese person, family name first."""
    fam = FAMILY_NAMES[int(rng.integers(len(FAMILY_NAMES)))]
    giv = GIVEN_NAMES[int(rng.integers(len(GIVEN_NAMES)))]
    return f"{fam[0]} {giv[0]}", f"{fam[1]} {giv[1]}", f"{giv[2]}.{fam[2]}"


def csm_usernames(ctx: DemoContext) -> list[str]:
    width = max(2, len(str(ctx.csms)))
    return [f"csm{i + 1:0{width}d}" for i in range(ctx.csms)]


def build(ctx: DemoContext) -> None:
    """Users for every role (one shared demo password), CSMs with Japanese names, and their teams."""
    rng = ctx.rng_for("core.users")
    password = make_password(DEMO_PASSWORD)  # hashed once: Argon2 per user would cost seconds at scale
    specs: list[tuple[str, str, str]] = [(u, str(r), n) for u, r, n in STAFF]
    used: set[str] = set()
    for username in csm_usernames(ctx):
        name = person_name(rng)[0]
        while name in used and len(used) < len(FAMILY_NAMES) * len(GIVEN_NAMES):
            name = person_name(rng)[0]
        used.add(name)
        specs.append((username, str(Role.CSM), name))

    with transaction.atomic():
        existing = {u.username: u for u in User.objects.filter(username__in=[s[0] for s in specs])}
        new, changed = [], []
        for username, role, display_name in specs:
            user = existing.get(username)
            if user is None:
                user = User(username=username, email=f"{username}@demo.banso.example")
                new.append(user)
            else:
                changed.append(user)
            user.role = role
            user.display_name = display_name
            user.password = password
            user.is_active = True
            user.is_staff = user.is_superuser = role == Role.ADMIN
        User.objects.bulk_create(new, batch_size=500)
        User.objects.bulk_update(
            changed, ["role", "display_name", "password", "is_active", "is_staff", "is_superuser"], batch_size=500
        )
        users = {u.username: u for u in User.objects.filter(username__in=[s[0] for s in specs])}
        csms = [users[name] for name in csm_usernames(ctx)]

        # Teams: CSMs in teams of about five, plus the ops and support teams.
        teams: dict[str, tuple[User | None, list[User]]] = {
            "CSオペレーション": (users["ops"], [users["ops"], users["admin"]]),
            "サポートデスク": (users["support"], [users["support"]]),
        }
        per_team = 5
        for t in range(max(1, (len(csms) + per_team - 1) // per_team)):
            members = csms[t * per_team : (t + 1) * per_team]
            if members:
                teams[f"カスタマーサクセス第{t + 1}チーム"] = (members[0], members)
        for team_name, (lead, members) in teams.items():
            team, _ = Team.objects.update_or_create(name=team_name, defaults={"lead": lead})
            team.members.set(members)

    ctx.shared["users"] = users
    ctx.shared["csms"] = csms
    ctx.count("users", len(new))
    ctx.progress(f"users: {len(users)} ({len(new)} new), teams: {len(teams)}")


def reset(ctx: DemoContext) -> None:
    """Users and teams are kept (matched by username and name) and brought back to their demo state."""
