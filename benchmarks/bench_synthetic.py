"""Throughput of the synthetic echo generator (target: 1,000 videos of 112x112 in under 2 minutes on 2 cores).

Usage: python benchmarks/bench_synthetic.py [--n 1000] [--workers 2]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time

from cardiacclip.synthetic.dataset import generate_dataset


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=1000)
    parser.add_argument("--workers", type=int, default=min(2, os.cpu_count() or 1))
    parser.add_argument("--size", type=int, default=112)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as out:
        start = time.perf_counter()
        table = generate_dataset(out, n=args.n, seed=0, size=args.size, workers=args.workers, progress=False)
        seconds = time.perf_counter() - start
    frames = int(table["NumberOfFrames"].sum())
    print(
        f"synthetic echoes: {args.n} videos ({frames} frames, {args.size}x{args.size}) with {args.workers} worker(s) "
        f"in {seconds:.1f} s = {args.n / seconds:.1f} videos/s, {frames / seconds:.0f} frames/s"
    )
    print(
        f"EF mean {table['EF'].mean():.1f}, sd {table['EF'].std():.1f}, "
        f"range {table['EF'].min():.1f}-{table['EF'].max():.1f}"
    )


if __name__ == "__main__":
    main()
