"""The HTTP contract, checked by schemathesis over the whole OpenAPI schema (bounded run).

Every check is on (status codes documented, response schemas, schema-valid data accepted,
schema-violating data refused, 405 with Allow, ...) against a real server process; the one
exception is explained in ``schemathesis.toml`` beside this file.

The schema is run in two parts, the storage RPC and everything else, which together cover
every operation. In one run over all 42 operations, schemathesis 4.32.5 sent a bare ``0``
as a *schema-valid* body of ``/brains/{id}/memories`` and ``/recall``, whose schema says
object (a generator fault: it does not happen when those operations run without the storage
RPC ones, with the same seed and the same schema).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.server.server_process import running_server

ADMIN = "contract-admin-key-0123456789abcdef"
CONFIG = Path(__file__).with_name("schemathesis.toml")


@pytest.mark.timeout(900)
@pytest.mark.parametrize("operations", ["^/v1/storage/", "^/(brains|keys|health)"])
def test_schemathesis_finds_no_contract_gap(tmp_path: Path, operations: str) -> None:
    pytest.importorskip("schemathesis")
    env = {"NEURAL_MEMORY_API_KEY": ADMIN}
    with running_server(tmp_path / "contract.db", ["--rate-limit", "0"], env) as server:
        run = subprocess.run(
            [
                sys.executable,
                "-m",
                "schemathesis.cli",
                "--config-file",
                str(CONFIG),
                "run",
                f"{server.url}/openapi.json",
                "--header",
                f"Authorization: Bearer {ADMIN}",
                "--phases",
                "examples,coverage,fuzzing",
                "--max-examples",
                "5",
                "--workers",
                "1",
                "--seed",
                "20261202",
                "--continue-on-failure",
                "--include-path-regex",
                operations,
            ],
            capture_output=True,
            text=True,
            timeout=900,
            cwd=tmp_path,
            check=False,
        )
    assert run.returncode == 0, run.stdout[-8000:] + run.stderr[-2000:]
