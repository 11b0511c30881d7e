"""`banso bench web`: account list and Account 360 latency through the real HTTP stack.

Issue: with 100,000 accounts and 10,000,000 events on PostgreSQL, the account list answers in under
100 ms at p95 and the Account 360 in under 150 ms. The data is the seeded demo workspace at that size
(`--scale` shrinks both), built once and reused. Gunicorn serves `banso.wsgi` with 2 workers on a free
loopback port; one client signs in through the login form (CSRF token and session cookie, as a browser
does) and requests pages one at a time: a mix of list filters, sorts, pages and searches, and the 360
of random accounts. Figures are milliseconds per request, body read included.
"""

from __future__ import annotations

import os
import random
import re
import socket
import subprocess
import sys
import time
from typing import Any
from urllib.parse import urlencode

import httpx
import numpy as np

from _data import BENCH_TODAY, default_postgres, ensure_demo, log, prepare_database

FULL_ACCOUNTS = 100_000
FULL_EVENTS = 10_000_000
WORKERS = 2
# At the smoke scale, only the apps whose data hangs off the customer accounts: marketplace, billing, funnels,
# support and campaigns build fixed-size populations of their own (about 60 s together, whatever the scale).
SMOKE_APPS = ("core", "accounts", "activity", "analytics", "churn", "health", "success", "playbooks")
SEARCH_TERMS = [
    "東京",
    "とうきょう",
    "トウキョウ",
    "商事",
    "しょうじ",
    "ホールディングス",
    "テック",
    "日本",
    "大阪",
    "ミライ",
    "さくら",
    "富士",
    "物流",
    "ｿﾘｭｰｼｮﾝｽﾞ",
    "製作所",
    "第一",
    "ラボ",
    "アサヒ",
    "東洋精機",
    "株式会社",
]


def run(scale: float = 1.0) -> dict[str, Any]:
    figures = default_postgres("web", scale)
    if figures is not None:
        return figures
    vendor = prepare_database()
    accounts = max(20, round(FULL_ACCOUNTS * scale))
    events = max(1000, round(FULL_EVENTS * scale))
    smoke = scale < 0.01  # the smoke scale only proves the pipeline
    data = ensure_demo(accounts, events, only=SMOKE_APPS if smoke else None)
    requests_each = 40 if smoke else 300

    from banso.accounts.models import Account
    from banso.core.choices import Role
    from banso.core.demo import DEMO_PASSWORD, DEMO_SOURCE
    from banso.core.models import User

    account_ids = list(Account.objects.filter(source=DEMO_SOURCE).values_list("id", flat=True))
    csm_ids = list(User.objects.filter(role=Role.CSM).values_list("id", flat=True))
    rnd = random.Random(7)
    list_urls = [_list_url(rnd, accounts, csm_ids) for _ in range(requests_each)]
    detail_urls = [f"/accounts/{rnd.choice(account_ids)}/" for _ in range(requests_each)]

    port = _free_port()
    server = _start_gunicorn(port)
    try:
        base = f"http://127.0.0.1:{port}"
        _wait_ready(base, server)
        with httpx.Client(base_url=base, timeout=60.0) as client:
            _sign_in(client, "admin", DEMO_PASSWORD)
            log("warming up")
            for _ in range(2):
                for url in ["/accounts/", *list_urls[:20], *detail_urls[:20]]:
                    _get(client, url)
            log(f"measuring {requests_each} list and {requests_each} Account 360 requests")
            jobs = [("list", u) for u in list_urls] + [("360", u) for u in detail_urls]
            rnd.shuffle(jobs)
            times: dict[str, list[float]] = {"list": [], "360": []}
            errors: dict[str, int] = {}
            for kind, url in jobs:
                elapsed, status = _get(client, url)
                if status != 200:
                    errors[f"{kind} {status}"] = errors.get(f"{kind} {status}", 0) + 1
                times[kind].append(elapsed)
    finally:
        server.terminate()
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.kill()
    if errors:
        log(f"non-200 answers: {errors}")

    def pct(kind: str, q: float) -> float:
        return round(float(np.percentile(np.array(times[kind]) * 1000.0, q)), 1)

    return {
        "accounts": data["accounts"],
        "events": data["events"],
        "account_list_p50_ms": pct("list", 50),
        "account_list_p95_ms": pct("list", 95),
        "account_360_p50_ms": pct("360", 50),
        "account_360_p95_ms": pct("360", 95),
        "requests_each": requests_each,
        "errors": sum(errors.values()),
        "database": vendor,
        "workers": WORKERS,
        "concurrency": 1,
        "data_cached": data["cached"],
        "data_build_seconds": round(data["build_seconds"], 1),
    }


def _list_url(rnd: random.Random, accounts: int, csm_ids: list[int]) -> str:
    """A list request as people make them: mostly the first pages, often filtered, sorted or searched."""
    params: dict[str, str] = {}
    roll = rnd.random()
    if roll < 0.25:
        params["q"] = rnd.choice(SEARCH_TERMS)
    elif roll < 0.45 and csm_ids:
        params["owner"] = str(rnd.choice(csm_ids))  # "my accounts"
    elif roll < 0.6:
        params["tier"] = rnd.choice(["high", "low", "tech"])
        if rnd.random() < 0.5:
            params["stage"] = rnd.choice(["adoption", "at_risk", "renewal", "onboarding", "expansion"])
    elif roll < 0.7:
        month = (BENCH_TODAY.month - 1 + rnd.randrange(12)) % 12 + 1
        year = BENCH_TODAY.year + (BENCH_TODAY.month - 1 + rnd.randrange(12)) // 12
        params["renewal"] = f"{year:04d}-{month:02d}"
    if rnd.random() < 0.5:
        params["sort"] = rnd.choice(["name", "-name", "mrr", "-mrr", "renewal", "-renewal", "updated", "-updated"])
    page_roll = rnd.random()
    if page_roll < 0.2:
        params["page"] = str(rnd.randint(2, 5))
    elif page_roll < 0.27:
        params["page"] = str(rnd.randint(6, max(6, accounts // 50)))
    return f"/accounts/?{urlencode(params)}" if params else "/accounts/"


def _get(client: httpx.Client, url: str) -> tuple[float, int]:
    started = time.perf_counter()
    response = client.get(url)
    _ = response.content
    return time.perf_counter() - started, response.status_code


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _start_gunicorn(port: int) -> subprocess.Popen[bytes]:
    log(f"starting gunicorn on 127.0.0.1:{port} with {WORKERS} workers")
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "banso.wsgi:application",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            str(WORKERS),
            "--log-level",
            "warning",
        ],
        env=os.environ.copy(),
    )


def _wait_ready(base: str, server: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"the server ({server.args[0]}) exited with {server.returncode}")
        try:
            if httpx.get(f"{base}/healthz", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"the server ({server.args[0]}) did not answer within 60 s")


def _sign_in(client: httpx.Client, username: str, password: str) -> None:
    form = client.get("/login/")
    match = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form.text)
    if match is None:
        raise RuntimeError("no CSRF token in the login form")
    answer = client.post(
        "/login/",
        data={"csrfmiddlewaretoken": match.group(1), "username": username, "password": password, "next": ""},
        headers={"Referer": f"{client.base_url}login/"},
    )
    if answer.status_code != 302:
        raise RuntimeError(f"sign-in as {username} failed: HTTP {answer.status_code}")
    log(f"signed in as {username}")
