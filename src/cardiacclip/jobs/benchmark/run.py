"""Running a benchmark: every method on every k-shot sample and seed, results written as they come."""

from __future__ import annotations

import copy
import dataclasses
import logging
import time
from pathlib import Path

import pandas as pd

from cardiacclip.config import ConfigError
from cardiacclip.data.echonet import (
    LEFT_OUT_FILE,
    check_videos,
    unusable,
    write_left_out,
)
from cardiacclip.data.fewshot import write_split
from cardiacclip.data.filelist import read_filelist
from cardiacclip.data.source import Reading
from cardiacclip.evaluate.plots import plot_mae_vs_shots
from cardiacclip.jobs.benchmark.config import METHODS, BenchmarkConfig
from cardiacclip.jobs.benchmark.methods import Sample, metrics_row
from cardiacclip.jobs.benchmark.report import write_results_markdown
from cardiacclip.jobs.output import output_folder
from cardiacclip.model.backbone import load_backbone
from cardiacclip.runtime import resolve_device, resolve_precision

log = logging.getLogger(__name__)


def check_methods(methods: list[str] | None) -> None:
    """Refuse unknown method names (ConfigError naming the known ones) before any data is made or trained on."""
    unknown = [m for m in methods or [] if m not in METHODS]
    if unknown:
        raise ConfigError(f"unknown benchmark method(s) {', '.join(unknown)}; choose from {', '.join(METHODS)}")


def run_benchmark(config: BenchmarkConfig, out: str | Path, progress: bool = True) -> pd.DataFrame:
    """Every method on every (k, seed) sample; writes results.csv after each method, then results.md and the plot.

    Every video of the FileList is probed once, first (`check_videos`): unusable videos stop the benchmark
    before anything trains, or with data.skip_unreadable are left out and listed in out/left_out.csv. With
    `config.test_data`, every method is also tested on that dataset's TEST split (trained and selected on the
    run's data only): the rows say which (`tested_on`)."""
    check_methods(config.methods)
    out = Path(out)
    output_folder(out / "predictions")
    base, data = config.run, config.run.data
    reading = Reading.from_config(data)
    probed = check_videos(data.root, None, ("train", "val", "test"), reading, data.skip_unreadable, progress)
    targets: dict[str | None, dict | None] = {None: None}
    if config.test_data:
        targets[config.test_data] = check_videos(
            config.test_data, None, ("test",), reading, data.skip_unreadable, progress
        )
    device = resolve_device(base.train.device)
    precision = resolve_precision(base.train.precision, device, training=True)
    backbone = load_backbone(base.model.backbone)
    rows: list[dict] = []
    for shots in config.shots:
        for seed in range(config.seeds):
            run = copy.deepcopy(base)
            sampled = dataclasses.replace(base.data, split_file=None)  # every sample is drawn from FileList.csv
            run.data.split_file = str(write_split(sampled, out / "splits" / f"k{shots}_seed{seed}.csv", shots, seed))
            run.data.shots, run.data.split_seed, run.train.seed = shots, seed, base.train.seed + seed
            sample = Sample(shots, seed, run, backbone, config, out, device, precision, progress, probed)
            for root, target_probed in targets.items():
                _run_methods(dataclasses.replace(sample, test_root=root, test_probed=target_probed), rows, out)
    results = pd.DataFrame(rows)
    listed = read_filelist(Path(data.root) / "FileList.csv")
    left_out = unusable(listed[listed["FileName"].isin(list(probed))], probed)  # the datasets' own rule
    if left_out:
        write_left_out(left_out, out / LEFT_OUT_FILE)
    write_results_markdown(results, out / "results.md", base, config)
    own = results[results["tested_on"] == str(data.root)]
    plot_mae_vs_shots(own, out / "mae_vs_shots.png", [m for m in config.methods if m in set(own["method"])])
    return results


def _run_methods(sample: Sample, rows: list[dict], out: Path) -> None:
    """Every method of the benchmark on one sample and one test target; rows and predictions written as they come."""
    y_test, n_train = sample.test_set.ef, len(sample.dataset("train"))
    suffix = "" if sample.test_root is None else f"_on_{Path(sample.test_root).name}"
    for method in sample.config.methods:
        started = time.time()
        pred, note, extra = METHODS[method].runner(sample, METHODS[method])
        rows.append(metrics_row(method, sample, n_train, y_test, pred, time.time() - started, note, extra))
        pd.DataFrame({"FileName": sample.test_set.file_names, "EF": y_test, "EF_pred": pred}).to_csv(
            out / "predictions" / f"k{sample.shots}_seed{sample.seed}_{method}{suffix}.csv", index=False
        )
        pd.DataFrame(rows).to_csv(out / "results.csv", index=False)
        log.info(
            "k=%d seed=%d %-12s tested on %s: MAE %.2f (%.0f s)",
            *(sample.shots, sample.seed, method, sample.tested_on, rows[-1]["mae"], rows[-1]["seconds"]),
        )


