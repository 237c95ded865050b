"""How fast the dashboard is on a large brain: ``python -m benchmarks.dashboard_speed``.

Builds a SQLite brain of ``--size`` memories (hand-built fibers over a shared vocabulary of
neurons and synapses, written in large batches: the encoder is not what is measured),
serves it with ``neural-memory-server`` in another process, and drives Debian's headless
Chromium (``/usr/bin/chromium``) with Playwright:

- sign-in -> overview counts painted (first paint), and -> every chart drawn, on a freshly
  started server (cold: the server reads every memory once) and again after a reload (warm);
- the JSON endpoints alone (overview, aggregates, a timeline page);
- the graph explorer at ``--graph-elements`` visible elements: milliseconds per drawn frame
  and per layout iteration (a frame budget is 16.7 ms).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from neural_memory import Brain
from neural_memory.core.fiber import Fiber
from neural_memory.core.neuron import Neuron, NeuronType
from neural_memory.core.synapse import Synapse, SynapseType
from neural_memory.storage import SQLiteStorage
from neural_memory.storage.batch import WriteBatch

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
_VOCABULARY = 2_000
_BATCH = 5_000
_KEY = "benchmark-key"
_TYPES = (NeuronType.ENTITY, NeuronType.CONCEPT, NeuronType.ACTION, NeuronType.SPATIAL)


async def build_brain(path: str, size: int, seed: int = 7) -> tuple[str, str]:
    """A brain of ``size`` memories in ``path``; returns its id and a hub neuron id."""
    rng = random.Random(seed)
    async with SQLiteStorage(path) as storage:
        brain = Brain.create(f"bench-{size}")
        await storage.save_brain(brain)
        storage.set_brain(brain.id)
        neurons = [Neuron.create(_TYPES[i % len(_TYPES)], f"word{i}") for i in range(_VOCABULARY)]
        pairs = {
            (i, (i + rng.randrange(1, _VOCABULARY)) % _VOCABULARY)
            for i in range(_VOCABULARY)
            for _ in range(3)
        }
        synapses = {
            s.id: s
            for s in (
                Synapse.create(neurons[a].id, neurons[b].id, SynapseType.RELATED_TO)
                for a, b in sorted(pairs)
            )
        }
        await storage.write(
            WriteBatch(insert_neurons=tuple(neurons), insert_synapses=tuple(synapses.values()))
        )
        start = datetime(2024, 1, 1, tzinfo=UTC)
        for first in range(0, size, _BATCH):
            fibers = [
                _fiber(i, neurons, rng, start) for i in range(first, min(size, first + _BATCH))
            ]
            await storage.write(WriteBatch(insert_fibers=tuple(fibers)))
        return brain.id, neurons[0].id


def _fiber(i: int, neurons: Sequence[Neuron], rng: random.Random, start: datetime) -> Fiber:
    # A Zipf-like choice: low word numbers are hubs, as frequent words are in real brains.
    chosen = {neurons[min(_VOCABULARY - 1, int(rng.paretovariate(1.2)) - 1)].id for _ in range(3)}
    chosen.add(neurons[rng.randrange(_VOCABULARY)].id)
    ids = sorted(chosen)
    moment = start + timedelta(minutes=5 * i)
    metadata = {"stage": "semantic"} if i % 17 == 0 else {}
    return Fiber.create(
        ids,
        pathway=ids,
        content=f"memory {i} about {' '.join(ids[:2])}",
        occurred_at=moment,
        created_at=moment,
        metadata=metadata,
    )


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _start_server(db: str, port: int) -> subprocess.Popen[bytes]:
    command = [
        sys.executable,
        "-m",
        "neural_memory.server",
        "--db",
        db,
        "--port",
        str(port),
        "--log-level",
        "warning",
    ]
    env = {**os.environ, "NEURAL_MEMORY_API_KEY": _KEY}
    server = subprocess.Popen(command, env=env)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            httpx.get(f"http://127.0.0.1:{port}/dashboard/", timeout=1)
            return server
        except httpx.TransportError:
            time.sleep(0.1)
    server.kill()
    raise RuntimeError("the server did not start")


def _ms(started: float) -> float:
    return (time.perf_counter() - started) * 1000


def measure_pages(url: str, brain_id: str, hub: str, graph_elements: int) -> dict[str, float]:
    """Sign-in to first paint and to full overview (cold, then warm), and the graph."""
    from playwright.sync_api import sync_playwright

    figures: dict[str, float] = {}
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        page = browser.new_page(viewport={"width": 1300, "height": 860})
        page.goto(f"{url}/dashboard/")
        page.evaluate("id => sessionStorage.setItem('neuralMemory.brain', id)", brain_id)
        page.fill("#api-key", _KEY)
        started = time.perf_counter()
        page.click("#signin-button")
        page.wait_for_selector('#page[data-first-paint="true"]', timeout=120_000)
        figures["cold: sign-in -> counts painted (ms)"] = _ms(started)
        page.wait_for_selector('#page[data-ready="true"]', timeout=120_000)
        figures["cold: sign-in -> all charts (ms)"] = _ms(started)
        started = time.perf_counter()
        page.reload()
        page.wait_for_selector('#page[data-first-paint="true"]', timeout=60_000)
        figures["warm: reload -> counts painted (ms)"] = _ms(started)
        painted = page.get_attribute("#page", "data-first-paint-ms") or "nan"
        figures["warm: navigation start -> counts painted, in the page (ms)"] = float(painted)
        page.wait_for_selector('#page[data-ready="true"]', timeout=60_000)
        figures["warm: reload -> all charts (ms)"] = _ms(started)
        figures.update(_graph(page, hub, graph_elements))
        browser.close()
    return figures


def _graph(page: Any, hub: str, elements: int) -> dict[str, float]:
    page.evaluate("() => { location.hash = '#/graph'; }")
    page.wait_for_selector('#page[data-page="graph"][data-ready="true"]', timeout=60_000)
    page.select_option('select[name="mode"]', "neuron")
    page.fill('input[name="around"]', hub)
    page.fill('input[name="hops"]', "3")
    page.fill('input[name="limit"]', str(elements))
    page.evaluate("() => { document.getElementById('page').dataset.ready = 'false'; }")
    started = time.perf_counter()
    page.click('#page form button[type="submit"]')
    page.wait_for_selector('#page[data-ready="true"]', timeout=120_000)
    loaded = _ms(started)
    canvas = page.locator('canvas[data-role="graph"]')
    steps = []
    for _ in range(20):
        page.wait_for_timeout(100)
        steps.append(float(canvas.get_attribute("data-step-ms") or 0))
    page.wait_for_selector('canvas[data-role="graph"][data-settled="true"]', timeout=120_000)
    draws = []
    for _ in range(15):  # pan by dragging: every move redraws the whole graph
        page.mouse.move(600, 500)
        page.mouse.down()
        page.mouse.move(640, 520)
        page.mouse.up()
        draws.append(float(canvas.get_attribute("data-draw-ms") or 0))
    synthetic = page.evaluate(_SYNTHETIC_GRAPH, elements)
    return {
        f"graph, synthetic {elements} elements: full redraw, main thread (ms)": synthetic["draw"],
        f"graph, synthetic {elements} elements: layout iteration (ms)": synthetic["step"],
        f"graph, synthetic {elements} elements: layout until settled (ms)": synthetic["settle"],
        f"graph: elements drawn (asked {elements})": float(
            canvas.get_attribute("data-elements") or 0
        ),
        "graph: request + first frame (ms)": loaded,
        "graph: layout iteration in the worker, median (ms)": statistics.median(steps),
        "graph: redraw after pan, median (ms)": statistics.median(draws),
    }


_SYNTHETIC_GRAPH = """async (elements) => {
  const { GraphView } = await import("./assets/js/graphview.js");
  const { ForceLayout } = await import("./assets/js/layout.js");
  const canvas = document.createElement("canvas");
  canvas.className = "graph";
  document.getElementById("page").append(canvas);
  const view = new GraphView(canvas);
  const count = Math.floor(elements / 2), nodes = [], links = [];
  for (let i = 0; i < count; i++) nodes.push({ id: String(i), label: "n" + i });
  for (let i = 1; i < count; i++) {
    links.push({ source: String(i), target: String(Math.floor(Math.random() * i)) });
  }
  view.setGraph(nodes, links, { layout: false });
  let started = performance.now();
  for (let i = 0; i < 10; i++) view.draw();
  const draw = (performance.now() - started) / 10;
  const index = new Map(view.nodes.map((n, i) => [n, i]));
  const pairs = view.links.map((l) => [index.get(l.a), index.get(l.b)]);
  const layout = new ForceLayout(view.nodes, pairs);
  let alpha = 1, steps = 0;
  started = performance.now();
  while (alpha > 0.02) { layout.step(alpha); alpha *= 0.985; steps += 1; }
  const settle = performance.now() - started;
  view.destroy();
  canvas.remove();
  return { draw, step: settle / steps, settle };
}"""


def measure_endpoints(url: str, brain_id: str, repeats: int = 5) -> dict[str, float]:
    """Median latency of the dashboard's JSON endpoints (warm)."""
    base = f"{url}/dashboard/api/brains/{brain_id}"
    figures = {}
    with httpx.Client(headers={"Authorization": f"Bearer {_KEY}"}, timeout=120) as client:
        for name, path in (
            ("overview", "/overview"),
            ("aggregates", "/overview/aggregates"),
            ("timeline page of 50", "/timeline?limit=50"),
        ):
            times = []
            for _ in range(repeats):
                started = time.perf_counter()
                client.get(base + path).raise_for_status()
                times.append(_ms(started))
            figures[f"endpoint {name}, warm median (ms)"] = statistics.median(times)
    return figures


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark and print its figures."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.dashboard_speed")
    parser.add_argument("--size", type=int, default=100_000, help="memories in the brain")
    parser.add_argument("--graph-elements", type=int, default=10_000)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as scratch:
        db = str(Path(scratch) / "brain.db")
        started = time.perf_counter()
        brain_id, hub = asyncio.run(build_brain(db, args.size))
        print(f"built {args.size} memories in {time.perf_counter() - started:.1f} s")
        port = _free_port()
        server = _start_server(db, port)
        try:
            url = f"http://127.0.0.1:{port}"
            figures = measure_pages(url, brain_id, hub, args.graph_elements)
            figures.update(measure_endpoints(url, brain_id))
        finally:
            server.terminate()
            server.wait(timeout=30)
    width = max(len(name) for name in figures)
    for name, value in figures.items():
        print(f"{name:<{width}}  {value:10.1f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
