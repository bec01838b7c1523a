#!/usr/bin/env bash
# Set up from nothing (scripts/setup.sh dev: the CPU set plus LangGraph's dev server) and run the
# test suite on CPU with the tiny kit.
# Extra arguments go to pytest, e.g. scripts/test.sh -k config
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh dev
VENV=${AURELIA_VENV:-.venv}
exec "$VENV/bin/python" -m pytest "$@"
