#!/usr/bin/env python3
"""Load on `cardiacclip serve`, on loopback only: concurrent uploads, latency, throughput, errors, memory.

Starts the server as a child process on 127.0.0.1 (a free port), sends `--clients` x `--requests`
uploads of one synthetic video from concurrent clients (bounded; stops by itself), then prints
p50/p95 latency, requests per second, the error count (must be 0) and the server's resident
memory before and after (growth should stay under 10 %).

Usage: python benchmarks/bench_serve.py MODEL [--clients 4] [--requests 25] [--video FILE]
"""

from __future__ import annotations

import argparse
import socket
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import numpy as np


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def synthetic_video(folder: Path) -> Path:
    from cardiacclip.synthetic.dataset import generate_dataset

    generate_dataset(folder, n=1, seed=7, workers=1, progress=False)
    return next((folder / "Videos").glob("*.avi"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("model", help="run folder, checkpoint or export package")
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--requests", type=int, default=25, help="per client")
    parser.add_argument("--video", type=Path, default=None)
    args = parser.parse_args()
    video = args.video or synthetic_video(Path(tempfile.mkdtemp(prefix="bench-serve-")))
    payload = video.read_bytes()
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "cardiacclip",
            "serve",
            args.model,
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--queue",
            str(args.clients),
            "--device",
            "cpu",
        ]
    )
    try:
        for _ in range(600):
            try:
                if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.2)
        else:
            sys.exit("the server did not start")
        httpx.post(f"{url}/v1/predict", files={"file": ("v.avi", payload)}, timeout=120)  # warm-up
        before = rss_mib(server.pid)

        def client(_: int) -> list[tuple[float, int]]:
            out = []
            with httpx.Client(timeout=300) as session:
                for _ in range(args.requests):
                    started = time.perf_counter()
                    status = session.post(f"{url}/v1/predict", files={"file": ("v.avi", payload)}).status_code
                    out.append((time.perf_counter() - started, status))
            return out

        started = time.perf_counter()
        with ThreadPoolExecutor(args.clients) as pool:
            results = [r for rs in pool.map(client, range(args.clients)) for r in rs]
        elapsed = time.perf_counter() - started
        after = rss_mib(server.pid)
    finally:
        server.terminate()
        server.wait(timeout=30)
    latency = np.array([r[0] for r in results])
    errors = sum(r[1] != 200 for r in results)
    print(
        f"{len(results)} requests from {args.clients} concurrent clients on loopback, model {args.model}, "
        f"video {video.name} ({len(payload) / 1024:.0f} KiB)"
    )
    print(
        f"latency p50 {np.percentile(latency, 50):.2f} s, p95 {np.percentile(latency, 95):.2f} s; "
        f"{len(results) / elapsed:.2f} requests/s; errors {errors}"
    )
    print(f"server memory {before:.0f} MiB before, {after:.0f} MiB after ({100 * (after / before - 1):+.1f} %)")


if __name__ == "__main__":
    main()
