#!/usr/bin/env bash
# Start the vLLM OpenAI-compatible servers a profile's loop needs: one per agent model.
#
#   scripts/serve_agents.sh [PROFILE] [BASE_PORT]     (defaults: smoke 8001)
#
# The generator (omni) listens on BASE_PORT, the summarizer on BASE_PORT+1, each on 127.0.0.1 and
# served under its role's name. Then run the loop against them with
#   --set engine.backend=vllm_server \
#   --set 'engine.servers={generator: [http://127.0.0.1:8001/v1], summarizer: [http://127.0.0.1:8002/v1]}'
# Logs go to runs/servers/<role>.log; stop the servers with `kill $(cat runs/servers/*.pid)`.
# On a GPU, set CUDA_VISIBLE_DEVICES per server or lower engine.gpu_memory_utilization to share one.
set -euo pipefail
cd "$(dirname "$0")/.."
PROFILE=${1:-smoke}
PORT=${2:-8001}
PY=${AURELIA_PYTHON:-.venv/bin/python}
mkdir -p runs/servers
i=0
while read -r role cmd; do
  port=$((PORT + i)); i=$((i + 1))
  eval "args=($cmd)"  # the flags come shell-quoted (shlex.join)
  nohup "$PY" -m aurelia_local.app.serve "${args[@]}" --host 127.0.0.1 --port "$port" \
    > "runs/servers/$role.log" 2>&1 &
  echo $! > "runs/servers/$role.pid"
  echo "$role: http://127.0.0.1:$port/v1 (log runs/servers/$role.log)"
done < <("$PY" -m aurelia_local.app.serve_flags --profile "$PROFILE" generator summarizer)
