"""``nmem`` end to end: the installed console script when present, else ``python -m``.

Each test runs the real command in a subprocess against a temporary database and config
file: stdin input, ``--json`` on every command, edit/forget/show/list, brains, export then
import with equal recall, ``import --from neural-memory`` and a progress bar on a terminal.
"""

from __future__ import annotations

import http.server
import json
import os
import pty
import select
import sqlite3
import subprocess
import sys
import threading
import time
from contextlib import closing
from pathlib import Path
from typing import Any, ClassVar

import pytest

_SCRIPT = Path(sys.executable).with_name("nmem")
_TIMEOUT = 120


def command() -> list[str]:
    """The installed ``nmem`` next to this interpreter, else the module entry point."""
    return [str(_SCRIPT)] if _SCRIPT.exists() else [sys.executable, "-m", "neural_memory.cli"]


class Nmem:
    """Runs ``nmem`` with one database and one config file."""

    def __init__(self, tmp_path: Path) -> None:
        self.db = str(tmp_path / "brain.db")
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("NEURAL_MEMORY_")}
        self.env.update(
            COLUMNS="200",
            NO_COLOR="1",
            NEURAL_MEMORY_CONFIG=str(tmp_path / "config.toml"),
            NEURAL_MEMORY_EMBEDDINGS="off",  # the suite's default (tests/conftest.py)
        )

    def __call__(
        self, *args: str, stdin: str | None = None, db: bool = True
    ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*command(), *args, *(("--db", self.db) if db else ())],
            input=stdin,
            stdin=None if stdin is not None else subprocess.DEVNULL,
            capture_output=True,
            text=True,
            env=self.env,
            timeout=_TIMEOUT,
            check=False,
        )

    def json(self, *args: str, stdin: str | None = None, db: bool = True) -> Any:
        done = self(*args, "--json", stdin=stdin, db=db)
        assert done.returncode == 0, done.stdout + done.stderr
        return json.loads(done.stdout)


@pytest.fixture
def nmem(tmp_path: Path) -> Nmem:
    return Nmem(tmp_path)


def test_stdin_file_merges_and_long_memories(nmem: Nmem, tmp_path: Path) -> None:
    first = nmem.json("remember", "-", stdin="Priya adopted a greyhound called Comet\n")
    again = nmem("remember", "-", stdin="Priya adopted a greyhound called Comet")
    assert first["new_brain"] and not first["merged"]
    assert again.returncode == 0 and "Already remembered: merged" in again.stdout
    big = tmp_path / "big.txt"
    big.write_text("Release notes for the billing service. " + "detail " * 20_000)  # 140 KB
    stored = nmem.json("remember", "--file", str(big), "--type", "reference")
    assert stored["type"] == "reference"
    shown = nmem("show", stored["id"])
    assert "--full shows all" in shown.stdout and len(shown.stdout) < 5_000
    full = nmem("show", stored["id"], "--full")
    assert full.stdout.count("detail") >= 20_000
    nothing = nmem("recall", "zebras in Antarctica")
    assert nothing.returncode == 0 and "Nothing found" in nothing.stdout
    assert nmem.json("recall", "zebras in Antarctica")["memories"] == []


def test_recall_why_edit_forget_show_and_list(nmem: Nmem) -> None:
    adopted = nmem.json(
        "remember", "Priya adopted a greyhound called Comet",
        "--type", "fact", "--tag", "pets", "--project", "home", "--when", "2024-05-01",
    )  # fmt: skip
    sofa = nmem.json("remember", "Comet sleeps on the blue sofa", "--when", "2024-05-02")
    todo = nmem.json(
        "remember", "Buy dog food", "--type", "todo", "--priority", "7", "--when", "2024-05-03"
    )
    why = nmem.json("recall", "Which dog did Priya adopt?", "--why")
    by_id = {m["fiber_id"]: m for m in why["memories"]}
    assert why["memories"][0]["fiber_id"] == adopted["id"]
    assert [s["label"] for s in by_id[sofa["id"]]["why"]["path"]] == ["Priya", "Comet"]
    table = nmem("recall", "Which dog did Priya adopt?", "--why")
    assert "Priya -synapse-> Comet" in table.stdout
    edited = nmem.json("edit", sofa["id"], "--text", "-", stdin="Comet sleeps on the green sofa")
    assert edited["previous_id"] == sofa["id"]
    assert edited["memory"]["versions"] == [sofa["id"], edited["memory"]["id"]]
    assert nmem.json("show", sofa["id"])["superseded_by"] == edited["memory"]["id"]
    assert [m["id"] for m in nmem.json("list", "--type", "todo")["memories"]] == [todo["id"]]
    assert [m["id"] for m in nmem.json("list", "--tag", "pets")["memories"]] == [adopted["id"]]
    assert [m["id"] for m in nmem.json("list", "--project", "home")["memories"]] == [adopted["id"]]
    since = nmem.json("list", "--since", "2024-05-02", "--until", "2024-05-03")["memories"]
    assert [m["text"] for m in since] == ["Comet sleeps on the green sofa"]
    forgotten = nmem.json("forget", edited["memory"]["id"])
    assert set(forgotten["deleted"]) == {sofa["id"], edited["memory"]["id"]}
    after = nmem.json("recall", "Where does Comet sleep?")
    assert all("sofa" not in m["text"] for m in after["memories"])
    missing = nmem("show", sofa["id"])
    assert missing.returncode == 1 and missing.stderr.startswith("error: no memory")


def test_every_command_speaks_json(nmem: Nmem, tmp_path: Path) -> None:
    nmem.json("remember", "The deploy key rotates every Friday", "--type", "instruction")
    documents = {
        "stats": nmem.json("stats"),
        "health": nmem.json("health"),
        "consolidate": nmem.json("consolidate"),
        "decay": nmem.json("decay", "--dry-run"),
        "brain list": nmem.json("brain", "list"),
        "brain create": nmem.json("brain", "create", "work"),
        "brain rename": nmem.json("brain", "rename", "work", "job"),
        "brain use": nmem.json("brain", "use", "job"),
        "config": nmem.json("config", db=False),
        "config set": nmem.json("config", "set", "server_url", "http://x:1", db=False),
        "export": nmem.json("export", str(tmp_path / "s.json"), "--brain", "default"),
        "brain delete": nmem.json("brain", "delete", "job", "--yes"),
    }
    assert documents["stats"]["memories"] == 1
    assert documents["health"]["healthy"] in {True, False}
    assert "duplicates_merged" in documents["consolidate"]
    assert documents["decay"]["dry_run"] is True
    assert [b["name"] for b in documents["brain list"]["brains"]] == ["default"]
    assert documents["brain rename"]["name"] == "job"
    assert documents["config"]["brain"] == "job"
    assert documents["config"]["sources"]["brain"].startswith("config file")
    assert documents["export"]["memories"] == 1
    settings = nmem.json("config", db=False)
    assert settings["server_url"] == "http://x:1" and settings["brain"] == "default"


def test_brain_names_are_unique_and_a_missing_folder_is_an_error(
    nmem: Nmem, tmp_path: Path
) -> None:
    assert nmem("brain", "create", "work").returncode == 0
    twice = nmem("brain", "create", "work")
    assert twice.returncode == 1 and "already exists" in twice.stderr
    nowhere = str(tmp_path / "missing" / "dir" / "x.db")
    refused = nmem("remember", "hello", "--db", nowhere, db=False)
    assert refused.returncode == 1 and "does not exist" in refused.stderr
    assert not (tmp_path / "missing").exists()
    unconfirmed = nmem("brain", "delete", "work")
    assert unconfirmed.returncode == 1 and "--yes" in unconfirmed.stderr


def test_export_then_import_into_a_new_brain_recalls_the_same(nmem: Nmem, tmp_path: Path) -> None:
    facts = [
        "Carol leads the mobile team",
        "Dan joined the mobile team in May",
        "Dan fixed the login crash",
    ]
    for fact in facts:
        nmem.json("remember", fact)
    question = "Who leads the team of the person who fixed the login crash?"
    before = nmem.json("recall", question)
    snapshot = nmem("export")  # to stdout
    assert snapshot.returncode == 0 and json.loads(snapshot.stdout)["format"]
    imported = nmem.json("import", "-", "--brain", "copy", stdin=snapshot.stdout)
    assert imported["memories"] == 3
    after = nmem.json("recall", question, "--brain", "copy")
    assert [m["text"] for m in after["memories"]] == [m["text"] for m in before["memories"]]
    clash = nmem("import", "-", "--brain", "copy", stdin=snapshot.stdout)
    assert clash.returncode == 1 and "already exists" in clash.stderr


# neural-memory 4.x schema (version 19), the tables and columns the import reads, as
# documented in src/neural_memory/cli/nm4.py.
NM4_SCHEMA = """
CREATE TABLE schema_version (version INTEGER PRIMARY KEY);
CREATE TABLE brains (id TEXT PRIMARY KEY, name TEXT NOT NULL, config TEXT NOT NULL,
    owner_id TEXT, is_public INTEGER DEFAULT 0, shared_with TEXT DEFAULT '[]',
    created_at TEXT NOT NULL, updated_at TEXT NOT NULL);
CREATE TABLE neurons (id TEXT NOT NULL, brain_id TEXT NOT NULL, type TEXT NOT NULL,
    content TEXT NOT NULL, metadata TEXT DEFAULT '{}', content_hash INTEGER DEFAULT 0,
    created_at TEXT NOT NULL, PRIMARY KEY (brain_id, id));
CREATE TABLE fibers (id TEXT NOT NULL, brain_id TEXT NOT NULL, neuron_ids TEXT NOT NULL,
    synapse_ids TEXT NOT NULL, anchor_neuron_id TEXT NOT NULL, pathway TEXT DEFAULT '[]',
    conductivity REAL DEFAULT 1.0, last_conducted TEXT, time_start TEXT, time_end TEXT,
    coherence REAL DEFAULT 0.0, salience REAL DEFAULT 0.0, frequency INTEGER DEFAULT 0,
    summary TEXT, tags TEXT DEFAULT '[]', auto_tags TEXT DEFAULT '[]',
    agent_tags TEXT DEFAULT '[]', metadata TEXT DEFAULT '{}', created_at TEXT NOT NULL,
    PRIMARY KEY (brain_id, id));
CREATE TABLE typed_memories (fiber_id TEXT NOT NULL, brain_id TEXT NOT NULL,
    memory_type TEXT NOT NULL, priority INTEGER DEFAULT 5, provenance TEXT NOT NULL,
    expires_at TEXT, project_id TEXT, tags TEXT DEFAULT '[]', metadata TEXT DEFAULT '{}',
    created_at TEXT NOT NULL, PRIMARY KEY (brain_id, fiber_id));
CREATE TABLE projects (id TEXT NOT NULL, brain_id TEXT NOT NULL, name TEXT NOT NULL,
    description TEXT DEFAULT '', start_date TEXT NOT NULL, end_date TEXT,
    tags TEXT DEFAULT '[]', priority REAL DEFAULT 1.0, metadata TEXT DEFAULT '{}',
    created_at TEXT NOT NULL, PRIMARY KEY (brain_id, id));
"""


def build_nm4_brain(path: Path, memories: list[dict[str, Any]], name: str = "default") -> None:
    """A neural-memory 4.x SQLite file holding ``memories`` in brain ``name``."""
    with closing(sqlite3.connect(path)) as db:
        db.executescript(NM4_SCHEMA)
        db.execute("INSERT INTO schema_version VALUES (19)")
        db.execute(
            "INSERT INTO brains VALUES ('b1', ?, '{}', NULL, 0, '[]', ?, ?)",
            (name, "2024-01-01T00:00:00", "2024-01-01T00:00:00"),
        )
        db.execute(
            "INSERT INTO projects (id, brain_id, name, start_date, created_at) "
            "VALUES ('p1', 'b1', 'launch', '2024-01-01T00:00:00', '2024-01-01T00:00:00')"
        )
        rows = []
        for i, m in enumerate(memories):
            anchor = f"n{i}"
            rows.append((anchor, m))
            db.execute(
                "INSERT INTO neurons (id, brain_id, type, content, metadata, created_at) "
                "VALUES (?, 'b1', 'concept', ?, '{\"is_anchor\": true}', ?)",
                (anchor, m["text"], m["created"]),
            )
            db.execute(
                "INSERT INTO fibers (id, brain_id, neuron_ids, synapse_ids, anchor_neuron_id, "
                "time_start, tags, auto_tags, agent_tags, created_at) "
                "VALUES (?, 'b1', ?, '[]', ?, ?, ?, '[\"auto\"]', ?, ?)",
                (
                    f"f{i}", json.dumps([anchor]), anchor, m.get("when"),
                    json.dumps([*m.get("tags", []), "auto"]), json.dumps(m.get("tags", [])),
                    m["created"],
                ),
            )  # fmt: skip
            if "type" in m:
                db.execute(
                    "INSERT INTO typed_memories (fiber_id, brain_id, memory_type, priority, "
                    "provenance, project_id, created_at) VALUES (?, 'b1', ?, ?, '{}', ?, ?)",
                    (f"f{i}", m["type"], m.get("priority", 5), m.get("project"), m["created"]),
                )
        db.commit()


def test_import_from_neural_memory(nmem: Nmem, tmp_path: Path) -> None:
    source = tmp_path / "nm4.db"
    build_nm4_brain(
        source,
        [
            {"text": "We chose Postgres for the ledger", "created": "2024-03-02T10:00:00",
             "when": "2024-03-01T09:00:00", "tags": ["db"], "type": "decision", "priority": 8,
             "project": "p1"},
            {"text": "Ship the beta before the conference", "created": "2024-03-05T10:00:00",
             "type": "todo"},
            {"text": "The office plant is a monstera", "created": "2024-03-06T10:00:00"},
        ],
        name="work",
    )  # fmt: skip
    imported = nmem.json("import", "--from", "neural-memory", str(source))
    assert imported == {"brain": "work", "memories": 3, "merged": 0, "source": str(source)}
    listed = nmem.json("list", "--brain", "work")["memories"]
    by_text = {m["text"]: m for m in listed}
    decision = by_text["We chose Postgres for the ledger"]
    assert decision["type"] == "decision" and decision["priority"] == 7  # 8 rounds to HIGH
    assert decision["tags"] == ["db"] and decision["project"] == "launch"
    assert decision["occurred_at"].startswith("2024-03-01T09:00:00")
    assert by_text["Ship the beta before the conference"]["type"] == "todo"
    assert by_text["The office plant is a monstera"]["type"] is None
    recalled = nmem.json("recall", "What did we pick for the ledger?", "--brain", "work")
    assert recalled["memories"][0]["text"] == "We chose Postgres for the ledger"


def test_a_terminal_shows_a_progress_bar_on_a_10k_import(tmp_path: Path) -> None:
    nmem = Nmem(tmp_path)
    source = tmp_path / "big-nm4.db"
    topics = ["pottery", "chess", "kayak", "guitar", "sourdough", "marathon", "gardening"]
    build_nm4_brain(
        source,
        [
            {"text": f"Note {i} about {topics[i % 7]} practice with friend {i % 97}",
             "created": f"2024-01-01T00:00:{i % 60:02d}"}
            for i in range(10_000)
        ],
    )  # fmt: skip
    leader, follower = pty.openpty()
    env = {**nmem.env, "COLUMNS": "120", "LINES": "40", "TERM": "xterm"}
    env.pop("NO_COLOR")
    try:
        process = subprocess.Popen(
            [*command(), "import", "--from", "neural-memory", str(source), "--db", nmem.db],
            stdin=follower, stdout=follower, stderr=follower, env=env,
        )  # fmt: skip
        screen = read_until_exit(process, leader, timeout=600)
    finally:
        os.close(leader)
        os.close(follower)
    assert process.returncode == 0, screen
    assert "importing memories" in screen
    assert "━" in screen  # the bar itself
    assert "10000/10000" in screen
    assert "Imported 10,000 memories" in screen


def read_until_exit(process: subprocess.Popen[bytes], leader: int, timeout: float) -> str:
    """Everything the process writes to its terminal, until it exits."""
    chunks: list[bytes] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ready, _, _ = select.select([leader], [], [], 0.5)
        if ready:
            chunks.append(os.read(leader, 65536))
        elif process.poll() is not None:
            break
    else:
        process.kill()
        process.wait()
    return b"".join(chunks).decode("utf-8", "replace")


class _KeyServer(http.server.BaseHTTPRequestHandler):
    """The key endpoints of the HTTP server, as the contract describes them (in memory)."""

    keys: ClassVar[dict[str, dict[str, Any]]] = {}
    admin = "admin-key-0123456789abcdef"

    def _answer(self, status: int, body: Any) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _allowed(self) -> bool:
        if self.headers.get("Authorization") == f"Bearer {self.admin}":
            return True
        self._answer(401, {"error": "unauthorized"})
        return False

    def do_POST(self) -> None:
        if self._allowed():
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            key_id = f"k{len(self.keys) + 1}"
            self.keys[key_id] = {"id": key_id, **body}
            self._answer(201, {"id": key_id, "key": f"secret-{key_id}"})

    def do_GET(self) -> None:
        if self._allowed():
            self._answer(200, {"keys": list(self.keys.values())})

    def do_DELETE(self) -> None:
        if self._allowed():
            self.keys.pop(self.path.rsplit("/", 1)[-1], None)
            self._answer(200, {"revoked": True})

    def log_message(self, format: str, *args: Any) -> None:
        return


def test_keys_talk_to_the_server(nmem: Nmem) -> None:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _KeyServer)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        nmem.env["NEURAL_MEMORY_URL"] = f"http://127.0.0.1:{server.server_address[1]}"
        refused = nmem("keys", "list", db=False)
        assert refused.returncode == 1 and "NEURAL_MEMORY_API_KEY" in refused.stderr
        nmem.env["NEURAL_MEMORY_API_KEY"] = _KeyServer.admin
        created = nmem.json("keys", "create", "--brain-id", "b1", "--access", "write", db=False)
        assert created == {"id": "k1", "key": "secret-k1"}
        listed = nmem.json("keys", "list", db=False)
        assert listed["keys"] == [{"id": "k1", "brains": ["b1"], "access": "write"}]
        assert nmem.json("keys", "revoke", "k1", db=False) == {"revoked": "k1"}
        assert nmem.json("keys", "list", db=False)["keys"] == []
        nmem.env["NEURAL_MEMORY_API_KEY"] = "wrong-key-wrong-key"
        wrong = nmem("keys", "list", db=False)
        assert wrong.returncode == 1 and "401" in wrong.stderr
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)
