"""Load: concurrent clients asking and searching through the HTTP API, on loopback only.

    python bench/load.py [--clients 50] [--seconds 60] [--ask-share 0.5]
                         [--upload-kb 200 | --upload-pdf]

With --upload-kb N, a second phase follows the plain one on the same server: the same clients
for the same time while one N-KB text document is uploaded at its start and ingests in the
background (POST /v1/documents → a job). Reported side by side, with the job's outcome and its
ingest rate (KB of text per second), which sets the upload limit (docs/figures.md).

With --upload-pdf the upload is the largest PDF the server accepts (ASSISTANT_MAX_UPLOAD_MB,
pages of uncompressed text): its reading runs in the job too. The POST's latency is reported,
and a job still unfinished when the phase ends is cancelled (DELETE /v1/jobs/{id}), with that
request's latency and the job's final state.

Starts `assistant serve` on 127.0.0.1 over an index of the bundled corpus (--index DIR: a copy
of an existing one, else one built in a temporary
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
import shutil
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
            roll = rng.random()
            # One request in ten is a health probe, as a load balancer would send.
            kind = "health" if roll < 0.1 else "ask" if roll < 0.1 + 0.9 * share else "search"
            t = time.perf_counter()
            try:
                if kind == "health":
                    r = await c.get("/health")
                elif kind == "ask":
                    r = await c.post("/v1/ask", json={"question": q})
                else:
                    r = await c.post("/v1/search", json={"query": q, "k": 8})
                status = r.status_code
            except httpx.HTTPError:
                status = -1
            out.append((kind, status, (time.perf_counter() - t) * 1000))


def upload_text(kb: int) -> bytes:
    """Distinct English sentences (so nothing is deduplicated away), about `kb` KB."""
    rows, i = [], 0
    while sum(len(r) for r in rows) < kb * 1024:
        rows.append(
            f"Ledger entry {i}: the prefecture of Niigata sent {i % 97} generators and "
            f"{i % 89} heaters to the city of Sumy in week {i % 52} of year {2022 + i % 4}."
        )
        i += 1
    return "\n\n".join(rows).encode()


def upload_pdf(max_bytes: int) -> bytes:
    """A PDF just under `max_bytes`: pages of distinct ledger lines, uncompressed (the most
    text a PDF of that size holds without inflating past the text cap)."""
    lines = upload_text(max_bytes // 1024).decode().split("\n\n")
    pages: list[bytes] = []
    for start in range(0, len(lines), 40):
        ops = b"".join(b"(%s) Tj T* " % ln.encode() for ln in lines[start : start + 40])
        pages.append(b"BT /F1 9 Tf 36 780 Td 11 TL " + ops + b"ET")
    while True:  # drop pages until the file fits
        n = len(pages)
        objects = [b"<< /Type /Catalog /Pages 2 0 R >>"]
        kids = b" ".join(b"%d 0 R" % (4 + 2 * i) for i in range(n))
        objects.append(b"<< /Type /Pages /Kids [%s] /Count %d >>" % (kids, n))
        objects.append(b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>")
        for i, content in enumerate(pages):
            objects.append(
                b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents %d 0 R "
                b"/Resources << /Font << /F1 3 0 R >> >> >>" % (5 + 2 * i)
            )
            objects.append(b"<< /Length %d >>\nstream\n" % len(content) + content + b"\nendstream")
        out, offsets = bytearray(b"%PDF-1.4\n"), []
        for i, body in enumerate(objects, 1):
            offsets.append(len(out))
            out += b"%d 0 obj\n" % i + body + b"\nendobj\n"
        xref = len(out)
        out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
        out += b"".join(b"%010d 00000 n \n" % o for o in offsets)
        out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
            len(objects) + 1,
            xref,
        )
        if len(out) <= max_bytes:
            return bytes(out)
        pages = pages[: int(n * max_bytes / len(out) * 0.99)]


def phase(url: str, args: argparse.Namespace) -> list[tuple[str, int, float]]:
    results: list[tuple[str, int, float]] = []
    budget = [args.max_requests]
    deadline = time.monotonic() + args.seconds

    async def run() -> None:
        await asyncio.gather(
            *(client(url, deadline, args.ask_share, results, budget) for _ in range(args.clients))
        )

    asyncio.run(run())
    return results


def upload_phase(url: str, args: argparse.Namespace) -> dict[str, object]:
    """The second phase: the same load while one upload is read and ingested behind it (a
    job); with --upload-pdf, a job still unfinished at the phase's end is cancelled."""
    if args.upload_pdf:
        name, data = "ledger.pdf", upload_pdf(2 * 1024 * 1024)  # the default limit
    else:
        name, data = "ledger.txt", upload_text(args.upload_kb)
    t0 = time.monotonic()
    r = httpx.post(url + "/v1/documents", files={"file": (name, data)}, timeout=120)
    post_ms = (time.monotonic() - t0) * 1000
    job = r.json()
    t0 = time.monotonic()
    loaded = phase(url, args)
    elapsed = time.monotonic() - t0
    upload: dict[str, object] = {
        "file": name,
        "kb": round(len(data) / 1024),
        "post_status": r.status_code,
        "post_ms": round(post_ms, 1),
    }
    if args.upload_pdf:
        job = httpx.get(url + job["status_url"], timeout=60).json()
        upload["state_at_phase_end"] = job["state"]
        upload["embedded_at_phase_end"] = f"{job['done']}/{job['total']}"
        if job["state"] in ("queued", "running"):
            t0 = time.monotonic()
            c = httpx.delete(url + job["status_url"], timeout=60)
            upload["cancel_status"] = c.status_code
            upload["cancel_ms"] = round((time.monotonic() - t0) * 1000, 1)
    while job["state"] in ("queued", "running"):
        time.sleep(1)
        job = httpx.get(url + job["status_url"], timeout=60).json()
    upload["job_state"] = job["state"]
    if job["state"] == "done":
        took = job["finished"] - job["created"]
        upload |= {
            "ingest_s": round(took, 1),
            "kb_per_s": round(len(data) / 1024 / took, 2),
        }
    return summary(loaded, elapsed) | {"upload": upload}


def summary(results: list[tuple[str, int, float]], elapsed: float) -> dict[str, object]:
    report: dict[str, object] = {
        "requests": len(results),
        "errors": sum(1 for _, s, _ in results if s != 200),
        "throughput_rps": round(len(results) / elapsed, 1),
    }
    for kind in ("ask", "search", "health", "all"):
        lat = [ms for k, s, ms in results if kind == k or (kind == "all" and k != "health")]
        if lat:
            report[kind] = {
                f"p{p}_ms": round(float(np.percentile(lat, p)), 1) for p in (50, 95, 99)
            } | {"n": len(lat)}
    statuses: dict[str, int] = {}
    for _, s, _ in results:
        statuses[str(s)] = statuses.get(str(s), 0) + 1
    report["statuses"] = statuses
    return report


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--clients", type=int, default=50)
    ap.add_argument("--seconds", type=float, default=60)
    ap.add_argument("--ask-share", type=float, default=0.5)
    ap.add_argument("--max-requests", type=int, default=200_000)
    ap.add_argument("--upload-kb", type=int, default=0, help="also a phase with an upload")
    ap.add_argument(
        "--upload-pdf", action="store_true", help="the phase's upload: the largest allowed PDF"
    )
    ap.add_argument("--index", type=Path, help="copy this index of data/corpus instead of building")
    ap.add_argument("--out", default=str(ROOT / "bench" / "results" / "load.json"))
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as d:
        if args.index:  # a copy: the upload phase writes to it
            shutil.copytree(args.index, f"{d}/index")
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
            t0 = time.monotonic()
            plain = phase(url, args)
            report: dict[str, object] = {
                "clients": args.clients,
                "seconds": args.seconds,
                "plain": summary(plain, time.monotonic() - t0),
            }
            if args.upload_kb or args.upload_pdf:
                report["with_upload"] = upload_phase(url, args)
            report["memory_mb_start"] = round(mem_start, 1)
            report["memory_mb_end"] = round(rss_mb(server.pid), 1)
        finally:
            server.terminate()
            server.wait(timeout=30)
    print(json.dumps(report, indent=2))
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
