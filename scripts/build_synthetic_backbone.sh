#!/usr/bin/env bash
# Rebuilds the small echo-CLIP shipped as `--backbone synthetic` (src/cardiacclip/assets/synthetic_echoclip).
# The pretraining archive uses seed 1000; the demo and the benchmark draw their videos with other
# seeds, so no few-shot, validation or test video is ever seen in pretraining.
# A toy for demonstrations and tests, not a clinical model.
# Usage: bash scripts/build_synthetic_backbone.sh [OUT] [WORKERS]
set -euo pipefail
OUT="${1:-src/cardiacclip/assets/synthetic_echoclip}"
WORKERS="${2:-$(nproc)}"  # synthesis processes
ARCHIVE="${ARCHIVE:-build/pretrain_archive}"
cardiacclip synth "$ARCHIVE" --n 1500 --seed 1000 --workers "$WORKERS"
cardiacclip pretrain --data "$ARCHIVE" --out "$OUT" --steps 1000 --batch-size 32 --frames 8 --period 8 \
    --lr 5e-4 --seed 0 --workers 0 --cache
