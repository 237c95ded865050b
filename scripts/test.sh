#!/usr/bin/env bash
# Install everything the test suite needs (Python packages, redis-server, PostgreSQL), then run
# the linters, the type checker and the whole test suite. CI runs exactly this script.
set -euo pipefail
cd "$(dirname "$0")/.."
# Real servers the tests start and stop themselves: redis-server and PostgreSQL.
packages=()
command -v redis-server >/dev/null 2>&1 || packages+=(redis-server)
compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null || command -v initdb >/dev/null 2>&1 \
  || packages+=(postgresql)
# Headless Chromium for the dashboard's browser tests (driven by Playwright; never downloaded).
command -v chromium >/dev/null 2>&1 || packages+=(chromium)
if (( ${#packages[@]} )); then
  sudo=""; [[ $(id -u) -eq 0 ]] || sudo="sudo"
  $sudo apt-get update -qq
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${packages[@]}" >/dev/null
fi
scripts/install.sh dev,embeddings
.venv/bin/ruff check src tests benchmarks
.venv/bin/ruff format --check src tests benchmarks
.venv/bin/mypy
.venv/bin/python -m pytest -q "$@"
