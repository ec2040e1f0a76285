#!/usr/bin/env bash
# The project's test command (the README's second command; .ci/run runs it too).
set -euo pipefail
cd "$(dirname "$0")/.."
# Python for the boto3 admin-API suite (tests/*.py) and for the Lambda handlers the Rust tests
# run (awslambdaric, aws-lambda-powertools): one venv, made once.
if [ ! -x .venv/bin/python ] || ! .venv/bin/python -c 'import awslambdaric, boto3, pytest' 2>/dev/null; then
  python3 -m venv .venv
  .venv/bin/pip install --quiet --disable-pip-version-check -r tests/requirements.txt
fi
export ARCHWAY_TEST_PYTHON="$PWD/.venv/bin/python"
cargo test --workspace --locked
if ls tests/*.py >/dev/null 2>&1; then
  cargo build --locked -p archway
  .venv/bin/python -m pytest -q tests
fi
