#!/usr/bin/env bash
# Set up from nothing, build the tiny kit and run the reasoning loop on the shared Daily-Omni clip
# with the smoke profile, on CPU. With random tiny weights every text is gibberish by construction;
# the demo shows the whole path: decoding, keyframes, audio-in-video prompts, both vLLM engines,
# the grounding evaluator, feedback rounds, r* selection and provenance.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
VENV=${AURELIA_VENV:-.venv}
DATA=${AURELIA_DEMO_DATA:-../shared/data/daily_omni_mini}
CLIP="$DATA/Videos/d6b4OmUFt7I/d6b4OmUFt7I_video.mp4"
"$VENV/bin/aurelia" models build-tiny
exec "$VENV/bin/aurelia" reason "$CLIP" \
  --question "Which visual-audio pair occurs at the very beginning of the video?" \
  --choice "Construction site overview -- training program name reference" \
  --choice "Detailed sign graphic -- geographical location mention" \
  --choice "Instructor in PPE -- personal equipment experience anecdote" \
  --choice "Excavator movement -- hands-on training phase description" \
  --answer B --out runs/demo/reason.json "$@"
