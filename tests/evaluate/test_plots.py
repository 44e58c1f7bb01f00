from __future__ import annotations

import numpy as np
import pandas as pd

from cardiacclip.evaluate import plots


def _is_png(path) -> bool:
    return path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_every_plot_writes_a_png(tmp_path):
    rng = np.random.default_rng(0)
    y = rng.uniform(20, 80, 30)
    p = y + rng.normal(0, 5, 30)
    history = pd.DataFrame({"epoch": [1, 2], "train_loss": [2.0, 1.0], "train_mae": [9.0, 7.0], "val_mae": [8.0, 7.5]})
    results = pd.DataFrame({"method": ["a", "a", "b"], "shots": [1, 2, 1], "mae": [8.0, 7.0, 9.0]})
    clip = rng.integers(0, 255, (6, 32, 32, 3), dtype=np.uint8)
    written = [
        plots.plot_scatter(y, p, tmp_path / "scatter.png"),
        plots.plot_bland_altman(y, p, tmp_path / "ba.png"),
        plots.plot_learning_curves(history, tmp_path / "curves.png"),
        plots.plot_attention_strip(clip, np.full(6, 1 / 6), tmp_path / "strip.png", title="t", marks={0: "ED"}),
        plots.plot_mae_vs_shots(results, tmp_path / "shots.png"),
    ]
    assert all(_is_png(path) for path in written)
