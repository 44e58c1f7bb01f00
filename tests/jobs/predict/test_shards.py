"""`predict` under torchrun: 2 gloo processes each take every other input; rank 0 merges one table, the same
rows in the same order as a single process writes."""

from __future__ import annotations

import subprocess
import sys

import pandas as pd
import pytest


@pytest.mark.slow
def test_two_ranks_write_the_same_table_as_one_process(tiny_run, synthetic_root, tmp_path):
    run_dir = tiny_run[0]
    inputs = sorted((synthetic_root / "Videos").glob("*.avi"))[:7]
    (tmp_path / "broken.avi").write_bytes(b"not a video")
    inputs.insert(3, tmp_path / "broken.avi")
    args = ["predict", str(run_dir), *map(str, inputs), "--clips", "2", "--device", "cpu"]
    single = subprocess.run(
        [sys.executable, "-m", "cardiacclip", *args, "--out", str(tmp_path / "one.csv")], capture_output=True, text=True
    )
    assert single.returncode == 1, single.stderr[-2000:]  # the broken input
    launcher = [sys.executable, "-m", "torch.distributed.run", "--nproc-per-node", "2", "-m", "cardiacclip"]
    sharded = subprocess.run([*launcher, *args, "--out", str(tmp_path / "two.csv")], capture_output=True, text=True)
    assert sharded.returncode != 0 and "8 row(s) written" in sharded.stderr, sharded.stderr[-2000:]
    assert not list(tmp_path.glob("two.rank*"))  # the parts are merged and removed
    one, two = pd.read_csv(tmp_path / "one.csv"), pd.read_csv(tmp_path / "two.csv")
    assert two["file"].tolist() == list(map(str, inputs))
    pd.testing.assert_frame_equal(one, two)
