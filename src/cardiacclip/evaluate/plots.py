"""Plots a person would rather look at than read: agreement, learning curves, frame attention."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from cardiacclip.about import RESEARCH_NOTICE  # noqa: E402


def _finish(fig, path: str | Path) -> Path:
    fig.text(0.01, 0.005, RESEARCH_NOTICE, fontsize=6, color="0.4")
    fig.tight_layout(rect=(0, 0.03, 1, 1))
    fig.savefig(path, dpi=130)
    plt.close(fig)
    return Path(path)


def plot_scatter(y: np.ndarray, p: np.ndarray, path: str | Path, title: str = "Predicted vs. reference EF") -> Path:
    fig, ax = plt.subplots(figsize=(4.5, 4.5))
    ax.scatter(y, p, s=12, alpha=0.6)
    low, high = min(np.min(y), np.min(p), 0), max(np.max(y), np.max(p), 100)
    ax.plot([low, high], [low, high], "k--", lw=1, label="identity")
    ax.set_xlim(low, high)
    ax.set_ylim(low, high)
    ax.set_xlabel("reference EF (%)")
    ax.set_ylabel("predicted EF (%)")
    mae = np.mean(np.abs(np.asarray(p) - np.asarray(y)))
    ax.set_title(f"{title}\nMAE {mae:.2f}, n={len(y)}", fontsize=10)
    ax.legend(loc="upper left")
    return _finish(fig, path)


def plot_bland_altman(y: np.ndarray, p: np.ndarray, path: str | Path) -> Path:
    y, p = np.asarray(y, float), np.asarray(p, float)
    mean, diff = (y + p) / 2, p - y
    bias, sd = diff.mean(), diff.std(ddof=1) if len(diff) > 1 else 0.0
    fig, ax = plt.subplots(figsize=(5.5, 4))
    ax.scatter(mean, diff, s=12, alpha=0.6)
    for value, style, label in (
        (bias, "-", f"bias {bias:+.2f}"),
        (bias + 1.96 * sd, "--", f"+1.96 SD {bias + 1.96 * sd:+.2f}"),
        (bias - 1.96 * sd, "--", f"-1.96 SD {bias - 1.96 * sd:+.2f}"),
    ):
        ax.axhline(value, color="k", ls=style, lw=1, label=label)
    ax.set_xlabel("mean of reference and predicted EF (%)")
    ax.set_ylabel("predicted - reference EF (%)")
    ax.set_title("Bland-Altman", fontsize=10)
    ax.legend(fontsize=8)
    return _finish(fig, path)


def plot_learning_curves(history: pd.DataFrame, path: str | Path) -> Path:
    fig, (ax_loss, ax_mae) = plt.subplots(1, 2, figsize=(9, 3.5))
    ax_loss.plot(history["epoch"], history["train_loss"], marker="o", label="train loss")
    ax_loss.set_xlabel("epoch")
    ax_loss.set_ylabel("loss")
    ax_loss.legend()
    ax_mae.plot(history["epoch"], history["train_mae"], marker="o", label="train MAE")
    ax_mae.plot(history["epoch"], history["val_mae"], marker="o", label="validation MAE")
    ax_mae.set_xlabel("epoch")
    ax_mae.set_ylabel("MAE (EF %)")
    ax_mae.legend()
    return _finish(fig, path)


def plot_attention_strip(
    frames: np.ndarray,
    weights: np.ndarray,
    path: str | Path,
    title: str = "",
    marks: dict[int, str] | None = None,
    max_frames: int = 16,
) -> Path:
    """A strip of clip frames with the MFL weight of each frame drawn under it.

    `frames` (T, H, W, 3) uint8, `weights` (T,); `marks` maps a frame position to a label
    (e.g. "ED", "ES") drawn on that frame.
    """
    t = len(frames)
    shown = np.unique(np.linspace(0, t - 1, min(t, max_frames)).round().astype(int))
    marks = marks or {}
    fig = plt.figure(figsize=(1.0 * len(shown) + 0.5, 2.9))
    grid = fig.add_gridspec(2, len(shown), height_ratios=[1, 0.9])
    for column, index in enumerate(shown):
        ax = fig.add_subplot(grid[0, column])
        ax.imshow(frames[index], cmap="gray")
        ax.set_xticks([])
        ax.set_yticks([])
        ax.set_title(str(index), fontsize=7)
        label = marks.get(int(index))
        if label:
            for spine in ax.spines.values():
                spine.set_edgecolor("red")
                spine.set_linewidth(2)
            ax.text(0.5, 0.05, label, color="red", fontsize=8, ha="center", transform=ax.transAxes, weight="bold")
    ax = fig.add_subplot(grid[1, :])
    ax.bar(np.arange(t), weights, color="tab:blue")
    ax.axhline(1.0 / t, color="k", ls=":", lw=1, label="uniform")
    for index, label in marks.items():
        ax.axvline(index, color="red", lw=1)
        ax.text(index, ax.get_ylim()[1] * 0.9, label, color="red", fontsize=7, ha="center")
    ax.set_xlim(-0.5, t - 0.5)
    ax.set_xlabel("frame in clip")
    ax.set_ylabel("MFL weight")
    ax.legend(fontsize=7, loc="upper right")
    fig.suptitle(title, fontsize=9)
    return _finish(fig, path)


def plot_mae_vs_shots(table: pd.DataFrame, path: str | Path, methods: Sequence[str] | None = None) -> Path:
    """Mean +- sd test MAE against k for each method (benchmark)."""
    fig, ax = plt.subplots(figsize=(6, 4))
    for method in methods or table["method"].unique():
        rows = table[table["method"] == method].groupby("shots")["mae"]
        mean, sd = rows.mean(), rows.std().fillna(0)
        ax.errorbar(mean.index, mean.values, yerr=sd.values, marker="o", capsize=3, label=method)
    ax.set_xscale("log", base=2)
    shots = sorted(table["shots"].unique())
    ax.set_xticks(shots, [str(k) for k in shots])
    ax.minorticks_off()
    ax.set_xlabel("shots (videos per integer EF value)")
    ax.set_ylabel("test MAE (EF %)")
    ax.legend(fontsize=7)
    return _finish(fig, path)
