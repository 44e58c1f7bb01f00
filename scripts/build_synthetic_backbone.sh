#!/usr/bin/env bash
# Rebuilds the small echo-CLIP shipped as `--backbone synthetic` (src/cardiacclip/assets/synthetic_echoclip).
# A toy for demonstrations and tests, not a clinical model. Two stages (about 75 minutes on 2 CPU cores):
#  1. clip-report pretraining from random weights on an archive of 1500 synthetic videos (seed 1000;
#     the demo and the benchmark draw their videos with other seeds, so none of theirs is seen here);
#  2. key-frame pretraining that starts from stage 1: every sample a new synthetic subject drawn in the
#     `mixed` style (random colour tint, speckle grain, noise, sector, a wide imaging depth range, gain,
#     frame rate, LV taper), rendered at end-diastole and end-systole and paired with its report (seed
#     stream (1000, 0, i), disjoint from every archive). Stage 2 is what makes frame features follow the
#     LV over the cycle.
#     The `second` style (bronze, 30 fps, narrow sector, rounder LV) is never drawn: it stays held out.
# Usage: bash scripts/build_synthetic_backbone.sh [OUT] [WORKERS]
set -euo pipefail
OUT="${1:-src/cardiacclip/assets/synthetic_echoclip}"
WORKERS="${2:-$(nproc)}"  # synthesis processes
BUILD="${BUILD:-build}"
ARCHIVE="$BUILD/pretrain_archive"
cardiacclip synth "$ARCHIVE" --n 1500 --seed 1000 --workers "$WORKERS"
cardiacclip pretrain --data "$ARCHIVE" --out "$BUILD/stage1" --steps 1000 --batch-size 32 --frames 8 --period 8 \
    --lr 5e-4 --seed 0 --workers 0 --cache
cardiacclip pretrain --draw mixed --arch "$BUILD/stage1" --out "$OUT" --steps 3000 --batch-size 64 --lr 3e-4 \
    --seed 0 --workers 0
