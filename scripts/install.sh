#!/usr/bin/env bash
# Create .venv and install NeuralMemory with the given extras (default: cli).
# Usage: scripts/install.sh [EXTRAS]     e.g. scripts/install.sh dev,embeddings (add torch for
# the sentence-transformers path)
set -euo pipefail
cd "$(dirname "$0")/.."
extras="${1:-cli}"
# NM_INSTALL_PROGRESS=1 shows pip's steps and download bars instead of running quietly.
quiet=(--quiet)
[[ "${NM_INSTALL_PROGRESS:-}" == 1 ]] && quiet=(--progress-bar on)
[[ -x .venv/bin/python ]] || python3 -m venv .venv
.venv/bin/python -m pip install "${quiet[@]}" --upgrade pip
if [[ ",$extras," == *",torch,"* ]]; then
  # The CPU build of torch must be installed by its pinned version first: an unpinned
  # requirement would pull several GB of CUDA packages.
  .venv/bin/python -m pip install "${quiet[@]}" "torch==2.13.0"
fi
.venv/bin/python -m pip install "${quiet[@]}" -e ".[$extras]"
