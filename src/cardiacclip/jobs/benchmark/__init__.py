"""`cardiacclip benchmark`: the paper's few-shot protocol with baselines and ablations.

For every k (videos per integer EF value) and seed: one k-shot sample, one validation subset
and the whole test split, shared by every method; model selection on validation; test-time
clips fixed (deterministic). Methods (same backbone for all CLIP-based ones):

    train_mean    every test video gets the mean EF of the k-shot training sample (the floor to beat)
    zero_shot     EchoCLIP's published zero-shot procedure (202 prompts, ranked values)
    linear_probe  ridge on frame-averaged frozen image embeddings
    clip_ft       CLIP fine-tuning with frame averaging, plain category prompts, coarse head
    mfl           + MFL attention over frames
    echozoom      + EchoZoom multi-scale input
    cardiacclip   + descriptive prompts + fine stage (the full method)
    r2plus1d      EchoNet-Dynamic-style r2plus1d_18 regressor (Kinetics-400 weights if available)

Two more methods run only when named in `methods`; they split the last step in two, to tell
which of its changes helps or hurts:

    echozoom_fine     + EchoZoom + fine stage, plain category prompts
    echozoom_prompts  + EchoZoom + descriptive prompts, coarse head

Writes results.csv (one row per method, k and seed; for MFL methods the key-frame attention
mass of `evaluate`), results.md (mean +- sd over seeds, and the paired MAE differences of each
ablation step over the same samples), mae_vs_shots.png, and the splits and per-video
predictions of every run.
"""

from cardiacclip.jobs.benchmark.config import (
    METHODS,
    BenchmarkConfig,
    Method,
    benchmark_config,
    default_methods,
    register,
    synthetic_benchmark_data,
)
from cardiacclip.jobs.benchmark.methods import Sample
from cardiacclip.jobs.benchmark.report import paired_differences, summarize, write_results_markdown
from cardiacclip.jobs.benchmark.run import check_methods, run_benchmark

__all__ = [
    "METHODS",
    "BenchmarkConfig",
    "Method",
    "Sample",
    "benchmark_config",
    "check_methods",
    "default_methods",
    "paired_differences",
    "register",
    "run_benchmark",
    "summarize",
    "synthetic_benchmark_data",
    "write_results_markdown",
]
