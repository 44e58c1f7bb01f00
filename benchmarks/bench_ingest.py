#!/usr/bin/env python3
"""Hospital-archive ingest: memory on a long full-screen loop, and `convert` throughput at 1 and 2 workers.

1. Peak memory, over a loaded synthetic-default model, of one prediction on a 600-frame 600 x 800
   JPEG-baseline (YBR_FULL_422) DICOM loop, each way in a fresh process, side by side:
   - `pixel_array`: pydicom's whole-loop decoding (every frame, YBR converted to RGB at once);
   - `whole loop`: this package's `read_video_info` (frame by frame into one uint8 array) + predict;
   - `probe + clip frames`: `Predictor.predict(path)` (a sample for the region, then only the clip frames,
     each cropped and resized as it is decoded). Target: at most 300 MB over the loaded model.
   `forward only` is the model's own working memory for the same 4 clips given as a tensor; "over forward"
   is what reading the file adds to it.
2. `cardiacclip convert` of `--files` synthetic screen captures (60 frames each) at 1 and 2 workers: files/s.

Usage: python benchmarks/bench_ingest.py [--files 12] [--frames 600]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CHILD = r"""
import json, sys, resource
from pathlib import Path
import torch
from cardiacclip.config import RunConfig
from cardiacclip.model.backbone import load_backbone
from cardiacclip.model.checkpoint import build_model
from cardiacclip.model.predictor import Predictor
from cardiacclip.model.prompts import load_prompts

def rss(field):
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field):
            return int(line.split()[1]) / 1024
torch.set_num_threads(2)
config = RunConfig.load("synthetic")
torch.manual_seed(0)
predictor = Predictor(build_model(config, load_backbone("synthetic"), load_prompts(config.model.prompts)), config,
                      torch.device("cpu"))
mode, path = sys.argv[1], sys.argv[2]
Path("/proc/self/clear_refs").write_text("5")  # reset the peak to the current RSS: the loaded model
base = rss("VmRSS:")
if mode == "forward":  # the model's own working memory: the same 4 clips as a tensor, no file
    d = config.data
    ef = predictor.predict(torch.zeros(4, d.length, 3, d.image_size, d.image_size)).ef
elif mode == "pixel_array":
    import pydicom
    frames = pydicom.dcmread(path).pixel_array
    ef = None
elif mode == "whole":
    from cardiacclip.data.video_io import read_video_info
    video, info = read_video_info(path)
    ef = predictor.predict_frames(video.frames, video.fps, clips=4, dicom=info).ef
else:
    ef = predictor.predict(path, clips=4).ef
print(json.dumps({"base": base, "peak": rss("VmHWM:"), "ef": ef}))
"""


def measure(mode: str, path: Path) -> dict:
    start = time.perf_counter()
    result = subprocess.run([sys.executable, "-c", CHILD, mode, str(path)], capture_output=True, text=True)
    if result.returncode != 0:
        return {"error": result.stderr.strip().splitlines()[-1]}
    out = json.loads(result.stdout.strip().splitlines()[-1])
    out["seconds"] = time.perf_counter() - start
    return out


def long_loop(folder: Path, frames: int) -> Path:
    from cardiacclip.synthetic.dicoms import screen_capture, write_ultrasound_dicom

    return write_ultrasound_dicom(folder / "long_jpeg.dcm", screen_capture(11, n_frames=frames), "jpeg")


def archive(folder: Path, files: int) -> Path:
    from cardiacclip.synthetic.dicoms import screen_capture, write_ultrasound_dicom

    src = folder / "archive"
    src.mkdir()
    encodings = ["jpeg", "rle", "mono2", "rgb"]
    for i in range(files):
        write_ultrasound_dicom(src / f"IM{i:06d}", screen_capture(100 + i, n_frames=60), encodings[i % 4])
    return src


def convert_rate(src: Path, out: Path, workers: int) -> tuple[float, int]:
    from cardiacclip.jobs.convert import convert_archive

    start = time.perf_counter()
    summary = convert_archive(src, out, workers=workers, progress=False)
    seconds = time.perf_counter() - start
    return summary.converted / seconds, summary.failed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--files", type=int, default=12)
    parser.add_argument("--frames", type=int, default=600)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        loop = long_loop(folder, args.frames)
        size_mb = loop.stat().st_size / 1e6
        print(f"# memory: one {args.frames}-frame 600x800 JPEG-baseline YBR_FULL_422 loop ({size_mb:.0f} MB file)")
        print(f"{'method':<26} {'over model (MB)':>16} {'over forward':>13} {'seconds':>8} {'EF':>7}")
        forward = None
        modes = {
            "forward": "forward only (no file)",
            "pixel_array": "pydicom pixel_array",
            "whole": "whole loop + predict",
            "probe": "probe + clip frames",
        }
        for mode, label in modes.items():
            r = measure(mode, loop)
            if "error" in r:
                print(f"{label:<26} failed: {r['error']}")
                continue
            ef = "-" if r["ef"] is None or mode == "forward" else f"{r['ef']:.2f}"
            over = r["peak"] - r["base"]
            forward = over if mode == "forward" else forward
            extra = "-" if mode == "forward" or forward is None else f"{over - forward:+.0f}"
            print(f"{label:<26} {over:>16.0f} {extra:>13} {r['seconds']:>8.1f} {ef:>7}")
        src = archive(folder, args.files)
        print(f"\n# convert throughput: {args.files} screen captures (60 frames, 600x800, 4 encodings)")
        one, failed_one = convert_rate(src, folder / "out1", 1)
        two, failed_two = convert_rate(src, folder / "out2", 2)
        print(
            f"workers 1: {one:.2f} files/s; workers 2: {two:.2f} files/s; ratio {two / one:.2f}x "
            f"(failed {failed_one}, {failed_two})"
        )


if __name__ == "__main__":
    main()
