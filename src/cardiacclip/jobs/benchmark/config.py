"""What a benchmark runs: its settings (`BenchmarkConfig`) and defaults on the synthetic data, the registry of
methods (`register(Method(...))` adds one; the runners are in `methods.py`), and the figures quoted from the
released code for comparison."""

from __future__ import annotations

import copy
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from cardiacclip.config import SMALL_BACKBONES, ConfigError, RunConfig, Validated
from cardiacclip.jobs.output import output_folder
from cardiacclip.synthetic.dataset import ensure_synthetic_data

log = logging.getLogger(__name__)


QUOTED_REFERENCE_MAE = {
    1: 7.15,
    2: 7.08,
    4: 6.89,
    8: 6.64,
}  # reference implementation's logged EchoNet-Dynamic test MAE


@dataclass
class BenchmarkConfig(Validated):
    """What a benchmark runs; checked when built (`config.Validated`; method names are checked by
    `run_benchmark`, so that a method registered later can still be named)."""

    run: RunConfig  # data root, clip settings, training settings shared by the trained methods
    shots: list[int] = field(default_factory=lambda: [1, 2])
    seeds: int = 2
    methods: list[str] = field(default_factory=lambda: default_methods())
    r2plus1d_weights: str | None = "kinetics"
    r2plus1d_size: int | None = None  # resize frames for the video regressor (None: the data's size)
    r2plus1d_epochs: int | None = None  # None: the run's epochs
    test_limit: int | None = None  # only for --quick smoke runs
    test_data: str | None = None  # another dataset's TEST split as a second test target (external validation)

    def validate(self) -> None:
        if not self.shots or min(self.shots) < 1 or self.seeds < 1:
            raise ConfigError(f"a benchmark needs shots >= 1 and seeds >= 1, not {self.shots} and {self.seeds}")


# The default synthetic benchmark: the synthetic config's own recipe (frozen, cached trunk: its epochs
# are cheap); the r2plus1d regressor, trained end to end, gets 4 epochs to stay within about an hour.
SYNTHETIC_DEFAULT = {"n_videos": 600, "data_seed": 2, "r2plus1d_epochs": 4}
QUICK = {"epochs": 1, "max_train_steps": 3, "val_size": 8, "test_limit": 16}  # a smoke run, not a result


def benchmark_config(
    run: RunConfig,
    shots: list[int],
    seeds: int,
    methods: list[str] | None,
    synthetic_default: bool,
    quick: bool,
    r2plus1d_weights: str | None,
    test_data: str | None = None,
) -> BenchmarkConfig:
    """The benchmark's sizing policy: the r2plus1d regressor's epochs when it runs on the built-in data with its
    own config (`synthetic_default`), the smoke-run sizes with `quick`, the run config's otherwise."""
    run = copy.deepcopy(run)
    r2plus1d_epochs, test_limit = None, None
    if synthetic_default:
        r2plus1d_epochs = SYNTHETIC_DEFAULT["r2plus1d_epochs"]
    if quick:
        run.train.epochs, run.train.max_train_steps, run.data.val_size = (
            QUICK["epochs"],
            QUICK["max_train_steps"],
            QUICK["val_size"],
        )
        test_limit, shots, seeds = QUICK["test_limit"], shots[:1], 1
    return BenchmarkConfig(
        run=run,
        shots=list(shots),
        seeds=seeds,
        methods=list(methods or default_methods()),
        r2plus1d_weights=r2plus1d_weights,
        r2plus1d_size=56 if run.model.backbone in SMALL_BACKBONES else None,
        r2plus1d_epochs=r2plus1d_epochs,
        test_limit=test_limit,
        test_data=test_data,
    )


def synthetic_benchmark_data(out: Path, n_videos: int | None = None) -> Path:
    """The built-in synthetic dataset of the benchmark (seed 2, disjoint from the toy backbone's pretraining)."""
    output_folder(out)
    return ensure_synthetic_data(
        out / "data", n_videos or SYNTHETIC_DEFAULT["n_videos"], seed=SYNTHETIC_DEFAULT["data_seed"]
    )


MethodResult = tuple[np.ndarray, str, dict]


@dataclass(frozen=True)
class Method:
    """One benchmark method: one registered entry (`register`) is all it takes to add one to the table.

    Args:
        name: the name `--methods` takes and results.csv shows.
        label: the row's label in results.md.
        runner: (sample, method) -> (test predictions in EF percent, a note for the table, extra results.csv columns).
        overrides: run-config overrides (`key=value`, applied through `config.apply_overrides` like `--set`) for
            the methods trained by `_trained`.
        default: in the default table (else run only when named in `--methods`).
        ablation_step: one step of the ablation chain whose paired MAE differences results.md shows, in
            registration order (each adds one component to the step before).
    """

    name: str
    label: str
    runner: Callable[..., MethodResult]  # (Sample, Method) -> MethodResult
    overrides: tuple[str, ...] = ()
    default: bool = True
    ablation_step: bool = False


METHODS: dict[str, Method] = {}


def register(method: Method) -> Method:
    """Add a method to the benchmark (a method of the same name is replaced)."""
    METHODS[method.name] = method
    return method


def default_methods() -> list[str]:
    """The methods of the default table, in registration order."""
    return [name for name, method in METHODS.items() if method.default]
