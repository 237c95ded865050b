"""The HTTP load benchmark's plan: distinct questions, base and new servers alternated."""

from __future__ import annotations

from pathlib import Path

from benchmarks.load import (
    CLIENTS,
    ServerSetup,
    client_question,
    client_shares,
    medians,
    parse_args,
    ratios,
    setups,
)


def test_no_two_recalls_ask_the_same_question() -> None:
    # A cache of query vectors must not serve any recall of the benchmark.
    asked = [client_question(c, i, 100) for c in range(16) for i in range(100)]
    assert len(set(asked)) == len(asked)


def test_every_client_runs_in_exactly_one_load_generator_process() -> None:
    for processes in (1, 2, 3, CLIENTS, CLIENTS + 5):
        shares = client_shares(processes)
        assert all(shares) and len(shares) == min(processes, CLIENTS)
        assert sorted(c for share in shares for c in share) == list(range(CLIENTS))


def test_each_configuration_runs_the_base_server_then_the_new_one() -> None:
    args = parse_args(["--workers", "1,2", "--base", "old/src"])
    base = Path("old/src").resolve()
    assert setups(args) == [
        ServerSetup(1, True, base),
        ServerSetup(1, True),
        ServerSetup(1, False, base),
        ServerSetup(1, False),
        ServerSetup(2, True, base),
        ServerSetup(2, True),
        ServerSetup(2, False, base),
        ServerSetup(2, False),
    ]


def test_no_embeddings_runs_only_the_servers_without_a_model() -> None:
    args = parse_args(["--workers", "1", "--no-embeddings"])
    assert setups(args) == [ServerSetup(1, False)]
    assert setups(parse_args(["--workers", "1"])) == [ServerSetup(1, True), ServerSetup(1, False)]


def test_ratios_compare_new_with_base_of_the_same_configuration() -> None:
    def row(server: str, embeddings: bool, rps: float, p95: float) -> dict[str, object]:
        return {
            "server": server,
            "scenario": "recall",
            "workers": 1,
            "embeddings": embeddings,
            "rps": rps,
            "p95_ms": p95,
        }

    rows = [row("base", True, 40.0, 400.0), row("new", True, 60.0, 200.0)]
    rows += [row("base", False, 100.0, 100.0), row("new", False, 100.0, 100.0)]
    assert ratios(rows) == [
        "recall workers 1 embeddings True: new/base requests/s x1.50, p95 base/new x2.00",
        "recall workers 1 embeddings False: new/base requests/s x1.00, p95 base/new x1.00",
    ]


def test_rounds_report_medians_and_cpu_ratios() -> None:
    def run(server: str, rps: float, cpu: float, errors: int) -> dict[str, object]:
        return {
            "server": server,
            "scenario": "recall",
            "workers": 1,
            "embeddings": False,
            "requests": 100,
            "errors": errors,
            "lost_memories": None,
            "rps": rps,
            "p50_ms": 10.0,
            "p95_ms": 20.0,
            "p99_ms": 30.0,
            "cpu_ms_per_request": cpu,
            "peak_rss_mib": 100.0,
            "seconds": 1.0,
        }

    runs = [run("base", rps, cpu, 0) for rps, cpu in ((50.0, 10.0), (40.0, 12.0), (60.0, 8.0))]
    runs += [run("new", rps, cpu, 1) for rps, cpu in ((70.0, 7.0), (80.0, 6.0), (10.0, 9.0))]
    base, new = medians(runs)
    assert (base["rounds"], base["rps"], base["cpu_ms_per_request"]) == (3, 50.0, 10.0)
    assert (new["rps"], new["cpu_ms_per_request"], new["errors"]) == (70.0, 7.0, 3)
    assert new["requests"] == 300 and new["lost_memories"] is None
    assert ratios([base, new]) == [
        "recall workers 1 embeddings False: new/base requests/s x1.40, p95 base/new x1.00, "
        "CPU per request 7.0 / 10.0 ms (new/base x0.70)"
    ]
    assert parse_args(["--rounds", "3"]).rounds == 3
