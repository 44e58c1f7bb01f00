"""Inference cost of CardiacCLIP: seconds per video and peak memory, batched vs. straightforward.

"batched" is the package's forward: all tiles of all frames at all scales in one trunk call,
category text features cached. "straightforward" loops over scales (one trunk call per scale)
and re-encodes the five prompts on every call. Both run side by side on the same machine in
one invocation, for the paper-sized configuration (ConvNeXt-B / EchoCLIP architecture with
random weights, 112 px, 48 frames, scales [1, 2]) and the small one (the synthetic default's
architecture, 16 frames). Each variant runs in its own process so its peak memory is its own.

Usage: python benchmarks/bench_model.py [--configs paper small] [--repeats 3] [--device auto]
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time

import torch
import torch.nn.functional as F

CONFIGS = {
    "paper": {"backbone": "convnext_base", "frames": 48, "scales": [1, 2]},
    "small": {"backbone": "small_echoclip", "frames": 16, "scales": [1, 2]},
}


def straightforward_forward(model, video: torch.Tensor) -> torch.Tensor:
    """Same math as CardiacCLIP.forward, written the obvious way: a trunk call per scale, prompts re-encoded."""
    from cardiacclip.model.echozoom import split_into_tiles, stitch_tiles

    zoom = model.image_encoder
    b, t = video.shape[:2]
    frames = video.flatten(0, 1)
    pooled = []
    for scale, norm in zip(zoom.scales, zoom.norms, strict=False):
        x = frames if scale == 1 else F.interpolate(frames, scale_factor=scale, mode="bicubic", align_corners=False)
        maps = stitch_tiles(zoom.trunk.forward_features(split_into_tiles(x, scale)), scale)
        pooled.append(norm(maps.mean(dim=(2, 3))))
    features = F.normalize(zoom.proj(torch.cat(pooled, dim=1)), dim=-1).view(b, t, -1)
    embedding, _ = model.aggregator(features)
    text = model.text_model.encode_text(model.prompt_tokens, normalize=True)
    logits = model.logit_scale() * embedding @ text.t()
    return model.head(logits)[0]


def run_variant(name: str, variant: str, repeats: int, device_name: str) -> dict:
    from cardiacclip.config import ModelConfig
    from cardiacclip.model.backbone import load_backbone
    from cardiacclip.model.cardiacclip import CardiacCLIP
    from cardiacclip.model.prompts import load_prompts
    from cardiacclip.runtime import resolve_device

    spec = CONFIGS[name]
    device = resolve_device(device_name)
    torch.manual_seed(0)
    model = (
        CardiacCLIP(
            load_backbone(spec["backbone"]),
            ModelConfig(backbone=spec["backbone"], scales=spec["scales"]),
            load_prompts(),
            tile_size=112,
        )
        .to(device)
        .eval()
    )
    video = torch.randn(1, spec["frames"], 3, 112, 112, device=device)
    forward = (lambda v: model(v)["ef"]) if variant == "batched" else (lambda v: straightforward_forward(model, v))
    baseline_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    with torch.no_grad():
        forward(video)  # warm-up (and the text cache for the batched variant)
        if device.type == "cuda":
            torch.cuda.synchronize()
            torch.cuda.reset_peak_memory_stats()
        started = time.perf_counter()
        for _ in range(repeats):
            out = forward(video)
        if device.type == "cuda":
            torch.cuda.synchronize()
        seconds = (time.perf_counter() - started) / repeats
    peak = (
        torch.cuda.max_memory_allocated() / 2**20
        if device.type == "cuda"
        else (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - baseline_rss) / 1024
    )
    return {
        "config": name,
        "variant": variant,
        "seconds_per_video": seconds,
        "peak_mib": peak,
        "ef": float(out.flatten()[0]),
        "device": str(device),
        "threads": torch.get_num_threads(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--configs", nargs="+", default=["paper", "small"], choices=list(CONFIGS))
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--variant", help=argparse.SUPPRESS)
    parser.add_argument("--config", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.variant:  # child process: one measurement, as JSON
        print(json.dumps(run_variant(args.config, args.variant, args.repeats, args.device)))
        return
    rows = []
    for name in args.configs:
        for variant in ("batched", "straightforward"):
            result = subprocess.run(
                [
                    sys.executable,
                    __file__,
                    "--config",
                    name,
                    "--variant",
                    variant,
                    "--repeats",
                    str(args.repeats),
                    "--device",
                    args.device,
                ],
                capture_output=True,
                text=True,
                check=True,
            )
            rows.append(json.loads(result.stdout.strip().splitlines()[-1]))
    print(f"{'config':<7} {'variant':<16} {'s/video':>9} {'peak MiB':>9}  device")
    for row in rows:
        print(
            f"{row['config']:<7} {row['variant']:<16} {row['seconds_per_video']:>9.3f} {row['peak_mib']:>9.0f}  "
            f"{row['device']} ({row['threads']} threads)"
        )
    for name in args.configs:
        fast, slow = (
            next(r for r in rows if r["config"] == name and r["variant"] == v) for v in ("batched", "straightforward")
        )
        assert abs(fast["ef"] - slow["ef"]) < 1e-2 * max(1.0, abs(fast["ef"])), "variants disagree"
        print(
            f"{name}: straightforward / batched time = {slow['seconds_per_video'] / fast['seconds_per_video']:.2f}x, "
            f"peak memory = {slow['peak_mib'] / max(fast['peak_mib'], 1e-9):.2f}x (same EF: {fast['ef']:.3f})"
        )


if __name__ == "__main__":
    main()
