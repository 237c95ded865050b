"""The PyPI package ``neural-memory`` on the same harness, side by side with this project.

The package imports as ``neural_memory`` too, so it can never share a process (or a virtual
environment) with the project, and it is never a project dependency. This module:

1. creates ``benchmarks/.venv-pypi-neural-memory`` (git-ignored) with ``python -m venv`` and
   ``pip install neural-memory`` when it is missing (:func:`ensure_venv`);
2. starts :mod:`benchmarks.quality.pypi_worker` inside it, a process that speaks JSON lines
   over stdin/stdout (:class:`PypiWorker`), with a clean environment: a throw-away ``HOME``
   and ``NEURALMEMORY_DIR``, and no API keys, so the package runs offline;
3. exposes each brain as a :class:`~benchmarks.quality.retrievers.ContextRetriever`.

Every query has a time limit (the package can take over a minute on hub-heavy brains): on
expiry the worker is killed and :class:`~benchmarks.quality.retrievers.RetrieverError`
is raised, which the harness records as a miss; the next query restarts the worker and
re-indexes the brain (that cost is reported apart, never as query latency).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import IO, Any

from benchmarks.quality.retrievers import (
    Doc,
    RetrieverError,
    SearchOutput,
    SystemUnavailableError,
)

REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_VENV = REPO_ROOT / "benchmarks" / ".venv-pypi-neural-memory"
WORKER_SCRIPT = Path(__file__).resolve().with_name("pypi_worker.py")
PACKAGE = "neural-memory"
_LINE_LIMIT = 1 << 26  # responses carry a context string; index requests can be large
_STDERR_TAIL = 2_000


@dataclass(frozen=True, slots=True)
class PypiSettings:
    """Where the PyPI package lives and how long it may take.

    ``limit``: at most this many questions per data set (spread evenly over the questions
    of the run), since the package is much slower; ``None`` runs them all.
    """

    venv: Path = DEFAULT_VENV
    spec: str = PACKAGE
    limit: int | None = 20
    query_timeout: float = 60.0
    index_timeout: float = 1800.0
    startup_timeout: float = 120.0


def venv_python(venv: Path) -> Path:
    """The interpreter of a virtual environment."""
    if os.name == "nt":
        return venv / "Scripts" / "python.exe"
    return venv / "bin" / "python"


def _run(command: Sequence[str], what: str, timeout: float) -> str:
    try:
        done = subprocess.run(
            list(command), capture_output=True, text=True, timeout=timeout, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise SystemUnavailableError(f"{PACKAGE} skipped: {what} failed ({exc})") from exc
    if done.returncode != 0:
        tail = (done.stderr or done.stdout).strip()[-_STDERR_TAIL:]
        raise SystemUnavailableError(f"{PACKAGE} skipped: {what} failed: {tail}")
    return done.stdout.strip()


def installed_version(python: Path) -> str | None:
    """Version of ``neural-memory`` installed for ``python``, or ``None``."""
    code = "import importlib.metadata as m; print(m.version('neural-memory'))"
    try:
        done = subprocess.run(
            [str(python), "-I", "-c", code],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return done.stdout.strip() if done.returncode == 0 and done.stdout.strip() else None


def _pinned(spec: str) -> str | None:
    name, sep, version = spec.partition("==")
    return version.strip() if sep and name.strip() == PACKAGE else None


def ensure_venv(settings: PypiSettings) -> Path:
    """Create the virtual environment and install the package when needed; its python.

    Installs again only when ``settings.spec`` pins another version than the installed one.
    Raises :class:`SystemUnavailableError` (with pip's message) when that is impossible.
    """
    python = venv_python(settings.venv)
    if not python.exists():
        _run([sys.executable, "-m", "venv", str(settings.venv)], "python -m venv", 300)
    version = installed_version(python)
    pinned = _pinned(settings.spec)
    if version is None or (pinned is not None and pinned != version):
        pip = [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
        _run([*pip, settings.spec], f"pip install {settings.spec}", 1800)
    return python


def worker_environment(home: Path) -> dict[str, str]:
    """A clean environment: throw-away home and data folder, no API keys, offline."""
    env = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(home),
        "NEURALMEMORY_DIR": str(home / "neuralmemory"),
        "NEURALMEMORY_DISABLE_HOOKS": "1",
        "HF_HUB_OFFLINE": "1",
        "TRANSFORMERS_OFFLINE": "1",
        "LANG": "C.UTF-8",
    }
    if os.name == "nt":
        env["SYSTEMROOT"] = os.environ.get("SYSTEMROOT", "")
    return env


def wire_doc(doc: Doc) -> dict[str, Any]:
    """A doc as the worker reads it."""
    return {
        "id": doc.id,
        "text": doc.text,
        "speaker": doc.speaker,
        "timestamp": doc.timestamp.isoformat(),
    }


@dataclass(slots=True)
class WorkerStats:
    """What happened to the worker over a run."""

    version: str = "?"
    starts: int = 0
    timeouts: int = 0
    errors: int = 0
    reindex_seconds: float = 0.0
    last_error: str = ""


class PypiWorker:
    """One worker process at a time; requests are JSON lines, answers too.

    ``command`` starts the worker (normally ``<venv python> -I pypi_worker.py``). A request
    that outlives its time limit kills the process; :attr:`generation` counts starts, so a
    retriever notices that its brain is gone and indexes it again.
    """

    def __init__(
        self,
        command: Sequence[str],
        *,
        query_timeout: float = 60.0,
        index_timeout: float = 1800.0,
        startup_timeout: float = 120.0,
        env: dict[str, str] | None = None,
    ) -> None:
        self.command = list(command)
        self.query_timeout = query_timeout
        self.index_timeout = index_timeout
        self.startup_timeout = startup_timeout
        self.generation = 0
        self.stats_ = WorkerStats()
        self._home = Path(tempfile.mkdtemp(prefix="nm-pypi-home-"))
        self._env = env if env is not None else worker_environment(self._home)
        self._log_path = self._home / "worker-stderr.log"
        self._log: IO[bytes] | None = None
        self._process: asyncio.subprocess.Process | None = None

    @property
    def running(self) -> bool:
        """Whether a worker process is up."""
        return self._process is not None and self._process.returncode is None

    async def start(self) -> None:
        """Start the worker and wait for its ``ready`` line."""
        await self._kill()
        self._log = self._log_path.open("ab")
        try:
            self._process = await asyncio.create_subprocess_exec(
                *self.command,
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
                stderr=self._log,
                env=self._env,
                limit=_LINE_LIMIT,
            )
        except OSError as exc:
            raise RetrieverError("error", f"cannot start the worker: {exc}") from exc
        self.generation += 1
        self.stats_.starts += 1
        ready = await self._read(self.startup_timeout)
        self.stats_.version = str(ready.get("version", "?"))

    async def request(self, message: dict[str, Any], timeout: float) -> dict[str, Any]:
        """Send one request and wait at most ``timeout`` seconds for its answer."""
        if not self.running:
            await self.start()
        process = self._process
        assert process is not None and process.stdin is not None
        try:
            process.stdin.write((json.dumps(message) + "\n").encode("utf-8"))
            await process.stdin.drain()
        except (BrokenPipeError, ConnectionResetError) as exc:
            raise await self._failure("error", f"worker closed its input: {exc}") from exc
        return await self._read(timeout)

    async def _read(self, timeout: float) -> dict[str, Any]:
        process = self._process
        assert process is not None and process.stdout is not None
        try:
            line = await asyncio.wait_for(process.stdout.readline(), timeout)
        except TimeoutError as exc:
            raise await self._failure("timeout", f"no answer within {timeout:g} s") from exc
        if not line:
            raise await self._failure("error", f"worker exited: {self._stderr_tail()}")
        try:
            answer = json.loads(line)
        except ValueError as exc:
            raise await self._failure("error", f"unreadable answer {line[:200]!r}") from exc
        if not isinstance(answer, dict) or not answer.get("ok"):
            error = answer.get("error") if isinstance(answer, dict) else answer
            raise await self._failure("error", f"worker refused the request: {error}")
        return answer

    async def _failure(self, kind: str, message: str) -> RetrieverError:
        """Kill the worker, count the failure and return the error to raise."""
        if kind == "timeout":
            self.stats_.timeouts += 1
        else:
            self.stats_.errors += 1
            self.stats_.last_error = message[-_STDERR_TAIL:]
        await self._kill()
        return RetrieverError(kind, message)

    def _stderr_tail(self) -> str:
        try:
            return self._log_path.read_text(encoding="utf-8", errors="replace")[-_STDERR_TAIL:]
        except OSError:
            return "(no stderr)"

    async def _kill(self) -> None:
        process, self._process = self._process, None
        if process is not None and process.returncode is None:
            process.kill()
            await process.wait()
        if self._log is not None:
            self._log.close()
            self._log = None

    def retriever(self, brain_name: str) -> PypiRetriever:
        """A retriever for one brain in this worker."""
        return PypiRetriever(worker=self, brain_name=brain_name)

    def stats(self) -> dict[str, Any]:
        """Version, starts, timeouts, errors and re-indexing time, for the report."""
        s = self.stats_
        return {
            "package": PACKAGE,
            "version": s.version,
            "worker_starts": s.starts,
            "timeouts": s.timeouts,
            "errors": s.errors,
            "last_error": s.last_error,
            "reindex_seconds": s.reindex_seconds,
            "query_timeout_s": self.query_timeout,
            "index_timeout_s": self.index_timeout,
            "command": self.command,
        }

    async def aclose(self) -> None:
        """Ask the worker to quit (kill it if it does not) and remove its home."""
        process = self._process
        if process is not None and process.returncode is None and process.stdin is not None:
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                process.stdin.write(b'{"op": "quit"}\n')
                await process.stdin.drain()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(process.wait(), 30)
        await self._kill()
        shutil.rmtree(self._home, ignore_errors=True)


@dataclass(slots=True)
class PypiRetriever:
    """One brain of the PyPI package, living in the shared worker."""

    worker: PypiWorker
    brain_name: str
    name: str = "pypi_neural_memory"
    _docs: list[dict[str, Any]] = field(default_factory=list)
    _generation: int = -1
    _broken: str | None = None

    async def index(self, items: Sequence[Doc]) -> None:
        """Open a fresh brain in the worker and encode one memory per doc."""
        self._docs = [wire_doc(doc) for doc in items]
        await self._load()

    async def _load(self) -> None:
        try:
            await self.worker.request({"op": "open", "brain": self.brain_name}, 60)
            await self.worker.request(
                {"op": "index", "docs": self._docs}, self.worker.index_timeout
            )
        except RetrieverError as exc:
            self._broken = f"indexing failed ({exc.kind}): {exc}"
            raise
        self._generation = self.worker.generation

    async def search_with_context(
        self,
        query: str,
        *,
        k: int,
        reference_time: datetime | None,
        max_tokens: int,
        asker: str | None = None,
    ) -> SearchOutput:
        """Recalled doc ids (best first, cut to ``k``), the context and the query time.

        ``asker`` is ignored: the package has no such notion.
        """
        if self._broken is not None:
            raise RetrieverError("error", self._broken)
        if self._generation != self.worker.generation or not self.worker.running:
            started = time.perf_counter()
            await self._load()  # the worker was restarted: this brain is gone
            self.worker.stats_.reindex_seconds += time.perf_counter() - started
        answer = await self.worker.request(
            {
                "op": "query",
                "query": query,
                "reference_time": reference_time.isoformat() if reference_time else None,
                "max_tokens": max_tokens,
            },
            self.worker.query_timeout,
        )
        return SearchOutput(
            ids=[str(i) for i in answer.get("ids", [])][:k],
            context=str(answer.get("context") or ""),
            latency_ms=float(answer["latency_ms"]),
        )

    async def search(
        self, query: str, *, k: int, reference_time: datetime | None, asker: str | None = None
    ) -> list[str]:
        """Recalled doc ids, best first."""
        out = await self.search_with_context(
            query, k=k, reference_time=reference_time, max_tokens=1000
        )
        return out.ids

    async def close(self) -> None:
        """Nothing to do: the next brain replaces this one in the worker."""


async def open_pypi_worker(settings: PypiSettings) -> PypiWorker:
    """Make sure the venv exists, then start a worker in it (skips the system on failure)."""
    python = await asyncio.to_thread(ensure_venv, settings)
    worker = PypiWorker(
        [str(python), "-I", "-X", "utf8", str(WORKER_SCRIPT)],
        query_timeout=settings.query_timeout,
        index_timeout=settings.index_timeout,
        startup_timeout=settings.startup_timeout,
    )
    try:
        await worker.start()
    except RetrieverError as exc:
        await worker.aclose()
        raise SystemUnavailableError(f"{PACKAGE} skipped: the worker did not start: {exc}") from exc
    return worker
