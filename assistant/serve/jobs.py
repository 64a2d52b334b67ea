"""Background ingest: an upload is checked at once, then read and embedded in its job.

Why a job and not the request: embedding runs at a few KB of text per second on 2 cores, and
a small PDF can inflate to megabytes of text, so reading and embedding a large upload would
hold its request (and, in a thread pool, the server's shutdown) for minutes. The request checks
what it can tell at once (file name, type and size, manifest fields, id conflicts), then waits
a few seconds (ASSISTANT_UPLOAD_WAIT_S) for the file to be read, so that an unreadable file is
still refused with its reason; a slower read goes on in the job. `GET /v1/jobs/{id}` and the web
chat report its progress and outcome; `DELETE /v1/jobs/{id}` cancels it.

One reader thread reads files (text capped at ASSISTANT_MAX_TEXT_CHARS); one worker thread
embeds, a job at a time (the embedder is the bottleneck; two at once would only share it). The
server holds at most ASSISTANT_MAX_JOBS unfinished jobs: one more upload gets Busy (429 with
Retry-After), so the queue's memory (texts waiting to be embedded) is bounded too.

`stop()` (the server's shutdown) and `cancel()` make a job give up at its next check (a PDF's
next piece of text, the next block of sentences whose language is detected, the next embedding
batch), before anything of it is written: a source becomes visible only when
its record is committed last (store/chroma.py), so a stopped or cancelled job leaves nothing
half-indexed. Job states are kept as JSON files beside the index; a job found queued or running
at the next start follows the store: done if its version was committed (a crash can fall
between the commit and the job file), else failed, with the fix (upload again).
"""

from __future__ import annotations

import json
import queue
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor, wait
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from assistant.core import Assistant
from assistant.errors import (
    AssistantError,
    Busy,
    InvalidRequest,
    JobFinished,
    JobNotFound,
    SourceExists,
)
from assistant.ingest.pipeline import version_of
from assistant.ingest.uploads import ReadUpload
from assistant.sources.model import Source

# queued: being read, or waiting for the embedder; running: being embedded.
STATES = ("queued", "running", "done", "failed", "cancelled")
UNFINISHED = STATES[:2]
# What a refused upload is told to wait: about one bundled-size document's embedding.
RETRY_AFTER_S = 30


class Stopped(Exception):
    """Raised inside a job when the server stops."""


class Cancelled(Exception):
    """Raised inside a job an admin cancelled."""


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
    # The version the upload commits (ingest/pipeline.version_of): how a restart tells whether a job
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
        self._work: dict[str, ReadUpload] = {}
        self._cancel: set[str] = set()  # running jobs an admin cancelled, until they stop
        self._reader = ThreadPoolExecutor(max_workers=1, thread_name_prefix="upload-reader")
        self._queue: queue.Queue[str | None] = queue.Queue()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._starting = threading.Lock()

    # -- public -------------------------------------------------------------------------------

    def start(self) -> None:
        """Read the job states a previous run left (an unfinished one follows the store's
        commit record) and start the worker, once. Building the queue does neither: the server
        calls this at start-up, and every method below calls it first."""
        with self._starting:
            if self._thread is not None:
                return
            self._load()
            self._thread = threading.Thread(target=self._run, name="ingest-jobs", daemon=True)
            self._thread.start()

    def submit(
        self, filename: str, data: bytes, fields: dict[str, Any] | None, replace: bool = False
    ) -> Job:
        """Check an upload now (raising the usual errors), queue its reading and ingest, and
        wait up to ASSISTANT_UPLOAD_WAIT_S for the reading: a file found unreadable by then
        raises its BadDocument here, as if it had been read in the request.

        Raises Busy when the server holds ASSISTANT_MAX_JOBS unfinished jobs already."""
        self.start()
        if self._stop.is_set():
            raise InvalidRequest(_SHUTTING_DOWN)
        settings = self.assistant.settings
        declared = self.assistant.check_upload(filename, data, fields, replace)
        with self._lock:
            unfinished = [j for j in self._jobs.values() if j.state in UNFINISHED]
            if len(unfinished) >= settings.max_jobs:
                raise Busy(
                    f"the server is busy: {len(unfinished)} ingest jobs are unfinished "
                    f"(ASSISTANT_MAX_JOBS={settings.max_jobs}); upload this file again once "
                    "some are done (GET /v1/jobs)",
                    RETRY_AFTER_S,
                )
            busy = [j for j in unfinished if j.source_id == declared.id]
            if busy:
                raise SourceExists(
                    f"source {declared.id!r} is being indexed already (job {busy[0].id}); wait "
                    "for it (GET /v1/jobs/ID) or give this upload another id"
                )
            job = Job(uuid.uuid4().hex[:16], filename, declared.id, message="reading the file")
            self._jobs[job.id] = job
            self._save(job)
        try:
            read = self._reader.submit(self._read, job, declared, data)
        except RuntimeError:  # stop() shut the reader between the check above and here
            self._forget(job)
            raise InvalidRequest(_SHUTTING_DOWN) from None
        finished, _ = wait([read], timeout=settings.upload_wait_s)
        error = read.result() if finished else None
        if error is not None:
            # The request answers with the error, so the job it never named is not kept.
            self._forget(job)
            raise error
        return job

    def get(self, job_id: str) -> Job:
        self.start()
        with self._lock:
            job = self._jobs.get(job_id)
        if job is None:
            raise JobNotFound(f"no job {job_id!r}; GET /v1/jobs lists the known jobs")
        return job

    def list(self) -> list[Job]:
        self.start()
        with self._lock:
            return sorted(self._jobs.values(), key=lambda j: -j.created)

    def cancel(self, job_id: str, wait_s: float = 10.0) -> Job:
        """Cancel an unfinished job. A queued one (being read, or waiting) is cancelled at
        once; a running one gives up at its next check (a block of sentences, an embedding
        batch), waited for up to `wait_s` seconds. Nothing of a cancelled job is indexed; a
        job whose commit came first is done.

        Raises JobNotFound for an unknown job, JobFinished for a finished one."""
        job = self.get(job_id)
        with self._lock:
            if job.state not in UNFINISHED:
                fix = (
                    f"; to remove its document, DELETE /v1/documents/{job.source_id}"
                    if job.state == "done"
                    else ""
                )
                raise JobFinished(f"job {job_id} is {job.state} already; nothing to cancel{fix}")
            if job.state == "queued":  # its reader or the worker sees the state (_check)
                self._work.pop(job.id, None)
                self._cancelled(job)
            else:
                self._cancel.add(job.id)
                job.message = "cancelling: it stops at its next block of work"
        deadline = time.monotonic() + wait_s
        while job.state == "running" and time.monotonic() < deadline:
            time.sleep(0.1)
        return job

    def stop(self, timeout: float = 5.0) -> None:
        """Stop the worker: the running job gives up before writing; queued jobs fail."""
        self._stop.set()
        self._queue.put(None)
        self._reader.shutdown(wait=False, cancel_futures=True)
        if self._thread is not None:
            self._thread.join(timeout)
        with self._lock:
            for job in self._jobs.values():
                if job.state in UNFINISHED:
                    self._fail(job, "Stopped", _STOPPED)

    # -- worker -------------------------------------------------------------------------------

    def _check(self, job: Job) -> None:
        """Raise if the job is to give up now (called between batches and PDF elements)."""
        if self._stop.is_set():
            raise Stopped
        if job.id in self._cancel or job.state == "cancelled":
            raise Cancelled

    def _read(self, job: Job, declared: Source, data: bytes) -> AssistantError | None:
        """Read the upload's text (reader thread); queue it for the embedder. Returns the error
        that failed the job, for a request still waiting on it (submit)."""
        try:
            read = self.assistant.read_upload(
                declared, job.filename, data, lambda: self._check(job)
            )
        except (Stopped, Cancelled):
            return None  # stop() and cancel() set the job's state
        except AssistantError as exc:
            with self._lock:
                if job.state != "queued":  # cancelled meanwhile: that is its outcome
                    return None
                self._fail(job, type(exc).__name__, str(exc))
            return exc
        except Exception as exc:  # the job fails, the reader lives on
            with self._lock:
                if job.state == "queued":
                    self._fail(job, "InternalError", f"{type(exc).__name__}; see the server log")
            return None
        with self._lock:
            if job.state != "queued":  # cancelled while its last page was read
                return None
            job.version = version_of(
                read.text, self.assistant.settings, self.assistant.embedder.name
            )
            job.message = "waiting for the embedder"
            self._work[job.id] = read
            self._save(job)
        self._queue.put(job.id)
        return None

    def _run(self) -> None:
        while not self._stop.is_set():
            job_id = self._queue.get()
            if job_id is None or self._stop.is_set():
                return
            job = self._jobs[job_id]
            with self._lock:
                read = self._work.pop(job_id, None)
                if read is None or job.state != "queued":  # cancelled while waiting
                    continue
                job.state, job.message = "running", "splitting and detecting languages"
                self._save(job)

            def progress(done: int, total: int, _: str, job: Job = job) -> None:
                self._check(job)
                if total:  # 0 while the text is split and its languages detected
                    job.done, job.total = done, total
                    job.message = f"embedding {done}/{total} texts"

            try:
                notes = self.assistant.index_upload(read.source, read.text, progress, read.times)
            except Stopped:
                with self._lock:
                    self._fail(job, "Stopped", _STOPPED)
                return
            except Cancelled:
                with self._lock:
                    self._cancelled(job)
                continue
            except AssistantError as exc:
                with self._lock:
                    self._fail(job, type(exc).__name__, str(exc))
                continue
            except Exception as exc:  # the job fails, the worker lives on
                with self._lock:
                    self._fail(job, "InternalError", f"{type(exc).__name__}; see the server log")
                continue
            with self._lock:
                self._cancel.discard(job.id)  # a cancel that came after the last batch
                job.state, job.finished = "done", time.time()
                # What reading the file noticed, then what indexing it did (a suggested side).
                job.message = "; ".join(["indexed", *[read.note] * bool(read.note), *notes])
                self._save(job)

    def _fail(self, job: Job, kind: str, message: str) -> None:
        job.state, job.message, job.finished = "failed", message, time.time()
        job.error = {"type": kind, "message": message}
        self._cancel.discard(job.id)
        self._save(job)

    def _cancelled(self, job: Job) -> None:
        job.state, job.finished = "cancelled", time.time()
        job.message = "cancelled by an admin; nothing of it was indexed"
        self._cancel.discard(job.id)  # the state says it from now on (_check)
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

    def _forget(self, job: Job) -> None:
        with self._lock:
            self._jobs.pop(job.id, None)
        (self.directory / f"{job.id}.json").unlink(missing_ok=True)

    def _load(self) -> None:
        if not self.directory.is_dir():
            return
        for path in self.directory.glob("*.json"):
            try:
                job = Job(**json.loads(path.read_text(encoding="utf-8")))
            except (OSError, ValueError, TypeError):
                continue
            if job.state in UNFINISHED:
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


_SHUTTING_DOWN = "the server is shutting down; upload again once it is back"
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
