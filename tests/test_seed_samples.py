"""The seed document's Quick Start and Complete Example run verbatim, and exit."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

SAMPLES = Path(__file__).parent / "seed_samples"
SEED = Path(__file__).resolve().parents[2] / "shared" / "seeds" / "000_0ed239d7ccc09238.txt"


_LEXICAL = (
    "import runpy, sys\n"
    "from neural_memory.engine.embeddings import set_default_embedder\n"
    "set_default_embedder(None)\n"
    "runpy.run_path(sys.argv[1], run_name='__main__')\n"
)
"""Runs a sample as is, with the default embedding model off, as in the rest of the suite."""


_PYTHON = (sys.executable, "-X", "dev", "-W", "error::ResourceWarning")


def run_sample(name: str, cwd: Path) -> str:
    """Run a sample as its own process; it must finish on its own (no thread left open)."""
    completed = subprocess.run(
        [*_PYTHON, "-c", _LEXICAL, str(SAMPLES / name)],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    return completed.stdout


def test_quick_start_surfaces_the_decision(tmp_path: Path) -> None:
    output = run_sample("quick_start.py", tmp_path)
    answer = output.split("Answer: ", 1)[1].split("Confidence: ", 1)[0]
    first_line = answer.strip().splitlines()[0]
    assert "Decided to use FastAPI for backend" in first_line
    confidence = float(output.rsplit("Confidence: ", 1)[1])
    assert 0.0 < confidence <= 1.0


def test_complete_example_surfaces_microservices_and_exits(tmp_path: Path) -> None:
    output = run_sample("complete_example.py", tmp_path)
    answer = output.split("Answer: ", 1)[1].split("Would decay", 1)[0]
    assert "DECISION: Use microservices. REASON: Better scaling" in answer.strip().splitlines()[0]
    assert "Would decay 0 neurons" in output  # fresh memories are younger than min_age_days
    assert (tmp_path / "memories.db").exists()


@pytest.mark.skipif(not SEED.exists(), reason="the seed documents are not beside the repo")
@pytest.mark.parametrize("name", ["quick_start.py", "complete_example.py"])
def test_samples_are_verbatim_copies_of_the_seed(name: str) -> None:
    body = (SAMPLES / name).read_text().split("\n", 1)[1].strip()
    assert body in SEED.read_text()
