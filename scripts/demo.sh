#!/usr/bin/env bash
# Set up from nothing, build the tiny kit and run the smoke demo on the shared Daily-Omni clip.
# With random tiny weights the answer text is gibberish; what the demo shows is the whole path:
# decoding, audio-in-video prompts, the vLLM engine, provenance.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
VENV=${AURELIA_VENV:-.venv}
CLIP=${AURELIA_DEMO_CLIP:-../shared/data/daily_omni_mini/Videos/d6b4OmUFt7I/d6b4OmUFt7I_video.mp4}
"$VENV/bin/aurelia" models build-tiny
exec "$VENV/bin/aurelia" generate "$CLIP" --question "What is the first sound heard in the video, and what is seen at that moment?" --out runs/demo/generate.json "$@"
