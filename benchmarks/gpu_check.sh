#!/usr/bin/env bash
# GPU check for a CUDA machine (never in CI): the paper configuration on synthetic videos, one 1-shot training
# epoch with AMP, a 100-video evaluation, bf16 vs fp32 on 20 videos. Prints s/epoch, videos/s, peak GPU memory
# and |dEF|. Aim: under 5 minutes on one H100-class GPU. Usage: bash benchmarks/gpu_check.sh [WORK_DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-.venv/bin/python}
nvidia-smi --query-gpu=name,memory.total --format=csv,noheader || true
WORK=${1:-$(mktemp -d)}
exec "$PY" benchmarks/gpu_check.py --work "$WORK" --device cuda
