"""CI's bench smoke step: every bench under bench/ run end to end on a tiny input, each in its own
process as a user runs it, so that a moved import or a changed API breaks CI, not a user.

    .venv/bin/python .ci/smoke_benches.py [NAME ...]      (default: every bench)

Tiny inputs are cut from the repository's own data: the bundled index built once, three XQuAD
paragraphs per language, three contested claims. Results go to a temporary folder, never over
bench/results. It runs after the test suite (.ci/run), not in it: the benches load the model in
a process of their own each, and together take minutes.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
DATA = ROOT / "data"

# Each bench's arguments (a name with flags after the file's: that bench run again with them).
# {corpus}: a folder of one bundled document; {index}: a copy of the
# bundled index; {xquad}: three paragraphs of XQuAD in en and ru; {debates}: three contested
# claims laid out as a debate set; {out}: where the result goes.
SMOKE: dict[str, list[str]] = {
    "abstention.py": ["--articles", "2", "--out", "{out}"],
    "attribution.py": ["--index", "{index}", "--out", "{out}"],
    "bm25_refresh.py": ["--data", "{xquad}", "--passages", "1000", "--out", "{out}"],
    "captions.py": ["--hours", "0.05", "--repeat", "1", "--out", "{out}"],
    "balance.py": ["--set", "tiny={debates}", "--out", "{out}"],
    "ingest.py": ["--corpus", "{corpus}", "--repeat", "1"],
    "ingest_stages.py": ["--data", "{xquad}", "--passages", "10", "20", "--out", "{out}"],
    "load.py": ["--index", "{index}", "--clients", "2", "--seconds", "2", "--upload-pdf"]
    + ["--out", "{out}"],
    "query.py": ["--index", "{index}", "--skip-large", "--rounds", "1", "--out", "{out}"],
    "scale.py": ["--data", "{xquad}", "--passages", "30", "--rounds", "1", "--out", "{out}"],
    "scale.py --bulk": ["--data", "{xquad}", "--passages", "30", "--rounds", "1", "--out", "{out}"],
    "sentence_vs_passage.py": ["--data", "{xquad}", "--lang", "ru"],
    "side_bound.py": ["--set", "tiny={debates}", "--out", "{out}"],
    "sparse_head.py": ["--data", "{xquad}", "--debates", "{debates}", "--out", "{out}"],
    "suggestions.py": ["--out", "{out}"],
    "xquad.py": ["--data", "{xquad}", "--limit", "3", "--mixed", "--out", "{out}"],
}


def tiny_inputs(tmp: Path) -> dict[str, Path]:
    """The folders the arguments name, cut from data/."""
    corpus = tmp / "corpus"
    corpus.mkdir()
    shutil.copy(DATA / "corpus" / "004_c6b0d4f86fb433b5.txt", corpus)

    index = tmp / "index"
    built = subprocess.run(
        [sys.executable, "-m", "assistant", "--index", str(index), "ingest", str(DATA / "corpus")],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    if built.returncode != 0:
        sys.exit(f"building the bundled index failed:\n{built.stderr[-2000:]}")

    xquad = tmp / "xquad"
    xquad.mkdir()
    for lang in ("en", "ru"):
        data = json.loads((DATA / "xquad" / f"xquad.{lang}.json").read_text(encoding="utf-8"))
        article = data["data"][0]
        cut = {**data, "data": [{**article, "paragraphs": article["paragraphs"][:3]}]}
        (xquad / f"xquad.{lang}.json").write_text(json.dumps(cut), encoding="utf-8")

    debates = tmp / "debates"
    (debates / "corpus").mkdir(parents=True)
    claims = ("c01", "c02", "c03")
    contested = DATA / "contested"
    # sources.toml declares every claim's documents; a declared file that is absent is fine.
    shutil.copy(contested / "corpus" / "sources.toml", debates / "corpus")
    for f in (contested / "corpus").glob("c0[1-3]_*.txt"):
        shutil.copy(f, debates / "corpus")
    lines = (contested / "questions.jsonl").read_text(encoding="utf-8").splitlines()
    kept = [line for line in lines if line and json.loads(line)["id"] in claims]
    (debates / "questions.jsonl").write_text("\n".join(kept) + "\n", encoding="utf-8")
    return {"corpus": corpus, "index": index, "xquad": xquad, "debates": debates}


def main() -> int:
    names = sys.argv[1:] or sorted(SMOKE)
    unknown = sorted(set(names) - set(SMOKE))
    if unknown:
        sys.exit(f"no smoke input for {unknown}; add it to SMOKE in {Path(__file__).name}")
    failed = []
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        paths = tiny_inputs(tmp)
        # Two at a time, one core each: 4.6 minutes against 7.7 one after the other on two
        # cores (two at a time with two threads each: 5.8). Each bench has its own result
        # file, index copy and free ports.
        with ThreadPoolExecutor(max_workers=2) as pool:
            for name, ok, seconds, said in pool.map(lambda n: _smoke(n, tmp, paths), names):
                print(f"{'ok  ' if ok else 'FAIL'} {name:<24} {seconds:6.1f} s")
                if not ok:
                    failed.append(name)
                    print(said)
    if failed:
        print(f"benches that failed on a tiny input: {', '.join(failed)}")
    return 1 if failed else 0


def _smoke(name: str, tmp: Path, paths: dict[str, Path]) -> tuple[str, bool, float, str]:
    """One bench run on its tiny input: (name, whether it passed, seconds, what it said)."""
    file, *flags = name.split()
    stem = "-".join([Path(file).stem, *(f.strip("-") for f in flags)])
    out = tmp / f"{stem}.json"
    index = tmp / f"index-{stem}"
    if "{index}" in SMOKE[name]:
        shutil.copytree(paths["index"], index)  # a bench may write to its index
    argv = flags + [a.format(**{**paths, "index": index}, out=out) for a in SMOKE[name]]
    t = time.perf_counter()
    try:
        done = subprocess.run(
            [sys.executable, str(BENCH / file), *argv],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=900,
            env=os.environ | {"OMP_NUM_THREADS": "1"},  # two benches, one core each
        )
        ok = done.returncode == 0 and ("{out}" not in SMOKE[name] or _json(out))
        said = done.stdout[-2000:] + done.stderr[-3000:]
    except subprocess.TimeoutExpired:
        ok, said = False, "still running after 900 s on a tiny input"
    return name, ok, time.perf_counter() - t, said


def _json(path: Path) -> bool:
    """The result file exists and holds a non-empty JSON value."""
    try:
        return bool(json.loads(path.read_text(encoding="utf-8")))
    except (OSError, ValueError):
        return False


if __name__ == "__main__":
    sys.exit(main())
