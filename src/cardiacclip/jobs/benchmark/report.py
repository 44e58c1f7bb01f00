"""The benchmark's tables: mean and spread over seeds, paired differences of each ablation step, results.md."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pandas as pd

from cardiacclip.about import RESEARCH_NOTICE
from cardiacclip.config import RunConfig
from cardiacclip.jobs.benchmark.config import METHODS, QUOTED_REFERENCE_MAE, BenchmarkConfig

log = logging.getLogger(__name__)


def summarize(results: pd.DataFrame) -> pd.DataFrame:
    """Mean and sd over seeds of MAE, RMSE and R2 per test dataset, method and k."""
    grouped = results.groupby(["tested_on", "method", "shots"], sort=False)
    columns = ["mae", "rmse", "r2"] + (["key_frame_ratio"] if "key_frame_ratio" in results.columns else [])
    summary = grouped[columns].agg(["mean", "std"])
    summary.columns = [f"{a}_{b}" for a, b in summary.columns]
    summary["seeds"] = grouped.size()
    summary["n_train"] = grouped["n_train"].mean().round().astype(int)
    summary["note"] = grouped["note"].first()
    return summary.reset_index()


def paired_differences(results: pd.DataFrame) -> pd.DataFrame:
    """For each ablation step present (`Method.ablation_step`: the method against the one before it), the MAE
    difference on the same k-shot samples (method minus previous; negative = the step helps): mean, sd,
    and on how many of the samples the step lowered the MAE."""
    rows = []
    results = results.assign(tested_on=results["tested_on"] if "tested_on" in results.columns else "")
    present = [name for name, m in METHODS.items() if m.ablation_step and name in set(results["method"])]
    for before, after in zip(present, present[1:], strict=False):
        for (tested_on, shots), group in results.groupby(["tested_on", "shots"], sort=False):
            a = group[group["method"] == before].set_index("seed")["mae"]
            b = group[group["method"] == after].set_index("seed")["mae"]
            diff = (b - a).dropna()
            if diff.empty:
                continue
            rows.append(
                {
                    "tested_on": tested_on,
                    "step": f"{after} vs {before}",
                    "shots": shots,
                    "samples": len(diff),
                    "mae_diff_mean": float(diff.mean()),
                    "mae_diff_sd": float(diff.std()) if len(diff) > 1 else float("nan"),
                    "helped": int((diff < 0).sum()),
                }
            )
    return pd.DataFrame(rows)


def _paired_lines(paired: pd.DataFrame) -> list[str]:
    """results.md's table of paired MAE differences of the ablation steps (none when no step ran)."""
    if not len(paired):
        return []
    lines = [
        "",
        "Paired MAE differences of each ablation step on the same k-shot samples "
        "(step minus the method before it; negative: the step lowers the MAE):",
        "",
        "| step | k | samples | ΔMAE mean | ΔMAE sd | lower on |",
        "|---|---|---|---|---|---|",
    ]
    for _, row in paired.iterrows():
        sd = f"{row['mae_diff_sd']:.2f}" if np.isfinite(row["mae_diff_sd"]) else "–"
        lines.append(
            f"| {row['step']}{_on(row)} | {row['shots']} | {row['samples']} | {row['mae_diff_mean']:+.2f} | {sd} "
            f"| {row['helped']}/{row['samples']} |"
        )
    return lines


def _on(row) -> str:
    tested_on = row.get("tested_on", "")
    return f" (on {Path(tested_on).name})" if tested_on else ""


def _label(name: str) -> str:
    return METHODS[name].label if name in METHODS else name


def _external_line(config: BenchmarkConfig) -> list[str]:
    if not config.test_data:
        return []
    return [
        f"External validation: every method was trained and selected on `{config.run.data.root}` and tested on its "
        f"TEST split and on the TEST split of `{config.test_data}` (column \"tested on\").",
        "",
    ]


def write_results_markdown(results: pd.DataFrame, path: Path, run: RunConfig, config: BenchmarkConfig) -> Path:
    summary = summarize(results)

    def cell(row, key: str, digits: int = 2) -> str:
        mean, sd = row[f"{key}_mean"], row[f"{key}_std"]
        return f"{mean:.{digits}f}" + (f" ± {sd:.{digits}f}" if row["seeds"] > 1 and np.isfinite(sd) else "")

    lines = [
        "# Benchmark results",
        "",
        f"Measured by this project with `cardiacclip benchmark` on `{run.data.root}` "
        f"with backbone `{run.model.backbone}`; "
        f"shots {config.shots}, {config.seeds} seed(s); clips of {run.data.length} frames every {run.data.period}; "
        f"{run.train.epochs} epochs; test-time clips: {run.data.test_clips} per video (fixed)."
        + (
            f" Test limited to {config.test_limit} videos (quick mode: a smoke run, not a result)."
            if config.test_limit
            else ""
        ),
        "",
        *_external_line(config),
        "| method | tested on | k | train videos | MAE | RMSE | R² | key frames (x uniform) | seeds | note |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for _, row in summary.iterrows():
        key = cell(row, "key_frame_ratio") if np.isfinite(row.get("key_frame_ratio_mean", np.nan)) else "–"
        tested_on = Path(row["tested_on"]).name
        lines.append(
            f"| {_label(row['method'])} | {tested_on} | {row['shots']} | {row['n_train']} | {cell(row, 'mae')} | "
            f"{cell(row, 'rmse')} | {cell(row, 'r2', 3)} | {key} | {row['seeds']} | {row['note']} |"
        )
    lines += _paired_lines(paired_differences(results))
    lines += [
        "",
        "Key frames: the share of MFL attention within one sampled frame of the traced end-diastolic and "
        "end-systolic frames, divided by the share equal weights would give there (1 = no preference).",
        "",
        "",
        "Quoted, not measured here: the CardiacCLIP reference implementation's logged EchoNet-Dynamic test MAE "
        "(best-validation checkpoint) at 1/2/4/8 shots: "
        + " / ".join(f"{v}" for v in QUOTED_REFERENCE_MAE.values())
        + ".",
        "",
        RESEARCH_NOTICE,
        "",
    ]
    path.write_text("\n".join(lines))
    return path
