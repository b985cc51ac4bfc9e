#!/usr/bin/env bash
# The GPU check (pan_gym/paper/gpu_check.py): prints one JSON line; exit status 0 when every part passed.
# On a CUDA machine: scripts/gpu_check.sh        On a CPU (as CI runs it): scripts/gpu_check.sh --cpu
set -euo pipefail
cd "$(dirname "$0")/.."
PY="${PYTHON:-$( [ -x .venv/bin/python ] && echo .venv/bin/python || echo python )}"
HF_HUB_OFFLINE=1 exec timeout 300 "$PY" -m pan_gym.paper.gpu_check "$@"
