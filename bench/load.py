"""Load: concurrent clients asking and searching through the HTTP API, on loopback only.

    python bench/load.py [--clients 50] [--seconds 60] [--ask-share 0.5]

Starts `assistant serve` on 127.0.0.1 over an index of the bundled corpus (built in a temporary
directory), runs the clients for a bounded time (and at most --max-requests requests), then
stops the server. Reports errors, throughput, p50/p95/p99 latency per kind, and the server's
resident memory at start and end. Results go to bench/results/load.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import numpy as np

ROOT = Path(__file__).resolve().parent.parent
QUESTIONS = [
    "How much aid has Japan given Ukraine?",
    "Où Kaneko a-t-il été blessé ?",
    "日本2024年的军费预算是多少？",
    "Почему Япония помогает Украине?",
    "Why does Russia call Japan an adversary?",
    "What did Japan send to Ukraine in May?",
    "Quel ancien Premier ministre japonais a critiqué Zelensky ?",
    "When did humans first land on the Moon?",
]


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def client(
    url: str, deadline: float, share: float, out: list[tuple[str, int, float]], budget: list[int]
) -> None:
    rng = random.Random()
    async with httpx.AsyncClient(base_url=url, timeout=60) as c:
        while time.monotonic() < deadline and budget[0] > 0:
            budget[0] -= 1
            q = rng.choice(QUESTIONS)
            kind = "ask" if rng.random() < share else "search"
            t = time.perf_counter()
            try:
                if kind == "ask":
                    r = await c.post("/v1/ask", json={"question": q})
                else:
                    r = await c.post("/v1/search", json={"query": q, "k": 8})
                status = r.status_code
            except httpx.HTTPError:
                status = -1
            out.append((kind, status, (time.perf_counter() - t) * 1000))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--clients", type=int, default=50)
    ap.add_argument("--seconds", type=float, default=60)
    ap.add_argument("--ask-share", type=float, default=0.5)
    ap.add_argument("--max-requests", type=int, default=200_000)
    ap.add_argument("--out", default=str(ROOT / "bench" / "results" / "load.json"))
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as d:
        port = free_port()
        env = {
            **os.environ,
            "ASSISTANT_INDEX_PATH": f"{d}/index",
            "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", "2"),
        }
        server = subprocess.Popen(
            [sys.executable, "-m", "assistant", "serve", "--port", str(port)],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            url = f"http://127.0.0.1:{port}"
            for _ in range(600):
                try:
                    if httpx.get(url + "/health", timeout=5).status_code == 200:
                        break
                except httpx.HTTPError:
                    time.sleep(0.5)
            httpx.post(url + "/v1/ask", json={"question": QUESTIONS[0]}, timeout=60)  # warm-up
            mem_start = rss_mb(server.pid)
            results: list[tuple[str, int, float]] = []
            budget = [args.max_requests]
            t0 = time.monotonic()
            deadline = t0 + args.seconds

            async def run() -> None:
                await asyncio.gather(
                    *(
                        client(url, deadline, args.ask_share, results, budget)
                        for _ in range(args.clients)
                    )
                )

            asyncio.run(run())
            elapsed = time.monotonic() - t0
            mem_end = rss_mb(server.pid)
        finally:
            server.terminate()
            server.wait(timeout=30)
    report: dict[str, object] = {
        "clients": args.clients,
        "seconds": round(elapsed, 1),
        "requests": len(results),
        "errors": sum(1 for _, s, _ in results if s != 200),
        "throughput_rps": round(len(results) / elapsed, 1),
        "memory_mb_start": round(mem_start, 1),
        "memory_mb_end": round(mem_end, 1),
    }
    for kind in ("ask", "search", "all"):
        lat = [ms for k, s, ms in results if kind in ("all", k)]
        if lat:
            report[kind] = {
                f"p{p}_ms": round(float(np.percentile(lat, p)), 1) for p in (50, 95, 99)
            } | {"n": len(lat)}
    statuses: dict[str, int] = {}
    for _, s, _ in results:
        statuses[str(s)] = statuses.get(str(s), 0) + 1
    report["statuses"] = statuses
    print(json.dumps(report, indent=2))
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
