"""The real ``neural-memory`` console script, run in a subprocess against a temporary database."""

from __future__ import annotations

import json
import os
import pty
import re
import select
import signal
import sqlite3
import subprocess
import sys
from contextlib import closing
from pathlib import Path

import pytest

_SCRIPT = Path(sys.executable).with_name("neural-memory")
_TIMEOUT = 60
_MULTI_HOP = "Who leads the team of the person who fixed the login crash?"


def _command() -> list[str]:
    if _SCRIPT.exists():
        return [str(_SCRIPT)]
    return [sys.executable, "-m", "neural_memory.cli"]


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEURAL_MEMORY_")}
    env.update(COLUMNS="200", NO_COLOR="1", NEURAL_MEMORY_CONFIG=os.devnull)
    env.update(NEURAL_MEMORY_EMBEDDINGS="off", **extra)  # off: the suite's default
    return env


def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """Run the CLI to completion (a hang fails the test through the timeout)."""
    return subprocess.run(
        [*_command(), *args],
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        env=env or _env(),
        timeout=_TIMEOUT,
        check=False,
    )


def fiber_count(db: Path) -> int:
    with closing(sqlite3.connect(db)) as conn:
        return int(conn.execute("SELECT count(*) FROM fibers").fetchone()[0])


def assert_one_line_error(result: subprocess.CompletedProcess[str], *words: str) -> None:
    assert result.returncode == 1, result.stdout + result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ")
    assert "Traceback" not in result.stdout + result.stderr
    for word in words:
        assert word in lines[0]


def test_demo_answers_a_multi_hop_question(tmp_path: Path) -> None:
    db = tmp_path / "demo.db"
    result = run("demo", "--db", str(db), _MULTI_HOP)
    assert result.returncode == 0, result.stderr
    assert "Remembered 18 lines" in result.stdout
    assert "Carol leads the mobile team" in result.stdout
    assert "Dan fixed the login crash" in result.stdout
    assert re.search(r"confidence 0\.\d\d\s+·\s+[\d.]+ ms", result.stdout)
    assert result.stderr == ""


def test_demo_reuses_its_brain_without_duplicating_memories(tmp_path: Path) -> None:
    db = tmp_path / "demo.db"
    assert run("demo", "--db", str(db), "Who is Biscuit?").returncode == 0
    assert fiber_count(db) == 18
    again = run("demo", "--db", str(db), "Who adopted a dog?")
    assert again.returncode == 0, again.stderr
    assert "Using the demo brain" in again.stdout
    assert "Remembered" not in again.stdout
    assert "I adopted a dog named Biscuit" in again.stdout
    assert fiber_count(db) == 18
    fresh = run("demo", "--db", str(db), "--fresh", "Who adopted a dog?")
    assert "Remembered 18 lines" in fresh.stdout
    assert fiber_count(db) == 18


def test_demo_without_questions_and_no_terminal_answers_the_samples(tmp_path: Path) -> None:
    result = run("demo", "--db", str(tmp_path / "demo.db"))
    assert result.returncode == 0, result.stderr
    for question in (_MULTI_HOP, "Why did the login crash happen?", "When did the checkout"):
        assert question in result.stdout
    assert "token refresh ran on the main thread" in result.stdout
    assert "The checkout flow finally launched on July 15" in result.stdout


def test_the_demo_module_answers_without_importing_typer_or_pydantic(tmp_path: Path) -> None:
    code = (
        "import sys\n"
        "from neural_memory.cli import demo\n"
        "code = demo.main(sys.argv[1:])\n"
        "heavy = {'typer', 'pydantic', 'fastapi', 'mcp', 'onnxruntime'} & set(sys.modules)\n"
        "heavy = sorted(heavy)\n"
        "print('heavy:', heavy)\n"
        "sys.exit(code)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code, "--db", str(tmp_path / "demo.db"), _MULTI_HOP],
        capture_output=True,
        text=True,
        env=_env(),
        timeout=_TIMEOUT,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "Carol leads the mobile team" in result.stdout
    assert "heavy: []" in result.stdout


def test_demo_prompts_for_questions_on_a_terminal(tmp_path: Path) -> None:
    leader, follower = pty.openpty()
    try:
        process = subprocess.Popen(
            [*_command(), "demo", "--db", str(tmp_path / "demo.db")],
            stdin=follower,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=_env(),
        )
        os.write(leader, b"Where was the team offsite?\n\n")
        try:
            out, err = process.communicate(timeout=_TIMEOUT)
        except subprocess.TimeoutExpired:
            process.kill()
            process.communicate()
            raise
    finally:
        os.close(leader)
        os.close(follower)
    assert process.returncode == 0, err
    assert "question>" in out
    assert "booked flights to Lisbon" in out


def test_ctrl_c_at_the_prompt_exits_at_once_and_closes_the_brain(tmp_path: Path) -> None:
    db = tmp_path / "demo.db"
    leader, follower = pty.openpty()
    try:
        process = subprocess.Popen(
            [*_command(), "demo", "--db", str(db)],
            stdin=follower,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=_env(),
        )
        assert process.stdout is not None
        seen = b""
        while b"question>" not in seen:
            ready, _, _ = select.select([process.stdout], [], [], _TIMEOUT)
            assert ready, f"no prompt in time: {seen!r}"
            chunk = os.read(process.stdout.fileno(), 4096)
            assert chunk, f"the CLI ended before prompting: {seen!r}"
            seen += chunk
        process.send_signal(signal.SIGINT)
        try:
            _, err = process.communicate(timeout=_TIMEOUT)
        except subprocess.TimeoutExpired:
            process.kill()
            process.communicate()
            raise
    finally:
        os.close(leader)
        os.close(follower)
    assert process.returncode == 130
    assert b"Traceback" not in err
    assert not Path(f"{db}-wal").exists()  # SQLite removes it when the brain is closed
    assert fiber_count(db) == 18


def test_remember_then_recall_round_trip(tmp_path: Path) -> None:
    db = str(tmp_path / "brain.db")
    stored = run(
        "remember", "I parked the car on level 3 of the airport garage",
        "--db", db, "--brain", "me", "--speaker", "Sam", "--when", "2025-11-20T08:30:00+00:00",
    )  # fmt: skip
    assert stored.returncode == 0, stored.stderr
    assert "new brain" in stored.stdout
    run("remember", "Lunch with Priya at the ramen bar", "--db", db, "--brain", "me")
    recalled = run("recall", "where did I park the car?", "--db", db, "--brain", "me", "--json")
    assert recalled.returncode == 0, recalled.stderr
    answer = json.loads(recalled.stdout)
    best = answer["memories"][0]
    assert best["text"] == "I parked the car on level 3 of the airport garage"
    assert best["speaker"] == "Sam"
    assert best["occurred_at"] == "2025-11-20T08:30:00+00:00"
    assert "[2025-11-20] Sam: I parked the car" in answer["context"]
    table = run("recall", "ramen", "--db", db, "--brain", "me")
    assert "Lunch with Priya at the ramen bar" in table.stdout


def test_the_database_and_brain_can_come_from_the_environment(tmp_path: Path) -> None:
    env = _env(NEURAL_MEMORY_DB=str(tmp_path / "env.db"), NEURAL_MEMORY_BRAIN="work")
    assert run("remember", "The quarterly report is due on Friday", env=env).returncode == 0
    stats = run("stats", env=env)
    assert stats.returncode == 0, stats.stderr
    assert "brain 'work'" in stats.stdout
    assert re.search(r"memories \(fibers\)\s*│\s*1\s", stats.stdout)
    recalled = run("recall", "when is the report due?", "--json", env=env)
    assert json.loads(recalled.stdout)["memories"][0]["text"].startswith("The quarterly report")


def test_decay_dry_run_writes_nothing_and_a_real_pass_does(tmp_path: Path) -> None:
    db = str(tmp_path / "brain.db")
    run("remember", "Visited the museum in Madrid", "--db", db, "--when", "2024-01-05")
    dry = run("decay", "--db", db, "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert "dry run" in dry.stdout
    assert re.search(r"neurons that would be weakened\s*│\s*[1-9]", dry.stdout)
    applied = run("decay", "--db", db)
    assert re.search(r"neurons that were weakened\s*│\s*[1-9]", applied.stdout)
    again = run("decay", "--db", db)
    assert re.search(r"neurons that were weakened\s*│\s*0\s", again.stdout)


def test_a_path_that_cannot_hold_a_database_is_one_red_line(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    result = run("demo", "--db", str(blocker / "brain.db"), "anything?")
    assert_one_line_error(result, "cannot create the directory")


def test_a_file_that_is_not_a_database_is_one_red_line(tmp_path: Path) -> None:
    junk = tmp_path / "junk.db"
    junk.write_text("definitely not sqlite\n" * 20)
    assert_one_line_error(run("recall", "x", "--db", str(junk)), "not a database")


def test_recall_never_creates_a_database_or_a_brain(tmp_path: Path) -> None:
    missing = tmp_path / "missing.db"
    assert_one_line_error(run("recall", "x", "--db", str(missing)), "no database")
    assert not missing.exists()
    db = str(tmp_path / "brain.db")
    run("remember", "hello there", "--db", db)
    assert_one_line_error(run("stats", "--db", db, "--brain", "nope"), "no brain named 'nope'")


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (("remember", "   "), ("memory text",)),
        (("remember", "x", "--when", "last tuesday"), ("--when",)),
    ],
)
def test_invalid_input_is_one_red_line(
    tmp_path: Path, args: tuple[str, ...], words: tuple[str, ...]
) -> None:
    assert_one_line_error(run(*args, "--db", str(tmp_path / "brain.db")), *words)


def test_module_entry_point_works(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "neural_memory.cli", "--help"],
        capture_output=True, text=True, timeout=_TIMEOUT, env=_env(), check=False,
    )  # fmt: skip
    assert result.returncode == 0
    for command in ("demo", "remember", "recall", "stats", "decay"):
        assert command in result.stdout
