#!/usr/bin/env python3
"""Inference speed, measured side by side in one run on this machine.

A. `predict` over synthetic test videos (the demo's data and model by default):
   - sequential: one video at a time, decoded in this process, every clip encoded alone, fp32
     (the path before DataLoader workers and shared frames);
   - workers + batches + shared frames, fp32: `predict_files(workers=N)`: decoding in N DataLoader processes,
     consecutive videos through the model together (about 16 clips at a time), each frame shared by
     overlapping clips encoded once;
     EFs must equal the sequential ones to 1e-4;
   - the same in bf16 autocast; |EF - fp32 EF| mean and max printed (targets: mean <= 0.3, max <= 1.0).
   Once with the run's clips per video and once with every clip start (`--clips all`, fewer videos).
B. Paper-configuration forward (ConvNeXt-B / EchoCLIP architecture, random weights, 48 frames x 112 px,
   scales [1, 2]) of one clip: ours at fp32 and at this machine's `--precision auto`, and, with
   `--reference-dir` (a checkout of github.com/xmed-lab/CardiacCLIP) and `--s2-dir` (bfshi/scaling_on_scales),
   the released model's forward on the same weights; and ours with the channels-last (NHWC) memory layout.
C. Decoding share of a prediction: whole-video decoding vs probe + only the clip frames.

Usage: python benchmarks/bench_inference.py [--model demo_out/run] [--data demo_out/data] [--videos 100]
       [--workers 2] [--reference-dir /tmp/ref-cc --s2-dir /tmp/ref-s2] [--parts abc]
"""

from __future__ import annotations

import argparse
import copy
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from cardiacclip.data.filelist import read_filelist, select_split
from cardiacclip.data.video_io import read_video
from cardiacclip.jobs.predict import PredictOptions, predict_files
from cardiacclip.model.predictor import Predictor, load
from cardiacclip.runtime import Placement, cpu_has_native_bf16, resolve_precision


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", type=Path, default=Path("demo_out/run"), help="run folder (`make demo` writes one)")
    parser.add_argument("--data", type=Path, default=Path("demo_out/data"), help="EchoNet-format folder")
    parser.add_argument("--videos", type=int, default=100)
    parser.add_argument("--all-clips-videos", type=int, default=20)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--reference-dir", type=Path)
    parser.add_argument("--s2-dir", type=Path)
    parser.add_argument("--parts", default="abc", help="which parts to run (a, b, c)")
    parser.add_argument("--repeats", type=int, default=3, help="timed forwards per variant in part B")
    return parser.parse_args()


def sequential(predictor: Predictor, files: list[Path], clips) -> tuple[np.ndarray, float]:
    predictor.share_frames = False
    start = time.perf_counter()
    efs = [predictor.predict_frames(*read_video(f), clips=clips).ef for f in files]
    seconds = time.perf_counter() - start
    predictor.share_frames = True
    return np.array(efs), seconds


def batched(predictor: Predictor, files: list[Path], clips, workers: int, folder: Path) -> tuple[np.ndarray, float]:
    out = folder / f"{predictor.precision}_{clips}_{time.monotonic_ns()}.csv"
    start = time.perf_counter()
    predict_files(predictor, files, out, PredictOptions(clips=clips, workers=workers), progress=False)
    seconds = time.perf_counter() - start
    return pd.read_csv(out)["EF_pred"].to_numpy(), seconds


def part_a(args: argparse.Namespace) -> None:
    if not (args.model / "checkpoints" / "best.pt").is_file():
        sys.exit(f"{args.model}: no trained run; run `make demo` first or pass --model")
    table = select_split(read_filelist(args.data / "FileList.csv"), "test")
    files = [args.data / "Videos" / name for name in table["VideoFile"]]
    fp32 = load(args.model, "cpu", "fp32")
    bf16 = load(args.model, "cpu", "bf16")
    print(f"# A. predict, {args.workers} DataLoader workers; model {args.model}; torch threads {args.threads}")
    print(
        f"{'clips':>6} {'videos':>6} | {'sequential fp32':>15} | {'workers+batch+shared fp32':>26} | {'bf16':>8} | "
        f"{'fp32 speed-up':>13} {'bf16 speed-up':>13} | {'max|dEF| fp32':>13} | bf16 |dEF| mean/max"
    )
    print("(max|dEF| fp32: batched + shared frames vs every clip alone, unrounded on 5 videos / rounded CSVs)")
    with tempfile.TemporaryDirectory() as tmp:
        for clips, n in ((fp32.config.data.test_clips, args.videos), ("all", args.all_clips_videos)):
            subset = files[:n]
            ef_seq, t_seq = sequential(fp32, subset, clips)
            ef_fast, t_fast = batched(fp32, subset, clips, args.workers, Path(tmp))
            ef_bf16, t_bf16 = batched(bf16, subset, clips, args.workers, Path(tmp))
            rounded = np.abs(ef_fast - np.round(ef_seq, 2)).max()  # the CSV holds EFs rounded to 0.01
            exact = shared_vs_alone(fp32, subset[:5], clips)
            d = np.abs(ef_bf16 - ef_fast)
            print(
                f"{clips!s:>6} {n:>6} | {n / t_seq:11.2f} v/s | {n / t_fast:22.2f} v/s | {n / t_bf16:4.2f} v/s | "
                f"{t_seq / t_fast:12.2f}x {t_seq / t_bf16:12.2f}x | {exact:6.1e}/{rounded:.2f} | "
                f"{d.mean():.3f} / {d.max():.3f}"
            )


def shared_vs_alone(predictor: Predictor, files: list[Path], clips) -> float:
    """Max |EF difference| (unrounded) between the batched shared-frame path and encoding every clip alone."""
    alone, _ = sequential(predictor, files, clips)
    prepared = [predictor.prepare(predictor.probe(f), clips) for f in files]
    shared = np.array([p.ef for p in predictor.run_many(prepared)])
    return float(np.abs(shared - alone).max())


def part_c(args: argparse.Namespace) -> None:
    """Decoding share of one video's prediction: whole-video decoding vs the prepared clip frames."""
    predictor = load(args.model, "cpu", "auto")
    table = select_split(read_filelist(args.data / "FileList.csv"), "test")
    files = [args.data / "Videos" / name for name in table["VideoFile"]][:20]
    count = predictor.config.data.test_clips
    whole = prepared = model = 0.0
    for path in files:
        start = time.perf_counter()
        read_video(path)
        whole += time.perf_counter() - start
        start = time.perf_counter()
        video = predictor.prepare(predictor.probe(path), count)
        prepared += time.perf_counter() - start
        start = time.perf_counter()
        predictor.run(video)
        model += time.perf_counter() - start
    print(
        f"\n# C. decoding share, {len(files)} test videos, {count} clips, {predictor.precision}: whole-video decode "
        f"{whole / len(files) * 1000:.0f} ms/video ({whole / (whole + model):.0%} of decode + model); "
        f"probe + clip frames {prepared / len(files) * 1000:.0f} ms/video ({prepared / (prepared + model):.0%}); "
        f"model {model / len(files) * 1000:.0f} ms/video"
    )


def part_b(args: argparse.Namespace) -> None:
    import open_clip

    from cardiacclip.config import RunConfig
    from cardiacclip.model.backbone import load_backbone, save_backbone_weights
    from cardiacclip.model.checkpoint import build_model
    from cardiacclip.model.inference import predict_clips
    from cardiacclip.model.prompts import load_prompts

    frames = 48
    torch.manual_seed(0)
    clip_tuple = open_clip.create_model_and_transforms("convnext_base", pretrained=None)
    work = Path(tempfile.mkdtemp(prefix="bench-inference-"))
    weights = save_backbone_weights(
        clip_tuple[0].float().eval(), work / "convnext_base.safetensors", half=False, compact_embeddings=False
    )
    config = RunConfig.load("paper")
    config.model.backbone = str(weights)
    ours = build_model(config, load_backbone(str(weights)), load_prompts(config.model.prompts)).eval()
    video = torch.rand(1, frames, 3, 112, 112)
    auto = resolve_precision("auto", torch.device("cpu"))
    print(
        f"\n# B. paper-configuration forward, one clip of {frames} frames x 112 px, scales [1, 2], CPU "
        f"(native bf16: {cpu_has_native_bf16()}; --precision auto picks {auto})"
    )
    nhwc = copy.deepcopy(ours).to(memory_format=torch.channels_last)  # does NHWC pay for ConvNeXt on this CPU?
    cpu = torch.device("cpu")
    runs = {
        "ours fp32": lambda: predict_clips(ours, video, Placement(cpu, "fp32")),
        f"ours {auto}": lambda: predict_clips(ours, video, Placement(cpu, auto)),
        f"ours {auto} NHWC": lambda: predict_clips(nhwc, video, Placement(cpu, auto)),
    }
    if args.reference_dir is not None:
        sys.path.insert(0, str(Path(__file__).parent))
        import reference_equivalence as reference

        _, released = reference.build_released(args.reference_dir, args.s2_dir or Path("/tmp/ref-s2"), clip_tuple, 0)
        raw = video.permute(0, 2, 1, 3, 4).contiguous() * 255  # its loader's (1, 3, T, H, W) raw values
        runs["released fp32"] = lambda: released(raw)
    timings: dict[str, list[float]] = {name: [] for name in runs}
    with torch.no_grad():
        for run in runs.values():
            run()  # warm-up
        for _ in range(args.repeats):  # round robin, so drifts in machine speed hit every variant alike
            for name, run in runs.items():
                start = time.perf_counter()
                run()
                timings[name].append(time.perf_counter() - start)
    against = "released fp32" if "released fp32" in timings else "ours fp32"
    best = {name: min(values) for name, values in timings.items()}
    print(f"{'variant':<16} {'best s/video':>12} {'median':>7}   speed (best)   [{args.repeats} repeats each]")
    for name, values in timings.items():
        print(f"{name:<16} {best[name]:12.2f} {np.median(values):7.2f}   {best[against] / best[name]:5.2f}x {against}")


def main() -> None:
    args = parse_args()
    torch.set_num_threads(args.threads)
    for part in args.parts:
        {"a": part_a, "b": part_b, "c": part_c}[part](args)


if __name__ == "__main__":
    main()
