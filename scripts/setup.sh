#!/usr/bin/env bash
# Set up aurelia-local from nothing: Debian ffmpeg, a Python 3.11 virtual environment in .venv,
# the locked dependency set for this machine (CPU or CUDA), and the package itself (editable).
#
# Usage: scripts/setup.sh [cpu|cuda|dev] [ray] [train]  (default: cuda when nvidia-smi finds a GPU, else cpu;
#        dev: the CPU set plus the test tools, requirements/cpu-dev.lock, and Debian's chromium and
#        chromium-driver for the browser tests; used by scripts/test.sh; ray: the Ray worker pool
#        of `aurelia distill --ray`, requirements/ray-cpu.lock or ray-gpu.lock, compiled against the
#        machine's lock so that nothing of it changes; the dev set already holds it; train: ms-swift for
#        `aurelia train`, requirements/train-cpu.lock or train-gpu.lock (with DeepSpeed), compiled the
#        same way with requirements/train-overrides.txt; the dev set already holds it too)
# Environment: AURELIA_VENV (default .venv), AURELIA_PYTHON (default python3.11).
# Idempotent: a second run only installs what changed in the lock.
set -euo pipefail
cd "$(dirname "$0")/.."

UV_VERSION=0.13.8
VENV=${AURELIA_VENV:-.venv}
PY=${AURELIA_PYTHON:-python3.11}
TARGET=${1:-}
EXTRAS=("${@:2}")
for extra in "${EXTRAS[@]}"; do
  case "$extra" in
    ray|train) ;;
    *) echo "setup: unknown extra '$extra' (known: ray, train)" >&2; exit 2 ;;
  esac
done
if [ -z "$TARGET" ]; then
  if command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi -L >/dev/null 2>&1; then TARGET=cuda; else TARGET=cpu; fi
fi

need_apt=()
command -v ffmpeg >/dev/null 2>&1 || need_apt+=(ffmpeg)
command -v "$PY" >/dev/null 2>&1 || need_apt+=(python3.11 python3.11-venv)
if [ "$TARGET" = dev ]; then  # the browser tests of `aurelia view`
  command -v chromium >/dev/null 2>&1 || need_apt+=(chromium)
  command -v chromedriver >/dev/null 2>&1 || need_apt+=(chromium-driver)
fi
if [ ${#need_apt[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "setup: missing ${need_apt[*]}; run: sudo apt-get install -y ${need_apt[*]}" >&2
    exit 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need_apt[@]}" >/dev/null
fi

if [ ! -x "$VENV/bin/python" ]; then
  "$PY" -m venv "$VENV"
fi
"$VENV/bin/python" -m pip install -q --disable-pip-version-check "uv==$UV_VERSION"
UV="$VENV/bin/uv"
export UV_PYTHON="$VENV/bin/python"
# uv reads no pip configuration: a local torch "+cpu" wheel in pip's find-links is never picked.
if [ "$TARGET" = cpu ]; then
  "$UV" pip install -q -r requirements/cpu.lock --override requirements/cpu-overrides.txt
elif [ "$TARGET" = dev ]; then
  "$UV" pip install -q -r requirements/cpu-dev.lock --override requirements/dev-overrides.txt \
    --override requirements/train-overrides.txt
else
  "$UV" pip install -q -r requirements/gpu.lock
fi
for extra in "${EXTRAS[@]}"; do
  own=()  # an extra's own overrides, the ones its locks were compiled with
  if [ -f "requirements/$extra-overrides.txt" ]; then own=(--override "requirements/$extra-overrides.txt"); fi
  case "$TARGET" in
    cpu) "$UV" pip install -q -r "requirements/$extra-cpu.lock" --override requirements/cpu-overrides.txt "${own[@]}" ;;
    cuda) "$UV" pip install -q -r "requirements/$extra-gpu.lock" "${own[@]}" ;;
  esac
done
"$UV" pip install -q --no-deps -e .
echo "setup: $TARGET${EXTRAS[*]:+ + ${EXTRAS[*]}} environment ready in $VENV ($("$VENV/bin/python" --version))"
