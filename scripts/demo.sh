#!/usr/bin/env bash
# Install NeuralMemory and run the demo on an embedded SQLite brain (no server needed).
# Extra arguments are questions to ask, e.g. scripts/demo.sh "Who leads the mobile team?"
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install.sh cli
exec .venv/bin/neural-memory demo "$@"
