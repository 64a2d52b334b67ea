"""Background ingest: an upload is checked at once, then embedded by one worker thread.

Why a job and not the request: embedding runs at a few KB of text per second on 2 cores, so a
large upload would hold its request (and, in a thread pool, the server's shutdown) for minutes.
The request now checks everything that can be checked quickly (file name, text extraction,
manifest fields, id conflicts) and answers with a job; `GET /v1/jobs/{id}` and the web chat
report its progress and outcome.

Jobs run one at a time (the embedder is the bottleneck; two at once would only share it).
`stop()` (the server's shutdown) makes the running job give up at its next embedding batch,
before anything of it is written: a source becomes visible only when its record is committed
last (store.py), so a stopped job leaves nothing half-indexed. Job states are kept as JSON
files beside the index; a job found queued or running at the next start follows the store: done
if its version was committed (a crash can fall between the commit and the job file), else
failed, with the fix (upload again).
"""

from __future__ import annotations

import json
import queue
import threading
import time
import uuid
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from .core import Assistant
from .errors import AssistantError, InvalidRequest, SourceExists, SourceNotFound
from .ingest import version_of
from .sources import Source

STATES = ("queued", "running", "done", "failed")


class Stopped(Exception):
    """Raised inside a job when the server stops."""


@dataclass
class Job:
    id: str
    filename: str
    source_id: str
    state: str = "queued"
    done: int = 0
    total: int = 0
    message: str = ""
    error: dict[str, str] | None = None
    created: float = field(default_factory=time.time)
    finished: float | None = None
    # The version the upload commits (ingest.version_of): how a restart tells whether a job
    # interrupted by a crash was committed after all.
    version: str = ""

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["progress"] = round(self.done / self.total, 3) if self.total else 0.0
        return out


class Jobs:
    """The ingest queue of one Assistant."""

    def __init__(self, assistant: Assistant, directory: Path | None = None) -> None:
        """
        Args:
            assistant: whose index the jobs write to.
            directory: where job states are kept (default: a `jobs` folder beside the index).
        """
        self.assistant = assistant
        self.directory = directory or Path(assistant.settings.index_path) / "jobs"
        self._jobs: dict[str, Job] = {}
        self._work: dict[str, tuple[Source, str]] = {}
        self._queue: queue.Queue[str | None] = queue.Queue()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._load()
        self._thread = threading.Thread(target=self._run, name="ingest-jobs", daemon=True)
        self._thread.start()

    # -- public -------------------------------------------------------------------------------

    def submit(
        self, filename: str, data: bytes, fields: dict[str, Any] | None, replace: bool = False
    ) -> Job:
        """Check an upload now (raising the usual errors) and queue its ingest."""
        if self._stop.is_set():
            raise InvalidRequest("the server is shutting down; upload again once it is back")
        source, text = self.assistant.check_upload(filename, data, fields, replace)
        with self._lock:
            busy = [
                j for j in self._jobs.values() if j.source_id == source.id and j.state in STATES[:2]
            ]
            if busy:
                raise SourceExists(
                    f"source {source.id!r} is being indexed already (job {busy[0].id}); wait for "
                    "it (GET /v1/jobs/ID) or give this upload another id"
                )
            job = Job(uuid.uuid4().hex[:16], filename, source.id, message="waiting")
            job.version = version_of(text, self.assistant.settings, self.assistant.embedder.name)
            self._jobs[job.id] = job
            self._work[job.id] = (source, text)
            self._save(job)
        self._queue.put(job.id)
        return job

    def get(self, job_id: str) -> Job:
        with self._lock:
            job = self._jobs.get(job_id)
        if job is None:
            raise SourceNotFound(f"no job {job_id!r}; GET /v1/jobs lists the known jobs")
        return job

    def list(self) -> list[Job]:
        with self._lock:
            return sorted(self._jobs.values(), key=lambda j: -j.created)

    def stop(self, timeout: float = 5.0) -> None:
        """Stop the worker: the running job gives up before writing; queued jobs fail."""
        self._stop.set()
        self._queue.put(None)
        self._thread.join(timeout)
        with self._lock:
            for job in self._jobs.values():
                if job.state in ("queued", "running"):
                    self._fail(job, "Stopped", _STOPPED)

    # -- worker -------------------------------------------------------------------------------

    def _run(self) -> None:
        while not self._stop.is_set():
            job_id = self._queue.get()
            if job_id is None or self._stop.is_set():
                return
            job = self._jobs[job_id]
            source, text = self._work.pop(job_id)

            def progress(done: int, total: int, _: str, job: Job = job) -> None:
                if self._stop.is_set():
                    raise Stopped
                job.done, job.total = done, total
                job.message = f"embedding {done}/{total} texts"

            job.state, job.message = "running", "splitting and detecting languages"
            self._save(job)
            try:
                notes = self.assistant.index_upload(source, text, progress)
            except Stopped:
                with self._lock:
                    self._fail(job, "Stopped", _STOPPED)
                return
            except AssistantError as exc:
                with self._lock:
                    self._fail(job, type(exc).__name__, str(exc))
                continue
            except Exception as exc:  # the job fails, the worker lives on
                with self._lock:
                    self._fail(job, "InternalError", f"{type(exc).__name__}; see the server log")
                continue
            job.state, job.finished = "done", time.time()
            job.message = "; ".join(["indexed", *notes])
            self._save(job)

    def _fail(self, job: Job, kind: str, message: str) -> None:
        job.state, job.message, job.finished = "failed", message, time.time()
        job.error = {"type": kind, "message": message}
        self._save(job)

    # -- persistence --------------------------------------------------------------------------

    def _save(self, job: Job) -> None:
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            tmp = self.directory / f"{job.id}.json.tmp"
            tmp.write_text(json.dumps(asdict(job)), encoding="utf-8")
            tmp.replace(self.directory / f"{job.id}.json")
        except OSError:
            pass  # the state stays in memory; only its survival across restarts is lost

    def _load(self) -> None:
        if not self.directory.is_dir():
            return
        for path in self.directory.glob("*.json"):
            try:
                job = Job(**json.loads(path.read_text(encoding="utf-8")))
            except (OSError, ValueError, TypeError):
                continue
            if job.state in ("queued", "running"):
                self._settle(job)
            self._jobs[job.id] = job

    def _settle(self, job: Job) -> None:
        """A job the last run left unfinished: its state follows the store's commit record
        (a crash can fall after the commit and before the job file says so)."""
        try:
            record = self.assistant.store.records().get(job.source_id)
        except AssistantError as exc:
            self._fail(job, "Interrupted", f"{_INTERRUPTED_UNKNOWN} ({exc})")
            return
        if job.version and record is not None and record.version == job.version:
            job.state, job.finished = "done", time.time()
            job.message = "indexed (the server stopped after committing it)"
            job.error = None
            self._save(job)
        else:
            self._fail(job, "Interrupted", _INTERRUPTED)


_STOPPED = (
    "the server stopped before this job finished; nothing of it was indexed; upload the file again"
)
_INTERRUPTED_UNKNOWN = (
    "the server stopped (or crashed) before this job finished, and the index could not be read "
    "to tell whether it was committed; see GET /v1/sources before uploading again"
)
_INTERRUPTED = (
    "the server stopped (or crashed) before this job finished; nothing of it was committed; "
    "upload the file again"
)
