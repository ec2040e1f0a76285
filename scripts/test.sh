#!/usr/bin/env bash
# The project's test command (the README's second command; .ci/run runs it too).
set -euo pipefail
cd "$(dirname "$0")/.."
cargo test --workspace --locked
if ls tests/*.py >/dev/null 2>&1; then
  [ -x .venv/bin/python ] || { python3 -m venv .venv && .venv/bin/pip install --quiet -r tests/requirements.txt; }
  cargo build --locked -p archway
  .venv/bin/python -m pytest -q tests
fi
