#!/usr/bin/env bash
# Install NeuralMemory (first run only) and run the demo on an embedded SQLite brain.
# Extra arguments are questions to ask, e.g. scripts/demo.sh "Who leads the mobile team?"
#
# The install runs again only when the project changed: .venv/.demo-stamp holds a hash of
# pyproject.toml, the install script and every source file, and a warm run (stamp matches)
# goes straight to the demo.
set -euo pipefail
cd "$(dirname "$0")/.."

stamp_file=.venv/.demo-stamp
project_hash() {
  { sha256sum pyproject.toml scripts/install.sh
    find src -type f -name '*.py' -print0 | sort -z | xargs -0 sha256sum
  } | sha256sum | cut -d' ' -f1
}

wanted="$(project_hash)"
if [[ ! -x .venv/bin/neural-memory || "$(cat "$stamp_file" 2>/dev/null)" != "$wanted" ]]; then
  if [[ -x .venv/bin/neural-memory ]]; then
    echo "The project changed since the last install: updating .venv ..." >&2
  else
    echo "First run: installing NeuralMemory into .venv (about a minute; pip shows its progress) ..." >&2
  fi
  NM_INSTALL_PROGRESS=1 scripts/install.sh cli
  echo "$wanted" > "$stamp_file"
  echo "Installed. Later runs start at once." >&2
fi
# The demo's own entry point: the same as `neural-memory demo`, without loading every command.
exec .venv/bin/python -m neural_memory.cli.demo "$@"
