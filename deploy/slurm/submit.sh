#!/usr/bin/env bash
# Submit a sharded distill run: an array of SHARDS tasks, then the merge after it.
# Usage: deploy/slurm/submit.sh SOURCE OUT SHARDS
set -euo pipefail
SOURCE=${1:?usage: submit.sh SOURCE OUT SHARDS}
OUT=${2:?usage: submit.sh SOURCE OUT SHARDS}
SHARDS=${3:?usage: submit.sh SOURCE OUT SHARDS}
here=$(dirname "$0")
array=$(AURELIA_SHARD_COUNT=$SHARDS sbatch --parsable --export=ALL --array="0-$((SHARDS - 1))" \
  "$here/distill.sbatch" "$SOURCE" "$OUT")
sbatch --dependency="afterany:${array%%;*}" "$here/merge.sbatch" "$OUT"
echo "array job $array; merge after it; aurelia status $OUT shows progress"
