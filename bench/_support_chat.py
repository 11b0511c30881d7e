"""Chat part of `banso bench support`: 500 concurrent widget websockets held on the ASGI server (daphne in a
subprocess, as scripts/demo serves), with messages delivered both ways.

Issue: 500 concurrent chat connections held with messages delivered in under 200 ms p95. `--scale` shrinks
the connections (at least 20). Every session is handed off to an inquiry first; then
- agent -> visitor: signed-in agents POST replies through the conversation page's form (the real path:
  desk.reply -> realtime.publish); latency = POST sent -> the reply arrives on that visitor's socket;
- visitor -> inbox: each visitor sends a line over its socket (chat.visitor_says -> desk.add_customer_message);
  latency = sent -> the agents' inbox socket receives it.
Messages are sent at a steady RATE per second (each starts without waiting for the
previous one). Also measured: the database catch-up for messages written
by another process (the task worker's inbound mail), whose latency is bounded by its 1 s poll.
Called by bench/support.py (area A) with Django set up and DATABASE_URL chosen; `run(scale)` returns
{"chat_connections", "chat_p95_ms", ...}.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
import uuid
from typing import Any

import httpx
import numpy as np

from _data import log, prepare_database
from web import _free_port, _sign_in, _wait_ready

FULL_CONNECTIONS = 500
# Messages per second across all chats (500 chats each writing about every 25 s), each way.
RATE = float(os.environ.get("BANSO_BENCH_CHAT_RATE", "20"))
PASSWORD = "bench-chat-password"  # noqa: S105 (a throwaway agent of the benchmark)


def _setup(connections: int) -> tuple[list[tuple[str, int]], str]:
    """Handed-off chat sessions (token, inquiry number) and an agent's username."""
    from banso.core.choices import Role
    from banso.core.models import User
    from banso.support import chat

    username = f"bench-chat-{uuid.uuid4().hex[:8]}"
    User.objects.create_user(username=username, password=PASSWORD, role=Role.SUPPORT_AGENT)
    sessions = []
    for i in range(connections):
        session = chat.start_session(visitor_name=f"ベンチ{i}", page_url="https://shop.example.jp/")
        inquiry = chat.hand_off(session)
        sessions.append((session.token, inquiry.number))
    return sessions, username


def _start_daphne(port: int) -> subprocess.Popen[bytes]:
    log(f"starting daphne on 127.0.0.1:{port}")
    return subprocess.Popen(
        [sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port), "banso.asgi:application"],
        env=os.environ.copy(),
        stdout=subprocess.DEVNULL,
        stderr=open(os.environ.get("BANSO_BENCH_DAPHNE_LOG", os.devnull), "ab"),
    )


def _p95(values: list[float]) -> float:
    return round(float(np.percentile(values, 95)), 1) if values else float("nan")


async def _measure(base: str, sessions: list[tuple[str, int]], cookies: dict[str, str]) -> dict[str, Any]:
    from websockets.asyncio.client import connect

    ws_base = base.replace("http://", "ws://")
    origin = base
    sent: dict[str, float] = {}
    latencies: dict[str, list[float]] = {"reply": [], "inbox": [], "catchup": []}
    waiters: dict[str, asyncio.Future[None]] = {}
    loop = asyncio.get_running_loop()

    def arrived(tag: str, kind: str) -> None:
        if tag in sent:
            latencies[kind].append((time.perf_counter() - sent.pop(tag)) * 1000)
            future = waiters.pop(tag, None)
            if future is not None and not future.done():
                future.set_result(None)

    async def reader(ws: Any, kind: str) -> None:
        async for raw in ws:
            event = json.loads(raw)
            if kind == "inbox":
                body = (event.get("message") or {}).get("body", "")
                if body.startswith("bench:visitor"):
                    arrived(body, "inbox")
                elif body.startswith("bench:catchup"):
                    arrived(body, "catchup")
            else:
                for entry in event.get("entries", []):
                    if entry.get("text", "").startswith("bench:reply"):
                        arrived(entry["text"], "reply")

    cookie = "; ".join(f"{k}={v}" for k, v in cookies.items())
    inbox = await connect(f"{ws_base}/ws/support/inbox/", origin=origin, additional_headers={"Cookie": cookie})  # type: ignore[arg-type]
    sockets = []
    started = time.perf_counter()
    for i in range(0, len(sessions), 50):  # open in batches, as visitors arrive
        batch = await asyncio.gather(
            *(
                connect(f"{ws_base}/ws/support/widget/{token}/", origin=origin, max_queue=None)  # type: ignore[arg-type]
                for token, _ in sessions[i : i + 50]
            )
        )
        sockets.extend(batch)
    for ws in sockets:
        await ws.recv()  # the opening state
    opened_s = time.perf_counter() - started
    log(f"{len(sockets)} widget sockets open in {opened_s:.1f} s")
    tasks = [asyncio.create_task(reader(ws, "widget")) for ws in sockets]
    tasks.append(asyncio.create_task(reader(inbox, "inbox")))
    await asyncio.sleep(1.5)  # the server's catch-up poller has taken its starting point

    async def expect(tag: str) -> asyncio.Future[None]:
        future: asyncio.Future[None] = loop.create_future()
        waiters[tag] = future
        return future

    async def paced(count: int, fire: Any) -> None:
        """Start message k at k / RATE seconds (without waiting for earlier ones), then wait for all."""
        begin = time.perf_counter()
        pending = []
        for k in range(count):
            delay = begin + k / RATE - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            pending.append(asyncio.create_task(fire(k)))
        await asyncio.wait_for(asyncio.gather(*pending), timeout=60)

    # Agents reply through the conversation page's form.
    async with httpx.AsyncClient(base_url=base, cookies=cookies, timeout=30) as client:
        csrf = cookies["csrftoken"]

        async def agent_reply(k: int) -> None:
            token, number = sessions[k % len(sessions)]
            tag = f"bench:reply:{k}:{token}"
            future = await expect(tag)
            sent[tag] = time.perf_counter()
            answer = await client.post(
                f"/support/inquiries/{number}/reply/",
                data={"csrfmiddlewaretoken": csrf, "body": tag},
                headers={"Referer": f"{base}/support/inquiries/{number}/"},
            )
            if answer.status_code not in (200, 302):
                raise RuntimeError(f"agent reply refused: HTTP {answer.status_code}")
            await future

        await paced(len(sessions), agent_reply)
    log(f"agent replies delivered: p95 {_p95(latencies['reply'])} ms")

    # Visitors' lines over their sockets, heard by the inbox.
    async def visitor_line(k: int) -> None:
        tag = f"bench:visitor:{k}"
        future = await expect(tag)
        sent[tag] = time.perf_counter()
        await sockets[k % len(sockets)].send(json.dumps({"type": "message", "text": tag}))
        await future

    await paced(len(sockets), visitor_line)
    log(f"visitor lines to the inbox: p95 {_p95(latencies['inbox'])} ms")

    # Written by another process (this one): reach the inbox through the server's database catch-up.
    from asgiref.sync import sync_to_async

    from banso.support import desk
    from banso.support.models import Inquiry

    for k in range(10):
        tag = f"bench:catchup:{k}"
        future = await expect(tag)
        number = sessions[k % len(sessions)][1]
        sent[tag] = time.perf_counter()
        inquiry = await sync_to_async(Inquiry.objects.get)(number=number)
        await sync_to_async(desk.add_customer_message)(inquiry, tag)
        await asyncio.wait_for(future, timeout=10)
    log(f"cross-process catch-up: p95 {_p95(latencies['catchup'])} ms")

    held = sum(1 for ws in sockets if ws.state.name == "OPEN")
    for task in tasks:
        task.cancel()
    await asyncio.gather(*(ws.close() for ws in [*sockets, inbox]), return_exceptions=True)
    all_chat = latencies["reply"] + latencies["inbox"]
    return {
        "chat_connections": held,
        "chat_p95_ms": _p95(all_chat),
        "chat_reply_p95_ms": _p95(latencies["reply"]),
        "chat_inbox_p95_ms": _p95(latencies["inbox"]),
        "chat_messages": len(all_chat),
        "chat_catchup_p95_ms": _p95(latencies["catchup"]),
        "chat_open_seconds": round(opened_s, 2),
        "chat_rate_per_s": RATE,
    }


def run(scale: float = 1.0) -> dict[str, Any]:
    prepare_database()
    connections = max(20, round(FULL_CONNECTIONS * scale))
    log(f"chat: preparing {connections} handed-off sessions")
    sessions, username = _setup(connections)
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    server = _start_daphne(port)
    try:
        _wait_ready(base, server)
        with httpx.Client(base_url=base, timeout=30) as client:
            _sign_in(client, username, PASSWORD)
            cookies = dict(client.cookies.items())
        figures = asyncio.run(_measure(base, sessions, cookies))
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
    return figures
